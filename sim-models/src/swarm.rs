//! Swarm testing (`dsim sweep --swarm`): each seed draws its own fault mix and network within
//! the bounds of the scenario's `[swarm]` table, from the seed's `Setup` stream, and runs the
//! scenario with those written in: a `[nemesis]` of the drawn kinds, interval and fault
//! length, and the drawn loss, duplication and latency on the default link. The drawn
//! scenario is an ordinary one (no `[swarm]` left), so it can be printed, shrunk and run.

use std::fmt;

use serde::{Deserialize, Serialize};
use sim_core::{Duration, SimRng, Stream};

use crate::scenario::spec::SwarmSpec;

/// What one seed drew.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwarmDraw {
    /// The nemesis's fault kinds.
    pub kinds: Vec<String>,
    /// Its interval distribution.
    pub interval: String,
    /// Its fault-length distribution.
    pub duration: String,
    /// The default link's loss.
    pub loss: Option<f64>,
    /// The default link's duplication.
    pub duplicate: Option<f64>,
    /// The default link's latency distribution.
    pub latency: Option<String>,
}

impl fmt::Display for SwarmDraw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} every {} lasting {}",
            self.kinds.join("+"),
            self.interval,
            self.duration
        )?;
        if let Some(l) = self.loss {
            write!(f, ", loss {l}")?;
        }
        if let Some(d) = self.duplicate {
            write!(f, ", duplicate {d}")?;
        }
        if let Some(l) = &self.latency {
            write!(f, ", latency {l}")?;
        }
        Ok(())
    }
}

/// Rounds a probability to four decimals, so the drawn scenario prints readably and parses
/// back to the same value.
fn round4(p: f64) -> f64 {
    (p * 10_000.0).round() / 10_000.0
}

/// A duration uniformly in `[lo, hi]`, rounded to the microsecond.
fn between(rng: &mut SimRng, lo: Duration, hi: Duration) -> Duration {
    let (lo_us, hi_us) = (lo.as_nanos() / 1_000, hi.as_nanos() / 1_000);
    Duration::from_nanos(rng.range_inclusive(lo_us, hi_us.max(lo_us)) * 1_000)
}

impl SwarmSpec {
    /// What `seed` draws within these bounds.
    pub fn draw(&self, seed: u64) -> SwarmDraw {
        let mut rng = SimRng::new(seed, Stream::Setup);
        let mut kinds: Vec<String> = Vec::new();
        for k in &self.kinds {
            if rng.chance(0.5) {
                kinds.push(kind_name(*k));
            }
        }
        if kinds.is_empty() && !self.kinds.is_empty() {
            let k = self.kinds[rng.below(self.kinds.len() as u64) as usize];
            kinds.push(kind_name(k));
        }
        let interval = between(&mut rng, self.interval.lo, self.interval.hi);
        let longest = between(&mut rng, self.fault_duration.lo, self.fault_duration.hi);
        let loss = self
            .loss
            .map(|r| round4(r.lo + (r.hi - r.lo) * rng.unit_f64()));
        let duplicate = self
            .duplicate
            .map(|r| round4(r.lo + (r.hi - r.lo) * rng.unit_f64()));
        let latency = self.latency.map(|r| {
            let mean = between(&mut rng, r.lo, r.hi);
            let half = Duration::from_nanos(mean.as_nanos() / 2);
            format!("uniform({half}, {})", mean + half)
        });
        SwarmDraw {
            kinds,
            interval: format!("exponential({interval})"),
            duration: format!("uniform({}, {longest})", self.fault_duration.lo),
            loss,
            duplicate,
            latency,
        }
    }
}

/// A nemesis kind as scenarios write it (`clock-jump`).
pub fn kind_name(k: sim_core::NemesisKind) -> String {
    toml::Value::try_from(k)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{k:?}").to_lowercase())
}

/// Writes `draw` into `root`, the effective scenario as a TOML table: a `[nemesis]` replacing
/// any the file had, the network's default link, and no `[swarm]`.
pub fn apply(root: &mut toml::Table, spec: &SwarmSpec, draw: &SwarmDraw) {
    root.remove("swarm");
    let mut nemesis = toml::Table::new();
    nemesis.insert(
        "kinds".into(),
        toml::Value::Array(draw.kinds.iter().cloned().map(toml::Value::from).collect()),
    );
    nemesis.insert("interval".into(), draw.interval.clone().into());
    nemesis.insert("duration".into(), draw.duration.clone().into());
    if !spec.targets.is_empty() {
        nemesis.insert(
            "targets".into(),
            toml::Value::Array(
                spec.targets
                    .iter()
                    .map(|t| toml::Value::from(t.get_ref().clone()))
                    .collect(),
            ),
        );
    }
    if let Some(l) = root.get("liveness").and_then(|l| l.get("after")).cloned() {
        nemesis.insert("stop".into(), l);
    }
    root.insert("nemesis".into(), toml::Value::Table(nemesis));
    let network = root
        .entry("network")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(n) = network {
        if let Some(l) = draw.loss {
            n.insert("loss".into(), l.into());
        }
        if let Some(d) = draw.duplicate {
            n.insert("duplicate".into(), d.into());
        }
        if let Some(l) = &draw.latency {
            n.insert("latency".into(), l.clone().into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::spec::{DurationRange, ProbabilityRange};
    use sim_core::NemesisKind;

    fn spec() -> SwarmSpec {
        SwarmSpec {
            kinds: vec![
                NemesisKind::Crash,
                NemesisKind::Partition,
                NemesisKind::Pause,
            ],
            interval: DurationRange {
                lo: Duration::from_millis(200),
                hi: Duration::from_secs(2),
            },
            fault_duration: DurationRange {
                lo: Duration::from_millis(50),
                hi: Duration::from_secs(1),
            },
            loss: Some(ProbabilityRange { lo: 0.0, hi: 0.1 }),
            duplicate: None,
            latency: Some(DurationRange {
                lo: Duration::from_millis(1),
                hi: Duration::from_millis(10),
            }),
            targets: Vec::new(),
        }
    }

    #[test]
    fn draws_stay_within_bounds_and_depend_only_on_the_seed() {
        let s = spec();
        let mut mixes = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let d = s.draw(seed);
            assert_eq!(d, s.draw(seed));
            assert!(!d.kinds.is_empty());
            assert!(d.loss.is_some_and(|l| (0.0..=0.1).contains(&l)), "{d:?}");
            assert!(d.duplicate.is_none());
            mixes.insert(d.kinds.join("+"));
        }
        // Every non-empty subset of three kinds shows up in 200 seeds.
        assert_eq!(mixes.len(), 7, "{mixes:?}");
    }
}
