//! The Raft property (issue 3): under any fault schedule — partitions of any shape, one-way
//! cuts, crashes and restarts, pauses, clock jumps and drift, latency spikes, loss bursts, lossy
//! and duplicating links — no Raft invariant breaks and every history is linearizable.
//!
//! Each case is a [`RaftCase`] rendered to scenario TOML, parsed by the real parser and run.
//! It fails on any invariant violation the Raft observer reports (Election Safety, Leader
//! Append-Only, Log Matching, Leader Completeness, State Machine Safety), on a run that hits a
//! bound, and on any linearizability verdict but `linearizable` (`unknown`, an exhausted
//! search, fails too).
//!
//! Clients are kept at loads whose histories the checker can decide (see
//! [`crate::strategies::client_knobs`]); `repro/checker-burst.toml` is a history beyond it,
//! kept as an ignored test until the checker handles it.
//!
//! Cases: 500 by default; `DSIM_PROPTEST_CASES=5000 cargo test --release --test it raft_props`
//! runs more. The sequence of cases is fixed (the same in every `cargo test`) unless
//! `PROPTEST_RNG_SEED` picks another. No failure file is written into the source tree:
//! proptest shrinks a failing case to fewer, milder faults, and the smallest one is printed
//! in full and written to `target/tmp/raft-props-failure.toml`, with the `dsim run` line that
//! reproduces it.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError};
use sim_models::{Overrides, Scenario};

use crate::strategies::{RaftCase, raft_case};

/// Cases per `cargo test` unless `DSIM_PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 500;
/// The proptest seed of the default case sequence.
const FIXED_SEED: u64 = 0x0D51_3A5E;
/// Most faults in one schedule.
const MAX_FAULTS: usize = 10;
/// How long proptest may shrink a failing case unless `PROPTEST_MAX_SHRINK_TIME` (in
/// milliseconds) says otherwise: a case whose history is not linearizable can take the checker
/// a while, and shrinking tries hundreds of cases.
const MAX_SHRINK_MS: u32 = 5 * 60 * 1000;

fn config() -> Config {
    let cases = match std::env::var("DSIM_PROPTEST_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("DSIM_PROPTEST_CASES={v:?}: expected a number of cases")),
        Err(_) => DEFAULT_CASES,
    };
    let mut config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(FIXED_SEED);
    }
    if std::env::var_os("PROPTEST_MAX_SHRINK_TIME").is_none() {
        config.max_shrink_time = MAX_SHRINK_MS;
    }
    config
}

/// Where a failing case is written (under `target/`, never in the source tree).
fn failure_file() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("raft-props-failure.toml")
}

/// Runs one case; `Err` lists what broke, followed by the scenario and how to rerun it.
fn check(case: &RaftCase) -> Result<(), TestCaseError> {
    let text = case.to_toml();
    let scenario = Scenario::parse(Path::new("raft-props.toml"), &text).map_err(|e| {
        TestCaseError::fail(format!(
            "the generated scenario does not parse: {e}\n{text}"
        ))
    })?;
    let (_, summary) = sim_models::run(&scenario, &Overrides::default()).map_err(|e| {
        TestCaseError::fail(format!(
            "the generated scenario does not build: {e}\n{text}"
        ))
    })?;
    let mut broken: Vec<String> = summary
        .violations
        .iter()
        .map(|v| {
            format!(
                "invariant violated at {} on node #{}: {}",
                v.time, v.node.0, v.detail
            )
        })
        .collect();
    if summary.outcome.hit_bound() {
        broken.push(format!("the run hit a bound: {:?}", summary.outcome));
    }
    match &summary.linearizability {
        Some(l) if l.verdict == "linearizable" => {}
        Some(l) => broken.push(format!(
            "linearizability: {} ({} operations, {} steps)\n{}",
            l.verdict,
            l.operations,
            l.steps,
            l.report.trim_end()
        )),
        None => broken.push("no register operation was recorded: nothing was checked".into()),
    }
    if broken.is_empty() {
        return Ok(());
    }
    let path = failure_file();
    let written = std::fs::write(&path, &text).map_or_else(
        |e| format!("(could not write {}: {e})", path.display()),
        |()| format!("written to {}", path.display()),
    );
    Err(TestCaseError::fail(format!(
        "{}\n\nseed {}, trace hash {}; the scenario ({written}):\n\n{text}\nreproduce: dsim run {} --seed {}\n",
        broken.join("\n"),
        summary.seed,
        summary.trace_hash,
        path.display(),
        summary.seed,
    )))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn raft_keeps_its_invariants_and_stays_linearizable_under_any_fault_schedule(
        case in raft_case(MAX_FAULTS)
    ) {
        check(&case)?;
    }
}

#[test]
fn every_fault_kind_renders_to_a_scenario_the_parser_accepts() {
    use crate::strategies::{Fault, Schedule, Timed};
    use proptest::strategy::ValueTree;
    let runner_case = |faults: Vec<Fault>| {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut case = raft_case(0)
            .new_tree(&mut runner)
            .expect("a case")
            .current();
        case.schedule = Schedule {
            faults: faults
                .into_iter()
                .enumerate()
                .map(|(i, fault)| Timed {
                    at_permille: (i * 90) as u16,
                    fault,
                })
                .collect(),
        };
        case
    };
    let mut groups = [0u8; 8];
    groups[1] = 1;
    groups[6] = 2;
    let mut sides = [0u8; 8];
    sides[0] = 1;
    sides[3] = 2;
    let case = runner_case(vec![
        Fault::Partition { groups },
        Fault::Isolate { node: 6 },
        Fault::Block { sides },
        Fault::Heal,
        Fault::CrashRestart {
            server: 7,
            down_ms: 100,
        },
        Fault::Pause {
            server: 1,
            for_ms: 100_000,
        },
        Fault::ClockJump {
            node: 2,
            by_ms: -1500,
        },
        Fault::Drift { node: 3, ppm: 2000 },
        Fault::LatencySpike {
            extra_ms: 30,
            for_ms: 500,
        },
        Fault::LossBurst {
            loss_pct: 40,
            for_ms: 500,
        },
        // Degenerate shapes are left out: one group is no partition, a block needs both sides.
        Fault::Partition { groups: [2; 8] },
        Fault::Block { sides: [1; 8] },
    ]);
    let text = case.to_toml();
    let scenario = Scenario::parse(Path::new("raft-props.toml"), &text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let kinds: Vec<&str> = scenario.faults.iter().map(|f| f.action.kind()).collect();
    assert_eq!(
        kinds,
        [
            "partition",
            "isolate",
            "block",
            "heal",
            "crash",
            "restart",
            "pause",
            "clock-jump",
            "drift",
            "latency-spike",
            "loss-burst",
            "heal",
            "resume",
            "resume",
            "resume",
            "resume",
            "resume",
            "restart",
            "restart",
            "restart",
            "restart",
            "restart",
        ],
        "{text}"
    );
    assert!(
        text.contains("crash = \"kv3\""),
        "server 7 wraps to kv3:\n{text}"
    );
    assert!(text.contains("pause = \"kv2\""), "{text}");
}

/// Runs a scenario of `tests/it/repro`.
fn run_repro(file: &str) -> sim_models::RunSummary {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/repro")
        .join(file);
    let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    sim_models::run(&scenario, &Overrides::default())
        .expect("builds")
        .1
}

/// Regression: the property found the invariant checker reporting a Leader Completeness
/// breach for a leader of an old term elected (from delayed votes) after a newer term had
/// committed an entry; Raft allows that, and the checker now asks only leaders of later terms.
#[test]
fn a_leader_of_an_old_term_elected_after_a_newer_commit_is_no_breach() {
    let summary = run_repro("leader-of-older-term.toml");
    assert!(summary.passed(), "{:?}", summary.failures());
}

/// A history the property found that the checker cannot decide within its budget (see the
/// scenario's description). Not a Raft bug: the run reports no violation. Ignored until the
/// checker decides it; then it guards the improvement.
#[test]
#[ignore = "the linearizability checker runs out of budget on this burst (verdict unknown)"]
fn checker_decides_a_burst_of_concurrent_writes_after_a_partition() {
    let summary = run_repro("checker-burst.toml");
    assert!(summary.violations.is_empty(), "{:?}", summary.violations);
    let verdict = summary.linearizability.map(|l| l.verdict);
    assert_eq!(verdict.as_deref(), Some("linearizable"));
}
