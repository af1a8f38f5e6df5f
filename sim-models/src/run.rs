//! Running a scenario and summarising what happened: the figures, the metric table that
//! `[expect]` is checked against, and the verdict.

use std::collections::BTreeMap;

use serde::Serialize;
use sim_core::{
    DropReason, MessageStats, NodeId, NodeStats, NodeStatus, Outcome, Percentiles, SimTime,
    Simulation, Violation,
};

use sim_core::lin;

use crate::model::Verdict;
use crate::scenario::spec::Expectation;
use crate::scenario::{Overrides, Scenario};
use crate::window::{self, MetricWindow};
use crate::world::World;

/// One node's line in the summary.
#[derive(Clone, Debug, Serialize)]
pub struct NodeRow {
    /// Its name.
    pub name: String,
    /// Its cluster.
    pub cluster: String,
    /// Its zone.
    pub zone: String,
    /// Up, paused or down at the end.
    pub status: NodeStatus,
    /// Its tallies.
    pub stats: NodeStats,
    /// Its clock offset from true time at the end, in milliseconds.
    pub clock_offset_ms: f64,
    /// Its annotations at the end, `key=value` joined by spaces.
    pub state: String,
}

/// One `[expect]` entry and whether it held.
#[derive(Clone, Debug, Serialize)]
pub struct ExpectResult {
    /// The metric's name.
    pub metric: String,
    /// What was expected, in words (`>= 0.9`).
    pub expected: String,
    /// The measured value (None: no such metric).
    pub actual: Option<f64>,
    /// Whether it held.
    pub passed: bool,
    /// Why not, when it failed.
    pub reason: Option<String>,
}

/// Everything a run produced, ready to print or serialise.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    /// The scenario's name.
    pub scenario: String,
    /// The seed used.
    pub seed: u64,
    /// Simulated time at the end, in nanoseconds.
    pub sim_time_ns: u64,
    /// How the run ended.
    pub outcome: Outcome,
    /// Events handled.
    pub events: u64,
    /// Message tallies.
    pub messages: MessageStats,
    /// Faults applied.
    pub faults: u64,
    /// The determinism fingerprint.
    pub trace_hash: String,
    /// Trace events recorded (kept or not).
    pub trace_events: u64,
    /// Invariant violations models reported.
    pub violations: Vec<Violation>,
    /// Per-node lines.
    pub nodes: Vec<NodeRow>,
    /// Every metric by name (what `[expect]` reads).
    pub metrics: BTreeMap<String, f64>,
    /// The expectations and their verdicts.
    pub expectations: Vec<ExpectResult>,
    /// The linearizability check of the clients' register operations, if there were any.
    pub linearizability: Option<Linearizability>,
    /// The verdicts of the models' own checkers (mutual exclusion on a protected store, …).
    pub verdicts: Vec<Verdict>,
    /// The liveness verdicts of the quiet phase (`[liveness]`): did each cluster with a
    /// progress check make progress by the deadline. Empty without a quiet phase.
    pub progress: Vec<Verdict>,
}

/// The verdict of the linearizability checker on a run's read / write / cas history.
#[derive(Clone, Debug, Serialize)]
pub struct Linearizability {
    /// `linearizable`, `not linearizable` or `unknown` (the search ran out of budget).
    pub verdict: String,
    /// Register operations checked.
    pub operations: usize,
    /// Search steps taken.
    pub steps: u64,
    /// The human-readable account: the operation that cannot be placed, the longest
    /// linearizable prefix, and a minimal set of operations that cannot be ordered.
    pub report: String,
}

impl RunSummary {
    /// Whether the run passed: no violation, no bound hit, every expectation held.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
            && !self.outcome.hit_bound()
            && self.expectations.iter().all(|e| e.passed)
            && self.progress.iter().all(|p| p.holds)
    }

    /// Why the run failed, one line per reason (empty when it passed).
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.outcome.hit_bound() {
            out.push(
                format!(
                    "the run hit a bound ({:?}): raise [limits] or shorten it",
                    self.outcome
                )
                .to_lowercase(),
            );
        }
        for v in &self.violations {
            let node = self
                .nodes
                .get(v.node.index())
                .map_or_else(|| format!("#{}", v.node.0), |n| n.name.clone());
            out.push(format!(
                "invariant {} violated at {} on {node}: {}",
                v.invariant.name,
                v.time,
                v.text()
            ));
        }
        for e in self.expectations.iter().filter(|e| !e.passed) {
            let mut reason = e.reason.clone().unwrap_or_default();
            if let Some(l) = self
                .linearizability
                .as_ref()
                .filter(|_| e.metric == "linearizable")
            {
                reason.push_str(":\n");
                reason.push_str(l.report.trim_end());
            }
            for v in self
                .verdicts
                .iter()
                .filter(|v| v.metrics.contains_key(&e.metric) && !v.report.is_empty())
            {
                reason.push_str(&format!(":\n{}: {}\n", v.check, v.summary));
                reason.push_str(v.report.trim_end());
            }
            out.push(reason);
        }
        for p in self.progress.iter().filter(|p| !p.holds) {
            out.push(format!("no progress in the quiet phase: {}", p.summary));
        }
        out
    }
}

/// Builds and runs `scenario` with `overrides` and returns the simulation (for traces) and its
/// summary.
pub fn run(
    scenario: &Scenario,
    overrides: &Overrides,
) -> Result<(Simulation<World>, RunSummary), sim_core::BuildError> {
    let mut sim = scenario.build(overrides)?;
    // A run shortened (`--duration`) to before the deadline has no quiet phase to judge.
    let progress = match scenario.quiet_phase() {
        Some((after, deadline)) if deadline <= sim.end() => {
            run_quiet_phase(scenario, &mut sim, after, deadline)
        }
        _ => Vec::new(),
    };
    sim.run();
    let summary = summarize_with(scenario, &sim, progress);
    Ok((sim, summary))
}

/// Runs `sim` to the deadline of its quiet phase: to its start, where every cluster's model
/// takes note of the state ([`crate::model::Model::progress`]), then to the deadline, where
/// each judges whether the cluster made progress.
fn run_quiet_phase(
    scenario: &Scenario,
    sim: &mut Simulation<World>,
    after: SimTime,
    deadline: SimTime,
) -> Vec<Verdict> {
    sim.run_until(after);
    let probes: Vec<_> = scenario
        .clusters
        .iter()
        .filter_map(|c| {
            let nodes = sim.cluster_nodes(&c.name);
            c.config.progress(sim, &nodes).map(|p| (nodes, p))
        })
        .collect();
    sim.run_until(deadline);
    probes
        .iter()
        .map(|(nodes, p)| p.judge(sim, nodes, after))
        .collect()
}

/// Summarises a finished (or stopped) simulation of `scenario` (without the quiet phase's
/// verdicts, which only [`run`] can take).
pub fn summarize(scenario: &Scenario, sim: &Simulation<World>) -> RunSummary {
    summarize_with(scenario, sim, Vec::new())
}

/// Summarises a finished simulation with the liveness verdicts of its quiet phase.
fn summarize_with(
    scenario: &Scenario,
    sim: &Simulation<World>,
    progress: Vec<Verdict>,
) -> RunSummary {
    let mut metrics = metric_table(scenario, sim);
    let checked = check_linearizability(sim);
    match checked.as_ref().map(|(v, _)| v) {
        Some(lin::Verdict::Linearizable) => metrics.insert("linearizable".into(), 1.0),
        Some(lin::Verdict::NotLinearizable) => metrics.insert("linearizable".into(), 0.0),
        Some(lin::Verdict::Unknown) => metrics.insert("linearizable.unknown".into(), 1.0),
        None => None,
    };
    let linearizability = checked.map(|(_, l)| l);
    let verdicts: Vec<Verdict> = scenario
        .clusters
        .iter()
        .flat_map(|c| c.config.verdicts(sim))
        .collect();
    for v in verdicts.iter().chain(&progress) {
        metrics.extend(v.metrics.iter().map(|(k, x)| (k.clone(), *x)));
    }
    let expectations = scenario
        .spec
        .expect
        .iter()
        .map(|(name, exp)| check(name.get_ref(), exp.get_ref(), &metrics))
        .collect();
    let nodes = (0..sim.node_count())
        .map(|i| {
            let id = NodeId(i as u32);
            let info = sim.node_info(id);
            RunRowBuilder { sim, id }.row(info)
        })
        .collect();
    RunSummary {
        scenario: scenario.name().to_owned(),
        seed: sim.seed(),
        sim_time_ns: sim.now().0,
        outcome: sim.outcome().unwrap_or(Outcome::Completed),
        events: sim.events(),
        messages: sim.message_stats(),
        faults: sim.faults_applied(),
        trace_hash: sim.trace().hash().to_string(),
        trace_events: sim.trace().count(),
        violations: sim.violations().to_vec(),
        nodes,
        metrics,
        expectations,
        linearizability,
        verdicts,
        progress,
    }
}

/// The run's read / write / cas history and its raw check (per-key registers that start
/// empty, a million search steps per key): what [`check_linearizability`] summarises and the
/// explorer draws. `None` when there is nothing to check.
pub fn check_register_history(
    sim: &Simulation<World>,
) -> Option<(lin::SimRegisterHistory, lin::CheckResult)> {
    // The checker leaves out by itself the unknown-outcome writes whose value nobody saw.
    let history = lin::from_sim_history(sim.history());
    if history.ops.is_empty() {
        return None;
    }
    let options = lin::CheckOptions {
        max_steps: 1_000_000,
        ..lin::CheckOptions::default()
    };
    let result = history.check(&options);
    Some((history, result))
}

/// Checks the run's read / write / cas operations as per-key registers that start empty, with
/// a budget of a million search steps per key. `None` when there is nothing to check.
/// [`summarize`] calls it; benchmarks call it alone to time it.
pub fn check_linearizability(sim: &Simulation<World>) -> Option<(lin::Verdict, Linearizability)> {
    let (history, result) = check_register_history(sim)?;
    let names = sim.node_names();
    let describe = |i: usize| {
        let Some(op) = history.ids.get(i).and_then(|id| sim.history().get(*id)) else {
            return format!("operation #{i}");
        };
        let client = names.get(op.client.index()).map_or("?", String::as_str);
        let result = match (op.status, op.result) {
            (sim_core::OpPhase::Ok, Some(v)) => format!(" -> {v}"),
            (sim_core::OpPhase::Ok, None) if matches!(op.call, sim_core::OpCall::Read { .. }) => {
                " -> empty".to_owned()
            }
            _ => String::new(),
        };
        let completed = op
            .completed
            .map_or_else(|| "never".to_owned(), |t| t.to_string());
        format!(
            "op {} {client} {}{result} [{} .. {}, {}]",
            op.id.0,
            op.call,
            op.invoked,
            completed,
            op.status.as_str()
        )
    };
    let summary = Linearizability {
        verdict: result.verdict.to_string(),
        operations: history.ops.len(),
        steps: result.steps(),
        report: result.report(describe),
    };
    Some((result.verdict, summary))
}

struct RunRowBuilder<'a> {
    sim: &'a Simulation<World>,
    id: NodeId,
}

impl RunRowBuilder<'_> {
    fn row(&self, info: Option<&sim_core::NodeInfo>) -> NodeRow {
        let state = self
            .sim
            .annotations(self.id)
            .map(|a| {
                a.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        NodeRow {
            name: info.map(|i| i.name.clone()).unwrap_or_default(),
            cluster: info.map(|i| i.cluster.clone()).unwrap_or_default(),
            zone: info.map(|i| i.zone.clone()).unwrap_or_default(),
            status: self.sim.status(self.id).unwrap_or(NodeStatus::Down),
            stats: self.sim.node_stats(self.id),
            clock_offset_ms: self.sim.clock_offset(self.id) as f64 / 1e6,
            state,
        }
    }
}

fn check(name: &str, exp: &Expectation, metrics: &BTreeMap<String, f64>) -> ExpectResult {
    match metrics.get(name) {
        Some(&v) => {
            let passed = exp.holds(v);
            ExpectResult {
                metric: name.to_owned(),
                expected: exp.to_string(),
                actual: Some(v),
                passed,
                reason: (!passed).then(|| format!("expected {name} {exp}, got {}", round(v))),
            }
        }
        None => {
            let near: Vec<&str> = metrics
                .keys()
                .filter(|k| k.split('.').next() == name.split('.').next())
                .map(String::as_str)
                .take(8)
                .collect();
            let hint = if near.is_empty() {
                "see the metrics table of `dsim run` for the names".to_owned()
            } else {
                format!("similar: {}", near.join(", "))
            };
            ExpectResult {
                metric: name.to_owned(),
                expected: exp.to_string(),
                actual: None,
                passed: false,
                reason: Some(format!("no metric named {name} ({hint})")),
            }
        }
    }
}

fn round(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// Every metric of a run by name. Names (a scope is a node or a cluster name; no scope means
/// the whole run):
///
/// * `events`, `faults`, `violations`, `messages.sent`, `messages.delivered`,
///   `messages.duplicated`, `messages.dropped`, `messages.dropped.<reason>`
///   (loss, partition, node-down, sender-down, overflow);
/// * `ops.invoked[.<scope>]`, `ops.ok…`, `ops.fail…`, `ops.unknown…` (info), `ops.pending…`
///   (open at the end), `availability[.<scope>]` (share of completed operations that completed
///   ok) for clients that recorded operations, and the same for each window an expectation
///   names (`availability.c1@10s..30s`: operations invoked in that stretch, see [`window`]);
/// * counters: `<name>[.<scope>]`, summed;
/// * gauges: `<name>.min[.<scope>]`, `<name>.max…`, `<name>.last.<node>`;
/// * `linearizable` (1 or 0) when clients recorded reads, writes or compare-and-sets
///   (`linearizable.unknown` if the checker ran out of budget) and the models' verdicts
///   (`mutual_exclusion.<store>`, `stale_writes.<store>`) are added by [`summarize`];
/// * histograms (durations): `<name>.count…`, `<name>.p50_ms…`, `.p95_ms`, `.p99_ms`, `.max_ms`.
pub fn metric_table(scenario: &Scenario, sim: &Simulation<World>) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    let stats = sim.message_stats();
    m.insert("events".into(), sim.events() as f64);
    m.insert("faults".into(), sim.faults_applied() as f64);
    m.insert("violations".into(), sim.violations().len() as f64);
    // One count per invariant the run's models can report, so `[expect]` can pin one by name
    // (and a misspelt name is an unknown metric, not a silent zero).
    let declared = scenario
        .clusters
        .iter()
        .flat_map(|c| c.spec.invariants)
        .chain(sim_core::invariant::engine::ALL);
    for inv in declared {
        m.insert(format!("violations.{}", inv.name), 0.0);
    }
    for v in sim.violations() {
        *m.entry(format!("violations.{}", v.invariant.name))
            .or_insert(0.0) += 1.0;
    }
    m.insert("messages.sent".into(), stats.sent as f64);
    m.insert("messages.delivered".into(), stats.delivered as f64);
    m.insert("messages.duplicated".into(), stats.duplicated as f64);
    m.insert("messages.dropped".into(), stats.dropped_total() as f64);
    for r in DropReason::ALL {
        m.insert(
            format!("messages.dropped.{}", r.as_str()),
            stats.dropped_for(r) as f64,
        );
    }

    // Scopes: every node, every cluster, and the whole run.
    let mut scopes: Vec<(Option<String>, Vec<NodeId>)> =
        vec![(None, (0..sim.node_count() as u32).map(NodeId).collect())];
    for c in &scenario.clusters {
        scopes.push((Some(c.name.clone()), sim.cluster_nodes(&c.name)));
    }
    for i in 0..sim.node_count() {
        let id = NodeId(i as u32);
        if let Some(info) = sim.node_info(id) {
            scopes.push((Some(info.name.clone()), vec![id]));
        }
    }
    let scoped = |base: &str, scope: &Option<String>| match scope {
        Some(s) => format!("{base}.{s}"),
        None => base.to_owned(),
    };

    let history = sim.history();
    let clients: Vec<NodeId> = {
        let mut c: Vec<NodeId> = history.operations().iter().map(|o| o.client).collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    // The whole run, then every window an expectation asks about.
    let mut windows: Vec<Option<MetricWindow>> = vec![None];
    for name in scenario.spec.expect.keys() {
        if let Ok(Some((_, w))) = window::split(name.get_ref())
            && !windows.contains(&Some(w.clone()))
        {
            windows.push(Some(w));
        }
    }
    for window in &windows {
        let (range, suffix) = match window {
            Some(w) => (w.range(), format!("@{}", w.text)),
            None => (SimTime::ZERO..SimTime(u64::MAX), String::new()),
        };
        for (scope, nodes) in &scopes {
            let members: Vec<NodeId> = nodes
                .iter()
                .copied()
                .filter(|n| clients.contains(n))
                .collect();
            if members.is_empty() {
                continue;
            }
            let counts = history.counts_invoked_in(&members, range.clone());
            let mut put = |base: &str, v: f64| {
                m.insert(format!("{}{suffix}", scoped(base, scope)), v);
            };
            put("ops.invoked", counts.invoked as f64);
            put("ops.ok", counts.ok as f64);
            put("ops.fail", counts.fail as f64);
            put("ops.unknown", counts.unknown as f64);
            put("ops.pending", counts.pending as f64);
            put("availability", counts.availability());
        }
    }

    let metrics = sim.metrics();
    // The scopes a node's metric counts in: the whole run, its cluster, itself. One pass over
    // the metrics, not one per scope.
    let scopes_of = |node: NodeId| -> Vec<Option<String>> {
        let mut out = vec![None];
        if let Some(info) = sim.node_info(node) {
            out.push(Some(info.cluster.clone()));
            out.push(Some(info.name.clone()));
        }
        out
    };
    for (node, name, v) in metrics.counters() {
        for scope in &scopes_of(node) {
            *m.entry(scoped(name, scope)).or_insert(0.0) += v as f64;
        }
    }
    for (node, name, g) in metrics.gauges() {
        for scope in &scopes_of(node) {
            let min_key = scoped(&format!("{name}.min"), scope);
            let max_key = scoped(&format!("{name}.max"), scope);
            let min = m.get(&min_key).map_or(g.min, |v: &f64| v.min(g.min));
            let max = m.get(&max_key).map_or(g.max, |v: &f64| v.max(g.max));
            m.insert(min_key, min);
            m.insert(max_key, max);
        }
        if let Some(info) = sim.node_info(node) {
            m.insert(format!("{name}.last.{}", info.name), g.last);
        }
    }
    let histogram_names: Vec<&'static str> = {
        let mut v: Vec<&'static str> = metrics.histograms().map(|(_, k, _)| k).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let record =
        |m: &mut BTreeMap<String, f64>, name: &str, scope: &Option<String>, p: Percentiles| {
            m.insert(scoped(&format!("{name}.count"), scope), p.count as f64);
            m.insert(scoped(&format!("{name}.p50_ms"), scope), p.p50 as f64 / 1e6);
            m.insert(scoped(&format!("{name}.p95_ms"), scope), p.p95 as f64 / 1e6);
            m.insert(scoped(&format!("{name}.p99_ms"), scope), p.p99 as f64 / 1e6);
            m.insert(scoped(&format!("{name}.max_ms"), scope), p.max as f64 / 1e6);
        };
    // The whole run and each cluster merge their nodes' histograms; a node's is its own.
    let aggregate_scopes = &scopes[..1 + scenario.clusters.len()];
    for name in histogram_names {
        for (scope, nodes) in aggregate_scopes {
            if let Some(p) = metrics.merged_percentiles(nodes, name) {
                record(&mut m, name, scope, p);
            }
        }
    }
    for (node, name, p) in metrics.histograms() {
        if let Some(info) = sim.node_info(node) {
            record(&mut m, name, &Some(info.name.clone()), p);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use lin::{Operation, RegisterOp};
    use sim_core::OpId;

    fn op(
        call: u64,
        ret: Option<u64>,
        input: RegisterOp,
        output: Option<i64>,
    ) -> Operation<(u64, RegisterOp), Option<i64>> {
        Operation {
            client: call,
            call,
            ret,
            input: (1, input),
            output,
        }
    }

    #[test]
    fn unknown_writes_nobody_saw_are_left_out_by_the_checker() {
        let history = lin::SimRegisterHistory {
            ops: vec![
                op(0, None, RegisterOp::Write(5), None),
                op(1, None, RegisterOp::Write(6), None),
                op(2, Some(3), RegisterOp::Write(7), None),
                op(4, Some(5), RegisterOp::Read, Some(6)),
                op(6, None, RegisterOp::Cas { from: 6, to: 8 }, None),
            ],
            ids: (0..5).map(OpId).collect(),
        };
        let result = history.check(&lin::CheckOptions::default());
        assert_eq!(result.verdict, lin::Verdict::Linearizable);
        // Write 6 took effect (it was read); writes of 5 and 8 are nowhere.
        assert_eq!(result.partitions[0].linearization, vec![2, 1, 3]);
    }
}
