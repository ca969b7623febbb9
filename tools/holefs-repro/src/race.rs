// SPDX-License-Identifier: GPL-2.0
//! The race engine: one controller (the calling thread, "thread 1") and
//! `threads` workers (threads 2, 3, ...).
//!
//! Detection protocol (it must never report a race on a correct filesystem):
//!
//! Every round r runs three phases separated by barriers:
//!
//! * FILL: the controller pwrites the range with stamps (writer 1, sequence
//!   r, word index), which are never zero.  On every other round it also
//!   does fdatasync + POSIX_FADV_DONTNEED so that the data is read back
//!   from the backing store (map-pages-hot: fdatasync on every round, the
//!   folios stay cached), and on some rounds it
//!   pre-faults the range through the shared mapping.  Workers wait.
//! * RACE: workers fault (or read, or write) over the range in loops while
//!   the controller punches a hole over all of it (truncate: cuts the file
//!   and grows it back).  When the punch returned, the controller publishes
//!   `done_gen = r` (release), preads the range and then publishes
//!   `stop_round = r`.
//! * VERIFY: nobody writes; every worker checks its mappings.
//!
//! No thread writes the range between the end of the punch and the next
//! FILL, so once the punch returned every word must read as zero through
//! every view.  A non-zero word seen by a read that *began* after the punch
//! returned is stale data: a detection.  Reads during RACE sample `done_gen`
//! (acquire) before each access, so a read that started while the punch was
//! in flight, and may legitimately see the pattern, is never checked.  The
//! truncate scenario uses `down_gen` (truncate-down returned) and only checks
//! the part beyond the cut.
//!
//! write-race: workers write stamps of their own (writer id, private
//! sequence, word index) with pwrite (whole pages) and with stores through
//! their mappings (the first word of each page only: a write fault that
//! fills its folio from blocks the punch is about to free leaves the rest of
//! the page stale, where a whole-page store would overwrite the evidence)
//! while the punch runs, and publish the sequence of each completed write
//! (release).  Just before fallocate the controller snapshots those (`lo`);
//! after the workers stopped each one publishes its last started sequence
//! (`hi`).  A surviving word must be zero or a stamp with `lo < seq <= hi`:
//! a write that had not completed when the punch started.  The check is
//! `stamp::Window::classify`.
//!
//! Window hits: the controller bumps `op_seq` to odd just before the punch
//! (truncate down) system call and back to even when it returned.  A worker
//! access (a page load, a pread, a stamped write) that started or ended while
//! `op_seq` was odd overlapped the operation: a hit.  A run budgeted by hits
//! (`--hits N`) ends once the workers have hit the window N times (counted
//! at the end of a round) or at its first detection, whatever the speed of
//! the kernel.

use crate::args::{Config, Geometry, Scenario};
use crate::stamp::{self, Class, Window};
use anyhow::{anyhow, Context};
use holefs_common::file::{fadvise_dontneed, punch_hole};
use holefs_common::map::{Access, Mapping};
use holefs_common::rng::{Draw, SeedableRng, Xoshiro256PlusPlus};
use holefs_common::sigbus;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

const STRIDE: usize = 16; // pages, strided sweeps
const CHUNK_PAGES: usize = 16; // pread and write chunks
const INJECT_WORDS: usize = 8;

/// The first stale word one check found.
#[derive(Clone, Debug)]
pub struct Detection {
    pub round: u64,
    pub ms: u64,
    pub offset: u64,
    pub value: u64,
    pub view: &'static str,
    pub thread: usize,
    pub class: Class,
    pub bad_words: u64,
}

#[derive(Debug)]
pub struct Outcome {
    pub rounds: u64,
    pub detections: u64,
    pub live_detections: u64,
    pub first: Option<Detection>,
    pub elapsed_ms: u64,
    pub sigbus: u64,
    /// Accesses (faults, preads, writes) begun while the punch ran.
    pub op_reads: u64,
    /// Rounds in which at least one such access happened.
    pub op_rounds: u64,
    /// Accesses that started or ended while the punch (truncate down) system
    /// call was in flight.
    pub hits: u64,
}

#[derive(Default)]
struct Detections {
    count: u64,
    live: u64,
    first: Option<Detection>,
}

struct Race<'a> {
    cfg: &'a Config,
    sc: Scenario,
    file: File,
    inject: File,
    page: usize,
    npages: usize,
    nwords: usize,
    wpp: usize,
    barrier: Barrier,
    round: AtomicU64,
    /// Round whose punch (truncate) has begun.
    op_gen: AtomicU64,
    /// Odd while the punch (truncate down) system call runs.
    op_seq: AtomicU64,
    /// Hits of all workers up to the last finished race phase.
    hits: AtomicU64,
    done_gen: AtomicU64,
    down_gen: AtomicU64,
    stop_round: AtomicU64,
    /// Workers that entered the race phase of this round.
    racing: AtomicUsize,
    quit: AtomicBool,
    /// truncate: bytes kept by the cut of this round.
    cut: AtomicUsize,
    /// Sequence window per writer id (index 0 unused).
    lo: Vec<AtomicU32>,
    hi: Vec<AtomicU32>,
    /// write-race: per worker, last sequence started / completed.
    started: Vec<AtomicU32>,
    done: Vec<AtomicU32>,
    shared: Mutex<Option<Arc<Mapping>>>,
    op_reads: AtomicU64,
    /// Last round in which an access began during the punch.
    op_hit: AtomicU64,
    det: Mutex<Detections>,
    error: Mutex<Option<String>>,
    t0: Instant,
}

/// Uniform in `0..n`.
fn below(rng: &mut Xoshiro256PlusPlus, n: usize) -> usize {
    rng.below(n as u64) as usize
}

/// The k-th page of a sweep over `n` pages in `order` (0 forward, 1
/// backward, 2 strided); `None`: skip.  `k` runs over `0..sweep_len(n)`.
pub fn sweep_page(order: usize, k: usize, n: usize) -> Option<usize> {
    let rows = n.div_ceil(STRIDE);
    let p = match order {
        0 => k,
        1 => n.checked_sub(k + 1)?,
        _ => (k % rows) * STRIDE + k / rows,
    };
    (p < n).then_some(p)
}

pub fn sweep_len(n: usize) -> usize {
    n.div_ceil(STRIDE) * STRIDE
}

fn spin(us: u64) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_micros(us) {
        std::hint::spin_loop();
    }
}

impl Race<'_> {
    fn ms(&self) -> u64 {
        self.t0.elapsed().as_millis() as u64
    }

    fn fail(&self, what: &str, e: io::Error) {
        let mut err = self.error.lock().unwrap();
        if err.is_none() {
            *err = Some(format!("{what}: {e}"));
        }
    }

    fn failed(&self) -> bool {
        self.error.lock().unwrap().is_some()
    }

    /// The first error a thread hit, as the run's error.
    fn take_error(&self) -> anyhow::Error {
        let e = self.error.lock().unwrap().take();
        anyhow!(e.unwrap_or_else(|| "unknown error".into()))
    }

    fn running(&self, round: u64) -> bool {
        self.stop_round.load(Ordering::Acquire) != round
    }

    fn window_vecs(&self) -> (Vec<u32>, Vec<u32>) {
        let get = |v: &[AtomicU32]| v.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        (get(&self.lo), get(&self.hi))
    }

    fn first_word(&self) -> usize {
        if self.cuts() {
            self.cut.load(Ordering::Relaxed).div_ceil(8)
        } else {
            0
        }
    }

    /// Whether the bytes before `cut` keep their data this round: a
    /// truncate, or a punch of split geometry.
    fn cuts(&self) -> bool {
        self.sc == Scenario::Truncate || self.cfg.geometry == Geometry::Split
    }

    /// A random cut: a page boundary inside the range, or with split
    /// geometry an 8-byte-aligned offset inside a page (never its start).
    fn random_cut(&self, rng: &mut Xoshiro256PlusPlus) -> usize {
        match self.cfg.geometry {
            Geometry::Aligned => (1 + below(rng, self.npages - 1)) * self.page,
            Geometry::Split => {
                below(rng, self.npages) * self.page + 8 * (1 + below(rng, self.wpp - 1))
            }
        }
    }

    /// Count an access that begins while the punch (truncate) is in flight;
    /// returns `op_seq` as the access begins, for `hit_end`.
    fn count_op_read(&self, w: &mut Worker, round: u64) -> u64 {
        if self.op_gen.load(Ordering::Acquire) == round
            && self.done_gen.load(Ordering::Acquire) != round
        {
            w.op_reads += 1;
        }
        self.op_seq.load(Ordering::Acquire)
    }

    /// The access that began at `op_seq` `seq` ended: a hit if either was odd.
    fn hit_end(&self, w: &mut Worker, seq: u64) {
        if (seq | self.op_seq.load(Ordering::Acquire)) & 1 == 1 {
            w.hits += 1;
        }
    }

    fn live_gen(&self) -> &AtomicU64 {
        match self.sc {
            Scenario::Truncate => &self.down_gen,
            _ => &self.done_gen,
        }
    }

    fn writable(&self) -> bool {
        self.sc == Scenario::WriteRace
    }

    fn map(&self) -> Option<Mapping> {
        let len = self.cfg.size as usize;
        let access = if self.writable() {
            Access::ReadWrite
        } else {
            Access::Read
        };
        // truncate: an access past the cut raises SIGBUS; the guard turns
        // the page into a zero page, never taken for stale data.
        let m = if self.sc == Scenario::Truncate {
            Mapping::guarded(&self.file, len, access)
        } else {
            Mapping::new(&self.file, len, access)
        };
        m.map_err(|e| self.fail("mmap", e)).ok()
    }

    fn shared(&self) -> Arc<Mapping> {
        Arc::clone(
            self.shared
                .lock()
                .unwrap()
                .as_ref()
                .expect("shared mapping"),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        round: u64,
        view: &'static str,
        thread: usize,
        word: usize,
        value: u64,
        class: Class,
        bad_words: u64,
        live: bool,
    ) {
        let mut d = self.det.lock().unwrap();
        d.count += 1;
        d.live += u64::from(live);
        if d.first.is_none() {
            d.first = Some(Detection {
                round,
                ms: self.ms(),
                offset: word as u64 * 8,
                value,
                view,
                thread,
                class,
                bad_words,
            });
        }
    }

    /// Check words read after the punch returned; `words` yields (word
    /// index, value).  Reports the first bad word and the count.
    fn check(
        &self,
        round: u64,
        view: &'static str,
        thread: usize,
        words: impl Iterator<Item = (usize, u64)>,
    ) {
        let (lo, hi) = self.window_vecs();
        let w = Window { lo: &lo, hi: &hi };
        let mut first = None;
        let mut bad = 0;
        for (i, v) in words.filter(|&(_, v)| v != 0) {
            let c = w.classify(v, i as u64);
            if c.is_detection() {
                bad += 1;
                first.get_or_insert((i, v, c));
            }
        }
        if let Some((i, v, c)) = first {
            self.report(round, view, thread, i, v, c, bad, false);
        }
    }

    fn verify_map(&self, round: u64, m: &Mapping, view: &'static str, thread: usize) {
        let from = self.first_word();
        let words = m.words()[from..self.nwords].iter();
        let it = words
            .enumerate()
            .map(|(i, a)| (from + i, a.load(Ordering::Relaxed)));
        self.check(round, view, thread, it);
    }

    fn verify_pread(&self, round: u64, buf: &mut [u8], view: &'static str, thread: usize) {
        let from = self.first_word();
        let chunk = buf.len() / 8;
        let (lo, hi) = self.window_vecs();
        let win = Window { lo: &lo, hi: &hi };
        let mut first = None;
        let mut bad = 0;
        for w0 in (from..self.nwords).step_by(chunk) {
            let n = chunk.min(self.nwords - w0);
            let got = match self.file.read_at(&mut buf[..n * 8], w0 as u64 * 8) {
                Ok(got) => got,
                Err(e) => return self.fail("pread", e),
            };
            for (i, b) in buf[..got / 8 * 8].chunks_exact(8).enumerate() {
                let v = u64::from_ne_bytes(b.try_into().unwrap());
                let c = win.classify(v, (w0 + i) as u64);
                if c.is_detection() {
                    bad += 1;
                    first.get_or_insert((w0 + i, v, c));
                }
            }
        }
        if let Some((i, v, c)) = first {
            self.report(round, view, thread, i, v, c, bad, false);
        }
    }

    /// A read of `word` that began when the live generation was `gen`
    /// returned `v`: non-zero is stale once the punch of `round` returned.
    fn live_check(
        &self,
        w: &mut Worker,
        round: u64,
        gen: u64,
        view: &'static str,
        word: usize,
        v: u64,
    ) {
        if v == 0 || gen != round || w.live_round == round {
            return;
        }
        if self.cuts() && word * 8 < self.cut.load(Ordering::Relaxed) {
            return;
        }
        w.live_round = round;
        let lo = [0, round as u32];
        let win = Window { lo: &lo, hi: &lo };
        let class = win.classify(v, word as u64);
        self.report(round, view, w.id + 2, word, v, class, 1, true);
    }

    fn fault_sweep(
        &self,
        w: &mut Worker,
        round: u64,
        m: &Mapping,
        view: &'static str,
        order: usize,
    ) -> bool {
        let words = m.words();
        for k in 0..sweep_len(self.npages) {
            let Some(p) = sweep_page(order, k, self.npages) else {
                continue;
            };
            if k % 16 == 0 && !self.running(round) {
                return false;
            }
            let word = p * self.wpp;
            let seq = self.count_op_read(w, round);
            let gen = self.live_gen().load(Ordering::Acquire);
            let v = words[word].load(Ordering::Relaxed);
            self.hit_end(w, seq);
            self.live_check(w, round, gen, view, word, v);
        }
        true
    }

    fn pread_sweep(&self, w: &mut Worker, round: u64, order: usize) -> bool {
        let nchunks = self.npages.div_ceil(CHUNK_PAGES);
        let cw = CHUNK_PAGES * self.wpp;
        for k in 0..sweep_len(nchunks) {
            let Some(c) = sweep_page(order, k, nchunks) else {
                continue;
            };
            if !self.running(round) {
                return false;
            }
            let word = c * cw;
            let n = cw.min(self.nwords - word);
            let seq = self.count_op_read(w, round);
            let gen = self.live_gen().load(Ordering::Acquire);
            let res = self.file.read_at(&mut w.buf[..n * 8], word as u64 * 8);
            self.hit_end(w, seq);
            let got = match res {
                Ok(got) => got,
                Err(e) => {
                    self.fail("pread", e);
                    return false;
                }
            };
            for i in 0..got / 8 {
                let v = u64::from_ne_bytes(w.buf[i * 8..i * 8 + 8].try_into().unwrap());
                self.live_check(w, round, gen, "pread-live", word + i, v);
            }
        }
        true
    }

    /// write-race: one stamped write of 1..=CHUNK_PAGES pages, whole pages
    /// through pwrite, the first word of each page through a mapping.
    /// Rounds 3, 7, ... write through the mappings only: a pwrite waits for
    /// the punch's i_rwsem, so a writer that mixes in pwrites spends the
    /// window blocked.  Their writes are paced (0-255 us apart): a write
    /// fault during a locked punch waits in ->page_mkwrite until the punch
    /// ends, so only a writer's first fault after the punch unmapped the
    /// range counts, and unpaced it comes at once, while the cache is still
    /// being truncated, instead of anywhere in the window.
    fn stamped_write(&self, w: &mut Worker, own: Option<&Mapping>, shared: &Mapping) {
        let seq = self.started[w.id].load(Ordering::Relaxed).wrapping_add(1) & stamp::SEQ_MASK;
        let p0 = below(&mut w.rng, self.npages);
        let np = (1 + below(&mut w.rng, CHUNK_PAGES)).min(self.npages - p0);
        let (w0, n) = (p0 * self.wpp, np * self.wpp);
        let writer = stamp::WRITER0 + w.id as u32;
        self.started[w.id].store(seq, Ordering::Relaxed);
        let round = self.round.load(Ordering::Relaxed);
        let op_seq = self.count_op_read(w, round);
        if seq & 1 == 1 && round % 4 != 3 {
            for i in 0..n {
                let v = stamp::encode(writer, seq, (w0 + i) as u64);
                w.buf[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
            }
            if let Err(e) = self.file.write_all_at(&w.buf[..n * 8], w0 as u64 * 8) {
                self.fail("pwrite", e);
            }
        } else {
            let m = if seq & 2 == 2 {
                shared
            } else {
                own.unwrap_or(shared)
            };
            for i in (w0..w0 + n).step_by(self.wpp) {
                m.words()[i].store(stamp::encode(writer, seq, i as u64), Ordering::Relaxed);
            }
        }
        self.hit_end(w, op_seq);
        self.done[w.id].store(seq, Ordering::Release);
        if round % 4 == 3 {
            spin(w.rng.below(256));
        }
    }

    fn worker_race(&self, w: &mut Worker, round: u64) {
        let shared = self.shared();
        // read-race: only odd rounds have the pattern in the store (fill
        // syncs and drops it), so they alternate between buffered reads
        // only (rounds 1, 5, ...) and mmap faults only (3, 7, ...): both
        // paths must read the store while a punch runs, and a pread begun
        // during a locked punch waits for it (readahead takes
        // invalidate_lock), which would keep a racer out of the window an
        // unlocked ->fault races in.
        let pread_only = self.sc == Scenario::ReadRace && round % 4 == 1;
        let fault_only = self.sc == Scenario::ReadRace && round % 4 == 3;
        let per_round = self.sc == Scenario::Truncate;
        if per_round {
            w.map = self.map().map(Arc::new);
        }
        // Sweeps go fault (own mapping), fault (shared), pread, pread, as in
        // holefs_race.c.  The two fault sweeps come first: in a fault round
        // the punch starts while the first one runs, and a pread begun then
        // waits for a locked punch (readahead takes invalidate_lock), so a
        // pread second would sit out the window an unlocked ->fault races in.
        let mut sweep = 0usize;
        while self.running(round) {
            let order = (w.id + sweep / 2) % 3;
            let use_shared = sweep % 2 == 1;
            let pread = pread_only
                || (!fault_only
                    && matches!(self.sc, Scenario::ReadRace | Scenario::Truncate)
                    && sweep & 2 != 0);
            sweep += 1;
            if self.sc == Scenario::WriteRace {
                let own = w.map.clone();
                self.stamped_write(w, own.as_deref(), &shared);
                continue;
            }
            if pread {
                if !self.pread_sweep(w, round, order) {
                    break;
                }
                continue;
            }
            let (m, view) = if use_shared {
                (Arc::clone(&shared), "map-shared-live")
            } else if self.sc == Scenario::MapPagesHot {
                // A fresh mapping: its faults go through fault-around.
                match self.map() {
                    Some(m) => (Arc::new(m), "map-own-live"),
                    None => break,
                }
            } else {
                match &w.map {
                    Some(m) => (Arc::clone(m), "map-own-live"),
                    None => break,
                }
            };
            let more = self.fault_sweep(w, round, &m, view, order);
            if let Err(e) = m.dontneed() {
                self.fail("madvise", e);
            }
            if !more {
                break;
            }
        }
        if self.sc == Scenario::WriteRace {
            let id = stamp::WRITER0 as usize + w.id;
            self.hi[id].store(
                self.started[w.id].load(Ordering::Relaxed),
                Ordering::Relaxed,
            );
        }
    }

    fn worker_verify(&self, w: &mut Worker, round: u64) {
        let thread = w.id + 2;
        let fresh = matches!(
            self.sc,
            Scenario::MapPagesHot | Scenario::ReadRace | Scenario::Truncate
        );
        if self.sc == Scenario::Truncate {
            // The race mappings may hold zero pages patched in on SIGBUS.
            w.map = None;
        }
        if let Some(m) = &w.map {
            self.verify_map(round, m, "map-own", thread);
            if let Err(e) = m.dontneed() {
                self.fail("madvise", e);
            }
        }
        if w.id as u64 == round % self.cfg.threads as u64 {
            self.verify_map(round, &self.shared(), "map-shared", thread);
        }
        if fresh {
            if let Some(m) = self.map() {
                self.verify_map(round, &m, "map-fresh", thread);
            }
        }
    }

    fn worker(&self, mut w: Worker) {
        loop {
            self.barrier.wait(); // RACE starts
            if self.quit.load(Ordering::Acquire) {
                break;
            }
            let round = self.round.load(Ordering::Relaxed);
            self.racing.fetch_add(1, Ordering::Release);
            let (before, hits) = (w.op_reads, w.hits);
            self.worker_race(&mut w, round);
            if w.op_reads != before {
                self.op_hit.store(round, Ordering::Relaxed);
            }
            self.hits.fetch_add(w.hits - hits, Ordering::Relaxed);
            self.barrier.wait(); // all idle: VERIFY
            self.worker_verify(&mut w, round);
            self.barrier.wait(); // VERIFY done
        }
        self.op_reads.fetch_add(w.op_reads, Ordering::Relaxed);
    }

    fn fill(&self, round: u64, buf: &mut [u8]) -> io::Result<()> {
        for (i, b) in buf.chunks_exact_mut(8).enumerate() {
            b.copy_from_slice(&stamp::encode(stamp::FILLER, round as u32, i as u64).to_ne_bytes());
        }
        self.file.write_all_at(buf, 0)?;
        // The store must hold the pattern, or a fault that reads it back
        // during the punch finds zeros.  map-pages-hot keeps the folios
        // (clean, uptodate) in the cache; the others drop them on odd
        // rounds so the data must come back from the store.
        let hot = self.sc == Scenario::MapPagesHot;
        if hot || round % 2 == 1 {
            self.file.sync_data()?;
        }
        if !hot && round % 2 == 1 {
            fadvise_dontneed(&self.file, 0, self.cfg.size)?;
        }
        if (round >> 1) & 1 == 1 {
            // Pre-fault through the shared mapping.
            let shared = self.shared();
            for a in shared.words().iter().step_by(self.wpp) {
                a.load(Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn inject_stale(&self, round: u64, rng: &mut Xoshiro256PlusPlus) {
        let from = self.first_word();
        for _ in 0..INJECT_WORDS {
            // First word of a page, where the live checks look too.
            let w = from + below(rng, (self.nwords - from) / self.wpp) * self.wpp;
            let v = stamp::encode(stamp::FILLER, round as u32, w as u64);
            if let Err(e) = self.inject.write_all_at(&v.to_ne_bytes(), w as u64 * 8) {
                self.fail("pwrite inject", e);
            }
        }
    }

    /// The controller's RACE phase: punch, or truncate down and up.
    fn op(&self, round: u64, rng: &mut Xoshiro256PlusPlus) -> io::Result<()> {
        // Let the workers get going (up to 20 ms), then a random delay.
        let t = Instant::now();
        while self.racing.load(Ordering::Acquire) < self.cfg.threads
            && t.elapsed() < Duration::from_millis(20)
        {
            std::hint::spin_loop();
        }
        spin(rng.below(200));
        if self.sc == Scenario::WriteRace {
            for (i, d) in self.done.iter().enumerate() {
                let id = stamp::WRITER0 as usize + i;
                self.lo[id].store(d.load(Ordering::Acquire), Ordering::Relaxed);
            }
        }
        self.op_gen.store(round, Ordering::Release);
        if self.sc == Scenario::Truncate {
            let cut = self.random_cut(rng);
            self.cut.store(cut, Ordering::Relaxed);
            self.op_seq.fetch_add(1, Ordering::Release);
            let res = self.file.set_len(cut as u64);
            self.op_seq.fetch_add(1, Ordering::Release);
            res?;
            self.down_gen.store(round, Ordering::Release);
            spin(rng.below(500));
            return self.file.set_len(self.cfg.size);
        }
        let (start, len) = if self.cfg.geometry == Geometry::Split {
            let cut = self.random_cut(rng);
            self.cut.store(cut, Ordering::Relaxed);
            (cut as u64, self.cfg.size - cut as u64)
        } else {
            (0, self.cfg.size)
        };
        self.op_seq.fetch_add(1, Ordering::Release);
        let res = punch_hole(&self.file, start, len);
        self.op_seq.fetch_add(1, Ordering::Release);
        res
    }

    fn over(&self, round: u64) -> bool {
        // A hit budget: enough hits, or a detection decided the verdict.
        let hits_done = self.cfg.hits != 0
            && (self.hits.load(Ordering::Relaxed) >= self.cfg.hits
                || self.det.lock().unwrap().count != 0);
        self.failed()
            || hits_done
            || (self.cfg.iterations != 0 && round >= self.cfg.iterations)
            || (self.cfg.duration_ms != 0 && self.ms() >= self.cfg.duration_ms)
    }

    /// Returns (rounds, rounds in which the punch was hit by an access).
    fn controller(&self) -> (u64, u64) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.cfg.seed);
        let mut fill = vec![0u8; self.cfg.size as usize];
        let mut buf = vec![0u8; CHUNK_PAGES * self.page];
        let mut round = 0;
        let mut op_rounds = 0;
        loop {
            round += 1;
            self.round.store(round, Ordering::Relaxed);
            self.lo[stamp::FILLER as usize]
                .store(round as u32 & stamp::SEQ_MASK, Ordering::Relaxed);
            self.hi[stamp::FILLER as usize]
                .store(round as u32 & stamp::SEQ_MASK, Ordering::Relaxed);
            self.cut.store(self.cfg.size as usize, Ordering::Relaxed);
            if self.sc == Scenario::Truncate {
                *self.shared.lock().unwrap() = self.map().map(Arc::new);
            }
            if let Err(e) = self.fill(round, &mut fill) {
                self.fail("fill", e);
            }
            self.racing.store(0, Ordering::Relaxed);
            self.barrier.wait(); // RACE starts
            let res = self.op(round, &mut rng);
            if self.sc == Scenario::WriteRace {
                self.stop_round.store(round, Ordering::Release);
            }
            if let Err(e) = res {
                let what = match self.sc {
                    Scenario::Truncate => "ftruncate",
                    _ => "fallocate(PUNCH_HOLE)",
                };
                self.fail(what, e);
            } else if self.cfg.inject_stale {
                self.inject_stale(round, &mut rng);
            }
            self.done_gen.store(round, Ordering::Release);
            if self.sc != Scenario::WriteRace {
                self.verify_pread(round, &mut buf, "pread", 1);
                self.stop_round.store(round, Ordering::Release);
            }
            self.barrier.wait(); // all idle: VERIFY
            if self.sc == Scenario::WriteRace {
                self.verify_pread(round, &mut buf, "pread", 1);
            }
            self.barrier.wait(); // VERIFY done
            if let Err(e) = self.shared().dontneed() {
                self.fail("madvise", e);
            }
            op_rounds += u64::from(self.op_hit.load(Ordering::Relaxed) == round);
            if self.over(round) {
                break;
            }
        }
        self.quit.store(true, Ordering::Release);
        self.barrier.wait();
        (round, op_rounds)
    }
}

struct Worker {
    id: usize,
    rng: Xoshiro256PlusPlus,
    map: Option<Arc<Mapping>>,
    buf: Vec<u8>,
    live_round: u64,
    op_reads: u64,
    hits: u64,
}

/// A scratch file in the directory under test, removed on drop.
struct TempFile {
    path: PathBuf,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn create_file(cfg: &Config) -> io::Result<(TempFile, File, File)> {
    let pid = std::process::id();
    for n in 0..1000 {
        let path = cfg.dir.join(format!("holefs-repro.{pid}.{n}"));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => {
                let tmp = TempFile { path };
                let inject = OpenOptions::new().write(true).open(&tmp.path)?;
                f.set_len(cfg.size)?;
                return Ok((tmp, f, inject));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free file name",
    ))
}

/// Run one scenario; `Err` is a setup or system call error (exit status 2).
pub fn run(cfg: &Config) -> anyhow::Result<Outcome> {
    let page = holefs_common::page_size();
    let (_tmp, file, inject) =
        create_file(cfg).with_context(|| format!("create a file in {}", cfg.dir.display()))?;
    punch_hole(&file, 0, cfg.size)
        .with_context(|| format!("fallocate(PUNCH_HOLE) in {}", cfg.dir.display()))?;
    let nwriters = match cfg.scenario {
        Scenario::WriteRace => stamp::WRITER0 as usize + cfg.threads,
        _ => stamp::FILLER as usize + 1,
    };
    let atomics = |n| (0..n).map(|_| AtomicU32::new(0)).collect::<Vec<_>>();
    let size = cfg.size as usize;
    let race = Race {
        cfg,
        sc: cfg.scenario,
        file,
        inject,
        page,
        npages: size / page,
        nwords: size / 8,
        wpp: page / 8,
        barrier: Barrier::new(cfg.threads + 1),
        round: AtomicU64::new(0),
        op_gen: AtomicU64::new(0),
        op_seq: AtomicU64::new(0),
        hits: AtomicU64::new(0),
        done_gen: AtomicU64::new(0),
        down_gen: AtomicU64::new(0),
        stop_round: AtomicU64::new(0),
        racing: AtomicUsize::new(0),
        quit: AtomicBool::new(false),
        cut: AtomicUsize::new(size),
        lo: atomics(nwriters),
        hi: atomics(nwriters),
        started: atomics(cfg.threads),
        done: atomics(cfg.threads),
        shared: Mutex::new(None),
        op_reads: AtomicU64::new(0),
        op_hit: AtomicU64::new(0),
        det: Mutex::new(Detections::default()),
        error: Mutex::new(None),
        t0: Instant::now(),
    };
    let persistent = !matches!(cfg.scenario, Scenario::MapPagesHot | Scenario::Truncate);
    let mut workers = Vec::new();
    for id in 0..cfg.threads {
        let map = if persistent {
            Some(Arc::new(race.map().ok_or_else(|| race.take_error())?))
        } else {
            None
        };
        workers.push(Worker {
            id,
            rng: Xoshiro256PlusPlus::seed_from_u64(
                cfg.seed ^ (id as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9),
            ),
            map,
            buf: vec![0u8; CHUNK_PAGES * page],
            live_round: 0,
            op_reads: 0,
            hits: 0,
        });
    }
    if cfg.scenario != Scenario::Truncate {
        let m = race.map().ok_or_else(|| race.take_error())?;
        *race.shared.lock().unwrap() = Some(Arc::new(m));
    }
    let (rounds, op_rounds) = std::thread::scope(|s| {
        for w in workers {
            let race = &race;
            s.spawn(move || race.worker(w));
        }
        race.controller()
    });
    if race.failed() {
        return Err(race.take_error());
    }
    let d = race.det.into_inner().unwrap();
    Ok(Outcome {
        rounds,
        detections: d.count,
        live_detections: d.live,
        first: d.first,
        elapsed_ms: race.t0.elapsed().as_millis() as u64,
        sigbus: sigbus::patched(),
        op_reads: race.op_reads.load(Ordering::Relaxed),
        op_rounds,
        hits: race.hits.load(Ordering::Relaxed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_visit_every_page_once() {
        for n in [1, 2, 15, 16, 17, 100, 1024] {
            for order in 0..3 {
                let mut seen: Vec<usize> = (0..sweep_len(n))
                    .filter_map(|k| sweep_page(order, k, n))
                    .collect();
                seen.sort_unstable();
                assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n={n} order={order}");
            }
        }
    }
}
