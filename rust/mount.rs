// SPDX-License-Identifier: GPL-2.0

//! The holefs filesystem type's operations: mount options, superblock setup, remount,
//! statfs, /proc/mounts, and what an inode gives back at eviction.

#![forbid(unsafe_code)]

use core::ffi::CStr;
use core::fmt::{self, Write};
use core::pin::Pin;

use kernel::prelude::*;

use crate::data::Data;
use crate::file::RegularFile;
use crate::namespace::{Directory, FileInode};
use crate::options::{FolioSize, MountConfig, OptionError, OptionKey};
use crate::state::{HoleFs, InodeInfo, SbInfo};
use crate::vfs::fs_type::{FileSystemType, ParamError};
use crate::vfs::inode::Inode;
use crate::vfs::params;
use crate::vfs::sb::{NewSuperBlock, SeqFile, StatFs, SuperBlock};
use crate::vfs::super_ops::SuperOperations;
use crate::vfs::{large_folios_supported, total_ram_bytes, PAGE_SIZE};

/// Default backing-store size: a quarter of RAM.
fn default_size() -> u64 {
    (total_ram_bytes() / PAGE_SIZE / 4).max(1) * PAGE_SIZE
}

impl FileSystemType for HoleFs {
    type Options = MountConfig;
    type SuperOps = HoleFs;
    type DirOps = Directory;
    type FileInodeOps = FileInode;
    type SpecialOps = FileInode;
    type FileOps = RegularFile;
    type MappingOps = Data;

    const NAME: &'static CStr = c"holefs";
    /// "hole".
    const MAGIC: u64 = 0x686f_6c65;
    /// Indexed like [`OptionKey::ALL`].
    const PARAMETERS: &'static [&'static CStr] = &[
        c"size",
        c"map_pages",
        c"fault",
        c"punch",
        c"punch_delay_us",
        c"truncate_delay_us",
        c"folios",
    ];

    fn new_options() -> Result<MountConfig> {
        Ok(MountConfig::new(default_size()))
    }

    fn parse_param(
        opts: &mut MountConfig,
        index: usize,
        value: &CStr,
        mounted: Option<&SuperBlock<Self>>,
    ) -> core::result::Result<(), ParamError> {
        let key = OptionKey::from_index(index).ok_or(ParamError {
            errno: EINVAL,
            message: "unknown option",
        })?;
        debug_assert_eq!(
            Some(key.name().as_bytes()),
            Self::PARAMETERS.get(index).map(|p| p.to_bytes())
        );
        opts.apply(key, value.to_bytes(), params::unsafe_policies())
            .map_err(|e| match e {
                OptionError::Invalid(message) => ParamError {
                    errno: EINVAL,
                    message,
                },
                OptionError::UnsafeNotAllowed => ParamError {
                    errno: EPERM,
                    message: "unsafe policy refused; load holefs with unsafe_policies=1",
                },
            })?;
        match mounted {
            // A remount may repeat an option but not change it.
            Some(sb) if !opts.same_option(&sb.data().config, key) => Err(ParamError {
                errno: EINVAL,
                message: "fixed at mount; remount cannot change it",
            }),
            // Only a new mount creates page caches (a remount that repeats
            // folios=large was allowed by this check at mount).
            None if opts.folios == FolioSize::Large && !large_folios_supported() => {
                Err(ParamError {
                    errno: EINVAL,
                    message: "folios=large: this kernel's page cache has no large folios \
                              (CONFIG_TRANSPARENT_HUGEPAGE is off)",
                })
            }
            _ => Ok(()),
        }
    }

    fn fill_super(config: &MountConfig, sb: &NewSuperBlock<Self>) -> Result<SbInfo> {
        for policy in config.unsafe_policies() {
            pr_warn!("mounting with unsafe policy {policy}: stale data is possible\n");
        }
        SbInfo::new(*config, sb.dev())
    }

    /// Remount syncs; `parse_param` refused any option that would change:
    /// the policies and the size are properties of the experiment, not
    /// tunables.
    fn reconfigure(sb: &SuperBlock<Self>, _config: &MountConfig) -> Result {
        sb.sync()
    }

    fn new_inode_data() -> Result<Pin<KBox<InodeInfo>>> {
        InodeInfo::new()
    }

    fn large_folios(sb: &SuperBlock<Self>) -> bool {
        sb.data().config.folios == FolioSize::Large
    }
}

#[vtable]
impl SuperOperations for HoleFs {
    type FileSystem = HoleFs;

    /// The store's capacity and free blocks.
    fn statfs(sb: &SuperBlock<HoleFs>) -> Result<StatFs> {
        let pool = &sb.data().acct.pool;
        Ok(StatFs {
            block_size: PAGE_SIZE,
            blocks: pool.capacity(),
            free: pool.free(),
            name_len: 255,
        })
    }

    fn show_options(sb: &SuperBlock<HoleFs>, out: &mut SeqFile) -> fmt::Result {
        write!(out, "{}", sb.data().config)
    }

    /// The page cache is gone: free the blocks.
    fn evict_inode(inode: &Inode<HoleFs>) {
        let pool = &inode.super_block().data().acct.pool;
        inode.data().map.lock().clear(pool);
    }
}
