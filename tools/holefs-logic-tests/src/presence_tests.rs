// SPDX-License-Identifier: GPL-2.0

//! The page bitmaps of the block map against a plain set.

use crate::presence::{Presence, GROUP_PAGES};
use kernel::rbtree::fail_inserts_after;
use std::collections::BTreeSet;

/// A small deterministic generator (xorshift64*): the same cases each run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn naive_count(set: &BTreeSet<u64>, lo: u64, hi: u64) -> u64 {
    set.range(lo..hi.max(lo)).count() as u64
}

#[test]
fn count_in_matches_a_set_across_groups_and_words() {
    let mut present = Presence::new();
    let mut set = BTreeSet::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Pages of four groups, set and cleared at random, around word and
    // group edges as often as anywhere.
    let span = 4 * GROUP_PAGES;
    for _ in 0..20_000 {
        let index = rng.below(span);
        if rng.below(3) == 0 {
            present.remove(index);
            set.remove(&index);
        } else {
            present.insert(index).unwrap();
            set.insert(index);
        }
        assert_eq!(present.contains(index), set.contains(&index));
        let lo = rng.below(span + 8);
        let hi = lo + rng.below(GROUP_PAGES + 70);
        assert_eq!(
            present.count_in(lo..hi),
            naive_count(&set, lo, hi),
            "{lo}..{hi}"
        );
    }
    for lo in (0..span).step_by(61) {
        for hi in [lo, lo + 1, lo + 63, lo + 64, lo + 65, lo + 512, u64::MAX] {
            assert_eq!(
                present.count_in(lo..hi),
                naive_count(&set, lo, hi),
                "{lo}..{hi}"
            );
        }
    }
}

#[test]
fn whole_groups_and_their_edges() {
    let mut present = Presence::new();
    for index in GROUP_PAGES..2 * GROUP_PAGES {
        present.insert(index).unwrap();
    }
    assert_eq!(present.count_in(GROUP_PAGES..2 * GROUP_PAGES), GROUP_PAGES);
    assert_eq!(present.count_in(0..u64::MAX), GROUP_PAGES);
    assert_eq!(present.count_in(GROUP_PAGES - 1..GROUP_PAGES + 1), 1);
    assert_eq!(
        present.count_in(2 * GROUP_PAGES - 1..2 * GROUP_PAGES + 1),
        1
    );
    assert_eq!(present.count_in(5..5), 0);
    let (hi, lo) = (3, 9);
    assert_eq!(present.count_in(lo..hi), 0);
    for index in GROUP_PAGES..2 * GROUP_PAGES {
        present.remove(index);
    }
    assert_eq!(present.count_in(0..u64::MAX), 0);
    // Far indices: the group number, not the index, keys the tree.
    present.insert(u64::MAX - 1).unwrap();
    assert!(present.contains(u64::MAX - 1));
    assert_eq!(present.count_in(u64::MAX - 2..u64::MAX), 1);
}

#[test]
fn insert_enomem_changes_nothing() {
    let mut present = Presence::new();
    fail_inserts_after(Some(0));
    assert!(present.insert(7).is_err());
    fail_inserts_after(None);
    assert!(!present.contains(7));
    assert_eq!(present.count_in(0..u64::MAX), 0);
    // A group that exists needs no allocation.
    present.insert(7).unwrap();
    fail_inserts_after(Some(0));
    present.insert(8).unwrap();
    fail_inserts_after(None);
    assert_eq!(present.count_in(0..16), 2);
}
