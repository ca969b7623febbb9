// SPDX-License-Identifier: GPL-2.0

//! The glue layer: every raw pointer and every `unsafe` block of holefs.
//!
//! One file per kernel object or operations table.  The callbacks here
//! convert pointers into references, take the locks the VFS expects, and
//! call into the safe filesystem logic (`options`, `pool`, `blockmap`,
//! `range`, `stats`).

pub(crate) mod aops;
pub(crate) mod bindings;
pub(crate) mod block;
pub(crate) mod file;
pub(crate) mod folio;
pub(crate) mod fs_type;
pub(crate) mod inode;
pub(crate) mod super_ops;
pub(crate) mod sysfs;
pub(crate) mod vm_ops;

use bindings as b;
use kernel::prelude::*;

/// An operations table or other C object in static storage that the kernel
/// only reads (or, for `file_system_type`, writes under its own locks).
///
/// # Invariants
///
/// After module initialisation the contents are only accessed by the
/// kernel, which does its own synchronisation; Rust code never mutates them
/// through a shared reference.
#[repr(transparent)]
pub(crate) struct StaticTable<T>(pub(crate) T);

// SAFETY: by the type invariant Rust never mutates the contents concurrently;
// the raw pointers they hold point to other statics or functions.
unsafe impl<T> Sync for StaticTable<T> {}

/// A C struct with every field zero, for `..zeroed()` in static tables.
pub(crate) const fn zeroed<T>() -> T {
    // SAFETY: only used for the plain C structs of `bindings` (operation
    // tables, attributes), for which all-zero is a valid value: null
    // pointers and `None` callbacks.
    unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}

/// `ERR_PTR` check and conversion for kernel functions that return one.
pub(crate) fn check_ptr<T>(ptr: *mut T) -> Result<*mut T> {
    // SAFETY: `IS_ERR`/`PTR_ERR` only inspect the pointer value.
    if unsafe { b::holefs_is_err(ptr.cast()) } {
        // SAFETY: as above.
        let errno = unsafe { b::holefs_ptr_err(ptr.cast()) };
        return Err(Error::from_errno(errno as i32));
    }
    if ptr.is_null() {
        return Err(ENOMEM);
    }
    Ok(ptr)
}

/// The page size as a `u64`, for byte arithmetic.
pub(crate) const PAGE_SIZE: u64 = kernel::page::PAGE_SIZE as u64;
/// log2 of [`PAGE_SIZE`].
pub(crate) const PAGE_SHIFT: u32 = kernel::page::PAGE_SHIFT as u32;

/// Gives the CPU away if a reschedule is due, in loops over many blocks.
/// May sleep.
pub(crate) fn cond_resched() {
    // SAFETY: called only from process context without spinlocks held (the
    // block map lock is a mutex).
    unsafe { b::holefs_cond_resched() };
}
