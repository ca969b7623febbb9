// SPDX-License-Identifier: GPL-2.0

//! Per-superblock state and `super_operations`.

use core::fmt::Write;

use kernel::alloc::flags::GFP_KERNEL;
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::sync::Arc;

use super::bindings as b;
use super::sysfs::StatsDir;
use super::{inode, zeroed, StaticTable, PAGE_SIZE};
use crate::options::MountConfig;
use crate::pool::BlockPool;
use crate::stats::Stats;

/// The accounting a mount shares with its sysfs directory, which may
/// outlive the superblock by a little (an open `stats` file).
pub(crate) struct Accounting {
    /// The backing store's space.
    pub(crate) pool: BlockPool,
    /// Event counters.
    pub(crate) stats: Stats,
}

/// What holefs keeps per superblock (`sb->s_fs_info`).
pub(crate) struct SbInfo {
    /// Options and policies, fixed at mount.
    pub(crate) config: MountConfig,
    /// Space and counters.
    pub(crate) acct: Arc<Accounting>,
    /// `/sys/fs/holefs/<major>:<minor>/`, removed on drop.
    _sysfs: StatsDir,
}

impl SbInfo {
    /// State for a new mount with device number `dev`.
    pub(crate) fn new(config: MountConfig, dev: b::dev_t) -> Result<KBox<Self>> {
        let acct = Arc::new(
            Accounting {
                pool: BlockPool::new(config.blocks(PAGE_SIZE)),
                stats: Stats::new(),
            },
            GFP_KERNEL,
        )?;
        let sysfs = StatsDir::new(dev, acct.clone())?;
        Ok(KBox::new(
            SbInfo {
                config,
                acct,
                _sysfs: sysfs,
            },
            GFP_KERNEL,
        )?)
    }

    /// The state of superblock `sb`.
    ///
    /// # Safety
    ///
    /// `sb` must be a holefs superblock between `fill_super` and `kill_sb`.
    pub(crate) unsafe fn of<'a>(sb: *const b::super_block) -> &'a SbInfo {
        // SAFETY: per the contract `s_fs_info` is a live `SbInfo`, freed only
        // in `kill_sb` after every user is gone.
        unsafe { &*(*sb).s_fs_info.cast::<SbInfo>() }
    }
}

impl Drop for SbInfo {
    fn drop(&mut self) {
        let used = self.acct.pool.used();
        if used != 0 {
            pr_warn!("{used} blocks still accounted at unmount\n");
        }
    }
}

pub(crate) static SUPER_OPS: StaticTable<b::super_operations> = StaticTable(b::super_operations {
    statfs: Some(statfs),
    show_options: Some(show_options),
    evict_inode: Some(inode::evict_inode),
    drop_inode: Some(b::generic_delete_inode),
    ..zeroed()
});

/// Reports the store's capacity and free blocks.
///
/// # Safety
///
/// Called only by the kernel through `super_operations` (`->statfs`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn statfs(dentry: *mut b::dentry, buf: *mut kernel::bindings::kstatfs) -> c_int {
    let buf = buf.cast::<b::kstatfs>();
    // SAFETY: `dentry` belongs to a mounted holefs; `buf` is valid for
    // writes for the duration of the call.
    unsafe {
        let info = SbInfo::of((*dentry).d_sb);
        let pool = &info.acct.pool;
        (*buf).f_type = super::fs_type::HOLEFS_MAGIC as _;
        (*buf).f_bsize = PAGE_SIZE as _;
        (*buf).f_frsize = PAGE_SIZE as _;
        (*buf).f_blocks = pool.capacity();
        (*buf).f_bfree = pool.free();
        (*buf).f_bavail = pool.free();
        (*buf).f_namelen = 255;
    }
    0
}

/// A small stack buffer for `fmt::Write`, to print options without
/// allocating.
struct LineBuf {
    buf: [u8; 160],
    len: usize,
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        // Keep one byte for the NUL terminator.
        if end >= self.buf.len() {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Prints the mount options for /proc/mounts.
///
/// # Safety
///
/// Called only by the kernel through `super_operations` (`->show_options`), with arguments
/// that satisfy that callback's contract (Documentation/filesystems/vfs.rst
/// and locking.rst): valid pointers to objects of a mounted holefs.
unsafe extern "C" fn show_options(m: *mut b::seq_file, root: *mut b::dentry) -> c_int {
    // SAFETY: `root` is the root of a mounted holefs.
    let info = unsafe { SbInfo::of((*root).d_sb) };
    let mut line = LineBuf {
        buf: [0; 160],
        len: 0,
    };
    if write!(line, "{}", info.config).is_err() {
        return -(b::EOVERFLOW as c_int);
    }
    // `LineBuf::write_str` keeps room for the terminator.
    line.buf[line.len] = 0;
    // SAFETY: `m` is the seq_file being filled; the buffer is
    // NUL-terminated above.
    unsafe { b::seq_printf(m, c"%s".as_ptr().cast(), line.buf.as_ptr()) };
    0
}
