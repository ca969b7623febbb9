// SPDX-License-Identifier: GPL-2.0

//! `vm_operations_struct`: the page-fault paths, one per policy.
//!
//! `->map_pages` runs under `rcu_read_lock()` (6.12 `do_fault_around()`)
//! and must not sleep; `->fault` and `->page_mkwrite` may.  Which code runs
//! is chosen by the mount's [`MapPagesPolicy`] and [`FaultPolicy`];
//! `map_pages=off` uses the table without `->map_pages`.

use kernel::prelude::*;

use super::bindings as b;
use super::inode::{info, sb_info, set_i_blocks};
use super::{check_ptr, zeroed, StaticTable, PAGE_SHIFT, PAGE_SIZE};
use crate::options::{FaultPolicy, MapPagesPolicy};
use crate::range::pages_for;
use crate::stats::Counter;

pub(crate) static VM_OPS: StaticTable<b::vm_operations_struct> =
    StaticTable(b::vm_operations_struct {
        fault: Some(fault),
        map_pages: Some(map_pages),
        page_mkwrite: Some(page_mkwrite),
        ..zeroed()
    });

pub(crate) static VM_OPS_NO_MAP_PAGES: StaticTable<b::vm_operations_struct> =
    StaticTable(b::vm_operations_struct {
        fault: Some(fault),
        page_mkwrite: Some(page_mkwrite),
        ..zeroed()
    });

type VmFault = b::vm_fault_t;

/// The file and inode a fault is for.
///
/// # Safety
///
/// `vmf` must be a fault on a holefs mapping set up by `file::mmap`.
unsafe fn fault_target(vmf: *mut b::vm_fault) -> (*mut b::file, *mut b::inode) {
    // SAFETY: per the contract the VMA maps a holefs file, which the VMA
    // keeps open.
    unsafe {
        let file = (*(*vmf).__bindgen_anon_1.vma).vm_file;
        (file, (*file).f_inode)
    }
}

/// The slow fault path, per the fault policy.
///
/// # Safety
///
/// Called only by the kernel through `vm_operations_struct` (`->fault`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn fault(vmf: *mut b::vm_fault) -> VmFault {
    // SAFETY: called by the mm for a fault on one of our mappings.
    unsafe {
        let (_, inode) = fault_target(vmf);
        let sbi = sb_info(inode);
        sbi.acct.stats.inc(Counter::FaultCalls);
        match sbi.config.fault {
            FaultPolicy::Filemap => b::filemap_fault(vmf),
            FaultPolicy::Unlocked => unlocked_fault(vmf),
        }
    }
}

/// `fault=unlocked`: finds or creates the folio with `read_mapping_folio()`
/// without `invalidate_lock`, which that function's contract requires of
/// its caller.  A folio created here during a hole punch can be filled
/// from blocks the punch has not freed yet: stale data, on purpose.
///
/// # Safety
///
/// As for [`fault_target`].
unsafe fn unlocked_fault(vmf: *mut b::vm_fault) -> VmFault {
    // SAFETY: per the contract; every folio reference taken here is either
    // handed to the mm with `vmf->page` (VM_FAULT_LOCKED) or put.
    unsafe {
        let (file, inode) = fault_target(vmf);
        let mapping = (*file).f_mapping;
        let index = (*vmf).__bindgen_anon_1.pgoff;
        let beyond_eof =
            || index as u64 >= pages_for(b::holefs_i_size_read(inode) as u64, PAGE_SHIFT);
        if beyond_eof() {
            return b::HOLEFS_VM_FAULT_SIGBUS;
        }
        let folio = match check_ptr(b::holefs_filemap_get_folio(mapping, index)) {
            Ok(folio) => folio,
            Err(_) => match check_ptr(b::holefs_read_mapping_folio(mapping, index, file)) {
                Ok(folio) => {
                    sb_info(inode).acct.stats.inc(Counter::UnlockedFaultFolios);
                    folio
                }
                Err(e) if e == ENOMEM => return b::HOLEFS_VM_FAULT_OOM,
                Err(_) => return b::HOLEFS_VM_FAULT_SIGBUS,
            },
        };
        b::holefs_folio_lock(folio);
        if b::holefs_folio_mapping(folio) != mapping {
            // Truncated meanwhile: let the access fault again.
            b::folio_unlock(folio);
            b::holefs_folio_put(folio);
            return b::HOLEFS_VM_FAULT_NOPAGE;
        }
        if !b::holefs_folio_test_uptodate(folio) || beyond_eof() {
            b::folio_unlock(folio);
            b::holefs_folio_put(folio);
            return b::HOLEFS_VM_FAULT_SIGBUS;
        }
        (*vmf).page = b::holefs_folio_file_page(folio, index);
        b::HOLEFS_VM_FAULT_LOCKED
    }
}

/// Fault-around, per the map_pages policy.
///
/// # Safety
///
/// Called only by the kernel through `vm_operations_struct` (`->map_pages`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn map_pages(
    vmf: *mut b::vm_fault,
    start: kernel::ffi::c_ulong,
    end: kernel::ffi::c_ulong,
) -> VmFault {
    // SAFETY: called by `do_fault_around()` under `rcu_read_lock()` for one
    // of our mappings; nothing here sleeps except under `map_pages=locked`,
    // which exists to show that it must not.
    unsafe {
        let (file, inode) = fault_target(vmf);
        let mapping = (*file).f_mapping;
        let stats = &sb_info(inode).acct.stats;
        stats.inc(Counter::MapPagesCalls);
        let mm = (*(*vmf).__bindgen_anon_1.vma).vm_mm;
        let mapped_before = b::holefs_mm_file_pages(mm);
        let ret = match sb_info(inode).config.map_pages {
            MapPagesPolicy::Filemap | MapPagesPolicy::Off => b::filemap_map_pages(vmf, start, end),
            MapPagesPolicy::Trylock => {
                if b::holefs_invalidate_trylock_shared(mapping) == 0 {
                    // Map nothing: the fault falls back to ->fault, which
                    // waits for the invalidation properly.
                    stats.inc(Counter::MapPagesTrylockFailed);
                    return 0;
                }
                let ret = b::filemap_map_pages(vmf, start, end);
                b::holefs_invalidate_unlock_shared(mapping);
                ret
            }
            MapPagesPolicy::Locked => {
                // INVALID in 6.12: may sleep inside rcu_read_lock().
                b::holefs_invalidate_lock_shared(mapping);
                let ret = b::filemap_map_pages(vmf, start, end);
                b::holefs_invalidate_unlock_shared(mapping);
                ret
            }
        };
        let mapped = b::holefs_mm_file_pages(mm).saturating_sub(mapped_before);
        stats.add(Counter::MapPagesPages, mapped as u64);
        ret
    }
}

/// Makes a mapped page writable: reserves its block.
///
/// # Safety
///
/// Called only by the kernel through `vm_operations_struct` (`->page_mkwrite`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn page_mkwrite(vmf: *mut b::vm_fault) -> VmFault {
    // SAFETY: called by the mm for a write fault on a page of our mapping;
    // lock order: sb_start_pagefault -> invalidate_lock (shared) -> folio
    // lock -> block map, as in locking.rst for ->page_mkwrite.
    unsafe {
        let (file, inode) = fault_target(vmf);
        let sb = (*inode).i_sb;
        let mapping = (*file).f_mapping;
        let sbi = sb_info(inode);
        sbi.acct.stats.inc(Counter::PageMkwriteCalls);
        b::holefs_sb_start_pagefault(sb);
        b::file_update_time(file);
        b::holefs_invalidate_lock_shared(mapping);
        let folio = b::holefs_page_folio((*vmf).page);
        b::holefs_folio_lock(folio);
        let ret = if b::holefs_folio_mapping(folio) != mapping
            || b::holefs_folio_index(folio) as u64 * PAGE_SIZE
                >= b::holefs_i_size_read(inode) as u64
        {
            // Truncated or punched meanwhile.
            b::folio_unlock(folio);
            b::HOLEFS_VM_FAULT_NOPAGE
        } else {
            // Reserve the block before the folio is dirty: ENOSPC here is
            // SIGBUS for this writer, and writeback never runs out of space.
            let index = b::holefs_folio_index(folio) as u64;
            let reserved = {
                let mut map = info(inode).map.lock();
                let r = map
                    .ensure(index, &sbi.acct.pool, &sbi.acct.stats)
                    .map(|_| ());
                set_i_blocks(inode, map.len());
                r
            };
            match reserved {
                Ok(()) => {
                    b::folio_mark_dirty(folio);
                    b::folio_wait_stable(folio);
                    b::HOLEFS_VM_FAULT_LOCKED
                }
                Err(e) => {
                    b::folio_unlock(folio);
                    if e == ENOMEM {
                        b::HOLEFS_VM_FAULT_OOM
                    } else {
                        b::HOLEFS_VM_FAULT_SIGBUS
                    }
                }
            }
        };
        b::holefs_invalidate_unlock_shared(mapping);
        b::holefs_sb_end_pagefault(sb);
        ret
    }
}
