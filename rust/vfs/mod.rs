// SPDX-License-Identifier: GPL-2.0

//! A typed, safe view of the VFS for a small page-cache filesystem.
//!
//! This directory is the only part of the module with `unsafe` code and
//! with `bindings`.  Kernel objects appear as `#[repr(transparent)]`
//! wrappers over [`Opaque`](kernel::types::Opaque) (`SuperBlock`, `Inode`,
//! `File`, `AddressSpace`, `Folio`, `VmFault`), locks as guards that release
//! on drop, and each operations table as a `#[vtable]` trait whose C table
//! is a constant built from the implementation, with `extern "C"`
//! trampolines that turn the kernel's pointers into those types once.
//!
//! Nothing here knows a filesystem's policy: a filesystem implements
//! [`fs::FileSystem`], [`fs_type::FileSystemType`] and the operations
//! traits in safe code.  The modules are layered: `fs` (data types), then
//! the wrappers (`folio`, `mapping`, `sb`, `inode`, `file`, `vm`, `sysfs`,
//! `page_buf`), then the operations tables (`super_ops`, `inode_ops`,
//! `file_ops`, `aops`, `vm_ops`), then `fs_type`; each imports only from
//! the layers before it.  See Documentation/vfs-layer.rst.

pub(crate) mod aops;
pub(crate) mod bindings;
pub(crate) mod file;
pub(crate) mod file_ops;
pub(crate) mod folio;
pub(crate) mod fs;
pub(crate) mod fs_type;
pub(crate) mod inode;
pub(crate) mod inode_ops;
pub(crate) mod mapping;
pub(crate) mod page_buf;
pub(crate) mod sb;
pub(crate) mod super_ops;
pub(crate) mod sysfs;
pub(crate) mod vm;
pub(crate) mod vm_ops;

use bindings as b;
use kernel::prelude::*;

/// The page size as a `u64`, for byte arithmetic.
pub(crate) const PAGE_SIZE: u64 = kernel::page::PAGE_SIZE as u64;
/// log2 of [`PAGE_SIZE`].
pub(crate) const PAGE_SHIFT: u32 = kernel::page::PAGE_SHIFT as u32;

/// `EOPNOTSUPP`, which 6.12's `kernel::error::code` lacks.
pub(crate) fn eopnotsupp() -> Error {
    Error::from_errno(-(b::EOPNOTSUPP as i32))
}

/// A C struct with every field zero, for `..zeroed()` in operation tables.
const fn zeroed<T>() -> T {
    // SAFETY: only used in this directory for the plain C structs of
    // `bindings` (operation tables, attributes, kobjects), for which all-zero
    // is a valid value: null pointers and `None` callbacks.
    unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}

/// `ERR_PTR` check and conversion for kernel functions that return one; a
/// null pointer is `ENOMEM`.
fn from_err_ptr<T>(ptr: *mut T) -> Result<*mut T> {
    let ptr = kernel::error::from_err_ptr(ptr)?;
    if ptr.is_null() {
        return Err(ENOMEM);
    }
    Ok(ptr)
}

/// Gives the CPU away if a reschedule is due, in loops over many blocks.
///
/// Must be called from process context without spinlocks held; a sleeping
/// mutex such as [`kernel::sync::Mutex`] may be held.
pub(crate) fn cond_resched() {
    // SAFETY: `cond_resched()` has no preconditions beyond being allowed to
    // sleep, which the documented context provides.
    unsafe { b::holefs_cond_resched() };
}

/// Sleeps for about `usecs` microseconds (`fsleep()`).  May sleep.
pub(crate) fn fsleep(usecs: u32) {
    // SAFETY: `fsleep()` only needs a context that may sleep.
    unsafe { b::holefs_fsleep(usecs as _) };
}

/// Whether the page cache of this kernel can hold large folios
/// (`mapping_large_folio_support()` after `mapping_set_large_folios()`;
/// false without `CONFIG_TRANSPARENT_HUGEPAGE`).
pub(crate) fn large_folios_supported() -> bool {
    // SAFETY: probes a mapping of its own; no global state.
    unsafe { b::holefs_large_folios_supported() }
}

/// Total RAM in bytes.
pub(crate) fn total_ram_bytes() -> u64 {
    // SAFETY: reads a global counter.
    let pages = unsafe { b::holefs_totalram_pages() } as u64;
    pages * PAGE_SIZE
}

/// The module parameters, declared in C because 6.12's `module!` has none.
pub(crate) mod params {
    use super::bindings as b;

    /// Value of the `unsafe_policies` module parameter.
    pub(crate) fn unsafe_policies() -> bool {
        // SAFETY: a `bool` module parameter, written only by the module
        // loader before `init` (permissions 0444: not writable through
        // sysfs).
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!(b::holefs_unsafe_policies)) }
    }
}
