//! Metric windows: operation metrics restricted to a stretch of the run.
//!
//! A whole-run figure hides what a fault did: a client cut off for 20 s of a 60 s run still
//! shows two thirds availability. An `[expect]` key may therefore end in `@FROM..TO` (true
//! simulated time, durations in the scenario grammar), e.g. `availability.c1@10s..30s`: the
//! operation metrics (`ops.*`, `availability`) of the operations *invoked* in `[FROM, TO)`, each
//! counted with the outcome it finally had.

use std::ops::Range;

use sim_core::SimTime;
use sim_core::units::parse_duration;

/// The metrics a window may be applied to (by prefix).
const WINDOWED: [&str; 2] = ["ops.", "availability"];

/// A window of true simulated time, with the text it was written as (which names the
/// windowed metrics: `availability.c1@10s..30s`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricWindow {
    /// The text after `@`, as written.
    pub text: String,
    /// Operations invoked from here…
    pub from: SimTime,
    /// …up to (not including) here.
    pub to: SimTime,
}

impl MetricWindow {
    /// The window as a range of true time.
    pub fn range(&self) -> Range<SimTime> {
        self.from..self.to
    }
}

/// Splits a metric name into its base and window. `Ok(None)` when it has no `@`; an error
/// (in words, for the scenario's located diagnostic) when the window is malformed or the
/// metric cannot be windowed.
pub fn split(name: &str) -> Result<Option<(&str, MetricWindow)>, String> {
    let Some((base, text)) = name.split_once('@') else {
        return Ok(None);
    };
    if !WINDOWED.iter().any(|p| base.starts_with(p)) {
        return Err(format!(
            "only operation metrics (ops.…, availability…) can have a window; `{base}` cannot"
        ));
    }
    let Some((from, to)) = text.split_once("..") else {
        return Err(format!(
            "a window is written `@FROM..TO`, e.g. `{base}@10s..30s`; got `@{text}`"
        ));
    };
    let from = parse_duration(from).map_err(|e| format!("window start: {e}"))?;
    let to = parse_duration(to).map_err(|e| format!("window end: {e}"))?;
    if from >= to {
        return Err(format!(
            "the window `{text}` is empty: its start must come before its end"
        ));
    }
    Ok(Some((
        base,
        MetricWindow {
            text: text.to_owned(),
            from: SimTime::ZERO + from,
            to: SimTime::ZERO + to,
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_base_and_window() {
        let (base, w) = split("availability.c1@10s..30s")
            .expect("valid")
            .expect("has a window");
        assert_eq!(base, "availability.c1");
        assert_eq!(w.text, "10s..30s");
        assert_eq!(w.range(), SimTime(10_000_000_000)..SimTime(30_000_000_000));
        assert_eq!(split("availability.c1").expect("valid"), None);
    }

    #[test]
    fn rejects_bad_windows_in_words() {
        let err = |s: &str| split(s).expect_err("invalid");
        assert!(err("elections.kv1@0s..1s").contains("only operation metrics"));
        assert!(err("ops.ok@10s").contains("`@FROM..TO`"));
        assert!(err("ops.ok@10x..20s").contains("window start"));
        assert!(err("ops.ok@30s..10s").contains("is empty"));
    }
}
