// SPDX-License-Identifier: GPL-2.0

//! Invalidation: hole punch, zero range, preallocation and truncate.
//!
//! Each drops (part of) the page cache and changes the store under
//! `i_rwsem`, and under `invalidate_lock` exclusive unless the mount says
//! `punch=unlocked`.  Lock order: `i_rwsem` -> `invalidate_lock` -> block
//! map.  The race the experiment is about has one window, between dropping
//! the page cache and freeing the blocks: [`race_window`].

#![forbid(unsafe_code)]

use kernel::prelude::*;

use crate::data::zero_folio_tail;
use crate::options::PunchPolicy;
use crate::range::{FallocOp, PageSpan, TruncateCut};
use crate::state::HoleFs;
use crate::state::SbInfo;
use crate::stats::Counter;
use crate::vfs::file::File;
use crate::vfs::inode::InodeLocked;
use crate::vfs::mapping::InvalidateGuard;
use crate::vfs::{fsleep, PAGE_SHIFT};

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
/// the whole blocks inside `span`.
fn punch_hole(inode: &InodeLocked<HoleFs>, span: &PageSpan) {
    let sbi = inode.super_block().data();
    sbi.acct.stats.inc(Counter::Punches);
    inode.truncate_pagecache_range(span.start(), span.end() - 1);
    zero_partial_blocks(inode, span);
    race_window(sbi);
    let mut map = inode.data().map.lock();
    let freed = map.remove_range(span.full_pages(), &sbi.acct.pool);
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
    inode.truncate_pagecache_range(span.start(), span.end() - 1);
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
        shrink_size(inode, sbi, new_size);
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
