// SPDX-License-Identifier: GPL-2.0

//! Open files: [`File`].

use core::marker::PhantomData;

use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::{ARef, Opaque};

use super::bindings as b;
use super::folio::Folio;
use super::from_err_ptr;
use super::fs::FileSystem;
use super::inode::{Inode, InodeLocked};
use super::mapping::AddressSpace;

/// An open file of filesystem `T`.
///
/// # Invariants
///
/// A `&File<T>` is only created for an open file of a `T` inode that stays
/// open for the reference's lifetime.
#[repr(transparent)]
pub(crate) struct File<T: FileSystem>(Opaque<b::file>, PhantomData<T>);

impl<T: FileSystem> File<T> {
    /// # Safety
    ///
    /// `ptr` must be an open file of a `T` inode, open for `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut b::file) -> &'a Self {
        // INVARIANT: per the contract.
        // SAFETY: transparent wrapper.
        unsafe { &*ptr.cast::<Self>() }
    }

    pub(super) fn as_raw(&self) -> *mut b::file {
        self.0.get()
    }

    /// The file's inode.
    pub(crate) fn inode(&self) -> &Inode<T> {
        // SAFETY: an open file pins its inode (`f_inode` never changes).
        unsafe { Inode::from_raw((*self.as_raw()).f_inode) }
    }

    /// The file's page cache (`f_mapping`).
    pub(crate) fn mapping(&self) -> &AddressSpace<T> {
        // SAFETY: `f_mapping` of an open `T` file is its inode's mapping.
        unsafe { AddressSpace::from_raw((*self.as_raw()).f_mapping) }
    }

    /// The generic `llseek` for `SEEK_SET`, `SEEK_CUR` and `SEEK_END`.
    pub(crate) fn generic_llseek(&self, offset: i64, whence: i32) -> Result<i64> {
        // SAFETY: the file is open; forwarding the VFS's arguments.
        let pos = unsafe { b::generic_file_llseek(self.as_raw(), offset, whence) };
        if pos < 0 {
            return Err(Error::from_errno(pos as i32));
        }
        Ok(pos)
    }

    /// Sets the file position to `pos`, checked against the maximum file
    /// size (`vfs_setpos`).
    pub(crate) fn set_pos(&self, pos: u64) -> Result<i64> {
        // SAFETY: the file is open; its inode keeps the superblock alive.
        let ret = unsafe {
            let maxbytes = (*(*self.inode().as_raw()).i_sb).s_maxbytes;
            b::vfs_setpos(self.as_raw(), pos as b::loff_t, maxbytes)
        };
        if ret < 0 {
            return Err(Error::from_errno(ret as i32));
        }
        Ok(ret)
    }

    /// The folio at `index` of the file's page cache, read through `->read_folio` if not cached
    /// (`read_mapping_folio`).  Its kernel-doc asks the caller to hold
    /// `invalidate_lock` shared, so that no invalidation races the fill.
    /// May sleep.
    pub(crate) fn read_mapping_folio(&self, index: u64) -> Result<ARef<Folio>> {
        // SAFETY: the file is open and `f_mapping` is its page cache.
        let folio = from_err_ptr(unsafe {
            b::holefs_read_mapping_folio((*self.as_raw()).f_mapping, index as _, self.as_raw())
        })?;
        // SAFETY: returned referenced for the caller.
        Ok(unsafe { Folio::from_owned_raw(folio) })
    }

    /// Writes back bytes `start..=end` and waits (`file_write_and_wait_range`).
    pub(crate) fn write_and_wait_range(&self, start: i64, end: i64) -> Result {
        // SAFETY: the file is open.
        to_result(unsafe { b::file_write_and_wait_range(self.as_raw(), start, end) })
    }

    /// Updates the access time, as a read does (`file_accessed`).
    pub(crate) fn accessed(&self) {
        // SAFETY: the file is open.
        unsafe { b::holefs_file_accessed(self.as_raw()) };
    }

    /// Updates mtime and ctime before a write fault (`file_update_time`).
    pub(crate) fn update_time(&self) {
        // SAFETY: the file is open.
        unsafe { b::file_update_time(self.as_raw()) };
    }

    /// Drops setuid/setgid and updates the times, as a write does
    /// (`file_modified`); needs `i_rwsem`.
    pub(crate) fn modified(&self, _locked: &InodeLocked<T>) -> Result {
        // SAFETY: the file is open and its inode locked (the argument).
        to_result(unsafe { b::file_modified(self.as_raw()) })
    }
}
