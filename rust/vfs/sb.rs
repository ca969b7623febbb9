// SPDX-License-Identifier: GPL-2.0

//! Superblocks: [`SuperBlock`], the superblock under construction
//! ([`NewSuperBlock`]), the page-fault freeze guard, what `statfs` and
//! `show_options` produce.

use core::fmt;
use core::marker::PhantomData;

use kernel::error::to_result;
use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings as b;
use super::fs::FileSystem;

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

impl SeqFile {
    /// # Safety
    ///
    /// `m` must be the seq_file being filled, for the value's lifetime.
    pub(super) unsafe fn from_raw(m: *mut b::seq_file) -> Self {
        // INVARIANT: per the contract.
        SeqFile { m }
    }
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
