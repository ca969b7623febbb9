// SPDX-License-Identifier: GPL-2.0

//! The [`VmOperations`] trait and its `vm_operations_struct` table.

use core::marker::PhantomData;

use kernel::prelude::*;

use super::bindings as b;
use super::fs::FileSystem;
use super::vm::{FaultRet, VmFault};
use super::zeroed;

/// `vm_operations_struct` of file mappings of `Self::FileSystem`.
#[vtable]
pub(crate) trait VmOperations: Sized + 'static {
    /// The filesystem.
    type FileSystem: FileSystem;

    /// `->fault`: finds or creates the folio and returns it locked through
    /// [`VmFault::install_locked`], or returns what `filemap_fault`
    /// returns.  May sleep.
    fn fault(vmf: &VmFault<Self::FileSystem>) -> FaultRet;

    /// `->map_pages`: maps the cached folios of pages `start..=end` around
    /// the fault.  Runs under `rcu_read_lock()`: must not sleep.
    fn map_pages(vmf: &VmFault<Self::FileSystem>, start: u64, end: u64) -> FaultRet {
        let _ = (vmf, start, end);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `->page_mkwrite`: a mapped page is about to become writable.  May
    /// sleep.
    fn page_mkwrite(vmf: &VmFault<Self::FileSystem>) -> FaultRet;
}

/// The `vm_operations_struct` of `T` and its trampolines.
pub(super) struct VmOpsTable<T: VmOperations>(PhantomData<T>);

impl<T: VmOperations> VmOpsTable<T> {
    const TABLE: b::vm_operations_struct = b::vm_operations_struct {
        fault: Some(Self::fault),
        map_pages: if T::HAS_MAP_PAGES {
            Some(Self::map_pages)
        } else {
            None
        },
        page_mkwrite: Some(Self::page_mkwrite),
        ..zeroed()
    };

    /// The table, in static storage.
    pub(super) const fn build() -> &'static b::vm_operations_struct {
        &Self::TABLE
    }

    /// # Safety
    ///
    /// Only for `->fault` on a VMA set up with this table, which maps a
    /// `T::FileSystem` file.
    unsafe extern "C" fn fault(vmf: *mut b::vm_fault) -> b::vm_fault_t {
        // SAFETY: per the contract, for the duration of the fault.
        T::fault(unsafe { VmFault::from_raw(vmf) }).0
    }

    /// # Safety
    ///
    /// Only for `->map_pages` (from `do_fault_around()`, under
    /// `rcu_read_lock()`) on a VMA set up with this table.
    unsafe extern "C" fn map_pages(
        vmf: *mut b::vm_fault,
        start: kernel::ffi::c_ulong,
        end: kernel::ffi::c_ulong,
    ) -> b::vm_fault_t {
        // SAFETY: per the contract, for the duration of the call.
        T::map_pages(unsafe { VmFault::from_raw(vmf) }, start as u64, end as u64).0
    }

    /// # Safety
    ///
    /// Only for `->page_mkwrite` on a VMA set up with this table:
    /// `vmf->page` is the page being made writable, referenced by the mm.
    unsafe extern "C" fn page_mkwrite(vmf: *mut b::vm_fault) -> b::vm_fault_t {
        // SAFETY: per the contract, for the duration of the fault.
        T::page_mkwrite(unsafe { VmFault::from_raw(vmf) }).0
    }
}
