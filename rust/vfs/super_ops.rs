// SPDX-License-Identifier: GPL-2.0

//! The [`SuperOperations`] trait and its `super_operations` table,
//! including inode eviction.

use core::fmt;
use core::marker::PhantomData;
use core::ptr;

use kernel::error::from_result;
use kernel::ffi::c_int;
use kernel::prelude::*;

use super::bindings as b;
use super::fs::FileSystem;
use super::inode::Inode;
use super::sb::{SeqFile, StatFs, SuperBlock};
use super::zeroed;

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
                (*buf).f_type = (*(*dentry).d_sb).s_magic as _;
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
        // SAFETY: `m` is being filled for this call (`->show_options`
        // contract).
        let mut out = unsafe { SeqFile::from_raw(m) };
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
        unsafe { Self::evict(inode) };
    }

    /// Inode teardown for `super_operations.evict_inode`: drops the page
    /// cache, lets the filesystem release what the inode holds, frees its data.
    ///
    /// # Safety
    ///
    /// `inode` must be a `T::FileSystem` inode being evicted (`I_FREEING`, no other users).
    unsafe fn evict(inode: *mut b::inode) {
        // SAFETY: per the contract nothing else uses the inode; its data was set
        // by `new_inode` and is freed only here.
        unsafe {
            b::truncate_inode_pages_final(ptr::addr_of_mut!((*inode).i_data));
            b::clear_inode(inode);
            // I_FREEING is set: nothing puts the inode on a writeback list any
            // more, and nothing looks it up by hash.  Undo the fake hash (see
            // `holefs_inode_fake_unhash` in helpers.c: the slab slot is shared
            // with every other user of `inode_cachep`).
            b::holefs_inode_fake_unhash(inode);
            let data = (*inode)
                .i_private
                .cast::<<T::FileSystem as FileSystem>::INodeData>();
            if data.is_null() {
                return;
            }
            T::evict_inode(Inode::from_raw(inode));
            (*inode).i_private = ptr::null_mut();
            drop(KBox::from_raw(data));
        }
    }
}
