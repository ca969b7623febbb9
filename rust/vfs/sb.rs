// SPDX-License-Identifier: GPL-2.0

//! Superblocks: [`SuperBlock`], the superblock under construction
//! ([`NewSuperBlock`]), the page-fault freeze guard, and the
//! [`SuperOperations`] trait with its table.

use core::fmt;
use core::marker::PhantomData;

use kernel::error::{from_result, to_result};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings as b;
use super::fs::FileSystem;
use super::inode::Inode;
use super::zeroed;

/// A mounted superblock of filesystem `T`.
///
/// # Invariants
///
/// A `&SuperBlock<T>` is only created for a `T` superblock between the end
/// of `fill_super` and `kill_sb`, so `s_fs_info` is its live `T::Data`.
#[repr(transparent)]
pub(crate) struct SuperBlock<T: FileSystem>(Opaque<b::super_block>, PhantomData<T>);

impl<T: FileSystem> SuperBlock<T> {
    /// # Safety
    ///
    /// `ptr` must be a `T` superblock whose `fill_super` completed and that
    /// is not killed for `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut b::super_block) -> &'a Self {
        // INVARIANT: per the contract.
        // SAFETY: transparent wrapper of `struct super_block`.
        unsafe { &*ptr.cast::<Self>() }
    }

    pub(super) fn as_raw(&self) -> *mut b::super_block {
        self.0.get()
    }

    /// The filesystem's per-superblock data.
    pub(crate) fn data(&self) -> &T::Data {
        // SAFETY: by the type invariant `s_fs_info` is the live `T::Data` set
        // after `T::fill_super`, freed in `kill_sb`.
        unsafe { &*(*self.as_raw()).s_fs_info.cast::<T::Data>() }
    }

    /// Writes back everything (`sync_filesystem`).  May sleep.
    pub(crate) fn sync(&self) -> Result {
        // SAFETY: the superblock is live and `s_umount` is held by the
        // callers that may sync (reconfigure).
        to_result(unsafe { b::sync_filesystem(self.as_raw()) })
    }

    /// Enters a page fault that may dirty data (`sb_start_pagefault`);
    /// freezing waits for the guard to be dropped.  May sleep.
    pub(crate) fn start_pagefault(&self) -> PagefaultGuard<'_, T> {
        // SAFETY: the superblock is live.
        unsafe { b::holefs_sb_start_pagefault(self.as_raw()) };
        // INVARIANT: entered above.
        PagefaultGuard { sb: self }
    }
}

/// Holds off filesystem freezing during a write fault.
///
/// # Invariants
///
/// `sb_start_pagefault` was called on `sb` by this guard's creator.
pub(crate) struct PagefaultGuard<'a, T: FileSystem> {
    sb: &'a SuperBlock<T>,
}

impl<T: FileSystem> Drop for PagefaultGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: paired with the start in `start_pagefault` (invariant).
        unsafe { b::holefs_sb_end_pagefault(self.sb.as_raw()) };
    }
}

/// A device number, split.
#[derive(Clone, Copy)]
pub(crate) struct DevNum {
    /// `MAJOR(dev)`.
    pub(crate) major: u32,
    /// `MINOR(dev)`.
    pub(crate) minor: u32,
}

/// A superblock in `fill_super`, before the filesystem's data is attached.
///
/// # Invariants
///
/// The superblock is new, not yet visible to other tasks, and `s_dev` is
/// assigned.
#[repr(transparent)]
pub(crate) struct NewSuperBlock<T: FileSystem>(Opaque<b::super_block>, PhantomData<T>);

impl<T: FileSystem> NewSuperBlock<T> {
    /// # Safety
    ///
    /// `ptr` must be a superblock in `fill_super`, valid for `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut b::super_block) -> &'a Self {
        // INVARIANT: per the contract (`get_tree_nodev` assigned `s_dev`).
        // SAFETY: transparent wrapper.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The anonymous device number of the new superblock.
    pub(crate) fn dev(&self) -> DevNum {
        // SAFETY: `s_dev` is set and no longer changes (type invariant).
        let dev = unsafe { (*self.0.get()).s_dev };
        // SAFETY: `MAJOR`/`MINOR` are arithmetic.
        let (major, minor) = unsafe { (b::holefs_major(dev), b::holefs_minor(dev)) };
        DevNum { major, minor }
    }
}

/// What `statfs(2)` reports.
pub(crate) struct StatFs {
    /// Block size in bytes (`f_bsize`, `f_frsize`).
    pub(crate) block_size: u64,
    /// Capacity in blocks.
    pub(crate) blocks: u64,
    /// Free blocks (`f_bfree`, `f_bavail`).
    pub(crate) free: u64,
    /// Longest name.
    pub(crate) name_len: u64,
}

/// The `seq_file` that `->show_options` prints into.
///
/// # Invariants
///
/// `m` is the seq_file being filled for the duration of the borrow.
pub(crate) struct SeqFile {
    m: *mut b::seq_file,
}

impl fmt::Write for SeqFile {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: `m` is valid (type invariant); `s` is `s.len()` readable
        // bytes.  seq_file records an overflow itself and retries the whole
        // show with a bigger buffer.
        unsafe { b::seq_write(self.m, s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

/// `super_operations` of filesystem `Self::FileSystem`.  `drop_inode` is
/// always `generic_delete_inode`: there is no inode cache, the last `iput`
/// of an inode evicts it.
#[vtable]
pub(crate) trait SuperOperations: Sized + 'static {
    /// The filesystem.
    type FileSystem: FileSystem;

    /// `->statfs`.
    fn statfs(sb: &SuperBlock<Self::FileSystem>) -> Result<StatFs>;

    /// `->show_options`: the mount options for /proc/mounts, each with a
    /// leading comma.
    fn show_options(sb: &SuperBlock<Self::FileSystem>, out: &mut SeqFile) -> fmt::Result;

    /// Releases what `inode` holds, at eviction: called after its page
    /// cache is gone and before its data is freed.  Always called.
    fn evict_inode(inode: &Inode<Self::FileSystem>);
}

/// The `super_operations` table of `T` and its trampolines.
pub(super) struct SopsTable<T: SuperOperations>(PhantomData<T>);

impl<T: SuperOperations> SopsTable<T> {
    const TABLE: b::super_operations = b::super_operations {
        statfs: Some(Self::statfs),
        show_options: Some(Self::show_options),
        evict_inode: Some(Self::evict_inode),
        drop_inode: Some(b::generic_delete_inode),
        ..zeroed()
    };

    /// The table, in static storage.
    pub(super) const fn build() -> &'static b::super_operations {
        &Self::TABLE
    }

    /// # Safety
    ///
    /// Only for `->statfs`: `dentry` belongs to a mounted `T` superblock and
    /// `buf` is valid for writes for the call.
    unsafe extern "C" fn statfs(
        dentry: *mut b::dentry,
        buf: *mut kernel::bindings::kstatfs,
    ) -> c_int {
        // 6.12's `kernel::bindings` has `kstatfs` only as a placeholder.
        let buf = buf.cast::<b::kstatfs>();
        from_result(|| {
            // SAFETY: a dentry of a mounted superblock keeps it mounted for
            // the call (`->statfs` contract).
            let sb = unsafe { SuperBlock::<T::FileSystem>::from_raw((*dentry).d_sb) };
            let st = T::statfs(sb)?;
            // SAFETY: `buf` is valid for writes (contract).
            unsafe {
                (*buf).f_type = <T::FileSystem as FileSystem>::MAGIC as _;
                (*buf).f_bsize = st.block_size as _;
                (*buf).f_frsize = st.block_size as _;
                (*buf).f_blocks = st.blocks;
                (*buf).f_bfree = st.free;
                (*buf).f_bavail = st.free;
                (*buf).f_namelen = st.name_len as _;
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Only for `->show_options`: `m` is the seq_file being filled and
    /// `root` the root of a mounted `T` superblock.
    unsafe extern "C" fn show_options(m: *mut b::seq_file, root: *mut b::dentry) -> c_int {
        // SAFETY: the mount being shown keeps its superblock alive.
        let sb = unsafe { SuperBlock::<T::FileSystem>::from_raw((*root).d_sb) };
        // INVARIANT: `m` is being filled for this call.
        let mut out = SeqFile { m };
        match T::show_options(sb, &mut out) {
            Ok(()) => 0,
            Err(_) => EINVAL.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Only for `->evict_inode`: `inode` is a `T` inode being freed, with
    /// no other users.
    unsafe extern "C" fn evict_inode(inode: *mut b::inode) {
        // SAFETY: per the `->evict_inode` contract.
        unsafe { super::inode::evict::<T::FileSystem>(inode) };
    }
}
