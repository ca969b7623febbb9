// SPDX-License-Identifier: GPL-2.0
//! The operations, their text form (one line each; the op log and
//! `--replay` files use it) and their random generation from a seed.
//!
//! Generation depends only on the seed and the configuration, never on
//! what the file system answered, so a seed names the same sequence
//! everywhere and the shrinker can drop operations from it.  Operations on
//! byte ranges use absolute offsets, except the mmap ones and `read`, which
//! take their offset modulo the current size (they must land in the file to
//! be interesting); the executor prints the resolved range.

use holefs_common::rng::{mix, Draw, Rng, SeedableRng, SplitMix64, GOLDEN_GAMMA};
use std::fmt;

/// Operation kinds, in the order of the summary line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Write,
    MStore,
    Read,
    MLoad,
    Punch,
    Zero,
    Prealloc,
    Truncate,
    Fsync,
    Fdatasync,
    Evict,
    DropCaches,
    Remount,
    Seek,
    Stat,
    Verify,
}

impl Kind {
    pub const ALL: [Kind; 16] = [
        Kind::Write,
        Kind::MStore,
        Kind::Read,
        Kind::MLoad,
        Kind::Punch,
        Kind::Zero,
        Kind::Prealloc,
        Kind::Truncate,
        Kind::Fsync,
        Kind::Fdatasync,
        Kind::Evict,
        Kind::DropCaches,
        Kind::Remount,
        Kind::Seek,
        Kind::Stat,
        Kind::Verify,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Write => "write",
            Kind::MStore => "mstore",
            Kind::Read => "read",
            Kind::MLoad => "mload",
            Kind::Punch => "punch",
            Kind::Zero => "zero",
            Kind::Prealloc => "prealloc",
            Kind::Truncate => "truncate",
            Kind::Fsync => "fsync",
            Kind::Fdatasync => "fdatasync",
            Kind::Evict => "evict",
            Kind::DropCaches => "dropcaches",
            Kind::Remount => "remount",
            Kind::Seek => "seek",
            Kind::Stat => "stat",
            Kind::Verify => "verify",
        }
    }

    pub fn index(self) -> usize {
        Kind::ALL.iter().position(|&k| k == self).unwrap()
    }

    /// Relative frequency in generated sequences.
    fn weight(self) -> u64 {
        match self {
            Kind::Write => 18,
            Kind::MStore => 10,
            Kind::Read => 12,
            Kind::MLoad => 8,
            Kind::Punch => 10,
            Kind::Zero => 6,
            Kind::Prealloc => 5,
            Kind::Truncate => 7,
            Kind::Fsync => 3,
            Kind::Fdatasync => 2,
            Kind::Evict => 4,
            Kind::DropCaches => 2,
            Kind::Remount => 1,
            Kind::Seek => 6,
            Kind::Stat => 3,
            Kind::Verify => 2,
        }
    }
}

/// One operation.  `f` is a file index, `pat` a content pattern (see
/// `pattern::pattern_byte`; 0 writes zeros).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// pwrite(2) of `len` bytes at `off`.
    Write {
        f: usize,
        off: u64,
        len: u64,
        pat: u64,
    },
    /// Store through a fresh MAP_SHARED mapping: `len` bytes at
    /// `off % size`; with `eof`, from `off % 32` bytes before EOF to the end
    /// of the EOF page, i.e. partly past EOF (those bytes are not file
    /// data).  `msync`: msync(MS_SYNC) before munmap.
    MStore {
        f: usize,
        off: u64,
        len: u64,
        pat: u64,
        msync: bool,
        eof: bool,
    },
    /// pread(2) of `len` bytes at `off % (size + page)`.
    Read {
        f: usize,
        off: u64,
        len: u64,
    },
    /// Load through a fresh mapping: `len` bytes at `off % mapped length`,
    /// including the bytes past EOF in the last page (they must read zero).
    MLoad {
        f: usize,
        off: u64,
        len: u64,
    },
    /// fallocate(PUNCH_HOLE | KEEP_SIZE).
    Punch {
        f: usize,
        off: u64,
        len: u64,
    },
    /// fallocate(ZERO_RANGE [| KEEP_SIZE]).
    Zero {
        f: usize,
        off: u64,
        len: u64,
        keep: bool,
    },
    /// fallocate(0 or KEEP_SIZE).
    Prealloc {
        f: usize,
        off: u64,
        len: u64,
        keep: bool,
    },
    /// ftruncate(2).
    Truncate {
        f: usize,
        size: u64,
    },
    Fsync {
        f: usize,
    },
    Fdatasync {
        f: usize,
    },
    /// fdatasync + posix_fadvise(DONTNEED): drop the file's clean pages.
    Evict {
        f: usize,
    },
    /// sync; echo 3 > /proc/sys/vm/drop_caches.
    DropCaches,
    /// mount -o remount of the file system holding the directory.
    Remount,
    /// Walk SEEK_DATA/SEEK_HOLE over the file and probe at `off % (size+1)`.
    Seek {
        f: usize,
        off: u64,
    },
    /// fstat: st_size and st_blocks.
    Stat {
        f: usize,
    },
    /// Read the whole file and compare.
    Verify {
        f: usize,
    },
}

impl Op {
    pub fn kind(&self) -> Kind {
        match self {
            Op::Write { .. } => Kind::Write,
            Op::MStore { .. } => Kind::MStore,
            Op::Read { .. } => Kind::Read,
            Op::MLoad { .. } => Kind::MLoad,
            Op::Punch { .. } => Kind::Punch,
            Op::Zero { .. } => Kind::Zero,
            Op::Prealloc { .. } => Kind::Prealloc,
            Op::Truncate { .. } => Kind::Truncate,
            Op::Fsync { .. } => Kind::Fsync,
            Op::Fdatasync { .. } => Kind::Fdatasync,
            Op::Evict { .. } => Kind::Evict,
            Op::DropCaches => Kind::DropCaches,
            Op::Remount => Kind::Remount,
            Op::Seek { .. } => Kind::Seek,
            Op::Stat { .. } => Kind::Stat,
            Op::Verify { .. } => Kind::Verify,
        }
    }

    /// The file the operation works on, if it is about one file.
    pub fn file(&self) -> Option<usize> {
        match *self {
            Op::Write { f, .. }
            | Op::MStore { f, .. }
            | Op::Read { f, .. }
            | Op::MLoad { f, .. }
            | Op::Punch { f, .. }
            | Op::Zero { f, .. }
            | Op::Prealloc { f, .. }
            | Op::Truncate { f, .. }
            | Op::Fsync { f }
            | Op::Fdatasync { f }
            | Op::Evict { f }
            | Op::Seek { f, .. }
            | Op::Stat { f }
            | Op::Verify { f } => Some(f),
            Op::DropCaches | Op::Remount => None,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.kind().name();
        match *self {
            Op::Write { f, off, len, pat } => {
                write!(w, "{k} f={f} off={off} len={len} pat={pat:#x}")
            }
            Op::MStore {
                f,
                off,
                len,
                pat,
                msync,
                eof,
            } => write!(
                w,
                "{k} f={f} off={off} len={len} pat={pat:#x} msync={} eof={}",
                u8::from(msync),
                u8::from(eof)
            ),
            Op::Read { f, off, len } | Op::MLoad { f, off, len } | Op::Punch { f, off, len } => {
                write!(w, "{k} f={f} off={off} len={len}")
            }
            Op::Zero { f, off, len, keep } | Op::Prealloc { f, off, len, keep } => {
                write!(w, "{k} f={f} off={off} len={len} keep={}", u8::from(keep))
            }
            Op::Truncate { f, size } => write!(w, "{k} f={f} size={size}"),
            Op::Seek { f, off } => write!(w, "{k} f={f} off={off}"),
            Op::Fsync { f }
            | Op::Fdatasync { f }
            | Op::Evict { f }
            | Op::Stat { f }
            | Op::Verify { f } => {
                write!(w, "{k} f={f}")
            }
            Op::DropCaches | Op::Remount => write!(w, "{k}"),
        }
    }
}

fn parse_num(v: &str) -> Result<u64, String> {
    let r = if let Some(hex) = v.strip_prefix("0x") {
        u64::from_str_radix(hex, 16)
    } else {
        v.parse()
    };
    r.map_err(|_| format!("bad number '{v}'"))
}

impl std::str::FromStr for Op {
    type Err = String;

    /// Parses the `Display` form.  A leading `op N:` (as in the op log) is
    /// skipped.
    fn from_str(line: &str) -> Result<Op, String> {
        let mut words = line.split_whitespace().peekable();
        if words.peek() == Some(&"op") {
            words.next();
            words.next();
        }
        let name = words.next().ok_or("empty line")?;
        let mut fields = std::collections::HashMap::new();
        for w in words {
            let (k, v) = w
                .split_once('=')
                .ok_or_else(|| format!("bad field '{w}'"))?;
            fields.insert(k, parse_num(v)?);
        }
        let get = |k: &str| -> Result<u64, String> {
            fields
                .get(k)
                .copied()
                .ok_or_else(|| format!("{name}: missing {k}="))
        };
        let f = || -> Result<usize, String> { Ok(get("f")? as usize) };
        let flag = |k: &str| -> Result<bool, String> { Ok(get(k)? != 0) };
        Ok(match name {
            "write" => Op::Write {
                f: f()?,
                off: get("off")?,
                len: get("len")?,
                pat: get("pat")?,
            },
            "mstore" => Op::MStore {
                f: f()?,
                off: get("off")?,
                len: get("len")?,
                pat: get("pat")?,
                msync: flag("msync")?,
                eof: flag("eof")?,
            },
            "read" => Op::Read {
                f: f()?,
                off: get("off")?,
                len: get("len")?,
            },
            "mload" => Op::MLoad {
                f: f()?,
                off: get("off")?,
                len: get("len")?,
            },
            "punch" => Op::Punch {
                f: f()?,
                off: get("off")?,
                len: get("len")?,
            },
            "zero" => Op::Zero {
                f: f()?,
                off: get("off")?,
                len: get("len")?,
                keep: flag("keep")?,
            },
            "prealloc" => Op::Prealloc {
                f: f()?,
                off: get("off")?,
                len: get("len")?,
                keep: flag("keep")?,
            },
            "truncate" => Op::Truncate {
                f: f()?,
                size: get("size")?,
            },
            "fsync" => Op::Fsync { f: f()? },
            "fdatasync" => Op::Fdatasync { f: f()? },
            "evict" => Op::Evict { f: f()? },
            "dropcaches" => Op::DropCaches,
            "remount" => Op::Remount,
            "seek" => Op::Seek {
                f: f()?,
                off: get("off")?,
            },
            "stat" => Op::Stat { f: f()? },
            "verify" => Op::Verify { f: f()? },
            _ => return Err(format!("unknown operation '{name}'")),
        })
    }
}

/// Parses an op log: one operation per line; blank lines and `#` comments
/// are skipped.
pub fn parse_log(text: &str) -> Result<Vec<Op>, String> {
    let mut ops = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        ops.push(line.parse().map_err(|e| format!("line {}: {e}", i + 1))?);
    }
    Ok(ops)
}

/// What generation needs to know.
#[derive(Clone, Debug)]
pub struct GenConfig {
    pub files: usize,
    pub max_size: u64,
    pub page: u64,
    pub drop_caches: bool,
    pub remount: bool,
    /// Stores past EOF (`mstore ... eof=1`).
    pub past_eof: bool,
}

/// An offset in `0..max`: page-aligned, near a page boundary, near 0, or
/// anywhere; unaligned ones are common on purpose.
fn gen_off(r: &mut SplitMix64, max: u64, page: u64) -> u64 {
    let pages = max / page;
    let v = match r.below(10) {
        0..=2 => r.range(0, pages) * page,
        3..=5 => (r.range(0, pages) * page).saturating_add_signed(r.range(0, 32) as i64 - 16),
        6 => r.range(0, 64),
        _ => r.below(max),
    };
    v.min(max - 1)
}

/// A length in `1..=max`: tiny, about a page multiple, a page multiple, or
/// anything.
fn gen_len(r: &mut SplitMix64, max: u64, page: u64) -> u64 {
    let v = match r.below(20) {
        0..=4 => r.range(1, 64),
        5..=9 => (r.range(1, 4) * page).saturating_add_signed(r.range(0, 32) as i64 - 16),
        10..=12 => r.range(1, 4) * page,
        _ => r.range(1, (max / 2).max(1)),
    };
    v.clamp(1, max)
}

/// A range inside `0..max`.
fn gen_range(r: &mut SplitMix64, max: u64, page: u64) -> (u64, u64) {
    let off = gen_off(r, max, page);
    let len = gen_len(r, max, page).min(max - off);
    (off, len.max(1))
}

fn gen_pat(r: &mut SplitMix64) -> u64 {
    if r.chance(1, 20) {
        0
    } else {
        r.next_u64() | 1
    }
}

/// Operation `index` of the sequence for `seed`: each operation has its own
/// generator, so a prefix does not depend on the sequence's length.
pub fn generate_one(seed: u64, index: u64, cfg: &GenConfig, kinds: &[Kind]) -> Op {
    // The stream this tool's own SplitMix64 drew from `mix(seed) ^
    // mix(index + 1)` (it started one increment further): seeds saved
    // before the move to rand_xoshiro name the same operations.
    let state = mix(seed) ^ mix(index.wrapping_add(1));
    let mut r = SplitMix64::seed_from_u64(state.wrapping_add(GOLDEN_GAMMA));
    let total: u64 = kinds.iter().map(|k| k.weight()).sum();
    let mut pick = r.below(total);
    let mut kind = kinds[0];
    for &k in kinds {
        if pick < k.weight() {
            kind = k;
            break;
        }
        pick -= k.weight();
    }
    let f = r.below(cfg.files as u64) as usize;
    let (max, page) = (cfg.max_size, cfg.page);
    match kind {
        Kind::Write => {
            let (off, len) = gen_range(&mut r, max, page);
            Op::Write {
                f,
                off,
                len,
                pat: gen_pat(&mut r),
            }
        }
        Kind::MStore => {
            let (off, len) = gen_range(&mut r, max, page);
            Op::MStore {
                f,
                off,
                len,
                pat: gen_pat(&mut r),
                msync: r.chance(1, 3),
                eof: cfg.past_eof && r.chance(1, 8),
            }
        }
        Kind::Read => {
            let (off, len) = gen_range(&mut r, max, page);
            Op::Read { f, off, len }
        }
        Kind::MLoad => {
            let (off, len) = gen_range(&mut r, max, page);
            Op::MLoad { f, off, len }
        }
        Kind::Punch => {
            let (off, len) = gen_range(&mut r, max, page);
            Op::Punch { f, off, len }
        }
        Kind::Zero => {
            let (off, len) = gen_range(&mut r, max, page);
            Op::Zero {
                f,
                off,
                len,
                keep: r.chance(1, 2),
            }
        }
        Kind::Prealloc => {
            let (off, len) = gen_range(&mut r, max, page);
            Op::Prealloc {
                f,
                off,
                len,
                keep: r.chance(1, 2),
            }
        }
        Kind::Truncate => {
            let size = match r.below(8) {
                0 => 0,
                1 => max,
                _ => gen_off(&mut r, max, page),
            };
            Op::Truncate { f, size }
        }
        Kind::Fsync => Op::Fsync { f },
        Kind::Fdatasync => Op::Fdatasync { f },
        Kind::Evict => Op::Evict { f },
        Kind::DropCaches => Op::DropCaches,
        Kind::Remount => Op::Remount,
        Kind::Seek => Op::Seek {
            f,
            off: r.next_u64() >> 1,
        },
        Kind::Stat => Op::Stat { f },
        Kind::Verify => Op::Verify { f },
    }
}

/// The kinds a configuration allows.
pub fn enabled_kinds(cfg: &GenConfig) -> Vec<Kind> {
    Kind::ALL
        .iter()
        .copied()
        .filter(|&k| match k {
            Kind::DropCaches => cfg.drop_caches,
            Kind::Remount => cfg.remount,
            _ => true,
        })
        .collect()
}

/// The first `n` operations for `seed`.
pub fn generate(seed: u64, n: u64, cfg: &GenConfig) -> Vec<Op> {
    let kinds = enabled_kinds(cfg);
    (0..n).map(|i| generate_one(seed, i, cfg, &kinds)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> GenConfig {
        GenConfig {
            files: 3,
            max_size: 256 << 10,
            page: 4096,
            drop_caches: true,
            remount: true,
            past_eof: true,
        }
    }

    #[test]
    fn text_round_trip() {
        for op in generate(42, 2000, &cfg()) {
            let text = op.to_string();
            assert_eq!(text.parse::<Op>().unwrap(), op, "{text}");
            assert_eq!(format!("op 17: {text}").parse::<Op>().unwrap(), op);
        }
    }

    /// Seeds saved before the move to `rand_xoshiro` name the same
    /// operations (the first ops of seed 12345 as the old generator made
    /// them, no drop_caches or remount).
    #[test]
    fn old_seeds_replay() {
        let mut c = cfg();
        c.drop_caches = false;
        c.remount = false;
        let want = [
            "mstore f=0 off=46 len=12292 pat=0x7e8c91ab27dd08d9 msync=0 eof=1",
            "mload f=1 off=36864 len=4099",
            "read f=2 off=42 len=12288",
            "prealloc f=1 off=151560 len=47 keep=1",
            "write f=0 off=98304 len=64994 pat=0xfe505272f882e103",
        ];
        let got: Vec<String> = generate(12345, 5, &c).iter().map(Op::to_string).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn deterministic_and_prefix_stable() {
        let a = generate(9, 500, &cfg());
        let b = generate(9, 1000, &cfg());
        assert_eq!(a[..], b[..500]);
        assert_ne!(a, generate(10, 500, &cfg()));
    }

    #[test]
    fn ranges_within_max_size_and_unaligned_common() {
        let c = cfg();
        let ops = generate(3, 20_000, &c);
        let mut unaligned = 0;
        let mut ranged = 0;
        let mut kinds = std::collections::HashSet::new();
        for op in &ops {
            kinds.insert(op.kind());
            if let Op::Write { off, len, .. }
            | Op::Punch { off, len, .. }
            | Op::Zero { off, len, .. }
            | Op::Prealloc { off, len, .. } = *op
            {
                assert!(len >= 1 && off + len <= c.max_size, "{op}");
                ranged += 1;
                if off % c.page != 0 || len % c.page != 0 {
                    unaligned += 1;
                }
            }
            if let Op::Truncate { size, .. } = *op {
                assert!(size <= c.max_size);
            }
            assert!(op.file().is_none_or(|f| f < c.files));
        }
        assert_eq!(kinds.len(), Kind::ALL.len());
        assert!(unaligned * 2 > ranged, "{unaligned} of {ranged} unaligned");
    }

    #[test]
    fn disabled_kinds_are_not_generated() {
        let mut c = cfg();
        c.drop_caches = false;
        c.remount = false;
        c.past_eof = false;
        for op in generate(5, 5000, &c) {
            assert!(!matches!(
                op,
                Op::DropCaches | Op::Remount | Op::MStore { eof: true, .. }
            ));
        }
    }

    #[test]
    fn parse_log_skips_comments() {
        let ops =
            parse_log("# seed 1\n\n  op 3: write f=0 off=1 len=2 pat=0x5\nremount\n").unwrap();
        assert_eq!(
            ops,
            vec![
                Op::Write {
                    f: 0,
                    off: 1,
                    len: 2,
                    pat: 5
                },
                Op::Remount
            ]
        );
        assert!(parse_log("write f=0").is_err());
        assert!(parse_log("frobnicate").is_err());
    }
}
