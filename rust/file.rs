// SPDX-License-Identifier: GPL-2.0

//! `file_operations` of regular files: the generic page-cache read and
//! write paths, plus holefs's own lseek, mmap, fsync and fallocate.

#![forbid(unsafe_code)]

use kernel::prelude::*;

use crate::fault::{FaultOps, FaultOpsNoMapPages};
use crate::invalidate;
use crate::options::MapPagesPolicy;
use crate::range::{self, FallocOp, PageSpan};
use crate::state::HoleFs;
use crate::vfs::file::File;
use crate::vfs::file_ops::{FileOperations, VmArea, SEEK_DATA, SEEK_HOLE};
use crate::vfs::{eopnotsupp, PAGE_SHIFT};

/// holefs's `file_operations` for regular files.
pub(crate) struct RegularFile;

#[vtable]
impl FileOperations for RegularFile {
    type FileSystem = HoleFs;

    /// `SEEK_DATA`/`SEEK_HOLE` from the block map; the rest is generic.
    fn llseek(file: &File<HoleFs>, offset: i64, whence: i32) -> Result<i64> {
        if whence != SEEK_DATA && whence != SEEK_HOLE {
            return file.generic_llseek(offset, whence);
        }
        let Ok(offset) = u64::try_from(offset) else {
            return Err(ENXIO);
        };
        let inode = file.inode();
        let pos = {
            // `i_rwsem` keeps the size and the block map consistent with
            // each other.
            let inode = inode.lock();
            let size = inode.size();
            let mut map = inode.data().map.lock();
            if whence == SEEK_DATA {
                range::seek_data(offset, size, PAGE_SHIFT, |i| map.next_block(i))
            } else {
                range::seek_hole(offset, size, PAGE_SHIFT, |i| map.next_hole(i))
            }
        };
        file.set_pos(pos.ok_or(ENXIO)?)
    }

    /// Installs the vm_operations of the mount's policy.
    fn mmap(file: &File<HoleFs>, vma: &VmArea<HoleFs>) -> Result {
        file.accessed();
        match file.inode().super_block().data().config.map_pages {
            MapPagesPolicy::Off => vma.set_ops::<FaultOpsNoMapPages>(),
            _ => vma.set_ops::<FaultOps>(),
        }
        Ok(())
    }

    /// Writeback copies into the store synchronously and holefs keeps no
    /// metadata outside memory: once written back, data is durable.
    fn fsync(file: &File<HoleFs>, start: i64, end: i64, _datasync: bool) -> Result {
        file.write_and_wait_range(start, end)
    }

    /// Punch hole, zero range and preallocation.
    fn fallocate(file: &File<HoleFs>, mode: u32, offset: u64, len: u64) -> Result {
        let op = FallocOp::from_mode(mode).ok_or_else(eopnotsupp)?;
        let span = PageSpan::new(offset, len, PAGE_SHIFT).ok_or(EINVAL)?;
        invalidate::fallocate(file, op, &span)
    }
}
