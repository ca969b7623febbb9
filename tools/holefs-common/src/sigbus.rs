// SPDX-License-Identifier: GPL-2.0
//! One SIGBUS handler for every guarded mapping of the process.
//!
//! A shared file mapping raises SIGBUS when an access finds no page to map:
//! past EOF (a racing truncate), or when the file system refuses the page
//! (ENOSPC from `->page_mkwrite`, an I/O error).  For a guarded mapping the
//! handler puts an anonymous zero page over the faulting page, with the
//! mapping's protection, so that the access completes there (a load reads
//! 0, which is never taken for file data by the tools; a store lands in
//! memory the file never sees), counts it and logs the page.  A SIGBUS
//! anywhere else restores the default action, so the access repeats and
//! kills the process as it would have without the handler.
//!
//! The guarded ranges live in a fixed table of atomics, the only state an
//! async-signal handler may read; the handler is installed on the first
//! guard, once.

use std::io;
use std::ops::Range;
use std::sync::atomic::{compiler_fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

const SLOTS: usize = 512;
/// Guarded ranges `[START, END)`; a free slot has END 0, a slot being
/// filled or emptied START 0.
static START: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static END: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static WRITABLE: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
/// The size of the pages of each range's mapping, the unit a patch
/// replaces: a hugetlbfs mapping can only be replaced in whole huge pages.
static GRAIN: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(4096) }; SLOTS];
static PATCHED: AtomicU64 = AtomicU64::new(0);

/// The pages patched since [`faults_during`] last cleared the log.
const LOG_LEN: usize = 4096;
static LOG: [AtomicUsize; LOG_LEN] = [const { AtomicUsize::new(0) }; LOG_LEN];
static LOGGED: AtomicUsize = AtomicUsize::new(0);

/// The errno of a failed sigaction, once the handler was set up.
static INSTALLED: OnceLock<Option<i32>> = OnceLock::new();

/// A guarded address range, unguarded on drop.  Drop it before the range
/// is unmapped.
pub(crate) struct Guard {
    slot: usize,
}

impl Drop for Guard {
    fn drop(&mut self) {
        START[self.slot].store(0, Ordering::Release);
        END[self.slot].store(0, Ordering::Release);
    }
}

/// Guard `start..start + len`, a mapping made of pages of `grain` bytes (a
/// power of two; `start` and `len` are multiples of it): SIGBUS in it
/// patches in an anonymous page of `grain` bytes, readable and (with
/// `writable`) writable.
pub(crate) fn guard(start: usize, len: usize, writable: bool, grain: usize) -> io::Result<Guard> {
    if !grain.is_power_of_two() || !start.is_multiple_of(grain) || !len.is_multiple_of(grain) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    install()?;
    for slot in 0..SLOTS {
        if END[slot]
            .compare_exchange(0, start + len, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            WRITABLE[slot].store(writable, Ordering::Release);
            GRAIN[slot].store(grain, Ordering::Release);
            START[slot].store(start, Ordering::Release);
            return Ok(Guard { slot });
        }
    }
    Err(io::Error::new(
        io::ErrorKind::OutOfMemory,
        "too many guarded mappings",
    ))
}

/// How many SIGBUS faults in guarded mappings were turned into anonymous
/// pages since the program started.
pub fn patched() -> u64 {
    PATCHED.load(Ordering::Relaxed)
}

/// Runs `access` and returns the pages (their addresses, sorted) in
/// `range` that it had patched; EOVERFLOW if more pages than the log holds
/// were patched meanwhile.  Callers take turns; guarded accesses of other
/// threads during `access` are logged too and only count towards the
/// log's size.
pub(crate) fn faults_during(range: Range<usize>, access: impl FnOnce()) -> io::Result<Vec<usize>> {
    static TURN: Mutex<()> = Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    LOGGED.store(0, Ordering::SeqCst);
    compiler_fence(Ordering::SeqCst);
    access();
    compiler_fence(Ordering::SeqCst);
    let n = LOGGED.load(Ordering::SeqCst);
    if n > LOG_LEN {
        return Err(io::Error::from_raw_os_error(libc::EOVERFLOW));
    }
    let mut pages: Vec<usize> = LOG[..n]
        .iter()
        .map(|a| a.load(Ordering::SeqCst))
        .filter(|p| range.contains(p))
        .collect();
    pages.sort_unstable();
    pages.dedup();
    Ok(pages)
}

/// The guarded slot holding `addr`, if any.
fn slot_of(addr: usize) -> Option<usize> {
    (0..SLOTS).find(|&s| {
        let start = START[s].load(Ordering::Acquire);
        start != 0 && addr >= start && addr < END[s].load(Ordering::Acquire)
    })
}

extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler;
    // for SIGBUS si_addr is the faulting address.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(slot) = slot_of(addr) {
        let page = GRAIN[slot].load(Ordering::Acquire);
        let base = addr & !(page - 1);
        let prot = if WRITABLE[slot].load(Ordering::Acquire) {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: the page lies in a guarded mapping, which is live (its
        // Guard is dropped before it is unmapped) and owned by a Mapping
        // that only reads and writes it through atomics or guarded copies:
        // replacing the page by an anonymous one changes what those see,
        // never what any other Rust object owns.  mmap is a plain system
        // call, async-signal-safe.
        let p = unsafe {
            libc::mmap(
                base as *mut libc::c_void,
                page,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            PATCHED.fetch_add(1, Ordering::Relaxed);
            // Past LOG_LEN the count still grows: `faults_during` sees it.
            let n = LOGGED.fetch_add(1, Ordering::SeqCst);
            if n < LOG_LEN {
                LOG[n].store(base, Ordering::SeqCst);
            }
            return;
        }
    }
    // Not ours: the default action; returning repeats the access, which
    // then kills the process.
    // SAFETY: signal() is async-signal-safe and SIG_DFL takes no pointers.
    unsafe { libc::signal(libc::SIGBUS, libc::SIG_DFL) };
}

fn install() -> io::Result<()> {
    let errno = INSTALLED.get_or_init(|| {
        let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            on_sigbus;
        // SAFETY: an all-zero sigaction is a valid value (no flags).
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = handler as libc::sighandler_t;
        sa.sa_flags = libc::SA_SIGINFO;
        // SAFETY: `sa.sa_mask` is a valid sigset_t to empty.
        unsafe { libc::sigemptyset(&mut sa.sa_mask) };
        // SAFETY: `sa` is a valid sigaction whose handler uses only
        // async-signal-safe operations (atomics, mmap, signal); the old
        // action is not wanted.
        let r = unsafe { libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut()) };
        (r != 0).then(|| {
            io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL)
        })
    });
    match errno {
        None => Ok(()),
        Some(e) => Err(io::Error::from_raw_os_error(*e)),
    }
}
