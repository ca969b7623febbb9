// SPDX-License-Identifier: GPL-2.0

//! Page caches: [`AddressSpace`] and its `invalidate_lock` guards.

use core::marker::PhantomData;

use kernel::prelude::*;
use kernel::types::{ARef, Opaque};

use super::bindings as b;
use super::folio::{Folio, LockedFolio};
use super::from_err_ptr;
use super::fs::FileSystem;

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

    /// The folio holding page `index`, found or created, locked and waited
    /// for stable for a buffered write of `len` bytes (`FGP_WRITEBEGIN`).
    /// A created folio is as large as `len` suggests where the mapping
    /// allows large folios, one page otherwise; a found one may be of any
    /// size.  May sleep.
    pub(crate) fn grab_folio_for_write(
        &self,
        index: u64,
        len: usize,
    ) -> Result<LockedFolio<ARef<Folio>>> {
        // SAFETY: the mapping is live.
        let folio = from_err_ptr(unsafe {
            b::holefs_filemap_grab_folio_write(self.as_raw(), index as _, len)
        })?;
        // SAFETY: `FGP_LOCK` in `FGP_WRITEBEGIN`: the folio is locked and
        // referenced for us.
        Ok(unsafe { LockedFolio::from_locked(Folio::from_owned_raw(folio)) })
    }

    /// Whether `folio` is in this page cache: false once truncated or
    /// punched out of it.  Stable while the folio is locked.
    pub(crate) fn owns(&self, folio: &Folio) -> bool {
        // SAFETY: reads the folio's `mapping` field once (`READ_ONCE`); the
        // folio is referenced (`Folio` invariant).
        unsafe { b::holefs_folio_mapping(folio.as_raw()) == self.as_raw() }
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
