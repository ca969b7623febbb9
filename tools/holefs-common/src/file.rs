// SPDX-License-Identifier: GPL-2.0
//! The file system calls std does not wrap that the tools race against
//! each other: hole punches, cache eviction, drop_caches.

use rustix::fs::{fadvise, fallocate, Advice, FallocateFlags};
use std::fs::File;
use std::io;
use std::num::NonZeroU64;

/// fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) over
/// `off..off + len`.
pub fn punch_hole(f: &File, off: u64, len: u64) -> io::Result<()> {
    let mode = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
    Ok(fallocate(f, mode, off, len)?)
}

/// posix_fadvise(POSIX_FADV_DONTNEED) over `off..off + len`; a `len` of 0
/// means to the end of the file.  Drops the clean cached pages.
pub fn fadvise_dontneed(f: &File, off: u64, len: u64) -> io::Result<()> {
    Ok(fadvise(f, off, NonZeroU64::new(len), Advice::DontNeed)?)
}

/// sync(2), then `echo LEVEL > /proc/sys/vm/drop_caches` (needs root):
/// 1 drops the clean page cache, 3 dentries and inodes too.
pub fn drop_caches(level: u8) -> io::Result<()> {
    rustix::fs::sync();
    std::fs::write("/proc/sys/vm/drop_caches", format!("{level}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn punch_keeps_the_size_and_reads_zeros() {
        let dir = std::env::temp_dir().join(format!("holefs-common-punch.{}", std::process::id()));
        let mut f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&dir)
            .unwrap();
        f.write_all(&[0xa5; 3 * 4096]).unwrap();
        let _ = std::fs::remove_file(&dir);
        match punch_hole(&f, 4096, 4096) {
            Ok(()) => {}
            // A host file system without punch hole: nothing to check.
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => return,
            Err(e) => panic!("punch: {e}"),
        }
        assert_eq!(f.metadata().unwrap().size(), 3 * 4096);
        let mut buf = vec![1u8; 3 * 4096];
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut buf, 0).unwrap();
        assert!(buf[..4096].iter().all(|&b| b == 0xa5));
        assert!(buf[4096..8192].iter().all(|&b| b == 0));
        assert!(buf[8192..].iter().all(|&b| b == 0xa5));
        fadvise_dontneed(&f, 0, 0).unwrap();
    }
}
