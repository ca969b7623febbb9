// SPDX-License-Identifier: GPL-2.0

//! Inodes: [`Inode`], the `i_rwsem` guard ([`InodeGuard`]) and the view of
//! an inode whose `i_rwsem` is held ([`InodeLocked`]), new inodes
//! ([`NewInode`]), dentries, and the [`InodeOperations`] trait with its
//! table.

use core::ffi::CStr;
use core::marker::PhantomData;
use core::ops::Deref;
use core::pin::Pin;
use core::ptr;

use kernel::error::{from_result, to_result};
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings as b;
use super::fs::FileSystem;
use super::mapping::{AddressSpace, AopsTable};
use super::sb::SuperBlock;
use super::{file::FopsTable, zeroed, PAGE_SHIFT};

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

impl<T: FileSystem> SuperBlock<T> {
    /// Creates an inode of type and permissions `mode` (an `S_IF*` type of
    /// [`mode`] or a special file with device `dev`), owned by the caller
    /// and placed in directory `dir` (`None` for the root).
    ///
    /// The filesystem's tables are installed by type: `T::DirOps` and
    /// `simple_dir_operations` for directories, `T::FileInodeOps` and
    /// `T::FileOps` for regular files, the generic page symlink operations
    /// for symlinks and `T::SpecialOps` for the rest; every inode's page
    /// cache uses `T::MappingOps`.
    pub(crate) fn new_inode(
        &self,
        dir: Option<&Inode<T>>,
        mode: u16,
        dev: u32,
    ) -> Result<NewInode<T>> {
        let data = T::new_inode_data()?;
        let sb = self.as_raw();
        // SAFETY: `sb` is a live superblock.
        let inode = unsafe { b::new_inode(sb) };
        if inode.is_null() {
            return Err(ENOMEM);
        }
        let dir = dir.map_or(ptr::null_mut(), Inode::as_raw);
        // SAFETY: `inode` is new and private to us until instantiated; the
        // tables and `nop_mnt_idmap` are static.  `i_private` takes ownership
        // of `data`, given back in `evict_inode` (the pinned box is never
        // moved out of).
        unsafe {
            (*inode).i_private = KBox::into_raw(Pin::into_inner_unchecked(data)).cast();
            (*inode).i_ino = b::get_next_ino() as _;
            // Hashed (a fake hash: there is no inode lookup) so that the
            // inode can go on the writeback lists: sync(2), the flusher and
            // dirty throttling write its folios back.
            b::holefs_inode_fake_hash(inode);
            b::inode_init_owner(ptr::addr_of_mut!(b::nop_mnt_idmap), inode, dir, mode);
            (*(*inode).i_mapping).a_ops = AopsTable::<T::MappingOps>::build();
            b::simple_inode_init_ts(inode);
            match u32::from(mode) & b::S_IFMT {
                b::S_IFREG => {
                    (*inode).i_op = IopsTable::<T::FileInodeOps>::build();
                    (*inode).__bindgen_anon_3.i_fop = FopsTable::<T::FileOps>::build();
                }
                b::S_IFDIR => {
                    (*inode).i_op = IopsTable::<T::DirOps>::build();
                    (*inode).__bindgen_anon_3.i_fop = ptr::addr_of!(b::simple_dir_operations);
                    // Directories start with two links: "." and the entry.
                    b::inc_nlink(inode);
                }
                b::S_IFLNK => {
                    (*inode).i_op = ptr::addr_of!(b::page_symlink_inode_operations);
                    b::holefs_inode_nohighmem(inode);
                }
                _ => {
                    (*inode).i_op = IopsTable::<T::SpecialOps>::build();
                    b::init_special_inode(inode, mode, dev);
                }
            }
        }
        // INVARIANT: `new_inode()` returned a live inode with one reference,
        // ours, set up above as a `T` inode.
        Ok(NewInode {
            inode,
            _fs: PhantomData,
        })
    }
}

/// Inode teardown for `super_operations.evict_inode`: drops the page
/// cache, lets the filesystem release what the inode holds, frees its data.
///
/// # Safety
///
/// `inode` must be a `T` inode being evicted (`I_FREEING`, no other users).
pub(super) unsafe fn evict<T: FileSystem>(inode: *mut b::inode) {
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
        let data = (*inode).i_private.cast::<T::INodeData>();
        if data.is_null() {
            return;
        }
        <T::SuperOps as super::sb::SuperOperations>::evict_inode(Inode::from_raw(inode));
        (*inode).i_private = ptr::null_mut();
        drop(KBox::from_raw(data));
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
    unsafe fn from_raw<'a>(ptr: *mut b::dentry) -> &'a Self {
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
