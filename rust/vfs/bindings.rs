// SPDX-License-Identifier: GPL-2.0

//! Declarations for what `kernel::bindings` (6.12) lacks, generated at build
//! time by `scripts/holefs-bindgen` from `rust/bindings_helper.h`.
//!
//! Types `kernel::bindings` already defines are blocklisted there, so the
//! generated items name them through this glob import.  Where 6.12 has only
//! an empty placeholder (e.g. `fs_context`), the definition here is the full
//! one and shadows the placeholder; pointers to it are cast at the
//! boundary.

#![allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc
)]

pub(crate) use kernel::bindings::*;

include!("../bindings_generated.rs");
