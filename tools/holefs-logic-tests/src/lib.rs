// SPDX-License-Identifier: GPL-2.0

//! Host build of the parts of the holefs module that need no kernel: the
//! very files the kernel module compiles, included by path, so that
//! `cargo test` checks the filesystem's logic without booting a kernel.
//! `blockmap.rs` and `presence.rs` use a few items of the kernel crate,
//! which the `kernel` stand-in crate (`kernel-shim/`) provides, and a page
//! buffer from the VFS layer, which [`vfs`] below stands in for.

#![allow(dead_code)]

#[path = "../../../rust/blockmap.rs"]
pub mod blockmap;
#[path = "../../../rust/options.rs"]
pub mod options;
#[path = "../../../rust/pool.rs"]
pub mod pool;
#[path = "../../../rust/presence.rs"]
pub mod presence;
#[path = "../../../rust/range.rs"]
pub mod range;
#[path = "../../../rust/stats.rs"]
pub mod stats;

/// Stand-in for the two items of the module's VFS layer that `blockmap.rs`
/// uses.
pub mod vfs {
    /// Nothing to yield to in a unit test.
    pub fn cond_resched() {}

    /// `vfs::page_buf`: a PAGE_SIZE buffer, here a `Vec`.
    pub mod page_buf {
        use kernel::page::PAGE_SIZE;
        use kernel::prelude::*;

        /// A PAGE_SIZE buffer.
        pub struct PageBuf {
            bytes: Vec<u8>,
        }

        impl PageBuf {
            /// A buffer of zeros.
            pub fn new_zeroed() -> Result<Self> {
                Ok(PageBuf {
                    bytes: vec![0; PAGE_SIZE],
                })
            }

            /// Copies the start of the buffer into `dst`.
            pub fn read(&self, dst: &mut [u8]) {
                let len = dst.len().min(PAGE_SIZE);
                dst[..len].copy_from_slice(&self.bytes[..len]);
            }

            /// Copies `src` to the start of the buffer.
            pub fn write(&mut self, src: &[u8]) {
                let len = src.len().min(PAGE_SIZE);
                self.bytes[..len].copy_from_slice(&src[..len]);
            }

            /// Zeroes `len` bytes from `offset`, clamped to the page.
            pub fn zero(&mut self, offset: usize, len: usize) {
                let offset = offset.min(PAGE_SIZE);
                let len = len.min(PAGE_SIZE - offset);
                self.bytes[offset..offset + len].fill(0);
            }
        }
    }
}

#[cfg(test)]
mod blockmap_tests;
#[cfg(test)]
mod presence_tests;
#[cfg(test)]
mod tests;
