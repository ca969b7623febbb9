// SPDX-License-Identifier: GPL-2.0

//! Mount options, parsed once at mount time into a typed [`MountConfig`].
//!
//! Plain `core` code: no kernel types, so the host unit tests in
//! `tools/holefs-logic-tests` build it too.

use core::fmt;

/// What `->map_pages` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MapPagesPolicy {
    /// `filemap_map_pages()` with no lock of holefs's own (6.12 XFS, ext4).
    Filemap,
    /// `down_read_trylock(&mapping->invalidate_lock)`; on failure map nothing
    /// and let the fault fall back to `->fault`.
    Trylock,
    /// Blocking `filemap_invalidate_lock_shared()` around
    /// `filemap_map_pages()`: sleeps under `rcu_read_lock()`, so invalid.
    Locked,
    /// No `->map_pages`: every fault goes to `->fault`.
    Off,
}

/// What `->fault` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultPolicy {
    /// `filemap_fault()`, which takes `invalidate_lock` shared before it
    /// instantiates a folio.
    Filemap,
    /// holefs's own slow path that instantiates folios without
    /// `invalidate_lock` (unsafe).
    Unlocked,
}

/// How hole punch excludes page-cache instantiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PunchPolicy {
    /// `inode_lock` + `invalidate_lock` exclusive.
    Locked,
    /// `inode_lock` only (unsafe).
    Unlocked,
}

/// The mount options a holefs instance was created with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MountConfig {
    /// Capacity of the backing store in bytes.
    pub(crate) size: u64,
    /// `->map_pages` policy.
    pub(crate) map_pages: MapPagesPolicy,
    /// `->fault` policy.
    pub(crate) fault: FaultPolicy,
    /// Hole-punch policy.
    pub(crate) punch: PunchPolicy,
    /// Sleep between dropping the page cache and freeing blocks in a punch.
    pub(crate) punch_delay_us: u32,
    /// Sleep between dropping the page cache past the new size and lowering
    /// `i_size` in a truncate that shrinks the file.
    pub(crate) truncate_delay_us: u32,
}

/// The options holefs knows, in the order of the kernel's parameter table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OptionKey {
    /// `size=`
    Size,
    /// `map_pages=`
    MapPages,
    /// `fault=`
    Fault,
    /// `punch=`
    Punch,
    /// `punch_delay_us=`
    PunchDelayUs,
    /// `truncate_delay_us=`
    TruncateDelayUs,
}

impl OptionKey {
    /// Every option, indexed by its number in the parameter table.
    pub(crate) const ALL: [OptionKey; 6] = [
        OptionKey::Size,
        OptionKey::MapPages,
        OptionKey::Fault,
        OptionKey::Punch,
        OptionKey::PunchDelayUs,
        OptionKey::TruncateDelayUs,
    ];

    /// The option's name as written on the mount command line.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            OptionKey::Size => "size",
            OptionKey::MapPages => "map_pages",
            OptionKey::Fault => "fault",
            OptionKey::Punch => "punch",
            OptionKey::PunchDelayUs => "punch_delay_us",
            OptionKey::TruncateDelayUs => "truncate_delay_us",
        }
    }

    /// The option with table number `n`.
    pub(crate) fn from_index(n: usize) -> Option<OptionKey> {
        Self::ALL.get(n).copied()
    }
}

/// Why an option value was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OptionError {
    /// Malformed, zero or overflowing value: EINVAL.
    Invalid(&'static str),
    /// An unsafe policy without `unsafe_policies=1`: EPERM.
    UnsafeNotAllowed,
}

/// Largest `size=` accepted: the byte count must fit in a `u64` and the
/// block count in the `i64` a filesystem reports through statfs.
const SIZE_MAX: u64 = i64::MAX as u64;

/// Parses `N[kKmMgG]`: decimal digits and an optional binary suffix.
pub(crate) fn parse_size(s: &[u8]) -> Option<u64> {
    let (digits, shift) = match s.last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 10),
        b'm' | b'M' => (&s[..s.len() - 1], 20),
        b'g' | b'G' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n = parse_u64(digits)?;
    let bytes = n.checked_mul(1u64 << shift)?;
    (bytes <= SIZE_MAX).then_some(bytes)
}

/// Parses a non-empty string of decimal digits without overflow.
pub(crate) fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        if !c.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

/// Parses a delay of at most 10 s, in microseconds.
fn parse_delay_us(value: &[u8]) -> Result<u32, OptionError> {
    let us = parse_u64(value)
        .filter(|&us| us <= 10_000_000)
        .ok_or(OptionError::Invalid("expected 0..10000000"))?;
    // Bounded above, so the conversion cannot fail.
    Ok(us as u32)
}

impl MountConfig {
    /// The configuration of a mount without options; `default_size` is the
    /// backing-store capacity chosen from the machine's memory.
    pub(crate) const fn new(default_size: u64) -> Self {
        MountConfig {
            size: default_size,
            map_pages: MapPagesPolicy::Filemap,
            fault: FaultPolicy::Filemap,
            punch: PunchPolicy::Locked,
            punch_delay_us: 0,
            truncate_delay_us: 0,
        }
    }

    /// Applies one `key=value` option.  `allow_unsafe` is the module
    /// parameter `unsafe_policies`.
    pub(crate) fn apply(
        &mut self,
        key: OptionKey,
        value: &[u8],
        allow_unsafe: bool,
    ) -> Result<(), OptionError> {
        let unsafe_ok = |is_unsafe: bool| {
            if is_unsafe && !allow_unsafe {
                Err(OptionError::UnsafeNotAllowed)
            } else {
                Ok(())
            }
        };
        match key {
            OptionKey::Size => {
                let size = parse_size(value)
                    .ok_or(OptionError::Invalid("expected N[kmg] within range"))?;
                if size < 4096 {
                    return Err(OptionError::Invalid("must be at least one block"));
                }
                self.size = size;
            }
            OptionKey::MapPages => {
                let p = match value {
                    b"filemap" => MapPagesPolicy::Filemap,
                    b"trylock" => MapPagesPolicy::Trylock,
                    b"locked" => MapPagesPolicy::Locked,
                    b"off" => MapPagesPolicy::Off,
                    _ => {
                        return Err(OptionError::Invalid(
                            "expected filemap, trylock, locked or off",
                        ))
                    }
                };
                unsafe_ok(p == MapPagesPolicy::Locked)?;
                self.map_pages = p;
            }
            OptionKey::Fault => {
                let p = match value {
                    b"filemap" => FaultPolicy::Filemap,
                    b"unlocked" => FaultPolicy::Unlocked,
                    _ => return Err(OptionError::Invalid("expected filemap or unlocked")),
                };
                unsafe_ok(p == FaultPolicy::Unlocked)?;
                self.fault = p;
            }
            OptionKey::Punch => {
                let p = match value {
                    b"locked" => PunchPolicy::Locked,
                    b"unlocked" => PunchPolicy::Unlocked,
                    _ => return Err(OptionError::Invalid("expected locked or unlocked")),
                };
                unsafe_ok(p == PunchPolicy::Unlocked)?;
                self.punch = p;
            }
            OptionKey::PunchDelayUs => self.punch_delay_us = parse_delay_us(value)?,
            OptionKey::TruncateDelayUs => self.truncate_delay_us = parse_delay_us(value)?,
        }
        Ok(())
    }

    /// Whether `self` and `other` agree on option `key`.  A remount may
    /// repeat an option but not change it: the policies, the store and the
    /// race window are fixed for the life of a superblock.
    pub(crate) fn same_option(&self, other: &MountConfig, key: OptionKey) -> bool {
        match key {
            OptionKey::Size => self.size == other.size,
            OptionKey::MapPages => self.map_pages == other.map_pages,
            OptionKey::Fault => self.fault == other.fault,
            OptionKey::Punch => self.punch == other.punch,
            OptionKey::PunchDelayUs => self.punch_delay_us == other.punch_delay_us,
            OptionKey::TruncateDelayUs => self.truncate_delay_us == other.truncate_delay_us,
        }
    }

    /// Names of the unsafe policies this configuration uses, for the
    /// warning logged at mount.
    pub(crate) fn unsafe_policies(&self) -> impl Iterator<Item = &'static str> {
        [
            (self.map_pages == MapPagesPolicy::Locked).then_some("map_pages=locked"),
            (self.fault == FaultPolicy::Unlocked).then_some("fault=unlocked"),
            (self.punch == PunchPolicy::Unlocked).then_some("punch=unlocked"),
        ]
        .into_iter()
        .flatten()
    }

    /// Number of PAGE_SIZE blocks in the backing store.
    pub(crate) fn blocks(&self, page_size: u64) -> u64 {
        self.size / page_size
    }
}

impl MapPagesPolicy {
    fn name(self) -> &'static str {
        match self {
            MapPagesPolicy::Filemap => "filemap",
            MapPagesPolicy::Trylock => "trylock",
            MapPagesPolicy::Locked => "locked",
            MapPagesPolicy::Off => "off",
        }
    }
}

/// Formats the options as `->show_options` prints them: `,key=value...`.
impl fmt::Display for MountConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ",size={}", self.size)?;
        write!(f, ",map_pages={}", self.map_pages.name())?;
        let fault = match self.fault {
            FaultPolicy::Filemap => "filemap",
            FaultPolicy::Unlocked => "unlocked",
        };
        let punch = match self.punch {
            PunchPolicy::Locked => "locked",
            PunchPolicy::Unlocked => "unlocked",
        };
        write!(f, ",fault={fault},punch={punch}")?;
        write!(f, ",punch_delay_us={}", self.punch_delay_us)?;
        write!(f, ",truncate_delay_us={}", self.truncate_delay_us)
    }
}
