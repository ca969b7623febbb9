// SPDX-License-Identifier: GPL-2.0
//! The data patterns the operations write: a function of the pattern
//! number and the file offset, so stale data can be traced to the
//! operation that wrote it.

use holefs_common::rng::mix;

/// The content pattern `pat` has at absolute file offset `off`: never zero
/// (so that data and holes differ), and different for every pattern and
/// offset (so that stale data can be traced to the operation that wrote
/// it).  Pattern 0 is all zeros: a write of zeros.
pub fn pattern_byte(pat: u64, off: u64) -> u8 {
    if pat == 0 {
        return 0;
    }
    let word = mix(pat ^ (off / 8).wrapping_mul(0xd6e8_feb8_6659_fd93));
    match word.to_le_bytes()[(off % 8) as usize] {
        0 => 0xa5,
        b => b,
    }
}

/// Fills `buf` with pattern `pat` as it lies at file offset `off`.
pub fn fill_pattern(pat: u64, off: u64, buf: &mut [u8]) {
    if pat == 0 {
        buf.fill(0);
        return;
    }
    let mut i = 0;
    while i < buf.len() {
        let o = off + i as u64;
        let word = mix(pat ^ (o / 8).wrapping_mul(0xd6e8_feb8_6659_fd93)).to_le_bytes();
        let mut k = (o % 8) as usize;
        while k < 8 && i < buf.len() {
            buf[i] = if word[k] == 0 { 0xa5 } else { word[k] };
            i += 1;
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_fill_matches_bytes() {
        for off in [0u64, 1, 7, 4093, 4096, 123_457] {
            let mut buf = vec![0u8; 37];
            fill_pattern(0x1234, off, &mut buf);
            for (i, &b) in buf.iter().enumerate() {
                assert_eq!(b, pattern_byte(0x1234, off + i as u64));
                assert_ne!(b, 0);
            }
        }
        let mut z = vec![1u8; 9];
        fill_pattern(0, 3, &mut z);
        assert!(z.iter().all(|&b| b == 0));
    }
}
