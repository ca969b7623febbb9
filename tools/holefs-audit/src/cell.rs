// SPDX-License-Identifier: GPL-2.0
//! One cell: `runs` independent runs of fill, race and check iterations
//! of one operation, geometry and racer, and the verdict.
//!
//! An iteration, with the racers parked at a barrier:
//!
//! 1. FILL: the controller sizes the file, writes the window with the old
//!    stamps of this iteration's generation (the source file and the
//!    O_DIRECT buffer with theirs), fdatasync()s and drops the file's page
//!    cache (POSIX_FADV_DONTNEED), so that the racers re-create folios from
//!    the backing store, which holds the old data: stale data has a source.
//! 2. RACE: the racers start their sweeps; once they have made a few
//!    accesses (so they are on a CPU, not preempted), the controller waits
//!    a random 0-20 us, then until a racer is inside an access (bounded),
//!    does the operation inside the `opseq` bracket, lets
//!    the racers make a few more accesses or go on for about as long as the
//!    operation took (accesses that begin after the return are checked
//!    live), and stops them.
//! 3. CHECK: the racers are parked again; nobody writes.  The controller checks every view of the
//!    window against the postcondition: pread, each racer's mapping, the
//!    operation's own mapping (madv-remove), a fresh mapping; the racers
//!    hand in their live findings.  Each view with a violating word is one
//!    detection.
//!
//! Firing inside an access matters for short operations: a one-page
//! tmpfs punch takes tens of microseconds under TCG, less than a racer's
//! page fault, so an operation fired at a random moment mostly falls
//! between accesses (in `MADV_DONTNEED`, in reading a pipe) and the
//! interleaving that loses data (an access that began before the
//! operation and ends after it) is rare; fired while an access is in
//! flight, every iteration holds that interleaving once.
//!
//! Before the racers start, a probe iteration does the same without them:
//! an unsupported operation ends the cell as SKIP, and a postcondition
//! violated with nothing racing ends it as ERROR (a checker bug or a plain
//! filesystem bug, not a race).  So does an access the racer cannot make
//! on this filesystem (`racer::probe`).
//!
//! hugetlbfs has no `->write_iter`: there the files are filled through a
//! shared mapping instead of pwrite(), and their sizes are whole huge
//! pages (see `geometry`).  Its page cache is its only store: the fill's
//! fdatasync() and POSIX_FADV_DONTNEED do nothing there, so the racers
//! map the folios the fill wrote rather than re-reading them.
//!
//! A control does everything the same but the operation itself (the
//! `opseq` bracket is empty), so the old data stays and the checker must
//! report it: a control that does not fire means the checker is blind.

use crate::aligned::AlignedBuf;
use crate::axes::{Geometry, Op, Racer};
use crate::expect::Post;
use crate::faultaround;
use crate::geometry::{self, Layout};
use crate::ops::{self, Target};
use crate::racer::{self, Iter, Shared};
use crate::record::{Record, Verdict};
use crate::scan::{Finding, Scan};
use crate::stamp::{self, Kind};
use holefs_common::map::Access;
use holefs_common::rng::{Draw, Rng, SeedableRng, Xoshiro256PlusPlus};
use holefs_common::Mapping;
use rustix::fs::Advice;
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub op: Op,
    pub geometry: Geometry,
    pub racer: Racer,
    pub control: bool,
}

impl Spec {
    /// An empty record of this cell on file system `fs`.
    pub fn record(&self, fs: &str) -> Record {
        Record::new(
            fs,
            self.op.name(),
            self.geometry.name(),
            self.racer.name(),
            self.control,
        )
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub runs: u64,
    /// Hits the cell needs before it may say SAFE.
    pub hits: u64,
    /// Wall time after which the cell stops, hits or not.
    pub max_ms: u64,
    /// Iterations the cell needs besides the hits.
    pub min_iterations: u64,
    pub seed: u64,
    pub threads: usize,
}

enum End {
    Done,
    Skip(String),
    Error(String),
}

struct RunOut {
    iterations: u64,
    hits: u64,
    detections: u64,
    reported: u64,
    /// Reported iterations in which a view showed stale data.
    reported_stale: u64,
    bad_words: u64,
    parts: BTreeMap<String, u64>,
    /// (ms since the cell started, first_view, description)
    first: Option<(u64, String, String)>,
    end: End,
    /// Time spent filling, racing and checking.
    phases: [Duration; 3],
    /// Iterations whose operation started while a racer was inside an
    /// access.
    fired_in_access: u64,
    /// Time from the first iteration to the end of the run.
    racing: Duration,
}

/// The run's files, removed when dropped.
struct Scratch(Vec<PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn open_rw(p: &Path, flags: i32) -> io::Result<File> {
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .custom_flags(flags)
        .open(p)
}

fn us(d: u64) -> Duration {
    Duration::from_micros(d)
}

fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

struct Ctx<'a> {
    spec: Spec,
    page: u64,
    /// The granularity of file sizes: `page`, or the huge page size on
    /// hugetlbfs, whose files are also written through mappings only.
    unit: u64,
    map_len: usize,
    t0: Instant,
    dir: &'a Path,
}

impl Ctx<'_> {
    fn post(&self, lay: &Layout, gen: u32) -> Post {
        Post {
            // A control skips the operation but still checks its
            // postcondition: the old data left behind must be reported.
            op: Some(self.spec.op),
            start: lay.start,
            end: lay.end,
            size: lay.size,
            gen,
            racer_slot_words: if self.spec.racer == Racer::WriteFault {
                self.page / 8
            } else {
                0
            },
        }
    }

    /// FILL: see the module documentation.
    fn fill(&self, t: &mut Target, lay: &Layout, gen: u32, buf: &mut Vec<u8>) -> io::Result<()> {
        let (lo, hi) = (lay.win_start, lay.win_end);
        buf.resize((hi - lo) as usize, 0);
        t.file.set_len(lay.size)?;
        stamp::fill(buf, Kind::Old, gen, lo);
        write_file(&t.file, t.fill_map.as_mut(), buf, lo)?;
        t.file.sync_data()?;
        sys_dontneed(&t.file)?;
        if let Some(src) = &t.src {
            src.set_len(lay.size)?;
            stamp::fill(buf, Kind::Src, gen, lo);
            write_file(src, t.src_map.as_mut(), buf, lo)?;
            src.sync_data()?;
            sys_dontneed(src)?;
        }
        if self.spec.op == Op::DioWrite {
            let len = (lay.end - lay.start) as usize;
            stamp::fill(&mut t.new_data[..len], Kind::New, gen, lay.start);
        }
        Ok(())
    }

    /// CHECK: every view of the window against `post`.
    fn check(
        &self,
        t: &Target,
        sh: Option<&Shared>,
        lay: &Layout,
        post: &Post,
    ) -> io::Result<Vec<Finding>> {
        let (lo, hi) = (lay.win_start, lay.check_end);
        let (w0, w1) = ((lo / 8) as usize, (hi / 8) as usize);
        let mut found = Vec::new();
        let mut add = |view: &str, scan: Scan| {
            if scan.bad_words > 0 {
                found.push(Finding {
                    view: view.to_owned(),
                    scan,
                });
            }
        };
        let mut buf = vec![0u8; (hi - lo) as usize];
        let mut got = 0;
        while got < buf.len() {
            match t.file.read_at(&mut buf[got..], lo + got as u64)? {
                0 => break,
                n => got += n,
            }
        }
        let words = buf
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")));
        add("pread", Scan::of(post, self.page, lo / 8, words));
        let scan_map = |m: &Mapping| {
            let w = &m.words()[w0..w1];
            Scan::of(
                post,
                self.page,
                lo / 8,
                w.iter().map(|a| a.load(Ordering::Relaxed)),
            )
        };
        if let Some(m) = &t.map {
            add("map-op", scan_map(m));
            m.dontneed()?;
        }
        if let Some(sh) = sh {
            let maps = std::mem::take(&mut *sh.maps.lock().unwrap_or_else(|e| e.into_inner()));
            for m in &maps {
                add("map-racer", scan_map(m));
            }
        }
        let fresh = Mapping::guarded(&t.file, self.map_len, Access::Read)?;
        add("map-fresh", scan_map(&fresh));
        Ok(found)
    }

    fn layout(&self, rng: &mut Xoshiro256PlusPlus) -> Layout {
        geometry::layout(
            self.spec.op,
            self.spec.geometry,
            self.page,
            self.unit,
            rng.next_u64(),
        )
    }

    /// Whether files here are written through mappings (hugetlbfs).
    fn mmap_io(&self) -> bool {
        self.unit > self.page
    }

    /// One run: files, probe, racers, iterations until the budget is spent.
    fn run(&self, run: u64, b: &Budget, goal: (u64, u64), ms: u64) -> RunOut {
        let mut out = RunOut {
            iterations: 0,
            hits: 0,
            detections: 0,
            reported: 0,
            reported_stale: 0,
            bad_words: 0,
            parts: BTreeMap::new(),
            first: None,
            end: End::Done,
            phases: [Duration::ZERO; 3],
            fired_in_access: 0,
            racing: Duration::ZERO,
        };
        match self.run_inner(run, b, goal, ms, &mut out) {
            Ok(()) => {}
            Err(e) if matches!(out.end, End::Done) => out.end = End::Error(e.to_string()),
            Err(_) => {}
        }
        out
    }

    fn target(&self, run: u64) -> io::Result<(Target, Scratch)> {
        // Cells that run at once in one process (the unit tests do) must
        // not share a file: the second fill would be stale data to the first.
        static TARGETS: AtomicU64 = AtomicU64::new(0);
        let pid = std::process::id();
        let n = TARGETS.fetch_add(1, Ordering::Relaxed);
        let name = |ext: &str| self.dir.join(format!("holefs-audit.{pid}.{n}.{run}.{ext}"));
        let (path, src_path) = (name("dat"), name("src"));
        let mut scratch = Scratch(vec![path.clone()]);
        let file = open_rw(&path, 0)?;
        file.set_len(0)?;
        let op = self.spec.op;
        let src = if matches!(op, Op::Clone | Op::CopyRange) {
            scratch.0.push(src_path.clone());
            let f = open_rw(&src_path, 0)?;
            f.set_len(0)?;
            Some(f)
        } else {
            None
        };
        let dio = if op == Op::DioWrite {
            Some(open_rw(&path, libc::O_DIRECT)?)
        } else {
            None
        };
        // hugetlbfs: the fills go through these mappings.
        let io_map = |f: &File| -> io::Result<Option<Mapping>> {
            if self.mmap_io() {
                Ok(Some(Mapping::guarded(f, self.map_len, Access::ReadWrite)?))
            } else {
                Ok(None)
            }
        };
        let mut fill_map = io_map(&file)?;
        let src_map = match &src {
            Some(f) => io_map(f)?,
            None => None,
        };
        // The whole file holds data before the first fill of a window.
        let size = geometry::file_size(self.page, self.unit);
        let mut all = vec![0u8; size as usize];
        stamp::fill(&mut all, Kind::Old, 0, 0);
        // A mapping needs the size first; elsewhere pwrite() extends the
        // file from empty, as it always did (a cifs run with every file
        // sized first saw COLLAPSE_RANGE and INSERT_RANGE fail with
        // EOPNOTSUPP, which an earlier run had not; not traced).
        if self.mmap_io() {
            file.set_len(size)?;
        }
        if let Err(e) = write_file(&file, fill_map.as_mut(), &all, 0) {
            return Err(match e.raw_os_error() {
                // A filesystem without ->write_iter other than hugetlbfs
                // (which the audit fills through mappings).
                Some(libc::EINVAL | libc::EOPNOTSUPP) if !self.mmap_io() => io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!(
                        "write(2) to a file here: {} (the audit fills files with pwrite)",
                        ops::errno_name(&e)
                    ),
                ),
                _ => e,
            });
        }
        let map = if op == Op::MadvRemove {
            Some(Mapping::guarded(&file, self.map_len, Access::ReadWrite)?)
        } else {
            None
        };
        let new_data = AlignedBuf::new(geometry::max_size(self.page, self.unit) as usize);
        Ok((
            Target {
                file,
                dio,
                src,
                map,
                new_data,
                fill_map,
                src_map,
            },
            scratch,
        ))
    }

    fn run_inner(
        &self,
        run: u64,
        b: &Budget,
        goal: (u64, u64),
        ms: u64,
        out: &mut RunOut,
    ) -> io::Result<()> {
        let seed = b.seed.wrapping_add(run.wrapping_mul(0x9e37_79b9));
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let (mut t, _scratch) = match self.target(run) {
            Ok(x) => x,
            Err(e) if self.spec.op == Op::DioWrite && e.raw_os_error() == Some(libc::EINVAL) => {
                out.end = End::Skip(format!("open(O_DIRECT): {}", ops::errno_name(&e)));
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                out.end = End::Skip(format!("not supported here: {e}"));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let mut buf = Vec::new();

        // The probe: no racers, the real operation, the real postcondition.
        let lay = self.layout(&mut rng);
        self.fill(&mut t, &lay, 1, &mut buf)?;
        if let Err((call, e)) = racer::probe(self.spec.racer, &t.file, self.page) {
            let what = format!(
                "the {} racer's {call}: {}",
                self.spec.racer,
                ops::errno_name(&e)
            );
            out.end = if ops::unsupported_access(&e) {
                End::Skip(format!("not supported here: {what}"))
            } else {
                End::Error(what)
            };
            return Ok(());
        }
        if let Err(e) = ops::apply(self.spec.op, &t, &lay) {
            let what = format!(
                "{} over {:#x}..{:#x}: {}",
                self.spec.op,
                lay.start,
                lay.end,
                ops::errno_name(&e)
            );
            out.end = if ops::unsupported(self.spec.op, &e) {
                End::Skip(format!("not supported here: {what}"))
            } else {
                End::Error(what)
            };
            return Ok(());
        }
        let mut probe = self.post(&lay, 1);
        probe.racer_slot_words = 0;
        if let Some(f) = self.check(&t, None, &lay, &probe)?.first() {
            out.end = End::Error(format!(
                "postcondition violated with no racer running (checker or filesystem bug): {}",
                f.describe()
            ));
            return Ok(());
        }

        let threads = b.threads;
        let sh = Shared {
            racer: self.spec.racer,
            page: self.page,
            file: t.file.try_clone()?,
            map_len: self.map_len,
            opseq: 0.into(),
            stop: false.into(),
            quit: false.into(),
            ready: 0.into(),
            go: Barrier::new(threads + 1),
            halted: Barrier::new(threads + 1),
            iter: Mutex::new(None),
            maps: Mutex::new(Vec::new()),
            hits: 0.into(),
            accesses: 0.into(),
            pulse: 0.into(),
            inside: 0.into(),
            live: Mutex::new(Vec::new()),
            error: Mutex::new(None),
        };
        // The time limit counts from here: file set-up and the probe are
        // slow on some filesystems and must not eat the racing time.
        let t_run = Instant::now();
        let r = std::thread::scope(|s| {
            for id in 0..threads {
                let sh = &sh;
                s.spawn(move || racer::racer_main(sh, id, seed));
            }
            let r = self.iterate(&mut t, &sh, &mut rng, &mut buf, b, goal, ms, t_run, out);
            sh.quit.store(true, Ordering::Release);
            sh.go.wait();
            r
        });
        out.racing = t_run.elapsed();
        out.hits = sh.hits.load(Ordering::Relaxed);
        if let Some(e) = sh.error.lock().unwrap_or_else(|e| e.into_inner()).take() {
            out.end = End::Error(e);
        }
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn iterate(
        &self,
        t: &mut Target,
        sh: &Shared,
        rng: &mut Xoshiro256PlusPlus,
        buf: &mut Vec<u8>,
        b: &Budget,
        (hits_goal, iterations_goal): (u64, u64),
        ms: u64,
        t_run: Instant,
        out: &mut RunOut,
    ) -> io::Result<()> {
        let deadline = us(ms * 1000);
        for k in 1u64.. {
            // The first iteration always runs: a control must have looked
            // before it may say it saw nothing.
            let done = (sh.hits.load(Ordering::Relaxed) >= hits_goal && k > iterations_goal)
                || (k > 1 && t_run.elapsed() >= deadline)
                || (self.spec.control && out.detections > 0)
                || sh.error.lock().unwrap_or_else(|e| e.into_inner()).is_some();
            if done {
                break;
            }
            // Generation 1 was the probe's; never 0.
            let gen = ((k % u64::from(stamp::GEN_MASK)) + 1) as u32;
            let lay = self.layout(rng);
            let t_fill = Instant::now();
            self.fill(t, &lay, gen, buf)?;
            let t_race = Instant::now();
            out.phases[0] += t_race - t_fill;
            let post = self.post(&lay, gen);
            *sh.iter.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(Arc::new(Iter { k, post, lay }));
            sh.ready.store(0, Ordering::Release);
            sh.stop.store(false, Ordering::Release);
            sh.go.wait();
            while sh.ready.load(Ordering::Acquire) < b.threads {
                std::thread::yield_now();
            }
            // Fire while the racers are running: after a few accesses of
            // theirs (bounded: a racer may be preempted), at a random moment.
            let want = 2 * b.threads as u64;
            beats(sh, want, us(2000));
            spin(us(rng.below(20)));
            out.fired_in_access += u64::from(in_access(sh, us(2000)));
            sh.opseq.store(2 * k + 1, Ordering::SeqCst);
            let t_op = Instant::now();
            let r = if self.spec.control {
                Ok(())
            } else {
                ops::apply(self.spec.op, t, &lay)
            };
            let op_time = t_op.elapsed();
            sh.opseq.store(2 * k + 2, Ordering::SeqCst);
            // dio-write: did the kernel report stale page cache it could
            // not invalidate (dio_warn_stale_pagecache() sets EIO)?
            let reported = self.spec.op == Op::DioWrite
                && !self.spec.control
                && matches!(t.file.sync_data(), Err(e) if e.raw_os_error() == Some(libc::EIO));
            // Let the racers access after the return (live checks), about
            // as long as the operation took.
            beats(sh, want, op_time.clamp(us(20), us(2000)));
            sh.stop.store(true, Ordering::Release);
            sh.halted.wait();
            let t_check = Instant::now();
            out.phases[1] += t_check - t_race;
            let checked = match &r {
                Ok(()) => self.check(t, Some(sh), &lay, &post),
                Err(_) => Ok(Vec::new()),
            };
            let mut found = std::mem::take(&mut *sh.live.lock().unwrap_or_else(|e| e.into_inner()));
            sh.maps.lock().unwrap_or_else(|e| e.into_inner()).clear();
            out.phases[2] += t_check.elapsed();
            if let Err(e) = r {
                out.end = End::Error(format!(
                    "{} at iteration {k}: {}",
                    self.spec.op,
                    ops::errno_name(&e)
                ));
                return Ok(());
            }
            found.extend(checked?);
            out.iterations = k;
            if reported {
                out.reported += 1;
                out.reported_stale += u64::from(!found.is_empty());
                continue;
            }
            if !found.is_empty() {
                out.detections += found.len() as u64;
                for f in &found {
                    out.bad_words += f.scan.bad_words;
                    for (p, n) in &f.scan.parts {
                        *out.parts.entry((*p).to_owned()).or_default() += n;
                    }
                }
                if out.first.is_none() {
                    let f = &found[0];
                    let ms = self.t0.elapsed().as_millis() as u64;
                    out.first =
                        Some((ms, f.where_(), format!("{} at iteration {k}", f.describe())));
                }
            }
        }
        Ok(())
    }
}

/// Wait until a racer is inside an access, or `cap` passed (the racers
/// may be preempted); whether one was.
fn in_access(sh: &Shared, cap: Duration) -> bool {
    let t = Instant::now();
    loop {
        if sh.inside.load(Ordering::SeqCst) > 0 {
            return true;
        }
        if t.elapsed() >= cap {
            return false;
        }
        std::hint::spin_loop();
    }
}

/// Wait until the racers made `n` more accesses, or `cap` passed.
fn beats(sh: &Shared, n: u64, cap: Duration) {
    let (p0, t) = (sh.pulse.load(Ordering::Relaxed), Instant::now());
    while sh.pulse.load(Ordering::Relaxed) < p0 + n && t.elapsed() < cap {
        std::hint::spin_loop();
    }
}

fn sys_dontneed(f: &File) -> io::Result<()> {
    crate::sys::fadvise(f, 0, 0, Advice::DontNeed)
}

/// Write `data` at `off` of `f`: with pwrite(), or through `map`, a
/// writable mapping of `f` covering the range (hugetlbfs, which has no
/// write(2)).  A page of `map` that raised SIGBUS (no huge page left to
/// back the file) is an error: the data did not reach the file.
fn write_file(f: &File, map: Option<&mut Mapping>, data: &[u8], off: u64) -> io::Result<()> {
    let Some(m) = map else {
        return f.write_all_at(data, off);
    };
    let lost = m.store(off as usize, data)?;
    if let Some(p) = lost.first() {
        return Err(io::Error::other(format!(
            "a store through the mapping at {p:#x} raised SIGBUS: no page to back the file \
             (huge page pool exhausted?)"
        )));
    }
    Ok(())
}

/// Run one cell and judge it.
pub fn run_cell(dir: &Path, fs: &str, spec: Spec, b: &Budget) -> Record {
    let t0 = Instant::now();
    let mut rec = spec.record(fs);
    rec.hits_target = b.hits;
    rec.seed = b.seed;
    rec.threads = b.threads as u64;
    let page = holefs_common::page_size() as u64;
    let finish = |mut rec: Record, v: Verdict, reason: String| {
        rec.verdict = v;
        rec.reason = reason;
        rec.duration_ms = t0.elapsed().as_millis() as u64;
        rec
    };
    if let Some(why) = geometry::structural_skip(spec.op, spec.geometry) {
        return finish(rec, Verdict::Skip, why.to_owned());
    }
    let unit = match crate::sys::size_unit(dir, page) {
        Ok(u) => u,
        Err(e) => {
            return finish(
                rec,
                Verdict::Error,
                format!("statfs {}: {e}", dir.display()),
            )
        }
    };
    if unit > page && spec.racer == Racer::Readahead {
        // hugetlbfs: the racer would race nothing and the cell would say
        // SAFE about a race that never ran.
        return finish(
            rec,
            Verdict::Skip,
            "readahead(2), POSIX_FADV_WILLNEED and MADV_WILLNEED create no page cache on \
             hugetlbfs (generic_fadvise() ignores the advice on its noop backing device)"
                .to_owned(),
        );
    }
    let _knob = if spec.racer == Racer::Fault1Page {
        match faultaround::OnePage::set(page) {
            Ok(k) => Some(k),
            Err(why) => return finish(rec, Verdict::Skip, why),
        }
    } else {
        None
    };
    let ctx = Ctx {
        spec,
        page,
        unit,
        map_len: geometry::max_size(page, unit) as usize,
        t0,
        dir,
    };
    let runs = b.runs.max(1);
    let sigbus0 = holefs_common::sigbus::patched();
    let mut end = End::Done;
    let mut reported_stale = 0;
    // Racing time used by the earlier runs: a run that met its goal early
    // leaves its time to the later ones.
    let mut used = Duration::ZERO;
    for run in 0..runs {
        eprintln!(
            "holefs-audit: {fs} {} {} {}{}: run {}/{runs}",
            spec.op,
            spec.geometry,
            spec.racer,
            if spec.control { " control" } else { "" },
            run + 1
        );
        let goal = (b.hits.div_ceil(runs), b.min_iterations.div_ceil(runs));
        let left = b.max_ms.saturating_sub(used.as_millis() as u64);
        let o = ctx.run(run, b, goal, left / (runs - run));
        used += o.racing;
        let ms = |d: Duration| d.as_millis();
        eprintln!(
            "holefs-audit:   {} iterations ({} fired inside an access), {} hits, {} detections; \
             fill {} ms, race {} ms, check {} ms",
            o.iterations,
            o.fired_in_access,
            o.hits,
            o.detections,
            ms(o.phases[0]),
            ms(o.phases[1]),
            ms(o.phases[2])
        );
        rec.runs += 1;
        rec.iterations += o.iterations;
        rec.fired_in_access += o.fired_in_access;
        rec.hits += o.hits;
        rec.detections += o.detections;
        rec.reported_collisions += o.reported;
        reported_stale += o.reported_stale;
        rec.bad_words += o.bad_words;
        rec.runs_detected += u64::from(o.detections > 0);
        for (p, n) in o.parts {
            *rec.parts.entry(p).or_default() += n;
        }
        if rec.first_detection_ms.is_none() {
            if let Some((ms, view, what)) = o.first {
                rec.first_detection_ms = Some(ms);
                rec.first_view = Some(view);
                rec.reason = what;
            }
        }
        if !matches!(o.end, End::Done) {
            end = o.end;
            break;
        }
    }
    rec.sigbus = holefs_common::sigbus::patched() - sigbus0;
    let reported = if rec.reported_collisions > 0 {
        format!(
            "; {} iterations with a page cache invalidation failure the kernel reported (EIO \
             from fdatasync: dio_warn_stale_pagecache), {reported_stale} of them with stale \
             data seen, not counted as detections",
            rec.reported_collisions
        )
    } else {
        String::new()
    };
    match end {
        End::Skip(why) => finish(rec, Verdict::Skip, why),
        End::Error(why) => finish(rec, Verdict::Error, why),
        End::Done if spec.control && rec.iterations < rec.runs => {
            let r = format!(
                "control ran {} iterations in {} runs: it never looked",
                rec.iterations, rec.runs
            );
            finish(rec, Verdict::Error, r)
        }
        End::Done if spec.control => {
            if rec.runs_detected == rec.runs {
                let r = format!("control fired in every run: {}{reported}", rec.reason);
                finish(rec, Verdict::Race, r)
            } else {
                let r = format!(
                    "CONTROL DID NOT FIRE in {} of {} runs: the checker cannot see the old data \
                     the skipped operation leaves",
                    rec.runs - rec.runs_detected,
                    rec.runs
                );
                finish(rec, Verdict::Safe, r)
            }
        }
        End::Done if rec.detections > 0 => {
            let r = format!("{}{reported}", rec.reason);
            finish(rec, Verdict::Race, r)
        }
        End::Done if rec.hits < b.hits || rec.iterations < b.min_iterations => {
            let r = format!(
                "insufficient hits: {} of {} hits in {} of {} iterations before the {} ms limit; \
                 no violation seen, but too little overlapped the operation to call it SAFE{reported}",
                rec.hits, b.hits, rec.iterations, b.min_iterations, b.max_ms
            );
            finish(rec, Verdict::Error, r)
        }
        End::Done => {
            let r = format!(
                "{} hits in {} iterations, every view as the postcondition says{reported}",
                rec.hits, rec.iterations
            );
            finish(rec, Verdict::Safe, r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget {
            runs: 1,
            hits: 1,
            max_ms: 3000,
            min_iterations: 2,
            seed: 7,
            threads: 2,
        }
    }

    /// The whole machinery (threads, views, verdict) on the test's temp
    /// directory, with truncate, which every filesystem has: the control
    /// must fire, the real operation must not be reported.
    #[test]
    fn truncate_control_fires_and_the_test_does_not() {
        let dir = std::env::temp_dir();
        for racer in [Racer::FaultAround, Racer::Read, Racer::WriteFault] {
            let spec = Spec {
                op: Op::Truncate,
                geometry: Geometry::Unaligned,
                racer,
                control: true,
            };
            let c = run_cell(&dir, "test", spec, &budget());
            assert_eq!(c.verdict, Verdict::Race, "{racer}: {}", c.reason);
            assert_eq!(c.runs_detected, c.runs);
            // Live checks report first when a racer read after the return.
            let view = c.first_view.clone().unwrap_or_default();
            assert!(
                view.ends_with(":first") || view.ends_with(":after"),
                "{view}"
            );
            let t = run_cell(
                &dir,
                "test",
                Spec {
                    control: false,
                    ..spec
                },
                &budget(),
            );
            assert_ne!(t.verdict, Verdict::Race, "{racer}: {}", t.reason);
            assert_eq!(t.detections, 0);
            assert!(t.iterations >= 1, "{}", t.reason);
        }
    }

    /// However short the time limit, every run looks once: a control
    /// with 1 ms fires in both runs instead of reporting itself blind.
    #[test]
    fn the_first_iteration_always_runs() {
        let spec = Spec {
            op: Op::Punch,
            geometry: Geometry::Page,
            racer: Racer::Read,
            control: true,
        };
        let b = Budget {
            runs: 2,
            max_ms: 1,
            ..budget()
        };
        let c = run_cell(&std::env::temp_dir(), "test", spec, &b);
        assert_eq!(c.runs, 2, "{}", c.reason);
        assert!(c.iterations >= 2, "{}", c.reason);
        assert_eq!(c.verdict, Verdict::Race, "{}", c.reason);
        assert_eq!(c.runs_detected, 2);
    }

    #[test]
    fn definitional_skips_do_not_touch_the_filesystem() {
        let spec = Spec {
            op: Op::Collapse,
            geometry: Geometry::Eof,
            racer: Racer::Read,
            control: false,
        };
        let r = run_cell(Path::new("/nonexistent"), "test", spec, &budget());
        assert_eq!(r.verdict, Verdict::Skip);
        assert_eq!(r.runs, 0);
    }
}
