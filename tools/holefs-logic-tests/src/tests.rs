// SPDX-License-Identifier: GPL-2.0

use crate::options::*;
use crate::pool::BlockPool;
use crate::range::*;
use crate::stats::{Counter, Stats};

const SHIFT: u32 = 12;
const PS: u64 = 4096;

#[test]
fn size_suffixes() {
    assert_eq!(parse_size(b"4096"), Some(4096));
    assert_eq!(parse_size(b"4k"), Some(4096));
    assert_eq!(parse_size(b"64M"), Some(64 << 20));
    assert_eq!(parse_size(b"2g"), Some(2 << 30));
}

#[test]
fn size_garbage_and_overflow() {
    for bad in [
        &b""[..],
        b"k",
        b"12x",
        b"-1",
        b"1.5m",
        b" 1",
        b"99999999999999999999",
    ] {
        assert_eq!(parse_size(bad), None, "{:?}", bad);
    }
    // 2^63 bytes does not fit statfs's signed block counts.
    assert_eq!(parse_size(b"8589934592g"), None);
    assert_eq!(parse_size(b"18446744073709551615"), None);
}

#[test]
fn size_zero_and_tiny_refused() {
    let mut c = MountConfig::new(1 << 20);
    assert!(matches!(
        c.apply(OptionKey::Size, b"0", false),
        Err(OptionError::Invalid(_))
    ));
    assert!(matches!(
        c.apply(OptionKey::Size, b"100", false),
        Err(OptionError::Invalid(_))
    ));
    assert_eq!(c.size, 1 << 20, "a refused value changes nothing");
    c.apply(OptionKey::Size, b"8m", false).unwrap();
    assert_eq!(c.size, 8 << 20);
}

#[test]
fn unsafe_policies_need_the_module_parameter() {
    let cases: [(OptionKey, &[u8]); 3] = [
        (OptionKey::MapPages, b"locked"),
        (OptionKey::Fault, b"unlocked"),
        (OptionKey::Punch, b"unlocked"),
    ];
    for (key, value) in cases {
        let mut c = MountConfig::new(PS);
        assert_eq!(
            c.apply(key, value, false),
            Err(OptionError::UnsafeNotAllowed)
        );
        assert_eq!(c, MountConfig::new(PS));
        c.apply(key, value, true).unwrap();
        assert_eq!(c.unsafe_policies().count(), 1);
    }
}

#[test]
fn safe_policies_parse() {
    let mut c = MountConfig::new(PS);
    c.apply(OptionKey::MapPages, b"trylock", false).unwrap();
    assert_eq!(c.map_pages, MapPagesPolicy::Trylock);
    c.apply(OptionKey::MapPages, b"off", false).unwrap();
    assert_eq!(c.map_pages, MapPagesPolicy::Off);
    c.apply(OptionKey::PunchDelayUs, b"2000", false).unwrap();
    assert_eq!(c.punch_delay_us, 2000);
    assert!(c
        .apply(OptionKey::PunchDelayUs, b"10000001", false)
        .is_err());
    c.apply(OptionKey::TruncateDelayUs, b"10000000", false)
        .unwrap();
    assert_eq!(c.truncate_delay_us, 10_000_000);
    assert!(c
        .apply(OptionKey::TruncateDelayUs, b"10000001", false)
        .is_err());
    assert!(c.apply(OptionKey::TruncateDelayUs, b"-1", false).is_err());
    assert_eq!(c.punch_delay_us, 2000);
    assert!(c.apply(OptionKey::MapPages, b"Filemap", false).is_err());
    assert!(c.apply(OptionKey::Fault, b"", false).is_err());
    assert_eq!(c.unsafe_policies().count(), 0);
}

#[test]
fn show_options_format() {
    let mut c = MountConfig::new(64 << 20);
    c.apply(OptionKey::MapPages, b"trylock", false).unwrap();
    assert_eq!(
        c.to_string(),
        ",size=67108864,map_pages=trylock,fault=filemap,punch=locked,punch_delay_us=0,truncate_delay_us=0,folios=small"
    );
}

#[test]
fn folios_option_is_safe() {
    let mut c = MountConfig::new(64 << 20);
    assert_eq!(c.folios, FolioSize::Small);
    c.apply(OptionKey::Folios, b"large", false).unwrap();
    assert_eq!(c.folios, FolioSize::Large);
    assert_eq!(c.unsafe_policies().count(), 0);
    assert!(c.to_string().ends_with(",folios=large"));
    assert!(matches!(
        c.apply(OptionKey::Folios, b"huge", false),
        Err(OptionError::Invalid(_))
    ));
    assert_eq!(c.folios, FolioSize::Large);
}

#[test]
fn punch_frees_around_kept_edge_folios() {
    // Nothing kept: everything whole is freed.
    let (free, keep) = free_around_kept(4..20, &[0..0, 0..0]);
    assert_eq!((free, keep), (4..20, [0..0, 0..0]));
    // A 16-page folio at 0 kept across the head: pages 4..16 stay, zeroed.
    let (free, keep) = free_around_kept(4..20, &[0..16, 0..0]);
    assert_eq!((free, keep), (16..20, [4..16, 0..0]));
    // One at 16 kept across the tail.
    let (free, keep) = free_around_kept(4..20, &[0..0, 16..32]);
    assert_eq!((free, keep), (4..16, [0..0, 16..20]));
    // One folio holds both edges: nothing is freed.
    let (free, keep) = free_around_kept(4..12, &[0..16, 0..0]);
    assert_eq!(free.start, free.end);
    assert_eq!(keep, [4..12, 0..0]);
    // A kept folio that holds only the partial head page keeps nothing.
    let (free, keep) = free_around_kept(4..20, &[2..4, 0..0]);
    assert_eq!((free, keep), (4..20, [0..0, 0..0]));
}

#[test]
fn option_table_order() {
    for (i, k) in OptionKey::ALL.iter().enumerate() {
        assert_eq!(OptionKey::from_index(i), Some(*k));
    }
    assert_eq!(OptionKey::from_index(OptionKey::ALL.len()), None);
}

#[test]
fn pool_reserves_all_or_nothing() {
    let p = BlockPool::new(10);
    assert!(p.try_reserve(7));
    assert!(!p.try_reserve(4));
    assert_eq!(p.used(), 7);
    assert!(p.try_reserve(3));
    assert_eq!(p.free(), 0);
    assert!(!p.try_reserve(1));
    p.release(5);
    assert_eq!(p.free(), 5);
    assert!(!p.try_reserve(u64::MAX), "overflow must not wrap");
}

#[test]
fn pool_is_exact_under_concurrency() {
    use std::sync::Arc;
    let p = Arc::new(BlockPool::new(1000));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || (0..1000).filter(|_| p.try_reserve(1)).count())
        })
        .collect();
    let got: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(got, 1000);
    assert_eq!(p.used(), 1000);
}

#[test]
fn stats_count_and_reset() {
    let s = Stats::new();
    s.inc(Counter::FaultCalls);
    s.add(Counter::MapPagesPages, 16);
    assert_eq!(s.get(Counter::FaultCalls), 1);
    assert_eq!(s.get(Counter::MapPagesPages), 16);
    s.reset();
    assert!(Counter::ALL.iter().all(|&c| s.get(c) == 0));
}

#[test]
fn stats_names_unique() {
    let mut names: Vec<_> = Counter::ALL.iter().map(|c| c.name()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), Counter::ALL.len());
}

#[test]
fn falloc_modes() {
    assert_eq!(
        FallocOp::from_mode(0),
        Some(FallocOp::Allocate { keep_size: false })
    );
    assert_eq!(
        FallocOp::from_mode(FALLOC_FL_KEEP_SIZE),
        Some(FallocOp::Allocate { keep_size: true })
    );
    assert_eq!(
        FallocOp::from_mode(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE),
        Some(FallocOp::PunchHole)
    );
    assert_eq!(
        FallocOp::from_mode(FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE),
        Some(FallocOp::ZeroRange { keep_size: true })
    );
    // PUNCH_HOLE alone, COLLAPSE, INSERT, UNSHARE, NO_HIDE_STALE: EOPNOTSUPP.
    for mode in [0x02, 0x08, 0x20, 0x40, 0x04, 0x06, 0x12] {
        assert_eq!(FallocOp::from_mode(mode), None, "mode {mode:#x}");
    }
}

#[test]
fn span_aligned() {
    let s = PageSpan::new(PS, 3 * PS, SHIFT).unwrap();
    assert_eq!(s.touched_pages(), 1..4);
    assert_eq!(s.full_pages(), 1..4);
    assert_eq!(s.partial_pages().count(), 0);
}

#[test]
fn span_unaligned_edges() {
    let s = PageSpan::new(100, 2 * PS, SHIFT).unwrap();
    assert_eq!(s.touched_pages(), 0..3);
    assert_eq!(s.full_pages(), 1..2);
    let parts: Vec<_> = s.partial_pages().collect();
    assert_eq!(
        parts,
        vec![
            PagePart {
                index: 0,
                offset: 100,
                len: (PS - 100) as usize
            },
            PagePart {
                index: 2,
                offset: 0,
                len: 100
            },
        ]
    );
}

#[test]
fn span_within_one_page() {
    let s = PageSpan::new(PS + 10, 20, SHIFT).unwrap();
    assert_eq!(s.full_pages().count(), 0);
    assert_eq!(
        s.partial_pages().collect::<Vec<_>>(),
        vec![PagePart {
            index: 1,
            offset: 10,
            len: 20
        }]
    );
    // A whole single page is full, not partial.
    let s = PageSpan::new(PS, PS, SHIFT).unwrap();
    assert_eq!(s.full_pages(), 1..2);
    assert_eq!(s.partial_pages().count(), 0);
}

#[test]
fn span_rejects_empty_and_overflow() {
    assert!(PageSpan::new(0, 0, SHIFT).is_none());
    assert!(PageSpan::new(u64::MAX, 2, SHIFT).is_none());
}

/// A sparse file model: allocated page indices.
fn blocks(b: &[u64]) -> impl Fn(u64) -> Option<u64> + '_ {
    move |i| b.iter().copied().filter(|&x| x >= i).min()
}
fn holes(b: &[u64]) -> impl Fn(u64) -> u64 + '_ {
    move |mut i| {
        while b.contains(&i) {
            i += 1
        }
        i
    }
}

#[test]
fn seek_data_and_hole() {
    let map = [2, 3, 7];
    let size = 8 * PS;
    assert_eq!(seek_data(0, size, SHIFT, blocks(&map)), Some(2 * PS));
    assert_eq!(
        seek_data(2 * PS + 5, size, SHIFT, blocks(&map)),
        Some(2 * PS + 5)
    );
    assert_eq!(seek_data(4 * PS, size, SHIFT, blocks(&map)), Some(7 * PS));
    assert_eq!(seek_data(size, size, SHIFT, blocks(&map)), None);
    assert_eq!(seek_hole(0, size, SHIFT, holes(&map)), Some(0));
    assert_eq!(seek_hole(2 * PS, size, SHIFT, holes(&map)), Some(4 * PS));
    // The block at 7 runs to EOF: the hole is EOF.
    assert_eq!(seek_hole(7 * PS, size, SHIFT, holes(&map)), Some(size));
    assert_eq!(seek_hole(size + 1, size, SHIFT, holes(&map)), None);
    // Data past EOF (preallocated with KEEP_SIZE) is not reported.
    assert_eq!(seek_data(4 * PS, 5 * PS, SHIFT, blocks(&map)), None);
}

#[test]
fn pages_for_sizes() {
    assert_eq!(pages_for(0, SHIFT), 0);
    assert_eq!(pages_for(1, SHIFT), 1);
    assert_eq!(pages_for(PS, SHIFT), 1);
    assert_eq!(pages_for(PS + 1, SHIFT), 2);
}
