// SPDX-License-Identifier: GPL-2.0

//! Page faults on file mappings: [`VmFault`] and the fault result
//! ([`FaultRet`]).

use core::marker::PhantomData;
use core::ops::Deref;

use kernel::prelude::*;
use kernel::types::{ARef, Opaque};

use super::bindings as b;
use super::file::File;
use super::folio::{Folio, LockedFolio};
use super::fs::FileSystem;

/// A `vm_fault_t`: what a fault handler tells the mm.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct FaultRet(pub(super) b::vm_fault_t);

impl FaultRet {
    /// Nothing mapped, no error (e.g. fault-around that mapped nothing).
    pub(crate) const NONE: Self = FaultRet(0);
    /// The access is invalid: `SIGBUS`.
    pub(crate) const SIGBUS: Self = FaultRet(b::HOLEFS_VM_FAULT_SIGBUS);
    /// Out of memory.
    pub(crate) const OOM: Self = FaultRet(b::HOLEFS_VM_FAULT_OOM);
    /// No page installed; the access faults again.
    pub(crate) const NOPAGE: Self = FaultRet(b::HOLEFS_VM_FAULT_NOPAGE);

    /// The result for an error: `OOM` for `ENOMEM`, `SIGBUS` otherwise.
    pub(crate) fn from_error(e: Error) -> Self {
        if e == ENOMEM {
            Self::OOM
        } else {
            Self::SIGBUS
        }
    }
}

/// A page fault on a mapping of a file of filesystem `T`.
///
/// `->map_pages` runs under `rcu_read_lock()` and must not sleep; the
/// methods that may sleep say so.
///
/// # Invariants
///
/// A `&VmFault<T>` is only created for a fault being handled on a VMA that
/// maps a `T` file (set up by [`super::file::VmArea::set_ops`]), for the
/// duration of the fault callback.
#[repr(transparent)]
pub(crate) struct VmFault<T: FileSystem>(Opaque<b::vm_fault>, PhantomData<T>);

impl<T: FileSystem> VmFault<T> {
    /// # Safety
    ///
    /// `ptr` must be a fault being handled on a `T` file mapping, valid for
    /// `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut b::vm_fault) -> &'a Self {
        // INVARIANT: per the contract.
        // SAFETY: transparent wrapper.
        unsafe { &*ptr.cast::<Self>() }
    }

    fn as_raw(&self) -> *mut b::vm_fault {
        self.0.get()
    }

    /// The mapped file.
    pub(crate) fn file(&self) -> &File<T> {
        // SAFETY: the faulting VMA maps a `T` file, which it keeps open
        // (type invariant).
        unsafe { File::from_raw((*(*self.as_raw()).__bindgen_anon_1.vma).vm_file) }
    }

    /// The page index in the file of the faulting address.
    pub(crate) fn pgoff(&self) -> u64 {
        // SAFETY: `pgoff` is set by the mm before any handler runs.
        unsafe { (*self.as_raw()).__bindgen_anon_1.pgoff as u64 }
    }

    /// File pages mapped by the faulting process, summed over all CPUs
    /// (only a raw spinlock: allowed in `->map_pages`).
    pub(crate) fn mm_file_pages(&self) -> i64 {
        // SAFETY: the VMA and its mm are live during the fault.
        unsafe { b::holefs_mm_file_pages((*(*self.as_raw()).__bindgen_anon_1.vma).vm_mm) as i64 }
    }

    /// The generic `->fault` (`filemap_fault`), which takes
    /// `invalidate_lock` shared before it creates a folio.  May sleep.
    pub(crate) fn filemap_fault(&self) -> FaultRet {
        // SAFETY: a fault on a page-cache mapping, as it requires.
        FaultRet(unsafe { b::filemap_fault(self.as_raw()) })
    }

    /// The generic `->map_pages` (`filemap_map_pages`): maps cached,
    /// uptodate folios of pages `start..=end` without sleeping.
    pub(crate) fn filemap_map_pages(&self, start: u64, end: u64) -> FaultRet {
        // SAFETY: called from `->map_pages` for this fault (the only
        // handler that gets a `start`/`end`).
        FaultRet(unsafe { b::filemap_map_pages(self.as_raw(), start as _, end as _) })
    }

    /// Hands `folio`, locked and referenced, to the mm to map at the
    /// faulting address (`VM_FAULT_LOCKED`); the mm unlocks and puts it.
    pub(crate) fn install_locked(&self, folio: LockedFolio<ARef<Folio>>) -> FaultRet {
        let index = self.pgoff();
        let folio = folio.into_raw();
        // SAFETY: the folio is locked and referenced, and the lock and
        // reference now belong to the mm, which takes them from `vmf->page`
        // with `VM_FAULT_LOCKED`.
        unsafe { (*self.as_raw()).page = b::holefs_folio_file_page(folio, index as _) };
        FaultRet(b::HOLEFS_VM_FAULT_LOCKED)
    }

    /// The folio of the page a write fault is about (`->page_mkwrite`),
    /// referenced by the mm for the fault.
    pub(crate) fn page_folio(&self) -> &Folio {
        // SAFETY: in `->page_mkwrite` `vmf->page` is the mapped page, which
        // the mm keeps referenced while the fault is handled.
        unsafe { Folio::from_raw(b::holefs_page_folio((*self.as_raw()).page)) }
    }

    /// Returns from `->page_mkwrite` with `folio` (the fault's page) locked
    /// (`VM_FAULT_LOCKED`); the mm unlocks it.
    pub(crate) fn keep_locked<R: Deref<Target = Folio>>(&self, folio: LockedFolio<R>) -> FaultRet {
        // The lock passes to the mm; the reference is the mm's own.
        let _ = folio.into_raw();
        FaultRet(b::HOLEFS_VM_FAULT_LOCKED)
    }
}
