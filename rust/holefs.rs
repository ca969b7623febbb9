// SPDX-License-Identifier: GPL-2.0

//! holefs: a tiny filesystem for page-cache invalidation experiments.
//!
//! A small disk-like filesystem whose "disk" is a pool of pages behind the
//! page cache, with mount options that select the locking of the fault
//! paths and of hole punch, so that whether `->map_pages` needs
//! `invalidate_lock` can be answered by experiment.  See
//! Documentation/holefs.rst.
//!
//! The filesystem logic (`options`, `pool`, `stats`, `range`, `blockmap`)
//! is safe Rust; `glue` holds every callback the kernel calls and every
//! `unsafe` block.

use kernel::prelude::*;

mod blockmap;
mod glue;
mod options;
mod pool;
mod range;
mod stats;

module! {
    type: HoleFs,
    name: "holefs",
    author: "holefs developers",
    description: "Tiny filesystem for page-cache invalidation locking experiments",
    license: "GPL",
}

struct HoleFs {
    _registration: glue::fs_type::Registration,
}

impl kernel::Module for HoleFs {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(HoleFs {
            _registration: glue::fs_type::Registration::new(module)?,
        })
    }
}
