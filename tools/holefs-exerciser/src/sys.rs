// SPDX-License-Identifier: GPL-2.0
//! System calls std does not wrap (pread/pwrite loops, fallocate, lseek
//! SEEK_DATA/SEEK_HOLE, fadvise, mmap, remount, drop_caches) and the SIGBUS
//! handler that turns a failed store through a mapping into a per-page
//! result.  All of the crate's `unsafe` is in this file.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;
use std::sync::atomic::{compiler_fence, AtomicUsize, Ordering};

fn cvt(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn off_t(v: u64) -> io::Result<libc::off_t> {
    libc::off_t::try_from(v).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

pub fn page_size() -> u64 {
    // SAFETY: sysconf() only reads its integer argument.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

/// pread(2) until `buf` is full or EOF; returns the bytes read.
pub fn pread_full(f: &File, buf: &mut [u8], off: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is valid for writes of `rest.len()` bytes; the fd
        // stays open while `f` is borrowed.
        let n = unsafe {
            libc::pread(
                f.as_raw_fd(),
                rest.as_mut_ptr().cast(),
                rest.len(),
                off_t(off + done as u64)?,
            )
        };
        match n {
            0 => break,
            n if n > 0 => done += n as usize,
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(done)
}

/// pwrite(2) until all of `buf` is written; returns the bytes written and
/// the error that stopped it early, if one did.
pub fn pwrite_all(f: &File, buf: &[u8], off: u64) -> (usize, Option<io::Error>) {
    let mut done = 0;
    while done < buf.len() {
        let rest = &buf[done..];
        let pos = match off_t(off + done as u64) {
            Ok(p) => p,
            Err(e) => return (done, Some(e)),
        };
        // SAFETY: `rest` is valid for reads of `rest.len()` bytes; the fd
        // stays open while `f` is borrowed.
        let n = unsafe { libc::pwrite(f.as_raw_fd(), rest.as_ptr().cast(), rest.len(), pos) };
        if n > 0 {
            done += n as usize;
        } else if n == 0 {
            return (done, Some(io::Error::from_raw_os_error(libc::EIO)));
        } else {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return (done, Some(e));
            }
        }
    }
    (done, None)
}

pub fn fallocate(f: &File, mode: libc::c_int, off: u64, len: u64) -> io::Result<()> {
    let (off, len) = (off_t(off)?, off_t(len)?);
    // SAFETY: fallocate() takes no pointers; the fd stays open.
    cvt(unsafe { libc::fallocate(f.as_raw_fd(), mode, off, len) })
}

pub fn ftruncate(f: &File, size: u64) -> io::Result<()> {
    let size = off_t(size)?;
    // SAFETY: no pointers; the fd stays open.
    cvt(unsafe { libc::ftruncate(f.as_raw_fd(), size) })
}

pub fn fsync(f: &File) -> io::Result<()> {
    // SAFETY: no pointers; the fd stays open.
    cvt(unsafe { libc::fsync(f.as_raw_fd()) })
}

pub fn fdatasync(f: &File) -> io::Result<()> {
    // SAFETY: no pointers; the fd stays open.
    cvt(unsafe { libc::fdatasync(f.as_raw_fd()) })
}

/// posix_fadvise(POSIX_FADV_DONTNEED) over the whole file.
pub fn fadvise_dontneed(f: &File) -> io::Result<()> {
    // SAFETY: no pointers; the fd stays open.
    let r = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(r))
    }
}

/// lseek(2); `Ok(None)` for ENXIO (no data / no hole at or after `off`).
pub fn lseek(f: &File, off: u64, whence: libc::c_int) -> io::Result<Option<u64>> {
    let off = off_t(off)?;
    // SAFETY: no pointers; the fd stays open.
    let r = unsafe { libc::lseek(f.as_raw_fd(), off, whence) };
    if r >= 0 {
        return Ok(Some(r as u64));
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ENXIO) {
        Ok(None)
    } else {
        Err(e)
    }
}

/// (st_size, st_blocks) of an open file.
pub fn fstat(f: &File) -> io::Result<(u64, u64)> {
    // SAFETY: an all-zero `stat` is a valid value of the plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writes; the fd stays open.
    cvt(unsafe { libc::fstat(f.as_raw_fd(), &mut st) })?;
    Ok((st.st_size as u64, st.st_blocks as u64))
}

/// sync(2), then drop clean caches, dentries and inodes (needs root).
pub fn drop_caches() -> io::Result<()> {
    // SAFETY: sync() takes no arguments.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", "3\n")
}

/// `mount -o remount` of the file system mounted at `point`, keeping the
/// per-mount flags (MS_REMOUNT without them would clear nosuid etc.).
pub fn remount(point: &CStr) -> io::Result<()> {
    // SAFETY: an all-zero `statvfs` is a valid value of the plain C struct.
    let mut sv: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `point` is NUL-terminated, `sv` valid for writes.
    cvt(unsafe { libc::statvfs(point.as_ptr(), &mut sv) })?;
    let keep = [
        (libc::ST_RDONLY, libc::MS_RDONLY),
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ];
    let mut flags = libc::MS_REMOUNT;
    for (st, ms) in keep {
        if sv.f_flag & st != 0 {
            flags |= ms;
        }
    }
    let none = CString::new("none").unwrap();
    // SAFETY: all strings are NUL-terminated; a NULL type and data are
    // allowed for MS_REMOUNT.
    cvt(unsafe {
        libc::mount(
            none.as_ptr(),
            point.as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        )
    })
}

// --- mappings and SIGBUS ------------------------------------------------------

const MAX_FAULTS: usize = 4096;
/// The address range whose SIGBUS the handler absorbs: `[GUARD_START,
/// GUARD_END)`, the mapping in use; 0..0 outside an access.
static GUARD_START: AtomicUsize = AtomicUsize::new(0);
static GUARD_END: AtomicUsize = AtomicUsize::new(0);
static GUARD_PAGE: AtomicUsize = AtomicUsize::new(4096);
static NFAULTS: AtomicUsize = AtomicUsize::new(0);
static FAULTS: [AtomicUsize; MAX_FAULTS] = [const { AtomicUsize::new(0) }; MAX_FAULTS];

/// SIGBUS in the guarded mapping (a store the file system refused, e.g.
/// ENOSPC from `->page_mkwrite`, or a load it could not serve): put an
/// anonymous page over the faulting page so that the access completes
/// there, and record the page.  Anywhere else: the default action.
extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    let (start, end) = (
        GUARD_START.load(Ordering::SeqCst),
        GUARD_END.load(Ordering::SeqCst),
    );
    let ps = GUARD_PAGE.load(Ordering::SeqCst);
    if addr >= start && addr < end {
        let page = addr & !(ps - 1);
        // SAFETY: `page` lies in the mapping the guarded access uses, which
        // is ours to replace; mmap is a plain system call.
        let p = unsafe {
            libc::mmap(
                page as *mut libc::c_void,
                ps,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            // Past MAX_FAULTS the count still grows: `guarded` reports it.
            let n = NFAULTS.fetch_add(1, Ordering::SeqCst);
            if n < MAX_FAULTS {
                FAULTS[n].store(page, Ordering::SeqCst);
            }
            return;
        }
    }
    // SAFETY: restoring the default action; returning re-raises the fault.
    unsafe { libc::signal(libc::SIGBUS, libc::SIG_DFL) };
}

/// Installs the SIGBUS handler (once, at startup).
pub fn install_sigbus_handler() -> io::Result<()> {
    GUARD_PAGE.store(page_size() as usize, Ordering::SeqCst);
    // SAFETY: an all-zero sigaction is valid; we fill the handler and flags.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = on_sigbus as *const () as usize;
    sa.sa_flags = libc::SA_SIGINFO;
    // SAFETY: `sa` is initialised; the old action is not wanted.
    cvt(unsafe { libc::sigemptyset(&mut sa.sa_mask) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut()) })
}

/// A MAP_SHARED read-write mapping of the first `len` bytes of a file,
/// unmapped on drop.
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    pub fn new(f: &File, len: u64) -> io::Result<Mapping> {
        let len = usize::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: a fresh shared mapping of an open fd; the kernel picks the
        // address.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping {
            ptr: NonNull::new(p.cast()).unwrap(),
            len,
        })
    }

    /// Runs `access` with SIGBUS in this mapping absorbed; returns the
    /// offsets (in the mapping, page-aligned, sorted) of the pages that
    /// faulted (EOVERFLOW: too many to record).
    fn guarded(&self, access: impl FnOnce()) -> io::Result<Vec<u64>> {
        let base = self.ptr.as_ptr() as usize;
        NFAULTS.store(0, Ordering::SeqCst);
        GUARD_START.store(base, Ordering::SeqCst);
        GUARD_END.store(base + self.len, Ordering::SeqCst);
        compiler_fence(Ordering::SeqCst);
        access();
        compiler_fence(Ordering::SeqCst);
        GUARD_START.store(0, Ordering::SeqCst);
        GUARD_END.store(0, Ordering::SeqCst);
        let n = NFAULTS.load(Ordering::SeqCst);
        if n > MAX_FAULTS {
            return Err(io::Error::from_raw_os_error(libc::EOVERFLOW));
        }
        let mut pages: Vec<u64> = FAULTS[..n]
            .iter()
            .map(|a| (a.load(Ordering::SeqCst) - base) as u64)
            .collect();
        pages.sort_unstable();
        pages.dedup();
        Ok(pages)
    }

    /// Copies `src` to offset `off` of the mapping; returns the faulted pages.
    pub fn store(&mut self, off: u64, src: &[u8]) -> io::Result<Vec<u64>> {
        assert!(off as usize + src.len() <= self.len);
        // SAFETY: the destination lies inside the mapping (asserted), which
        // is readable and writable and does not overlap `src`.  Faulting
        // pages are replaced by anonymous memory before the store retries.
        self.guarded(|| unsafe {
            std::ptr::copy_nonoverlapping(
                src.as_ptr(),
                self.ptr.as_ptr().add(off as usize),
                src.len(),
            )
        })
    }

    /// Copies from offset `off` of the mapping to `dst`; returns the
    /// faulted pages.
    pub fn load(&self, off: u64, dst: &mut [u8]) -> io::Result<Vec<u64>> {
        assert!(off as usize + dst.len() <= self.len);
        // SAFETY: as for `store`, reading.
        self.guarded(|| unsafe {
            std::ptr::copy_nonoverlapping(
                self.ptr.as_ptr().add(off as usize),
                dst.as_mut_ptr(),
                dst.len(),
            )
        })
    }

    /// msync(MS_SYNC) of the pages holding `[off, off + len)`.
    pub fn msync(&self, off: u64, len: u64) -> io::Result<()> {
        let ps = page_size();
        let start = off / ps * ps;
        let end = (off + len).min(self.len as u64);
        // SAFETY: the range lies inside the mapping and starts page-aligned.
        cvt(unsafe {
            libc::msync(
                self.ptr.as_ptr().add(start as usize).cast(),
                (end - start) as usize,
                libc::MS_SYNC,
            )
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped (including anonymous
        // pages the SIGBUS handler put inside it).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}
