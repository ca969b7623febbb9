// SPDX-License-Identifier: GPL-2.0
//! `holefs-audit batch`: the cells of one row, one after the other, in one
//! process.
//!
//! Under TCG every process start costs: loading this static binary from
//! the guest's 9p root takes about a second, and a `timeout` and a `dmesg`
//! pipeline per cell cost as much again, more than a typical cell runs.
//! So the guest script starts one process per row instead of one per cell,
//! and this module does per cell what it did around each: empty the
//! scratch directory, put a mark into the kernel log (the script maps the
//! kernel's reports to the cells by these marks afterwards, with one
//! `dmesg` per row), and kill a cell that hangs.
//!
//! A cell that outlives `--cell-timeout` gets an ERROR record from a
//! watchdog thread, which then ends the process with status 3 (after
//! restoring `fault_around_bytes`); the script starts the batch again with
//! `--skip` past it.

use crate::axes::{Geometry, Op, Racer};
use crate::cell::{self, Budget, Spec};
use crate::faultaround;
use crate::record::{Record, Verdict};
use anyhow::{bail, Context};
use clap::ValueEnum;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The exit status after the watchdog killed a cell.
pub const EXIT_CELL_TIMEOUT: i32 = 3;

/// Parse one line of a cell list: `<op> <geometry> <racer> test|control`.
pub fn parse_line(line: &str) -> anyhow::Result<Spec> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() != 4 {
        bail!("{line:?}: want \"<op> <geometry> <racer> test|control\"");
    }
    let op = Op::from_str(f[0], false).map_err(|e| anyhow::anyhow!("{line:?}: op: {e}"))?;
    let geometry =
        Geometry::from_str(f[1], false).map_err(|e| anyhow::anyhow!("{line:?}: geometry: {e}"))?;
    let racer =
        Racer::from_str(f[2], false).map_err(|e| anyhow::anyhow!("{line:?}: racer: {e}"))?;
    let control = match f[3] {
        "test" => false,
        "control" => true,
        k => bail!("{line:?}: kind {k:?}: want test or control"),
    };
    Ok(Spec {
        op,
        geometry,
        racer,
        control,
    })
}

/// Read a cell list; blank lines and `#` comments are skipped.
pub fn read_cells(path: &Path) -> anyhow::Result<Vec<Spec>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(parse_line)
        .collect()
}

/// Remove everything in `dir` (a killed cell leaves its scratch files).
fn empty_dir(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            std::fs::remove_dir_all(&p)?;
        } else {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(())
}

/// A line in the kernel log before each cell; best effort (root only).
fn kmsg_mark(fs: &str, spec: &Spec) {
    let kind = if spec.control { "control" } else { "test" };
    // One write(2): /dev/kmsg makes a record of each.
    let line = format!(
        "holefs-audit: cell fs={fs} op={} geometry={} racer={} kind={kind}\n",
        spec.op, spec.geometry, spec.racer
    );
    if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") {
        let _ = f.write_all(line.as_bytes());
    }
}

/// What the watchdog needs to know about the running cell.
struct Running {
    spec: Option<Spec>,
    since: Instant,
    /// Set by the watchdog once it wrote the cell's record.
    killed: bool,
}

pub struct Batch<'a> {
    pub dir: &'a Path,
    pub fs: &'a str,
    pub cells: &'a [Spec],
    pub skip: usize,
    pub cell_timeout: Option<Duration>,
    pub kmsg_marks: bool,
    pub json: &'a Option<PathBuf>,
    pub budget: Budget,
}

fn emit(rec: &Record, json: &Option<PathBuf>) -> anyhow::Result<()> {
    println!("{rec}");
    std::io::stdout().flush()?;
    if let Some(p) = json {
        rec.append_json(p)?;
    }
    Ok(())
}

impl Batch<'_> {
    /// Run the cells from `skip` on; the exit status (0, or
    /// `EXIT_CELL_TIMEOUT` from the watchdog, which does not return).
    pub fn run(&self) -> anyhow::Result<i32> {
        let state = Arc::new(Mutex::new(Running {
            spec: None,
            since: Instant::now(),
            killed: false,
        }));
        if let Some(limit) = self.cell_timeout {
            let (state, fs, json) = (state.clone(), self.fs.to_owned(), self.json.clone());
            std::thread::spawn(move || watchdog(&state, limit, &fs, &json));
        }
        let t0 = Instant::now();
        let todo = &self.cells[self.skip.min(self.cells.len())..];
        for (i, spec) in todo.iter().enumerate() {
            empty_dir(self.dir).with_context(|| format!("emptying {}", self.dir.display()))?;
            if self.kmsg_marks {
                kmsg_mark(self.fs, spec);
            }
            {
                let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
                st.spec = Some(*spec);
                st.since = Instant::now();
            }
            let rec = cell::run_cell(self.dir, self.fs, *spec, &self.budget);
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            if st.killed {
                // The watchdog wrote this cell's record and ends the process.
                drop(st);
                std::thread::park();
                unreachable!("the watchdog exits the process");
            }
            st.spec = None;
            emit(&rec, self.json)?;
            drop(st);
            let el = t0.elapsed().as_secs_f64();
            let left = el / (i + 1) as f64 * (todo.len() - i - 1) as f64;
            eprintln!(
                "holefs-audit: batch {}: [{}/{}] {:.0} s elapsed, ETA {:.0} s",
                self.fs,
                self.skip + i + 1,
                self.cells.len(),
                el,
                left
            );
        }
        Ok(0)
    }
}

fn watchdog(state: &Mutex<Running>, limit: Duration, fs: &str, json: &Option<PathBuf>) {
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        let Some(spec) = st.spec else { continue };
        if st.since.elapsed() < limit {
            continue;
        }
        st.killed = true;
        let mut rec = spec.record(fs);
        rec.verdict = Verdict::Error;
        rec.reason = format!(
            "cell killed after {} s (batch --cell-timeout): a call did not return",
            limit.as_secs()
        );
        rec.duration_ms = st.since.elapsed().as_millis() as u64;
        if let Err(e) = emit(&rec, json) {
            eprintln!("holefs-audit: watchdog: {e:#}");
        }
        faultaround::restore_now();
        std::process::exit(EXIT_CELL_TIMEOUT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_lines_parse_and_bad_ones_are_refused() {
        let s = parse_line("punch page fault-around control").unwrap();
        assert_eq!(
            (s.op, s.geometry, s.racer, s.control),
            (Op::Punch, Geometry::Page, Racer::FaultAround, true)
        );
        let s = parse_line("  copy-range eof write-fault   test ").unwrap();
        assert_eq!((s.op, s.control), (Op::CopyRange, false));
        for bad in [
            "",
            "punch page fault-around",
            "punch page fault-around maybe",
            "nope page read test",
            "punch round read test",
            "punch page walk test",
            "punch page read test extra",
        ] {
            assert!(parse_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_plan_with_controls_reads_back() {
        let dir = std::env::temp_dir().join(format!("holefs-audit-batch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let list = dir.join("cells");
        let p = crate::plan::quick();
        let mut text = String::from("# the quick plan\n\n");
        for c in &p {
            text += &format!("{} {} {} test\n", c.op, c.geometry, c.racer);
        }
        std::fs::write(&list, text).unwrap();
        let cells = read_cells(&list).unwrap();
        assert_eq!(cells.len(), p.len());
        assert!(cells.iter().all(|c| !c.control));
        std::fs::write(dir.join("junk"), b"x").unwrap();
        std::fs::create_dir_all(dir.join("sub/dir")).unwrap();
        empty_dir(&dir).unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir(&dir).unwrap();
    }
}
