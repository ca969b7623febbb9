// SPDX-License-Identifier: GPL-2.0

//! Invalidation: hole punch, zero range, preallocation and truncate.
//!
//! Each drops (part of) the page cache and changes the store under
//! `i_rwsem`, and under `invalidate_lock` exclusive unless the mount says
//! `punch=unlocked`.  Lock order: `i_rwsem` -> `invalidate_lock` -> block
//! map.  The race the experiment is about has one window, between dropping
//! the page cache and freeing the blocks: [`race_window`].

#![forbid(unsafe_code)]

use core::ops::Range;

use kernel::prelude::*;

use crate::data::zero_folio_tail;
use crate::options::PunchPolicy;
use crate::range::{free_around_kept, FallocOp, PageSpan, TruncateCut};
use crate::state::HoleFs;
use crate::state::SbInfo;
use crate::stats::Counter;
use crate::vfs::file::File;
use crate::vfs::inode::InodeLocked;
use crate::vfs::mapping::InvalidateGuard;
use crate::vfs::{fsleep, PAGE_SHIFT, PAGE_SIZE};

/// Takes `invalidate_lock` exclusive unless the policy is `punch=unlocked`.
fn lock_out_fills<'a>(inode: &'a InodeLocked<HoleFs>) -> Option<InvalidateGuard<'a, HoleFs>> {
    let locked = inode.super_block().data().config.punch == PunchPolicy::Locked;
    locked.then(|| inode.mapping().invalidate_lock())
}

/// The race window: the page cache no longer has the range but the store
/// still does.  `punch_delay_us` widens it; safe policies keep faults and
/// reads out of it.
fn race_window(sbi: &SbInfo) {
    if sbi.config.punch_delay_us != 0 {
        fsleep(sbi.config.punch_delay_us);
    }
}

/// A large folio that straddles an edge of a range about to be dropped
/// from the page cache, as seen before: truncate_inode_partial_folio()
/// zeroes its covered part and tries to split it.
struct EdgeFolio {
    /// Its first page.
    index: u64,
    /// Its number of pages.
    nr_pages: u64,
    /// One of its pages that holds bytes outside the range: cached
    /// afterwards unless the whole folio was dropped.
    probe: u64,
}

/// The large folios holding the first and the last byte of `start..end`
/// (`end` `None`: to EOF) that the range does not cover whole.  No
/// reference is kept: one would make their split fail.
fn edge_folios(
    inode: &InodeLocked<HoleFs>,
    start: u64,
    end: Option<u64>,
) -> [Option<EdgeFolio>; 2] {
    let end_byte = end.unwrap_or(u64::MAX);
    let mut edges = [None, None];
    let last = end.map(|end| end - 1);
    for (slot, pos) in edges.iter_mut().zip([Some(start), last]) {
        let Some(pos) = pos else { continue };
        let Some(folio) = inode.mapping().get_folio(pos / PAGE_SIZE) else {
            continue;
        };
        let covered = folio.pos() >= start && folio.pos() + folio.size() <= end_byte;
        if folio.order() == 0 || covered {
            continue;
        }
        let index = folio.index();
        let nr_pages = folio.nr_pages();
        let probe = if folio.pos() < start {
            index
        } else {
            index + nr_pages - 1
        };
        *slot = Some(EdgeFolio {
            index,
            nr_pages,
            probe,
        });
    }
    if let [Some(a), Some(b)] = &edges {
        if a.index == b.index {
            edges[1] = None;
        }
    }
    edges
}

/// Counts what became of `edges` after the page cache dropped the range;
/// returns the pages of those kept whole (split failed, folio dirty).
fn edge_outcomes(inode: &InodeLocked<HoleFs>, edges: &[Option<EdgeFolio>; 2]) -> [Range<u64>; 2] {
    let stats = &inode.super_block().data().acct.stats;
    let mut kept = [0..0, 0..0];
    for (slot, edge) in kept.iter_mut().zip(edges) {
        let Some(edge) = edge else { continue };
        stats.inc(Counter::EdgeFoliosLarge);
        match inode.mapping().get_folio(edge.probe) {
            None => stats.inc(Counter::EdgeSplitFailedDropped),
            Some(f) if f.index() == edge.index && f.nr_pages() == edge.nr_pages => {
                stats.inc(Counter::EdgeSplitFailedKept);
                *slot = edge.index..edge.index + edge.nr_pages;
            }
            // Split: the smaller folios outside the range stay.
            Some(_) => {}
        }
    }
    kept
}

/// Lowers the size of a file to `new_size` and drops the page cache past
/// it (`truncate_setsize`).  With `truncate_delay_us`, an injection point:
/// the page cache past the cut is dropped first and `i_size` lowered only
/// after the delay.  An access that reads `i_size` in between passes its
/// EOF check and creates its folio after the cache was truncated, from
/// blocks not freed yet: the same interleaving as an access that read
/// `i_size` just before `truncate_setsize()` and got to create its folio
/// only after `truncate_pagecache()`, which is otherwise too narrow to hit.
/// The safe policies block such accesses on `invalidate_lock`.
fn shrink_size(inode: &InodeLocked<HoleFs>, sbi: &SbInfo, new_size: u64) {
    if sbi.config.truncate_delay_us == 0 {
        inode.truncate_setsize(new_size);
        return;
    }
    inode.truncate_pagecache(new_size);
    fsleep(sbi.config.truncate_delay_us);
    inode.set_size(new_size);
}

/// `fallocate(2)`: punch hole, zero range and preallocation of `span`.
pub(crate) fn fallocate(file: &File<HoleFs>, op: FallocOp, span: &PageSpan) -> Result {
    let inode = file.inode().lock();
    // Like a write: drop setuid/setgid, update the times.
    file.modified(&inode)?;
    let _fills = lock_out_fills(&inode);
    match op {
        FallocOp::PunchHole => {
            punch_hole(&inode, span);
            Ok(())
        }
        FallocOp::ZeroRange { keep_size } => zero_range(&inode, span, keep_size),
        FallocOp::Allocate { keep_size } => allocate(&inode, span, keep_size),
    }
}

/// Drops `span` from the page cache (zeroing partial pages there), zeroes
/// the partial pages in the store, waits in the race window, then frees
/// the whole blocks inside `span`, except those of a large edge folio the
/// page cache kept (failed split, dirty): it still caches their pages,
/// zeroed, and will write them back, so the store zeroes and keeps them.
fn punch_hole(inode: &InodeLocked<HoleFs>, span: &PageSpan) {
    let sbi = inode.super_block().data();
    sbi.acct.stats.inc(Counter::Punches);
    let edges = edge_folios(inode, span.start(), Some(span.end()));
    inode.truncate_pagecache_range(span.start(), span.end() - 1);
    let kept = edge_outcomes(inode, &edges);
    zero_partial_blocks(inode, span);
    race_window(sbi);
    let (free, keep) = free_around_kept(span.full_pages(), &kept);
    let mut map = inode.data().map.lock();
    let freed = map.remove_range(free, &sbi.acct.pool);
    for pages in keep {
        sbi.acct
            .stats
            .add(Counter::PunchBlocksKept, map.count_in(pages.clone()));
        map.zero_range(pages);
    }
    inode.set_blocks(map.len());
    sbi.acct.stats.add(Counter::PunchBlocksFreed, freed);
}

/// Zeroes the partially covered pages of `span` in the store.
fn zero_partial_blocks(inode: &InodeLocked<HoleFs>, span: &PageSpan) {
    let mut map = inode.data().map.lock();
    for part in span.partial_pages() {
        if let Some(block) = map.get_mut(part.index) {
            block.zero(part.offset, part.len);
        }
    }
}

/// Checks a size increase to `span.end()` for the fallocate modes without
/// KEEP_SIZE; true if the size must grow.
fn check_new_size(inode: &InodeLocked<HoleFs>, span: &PageSpan, keep_size: bool) -> Result<bool> {
    if keep_size || span.end() <= inode.size() {
        return Ok(false);
    }
    inode.newsize_ok(span.end())?;
    Ok(true)
}

/// Grows the size to `span.end()`, zeroing the cached tail past the old
/// EOF first.
fn grow_size(inode: &InodeLocked<HoleFs>, span: &PageSpan) {
    zero_folio_tail(inode, inode.size());
    inode.set_size(span.end());
}

/// Gives every page `span` touches a block and updates `st_blocks`.
fn allocate_blocks(inode: &InodeLocked<HoleFs>, span: &PageSpan) -> Result {
    let sbi = inode.super_block().data();
    let mut map = inode.data().map.lock();
    let allocated = map.ensure_range(span.touched_pages(), &sbi.acct.pool, &sbi.acct.stats);
    // A failure (ENOSPC, ENOMEM) part way keeps the blocks already
    // allocated: st_blocks must count them all the same.
    inode.set_blocks(map.len());
    allocated.map(|_| ())
}

/// FALLOC_FL_ZERO_RANGE: the range reads zeros and has blocks.
fn zero_range(inode: &InodeLocked<HoleFs>, span: &PageSpan, keep_size: bool) -> Result {
    inode
        .super_block()
        .data()
        .acct
        .stats
        .inc(Counter::ZeroRanges);
    let grow = check_new_size(inode, span, keep_size)?;
    allocate_blocks(inode, span)?;
    // Every block of the range is zeroed below, so whatever the page cache
    // keeps of an edge folio agrees with the store: only counted.
    let edges = edge_folios(inode, span.start(), Some(span.end()));
    inode.truncate_pagecache_range(span.start(), span.end() - 1);
    edge_outcomes(inode, &edges);
    zero_partial_blocks(inode, span);
    inode.data().map.lock().zero_range(span.full_pages());
    if grow {
        grow_size(inode, span);
    }
    Ok(())
}

/// Mode 0 / KEEP_SIZE: allocate blocks for the holes in the range.
fn allocate(inode: &InodeLocked<HoleFs>, span: &PageSpan, keep_size: bool) -> Result {
    inode
        .super_block()
        .data()
        .acct
        .stats
        .inc(Counter::Preallocs);
    let grow = check_new_size(inode, span, keep_size)?;
    allocate_blocks(inode, span)?;
    if grow {
        grow_size(inode, span);
    }
    Ok(())
}

/// Changes the size of a file to `new_size` (checked by `setattr_prepare`),
/// freeing the blocks past it and zeroing the tail of the new last page, in
/// the store and in the page cache.  Truncate is an invalidation like punch
/// and follows the punch policy.
pub(crate) fn truncate(inode: &InodeLocked<HoleFs>, new_size: u64) {
    let sbi = inode.super_block().data();
    let _fills = lock_out_fills(inode);
    let old_size = inode.size();
    if new_size > old_size {
        // Bytes past the old EOF in its page may hold what an mmap store
        // beyond EOF left there; they must read as zeros now.
        zero_folio_tail(inode, old_size);
    }
    if new_size < old_size {
        // A large folio kept across the new EOF (failed split, dirty)
        // holds zeros past it, and writeback stops at EOF: the store frees
        // the same.  Only counted.
        let edges = edge_folios(inode, new_size, None);
        shrink_size(inode, sbi, new_size);
        edge_outcomes(inode, &edges);
    } else {
        inode.truncate_setsize(new_size);
    }
    if new_size < old_size {
        race_window(sbi);
        let cut = TruncateCut::new(new_size, PAGE_SHIFT);
        let mut map = inode.data().map.lock();
        map.remove_range(cut.free_from..u64::MAX, &sbi.acct.pool);
        if let Some(tail) = cut.tail {
            if let Some(block) = map.get_mut(tail.index) {
                block.zero(tail.offset, tail.len);
            }
        }
        inode.set_blocks(map.len());
    }
}
