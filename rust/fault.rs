// SPDX-License-Identifier: GPL-2.0

//! The page-fault paths, one per policy.
//!
//! `->map_pages` runs under `rcu_read_lock()` (6.12 `do_fault_around()`)
//! and must not sleep; `->fault` and `->page_mkwrite` may.  Which code runs
//! is chosen by the mount's [`MapPagesPolicy`] and [`FaultPolicy`];
//! `map_pages=off` uses the table without `->map_pages`
//! ([`FaultOpsNoMapPages`]).

#![forbid(unsafe_code)]

use kernel::prelude::*;

use crate::data::reserve_folio_blocks;
use crate::options::{FaultPolicy, MapPagesPolicy};
use crate::range::pages_for;
use crate::state::HoleFs;
use crate::stats::Counter;
use crate::vfs::folio::LockedFolio;
use crate::vfs::vm::{FaultRet, VmFault};
use crate::vfs::vm_ops::VmOperations;
use crate::vfs::PAGE_SHIFT;

/// The fault operations with `->map_pages`.
pub(crate) struct FaultOps;

/// The fault operations without `->map_pages` (`map_pages=off`).
pub(crate) struct FaultOpsNoMapPages;

/// The slow fault path, per the fault policy.
fn fault(vmf: &VmFault<HoleFs>) -> FaultRet {
    let sbi = vmf.file().inode().super_block().data();
    sbi.acct.stats.inc(Counter::FaultCalls);
    match sbi.config.fault {
        FaultPolicy::Filemap => vmf.filemap_fault(),
        FaultPolicy::Unlocked => unlocked_fault(vmf),
    }
}

/// `fault=unlocked`: finds or creates the folio with `read_mapping_folio()`
/// without `invalidate_lock`, which that function's contract requires of
/// its caller.  A folio created here during a hole punch can be filled
/// from blocks the punch has not freed yet: stale data, on purpose.
fn unlocked_fault(vmf: &VmFault<HoleFs>) -> FaultRet {
    let file = vmf.file();
    let inode = file.inode();
    let mapping = file.mapping();
    let index = vmf.pgoff();
    let beyond_eof = || index >= pages_for(inode.size(), PAGE_SHIFT);
    if beyond_eof() {
        return FaultRet::SIGBUS;
    }
    let folio = match mapping.get_folio(index) {
        Some(folio) => folio,
        None => match file.read_mapping_folio(index) {
            Ok(folio) => {
                let stats = &inode.super_block().data().acct.stats;
                stats.inc(Counter::UnlockedFaultFolios);
                folio
            }
            Err(e) => return FaultRet::from_error(e),
        },
    };
    let folio = LockedFolio::lock(folio);
    if !mapping.owns(&folio) {
        // Truncated meanwhile: let the access fault again.
        return FaultRet::NOPAGE;
    }
    if !folio.is_uptodate() || beyond_eof() {
        return FaultRet::SIGBUS;
    }
    vmf.install_locked(folio)
}

/// Fault-around, per the map_pages policy.  Nothing here sleeps except
/// under `map_pages=locked`, which exists to show that it must not.
fn map_pages(vmf: &VmFault<HoleFs>, start: u64, end: u64) -> FaultRet {
    let mapping = vmf.file().mapping();
    let sbi = vmf.file().inode().super_block().data();
    let stats = &sbi.acct.stats;
    stats.inc(Counter::MapPagesCalls);
    let mapped_before = vmf.mm_file_pages();
    let ret = match sbi.config.map_pages {
        MapPagesPolicy::Filemap | MapPagesPolicy::Off => vmf.filemap_map_pages(start, end),
        MapPagesPolicy::Trylock => {
            let Some(_fills) = mapping.try_invalidate_lock_shared() else {
                // Map nothing: the fault falls back to ->fault, which waits
                // for the invalidation properly.
                stats.inc(Counter::MapPagesTrylockFailed);
                return FaultRet::NONE;
            };
            vmf.filemap_map_pages(start, end)
        }
        MapPagesPolicy::Locked => {
            // INVALID in 6.12: may sleep inside rcu_read_lock().
            let _fills = mapping.invalidate_lock_shared();
            vmf.filemap_map_pages(start, end)
        }
    };
    let mapped = vmf.mm_file_pages().saturating_sub(mapped_before);
    stats.add(Counter::MapPagesPages, mapped as u64);
    ret
}

/// Makes a mapped page writable: reserves the blocks of its folio.  Lock order:
/// `sb_start_pagefault` -> `invalidate_lock` (shared) -> folio lock ->
/// block map, as in locking.rst for `->page_mkwrite`.
fn page_mkwrite(vmf: &VmFault<HoleFs>) -> FaultRet {
    let file = vmf.file();
    let inode = file.inode();
    let mapping = file.mapping();
    let sbi = inode.super_block().data();
    sbi.acct.stats.inc(Counter::PageMkwriteCalls);
    let _freeze = inode.super_block().start_pagefault();
    file.update_time();
    let _fills = mapping.invalidate_lock_shared();
    let folio = LockedFolio::lock(vmf.page_folio());
    let size = inode.size();
    if !mapping.owns(&folio) || folio.pos() >= size {
        // Truncated or punched meanwhile.
        return FaultRet::NOPAGE;
    }
    // Reserve the blocks before the folio is dirty: ENOSPC here is SIGBUS
    // for this writer, and writeback never runs out of space.  The whole
    // folio becomes dirty, so every page of it inside EOF needs one.
    let reserved = reserve_folio_blocks(inode, &folio, size);
    match reserved {
        Ok(()) => {
            let mut folio = folio;
            folio.mark_dirty();
            folio.wait_stable();
            vmf.keep_locked(folio)
        }
        Err(e) => FaultRet::from_error(e),
    }
}

#[vtable]
impl VmOperations for FaultOps {
    type FileSystem = HoleFs;

    fn fault(vmf: &VmFault<HoleFs>) -> FaultRet {
        fault(vmf)
    }

    fn map_pages(vmf: &VmFault<HoleFs>, start: u64, end: u64) -> FaultRet {
        map_pages(vmf, start, end)
    }

    fn page_mkwrite(vmf: &VmFault<HoleFs>) -> FaultRet {
        page_mkwrite(vmf)
    }
}

#[vtable]
impl VmOperations for FaultOpsNoMapPages {
    type FileSystem = HoleFs;

    fn fault(vmf: &VmFault<HoleFs>) -> FaultRet {
        fault(vmf)
    }

    fn page_mkwrite(vmf: &VmFault<HoleFs>) -> FaultRet {
        page_mkwrite(vmf)
    }
}
