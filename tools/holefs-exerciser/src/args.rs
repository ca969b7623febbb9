// SPDX-License-Identifier: GPL-2.0
//! Command line of `holefs-exerciser`.

use clap::Parser;
use std::path::PathBuf;

/// A number, decimal or `0x` hexadecimal (seeds are printed in decimal;
/// op logs show patterns in hex).
fn number(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    }
    .map_err(|_| format!("bad number {s:?}"))
}

/// `--max-size`: 2 bytes .. 1g.
fn max_size(s: &str) -> Result<u64, String> {
    let v = holefs_common::parse_size(s).map_err(|e| e.to_string())?;
    if (2..=1 << 30).contains(&v) {
        Ok(v)
    } else {
        Err("want 2 bytes .. 1g".into())
    }
}

/// Runs random operations (pwrite, stores and loads through MAP_SHARED
/// mappings, pread, punch hole, zero range, preallocation, truncate,
/// fsync/fdatasync, cache eviction, drop_caches, remount,
/// SEEK_DATA/SEEK_HOLE, st_size/st_blocks checks) on --files files in DIR
/// and checks every answer against an in-memory model.  The sequence is a
/// function of the seed.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "holefs-exerciser",
    version,
    after_help = "exit status: 0 no divergence, 1 divergence (a file system bug, or a model \
                  bug), 2 error (bad arguments, an unexpected system call failure)"
)]
pub struct Config {
    /// Directory to work in (on the file system under test).
    #[arg(long)]
    pub dir: PathBuf,
    /// Seed, decimal or 0x hex [default: from the clock; printed].
    #[arg(long, value_name = "S", value_parser = number)]
    pub seed: Option<u64>,
    /// Operations to run.
    #[arg(long, value_name = "N", default_value = "10000", value_parser = number)]
    pub ops: u64,
    /// Files [default: 3, or as many as a --replay log names].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=64))]
    pub files: Option<u8>,
    /// Largest offset+length / size, k/m/g suffixes (2 bytes .. 1g).
    #[arg(long, value_name = "BYTES", default_value = "256k", value_parser = max_size)]
    pub max_size: u64,
    /// No 'sync; echo 3 > /proc/sys/vm/drop_caches' (needs root).
    #[arg(long = "no-drop-caches", action = clap::ArgAction::SetFalse)]
    pub drop_caches: bool,
    /// No 'mount -o remount' of DIR's file system (needs root).
    #[arg(long = "no-remount", action = clap::ArgAction::SetFalse)]
    pub remount: bool,
    /// ENOSPC (SIGBUS for a store) is checked, not an error: the failed
    /// operation must change nothing it did not report.
    #[arg(long)]
    pub allow_enospc: bool,
    /// fallocate modes the file system lacks are counted.
    #[arg(long)]
    pub allow_eopnotsupp: bool,
    /// holefs's allocation rules: st_blocks and the SEEK_DATA/SEEK_HOLE
    /// extents must match exactly the pages written, stored to, zeroed or
    /// preallocated.
    #[arg(long)]
    pub exact: bool,
    /// No stores past EOF in the last page of a mapping.
    #[arg(long = "no-past-eof", action = clap::ArgAction::SetFalse)]
    pub past_eof: bool,
    /// Stop after operation K (replays a seed's prefix).
    #[arg(long, value_name = "K", value_parser = number)]
    pub until: Option<u64>,
    /// Run the op log in FILE (one op per line, as printed).
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// Print each operation before running it.
    #[arg(long)]
    pub trace: bool,
    /// Operations shown before a divergence.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub log_ops: usize,
    /// Time for shrinking a failing sequence; 0: none.
    #[arg(long, value_name = "N", default_value = "60", value_parser = number)]
    pub shrink_secs: u64,
    /// Leave the files in DIR.
    #[arg(long)]
    pub keep: bool,
    /// Self-test of the checker: the model gets a punch bug, so a correct
    /// file system must diverge from it.
    #[arg(long, hide = true)]
    pub inject_model_bug: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn p(s: &str) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("holefs-exerciser").chain(s.split_whitespace()))
    }

    #[test]
    fn cli_is_consistent() {
        Config::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let c = p("--dir /mnt").unwrap();
        assert_eq!(c.dir, PathBuf::from("/mnt"));
        assert_eq!(c.ops, 10_000);
        assert_eq!(c.max_size, 256 << 10);
        assert!(c.drop_caches && c.remount && c.past_eof);
        assert!(!c.allow_enospc && !c.exact && !c.inject_model_bug);
        assert_eq!(
            (c.seed, c.files, c.log_ops, c.shrink_secs),
            (None, None, 20, 60)
        );
    }

    #[test]
    fn options() {
        let c = p("--dir=/x --seed 0x10 --ops 5 --files 2 --max-size 1m --no-drop-caches --no-remount --allow-enospc --exact --until 3 --shrink-secs 0 --no-past-eof --inject-model-bug").unwrap();
        assert_eq!(c.seed, Some(16));
        assert_eq!((c.ops, c.files, c.max_size), (5, Some(2), 1 << 20));
        assert!(!c.drop_caches && !c.remount && c.allow_enospc && c.exact && !c.past_eof);
        assert_eq!((c.until, c.shrink_secs), (Some(3), 0));
        assert!(c.inject_model_bug);
    }

    #[test]
    fn errors() {
        assert_eq!(
            p("--help").unwrap_err().kind(),
            clap::error::ErrorKind::DisplayHelp
        );
        for bad in [
            "",
            "--dir /x --files 0",
            "--dir /x --files 65",
            "--dir /x --max-size 1x",
            "--dir /x --max-size 1",
            "--dir /x --max-size 2g",
            "--dir /x --bogus",
            "--dir /x --ops",
            "--dir /x --exact=1",
            "--dir /x --seed 0xg",
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
    }
}
