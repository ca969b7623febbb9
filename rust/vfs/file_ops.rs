// SPDX-License-Identifier: GPL-2.0

//! The [`FileOperations`] trait and its `file_operations` table, and the
//! VMA being set up by `mmap` ([`VmArea`]).

use core::marker::PhantomData;

use kernel::error::from_result;
use kernel::ffi::{c_int, c_long};
use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings as b;
use super::file::File;
use super::fs::FileSystem;
use super::vm_ops::{VmOperations, VmOpsTable};
use super::zeroed;

/// A VMA being set up by `->mmap`.
///
/// # Invariants
///
/// The VMA is being set up by `mmap_region` (under `mmap_lock` write) for a
/// file of filesystem `T`, for the borrow's lifetime.
#[repr(transparent)]
pub(crate) struct VmArea<T: FileSystem>(Opaque<b::vm_area_struct>, PhantomData<T>);

impl<T: FileSystem> VmArea<T> {
    /// Installs the page-fault operations `V`.
    pub(crate) fn set_ops<V: VmOperations<FileSystem = T>>(&self) {
        // SAFETY: the VMA is ours to set up (type invariant); the table is
        // static.
        unsafe { (*self.0.get()).vm_ops = VmOpsTable::<V>::build() };
    }
}

/// `SEEK_DATA` (uapi/linux/fs.h).
pub(crate) const SEEK_DATA: i32 = 3;
/// `SEEK_HOLE`.
pub(crate) const SEEK_HOLE: i32 = 4;

/// `file_operations` of regular files of filesystem `Self::FileSystem`.
///
/// Reads and writes always go through the page cache with the generic
/// `read_iter`, `write_iter`, `splice_read` and `splice_write`; `open` is
/// `generic_file_open`.  Without an `llseek` the generic one is used.
#[vtable]
pub(crate) trait FileOperations: Sized + 'static {
    /// The filesystem.
    type FileSystem: FileSystem;

    /// `->llseek`: returns the new position.
    fn llseek(file: &File<Self::FileSystem>, offset: i64, whence: i32) -> Result<i64> {
        let _ = (file, offset, whence);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `->mmap`: typically installs page-fault operations.
    fn mmap(file: &File<Self::FileSystem>, vma: &VmArea<Self::FileSystem>) -> Result {
        let _ = (file, vma);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `->fsync` of bytes `start..=end`.
    fn fsync(file: &File<Self::FileSystem>, start: i64, end: i64, datasync: bool) -> Result {
        let _ = (file, start, end, datasync);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `->fallocate`; `offset` and `len` were checked by `vfs_fallocate`
    /// (not negative, no overflow).
    fn fallocate(file: &File<Self::FileSystem>, mode: u32, offset: u64, len: u64) -> Result {
        let _ = (file, mode, offset, len);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The `file_operations` table of `T` and its trampolines.
pub(super) struct FopsTable<T: FileOperations>(PhantomData<T>);

impl<T: FileOperations> FopsTable<T> {
    const TABLE: b::file_operations = b::file_operations {
        llseek: if T::HAS_LLSEEK {
            Some(Self::llseek)
        } else {
            Some(b::generic_file_llseek)
        },
        read_iter: Some(b::generic_file_read_iter),
        write_iter: Some(b::generic_file_write_iter),
        mmap: if T::HAS_MMAP { Some(Self::mmap) } else { None },
        open: Some(b::generic_file_open),
        fsync: if T::HAS_FSYNC {
            Some(Self::fsync)
        } else {
            None
        },
        splice_read: Some(b::filemap_splice_read),
        splice_write: Some(b::iter_file_splice_write),
        fallocate: if T::HAS_FALLOCATE {
            Some(Self::fallocate)
        } else {
            None
        },
        ..zeroed()
    };

    /// The table, in static storage.
    pub(super) const fn build() -> &'static b::file_operations {
        &Self::TABLE
    }

    /// # Safety
    ///
    /// Only for `->llseek` of an open `T` file, open for the call.
    unsafe extern "C" fn llseek(file: *mut b::file, offset: b::loff_t, whence: c_int) -> b::loff_t {
        // SAFETY: the VFS holds the file open for the call.
        let file = unsafe { File::from_raw(file) };
        match T::llseek(file, offset, whence) {
            Ok(pos) => pos,
            Err(e) => e.to_errno() as b::loff_t,
        }
    }

    /// # Safety
    ///
    /// Only for `->mmap`: `file` is an open `T` file and `vma` the VMA being
    /// set up for it under `mmap_lock`.
    unsafe extern "C" fn mmap(file: *mut b::file, vma: *mut b::vm_area_struct) -> c_int {
        // SAFETY: per the `->mmap` contract.
        let (file, vma) = unsafe { (File::from_raw(file), &*vma.cast::<VmArea<T::FileSystem>>()) };
        from_result(|| T::mmap(file, vma).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for `->fsync` of an open `T` file.
    unsafe extern "C" fn fsync(
        file: *mut b::file,
        start: b::loff_t,
        end: b::loff_t,
        datasync: c_int,
    ) -> c_int {
        // SAFETY: the VFS holds the file open for the call.
        let file = unsafe { File::from_raw(file) };
        from_result(|| T::fsync(file, start, end, datasync != 0).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for `->fallocate` of an open `T` file, after `vfs_fallocate`
    /// checked the range.
    unsafe extern "C" fn fallocate(
        file: *mut b::file,
        mode: c_int,
        offset: b::loff_t,
        len: b::loff_t,
    ) -> c_long {
        // SAFETY: the VFS holds the file open for the call.
        let file = unsafe { File::from_raw(file) };
        from_result(|| T::fallocate(file, mode as u32, offset as u64, len as u64).map(|()| 0))
    }
}
