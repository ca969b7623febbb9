// SPDX-License-Identifier: GPL-2.0

//! holefs: a tiny filesystem for page-cache invalidation experiments.
//!
//! A small disk-like filesystem whose "disk" is a pool of pages behind the
//! page cache, with mount options that select the locking of the fault
//! paths and of hole punch, so that whether `->map_pages` needs
//! `invalidate_lock` can be answered by experiment.  See
//! Documentation/holefs.rst.
//!
//! `vfs` is a typed view of the VFS and holds every `unsafe` block and
//! every raw pointer; the filesystem proper is safe Rust written against it
//! (each of its files has `#![forbid(unsafe_code)]`): `mount` and
//! `options`, `state`, `pool`, `blockmap` and `presence` (the store),
//! `namespace`, `file`, `data` (folio fill and writeback), `fault` (the
//! fault policies), `invalidate` (punch, zero range, preallocation,
//! truncate), `range` and `stats`.  Imports go one way: holefs -> vfs -> bindings.

use kernel::prelude::*;

mod blockmap;
mod data;
mod fault;
mod file;
mod invalidate;
mod mount;
mod namespace;
mod options;
mod pool;
mod presence;
mod range;
mod state;
mod stats;
mod vfs;

module! {
    type: HoleFsModule,
    name: "holefs",
    author: "holefs developers",
    description: "Tiny filesystem for page-cache invalidation locking experiments",
    license: "GPL",
}

struct HoleFsModule {
    // Fields drop in order: the type is unregistered before
    // /sys/fs/holefs goes.
    _registration: vfs::fs_type::Registration<state::HoleFs>,
    _sysfs: vfs::sysfs::SysfsRoot,
}

impl kernel::Module for HoleFsModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let sysfs = vfs::sysfs::SysfsRoot::new(c"holefs")?;
        Ok(HoleFsModule {
            _registration: vfs::fs_type::Registration::new(module)?,
            _sysfs: sysfs,
        })
    }
}
