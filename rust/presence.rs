// SPDX-License-Identifier: GPL-2.0

//! Which pages of a file have a block, as bitmaps of 512 pages.
//!
//! Every write that dirties a folio asks the block map whether each page of
//! the folio inside EOF has a block ([`crate::blockmap::BlockMap::ensure_range`]).
//! Asked of the block tree, that costs one step per page: 512 steps for a
//! 4 KiB write into a cached 2 MiB folio, and made buffered writes with
//! large folios several times slower than with order-0 folios.  The block
//! map keeps this summary beside its tree: one bitmap per aligned group of
//! [`GROUP_PAGES`] pages, so the answer costs a tree lookup and a few word
//! operations.  A page-cache folio is naturally aligned and at most
//! `MAX_PAGECACHE_ORDER` (9 on x86-64) pages large, so a folio's pages lie
//! in one group.  Groups without a block have no bitmap, and clearing a bit
//! never allocates.

#![forbid(unsafe_code)]

use core::ops::Range;

use kernel::alloc::flags::GFP_KERNEL;
use kernel::prelude::*;
use kernel::rbtree::RBTree;

/// Pages per bitmap.
pub(crate) const GROUP_PAGES: u64 = 512;
const WORDS: usize = (GROUP_PAGES / 64) as usize;

/// The set of page indices that have a block.
pub(crate) struct Presence {
    /// Group number (page index / [`GROUP_PAGES`]) -> bit `i` set if page
    /// `group * GROUP_PAGES + i` has a block.  No group is all zeros.
    groups: RBTree<u64, [u64; WORDS]>,
}

/// The bits of word `word` (pages `word * 64 ..`) of a group that lie in
/// the group-relative page range `lo..hi`.
fn word_mask(word: u64, lo: u64, hi: u64) -> u64 {
    let first = word * 64;
    let from = lo.clamp(first, first + 64) - first;
    let to = hi.clamp(first, first + 64) - first;
    if from >= to {
        return 0;
    }
    let high = if to == 64 { u64::MAX } else { (1 << to) - 1 };
    high & !((1u64 << from) - 1)
}

impl Presence {
    /// No page has a block.
    pub(crate) fn new() -> Self {
        Presence {
            groups: RBTree::new(),
        }
    }

    /// Whether page `index` has a block.
    pub(crate) fn contains(&self, index: u64) -> bool {
        let bit = index % GROUP_PAGES;
        self.groups
            .get(&(index / GROUP_PAGES))
            .is_some_and(|words| words[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }

    /// Records that page `index` has a block.  `ENOMEM` (nothing changed)
    /// when the group's bitmap cannot be allocated.
    pub(crate) fn insert(&mut self, index: u64) -> Result {
        let (group, bit) = (index / GROUP_PAGES, index % GROUP_PAGES);
        if self.groups.get(&group).is_none() {
            self.groups
                .try_create_and_insert(group, [0; WORDS], GFP_KERNEL)?;
        }
        let words = self.groups.get_mut(&group).ok_or(EINVAL)?;
        words[(bit / 64) as usize] |= 1 << (bit % 64);
        Ok(())
    }

    /// Records that page `index` has no block.
    pub(crate) fn remove(&mut self, index: u64) {
        let (group, bit) = (index / GROUP_PAGES, index % GROUP_PAGES);
        let Some(words) = self.groups.get_mut(&group) else {
            return;
        };
        words[(bit / 64) as usize] &= !(1 << (bit % 64));
        if words.iter().all(|&w| w == 0) {
            self.groups.remove(&group);
        }
    }

    /// Number of pages in `pages` that have a block, in time proportional
    /// to the number of groups with blocks that the range meets.
    pub(crate) fn count_in(&mut self, pages: Range<u64>) -> u64 {
        if pages.start >= pages.end {
            return 0;
        }
        let mut n = 0;
        let mut cursor = self.groups.cursor_lower_bound(&(pages.start / GROUP_PAGES));
        while let Some(c) = cursor {
            let (&group, words) = c.current();
            let base = group * GROUP_PAGES;
            if base >= pages.end {
                break;
            }
            let lo = pages.start.saturating_sub(base);
            let hi = (pages.end - base).min(GROUP_PAGES);
            for (w, &word) in words.iter().enumerate() {
                n += u64::from((word & word_mask(w as u64, lo, hi)).count_ones());
            }
            cursor = c.move_next();
        }
        n
    }
}
