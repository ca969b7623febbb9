// SPDX-License-Identifier: GPL-2.0
//! A small, seedable pseudo-random generator (SplitMix64): the whole run is
//! a function of the seed, on every machine.

/// SplitMix64 finaliser: a good 64-bit mix of `x`.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `0..n`; `n` must be non-zero.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        // Lemire's multiply-shift; the tiny bias does not matter here.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

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
    fn reproducible() {
        let a: Vec<u64> = (0..5)
            .scan(Rng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..5)
            .scan(Rng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a[0], Rng::new(8).next_u64());
    }

    #[test]
    fn bounds() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            assert!(r.below(3) < 3);
            let v = r.range(5, 9);
            assert!((5..=9).contains(&v));
        }
    }

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
