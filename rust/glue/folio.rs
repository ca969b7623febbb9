// SPDX-License-Identifier: GPL-2.0

//! Kernel mappings of page-cache folios as byte slices.

use super::bindings as b;

/// The contents of an order-0 folio, mapped with `kmap_local_folio()`.
///
/// # Invariants
///
/// `addr` is the local mapping of a PAGE_SIZE folio that the creator may
/// access exclusively (the folio is locked by the caller); it is unmapped on
/// drop, on the same task.
pub(crate) struct MappedFolio {
    addr: *mut u8,
}

impl MappedFolio {
    /// Maps `folio`.
    ///
    /// # Safety
    ///
    /// `folio` must be an order-0 folio locked by the caller, who keeps it
    /// locked (and referenced) while the mapping exists, and who maps no
    /// other page in between without unmapping it first.
    pub(crate) unsafe fn new(folio: *mut b::folio) -> Self {
        // SAFETY: per the contract the folio is valid and stays so.
        let addr = unsafe { b::holefs_kmap_local_folio(folio, 0) }.cast::<u8>();
        // INVARIANT: `addr` maps the whole order-0 folio; the folio lock
        // gives the caller exclusive access to its contents.
        MappedFolio { addr }
    }

    /// The folio's bytes.
    pub(crate) fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: by the type invariant `addr` maps PAGE_SIZE bytes that
        // only we access while `self` lives.
        unsafe { core::slice::from_raw_parts_mut(self.addr, kernel::page::PAGE_SIZE) }
    }
}

impl Drop for MappedFolio {
    fn drop(&mut self) {
        // SAFETY: `addr` came from `kmap_local_folio` on this task.
        unsafe { b::holefs_kunmap_local(self.addr.cast()) };
    }
}
