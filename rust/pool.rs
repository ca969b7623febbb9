// SPDX-License-Identifier: GPL-2.0

//! Space accounting for the backing store: a fixed number of PAGE_SIZE
//! blocks per superblock.
//!
//! Space is reserved before a block is allocated, at the moment data is
//! dirtied (write, page_mkwrite, fallocate), so that writeback never
//! discovers it is out of space.  Plain `core` code (host-tested).

#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicU64, Ordering};

/// Capacity and usage of one backing store, in blocks.
pub(crate) struct BlockPool {
    capacity: u64,
    used: AtomicU64,
}

impl BlockPool {
    /// A pool of `capacity` blocks, all free.
    pub(crate) const fn new(capacity: u64) -> Self {
        BlockPool {
            capacity,
            used: AtomicU64::new(0),
        }
    }

    /// Reserves `n` blocks, all or nothing.  Returns false when fewer than
    /// `n` are free.
    pub(crate) fn try_reserve(&self, n: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.capacity)
            })
            .is_ok()
    }

    /// Returns `n` blocks to the pool.
    pub(crate) fn release(&self, n: u64) {
        let prev = self.used.fetch_sub(n, Ordering::AcqRel);
        debug_assert!(prev >= n, "block pool underflow");
    }

    /// Total number of blocks.
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Blocks reserved or allocated.
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Blocks that can still be reserved.
    pub(crate) fn free(&self) -> u64 {
        self.capacity.saturating_sub(self.used())
    }
}
