// SPDX-License-Identifier: GPL-2.0
//! `fault_around_bytes` set to one page for the length of a cell, so that
//! a read fault maps only the page it faulted on (no `->map_pages` over
//! its neighbours), and put back afterwards: when the guard drops, and on
//! SIGTERM, SIGINT or SIGHUP (a runner's `timeout` killing the cell), so
//! that a killed cell does not turn every later fault-around cell into a
//! one-page one.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

const KNOB: &str = "/sys/kernel/debug/fault_around_bytes";
const KNOB_C: &std::ffi::CStr = c"/sys/kernel/debug/fault_around_bytes";

/// The value to restore from a signal handler; 0: nothing to restore.
static RESTORE: AtomicU64 = AtomicU64::new(0);

/// Write `RESTORE` back to the knob, then die of `sig` as we would have.
extern "C" fn on_fatal(sig: libc::c_int) {
    let v = RESTORE.swap(0, Ordering::SeqCst);
    if v != 0 {
        // Decimal digits by hand: formatting may allocate, which a signal
        // handler must not.
        let mut buf = [b'\n'; 21];
        let mut i = 20;
        let mut x = v;
        loop {
            i -= 1;
            buf[i] = b'0' + (x % 10) as u8;
            x /= 10;
            if x == 0 {
                break;
            }
        }
        // SAFETY: open, write and close are async-signal-safe; the path is
        // a NUL-terminated constant and `buf[i..]` a live local buffer.
        unsafe {
            let fd = libc::open(KNOB_C.as_ptr(), libc::O_WRONLY);
            if fd >= 0 {
                libc::write(fd, buf[i..].as_ptr().cast(), 21 - i);
                libc::close(fd);
            }
        }
    }
    // SAFETY: signal() and raise() are async-signal-safe; with the default
    // action back, raise() ends the process with `sig`.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

fn arm(old: u64) {
    RESTORE.store(old, Ordering::SeqCst);
    let handler: extern "C" fn(libc::c_int) = on_fatal;
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: installing a handler that only uses async-signal-safe
        // calls (see `on_fatal`).
        unsafe { libc::signal(sig, handler as libc::sighandler_t) };
    }
}

/// The setting in force; the old value is written back on drop.
pub struct OnePage {
    old: String,
}

impl OnePage {
    /// Set the knob to `page`; Err(reason) when it is not there or not
    /// writable (no debugfs, no CONFIG_DEBUG_FS, not root).
    pub fn set(page: u64) -> Result<OnePage, String> {
        let why = |e: std::io::Error| {
            format!("{KNOB}: {e} (needs debugfs mounted at /sys/kernel/debug and root)")
        };
        if !Path::new(KNOB).exists() {
            return Err(format!(
                "{KNOB} does not exist (debugfs not mounted, or a kernel without CONFIG_DEBUG_FS)"
            ));
        }
        let old = std::fs::read_to_string(KNOB).map_err(why)?;
        let old_n: u64 = old
            .trim()
            .parse()
            .map_err(|_| format!("{KNOB} reads {:?}", old.trim()))?;
        arm(old_n);
        if let Err(e) = std::fs::write(KNOB, format!("{page}\n")) {
            RESTORE.store(0, Ordering::SeqCst);
            return Err(why(e));
        }
        let now = std::fs::read_to_string(KNOB).map_err(why)?;
        let guard = OnePage {
            old: old.trim().to_owned(),
        };
        if now.trim() != page.to_string() {
            return Err(format!("{KNOB} reads {} after writing {page}", now.trim()));
        }
        Ok(guard)
    }
}

impl Drop for OnePage {
    fn drop(&mut self) {
        // Restore first, then disarm: a signal in between restores again.
        if let Err(e) = std::fs::write(KNOB, format!("{}\n", self.old)) {
            eprintln!(
                "holefs-audit: could not restore {KNOB} to {}: {e}",
                self.old
            );
        }
        RESTORE.store(0, Ordering::SeqCst);
    }
}

/// Restore `fault_around_bytes` now if a cell changed it, for a process
/// about to exit without unwinding (the batch watchdog).
pub fn restore_now() {
    let v = RESTORE.swap(0, Ordering::SeqCst);
    if v != 0 {
        if let Err(e) = std::fs::write(KNOB, format!("{v}\n")) {
            eprintln!("holefs-audit: could not restore {KNOB} to {v}: {e}");
        }
    }
}
