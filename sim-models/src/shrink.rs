//! Shrinking a failing run to a small scenario that fails the same way on its own.
//!
//! The shrinker works on the effective scenario as a TOML table (what `--print-config` prints)
//! and knows no model: it removes faults (in halves, then one by one), moves them later,
//! shortens the run, drops the nemesis's kinds, calms the network and the clocks, removes
//! nodes down to each model's [`Model::min_nodes`], and tries each model's own
//! [`Model::reductions`] (fewer operations, fewer keys). A candidate is kept when it parses,
//! builds, and still fails with the same kind of failure ([`crate::sweep::Failure::kind`]);
//! the loop goes on until no candidate is kept or the run budget is spent.
//!
//! A nemesis is first turned into the fixed schedule of the faults it drew in the failing run
//! (from [`sim_core::Simulation::applied_faults`]), so single faults can go; if the fixed
//! schedule does not fail the same way, the nemesis stays and only its kinds shrink.
//!
//! The reproducer is written like a hand-written scenario ([`crate::scenario::layout`]); its
//! description says where it comes from, what it fails with and what is left of the original,
//! and the original description, whose specifics no longer hold, stays as a comment.
//!
//! [`Model::min_nodes`]: crate::model::Model::min_nodes
//! [`Model::reductions`]: crate::model::Model::reductions

use std::path::{Path, PathBuf};

use serde::Serialize;
use sim_core::{FaultAction, NodeId, SimTime};
use toml::{Table, Value};

use crate::scenario::spec::SignedDuration;
use crate::scenario::{Overrides, Scenario};
use crate::sweep::failures;

/// How big a scenario is, in what matters to a reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Size {
    /// Faults applied in the run (scheduled and drawn by a nemesis).
    pub faults: u64,
    /// `[[faults]]` entries in the file.
    pub fault_entries: usize,
    /// Simulated length, in nanoseconds.
    pub duration_ns: u64,
    /// Client operations invoked.
    pub operations: u64,
    /// Nodes.
    pub nodes: usize,
}

/// What a shrink achieved.
#[derive(Clone, Debug, Serialize)]
pub struct Shrunk {
    /// The failure kind kept throughout.
    pub kind: String,
    /// The seed asked for.
    pub seed: u64,
    /// The seed the shrunk scenario fails with (written into it).
    pub final_seed: u64,
    /// The scenario before (with any swarm draw written in).
    pub before: Size,
    /// The smallest scenario found.
    pub after: Size,
    /// Runs it took (the first included).
    pub runs: usize,
    /// Candidates kept.
    pub steps: usize,
    /// The smallest scenario as TOML, with the seed: `dsim run` on it fails with `kind`.
    pub toml: String,
}

/// Shrinking could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShrinkError {
    /// The scenario does not fail with this seed.
    #[error("seed {0} passes: there is nothing to shrink")]
    Passes(u64),
    /// The seed fails, but not with the kind asked for.
    #[error("seed {seed} fails with {found}, not with {wanted}")]
    OtherKind {
        /// The seed.
        seed: u64,
        /// The kind asked for.
        wanted: String,
        /// The kinds found.
        found: String,
    },
    /// The scenario cannot be built or drawn.
    #[error("{0}")]
    Scenario(String),
}

/// Options of a shrink.
#[derive(Clone, Debug)]
pub struct Options {
    /// Draw the seed's swarm parameters first.
    pub swarm: bool,
    /// The failure kind to keep (default: the first the seed shows).
    pub kind: Option<String>,
    /// Most runs to spend.
    pub max_runs: usize,
    /// Other seeds to try a candidate with when the current seed no longer fails with it
    /// (0: keep the seed). A run is chaotic — removing one early fault moves every later
    /// event — so a smaller scenario often fails the same way only under another seed; the
    /// reproducer records the seed it fails with.
    pub reseed: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            swarm: false,
            kind: None,
            max_runs: 3_000,
            reseed: 16,
        }
    }
}

/// A candidate's verdict: still failing with the kind, its size, and when the failure first
/// showed (for invariant violations, which carry a time).
struct Trial {
    fails: bool,
    size: Size,
    failed_at: Option<SimTime>,
}

/// The size of a finished run of `scenario`: faults are those applied before any quiet phase
/// (the file's and the nemesis's, without automatic ends), not the quiet phase's undoing.
fn size_of(
    scenario: &Scenario,
    sim: &sim_core::Simulation<crate::World>,
    summary: &crate::RunSummary,
) -> Size {
    let quiet = scenario.quiet_phase().map_or(SimTime(u64::MAX), |(a, _)| a);
    let faults = sim
        .applied_faults()
        .iter()
        .filter(|f| f.at < quiet && !f.action.kind().ends_with("-end"))
        .count() as u64;
    Size {
        faults,
        fault_entries: scenario.spec.faults.len(),
        duration_ns: scenario.spec.duration.get_ref().as_nanos(),
        operations: summary.metrics.get("ops.invoked").copied().unwrap_or(0.0) as u64,
        nodes: scenario.nodes.len(),
    }
}

/// When the failure `kind` first showed: the first violation of an invariant, or the moment
/// a model's checker saw its property broken, when it knows.
fn failed_at(summary: &crate::RunSummary, kind: &str) -> Option<SimTime> {
    summary
        .violations
        .iter()
        .find(|v| crate::sweep::kind_of_violation(v) == kind)
        .map(|v| v.time)
        .or_else(|| {
            summary
                .verdicts
                .iter()
                .find(|v| !v.holds && v.check == kind)
                .and_then(|v| v.broken_at)
        })
}

struct Shrinker<'a> {
    path: &'a Path,
    seed: u64,
    reseed: u32,
    kind: String,
    runs: usize,
    max_runs: usize,
    best: Table,
    size: Size,
    failed_at: Option<SimTime>,
    steps: usize,
}

impl Shrinker<'_> {
    /// Runs the scenario `table`; None if it does not parse or build.
    fn trial(&mut self, table: &Table, seed: u64) -> Option<Trial> {
        let scenario = Scenario::parse(self.path, &render(table)).ok()?;
        self.runs += 1;
        let overrides = Overrides {
            seed: Some(seed),
            trace: Some(sim_core::TraceLevel::Off),
            ..Overrides::default()
        };
        let (sim, summary) = crate::run(&scenario, &overrides).ok()?;
        let fails = failures(&summary).iter().any(|f| f.kind == self.kind);
        let trial = Trial {
            fails,
            size: size_of(&scenario, &sim, &summary),
            failed_at: failed_at(&summary, &self.kind),
        };
        Some(trial)
    }

    /// Tries `candidate`; keeps it if it still fails the same way.
    fn attempt(&mut self, candidate: Table, progress: &mut impl FnMut(usize, &Size)) -> bool {
        let seeds: Vec<u64> = std::iter::once(self.seed)
            .chain((1..=u64::from(self.reseed)).map(|i| self.seed.wrapping_add(i)))
            .collect();
        for seed in seeds {
            if !self.budget_left() {
                return false;
            }
            match self.trial(&candidate, seed) {
                Some(t) if t.fails => {
                    self.best = candidate;
                    self.seed = seed;
                    self.size = t.size;
                    self.failed_at = t.failed_at;
                    self.steps += 1;
                    progress(self.runs, &self.size);
                    return true;
                }
                // Does not parse or build: no other seed will change that.
                None => return false,
                Some(_) => {}
            }
        }
        false
    }

    fn budget_left(&self) -> bool {
        self.runs < self.max_runs
    }

    /// Ends the run soon after the failure (when it has a time) and drops what comes later:
    /// the faults, and the quiet phase unless the failure is a liveness one.
    fn cut_after_failure(&mut self, progress: &mut impl FnMut(usize, &Size)) {
        let Some(at) = self.failed_at else {
            return;
        };
        // Round up to the next millisecond, plus one.
        let end = (at.0 / 1_000_000 + 2) * 1_000_000;
        if end >= duration_of(self.best.get("duration")).unwrap_or(0) {
            return;
        }
        let kept: Vec<Value> = faults_of(&self.best)
            .into_iter()
            .filter(|f| duration_of(f.get("at")).is_some_and(|t| t <= end))
            .collect();
        let mut c = with_faults(&self.best, kept);
        c.insert("duration".into(), ns(end));
        c.remove("liveness");
        if let Some(Value::Table(n)) = c.get_mut("nemesis") {
            n.insert("stop".into(), ns(end));
        }
        self.attempt(c, progress);
    }

    /// Delta debugging on the fault list: remove chunks of halves, quarters, … and single
    /// faults, keeping every removal that still fails.
    fn remove_faults(&mut self, progress: &mut impl FnMut(usize, &Size)) {
        let mut chunk = faults_of(&self.best).len().div_ceil(2).max(1);
        loop {
            let mut start = 0;
            while start < faults_of(&self.best).len() && self.budget_left() {
                let faults = faults_of(&self.best);
                let kept: Vec<Value> = faults
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i < start || *i >= start + chunk)
                    .map(|(_, f)| f.clone())
                    .collect();
                if !self.attempt(with_faults(&self.best, kept), progress) {
                    start += chunk;
                }
            }
            if chunk == 1 || !self.budget_left() {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
    }
}

/// Shrinks `scenario` run with `seed` while it keeps failing the same way.
pub fn shrink(
    scenario: &Scenario,
    seed: u64,
    options: &Options,
    mut progress: impl FnMut(usize, &Size),
) -> Result<Shrunk, ShrinkError> {
    if i64::try_from(seed).is_err() {
        return Err(ShrinkError::Scenario(format!(
            "seed {seed} is above 2^63 - 1, the largest the shrinker can edit as a TOML integer"
        )));
    }
    let overrides = Overrides {
        seed: Some(seed),
        ..Overrides::default()
    };
    let start_text = if options.swarm {
        let (drawn, _) = scenario
            .swarm(seed)
            .map_err(|e| ShrinkError::Scenario(e.to_string()))?;
        drawn.to_toml(&overrides)
    } else {
        scenario.to_toml(&overrides)
    };
    let path: PathBuf = scenario.path.clone();
    let first =
        Scenario::parse(&path, &start_text).map_err(|e| ShrinkError::Scenario(e.to_string()))?;
    let (sim, summary) =
        crate::run(&first, &overrides).map_err(|e| ShrinkError::Scenario(e.to_string()))?;
    let found = failures(&summary);
    let Some(kind) = options
        .kind
        .clone()
        .or_else(|| found.first().map(|f| f.kind.clone()))
    else {
        return Err(ShrinkError::Passes(seed));
    };
    if !found.iter().any(|f| f.kind == kind) {
        return Err(ShrinkError::OtherKind {
            seed,
            wanted: kind,
            found: found
                .iter()
                .map(|f| f.kind.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let before = size_of(&first, &sim, &summary);
    let start: Table = toml::from_str(&start_text).unwrap_or_default();
    let mut s = Shrinker {
        path: &path,
        seed,
        reseed: options.reseed,
        runs: 1,
        max_runs: options.max_runs.max(2),
        best: start.clone(),
        size: before,
        failed_at: failed_at(&summary, &kind),
        steps: 0,
        kind: kind.clone(),
    };
    // A nemesis becomes the fixed schedule it drew.
    if start.contains_key("nemesis") {
        s.attempt(
            materialize(&start, &first, sim.applied_faults()),
            &mut progress,
        );
    }
    s.cut_after_failure(&mut progress);
    s.remove_faults(&mut progress);
    loop {
        let mut kept = false;
        for candidate in candidates(&s.best, &first) {
            if s.attempt(candidate, &mut progress) {
                kept = true;
                break;
            }
        }
        if !kept || !s.budget_left() {
            break;
        }
        s.cut_after_failure(&mut progress);
        s.remove_faults(&mut progress);
    }

    let mut best = s.best;
    // A TOML integer is an i64: a larger seed goes in as digits after rendering.
    let seed_value =
        i64::try_from(s.seed).map_or_else(|_| Value::String(s.seed.to_string()), Value::Integer);
    best.insert("seed".into(), seed_value);
    // The reproducer says what it is; the original description, whose specifics no longer
    // hold, stays as a comment.
    let original = match best.get("description") {
        Some(Value::String(d)) => d.trim().to_owned(),
        _ => String::new(),
    };
    let command = format!(
        "dsim shrink {} --seed {seed}{}",
        scenario.path.display(),
        if options.swarm { " --swarm" } else { "" }
    );
    best.insert(
        "description".into(),
        describe(&command, &kind, s.seed, &before, &s.size).into(),
    );
    let note = if original.is_empty() {
        String::new()
    } else {
        format!(
            "The scenario it was shrunk from, as described there (its specifics need not hold \
             here):\n\n{original}"
        )
    };
    Ok(Shrunk {
        kind,
        seed,
        final_seed: s.seed,
        before,
        after: s.size,
        runs: s.runs,
        steps: s.steps,
        toml: crate::scenario::layout::render(&best, &note),
    })
}

/// The reproducer's description: where it comes from, what it fails with, and how much of
/// the original is left (one fact a line, like a hand-written description).
fn describe(command: &str, kind: &str, seed: u64, before: &Size, after: &Size) -> String {
    use sim_core::time::format_nanos;
    format!(
        "Shrunk by `{command}`.\n\
         Fails with {kind} under seed {seed}.\n\
         What is left: {} of {} faults, {} of {} simulated, {} of {} client operations, \
         {} of {} nodes.\n",
        after.faults,
        before.faults,
        format_nanos(after.duration_ns),
        format_nanos(before.duration_ns),
        after.operations,
        before.operations,
        after.nodes,
        before.nodes,
    )
}

fn render(t: &Table) -> String {
    toml::to_string(t).unwrap_or_default()
}

fn faults_of(t: &Table) -> Vec<Value> {
    t.get("faults")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn with_faults(t: &Table, faults: Vec<Value>) -> Table {
    let mut out = t.clone();
    if faults.is_empty() {
        out.remove("faults");
    } else {
        out.insert("faults".into(), Value::Array(faults));
    }
    out
}

fn duration_of(v: Option<&Value>) -> Option<u64> {
    v.and_then(Value::as_str)
        .and_then(|s| sim_core::units::parse_duration(s).ok())
        .map(|d| d.as_nanos())
}

fn ns(n: u64) -> Value {
    Value::String(sim_core::time::format_nanos(n))
}

/// Every candidate one step smaller than `t`, most promising first.
fn candidates(t: &Table, scenario: &Scenario) -> Vec<Table> {
    let mut out = Vec::new();
    let faults = faults_of(t);
    // The nemesis: without it, then without each of its kinds.
    if let Some(Value::Table(n)) = t.get("nemesis") {
        let mut none = t.clone();
        none.remove("nemesis");
        out.push(none);
        let kinds = n
            .get("kinds")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if kinds.len() > 1 {
            for i in 0..kinds.len() {
                let mut fewer = n.clone();
                let mut k = kinds.clone();
                k.remove(i);
                fewer.insert("kinds".into(), Value::Array(k));
                let mut c = t.clone();
                c.insert("nemesis".into(), Value::Table(fewer));
                out.push(c);
            }
        }
    }
    // Without the quiet phase (a liveness failure needs it, and then this candidate fails).
    if t.contains_key("liveness") {
        let mut c = t.clone();
        c.remove("liveness");
        out.push(c);
    }
    // Shorter: end just after the last fault (or the quiet phase's deadline), or cut by a
    // quarter.
    let duration = duration_of(t.get("duration")).unwrap_or(0);
    let last_fault = faults
        .iter()
        .filter_map(|f| duration_of(f.get("at")))
        .max()
        .unwrap_or(0);
    let floor = t
        .get("liveness")
        .map(|l| {
            duration_of(l.get("after")).unwrap_or(0) + duration_of(l.get("within")).unwrap_or(0)
        })
        .unwrap_or(0)
        .max(last_fault);
    for target in [
        floor + 1_000_000_000,
        floor + (duration - floor.min(duration)) / 2,
        duration / 4 * 3,
    ] {
        if target > floor && target < duration {
            let mut c = t.clone();
            c.insert("duration".into(), ns(target));
            out.push(c);
        }
    }
    // Later: move each fault halfway to the next one (or to the end).
    let times: Vec<u64> = faults
        .iter()
        .filter_map(|f| duration_of(f.get("at")))
        .collect();
    for (i, f) in faults.iter().enumerate() {
        let Some(at) = duration_of(f.get("at")) else {
            continue;
        };
        let next = times
            .iter()
            .copied()
            .filter(|x| *x > at)
            .min()
            .unwrap_or(floor.max(duration));
        let later = at + (next - at) / 2;
        if later > at + 1_000_000 {
            let mut moved = faults.clone();
            if let Value::Table(ft) = &mut moved[i] {
                ft.insert("at".into(), ns(later));
            }
            out.push(with_faults(t, moved));
        }
    }
    // A calmer world: no loss, no duplication, no clock disagreement.
    if let Some(Value::Table(n)) = t.get("network") {
        for key in ["loss", "duplicate"] {
            if n.get(key)
                .and_then(Value::as_float)
                .is_some_and(|x| x > 0.0)
            {
                let mut calm = n.clone();
                calm.insert(key.into(), Value::Float(0.0));
                let mut c = t.clone();
                c.insert("network".into(), Value::Table(calm));
                out.push(c);
            }
        }
    }
    if let Some(Value::Table(cl)) = t.get("clocks") {
        let skewed = |k: &str| {
            cl.get(k)
                .and_then(Value::as_str)
                .is_some_and(|v| v != "0s" && v != "0")
        };
        if skewed("offset") || skewed("drift_ppm") || cl.contains_key("nodes") {
            let mut c = t.clone();
            c.remove("clocks");
            out.push(c);
        }
    }
    // Fewer nodes, and each model's own reductions.
    if let Some(Value::Array(clusters)) = t.get("cluster") {
        for (ci, cluster) in scenario.clusters.iter().enumerate() {
            let Some(Value::Table(ct)) = clusters.get(ci) else {
                continue;
            };
            let nodes = ct.get("nodes").and_then(Value::as_integer).unwrap_or(1);
            if nodes > i64::from(cluster.config.min_nodes()) {
                let mut smaller = ct.clone();
                smaller.insert("nodes".into(), Value::Integer(nodes - 1));
                out.push(with_cluster(t, clusters, ci, smaller));
            }
            for keys in cluster.config.reductions() {
                let mut smaller = ct.clone();
                smaller.extend(keys);
                if &smaller != ct {
                    out.push(with_cluster(t, clusters, ci, smaller));
                }
            }
        }
    }
    out
}

fn with_cluster(t: &Table, clusters: &[Value], ci: usize, cluster: Table) -> Table {
    let mut all = clusters.to_vec();
    all[ci] = Value::Table(cluster);
    let mut c = t.clone();
    c.insert("cluster".into(), Value::Array(all));
    c
}

/// `t` with its nemesis replaced by the faults the run applied before any quiet phase (the
/// automatic ends of spikes and bursts left out: the spike or burst carries its length).
fn materialize(t: &Table, scenario: &Scenario, applied: &[sim_core::ScheduledFault]) -> Table {
    let quiet = scenario.quiet_phase().map_or(SimTime(u64::MAX), |(a, _)| a);
    let name = |n: &NodeId| {
        scenario
            .nodes
            .get(n.index())
            .map_or_else(String::new, |p| p.name.clone())
    };
    let names = |v: &[NodeId]| Value::Array(v.iter().map(|n| Value::String(name(n))).collect());
    let mut faults = Vec::new();
    for f in applied.iter().filter(|f| f.at < quiet) {
        let mut ft = Table::new();
        ft.insert("at".into(), ns(f.at.0));
        let (key, value) = match &f.action {
            FaultAction::Partition(groups) => (
                "partition",
                Value::Array(groups.iter().map(|g| names(g)).collect()),
            ),
            FaultAction::Isolate(n) => ("isolate", Value::String(name(n))),
            FaultAction::Block { from, to } => {
                let mut b = Table::new();
                b.insert("from".into(), names(from));
                b.insert("to".into(), names(to));
                ("block", Value::Table(b))
            }
            FaultAction::Heal => ("heal", Value::String("all".into())),
            FaultAction::Crash(n) => ("crash", Value::String(name(n))),
            FaultAction::Restart(n) => ("restart", Value::String(name(n))),
            FaultAction::Pause(n) => ("pause", Value::String(name(n))),
            FaultAction::Resume(n) => ("resume", Value::String(name(n))),
            FaultAction::ClockJump { node, delta_ns } => {
                let mut j = Table::new();
                j.insert("node".into(), Value::String(name(node)));
                j.insert(
                    "by".into(),
                    Value::String(SignedDuration(*delta_ns).to_string()),
                );
                ("clock_jump", Value::Table(j))
            }
            FaultAction::Drift { node, ppm } => {
                let mut d = Table::new();
                d.insert("node".into(), Value::String(name(node)));
                d.insert("ppm".into(), Value::Float(*ppm));
                ("drift", Value::Table(d))
            }
            FaultAction::LatencySpike { extra, duration } => {
                let mut l = Table::new();
                l.insert("extra".into(), ns(extra.as_nanos()));
                l.insert("for".into(), ns(duration.as_nanos()));
                ("latency_spike", Value::Table(l))
            }
            FaultAction::LossBurst { loss, duration } => {
                let mut l = Table::new();
                l.insert("loss".into(), Value::Float(*loss));
                l.insert("for".into(), ns(duration.as_nanos()));
                ("loss_burst", Value::Table(l))
            }
            FaultAction::LinkDelay {
                from,
                to,
                extra,
                duration,
            } => {
                let mut d = Table::new();
                d.insert("from".into(), names(from));
                d.insert("to".into(), names(to));
                d.insert("extra".into(), ns(extra.as_nanos()));
                d.insert("for".into(), ns(duration.as_nanos()));
                ("delay", Value::Table(d))
            }
            FaultAction::DriftEnd(_)
            | FaultAction::LatencySpikeEnd
            | FaultAction::LossBurstEnd
            | FaultAction::LinkDelayEnd { .. } => continue,
        };
        ft.insert(key.into(), value);
        faults.push(Value::Table(ft));
    }
    let mut out = with_faults(t, faults);
    out.remove("nemesis");
    out
}
