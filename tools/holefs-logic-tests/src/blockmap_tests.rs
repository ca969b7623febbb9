// SPDX-License-Identifier: GPL-2.0

//! The block map's accounting against the pool, and the truncate cut.

use crate::blockmap::BlockMap;
use crate::pool::BlockPool;
use crate::range::{PagePart, TruncateCut};
use crate::stats::{Counter, Stats};
use kernel::prelude::*;
use kernel::rbtree::fail_inserts_after;

const PS: usize = 4096;

/// The invariant of the store: the pool counts exactly the mapped blocks.
fn assert_accounted(map: &BlockMap, pool: &BlockPool) {
    assert_eq!(pool.used(), map.len(), "pool.used != map.len");
}

#[test]
fn ensure_reserves_then_enospc() {
    let pool = BlockPool::new(2);
    let stats = Stats::new();
    let mut map = BlockMap::new();
    map.ensure(7, &pool, &stats).unwrap().write(b"seven");
    // A second ensure of the same index finds the block, reserves nothing.
    map.ensure(7, &pool, &stats).unwrap();
    map.ensure(9, &pool, &stats).unwrap();
    assert_eq!(map.ensure(11, &pool, &stats).err(), Some(ENOSPC));
    assert_accounted(&map, &pool);
    assert_eq!(stats.get(Counter::BlocksAllocated), 2);
    let mut buf = [0u8; 5];
    map.get(7).unwrap().read(&mut buf);
    assert_eq!(&buf, b"seven");
    assert!(map.get(8).is_none());
}

#[test]
fn ensure_enomem_returns_the_reservation() {
    let pool = BlockPool::new(4);
    let stats = Stats::new();
    let mut map = BlockMap::new();
    fail_inserts_after(Some(0));
    assert_eq!(map.ensure(1, &pool, &stats).err(), Some(ENOMEM));
    fail_inserts_after(None);
    assert_eq!(map.len(), 0);
    assert_accounted(&map, &pool);
}

#[test]
fn ensure_range_is_all_or_nothing_on_enospc() {
    let pool = BlockPool::new(5);
    let stats = Stats::new();
    let mut map = BlockMap::new();
    map.ensure(2, &pool, &stats).unwrap();
    // 0..6 needs 5 more blocks; only 4 are free.
    assert_eq!(map.ensure_range(0..6, &pool, &stats).err(), Some(ENOSPC));
    assert_eq!(map.len(), 1);
    assert_accounted(&map, &pool);
    // 0..5 needs 4: exactly what is free; existing blocks are kept.
    assert_eq!(map.ensure_range(0..5, &pool, &stats), Ok(4));
    assert_eq!(pool.free(), 0);
    assert_accounted(&map, &pool);
}

#[test]
fn ensure_range_enomem_keeps_what_it_allocated() {
    let pool = BlockPool::new(100);
    let stats = Stats::new();
    let mut map = BlockMap::new();
    // Page 0 puts the bitmap of pages 0..512 in place: the inserts counted
    // below are the blocks' alone.
    map.ensure(0, &pool, &stats).unwrap();
    fail_inserts_after(Some(3));
    assert_eq!(map.ensure_range(10..20, &pool, &stats).err(), Some(ENOMEM));
    fail_inserts_after(None);
    assert_eq!(map.len(), 4);
    assert_eq!(map.count_in(10..20), 3);
    assert_eq!(map.next_hole(10), 13);
    assert_accounted(&map, &pool);
}

#[test]
fn block_enomem_after_the_bitmap_leaves_no_trace() {
    let pool = BlockPool::new(4);
    let stats = Stats::new();
    let mut map = BlockMap::new();
    // The bitmap of the new group is allocated, the block is not.
    fail_inserts_after(Some(1));
    assert_eq!(map.ensure(600, &pool, &stats).err(), Some(ENOMEM));
    fail_inserts_after(None);
    assert_eq!(map.count_in(0..u64::MAX), 0);
    assert_accounted(&map, &pool);
    // The page counts as a hole: a later range reserves it.
    assert_eq!(map.ensure_range(599..601, &pool, &stats), Ok(2));
    assert_accounted(&map, &pool);
}

#[test]
fn ensure_range_over_allocated_pages_reserves_nothing() {
    let pool = BlockPool::new(600);
    let stats = Stats::new();
    let mut map = BlockMap::new();
    assert_eq!(map.ensure_range(512..1024, &pool, &stats), Ok(512));
    let allocated = stats.get(Counter::BlocksAllocated);
    assert_eq!(map.ensure_range(512..1024, &pool, &stats), Ok(0));
    assert_eq!(map.ensure_range(700..701, &pool, &stats), Ok(0));
    assert_eq!(stats.get(Counter::BlocksAllocated), allocated);
    // A hole inside the range is found and filled.
    map.remove_range(800..801, &pool);
    assert_eq!(map.ensure_range(512..1024, &pool, &stats), Ok(1));
    assert!(map.get(800).is_some());
    assert_accounted(&map, &pool);
}

#[test]
fn huge_range_is_refused_without_walking_it() {
    let pool = BlockPool::new(8);
    let stats = Stats::new();
    let mut map = BlockMap::new();
    assert_eq!(
        map.ensure_range(0..(1 << 40), &pool, &stats).err(),
        Some(ENOSPC)
    );
    assert_accounted(&map, &pool);
}

#[test]
fn remove_range_frees_and_releases() {
    let pool = BlockPool::new(16);
    let stats = Stats::new();
    let mut map = BlockMap::new();
    for i in [0, 1, 2, 5, 6, 9] {
        map.ensure(i, &pool, &stats).unwrap();
    }
    assert_eq!(map.count_in(1..6), 3);
    assert_eq!(map.remove_range(1..6, &pool), 3);
    assert_accounted(&map, &pool);
    assert!(map.get(0).is_some() && map.get(6).is_some() && map.get(9).is_some());
    assert!(map.get(1).is_none() && map.get(5).is_none());
    assert_eq!(map.clear(&pool), 3);
    assert_eq!(pool.used(), 0);
}

#[test]
fn next_block_and_next_hole() {
    let pool = BlockPool::new(16);
    let stats = Stats::new();
    let mut map = BlockMap::new();
    for i in [3, 4, 5, 8] {
        map.ensure(i, &pool, &stats).unwrap();
    }
    assert_eq!(map.next_block(0), Some(3));
    assert_eq!(map.next_block(6), Some(8));
    assert_eq!(map.next_block(9), None);
    assert_eq!(map.next_hole(0), 0);
    assert_eq!(map.next_hole(3), 6);
    assert_eq!(map.next_hole(8), 9);
}

#[test]
fn zero_range_zeroes_only_inside() {
    let pool = BlockPool::new(16);
    let stats = Stats::new();
    let mut map = BlockMap::new();
    for i in 0..4 {
        map.ensure(i, &pool, &stats).unwrap().write(&[0xaa; PS]);
    }
    map.zero_range(1..3);
    let byte = |map: &BlockMap, i| {
        let mut b = [0u8; PS];
        map.get(i).unwrap().read(&mut b);
        assert!(b.iter().all(|&x| x == b[0]));
        b[0]
    };
    assert_eq!(
        [byte(&map, 0), byte(&map, 1), byte(&map, 2), byte(&map, 3)],
        [0xaa, 0, 0, 0xaa]
    );
    // Zeroing keeps the blocks allocated.
    assert_eq!(map.len(), 4);
    assert_accounted(&map, &pool);
}

#[test]
fn truncate_cut_on_a_page_boundary_has_no_tail() {
    assert_eq!(
        TruncateCut::new(8192, 12),
        TruncateCut {
            free_from: 2,
            tail: None
        }
    );
    assert_eq!(
        TruncateCut::new(0, 12),
        TruncateCut {
            free_from: 0,
            tail: None
        }
    );
}

#[test]
fn truncate_cut_inside_a_page_zeroes_its_tail() {
    assert_eq!(
        TruncateCut::new(8192 + 100, 12),
        TruncateCut {
            free_from: 3,
            tail: Some(PagePart {
                index: 2,
                offset: 100,
                len: 4096 - 100
            })
        }
    );
    assert_eq!(
        TruncateCut::new(1, 12).tail,
        Some(PagePart {
            index: 0,
            offset: 1,
            len: 4095
        })
    );
}

#[test]
fn truncate_cut_applied_to_a_map() {
    let pool = BlockPool::new(16);
    let stats = Stats::new();
    let mut map = BlockMap::new();
    for i in 0..5 {
        map.ensure(i, &pool, &stats).unwrap().write(&[0xbb; PS]);
    }
    let cut = TruncateCut::new(2 * PS as u64 + 10, 12);
    map.remove_range(cut.free_from..u64::MAX, &pool);
    let tail = cut.tail.unwrap();
    map.get_mut(tail.index).unwrap().zero(tail.offset, tail.len);
    assert_eq!(map.len(), 3);
    assert_accounted(&map, &pool);
    let mut b = [0u8; PS];
    map.get(2).unwrap().read(&mut b);
    assert!(b[..10].iter().all(|&x| x == 0xbb));
    assert!(b[10..].iter().all(|&x| x == 0));
}
