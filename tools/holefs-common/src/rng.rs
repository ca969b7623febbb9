// SPDX-License-Identifier: GPL-2.0
//! Seeded pseudo-random generators: a run is a function of its seed, on
//! every machine and with every build.
//!
//! - [`SplitMix64`] (`seed_from_u64(s)` starts from state `s`) is what
//!   `holefs-exerciser` has always generated its operations with (its own
//!   copy started from state `s` + [`GOLDEN_GAMMA`]): saved seeds and op
//!   logs replay unchanged.
//! - [`Xoshiro256PlusPlus`] (`seed_from_u64` expands the seed with
//!   SplitMix64, as its authors specify) for the random delays, offsets and
//!   page orders of `holefs-repro` and `holefs-bench`.
//!
//! Both are fixed algorithms from `rand_xoshiro`, whose output for a seed
//! does not change between versions; the tests below pin a few values.

pub use rand_core::{Rng, SeedableRng};
pub use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

/// SplitMix64's increment, 2^64 / φ.
pub const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 output function of state `x + φ`: a good 64-bit mix,
/// for hashing offsets and seeds into patterns.
pub fn mix(x: u64) -> u64 {
    SplitMix64::seed_from_u64(x).next_u64()
}

/// Bounded draws on top of any generator.
pub trait Draw: Rng {
    /// Uniform in `0..n` (Lemire's multiply-shift; the bias of at most
    /// n / 2^64 does not matter here).  `n` must be non-zero.
    fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `num / den`.
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

impl<R: Rng + ?Sized> Draw for R {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generator `holefs-exerciser` carried before it used
    /// `rand_xoshiro`, verbatim: its `next` added the increment and then
    /// called `mix`, which adds it once more.
    struct OldRng(u64);

    fn old_mix(mut x: u64) -> u64 {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    impl OldRng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            old_mix(self.0)
        }
    }

    #[test]
    fn splitmix_is_the_old_sequence() {
        for seed in [0, 1, 7, 0xdead_beef, u64::MAX] {
            assert_eq!(old_mix(seed), mix(seed));
            let mut old = OldRng(seed);
            let mut new = SplitMix64::seed_from_u64(seed.wrapping_add(GOLDEN_GAMMA));
            for _ in 0..1000 {
                assert_eq!(old.next_u64(), new.next_u64(), "seed {seed}");
            }
        }
        // The reference values of SplitMix64 from seed 0.
        let mut r = SplitMix64::seed_from_u64(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(mix(0), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn xoshiro_is_pinned() {
        let a: Vec<u64> = {
            let mut r = Xoshiro256PlusPlus::seed_from_u64(1);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let mut r = Xoshiro256PlusPlus::seed_from_u64(1);
        assert_eq!(a, (0..4).map(|_| r.next_u64()).collect::<Vec<_>>());
        assert_ne!(a[0], Xoshiro256PlusPlus::seed_from_u64(2).next_u64());
        assert_eq!(a[0], XOSHIRO_SEED1_FIRST);
    }

    const XOSHIRO_SEED1_FIRST: u64 = 0xcfc5_d07f_6f03_c29b;

    #[test]
    fn bounds() {
        let mut r = SplitMix64::seed_from_u64(1);
        for _ in 0..10_000 {
            assert!(r.below(3) < 3);
            assert!((5..=9).contains(&r.range(5, 9)));
        }
        assert!((0..100).all(|_| r.chance(1, 1)));
        assert!((0..100).all(|_| !r.chance(0, 1)));
    }
}
