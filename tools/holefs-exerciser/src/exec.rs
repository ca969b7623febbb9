// SPDX-License-Identifier: GPL-2.0
//! Runs a sequence of operations on real files and on the model, and
//! compares what the file system answers with what the model predicts.

use crate::model::FileModel;
use crate::op::{Kind, Op};
use crate::pattern::{fill_pattern, pattern_byte};
use crate::sys::{self, Whence};
use holefs_common::file::{drop_caches, fadvise_dontneed};
use holefs_common::map::{Access, Mapping};
use rustix::fs::FallocateFlags;
use rustix::io::Errno;
use std::ffi::CString;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How to run: the environment and which checks apply.
#[derive(Clone, Debug)]
pub struct Env {
    pub dir: PathBuf,
    pub page: u64,
    pub files: usize,
    /// Mount point to remount for `remount` operations.
    pub remount_point: Option<CString>,
    /// ENOSPC is an outcome to check rather than an error.
    pub allow_enospc: bool,
    /// EOPNOTSUPP from fallocate is counted rather than an error.
    pub allow_eopnotsupp: bool,
    /// holefs's allocation rules: st_blocks and SEEK_DATA/SEEK_HOLE exact.
    pub exact: bool,
    /// Self-test: the model has a planted punch bug.
    pub inject_model_bug: bool,
    /// Print each operation before running it.
    pub trace: bool,
    /// Leave the files behind.
    pub keep: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// The file system disagreed with the model at operation `op`.
    Divergence {
        op: usize,
        msg: String,
    },
    /// Something failed that is not a disagreement (a system call error).
    Error {
        op: usize,
        msg: String,
    },
}

#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Operations run (completely or up to the failure).
    pub done: u64,
    pub per_kind: [u64; Kind::ALL.len()],
    /// Operations that got ENOSPC (or SIGBUS for a store) and were checked
    /// to have changed nothing (or only what they report).
    pub enospc: u64,
    /// Of those, stores through a mapping that got SIGBUS.
    pub sigbus: u64,
    /// mmap operations on an empty file: nothing to do.
    pub skipped: u64,
    pub unsupported: u64,
}

pub struct Outcome {
    pub verdict: Verdict,
    pub stats: Stats,
    pub elapsed: Duration,
}

/// A disagreement or an error, while running one operation.
enum Stop {
    Diverge(String),
    Error(String),
}

type Res = Result<(), Stop>;

fn err(what: &str, e: io::Error) -> Stop {
    Stop::Error(format!("{what}: {e}"))
}

/// FALLOC_FL_KEEP_SIZE if `keep`.
fn keep_size(keep: bool) -> FallocateFlags {
    if keep {
        FallocateFlags::KEEP_SIZE
    } else {
        FallocateFlags::empty()
    }
}

fn is_errno(e: &io::Error, errno: Errno) -> bool {
    e.raw_os_error() == Some(errno.raw_os_error())
}

/// Data put into a file by an operation, for tracing stale data back.
struct Stored {
    op: usize,
    f: usize,
    start: u64,
    end: u64,
    pat: u64,
}

struct Runner<'a> {
    env: &'a Env,
    ops: &'a [Op],
    files: Vec<File>,
    paths: Vec<PathBuf>,
    models: Vec<FileModel>,
    history: Vec<Stored>,
    stats: Stats,
    /// Index of the running operation.
    cur: usize,
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Runner<'_> {
    fn page(&self) -> u64 {
        self.env.page
    }

    /// Compares what a read returned (`got`, from file offset `off`) with
    /// the expectation; describes the first difference.
    fn compare(&self, f: usize, what: &str, off: u64, expected: &[u8], got: &[u8]) -> Res {
        if expected.len() != got.len() {
            return Err(Stop::Diverge(format!(
                "{what} at {off}: {} bytes, expected {} (size {})",
                got.len(),
                expected.len(),
                self.models[f].size()
            )));
        }
        let Some(i) = expected.iter().zip(got).position(|(a, b)| a != b) else {
            return Ok(());
        };
        let bad = expected.iter().zip(got).filter(|(a, b)| a != b).count();
        let last = expected.iter().zip(got).rposition(|(a, b)| a != b).unwrap();
        let at = off + i as u64;
        let (ws, we) = (i.saturating_sub(4), (i + 12).min(got.len()));
        let mut msg = format!(
            "{what}: byte {at} (page {} + {}) is {:#04x}, expected {:#04x}; {bad} bytes differ in [{}, {}]; got [{}..]: {} expected: {}",
            at / self.page(),
            at % self.page(),
            got[i],
            expected[i],
            at,
            off + last as u64,
            off + ws as u64,
            hex(&got[ws..we]),
            hex(&expected[ws..we])
        );
        msg += &self.trace_byte(f, at, got[i]);
        Err(Stop::Diverge(msg))
    }

    /// Which earlier operation put `value` at `at`, if one did.
    fn trace_byte(&self, f: usize, at: u64, value: u8) -> String {
        if value == 0 {
            return "; got zero (a lost write, or zeroing too much)".into();
        }
        for s in self.history.iter().rev() {
            if s.f == f && s.start <= at && at < s.end && pattern_byte(s.pat, at) == value {
                return format!(
                    "; got what op {} stored there ({}): stale data",
                    s.op, self.ops[s.op]
                );
            }
        }
        "; got a value no earlier operation stored there".into()
    }

    /// st_size, and st_blocks: exact under `--exact`, else (with `blocks`)
    /// at least the pages holding non-zero data.
    fn check_stat(&self, f: usize, blocks: bool) -> Res {
        let st = self.files[f].metadata().map_err(|e| err("fstat", e))?;
        let (size, st_blocks) = (st.len(), st.blocks());
        let m = &self.models[f];
        if size != m.size() {
            return Err(Stop::Diverge(format!(
                "st_size is {size}, expected {}",
                m.size()
            )));
        }
        let bytes = st_blocks * 512;
        if self.env.exact && bytes != m.alloc_pages() * self.page() {
            return Err(Stop::Diverge(format!(
                "st_blocks is {st_blocks} ({} pages), expected {} allocated pages",
                bytes as f64 / self.page() as f64,
                m.alloc_pages()
            )));
        }
        if blocks {
            let need = m.nonzero_pages().len() as u64;
            if bytes < need * self.page() {
                return Err(Stop::Diverge(format!(
                    "st_blocks is {st_blocks}, less than the {need} pages holding non-zero data"
                )));
            }
        }
        Ok(())
    }

    /// Reads the whole file (and a page past EOF) and compares.
    fn verify(&self, f: usize, why: &str) -> Res {
        let m = &self.models[f];
        let mut buf = vec![0u8; (m.size() + self.page()) as usize];
        let n = sys::pread_full(&self.files[f], &mut buf, 0).map_err(|e| err("pread", e))?;
        self.compare(
            f,
            &format!("{why}: whole-file read"),
            0,
            m.data(),
            &buf[..n],
        )?;
        self.check_stat(f, true)
    }

    fn seek(&self, f: usize, off: u64, whence: Whence) -> Result<Option<u64>, Stop> {
        let name = whence.name();
        sys::lseek(&self.files[f], off, whence).map_err(|e| err(&format!("lseek {name} {off}"), e))
    }

    /// Walks SEEK_DATA/SEEK_HOLE over the file; checks the extents against
    /// the model, and a probe at `probe % (size + 1)`.
    fn check_seek(&self, f: usize, probe: u64) -> Res {
        let m = &self.models[f];
        let size = m.size();
        let div = |s: String| Err(Stop::Diverge(s));
        let mut extents: Vec<(u64, u64)> = Vec::new();
        let mut pos = 0;
        while pos < size {
            let Some(d) = self.seek(f, pos, Whence::Data)? else {
                break;
            };
            if d < pos || d >= size {
                return div(format!("SEEK_DATA({pos}) = {d}, size {size}"));
            }
            let h = match self.seek(f, d, Whence::Hole)? {
                Some(h) if h > d && h <= size => h,
                h => {
                    return div(format!(
                        "SEEK_HOLE({d}) = {h:?} after SEEK_DATA({pos}) = {d}, size {size}"
                    ))
                }
            };
            extents.push((d, h));
            pos = h;
        }
        for whence in [Whence::Data, Whence::Hole] {
            if let Some(r) = self.seek(f, size, whence)? {
                return div(format!(
                    "{}({size}) at EOF = {r}, expected ENXIO",
                    whence.name()
                ));
            }
        }
        // Every non-zero byte lies in data.
        let data = m.data();
        let mut ei = 0;
        for (i, &b) in data.iter().enumerate() {
            let i = i as u64;
            while ei < extents.len() && extents[ei].1 <= i {
                ei += 1;
            }
            if b != 0 && !(ei < extents.len() && extents[ei].0 <= i) {
                return div(format!(
                    "byte {i} (page {}) is non-zero but lies in a hole; data extents {extents:?}",
                    i / self.page()
                ));
            }
        }
        if self.env.exact {
            let want = m.alloc_extents();
            if extents != want {
                return div(format!(
                    "data extents {extents:?}, expected the allocated pages {want:?}"
                ));
            }
        }
        // A probe in the middle must agree with the walk.
        let p = probe % (size + 1);
        let inside = extents.iter().find(|&&(s, e)| s <= p && p < e);
        let (want_data, want_hole) = if p >= size {
            (None, None)
        } else if let Some(&(_, e)) = inside {
            (Some(p), Some(e))
        } else {
            (
                extents.iter().find(|&&(s, _)| s > p).map(|&(s, _)| s),
                Some(p),
            )
        };
        let got_data = self.seek(f, p, Whence::Data)?;
        let got_hole = self.seek(f, p, Whence::Hole)?;
        if got_data != want_data || got_hole != want_hole {
            return div(format!(
                "probe at {p}: SEEK_DATA {got_data:?} SEEK_HOLE {got_hole:?}, expected {want_data:?} {want_hole:?} from extents {extents:?}"
            ));
        }
        Ok(())
    }

    /// Handles an fallocate error: ENOSPC and EOPNOTSUPP (when allowed)
    /// must have changed nothing.
    fn falloc_error(&mut self, f: usize, kind: Kind, e: io::Error) -> Res {
        if is_errno(&e, Errno::NOSPC) && self.env.allow_enospc {
            self.stats.enospc += 1;
            return self.verify(f, &format!("after ENOSPC from {}", kind.name()));
        }
        if is_errno(&e, Errno::OPNOTSUPP) && self.env.allow_eopnotsupp {
            self.stats.unsupported += 1;
            return self.verify(f, &format!("after EOPNOTSUPP from {}", kind.name()));
        }
        Err(err(&format!("fallocate ({})", kind.name()), e))
    }

    fn fallocate(
        &mut self,
        f: usize,
        kind: Kind,
        mode: FallocateFlags,
        off: u64,
        len: u64,
    ) -> Result<bool, Stop> {
        match rustix::fs::fallocate(&self.files[f], mode, off, len).map_err(io::Error::from) {
            Ok(()) => Ok(true),
            Err(e) => self.falloc_error(f, kind, e).map(|()| false),
        }
    }

    /// A shared read-write mapping of the first `len` bytes of file `f`;
    /// SIGBUS in it (a store the file system refused, a load it could not
    /// serve) is absorbed and reported by `store` / `load`.
    fn map(&self, f: usize, len: u64) -> Result<Mapping, Stop> {
        let len = usize::try_from(len).map_err(|_| err("mmap", Errno::INVAL.into()))?;
        Mapping::guarded(&self.files[f], len, Access::ReadWrite).map_err(|e| err("mmap", e))
    }

    fn run_op(&mut self, op: &Op) -> Res {
        let ps = self.page();
        match *op {
            Op::Write { f, off, len, pat } => {
                let mut buf = vec![0u8; len as usize];
                fill_pattern(pat, off, &mut buf);
                let (n, e) = sys::pwrite_all(&self.files[f], &buf, off);
                self.models[f].write(off, &buf[..n]);
                self.history.push(Stored {
                    op: self.cur,
                    f,
                    start: off,
                    end: off + n as u64,
                    pat,
                });
                if let Some(e) = e {
                    if is_errno(&e, Errno::NOSPC) && self.env.allow_enospc {
                        self.stats.enospc += 1;
                        return self.verify(
                            f,
                            &format!("after ENOSPC from write ({n} of {len} bytes written)"),
                        );
                    }
                    return Err(err(&format!("pwrite ({n} of {len} bytes written)"), e));
                }
            }
            Op::MStore {
                f,
                off,
                len,
                pat,
                msync,
                eof,
            } => {
                let size = self.models[f].size();
                if size == 0 {
                    self.stats.skipped += 1;
                    return Ok(());
                }
                let map_len = size.div_ceil(ps) * ps;
                let (s, e) = if eof {
                    (size.saturating_sub(off % 32 + 1), map_len)
                } else {
                    let s = off % size;
                    (s, (s + len).min(size))
                };
                let mut buf = vec![0u8; (e - s) as usize];
                fill_pattern(pat, s, &mut buf);
                let mut map = self.map(f, map_len)?;
                let faults = map
                    .store(s as usize, &buf)
                    .map_err(|e| err("SIGBUS in too many pages of a store", e))?;
                let faults: Vec<u64> = faults.into_iter().map(|p| p as u64).collect();
                if msync {
                    map.msync(s as usize, (e - s) as usize)
                        .map_err(|e| err("msync", e))?;
                }
                drop(map);
                if faults.is_empty() {
                    self.models[f].store(s, &buf);
                } else if !self.env.allow_enospc {
                    return Err(Stop::Error(format!(
                        "SIGBUS storing to [{s}, {e}) through a mapping (pages {:?}); a full store? (--allow-enospc)",
                        faults.iter().map(|p| p / ps).collect::<Vec<_>>()
                    )));
                } else {
                    // Pages whose first store faulted got nothing.
                    let mut p = s / ps * ps;
                    while p < e {
                        let (cs, ce) = (p.max(s), (p + ps).min(e));
                        if faults.binary_search(&p).is_err() {
                            self.models[f].store(cs, &buf[(cs - s) as usize..(ce - s) as usize]);
                        }
                        p += ps;
                    }
                }
                self.history.push(Stored {
                    op: self.cur,
                    f,
                    start: s,
                    end: e,
                    pat,
                });
                if !faults.is_empty() {
                    self.stats.enospc += 1;
                    self.stats.sigbus += 1;
                    return self.verify(f, "after SIGBUS from a store");
                }
            }
            Op::Read { f, off, len } => {
                let size = self.models[f].size();
                let s = off % (size + ps);
                let mut buf = vec![0u8; len as usize];
                let n =
                    sys::pread_full(&self.files[f], &mut buf, s).map_err(|e| err("pread", e))?;
                let m = &self.models[f];
                self.compare(
                    f,
                    &format!("pread [{s}, {})", s + len),
                    s,
                    m.bytes(s, len),
                    &buf[..n],
                )?;
            }
            Op::MLoad { f, off, len } => {
                let size = self.models[f].size();
                if size == 0 {
                    self.stats.skipped += 1;
                    return Ok(());
                }
                let map_len = size.div_ceil(ps) * ps;
                let s = off % map_len;
                let e = (s + len).min(map_len);
                let mut buf = vec![0u8; (e - s) as usize];
                let mut map = self.map(f, map_len)?;
                let faults = map
                    .load(s as usize, &mut buf)
                    .map_err(|e| err("SIGBUS in too many pages of a load", e))?;
                drop(map);
                if !faults.is_empty() {
                    return Err(Stop::Diverge(format!(
                        "SIGBUS loading [{s}, {e}) through a mapping, size {size} (pages {:?})",
                        faults.iter().map(|&p| p as u64 / ps).collect::<Vec<_>>()
                    )));
                }
                let m = &self.models[f];
                let inside = (e.min(size) - s.min(size)) as usize;
                let what = format!("mmap load [{s}, {e})");
                self.compare(f, &what, s, m.bytes(s, e - s), &buf[..inside])?;
                if !m.tail_garbage {
                    let tail = &buf[inside..];
                    if let Some(i) = tail.iter().position(|&b| b != 0) {
                        let at = s.max(size) + i as u64;
                        return Err(Stop::Diverge(format!(
                            "{what}: byte {at} past EOF {size} in the last page reads {:#04x}, not zero{}",
                            tail[i],
                            self.trace_byte(f, at, tail[i])
                        )));
                    }
                }
            }
            Op::Punch { f, off, len } => {
                let mode = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
                if self.fallocate(f, Kind::Punch, mode, off, len)? {
                    self.models[f].punch(off, len);
                }
            }
            Op::Zero { f, off, len, keep } => {
                let mode = FallocateFlags::ZERO_RANGE | keep_size(keep);
                if self.fallocate(f, Kind::Zero, mode, off, len)? {
                    self.models[f].zero(off, len, keep);
                }
            }
            Op::Prealloc { f, off, len, keep } => {
                let mode = keep_size(keep);
                if self.fallocate(f, Kind::Prealloc, mode, off, len)? {
                    self.models[f].prealloc(off, len, keep);
                }
            }
            Op::Truncate { f, size } => {
                self.files[f]
                    .set_len(size)
                    .map_err(|e| err("ftruncate", e))?;
                self.models[f].truncate(size);
            }
            Op::Fsync { f } => self.files[f].sync_all().map_err(|e| err("fsync", e))?,
            Op::Fdatasync { f } => self.files[f].sync_data().map_err(|e| err("fdatasync", e))?,
            Op::Evict { f } => {
                self.files[f].sync_data().map_err(|e| err("fdatasync", e))?;
                fadvise_dontneed(&self.files[f], 0, 0).map_err(|e| err("posix_fadvise", e))?;
            }
            Op::DropCaches => drop_caches(3).map_err(|e| err("drop_caches", e))?,
            Op::Remount => match &self.env.remount_point {
                Some(p) => sys::remount(p).map_err(|e| err(&format!("remount {p:?}"), e))?,
                None => return Err(Stop::Error("remount: no mount point (--no-remount)".into())),
            },
            Op::Seek { f, off } => self.check_seek(f, off)?,
            Op::Stat { f } => self.check_stat(f, true)?,
            Op::Verify { f } => self.verify(f, "verify")?,
        }
        // Cheap checks after every operation.
        match op.file() {
            Some(f) => self.check_stat(f, false),
            None => (0..self.files.len()).try_for_each(|f| self.check_stat(f, false)),
        }
    }
}

fn open_files(env: &Env, tag: &str) -> io::Result<(Vec<File>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut paths = Vec::new();
    for i in 0..env.files {
        let path = env.dir.join(format!("hx-{}-{tag}-{i}", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&path)?;
        files.push(file);
        paths.push(path);
    }
    Ok((files, paths))
}

/// Runs `ops` on fresh files named after `tag`.
pub fn run(env: &Env, ops: &[Op], tag: &str) -> Outcome {
    let start = Instant::now();
    let (files, paths) = match open_files(env, tag) {
        Ok(x) => x,
        Err(e) => {
            return Outcome {
                verdict: Verdict::Error {
                    op: 0,
                    msg: format!("creating the files in {}: {e}", env.dir.display()),
                },
                stats: Stats::default(),
                elapsed: start.elapsed(),
            }
        }
    };
    let mut model = FileModel::new(env.page);
    model.bug_punch_edge = env.inject_model_bug;
    let mut r = Runner {
        env,
        ops,
        files,
        paths,
        models: vec![model; env.files],
        history: Vec::new(),
        stats: Stats::default(),
        cur: 0,
    };
    let mut verdict = Verdict::Ok;
    for (i, op) in ops.iter().enumerate() {
        if op.file().is_some_and(|f| f >= env.files) {
            verdict = Verdict::Error {
                op: i,
                msg: format!("{op}: file index out of range (--files {})", env.files),
            };
            break;
        }
        if env.trace {
            println!("op {i}: {op}");
        }
        r.cur = i;
        let res = r.run_op(op);
        r.stats.done += 1;
        r.stats.per_kind[op.kind().index()] += 1;
        match res {
            Ok(()) => {}
            Err(Stop::Diverge(msg)) => {
                verdict = Verdict::Divergence { op: i, msg };
                break;
            }
            Err(Stop::Error(msg)) => {
                verdict = Verdict::Error { op: i, msg };
                break;
            }
        }
    }
    // At the end, every file must still match.
    if verdict == Verdict::Ok && !ops.is_empty() {
        for f in 0..env.files {
            match r.verify(f, "final check") {
                Ok(()) => {}
                Err(Stop::Diverge(msg)) => {
                    verdict = Verdict::Divergence {
                        op: ops.len() - 1,
                        msg: format!("f={f}: {msg}"),
                    };
                    break;
                }
                Err(Stop::Error(msg)) => {
                    verdict = Verdict::Error {
                        op: ops.len() - 1,
                        msg,
                    };
                    break;
                }
            }
        }
    }
    let stats = std::mem::take(&mut r.stats);
    let paths = std::mem::take(&mut r.paths);
    drop(r);
    if !env.keep {
        for p in paths {
            let _ = std::fs::remove_file(p);
        }
    }
    Outcome {
        verdict,
        stats,
        elapsed: start.elapsed(),
    }
}

/// The operations before `upto` (inclusive) that matter for file `f`: its
/// own and the global ones; at most `n`, the latest.
pub fn recent_ops(ops: &[Op], upto: usize, f: Option<usize>, n: usize) -> Vec<(usize, &Op)> {
    let mut v: Vec<(usize, &Op)> = ops[..=upto]
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, op)| f.is_none() || op.file().is_none() || op.file() == f)
        .take(n)
        .collect();
    v.reverse();
    v
}

/// Renders ops as an op log.
pub fn op_log(ops: &[(usize, &Op)]) -> String {
    let mut s = String::new();
    for (i, op) in ops {
        let _ = writeln!(s, "  op {i}: {op}");
    }
    s
}
