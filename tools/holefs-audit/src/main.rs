// SPDX-License-Identifier: GPL-2.0
//! holefs-audit: race page-cache-creating accesses against one
//! page-cache-invalidating operation on a file in any directory and check
//! the operation's postcondition in every view.  See README.md.

mod aligned;
mod axes;
mod batch;
mod cell;
mod expect;
mod faultaround;
mod fsname;
mod geometry;
mod ops;
mod plan;
mod racer;
mod record;
mod scan;
mod stamp;
mod sys;

use anyhow::{bail, Context};
use axes::{Geometry, Op, Racer};
use cell::{Budget, Spec};
use clap::{Args, Parser, Subcommand};
use record::{Record, Verdict};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "holefs-audit",
    about = "Race page-cache-creating accesses against page-cache-invalidating operations \
             and check each operation's postcondition in every view",
    after_help = "Exit status: cell: 0 SAFE or SKIP, 1 RACE, 2 ERROR or bad usage; \
                  batch: 0 when every cell ran (whatever its verdict), 2 on bad usage, \
                  3 when a cell was killed after --cell-timeout; \
                  host: 1 if a test cell is RACE or a control did not fire, else 2 if a cell \
                  is ERROR, else 0."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Clone, Copy)]
struct BudgetArgs {
    /// Independent runs of the cell (fresh files each); the budget is split.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=100))]
    runs: u64,
    /// Racer accesses overlapping the operation that a SAFE verdict needs
    /// [default: cell and batch 1000, host 300].
    #[arg(long)]
    hits: Option<u64>,
    /// Time limit of a cell's racing, from its first iteration (which
    /// always runs); with fewer hits by then it is ERROR [default: cell
    /// and batch 20000, host 8000].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    max_ms: Option<u64>,
    /// Iterations a SAFE verdict needs besides the hits (one iteration of
    /// a slow operation can hold thousands of hits).
    #[arg(long, default_value_t = 10)]
    min_iterations: u64,
    /// Seed of positions and delays.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Racer threads [default: 2, at most one fewer than the CPUs].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=16))]
    threads: Option<u64>,
}

/// The default number of racers: 2, but never so many that a racer shares
/// a CPU with the controller.  A racer preempted in the middle of an
/// access while the operation runs on its CPU counts a hit (its `opseq`
/// samples differ) without having raced at all: on a 2-CPU guest with two
/// racers such phantom hits let a known race (holefs `punch=unlocked` with
/// no delay) end SAFE with 200 hits (Documentation/audit.rst, "Short
/// operations").
fn default_threads() -> u64 {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    cpus.saturating_sub(1).clamp(1, 2)
}

impl BudgetArgs {
    /// The budget, with the defaults (hits, ms) of the command.
    fn budget(&self, hits: u64, max_ms: u64) -> Budget {
        Budget {
            runs: self.runs,
            hits: self.hits.unwrap_or(hits),
            min_iterations: self.min_iterations,
            max_ms: self.max_ms.unwrap_or(max_ms),
            seed: self.seed,
            threads: self.threads.unwrap_or_else(default_threads) as usize,
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the covering set, one cell per line: "<op> <geometry> <racer>".
    Plan {
        /// The quick set: one cell per operation.
        #[arg(long)]
        quick: bool,
        /// Add a fourth column, "test" or "control", and the control cells.
        #[arg(long)]
        with_controls: bool,
    },
    /// Run one cell; one AUDIT line on stdout.
    Cell {
        /// Directory for the scratch files (on the filesystem under audit).
        #[arg(long)]
        dir: PathBuf,
        /// The operation under test.
        #[arg(long, value_enum)]
        op: Op,
        /// Where its range lies.
        #[arg(long, value_enum)]
        geometry: Geometry,
        /// What re-creates page cache while it runs.
        #[arg(long, value_enum)]
        racer: Racer,
        /// Name of the filesystem in the record (default: from statfs).
        #[arg(long)]
        fs: Option<String>,
        /// Skip the operation: the checker must fire.
        #[arg(long)]
        control: bool,
        #[command(flatten)]
        budget: BudgetArgs,
        /// Append the record as one JSON line to FILE.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Run a list of cells in one process, one after the other: what the
    /// guest script runs per row (a process start costs a second under TCG).
    Batch {
        /// Directory for the scratch files (on the filesystem under audit;
        /// emptied before each cell).
        #[arg(long)]
        dir: PathBuf,
        /// Name of the filesystem (the row) in the records.
        #[arg(long)]
        fs: String,
        /// The cells, one a line: "<op> <geometry> <racer> test|control"
        /// (control: the operation skipped, --control of `cell`).
        #[arg(long)]
        cells: PathBuf,
        /// Start after this many cells of the list.
        #[arg(long, default_value_t = 0)]
        skip: usize,
        /// Seconds after which a cell is killed: an ERROR record for it,
        /// and the process exits with status 3.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        cell_timeout: Option<u64>,
        /// Write "holefs-audit: cell ..." to /dev/kmsg before each cell.
        #[arg(long)]
        kmsg_marks: bool,
        /// Append every record as one JSON line to FILE.
        #[arg(long)]
        json: Option<PathBuf>,
        #[command(flatten)]
        budget: BudgetArgs,
    },
    /// Audit a directory of any mounted filesystem: the whole plan and one
    /// control per operation, on this kernel.
    Host {
        /// Directory for the scratch files (on the filesystem under audit).
        dir: PathBuf,
        /// The quick plan instead of the full one.
        #[arg(long)]
        quick: bool,
        /// Name of the filesystem in the records (default: from statfs).
        #[arg(long)]
        fs: Option<String>,
        /// Append every record as one JSON line to FILE.
        #[arg(long)]
        json: Option<PathBuf>,
        #[command(flatten)]
        budget: BudgetArgs,
    },
}

fn fs_of(dir: &Path, given: &Option<String>) -> anyhow::Result<String> {
    if let Some(n) = given {
        return Ok(n.clone());
    }
    let f = std::fs::File::open(dir).with_context(|| format!("{}", dir.display()))?;
    Ok(fsname::name(sys::fs_magic(&f)?))
}

fn check_dir(dir: &Path) -> anyhow::Result<()> {
    let m = std::fs::metadata(dir).with_context(|| format!("{}", dir.display()))?;
    if !m.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    Ok(())
}

fn emit(rec: &Record, json: &Option<PathBuf>) -> anyhow::Result<()> {
    println!("{rec}");
    if let Some(p) = json {
        rec.append_json(p)?;
    }
    Ok(())
}

fn cmd_plan(quick: bool, with_controls: bool) {
    let p = if quick { plan::quick() } else { plan::full() };
    let line = |c: &plan::Cell| format!("{} {} {}", c.op, c.geometry, c.racer);
    for c in &p {
        if with_controls {
            println!("{} test", line(c));
        } else {
            println!("{}", line(c));
        }
    }
    if with_controls {
        for c in plan::controls(&p) {
            println!("{} control", line(&c));
        }
    }
}

fn cmd_host(
    dir: &Path,
    quick: bool,
    fs: &Option<String>,
    json: &Option<PathBuf>,
    b: Budget,
) -> anyhow::Result<i32> {
    check_dir(dir)?;
    let fs = fs_of(dir, fs)?;
    let p = if quick { plan::quick() } else { plan::full() };
    let mut cells: Vec<Spec> = plan::controls(&p)
        .into_iter()
        .map(|c| Spec {
            op: c.op,
            geometry: c.geometry,
            racer: c.racer,
            control: true,
        })
        .collect();
    cells.extend(p.iter().map(|c| Spec {
        op: c.op,
        geometry: c.geometry,
        racer: c.racer,
        control: false,
    }));
    let t0 = Instant::now();
    let (mut race, mut blind, mut error) = (0, 0, 0);
    for (i, spec) in cells.iter().enumerate() {
        let rec = cell::run_cell(dir, &fs, *spec, &b);
        emit(&rec, json)?;
        match (spec.control, rec.verdict) {
            (true, Verdict::Race | Verdict::Skip) => {}
            (true, _) => blind += 1,
            (false, Verdict::Race) => race += 1,
            (false, Verdict::Error) => error += 1,
            (false, _) => {}
        }
        let el = t0.elapsed().as_secs_f64();
        let left = el / (i + 1) as f64 * (cells.len() - i - 1) as f64;
        eprintln!(
            "holefs-audit: [{}/{}] {:.0} s elapsed, ETA {:.0} s",
            i + 1,
            cells.len(),
            el,
            left
        );
    }
    eprintln!(
        "holefs-audit: {fs}: {} cells, {race} RACE, {blind} controls that did not fire, {error} ERROR, {:.0} s",
        cells.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(if race > 0 || blind > 0 {
        1
    } else if error > 0 {
        2
    } else {
        0
    })
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Plan {
            quick,
            with_controls,
        } => {
            cmd_plan(quick, with_controls);
            Ok(0)
        }
        Cmd::Cell {
            dir,
            op,
            geometry,
            racer,
            fs,
            control,
            budget,
            json,
        } => (|| {
            check_dir(&dir)?;
            let fs = fs_of(&dir, &fs)?;
            let spec = Spec {
                op,
                geometry,
                racer,
                control,
            };
            let rec = cell::run_cell(&dir, &fs, spec, &budget.budget(1000, 20000));
            emit(&rec, &json)?;
            Ok(rec.verdict.exit_code())
        })(),
        Cmd::Batch {
            dir,
            fs,
            cells,
            skip,
            cell_timeout,
            kmsg_marks,
            json,
            budget,
        } => (|| {
            check_dir(&dir)?;
            let list = batch::read_cells(&cells)?;
            batch::Batch {
                dir: &dir,
                fs: &fs,
                cells: &list,
                skip,
                cell_timeout: cell_timeout.map(std::time::Duration::from_secs),
                kmsg_marks,
                json: &json,
                budget: budget.budget(1000, 20000),
            }
            .run()
        })(),
        Cmd::Host {
            dir,
            quick,
            fs,
            json,
            budget,
        } => cmd_host(&dir, quick, &fs, &json, budget.budget(300, 8000)),
    };
    match r {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("holefs-audit: {e:#}");
            std::process::exit(2);
        }
    }
}
