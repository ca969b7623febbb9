// SPDX-License-Identifier: GPL-2.0
//! `fault_around_bytes` set to one page for the length of a cell, so that
//! a read fault maps only the page it faulted on (no `->map_pages` over
//! its neighbours), and put back afterwards.

use std::path::Path;

const KNOB: &str = "/sys/kernel/debug/fault_around_bytes";

/// The setting in force; the old value is written back on drop.
pub struct OnePage {
    old: String,
}

impl OnePage {
    /// Set the knob to `page`; Err(reason) when it is not there or not
    /// writable (no debugfs, no CONFIG_DEBUG_FS, not root).
    pub fn set(page: u64) -> Result<OnePage, String> {
        let why = |e: std::io::Error| {
            format!("{KNOB}: {e} (needs debugfs mounted at /sys/kernel/debug and root)")
        };
        if !Path::new(KNOB).exists() {
            return Err(format!(
                "{KNOB} does not exist (debugfs not mounted, or a kernel without CONFIG_DEBUG_FS)"
            ));
        }
        let old = std::fs::read_to_string(KNOB).map_err(why)?;
        std::fs::write(KNOB, format!("{page}\n")).map_err(why)?;
        let now = std::fs::read_to_string(KNOB).map_err(why)?;
        let guard = OnePage {
            old: old.trim().to_owned(),
        };
        if now.trim() != page.to_string() {
            return Err(format!("{KNOB} reads {} after writing {page}", now.trim()));
        }
        Ok(guard)
    }
}

impl Drop for OnePage {
    fn drop(&mut self) {
        if let Err(e) = std::fs::write(KNOB, format!("{}\n", self.old)) {
            eprintln!(
                "holefs-audit: could not restore {KNOB} to {}: {e}",
                self.old
            );
        }
    }
}
