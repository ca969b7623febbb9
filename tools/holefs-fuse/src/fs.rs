// SPDX-License-Identifier: GPL-2.0
//! The passthrough file system: FUSE requests served from a backing
//! directory.
//!
//! FUSE inode numbers are the backing files' own (`st_ino`), except that the
//! backing directory is `INodeNo::ROOT`; a table maps each number the kernel
//! has looked up to the backing path.  Open files are backing `File`s in a
//! table keyed by the file handle.  The tables sit under one mutex that is
//! never held across I/O, so requests on several threads overlap as they
//! would on a real server.

use fuser::{
    CopyFileRangeFlags, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation,
    INodeNo, LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyEmpty, ReplyEntry, ReplyLseek, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow,
    WriteFlags,
};
use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the kernel may cache attributes and names.  Short: the backing
/// files change only through this daemon, but the audit wants the kernel's
/// own invalidation exercised, not long-lived attributes.
const TTL: Duration = Duration::from_secs(1);

/// Open flags that make sense on the backing file: the kernel has already
/// handled creation, and `O_DIRECT` is the client's business (its page
/// cache is what the audit races).
fn backing_open_flags(flags: i32) -> i32 {
    flags & !(libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_DIRECT | libc::O_ACCMODE)
}

/// The FUSE inode number of a backing file.
fn fuse_ino(st_ino: u64, root_ino: u64) -> INodeNo {
    if st_ino == root_ino {
        INodeNo::ROOT
    } else {
        INodeNo(st_ino)
    }
}

fn errno(e: &io::Error) -> Errno {
    Errno::from_i32(e.raw_os_error().unwrap_or(libc::EIO))
}

/// A libc call's result as an `io::Result`.
fn check(ret: i64) -> io::Result<i64> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn time(secs: i64, nsecs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nsecs as u32)
    } else {
        UNIX_EPOCH
    }
}

fn file_type(m: &fs::Metadata) -> FileType {
    FileType::from_std(m.file_type()).unwrap_or(FileType::RegularFile)
}

#[derive(Default)]
struct Tables {
    paths: HashMap<INodeNo, PathBuf>,
    files: HashMap<u64, Arc<File>>,
    next_fh: u64,
}

pub(crate) struct Passthrough {
    root_ino: u64,
    tables: Mutex<Tables>,
}

impl Passthrough {
    pub(crate) fn new(backing: &Path) -> io::Result<Self> {
        let backing = backing.canonicalize()?;
        let m = fs::metadata(&backing)?;
        if !m.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        let mut t = Tables::default();
        t.paths.insert(INodeNo::ROOT, backing);
        Ok(Self {
            root_ino: m.ino(),
            tables: Mutex::new(t),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panicking request must not take the whole file system with it.
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn path(&self, ino: INodeNo) -> Result<PathBuf, Errno> {
        self.lock().paths.get(&ino).cloned().ok_or(Errno::ESTALE)
    }

    fn child(&self, parent: INodeNo, name: &OsStr) -> Result<PathBuf, Errno> {
        Ok(self.path(parent)?.join(name))
    }

    fn file(&self, fh: FileHandle) -> Result<Arc<File>, Errno> {
        self.lock().files.get(&fh.0).cloned().ok_or(Errno::EBADF)
    }

    fn attr(&self, m: &fs::Metadata) -> FileAttr {
        FileAttr {
            ino: fuse_ino(m.ino(), self.root_ino),
            size: m.size(),
            blocks: m.blocks(),
            atime: time(m.atime(), m.atime_nsec()),
            mtime: time(m.mtime(), m.mtime_nsec()),
            ctime: time(m.ctime(), m.ctime_nsec()),
            crtime: time(m.ctime(), m.ctime_nsec()),
            kind: file_type(m),
            perm: (m.mode() & 0o7777) as u16,
            nlink: m.nlink() as u32,
            uid: m.uid(),
            gid: m.gid(),
            rdev: m.rdev() as u32,
            blksize: m.blksize() as u32,
            flags: 0,
        }
    }

    /// Remember `path` under its inode number and return its attributes.
    fn remember(&self, path: PathBuf) -> Result<FileAttr, Errno> {
        let m = fs::symlink_metadata(&path).map_err(|e| errno(&e))?;
        let attr = self.attr(&m);
        self.lock().paths.insert(attr.ino, path);
        Ok(attr)
    }

    fn add_file(&self, f: File) -> FileHandle {
        let mut t = self.lock();
        t.next_fh += 1;
        let fh = t.next_fh;
        t.files.insert(fh, Arc::new(f));
        FileHandle(fh)
    }

    fn open_backing(path: &Path, flags: i32, mode: Option<u32>) -> io::Result<File> {
        let acc = flags & libc::O_ACCMODE;
        let mut o = OpenOptions::new();
        o.read(acc == libc::O_RDONLY || acc == libc::O_RDWR)
            .write(acc == libc::O_WRONLY || acc == libc::O_RDWR)
            .custom_flags(backing_open_flags(flags));
        if let Some(mode) = mode {
            o.create_new(true).mode(mode);
        }
        o.open(path)
    }

    fn setattr_inner(
        &self,
        ino: INodeNo,
        mode: Option<u32>,
        size: Option<u64>,
        fh: Option<FileHandle>,
    ) -> Result<FileAttr, Errno> {
        let path = self.path(ino)?;
        if let Some(mode) = mode {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o7777))
                .map_err(|e| errno(&e))?;
        }
        if let Some(size) = size {
            match fh.map(|fh| self.file(fh)) {
                Some(Ok(f)) => f.set_len(size),
                _ => OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(size)),
            }
            .map_err(|e| errno(&e))?;
        }
        let m = fs::symlink_metadata(&path).map_err(|e| errno(&e))?;
        Ok(self.attr(&m))
    }
}

fn cstring(p: &Path) -> Result<CString, Errno> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
}

impl Filesystem for Passthrough {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.child(parent, name).and_then(|p| self.remember(p)) {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        let m = match fh.map(|fh| self.file(fh)) {
            Some(Ok(f)) => f.metadata(),
            _ => match self.path(ino) {
                Ok(p) => fs::symlink_metadata(p),
                Err(e) => return reply.error(e),
            },
        };
        match m {
            Ok(m) => reply.attr(&TTL, &self.attr(&m)),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        match self.setattr_inner(ino, mode, size, fh) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let r = self.child(parent, name).and_then(|p| {
            fs::create_dir(&p).map_err(|e| errno(&e))?;
            fs::set_permissions(&p, fs::Permissions::from_mode(mode & !umask & 0o7777))
                .map_err(|e| errno(&e))?;
            self.remember(p)
        });
        match r {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self
            .child(parent, name)
            .and_then(|p| fs::remove_file(p).map_err(|e| errno(&e)))
        {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self
            .child(parent, name)
            .and_then(|p| fs::remove_dir(p).map_err(|e| errno(&e)))
        {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        if flags.bits() != 0 {
            return reply.error(Errno::EINVAL);
        }
        let r = self.child(parent, name).and_then(|from| {
            let to = self.child(newparent, newname)?;
            fs::rename(&from, &to).map_err(|e| errno(&e))?;
            self.remember(to).map(|_| ())
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        match self
            .path(ino)
            .and_then(|p| Self::open_backing(&p, flags.0, None).map_err(|e| errno(&e)))
        {
            // FOPEN_KEEP_CACHE: an open does not drop the client's page
            // cache, so the cache the racers build up lives across opens.
            Ok(f) => reply.opened(self.add_file(f), FopenFlags::FOPEN_KEEP_CACHE),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let r = self.child(parent, name).and_then(|p| {
            let f = Self::open_backing(&p, flags, Some(mode & !umask & 0o7777))
                .map_err(|e| errno(&e))?;
            let attr = self.remember(p)?;
            Ok((attr, f))
        });
        match r {
            Ok((attr, f)) => reply.created(
                &TTL,
                &attr,
                Generation(0),
                self.add_file(f),
                FopenFlags::FOPEN_KEEP_CACHE,
            ),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let f = match self.file(fh) {
            Ok(f) => f,
            Err(e) => return reply.error(e),
        };
        let mut buf = vec![0u8; size as usize];
        let mut done = 0;
        while done < buf.len() {
            match f.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return reply.error(errno(&e)),
            }
        }
        reply.data(&buf[..done]);
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self
            .file(fh)
            .and_then(|f| f.write_all_at(data, offset).map_err(|e| errno(&e)))
        {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.lock().files.remove(&fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        let r = self.file(fh).and_then(|f| {
            if datasync {
                f.sync_data()
            } else {
                f.sync_all()
            }
            .map_err(|e| errno(&e))
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let dir = match self.path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => return reply.error(errno(&e)),
        };
        let mut entries = vec![
            (ino, FileType::Directory, OsStr::new(".").to_owned()),
            (
                INodeNo::ROOT,
                FileType::Directory,
                OsStr::new("..").to_owned(),
            ),
        ];
        for de in rd.flatten() {
            let Ok(m) = de.metadata() else { continue };
            entries.push((
                fuse_ino(m.ino(), self.root_ino),
                file_type(&m),
                de.file_name(),
            ));
        }
        for (i, (ino, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(ino, (i + 1) as u64, kind, &name) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, ino: INodeNo, reply: ReplyStatfs) {
        let path = match self.path(ino).and_then(|p| cstring(&p)) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        // SAFETY: `libc::statvfs` is plain old data; all zeros is a valid
        // value for it.
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `path` is a NUL-terminated string that lives across the
        // call, and `s` is a valid, writable `statvfs`.
        match check(unsafe { libc::statvfs(path.as_ptr(), &mut s) }.into()) {
            Ok(_) => reply.statfs(
                s.f_blocks,
                s.f_bfree,
                s.f_bavail,
                s.f_files,
                s.f_ffree,
                s.f_bsize as u32,
                s.f_namemax as u32,
                s.f_frsize as u32,
            ),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let (Ok(off), Ok(len)) = (i64::try_from(offset), i64::try_from(length)) else {
            return reply.error(Errno::EFBIG);
        };
        let r = self.file(fh).and_then(|f| {
            // The mode goes through as it came (punch, zero, collapse,
            // insert): the backing file system answers EOPNOTSUPP itself.
            // SAFETY: `f` is an open file that outlives the call;
            // fallocate(2) takes no pointers.
            check(unsafe { libc::fallocate(f.as_raw_fd(), mode, off, len) }.into())
                .map_err(|e| errno(&e))
        });
        match r {
            Ok(_) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn lseek(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: i64,
        whence: i32,
        reply: ReplyLseek,
    ) {
        // SEEK_DATA and SEEK_HOLE, which the kernel forwards: answered by
        // the backing file's own holes.
        let r = self.file(fh).and_then(|f| {
            // SAFETY: `f` is an open file that outlives the call; lseek(2)
            // takes no pointers.  Its file position is not used by the
            // positioned reads and writes of this daemon.
            check(unsafe { libc::lseek(f.as_raw_fd(), offset, whence) }).map_err(|e| errno(&e))
        });
        match r {
            Ok(off) => reply.offset(off),
            Err(e) => reply.error(e),
        }
    }

    fn copy_file_range(
        &self,
        _req: &Request,
        _ino_in: INodeNo,
        fh_in: FileHandle,
        offset_in: u64,
        _ino_out: INodeNo,
        fh_out: FileHandle,
        offset_out: u64,
        len: u64,
        _flags: CopyFileRangeFlags,
        reply: ReplyWrite,
    ) {
        let r = (|| {
            let fin = self.file(fh_in)?;
            let fout = self.file(fh_out)?;
            let mut off_in = i64::try_from(offset_in).map_err(|_| Errno::EFBIG)?;
            let mut off_out = i64::try_from(offset_out).map_err(|_| Errno::EFBIG)?;
            // One reply carries a u32 count.
            let len = len.min(u32::MAX as u64 & !4095) as usize;
            // SAFETY: both files are open and outlive the call; the offset
            // pointers point at live, writable i64s.
            let n = unsafe {
                libc::copy_file_range(
                    fin.as_raw_fd(),
                    &mut off_in,
                    fout.as_raw_fd(),
                    &mut off_out,
                    len,
                    0,
                )
            };
            check(n as i64).map_err(|e| errno(&e))
        })();
        match r {
            Ok(n) => reply.written(n as u32),
            Err(e) => reply.error(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_keep_only_what_the_backing_file_needs() {
        let f = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_DIRECT | libc::O_APPEND;
        assert_eq!(backing_open_flags(f), libc::O_APPEND);
        assert_eq!(
            backing_open_flags(libc::O_WRONLY | libc::O_TRUNC),
            libc::O_TRUNC
        );
    }

    #[test]
    fn the_backing_directory_is_the_root() {
        assert_eq!(fuse_ino(77, 77), INodeNo::ROOT);
        assert_eq!(fuse_ino(78, 77), INodeNo(78));
    }

    #[test]
    fn a_backing_file_is_not_a_directory() {
        let dir = std::env::temp_dir().join(format!("holefs-fuse-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        fs::write(&file, b"x").unwrap();
        assert_eq!(
            Passthrough::new(&file).err().and_then(|e| e.raw_os_error()),
            Some(libc::ENOTDIR)
        );
        let p = Passthrough::new(&dir).unwrap();
        let attr = p.remember(file.clone()).unwrap();
        assert_eq!(attr.size, 1);
        assert_eq!(p.path(attr.ino).unwrap(), file);
        assert_eq!(p.path(INodeNo(1 << 60)).err(), Some(Errno::ESTALE));
        fs::remove_dir_all(&dir).unwrap();
    }
}
