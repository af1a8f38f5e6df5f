//! Retry policies: how long to wait before each retry, how many attempts, and a budget that
//! keeps retries a bounded share of the traffic.
//!
//! **Backoff** follows M. Brooker, "Exponential Backoff And Jitter" (AWS Architecture Blog,
//! 2015) and its simulator (`aws-samples/aws-arch-backoff-simulator`). For the retry that
//! follows attempt number `k` (`k = 0` after the first attempt), the un-jittered delay is
//!
//! - `fixed`: `t = base`;
//! - `exponential`: `t = min(cap, base·2^k)`;
//!
//! and the jitter turns `t` into the delay actually waited:
//!
//! - `none`: `t` (Brooker's "Exponential" when the backoff is exponential);
//! - `full`: `U(0, t)`;
//! - `equal`: `t/2 + U(0, t/2)`;
//! - `decorrelated`: `min(cap, U(base, 3·prev))` with `prev₀ = base` and `prev` the previous
//!   delay. It grows on its own, so it ignores `t` and needs `backoff = "exponential"` (the only
//!   kind with a cap).
//!
//! Delays are integer nanoseconds and `U(a, b)` draws uniformly from the integers in `[a, b]`,
//! so the means are Brooker's: `E[full] = t/2`, `E[decorrelated | prev] = (base + 3·prev)/2`
//! before the cap, and `E[equal] = 3t/4` for even `t` (`(3t + 1)/4` for odd `t`, whose odd
//! nanosecond goes to the fixed half).
//!
//! **The retry budget** is a token bucket in the spirit of Finagle's `RetryBudget` (defaults
//! `percentCanRetry` 0.2, `minRetriesPerSec` 10, `ttl` 10 s): each request deposits `ratio`
//! tokens, time deposits `min_retries_per_sec` tokens per second, each retry withdraws one, and
//! the balance never exceeds `max_balance`. Simplification: Finagle lets deposits expire after
//! its `ttl` instead of capping the balance; the cap bounds the banked burst the same way
//! without keeping a window of deposits. The bucket starts full, as Finagle's reserve of
//! `minRetriesPerSec·ttl` is available from the start. Over any run it admits at most
//! `max_balance + ratio·requests + min_retries_per_sec·seconds` retries.

use serde::{Deserialize, Serialize};
use sim_core::{Duration, MonoTime, SimRng};

use super::{ConfigError, nanos_since};

/// The most attempts a policy may allow: a limit on everything, and far beyond the SRE book's
/// advice of at most 3.
pub const MAX_ATTEMPTS: u32 = 100;

/// How the un-jittered delay grows from one retry to the next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackoffKind {
    /// Every retry waits `base`.
    Fixed,
    /// The retry after attempt `k` waits `min(cap, base·2^k)` (the default).
    #[default]
    Exponential,
}

/// How randomness spreads the delay (Brooker's variants).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// Wait exactly `t`.
    None,
    /// Wait `U(0, t)` (the default: Brooker finds it does the least work).
    #[default]
    Full,
    /// Wait `t/2 + U(0, t/2)`.
    Equal,
    /// Wait `min(cap, U(base, 3·prev))`, `prev` starting at `base`.
    Decorrelated,
}

/// A retry policy: how many attempts and how long to wait between them.
///
/// In a scenario: `retry = { max_attempts = 3, backoff = "exponential", base = "5ms",
/// cap = "2s", jitter = "full" }`; every key is optional.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts per request, the first one included (default 3, the SRE book's advice; 1
    /// never retries). Counted as gRPC's and resilience4j's `maxAttempts` are.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// How the un-jittered delay grows (default `exponential`).
    #[serde(default)]
    pub backoff: BackoffKind,
    /// The first delay, and the floor of decorrelated jitter (default `5ms`, Brooker's setup).
    #[serde(default = "default_base")]
    pub base: Duration,
    /// The longest delay for `exponential` backoff and `decorrelated` jitter (default `2s`,
    /// Brooker's setup). Not used by `fixed` backoff.
    #[serde(default = "default_cap")]
    pub cap: Duration,
    /// How the delay is randomised (default `full`).
    #[serde(default)]
    pub jitter: Jitter,
}

fn default_max_attempts() -> u32 {
    3
}

fn default_base() -> Duration {
    Duration::from_millis(5)
}

fn default_cap() -> Duration {
    Duration::from_secs(2)
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: default_max_attempts(),
            backoff: BackoffKind::default(),
            base: default_base(),
            cap: default_cap(),
            jitter: Jitter::default(),
        }
    }
}

impl RetryPolicy {
    /// Retry every `every`, without jitter, as many times as a policy may
    /// ([`MAX_ATTEMPTS`]): the schedule of a client that resends to a replicated cluster until
    /// its own timeout gives up.
    pub fn fixed(every: Duration) -> Self {
        RetryPolicy {
            max_attempts: MAX_ATTEMPTS,
            backoff: BackoffKind::Fixed,
            base: every,
            cap: every,
            jitter: Jitter::None,
        }
    }

    /// Checks the policy: 1 to [`MAX_ATTEMPTS`] attempts, `base ≤ cap` where the cap is used,
    /// and decorrelated jitter only with exponential backoff.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_ATTEMPTS).contains(&self.max_attempts) {
            return Err(ConfigError::new(
                "max_attempts",
                format!(
                    "must be between 1 and {MAX_ATTEMPTS} (the first attempt counts), got {}",
                    self.max_attempts
                ),
            ));
        }
        let capped = self.backoff == BackoffKind::Exponential;
        if capped && self.base > self.cap {
            return Err(ConfigError::new(
                "cap",
                format!("must be at least base ({}), got {}", self.base, self.cap),
            ));
        }
        if self.jitter == Jitter::Decorrelated && !capped {
            return Err(ConfigError::new(
                "jitter",
                "decorrelated jitter grows its own delay up to cap: use backoff = \"exponential\"",
            ));
        }
        Ok(())
    }
}

/// The backoff state of one request: call [`next_delay`](Self::next_delay) after each failed
/// attempt to learn how long to wait before the next one.
///
/// Never panics, even for a policy that fails [`RetryPolicy::validate`]: arithmetic saturates
/// and an empty draw range yields its lower end.
#[derive(Clone, Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    /// Attempts made so far, the first included.
    attempts: u32,
    /// The previous delay in nanoseconds (decorrelated jitter's state).
    prev: u64,
}

impl Backoff {
    /// The state of a request whose first attempt has just been made.
    pub fn new(policy: &RetryPolicy) -> Self {
        Backoff {
            policy: *policy,
            attempts: 1,
            prev: policy.base.as_nanos(),
        }
    }

    /// Attempts made so far, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The delay before the next attempt, or `None` when `max_attempts` have been made. A
    /// `Some` counts the next attempt as made. Draws from `rng` only when the jitter is random.
    pub fn next_delay(&mut self, rng: &mut SimRng) -> Option<Duration> {
        if self.attempts >= self.policy.max_attempts {
            return None;
        }
        let p = &self.policy;
        let (base, cap) = (p.base.as_nanos(), p.cap.as_nanos());
        let t = match p.backoff {
            BackoffKind::Fixed => base,
            BackoffKind::Exponential => exponential(base, cap, self.attempts - 1),
        };
        let delay = match p.jitter {
            Jitter::None => t,
            Jitter::Full => full(t, rng),
            Jitter::Equal => equal(t, rng),
            Jitter::Decorrelated => decorrelated(base, cap, self.prev, rng),
        };
        self.prev = delay;
        self.attempts += 1;
        Some(Duration::from_nanos(delay))
    }
}

/// `min(cap, base·2^k)`, saturating.
fn exponential(base: u64, cap: u64, k: u32) -> u64 {
    let factor = 1u64.checked_shl(k).unwrap_or(u64::MAX);
    base.saturating_mul(factor).min(cap)
}

/// Full jitter: `U(0, t)`.
fn full(t: u64, rng: &mut SimRng) -> u64 {
    rng.range_inclusive(0, t)
}

/// Equal jitter: `t/2 + U(0, t/2)`, with the odd nanosecond kept in the fixed half so the
/// delay stays within `[t/2, t]`.
fn equal(t: u64, rng: &mut SimRng) -> u64 {
    let half = t / 2;
    (t - half) + rng.range_inclusive(0, half)
}

/// Decorrelated jitter: `min(cap, U(base, 3·prev))`.
fn decorrelated(base: u64, cap: u64, prev: u64, rng: &mut SimRng) -> u64 {
    rng.range_inclusive(base, prev.saturating_mul(3)).min(cap)
}

/// Nanotokens per token: the budget keeps its balance in fixed point so deposits of a
/// fractional `ratio` add up exactly.
const UNIT: u64 = 1_000_000_000;

/// The largest `ratio` a budget accepts (retries per request).
pub const MAX_RATIO: f64 = 1_000.0;

/// Configuration of a [`RetryBudget`]; every key is optional.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryBudgetConfig {
    /// Retries earned per request (default 0.2, Finagle's `percentCanRetry`; the SRE book
    /// suggests 0.1). Kept to nine decimal places.
    #[serde(default = "default_ratio")]
    pub ratio: f64,
    /// Retries earned per second regardless of traffic, so a quiet client can still retry
    /// (default 10, Finagle's `minRetriesPerSec`; 0 for a pure ratio).
    #[serde(default = "default_min_retries_per_sec")]
    pub min_retries_per_sec: u32,
    /// The most retries the budget can bank, and its balance at the start (default 100,
    /// Finagle's reserve of `minRetriesPerSec · ttl` = 10/s · 10 s).
    #[serde(default = "default_max_balance")]
    pub max_balance: u32,
}

fn default_ratio() -> f64 {
    0.2
}

fn default_min_retries_per_sec() -> u32 {
    10
}

fn default_max_balance() -> u32 {
    100
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        RetryBudgetConfig {
            ratio: default_ratio(),
            min_retries_per_sec: default_min_retries_per_sec(),
            max_balance: default_max_balance(),
        }
    }
}

impl RetryBudgetConfig {
    /// Checks that `ratio` is a number in `[0, MAX_RATIO]`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=MAX_RATIO).contains(&self.ratio) {
            return Err(ConfigError::new(
                "ratio",
                format!(
                    "must be between 0 and {MAX_RATIO} retries per request, got {}",
                    self.ratio
                ),
            ));
        }
        Ok(())
    }
}

/// A retry budget: retries may be at most a share of the requests (see the module doc).
///
/// Call [`on_request`](Self::on_request) for every first attempt and
/// [`try_retry`](Self::try_retry) before every retry; a `false` means give up instead.
#[derive(Clone, Debug)]
pub struct RetryBudget {
    /// Nanotokens deposited per request.
    deposit: u64,
    /// Nanotokens deposited per nanosecond (one token per second is one nanotoken per ns).
    per_nano: u64,
    /// The cap, in nanotokens.
    max: u64,
    /// The balance, in nanotokens.
    balance: u64,
    /// When time was last deposited; `None` until the first call.
    refilled_at: Option<MonoTime>,
}

impl RetryBudget {
    /// A full budget, or why `config` is unusable.
    pub fn new(config: &RetryBudgetConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let max = u64::from(config.max_balance) * UNIT;
        Ok(RetryBudget {
            // In range after validation: at most 1e12 nanotokens.
            deposit: (config.ratio * UNIT as f64).round() as u64,
            per_nano: u64::from(config.min_retries_per_sec),
            max,
            balance: max,
            refilled_at: None,
        })
    }

    /// Records a request (a first attempt), which earns `ratio` retries.
    pub fn on_request(&mut self, now: MonoTime) {
        self.refill(now);
        self.balance = self.balance.saturating_add(self.deposit).min(self.max);
    }

    /// Withdraws one retry if the budget holds one; `false` means the retry must not be made.
    pub fn try_retry(&mut self, now: MonoTime) -> bool {
        self.refill(now);
        if self.balance >= UNIT {
            self.balance -= UNIT;
            true
        } else {
            false
        }
    }

    /// Deposits the per-second allowance earned since the last call.
    fn refill(&mut self, now: MonoTime) {
        if let Some(then) = self.refilled_at {
            let earned = nanos_since(now, then).saturating_mul(self.per_nano);
            self.balance = self.balance.saturating_add(earned).min(self.max);
        }
        if self.refilled_at.is_none_or(|then| now > then) {
            self.refilled_at = Some(now);
        }
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

    fn policy(backoff: BackoffKind, jitter: Jitter, base_ns: u64, cap_ns: u64) -> RetryPolicy {
        RetryPolicy {
            max_attempts: MAX_ATTEMPTS,
            backoff,
            base: Duration::from_nanos(base_ns),
            cap: Duration::from_nanos(cap_ns),
            jitter,
        }
    }

    /// Every delay a backoff gives until it is exhausted, in nanoseconds.
    fn delays(policy: &RetryPolicy, rng: &mut SimRng) -> Vec<u64> {
        let mut b = Backoff::new(policy);
        std::iter::from_fn(|| b.next_delay(rng).map(Duration::as_nanos)).collect()
    }

    #[test]
    fn fixed_backoff_waits_base_every_time() {
        let p = RetryPolicy {
            max_attempts: 4,
            ..policy(BackoffKind::Fixed, Jitter::None, 7, 1)
        };
        assert_eq!(delays(&p, &mut rng(1)), [7, 7, 7]);
    }

    #[test]
    fn exponential_backoff_doubles_up_to_the_cap() {
        // Brooker's "Exponential": t = min(cap, base·2^attempt).
        let p = RetryPolicy {
            max_attempts: 8,
            ..policy(BackoffKind::Exponential, Jitter::None, 5, 100)
        };
        assert_eq!(delays(&p, &mut rng(1)), [5, 10, 20, 40, 80, 100, 100]);
    }

    #[test]
    fn exponential_backoff_saturates_instead_of_overflowing() {
        let p = policy(BackoffKind::Exponential, Jitter::None, 3, u64::MAX);
        let d = delays(&p, &mut rng(1));
        assert_eq!(d.len() as u32, MAX_ATTEMPTS - 1);
        assert_eq!(d[2], 12);
        assert_eq!(*d.last().expect("99 delays"), u64::MAX);
    }

    #[test]
    fn max_attempts_counts_the_first_attempt() {
        let mut r = rng(1);
        for max_attempts in 1..=5 {
            let p = RetryPolicy {
                max_attempts,
                ..RetryPolicy::default()
            };
            let mut b = Backoff::new(&p);
            let retries = std::iter::from_fn(|| b.next_delay(&mut r)).count();
            assert_eq!(retries as u32, max_attempts - 1);
            assert_eq!(b.attempts(), max_attempts);
            assert_eq!(b.next_delay(&mut r), None, "stays exhausted");
        }
    }

    #[test]
    fn unjittered_delays_draw_nothing() {
        let mut a = rng(3);
        let mut b = a.clone();
        delays(
            &policy(BackoffKind::Exponential, Jitter::None, 1, 9),
            &mut a,
        );
        assert_eq!(a.next_u64(), b.next_u64());
    }

    /// The mean of `n` samples, and how far it is from `expected` as a fraction of it.
    fn mean_error(n: u64, expected: f64, mut sample: impl FnMut() -> u64) -> (f64, f64) {
        let sum: u128 = (0..n).map(|_| u128::from(sample())).sum();
        let mean = sum as f64 / n as f64;
        (mean, (mean - expected).abs() / expected)
    }

    const DRAWS: u64 = 1_000_000;

    #[test]
    fn brooker_full_jitter_mean_is_half_t() {
        // Reference (Brooker 2015, references.md §2): E[U(0, t)] = t/2, ±0.5% over 10⁶ draws.
        let t = 1_000_000;
        let mut r = rng(11);
        let (mean, err) = mean_error(DRAWS, t as f64 / 2.0, || full(t, &mut r));
        println!(
            "validation: E[full] t={t}: reference {} measured {mean:.1}",
            t / 2
        );
        assert!(err < 0.005, "mean {mean}");
    }

    #[test]
    fn brooker_equal_jitter_mean_is_three_quarters_t() {
        // Reference (Brooker 2015): E[t/2 + U(0, t/2)] = 3t/4, ±0.5% over 10⁶ draws.
        let t = 1_000_000;
        let mut r = rng(12);
        let (mean, err) = mean_error(DRAWS, 0.75 * t as f64, || equal(t, &mut r));
        println!(
            "validation: E[equal] t={t}: reference {} measured {mean:.1}",
            3 * t / 4
        );
        assert!(err < 0.005, "mean {mean}");
    }

    #[test]
    fn brooker_decorrelated_jitter_mean_given_prev() {
        // Reference (Brooker 2015): E[U(base, 3·prev)] = (base + 3·prev)/2 before the cap,
        // ±0.5% over 10⁶ draws, for the first step (prev = base) and two later ones.
        let base = 5_000_000;
        for prev in [base, 4 * base, 37 * base] {
            let mut r = rng(prev);
            let expected = (base + 3 * prev) as f64 / 2.0;
            let (mean, err) = mean_error(DRAWS, expected, || {
                decorrelated(base, u64::MAX, prev, &mut r)
            });
            println!(
                "validation: E[decorrelated | prev={prev}] base={base}: reference {expected} measured {mean:.1}"
            );
            assert!(err < 0.005, "prev {prev}: mean {mean}");
        }
    }

    #[test]
    fn the_public_sampler_has_the_same_means() {
        // Through `Backoff`: the first retry of each request has t = base and prev = base.
        let base = 1_000_000;
        for (jitter, expected) in [
            (Jitter::Full, 0.5),
            (Jitter::Equal, 0.75),
            (Jitter::Decorrelated, 2.0),
        ] {
            let p = RetryPolicy {
                max_attempts: 2,
                ..policy(BackoffKind::Exponential, jitter, base, u64::MAX)
            };
            let mut r = rng(5);
            let (mean, err) = mean_error(DRAWS, expected * base as f64, || {
                Backoff::new(&p)
                    .next_delay(&mut r)
                    .map_or(0, Duration::as_nanos)
            });
            assert!(err < 0.005, "{jitter:?}: mean {mean}");
        }
    }

    proptest! {
        #[test]
        fn jittered_delays_stay_within_their_bounds(
            base in 0u64..1_000_000_000,
            extra in 0u64..100_000_000_000,
            jitter in prop_oneof![Just(Jitter::None), Just(Jitter::Full), Just(Jitter::Equal), Just(Jitter::Decorrelated)],
            seed in any::<u64>(),
        ) {
            let p = RetryPolicy {
                max_attempts: 40,
                ..policy(BackoffKind::Exponential, jitter, base, base + extra)
            };
            let (base, cap) = (p.base.as_nanos(), p.cap.as_nanos());
            let mut r = rng(seed);
            let mut b = Backoff::new(&p);
            let mut prev = base;
            let mut k = 0;
            while let Some(d) = b.next_delay(&mut r) {
                let d = d.as_nanos();
                let t = exponential(base, cap, k);
                let (lo, hi) = match jitter {
                    Jitter::None => (t, t),
                    Jitter::Full => (0, t),
                    Jitter::Equal => (t.div_ceil(2), t),
                    Jitter::Decorrelated => (base, cap.min(prev.saturating_mul(3))),
                };
                prop_assert!(lo <= d && d <= hi, "{jitter:?} k={k}: {d} not in [{lo}, {hi}]");
                prev = d;
                k += 1;
            }
            prop_assert_eq!(k, 39);
        }
    }

    #[test]
    fn validation_names_the_bad_field() {
        let field = |p: RetryPolicy| p.validate().map_err(|e| e.field);
        assert_eq!(field(RetryPolicy::default()), Ok(()));
        let zero = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(field(zero), Err("max_attempts"));
        let inverted = RetryPolicy {
            base: Duration::from_secs(3),
            ..RetryPolicy::default()
        };
        assert_eq!(field(inverted), Err("cap"));
        let fixed_long = RetryPolicy {
            backoff: BackoffKind::Fixed,
            jitter: Jitter::Equal,
            ..inverted
        };
        assert_eq!(field(fixed_long), Ok(()), "fixed backoff has no cap");
        let fixed_decorrelated = RetryPolicy {
            backoff: BackoffKind::Fixed,
            jitter: Jitter::Decorrelated,
            ..RetryPolicy::default()
        };
        assert_eq!(field(fixed_decorrelated), Err("jitter"));
    }

    #[test]
    fn policy_reads_from_toml_with_defaults_and_rejects_unknown_keys() {
        let p: RetryPolicy = toml::from_str("max_attempts = 5\njitter = \"equal\"\ncap = \"1s\"")
            .expect("valid policy");
        assert_eq!(
            p,
            RetryPolicy {
                max_attempts: 5,
                jitter: Jitter::Equal,
                cap: Duration::from_secs(1),
                ..RetryPolicy::default()
            }
        );
        assert!(toml::from_str::<RetryPolicy>("attempts = 5").is_err());
        crate::kit::assert_toml_round_trip(&p);
        let b: RetryBudgetConfig = toml::from_str("ratio = 0.1").expect("valid budget");
        assert_eq!(b.min_retries_per_sec, 10);
        crate::kit::assert_toml_round_trip(&b);
        assert!(toml::from_str::<RetryBudgetConfig>("percent = 10").is_err());
    }

    fn budget(ratio: f64, min_retries_per_sec: u32, max_balance: u32) -> RetryBudget {
        RetryBudget::new(&RetryBudgetConfig {
            ratio,
            min_retries_per_sec,
            max_balance,
        })
        .expect("valid budget")
    }

    #[test]
    fn budget_rejects_a_bad_ratio() {
        for ratio in [-0.1, f64::NAN, f64::INFINITY, MAX_RATIO + 1.0] {
            let config = RetryBudgetConfig {
                ratio,
                ..RetryBudgetConfig::default()
            };
            assert_eq!(
                RetryBudget::new(&config).map(|_| ()).map_err(|e| e.field),
                Err("ratio")
            );
        }
    }

    #[test]
    fn budget_under_sustained_failure_admits_its_ratio_of_requests() {
        // Every request fails and wants a retry: after the initial balance, one retry per
        // ten requests.
        let (initial, requests) = (10, 10_000);
        let mut b = budget(0.1, 0, initial);
        let now = MonoTime(0);
        let mut admitted = 0u64;
        for _ in 0..requests {
            b.on_request(now);
            admitted += u64::from(b.try_retry(now));
        }
        let ceiling = u64::from(initial) + requests / 10;
        println!(
            "validation: retry budget ratio 0.1, initial 10, {requests} failing requests: \
             reference at most {ceiling} measured {admitted}"
        );
        assert!(
            (ceiling - 1..=ceiling).contains(&admitted),
            "admitted {admitted}"
        );
    }

    #[test]
    fn budget_refills_at_the_minimum_rate_without_requests() {
        let mut b = budget(0.0, 10, 1);
        let mut now = MonoTime(0);
        assert!(b.try_retry(now), "starts full");
        assert!(!b.try_retry(now));
        now = now.after(Duration::from_millis(99));
        assert!(!b.try_retry(now), "0.99 of a retry earned");
        now = now.after(Duration::from_millis(1));
        assert!(b.try_retry(now), "one retry per 100 ms");
        now = now.after(Duration::from_secs(60));
        assert!(b.try_retry(now));
        assert!(!b.try_retry(now), "the balance is capped at one");
    }

    proptest! {
        #[test]
        fn budget_never_admits_more_than_it_earned(
            ratio in 0.0f64..2.0,
            min_retries_per_sec in 0u32..20,
            max_balance in 0u32..20,
            steps in prop::collection::vec((0u64..300_000_000, any::<bool>()), 1..400),
        ) {
            // Bound: max_balance + ratio·requests + min_retries_per_sec·elapsed seconds.
            let mut b = budget(ratio, min_retries_per_sec, max_balance);
            let (mut now, mut requests, mut retries) = (0u64, 0u64, 0u64);
            for (gap, is_request) in steps {
                now += gap;
                if is_request {
                    b.on_request(MonoTime(now as i64));
                    requests += 1;
                } else if b.try_retry(MonoTime(now as i64)) {
                    retries += 1;
                }
                let earned = f64::from(max_balance)
                    + ratio * requests as f64
                    + f64::from(min_retries_per_sec) * now as f64 / 1e9;
                prop_assert!(retries as f64 <= earned + 1e-6, "{retries} > {earned}");
            }
        }
    }
}
