// SPDX-License-Identifier: GPL-2.0
//! Postconditions: what every view of the file must show once an operation
//! has returned.  Pure functions of the operation, its range, the file size
//! before it, and the generation of the old data; no system calls.
//!
//! Per byte at offset `off` (range `[start, end)`, size `size` before, `len =
//! end - start`), the expected content is:
//!
//! | op                            | `off < start` | `start <= off < end` | `off >= end`            |
//! |-------------------------------|---------------|----------------------|-------------------------|
//! | punch, zero, madv-remove      | old           | zero                 | old                     |
//! | collapse                      | old           | old at `off + len`   | old at `off + len`      |
//! | insert                        | old           | zero                 | old at `off - len`      |
//! | truncate (down to `start`, up)| old           | zero                 | zero                    |
//! | dio-write                     | old           | new                  | old                     |
//! | clone, copy-range             | old           | source               | old                     |
//! | control (operation skipped)   | old           | old                  | old                     |
//!
//! and nothing at or past the size after the operation (`size - len` for
//! collapse, `size + len` for insert).  A view shows bytes past EOF as zero
//! (a short read leaves the caller's zeroed buffer alone; a mapping shows
//! the zeroed tail of the EOF page, and the SIGBUS handler maps a zero page
//! beyond it), so past EOF the expected word is zero, reported as
//! `past-eof` when it is not.
//!
//! A write-fault racer stores a stamp of kind `Racer` and the current
//! generation into the second word of each page it touches; such a word is
//! accepted at any second-word slot (the shifting operations move whole
//! pages, so a store from before a collapse or insert lands on another
//! slot).  The other words of that page keep their full postcondition.

use crate::axes::Op;
use crate::stamp::{self, Kind};

/// The postcondition of one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Post {
    /// The operation, or `None` for a control (the operation skipped).
    pub op: Option<Op>,
    pub start: u64,
    pub end: u64,
    /// File size before the operation.
    pub size: u64,
    /// Generation of the old data (and of the source and new data).
    pub gen: u32,
    /// Words per page (second-word slots of the write-fault racer), or 0
    /// when no racer writes.
    pub racer_slot_words: u64,
}

/// Where an expected byte comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ByteSrc {
    Stamp(Kind, u64),
    Zero,
    PastEof,
}

/// A word that violates the postcondition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bad {
    pub idx: u64,
    pub value: u64,
    pub expected: u64,
    pub class: &'static str,
}

impl Post {
    fn len(&self) -> u64 {
        self.end - self.start
    }

    /// The file size once the operation returned.
    pub fn size_after(&self) -> u64 {
        match self.op {
            Some(Op::Collapse) => self.size - self.len(),
            Some(Op::Insert) => self.size + self.len(),
            _ => self.size,
        }
    }

    fn byte_src(&self, off: u64) -> ByteSrc {
        if off >= self.size_after() {
            return ByteSrc::PastEof;
        }
        let (s, e, len) = (self.start, self.end, self.len());
        let inside = off >= s && off < e;
        let old = ByteSrc::Stamp(Kind::Old, off);
        let Some(op) = self.op else { return old };
        match op {
            Op::Punch | Op::Zero | Op::MadvRemove if inside => ByteSrc::Zero,
            Op::Collapse if off >= s => ByteSrc::Stamp(Kind::Old, off + len),
            Op::Insert if inside => ByteSrc::Zero,
            Op::Insert if off >= e => ByteSrc::Stamp(Kind::Old, off - len),
            Op::Truncate if off >= s => ByteSrc::Zero,
            Op::DioWrite if inside => ByteSrc::Stamp(Kind::New, off),
            Op::Clone | Op::CopyRange if inside => ByteSrc::Stamp(Kind::Src, off),
            _ => old,
        }
    }

    fn byte(&self, off: u64) -> u8 {
        match self.byte_src(off) {
            ByteSrc::Stamp(k, at) => stamp::stamp_byte(k, self.gen, at),
            ByteSrc::Zero | ByteSrc::PastEof => 0,
        }
    }

    /// The word every view must show at word index `idx`.
    pub fn expected(&self, idx: u64) -> u64 {
        let off = idx * 8;
        let (a, b) = (self.byte_src(off), self.byte_src(off + 7));
        match (a, b) {
            (ByteSrc::Stamp(k, x), ByteSrc::Stamp(k2, y))
                if k == k2 && y == x + 7 && x % 8 == 0 =>
            {
                stamp::stamp(k, self.gen, x / 8)
            }
            (ByteSrc::Zero | ByteSrc::PastEof, ByteSrc::Zero | ByteSrc::PastEof) => 0,
            _ => u64::from_le_bytes(std::array::from_fn(|i| self.byte(off + i as u64))),
        }
    }

    fn racer_ok(&self, idx: u64, value: u64) -> bool {
        self.racer_slot_words != 0
            && idx % self.racer_slot_words == 1
            && matches!(stamp::decode(value), Some((Kind::Racer, g, _)) if g == self.gen & stamp::GEN_MASK)
    }

    /// Check word `value` seen at word index `idx`.
    pub fn check(&self, idx: u64, value: u64) -> Option<Bad> {
        let expected = self.expected(idx);
        if value == expected || self.racer_ok(idx, value) {
            return None;
        }
        let class = if idx * 8 >= self.size_after() {
            "past-eof"
        } else if value == 0 {
            "zero"
        } else {
            match stamp::decode(value) {
                Some((Kind::Old, g, at)) if g == self.gen & stamp::GEN_MASK => {
                    if at == idx & 0xffff_ffff {
                        "stale"
                    } else {
                        "misplaced"
                    }
                }
                Some((Kind::Old, _, _)) => "previous",
                Some((Kind::Src, _, _)) => "source",
                Some((Kind::New, _, _)) => "new",
                Some((Kind::Racer, _, _)) => "racer",
                None => "torn",
            }
        };
        Some(Bad {
            idx,
            value,
            expected,
            class,
        })
    }

    /// Which part of the range word index `idx` lies in, by page: the first
    /// and last page of the range are reported apart from its inner pages
    /// and from the pages before and after it.
    pub fn region(&self, idx: u64, page: u64) -> &'static str {
        let p = idx * 8 / page;
        let (first, last) = (self.start / page, (self.end - 1) / page);
        if p < first {
            "before"
        } else if p == first {
            "first"
        } else if p == last {
            "last"
        } else if p < last {
            "inner"
        } else {
            "after"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp::stamp;

    const G: u32 = 7;

    fn post(op: Option<Op>, start: u64, end: u64, size: u64) -> Post {
        Post {
            op,
            start,
            end,
            size,
            gen: G,
            racer_slot_words: 0,
        }
    }

    fn old(i: u64) -> u64 {
        stamp(Kind::Old, G, i)
    }

    /// The expected bytes of `[0, n)` as one vector.
    fn bytes(p: &Post, n: u64) -> Vec<u8> {
        (0..n / 8)
            .flat_map(|i| p.expected(i).to_le_bytes())
            .collect()
    }

    fn old_bytes(off: u64, n: usize) -> Vec<u8> {
        (off..off + n as u64)
            .map(|o| stamp::stamp_byte(Kind::Old, G, o))
            .collect()
    }

    #[test]
    fn punch_zero_madv_zero_the_range_only() {
        for op in [Op::Punch, Op::Zero, Op::MadvRemove] {
            let p = post(Some(op), 4096, 8192, 16384);
            assert_eq!(p.expected(511), old(511));
            assert_eq!(p.expected(512), 0);
            assert_eq!(p.expected(1023), 0);
            assert_eq!(p.expected(1024), old(1024));
            assert_eq!(p.size_after(), 16384);
            assert_eq!(p.check(600, old(600)).unwrap().class, "stale");
            assert_eq!(p.check(600, 0), None);
        }
    }

    #[test]
    fn unaligned_punch_zeroes_partial_words_and_pages() {
        // Bytes 1003..6125 zero: partial words at both ends.
        let p = post(Some(Op::Punch), 1003, 6125, 8192);
        let b = bytes(&p, 8192);
        assert_eq!(b[..1003], old_bytes(0, 1003)[..]);
        assert!(b[1003..6125].iter().all(|&x| x == 0));
        assert_eq!(b[6125..], old_bytes(6125, 8192 - 6125)[..]);
        // The torn word at the start is its own value, not old or zero.
        let w = p.expected(1003 / 8);
        assert_ne!(w, 0);
        assert_ne!(w, old(1003 / 8));
        assert_eq!(p.check(1003 / 8, old(1003 / 8)).unwrap().class, "stale");
        assert_eq!(p.check(1003 / 8, 0).unwrap().class, "zero");
    }

    #[test]
    fn collapse_shifts_down_and_shrinks() {
        let p = post(Some(Op::Collapse), 4096, 12288, 20480);
        assert_eq!(p.size_after(), 12288);
        assert_eq!(p.expected(100), old(100));
        assert_eq!(p.expected(512), old(512 + 1024));
        assert_eq!(p.expected(1535), old(2559));
        // Past the new EOF: zero in every view.
        assert_eq!(p.expected(1536), 0);
        assert_eq!(p.check(1536, old(1536)).unwrap().class, "past-eof");
        // The unshifted old word at its old place is stale.
        assert_eq!(p.check(512, old(512)).unwrap().class, "stale");
        assert_eq!(p.check(512, old(513)).unwrap().class, "misplaced");
    }

    #[test]
    fn insert_shifts_up_with_zeros() {
        let p = post(Some(Op::Insert), 4096, 8192, 16384);
        assert_eq!(p.size_after(), 20480);
        assert_eq!(p.expected(511), old(511));
        assert_eq!(p.expected(512), 0);
        assert_eq!(p.expected(1023), 0);
        assert_eq!(p.expected(1024), old(512));
        assert_eq!(p.expected(2559), old(2047));
        assert_eq!(p.expected(2560), 0);
        assert_eq!(p.check(700, old(700)).unwrap().class, "stale");
        assert_eq!(p.check(1024, old(1024)).unwrap().class, "stale");
        assert_eq!(p.check(1024, old(1023)).unwrap().class, "misplaced");
    }

    #[test]
    fn truncate_zeros_past_the_cut_with_a_partial_page() {
        let p = post(Some(Op::Truncate), 5003, 6000, 16384);
        let b = bytes(&p, 16384);
        assert_eq!(b[..5003], old_bytes(0, 5003)[..]);
        assert!(b[5003..].iter().all(|&x| x == 0));
        assert_eq!(p.size_after(), 16384);
        // The end of the range does not matter: everything past the cut.
        assert_eq!(p.check(1500, old(1500)).unwrap().class, "stale");
    }

    #[test]
    fn dio_clone_copy_show_their_data() {
        let p = post(Some(Op::DioWrite), 1536, 6656, 8192);
        assert_eq!(p.expected(191), old(191));
        assert_eq!(p.expected(192), stamp(Kind::New, G, 192));
        assert_eq!(p.expected(831), stamp(Kind::New, G, 831));
        assert_eq!(p.expected(832), old(832));
        assert_eq!(p.check(200, old(200)).unwrap().class, "stale");
        for op in [Op::Clone, Op::CopyRange] {
            let p = post(Some(op), 4096, 8192, 8192);
            assert_eq!(p.expected(600), stamp(Kind::Src, G, 600));
            assert_eq!(p.expected(10), old(10));
            assert_eq!(p.check(600, old(600)).unwrap().class, "stale");
            assert_eq!(
                p.check(600, stamp(Kind::Src, G, 601)).unwrap().class,
                "source"
            );
        }
    }

    #[test]
    fn control_expects_old_data_so_any_effect_fires() {
        let c = post(None, 4096, 8192, 12288);
        for i in 0..1536 {
            assert_eq!(c.expected(i), old(i));
        }
        // And old data fails every real operation's postcondition.
        for &op in Op::ALL {
            let p = post(Some(op), 4096, 8192, 12288);
            let fired = (0..1536).any(|i| p.check(i, c.expected(i)).is_some());
            assert!(fired, "{op} accepts old data");
        }
    }

    #[test]
    fn eof_ranges_and_short_reads() {
        // A range ending at an unaligned EOF.
        let p = post(Some(Op::Punch), 4096, 10752, 10752);
        assert_eq!(p.expected(10752 / 8 - 1), 0);
        assert_eq!(p.expected(10752 / 8), 0);
        assert_eq!(p.check(10752 / 8 + 3, 1).unwrap().class, "past-eof");
        let t = post(Some(Op::Truncate), 4096, 10752, 10749);
        assert_eq!(t.expected(10744 / 8), 0);
    }

    #[test]
    fn racer_stamps_only_at_slots_of_this_generation() {
        let mut p = post(Some(Op::Punch), 4096, 8192, 16384);
        p.racer_slot_words = 512;
        assert_eq!(p.check(513, stamp(Kind::Racer, G, 9)), None);
        assert_eq!(p.check(1, stamp(Kind::Racer, G, 1)), None);
        assert_eq!(
            p.check(514, stamp(Kind::Racer, G, 514)).unwrap().class,
            "racer"
        );
        assert_eq!(
            p.check(513, stamp(Kind::Racer, G - 1, 513)).unwrap().class,
            "racer"
        );
        p.racer_slot_words = 0;
        assert!(p.check(513, stamp(Kind::Racer, G, 513)).is_some());
    }

    #[test]
    fn regions_split_first_and_last_page() {
        let p = post(Some(Op::Punch), 4096 + 100, 4 * 4096 + 5, 8 * 4096);
        let r = |off: u64| p.region(off / 8, 4096);
        assert_eq!(r(0), "before");
        assert_eq!(r(4096), "first");
        assert_eq!(r(2 * 4096), "inner");
        assert_eq!(r(3 * 4096 + 8), "inner");
        assert_eq!(r(4 * 4096), "last");
        assert_eq!(r(5 * 4096), "after");
        let one = post(Some(Op::Punch), 4096, 8192, 8 * 4096);
        assert_eq!(one.region(512, 4096), "first");
        assert_eq!(one.region(1024, 4096), "after");
    }

    #[test]
    fn previous_generation_and_torn_words() {
        let p = post(Some(Op::Punch), 0, 4096, 8192);
        assert_eq!(
            p.check(5, stamp(Kind::Old, G - 1, 5)).unwrap().class,
            "previous"
        );
        assert_eq!(p.check(5, old(5) & !(0xff << 56)).unwrap().class, "torn");
        assert_eq!(p.check(5, old(5) & !0xff).unwrap().class, "misplaced");
    }
}
