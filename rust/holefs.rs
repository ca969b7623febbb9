// SPDX-License-Identifier: GPL-2.0

//! holefs: a tiny filesystem for page-cache invalidation experiments.

use kernel::prelude::*;

mod glue;

module! {
    type: HoleFs,
    name: "holefs",
    author: "holefs developers",
    description: "Tiny filesystem for page-cache invalidation locking experiments",
    license: "GPL",
}

struct HoleFs;

impl kernel::Module for HoleFs {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded\n");
        Ok(HoleFs)
    }
}
