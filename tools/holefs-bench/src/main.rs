// SPDX-License-Identifier: GPL-2.0
//! holefs-bench: the `make bench` measurements, run in the guest on the
//! mounted file systems under test, interleaved (Documentation/bench.rst).
//!
//!   holefs-bench run --target LABEL=MNT... [options]
//!   holefs-bench sparse-write IMG DEV  a sparse image (scripts/bench) to DEV

mod bench;
mod sys;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use holefs_common::parse_size;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The holefs benchmarks: mmap faults, hole punches and buffered I/O on
/// holefs and its peers, interleaved target by target.
#[derive(Debug, Parser)]
#[command(name = "holefs-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the benchmarks on the mounted targets, interleaved.
    ///
    /// The targets are measured in turn, repetition by repetition (rotating
    /// the order), so that ratios between them come from interleaved
    /// samples.  Records go to stdout as 'HOLEFS-BENCH: {json}' lines
    /// (Documentation/bench.rst).
    Run(RunArgs),
    /// Write a sparse image made by scripts/bench to a device.
    SparseWrite {
        /// The sparse image ("HOLEFS-SPARSE1" records).
        img: PathBuf,
        /// The device (a fresh or discarded brd RAM disk reads zeros
        /// where nothing was written).
        dev: PathBuf,
    },
}

/// `LABEL=DIR`: a file system under test.
fn target(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((label, dir)) if !label.is_empty() && !dir.is_empty() => {
            Ok((label.to_string(), PathBuf::from(dir)))
        }
        _ => Err(format!("want LABEL=DIR, not {s:?}")),
    }
}

/// A size that is a non-zero multiple of the page size.
fn pages(s: &str) -> Result<u64, String> {
    let v = parse_size(s).map_err(|e| e.to_string())?;
    let page = holefs_common::page_size() as u64;
    if v == 0 || v % page != 0 {
        return Err(format!("must be a non-zero multiple of {page}"));
    }
    Ok(v)
}

/// A repetition count, at least 1.
fn reps(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("want a number of repetitions >= 1, not {s:?}")),
    }
}

/// Sizes take k, m, g suffixes.
#[derive(Debug, Args)]
struct RunArgs {
    /// A file system under test, mounted at DIR (repeat for each).
    #[arg(long = "target", value_name = "LABEL=DIR", required = true, value_parser = target)]
    targets: Vec<(String, PathBuf)>,
    /// Bytes of the faulted file.
    #[arg(long, value_name = "N", default_value = "256m", value_parser = pages)]
    size: u64,
    /// Repetitions of each p1 and p3 case.
    #[arg(long, value_name = "N", default_value = "5", value_parser = reps)]
    reps: usize,
    /// Repetitions of each p2 case (each drops the caches).
    #[arg(long, value_name = "N", default_value = "5", value_parser = reps)]
    p2_reps: usize,
    /// The phases to run.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "p1,p2,p3,p4,p5"
    )]
    phases: Vec<String>,
    /// Bytes of the range the p3 punch load rewrites and punches.
    #[arg(long, value_name = "N", default_value = "1m", value_parser = pages)]
    load_len: u64,
    /// p4: bytes of a small punch.
    #[arg(long, value_name = "N", default_value = "1m", value_parser = parse_size)]
    punch_small: u64,
    /// p4: small punches.
    #[arg(long, value_name = "N", default_value_t = 100)]
    punch_small_n: usize,
    /// p4: bytes of a large punch.
    #[arg(long, value_name = "N", default_value = "64m", value_parser = parse_size)]
    punch_large: u64,
    /// p4: large punches.
    #[arg(long, value_name = "N", default_value_t = 10)]
    punch_large_n: usize,
    /// Bytes of the p5 file.
    #[arg(long, value_name = "N", default_value = "64m", value_parser = pages)]
    p5_size: u64,
    /// Repetitions of each p5 case.
    #[arg(long, value_name = "N", default_value = "5", value_parser = reps)]
    p5_reps: usize,
    /// The labels of the targets p5 measures [default: all].
    #[arg(long, value_name = "LABEL,...", value_delimiter = ',')]
    p5_targets: Vec<String>,
}

impl From<RunArgs> for bench::Config {
    fn from(a: RunArgs) -> Self {
        bench::Config {
            targets: a.targets,
            size: a.size,
            reps: a.reps,
            p2_reps: a.p2_reps,
            phases: a.phases,
            load_len: a.load_len,
            punch_small: a.punch_small,
            punch_small_n: a.punch_small_n,
            punch_large: a.punch_large,
            punch_large_n: a.punch_large_n,
            p5_size: a.p5_size,
            p5_reps: a.p5_reps,
            p5_targets: a.p5_targets,
        }
    }
}

/// The magic line of a sparse image: then records of a little-endian u64
/// offset, a u64 length and that many bytes, up to EOF (written by
/// scripts/bench from an ext4 or XFS image: only its non-zero blocks).
const SPARSE_MAGIC: &[u8] = b"HOLEFS-SPARSE1\n";

/// The (offset, bytes) records of sparse image `data`.
fn sparse_records(data: &[u8]) -> anyhow::Result<Vec<(u64, &[u8])>> {
    let Some(mut rest) = data.strip_prefix(SPARSE_MAGIC) else {
        bail!("not a sparse image (no HOLEFS-SPARSE1 line)");
    };
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (head, body) = rest
            .split_at_checked(16)
            .context("truncated record header")?;
        let off = u64::from_le_bytes(head[..8].try_into()?);
        let len = usize::try_from(u64::from_le_bytes(head[8..].try_into()?))?;
        let (data, next) = body
            .split_at_checked(len)
            .with_context(|| format!("record at {off}: {len} bytes past the end"))?;
        out.push((off, data));
        rest = next;
    }
    Ok(out)
}

/// Writes the records of the sparse image `img` to `dev`; returns the bytes
/// written.
fn sparse_write(img: &Path, dev: &Path) -> anyhow::Result<u64> {
    let data = std::fs::read(img).with_context(|| img.display().to_string())?;
    let records = sparse_records(&data).with_context(|| img.display().to_string())?;
    let out = OpenOptions::new()
        .write(true)
        .open(dev)
        .with_context(|| dev.display().to_string())?;
    let mut written = 0u64;
    for (off, body) in records {
        out.write_all_at(body, off)
            .with_context(|| format!("{}: write at {off}", dev.display()))?;
        written += body.len() as u64;
    }
    out.sync_all()
        .with_context(|| format!("{}: fsync", dev.display()))?;
    Ok(written)
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Run(args) => bench::Bench::new(args.into()).and_then(|b| b.run()),
        Command::SparseWrite { img, dev } => sparse_write(&img, &dev).map(|n| {
            eprintln!("holefs-bench: wrote {n} bytes to {}", dev.display());
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("holefs-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn run(args: &[&str]) -> Result<bench::Config, clap::Error> {
        let argv = ["holefs-bench", "run"].iter().chain(args).copied();
        match Cli::try_parse_from(argv)?.command {
            Command::Run(a) => Ok(a.into()),
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_options() {
        let cfg = run(&["--target", "x=/mnt", "--size", "8m", "--reps", "3"]).unwrap();
        assert_eq!((cfg.size, cfg.reps, cfg.p2_reps), (8 << 20, 3, 5));
        assert_eq!(cfg.targets, vec![("x".to_string(), PathBuf::from("/mnt"))]);
        assert_eq!(cfg.phases, ["p1", "p2", "p3", "p4", "p5"]);
        assert!(cfg.p5_targets.is_empty());
        let cfg = run(&[
            "--target=a=/a",
            "--target",
            "b=/b",
            "--phases",
            "p1,p5",
            "--p5-targets",
            "b",
            "--punch-large",
            "2m",
        ])
        .unwrap();
        assert_eq!(cfg.targets.len(), 2);
        assert_eq!(cfg.phases, ["p1", "p5"]);
        assert_eq!(cfg.p5_targets, ["b"]);
        assert_eq!(cfg.punch_large, 2 << 20);
    }

    #[test]
    fn run_errors() {
        for bad in [
            &["--target", "x=/mnt", "--size", "100"][..],
            &["--target", "/mnt"],
            &["--size", "8m"],
            &["--target", "x=/mnt", "--reps", "0"],
            &["--target", "x=/mnt", "--bogus", "1"],
            &["--target", "x=/mnt", "--load-len", "1q"],
        ] {
            assert!(run(bad).is_err(), "{bad:?}");
        }
        for help in [
            &["holefs-bench", "--help"][..],
            &["holefs-bench", "run", "--help"],
        ] {
            let e = Cli::try_parse_from(help).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp);
        }
    }

    #[test]
    fn sparse_images() {
        let mut img = SPARSE_MAGIC.to_vec();
        for (off, body) in [(4096u64, &b"abc"[..]), (0, b"")] {
            img.extend(off.to_le_bytes());
            img.extend((body.len() as u64).to_le_bytes());
            img.extend(body);
        }
        let recs = sparse_records(&img).unwrap();
        assert_eq!(recs, vec![(4096, &b"abc"[..]), (0, &b""[..])]);
        assert!(sparse_records(b"nope").is_err());
        assert!(sparse_records(&img[..img.len() - 1]).is_err());
        assert!(sparse_records(&img[..SPARSE_MAGIC.len() + 7]).is_err());
    }
}
