// SPDX-License-Identifier: GPL-2.0
//! What the benchmarks read about themselves and the file system: the
//! process's page faults and the holefs counters of a mount.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// (minor, major) faults of this process so far, all threads.
/// (getrusage(2), which rustix does not wrap.)
pub fn faults() -> (u64, u64) {
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is valid for writes; RUSAGE_SELF cannot fail.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    (ru.ru_minflt as u64, ru.ru_majflt as u64)
}

/// The holefs counters of one mount (`/sys/fs/holefs/<maj:min>/stats`), or
/// nothing for other file systems.
#[derive(Clone)]
pub struct Counters {
    stats: Option<PathBuf>,
}

impl Counters {
    /// The counters of the holefs mounted at `dir`, found through the mount's
    /// device number; `None` inside when `dir` is not a holefs mount.
    pub fn for_dir(dir: &Path) -> Self {
        use std::os::unix::fs::MetadataExt;
        let stats = std::fs::metadata(dir).ok().and_then(|m| {
            let dev = m.dev();
            let (maj, min) = (rustix::fs::major(dev), rustix::fs::minor(dev));
            let p = PathBuf::from(format!("/sys/fs/holefs/{maj}:{min}/stats"));
            p.exists().then_some(p)
        });
        Counters { stats }
    }

    pub fn available(&self) -> bool {
        self.stats.is_some()
    }

    /// A snapshot of every counter (empty without holefs).
    pub fn read(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        if let Some(p) = &self.stats {
            if let Ok(text) = std::fs::read_to_string(p) {
                for line in text.lines() {
                    let mut it = line.split_whitespace();
                    if let (Some(k), Some(v)) = (it.next(), it.next()) {
                        if let Ok(v) = v.parse() {
                            m.insert(k.to_string(), v);
                        }
                    }
                }
            }
        }
        m
    }
}

/// The counters that are levels, not events.
const GAUGES: [&str; 3] = ["blocks_total", "blocks_used", "blocks_free"];

/// The event counters that changed between two snapshots.
pub fn delta(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter(|(k, _)| !GAUGES.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.saturating_sub(*before.get(k).unwrap_or(&0))))
        .collect()
}
