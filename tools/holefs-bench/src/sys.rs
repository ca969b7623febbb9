// SPDX-License-Identifier: GPL-2.0
//! The system calls the benchmarks need, as small safe wrappers.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::ptr;

pub const PAGE: usize = 4096;

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A read-only shared mapping of the first `len` bytes of a file.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is only read (volatile loads) and unmapped once, by
// its owner's Drop; sharing the pointer between threads is sound.
unsafe impl Send for Mapping {}
// SAFETY: as above: shared access is read-only.
unsafe impl Sync for Mapping {}

impl Mapping {
    pub fn new(file: &File, len: usize) -> io::Result<Self> {
        // SAFETY: a fresh mapping chosen by the kernel; no Rust object
        // aliases it.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { ptr: p.cast(), len })
    }

    pub fn pages(&self) -> usize {
        self.len / PAGE
    }

    /// Reads one byte of each page in `pages`: one read fault per page not
    /// yet mapped.  Returns the sum of the bytes (so nothing is elided).
    pub fn touch(&self, pages: std::ops::Range<usize>) -> u64 {
        let mut sum = 0u64;
        for i in pages {
            debug_assert!(i < self.pages());
            // SAFETY: `i * PAGE` is inside the mapping (caller's range is
            // within `pages()`); a volatile load keeps the access.
            sum += u64::from(unsafe { ptr::read_volatile(self.ptr.add(i * PAGE)) });
        }
        sum
    }

    /// How many of the mapped file's pages are in the page cache
    /// (mincore(2) on a file mapping looks the page cache up).
    pub fn resident_pages(&self) -> io::Result<usize> {
        let mut vec = vec![0u8; self.pages()];
        // SAFETY: `vec` has one byte per page of the mapping.
        check(unsafe { libc::mincore(self.ptr.cast(), self.len, vec.as_mut_ptr()) })?;
        Ok(vec.iter().filter(|&&b| b & 1 != 0).count())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping made by `new`, unmapped once.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// fallocate(PUNCH_HOLE | KEEP_SIZE).
pub fn punch(file: &File, off: u64, len: u64) -> io::Result<()> {
    // SAFETY: plain system call on an open descriptor.
    check(unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            off as libc::off_t,
            len as libc::off_t,
        )
    })
    .map(|_| ())
}

/// sync(2), then drop the clean page cache (drop_caches=1).
pub fn drop_caches() -> io::Result<()> {
    // SAFETY: no arguments.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", "1")
}

/// (minor, major) faults of this process so far, all threads.
pub fn faults() -> (u64, u64) {
    // SAFETY: getrusage fills the zeroed struct.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        (ru.ru_minflt as u64, ru.ru_majflt as u64)
    }
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
            let (maj, min) = (libc::major(dev), libc::minor(dev));
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
