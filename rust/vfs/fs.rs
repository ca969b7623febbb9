// SPDX-License-Identifier: GPL-2.0

//! The [`FileSystem`] trait: what a filesystem keeps per superblock and per
//! inode.  The wrappers of this layer are generic over it; the operations
//! and the registration are in the `fs_type` module.

/// The data types of a filesystem.
///
/// Per-superblock data (`Data`) lives from `fill_super` to `kill_sb`;
/// per-inode data (`INodeData`) from inode creation to eviction.
pub(crate) trait FileSystem: Sized + 'static {
    /// What the filesystem keeps per superblock (`s_fs_info`).
    type Data: Send + Sync;
    /// What the filesystem keeps per inode (`i_private`).
    type INodeData: Send + Sync;
}
