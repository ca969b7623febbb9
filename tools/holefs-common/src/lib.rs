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
