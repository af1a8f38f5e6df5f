//! Seeded randomness, one independent stream per purpose.
//!
//! Every random choice in a run comes from a [`SimRng`] derived from the run seed and a
//! [`Stream`] naming its purpose. ChaCha's 64-bit stream number keeps the streams independent,
//! so adding a client does not change the dice the network rolls.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// What a random stream is for. Each purpose (and each node or client index) gets its own stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Latency, loss and duplication draws of the network.
    Network,
    /// The random nemesis and any fault parameters drawn at run time.
    Faults,
    /// Initial clock offsets and drifts.
    Clocks,
    /// Setup-time draws of a scenario (e.g. swarm parameters).
    Setup,
    /// The node with this index (its `Ctx::rng`). A restarted node continues the same stream.
    Node(u32),
}

impl Stream {
    fn id(self) -> u64 {
        match self {
            Stream::Network => 1,
            Stream::Faults => 2,
            Stream::Clocks => 3,
            Stream::Setup => 4,
            Stream::Node(i) => (1 << 32) | u64::from(i),
        }
    }
}

/// A deterministic random generator (ChaCha8) with the few draws the simulator needs.
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// The generator for `stream` in the run with `seed`.
    pub fn new(seed: u64, stream: Stream) -> Self {
        let mut key = [0u8; 32];
        // Spread the 64-bit seed over the 256-bit key with SplitMix64 so that nearby seeds
        // give unrelated keys.
        let mut state = seed;
        for chunk in key.chunks_exact_mut(8) {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            chunk.copy_from_slice(&splitmix64(state).to_le_bytes());
        }
        let mut inner = ChaCha8Rng::from_seed(key);
        inner.set_stream(stream.id());
        SimRng { inner }
    }

    /// A uniformly random 64-bit word.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform float in `[0, 1)` with 53 bits of precision.
    #[inline]
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `[0, n)`; `n` must be non-zero. Unbiased (Lemire's method).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0, "below(0)");
        let n = n.max(1);
        let m = u128::from(self.next_u64()) * u128::from(n);
        // A draw is rejected only if its low half is below `2^64 mod n`, which is below `n`:
        // so the division that computes that threshold is needed only when `low < n` (rare for
        // small `n`). Same draws, same results as testing every draw against the threshold.
        if (m as u64) >= n {
            return (m >> 64) as u64;
        }
        self.below_slow(n, m)
    }

    /// [`below`](Self::below) once the first draw landed in the zone that may be rejected.
    #[cold]
    #[inline(never)]
    fn below_slow(&mut self, n: u64, first: u128) -> u64 {
        let threshold = n.wrapping_neg() % n;
        let mut m = first;
        while (m as u64) < threshold {
            m = u128::from(self.next_u64()) * u128::from(n);
        }
        (m >> 64) as u64
    }

    /// A uniform integer in `[lo, hi]` (inclusive); returns `lo` if the range is empty.
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// True with probability `p` (clamped to `[0, 1]`). Draws nothing when `p` is 0 or 1, so a
    /// lossless network does not consume randomness.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.unit_f64() < p
        }
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_stream_repeat() {
        let mut a = SimRng::new(7, Stream::Network);
        let mut b = SimRng::new(7, Stream::Network);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn streams_and_seeds_are_independent() {
        let first = |seed, stream| SimRng::new(seed, stream).next_u64();
        assert_ne!(first(7, Stream::Network), first(7, Stream::Faults));
        assert_ne!(first(7, Stream::Node(0)), first(7, Stream::Node(1)));
        assert_ne!(first(7, Stream::Network), first(8, Stream::Network));
    }

    #[test]
    fn pinned_first_draw_guards_cross_version_reproducibility() {
        // If this changes, every golden trace hash changes: a new rand_chacha or a change to
        // seed derivation must be called out in the commit.
        assert_eq!(
            SimRng::new(42, Stream::Network).next_u64(),
            14_589_515_635_352_196_654
        );
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = SimRng::new(1, Stream::Setup);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let x = r.below(7);
            assert!(x < 7);
            seen[x as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn below_matches_the_reference_method_draw_for_draw() {
        // The textbook form (threshold computed for every draw) must give the same values and
        // consume the same draws, including for `n` where rejections are common.
        fn reference(r: &mut SimRng, n: u64) -> u64 {
            loop {
                let m = u128::from(r.next_u64()) * u128::from(n);
                if (m as u64) >= n.wrapping_neg() % n {
                    return (m >> 64) as u64;
                }
            }
        }
        for n in [
            1,
            2,
            3,
            7,
            1 << 20,
            9_000_001,
            (1 << 63) + 1,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut a = SimRng::new(n, Stream::Setup);
            let mut b = a.clone();
            for _ in 0..2_000 {
                assert_eq!(a.below(n), reference(&mut b, n), "n = {n}");
            }
            assert_eq!(a.next_u64(), b.next_u64(), "n = {n}: same number of draws");
        }
    }

    #[test]
    fn chance_extremes_consume_nothing() {
        let mut a = SimRng::new(3, Stream::Setup);
        let mut b = a.clone();
        assert!(!a.chance(0.0));
        assert!(a.chance(1.0));
        assert_eq!(a.next_u64(), b.next_u64());
    }
}
