/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers that holefs's own bindgen step turns into Rust declarations, for
 * what kernel::bindings (6.12) does not cover.  What is taken from them is
 * listed in bindgen_allowlist.
 */
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/falloc.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/seq_file.h>
#include <linux/statfs.h>
#include <linux/sysfs.h>
#include <linux/writeback.h>

#include "helpers.h"

/* Macros bindgen cannot see through. */
const unsigned long HOLEFS_MAX_LFS_FILESIZE = MAX_LFS_FILESIZE;
const unsigned int HOLEFS_VM_FAULT_SIGBUS = VM_FAULT_SIGBUS;
const unsigned int HOLEFS_VM_FAULT_OOM = VM_FAULT_OOM;
const unsigned int HOLEFS_VM_FAULT_NOPAGE = VM_FAULT_NOPAGE;
const unsigned int HOLEFS_VM_FAULT_LOCKED = VM_FAULT_LOCKED;
