// SPDX-License-Identifier: GPL-2.0
//! holefs-bench: the `make bench` measurements, run in the guest on the
//! mounted file systems under test, interleaved (Documentation/bench.rst).
//!
//!   holefs-bench run --target LABEL=MNT... [options]
//!   holefs-bench sparse-write IMG DEV  a sparse image (scripts/bench) to DEV

mod bench;
mod json;
mod sys;

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage:
  holefs-bench run --target LABEL=DIR [--target LABEL=DIR]... [--size N] [--reps N] [--p2-reps N]
        [--phases p1,p2,p3,p4,p5] [--load-len N] [--punch-small N]
        [--punch-small-n N] [--punch-large N] [--punch-large-n N]
        [--p5-size N] [--p5-reps N] [--p5-targets LABEL,...]
  holefs-bench sparse-write IMG DEV
The targets are measured in turn, repetition by repetition (rotating the
order), so that ratios between them come from interleaved samples.
Sizes take k, m, g suffixes.  Records go to stdout as
'HOLEFS-BENCH: {json}' lines (Documentation/bench.rst).";

fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&s[..s.len() - 1], 1 << 20),
        Some('g' | 'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("bad size '{s}'"))
}

fn parse_run(args: &[String]) -> Result<bench::Config, String> {
    let mut cfg = bench::Config {
        targets: Vec::new(),
        size: 256 << 20,
        reps: 5,
        p2_reps: 5,
        phases: ["p1", "p2", "p3", "p4", "p5"].map(String::from).to_vec(),
        load_len: 1 << 20,
        punch_small: 1 << 20,
        punch_small_n: 100,
        punch_large: 64 << 20,
        punch_large_n: 10,
        p5_size: 64 << 20,
        p5_reps: 5,
        p5_targets: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(opt) = it.next() {
        let val = it
            .next()
            .ok_or_else(|| format!("{opt} needs a value"))?
            .as_str();
        let num = || {
            val.parse::<usize>()
                .map_err(|_| format!("bad number '{val}'"))
        };
        match opt.as_str() {
            "--target" => {
                let (label, dir) = val
                    .split_once('=')
                    .ok_or_else(|| format!("--target wants LABEL=DIR, not '{val}'"))?;
                cfg.targets.push((label.to_string(), PathBuf::from(dir)));
            }
            "--size" => cfg.size = parse_size(val)?,
            "--reps" => cfg.reps = num()?,
            "--p2-reps" => cfg.p2_reps = num()?,
            "--phases" => cfg.phases = val.split(',').map(String::from).collect(),
            "--load-len" => cfg.load_len = parse_size(val)?,
            "--punch-small" => cfg.punch_small = parse_size(val)?,
            "--punch-small-n" => cfg.punch_small_n = num()?,
            "--punch-large" => cfg.punch_large = parse_size(val)?,
            "--punch-large-n" => cfg.punch_large_n = num()?,
            "--p5-size" => cfg.p5_size = parse_size(val)?,
            "--p5-reps" => cfg.p5_reps = num()?,
            "--p5-targets" => cfg.p5_targets = val.split(',').map(String::from).collect(),
            _ => return Err(format!("unknown option {opt}")),
        }
    }
    if cfg.targets.is_empty() {
        return Err("at least one --target LABEL=DIR is required".into());
    }
    let page = sys::PAGE as u64;
    for (name, v) in [
        ("--size", cfg.size),
        ("--load-len", cfg.load_len),
        ("--p5-size", cfg.p5_size),
    ] {
        if v == 0 || v % page != 0 {
            return Err(format!("{name} must be a non-zero multiple of {page}"));
        }
    }
    if cfg.reps == 0 || cfg.p2_reps == 0 || cfg.p5_reps == 0 {
        return Err("--reps, --p2-reps and --p5-reps must be at least 1".into());
    }
    Ok(cfg)
}

/// The magic line of a sparse image: then records of a little-endian u64
/// offset, a u64 length and that many bytes, up to EOF (written by
/// scripts/bench from an ext4 or XFS image: only its non-zero blocks).
const SPARSE_MAGIC: &[u8] = b"HOLEFS-SPARSE1\n";

/// Writes the records of the sparse image `img` to `dev`.  A fresh (or
/// discarded) brd device reads zeros where nothing was written, and costs
/// RAM only for what was.
fn sparse_write(img: &str, dev: &str) -> io::Result<u64> {
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{img}: not a sparse image"),
        )
    };
    let data = std::fs::read(img)?;
    let out = OpenOptions::new().write(true).open(dev)?;
    let mut rest = data.strip_prefix(SPARSE_MAGIC).ok_or_else(bad)?;
    let mut written = 0u64;
    while !rest.is_empty() {
        if rest.len() < 16 {
            return Err(bad());
        }
        let off = u64::from_le_bytes(rest[..8].try_into().map_err(|_| bad())?);
        let len = u64::from_le_bytes(rest[8..16].try_into().map_err(|_| bad())?) as usize;
        let body = rest.get(16..16 + len).ok_or_else(bad)?;
        out.write_all_at(body, off)?;
        written += len as u64;
        rest = &rest[16 + len..];
    }
    out.sync_all()?;
    Ok(written)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => match parse_run(&args[1..]) {
            Ok(cfg) => bench::Bench::new(cfg).and_then(|b| b.run()),
            Err(e) => {
                eprintln!("holefs-bench: {e}\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        Some("sparse-write") if args.len() == 3 => sparse_write(&args[1], &args[2]).map(|n| {
            eprintln!("holefs-bench: wrote {n} bytes to {}", args[2]);
        }),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("holefs-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("16m"), Ok(16 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert!(parse_size("").is_err());
        assert!(parse_size("m").is_err());
        assert!(parse_size("99999999999999g").is_err());
    }

    #[test]
    fn run_options() {
        let args: Vec<String> = ["--target", "x=/mnt", "--size", "8m", "--reps", "3"]
            .map(String::from)
            .to_vec();
        let cfg = parse_run(&args).unwrap();
        assert_eq!((cfg.size, cfg.reps), (8 << 20, 3));
        assert!(parse_run(
            &args[..4]
                .iter()
                .chain(&["--size".into(), "100".into()])
                .cloned()
                .collect::<Vec<_>>()
        )
        .is_err());
        assert!(parse_run(&["--target".into(), "/mnt".into()]).is_err());
        assert!(parse_run(&["--size".into(), "8m".into()]).is_err());
    }

    #[test]
    fn json() {
        use json::J;
        let j = J::Obj(vec![
            ("a".into(), J::nums(&[1.0, 0.5, 1234567.891, f64::NAN])),
            ("s".into(), J::s("q\"\\\n")),
        ]);
        assert_eq!(
            j.to_string(),
            r#"{"a":[1,0.5,1234568,null],"s":"q\"\\\u000a"}"#
        );
    }
}
