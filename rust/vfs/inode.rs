// SPDX-License-Identifier: GPL-2.0

//! Inodes: [`Inode`], the `i_rwsem` guard ([`InodeGuard`]) and the view of
//! an inode whose `i_rwsem` is held ([`InodeLocked`]), new inodes
//! ([`NewInode`]) and dentries.

use core::ffi::CStr;
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr;

use kernel::error::to_result;
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings as b;
use super::fs::FileSystem;
use super::mapping::AddressSpace;
use super::sb::SuperBlock;
use super::PAGE_SHIFT;

/// File type bits of a mode (`S_IF*`), for [`SuperBlock::new_inode`].
pub(crate) mod mode {
    use super::b;

    /// A regular file.
    pub(crate) const S_IFREG: u16 = b::S_IFREG as u16;
    /// A directory.
    pub(crate) const S_IFDIR: u16 = b::S_IFDIR as u16;
    /// A symbolic link.
    pub(crate) const S_IFLNK: u16 = b::S_IFLNK as u16;
}

/// An inode of filesystem `T`.
///
/// # Invariants
///
/// A `&Inode<T>` is only created for a live inode of a `T` superblock
/// (between [`SuperBlock::new_inode`] and the end of `->evict_inode`),
/// whose `i_private` is the `T::INodeData` set at creation.
#[repr(transparent)]
pub(crate) struct Inode<T: FileSystem>(Opaque<b::inode>, PhantomData<T>);

impl<T: FileSystem> Inode<T> {
    /// The inode at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be a live inode of a `T` superblock, made by
    /// [`SuperBlock::new_inode`], that stays live for `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut b::inode) -> &'a Self {
        // INVARIANT: per the contract.
        // SAFETY: `Inode<T>` is a transparent wrapper of `struct inode`.
        unsafe { &*ptr.cast::<Self>() }
    }

    pub(super) fn as_raw(&self) -> *mut b::inode {
        self.0.get()
    }

    /// The filesystem's per-inode data.
    pub(crate) fn data(&self) -> &T::INodeData {
        // SAFETY: by the type invariant `i_private` is the pinned
        // `T::INodeData` set in `new_inode`, freed only after the last
        // `&Inode` of `->evict_inode` is gone.
        unsafe { &*(*self.as_raw()).i_private.cast::<T::INodeData>() }
    }

    /// The superblock the inode belongs to.
    pub(crate) fn super_block(&self) -> &SuperBlock<T> {
        // SAFETY: a live inode keeps its superblock alive and set up.
        unsafe { SuperBlock::from_raw((*self.as_raw()).i_sb) }
    }

    /// The inode's page cache (`i_mapping`).
    pub(crate) fn mapping(&self) -> &AddressSpace<T> {
        // SAFETY: `i_mapping` of a live inode is its own `i_data`, alive as
        // long as the inode.
        unsafe { AddressSpace::from_raw((*self.as_raw()).i_mapping) }
    }

    /// The file size (`i_size_read`).
    pub(crate) fn size(&self) -> u64 {
        // SAFETY: the inode is live; `i_size_read` handles concurrent
        // writers.
        unsafe { b::holefs_i_size_read(self.as_raw()) as u64 }
    }

    /// Records `blocks` allocated PAGE_SIZE blocks in `i_blocks` (512-byte
    /// units), which `stat` reports as `st_blocks`.
    ///
    /// The filesystem serialises the writers (e.g. with the lock of the
    /// structure the count comes from); readers such as `generic_fillattr`
    /// read the field without a lock, as in C.
    pub(crate) fn set_blocks(&self, blocks: u64) {
        // SAFETY: the inode is live; a single aligned 64-bit store, which
        // cannot tear for the lockless readers.
        unsafe {
            ptr::write_volatile(
                ptr::addr_of_mut!((*self.as_raw()).i_blocks),
                blocks << (PAGE_SHIFT - 9),
            )
        };
    }

    /// Takes `i_rwsem` exclusive.  May sleep.
    pub(crate) fn lock(&self) -> InodeGuard<'_, T> {
        // SAFETY: the inode is live.
        unsafe { b::holefs_inode_lock(self.as_raw()) };
        // INVARIANT: locked above; the guard unlocks.
        InodeGuard {
            // SAFETY: `i_rwsem` is held exclusive from here until the guard
            // is dropped.
            inode: unsafe { InodeLocked::from_raw(self.as_raw()) },
        }
    }

    /// Drops the page-cache folios of bytes `start..=end`, zeroing the
    /// partial pages at the edges (`truncate_pagecache_range`).  May sleep.
    ///
    /// The caller decides which locks keep new folios out meanwhile (in C:
    /// `i_rwsem` and `invalidate_lock` exclusive).
    pub(crate) fn truncate_pagecache_range(&self, start: u64, end: u64) {
        // SAFETY: the inode is live.
        unsafe { b::truncate_pagecache_range(self.as_raw(), start as _, end as _) };
    }
}

/// An inode whose `i_rwsem` is held exclusive, by an [`InodeGuard`] or by
/// the VFS around the callback that received it.
///
/// # Invariants
///
/// `i_rwsem` is held exclusive for the lifetime of every reference.
#[repr(transparent)]
pub(crate) struct InodeLocked<T: FileSystem>(Inode<T>);

impl<T: FileSystem> InodeLocked<T> {
    /// # Safety
    ///
    /// As for [`Inode::from_raw`], and `i_rwsem` must be held exclusive for
    /// `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut b::inode) -> &'a Self {
        // INVARIANT: per the contract.
        // SAFETY: `InodeLocked<T>` is a transparent wrapper of `Inode<T>`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Sets the file size (`i_size_write`); writers are serialised by
    /// `i_rwsem`.
    pub(crate) fn set_size(&self, size: u64) {
        // SAFETY: `i_rwsem` is held (type invariant).
        unsafe { b::holefs_i_size_write(self.as_raw(), size as b::loff_t) };
    }

    /// Sets the size and drops the page cache past it
    /// (`truncate_setsize`).  May sleep.
    pub(crate) fn truncate_setsize(&self, size: u64) {
        // SAFETY: `i_rwsem` is held (type invariant), as required.
        unsafe { b::truncate_setsize(self.as_raw(), size as b::loff_t) };
    }

    /// Drops the page cache past `size`, zeroing the partial page, without
    /// changing the size (`truncate_pagecache`).  May sleep.
    pub(crate) fn truncate_pagecache(&self, size: u64) {
        // SAFETY: `i_rwsem` is held (type invariant), as required.
        unsafe { b::truncate_pagecache(self.as_raw(), size as b::loff_t) };
    }

    /// Checks a new size against limits and `RLIMIT_FSIZE`
    /// (`inode_newsize_ok`).
    pub(crate) fn newsize_ok(&self, size: u64) -> Result {
        // SAFETY: the inode is live.
        to_result(unsafe { b::inode_newsize_ok(self.as_raw(), size as b::loff_t) })
    }

    /// Sets mtime and ctime to now, after a directory change.
    pub(crate) fn touch_mtime_ctime(&self) {
        // SAFETY: `i_rwsem` is held, serialising timestamp updates.
        unsafe { b::holefs_inode_touch(self.as_raw()) };
    }

    /// Adds a link (a subdirectory's "..").
    pub(crate) fn inc_nlink(&self) {
        // SAFETY: `i_rwsem` is held, serialising link count changes.
        unsafe { b::inc_nlink(self.as_raw()) };
    }
}

impl<T: FileSystem> Deref for InodeLocked<T> {
    type Target = Inode<T>;

    fn deref(&self) -> &Inode<T> {
        &self.0
    }
}

/// Holds an inode's `i_rwsem` exclusive; releases it on drop.
///
/// # Invariants
///
/// This guard took `i_rwsem` and is the one that releases it.
pub(crate) struct InodeGuard<'a, T: FileSystem> {
    inode: &'a InodeLocked<T>,
}

impl<T: FileSystem> Deref for InodeGuard<'_, T> {
    type Target = InodeLocked<T>;

    fn deref(&self) -> &InodeLocked<T> {
        self.inode
    }
}

impl<T: FileSystem> Drop for InodeGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: taken in `Inode::lock` (type invariant).
        unsafe { b::holefs_inode_unlock(self.inode.as_raw()) };
    }
}

/// A newly created inode not yet in the namespace; `iput` on drop.
///
/// # Invariants
///
/// `inode` is a live `T` inode on which this value owns the reference from
/// `new_inode()`, and no other task knows it yet.
pub(crate) struct NewInode<T: FileSystem> {
    inode: *mut b::inode,
    _fs: PhantomData<T>,
}

impl<T: FileSystem> NewInode<T> {
    /// # Safety
    ///
    /// `inode` must be a live `T` inode, set up by the layer, on which the
    /// caller owns a reference that passes to the new value, and that no
    /// other task knows.
    pub(super) unsafe fn from_raw(inode: *mut b::inode) -> Self {
        // INVARIANT: per the contract.
        NewInode {
            inode,
            _fs: PhantomData,
        }
    }

    /// Stores `target` as the body of a new symlink, through the page cache
    /// and the filesystem's address_space operations.
    pub(crate) fn page_symlink(&self, target: &CStr) -> Result {
        let len = target.to_bytes_with_nul().len();
        // SAFETY: the inode is new and ours (type invariant); `target` is a
        // NUL-terminated string of `len` bytes.
        to_result(unsafe { b::page_symlink(self.inode, target.as_ptr().cast(), len as c_int) })
    }

    /// Gives up the reference to the caller.
    pub(super) fn into_raw(self) -> *mut b::inode {
        let inode = self.inode;
        core::mem::forget(self);
        inode
    }
}

impl<T: FileSystem> Drop for NewInode<T> {
    fn drop(&mut self) {
        // SAFETY: we own a reference (type invariant); the last put evicts
        // the inode through `->evict_inode`, which frees its data.
        unsafe { b::iput(self.inode) };
    }
}

/// A directory entry.
///
/// # Invariants
///
/// A `&Dentry` is only created for a dentry that stays referenced for the
/// reference's lifetime.
#[repr(transparent)]
pub(crate) struct Dentry(Opaque<b::dentry>);

impl Dentry {
    /// # Safety
    ///
    /// `ptr` must be a dentry that stays referenced for `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut b::dentry) -> &'a Self {
        // INVARIANT: per the contract.
        // SAFETY: transparent wrapper.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Attaches `inode` to this negative dentry and pins the dentry with an
    /// extra reference, as ramfs does: the namespace lives in the dcache, so
    /// lookups never miss, and `kill_litter_super` drops the pins at
    /// unmount.
    pub(crate) fn instantiate_pinned<T: FileSystem>(&self, inode: NewInode<T>) {
        // SAFETY: the dentry is negative and its parent locked (the callers
        // are `->create`, `->mknod`, `->mkdir`, `->symlink`);
        // `d_instantiate` consumes the inode reference.
        unsafe {
            b::d_instantiate(self.0.get(), inode.into_raw());
            b::holefs_dget(self.0.get());
        }
    }
}
