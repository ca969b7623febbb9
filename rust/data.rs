// SPDX-License-Identifier: GPL-2.0

//! Moving data between the page cache and the backing store.
//!
//! Reads copy a block into the folio (a hole reads as zeros).  Writes
//! reserve the block when the folio is dirtied (`write_begin`, and
//! `page_mkwrite` in [`crate::fault`]), so writeback only copies and never
//! finds the store full.  holefs never creates large folios: every folio is
//! one page.

#![forbid(unsafe_code)]

use core::ops::Deref;

use kernel::prelude::*;
use kernel::types::ARef;

use crate::state::HoleFs;
use crate::stats::Counter;
use crate::vfs::aops::{AddressSpaceOperations, Readahead};
use crate::vfs::folio::{Folio, LockedFolio};
use crate::vfs::inode::{Inode, InodeLocked};
use crate::vfs::PAGE_SIZE;

/// holefs's `address_space_operations`.
pub(crate) struct Data;

/// Fills a locked folio of `inode` from the store and marks it uptodate.
fn fill_folio<R: Deref<Target = Folio>>(inode: &Inode<HoleFs>, folio: &mut LockedFolio<R>) {
    let index = folio.index();
    {
        let mut page = folio.map();
        let map = inode.data().map.lock();
        match map.get(index) {
            Some(block) => block.read(page.bytes()),
            None => page.bytes().fill(0),
        }
    }
    folio.mark_uptodate();
}

/// Zeroes the cached bytes of the page holding `size` from `size` to the
/// page's end, if that page is cached: they may hold what an mmap store
/// beyond EOF left there, and must read as zeros once the size grows past
/// them.  `i_rwsem` must be held (the argument says so).
pub(crate) fn zero_folio_tail(inode: &InodeLocked<HoleFs>, size: u64) {
    let offset = (size % PAGE_SIZE) as usize;
    if offset == 0 {
        return;
    }
    let mapping = inode.mapping();
    let Some(folio) = mapping.get_folio(size / PAGE_SIZE) else {
        return;
    };
    let mut folio = LockedFolio::lock(folio);
    if mapping.owns(&folio) {
        folio.zero_range(offset, PAGE_SIZE as usize - offset);
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
    /// the store.
    fn write_folio(inode: &Inode<HoleFs>, folio: LockedFolio<&Folio>) -> Result {
        let sbi = inode.super_block().data();
        let size = inode.size();
        let index = folio.index();
        let pos = index * PAGE_SIZE;
        if pos >= size {
            // Wholly past EOF: a truncate is removing it.
            return Ok(());
        }
        let mut folio = folio.start_writeback();
        let result = {
            let mut map = inode.data().map.lock();
            // The block was reserved when the folio was dirtied; only an
            // unsafe policy can have freed it since.
            map.ensure(index, &sbi.acct.pool, &sbi.acct.stats)
                .map(|block| {
                    let mut page = folio.map();
                    // Bytes past EOF in the last page are not file data.
                    let valid = (size - pos).min(PAGE_SIZE) as usize;
                    block.write(&page.bytes()[..valid]);
                    block.zero(valid, PAGE_SIZE as usize - valid);
                })
                .map(|()| inode.set_blocks(map.len()))
        };
        match result {
            Ok(()) => sbi.acct.stats.inc(Counter::WritebackFolios),
            Err(e) => inode.mapping().set_error(e),
        }
        // Dropping `folio` unlocks it, then ends writeback.
        result
    }

    /// Reserves the block and prepares the folio for a buffered write.
    fn write_begin(
        inode: &InodeLocked<HoleFs>,
        pos: u64,
        len: u32,
    ) -> Result<LockedFolio<ARef<Folio>>> {
        let sbi = inode.super_block().data();
        let index = pos / PAGE_SIZE;
        let size = inode.size();
        if pos > size {
            // The write extends the file past its EOF page: bytes an mmap
            // store left past EOF there become file data and must read as
            // zeros.  (pagecache_isize_extended() does nothing when the block
            // size is PAGE_SIZE.)  Before the write's own folio is locked,
            // which may be the same one.
            zero_folio_tail(inode, size);
        }
        {
            // Reserve the block now: ENOSPC must reach the writer, not
            // writeback.
            let mut map = inode.data().map.lock();
            map.ensure(index, &sbi.acct.pool, &sbi.acct.stats)?;
            inode.set_blocks(map.len());
        }
        let mut folio = inode.mapping().grab_folio_for_write(index)?;
        if !folio.is_uptodate() && u64::from(len) != PAGE_SIZE {
            // A partial write needs the rest of the page from the store.
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
            // Only a whole-page write leaves the folio not uptodate; a short
            // copy into it is retried by the caller.
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
