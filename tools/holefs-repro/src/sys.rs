// SPDX-License-Identifier: GPL-2.0
//! The system calls std does not wrap: mmap, madvise, fallocate, fadvise and
//! the SIGBUS handler.  All of the crate's `unsafe` is in this file.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

fn check(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub fn page_size() -> usize {
    // SAFETY: sysconf() only reads its integer argument.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

fn off(v: u64) -> io::Result<libc::off_t> {
    libc::off_t::try_from(v).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) over `off..off+len`.
pub fn punch_hole(f: &File, start: u64, len: u64) -> io::Result<()> {
    let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
    let (start, len) = (off(start)?, off(len)?);
    // SAFETY: fallocate() takes no pointers; the fd stays open while `f` is
    // borrowed.
    check(unsafe { libc::fallocate(f.as_raw_fd(), mode, start, len) })
}

/// posix_fadvise(POSIX_FADV_DONTNEED) over the first `len` bytes.
pub fn fadvise_dontneed(f: &File, len: u64) -> io::Result<()> {
    let len = off(len)?;
    // SAFETY: posix_fadvise() takes no pointers; the fd stays open while `f`
    // is borrowed.
    let r = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, len, libc::POSIX_FADV_DONTNEED) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(r))
    }
}

/// A MAP_SHARED mapping of the first `len` bytes of a file, seen as 64-bit
/// words.  All accesses are atomic (relaxed), so other threads and the kernel
/// changing the memory underneath is not a data race.
pub struct Mapping {
    ptr: NonNull<AtomicU64>,
    len: usize,
    guard: Option<usize>,
}

// SAFETY: a Mapping hands out only `&[AtomicU64]`, which may be shared between
// threads, and the memory stays mapped until the Mapping is dropped.
unsafe impl Send for Mapping {}
// SAFETY: see Send; `&Mapping` allows nothing but atomic accesses and madvise.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Map `len` bytes (a multiple of the page size) of `f`.  With `guarded`,
    /// a SIGBUS on the mapping (an access past EOF, truncate scenario) turns
    /// the faulting page into an anonymous zero page instead of killing the
    /// process: the access then reads 0, which is never taken for stale data.
    pub fn new(f: &File, len: usize, writable: bool, guarded: bool) -> io::Result<Mapping> {
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: a fresh mapping at an address the kernel picks: no existing
        // memory is affected.  The fd is open while `f` is borrowed; the
        // mapping holds its own reference to the file.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(p.cast::<AtomicU64>()).expect("mmap returned NULL");
        let mut m = Mapping {
            ptr,
            len,
            guard: None,
        };
        if guarded {
            m.guard = Some(guard_add(p as usize, len).ok_or_else(|| {
                io::Error::new(io::ErrorKind::OutOfMemory, "too many guarded mappings")
            })?);
        }
        Ok(m)
    }

    pub fn words(&self) -> &[AtomicU64] {
        // SAFETY: `ptr` is a live, page-aligned (so AtomicU64-aligned) mapping
        // of `len` bytes that stays mapped until `self` is dropped.  It is
        // only accessed through atomics.  Past EOF an access raises SIGBUS:
        // guarded mappings handle it (see `on_sigbus`), others are never
        // accessed past EOF.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len / 8) }
    }

    /// madvise(MADV_DONTNEED): drop the page table entries so that the next
    /// access faults again.
    pub fn dontneed(&self) -> io::Result<()> {
        // SAFETY: the range is our own live mapping; for a shared file
        // mapping MADV_DONTNEED only drops PTEs, the contents stay readable.
        check(unsafe { libc::madvise(self.ptr.as_ptr().cast(), self.len, libc::MADV_DONTNEED) })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Some(slot) = self.guard {
            guard_remove(slot);
        }
        // SAFETY: we own the mapping and no reference into it outlives
        // `self` (`words()` borrows `self`).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

// Guarded address ranges, read by the signal handler (hence plain atomics).
const GUARD_SLOTS: usize = 512;
static GUARD_START: [AtomicUsize; GUARD_SLOTS] = [const { AtomicUsize::new(0) }; GUARD_SLOTS];
static GUARD_END: [AtomicUsize; GUARD_SLOTS] = [const { AtomicUsize::new(0) }; GUARD_SLOTS];
static PAGE: AtomicUsize = AtomicUsize::new(4096);
static SIGBUS_PATCHED: AtomicU64 = AtomicU64::new(0);

fn guard_add(start: usize, len: usize) -> Option<usize> {
    for slot in 0..GUARD_SLOTS {
        if GUARD_END[slot]
            .compare_exchange(0, start + len, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            GUARD_START[slot].store(start, Ordering::Release);
            return Some(slot);
        }
    }
    None
}

fn guard_remove(slot: usize) {
    GUARD_START[slot].store(0, Ordering::Release);
    GUARD_END[slot].store(0, Ordering::Release);
}

fn guarded(addr: usize) -> bool {
    (0..GUARD_SLOTS).any(|s| {
        let start = GUARD_START[s].load(Ordering::Acquire);
        start != 0 && addr >= start && addr < GUARD_END[s].load(Ordering::Acquire)
    })
}

/// How many SIGBUS faults were turned into zero pages.
pub fn sigbus_count() -> u64 {
    SIGBUS_PATCHED.load(Ordering::Relaxed)
}

extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler;
    // for SIGBUS si_addr is the faulting address.
    let addr = unsafe { (*info).si_addr() } as usize;
    let page = PAGE.load(Ordering::Relaxed);
    if guarded(addr) {
        let base = addr & !(page - 1);
        // SAFETY: the page lies in a guarded mapping that is live (its Drop
        // unregisters it before munmap, and mappings are only dropped while
        // no thread accesses them).  Replacing the page with an anonymous
        // read-only zero page only changes what our own atomic loads return;
        // mmap is a plain system call and safe in a signal handler.
        let p = unsafe {
            libc::mmap(
                base as *mut libc::c_void,
                page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            SIGBUS_PATCHED.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    // Not ours: restore the default action; the access repeats and kills us.
    // SAFETY: signal() is async-signal-safe and SIG_DFL takes no pointers.
    unsafe { libc::signal(libc::SIGBUS, libc::SIG_DFL) };
}

/// Install the SIGBUS handler used by guarded mappings.
pub fn install_sigbus_handler() -> io::Result<()> {
    PAGE.store(page_size(), Ordering::Relaxed);
    let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = on_sigbus;
    // SAFETY: an all-zero sigaction is a valid value (empty mask, no flags).
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = handler as libc::sighandler_t;
    sa.sa_flags = libc::SA_SIGINFO;
    // SAFETY: `sa` is a valid sigaction and the handler only uses
    // async-signal-safe operations (atomics, mmap, signal).
    check(unsafe { libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut()) })
}
