// SPDX-License-Identifier: GPL-2.0

//! The namespace, in the dcache as in ramfs: creating files, directories,
//! device nodes and symlinks, and the size change of `setattr`.

#![forbid(unsafe_code)]

use core::ffi::CStr;

use kernel::prelude::*;

use crate::invalidate;
use crate::state::HoleFs;
use crate::vfs::inode::mode::{S_IFDIR, S_IFLNK, S_IFREG};
use crate::vfs::inode::{Dentry, InodeLocked};
use crate::vfs::inode_ops::InodeOperations;

/// `inode_operations` of directories.
pub(crate) struct Directory;

/// `inode_operations` of regular files and special files.
pub(crate) struct FileInode;

#[vtable]
impl InodeOperations for Directory {
    type FileSystem = HoleFs;

    const DCACHE_NAMESPACE: bool = true;

    fn create(dir: &InodeLocked<HoleFs>, dentry: &Dentry, mode: u16) -> Result {
        Self::mknod(dir, dentry, mode | S_IFREG, 0)
    }

    fn mknod(dir: &InodeLocked<HoleFs>, dentry: &Dentry, mode: u16, dev: u32) -> Result {
        let inode = dir.super_block().new_inode(Some(dir), mode, dev)?;
        dentry.instantiate_pinned(inode);
        dir.touch_mtime_ctime();
        Ok(())
    }

    fn mkdir(dir: &InodeLocked<HoleFs>, dentry: &Dentry, mode: u16) -> Result {
        Self::mknod(dir, dentry, mode | S_IFDIR, 0)?;
        // The new directory's ".." links to `dir`.
        dir.inc_nlink();
        Ok(())
    }

    /// The link body goes through the page cache and the address_space
    /// operations like file data.
    fn symlink(dir: &InodeLocked<HoleFs>, dentry: &Dentry, target: &CStr) -> Result {
        let inode = dir.super_block().new_inode(Some(dir), S_IFLNK | 0o777, 0)?;
        inode.page_symlink(target)?;
        dentry.instantiate_pinned(inode);
        dir.touch_mtime_ctime();
        Ok(())
    }

    fn setsize(inode: &InodeLocked<HoleFs>, new_size: u64) -> Result {
        invalidate::truncate(inode, new_size);
        Ok(())
    }
}

#[vtable]
impl InodeOperations for FileInode {
    type FileSystem = HoleFs;

    fn setsize(inode: &InodeLocked<HoleFs>, new_size: u64) -> Result {
        invalidate::truncate(inode, new_size);
        Ok(())
    }
}
