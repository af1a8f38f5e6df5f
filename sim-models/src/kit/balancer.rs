//! Load balancers: which of `n` peers (numbered `0..n`) gets the next request.
//!
//! One [`Balancer`] type, configured by a [`BalancerConfig`] policy:
//!
//! - `round_robin`: the available peers in turn.
//! - `smooth_weighted`: nginx's smooth weighted round robin, exactly as
//!   `ngx_http_upstream_get_peer` (nginx 1.3.1+, `ngx_http_upstream_round_robin.c`): on each
//!   pick every available peer adds its effective weight to its current weight, the largest
//!   current weight wins (ties go to the lower index: nginx compares with a strict `>`), and the
//!   winner's current weight drops by the total effective weight of that pick. A reported failure
//!   lowers the peer's effective weight by `weight / max_fails` (integer division, never below 0;
//!   nothing when `max_fails` is 0), and every later pick gives one back to each peer below its
//!   weight, after adding it. So `{5, 1, 1}` gives `a a b a c a a` and repeats. Not modelled here:
//!   marking a peer down after `max_fails` failures within `fail_timeout`, and the per-request
//!   list of peers already tried; a model does both with [`Balancer::set_available`].
//! - `least_outstanding`: the available peer with the fewest requests in flight (as the caller
//!   reports them with [`Balancer::on_start`] and [`Balancer::on_finish`]). Ties go to the first
//!   tied peer at or after the one following the previous pick, so idle peers take turns rather
//!   than peer 0 taking everything. Weights are not used.
//! - `two_choices`: the power of two choices (Mitzenmacher 2001): draw two distinct available
//!   peers uniformly, send to the one with fewer requests in flight, the first drawn on a tie.
//! - `random`: an available peer uniformly at random.
//! - `consistent_hash`: a ring of virtual nodes ([`HashRing`]); a key goes to the first point at
//!   or after its hash, walking on past unavailable peers.
//!
//! Hashes are platform-independent 64-bit functions of integers: [`mix64`] is the SplitMix64
//! finaliser (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", OOPSLA
//! 2014), and the virtual node `r` of a peer with id `id` sits at the `(r+1)`-th output of a
//! SplitMix64 generator seeded with `mix64(id)`, that is `mix64(mix64(id) + (r+1)·γ)` with
//! `γ = 0x9E3779B97F4A7C15`. A key `k` sits at `mix64(k)`: hash a string key to an integer first.

use serde::{Deserialize, Serialize};
use sim_core::SimRng;

use super::ConfigError;

/// The most peers a balancer takes: a limit on everything.
pub const MAX_PEERS: usize = 10_000;
/// The largest weight of a peer.
pub const MAX_WEIGHT: u32 = 1_000_000;
/// The most points a hash ring may have (peers × virtual nodes).
pub const MAX_RING_POINTS: u64 = 1_000_000;

/// SplitMix64's increment, the golden ratio in 64 bits.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// How a [`Balancer`] picks; in a scenario `balancer = { policy = "smooth_weighted",
/// weights = [5, 1, 1] }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum BalancerConfig {
    /// Each available peer in turn (the default, as in nginx).
    RoundRobin {},
    /// nginx's smooth weighted round robin.
    SmoothWeighted {
        /// One weight per peer, each at least 1 (default: 1 for every peer).
        #[serde(default)]
        weights: Vec<u32>,
        /// nginx's `max_fails` (default 1): a failure costs `weight / max_fails` of effective
        /// weight; 0 ignores failures.
        #[serde(default = "default_max_fails")]
        max_fails: u32,
    },
    /// The available peer with the fewest requests in flight.
    LeastOutstanding {},
    /// The less loaded of two distinct random peers.
    TwoChoices {},
    /// A uniformly random available peer.
    Random {},
    /// A consistent-hash ring keyed by the request's key.
    ConsistentHash {
        /// Virtual nodes per peer (default 160, as libketama).
        #[serde(default = "default_vnodes")]
        vnodes: u32,
    },
}

impl Default for BalancerConfig {
    fn default() -> Self {
        BalancerConfig::RoundRobin {}
    }
}

fn default_max_fails() -> u32 {
    1
}

fn default_vnodes() -> u32 {
    160
}

/// A peer's weights in smooth weighted round robin (nginx's `ngx_http_upstream_rr_peer_t`).
#[derive(Clone, Copy, Debug)]
struct WeightedPeer {
    weight: i64,
    effective: i64,
    current: i64,
}

/// The state a policy keeps between picks.
#[derive(Clone, Debug)]
enum Policy {
    RoundRobin {
        next: usize,
    },
    SmoothWeighted {
        peers: Vec<WeightedPeer>,
        max_fails: u32,
    },
    LeastOutstanding {
        next: usize,
    },
    TwoChoices,
    Random,
    ConsistentHash(HashRing),
}

/// A load balancer over peers `0..n` (see the module doc for the policies). Methods that
/// take a peer ignore an index outside `0..n`.
#[derive(Clone, Debug)]
pub struct Balancer {
    available: Vec<bool>,
    outstanding: Vec<u32>,
    policy: Policy,
}

impl Balancer {
    /// A balancer over `peers` peers, all available and idle, or why `config` does not fit.
    pub fn new(config: &BalancerConfig, peers: usize) -> Result<Self, ConfigError> {
        if peers > MAX_PEERS {
            return Err(ConfigError::new(
                "peers",
                format!("a balancer takes at most {MAX_PEERS} peers, got {peers}"),
            ));
        }
        let policy = match config {
            BalancerConfig::RoundRobin {} => Policy::RoundRobin { next: 0 },
            BalancerConfig::SmoothWeighted { weights, max_fails } => Policy::SmoothWeighted {
                peers: weighted_peers(weights, peers)?,
                max_fails: *max_fails,
            },
            BalancerConfig::LeastOutstanding {} => Policy::LeastOutstanding { next: 0 },
            BalancerConfig::TwoChoices {} => Policy::TwoChoices,
            BalancerConfig::Random {} => Policy::Random,
            BalancerConfig::ConsistentHash { vnodes } => {
                let points = peers as u64 * u64::from(*vnodes);
                if *vnodes == 0 || points > MAX_RING_POINTS {
                    return Err(ConfigError::new(
                        "vnodes",
                        format!(
                            "must be at least 1, with peers × vnodes at most {MAX_RING_POINTS}; \
                             got {vnodes} for {peers} peers"
                        ),
                    ));
                }
                let ids: Vec<u64> = (0..peers as u64).collect();
                Policy::ConsistentHash(HashRing::new(&ids, *vnodes))
            }
        };
        Ok(Balancer {
            available: vec![true; peers],
            outstanding: vec![0; peers],
            policy,
        })
    }

    /// How many peers the balancer chooses among.
    pub fn peers(&self) -> usize {
        self.available.len()
    }

    /// The peer for the next request, `None` if no peer is available. `key` is the request's
    /// routing key, used only by `consistent_hash`; `rng` is drawn from only by `random` and
    /// `two_choices`.
    pub fn pick(&mut self, key: u64, rng: &mut SimRng) -> Option<usize> {
        let available = &self.available;
        match &mut self.policy {
            Policy::RoundRobin { next } => {
                let peer = rotation(*next, available.len()).find(|&p| available[p])?;
                *next = peer + 1;
                Some(peer)
            }
            Policy::SmoothWeighted { peers, .. } => smooth_weighted(peers, available),
            Policy::LeastOutstanding { next } => {
                let outstanding = &self.outstanding;
                // `min_by_key` keeps the first of equal keys: the first in rotation order.
                let peer = rotation(*next, available.len())
                    .filter(|&p| available[p])
                    .min_by_key(|&p| outstanding[p])?;
                *next = peer + 1;
                Some(peer)
            }
            Policy::TwoChoices => {
                let count = available.iter().filter(|a| **a).count() as u64;
                if count < 2 {
                    return nth_available(available, 0);
                }
                let first = rng.below(count);
                let mut second = rng.below(count - 1);
                if second >= first {
                    second += 1;
                }
                let a = nth_available(available, first)?;
                let b = nth_available(available, second)?;
                Some(if self.outstanding[b] < self.outstanding[a] {
                    b
                } else {
                    a
                })
            }
            Policy::Random => {
                let count = available.iter().filter(|a| **a).count() as u64;
                if count == 0 {
                    return None;
                }
                nth_available(available, rng.below(count))
            }
            Policy::ConsistentHash(ring) => ring.owner(key, |p| available[p]),
        }
    }

    /// Marks `peer` available or not; an unavailable peer is never picked.
    pub fn set_available(&mut self, peer: usize, available: bool) {
        if let Some(a) = self.available.get_mut(peer) {
            *a = available;
        }
    }

    /// Whether `peer` may be picked.
    pub fn is_available(&self, peer: usize) -> bool {
        self.available.get(peer).copied().unwrap_or(false)
    }

    /// Records that a request to `peer` started.
    pub fn on_start(&mut self, peer: usize) {
        if let Some(n) = self.outstanding.get_mut(peer) {
            *n = n.saturating_add(1);
        }
    }

    /// Records that a request to `peer` finished, however it ended.
    pub fn on_finish(&mut self, peer: usize) {
        if let Some(n) = self.outstanding.get_mut(peer) {
            *n = n.saturating_sub(1);
        }
    }

    /// Requests in flight to `peer`, as reported.
    pub fn outstanding(&self, peer: usize) -> u32 {
        self.outstanding.get(peer).copied().unwrap_or(0)
    }

    /// Records that a request to `peer` failed: lowers its effective weight under
    /// `smooth_weighted` (nginx's `ngx_http_upstream_free_round_robin_peer`); other policies
    /// ignore it.
    pub fn on_failure(&mut self, peer: usize) {
        if let Policy::SmoothWeighted { peers, max_fails } = &mut self.policy
            && *max_fails > 0
            && let Some(p) = peers.get_mut(peer)
        {
            p.effective = (p.effective - p.weight / i64::from(*max_fails)).max(0);
        }
    }
}

/// Peer indexes `0..n` starting at `start` (taken modulo `n`) and wrapping around.
fn rotation(start: usize, n: usize) -> impl Iterator<Item = usize> {
    let start = if n == 0 { 0 } else { start % n };
    (start..n).chain(0..start)
}

/// The index of the `k`-th available peer (0-based).
fn nth_available(available: &[bool], k: u64) -> Option<usize> {
    available
        .iter()
        .enumerate()
        .filter(|(_, a)| **a)
        .nth(usize::try_from(k).ok()?)
        .map(|(p, _)| p)
}

/// Checks the weights against the peer count; an empty list means weight 1 each.
fn weighted_peers(weights: &[u32], peers: usize) -> Result<Vec<WeightedPeer>, ConfigError> {
    if !weights.is_empty() && weights.len() != peers {
        return Err(ConfigError::new(
            "weights",
            format!("{} weights for {peers} peers", weights.len()),
        ));
    }
    if let Some(w) = weights.iter().find(|w| !(1..=MAX_WEIGHT).contains(*w)) {
        return Err(ConfigError::new(
            "weights",
            format!("every weight must be between 1 and {MAX_WEIGHT}, got {w}"),
        ));
    }
    let weight = |p: usize| weights.get(p).copied().unwrap_or(1);
    Ok((0..peers)
        .map(|p| WeightedPeer {
            weight: i64::from(weight(p)),
            effective: i64::from(weight(p)),
            current: 0,
        })
        .collect())
}

/// One pick of nginx's smooth weighted round robin over the available peers.
fn smooth_weighted(peers: &mut [WeightedPeer], available: &[bool]) -> Option<usize> {
    let mut best: Option<(usize, i64)> = None;
    let mut total = 0;
    for (i, p) in peers.iter_mut().enumerate() {
        if !available[i] {
            continue;
        }
        p.current += p.effective;
        total += p.effective;
        if p.effective < p.weight {
            p.effective += 1;
        }
        if best.is_none_or(|(_, current)| p.current > current) {
            best = Some((i, p.current));
        }
    }
    let (winner, _) = best?;
    peers[winner].current -= total;
    Some(winner)
}

/// The SplitMix64 finaliser: a fixed bijection of 64-bit integers whose every output bit
/// depends on every input bit. Used to place keys and virtual nodes on the ring.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A consistent-hash ring with virtual nodes: a sorted list of `(point, peer)` searched by
/// binary search (Karger et al., STOC 1997; Dynamo's virtual nodes).
///
/// A peer's points depend only on its id, so adding a peer moves only the keys that now land
/// on its points, about `1/(n+1)` of them, and removing one moves only its own keys.
#[derive(Clone, Debug)]
pub struct HashRing {
    /// Sorted by point, then by peer index (so equal points are ordered deterministically).
    points: Vec<(u64, usize)>,
}

impl HashRing {
    /// A ring with `vnodes` points for each peer; peer `i` (what [`owner`](Self::owner)
    /// returns) has id `peer_ids[i]`, which alone decides where its points are.
    pub fn new(peer_ids: &[u64], vnodes: u32) -> Self {
        let mut points: Vec<(u64, usize)> = peer_ids
            .iter()
            .enumerate()
            .flat_map(|(peer, &id)| {
                let seed = mix64(id);
                (1..=u64::from(vnodes))
                    .map(move |r| (mix64(seed.wrapping_add(r.wrapping_mul(GAMMA))), peer))
            })
            .collect();
        points.sort_unstable();
        HashRing { points }
    }

    /// The peer owning `key`: the first point at or after `mix64(key)`, wrapping around,
    /// whose peer `is_available`; `None` if there is none.
    pub fn owner(&self, key: u64, is_available: impl Fn(usize) -> bool) -> Option<usize> {
        let h = mix64(key);
        let start = self.points.partition_point(|&(point, _)| point < h);
        let (after, before) = self.points.split_at(start);
        before
            .iter()
            .chain(after)
            .map(|&(_, peer)| peer)
            .find(|&peer| is_available(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sim_core::Stream;

    fn rng(seed: u64) -> SimRng {
        SimRng::new(seed, Stream::Setup)
    }

    fn balancer(config: BalancerConfig, peers: usize) -> Balancer {
        Balancer::new(&config, peers).expect("valid config")
    }

    fn swrr(weights: &[u32]) -> Balancer {
        let config = BalancerConfig::SmoothWeighted {
            weights: weights.to_vec(),
            max_fails: 1,
        };
        balancer(config, weights.len())
    }

    /// `count` picks as letters (`a` is peer 0), `-` for none.
    fn letters(b: &mut Balancer, count: usize) -> String {
        let mut r = rng(0);
        (0..count)
            .map(|_| b.pick(0, &mut r).map_or('-', |p| (b'a' + p as u8) as char))
            .collect()
    }

    #[test]
    fn nginx_smooth_weighted_periods() {
        // references.md §9 (nginx 1.3.1 commit message): the published periods.
        for (weights, period) in [
            (&[5, 1, 1][..], "aabacaa"),
            (&[4, 2, 1], "abacaba"),
            (&[3, 2], "ababa"),
            (&[2, 1, 1], "abca"),
        ] {
            let picks = letters(&mut swrr(weights), period.len());
            println!("validation: nginx SWRR {weights:?}: reference {period} measured {picks}");
            assert_eq!(picks, period, "{weights:?}");
        }
    }

    #[test]
    fn nginx_n1_seven_thousand_picks_repeat_the_period() {
        // references.md §9 N1: 7,000 picks at 5/1/1 are the period a a b a c a a, 1,000 times.
        let picks = letters(&mut swrr(&[5, 1, 1]), 7_000);
        assert_eq!(picks, "aabacaa".repeat(1_000));
        let count = |c| picks.chars().filter(|x| *x == c).count();
        println!(
            "validation: nginx N1 5/1/1 over 7000 picks: a={} b={} c={}",
            count('a'),
            count('b'),
            count('c')
        );
    }

    proptest! {
        #[test]
        fn smooth_weighted_keeps_every_prefix_within_one_round_of_its_share(
            weights in prop::collection::vec(1u32..=20, 1..8),
        ) {
            // After k picks peer i has c_i = (k·w_i − current_i)/W. A winner's current stays
            // above −W (it was the largest, so positive, before losing W) and a loser's only
            // grows, so c_i < k·w_i/W + 1: no peer is ever a whole pick ahead of its share.
            // The currents sum to 0, so no peer is more than n − 1 picks behind it. After each W
            // picks every peer has had exactly its weight and the state is back to zero.
            let n = weights.len() as i64;
            let total: i64 = weights.iter().map(|w| i64::from(*w)).sum();
            let mut b = swrr(&weights);
            let mut r = rng(0);
            let mut counts = vec![0i64; weights.len()];
            for k in 1..=3 * total {
                let p = b.pick(0, &mut r).expect("all available");
                counts[p] += 1;
                for (c, w) in counts.iter().zip(&weights) {
                    let share = k * i64::from(*w);
                    prop_assert!(c * total < share + total, "k={} ahead: {:?}", k, counts);
                    prop_assert!(c * total >= share - (n - 1) * total, "k={} behind: {:?}", k, counts);
                    if k % total == 0 {
                        prop_assert_eq!(c * total, share);
                    }
                }
            }
        }
    }

    #[test]
    fn nginx_failure_lowers_the_effective_weight_and_picks_restore_it() {
        // Weights {3, 1}, max_fails 1: the period is a a b a. A failure of a sets its
        // effective weight to 3 − 3/1 = 0; following nginx by hand (current weights start at
        // 0; each pick adds, then gives one back):
        //   pick 1: a 0+0 = 0 (eff→1), b 0+1 = 1, total 1 → b, b = 0
        //   pick 2: a 0+1 = 1 (eff→2), b 0+1 = 1, total 2 → a (tie), a = −1
        //   pick 3: a −1+2 = 1 (eff→3), b 1+1 = 2, total 3 → b, b = −1
        //   pick 4: a 1+3 = 4, b −1+1 = 0, total 4 → a, a = 0: back to the start
        let mut b = swrr(&[3, 1]);
        b.on_failure(0);
        assert_eq!(letters(&mut b, 8), "babaaaba");
    }

    #[test]
    fn nginx_effective_weight_does_not_go_below_zero() {
        // Two failures on a (weight 1, max_fails 1) leave it at 0, not −1: then b, a as after
        // one failure (with −1 it would be b, b).
        let mut b = swrr(&[1, 1]);
        b.on_failure(0);
        b.on_failure(0);
        assert_eq!(letters(&mut b, 2), "ba");
    }

    #[test]
    fn nginx_max_fails_divides_the_penalty_and_zero_disables_it() {
        // Weight 4, max_fails 2: a failure costs 2, leaving a at 2 against b's 2, so the
        // first pick is a tie that a wins, unlike after a full penalty.
        let config = |max_fails| BalancerConfig::SmoothWeighted {
            weights: vec![4, 2],
            max_fails,
        };
        let mut halved = balancer(config(2), 2);
        halved.on_failure(0);
        let mut full = balancer(config(1), 2);
        full.on_failure(0);
        let mut ignored = balancer(config(0), 2);
        ignored.on_failure(0);
        assert_eq!(letters(&mut halved, 1), "a");
        assert_eq!(letters(&mut full, 1), "b");
        assert_eq!(letters(&mut ignored, 6), letters(&mut swrr(&[4, 2]), 6));
    }

    #[test]
    fn unavailable_peers_are_skipped_by_every_policy() {
        let configs = [
            BalancerConfig::RoundRobin {},
            BalancerConfig::SmoothWeighted {
                weights: vec![5, 1, 1],
                max_fails: 1,
            },
            BalancerConfig::LeastOutstanding {},
            BalancerConfig::TwoChoices {},
            BalancerConfig::Random {},
            BalancerConfig::ConsistentHash { vnodes: 16 },
        ];
        let mut r = rng(9);
        for config in configs {
            let mut b = balancer(config.clone(), 3);
            b.set_available(0, false);
            assert!(!b.is_available(0));
            for key in 0..300 {
                let p = b.pick(key, &mut r).expect("two available");
                assert_ne!(p, 0, "{config:?}");
            }
            b.set_available(1, false);
            b.set_available(2, false);
            assert_eq!(b.pick(7, &mut r), None, "{config:?}");
            let unweighted = match config {
                BalancerConfig::SmoothWeighted { max_fails, .. } => {
                    BalancerConfig::SmoothWeighted {
                        weights: Vec::new(),
                        max_fails,
                    }
                }
                other => other,
            };
            assert_eq!(balancer(unweighted, 0).pick(7, &mut r), None);
        }
    }

    #[test]
    fn round_robin_takes_turns_among_the_available() {
        let mut b = balancer(BalancerConfig::RoundRobin {}, 4);
        assert_eq!(letters(&mut b, 6), "abcdab");
        b.set_available(2, false);
        assert_eq!(letters(&mut b, 4), "dabd");
    }

    #[test]
    fn least_outstanding_picks_the_least_loaded_and_rotates_ties() {
        let mut b = balancer(BalancerConfig::LeastOutstanding {}, 3);
        assert_eq!(letters(&mut b, 4), "abca", "idle peers take turns");
        for (peer, load) in [(0, 2), (1, 0), (2, 1)] {
            for _ in 0..load {
                b.on_start(peer);
            }
        }
        assert_eq!(letters(&mut b, 1), "b");
        b.on_start(1);
        b.on_start(1);
        b.on_finish(0);
        // Loads 1, 2, 1: the tie goes to the first tied peer after b, which is c.
        assert_eq!(letters(&mut b, 1), "c");
        assert_eq!(b.outstanding(1), 2);
    }

    proptest! {
        #[test]
        fn least_outstanding_never_picks_a_busier_peer(
            loads in prop::collection::vec(0u32..5, 1..8),
            down in prop::collection::vec(any::<bool>(), 8),
        ) {
            let mut b = balancer(BalancerConfig::LeastOutstanding {}, loads.len());
            for (peer, load) in loads.iter().enumerate() {
                (0..*load).for_each(|_| b.on_start(peer));
                b.set_available(peer, !down[peer]);
            }
            let least = (0..loads.len()).filter(|p| !down[*p]).map(|p| loads[p]).min();
            let picked = b.pick(0, &mut rng(0));
            prop_assert_eq!(picked.map(|p| loads[p]), least);
        }
    }

    #[test]
    fn two_choices_with_two_peers_always_picks_the_less_loaded() {
        // With two peers both are always drawn, so the less loaded must win every time.
        let mut b = balancer(BalancerConfig::TwoChoices {}, 2);
        b.on_start(0);
        let mut r = rng(4);
        assert!((0..1_000).all(|_| b.pick(0, &mut r) == Some(1)));
    }

    proptest! {
        #[test]
        fn two_choices_never_picks_the_more_loaded_of_its_two(
            loads in prop::collection::vec(0u32..4, 2..6),
            seed in any::<u64>(),
        ) {
            // The peer picked is never the most loaded unless it ties with another peer; and
            // with the draws replayed from a clone of the generator (first = below(n), second =
            // below(n − 1), skipping the first), it is the less loaded of exactly those two.
            let n = loads.len();
            let mut b = balancer(BalancerConfig::TwoChoices {}, n);
            for (peer, load) in loads.iter().enumerate() {
                (0..*load).for_each(|_| b.on_start(peer));
            }
            let mut r = rng(seed);
            for _ in 0..50 {
                let mut replay = r.clone();
                let picked = b.pick(0, &mut r).expect("all available");
                let first = replay.below(n as u64) as usize;
                let mut second = replay.below(n as u64 - 1) as usize;
                if second >= first {
                    second += 1;
                }
                prop_assert_ne!(first, second);
                prop_assert!(picked == first || picked == second);
                prop_assert!(loads[picked] <= loads[first].min(loads[second]));
            }
        }
    }

    #[test]
    fn two_choices_and_random_spread_over_equal_peers() {
        // Equal loads: the first draw wins, so both policies are uniform.
        for config in [BalancerConfig::TwoChoices {}, BalancerConfig::Random {}] {
            let mut b = balancer(config.clone(), 4);
            let mut r = rng(6);
            let mut counts = [0u32; 4];
            for _ in 0..40_000 {
                counts[b.pick(0, &mut r).expect("available")] += 1;
            }
            // 10,000 expected each, standard deviation √(40,000 · 1/4 · 3/4) ≈ 86.6: allow 5.
            assert!(
                counts.iter().all(|c| c.abs_diff(10_000) < 433),
                "{config:?}: {counts:?}"
            );
        }
    }

    #[test]
    fn consistent_hash_adding_a_node_moves_one_in_n_plus_one_keys() {
        // references.md §5 (Karger et al. 1997): adding a node to n moves 1/(n+1) of the keys
        // in expectation, for any number of virtual nodes. Tolerance: the mean over 100 rings
        // (random peer ids, 10,000 random keys each) within 3 standard errors. Keys only ever
        // move to the new node.
        let (n, vnodes, rings, keys) = (10usize, 160, 100, 10_000);
        let mut r = rng(2024);
        let mut fractions = Vec::with_capacity(rings);
        for _ in 0..rings {
            let ids: Vec<u64> = (0..=n).map(|_| r.next_u64()).collect();
            let before = HashRing::new(&ids[..n], vnodes);
            let after = HashRing::new(&ids, vnodes);
            let mut moved = 0;
            for _ in 0..keys {
                let key = r.next_u64();
                let (old, new) = (before.owner(key, |_| true), after.owner(key, |_| true));
                if old != new {
                    assert_eq!(new, Some(n), "a key moved between old nodes");
                    moved += 1;
                }
            }
            fractions.push(f64::from(moved) / keys as f64);
        }
        let mean = fractions.iter().sum::<f64>() / rings as f64;
        let var = fractions.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / (rings - 1) as f64;
        let se = (var / rings as f64).sqrt();
        let expected = 1.0 / (n + 1) as f64;
        println!(
            "validation: ring n={n} v={vnodes} moved fraction: reference {expected:.4} measured {mean:.4} (3 SE = {:.4})",
            3.0 * se
        );
        assert!((mean - expected).abs() < 3.0 * se, "mean {mean}, se {se}");
    }

    proptest! {
        #[test]
        fn consistent_hash_maps_keys_only_to_available_peers(
            peers in 1usize..12,
            vnodes in 1u32..40,
            down in prop::collection::vec(any::<bool>(), 12),
            keys in prop::collection::vec(any::<u64>(), 1..50),
        ) {
            let mut b = balancer(BalancerConfig::ConsistentHash { vnodes }, peers);
            let up: Vec<usize> = (0..peers).filter(|p| !down[*p]).collect();
            for (p, is_down) in down.iter().enumerate().take(peers) {
                b.set_available(p, !is_down);
            }
            let mut r = rng(0);
            let ring = HashRing::new(&(0..peers as u64).collect::<Vec<_>>(), vnodes);
            for key in keys {
                let picked = b.pick(key, &mut r);
                match picked {
                    Some(p) => prop_assert!(up.contains(&p)),
                    None => prop_assert!(up.is_empty()),
                }
                // A key whose owner is up stays with it.
                if let Some(owner) = ring.owner(key, |_| true).filter(|o| up.contains(o)) {
                    prop_assert_eq!(picked, Some(owner));
                }
            }
        }
    }

    #[test]
    fn mix64_is_the_splitmix64_finaliser() {
        // The first output of SplitMix64 seeded with 0 is mix64(γ) = 0xE220A8397B1DCDAF
        // (Vigna's reference splitmix64.c).
        assert_eq!(mix64(GAMMA), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn config_reads_from_toml_and_is_checked_against_the_peers() {
        let c: BalancerConfig =
            toml::from_str("policy = \"smooth_weighted\"\nweights = [5, 1, 1]").expect("valid");
        assert_eq!(
            c,
            BalancerConfig::SmoothWeighted {
                weights: vec![5, 1, 1],
                max_fails: 1
            }
        );
        let ring: BalancerConfig = toml::from_str("policy = \"consistent_hash\"").expect("valid");
        for config in [
            &c,
            &ring,
            &BalancerConfig::default(),
            &BalancerConfig::TwoChoices {},
        ] {
            crate::kit::assert_toml_round_trip(config);
        }
        assert_eq!(ring, BalancerConfig::ConsistentHash { vnodes: 160 });
        assert!(toml::from_str::<BalancerConfig>("policy = \"round_robin\"\nvnodes = 3").is_err());
        assert!(toml::from_str::<BalancerConfig>("policy = \"fastest\"").is_err());

        let field = |c: &BalancerConfig, n| Balancer::new(c, n).map(|_| ()).map_err(|e| e.field);
        assert_eq!(field(&c, 3), Ok(()));
        assert_eq!(field(&c, 4), Err("weights"));
        let zero = BalancerConfig::SmoothWeighted {
            weights: vec![1, 0],
            max_fails: 1,
        };
        assert_eq!(field(&zero, 2), Err("weights"));
        assert_eq!(
            field(&BalancerConfig::ConsistentHash { vnodes: 0 }, 2),
            Err("vnodes")
        );
        assert_eq!(
            field(&BalancerConfig::ConsistentHash { vnodes: 1_000 }, 1_001),
            Err("vnodes")
        );
        assert_eq!(
            field(&BalancerConfig::RoundRobin {}, MAX_PEERS + 1),
            Err("peers")
        );
    }
}
