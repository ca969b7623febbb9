// SPDX-License-Identifier: GPL-2.0

//! `address_space_operations`: moving data between the page cache and the
//! backing store.
//!
//! Reads copy a block into the folio (a hole reads as zeros).  Writes
//! allocate the block when the folio is dirtied (`write_begin`, and
//! `page_mkwrite` in vm_ops), so writeback only copies and never finds the
//! store full.  holefs never creates large folios: every folio is one page.

use core::ptr;

use kernel::error::from_result;
use kernel::ffi::{c_int, c_uint, c_void};
use kernel::prelude::*;

use super::bindings as b;
use super::folio::MappedFolio;
use super::inode::{info, sb_info, set_i_blocks};
use super::{check_ptr, zeroed, StaticTable, PAGE_SIZE};
use crate::stats::Counter;

pub(crate) static AOPS: StaticTable<b::address_space_operations> =
    StaticTable(b::address_space_operations {
        read_folio: Some(read_folio),
        readahead: Some(readahead),
        writepages: Some(writepages),
        dirty_folio: Some(b::filemap_dirty_folio),
        write_begin: Some(write_begin),
        write_end: Some(write_end),
        ..zeroed()
    });

/// Fills a locked folio of `inode` from the store and marks it uptodate.
///
/// # Safety
///
/// `folio` must be an order-0 page-cache folio of `inode`, locked by the
/// caller.
unsafe fn fill_folio(inode: *mut b::inode, folio: *mut b::folio) {
    // SAFETY: per the contract.
    unsafe {
        let index = b::holefs_folio_index(folio) as u64;
        let mut mapped = MappedFolio::new(folio);
        {
            let map = info(inode).map.lock();
            match map.get(index) {
                Some(block) => block.read(mapped.bytes()),
                None => mapped.bytes().fill(0),
            }
        }
        drop(mapped);
        b::holefs_folio_mark_uptodate(folio);
    }
}

/// Fills a locked folio from the store.
///
/// # Safety
///
/// Called only by the kernel through `address_space_operations` (`->read_folio`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn read_folio(_file: *mut b::file, folio: *mut b::folio) -> c_int {
    // SAFETY: the VFS passes a locked folio of one of our mappings.
    unsafe {
        let inode = (*b::holefs_folio_mapping(folio)).host;
        fill_folio(inode, folio);
        sb_info(inode).acct.stats.inc(Counter::ReadFolio);
        b::folio_unlock(folio);
    }
    0
}

/// Fills the folios of a readahead batch from the store.
///
/// # Safety
///
/// Called only by the kernel through `address_space_operations` (`->readahead`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn readahead(rac: *mut kernel::bindings::readahead_control) {
    let rac = rac.cast::<b::readahead_control>();
    // SAFETY: `rac` is valid; `readahead_folio` returns locked folios of the
    // mapping (their reference is owned by the page cache).
    unsafe {
        let inode = (*(*rac).mapping).host;
        let stats = &sb_info(inode).acct.stats;
        loop {
            let folio = b::holefs_readahead_folio(rac);
            if folio.is_null() {
                break;
            }
            fill_folio(inode, folio);
            stats.inc(Counter::ReadaheadFolios);
            b::folio_unlock(folio);
        }
    }
}

/// Writes one locked folio (dirty bit cleared by `writeback_iter`) to the
/// store.
///
/// # Safety
///
/// `folio` must be a locked folio of `inode`'s mapping, prepared for I/O.
unsafe fn write_folio(inode: *mut b::inode, folio: *mut b::folio) -> Result {
    // SAFETY: per the contract.
    unsafe {
        let sbi = sb_info(inode);
        let size = b::holefs_i_size_read(inode) as u64;
        let index = b::holefs_folio_index(folio) as u64;
        let pos = index * PAGE_SIZE;
        if pos >= size {
            // Wholly past EOF: a truncate is removing it.
            b::folio_unlock(folio);
            return Ok(());
        }
        b::holefs_folio_start_writeback(folio);
        let result = {
            let mut map = info(inode).map.lock();
            // The block was allocated when the folio was dirtied; only an
            // unsafe policy can have freed it since.
            match map.ensure(index, &sbi.acct.pool, &sbi.acct.stats) {
                Ok(block) => {
                    let mut mapped = MappedFolio::new(folio);
                    // Bytes past EOF in the last page are not file data.
                    let valid = (size - pos).min(PAGE_SIZE) as usize;
                    block.write(&mapped.bytes()[..valid]);
                    block.zero(valid, PAGE_SIZE as usize - valid);
                    drop(mapped);
                    set_i_blocks(inode, map.len());
                    Ok(())
                }
                Err(e) => Err(e),
            }
        };
        match result {
            Ok(()) => sbi.acct.stats.inc(Counter::WritebackFolios),
            Err(e) => b::holefs_mapping_set_error((*inode).i_mapping, e.to_errno()),
        }
        b::folio_unlock(folio);
        b::folio_end_writeback(folio);
        result
    }
}

/// Copies dirty folios to the store.
///
/// # Safety
///
/// Called only by the kernel through `address_space_operations` (`->writepages`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn writepages(
    mapping: *mut b::address_space,
    wbc: *mut b::writeback_control,
) -> c_int {
    let mut error: c_int = 0;
    let mut folio: *mut b::folio = ptr::null_mut();
    // SAFETY: `mapping` and `wbc` are valid; `writeback_iter` hands out
    // locked folios one at a time and takes back each after we wrote it.
    unsafe {
        let inode = (*mapping).host;
        loop {
            folio = b::writeback_iter(mapping, wbc, folio, &mut error);
            if folio.is_null() {
                break;
            }
            error = match write_folio(inode, folio) {
                Ok(()) => 0,
                Err(e) => e.to_errno(),
            };
        }
    }
    error
}

/// Reserves the block and prepares the folio for a buffered write.
///
/// # Safety
///
/// Called only by the kernel through `address_space_operations` (`->write_begin`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn write_begin(
    _file: *mut b::file,
    mapping: *mut b::address_space,
    pos: b::loff_t,
    len: c_uint,
    foliop: *mut *mut b::folio,
    _fsdata: *mut *mut c_void,
) -> c_int {
    from_result(|| {
        // SAFETY: called by `generic_perform_write` with `i_rwsem` held.
        unsafe {
            let inode = (*mapping).host;
            let sbi = sb_info(inode);
            let index = pos as u64 / PAGE_SIZE;
            let size = b::holefs_i_size_read(inode) as u64;
            if pos as u64 > size {
                // The write extends the file past its EOF page: bytes an
                // mmap store left past EOF there become file data and must
                // read as zeros.  (pagecache_isize_extended() does nothing
                // when the block size is PAGE_SIZE.)  Before the write's own
                // folio is locked, which may be the same one.
                zero_folio_tail(mapping, size);
            }
            {
                // Reserve the block now: ENOSPC must reach the writer, not
                // writeback.
                let mut map = info(inode).map.lock();
                map.ensure(index, &sbi.acct.pool, &sbi.acct.stats)?;
                set_i_blocks(inode, map.len());
            }
            let folio = check_ptr(b::holefs_filemap_grab_folio_write(mapping, index as _))?;
            if !b::holefs_folio_test_uptodate(folio) && len as u64 != PAGE_SIZE {
                // A partial write needs the rest of the page from the store.
                fill_folio(inode, folio);
            }
            *foliop = folio;
        }
        Ok(0)
    })
}

/// Completes a buffered write: size, dirty bit, folio release.
///
/// # Safety
///
/// Called only by the kernel through `address_space_operations` (`->write_end`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn write_end(
    _file: *mut b::file,
    mapping: *mut b::address_space,
    pos: b::loff_t,
    len: c_uint,
    copied: c_uint,
    folio: *mut b::folio,
    _fsdata: *mut c_void,
) -> c_int {
    let mut copied = copied;
    // SAFETY: `folio` is the locked, referenced folio from `write_begin`.
    unsafe {
        let inode = (*mapping).host;
        if !b::holefs_folio_test_uptodate(folio) {
            // Only a whole-page write leaves the folio not uptodate; a short
            // copy into it is retried by the caller.
            if copied < len {
                copied = 0;
            } else {
                b::holefs_folio_mark_uptodate(folio);
            }
        }
        if copied > 0 {
            let end = pos + copied as b::loff_t;
            if end > b::holefs_i_size_read(inode) {
                b::holefs_i_size_write(inode, end);
            }
            b::folio_mark_dirty(folio);
        }
        b::folio_unlock(folio);
        b::holefs_folio_put(folio);
    }
    copied as c_int
}

/// Zeroes the cached bytes of the page holding `size` from `size` to the
/// page's end, if that page is cached (used before a size increase).
///
/// # Safety
///
/// `mapping` must be a holefs mapping whose host's `i_rwsem` is held.
pub(crate) unsafe fn zero_folio_tail(mapping: *mut b::address_space, size: u64) {
    let offset = (size % PAGE_SIZE) as usize;
    if offset == 0 {
        return;
    }
    // SAFETY: per the contract; the folio is locked while zeroed.
    unsafe {
        let Ok(folio) = check_ptr(b::holefs_filemap_get_folio(
            mapping,
            (size / PAGE_SIZE) as _,
        )) else {
            return;
        };
        b::holefs_folio_lock(folio);
        if b::holefs_folio_mapping(folio) == mapping {
            b::holefs_folio_zero_range(folio, offset, PAGE_SIZE as usize - offset);
        }
        b::folio_unlock(folio);
        b::holefs_folio_put(folio);
    }
}
