// SPDX-License-Identifier: GPL-2.0
//! Stamps: the self-describing 8-byte words the audit writes.
//!
//! A stamp is `kind (8 bits) | generation (24 bits) | word index (32 bits)`,
//! stored little-endian.  The kind byte is never zero, so no stamp is zero
//! and a hole can always be told apart from data; the generation is the
//! iteration that wrote it, so data of an earlier iteration is recognised;
//! the word index is where it was written, so shifted or misplaced data is
//! recognised too.  A word that is none of these (for example a stamp with
//! some of its bytes zeroed) is reported as torn.

/// What wrote a word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// The fill of the file under test ("old data").
    Old = 0xa1,
    /// The second file, source of clone and copy-range.
    Src = 0xb2,
    /// The new data an O_DIRECT write puts over the range.
    New = 0xc3,
    /// A write-fault racer's store.
    Racer = 0xd4,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Kind> {
        [Kind::Old, Kind::Src, Kind::New, Kind::Racer]
            .into_iter()
            .find(|k| *k as u8 == b)
    }
}

pub const GEN_MASK: u32 = 0xff_ffff;

/// The stamp `kind` writes at word index `idx` in generation `gen`.
pub fn stamp(kind: Kind, gen: u32, idx: u64) -> u64 {
    (kind as u64) << 56 | u64::from(gen & GEN_MASK) << 32 | (idx & 0xffff_ffff)
}

/// The fields of a word that is a stamp: (kind, generation, word index mod 2^32).
pub fn decode(v: u64) -> Option<(Kind, u32, u64)> {
    let k = Kind::from_byte((v >> 56) as u8)?;
    Some((k, (v >> 32) as u32 & GEN_MASK, v & 0xffff_ffff))
}

/// The byte at file offset `off` of the stamps `kind` wrote in `gen`.
pub fn stamp_byte(kind: Kind, gen: u32, off: u64) -> u8 {
    stamp(kind, gen, off / 8).to_le_bytes()[(off % 8) as usize]
}

/// Fill `buf`, which holds the file bytes from `off` on (`off` 8-aligned),
/// with the stamps of `kind` and `gen`.
pub fn fill(buf: &mut [u8], kind: Kind, gen: u32, off: u64) {
    debug_assert_eq!(off % 8, 0);
    for (i, chunk) in buf.chunks_mut(8).enumerate() {
        let w = stamp(kind, gen, off / 8 + i as u64).to_le_bytes();
        chunk.copy_from_slice(&w[..chunk.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_and_are_never_zero() {
        let v = stamp(Kind::Old, 0x12_3456, 0x1_0000_0007);
        assert_eq!(decode(v), Some((Kind::Old, 0x12_3456, 7)));
        assert_ne!(stamp(Kind::Src, 0, 0), 0);
        assert_eq!(
            decode(stamp(Kind::Racer, GEN_MASK + 3, 1)),
            Some((Kind::Racer, 2, 1))
        );
        assert_eq!(decode(0), None);
        assert_eq!(decode(0x00ff_0000_0000_0001), None);
    }

    #[test]
    fn fill_matches_stamp_bytes() {
        let mut b = vec![0u8; 21];
        fill(&mut b, Kind::New, 5, 64);
        for (i, &x) in b.iter().enumerate() {
            assert_eq!(x, stamp_byte(Kind::New, 5, 64 + i as u64));
        }
        assert_eq!(
            u64::from_le_bytes(b[8..16].try_into().unwrap()),
            stamp(Kind::New, 5, 9)
        );
    }
}
