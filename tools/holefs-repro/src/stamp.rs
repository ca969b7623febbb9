// SPDX-License-Identifier: GPL-2.0
//! Stamps: self-describing 8-byte words written into the file under test.
//!
//! A stamp is `writer (8 bits) | sequence (24 bits) | word index (32 bits)`.
//! The writer field is never zero, so a stamp is never zero and can always be
//! told apart from a hole.  Writer 1 is the controller's fill pattern (its
//! sequence is the round number); write-race worker `i` is writer `2 + i`
//! with a private sequence that counts its writes.  The same encoding and the
//! same classification are used by `holefs_race.c`.
//!
//! After a punch returned, a word is acceptable if it is zero or if it was
//! written by a write that had *not completed* when the punch started.  For
//! writer `w`, `lo[w]` is the last sequence whose write had completed before
//! the punch started and `hi[w]` the last sequence started before the check;
//! acceptable stamps have `lo[w] < seq <= hi[w]` (modulo 2^24).

pub const WRITER_SHIFT: u32 = 56;
pub const SEQ_SHIFT: u32 = 32;
pub const SEQ_MASK: u32 = 0xff_ffff;
const SEQ_HALF: u32 = 0x80_0000;
pub const IDX_MASK: u64 = 0xffff_ffff;
/// The controller's fill pattern.
pub const FILLER: u32 = 1;
/// Write-race worker `i` writes as `WRITER0 + i`.
pub const WRITER0: u32 = 2;

/// What a word read back after a punch is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// A hole: what a correct filesystem shows after a punch.
    Zero,
    /// A stamp of a write that was still in flight when the punch started.
    Ok,
    /// A stamp of a write that completed before the punch started.
    Stale,
    /// A valid stamp at the wrong word index.
    Misplaced,
    /// Not a stamp any writer could have written.
    Garbage,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Zero => "zero",
            Class::Ok => "ok",
            Class::Stale => "stale",
            Class::Misplaced => "misplaced",
            Class::Garbage => "garbage",
        }
    }

    /// Whether this word is evidence of stale data.
    pub fn is_detection(self) -> bool {
        !matches!(self, Class::Zero | Class::Ok)
    }
}

/// The stamp writer `writer` puts at word index `idx` in its write `seq`.
pub fn encode(writer: u32, seq: u32, idx: u64) -> u64 {
    u64::from(writer & 0xff) << WRITER_SHIFT
        | u64::from(seq & SEQ_MASK) << SEQ_SHIFT
        | (idx & IDX_MASK)
}

/// The fields of a stamp: (writer, sequence, word index modulo 2^32).
pub fn decode(v: u64) -> (u32, u32, u64) {
    (
        (v >> WRITER_SHIFT) as u32,
        (v >> SEQ_SHIFT) as u32 & SEQ_MASK,
        v & IDX_MASK,
    )
}

/// Sequence window of every writer for one check: `lo[w]` and `hi[w]` as
/// described in the module documentation; writers are `1..lo.len()`.
pub struct Window<'a> {
    pub lo: &'a [u32],
    pub hi: &'a [u32],
}

impl Window<'_> {
    /// Classify word `v` read at word index `idx`.
    pub fn classify(&self, v: u64, idx: u64) -> Class {
        if v == 0 {
            return Class::Zero;
        }
        let (w, seq, at) = decode(v);
        let w = w as usize;
        if w == 0 || w >= self.lo.len() || w >= self.hi.len() {
            return Class::Garbage;
        }
        if at != idx & IDX_MASK {
            return Class::Misplaced;
        }
        let (lo, hi) = (self.lo[w], self.hi[w]);
        let d = seq.wrapping_sub(lo) & SEQ_MASK;
        let span = hi.wrapping_sub(lo) & SEQ_MASK;
        if d >= 1 && d <= span {
            Class::Ok
        } else if lo.wrapping_sub(seq) & SEQ_MASK < SEQ_HALF {
            Class::Stale
        } else {
            Class::Garbage
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> ([u32; 4], [u32; 4]) {
        // Filler at round 7; writer 2: 100 completed, 101..=103 later;
        // writer 3 across the 24-bit wrap: 2^24-2 completed, up to 1 started.
        ([0, 7, 100, SEQ_MASK - 1], [0, 7, 103, 1])
    }

    #[test]
    fn encode_decode_roundtrip() {
        let v = encode(2, 0x12_3456, 0x1_0000_0005);
        assert_eq!(decode(v), (2, 0x12_3456, 5));
        assert_eq!(encode(FILLER, 0, 0), 1 << 56);
        assert_ne!(encode(FILLER, 0, 0), 0);
        // Sequences wrap at 24 bits without touching the writer field.
        assert_eq!(decode(encode(3, SEQ_MASK + 2, 9)), (3, 1, 9));
    }

    #[test]
    fn filler_is_always_stale_after_punch() {
        let (lo, hi) = window();
        let w = Window { lo: &lo, hi: &hi };
        assert_eq!(w.classify(0, 5), Class::Zero);
        assert_eq!(w.classify(encode(FILLER, 7, 5), 5), Class::Stale);
        assert_eq!(w.classify(encode(FILLER, 6, 5), 5), Class::Stale);
        assert_eq!(w.classify(encode(FILLER, 8, 5), 5), Class::Garbage);
        assert_eq!(w.classify(encode(FILLER, 7, 5), 6), Class::Misplaced);
    }

    #[test]
    fn writer_window() {
        let (lo, hi) = window();
        let w = Window { lo: &lo, hi: &hi };
        assert_eq!(w.classify(encode(2, 100, 9), 9), Class::Stale);
        assert_eq!(w.classify(encode(2, 3, 9), 9), Class::Stale);
        assert_eq!(w.classify(encode(2, 101, 9), 9), Class::Ok);
        assert_eq!(w.classify(encode(2, 103, 9), 9), Class::Ok);
        assert_eq!(w.classify(encode(2, 104, 9), 9), Class::Garbage);
    }

    #[test]
    fn writer_window_wraps() {
        let (lo, hi) = window();
        let w = Window { lo: &lo, hi: &hi };
        assert_eq!(w.classify(encode(3, SEQ_MASK, 1), 1), Class::Ok);
        assert_eq!(w.classify(encode(3, 0, 1), 1), Class::Ok);
        assert_eq!(w.classify(encode(3, 1, 1), 1), Class::Ok);
        assert_eq!(w.classify(encode(3, SEQ_MASK - 1, 1), 1), Class::Stale);
        assert_eq!(w.classify(encode(3, 2, 1), 1), Class::Garbage);
    }

    #[test]
    fn unknown_writers_and_index_wrap() {
        let (lo, hi) = window();
        let w = Window { lo: &lo, hi: &hi };
        assert_eq!(w.classify(encode(4, 1, 1), 1), Class::Garbage);
        assert_eq!(w.classify(1, 1), Class::Garbage);
        assert_eq!(
            w.classify(encode(FILLER, 7, 1 << 32), 1 << 32),
            Class::Stale
        );
        assert!(Class::Stale.is_detection());
        assert!(Class::Garbage.is_detection());
        assert!(!Class::Ok.is_detection());
        assert!(!Class::Zero.is_detection());
    }

    #[test]
    fn empty_window_accepts_nothing_but_zero() {
        // Read scenarios: the filler is the only writer and lo == hi.
        let (lo, hi) = ([0, 42], [0, 42]);
        let w = Window { lo: &lo, hi: &hi };
        for seq in [0, 1, 41, 42] {
            assert_eq!(w.classify(encode(FILLER, seq, 3), 3), Class::Stale);
        }
        assert_eq!(w.classify(encode(WRITER0, 42, 3), 3), Class::Garbage);
    }
}
