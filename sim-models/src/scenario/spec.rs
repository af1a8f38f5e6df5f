//! The scenario file's schema: typed, validated where a value can be judged alone (so the
//! error points at the value), with every default spelled out for `--print-config`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use sim_core::dist::NumberDist;
use sim_core::{Duration, DurationDist, NemesisKind, TraceLevel, units};
use toml::Spanned;

/// The top-level keys of a scenario file (clusters are parsed separately, by their model).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// The scenario's name, conventionally its path under `scenarios/` without `.toml`.
    pub name: String,
    /// What the scenario demonstrates and what to look for (required: scenarios teach).
    pub description: String,
    /// The default seed (`--seed` overrides it).
    #[serde(default)]
    pub seed: u64,
    /// Simulated time the run lasts.
    pub duration: Spanned<Duration>,
    /// How much trace to keep (`off`, `summary`, `full`; default `summary`).
    #[serde(default)]
    pub trace: TraceLevel,
    /// Catalog bugs to switch on, by name (`dsim bugs` lists them; default none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bugs: Vec<Spanned<String>>,
    /// Bounds on the run.
    #[serde(default)]
    pub limits: LimitsSpec,
    /// The network.
    #[serde(default)]
    pub network: NetworkSpec,
    /// Per-node clocks.
    #[serde(default)]
    pub clocks: ClocksSpec,
    /// Faults at fixed times.
    #[serde(default)]
    pub faults: Vec<Spanned<FaultSpec>>,
    /// The random nemesis.
    #[serde(default)]
    pub nemesis: Option<Spanned<NemesisSpec>>,
    /// What must hold at the end: metric name → expectation.
    #[serde(default)]
    pub expect: BTreeMap<Spanned<String>, Spanned<Expectation>>,
    /// A quiet phase at the end in which the system must make progress again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<Spanned<LivenessSpec>>,
    /// Bounds within which `dsim sweep --swarm` draws each seed's faults and network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<Spanned<SwarmSpec>>,
}

/// `[liveness]`: from `after` on, faults stop and are undone (network healed, bursts and
/// spikes ended, paused nodes resumed, crashed ones restarted), and by `after + within`
/// every model with a progress check must show progress (a leader, converged replicas, a
/// drained backlog).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LivenessSpec {
    /// When the quiet phase starts.
    pub after: Spanned<Duration>,
    /// How long the system has to make progress.
    pub within: Spanned<Duration>,
}

/// A range `[low, high]` of durations, checked where it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationRange {
    /// The low end.
    pub lo: Duration,
    /// The high end (at least `lo`).
    pub hi: Duration,
}

impl Serialize for DurationRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [self.lo, self.hi].serialize(s)
    }
}

impl<'de> Deserialize<'de> for DurationRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: Vec<Duration> = Vec::deserialize(d)?;
        match v.as_slice() {
            [lo, hi] if lo <= hi => Ok(DurationRange { lo: *lo, hi: *hi }),
            [lo, hi] => Err(de::Error::custom(format!(
                "the range [{lo}, {hi}] goes backwards: write the low end first"
            ))),
            _ => Err(de::Error::custom(
                "expected a range of two durations, [low, high], e.g. [\"100ms\", \"2s\"]",
            )),
        }
    }
}

/// A range `[low, high]` of probabilities, checked where it is written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbabilityRange {
    /// The low end.
    pub lo: f64,
    /// The high end (at least `lo`).
    pub hi: f64,
}

impl Serialize for ProbabilityRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [self.lo, self.hi].serialize(s)
    }
}

impl<'de> Deserialize<'de> for ProbabilityRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: Vec<Probability> = Vec::deserialize(d)?;
        match v.as_slice() {
            [lo, hi] if lo.0 <= hi.0 => Ok(ProbabilityRange { lo: lo.0, hi: hi.0 }),
            [lo, hi] => Err(de::Error::custom(format!(
                "the range [{}, {}] goes backwards: write the low end first",
                lo.0, hi.0
            ))),
            _ => Err(de::Error::custom(
                "expected a range of two probabilities, [low, high], e.g. [0, 0.05]",
            )),
        }
    }
}

fn default_swarm_interval() -> DurationRange {
    DurationRange {
        lo: Duration::from_millis(500),
        hi: Duration::from_secs(10),
    }
}

fn default_swarm_fault_duration() -> DurationRange {
    DurationRange {
        lo: Duration::from_millis(100),
        hi: Duration::from_secs(5),
    }
}

/// `[swarm]`: what each seed of a `--swarm` sweep may draw (TigerBeetle's swarm testing: a
/// different fault mix per seed finds bugs one fixed mix hides). Each seed picks a non-empty
/// subset of `kinds` for a nemesis, its mean interval and longest fault within the ranges,
/// and, for the default link, a loss, a duplication rate and a mean latency within theirs.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SwarmSpec {
    /// Fault kinds a seed may draw (each with probability one half, at least one).
    pub kinds: Vec<NemesisKind>,
    /// Range of the mean wait between faults (default `["500ms", "10s"]`).
    #[serde(default = "default_swarm_interval")]
    pub interval: DurationRange,
    /// Range of the longest fault: each lasts uniform(low, drawn) (default `["100ms", "5s"]`).
    #[serde(default = "default_swarm_fault_duration")]
    pub fault_duration: DurationRange,
    /// Range of the default link's loss (default: the `[network]` loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<ProbabilityRange>,
    /// Range of the default link's duplication (default: the `[network]` one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<ProbabilityRange>,
    /// Range of the default link's mean latency; the drawn link is uniform(mean/2, 3·mean/2)
    /// (default: the `[network]` latency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<DurationRange>,
    /// Nodes or clusters the nemesis may touch (default: every node of every non-client
    /// cluster).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Spanned<String>>,
}

/// `[limits]`: bounds that turn a runaway run into a reported outcome.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSpec {
    /// Most events handled (default 100,000,000).
    pub max_events: u64,
    /// Most messages in flight (default 1,000,000); more are dropped as `overflow`.
    pub max_in_flight: u64,
    /// Most pending timers (default 1,000,000); reaching it stops the run.
    pub max_timers: u64,
    /// Most arrivals queued at a paused node (default 100,000); more are dropped.
    pub max_held: u64,
}

impl Default for LimitsSpec {
    fn default() -> Self {
        let d = sim_core::Limits::default();
        LimitsSpec {
            max_events: d.max_events,
            max_in_flight: d.max_in_flight as u64,
            max_timers: d.max_timers as u64,
            max_held: d.max_held as u64,
        }
    }
}

/// A probability in [0, 1]; anything else is rejected where it is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Probability(pub f64);

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Probability;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a probability between 0 and 1")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Probability, E> {
                if (0.0..=1.0).contains(&v) {
                    Ok(Probability(v))
                } else {
                    Err(E::custom(format!("probability {v} is outside [0, 1]")))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Probability, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_any(V)
    }
}

/// `[network]`: the default link and per-zone overrides.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSpec {
    /// One-way latency (default `1ms`).
    pub latency: DurationDist,
    /// Loss probability per message (default 0).
    pub loss: Probability,
    /// Duplication probability per message (default 0).
    pub duplicate: Probability,
    /// Keep per-link send order (default false).
    pub fifo: bool,
    /// Overrides for the links between (or inside) zones.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<ZoneSpec>,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            latency: DurationDist::constant(Duration::from_millis(1)),
            loss: Probability(0.0),
            duplicate: Probability(0.0),
            fifo: false,
            zones: Vec::new(),
        }
    }
}

/// `[[network.zones]]`: links between two zones (or inside one); unset keys inherit.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    /// One zone (links inside it) or two (links between them).
    pub between: Vec<Spanned<String>>,
    /// One-way latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<DurationDist>,
    /// Loss probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<Probability>,
    /// Duplication probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<Probability>,
    /// Keep send order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fifo: Option<bool>,
}

/// A duration that may be negative (clock offsets and jumps), written like `-250ms`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignedDuration(pub i64);

impl fmt::Display for SignedDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = sim_core::time::format_nanos(self.0.unsigned_abs());
        if self.0 < 0 {
            write!(f, "-{magnitude}")
        } else {
            f.write_str(&magnitude)
        }
    }
}

impl Serialize for SignedDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SignedDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SignedDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"-250ms\" or \"2s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SignedDuration, E> {
                units::parse_signed_duration(v)
                    .map(SignedDuration)
                    .map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SignedDuration, E> {
                if v == 0 {
                    Ok(SignedDuration(0))
                } else {
                    Err(E::custom(format!(
                        "{v} has no unit: write a duration such as \"{v}ms\""
                    )))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A distribution of signed durations (clock offsets), e.g. `uniform(-10ms, 10ms)` or `-5ms`.
/// Stored as a unitless distribution over nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct OffsetDist {
    text: String,
    nanos: NumberDist,
}

impl OffsetDist {
    /// A constant offset.
    pub fn constant(ns: i64) -> Self {
        OffsetDist {
            text: SignedDuration(ns).to_string(),
            nanos: NumberDist::Constant(ns as f64),
        }
    }

    /// Draws an offset in nanoseconds.
    pub fn sample(&self, rng: &mut sim_core::SimRng) -> i64 {
        let v = self.nanos.sample(rng);
        if v.is_finite() { v.round() as i64 } else { 0 }
    }

    fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let (name, args) = match (t.find('('), t.strip_suffix(')')) {
            (Some(open), Some(inner)) => (&t[..open], inner.get(open + 1..).unwrap_or("")),
            (None, None) => {
                let ns = units::parse_signed_duration(t).map_err(|e| e.to_string())?;
                return Ok(OffsetDist::constant(ns));
            }
            _ => return Err(format!("unbalanced parentheses in \"{t}\"")),
        };
        let mut converted = Vec::new();
        for (i, arg) in args.split(',').enumerate() {
            let arg = arg.trim();
            // lognormal and pareto take a unitless shape as their second argument.
            let unitless = i == 1 && matches!(name.trim(), "lognormal" | "pareto");
            if unitless {
                converted.push(arg.to_owned());
            } else {
                let ns = units::parse_signed_duration(arg).map_err(|e| e.to_string())?;
                converted.push(ns.to_string());
            }
        }
        let nanos: NumberDist = format!("{}({})", name.trim(), converted.join(", "))
            .parse()
            .map_err(|e: sim_core::dist::DistError| e.to_string())?;
        Ok(OffsetDist {
            text: t.to_owned(),
            nanos,
        })
    }
}

impl Serialize for OffsetDist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for OffsetDist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        OffsetDist::parse(&s).map_err(de::Error::custom)
    }
}

/// `[clocks]`: initial clock offsets and drifts, drawn per node, with per-node overrides.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClocksSpec {
    /// Initial offset from true time (default `0s`).
    pub offset: OffsetDist,
    /// Drift in parts per million (default 0); clamped to ±500,000.
    pub drift_ppm: NumberDist,
    /// Per-node settings that replace the drawn ones.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: BTreeMap<Spanned<String>, NodeClockSpec>,
}

impl Default for ClocksSpec {
    fn default() -> Self {
        ClocksSpec {
            offset: OffsetDist::constant(0),
            drift_ppm: NumberDist::Constant(0.0),
            nodes: BTreeMap::new(),
        }
    }
}

/// `[clocks.nodes.NAME]`: one node's clock.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeClockSpec {
    /// Its initial offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<SignedDuration>,
    /// Its drift in parts per million.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_ppm: Option<f64>,
}

/// `heal = "all"` (or `heal = true`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealAll;

impl Serialize for HealAll {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("all")
    }
}

impl<'de> Deserialize<'de> for HealAll {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HealAll;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"all\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HealAll, E> {
                if v == "all" {
                    Ok(HealAll)
                } else {
                    Err(E::custom(format!("heal takes \"all\", not \"{v}\"")))
                }
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<HealAll, E> {
                if v {
                    Ok(HealAll)
                } else {
                    Err(E::custom("heal = false does nothing: remove the fault"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `block = { from = [...], to = [...] }`: a one-way cut.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BlockSpec {
    /// Senders (nodes or clusters).
    pub from: Vec<Spanned<String>>,
    /// Receivers that stop hearing them (nodes or clusters).
    pub to: Vec<Spanned<String>>,
}

/// `delay = { from = [...], to = [...], extra = "200ms", for = "5s" }`: slow links, one way.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DelaySpec {
    /// Senders (nodes or clusters).
    pub from: Vec<Spanned<String>>,
    /// Receivers (nodes or clusters).
    pub to: Vec<Spanned<String>>,
    /// Latency added to each of those links.
    pub extra: Duration,
    /// How long the delay lasts.
    #[serde(rename = "for")]
    pub lasting: Duration,
}

/// `clock_jump = { node = "...", by = "-2s" }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClockJumpSpec {
    /// The node (or cluster: every node of it).
    pub node: Spanned<String>,
    /// How far to step its wall clock.
    pub by: SignedDuration,
}

/// `drift = { node = "...", ppm = 200 }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DriftSpec {
    /// The node (or cluster).
    pub node: Spanned<String>,
    /// The new drift in parts per million.
    pub ppm: Spanned<f64>,
}

/// `latency_spike = { extra = "200ms", for = "5s" }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpikeSpec {
    /// Latency added to every message.
    pub extra: Duration,
    /// How long the spike lasts.
    #[serde(rename = "for")]
    pub lasting: Duration,
}

/// `loss_burst = { loss = 0.5, for = "5s" }`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BurstSpec {
    /// Loss probability added to every link.
    pub loss: Probability,
    /// How long the burst lasts.
    #[serde(rename = "for")]
    pub lasting: Duration,
}

/// `[[faults]]`: a time and exactly one action.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// When the fault happens (at most the scenario's duration).
    pub at: Spanned<Duration>,
    /// Split the groups (nodes or clusters) from each other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Vec<Vec<Spanned<String>>>>,
    /// Cut one node off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolate: Option<Spanned<String>>,
    /// Block one direction only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<BlockSpec>,
    /// Remove every partition and block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heal: Option<HealAll>,
    /// Crash a node (or every node of a cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<Spanned<String>>,
    /// Restart a crashed node (or cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<Spanned<String>>,
    /// Stall a node (or cluster), GC-style.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<Spanned<String>>,
    /// End a stall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Spanned<String>>,
    /// Step a wall clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_jump: Option<ClockJumpSpec>,
    /// Change a clock's drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftSpec>,
    /// Add latency to every message for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_spike: Option<SpikeSpec>,
    /// Add latency to some links (one direction) for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<DelaySpec>,
    /// Add loss to every link for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_burst: Option<BurstSpec>,
}

/// The action keys a fault may have, for error messages.
pub const FAULT_ACTIONS: &str = "partition, isolate, block, heal, crash, restart, pause, resume, clock_jump, drift, latency_spike, delay, loss_burst";

fn default_interval() -> DurationDist {
    DurationDist::Exponential {
        mean: Duration::from_secs(10),
    }
}

fn default_fault_duration() -> DurationDist {
    DurationDist::Uniform {
        lo: Duration::from_secs(1),
        hi: Duration::from_secs(5),
    }
}

/// `[nemesis]`: random faults drawn from their own stream.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NemesisSpec {
    /// Kinds to draw from: crash, pause, partition, isolate, clock-jump, latency-spike, loss-burst.
    pub kinds: Vec<NemesisKind>,
    /// Wait before each fault (default `exponential(10s)`).
    #[serde(default = "default_interval")]
    pub interval: DurationDist,
    /// How long each fault lasts (default `uniform(1s, 5s)`).
    #[serde(default = "default_fault_duration")]
    pub duration: DurationDist,
    /// Nodes or clusters it may touch (default: every node of every non-client cluster).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Spanned<String>>,
    /// No fault before this time (default `0s`).
    #[serde(default)]
    pub start: Duration,
    /// No fault after this time; all undone by then (default: the scenario's duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Spanned<Duration>>,
    /// Largest clock step for clock-jump (default `1s`).
    #[serde(default = "default_jump")]
    pub clock_jump_max: Duration,
    /// Extra latency for latency-spike (default `100ms`).
    #[serde(default = "default_spike")]
    pub latency_spike: Duration,
    /// Extra loss for loss-burst (default 0.5).
    #[serde(default = "default_burst")]
    pub loss_burst: Probability,
}

fn default_jump() -> Duration {
    Duration::from_secs(1)
}
fn default_spike() -> Duration {
    Duration::from_millis(100)
}
fn default_burst() -> Probability {
    Probability(0.5)
}

/// An `[expect]` entry: an exact value, or bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expectation {
    /// The metric must equal this value (booleans are 1 and 0).
    Exactly(f64),
    /// The metric must lie within the bounds given.
    Within {
        /// Smallest allowed value.
        min: Option<f64>,
        /// Largest allowed value.
        max: Option<f64>,
    },
}

impl Expectation {
    /// Whether `value` meets the expectation.
    pub fn holds(&self, value: f64) -> bool {
        match *self {
            Expectation::Exactly(v) => (value - v).abs() <= 1e-9 * v.abs().max(1.0),
            Expectation::Within { min, max } => {
                min.is_none_or(|m| value >= m) && max.is_none_or(|m| value <= m)
            }
        }
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Exactly(v) => write!(f, "= {v}"),
            Expectation::Within {
                min: Some(a),
                max: Some(b),
            } => write!(f, "in [{a}, {b}]"),
            Expectation::Within { min: Some(a), .. } => write!(f, ">= {a}"),
            Expectation::Within { max: Some(b), .. } => write!(f, "<= {b}"),
            Expectation::Within { .. } => f.write_str("anything"),
        }
    }
}

impl Serialize for Expectation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match *self {
            // A whole number is written as one (`violations = 0`, not `0.0`), as people do.
            Expectation::Exactly(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => {
                s.serialize_i64(v as i64)
            }
            Expectation::Exactly(v) => s.serialize_f64(v),
            Expectation::Within { min, max } => {
                let mut m = s.serialize_map(None)?;
                if let Some(v) = min {
                    m.serialize_entry("min", &v)?;
                }
                if let Some(v) = max {
                    m.serialize_entry("max", &v)?;
                }
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Expectation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Expectation;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, true/false, or { min = …, max = … }")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Expectation, E> {
                Ok(Expectation::Exactly(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Expectation, E> {
                Ok(Expectation::Exactly(v as f64))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Expectation, E> {
                Ok(Expectation::Exactly(if v { 1.0 } else { 0.0 }))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Expectation, A::Error> {
                let (mut min, mut max) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "min" => min = Some(map.next_value::<f64>()?),
                        "max" => max = Some(map.next_value::<f64>()?),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown bound `{other}`: expected `min` or `max`"
                            )));
                        }
                    }
                }
                match (min, max) {
                    (None, None) => Err(de::Error::custom(
                        "an expectation needs `min`, `max` or both",
                    )),
                    (Some(a), Some(b)) if a > b => Err(de::Error::custom(format!(
                        "min {a} is greater than max {b}"
                    ))),
                    _ => Ok(Expectation::Within { min, max }),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_with_signs() {
        let d = OffsetDist::parse("uniform(-10ms, 10ms)").expect("parses");
        let mut rng = sim_core::SimRng::new(1, sim_core::Stream::Clocks);
        for _ in 0..100 {
            let v = d.sample(&mut rng);
            assert!((-10_000_000..=10_000_000).contains(&v));
        }
        assert_eq!(
            OffsetDist::parse("-5ms")
                .expect("constant")
                .sample(&mut rng),
            -5_000_000
        );
        assert!(OffsetDist::parse("uniform(-10ms, 10ms").is_err());
    }

    #[test]
    fn expectations_hold_within_bounds() {
        assert!(
            Expectation::Within {
                min: Some(1.0),
                max: None
            }
            .holds(1.0)
        );
        assert!(
            !Expectation::Within {
                min: None,
                max: Some(0.2)
            }
            .holds(0.3)
        );
        assert!(Expectation::Exactly(3.0).holds(3.0));
        assert!(!Expectation::Exactly(3.0).holds(3.1));
    }
}
