//! A circuit breaker with resilience4j's semantics and defaults.
//!
//! Follows resilience4j's `CircuitBreakerStateMachine` and `CircuitBreakerMetrics`
//! (resilience4j.readme.io, "CircuitBreaker"):
//!
//! - **CLOSED** permits every call and records each outcome in a sliding window, either the
//!   last `sliding_window_size` calls (`count_based`) or the calls of the last
//!   `sliding_window_size` seconds in 1 s buckets (`time_based`; a bucket holds one whole second
//!   of the caller's clock, so the window spans the current second and the `N − 1` before it).
//!   After each outcome, once the window holds at least `minimum_number_of_calls` (capped at the
//!   window size when count-based), the breaker opens if the failure rate **or** the slow-call
//!   rate, in percent, is at or above its threshold. A call is slow when it took strictly longer
//!   than `slow_call_duration_threshold`, whether it succeeded or failed.
//! - **OPEN** rejects calls until `wait_duration_in_open_state` has passed; the first call after
//!   that moves the breaker to HALF_OPEN and is permitted.
//! - **HALF_OPEN** permits `permitted_number_of_calls_in_half_open_state` trial calls and
//!   rejects the rest. Their outcomes fill a fresh count-based window of that size; once all
//!   are in, the breaker opens again if a threshold is reached, and closes otherwise.
//! - **DISABLED** permits everything and records nothing; **FORCED_OPEN** rejects everything.
//!   Only [`Breaker::transition_to`] enters or leaves them.
//!
//! Rejected calls are not recorded. Every transition starts from an empty window. Outcomes
//! that arrive while OPEN (calls permitted before it opened) change nothing, as in resilience4j
//! where they land in a window that is discarded at the next transition.
//!
//! Differences, all small: rates are computed in `f32` as resilience4j does, but time is the
//! node's monotonic clock in nanoseconds. resilience4j leaves OPEN when `now` is strictly after
//! the end of the wait on a millisecond clock; here a call at exactly the end of the wait is
//! after it (references.md C4: the call at 60.0 s is permitted), one clock tick earlier.
//! Not modelled: the automatic OPEN → HALF_OPEN timer, `maxWaitDurationInHalfOpenState`,
//! METRICS_ONLY, exception and result predicates (the caller decides what is a failure) and
//! releasing an unused permit.

use std::collections::VecDeque;
use std::fmt;

use serde::{Deserialize, Serialize};
use sim_core::{Duration, MonoTime};

use super::ConfigError;

/// The largest sliding window or half-open call allowance: a limit on everything.
pub const MAX_WINDOW: u32 = 100_000;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// What the sliding window counts over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlidingWindowType {
    /// The last `sliding_window_size` calls (the default).
    #[default]
    CountBased,
    /// The calls of the last `sliding_window_size` seconds, in 1 s buckets.
    TimeBased,
}

/// Configuration of a [`Breaker`]: resilience4j's keys in snake case, with its defaults.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Count-based or time-based window (default `count_based`).
    #[serde(default)]
    pub sliding_window_type: SlidingWindowType,
    /// Calls (count-based) or seconds (time-based) in the window (default 100).
    #[serde(default = "default_hundred")]
    pub sliding_window_size: u32,
    /// Outcomes the window must hold before rates are judged (default 100).
    #[serde(default = "default_hundred")]
    pub minimum_number_of_calls: u32,
    /// Opens at or above this failure percentage, in `(0, 100]` (default 50).
    #[serde(default = "default_failure_rate_threshold")]
    pub failure_rate_threshold: f64,
    /// Opens at or above this percentage of slow calls, in `(0, 100]` (default 100).
    #[serde(default = "default_slow_call_rate_threshold")]
    pub slow_call_rate_threshold: f64,
    /// A call taking longer than this is slow (default `60s`).
    #[serde(default = "default_sixty_seconds")]
    pub slow_call_duration_threshold: Duration,
    /// How long OPEN rejects calls before a trial (default `60s`, at least `1ms`).
    #[serde(default = "default_sixty_seconds")]
    pub wait_duration_in_open_state: Duration,
    /// Trial calls permitted in HALF_OPEN (default 10).
    #[serde(default = "default_permitted_in_half_open")]
    pub permitted_number_of_calls_in_half_open_state: u32,
}

fn default_hundred() -> u32 {
    100
}

fn default_failure_rate_threshold() -> f64 {
    50.0
}

fn default_slow_call_rate_threshold() -> f64 {
    100.0
}

fn default_sixty_seconds() -> Duration {
    Duration::from_secs(60)
}

fn default_permitted_in_half_open() -> u32 {
    10
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            sliding_window_type: SlidingWindowType::default(),
            sliding_window_size: default_hundred(),
            minimum_number_of_calls: default_hundred(),
            failure_rate_threshold: default_failure_rate_threshold(),
            slow_call_rate_threshold: default_slow_call_rate_threshold(),
            slow_call_duration_threshold: default_sixty_seconds(),
            wait_duration_in_open_state: default_sixty_seconds(),
            permitted_number_of_calls_in_half_open_state: default_permitted_in_half_open(),
        }
    }
}

impl BreakerConfig {
    /// Checks the ranges resilience4j's builder checks, plus [`MAX_WINDOW`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, pct) in [
            ("failure_rate_threshold", self.failure_rate_threshold),
            ("slow_call_rate_threshold", self.slow_call_rate_threshold),
        ] {
            if !(pct > 0.0 && pct <= 100.0) {
                return Err(ConfigError::new(
                    field,
                    format!("must be a percentage above 0 and at most 100, got {pct}"),
                ));
            }
        }
        for (field, n) in [
            ("sliding_window_size", self.sliding_window_size),
            (
                "permitted_number_of_calls_in_half_open_state",
                self.permitted_number_of_calls_in_half_open_state,
            ),
        ] {
            if !(1..=MAX_WINDOW).contains(&n) {
                return Err(ConfigError::new(
                    field,
                    format!("must be between 1 and {MAX_WINDOW}, got {n}"),
                ));
            }
        }
        if self.minimum_number_of_calls == 0 {
            return Err(ConfigError::new(
                "minimum_number_of_calls",
                "must be at least 1",
            ));
        }
        if self.wait_duration_in_open_state < Duration::from_millis(1) {
            return Err(ConfigError::new(
                "wait_duration_in_open_state",
                format!(
                    "must be at least 1ms, got {}",
                    self.wait_duration_in_open_state
                ),
            ));
        }
        if self.slow_call_duration_threshold == Duration::ZERO {
            return Err(ConfigError::new(
                "slow_call_duration_threshold",
                "must be longer than 0",
            ));
        }
        Ok(())
    }
}

/// A breaker's state, named as in resilience4j.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// Calls flow; outcomes are judged.
    Closed,
    /// Calls are rejected until the wait is over.
    Open,
    /// A limited number of trial calls decide between CLOSED and OPEN.
    HalfOpen,
    /// Calls flow; nothing is recorded. Entered only by hand.
    Disabled,
    /// Calls are rejected until left by hand.
    ForcedOpen,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Closed => "CLOSED",
            State::Open => "OPEN",
            State::HalfOpen => "HALF_OPEN",
            State::Disabled => "DISABLED",
            State::ForcedOpen => "FORCED_OPEN",
        })
    }
}

/// A change of state, returned by the call that caused it so a model can trace it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
}

/// Permission to make one call; report its outcome with [`Breaker::on_success`] or
/// [`Breaker::on_failure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Permit {
    /// The transition acquiring the permit caused (OPEN → HALF_OPEN), if any.
    pub transition: Option<Transition>,
}

/// A call the breaker did not permit (resilience4j's `CallNotPermittedException`); it must not
/// be made, and it is not recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The state that rejected it: OPEN, HALF_OPEN (no trial left) or FORCED_OPEN.
    pub state: State,
}

/// One recorded call.
#[derive(Clone, Copy, Debug)]
struct Outcome {
    failed: bool,
    slow: bool,
}

/// Counts over a set of outcomes.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    calls: u32,
    failures: u32,
    slow: u32,
}

impl Tally {
    fn add(&mut self, o: Outcome) {
        self.calls += 1;
        self.failures += u32::from(o.failed);
        self.slow += u32::from(o.slow);
    }

    fn remove(&mut self, o: Outcome) {
        self.calls -= 1;
        self.failures -= u32::from(o.failed);
        self.slow -= u32::from(o.slow);
    }

    fn merge(&mut self, other: &Tally) {
        self.calls += other.calls;
        self.failures += other.failures;
        self.slow += other.slow;
    }
}

/// One second of a time-based window.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// The whole second of the caller's clock this bucket counts (`i64::MIN`: never used).
    second: i64,
    tally: Tally,
}

/// The sliding window of the current state.
#[derive(Clone, Debug)]
enum Window {
    /// The last `size` outcomes and their running total.
    Count {
        outcomes: VecDeque<Outcome>,
        size: usize,
        total: Tally,
    },
    /// One bucket per second, indexed by the second modulo the window length.
    Time { buckets: Vec<Bucket> },
}

impl Window {
    fn count(size: u32) -> Self {
        Window::Count {
            outcomes: VecDeque::with_capacity(size as usize),
            size: size as usize,
            total: Tally::default(),
        }
    }

    fn time(seconds: u32) -> Self {
        let unused = Bucket {
            second: i64::MIN,
            tally: Tally::default(),
        };
        Window::Time {
            buckets: vec![unused; seconds as usize],
        }
    }

    /// Records `o` at `now` and returns the window's totals.
    fn record(&mut self, now: MonoTime, o: Outcome) -> Tally {
        match self {
            Window::Count {
                outcomes,
                size,
                total,
            } => {
                if outcomes.len() == *size
                    && let Some(oldest) = outcomes.pop_front()
                {
                    total.remove(oldest);
                }
                outcomes.push_back(o);
                total.add(o);
                *total
            }
            Window::Time { buckets } => {
                let second = now.0.div_euclid(NANOS_PER_SEC);
                let len = buckets.len() as i64;
                // `len` is at least 1 after validation, and the index is below it.
                let bucket = &mut buckets[second.rem_euclid(len) as usize];
                if bucket.second != second {
                    *bucket = Bucket {
                        second,
                        tally: Tally::default(),
                    };
                }
                bucket.tally.add(o);
                let oldest = second.saturating_sub(len - 1);
                let mut total = Tally::default();
                for b in buckets
                    .iter()
                    .filter(|b| (oldest..=second).contains(&b.second))
                {
                    total.merge(&b.tally);
                }
                total
            }
        }
    }
}

/// What the window's totals say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// Fewer calls than the minimum: no judgement yet.
    TooFewCalls,
    /// Both rates under their thresholds.
    Healthy,
    /// A rate at or above its threshold.
    Exceeded,
}

/// A circuit breaker (see the module doc). Create it with [`Breaker::new`].
#[derive(Clone, Debug)]
pub struct Breaker {
    config: BreakerConfig,
    state: State,
    /// The current state's window (unused while OPEN, DISABLED or FORCED_OPEN).
    window: Window,
    /// Outcomes the window must hold before it is judged.
    minimum_calls: u32,
    /// While OPEN: the first instant a call is permitted again.
    open_until: MonoTime,
    /// While HALF_OPEN: trial calls still permitted.
    trials_left: u32,
    /// Transitions so far.
    transitions: u64,
}

impl Breaker {
    /// A CLOSED breaker, or why `config` is unusable.
    pub fn new(config: &BreakerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut b = Breaker {
            config: *config,
            state: State::Closed,
            window: Window::count(1),
            minimum_calls: 1,
            open_until: MonoTime::default(),
            trials_left: 0,
            transitions: 0,
        };
        b.reset_closed_window();
        Ok(b)
    }

    /// The current state. OPEN stays OPEN after the wait until a call is attempted.
    pub fn state(&self) -> State {
        self.state
    }

    /// How many transitions have happened, for metrics.
    pub fn transitions(&self) -> u64 {
        self.transitions
    }

    /// Asks to make a call at `now`. In OPEN, the first call once the wait is over moves the
    /// breaker to HALF_OPEN and takes the first trial.
    pub fn try_acquire(&mut self, now: MonoTime) -> Result<Permit, Rejected> {
        let mut transition = None;
        if self.state == State::Open && now >= self.open_until {
            transition = Some(self.enter(State::HalfOpen, now));
        }
        match self.state {
            State::Closed | State::Disabled => Ok(Permit { transition }),
            State::HalfOpen if self.trials_left > 0 => {
                self.trials_left -= 1;
                Ok(Permit { transition })
            }
            state @ (State::HalfOpen | State::Open | State::ForcedOpen) => Err(Rejected { state }),
        }
    }

    /// Records a call that succeeded after `elapsed`; returns the transition it caused.
    pub fn on_success(&mut self, now: MonoTime, elapsed: Duration) -> Option<Transition> {
        self.record(now, false, elapsed)
    }

    /// Records a call that failed after `elapsed`; returns the transition it caused.
    pub fn on_failure(&mut self, now: MonoTime, elapsed: Duration) -> Option<Transition> {
        self.record(now, true, elapsed)
    }

    /// Moves to `state` by hand (resilience4j's `transitionTo…State`) with a fresh window, a
    /// fresh wait or fresh trials; `None` if the breaker is already there.
    pub fn transition_to(&mut self, state: State, now: MonoTime) -> Option<Transition> {
        (state != self.state).then(|| self.enter(state, now))
    }

    fn record(&mut self, now: MonoTime, failed: bool, elapsed: Duration) -> Option<Transition> {
        let outcome = Outcome {
            failed,
            slow: elapsed > self.config.slow_call_duration_threshold,
        };
        let judging_state = self.state;
        match judging_state {
            State::Closed | State::HalfOpen => {}
            State::Open | State::Disabled | State::ForcedOpen => return None,
        }
        let totals = self.window.record(now, outcome);
        let verdict = self.judge(totals);
        match (judging_state, verdict) {
            (State::Closed | State::HalfOpen, Verdict::Exceeded) => {
                Some(self.enter(State::Open, now))
            }
            (State::HalfOpen, Verdict::Healthy) => Some(self.enter(State::Closed, now)),
            _ => None,
        }
    }

    /// resilience4j's `checkIfThresholdsExceeded`, with its `f32` rates.
    fn judge(&self, t: Tally) -> Verdict {
        if t.calls == 0 || t.calls < self.minimum_calls {
            return Verdict::TooFewCalls;
        }
        let rate = |n: u32| n as f32 * 100.0 / t.calls as f32;
        let failure_threshold = self.config.failure_rate_threshold as f32;
        let slow_threshold = self.config.slow_call_rate_threshold as f32;
        if rate(t.failures) >= failure_threshold || rate(t.slow) >= slow_threshold {
            Verdict::Exceeded
        } else {
            Verdict::Healthy
        }
    }

    fn enter(&mut self, to: State, now: MonoTime) -> Transition {
        let from = self.state;
        self.state = to;
        self.transitions += 1;
        match to {
            State::Closed => self.reset_closed_window(),
            State::Open => self.open_until = now.after(self.config.wait_duration_in_open_state),
            State::HalfOpen => {
                let trials = self.config.permitted_number_of_calls_in_half_open_state;
                self.window = Window::count(trials);
                self.minimum_calls = trials;
                self.trials_left = trials;
            }
            State::Disabled | State::ForcedOpen => {}
        }
        Transition { from, to }
    }

    fn reset_closed_window(&mut self) {
        let size = self.config.sliding_window_size;
        (self.window, self.minimum_calls) = match self.config.sliding_window_type {
            SlidingWindowType::CountBased => (
                Window::count(size),
                self.config.minimum_number_of_calls.min(size),
            ),
            SlidingWindowType::TimeBased => {
                (Window::time(size), self.config.minimum_number_of_calls)
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FAST: Duration = Duration::from_millis(10);

    fn at_secs(s: f64) -> MonoTime {
        MonoTime((s * 1e9).round() as i64)
    }

    fn breaker(config: BreakerConfig) -> Breaker {
        Breaker::new(&config).expect("valid config")
    }

    /// Makes one permitted call at `now` that fails or not; panics if it is rejected.
    fn call(b: &mut Breaker, now: MonoTime, fail: bool) -> Option<Transition> {
        let permit = b.try_acquire(now).expect("call permitted");
        assert_eq!(permit.transition, None);
        if fail {
            b.on_failure(now, FAST)
        } else {
            b.on_success(now, FAST)
        }
    }

    /// A default breaker driven to OPEN at `now` by 100 failures.
    fn opened_at(now: MonoTime) -> Breaker {
        let mut b = breaker(BreakerConfig::default());
        for _ in 0..100 {
            let _ = call(&mut b, now, true);
        }
        assert_eq!(b.state(), State::Open);
        b
    }

    /// A default breaker in HALF_OPEN, entered at 60 s.
    fn half_open() -> (Breaker, MonoTime) {
        let mut b = opened_at(at_secs(0.0));
        let now = at_secs(60.0);
        assert_eq!(
            b.transition_to(State::HalfOpen, now),
            Some(Transition {
                from: State::Open,
                to: State::HalfOpen
            })
        );
        (b, now)
    }

    #[test]
    fn defaults_are_resilience4js() {
        let c = BreakerConfig::default();
        assert_eq!(c.sliding_window_type, SlidingWindowType::CountBased);
        assert_eq!(
            (c.sliding_window_size, c.minimum_number_of_calls),
            (100, 100)
        );
        assert_eq!(
            (c.failure_rate_threshold, c.slow_call_rate_threshold),
            (50.0, 100.0)
        );
        assert_eq!(c.slow_call_duration_threshold, Duration::from_secs(60));
        assert_eq!(c.wait_duration_in_open_state, Duration::from_secs(60));
        assert_eq!(c.permitted_number_of_calls_in_half_open_state, 10);
        let empty: BreakerConfig = toml::from_str("").expect("all keys optional");
        assert_eq!(empty, c);
        crate::kit::assert_toml_round_trip(&BreakerConfig {
            sliding_window_type: SlidingWindowType::TimeBased,
            slow_call_duration_threshold: Duration::from_millis(1500),
            ..c
        });
        assert!(toml::from_str::<BreakerConfig>("window_size = 10").is_err());
    }

    #[test]
    fn r4j_c1_ninety_nine_failures_stay_closed() {
        // references.md §10 C1: fewer calls than minimumNumberOfCalls are not judged.
        let mut b = breaker(BreakerConfig::default());
        for _ in 0..99 {
            assert_eq!(call(&mut b, at_secs(0.0), true), None);
        }
        println!(
            "validation: r4j C1 99 failures: reference CLOSED measured {}",
            b.state()
        );
        assert_eq!(b.state(), State::Closed);
    }

    /// 100 calls of which `failures` fail, spread over the window; the transitions seen.
    fn hundred_calls(failures: usize) -> (Breaker, Vec<(usize, Transition)>) {
        let mut b = breaker(BreakerConfig::default());
        let mut seen = Vec::new();
        for i in 0..100 {
            let fail = i % 2 == 1 && i / 2 < failures;
            if let Some(t) = call(&mut b, at_secs(i as f64), fail) {
                seen.push((i + 1, t));
            }
        }
        (b, seen)
    }

    #[test]
    fn r4j_c2_fifty_of_a_hundred_failing_opens_after_the_hundredth_call() {
        // references.md §10 C2: 50 % ≥ failureRateThreshold 50 → OPEN, judged at call 100.
        let (b, seen) = hundred_calls(50);
        println!(
            "validation: r4j C2 50/100 failing: reference OPEN after call 100 measured {} after call {:?}",
            b.state(),
            seen.iter().map(|(call, _)| call).collect::<Vec<_>>()
        );
        let opened = Transition {
            from: State::Closed,
            to: State::Open,
        };
        assert_eq!(seen, [(100, opened)]);
        assert_eq!(b.state(), State::Open);
        assert_eq!(b.transitions(), 1);
    }

    #[test]
    fn r4j_c3_forty_nine_of_a_hundred_failing_stays_closed() {
        // references.md §10 C3: 49 % < 50 %.
        let (b, seen) = hundred_calls(49);
        println!(
            "validation: r4j C3 49/100 failing: reference CLOSED measured {}",
            b.state()
        );
        assert_eq!(seen, []);
        assert_eq!(b.state(), State::Closed);
    }

    #[test]
    fn r4j_c4_open_rejects_until_the_wait_is_over_then_half_opens() {
        // references.md §10 C4: OPEN at 0; a call at 59.9 s is rejected, one at 60.0 s moves
        // the breaker to HALF_OPEN and is permitted.
        let mut b = opened_at(at_secs(0.0));
        let early = b.try_acquire(at_secs(59.9));
        assert_eq!(early, Err(Rejected { state: State::Open }));
        assert_eq!(b.state(), State::Open, "a rejected call changes nothing");
        let on_time = b.try_acquire(at_secs(60.0));
        println!(
            "validation: r4j C4: reference 59.9 s rejected, 60.0 s OPEN -> HALF_OPEN permitted; \
             measured {early:?}, {on_time:?}"
        );
        let permit = on_time.expect("permitted after the wait");
        assert_eq!(
            permit.transition,
            Some(Transition {
                from: State::Open,
                to: State::HalfOpen
            })
        );
        assert_eq!(b.state(), State::HalfOpen);
    }

    /// Runs the 10 default half-open trials, `failures` of them failing; returns the
    /// transition each outcome caused.
    fn trials(failures: usize) -> (Breaker, Vec<Option<Transition>>) {
        let (mut b, now) = half_open();
        for _ in 0..10 {
            let _ = b.try_acquire(now).expect("a trial call");
        }
        let outcomes = (0..10)
            .map(|i| {
                if i < failures {
                    b.on_failure(now, FAST)
                } else {
                    b.on_success(now, FAST)
                }
            })
            .collect();
        (b, outcomes)
    }

    #[test]
    fn r4j_c5_five_of_ten_trials_failing_reopens() {
        // references.md §10 C5: 5/10 = 50 % → OPEN, decided by the 10th outcome.
        let (b, outcomes) = trials(5);
        println!(
            "validation: r4j C5 5/10 trials failing: reference OPEN measured {}",
            b.state()
        );
        assert!(outcomes[..9].iter().all(Option::is_none));
        assert_eq!(
            outcomes[9],
            Some(Transition {
                from: State::HalfOpen,
                to: State::Open
            })
        );
        assert_eq!(b.state(), State::Open);
    }

    #[test]
    fn r4j_c5_four_of_ten_trials_failing_closes() {
        // references.md §10 C5: 4/10 = 40 % → CLOSED.
        let (b, outcomes) = trials(4);
        println!(
            "validation: r4j C5 4/10 trials failing: reference CLOSED measured {}",
            b.state()
        );
        assert!(outcomes[..9].iter().all(Option::is_none));
        assert_eq!(
            outcomes[9],
            Some(Transition {
                from: State::HalfOpen,
                to: State::Closed
            })
        );
        assert_eq!(b.state(), State::Closed);
    }

    #[test]
    fn r4j_c5_an_eleventh_concurrent_trial_is_rejected() {
        // references.md §10 C5: permittedNumberOfCallsInHalfOpenState = 10.
        let (mut b, now) = half_open();
        for _ in 0..10 {
            let _ = b.try_acquire(now).expect("a trial call");
        }
        let eleventh = b.try_acquire(now);
        println!(
            "validation: r4j C5 11th concurrent trial: reference rejected measured {eleventh:?}"
        );
        assert_eq!(
            eleventh,
            Err(Rejected {
                state: State::HalfOpen
            })
        );
    }

    #[test]
    fn a_closed_breaker_after_half_open_judges_a_fresh_window() {
        let (mut b, _) = trials(0);
        let now = at_secs(61.0);
        assert_eq!(b.state(), State::Closed);
        // 99 failures in the new window are still fewer than the minimum.
        for _ in 0..99 {
            assert_eq!(call(&mut b, now, true), None);
        }
        assert_eq!(
            call(&mut b, now, true).map(|t| t.to),
            Some(State::Open),
            "the 100th opens"
        );
    }

    #[test]
    fn slow_calls_open_the_breaker_at_the_slow_rate_threshold() {
        let config = BreakerConfig {
            sliding_window_size: 4,
            minimum_number_of_calls: 4,
            slow_call_rate_threshold: 50.0,
            slow_call_duration_threshold: Duration::from_secs(1),
            ..BreakerConfig::default()
        };
        let now = at_secs(0.0);
        let mut b = breaker(config);
        // Taking exactly the threshold is not slow (resilience4j compares with >).
        for elapsed in [Duration::from_secs(1), FAST, FAST, Duration::from_secs(1)] {
            let _ = b.try_acquire(now).expect("closed");
            assert_eq!(b.on_success(now, elapsed), None);
        }
        let _ = b.try_acquire(now).expect("closed");
        assert_eq!(b.on_success(now, Duration::from_nanos(1_000_000_001)), None);
        assert_eq!(b.state(), State::Closed, "1 slow of the last 4");
        let _ = b.try_acquire(now).expect("closed");
        let t = b.on_success(now, Duration::from_secs(2));
        assert_eq!(t.map(|t| t.to), Some(State::Open), "2 slow of 4 = 50 %");
    }

    fn time_based(seconds: u32, minimum: u32) -> Breaker {
        breaker(BreakerConfig {
            sliding_window_type: SlidingWindowType::TimeBased,
            sliding_window_size: seconds,
            minimum_number_of_calls: minimum,
            ..BreakerConfig::default()
        })
    }

    #[test]
    fn a_time_based_window_forgets_whole_seconds_that_slid_out() {
        // Window 10 s: at 10.5 s it holds seconds 1..=10, so failures at 0.9 s have expired.
        let mut b = time_based(10, 5);
        for _ in 0..4 {
            let _ = call(&mut b, at_secs(0.9), true);
        }
        assert_eq!(call(&mut b, at_secs(10.5), true), None);
        assert_eq!(b.state(), State::Closed, "1 call in the window");

        // Failures at 1.0 s are still in it at 10.5 s.
        let mut b = time_based(10, 5);
        for _ in 0..4 {
            let _ = call(&mut b, at_secs(1.0), true);
        }
        let t = call(&mut b, at_secs(10.5), true);
        assert_eq!(
            t.map(|t| t.to),
            Some(State::Open),
            "5 failures in the window"
        );
    }

    #[test]
    fn a_time_based_window_does_not_cap_the_minimum_at_its_size() {
        // resilience4j caps minimumNumberOfCalls at the window size only when count-based.
        let mut b = time_based(2, 5);
        for _ in 0..4 {
            let _ = call(&mut b, at_secs(0.0), true);
        }
        assert_eq!(b.state(), State::Closed);
        let mut c = breaker(BreakerConfig {
            sliding_window_size: 2,
            minimum_number_of_calls: 5,
            ..BreakerConfig::default()
        });
        let _ = call(&mut c, at_secs(0.0), true);
        let t = call(&mut c, at_secs(0.0), true);
        assert_eq!(t.map(|t| t.to), Some(State::Open));
    }

    #[test]
    fn disabled_and_forced_open_are_left_only_by_hand() {
        let now = at_secs(0.0);
        let mut b = breaker(BreakerConfig {
            minimum_number_of_calls: 1,
            ..BreakerConfig::default()
        });
        let _ = b.transition_to(State::Disabled, now);
        for _ in 0..200 {
            assert_eq!(call(&mut b, now, true), None);
        }
        assert_eq!(b.state(), State::Disabled);
        assert_eq!(b.transition_to(State::Disabled, now), None);
        let _ = b.transition_to(State::ForcedOpen, now);
        assert_eq!(
            b.try_acquire(at_secs(1e6)),
            Err(Rejected {
                state: State::ForcedOpen
            })
        );
        let _ = b.transition_to(State::Closed, now);
        assert_eq!(call(&mut b, now, false), None);
        assert_eq!(b.transitions(), 3);
    }

    #[test]
    fn validation_names_the_bad_field() {
        let field = |c: BreakerConfig| Breaker::new(&c).map(|_| ()).map_err(|e| e.field);
        let d = BreakerConfig::default();
        assert_eq!(field(d), Ok(()));
        for (bad, name) in [
            (
                BreakerConfig {
                    failure_rate_threshold: 0.0,
                    ..d
                },
                "failure_rate_threshold",
            ),
            (
                BreakerConfig {
                    slow_call_rate_threshold: f64::NAN,
                    ..d
                },
                "slow_call_rate_threshold",
            ),
            (
                BreakerConfig {
                    sliding_window_size: 0,
                    ..d
                },
                "sliding_window_size",
            ),
            (
                BreakerConfig {
                    permitted_number_of_calls_in_half_open_state: MAX_WINDOW + 1,
                    ..d
                },
                "permitted_number_of_calls_in_half_open_state",
            ),
            (
                BreakerConfig {
                    minimum_number_of_calls: 0,
                    ..d
                },
                "minimum_number_of_calls",
            ),
            (
                BreakerConfig {
                    wait_duration_in_open_state: Duration::from_micros(999),
                    ..d
                },
                "wait_duration_in_open_state",
            ),
            (
                BreakerConfig {
                    slow_call_duration_threshold: Duration::ZERO,
                    ..d
                },
                "slow_call_duration_threshold",
            ),
        ] {
            assert_eq!(field(bad), Err(name));
        }
    }

    /// One thing a model may do to a breaker.
    #[derive(Clone, Debug)]
    enum Op {
        Wait(u64),
        Acquire,
        Success(u64),
        Failure(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u64..3_000_000_000).prop_map(Op::Wait),
            Just(Op::Acquire),
            (0u64..2_000_000_000).prop_map(Op::Success),
            (0u64..2_000_000_000).prop_map(Op::Failure),
        ]
    }

    /// The edges a breaker may take by itself.
    fn is_automatic_edge(t: Transition) -> bool {
        matches!(
            (t.from, t.to),
            (State::Closed, State::Open)
                | (State::Open, State::HalfOpen)
                | (State::HalfOpen, State::Open)
                | (State::HalfOpen, State::Closed)
        )
    }

    proptest! {
        #[test]
        fn transitions_follow_the_state_machine(
            window in 1u32..8,
            minimum in 1u32..8,
            time_based in any::<bool>(),
            trials in 1u32..4,
            ops in prop::collection::vec(op(), 1..300),
        ) {
            let config = BreakerConfig {
                sliding_window_type: if time_based { SlidingWindowType::TimeBased } else { SlidingWindowType::CountBased },
                sliding_window_size: window,
                minimum_number_of_calls: minimum,
                slow_call_rate_threshold: 60.0,
                slow_call_duration_threshold: Duration::from_secs(1),
                wait_duration_in_open_state: Duration::from_secs(2),
                permitted_number_of_calls_in_half_open_state: trials,
                ..BreakerConfig::default()
            };
            let mut b = breaker(config);
            let mut now = MonoTime(0);
            let mut opened_at = None;
            let mut trials_granted = 0;
            for op in ops {
                let before = b.state();
                let transition = match op {
                    Op::Wait(ns) => {
                        now = now.after(Duration::from_nanos(ns));
                        None
                    }
                    Op::Acquire => match b.try_acquire(now) {
                        Ok(p) => {
                            if p.transition.is_some() {
                                trials_granted = 0;
                            }
                            if b.state() == State::HalfOpen {
                                trials_granted += 1;
                                prop_assert!(trials_granted <= trials);
                            }
                            p.transition
                        }
                        Err(r) => {
                            prop_assert_eq!(r.state, before);
                            prop_assert_ne!(before, State::Closed);
                            if before == State::Open {
                                let since = opened_at.map(|t: MonoTime| now.nanos_since(t));
                                prop_assert!(since < Some(2_000_000_000));
                            }
                            None
                        }
                    },
                    Op::Success(ns) => b.on_success(now, Duration::from_nanos(ns)),
                    Op::Failure(ns) => b.on_failure(now, Duration::from_nanos(ns)),
                };
                match transition {
                    Some(t) => {
                        prop_assert!(is_automatic_edge(t), "{:?}", t);
                        prop_assert_eq!((t.from, t.to), (before, b.state()));
                        if t.to == State::Open {
                            opened_at = Some(now);
                        }
                    }
                    None => prop_assert_eq!(before, b.state()),
                }
            }
        }
    }
}
