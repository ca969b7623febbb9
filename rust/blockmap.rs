// SPDX-License-Identifier: GPL-2.0

//! The per-inode sparse block map: page index -> backing-store block.
//!
//! A page index with no entry is a hole and reads as zeros.  Every block in
//! the map is accounted in the superblock's [`BlockPool`]; the map reserves
//! before it allocates and releases what it frees, so the pool's `used`
//! count always equals the sum of all maps' lengths.  Callers serialise
//! access (the map lives in a `Mutex` in the inode's private data).

#![forbid(unsafe_code)]

use core::ops::Range;

use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;
use kernel::rbtree::RBTree;

use crate::pool::BlockPool;
use crate::presence::Presence;
use crate::stats::{Counter, Stats};
use crate::vfs::cond_resched;
use crate::vfs::page_buf::PageBuf as Block;
use kernel::page::PAGE_SIZE;

/// Blocks of one inode, keyed by page index.
pub(crate) struct BlockMap {
    blocks: RBTree<u64, Block>,
    /// The keys of `blocks`, as bitmaps: answers "which of these pages have
    /// a block" without visiting each.
    present: Presence,
    /// Number of entries in `blocks`, kept so that `len` is O(1).
    count: u64,
}

impl BlockMap {
    /// An empty map: the whole file is a hole.
    pub(crate) fn new() -> Self {
        BlockMap {
            blocks: RBTree::new(),
            present: Presence::new(),
            count: 0,
        }
    }

    /// Number of allocated blocks.
    pub(crate) fn len(&self) -> u64 {
        self.count
    }

    /// The block at `index`, if allocated.
    pub(crate) fn get(&self, index: u64) -> Option<&Block> {
        self.blocks.get(&index)
    }

    /// The block at `index` for writing, if allocated.
    pub(crate) fn get_mut(&mut self, index: u64) -> Option<&mut Block> {
        self.blocks.get_mut(&index)
    }

    /// Makes sure `index` has a block, reserving space for it.  Returns
    /// `ENOSPC` when the store is full, `ENOMEM` when memory is.
    ///
    /// The module reserves whole folios with [`BlockMap::ensure_range`];
    /// the host tests build the maps they check with this.
    #[allow(dead_code)]
    pub(crate) fn ensure(
        &mut self,
        index: u64,
        pool: &BlockPool,
        stats: &Stats,
    ) -> Result<&mut Block> {
        if self.blocks.get(&index).is_none() {
            if !pool.try_reserve(1) {
                return Err(ENOSPC);
            }
            self.insert_reserved(index, pool, stats)?;
        }
        self.blocks.get_mut(&index).ok_or(EINVAL)
    }

    /// Allocates a zeroed block for `index`, whose space is already reserved;
    /// on failure the reservation is returned to the pool.
    fn insert_reserved(&mut self, index: u64, pool: &BlockPool, stats: &Stats) -> Result {
        let inserted = self.present.insert(index).and_then(|()| {
            let block = Block::new_zeroed().and_then(|block| {
                self.blocks
                    .try_create_and_insert(index, block, GFP_KERNEL)
                    .map(|_| ())
            });
            if block.is_err() {
                self.present.remove(index);
            }
            block
        });
        match inserted {
            Ok(()) => {
                self.count += 1;
                stats.inc(Counter::BlocksAllocated);
                Ok(())
            }
            Err(e) => {
                pool.release(1);
                Err(e)
            }
        }
    }

    /// Allocates zeroed blocks for every hole in `pages`.  Space for all of
    /// them is reserved up front, so `ENOSPC` changes nothing.  On `ENOMEM`
    /// the blocks allocated so far stay (they read as zeros, like the holes
    /// they replace).
    pub(crate) fn ensure_range(
        &mut self,
        pages: Range<u64>,
        pool: &BlockPool,
        stats: &Stats,
    ) -> Result<u64> {
        // Count what exists by walking the groups that have blocks, not the
        // range: the range may be far larger than the store (fallocate of
        // terabytes).
        let len = pages.end.saturating_sub(pages.start);
        let missing = len - self.count_in(pages.clone());
        if missing == 0 {
            // The common case of every write into a dirty or written
            // folio: nothing to visit page by page.
            return Ok(0);
        }
        if !pool.try_reserve(missing) {
            return Err(ENOSPC);
        }
        // The reservation succeeded, so the range is no larger than the
        // store: this loop is bounded by `size=`.
        let mut done = 0;
        for index in pages {
            cond_resched();
            if self.present.contains(index) {
                continue;
            }
            if let Err(e) = self.insert_reserved(index, pool, stats) {
                // insert_reserved returned this block's reservation.
                pool.release(missing - done - 1);
                return Err(e);
            }
            done += 1;
        }
        Ok(missing)
    }

    /// Number of blocks in `pages`, in time proportional to the number of
    /// 512-page groups with blocks that the range meets.
    pub(crate) fn count_in(&mut self, pages: Range<u64>) -> u64 {
        self.present.count_in(pages)
    }

    /// Zeroes every block in `pages`.
    pub(crate) fn zero_range(&mut self, pages: Range<u64>) {
        let mut next = pages.start;
        while next < pages.end {
            let Some(mut cursor) = self.blocks.cursor_lower_bound(&next) else {
                break;
            };
            let (&index, block) = cursor.current_mut();
            if index >= pages.end {
                break;
            }
            block.zero(0, PAGE_SIZE);
            next = index + 1;
            cond_resched();
        }
    }

    /// Frees the blocks of `pages`; returns how many there were.
    pub(crate) fn remove_range(&mut self, pages: Range<u64>, pool: &BlockPool) -> u64 {
        let mut freed = 0;
        loop {
            let key = match self.blocks.cursor_lower_bound(&pages.start) {
                Some(cursor) if *cursor.current().0 < pages.end => *cursor.current().0,
                _ => break,
            };
            drop(self.blocks.remove(&key));
            self.present.remove(key);
            freed += 1;
        }
        self.count -= freed;
        pool.release(freed);
        freed
    }

    /// Frees every block.
    pub(crate) fn clear(&mut self, pool: &BlockPool) -> u64 {
        self.remove_range(0..u64::MAX, pool)
    }

    /// First allocated page index `>= index`.
    pub(crate) fn next_block(&mut self, index: u64) -> Option<u64> {
        self.blocks
            .cursor_lower_bound(&index)
            .map(|cursor| *cursor.current().0)
    }

    /// First unallocated page index `>= index`.
    pub(crate) fn next_hole(&mut self, index: u64) -> u64 {
        let mut expect = index;
        let mut cursor = self.blocks.cursor_lower_bound(&index);
        while let Some(c) = cursor {
            if *c.current().0 != expect {
                break;
            }
            expect += 1;
            cursor = c.move_next();
        }
        expect
    }
}
