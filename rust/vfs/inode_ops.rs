// SPDX-License-Identifier: GPL-2.0

//! The [`InodeOperations`] trait and its `inode_operations` table.

use core::ffi::CStr;
use core::marker::PhantomData;

use kernel::error::{from_result, to_result};
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;

use super::bindings as b;
use super::fs::FileSystem;
use super::inode::{Dentry, InodeLocked};
use super::zeroed;

/// `inode_operations` of filesystem `Self::FileSystem`.
///
/// Directory callbacks receive the parent locked ([`InodeLocked`]) and a
/// negative dentry; every `Result` becomes the callback's errno.
#[vtable]
pub(crate) trait InodeOperations: Sized + 'static {
    /// The filesystem the inodes belong to.
    type FileSystem: FileSystem;

    /// Directories whose namespace lives in the dcache, as in ramfs:
    /// `lookup`, `link`, `unlink`, `rmdir` and `rename` are libfs's
    /// `simple_*`, which expect the dentries pinned by
    /// [`Dentry::instantiate_pinned`].
    const DCACHE_NAMESPACE: bool = false;

    /// `->create`: a regular file of permissions `mode`.
    fn create(dir: &InodeLocked<Self::FileSystem>, dentry: &Dentry, mode: u16) -> Result {
        let _ = (dir, dentry, mode);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `->mknod`: an inode of any type.
    fn mknod(dir: &InodeLocked<Self::FileSystem>, dentry: &Dentry, mode: u16, dev: u32) -> Result {
        let _ = (dir, dentry, mode, dev);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `->mkdir`.
    fn mkdir(dir: &InodeLocked<Self::FileSystem>, dentry: &Dentry, mode: u16) -> Result {
        let _ = (dir, dentry, mode);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `->symlink` to `target`.
    fn symlink(dir: &InodeLocked<Self::FileSystem>, dentry: &Dentry, target: &CStr) -> Result {
        let _ = (dir, dentry, target);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The size part of `->setattr`: `new_size` differs from the current
    /// size and passed `setattr_prepare()` (`inode_newsize_ok`).  The other
    /// attributes are copied by `setattr_copy()` afterwards.
    fn setsize(inode: &InodeLocked<Self::FileSystem>, new_size: u64) -> Result {
        let _ = (inode, new_size);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// The `inode_operations` table of `T` and its trampolines.
pub(super) struct IopsTable<T: InodeOperations>(PhantomData<T>);

impl<T: InodeOperations> IopsTable<T> {
    const TABLE: b::inode_operations = b::inode_operations {
        create: if T::HAS_CREATE {
            Some(Self::create)
        } else {
            None
        },
        lookup: if T::DCACHE_NAMESPACE {
            Some(b::simple_lookup)
        } else {
            None
        },
        link: if T::DCACHE_NAMESPACE {
            Some(b::simple_link)
        } else {
            None
        },
        unlink: if T::DCACHE_NAMESPACE {
            Some(b::simple_unlink)
        } else {
            None
        },
        symlink: if T::HAS_SYMLINK {
            Some(Self::symlink)
        } else {
            None
        },
        mkdir: if T::HAS_MKDIR {
            Some(Self::mkdir)
        } else {
            None
        },
        rmdir: if T::DCACHE_NAMESPACE {
            Some(b::simple_rmdir)
        } else {
            None
        },
        mknod: if T::HAS_MKNOD {
            Some(Self::mknod)
        } else {
            None
        },
        rename: if T::DCACHE_NAMESPACE {
            Some(b::simple_rename)
        } else {
            None
        },
        setattr: if T::HAS_SETSIZE {
            Some(Self::setattr)
        } else {
            None
        },
        ..zeroed()
    };

    /// The table, in static storage.
    pub(super) const fn build() -> &'static b::inode_operations {
        &Self::TABLE
    }

    /// # Safety
    ///
    /// Only for `->create`: `dir` is a `T` directory whose `i_rwsem` the VFS
    /// holds exclusive and `dentry` a negative dentry in it
    /// (Documentation/filesystems/locking.rst).
    unsafe extern "C" fn create(
        _idmap: *mut b::mnt_idmap,
        dir: *mut b::inode,
        dentry: *mut b::dentry,
        mode: b::umode_t,
        _excl: bool,
    ) -> c_int {
        // SAFETY: per the `->create` contract above.
        let (dir, dentry) = unsafe { (InodeLocked::from_raw(dir), Dentry::from_raw(dentry)) };
        from_result(|| T::create(dir, dentry, mode).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for `->mknod`, whose contract is that of `->create`.
    unsafe extern "C" fn mknod(
        _idmap: *mut b::mnt_idmap,
        dir: *mut b::inode,
        dentry: *mut b::dentry,
        mode: b::umode_t,
        dev: b::dev_t,
    ) -> c_int {
        // SAFETY: `dir` locked by the VFS, `dentry` negative, referenced for
        // the call (`->mknod` contract).
        let (dir, dentry) = unsafe { (InodeLocked::from_raw(dir), Dentry::from_raw(dentry)) };
        from_result(|| T::mknod(dir, dentry, mode, dev).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for `->mkdir`, whose contract is that of `->create`.
    unsafe extern "C" fn mkdir(
        _idmap: *mut b::mnt_idmap,
        dir: *mut b::inode,
        dentry: *mut b::dentry,
        mode: b::umode_t,
    ) -> c_int {
        // SAFETY: `dir` locked by the VFS, `dentry` negative, referenced for
        // the call (`->mkdir` contract).
        let (dir, dentry) = unsafe { (InodeLocked::from_raw(dir), Dentry::from_raw(dentry)) };
        from_result(|| T::mkdir(dir, dentry, mode).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for `->symlink`: the contract of `->create`, and `target` a
    /// NUL-terminated string alive for the call.
    unsafe extern "C" fn symlink(
        _idmap: *mut b::mnt_idmap,
        dir: *mut b::inode,
        dentry: *mut b::dentry,
        target: *const c_char,
    ) -> c_int {
        // SAFETY: `dir` locked by the VFS, `dentry` negative (`->symlink`
        // contract); `target` is the name copied from userspace, a C string.
        let (dir, dentry, target) = unsafe {
            (
                InodeLocked::from_raw(dir),
                Dentry::from_raw(dentry),
                CStr::from_ptr(target.cast()),
            )
        };
        from_result(|| T::symlink(dir, dentry, target).map(|()| 0))
    }

    /// # Safety
    ///
    /// Only for `->setattr`: `dentry` is a positive dentry of a `T` inode
    /// whose `i_rwsem` the VFS holds exclusive (`notify_change`), `attr` the
    /// requested change.
    unsafe extern "C" fn setattr(
        idmap: *mut b::mnt_idmap,
        dentry: *mut b::dentry,
        attr: *mut b::iattr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: per the `->setattr` contract: `d_inode` is a live `T`
            // inode, locked; `attr` is valid for the call.
            unsafe {
                let inode = (*dentry).d_inode;
                to_result(b::setattr_prepare(idmap, dentry, attr))?;
                if (*attr).ia_valid & b::ATTR_SIZE != 0 {
                    let size = (*attr).ia_size as u64;
                    let inode = InodeLocked::<T::FileSystem>::from_raw(inode);
                    if size != inode.size() {
                        T::setsize(inode, size)?;
                    }
                }
                b::setattr_copy(idmap, inode, attr);
            }
            Ok(0)
        })
    }
}
