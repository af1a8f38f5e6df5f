//! Rate limiters: a token bucket, and Kong's fixed and sliding window counters.
//!
//! **Token bucket** (the `(σ, ρ)` regulator of R. L. Cruz, "A Calculus for Network Delay,
//! Part I", IEEE Trans. Inf. Theory 37(1), 1991): `capacity` tokens, refilled continuously at
//! `tokens_per_period` per `period`, starting full; a request takes one token or is rejected.
//! It admits at most `capacity + rate·T` requests in any interval of length `T`, and exactly the
//! refill rate under sustained overload. The balance is kept in units of `1/period_ns` token
//! (128-bit integers), so refills never round.
//!
//! **Window counters** follow Kong. `fixed` is the OSS `rate-limiting` plugin: windows aligned
//! to multiples of the window length on the caller's clock, a count per window, a request
//! admitted while the count is below the limit. Kong aligns to the server's wall clock; here it
//! is whatever clock the caller passes (a node's monotonic clock, so windows start at its zero).
//! `sliding` is Rate Limiting Advanced's default window type, as in `RussellLuo/slidingwindow`
//! ("the scalable rate limiting algorithm used by Kong"): it keeps the previous and current
//! fixed windows' counts and estimates the rate over the last window length as
//! `previous·(window − elapsed)/window + current`, `elapsed` being the time since the current
//! window began; a request is admitted while the estimate is below the limit (compared in exact
//! integer arithmetic). Rejected requests are not counted, in either type.

use serde::{Deserialize, Serialize};
use sim_core::{Duration, MonoTime};

use super::{ConfigError, nanos_since};

/// Configuration of a [`TokenBucket`] (Envoy's token bucket has the same three keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBucketConfig {
    /// The most tokens the bucket holds, and what it starts with (required, at least 1).
    pub capacity: u64,
    /// Tokens added per `period`, continuously (required; 0 never refills).
    pub tokens_per_period: u64,
    /// The period of `tokens_per_period` (default `1s`).
    #[serde(default = "default_period")]
    pub period: Duration,
}

fn default_period() -> Duration {
    Duration::from_secs(1)
}

impl TokenBucketConfig {
    /// Checks that the bucket holds at least one token and the period is not zero.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.capacity == 0 {
            return Err(ConfigError::new(
                "capacity",
                "must be at least 1 token (a bucket that holds none admits nothing)",
            ));
        }
        if self.period == Duration::ZERO {
            return Err(ConfigError::new("period", "must be longer than 0"));
        }
        Ok(())
    }
}

/// A token bucket (see the module doc). Create it with [`TokenBucket::new`].
#[derive(Clone, Debug)]
pub struct TokenBucket {
    /// Balance units per token: the period in nanoseconds.
    unit: u128,
    /// Units added per nanosecond: the tokens per period.
    per_nano: u128,
    /// The capacity, in units.
    max: u128,
    /// The balance, in units.
    balance: u128,
    /// When the balance was last refilled; `None` until the first request.
    refilled_at: Option<MonoTime>,
}

impl TokenBucket {
    /// A full bucket, or why `config` is unusable.
    pub fn new(config: &TokenBucketConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let unit = u128::from(config.period.as_nanos());
        let max = u128::from(config.capacity) * unit;
        Ok(TokenBucket {
            unit,
            per_nano: u128::from(config.tokens_per_period),
            max,
            balance: max,
            refilled_at: None,
        })
    }

    /// Takes a token for a request at `now`; `false` means reject it.
    pub fn try_acquire(&mut self, now: MonoTime) -> bool {
        self.refill(now);
        if self.balance >= self.unit {
            self.balance -= self.unit;
            true
        } else {
            false
        }
    }

    /// Whole tokens in the bucket at `now`.
    pub fn available(&mut self, now: MonoTime) -> u64 {
        self.refill(now);
        u64::try_from(self.balance / self.unit).unwrap_or(u64::MAX)
    }

    fn refill(&mut self, now: MonoTime) {
        if let Some(then) = self.refilled_at {
            let earned = u128::from(nanos_since(now, then)).saturating_mul(self.per_nano);
            self.balance = self.balance.saturating_add(earned).min(self.max);
        }
        if self.refilled_at.is_none_or(|then| now > then) {
            self.refilled_at = Some(now);
        }
    }
}

/// How a [`WindowLimiter`] counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowType {
    /// Kong OSS `rate-limiting`: a count per clock-aligned window.
    Fixed,
    /// Kong Rate Limiting Advanced's sliding estimate (its default, and ours).
    #[default]
    Sliding,
}

/// Configuration of a [`WindowLimiter`], with Kong's key names where they exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowLimiterConfig {
    /// Requests admitted per window (required, at least 1).
    pub limit: u64,
    /// The window length (required; Kong's `window_size`).
    pub window_size: Duration,
    /// `fixed` or `sliding` (default `sliding`).
    #[serde(default)]
    pub window_type: WindowType,
}

impl WindowLimiterConfig {
    /// Checks that the limit is at least 1 and the window between 1 ns and `i64::MAX` ns.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.limit == 0 {
            return Err(ConfigError::new("limit", "must be at least 1"));
        }
        if self.window_size == Duration::ZERO || i64::try_from(self.window_size.as_nanos()).is_err()
        {
            return Err(ConfigError::new(
                "window_size",
                format!(
                    "must be longer than 0 and at most {}, got {}",
                    Duration::from_nanos(i64::MAX as u64),
                    self.window_size
                ),
            ));
        }
        Ok(())
    }
}

/// Kong's fixed or sliding window rate limiter (see the module doc).
#[derive(Clone, Debug)]
pub struct WindowLimiter {
    limit: u64,
    /// The window length in nanoseconds, positive.
    window: i64,
    window_type: WindowType,
    /// The number of the current window (`now / window`, rounded down); `None` before the
    /// first request.
    index: Option<i64>,
    /// Requests admitted in the current window.
    current: u64,
    /// Requests admitted in the window before it.
    previous: u64,
}

/// The counts that apply at some instant.
struct Counts {
    /// The window `now` falls in.
    index: i64,
    /// Nanoseconds since that window began, in `[0, window)`.
    elapsed: i64,
    current: u64,
    previous: u64,
}

impl WindowLimiter {
    /// A limiter with no requests counted yet, or why `config` is unusable.
    pub fn new(config: &WindowLimiterConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(WindowLimiter {
            limit: config.limit,
            // In range after validation.
            window: config.window_size.as_nanos() as i64,
            window_type: config.window_type,
            index: None,
            current: 0,
            previous: 0,
        })
    }

    /// Counts a request at `now` if the limit allows it; `false` means reject it (Kong's 429).
    pub fn try_acquire(&mut self, now: MonoTime) -> bool {
        let c = self.counts(now);
        let admit = match self.window_type {
            WindowType::Fixed => c.current < self.limit,
            WindowType::Sliding => {
                // estimate < limit, multiplied through by the window length.
                let w = c.elapsed as u128;
                let window = self.window as u128;
                u128::from(c.previous) * (window - w) + u128::from(c.current) * window
                    < u128::from(self.limit) * window
            }
        };
        self.index = Some(c.index);
        self.previous = c.previous;
        self.current = c.current + u64::from(admit);
        admit
    }

    /// The requests the limiter counts against the limit at `now`: the current window's count
    /// (`fixed`) or Kong's sliding estimate (`sliding`), for tracing and tests.
    pub fn estimate(&self, now: MonoTime) -> f64 {
        let c = self.counts(now);
        match self.window_type {
            WindowType::Fixed => c.current as f64,
            WindowType::Sliding => {
                let remaining = (self.window - c.elapsed) as f64 / self.window as f64;
                c.previous as f64 * remaining + c.current as f64
            }
        }
    }

    /// The window `now` falls in and the counts that apply there. A reading older than the
    /// current window counts at that window's start: a monotonic clock does not go back.
    fn counts(&self, now: MonoTime) -> Counts {
        let index = now.0.div_euclid(self.window);
        let elapsed = now.0.rem_euclid(self.window);
        match self.index {
            None => Counts {
                index,
                elapsed,
                current: 0,
                previous: 0,
            },
            Some(i) if index < i => Counts {
                index: i,
                elapsed: 0,
                current: self.current,
                previous: self.previous,
            },
            Some(i) if index == i => Counts {
                index,
                elapsed,
                current: self.current,
                previous: self.previous,
            },
            Some(i) => Counts {
                index,
                elapsed,
                current: 0,
                previous: if index - 1 == i { self.current } else { 0 },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at_secs(s: f64) -> MonoTime {
        MonoTime((s * 1e9).round() as i64)
    }

    fn bucket(capacity: u64, tokens_per_period: u64, period: Duration) -> TokenBucket {
        TokenBucket::new(&TokenBucketConfig {
            capacity,
            tokens_per_period,
            period,
        })
        .expect("valid bucket")
    }

    #[test]
    fn token_bucket_t1_burst_then_overload_admits_capacity_plus_rate_times_t() {
        // references.md §11 T1 (Cruz 1991): B = 10, r = 5/s; 100 requests at t = 0, then
        // 20 req/s for 10 s (one every 50 ms, the last at 10.0 s) → 10 + 5·10 = 60 (±1)
        // admitted in [0, 10 s].
        let mut b = bucket(10, 5, Duration::from_secs(1));
        let burst = (0..100).filter(|_| b.try_acquire(at_secs(0.0))).count();
        let steady = (1..=200)
            .filter(|k| b.try_acquire(MonoTime(k * 50_000_000)))
            .count();
        let admitted = burst + steady;
        println!("validation: token bucket T1: reference 60 (±1) measured {admitted}");
        assert_eq!(burst, 10);
        assert!((59..=61).contains(&admitted), "admitted {admitted}");
    }

    #[test]
    fn token_bucket_refills_exactly_and_caps_at_capacity() {
        // 1 token per 3 s: fractional rates per nanosecond add up without rounding.
        let mut b = bucket(2, 1, Duration::from_secs(3));
        assert_eq!(b.available(at_secs(0.0)), 2);
        assert!(b.try_acquire(at_secs(0.0)) && b.try_acquire(at_secs(0.0)));
        assert!(!b.try_acquire(MonoTime(2_999_999_999)));
        assert!(b.try_acquire(at_secs(3.0)));
        assert_eq!(b.available(at_secs(3600.0)), 2, "capped");
        assert_eq!(
            b.available(at_secs(1.0)),
            2,
            "an older reading refunds nothing"
        );
    }

    proptest! {
        #[test]
        fn token_bucket_never_admits_more_than_capacity_plus_rate_times_t(
            capacity in 1u64..10,
            tokens_per_period in 0u64..10,
            period_ms in 1u64..2_000,
            gaps in prop::collection::vec(0u64..400_000_000, 1..200),
        ) {
            // Cruz's (σ, ρ) bound: in every interval [t_i, t_j] between two admitted requests,
            // admitted ≤ B + r·(t_j − t_i), i.e. (admitted − B)·period ≤ tokens·(t_j − t_i).
            let period = Duration::from_millis(period_ms);
            let mut b = bucket(capacity, tokens_per_period, period);
            let mut now = 0u64;
            let mut admitted = Vec::new();
            for gap in gaps {
                now += gap;
                if b.try_acquire(MonoTime(now as i64)) {
                    admitted.push(now);
                }
            }
            for (i, &from) in admitted.iter().enumerate() {
                for (j, &to) in admitted.iter().enumerate().skip(i) {
                    let count = (j - i + 1) as u128;
                    let excess = count.saturating_sub(u128::from(capacity));
                    prop_assert!(
                        excess * u128::from(period.as_nanos())
                            <= u128::from(tokens_per_period) * u128::from(to - from),
                        "{} admitted in [{}, {}]", count, from, to
                    );
                }
            }
        }
    }

    fn limiter(limit: u64, window_secs: u64, window_type: WindowType) -> WindowLimiter {
        WindowLimiter::new(&WindowLimiterConfig {
            limit,
            window_size: Duration::from_secs(window_secs),
            window_type,
        })
        .expect("valid limiter")
    }

    #[test]
    fn kong_k1_twelve_requests_in_a_minute_of_ten_per_minute() {
        // references.md §11 K1: 10/minute, 12 requests within one minute → 10 × 200, 2 × 429.
        let mut l = limiter(10, 60, WindowType::Fixed);
        let admitted: Vec<bool> = (0..12)
            .map(|i| l.try_acquire(at_secs(1.0 + 4.0 * f64::from(i))))
            .collect();
        let allowed = admitted.iter().filter(|a| **a).count();
        println!(
            "validation: Kong K1: reference 10 allowed 2 rejected, measured {allowed} allowed {} rejected",
            12 - allowed
        );
        assert_eq!(allowed, 10);
        assert!(admitted[..10].iter().all(|a| *a), "the first ten pass");
    }

    #[test]
    fn kong_k2_fixed_windows_pass_twice_the_limit_across_a_boundary() {
        // references.md §11 K2: 10 at 0:59.5 and 10 at 1:00.5 → all 20 pass (2× the limit
        // within one second, the known weakness of clock-aligned windows).
        let mut l = limiter(10, 60, WindowType::Fixed);
        let passed = (0..10).filter(|_| l.try_acquire(at_secs(59.5))).count()
            + (0..10).filter(|_| l.try_acquire(at_secs(60.5))).count();
        println!("validation: Kong K2: reference 20 measured {passed}");
        assert_eq!(passed, 20);
        // The sliding window closes that gap: at 60.5 s the estimate is already
        // 10·59.5/60 ≈ 9.92, so one more fits and the rest are rejected.
        let mut s = limiter(10, 60, WindowType::Sliding);
        let passed = (0..10).filter(|_| s.try_acquire(at_secs(59.5))).count()
            + (0..10).filter(|_| s.try_acquire(at_secs(60.5))).count();
        assert_eq!(passed, 11);
    }

    #[test]
    fn kong_k3_sliding_estimate() {
        // references.md §11 K3: 100 per 60 s, 86 in the previous window, 12 in the current
        // one, 15 s into it → 86·45/60 + 12 = 76.5.
        let mut l = limiter(100, 60, WindowType::Sliding);
        assert!((0..86).all(|i| l.try_acquire(at_secs(f64::from(i) * 0.5))));
        assert!((0..12).all(|i| l.try_acquire(at_secs(60.0 + f64::from(i) * 0.05))));
        let estimate = l.estimate(at_secs(75.0));
        println!("validation: Kong K3: reference 76.5 measured {estimate}");
        assert_eq!(estimate, 76.5);
        // A request is admitted while the estimate is below the limit: at 76.5, 77.5, …,
        // 99.5, so 24 more at 75 s, then none.
        let more = (0..30).filter(|_| l.try_acquire(at_secs(75.0))).count();
        assert_eq!(more, 24);
    }

    #[test]
    fn windows_forget_everything_after_an_idle_window() {
        for window_type in [WindowType::Fixed, WindowType::Sliding] {
            let mut l = limiter(3, 10, window_type);
            assert_eq!((0..5).filter(|_| l.try_acquire(at_secs(1.0))).count(), 3);
            assert!(l.estimate(at_secs(25.0)) == 0.0, "{window_type:?}");
            assert_eq!((0..5).filter(|_| l.try_acquire(at_secs(25.0))).count(), 3);
        }
    }

    #[test]
    fn configs_read_from_toml_and_validate() {
        let b: TokenBucketConfig =
            toml::from_str("capacity = 10\ntokens_per_period = 5").expect("valid");
        assert_eq!(b.period, Duration::from_secs(1));
        assert!(toml::from_str::<TokenBucketConfig>("capacity = 10").is_err());
        let w: WindowLimiterConfig =
            toml::from_str("limit = 10\nwindow_size = \"1m\"").expect("valid");
        assert_eq!(w.window_type, WindowType::Sliding);
        crate::kit::assert_toml_round_trip(&b);
        crate::kit::assert_toml_round_trip(&w);
        assert!(toml::from_str::<WindowLimiterConfig>("limit = 1\nwindow = \"1m\"").is_err());

        let field = |e: ConfigError| e.field;
        let no_capacity = TokenBucketConfig { capacity: 0, ..b };
        assert_eq!(
            TokenBucket::new(&no_capacity).map(|_| ()).map_err(field),
            Err("capacity")
        );
        let no_period = TokenBucketConfig {
            period: Duration::ZERO,
            ..b
        };
        assert_eq!(
            TokenBucket::new(&no_period).map(|_| ()).map_err(field),
            Err("period")
        );
        let no_limit = WindowLimiterConfig { limit: 0, ..w };
        assert_eq!(
            WindowLimiter::new(&no_limit).map(|_| ()).map_err(field),
            Err("limit")
        );
        let huge = WindowLimiterConfig {
            window_size: Duration::MAX,
            ..w
        };
        assert_eq!(
            WindowLimiter::new(&huge).map(|_| ()).map_err(field),
            Err("window_size")
        );
    }
}
