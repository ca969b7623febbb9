// SPDX-License-Identifier: GPL-2.0

//! Moving data between the page cache and the backing store.
//!
//! Reads copy blocks into the folio page by page (a hole reads as zeros).
//! Writes reserve the blocks when the folio is dirtied (`write_begin`, and
//! `page_mkwrite` in [`crate::fault`]), so writeback only copies and never
//! finds the store full.  A folio may hold one page (`folios=small`) or
//! `1 << order` pages (`folios=large`): the dirty bit is the folio's, so
//! dirtying reserves a block for every page of the folio inside EOF, and
//! writeback writes every such page.

#![forbid(unsafe_code)]

use core::ops::{Deref, Range};

use kernel::prelude::*;
use kernel::types::ARef;

use crate::range::pages_for;
use crate::state::HoleFs;
use crate::stats::Counter;
use crate::vfs::aops::{AddressSpaceOperations, Readahead};
use crate::vfs::folio::{Folio, LockedFolio};
use crate::vfs::inode::{Inode, InodeLocked};
use crate::vfs::{PAGE_SHIFT, PAGE_SIZE};

/// `address_space_operations` of holefs.
pub(crate) struct Data;

/// Fills a locked folio of `inode` from the store, page by page, and marks
/// it uptodate.
fn fill_folio<R: Deref<Target = Folio>>(inode: &Inode<HoleFs>, folio: &mut LockedFolio<R>) {
    let index = folio.index();
    {
        let map = inode.data().map.lock();
        let mut n = 0;
        while let Some(mut page) = folio.map_page(n) {
            match map.get(index + n) {
                Some(block) => block.read(page.bytes()),
                None => page.bytes().fill(0),
            }
            n += 1;
        }
    }
    folio.mark_uptodate();
    let stats = &inode.super_block().data().acct.stats;
    stats.inc(Counter::filled_order(folio.order()));
    stats.add(Counter::PagesFilled, folio.nr_pages());
}

/// The pages of `folio` that hold file data in a file of `size` bytes: a
/// folio may straddle EOF.
fn pages_inside_eof(folio: &Folio, size: u64) -> Range<u64> {
    let first = folio.index();
    let inside = pages_for(size.saturating_sub(folio.pos()), PAGE_SHIFT);
    first..first + inside.min(folio.nr_pages())
}

/// Reserves a block for every page of `folio` inside EOF (`size`), before
/// the folio is dirtied: all or nothing, so `ENOSPC` reaches the task that
/// dirties the folio and never writeback.
pub(crate) fn reserve_folio_blocks(inode: &Inode<HoleFs>, folio: &Folio, size: u64) -> Result {
    let sbi = inode.super_block().data();
    let mut map = inode.data().map.lock();
    let reserved = map.ensure_range(
        pages_inside_eof(folio, size),
        &sbi.acct.pool,
        &sbi.acct.stats,
    );
    // A failure part way (ENOMEM) keeps the blocks already allocated.
    inode.set_blocks(map.len());
    reserved.map(|_| ())
}

/// Zeroes the cached bytes from `size` to the end of the folio holding
/// that byte, if it is cached: they may hold what an mmap store beyond EOF
/// left there, and must read as zeros once the size grows past them.  With
/// a large folio the store may have reached pages past the EOF page: the
/// whole folio was mapped (fault-around, or one PMD).  No byte past EOF is
/// file data, so zeroing them all is always right.  `i_rwsem` must be held
/// (the argument says so).
pub(crate) fn zero_folio_tail(inode: &InodeLocked<HoleFs>, size: u64) {
    let mapping = inode.mapping();
    let Some(folio) = mapping.get_folio(size / PAGE_SIZE) else {
        return;
    };
    let mut folio = LockedFolio::lock(folio);
    let end = folio.pos() + folio.size();
    if mapping.owns(&folio) && folio.pos() <= size && size < end {
        let offset = (size - folio.pos()) as usize;
        folio.zero_range(offset, (end - size) as usize);
    }
}

#[vtable]
impl AddressSpaceOperations for Data {
    type FileSystem = HoleFs;

    fn read_folio(inode: &Inode<HoleFs>, folio: &mut LockedFolio<&Folio>) -> Result {
        fill_folio(inode, folio);
        inode
            .super_block()
            .data()
            .acct
            .stats
            .inc(Counter::ReadFolio);
        Ok(())
    }

    fn readahead(inode: &Inode<HoleFs>, batch: &mut Readahead<'_>) {
        let stats = &inode.super_block().data().acct.stats;
        while let Some(mut folio) = batch.next_folio() {
            fill_folio(inode, &mut folio);
            stats.inc(Counter::ReadaheadFolios);
        }
    }

    /// Writes one locked folio (dirty bit cleared by `writeback_iter`) to
    /// the store: each of its pages inside EOF to that page's block.
    fn write_folio(inode: &Inode<HoleFs>, folio: LockedFolio<&Folio>) -> Result {
        let sbi = inode.super_block().data();
        let size = inode.size();
        let pos = folio.pos();
        if pos >= size {
            // Wholly past EOF: a truncate is removing it.
            return Ok(());
        }
        let pages = pages_inside_eof(&folio, size);
        let large = folio.order() > 0;
        let mut folio = folio.start_writeback();
        let result = {
            let mut map = inode.data().map.lock();
            // The blocks were reserved when the folio was dirtied; only an
            // unsafe policy, or a size grown past a dirty folio that
            // straddled EOF, can have left a page without one.
            let ensured = map.ensure_range(pages.clone(), &sbi.acct.pool, &sbi.acct.stats);
            if ensured.is_ok() {
                for index in pages.clone() {
                    let n = index - pages.start;
                    let (Some(mut page), Some(block)) = (folio.map_page(n), map.get_mut(index))
                    else {
                        continue;
                    };
                    // Bytes past EOF in the last page are not file data.
                    let valid = (size - index * PAGE_SIZE).min(PAGE_SIZE) as usize;
                    block.write(&page.bytes()[..valid]);
                    block.zero(valid, PAGE_SIZE as usize - valid);
                }
            }
            inode.set_blocks(map.len());
            ensured.map(|_| ())
        };
        match result {
            Ok(()) => {
                sbi.acct.stats.inc(Counter::WritebackFolios);
                sbi.acct
                    .stats
                    .add(Counter::WritebackPages, pages.end - pages.start);
                if large {
                    sbi.acct.stats.inc(Counter::WritebackLargeFolios);
                }
            }
            Err(e) => inode.mapping().set_error(e),
        }
        // Dropping `folio` unlocks it, then ends writeback.
        result
    }

    /// Prepares the folio for a buffered write and reserves its blocks.
    fn write_begin(
        inode: &InodeLocked<HoleFs>,
        pos: u64,
        len: u32,
    ) -> Result<LockedFolio<ARef<Folio>>> {
        let size = inode.size();
        if pos > size {
            // The write extends the file past its EOF page: bytes an mmap
            // store left past EOF there become file data and must read as
            // zeros.  (pagecache_isize_extended() does nothing when the block
            // size is PAGE_SIZE.)  Before the write's own folio is locked,
            // which may be the same one.
            zero_folio_tail(inode, size);
        }
        let mut folio = inode
            .mapping()
            .grab_folio_for_write(pos / PAGE_SIZE, len as usize)?;
        // The write dirties the whole folio: reserve every page of it inside
        // the EOF the write leaves.  ENOSPC must reach the writer, not
        // writeback.
        reserve_folio_blocks(inode, &folio, size.max(pos + u64::from(len)))?;
        // The caller copies at most up to the folio's end.
        let whole = pos == folio.pos() && u64::from(len) >= folio.size();
        if !folio.is_uptodate() && !whole {
            // A partial write needs the rest of the folio from the store.
            fill_folio(inode, &mut folio);
        }
        Ok(folio)
    }

    /// Completes a buffered write: size, dirty bit; dropping the folio
    /// unlocks and puts it.
    fn write_end(
        inode: &InodeLocked<HoleFs>,
        pos: u64,
        len: u32,
        copied: u32,
        mut folio: LockedFolio<ARef<Folio>>,
    ) -> u32 {
        let mut copied = copied;
        if !folio.is_uptodate() {
            // Only a whole-folio write leaves the folio not uptodate; a
            // short copy into it is retried by the caller.
            if copied < len {
                copied = 0;
            } else {
                folio.mark_uptodate();
            }
        }
        if copied > 0 {
            let end = pos + u64::from(copied);
            if end > inode.size() {
                inode.set_size(end);
            }
            folio.mark_dirty();
        }
        copied
    }
}
