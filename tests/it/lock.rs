//! The lock service end to end: the shipped lock scenarios' stories, their counterfactuals, and
//! mutual exclusion on a fencing store under random faults.

use std::path::Path;

use sim_core::testing::{expect_annotation, expect_counter, expect_metric};
use sim_core::{FaultAction, NodeId, NodeStatus, SimTime, Simulation};
use sim_models::world::Durable;
use sim_models::{Overrides, RunSummary, Scenario, World};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn shipped(name: &str) -> String {
    std::fs::read_to_string(root().join("scenarios/lock").join(name)).expect("readable")
}

fn scenario(text: &str) -> Scenario {
    Scenario::parse(Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

fn run(text: &str, seed: Option<u64>) -> RunSummary {
    let overrides = Overrides {
        seed,
        ..Overrides::default()
    };
    sim_models::run(&scenario(text), &overrides)
        .expect("builds")
        .1
}

/// The metric `name` of a run; a name the table does not have fails the test.
fn metric(s: &RunSummary, name: &str) -> f64 {
    expect_metric(&s.metrics, name)
}

/// The `[expect]` table dropped (for variants whose story differs).
fn without_expectations(text: &str) -> String {
    let at = text.find("[expect]").expect("has [expect]");
    format!("{}[expect]\nviolations = 0\n", &text[..at])
}

#[test]
fn a_paused_holder_is_caught_by_the_fencing_store_and_reported_on_the_plain_one() {
    let s = run(&shipped("lease-pause.toml"), None);
    assert!(s.passed(), "{:?}", s.failures());
    let plain = s
        .verdicts
        .iter()
        .find(|v| v.check == "mutual exclusion on plain")
        .expect("a verdict for plain");
    assert!(!plain.holds);
    // The report names both writers, their tokens and true times, and how c1's grant ended.
    for needle in [
        "two writers: a write with token 3 was accepted after one with token 50",
        "c2 wrote",
        "c1 wrote",
        "sent at 7s",
        "NOT the holder",
        "lease expired at index",
    ] {
        assert!(
            plain.report.contains(needle),
            "{needle:?} in {}",
            plain.report
        );
    }
    let fenced = s
        .verdicts
        .iter()
        .find(|v| v.check == "mutual exclusion on fenced")
        .expect("a verdict for fenced");
    assert!(fenced.holds && fenced.report.is_empty(), "{fenced:?}");
}

#[test]
fn with_a_correct_clock_the_cut_off_holder_stops_in_time() {
    // lock/lease-skew without the slow clock: the holder's own check ends its writes before
    // the leader expires the lease, so neither store sees a late write.
    let text =
        without_expectations(&shipped("lease-skew.toml")).replace("ppm = -500000", "ppm = 0");
    let s = run(&text, None);
    assert!(s.passed(), "{:?}", s.failures());
    assert_eq!(metric(&s, "mutual_exclusion.plain"), 1.0);
    assert_eq!(metric(&s, "stale_writes.plain"), 0.0);
    assert_eq!(metric(&s, "stale_writes.fenced"), 0.0);
    assert_eq!(
        metric(&s, "lost_lease.c1"),
        1.0,
        "it gave the lock up itself"
    );
    assert_eq!(metric(&s, "store.rejected_stale"), 0.0);
}

#[test]
fn the_fence_survives_a_crash_of_the_store() {
    // The fenced store crashes after c2's writes and comes back before c1 wakes up: the
    // highest token was synced, so c1's stale write is still refused.
    let text = shipped("lease-pause.toml").replace(
        "[expect]",
        "[[faults]]\nat = \"6s\"\ncrash = \"fenced1\"\n\n[[faults]]\nat = \"6.5s\"\nrestart = \"fenced1\"\n\n[expect]",
    );
    let s = run(&text, None);
    assert!(s.passed(), "{:?}", s.failures());
    assert_eq!(metric(&s, "store.rejected_stale.fenced"), 1.0);
}

/// The running node of `cluster` that annotates itself leader.
fn leader_of(sim: &Simulation<World>, cluster: &str) -> Option<NodeId> {
    sim.cluster_nodes(cluster)
        .into_iter()
        .filter(|&n| sim.status(n) == Some(NodeStatus::Up))
        .find(|&n| expect_annotation(sim, n, "role") == "leader")
}

const ONE_CLIENT: &str = r#"name = "t"
description = "t"
seed = 3
duration = "12s"

[network]
latency = "uniform(1ms, 5ms)"

[[cluster]]
name = "kv"
model = "raft-kv"
nodes = 3
snapshot_every = 10

[[cluster]]
name = "store"
model = "fenced-store"

[[cluster]]
name = "c"
model = "lock-client"
target = "kv"
stores = ["store"]
ttl = "2s"
hold = "60s"

[expect]
violations = 0
"#;

#[test]
fn a_lease_outlives_a_leader_crash() {
    // A new leader gives every lease a fresh TTL on its own clock: the holder's keep-alives
    // reach it in time, and it keeps the lock with the same token.
    let scenario = scenario(ONE_CLIENT);
    let mut sim = scenario.build(&Overrides::default()).expect("builds");
    sim.run_until(SimTime(2_000_000_000));
    let client = sim.node_by_name("c1").expect("c1");
    let token = expect_annotation(&sim, client, "token").to_owned();
    assert_ne!(token, "none", "c1 holds the lock at 2 s");
    let leader = leader_of(&sim, "kv").expect("a leader");
    sim.apply(FaultAction::Crash(leader));
    sim.run();
    assert!(sim.violations().is_empty(), "{:?}", sim.violations());
    assert_eq!(expect_annotation(&sim, client, "token"), token);
    assert_eq!(expect_counter(&sim, client, "lost_lease"), 0);
    assert_eq!(expect_counter(&sim, client, "acquired"), 1);
    let new_leader = leader_of(&sim, "kv").expect("a new leader");
    assert_ne!(new_leader, leader);
}

#[test]
fn a_follower_catches_up_by_snapshot_with_the_lease_table() {
    // kv3 is cut off while the log is compacted every 10 entries: it comes back through
    // InstallSnapshot, and the snapshot it stores carries the client's lease and lock.
    let scenario = scenario(ONE_CLIENT);
    let mut sim = scenario.build(&Overrides::default()).expect("builds");
    let kv3 = sim.node_by_name("kv3").expect("kv3");
    sim.run_until(SimTime(1_000_000_000));
    sim.apply(FaultAction::Isolate(kv3));
    sim.run_until(SimTime(6_000_000_000));
    sim.apply(FaultAction::Heal);
    sim.run();
    assert!(sim.violations().is_empty(), "{:?}", sim.violations());
    assert!(expect_counter(&sim, kv3, "snapshots_installed") >= 1);
    let Some(Durable::RaftSnapshot(snap)) = sim.storage(kv3).and_then(|s| s.get("snapshot")) else {
        panic!("kv3 stores a snapshot");
    };
    let client = sim.node_by_name("c1").expect("c1");
    let locks = &snap.state.machine.locks;
    let holder = locks.holder("lock").expect("the lock is held");
    assert_eq!(
        expect_annotation(&sim, client, "token"),
        holder.token.to_string()
    );
    let lease = locks.lease(holder.lease).expect("its lease");
    assert_eq!(lease.owner, client);
}

const STRESS: &str = r#"name = "stress"
description = "random faults against the lock service, its clients and the stores"
duration = "30s"

[network]
latency = "uniform(1ms, 10ms)"
loss = 0.01
duplicate = 0.01

[clocks]
offset = "uniform(-50ms, 50ms)"
drift_ppm = "uniform(-200, 200)"

[[cluster]]
name = "kv"
model = "raft-kv"
nodes = 3
snapshot_every = 20

[[cluster]]
name = "plain"
model = "fenced-store"
fencing = false

[[cluster]]
name = "fenced"
model = "fenced-store"
nodes = 2

[[cluster]]
name = "c"
model = "lock-client"
nodes = 3
target = "kv"
stores = ["plain", "fenced"]
ttl = "1s"
hold = "2s"
work = "50ms"
idle = "200ms"

[nemesis]
kinds = ["crash", "pause", "partition", "isolate", "clock-jump", "loss-burst"]
interval = "exponential(2s)"
duration = "uniform(500ms, 3s)"
targets = ["kv", "fenced", "plain", "c"]

[expect]
violations = 0
"mutual_exclusion.fenced" = true
"#;

#[test]
fn a_fencing_store_keeps_mutual_exclusion_under_random_faults() {
    for seed in 0..16 {
        let s = run(STRESS, Some(seed));
        assert!(s.passed(), "seed {seed}: {:?}", s.failures());
        assert!(metric(&s, "acquired") >= 5.0, "seed {seed}: the lock moves");
        assert!(
            metric(&s, "store.accepted.fenced") >= 50.0,
            "seed {seed}: the fenced stores are written"
        );
    }
}
