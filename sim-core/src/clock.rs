//! Per-node clocks: an offset and a drift over true time, changed by faults.
//!
//! A node reads `local = true × (1 + drift) + offset` (integer arithmetic, parts per billion),
//! so two machines compute the same reading. Timers run on the node's oscillator: drift
//! stretches or shrinks them, but a step of the wall clock (an NTP jump) does not move them,
//! as with `CLOCK_MONOTONIC`. Models never see true time; checkers do.

use crate::time::{Duration, SimTime};

const PPB: i128 = 1_000_000_000;

/// A reading of a node's local wall clock, in nanoseconds. Can be negative when a clock starts
/// behind true time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime(pub i64);

impl LocalTime {
    /// Nanoseconds from `earlier` to `self` (negative if the clock went backwards).
    pub fn nanos_since(self, earlier: LocalTime) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The reading `d` after this one (saturating), e.g. a deadline on the local clock.
    pub fn after(self, d: Duration) -> LocalTime {
        LocalTime(
            self.0
                .saturating_add(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        )
    }
}

/// A reading of a node's monotonic clock (`CLOCK_MONOTONIC`), in nanoseconds: its oscillator
/// count, which drifts with the wall clock but never jumps. Readings mean something only
/// relative to each other on the same node; use it for timeouts and latencies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonoTime(pub i64);

impl MonoTime {
    /// Nanoseconds from `earlier` to `self`.
    pub fn nanos_since(self, earlier: MonoTime) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// The reading `d` after this one (saturating), e.g. a timeout's deadline.
    pub fn after(self, d: Duration) -> MonoTime {
        MonoTime(
            self.0
                .saturating_add(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        )
    }

    /// The local duration from `self` until `deadline`, zero if it has passed: what to set a
    /// timer to.
    pub fn until(self, deadline: MonoTime) -> Duration {
        Duration(u64::try_from(deadline.0.saturating_sub(self.0)).unwrap_or(0))
    }
}

/// The largest drift a clock may have, in parts per million (50% fast or slow).
pub const MAX_DRIFT_PPM: f64 = 500_000.0;

/// A piecewise-linear clock: since `anchor_true` it reads `anchor_local` plus the elapsed true
/// time scaled by `1 + drift`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    anchor_true: u64,
    anchor_local: i64,
    drift_ppb: i64,
    /// The drift the clock was built with: its oscillator's own rate, which
    /// [`Clock::end_drift`] returns to after a drift fault.
    nominal_ppb: i64,
    /// Sum of all jumps: the wall clock minus this is the monotonic clock.
    jumped: i64,
}

impl Clock {
    /// A clock that starts `offset_ns` away from true time and runs `drift_ppm` fast (negative:
    /// slow). The drift is clamped to ±[`MAX_DRIFT_PPM`].
    pub fn new(offset_ns: i64, drift_ppm: f64) -> Self {
        let drift_ppb = ppm_to_ppb(drift_ppm);
        Clock {
            anchor_true: 0,
            anchor_local: offset_ns,
            drift_ppb,
            nominal_ppb: drift_ppb,
            jumped: 0,
        }
    }

    /// The local reading at true time `now`.
    pub fn local(&self, now: SimTime) -> LocalTime {
        let elapsed = i128::from(now.0.saturating_sub(self.anchor_true));
        // Without drift the scaling is the identity (and a 128-bit division is slow).
        let scaled = if self.drift_ppb == 0 {
            elapsed
        } else {
            elapsed * (PPB + i128::from(self.drift_ppb)) / PPB
        };
        let reading = i128::from(self.anchor_local) + scaled;
        LocalTime(reading.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }

    /// The monotonic reading at true time `now`: the local reading without the jumps.
    pub fn monotonic(&self, now: SimTime) -> MonoTime {
        MonoTime(self.local(now).0.saturating_sub(self.jumped))
    }

    /// The true time that passes while this clock's oscillator counts `local` nanoseconds
    /// (rounded up, so a timer never fires before its local deadline).
    pub fn true_duration(&self, local: Duration) -> Duration {
        if self.drift_ppb == 0 {
            return local;
        }
        let rate = PPB + i128::from(self.drift_ppb);
        let d = (i128::from(local.0) * PPB + rate - 1) / rate;
        Duration(d.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// Steps the wall clock by `delta_ns` at true time `now` (an NTP jump). Timers are unaffected.
    pub fn jump(&mut self, now: SimTime, delta_ns: i64) {
        self.reanchor(now);
        self.anchor_local = self.anchor_local.saturating_add(delta_ns);
        self.jumped = self.jumped.saturating_add(delta_ns);
    }

    /// Changes the drift from true time `now` on.
    pub fn set_drift(&mut self, now: SimTime, drift_ppm: f64) {
        self.reanchor(now);
        self.drift_ppb = ppm_to_ppb(drift_ppm);
    }

    /// Returns to the drift the clock was built with, from true time `now` on (the end of a
    /// drift fault). The reading stays continuous: what the clock gained or lost while it ran
    /// at another rate is kept, as undoing it would be a step.
    pub fn end_drift(&mut self, now: SimTime) {
        self.reanchor(now);
        self.drift_ppb = self.nominal_ppb;
    }

    /// Current offset from true time at `now`, in nanoseconds (local − true).
    pub fn offset_at(&self, now: SimTime) -> i64 {
        self.local(now)
            .0
            .saturating_sub(now.0.min(i64::MAX as u64) as i64)
    }

    /// Current drift in parts per million.
    pub fn drift_ppm(&self) -> f64 {
        self.drift_ppb as f64 / 1000.0
    }

    fn reanchor(&mut self, now: SimTime) {
        self.anchor_local = self.local(now).0;
        self.anchor_true = now.0;
    }
}

fn ppm_to_ppb(ppm: f64) -> i64 {
    let ppm = if ppm.is_finite() { ppm } else { 0.0 };
    (ppm.clamp(-MAX_DRIFT_PPM, MAX_DRIFT_PPM) * 1000.0).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_and_drift_shape_the_reading() {
        let c = Clock::new(5_000_000, 100.0);
        assert_eq!(c.local(SimTime(0)), LocalTime(5_000_000));
        // 100 ppm over 10 s is 1 ms fast.
        assert_eq!(c.local(SimTime(10_000_000_000)), LocalTime(10_006_000_000));
    }

    #[test]
    fn jumps_move_readings_but_keep_drift() {
        let mut c = Clock::new(0, 1_000.0);
        c.jump(SimTime(1_000_000_000), -2_000_000_000);
        assert_eq!(
            c.local(SimTime(1_000_000_000)),
            LocalTime(1_001_000_000 - 2_000_000_000)
        );
        assert_eq!(
            c.local(SimTime(2_000_000_000))
                .nanos_since(c.local(SimTime(1_000_000_000))),
            1_001_000_000
        );
    }

    #[test]
    fn the_monotonic_clock_drifts_but_ignores_jumps() {
        let mut c = Clock::new(5_000, 100_000.0); // 10% fast
        let before = c.monotonic(SimTime(1_000_000));
        c.jump(SimTime(1_000_000), -3_000_000);
        let after = c.monotonic(SimTime(2_000_000));
        assert_eq!(after.nanos_since(before), 1_100_000);
        assert_eq!(c.local(SimTime(2_000_000)).0 - after.0, -3_000_000);
        assert_eq!(after.until(after.after(Duration(7))), Duration(7));
        assert_eq!(after.until(before), Duration(0));
    }

    #[test]
    fn timers_follow_the_oscillator() {
        let fast = Clock::new(0, 500_000.0);
        assert_eq!(fast.true_duration(Duration(1_500)), Duration(1_000));
        let exact = Clock::new(123, 0.0);
        assert_eq!(exact.true_duration(Duration(7)), Duration(7));
    }

    #[test]
    fn drift_change_is_continuous() {
        let mut c = Clock::new(0, 0.0);
        let before = c.local(SimTime(5));
        c.set_drift(SimTime(5), 200.0);
        assert_eq!(c.local(SimTime(5)), before);
        assert_eq!(c.drift_ppm(), 200.0);
    }

    #[test]
    fn ending_a_drift_fault_restores_the_built_rate_and_keeps_the_gain() {
        let mut c = Clock::new(0, 1_000.0); // 1 ms per second fast
        c.set_drift(SimTime(1_000_000_000), 500_000.0); // 50% fast for one second
        c.end_drift(SimTime(2_000_000_000));
        // 1.001 s, then 1.5 s: the 0.501 s gained stays.
        assert_eq!(c.local(SimTime(2_000_000_000)), LocalTime(2_501_000_000));
        assert_eq!(c.drift_ppm(), 1_000.0);
        let second = c
            .local(SimTime(3_000_000_000))
            .nanos_since(c.local(SimTime(2_000_000_000)));
        assert_eq!(second, 1_001_000_000);
    }
}
