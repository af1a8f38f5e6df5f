//! Seed sweeps: what one seed's run amounts to ([`SeedResult`], one JSON line each), how a
//! failure is classified ([`Failure`]: safety, liveness, expectation or bound, and which
//! checker), and the report over many seeds ([`Report`]), which also joins the results of
//! several shards. Running seeds in parallel and printing are the CLI's business.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use sim_core::Violation;

use crate::run::RunSummary;
use crate::scenario::{Overrides, Scenario};
use crate::swarm::SwarmDraw;

/// What kind of property a failure breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureClass {
    /// Something bad happened: an invariant, linearizability, a model's safety verdict.
    Safety,
    /// Something good did not happen: no progress in the quiet phase by its deadline.
    Liveness,
    /// Another `[expect]` entry did not hold.
    Expectation,
    /// The run hit a bound (`[limits]`).
    Bound,
}

impl FailureClass {
    /// The class as reports show it.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Safety => "safety",
            FailureClass::Liveness => "liveness",
            FailureClass::Expectation => "expectation",
            FailureClass::Bound => "bound",
        }
    }
}

/// One reason a run failed, classified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Safety, liveness, expectation or bound.
    pub class: FailureClass,
    /// Which checker, invariant or expectation (`invariant: raft.election-safety`,
    /// `linearizability`, `expect availability.c1`): failures of one kind are one bug, most
    /// likely.
    pub kind: String,
    /// The first line of the account.
    pub detail: String,
}

/// The failure kind of an invariant violation: `invariant: <name>`
/// (`invariant: raft.election-safety`).
pub fn kind_of_violation(v: &Violation) -> String {
    format!("invariant: {}", v.invariant.name)
}

/// Every distinct way `summary` failed, in a fixed order (bounds, invariants, expectations),
/// one entry per kind. Empty when the run passed.
pub fn failures(summary: &RunSummary) -> Vec<Failure> {
    let mut out: Vec<Failure> = Vec::new();
    let mut push = |class, kind: String, detail: &str| {
        if !out.iter().any(|f| f.kind == kind) {
            let detail = detail.lines().next().unwrap_or_default().trim().to_owned();
            out.push(Failure {
                class,
                kind,
                detail,
            });
        }
    };
    if summary.outcome.hit_bound() {
        let outcome = format!("{:?}", summary.outcome).to_lowercase();
        push(
            FailureClass::Bound,
            format!("bound: {outcome}"),
            "the run hit a bound",
        );
    }
    for v in &summary.violations {
        push(FailureClass::Safety, kind_of_violation(v), &v.text());
    }
    for e in summary.expectations.iter().filter(|e| !e.passed) {
        let reason = e.reason.clone().unwrap_or_default();
        let metric = e.metric.as_str();
        if metric == "linearizable" || metric.starts_with("linearizable.") {
            push(FailureClass::Safety, "linearizability".to_owned(), &reason);
        } else if metric == "violations" {
            // The violations themselves are listed above.
            if summary.violations.is_empty() {
                push(FailureClass::Safety, "invariant".to_owned(), &reason);
            }
        } else if let Some(p) = summary
            .progress
            .iter()
            .find(|p| p.metrics.contains_key(metric))
        {
            push(
                FailureClass::Liveness,
                format!("liveness: {}", p.check),
                &p.summary,
            );
        } else if let Some(v) = summary
            .verdicts
            .iter()
            .find(|v| v.metrics.contains_key(metric))
        {
            push(FailureClass::Safety, v.check.clone(), &reason);
        } else {
            push(
                FailureClass::Expectation,
                format!("expect {metric}"),
                &reason,
            );
        }
    }
    for p in summary.progress.iter().filter(|p| !p.holds) {
        push(
            FailureClass::Liveness,
            format!("liveness: {}", p.check),
            &p.summary,
        );
    }
    out
}

/// One seed of a sweep: a line of `--out`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedResult {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file the sweep ran (for the replay command).
    #[serde(default)]
    pub file: String,
    /// The seed.
    pub seed: u64,
    /// Whether every check passed.
    pub passed: bool,
    /// Why not, one entry per kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Failure>,
    /// What the seed drew under `--swarm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<SwarmDraw>,
    /// The fault kinds the run applied (scheduled and nemesis), sorted.
    #[serde(default)]
    pub fault_kinds: Vec<String>,
    /// Faults applied.
    pub faults: u64,
    /// Events handled.
    pub events: u64,
    /// The trace hash.
    pub trace_hash: String,
}

impl SeedResult {
    /// The result of a finished run.
    pub fn of(summary: &RunSummary, fault_kinds: Vec<String>, swarm: Option<SwarmDraw>) -> Self {
        let failures = failures(summary);
        SeedResult {
            scenario: summary.scenario.clone(),
            file: String::new(),
            seed: summary.seed,
            passed: summary.passed() && failures.is_empty(),
            failures,
            swarm,
            fault_kinds,
            faults: summary.faults,
            events: summary.events,
            trace_hash: summary.trace_hash.clone(),
        }
    }
}

/// The kinds of the faults a run of `scenario` applied before any quiet phase, without the
/// automatic ends of spikes and bursts, sorted and without duplicates.
pub fn fault_kinds(scenario: &Scenario, sim: &sim_core::Simulation<crate::World>) -> Vec<String> {
    let quiet = scenario
        .quiet_phase()
        .map_or(sim_core::SimTime(u64::MAX), |(after, _)| after);
    let kinds: BTreeSet<&str> = sim
        .applied_faults()
        .iter()
        .filter(|f| f.at < quiet)
        .map(|f| f.action.kind())
        .filter(|k| !k.ends_with("-end"))
        .collect();
    kinds.into_iter().map(str::to_owned).collect()
}

/// Runs `scenario` with `seed` (drawing its swarm parameters first when `swarm` is set) and
/// returns the seed's result. An error is a scenario that cannot be built.
pub fn run_seed(scenario: &Scenario, seed: u64, swarm: bool) -> Result<SeedResult, String> {
    let overrides = Overrides {
        seed: Some(seed),
        trace: Some(sim_core::TraceLevel::Off),
        ..Overrides::default()
    };
    let drawn;
    let (scenario, draw) = if swarm {
        let (s, d) = scenario.swarm(seed).map_err(|e| e.to_string())?;
        drawn = s;
        (&drawn, d)
    } else {
        (scenario, None)
    };
    let (sim, summary) = crate::run(scenario, &overrides).map_err(|e| e.to_string())?;
    Ok(SeedResult::of(&summary, fault_kinds(scenario, &sim), draw))
}

/// Seeds `from..to` that shard `index` of `count` takes: every `count`-th, starting at the
/// `index`-th (0-based).
pub fn shard_seeds(from: u64, to: u64, index: u64, count: u64) -> Vec<u64> {
    let count = count.max(1);
    (from..to)
        .filter(|s| (s - from) % count == index % count)
        .collect()
}

/// One kind of failure across a sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KindRow {
    /// Safety, liveness, expectation or bound.
    pub class: FailureClass,
    /// The checker, invariant or expectation.
    pub kind: String,
    /// Seeds that failed this way.
    pub seeds: usize,
    /// The first few of them, in order.
    pub first_seeds: Vec<u64>,
    /// The account of the first.
    pub example: String,
}

/// How often a fault kind (or a combination of kinds) was exercised, and failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CoverageRow {
    /// The kind, or kinds joined by `+`.
    pub faults: String,
    /// Seeds whose run applied it.
    pub seeds: usize,
    /// Of those, the ones that failed.
    pub failed: usize,
}

/// A failing seed, for the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailingSeed {
    /// The seed.
    pub seed: u64,
    /// Its failure kinds.
    pub kinds: Vec<String>,
    /// What it drew under `--swarm`.
    pub swarm: Option<SwarmDraw>,
}

/// The report over a sweep (or several shards of one).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The scenario's name (several if merged shards disagree).
    pub scenario: String,
    /// Seeds run.
    pub runs: usize,
    /// Seeds that failed.
    pub failed: usize,
    /// Seeds with a safety failure.
    pub safety_failures: usize,
    /// Seeds with a liveness failure.
    pub liveness_failures: usize,
    /// Seeds with an expectation or bound failure.
    pub other_failures: usize,
    /// The lowest seed run and the highest.
    pub seed_range: Option<(u64, u64)>,
    /// Failures by kind, most frequent first.
    pub kinds: Vec<KindRow>,
    /// The first failing seeds (up to 20), with what they drew.
    pub failing: Vec<FailingSeed>,
    /// Fault kinds exercised.
    pub coverage: Vec<CoverageRow>,
    /// Fault kind combinations exercised (each seed counted under its exact set).
    pub combinations: Vec<CoverageRow>,
}

/// Fault kinds that undo others; the combinations table leaves them out.
const UNDOING: [&str; 3] = ["heal", "restart", "resume"];

/// How many first seeds a kind lists.
const FIRST_SEEDS: usize = 5;
/// How many failing seeds the report lists.
const FAILING_LISTED: usize = 20;

impl Report {
    /// The report over `results`; a seed that appears twice (overlapping shards) counts once.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a SeedResult>) -> Report {
        let mut by_seed: BTreeMap<u64, &SeedResult> = BTreeMap::new();
        for r in results {
            by_seed.entry(r.seed).or_insert(r);
        }
        let mut names: Vec<&str> = by_seed.values().map(|r| r.scenario.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let mut kinds: BTreeMap<(FailureClass, &str), KindRow> = BTreeMap::new();
        let mut coverage: BTreeMap<&str, CoverageRow> = BTreeMap::new();
        let mut combinations: BTreeMap<String, CoverageRow> = BTreeMap::new();
        let (mut failed, mut safety, mut liveness, mut other) = (0, 0, 0, 0);
        let mut failing = Vec::new();
        for r in by_seed.values() {
            let has = |c: FailureClass| r.failures.iter().any(|f| f.class == c);
            if !r.passed {
                failed += 1;
                if failing.len() < FAILING_LISTED {
                    failing.push(FailingSeed {
                        seed: r.seed,
                        kinds: r.failures.iter().map(|f| f.kind.clone()).collect(),
                        swarm: r.swarm.clone(),
                    });
                }
            }
            if has(FailureClass::Safety) {
                safety += 1;
            }
            if has(FailureClass::Liveness) {
                liveness += 1;
            }
            if !r.passed && !has(FailureClass::Safety) && !has(FailureClass::Liveness) {
                other += 1;
            }
            for f in &r.failures {
                let row = kinds
                    .entry((f.class, f.kind.as_str()))
                    .or_insert_with(|| KindRow {
                        class: f.class,
                        kind: f.kind.clone(),
                        seeds: 0,
                        first_seeds: Vec::new(),
                        example: f.detail.clone(),
                    });
                row.seeds += 1;
                if row.first_seeds.len() < FIRST_SEEDS {
                    row.first_seeds.push(r.seed);
                }
            }
            for k in &r.fault_kinds {
                let row = coverage.entry(k.as_str()).or_insert_with(|| CoverageRow {
                    faults: k.clone(),
                    seeds: 0,
                    failed: 0,
                });
                row.seeds += 1;
                row.failed += usize::from(!r.passed);
            }
            // Combinations name the faults, not their undoing.
            let struck: Vec<&str> = r
                .fault_kinds
                .iter()
                .map(String::as_str)
                .filter(|k| !UNDOING.contains(k))
                .collect();
            let combo = if struck.is_empty() {
                "(none)".to_owned()
            } else {
                struck.join("+")
            };
            let row = combinations
                .entry(combo.clone())
                .or_insert_with(|| CoverageRow {
                    faults: combo,
                    seeds: 0,
                    failed: 0,
                });
            row.seeds += 1;
            row.failed += usize::from(!r.passed);
        }
        let mut kinds: Vec<KindRow> = kinds.into_values().collect();
        kinds.sort_by(|a, b| {
            (a.class, std::cmp::Reverse(a.seeds)).cmp(&(b.class, std::cmp::Reverse(b.seeds)))
        });
        let mut combinations: Vec<CoverageRow> = combinations.into_values().collect();
        combinations.sort_by(|a, b| b.seeds.cmp(&a.seeds).then(a.faults.cmp(&b.faults)));
        Report {
            scenario: names.join(", "),
            runs: by_seed.len(),
            failed,
            safety_failures: safety,
            liveness_failures: liveness,
            other_failures: other,
            seed_range: by_seed
                .keys()
                .next()
                .copied()
                .zip(by_seed.keys().next_back().copied()),
            kinds,
            failing,
            coverage: coverage.into_values().collect(),
            combinations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(seed: u64, failures: &[(FailureClass, &str)], kinds: &[&str]) -> SeedResult {
        SeedResult {
            scenario: "s".into(),
            file: String::new(),
            seed,
            passed: failures.is_empty(),
            failures: failures
                .iter()
                .map(|(class, kind)| Failure {
                    class: *class,
                    kind: (*kind).to_owned(),
                    detail: format!("{kind} broke"),
                })
                .collect(),
            swarm: None,
            fault_kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            faults: 0,
            events: 0,
            trace_hash: String::new(),
        }
    }

    #[test]
    fn shards_split_the_range_without_overlap() {
        let all: Vec<u64> = (0..3).flat_map(|i| shard_seeds(10, 20, i, 3)).collect();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (10..20).collect::<Vec<_>>());
        assert_eq!(shard_seeds(10, 20, 1, 3), vec![11, 14, 17]);
    }

    #[test]
    fn the_report_groups_failures_by_kind_and_counts_seeds_once() {
        use FailureClass::*;
        let rs = vec![
            result(
                3,
                &[(Safety, "invariant: raft.election-safety")],
                &["crash"],
            ),
            result(1, &[], &["crash", "partition"]),
            result(2, &[(Liveness, "liveness: kv")], &["partition"]),
            result(
                5,
                &[(Safety, "invariant: raft.election-safety")],
                &["crash"],
            ),
            result(
                3,
                &[(Safety, "invariant: raft.election-safety")],
                &["crash"],
            ),
        ];
        let r = Report::of(&rs);
        assert_eq!((r.runs, r.failed), (4, 3));
        assert_eq!((r.safety_failures, r.liveness_failures), (2, 1));
        assert_eq!(r.kinds[0].kind, "invariant: raft.election-safety");
        assert_eq!(r.kinds[0].first_seeds, vec![3, 5]);
        assert_eq!(r.kinds[1].class, Liveness);
        assert_eq!(r.seed_range, Some((1, 5)));
        let crash = r
            .coverage
            .iter()
            .find(|c| c.faults == "crash")
            .expect("crash");
        assert_eq!((crash.seeds, crash.failed), (3, 2));
        assert_eq!(r.combinations[0].faults, "crash");
        assert!(r.combinations.iter().any(|c| c.faults == "partition"));
    }

    #[test]
    fn a_violation_is_classified_by_its_invariant_name_not_its_text() {
        let v = Violation {
            time: sim_core::SimTime(5),
            node: sim_core::NodeId(0),
            invariant: crate::raft::ELECTION_SAFETY,
            detail: "no colon-separated title here".into(),
        };
        assert_eq!(kind_of_violation(&v), "invariant: raft.election-safety");
        assert_eq!(v.text(), "Election Safety: no colon-separated title here");
    }
}
