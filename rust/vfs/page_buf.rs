// SPDX-License-Identifier: GPL-2.0

//! A page of kernel memory used as a byte buffer (a filesystem's backing
//! store block).

use kernel::alloc::flags::{__GFP_ZERO, GFP_KERNEL};
use kernel::page::{Page, PAGE_SIZE};
use kernel::prelude::*;

/// A PAGE_SIZE buffer in a kernel page of its own.
///
/// # Invariants
///
/// `page` is only accessed through `&self` (reads) or `&mut self` (writes),
/// so the borrow checker rules out data races on its contents.
pub(crate) struct PageBuf {
    page: Page,
}

impl PageBuf {
    /// A newly allocated buffer filled with zeros.
    pub(crate) fn new_zeroed() -> Result<Self> {
        Ok(PageBuf {
            page: Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?,
        })
    }

    /// Copies the start of the buffer into `dst` (at most PAGE_SIZE bytes).
    pub(crate) fn read(&self, dst: &mut [u8]) {
        let len = dst.len().min(PAGE_SIZE);
        // SAFETY: `dst` is valid for writes of `len` bytes and does not
        // overlap the page (a distinct allocation); by the type invariant no
        // one writes the page while `&self` is borrowed.
        let ret = unsafe { self.page.read_raw(dst.as_mut_ptr(), 0, len) };
        // `len <= PAGE_SIZE`, so the only error (out of bounds) cannot occur.
        debug_assert!(ret.is_ok());
    }

    /// Copies `src` (at most PAGE_SIZE bytes) to the start of the buffer.
    pub(crate) fn write(&mut self, src: &[u8]) {
        let len = src.len().min(PAGE_SIZE);
        // SAFETY: `src` is valid for reads of `len` bytes and does not
        // overlap the page; `&mut self` gives exclusive access to the page.
        let ret = unsafe { self.page.write_raw(src.as_ptr(), 0, len) };
        debug_assert!(ret.is_ok());
    }

    /// Zeroes `len` bytes from `offset`; out-of-range parts are ignored.
    pub(crate) fn zero(&mut self, offset: usize, len: usize) {
        let offset = offset.min(PAGE_SIZE);
        let len = len.min(PAGE_SIZE - offset);
        // SAFETY: the range lies within the page (clamped above) and
        // `&mut self` gives exclusive access to it.
        let ret = unsafe { self.page.fill_zero_raw(offset, len) };
        debug_assert!(ret.is_ok());
    }
}
