// SPDX-License-Identifier: GPL-2.0
//! Command line of `holefs-repro`.

use std::fmt;
use std::path::PathBuf;

pub const MAX_THREADS: usize = 64;
const DEFAULT_SIZE: u64 = 4 << 20;
const DEFAULT_DURATION_MS: u64 = 3000;
/// The time cap of a run budgeted by `--hits` alone.
const HITS_CAP_MS: u64 = 600_000;
const MAX_SIZE: u64 = 32 << 30;

pub const USAGE: &str = "\
usage: holefs-repro --scenario seed|map-pages-hot|read-race|write-race|truncate
                    --dir DIR [--duration-ms N] [--iterations N] [--hits N]
                    [--size BYTES] [--threads N] [--seed N] [--json]
                    [--inject-stale]

  --duration-ms N   stop after N ms (default 3000 when neither --iterations
                    nor --hits is given, 600000 with --hits alone)
  --iterations N    stop after N rounds (with --duration-ms: whichever is first)
  --hits N          stop once racer accesses overlapped the punch (truncate)
                    N times, counted at the end of a round, or at the first
                    detection; --duration-ms caps it
  --size BYTES      range raced over, k/m/g suffixes, rounded up to pages (4m)
  --threads N       reader / writer threads, 1..64 (2)
  --seed N          seed of the random delays and offsets (1)
  --json            print one JSON object instead of the summary lines
  --inject-stale    self-check: after each punch write a few stale stamps
                    through a separate fd; the verdict must then be RACE

exit status: 0 SAFE (no stale data), 1 RACE (stale data seen), 2 error";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    Seed,
    MapPagesHot,
    ReadRace,
    WriteRace,
    Truncate,
}

impl Scenario {
    pub const ALL: [Scenario; 5] = [
        Scenario::Seed,
        Scenario::MapPagesHot,
        Scenario::ReadRace,
        Scenario::WriteRace,
        Scenario::Truncate,
    ];

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
    /// Bytes, rounded up to whole pages by `parse`.
    pub size: u64,
    pub threads: usize,
    pub seed: u64,
    pub json: bool,
    pub inject_stale: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ArgError {
    Help,
    Bad(String),
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Help => f.write_str(USAGE),
            ArgError::Bad(msg) => write!(f, "holefs-repro: {msg}\n{USAGE}"),
        }
    }
}

fn bad<T>(msg: String) -> Result<T, ArgError> {
    Err(ArgError::Bad(msg))
}

fn parse_u64(opt: &str, s: &str) -> Result<u64, ArgError> {
    s.parse::<u64>()
        .or_else(|_| bad(format!("{opt}: not a number: {s:?}")))
}

/// Bytes with an optional k, m or g (binary) suffix.
pub fn parse_size(s: &str) -> Option<u64> {
    let (num, mul) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&s[..i], 1 << 20),
        (i, 'g' | 'G') => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

/// Parse the arguments after the program name; `page` is the page size.
pub fn parse<I, S>(args: I, page: u64) -> Result<Config, ArgError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut scenario = None;
    let mut dir = None;
    let mut duration_ms = None;
    let mut iterations = None;
    let mut hits = 0;
    let mut size = DEFAULT_SIZE;
    let mut threads = 2;
    let mut seed = 1;
    let mut json = false;
    let mut inject_stale = false;

    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let arg = arg.as_ref();
        let (opt, inline) = match arg.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
            _ => (arg, None),
        };
        let takes_value = !matches!(opt, "--json" | "--inject-stale" | "-h" | "--help");
        if !takes_value && inline.is_some() {
            return bad(format!("{opt} takes no value"));
        }
        let value = if takes_value {
            match inline.or_else(|| it.next().map(|v| v.as_ref().to_string())) {
                Some(v) => v,
                None => return bad(format!("{opt} needs a value")),
            }
        } else {
            String::new()
        };
        match opt {
            "-h" | "--help" => return Err(ArgError::Help),
            "--json" => json = true,
            "--inject-stale" => inject_stale = true,
            "--scenario" => {
                scenario = match Scenario::ALL.iter().find(|s| s.name() == value) {
                    Some(s) => Some(*s),
                    None => return bad(format!("unknown scenario {value:?}")),
                }
            }
            "--dir" => dir = Some(PathBuf::from(value)),
            "--duration-ms" => duration_ms = Some(parse_u64(opt, &value)?),
            "--iterations" => iterations = Some(parse_u64(opt, &value)?),
            "--hits" => hits = parse_u64(opt, &value)?,
            "--size" => match parse_size(&value) {
                Some(v) if v >= 2 * page && v <= MAX_SIZE => size = v.div_ceil(page) * page,
                _ => return bad(format!("--size: want 2 pages..32g, got {value:?}")),
            },
            "--threads" => match parse_u64(opt, &value)? {
                n @ 1..=64 => threads = n as usize,
                _ => return bad(format!("--threads: want 1..={MAX_THREADS}")),
            },
            "--seed" => seed = parse_u64(opt, &value)?,
            _ => return bad(format!("unknown argument {arg:?}")),
        }
    }
    let Some(scenario) = scenario else {
        return bad("--scenario is required".into());
    };
    let Some(dir) = dir else {
        return bad("--dir is required".into());
    };
    let (duration_ms, iterations) = match (duration_ms, iterations) {
        (None, None) if hits != 0 => (HITS_CAP_MS, 0),
        (None, None) => (DEFAULT_DURATION_MS, 0),
        (d, i) => (d.unwrap_or(0), i.unwrap_or(0)),
    };
    if duration_ms == 0 && iterations == 0 {
        return bad("--duration-ms / --iterations: one must be non-zero".into());
    }
    Ok(Config {
        scenario,
        dir,
        duration_ms,
        iterations,
        hits,
        size,
        threads,
        seed,
        json,
        inject_stale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Config, ArgError> {
        parse(args.iter().copied(), 4096)
    }

    #[test]
    fn defaults() {
        let c = p(&["--scenario", "seed", "--dir", "/mnt"]).unwrap();
        assert_eq!(c.scenario, Scenario::Seed);
        assert_eq!(c.dir, PathBuf::from("/mnt"));
        assert_eq!((c.duration_ms, c.iterations), (3000, 0));
        assert_eq!((c.size, c.threads, c.seed), (4 << 20, 2, 1));
        assert!(!c.json && !c.inject_stale);
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
        assert!(c.json && c.inject_stale);
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
    }

    #[test]
    fn scenario_names_roundtrip() {
        for s in Scenario::ALL {
            let c = p(&["--scenario", s.name(), "--dir", "d"]).unwrap();
            assert_eq!(c.scenario, s);
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("4k"), Some(4096));
        assert_eq!(parse_size("3M"), Some(3 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("k"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("1t"), None);
        assert_eq!(parse_size("99999999999999999999g"), None);
        // Rounded up to whole pages.
        let c = p(&["--scenario", "seed", "--dir", "d", "--size", "10000"]).unwrap();
        assert_eq!(c.size, 12288);
    }

    #[test]
    fn errors() {
        let bad = |a: &[&str]| matches!(p(a), Err(ArgError::Bad(_)));
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
        assert!(bad(&["--scenario", "seed", "--dir", "d", "--seed", "x"]));
        assert!(bad(&["--scenario", "seed", "--dir", "d", "--hits", "-1"]));
        assert!(bad(&["--scenario", "seed", "--dir", "d", "--json=1"]));
        assert!(bad(&["--scenario", "seed", "--dir", "d", "--bogus"]));
        assert!(bad(&[
            "--scenario",
            "seed",
            "--dir",
            "d",
            "--iterations",
            "0"
        ]));
        assert_eq!(p(&["--help"]), Err(ArgError::Help));
    }
}
