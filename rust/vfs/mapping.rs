// SPDX-License-Identifier: GPL-2.0

//! Page caches: [`AddressSpace`], its `invalidate_lock` guards, readahead
//! batches, and the [`AddressSpaceOperations`] trait with its table.

use core::marker::PhantomData;
use core::ptr;

use kernel::error::from_result;
use kernel::ffi::{c_int, c_uint, c_void};
use kernel::prelude::*;
use kernel::types::{ARef, Opaque};

use super::bindings as b;
use super::file::File;
use super::folio::{Folio, LockedFolio};
use super::fs::FileSystem;
use super::inode::{Inode, InodeLocked};
use super::{from_err_ptr, zeroed};

/// The page cache of an inode of filesystem `T` (`struct address_space`).
///
/// # Invariants
///
/// A `&AddressSpace<T>` is only created for the mapping of a live `T`
/// inode, its `host`, which outlives the reference.
#[repr(transparent)]
pub(crate) struct AddressSpace<T: FileSystem>(Opaque<b::address_space>, PhantomData<T>);

impl<T: FileSystem> AddressSpace<T> {
    /// # Safety
    ///
    /// `ptr` must be the mapping of a live `T` inode that stays live for
    /// `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut b::address_space) -> &'a Self {
        // INVARIANT: per the contract.
        // SAFETY: transparent wrapper.
        unsafe { &*ptr.cast::<Self>() }
    }

    pub(super) fn as_raw(&self) -> *mut b::address_space {
        self.0.get()
    }

    /// Takes `invalidate_lock` exclusive: no folio can be added to the page
    /// cache (by faults, reads, readahead) until the guard is dropped.  Lock
    /// order: `i_rwsem` before `invalidate_lock`.  May sleep.
    pub(crate) fn invalidate_lock(&self) -> InvalidateGuard<'_, T> {
        // SAFETY: the mapping is live.
        unsafe { b::holefs_invalidate_lock(self.as_raw()) };
        // INVARIANT: taken above.
        InvalidateGuard { mapping: self }
    }

    /// Takes `invalidate_lock` shared, as page-cache fills do.  May sleep.
    pub(crate) fn invalidate_lock_shared(&self) -> InvalidateSharedGuard<'_, T> {
        // SAFETY: the mapping is live.
        unsafe { b::holefs_invalidate_lock_shared(self.as_raw()) };
        // INVARIANT: taken above.
        InvalidateSharedGuard { mapping: self }
    }

    /// Takes `invalidate_lock` shared if that is possible without waiting.
    /// Does not sleep.
    pub(crate) fn try_invalidate_lock_shared(&self) -> Option<InvalidateSharedGuard<'_, T>> {
        // SAFETY: the mapping is live; `down_read_trylock` never sleeps.
        if unsafe { b::holefs_invalidate_trylock_shared(self.as_raw()) } == 0 {
            return None;
        }
        // INVARIANT: taken above.
        Some(InvalidateSharedGuard { mapping: self })
    }

    /// The cached folio at `index`, if any (`filemap_get_folio`).
    pub(crate) fn get_folio(&self, index: u64) -> Option<ARef<Folio>> {
        // SAFETY: the mapping is live.
        let folio = from_err_ptr(unsafe { b::holefs_filemap_get_folio(self.as_raw(), index as _) });
        // SAFETY: `filemap_get_folio` returns a folio with a reference for
        // the caller.
        folio.ok().map(|f| unsafe { Folio::from_owned_raw(f) })
    }

    /// The folio at `index`, found or created, locked and waited for stable
    /// for a buffered write (`FGP_WRITEBEGIN`).  May sleep.
    pub(crate) fn grab_folio_for_write(&self, index: u64) -> Result<LockedFolio<ARef<Folio>>> {
        // SAFETY: the mapping is live.
        let folio =
            from_err_ptr(unsafe { b::holefs_filemap_grab_folio_write(self.as_raw(), index as _) })?;
        // SAFETY: `FGP_LOCK` in `FGP_WRITEBEGIN`: the folio is locked and
        // referenced for us.
        Ok(unsafe { LockedFolio::from_locked(Folio::from_owned_raw(folio)) })
    }

    /// The folio at `index`, read through `->read_folio` if not cached
    /// (`read_mapping_folio`).  Its kernel-doc asks the caller to hold
    /// `invalidate_lock` shared, so that no invalidation races the fill.
    /// May sleep.
    pub(crate) fn read_folio(&self, index: u64, file: &File<T>) -> Result<ARef<Folio>> {
        // SAFETY: the mapping and the file are live.
        let folio = from_err_ptr(unsafe {
            b::holefs_read_mapping_folio(self.as_raw(), index as _, file.as_raw())
        })?;
        // SAFETY: returned referenced for the caller.
        Ok(unsafe { Folio::from_owned_raw(folio) })
    }

    /// Records a writeback error for `fsync` to report (`mapping_set_error`).
    pub(crate) fn set_error(&self, err: Error) {
        // SAFETY: the mapping is live.
        unsafe { b::holefs_mapping_set_error(self.as_raw(), err.to_errno()) };
    }
}

/// Holds a mapping's `invalidate_lock` exclusive; releases it on drop.
///
/// # Invariants
///
/// The guard took the lock and is the one that releases it.
pub(crate) struct InvalidateGuard<'a, T: FileSystem> {
    mapping: &'a AddressSpace<T>,
}

impl<T: FileSystem> Drop for InvalidateGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: taken exclusive by this guard (type invariant).
        unsafe { b::holefs_invalidate_unlock(self.mapping.as_raw()) };
    }
}

/// Holds a mapping's `invalidate_lock` shared; releases it on drop.
///
/// # Invariants
///
/// The guard took the lock shared and is the one that releases it.
pub(crate) struct InvalidateSharedGuard<'a, T: FileSystem> {
    mapping: &'a AddressSpace<T>,
}

impl<T: FileSystem> Drop for InvalidateSharedGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: taken shared by this guard (type invariant).
        unsafe { b::holefs_invalidate_unlock_shared(self.mapping.as_raw()) };
    }
}

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
