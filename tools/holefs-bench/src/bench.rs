// SPDX-License-Identifier: GPL-2.0
//! The benchmark phases (Documentation/bench.rst):
//!
//! - p1: warm-cache mmap read faults, fresh mapping per repetition;
//! - p2: the same after drop_caches (readahead + read_folio);
//! - p3: p1 under a concurrent punch load on another range of the file;
//! - p4: hole-punch latency while two threads fault the file;
//! - p5: buffered 4 KiB pread/pwrite, sequential and random.
//!
//! Each case prints one `HOLEFS-BENCH: {json}` record with the raw
//! per-repetition values; scripts/bench-report takes medians and ratios.

use anyhow::Context;
use holefs_common::file::{drop_caches, punch_hole};
use holefs_common::map::{Access, Mapping};
use holefs_common::record;
use holefs_common::rng::{Draw, SeedableRng, Xoshiro256PlusPlus};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::sys::{self, Counters};

const MIB: u64 = 1 << 20;

/// The holefs counters reported per 1000 pages touched.
const COUNTERS: [&str; 6] = [
    "fault_calls",
    "map_pages_calls",
    "map_pages_pages",
    "map_pages_trylock_failed",
    "read_folio",
    "readahead_folios",
];

pub struct Config {
    /// (label, directory) of each mounted file system, measured in turn
    /// repetition by repetition.
    pub targets: Vec<(String, PathBuf)>,
    /// Bytes of the faulted file.
    pub size: u64,
    /// Repetitions of each p1 and p3 case.
    pub reps: usize,
    /// Repetitions of each p2 case (each drops the caches).
    pub p2_reps: usize,
    pub phases: Vec<String>,
    /// Bytes of the range the p3 punch load rewrites and punches.
    pub load_len: u64,
    /// p4: punch sizes and the number of punches of each.
    pub punch_small: u64,
    pub punch_small_n: usize,
    pub punch_large: u64,
    pub punch_large_n: usize,
    /// Bytes of the p5 file.
    pub p5_size: u64,
    /// Repetitions of each p5 case.
    pub p5_reps: usize,
    /// The labels of the targets p5 measures (all if empty).
    pub p5_targets: Vec<String>,
}

/// One file system under test: its label, directory, main file, counters.
struct Target {
    label: String,
    dir: PathBuf,
    file: File,
    counters: Counters,
}

pub struct Bench {
    cfg: Config,
    targets: Vec<Target>,
}

/// One repetition of a fault case.
#[derive(Default)]
struct FaultRep {
    secs: f64,
    pages: u64,
    counters: BTreeMap<String, u64>,
    minflt: u64,
    majflt: u64,
    resident_pct: Option<f64>,
    punches: Option<u64>,
}

/// When the program started: records carry their time since then ("t").
static START: OnceLock<Instant> = OnceLock::new();

/// A record with the seconds since the program started ("t") added.
#[derive(Serialize)]
struct Stamped<'a, T: Serialize> {
    #[serde(flatten)]
    record: &'a T,
    t: f64,
}

/// Prints one `HOLEFS-BENCH: {json}` record.
fn emit<T: Serialize>(record: &T) -> io::Result<()> {
    let t = START.get_or_init(Instant::now).elapsed().as_secs_f64();
    record::emit("HOLEFS-BENCH", &Stamped { record, t })
}

/// The page size.
fn page() -> usize {
    holefs_common::page_size()
}

/// The `setup` record of a target: its file was created and filled.
#[derive(Serialize)]
struct SetupRecord<'a> {
    fs: &'a str,
    phase: &'static str,
    size: u64,
    reps: usize,
    targets: usize,
    holefs_counters: u8,
    create_s: f64,
}

/// A p1, p2 or p3 fault case of one target: per-repetition values.
#[derive(Serialize)]
struct FaultRecord<'a> {
    fs: &'a str,
    phase: &'a str,
    case: &'a str,
    threads: usize,
    mapping: &'static str,
    unit: &'static str,
    pages: u64,
    values: Vec<f64>,
    secs: Vec<f64>,
    per_1000_pages: BTreeMap<&'static str, Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trylock_failed: Option<Vec<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resident_pct: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    punches: Option<Vec<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    load_len: Option<u64>,
}

/// A punch slower than a second.
#[derive(Serialize)]
struct SlowPunch {
    offset: u64,
    ms: f64,
}

/// A p4 case of one target: punch latencies.
#[derive(Serialize)]
struct PunchRecord<'a> {
    fs: &'a str,
    phase: &'static str,
    case: &'a str,
    len: u64,
    unit: &'static str,
    values: Vec<f64>,
    fault_pages: u64,
    elapsed_s: f64,
    over_1s: Vec<SlowPunch>,
}

/// A p5 case of one target: buffered I/O throughput.
#[derive(Serialize)]
struct BufferedRecord<'a> {
    fs: &'a str,
    phase: &'static str,
    case: &'a str,
    unit: &'static str,
    ops: usize,
    values: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fsync_s: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blocks_allocated: Option<Vec<u64>>,
}

fn pattern(seed: u64) -> Vec<u8> {
    // Non-zero bytes, different per page, so a hole would be noticed.
    (0..MIB as usize)
        .map(|i| (((i / page()) as u64 + seed) % 251 + 1) as u8)
        .collect()
}

/// Writes `len` bytes of pattern at `off` in 1 MiB pwrites.
fn fill(file: &File, off: u64, len: u64, buf: &[u8]) -> io::Result<()> {
    let mut done = 0;
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        file.write_all_at(&buf[..n], off + done)?;
        done += n as u64;
    }
    Ok(())
}

/// [`fill`], then fdatasync, in steps of 32 MiB: dirty data never piles up,
/// so every file system starts its measurement with the same (none) and
/// background writeback does not run into the timed part.
fn fill_synced(file: &File, off: u64, len: u64, buf: &[u8]) -> io::Result<()> {
    const STEP: u64 = 32 * MIB;
    let mut done = 0;
    while done < len {
        let n = (len - done).min(STEP);
        fill(file, off + done, n, buf)?;
        file.sync_data()?;
        done += n;
    }
    Ok(())
}

/// The punch load of p3: rewrite and punch `[off, off + len)` until told to
/// stop.
struct PunchLoad<'a> {
    file: &'a File,
    off: u64,
    len: u64,
    stop: AtomicBool,
    punches: AtomicU64,
}

impl PunchLoad<'_> {
    fn run(&self) -> io::Result<()> {
        let buf = pattern(7);
        while !self.stop.load(Ordering::Relaxed) {
            fill(self.file, self.off, self.len, &buf)?;
            punch_hole(self.file, self.off, self.len)?;
            self.punches.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

impl Bench {
    pub fn new(cfg: Config) -> anyhow::Result<Self> {
        let mut targets = Vec::new();
        for (label, dir) in &cfg.targets {
            let path = dir.join("bench.dat");
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .with_context(|| format!("{label}: {}", path.display()))?;
            targets.push(Target {
                label: label.clone(),
                dir: dir.clone(),
                file,
                counters: Counters::for_dir(dir),
            });
        }
        Ok(Bench { cfg, targets })
    }

    fn phase(&self, p: &str) -> bool {
        self.cfg.phases.iter().any(|x| x == p)
    }

    /// The targets in the order of repetition `rep`: rotated, so that no
    /// file system always runs first (or right after another).
    fn order(&self, rep: usize) -> impl Iterator<Item = (usize, &Target)> {
        let n = self.targets.len();
        (0..n).map(move |k| {
            let i = (rep + k) % n;
            (i, &self.targets[i])
        })
    }

    pub fn run(&self) -> anyhow::Result<()> {
        START.get_or_init(Instant::now);
        let cfg = &self.cfg;
        for t in &self.targets {
            let start = Instant::now();
            // The faulted file plus, behind it, the p3 punch-load range.
            fill_synced(&t.file, 0, cfg.size + cfg.load_len, &pattern(1))?;
            emit(&SetupRecord {
                fs: &t.label,
                phase: "setup",
                size: cfg.size,
                reps: cfg.reps,
                targets: self.targets.len(),
                holefs_counters: u8::from(t.counters.available()),
                create_s: start.elapsed().as_secs_f64(),
            })?;
            // Warm up: everything mapped once, so p1 finds the cache full.
            let m = Mapping::new(&t.file, cfg.size as usize, Access::Read)?;
            m.touch(0..m.pages());
        }

        if self.phase("p1") {
            self.fault_case("p1", "t1", 1, false, false, false)?;
            self.fault_case("p1", "t2_own", 2, false, false, false)?;
            self.fault_case("p1", "t2_shared", 2, true, false, false)?;
        }
        if self.phase("p3") {
            self.fault_case("p3", "t1_punch", 1, false, false, true)?;
            self.fault_case("p3", "t2_punch", 2, false, false, true)?;
        }
        if self.phase("p2") {
            self.fault_case("p2", "t1", 1, false, true, false)?;
            self.fault_case("p2", "t2_own", 2, false, true, false)?;
            self.fault_case("p2", "t2_shared", 2, true, true, false)?;
        }
        if self.phase("p4") {
            for t in &self.targets {
                self.punch_latency(t, "punch_small", cfg.punch_small, cfg.punch_small_n)?;
                self.punch_latency(t, "punch_large", cfg.punch_large, cfg.punch_large_n)?;
            }
        }
        if self.phase("p5") {
            self.buffered()?;
        }
        Ok(())
    }

    /// One fault case: `threads` threads touch every page of the file
    /// (`shared`: one mapping, each thread its share of the pages; else a
    /// mapping per thread, each thread all pages), fresh mappings each
    /// repetition; `cold`: after drop_caches; `load`: with a punch load.
    fn fault_case(
        &self,
        phase: &str,
        case: &str,
        threads: usize,
        shared: bool,
        cold: bool,
        load: bool,
    ) -> io::Result<()> {
        // One repetition first, not counted: TCG translates the code paths
        // on first use, and the first pass also settles the page tables.
        for t in &self.targets {
            self.fault_rep(t, threads, shared, cold, load)?;
        }
        let mut all: Vec<Vec<FaultRep>> = self.targets.iter().map(|_| Vec::new()).collect();
        let reps = if cold {
            self.cfg.p2_reps
        } else {
            self.cfg.reps
        };
        for rep in 0..reps {
            for (i, t) in self.order(rep) {
                all[i].push(self.fault_rep(t, threads, shared, cold, load)?);
            }
        }
        for (t, reps) in self.targets.iter().zip(all) {
            self.emit_fault_case(t, phase, case, threads, shared, cold, load, &reps)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_fault_case(
        &self,
        t: &Target,
        phase: &str,
        case: &str,
        threads: usize,
        shared: bool,
        cold: bool,
        load: bool,
        reps: &[FaultRep],
    ) -> io::Result<()> {
        let per1000 = |f: &dyn Fn(&FaultRep) -> u64| -> Vec<f64> {
            reps.iter()
                .map(|r| f(r) as f64 * 1000.0 / r.pages as f64)
                .collect()
        };
        let counter = |r: &FaultRep, c: &str| *r.counters.get(c).unwrap_or(&0);
        let mut p1k = BTreeMap::from([
            ("minflt", per1000(&|r| r.minflt)),
            ("majflt", per1000(&|r| r.majflt)),
        ]);
        if t.counters.available() {
            for c in COUNTERS {
                p1k.insert(c, per1000(&|r| counter(r, c)));
            }
        }
        emit(&FaultRecord {
            fs: &t.label,
            phase,
            case,
            threads,
            mapping: if shared { "shared" } else { "own" },
            unit: "pages/s",
            pages: reps[0].pages,
            values: reps.iter().map(|r| r.pages as f64 / r.secs).collect(),
            secs: reps.iter().map(|r| r.secs).collect(),
            per_1000_pages: p1k,
            trylock_failed: t.counters.available().then(|| {
                reps.iter()
                    .map(|r| counter(r, "map_pages_trylock_failed"))
                    .collect()
            }),
            resident_pct: cold
                .then(|| reps.iter().map(|r| r.resident_pct.unwrap_or(0.0)).collect()),
            punches: load.then(|| reps.iter().map(|r| r.punches.unwrap_or(0)).collect()),
            load_len: load.then_some(self.cfg.load_len),
        })
    }

    fn fault_rep(
        &self,
        t: &Target,
        threads: usize,
        shared: bool,
        cold: bool,
        load: bool,
    ) -> io::Result<FaultRep> {
        let size = self.cfg.size as usize;
        let npages = size / page();
        let mut rep = FaultRep::default();
        if cold {
            drop_caches(1)?;
            let m = Mapping::new(&t.file, size, Access::Read)?;
            rep.resident_pct = Some(m.resident_pages()? as f64 * 100.0 / npages as f64);
        }
        let punch_load = PunchLoad {
            file: &t.file,
            off: self.cfg.size,
            len: self.cfg.load_len,
            stop: AtomicBool::new(false),
            punches: AtomicU64::new(0),
        };
        std::thread::scope(|s| -> io::Result<()> {
            let loader = load.then(|| s.spawn(|| punch_load.run()));
            if load {
                // Measure only once the load runs.
                while punch_load.punches.load(Ordering::Relaxed) == 0 {
                    if loader.as_ref().is_some_and(|h| h.is_finished()) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            let measured = self.timed_faults(t, threads, shared, &mut rep);
            punch_load.stop.store(true, Ordering::Relaxed);
            if let Some(h) = loader {
                h.join().expect("punch thread panicked")?;
                rep.punches = Some(punch_load.punches.load(Ordering::Relaxed));
            }
            measured
        })?;
        Ok(rep)
    }

    /// The timed part of a fault repetition.
    fn timed_faults(
        &self,
        t: &Target,
        threads: usize,
        shared: bool,
        rep: &mut FaultRep,
    ) -> io::Result<()> {
        let size = self.cfg.size as usize;
        let npages = size / page();
        {
            let before = t.counters.read();
            let (min0, maj0) = sys::faults();
            let t0 = Instant::now();
            let common = if shared {
                Some(Mapping::new(&t.file, size, Access::Read)?)
            } else {
                None
            };
            let mut touched = 0u64;
            let mut own = Vec::new();
            std::thread::scope(|s2| -> io::Result<()> {
                let handles: Vec<_> = (0..threads)
                    .map(|i| {
                        let common = common.as_ref();
                        let file = &t.file;
                        s2.spawn(move || -> io::Result<(u64, Option<Mapping>)> {
                            match common {
                                Some(m) => {
                                    let r = npages * i / threads..npages * (i + 1) / threads;
                                    let n = r.len() as u64;
                                    m.touch(r);
                                    Ok((n, None))
                                }
                                None => {
                                    let m = Mapping::new(file, size, Access::Read)?;
                                    m.touch(0..npages);
                                    Ok((npages as u64, Some(m)))
                                }
                            }
                        })
                    })
                    .collect();
                for h in handles {
                    let (n, m) = h.join().expect("fault thread panicked")?;
                    touched += n;
                    own.extend(m);
                }
                Ok(())
            })?;
            rep.secs = t0.elapsed().as_secs_f64();
            let (min1, maj1) = sys::faults();
            let after = t.counters.read();
            // Unmapped outside the timing.
            drop(own);
            drop(common);
            rep.pages = touched;
            rep.minflt = min1 - min0;
            rep.majflt = maj1 - maj0;
            rep.counters = sys::delta(&before, &after);
            Ok(())
        }
    }

    /// p4: `n` punches of `len` bytes (the range rewritten before each, not
    /// timed) while two threads map and touch the whole file in a loop.
    fn punch_latency(&self, t: &Target, case: &str, len: u64, n: usize) -> io::Result<()> {
        let size = self.cfg.size;
        let len = len.min(size / 2).max(page() as u64);
        let slots = (size / len).max(1);
        let stop = AtomicBool::new(false);
        let touched = AtomicU64::new(0);
        let buf = pattern(3);
        let mut lat = Vec::new();
        let mut slow = Vec::new();
        let start = Instant::now();
        std::thread::scope(|s| -> io::Result<()> {
            let faulters: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| -> io::Result<()> {
                        while !stop.load(Ordering::Relaxed) {
                            let m = Mapping::new(&t.file, size as usize, Access::Read)?;
                            m.touch(0..m.pages());
                            touched.fetch_add(m.pages() as u64, Ordering::Relaxed);
                        }
                        Ok(())
                    })
                })
                .collect();
            let mut result = Ok(());
            for k in 0..n {
                let off = (k as u64 % slots) * len;
                if let Err(e) = fill(&t.file, off, len, &buf) {
                    result = Err(e);
                    break;
                }
                let t0 = Instant::now();
                if let Err(e) = punch_hole(&t.file, off, len) {
                    result = Err(e);
                    break;
                }
                let ms = t0.elapsed().as_secs_f64() * 1000.0;
                if ms > 1000.0 {
                    slow.push(SlowPunch { offset: off, ms });
                }
                lat.push(ms);
            }
            stop.store(true, Ordering::Relaxed);
            for h in faulters {
                h.join().expect("fault thread panicked")?;
            }
            result
        })?;
        // Put the data back for the phases that follow: every slot used is
        // a hole now.
        fill_synced(&t.file, 0, slots.min(n as u64) * len, &pattern(1))?;
        emit(&PunchRecord {
            fs: &t.label,
            phase: "p4",
            case,
            len,
            unit: "ms",
            values: lat,
            fault_pages: touched.load(Ordering::Relaxed),
            elapsed_s: start.elapsed().as_secs_f64(),
            over_1s: slow,
        })
    }

    /// p5: 4 KiB pread/pwrite over a file of `p5_size` bytes in the cache,
    /// on every target in turn, repetition by repetition.
    fn buffered(&self) -> io::Result<()> {
        let size = self.cfg.p5_size;
        let targets: Vec<&Target> = self
            .targets
            .iter()
            .filter(|t| self.cfg.p5_targets.is_empty() || self.cfg.p5_targets.contains(&t.label))
            .collect();
        let mut files = Vec::new();
        for t in &targets {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(t.dir.join("p5.dat"))?;
            fill_synced(&file, 0, size, &pattern(5))?;
            files.push(file);
        }
        let ps = page() as u64;
        let npages = size / ps;
        // The same pages on every run and target: a fixed seed.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let random: Vec<u64> = (0..npages).map(|_| rng.below(npages) * ps).collect();
        let seq: Vec<u64> = (0..npages).map(|i| i * ps).collect();
        let hot: Vec<u64> = vec![0; npages as usize];
        let cases: [(&str, &[u64], bool, bool); 6] = [
            ("seq_read", &seq, false, false),
            ("rand_read", &random, false, false),
            ("seq_write", &seq, true, false),
            ("rand_write", &random, true, false),
            // Into an emptied file: the allocating write path.
            ("append_write", &seq, true, true),
            // The same page over and over: it stays dirty, so this is the
            // write path without dirtying a clean page (no dirty
            // accounting or throttling, no allocation).
            ("hot_write", &hot, true, false),
        ];
        let mut buf = vec![0x5au8; page()];
        for (case, offsets, write, truncate) in cases {
            let n = targets.len();
            let mut vals = vec![Vec::new(); n];
            let mut fsync_s = vec![Vec::new(); n];
            let mut allocs = vec![Vec::new(); n];
            // Repetition 0 is a warm-up and not counted.
            for rep in 0..=self.cfg.p5_reps {
                for k in 0..n {
                    // Rotated as in `order`.
                    let i = (rep + k) % n;
                    let (t, file) = (targets[i], &files[i]);
                    if truncate {
                        file.set_len(0)?;
                        file.sync_all()?;
                    }
                    let before = t.counters.read();
                    let t0 = Instant::now();
                    for &off in offsets {
                        if write {
                            file.write_all_at(&buf, off)?;
                        } else {
                            file.read_exact_at(&mut buf, off)?;
                        }
                    }
                    let secs = t0.elapsed().as_secs_f64();
                    let after = t.counters.read();
                    let t1 = Instant::now();
                    if write {
                        file.sync_all()?;
                    }
                    let fsync = t1.elapsed().as_secs_f64();
                    if rep == 0 {
                        continue;
                    }
                    vals[i].push(offsets.len() as f64 * ps as f64 / MIB as f64 / secs);
                    let delta = sys::delta(&before, &after);
                    allocs[i].push(*delta.get("blocks_allocated").unwrap_or(&0));
                    fsync_s[i].push(fsync);
                }
            }
            for (i, t) in targets.iter().enumerate() {
                emit(&BufferedRecord {
                    fs: &t.label,
                    phase: "p5",
                    case,
                    unit: "MiB/s",
                    ops: offsets.len(),
                    values: std::mem::take(&mut vals[i]),
                    fsync_s: write.then(|| std::mem::take(&mut fsync_s[i])),
                    blocks_allocated: t
                        .counters
                        .available()
                        .then(|| std::mem::take(&mut allocs[i])),
                })?;
            }
        }
        drop(files);
        for t in &targets {
            std::fs::remove_file(t.dir.join("p5.dat"))?;
        }
        Ok(())
    }
}
