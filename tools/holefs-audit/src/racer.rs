// SPDX-License-Identifier: GPL-2.0
//! Racer threads: they re-create page cache over the window while the
//! operation runs, count the accesses that overlapped it (hits) and check
//! what they read once it had returned (live checks).
//!
//! Hits: the controller sets `opseq` to `2k + 1` right before the
//! operation's system call of iteration `k` and to `2k + 2` right after it.
//! A racer samples `opseq` before and after each access; the access
//! overlapped the operation in flight if either sample is odd or they
//! differ.  An access whose first sample is already `2k + 2` began after
//! the operation returned, so what it read must satisfy the postcondition.

use crate::axes::Racer;
use crate::expect::Post;
use crate::geometry::Layout;
use crate::scan::{Finding, Scan};
use crate::stamp::{self, Kind};
use crate::sys;
use holefs_common::map::Access;
use holefs_common::rng::{Draw, SeedableRng, Xoshiro256PlusPlus};
use holefs_common::Mapping;
use rustix::fs::Advice;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

/// Pages per chunk of the chunked accesses (pread, splice, readahead).
const CHUNK_PAGES: u64 = 16;

/// What one iteration publishes to the racers.
pub struct Iter {
    pub k: u64,
    pub post: Post,
    pub lay: Layout,
}

/// State shared by the controller and the racers of one run.
pub struct Shared {
    pub racer: Racer,
    pub page: u64,
    pub file: File,
    pub map_len: usize,
    pub opseq: AtomicU64,
    pub stop: AtomicBool,
    pub quit: AtomicBool,
    /// Racers that started accessing in this iteration.
    pub ready: AtomicUsize,
    /// Controller + racers: start of the race phase, racers halted (they
    /// then keep off the file until the next `go`).
    pub go: Barrier,
    pub halted: Barrier,
    pub iter: Mutex<Option<Arc<Iter>>>,
    /// The racers' mappings of this iteration, checked by the controller.
    pub maps: Mutex<Vec<Arc<Mapping>>>,
    pub hits: AtomicU64,
    pub accesses: AtomicU64,
    /// Bumped by every racer access: the controller watches it to fire
    /// the operation while the racers are running, not preempted.
    pub pulse: AtomicU64,
    /// Racers inside an access right now: the controller fires the
    /// operation while one is.
    pub inside: AtomicUsize,
    pub live: Mutex<Vec<Finding>>,
    pub error: Mutex<Option<String>>,
}

impl Shared {
    pub fn fail(&self, what: String) {
        let mut e = self.error.lock().unwrap_or_else(|e| e.into_inner());
        e.get_or_insert(what);
    }
}

/// Per-iteration racer state.
struct Run<'a> {
    sh: &'a Shared,
    it: Arc<Iter>,
    map: Option<Arc<Mapping>>,
    live: Scan,
    hits: u64,
    accesses: u64,
}

impl Run<'_> {
    /// Run `access` with hit accounting; returns whether it began after
    /// the operation returned (its result must then be checked).
    fn access<T>(&mut self, access: impl FnOnce() -> T) -> (T, bool) {
        let done = 2 * self.it.k + 2;
        self.sh.inside.fetch_add(1, Ordering::SeqCst);
        let s1 = self.sh.opseq.load(Ordering::Acquire);
        let r = access();
        let s2 = self.sh.opseq.load(Ordering::Acquire);
        self.sh.inside.fetch_sub(1, Ordering::SeqCst);
        self.sh.pulse.fetch_add(1, Ordering::Relaxed);
        self.accesses += 1;
        if s1 != s2 || s1 % 2 == 1 {
            self.hits += 1;
        }
        (r, s1 == done)
    }

    fn check_bytes(&mut self, off: u64, bytes: &[u8]) {
        let (post, page) = (self.it.post, self.sh.page);
        let words = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")));
        self.live.merge(Scan::of(&post, page, off / 8, words));
    }

    fn pages(&self) -> (u64, u64) {
        let p = self.sh.page;
        (self.it.lay.win_start / p, self.it.lay.win_end.div_ceil(p))
    }
}

/// The body of a racer thread: one loop per iteration until `quit`.
pub fn racer_main(sh: &Shared, id: usize, seed: u64) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ (id as u64 + 1) << 32);
    let pipe = match sh.racer {
        Racer::Splice => match sys::pipe() {
            Ok(p) => Some(p),
            Err(e) => {
                sh.fail(format!("pipe: {e}"));
                None
            }
        },
        _ => None,
    };
    let mut buf = vec![0u8; (CHUNK_PAGES * sh.page) as usize];
    loop {
        sh.go.wait();
        if sh.quit.load(Ordering::Acquire) {
            return;
        }
        let it = sh.iter.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(it) = it else {
            sh.fail("racer: no iteration published".into());
            sh.ready.fetch_add(1, Ordering::AcqRel);
            sh.halted.wait();
            continue;
        };
        let mut run = Run {
            sh,
            it,
            map: None,
            live: Scan::default(),
            hits: 0,
            accesses: 0,
        };
        let access = match sh.racer {
            Racer::WriteFault => Some(Access::ReadWrite),
            Racer::FaultAround | Racer::Fault1Page | Racer::Readahead => Some(Access::Read),
            Racer::Read | Racer::Splice => None,
        };
        if let Some(access) = access {
            match Mapping::guarded(&sh.file, sh.map_len, access) {
                Ok(m) => {
                    let m = Arc::new(m);
                    sh.maps
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(m.clone());
                    run.map = Some(m);
                }
                Err(e) => sh.fail(format!("racer mmap: {e}")),
            }
        }
        sh.ready.fetch_add(1, Ordering::AcqRel);
        let mut sweep = 0usize;
        while !sh.stop.load(Ordering::Acquire) && (access.is_none() || run.map.is_some()) {
            let backward = (sweep + id) % 2 == 1;
            if let Err(e) = sweep_once(&mut run, backward, &mut buf, pipe.as_ref(), &mut rng) {
                sh.fail(format!("racer {}: {e}", sh.racer));
                break;
            }
            sweep += 1;
        }
        sh.hits.fetch_add(run.hits, Ordering::Relaxed);
        sh.accesses.fetch_add(run.accesses, Ordering::Relaxed);
        if run.live.bad_words > 0 {
            let view = format!("live-{}", sh.racer);
            sh.live
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Finding {
                    view,
                    scan: std::mem::take(&mut run.live),
                });
        }
        // The controller checks the mapping through its own reference in
        // `maps` and unmaps it by dropping that.
        drop(run);
        sh.halted.wait();
    }
}

/// Try each system call `racer` makes once, on the first page of `file`,
/// before a run: an access the filesystem does not offer (hugetlbfs has no
/// `->splice_read`) makes the cell SKIP instead of failing mid-run.
/// Returns the call that failed and its error.
pub fn probe(racer: Racer, file: &File, page: u64) -> Result<(), (&'static str, std::io::Error)> {
    let len = page as usize;
    match racer {
        Racer::Read => {
            let mut buf = vec![0u8; len];
            file.read_at(&mut buf, 0).map_err(|e| ("pread", e))?;
        }
        Racer::Readahead => {
            sys::readahead(file, 0, len).map_err(|e| ("readahead", e))?;
            sys::fadvise(file, 0, page, Advice::WillNeed)
                .map_err(|e| ("posix_fadvise(WILLNEED)", e))?;
        }
        Racer::Splice => {
            let (r, w) = sys::pipe().map_err(|e| ("pipe", e))?;
            let mut buf = vec![0u8; len];
            let n = sys::splice_to_pipe(file, 0, &w, len).map_err(|e| ("splice", e))?;
            (&r).read_exact(&mut buf[..n])
                .map_err(|e| ("read from the pipe", e))?;
            let n = sys::sendfile_to_pipe(file, 0, &w, len).map_err(|e| ("sendfile", e))?;
            (&r).read_exact(&mut buf[..n])
                .map_err(|e| ("read from the pipe", e))?;
        }
        // Their mappings are made (and fail) per iteration.
        Racer::FaultAround | Racer::Fault1Page | Racer::WriteFault => {}
    }
    Ok(())
}

/// One sweep over the window's pages (or chunks), in either direction.
fn sweep_once(
    run: &mut Run<'_>,
    backward: bool,
    buf: &mut [u8],
    pipe: Option<&(File, File)>,
    rng: &mut Xoshiro256PlusPlus,
) -> std::io::Result<()> {
    let (first, end) = run.pages();
    let racer = run.sh.racer;
    let chunked = matches!(racer, Racer::Read | Racer::Splice | Racer::Readahead);
    // pread alternates single pages and chunks; the others as they are.
    let step = if chunked && !(racer == Racer::Read && rng.chance(1, 2)) {
        CHUNK_PAGES
    } else {
        1
    };
    let n = (end - first).div_ceil(step);
    for i in 0..n {
        if run.sh.stop.load(Ordering::Relaxed) {
            break;
        }
        let j = if backward { n - 1 - i } else { i };
        let p = first + j * step;
        let pages = step.min(end - p);
        match racer {
            Racer::FaultAround | Racer::Fault1Page => fault_read(run, p),
            Racer::WriteFault => fault_write(run, p),
            Racer::Read => read(run, p, pages, buf)?,
            Racer::Readahead => readahead(run, p, pages, j)?,
            Racer::Splice => {
                let pipe = pipe.ok_or_else(|| std::io::Error::other("no pipe"))?;
                splice(run, p, pages, buf, pipe, j)?
            }
        }
    }
    if let Some(m) = &run.map {
        // Drop the PTEs so that the next sweep faults again.
        m.dontneed()?;
    }
    Ok(())
}

/// Read faults: the first and the last word of page `p`.
fn fault_read(run: &mut Run<'_>, p: u64) {
    let Some(m) = run.map.clone() else { return };
    let wpp = run.sh.page / 8;
    let (a, b) = (p * wpp, p * wpp + wpp - 1);
    let w = m.words();
    if b as usize >= w.len() {
        return;
    }
    let ((va, vb), check) = run.access(|| {
        (
            w[a as usize].load(Ordering::Relaxed),
            w[b as usize].load(Ordering::Relaxed),
        )
    });
    if check {
        let (post, page) = (run.it.post, run.sh.page);
        run.live.word(&post, page, a, va);
        run.live.word(&post, page, b, vb);
    }
}

/// Write faults: a racer stamp into the second word of page `p`, if that
/// word lies inside the window (the file) at all.
fn fault_write(run: &mut Run<'_>, p: u64) {
    let Some(m) = run.map.clone() else { return };
    let idx = p * run.sh.page / 8 + 1;
    if (idx + 1) * 8 > run.it.lay.win_end {
        return;
    }
    let v = stamp::stamp(Kind::Racer, run.it.post.gen, idx);
    run.access(|| m.words()[idx as usize].store(v, Ordering::Relaxed));
}

fn read(run: &mut Run<'_>, p: u64, pages: u64, buf: &mut [u8]) -> std::io::Result<()> {
    let off = p * run.sh.page;
    let len = (pages * run.sh.page) as usize;
    let buf = &mut buf[..len];
    buf.fill(0);
    let file = &run.sh.file;
    let (r, check) = run.access(|| file.read_at(buf, off));
    r?;
    if check {
        // Bytes a short read left alone are zero: past EOF, as expected.
        run.check_bytes(off, buf);
    }
    Ok(())
}

/// readahead(2), POSIX_FADV_WILLNEED and MADV_WILLNEED in turn.
fn readahead(run: &mut Run<'_>, p: u64, pages: u64, turn: u64) -> std::io::Result<()> {
    let (off, len) = (p * run.sh.page, pages * run.sh.page);
    let file = &run.sh.file;
    let map = run.map.clone();
    let (r, _) = run.access(|| match (turn % 3, &map) {
        (0, _) => sys::readahead(file, off, len as usize),
        (1, _) | (_, None) => sys::fadvise(file, off, len, Advice::WillNeed),
        (_, Some(m)) => m.willneed(off as usize, len as usize),
    });
    r
}

/// splice(2) or sendfile(2) into a pipe, then read the pipe back.
fn splice(
    run: &mut Run<'_>,
    p: u64,
    pages: u64,
    buf: &mut [u8],
    pipe: &(File, File),
    turn: u64,
) -> std::io::Result<()> {
    let off = p * run.sh.page;
    let len = (pages * run.sh.page) as usize;
    let file = &run.sh.file;
    let (r, check) = run.access(|| {
        if turn.is_multiple_of(2) {
            sys::splice_to_pipe(file, off, &pipe.1, len)
        } else {
            sys::sendfile_to_pipe(file, off, &pipe.1, len)
        }
    });
    let n = r?;
    let buf = &mut buf[..len];
    buf.fill(0);
    (&pipe.0).read_exact(&mut buf[..n])?;
    if check {
        // The pipe may take less than asked: check what came, with the
        // word holding EOF (its bytes past EOF are the buffer's zeros).
        run.check_bytes(off, &buf[..n.next_multiple_of(8).min(len)]);
    }
    Ok(())
}
