// SPDX-License-Identifier: GPL-2.0
//! Command line of `holefs-repro`.

use clap::{Parser, ValueEnum};
use std::path::PathBuf;

pub const MAX_THREADS: usize = 64;
const DEFAULT_DURATION_MS: u64 = 3000;
/// The time cap of a run budgeted by `--hits` alone.
const HITS_CAP_MS: u64 = 600_000;
const MAX_SIZE: u64 = 32 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    Seed,
    MapPagesHot,
    ReadRace,
    WriteRace,
    Truncate,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Seed => "seed",
            Scenario::MapPagesHot => "map-pages-hot",
            Scenario::ReadRace => "read-race",
            Scenario::WriteRace => "write-race",
            Scenario::Truncate => "truncate",
        }
    }
}

/// Where the punch (or the truncate) cuts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Geometry {
    /// Punch the whole range; truncate at a page boundary.
    #[default]
    Aligned,
    /// Punch from (truncate at) a random offset that is not page-aligned:
    /// the cut lies inside a page, and inside a large folio where the page
    /// cache has them, which truncate_inode_partial_folio() must zero and
    /// try to split.  Only the range past the cut is checked.
    Split,
}

/// What the result looks like on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The `holefs-race:` summary lines, as `holefs_race.c` prints them.
    #[default]
    Summary,
    /// One JSON object (the fields of the summary lines).
    Json,
    /// `repro_FIELD='value'` lines, shell-quoted, for `eval` in a script
    /// without a JSON parser; `repro_first_detection__FIELD` for the
    /// object's fields; null is empty.
    Shell,
}

/// Does a fault, a buffered read or a write racing with a hole punch (or
/// a truncate) leave stale data behind?
#[derive(Debug, Parser)]
#[command(
    name = "holefs-repro",
    version,
    after_help = "exit status: 0 SAFE (no stale data), 1 RACE (stale data seen), 2 error"
)]
pub struct Args {
    /// The race to run.
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// Directory on the file system under test (a scratch file is made there).
    #[arg(long)]
    pub dir: PathBuf,
    /// Stop after N ms [default: 3000 when neither --iterations nor --hits
    /// is given, 600000 with --hits alone].
    #[arg(long, value_name = "N")]
    pub duration_ms: Option<u64>,
    /// Stop after N rounds (with --duration-ms: whichever comes first).
    #[arg(long, value_name = "N")]
    pub iterations: Option<u64>,
    /// Stop once racer accesses overlapped the punch (truncate) system call
    /// N times, counted at the end of a round, or at the first detection;
    /// --duration-ms caps it.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub hits: u64,
    /// Range raced over, k/m/g suffixes, rounded up to whole pages (2 pages..32g).
    #[arg(long, value_name = "BYTES", default_value = "4m", value_parser = holefs_common::parse_size)]
    pub size: u64,
    /// Reader / writer threads.
    #[arg(long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u16).range(1..=MAX_THREADS as i64))]
    pub threads: u16,
    /// Seed of the random delays and offsets.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Self-check: after each punch write a few stale stamps through a
    /// separate fd; the verdict must then be RACE.
    #[arg(long)]
    pub inject_stale: bool,
    /// Where the punch or truncate cuts.
    #[arg(long, value_enum, default_value_t)]
    pub geometry: Geometry,
}

/// The checked configuration of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub scenario: Scenario,
    pub dir: PathBuf,
    /// 0: no time limit.
    pub duration_ms: u64,
    /// 0: no round limit.
    pub iterations: u64,
    /// Window hits to reach (and stop at the first detection); 0: none.
    pub hits: u64,
    /// Bytes, whole pages.
    pub size: u64,
    pub threads: usize,
    pub seed: u64,
    pub format: Format,
    pub inject_stale: bool,
    pub geometry: Geometry,
}

impl Args {
    /// The configuration, or what is wrong with the arguments; `page` is
    /// the page size.
    pub fn config(self, page: u64) -> Result<Config, String> {
        if self.size < 2 * page || self.size > MAX_SIZE {
            return Err(format!(
                "--size: want 2 pages..32g, got {} bytes",
                self.size
            ));
        }
        let (duration_ms, iterations) = match (self.duration_ms, self.iterations) {
            (None, None) if self.hits != 0 => (HITS_CAP_MS, 0),
            (None, None) => (DEFAULT_DURATION_MS, 0),
            (d, i) => (d.unwrap_or(0), i.unwrap_or(0)),
        };
        if duration_ms == 0 && iterations == 0 {
            return Err("--duration-ms / --iterations: one must be non-zero".into());
        }
        Ok(Config {
            scenario: self.scenario,
            dir: self.dir,
            duration_ms,
            iterations,
            hits: self.hits,
            size: self.size.div_ceil(page) * page,
            threads: usize::from(self.threads),
            seed: self.seed,
            format: if self.json { Format::Json } else { self.format },
            inject_stale: self.inject_stale,
            geometry: self.geometry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn p(args: &[&str]) -> Result<Config, String> {
        let a = Args::try_parse_from(std::iter::once("holefs-repro").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        a.config(4096)
    }

    #[test]
    fn cli_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let c = p(&["--scenario", "seed", "--dir", "/mnt"]).unwrap();
        assert_eq!(c.scenario, Scenario::Seed);
        assert_eq!(c.dir, PathBuf::from("/mnt"));
        assert_eq!((c.duration_ms, c.iterations), (3000, 0));
        assert_eq!((c.size, c.threads, c.seed), (4 << 20, 2, 1));
        assert_eq!(c.format, Format::Summary);
        assert!(!c.inject_stale);
    }

    #[test]
    fn every_option() {
        let c = p(&[
            "--scenario=write-race",
            "--dir=/tmp/x",
            "--iterations",
            "10",
            "--size",
            "1m",
            "--threads=4",
            "--seed",
            "99",
            "--json",
            "--inject-stale",
        ])
        .unwrap();
        assert_eq!(c.scenario, Scenario::WriteRace);
        assert_eq!((c.duration_ms, c.iterations), (0, 10));
        assert_eq!((c.size, c.threads, c.seed), (1 << 20, 4, 99));
        assert!(c.format == Format::Json && c.inject_stale);
        let c = p(&["--scenario", "truncate", "--dir", "d", "--duration-ms", "5"]).unwrap();
        assert_eq!((c.duration_ms, c.iterations, c.hits), (5, 0, 0));
        let c = p(&["--scenario", "seed", "--dir", "d", "--hits", "50"]).unwrap();
        assert_eq!((c.duration_ms, c.iterations, c.hits), (600_000, 0, 50));
        let c = p(&[
            "--scenario",
            "seed",
            "--dir",
            "d",
            "--hits=5",
            "--duration-ms=9",
        ])
        .unwrap();
        assert_eq!((c.duration_ms, c.hits), (9, 5));
        let c = p(&["--scenario", "seed", "--dir", "d", "--format", "shell"]).unwrap();
        assert_eq!(c.format, Format::Shell);
    }

    #[test]
    fn scenario_names_roundtrip() {
        for s in Scenario::value_variants() {
            let c = p(&["--scenario", s.name(), "--dir", "d"]).unwrap();
            assert_eq!(c.scenario, *s);
        }
    }

    #[test]
    fn sizes_round_up_to_pages() {
        let c = p(&["--scenario", "seed", "--dir", "d", "--size", "10000"]).unwrap();
        assert_eq!(c.size, 12288);
    }

    #[test]
    fn errors() {
        let bad = |a: &[&str]| p(a).is_err();
        assert!(bad(&["--dir", "d"]));
        assert!(bad(&["--scenario", "seed"]));
        assert!(bad(&["--scenario", "nope", "--dir", "d"]));
        assert!(bad(&["--scenario", "seed", "--dir"]));
        assert!(bad(&["--scenario", "seed", "--dir", "d", "--threads", "0"]));
        assert!(bad(&[
            "--scenario",
            "seed",
            "--dir",
            "d",
            "--threads",
            "65"
        ]));
        assert!(bad(&["--scenario", "seed", "--dir", "d", "--size", "4k"]));
        assert!(bad(&["--scenario", "seed", "--dir", "d", "--size", "64g"]));
        assert!(bad(&["--scenario", "seed", "--dir", "d", "--size", "1t"]));
        assert!(bad(&["--scenario", "seed", "--dir", "d", "--seed", "x"]));
        assert!(bad(&["--scenario", "seed", "--dir", "d", "--hits", "-1"]));
        assert!(bad(&["--scenario", "seed", "--dir", "d", "--json=1"]));
        assert!(bad(&["--scenario", "seed", "--dir", "d", "--bogus"]));
        assert!(bad(&[
            "--scenario",
            "seed",
            "--dir",
            "d",
            "--json",
            "--format",
            "shell"
        ]));
        assert!(bad(&[
            "--scenario",
            "seed",
            "--dir",
            "d",
            "--iterations",
            "0"
        ]));
        let help = Args::try_parse_from(["holefs-repro", "--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
    }
}
