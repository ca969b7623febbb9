// SPDX-License-Identifier: GPL-2.0
//! The file system calls std does not wrap.  Each takes borrowed files, so
//! the descriptors stay open for the duration of the call.

use rustix::fs::{Advice, FallocateFlags};
use std::fs::File;
use std::io;
use std::num::NonZeroU64;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

fn off(v: u64) -> io::Result<libc::off_t> {
    libc::off_t::try_from(v).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn zero_ok(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn len_ok(r: isize) -> io::Result<usize> {
    usize::try_from(r).map_err(|_| io::Error::last_os_error())
}

/// fallocate() with `mode` over `start..start + len`.
pub fn fallocate(f: &File, mode: FallocateFlags, start: u64, len: u64) -> io::Result<()> {
    Ok(rustix::fs::fallocate(f, mode, start, len)?)
}

pub fn fadvise(f: &File, start: u64, len: u64, advice: Advice) -> io::Result<()> {
    Ok(rustix::fs::fadvise(f, start, NonZeroU64::new(len), advice)?)
}

/// The filesystem magic number (`statfs.f_type`) of the one `f` is on.
pub fn fs_magic(f: &File) -> io::Result<u64> {
    Ok(rustix::fs::fstatfs(f)?.f_type as u64)
}

/// The granularity of file sizes in directory `dir`: the huge page size on
/// hugetlbfs (`statfs.f_bsize`; it refuses any other size), else `page`.
pub fn size_unit(dir: &std::path::Path, page: u64) -> io::Result<u64> {
    let st = rustix::fs::statfs(dir)?;
    if st.f_type as u64 == holefs_common::HUGETLBFS_MAGIC {
        let b = st.f_bsize as u64;
        if b.is_power_of_two() && b >= page {
            return Ok(b);
        }
        return Err(io::Error::other(format!(
            "hugetlbfs reports block size {b}"
        )));
    }
    Ok(page)
}

pub fn readahead(f: &File, start: u64, len: usize) -> io::Result<()> {
    // SAFETY: readahead() takes no pointers.
    let r = unsafe { libc::readahead(f.as_raw_fd(), off(start)?, len) };
    len_ok(r).map(drop)
}

/// copy_file_range() of `len` bytes at the same offset of `src` and `dst`;
/// returns the bytes copied by this one call (it may copy less).
pub fn copy_file_range(src: &File, dst: &File, at: u64, len: usize) -> io::Result<usize> {
    let (mut a, mut b) = (at, at);
    Ok(rustix::fs::copy_file_range(
        src,
        Some(&mut a),
        dst,
        Some(&mut b),
        len,
    )?)
}

/// ioctl(FICLONERANGE): share `len` bytes of `src` at `at` into `dst` at `at`.
pub fn clone_range(src: &File, dst: &File, at: u64, len: u64) -> io::Result<()> {
    #[repr(C)]
    struct FileCloneRange {
        src_fd: i64,
        src_offset: u64,
        src_length: u64,
        dest_offset: u64,
    }
    // _IOW(0x94, 13, struct file_clone_range)
    const FICLONERANGE: libc::c_ulong = 0x4020_940d;
    let arg = FileCloneRange {
        src_fd: i64::from(src.as_raw_fd()),
        src_offset: at,
        src_length: len,
        dest_offset: at,
    };
    // SAFETY: FICLONERANGE reads one struct file_clone_range, which `arg`
    // is (repr(C), the kernel's layout), alive across the call.
    zero_ok(unsafe { libc::ioctl(dst.as_raw_fd(), FICLONERANGE, &arg) })
}

/// A pipe: (read end, write end).
pub fn pipe() -> io::Result<(File, File)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2() writes two descriptors into the array.
    zero_ok(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both descriptors are fresh and owned by nobody else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((File::from(r), File::from(w)))
}

/// splice() up to `len` bytes of `f` at `at` into the pipe `w`.
pub fn splice_to_pipe(f: &File, at: u64, w: &File, len: usize) -> io::Result<usize> {
    let mut o = off(at)?;
    // SAFETY: the input offset points at a local alive across the call; the
    // output is a pipe, which takes no offset.
    let r = unsafe {
        libc::splice(
            f.as_raw_fd(),
            &mut o,
            w.as_raw_fd(),
            std::ptr::null_mut(),
            len,
            0,
        )
    };
    len_ok(r)
}

/// sendfile() up to `len` bytes of `f` at `at` into the pipe `w`.
pub fn sendfile_to_pipe(f: &File, at: u64, w: &File, len: usize) -> io::Result<usize> {
    let mut o = off(at)?;
    // SAFETY: the offset points at a local alive across the call.
    let r = unsafe { libc::sendfile(w.as_raw_fd(), f.as_raw_fd(), &mut o, len) };
    len_ok(r)
}
