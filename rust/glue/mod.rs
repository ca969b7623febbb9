// SPDX-License-Identifier: GPL-2.0

//! The glue layer: every raw pointer and `unsafe` block of holefs.

pub(crate) mod bindings;
