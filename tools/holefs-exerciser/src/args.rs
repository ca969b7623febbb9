// SPDX-License-Identifier: GPL-2.0
//! Command line of `holefs-exerciser`.

use std::fmt;
use std::path::PathBuf;

pub const USAGE: &str = "\
usage: holefs-exerciser --dir DIR [--seed S] [--ops N] [--files N]
                        [--max-size BYTES] [--no-drop-caches] [--no-remount]
                        [--allow-enospc] [--allow-eopnotsupp] [--exact]
                        [--no-past-eof] [--until K] [--replay FILE] [--trace]
                        [--log-ops N] [--shrink-secs N] [--keep]

Runs random operations (pwrite, stores and loads through MAP_SHARED
mappings, pread, punch hole, zero range, preallocation, truncate,
fsync/fdatasync, cache eviction, drop_caches, remount, SEEK_DATA/SEEK_HOLE,
st_size/st_blocks checks) on --files files in DIR and checks every answer
against an in-memory model.  The sequence is a function of the seed.

  --dir DIR           directory to work in (on the file system under test)
  --seed S            seed (default: from the clock; printed)
  --ops N             operations to run (10000)
  --files N           files, 1..64 (3)
  --max-size BYTES    largest offset+length / size, k/m/g suffixes (256k)
  --no-drop-caches    no 'sync; echo 3 > /proc/sys/vm/drop_caches' (needs root)
  --no-remount        no 'mount -o remount' of DIR's file system (needs root)
  --allow-enospc      ENOSPC (SIGBUS for a store) is checked, not an error:
                      the failed operation must change nothing it did not report
  --allow-eopnotsupp  fallocate modes the file system lacks are counted
  --exact             holefs's allocation rules: st_blocks and the
                      SEEK_DATA/SEEK_HOLE extents must match exactly the
                      pages written, stored to, zeroed or preallocated
  --no-past-eof       no stores past EOF in the last page of a mapping
  --until K           stop after operation K (replays a seed's prefix)
  --replay FILE       run the op log in FILE (one op per line, as printed)
  --trace             print each operation before running it
  --log-ops N         operations shown before a divergence (20)
  --shrink-secs N     time for shrinking a failing sequence; 0: none (60)
  --keep              leave the files in DIR

exit status: 0 no divergence, 1 divergence (a file system bug, or a model
bug), 2 error (bad arguments, an unexpected system call failure)";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub dir: PathBuf,
    pub seed: Option<u64>,
    pub ops: u64,
    pub files: Option<usize>,
    pub max_size: u64,
    pub drop_caches: bool,
    pub remount: bool,
    pub allow_enospc: bool,
    pub allow_eopnotsupp: bool,
    pub exact: bool,
    pub past_eof: bool,
    pub until: Option<u64>,
    pub replay: Option<PathBuf>,
    pub trace: bool,
    pub log_ops: usize,
    pub shrink_secs: u64,
    pub keep: bool,
    pub inject_model_bug: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ArgError {
    Help,
    Bad(String),
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Help => write!(f, "{USAGE}"),
            ArgError::Bad(s) => write!(f, "holefs-exerciser: {s}\n{USAGE}"),
        }
    }
}

fn bad(s: impl Into<String>) -> ArgError {
    ArgError::Bad(s.into())
}

/// A number with an optional k/m/g suffix (powers of 1024).
pub fn parse_size(s: &str) -> Option<u64> {
    let (num, shift) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 10),
        b'm' | b'M' => (&s[..s.len() - 1], 20),
        b'g' | b'G' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    num.parse::<u64>().ok()?.checked_mul(1 << shift)
}

fn parse_u64(opt: &str, v: &str) -> Result<u64, ArgError> {
    let r = match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => v.parse(),
    };
    r.map_err(|_| bad(format!("{opt}: bad number '{v}'")))
}

pub fn parse(args: &[String]) -> Result<Config, ArgError> {
    let mut c = Config {
        dir: PathBuf::new(),
        seed: None,
        ops: 10_000,
        files: None,
        max_size: 256 << 10,
        drop_caches: true,
        remount: true,
        allow_enospc: false,
        allow_eopnotsupp: false,
        exact: false,
        past_eof: true,
        until: None,
        replay: None,
        trace: false,
        log_ops: 20,
        shrink_secs: 60,
        keep: false,
        inject_model_bug: false,
    };
    let mut dir = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (opt, inline) = match a.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = || -> Result<String, ArgError> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| bad(format!("{opt} needs a value"))),
            }
        };
        match opt {
            "-h" | "--help" => return Err(ArgError::Help),
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--seed" => c.seed = Some(parse_u64(opt, &value()?)?),
            "--ops" => c.ops = parse_u64(opt, &value()?)?,
            "--files" => {
                let n = parse_u64(opt, &value()?)?;
                if !(1..=64).contains(&n) {
                    return Err(bad("--files: 1..64"));
                }
                c.files = Some(n as usize);
            }
            "--max-size" => {
                let v = value()?;
                c.max_size =
                    parse_size(&v).ok_or_else(|| bad(format!("--max-size: bad size '{v}'")))?;
                if !(2..=(1 << 30)).contains(&c.max_size) {
                    return Err(bad("--max-size: 2 bytes .. 1g"));
                }
            }
            "--no-drop-caches" => c.drop_caches = false,
            "--no-remount" => c.remount = false,
            "--allow-enospc" => c.allow_enospc = true,
            "--allow-eopnotsupp" => c.allow_eopnotsupp = true,
            "--exact" => c.exact = true,
            "--no-past-eof" => c.past_eof = false,
            "--until" => c.until = Some(parse_u64(opt, &value()?)?),
            "--replay" => c.replay = Some(PathBuf::from(value()?)),
            "--trace" => c.trace = true,
            "--log-ops" => c.log_ops = parse_u64(opt, &value()?)? as usize,
            "--shrink-secs" => c.shrink_secs = parse_u64(opt, &value()?)?,
            "--keep" => c.keep = true,
            // Self-test of the checker: the model gets a punch bug, so a
            // correct file system must diverge from it.
            "--inject-model-bug" => c.inject_model_bug = true,
            _ => return Err(bad(format!("unknown argument '{a}'"))),
        }
        if inline.is_some()
            && matches!(
                opt,
                "--no-drop-caches"
                    | "--no-remount"
                    | "--allow-enospc"
                    | "--allow-eopnotsupp"
                    | "--exact"
                    | "--no-past-eof"
                    | "--trace"
                    | "--keep"
                    | "--inject-model-bug"
            )
        {
            return Err(bad(format!("{opt} takes no value")));
        }
    }
    c.dir = dir.ok_or_else(|| bad("--dir is required"))?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Config, ArgError> {
        parse(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn defaults() {
        let c = p("--dir /mnt").unwrap();
        assert_eq!(c.dir, PathBuf::from("/mnt"));
        assert_eq!(c.ops, 10_000);
        assert_eq!(c.max_size, 256 << 10);
        assert!(c.drop_caches && c.remount && c.past_eof);
        assert!(!c.allow_enospc && !c.exact);
        assert_eq!(c.seed, None);
    }

    #[test]
    fn options() {
        let c = p("--dir=/x --seed 0x10 --ops 5 --files 2 --max-size 1m --no-drop-caches --no-remount --allow-enospc --exact --until 3 --shrink-secs 0").unwrap();
        assert_eq!(c.seed, Some(16));
        assert_eq!((c.ops, c.files, c.max_size), (5, Some(2), 1 << 20));
        assert!(!c.drop_caches && !c.remount && c.allow_enospc && c.exact);
        assert_eq!((c.until, c.shrink_secs), (Some(3), 0));
    }

    #[test]
    fn errors() {
        assert_eq!(p("--help"), Err(ArgError::Help));
        assert!(p("").is_err());
        assert!(p("--dir /x --files 0").is_err());
        assert!(p("--dir /x --max-size 1x").is_err());
        assert!(p("--dir /x --bogus").is_err());
        assert!(p("--dir /x --ops").is_err());
        assert!(p("--dir /x --exact=1").is_err());
        assert_eq!(parse_size("3k"), Some(3072));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("k"), None);
    }
}
