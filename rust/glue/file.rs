// SPDX-License-Identifier: GPL-2.0

//! `file_operations` for regular files: the generic page-cache read and
//! write paths, plus holefs's own mmap, fsync, lseek and fallocate.

use kernel::error::{from_result, to_result};
use kernel::ffi::{c_int, c_long};
use kernel::prelude::*;

use super::bindings as b;
use super::inode::{info, sb_info, set_i_blocks};
use super::{vm_ops, zeroed, StaticTable, PAGE_SHIFT};
use crate::options::{MapPagesPolicy, PunchPolicy};
use crate::range::{self, FallocOp, PageSpan};
use crate::stats::Counter;

pub(crate) static FILE_OPS: StaticTable<b::file_operations> = StaticTable(b::file_operations {
    llseek: Some(llseek),
    read_iter: Some(b::generic_file_read_iter),
    write_iter: Some(b::generic_file_write_iter),
    mmap: Some(mmap),
    open: Some(b::generic_file_open),
    fsync: Some(fsync),
    splice_read: Some(b::filemap_splice_read),
    splice_write: Some(b::iter_file_splice_write),
    fallocate: Some(fallocate),
    ..zeroed()
});

/// `SEEK_DATA` / `SEEK_HOLE` (uapi/linux/fs.h).
const SEEK_DATA: c_int = 3;
const SEEK_HOLE: c_int = 4;

/// `SEEK_DATA`/`SEEK_HOLE` from the block map; the rest is generic.
///
/// # Safety
///
/// Called only by the kernel through `file_operations` (`->llseek`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn llseek(file: *mut b::file, offset: b::loff_t, whence: c_int) -> b::loff_t {
    if whence != SEEK_DATA && whence != SEEK_HOLE {
        // SAFETY: forwarding the VFS's arguments.
        return unsafe { b::generic_file_llseek(file, offset, whence) };
    }
    if offset < 0 {
        return ENXIO.to_errno() as b::loff_t;
    }
    // SAFETY: `file` is an open holefs file; holding `i_rwsem` keeps the size
    // and the block map consistent with each other.
    unsafe {
        let inode = (*file).f_inode;
        b::holefs_inode_lock(inode);
        let size = b::holefs_i_size_read(inode) as u64;
        let pos = {
            let mut map = info(inode).map.lock();
            if whence == SEEK_DATA {
                range::seek_data(offset as u64, size, PAGE_SHIFT, |i| map.next_block(i))
            } else {
                range::seek_hole(offset as u64, size, PAGE_SHIFT, |i| map.next_hole(i))
            }
        };
        b::holefs_inode_unlock(inode);
        match pos {
            Some(pos) => b::vfs_setpos(file, pos as b::loff_t, (*(*inode).i_sb).s_maxbytes),
            None => ENXIO.to_errno() as b::loff_t,
        }
    }
}

/// Writes back and waits for a range.
///
/// # Safety
///
/// Called only by the kernel through `file_operations` (`->fsync`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn fsync(
    file: *mut b::file,
    start: b::loff_t,
    end: b::loff_t,
    _datasync: c_int,
) -> c_int {
    // Writeback copies into the store synchronously and holefs keeps no
    // metadata outside memory: once written back, data is durable.
    // SAFETY: forwarding the VFS's arguments.
    unsafe { b::file_write_and_wait_range(file, start, end) }
}

/// Installs the vm_operations of the mount's policy.
///
/// # Safety
///
/// Called only by the kernel through `file_operations` (`->mmap`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn mmap(file: *mut b::file, vma: *mut b::vm_area_struct) -> c_int {
    // SAFETY: `file` is an open holefs file and `vma` the mapping being set
    // up, which we may modify; the tables are static.
    unsafe {
        let inode = (*file).f_inode;
        b::holefs_file_accessed(file);
        (*vma).vm_ops = match sb_info(inode).config.map_pages {
            MapPagesPolicy::Off => &vm_ops::VM_OPS_NO_MAP_PAGES.0,
            _ => &vm_ops::VM_OPS.0,
        };
    }
    0
}

/// Punch hole, zero range and preallocation.
///
/// # Safety
///
/// Called only by the kernel through `file_operations` (`->fallocate`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn fallocate(
    file: *mut b::file,
    mode: c_int,
    offset: b::loff_t,
    len: b::loff_t,
) -> c_long {
    let Some(op) = FallocOp::from_mode(mode as u32) else {
        return -(b::EOPNOTSUPP as c_long);
    };
    // vfs_fallocate() rejected negative values and overflow already.
    let Some(span) = PageSpan::new(offset as u64, len as u64, PAGE_SHIFT) else {
        return EINVAL.to_errno() as c_long;
    };
    from_result(|| {
        // SAFETY: `file` is an open holefs regular file; lock order is
        // i_rwsem -> invalidate_lock, as everywhere in holefs.
        unsafe {
            let inode = (*file).f_inode;
            let mapping = (*inode).i_mapping;
            let locked = sb_info(inode).config.punch == PunchPolicy::Locked;
            b::holefs_inode_lock(inode);
            // Like a write: drop setuid/setgid, update the times.
            if let Err(e) = to_result(b::file_modified(file)) {
                b::holefs_inode_unlock(inode);
                return Err(e);
            }
            if locked {
                b::holefs_invalidate_lock(mapping);
            }
            let result = match op {
                FallocOp::PunchHole => {
                    punch_hole(inode, &span);
                    Ok(())
                }
                FallocOp::ZeroRange { keep_size } => zero_range(inode, &span, keep_size),
                FallocOp::Allocate { keep_size } => allocate(inode, &span, keep_size),
            };
            if locked {
                b::holefs_invalidate_unlock(mapping);
            }
            b::holefs_inode_unlock(inode);
            result.map(|()| 0)
        }
    })
}

/// Drops `span` from the page cache (zeroing partial pages there), zeroes
/// the partial pages in the store, waits `punch_delay_us`, then frees the
/// whole blocks inside `span`.
///
/// # Safety
///
/// `inode` must be a live holefs regular file whose `i_rwsem` the caller
/// holds, and `invalidate_lock` exclusive unless the policy is
/// `punch=unlocked`.
unsafe fn punch_hole(inode: *mut b::inode, span: &PageSpan) {
    // SAFETY: per the contract.
    unsafe {
        let sbi = sb_info(inode);
        sbi.acct.stats.inc(Counter::Punches);
        b::truncate_pagecache_range(inode, span.start() as _, (span.end() - 1) as _);
        zero_partial_blocks(inode, span);
        if sbi.config.punch_delay_us != 0 {
            // The race window: the cache no longer has the range but the
            // store still does.  Safe policies keep faults out of it.
            b::holefs_fsleep(sbi.config.punch_delay_us as _);
        }
        let mut map = info(inode).map.lock();
        let freed = map.remove_range(span.full_pages(), &sbi.acct.pool);
        set_i_blocks(inode, map.len());
        sbi.acct.stats.add(Counter::PunchBlocksFreed, freed);
    }
}

/// Zeroes the partially covered pages of `span` in the store.
///
/// # Safety
///
/// `inode` must be a live holefs inode.
unsafe fn zero_partial_blocks(inode: *mut b::inode, span: &PageSpan) {
    // SAFETY: per the contract.
    let mut map = unsafe { info(inode) }.map.lock();
    for part in span.partial_pages() {
        if let Some(block) = map.get_mut(part.index) {
            block.zero(part.offset, part.len);
        }
    }
}

/// Checks and applies a size increase to `span.end()` for the fallocate
/// modes without KEEP_SIZE.
///
/// # Safety
///
/// `inode` must be live with `i_rwsem` held.
unsafe fn check_new_size(inode: *mut b::inode, span: &PageSpan, keep_size: bool) -> Result<bool> {
    // SAFETY: per the contract.
    unsafe {
        if keep_size || span.end() <= b::holefs_i_size_read(inode) as u64 {
            return Ok(false);
        }
        to_result(b::inode_newsize_ok(inode, span.end() as b::loff_t))?;
    }
    Ok(true)
}

/// Gives every page `span` touches a block and updates `st_blocks`.
///
/// # Safety
///
/// As for [`punch_hole`].
unsafe fn allocate_blocks(inode: *mut b::inode, span: &PageSpan) -> Result {
    // SAFETY: per the contract.
    let sbi = unsafe { sb_info(inode) };
    // SAFETY: per the contract.
    let mut map = unsafe { info(inode) }.map.lock();
    let allocated = map.ensure_range(span.touched_pages(), &sbi.acct.pool, &sbi.acct.stats);
    // A failure (ENOSPC, ENOMEM) part way keeps the blocks already
    // allocated: st_blocks must count them all the same.
    // SAFETY: per the contract.
    unsafe { set_i_blocks(inode, map.len()) };
    allocated.map(|_| ())
}

/// FALLOC_FL_ZERO_RANGE: the range reads zeros and has blocks.
///
/// # Safety
///
/// As for [`punch_hole`].
unsafe fn zero_range(inode: *mut b::inode, span: &PageSpan, keep_size: bool) -> Result {
    // SAFETY: per the contract.
    unsafe {
        let sbi = sb_info(inode);
        sbi.acct.stats.inc(Counter::ZeroRanges);
        let grow = check_new_size(inode, span, keep_size)?;
        allocate_blocks(inode, span)?;
        b::truncate_pagecache_range(inode, span.start() as _, (span.end() - 1) as _);
        zero_partial_blocks(inode, span);
        info(inode).map.lock().zero_range(span.full_pages());
        if grow {
            super::aops::zero_folio_tail((*inode).i_mapping, b::holefs_i_size_read(inode) as u64);
            b::holefs_i_size_write(inode, span.end() as b::loff_t);
        }
    }
    Ok(())
}

/// Mode 0 / KEEP_SIZE: allocate blocks for the holes in the range.
///
/// # Safety
///
/// As for [`punch_hole`].
unsafe fn allocate(inode: *mut b::inode, span: &PageSpan, keep_size: bool) -> Result {
    // SAFETY: per the contract.
    unsafe {
        let sbi = sb_info(inode);
        sbi.acct.stats.inc(Counter::Preallocs);
        let grow = check_new_size(inode, span, keep_size)?;
        allocate_blocks(inode, span)?;
        if grow {
            super::aops::zero_folio_tail((*inode).i_mapping, b::holefs_i_size_read(inode) as u64);
            b::holefs_i_size_write(inode, span.end() as b::loff_t);
        }
    }
    Ok(())
}
