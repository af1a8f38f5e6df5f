//! Properties of the engine, the lock service and the network model, over generated cases
//! (strategies in [`crate::strategies`]):
//!
//! * the engine is deterministic for any input: a case run twice, and its `--print-config`
//!   form run once more, give one trace hash;
//! * a fencing store keeps mutual exclusion under any fault schedule;
//! * the network keeps its bounds: the loss rate over many messages is the configured one
//!   (within five standard deviations), nothing is delivered across a partition, and FIFO
//!   links deliver in send order.
//!
//! Every case is a scenario file; a failing one is written to `target/tmp/props-<name>.toml`
//! and the message gives the `dsim run` line that replays it. Proptest shrinks the fault
//! schedule (fewer, milder faults), not only the seed. Cases per `cargo test` are small;
//! `DSIM_PROPTEST_CASES=N` runs N of each.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError};
use sim_core::testing::expect_metric;
use sim_core::trace::TraceKind;
use sim_core::{DropReason, FaultAction, NodeId, SimTime, Simulation};
use sim_models::{Overrides, RunSummary, Scenario, World};

use crate::strategies::{LockCase, NetCase, cases, lock_case, net_case, raft_case};

fn config(default_cases: u32) -> Config {
    let mut config = Config {
        cases: cases(default_cases),
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(0x5EED_5EED);
    }
    config
}

/// Where a failing case of `name` is written (under `target/`, never in the source tree).
fn failure_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("props-{name}.toml"))
}

/// A failure: what broke, the scenario written out, and how to replay it.
fn fail(name: &str, text: &str, seed: u64, what: String) -> TestCaseError {
    let path = failure_file(name);
    let written = std::fs::write(&path, text).map_or_else(
        |e| format!("could not write {}: {e}", path.display()),
        |()| format!("written to {}", path.display()),
    );
    TestCaseError::fail(format!(
        "{what}\n\nthe scenario ({written}):\n\n{text}\nreproduce: dsim run {} --seed {seed} --trace trace.jsonl\n",
        path.display()
    ))
}

fn parse(name: &str, text: &str, seed: u64) -> Result<Scenario, TestCaseError> {
    Scenario::parse(Path::new(&format!("props-{name}.toml")), text).map_err(|e| {
        fail(
            name,
            text,
            seed,
            format!("the generated scenario does not parse: {e}"),
        )
    })
}

fn run(s: &Scenario) -> (Simulation<World>, RunSummary) {
    sim_models::run(s, &Overrides::default()).expect("builds")
}

proptest! {
    #![proptest_config(config(12))]

    #[test]
    fn the_engine_is_deterministic_for_any_input(case in raft_case(6)) {
        let text = case.to_toml();
        let s = parse("determinism", &text, case.seed)?;
        let (_, a) = run(&s);
        let (_, b) = run(&s);
        let printed = Scenario::parse(Path::new("printed.toml"), &s.to_toml(&Overrides::default()))
            .map_err(|e| fail("determinism", &text, case.seed, format!("--print-config does not parse: {e}")))?;
        let (_, c) = run(&printed);
        if a.trace_hash != b.trace_hash || a.trace_hash != c.trace_hash {
            return Err(fail("determinism", &text, case.seed, format!(
                "one scenario and seed gave trace hashes {}, {} and (printed) {}",
                a.trace_hash, b.trace_hash, c.trace_hash
            )));
        }
    }
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn a_fencing_store_keeps_mutual_exclusion_under_any_schedule(case in lock_case(8)) {
        check_lock(&case)?;
    }

    #[test]
    fn the_loss_rate_is_the_configured_one(case in net_case(0)) {
        check_loss(&case)?;
    }

    #[test]
    fn nothing_is_delivered_across_a_partition(case in net_case(8)) {
        check_partitions(&case)?;
    }

    #[test]
    fn fifo_links_deliver_in_send_order(mut case in net_case(4)) {
        case.fifo = true;
        check_fifo(&case)?;
    }
}

fn check_lock(case: &LockCase) -> Result<(), TestCaseError> {
    let text = case.to_toml();
    let s = parse("lock", &text, case.seed)?;
    let (_, summary) = run(&s);
    // A missing metric is a broken test, not a broken lock service: it panics as such.
    let fenced = expect_metric(&summary.metrics, "mutual_exclusion.fenced");
    if !summary.violations.is_empty() || fenced != 1.0 || summary.outcome.hit_bound() {
        return Err(fail(
            "lock",
            &text,
            case.seed,
            format!("mutual exclusion broke: {:?}", summary.failures()),
        ));
    }
    Ok(())
}

/// Sends, and the messages dropped as partitioned at the moment they were sent (those never
/// reach the loss draw).
fn send_times(sim: &Simulation<World>) -> BTreeMap<u64, (SimTime, NodeId, NodeId)> {
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Send { msg, from, to, .. } => Some((msg, (e.time, from, to))),
            _ => None,
        })
        .collect()
}

fn check_loss(case: &NetCase) -> Result<(), TestCaseError> {
    let text = case.to_toml();
    let s = parse("loss", &text, case.seed)?;
    let (sim, _) = run(&s);
    let sends = send_times(&sim);
    let (mut lost, mut cut_at_send) = (0u64, 0u64);
    for e in sim.trace().events() {
        if let TraceKind::Drop { msg, reason, .. } = e.kind {
            match reason {
                DropReason::Loss => lost += 1,
                DropReason::Partition if sends.get(&msg).is_some_and(|s| s.0 == e.time) => {
                    cut_at_send += 1;
                }
                _ => {}
            }
        }
    }
    let n = sends.len() as u64 - cut_at_send;
    let p = f64::from(case.loss_permille) / 1000.0;
    let observed = lost as f64 / n as f64;
    let tolerance = 5.0 * (p * (1.0 - p) / n as f64).sqrt() + 1.0 / n as f64;
    if n < 5_000 || (observed - p).abs() > tolerance {
        return Err(fail(
            "loss",
            &text,
            case.seed,
            format!("{lost} of {n} messages lost ({observed:.4}), configured {p} ± {tolerance:.4}"),
        ));
    }
    Ok(())
}

/// The directed edges a run's partitions cut at each moment: (time, cut edges after it).
fn cuts_over_time(s: &Scenario) -> Vec<(SimTime, Vec<(NodeId, NodeId)>)> {
    let mut cut: Vec<(NodeId, NodeId)> = Vec::new();
    let mut out = Vec::new();
    for f in &s.faults {
        match &f.action {
            FaultAction::Partition(groups) => {
                for (i, g) in groups.iter().enumerate() {
                    for (j, h) in groups.iter().enumerate() {
                        if i != j {
                            cut.extend(g.iter().flat_map(|&a| h.iter().map(move |&b| (a, b))));
                        }
                    }
                }
            }
            FaultAction::Heal => cut.clear(),
            _ => continue,
        }
        out.push((f.at, cut.clone()));
    }
    out
}

fn check_partitions(case: &NetCase) -> Result<(), TestCaseError> {
    let text = case.to_toml();
    let s = parse("partition", &text, case.seed)?;
    let changes = cuts_over_time(&s);
    let (sim, _) = run(&s);
    let names = sim.node_names();
    for e in sim.trace().events() {
        let TraceKind::Deliver { msg, from, to, .. } = e.kind else {
            continue;
        };
        // A delivery at the very instant of a change may be ordered either side of it.
        if changes.iter().any(|(t, _)| *t == e.time) {
            continue;
        }
        let in_force = changes.iter().rev().find(|(t, _)| *t < e.time);
        if in_force.is_some_and(|(_, cut)| cut.contains(&(from, to))) {
            return Err(fail(
                "partition",
                &text,
                case.seed,
                format!(
                    "message {msg} from {} to {} was delivered at {} across a partition",
                    names[from.index()],
                    names[to.index()],
                    e.time
                ),
            ));
        }
    }
    Ok(())
}

fn check_fifo(case: &NetCase) -> Result<(), TestCaseError> {
    let text = case.to_toml();
    let s = parse("fifo", &text, case.seed)?;
    let (sim, _) = run(&s);
    let names = sim.node_names();
    // Message ids grow in send order, so on each link deliveries must see them grow.
    let mut last: BTreeMap<(NodeId, NodeId), u64> = BTreeMap::new();
    for e in sim.trace().events() {
        let TraceKind::Deliver { msg, from, to, .. } = e.kind else {
            continue;
        };
        if let Some(&before) = last.get(&(from, to))
            && msg < before
        {
            return Err(fail(
                "fifo",
                &text,
                case.seed,
                format!(
                    "on the FIFO link {} -> {}, message {msg} was delivered after message {before}, sent later",
                    names[from.index()],
                    names[to.index()]
                ),
            ));
        }
        last.insert((from, to), msg);
    }
    Ok(())
}

/// The FIFO property is not vacuous: the same kind of links without FIFO do reorder.
#[test]
fn links_without_fifo_do_reorder() {
    let case = NetCase {
        seed: 1,
        latency: crate::strategies::Latency::Exponential { mean_us: 5_000 },
        loss_permille: 0,
        fifo: false,
        cuts: crate::strategies::Schedule::default(),
    };
    let s = Scenario::parse(Path::new("reorder.toml"), &case.to_toml()).expect("valid");
    let (sim, _) = run(&s);
    let mut last: BTreeMap<(NodeId, NodeId), u64> = BTreeMap::new();
    let mut reordered = 0;
    for e in sim.trace().events() {
        if let TraceKind::Deliver { msg, from, to, .. } = e.kind {
            if last.get(&(from, to)).is_some_and(|&b| msg < b) {
                reordered += 1;
            }
            last.insert((from, to), msg);
        }
    }
    assert!(reordered > 100, "only {reordered} reordered deliveries");
    assert!(check_fifo(&NetCase { fifo: true, ..case }).is_ok());
}
