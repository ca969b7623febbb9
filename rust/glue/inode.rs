// SPDX-License-Identifier: GPL-2.0

//! Inodes: creation, eviction, `inode_operations` for directories, regular
//! files and symlinks, and size changes (truncate).
//!
//! The namespace lives in the dcache as in ramfs: each new dentry is pinned
//! with an extra reference, so lookups never miss and `kill_litter_super`
//! drops them all at unmount.

use core::pin::Pin;
use core::ptr;

use kernel::alloc::flags::GFP_KERNEL;
use kernel::error::{from_result, to_result};
use kernel::ffi::{c_char, c_int, c_uint};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::Mutex;

use super::bindings as b;
use super::super_ops::SbInfo;
use super::{aops, file, zeroed, StaticTable, PAGE_SHIFT, PAGE_SIZE};
use crate::blockmap::BlockMap;
use crate::options::PunchPolicy;
use crate::range::pages_for;

/// holefs's part of an inode (`inode->i_private`).
#[pin_data]
pub(crate) struct InodeInfo {
    /// Where the file's data lives in the backing store.
    #[pin]
    pub(crate) map: Mutex<BlockMap>,
}

/// The holefs state of `inode`.
///
/// # Safety
///
/// `inode` must be a live holefs inode (between `new_inode` and
/// `evict_inode`).
pub(crate) unsafe fn info<'a>(inode: *const b::inode) -> &'a InodeInfo {
    // SAFETY: per the contract `i_private` is the pinned `InodeInfo` set in
    // `new_inode`, freed only in `evict_inode`.
    unsafe { &*(*inode).i_private.cast::<InodeInfo>() }
}

/// The superblock state of `inode`.
///
/// # Safety
///
/// `inode` must be a live holefs inode.
pub(crate) unsafe fn sb_info<'a>(inode: *const b::inode) -> &'a SbInfo {
    // SAFETY: a live inode keeps its superblock alive.
    unsafe { SbInfo::of((*inode).i_sb) }
}

/// Records `blocks` allocated blocks in `i_blocks` (512-byte units), which
/// is what `stat` reports as `st_blocks`.
///
/// # Safety
///
/// `inode` must be live and the caller must hold its block map's lock, which
/// serialises all writers of `i_blocks`.
pub(crate) unsafe fn set_i_blocks(inode: *mut b::inode, blocks: u64) {
    // SAFETY: see the contract; a 64-bit store cannot tear for readers.
    unsafe { (*inode).i_blocks = blocks << (PAGE_SHIFT - 9) };
}

static DIR_IOPS: StaticTable<b::inode_operations> = StaticTable(b::inode_operations {
    create: Some(create),
    lookup: Some(b::simple_lookup),
    link: Some(b::simple_link),
    unlink: Some(b::simple_unlink),
    symlink: Some(symlink),
    mkdir: Some(mkdir),
    rmdir: Some(b::simple_rmdir),
    mknod: Some(mknod),
    rename: Some(b::simple_rename),
    setattr: Some(setattr),
    getattr: Some(getattr),
    ..zeroed()
});

static FILE_IOPS: StaticTable<b::inode_operations> = StaticTable(b::inode_operations {
    setattr: Some(setattr),
    getattr: Some(getattr),
    ..zeroed()
});

static SPECIAL_IOPS: StaticTable<b::inode_operations> = StaticTable(b::inode_operations {
    setattr: Some(setattr),
    getattr: Some(getattr),
    ..zeroed()
});

/// Allocates and initialises an inode of mode `mode` in `dir` (null for
/// the root).
///
/// # Safety
///
/// `sb` must be a holefs superblock with `s_fs_info` set; `dir` null or a
/// live directory inode of it.
pub(crate) unsafe fn new_inode(
    sb: *mut b::super_block,
    dir: *mut b::inode,
    mode: b::umode_t,
    dev: b::dev_t,
) -> Result<*mut b::inode> {
    let info = KBox::pin_init(
        pin_init!(InodeInfo {
            map <- new_mutex!(BlockMap::new(), "holefs_inode_map"),
        }),
        GFP_KERNEL,
    )?;
    // SAFETY: `sb` is valid.
    let inode = unsafe { b::new_inode(sb) };
    if inode.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `inode` is new and private to us until instantiated; the
    // tables and `nop_mnt_idmap` are static.  `i_private` takes ownership of
    // `info`, given back in `evict_inode` (the pinned box is never moved).
    unsafe {
        (*inode).i_private = KBox::into_raw(Pin::into_inner_unchecked(info)).cast();
        (*inode).i_ino = b::get_next_ino() as _;
        // Hashed (a fake hash: holefs has no inode lookup) so that the
        // inode can go on the writeback lists: sync(2), the flusher and
        // dirty throttling write its folios back.
        b::holefs_inode_fake_hash(inode);
        b::inode_init_owner(ptr::addr_of_mut!(b::nop_mnt_idmap), inode, dir, mode);
        (*(*inode).i_mapping).a_ops = &aops::AOPS.0;
        b::simple_inode_init_ts(inode);
        match u32::from(mode) & b::S_IFMT {
            b::S_IFREG => {
                (*inode).i_op = &FILE_IOPS.0;
                (*inode).__bindgen_anon_3.i_fop = &file::FILE_OPS.0;
            }
            b::S_IFDIR => {
                (*inode).i_op = &DIR_IOPS.0;
                (*inode).__bindgen_anon_3.i_fop = ptr::addr_of!(b::simple_dir_operations);
                // Directories start with two links: "." and the entry.
                b::inc_nlink(inode);
            }
            b::S_IFLNK => {
                (*inode).i_op = ptr::addr_of!(b::page_symlink_inode_operations);
                b::holefs_inode_nohighmem(inode);
            }
            _ => {
                (*inode).i_op = &SPECIAL_IOPS.0;
                b::init_special_inode(inode, mode, dev);
            }
        }
    }
    Ok(inode)
}

/// `super_operations.evict_inode`: drop the page cache, then the blocks;
/// undo the fake hash (see `holefs_inode_fake_unhash` in helpers.c: the
/// inode's slab slot is shared with every other user of `inode_cachep`).
///
/// # Safety
///
/// Called only by the kernel through `super_operations` (`->evict_inode`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
pub(crate) unsafe extern "C" fn evict_inode(inode: *mut b::inode) {
    // SAFETY: the VFS evicts a holefs inode that has no other users.
    unsafe {
        b::truncate_inode_pages_final(ptr::addr_of_mut!((*inode).i_data));
        b::clear_inode(inode);
        // I_FREEING is set: nothing puts the inode on a writeback list
        // any more, and nothing looks it up by hash.
        b::holefs_inode_fake_unhash(inode);
        let info = (*inode).i_private.cast::<InodeInfo>();
        if info.is_null() {
            return;
        }
        (*inode).i_private = ptr::null_mut();
        let info = KBox::from_raw(info);
        info.map.lock().clear(&sb_info(inode).acct.pool);
    }
}

/// Creates an inode for `dentry` in `dir` and pins the dentry, as ramfs
/// does.
///
/// # Safety
///
/// `dir` must be a live holefs directory whose `i_rwsem` the VFS holds and
/// `dentry` a negative dentry in it.
unsafe fn instantiate(
    dir: *mut b::inode,
    dentry: *mut b::dentry,
    mode: b::umode_t,
    dev: b::dev_t,
) -> Result<*mut b::inode> {
    // SAFETY: per the contract.
    unsafe {
        let inode = new_inode((*dir).i_sb, dir, mode, dev)?;
        b::d_instantiate(dentry, inode);
        b::holefs_dget(dentry);
        touch_dir(dir);
        Ok(inode)
    }
}

/// Updates a directory's mtime and ctime after a change.
///
/// # Safety
///
/// `dir` must be live, its `i_rwsem` held.
unsafe fn touch_dir(dir: *mut b::inode) {
    // SAFETY: per the contract.
    unsafe { b::holefs_inode_touch(dir) };
}

/// Creates an inode of any type.
///
/// # Safety
///
/// Called only by the kernel through `inode_operations` (`->mknod`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn mknod(
    _idmap: *mut b::mnt_idmap,
    dir: *mut b::inode,
    dentry: *mut b::dentry,
    mode: b::umode_t,
    dev: b::dev_t,
) -> c_int {
    // SAFETY: called by the VFS with `dir` locked and `dentry` negative.
    from_result(|| unsafe { instantiate(dir, dentry, mode, dev) }.map(|_| 0))
}

/// Creates a regular file.
///
/// # Safety
///
/// Called only by the kernel through `inode_operations` (`->create`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn create(
    idmap: *mut b::mnt_idmap,
    dir: *mut b::inode,
    dentry: *mut b::dentry,
    mode: b::umode_t,
    _excl: bool,
) -> c_int {
    // SAFETY: as for `mknod`.
    unsafe { mknod(idmap, dir, dentry, mode | b::S_IFREG as b::umode_t, 0) }
}

/// Creates a directory.
///
/// # Safety
///
/// Called only by the kernel through `inode_operations` (`->mkdir`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn mkdir(
    idmap: *mut b::mnt_idmap,
    dir: *mut b::inode,
    dentry: *mut b::dentry,
    mode: b::umode_t,
) -> c_int {
    // SAFETY: as for `mknod`.
    let ret = unsafe { mknod(idmap, dir, dentry, mode | b::S_IFDIR as b::umode_t, 0) };
    if ret == 0 {
        // SAFETY: the new directory's ".." links to `dir`, locked by the VFS.
        unsafe { b::inc_nlink(dir) };
    }
    ret
}

/// Creates a symlink whose body lives in the page cache.
///
/// # Safety
///
/// Called only by the kernel through `inode_operations` (`->symlink`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn symlink(
    _idmap: *mut b::mnt_idmap,
    dir: *mut b::inode,
    dentry: *mut b::dentry,
    target: *const c_char,
) -> c_int {
    from_result(|| {
        // SAFETY: as for `mknod`; `target` is a NUL-terminated string.
        unsafe {
            let len = core::ffi::CStr::from_ptr(target.cast())
                .to_bytes_with_nul()
                .len();
            let inode = new_inode((*dir).i_sb, dir, b::S_IFLNK as b::umode_t | 0o777, 0)?;
            // The link body goes through the page cache and our
            // address_space operations like file data.
            if let Err(e) = to_result(b::page_symlink(inode, target, len as c_int)) {
                b::iput(inode);
                return Err(e);
            }
            b::d_instantiate(dentry, inode);
            b::holefs_dget(dentry);
            touch_dir(dir);
        }
        Ok(0)
    })
}

/// Reports attributes, `st_blocks` from the block map.
///
/// # Safety
///
/// Called only by the kernel through `inode_operations` (`->getattr`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn getattr(
    idmap: *mut b::mnt_idmap,
    path: *const b::path,
    stat: *mut b::kstat,
    request_mask: u32,
    _flags: c_uint,
) -> c_int {
    // SAFETY: the VFS passes a valid path to a holefs inode and a `kstat` to
    // fill; `generic_fillattr` reports `i_blocks` as `st_blocks`.
    unsafe {
        let inode = (*(*path).dentry).d_inode;
        b::generic_fillattr(idmap, request_mask, inode, stat);
    }
    0
}

/// Changes attributes, including the size.
///
/// # Safety
///
/// Called only by the kernel through `inode_operations` (`->setattr`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn setattr(
    idmap: *mut b::mnt_idmap,
    dentry: *mut b::dentry,
    attr: *mut b::iattr,
) -> c_int {
    from_result(|| {
        // SAFETY: the VFS holds the inode's `i_rwsem` around `->setattr`.
        unsafe {
            let inode = (*dentry).d_inode;
            to_result(b::setattr_prepare(idmap, dentry, attr))?;
            if (*attr).ia_valid & b::ATTR_SIZE != 0 {
                let size = (*attr).ia_size as u64;
                if size != b::holefs_i_size_read(inode) as u64 {
                    truncate(inode, size);
                }
            }
            b::setattr_copy(idmap, inode, attr);
        }
        Ok(0)
    })
}

/// Changes the size of a regular file to `new_size`, freeing the blocks
/// past it and zeroing the tail of the new last page, in the store and in
/// the page cache.
///
/// # Safety
///
/// `inode` must be live and its `i_rwsem` held exclusive; `new_size` must
/// have been checked by `inode_newsize_ok()`.
pub(crate) unsafe fn truncate(inode: *mut b::inode, new_size: u64) {
    // SAFETY: per the contract.
    let (sbi, info, mapping) = unsafe { (sb_info(inode), info(inode), (*inode).i_mapping) };
    // Truncate is an invalidation like punch and follows the punch policy.
    let locked = sbi.config.punch == PunchPolicy::Locked;
    // SAFETY: `mapping` is the inode's; lock order i_rwsem -> invalidate_lock.
    unsafe {
        if locked {
            b::holefs_invalidate_lock(mapping);
        }
        let old_size = b::holefs_i_size_read(inode) as u64;
        if new_size > old_size {
            // Bytes past the old EOF in its page may hold what an mmap store
            // beyond EOF left there; they must read as zeros now.
            super::aops::zero_folio_tail(mapping, old_size);
        }
        if new_size < old_size && sbi.config.truncate_delay_us != 0 {
            // Injection point: drop the page cache past the cut first and
            // lower `i_size` only after the delay.  An access that reads
            // `i_size` in between passes its EOF check and creates its folio
            // after the cache was truncated, from blocks not freed yet: the
            // same interleaving as an access that read `i_size` just before
            // `truncate_setsize()` and got to create its folio only after
            // `truncate_pagecache()`, which is otherwise too narrow to hit.
            // The safe policies block such accesses on `invalidate_lock`.
            b::truncate_pagecache(inode, new_size as b::loff_t);
            b::holefs_fsleep(sbi.config.truncate_delay_us as _);
            b::holefs_i_size_write(inode, new_size as b::loff_t);
        } else {
            b::truncate_setsize(inode, new_size as b::loff_t);
        }
        if new_size < old_size {
            if sbi.config.punch_delay_us != 0 {
                // The same window as in a punch: the cache is dropped, the
                // blocks are not freed yet.
                b::holefs_fsleep(sbi.config.punch_delay_us as _);
            }
            let mut map = info.map.lock();
            map.remove_range(pages_for(new_size, PAGE_SHIFT)..u64::MAX, &sbi.acct.pool);
            let tail = (new_size % PAGE_SIZE) as usize;
            if tail != 0 {
                if let Some(block) = map.get_mut(new_size >> PAGE_SHIFT) {
                    block.zero(tail, PAGE_SIZE as usize - tail);
                }
            }
            set_i_blocks(inode, map.len());
        }
        if locked {
            b::holefs_invalidate_unlock(mapping);
        }
    }
}
