// SPDX-License-Identifier: GPL-2.0
//! The operations under test, applied to a file, and the errors that mean
//! "this filesystem does not do that" rather than a failure.

use crate::aligned::AlignedBuf;
use crate::axes::Op;
use crate::geometry::Layout;
use crate::sys;
use holefs_common::Mapping;
use rustix::fs::FallocateFlags;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Everything an operation works on.
pub struct Target {
    /// The file under test, opened for buffered I/O.
    pub file: File,
    /// The same file opened with O_DIRECT (dio-write).
    pub dio: Option<File>,
    /// The second file (clone, copy-range), holding the source data.
    pub src: Option<File>,
    /// A shared writable mapping of the file (madv-remove).
    pub map: Option<Mapping>,
    /// The new data of a dio-write, for the current layout.
    pub new_data: AlignedBuf,
    /// Writable mappings of `file` and `src` through which they are
    /// filled where write(2) does not work (hugetlbfs); `None` elsewhere.
    pub fill_map: Option<Mapping>,
    pub src_map: Option<Mapping>,
}

/// Apply `op` over the range of `lay`.
pub fn apply(op: Op, t: &Target, lay: &Layout) -> io::Result<()> {
    let (start, len) = (lay.start, lay.end - lay.start);
    let fall = |mode| sys::fallocate(&t.file, mode, start, len);
    match op {
        Op::Punch => fall(FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE),
        Op::Zero => fall(FallocateFlags::ZERO_RANGE),
        Op::Collapse => fall(FallocateFlags::COLLAPSE_RANGE),
        Op::Insert => fall(FallocateFlags::INSERT_RANGE),
        Op::Truncate => {
            t.file.set_len(start)?;
            t.file.set_len(lay.size)
        }
        Op::DioWrite => {
            let f = t
                .dio
                .as_ref()
                .ok_or_else(|| io::Error::other("no O_DIRECT file"))?;
            f.write_all_at(&t.new_data[..len as usize], start)
        }
        Op::MadvRemove => {
            let m = t
                .map
                .as_ref()
                .ok_or_else(|| io::Error::other("no mapping"))?;
            m.remove(start as usize, len as usize)
        }
        Op::Clone => {
            let src = t
                .src
                .as_ref()
                .ok_or_else(|| io::Error::other("no source file"))?;
            sys::clone_range(src, &t.file, start, len)
        }
        Op::CopyRange => {
            let src = t
                .src
                .as_ref()
                .ok_or_else(|| io::Error::other("no source file"))?;
            let mut done = 0u64;
            while done < len {
                let n = sys::copy_file_range(src, &t.file, start + done, (len - done) as usize)?;
                if n == 0 {
                    return Err(io::Error::other("copy_file_range copied 0 bytes"));
                }
                done += n as u64;
            }
            Ok(())
        }
    }
}

/// The errno name of an error, for reasons.
pub fn errno_name(e: &io::Error) -> String {
    let name = match e.raw_os_error() {
        Some(libc::EOPNOTSUPP) => "EOPNOTSUPP",
        Some(libc::ENOSYS) => "ENOSYS",
        Some(libc::ENOTTY) => "ENOTTY",
        Some(libc::EINVAL) => "EINVAL",
        Some(libc::EXDEV) => "EXDEV",
        Some(libc::EIO) => "EIO",
        Some(libc::ENOSPC) => "ENOSPC",
        Some(libc::EPERM) => "EPERM",
        Some(libc::EACCES) => "EACCES",
        Some(libc::EBADF) => "EBADF",
        _ => return e.to_string(),
    };
    format!("{name} ({e})")
}

/// Whether the first call of `op` failing with `e` means the filesystem
/// does not support the operation (or this range of it): the cell is then
/// SKIP.  EINVAL counts for the operations whose alignment rules are the
/// filesystem's (block size) or that a filesystem may refuse outright.
pub fn unsupported(op: Op, e: &io::Error) -> bool {
    match e.raw_os_error() {
        Some(libc::EOPNOTSUPP | libc::ENOSYS | libc::ENOTTY | libc::EXDEV) => true,
        Some(libc::EINVAL) => matches!(
            op,
            Op::Collapse | Op::Insert | Op::Clone | Op::DioWrite | Op::MadvRemove | Op::CopyRange
        ),
        _ => false,
    }
}

/// Whether a racer's access failing with `e` on its first try means the
/// filesystem does not offer that kind of access (hugetlbfs has no
/// `->splice_read`: splice() and sendfile() fail with EINVAL).
pub fn unsupported_access(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::EOPNOTSUPP | libc::ENOSYS)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_errors() {
        let e = |n| io::Error::from_raw_os_error(n);
        assert!(unsupported(Op::Punch, &e(libc::EOPNOTSUPP)));
        assert!(!unsupported(Op::Punch, &e(libc::EINVAL)));
        assert!(unsupported(Op::Collapse, &e(libc::EINVAL)));
        assert!(unsupported(Op::Clone, &e(libc::EXDEV)));
        assert!(!unsupported(Op::Truncate, &e(libc::EIO)));
        assert!(errno_name(&e(libc::EOPNOTSUPP)).starts_with("EOPNOTSUPP ("));
    }
}
