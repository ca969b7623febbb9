// SPDX-License-Identifier: GPL-2.0

//! The holefs type ([`HoleFs`]), what it keeps per superblock
//! ([`SbInfo`]) and per inode ([`InodeInfo`]), and the accounting its sysfs
//! directory shows.

#![forbid(unsafe_code)]

use kernel::alloc::flags::GFP_KERNEL;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

use crate::blockmap::BlockMap;
use crate::options::MountConfig;
use crate::pool::BlockPool;
use crate::stats::{Counter, Stats};
use crate::vfs::fs::FileSystem;
use crate::vfs::sb::DevNum;
use crate::vfs::sysfs::{StatsDir, StatsOut, StatsSource};
use crate::vfs::PAGE_SIZE;

/// The holefs filesystem type.  Its `FileSystemType` implementation is in
/// the `mount` module, which names the operations of each table; the files
/// implementing those import this type from here, so that no file imports
/// one that imports it back.
pub(crate) struct HoleFs;

impl FileSystem for HoleFs {
    type Data = SbInfo;
    type INodeData = InodeInfo;
}

/// The accounting a mount shares with its sysfs directory, which may
/// outlive the superblock by a little (an open `stats` file).
pub(crate) struct Accounting {
    /// The backing store's space.
    pub(crate) pool: BlockPool,
    /// Event counters.
    pub(crate) stats: Stats,
}

impl StatsSource for Accounting {
    fn show(&self, out: &mut StatsOut<'_>) {
        for &c in Counter::ALL {
            out.line(c.name(), self.stats.get(c));
        }
        out.line("blocks_total", self.pool.capacity());
        out.line("blocks_used", self.pool.used());
        out.line("blocks_free", self.pool.free());
    }

    fn clear(&self) {
        self.stats.reset();
    }
}

/// What holefs keeps per superblock.
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
    pub(crate) fn new(config: MountConfig, dev: DevNum) -> Result<Self> {
        let acct = Arc::new(
            Accounting {
                pool: BlockPool::new(config.blocks(PAGE_SIZE)),
                stats: Stats::new(),
            },
            GFP_KERNEL,
        )?;
        let sysfs = StatsDir::new(dev, acct.clone())?;
        Ok(SbInfo {
            config,
            acct,
            _sysfs: sysfs,
        })
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

/// What holefs keeps per inode.
#[pin_data]
pub(crate) struct InodeInfo {
    /// Where the file's data lives in the backing store.  Its lock also
    /// serialises the writers of `i_blocks`.
    #[pin]
    pub(crate) map: Mutex<BlockMap>,
}

impl InodeInfo {
    /// The state of a new, empty inode.
    pub(crate) fn new() -> Result<Pin<KBox<Self>>> {
        KBox::pin_init(
            pin_init!(InodeInfo {
                map <- new_mutex!(BlockMap::new(), "holefs_inode_map"),
            }),
            GFP_KERNEL,
        )
    }
}
