// SPDX-License-Identifier: GPL-2.0
//! The system calls std does not wrap, on rustix: pread/pwrite loops that
//! report how far they got, SEEK_DATA/SEEK_HOLE, and the remount.

use rustix::fs::{statvfs, SeekFrom, StatVfsMountFlags};
use rustix::io::Errno;
use rustix::mount::{mount_remount, MountFlags};
use std::ffi::CStr;
use std::fs::File;
use std::io;

/// pread(2) until `buf` is full or EOF; returns the bytes read.
pub fn pread_full(f: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match rustix::io::pread(f, &mut buf[done..], off + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

/// pwrite(2) until all of `buf` is written; returns the bytes written and
/// the error that stopped it early, if one did.
pub fn pwrite_all(f: &File, buf: &[u8], off: u64) -> (usize, Option<io::Error>) {
    let mut done = 0;
    while done < buf.len() {
        match rustix::io::pwrite(f, &buf[done..], off + done as u64) {
            Ok(0) => return (done, Some(Errno::IO.into())),
            Ok(n) => done += n,
            Err(Errno::INTR) => {}
            Err(e) => return (done, Some(e.into())),
        }
    }
    (done, None)
}

/// Where lseek(2) looks from an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whence {
    Data,
    Hole,
}

impl Whence {
    pub fn name(self) -> &'static str {
        match self {
            Whence::Data => "SEEK_DATA",
            Whence::Hole => "SEEK_HOLE",
        }
    }
}

/// lseek(2) SEEK_DATA / SEEK_HOLE; `Ok(None)` for ENXIO (no data / no hole
/// at or after `off`).
pub fn lseek(f: &File, off: u64, whence: Whence) -> io::Result<Option<u64>> {
    let pos = match whence {
        Whence::Data => SeekFrom::Data(off),
        Whence::Hole => SeekFrom::Hole(off),
    };
    match rustix::fs::seek(f, pos) {
        Ok(p) => Ok(Some(p)),
        Err(Errno::NXIO) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `mount -o remount` of the file system mounted at `point`, keeping the
/// per-mount flags (MS_REMOUNT without them would clear nosuid etc.) and
/// changing no option.
pub fn remount(point: &CStr) -> io::Result<()> {
    let sv = statvfs(point)?;
    let keep = [
        (StatVfsMountFlags::RDONLY, MountFlags::RDONLY),
        (StatVfsMountFlags::NOSUID, MountFlags::NOSUID),
        (StatVfsMountFlags::NODEV, MountFlags::NODEV),
        (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
        (StatVfsMountFlags::NOATIME, MountFlags::NOATIME),
        (StatVfsMountFlags::NODIRATIME, MountFlags::NODIRATIME),
        (StatVfsMountFlags::RELATIME, MountFlags::RELATIME),
    ];
    let flags = keep
        .iter()
        .filter(|(st, _)| sv.f_flag.contains(*st))
        .fold(MountFlags::empty(), |acc, (_, ms)| acc | *ms);
    Ok(mount_remount(point, flags, c"")?)
}
