// SPDX-License-Identifier: GPL-2.0
//! Memory the audit reads files through: shared file mappings whose SIGBUS
//! past EOF is survived, and page-aligned buffers for O_DIRECT.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

pub fn page_size() -> usize {
    // SAFETY: sysconf() only reads its integer argument.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A MAP_SHARED mapping of the first `len` bytes of a file, read and
/// written only through 64-bit atomics (relaxed), so the kernel or another
/// thread changing the memory is not a data race.  Every mapping is
/// registered with the SIGBUS handler: an access past EOF (a truncate, a
/// collapse) maps an anonymous zero page over the faulting page and is
/// retried, so it reads zero, which the postconditions expect past EOF.
pub struct Mapping {
    // INVARIANT: `ptr` is a live mapping of `len` bytes (a multiple of the
    // page size), registered in guard slot `slot`, until drop.
    ptr: NonNull<AtomicU64>,
    len: usize,
    slot: usize,
}

// SAFETY: a Mapping hands out only `&[AtomicU64]` and system calls on its
// own range; the memory stays mapped until it is dropped.
unsafe impl Send for Mapping {}
// SAFETY: as for Send: shared use is atomic accesses and madvise only.
unsafe impl Sync for Mapping {}

impl Mapping {
    pub fn new(f: &File, len: usize, writable: bool) -> io::Result<Mapping> {
        let prot = libc::PROT_READ | if writable { libc::PROT_WRITE } else { 0 };
        // SAFETY: a new mapping at an address the kernel picks affects no
        // existing memory; the mapping holds its own reference to the file.
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
        let Some(slot) = guard_add(p as usize, len) else {
            // SAFETY: `p` is the mapping just created, not yet shared.
            unsafe { libc::munmap(p, len) };
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "too many mappings",
            ));
        };
        let ptr = NonNull::new(p.cast::<AtomicU64>()).expect("mmap returned NULL");
        Ok(Mapping { ptr, len, slot })
    }

    pub fn words(&self) -> &[AtomicU64] {
        // SAFETY: by the type invariant `ptr` is a live, page-aligned (so
        // AtomicU64-aligned) mapping of `len` bytes for the lifetime of
        // `self`, accessed only through atomics.  An access past EOF raises
        // SIGBUS, which `on_sigbus` turns into a zero page for this range.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len / 8) }
    }

    fn advise(&self, off: usize, len: usize, advice: libc::c_int) -> io::Result<()> {
        if off.checked_add(len).is_none_or(|e| e > self.len) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: the range lies inside our own live mapping (checked
        // above).  The advice values used (DONTNEED, WILLNEED, REMOVE) do
        // not invalidate Rust references: a shared file mapping stays
        // mapped and reads the file's (possibly zeroed) contents.
        check(unsafe { libc::madvise(self.ptr.as_ptr().cast::<u8>().add(off).cast(), len, advice) })
    }

    /// MADV_DONTNEED over the whole mapping: drop the page table entries so
    /// the next access faults again.
    pub fn dontneed(&self) -> io::Result<()> {
        self.advise(0, self.len, libc::MADV_DONTNEED)
    }

    /// MADV_WILLNEED over `off..off + len` (page-aligned).
    pub fn willneed(&self, off: usize, len: usize) -> io::Result<()> {
        self.advise(off, len, libc::MADV_WILLNEED)
    }

    /// MADV_REMOVE over `off..off + len` (`off` page-aligned): frees the
    /// backing store of the range, like a hole punch.
    pub fn remove(&self, off: usize, len: usize) -> io::Result<()> {
        self.advise(off, len, libc::MADV_REMOVE)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        guard_remove(self.slot);
        // SAFETY: we own the mapping and no reference into it outlives
        // `self` (`words()` borrows `self`).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

// Mapped address ranges the SIGBUS handler may patch; plain atomics because
// the handler reads them.
const GUARD_SLOTS: usize = 256;
static GUARD_START: [AtomicUsize; GUARD_SLOTS] = [const { AtomicUsize::new(0) }; GUARD_SLOTS];
static GUARD_END: [AtomicUsize; GUARD_SLOTS] = [const { AtomicUsize::new(0) }; GUARD_SLOTS];
static PAGE: AtomicUsize = AtomicUsize::new(4096);
static SIGBUS_SURVIVED: AtomicU64 = AtomicU64::new(0);

fn guard_add(start: usize, len: usize) -> Option<usize> {
    (0..GUARD_SLOTS).find(|&s| {
        let won = GUARD_END[s]
            .compare_exchange(0, start + len, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        if won {
            GUARD_START[s].store(start, Ordering::Release);
        }
        won
    })
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

/// SIGBUS faults survived so far (accesses past EOF).
pub fn sigbus_count() -> u64 {
    SIGBUS_SURVIVED.load(Ordering::Relaxed)
}

extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler;
    // for SIGBUS si_addr is the faulting address.
    let addr = unsafe { (*info).si_addr() } as usize;
    if guarded(addr) {
        let page = PAGE.load(Ordering::Relaxed);
        // SAFETY: the page lies in a registered, live mapping (Drop
        // unregisters before munmap; mappings are dropped only when no
        // thread accesses them).  An anonymous zero page in its place only
        // changes what our own atomic accesses see; mmap is async-signal-safe.
        let p = unsafe {
            libc::mmap(
                (addr & !(page - 1)) as *mut libc::c_void,
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            SIGBUS_SURVIVED.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    // Not ours: back to the default action; the access repeats and kills us.
    // SAFETY: signal() is async-signal-safe and SIG_DFL takes no pointers.
    unsafe { libc::signal(libc::SIGBUS, libc::SIG_DFL) };
}

/// Install the SIGBUS handler that makes mappings survive accesses past EOF.
pub fn install_sigbus_handler() -> io::Result<()> {
    PAGE.store(page_size(), Ordering::Relaxed);
    let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = on_sigbus;
    // SAFETY: all-zero is a valid sigaction (empty mask, no flags).
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = handler as libc::sighandler_t;
    sa.sa_flags = libc::SA_SIGINFO;
    // SAFETY: `sa` is a valid sigaction; the handler uses only
    // async-signal-safe operations (atomics, mmap, signal).
    check(unsafe { libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut()) })
}

/// A zeroed, page-aligned heap buffer (O_DIRECT needs aligned memory).
pub struct AlignedBuf {
    // INVARIANT: `ptr` was allocated with `layout` (non-zero size) and is
    // owned by this buffer until drop.
    ptr: NonNull<u8>,
    layout: std::alloc::Layout,
}

impl AlignedBuf {
    pub fn new(len: usize) -> AlignedBuf {
        let layout = std::alloc::Layout::from_size_align(len.max(1), page_size())
            .expect("buffer size overflows");
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        AlignedBuf { ptr, layout }
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: by the type invariant, `layout.size()` initialised (zeroed)
        // bytes owned by `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for Deref, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated with this layout by `new` (type invariant).
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) };
    }
}
