// SPDX-License-Identifier: GPL-2.0

//! Host build of the parts of the holefs module that use only `core`:
//! the very files the kernel module compiles, included by path, so that
//! `cargo test` checks the filesystem's logic without booting a kernel.

#![allow(dead_code)]

#[path = "../../../rust/options.rs"]
pub mod options;
#[path = "../../../rust/pool.rs"]
pub mod pool;
#[path = "../../../rust/range.rs"]
pub mod range;
#[path = "../../../rust/stats.rs"]
pub mod stats;

#[cfg(test)]
mod tests;
