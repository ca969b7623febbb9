// SPDX-License-Identifier: GPL-2.0
//! What the holefs userspace tools (`holefs-repro`, `holefs-exerciser`,
//! `holefs-bench`, ...) share: shared file mappings with SIGBUS-safe
//! access, the file system calls they race, size arguments, seeded
//! pseudo-random generators and the JSON run records.
//!
//! All `unsafe` of the tools' mappings and of the SIGBUS handler lives in
//! [`map`] and [`sigbus`].

pub mod file;
pub mod map;
pub mod record;
pub mod rng;
pub mod sigbus;
pub mod size;

pub use map::Mapping;
pub use size::parse_size;

/// The system page size.
pub fn page_size() -> usize {
    rustix::param::page_size()
}

/// `statfs.f_type` of hugetlbfs.
pub const HUGETLBFS_MAGIC: u64 = 0x9584_58f6;

/// The size of the pages a mapping of `file` is made of: the huge page size
/// for a file on hugetlbfs (its `statfs.f_bsize`), else the system page
/// size.  A hugetlbfs mapping can only be unmapped, split or replaced in
/// whole huge pages.
pub fn mapping_page_size(file: &std::fs::File) -> std::io::Result<usize> {
    let st = rustix::fs::fstatfs(file)?;
    if st.f_type as u64 == HUGETLBFS_MAGIC {
        usize::try_from(st.f_bsize)
            .ok()
            .filter(|b| b.is_power_of_two() && *b >= page_size())
            .ok_or_else(|| std::io::Error::other("hugetlbfs reports no usable huge page size"))
    } else {
        Ok(page_size())
    }
}
