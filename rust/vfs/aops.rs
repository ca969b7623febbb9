// SPDX-License-Identifier: GPL-2.0

//! The [`AddressSpaceOperations`] trait and its
//! `address_space_operations` table, and readahead batches.

use core::marker::PhantomData;
use core::ptr;

use kernel::error::from_result;
use kernel::ffi::{c_int, c_uint, c_void};
use kernel::prelude::*;
use kernel::types::ARef;

use super::bindings as b;
use super::folio::{Folio, LockedFolio};
use super::fs::FileSystem;
use super::inode::{Inode, InodeLocked};
use super::zeroed;

/// A readahead batch: the folios the kernel added to the page cache, locked
/// and not yet uptodate.
///
/// # Invariants
///
/// `rac` is the batch passed to `->readahead`, valid for the borrow.
pub(crate) struct Readahead<'a> {
    rac: *mut b::readahead_control,
    _batch: PhantomData<&'a mut b::readahead_control>,
}

impl Readahead<'_> {
    /// The next folio of the batch, locked; the caller fills it and drops
    /// it (unlocking it).  Folios not taken are unlocked by the kernel.
    pub(crate) fn next_folio(&mut self) -> Option<LockedFolio<&Folio>> {
        // SAFETY: `rac` is valid (type invariant).
        let folio = unsafe { b::holefs_readahead_folio(self.rac) };
        if folio.is_null() {
            return None;
        }
        // SAFETY: `readahead_folio` hands out a locked page-cache folio and
        // drops its own reference: the page cache keeps the folio while it
        // is locked, and the caller must unlock it.
        Some(unsafe { LockedFolio::from_locked(Folio::from_raw(folio)) })
    }
}

/// `address_space_operations` of filesystem `Self::FileSystem`.  The folio
/// dirtying callback is always `filemap_dirty_folio`.
#[vtable]
pub(crate) trait AddressSpaceOperations: Sized + 'static {
    /// The filesystem.
    type FileSystem: FileSystem;

    /// `->read_folio`: fills `folio` (locked, not uptodate) and marks it
    /// uptodate; the layer unlocks it afterwards.
    fn read_folio(inode: &Inode<Self::FileSystem>, folio: &mut LockedFolio<&Folio>) -> Result;

    /// `->readahead`: fills the folios of `batch`.
    fn readahead(inode: &Inode<Self::FileSystem>, batch: &mut Readahead<'_>);

    /// One folio of `->writepages` (the loop is `writeback_iter`): `folio`
    /// is locked with its dirty bit cleared; the filesystem writes it
    /// (typically via [`LockedFolio::start_writeback`]) and drops it.
    fn write_folio(inode: &Inode<Self::FileSystem>, folio: LockedFolio<&Folio>) -> Result;

    /// `->write_begin`: prepares the folio for a buffered write of `len`
    /// bytes at `pos`, returned locked and referenced (the kernel releases
    /// both after `->write_end`).  The writer holds `i_rwsem`.
    fn write_begin(
        inode: &InodeLocked<Self::FileSystem>,
        pos: u64,
        len: u32,
    ) -> Result<LockedFolio<ARef<Folio>>>;

    /// `->write_end`: `copied` of `len` bytes were copied into `folio`;
    /// returns how many the write accepts.  Dropping `folio` releases it.
    fn write_end(
        inode: &InodeLocked<Self::FileSystem>,
        pos: u64,
        len: u32,
        copied: u32,
        folio: LockedFolio<ARef<Folio>>,
    ) -> u32;
}

/// The `address_space_operations` table of `T` and its trampolines.
pub(super) struct AopsTable<T: AddressSpaceOperations>(PhantomData<T>);

impl<T: AddressSpaceOperations> AopsTable<T> {
    const TABLE: b::address_space_operations = b::address_space_operations {
        read_folio: Some(Self::read_folio),
        readahead: Some(Self::readahead),
        writepages: Some(Self::writepages),
        dirty_folio: Some(b::filemap_dirty_folio),
        write_begin: Some(Self::write_begin),
        write_end: Some(Self::write_end),
        ..zeroed()
    };

    /// The table, in static storage.
    pub(super) const fn build() -> &'static b::address_space_operations {
        &Self::TABLE
    }

    /// # Safety
    ///
    /// Only for `->read_folio`: `folio` is a locked folio in the page cache
    /// of a `T` inode, which the caller keeps referenced; the callee must
    /// unlock it.
    unsafe extern "C" fn read_folio(_file: *mut b::file, folio: *mut b::folio) -> c_int {
        // SAFETY: per the contract the folio is locked and referenced, and
        // its `mapping` (stable under the lock) is that of a live `T` inode.
        let (mut folio, inode) = unsafe {
            let inode = (*b::holefs_folio_mapping(folio)).host;
            (
                LockedFolio::from_locked(Folio::from_raw(folio)),
                Inode::<T::FileSystem>::from_raw(inode),
            )
        };
        let result = T::read_folio(inode, &mut folio);
        drop(folio);
        from_result(|| result.map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for `->readahead`: `rac` is a readahead batch for the mapping
    /// of a live `T` inode.
    unsafe extern "C" fn readahead(rac: *mut kernel::bindings::readahead_control) {
        // 6.12's `kernel::bindings` has `readahead_control` as a placeholder.
        let rac = rac.cast::<b::readahead_control>();
        // SAFETY: per the contract `rac->mapping` is the mapping of a live
        // `T` inode, its `host`.
        let inode = unsafe { Inode::<T::FileSystem>::from_raw((*(*rac).mapping).host) };
        // INVARIANT: `rac` is the batch of this call.
        let mut batch = Readahead {
            rac,
            _batch: PhantomData,
        };
        T::readahead(inode, &mut batch);
    }

    /// # Safety
    ///
    /// Only for `->writepages`: `mapping` belongs to a live `T` inode and
    /// `wbc` is valid for the call.
    unsafe extern "C" fn writepages(
        mapping: *mut b::address_space,
        wbc: *mut b::writeback_control,
    ) -> c_int {
        let mut error: c_int = 0;
        let mut folio: *mut b::folio = ptr::null_mut();
        // SAFETY: per the contract.
        let inode = unsafe { Inode::<T::FileSystem>::from_raw((*mapping).host) };
        loop {
            // SAFETY: `mapping` and `wbc` are valid; `writeback_iter` hands
            // out locked folios one at a time, each referenced by its batch
            // until the next call.
            folio = unsafe { b::writeback_iter(mapping, wbc, folio, &mut error) };
            if folio.is_null() {
                break;
            }
            // SAFETY: as above, the folio is locked and the callee unlocks
            // it (by dropping it).
            let locked = unsafe { LockedFolio::from_locked(Folio::from_raw(folio)) };
            error = match T::write_folio(inode, locked) {
                Ok(()) => 0,
                Err(e) => e.to_errno(),
            };
        }
        error
    }

    /// # Safety
    ///
    /// Only for `->write_begin`: `mapping` belongs to a live `T` inode whose
    /// `i_rwsem` the writer holds (`generic_perform_write`) or which no one
    /// else knows yet (`page_symlink` on a new inode); `foliop` is valid for
    /// a write.
    unsafe extern "C" fn write_begin(
        _file: *mut b::file,
        mapping: *mut b::address_space,
        pos: b::loff_t,
        len: c_uint,
        foliop: *mut *mut b::folio,
        _fsdata: *mut *mut c_void,
    ) -> c_int {
        // SAFETY: per the contract the host is live and its size is ours to
        // change.
        let inode = unsafe { InodeLocked::<T::FileSystem>::from_raw((*mapping).host) };
        from_result(|| {
            let folio = T::write_begin(inode, pos as u64, len)?;
            // SAFETY: `foliop` is valid (contract); the lock and reference
            // pass to the caller, who gives them back to `write_end`.
            unsafe { *foliop = folio.into_raw() };
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only for `->write_end`: as for `write_begin`, and `folio` is the
    /// locked, referenced folio it returned, whose lock and reference the
    /// callee releases.
    unsafe extern "C" fn write_end(
        _file: *mut b::file,
        mapping: *mut b::address_space,
        pos: b::loff_t,
        len: c_uint,
        copied: c_uint,
        folio: *mut b::folio,
        _fsdata: *mut c_void,
    ) -> c_int {
        // SAFETY: per the contract.
        let (inode, folio) = unsafe {
            (
                InodeLocked::<T::FileSystem>::from_raw((*mapping).host),
                LockedFolio::from_locked(Folio::from_owned_raw(folio)),
            )
        };
        T::write_end(inode, pos as u64, len, copied, folio) as c_int
    }
}
