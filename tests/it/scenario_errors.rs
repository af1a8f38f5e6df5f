//! Every bad input gives a located error that names the key and says what was expected.

use std::path::Path;

use sim_models::{Scenario, ScenarioError};

const GOOD: &str = r#"name = "t"
description = "a test"
duration = "60s"

[network]
latency = "uniform(1ms, 5ms)"
loss = 0.01

[[cluster]]
name = "srv"
model = "echo"
nodes = 3

[[cluster]]
name = "c"
model = "pinger"
nodes = 2
target = "srv"
timeout = "1s"

[[faults]]
at = "10s"
partition = [["srv1", "c1"], ["srv2", "srv3", "c2"]]

[[faults]]
at = "20s"
heal = "all"
"#;

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::parse(Path::new("bad.toml"), text)
}

/// Parses `text` (which must fail) and checks line, key and message.
#[track_caller]
fn fails(text: &str, line: usize, key: &str, message: &str) -> ScenarioError {
    let e = match parse(text) {
        Ok(_) => panic!("expected an error containing {message:?}"),
        Err(e) => e,
    };
    assert_eq!(e.file, Path::new("bad.toml"));
    assert!(
        e.message.contains(message),
        "message {:?} lacks {message:?}",
        e.message
    );
    assert_eq!(e.key, key, "key of {:?}", e.message);
    assert_eq!(e.line, line, "line of {:?}", e.message);
    assert!(e.column >= 1);
    e
}

/// Replaces the first occurrence of `from` in the good scenario.
fn good_with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from:?} not in the good scenario");
    GOOD.replacen(from, to, 1)
}

#[test]
fn the_good_scenario_parses() {
    let s = parse(GOOD).expect("valid");
    assert_eq!(s.nodes.len(), 5);
    assert_eq!(s.faults.len(), 2);
}

#[test]
fn toml_syntax_error() {
    let e = fails(
        &good_with("name = \"t\"", "name = \"t"),
        1,
        "",
        "invalid basic string",
    );
    assert_eq!(e.column, 10, "the string runs to the end of the line");
}

#[test]
fn unknown_top_level_key() {
    fails(
        &good_with("duration = \"60s\"", "durration = \"60s\""),
        3,
        "durration",
        "unknown field `durration`",
    );
}

#[test]
fn missing_duration() {
    fails(
        &good_with("duration = \"60s\"\n", ""),
        1,
        "duration",
        "missing field `duration`",
    );
}

#[test]
fn unknown_duration_unit() {
    fails(
        &good_with("duration = \"60s\"", "duration = \"60 sec\""),
        3,
        "duration",
        "unknown unit \"sec\"",
    );
}

#[test]
fn negative_duration() {
    fails(
        &good_with("duration = \"60s\"", "duration = \"-60s\""),
        3,
        "duration",
        "cannot be negative",
    );
}

#[test]
fn probability_outside_unit_interval() {
    fails(
        &good_with("loss = 0.01", "loss = 1.5"),
        7,
        "network.loss",
        "probability 1.5 is outside [0, 1]",
    );
}

#[test]
fn bad_distribution_arity() {
    fails(
        &good_with("uniform(1ms, 5ms)", "uniform(5ms)"),
        6,
        "network.latency",
        "uniform takes 2 arguments",
    );
}

#[test]
fn reversed_uniform_bounds() {
    fails(
        &good_with("uniform(1ms, 5ms)", "uniform(5ms, 1ms)"),
        6,
        "network.latency",
        "uniform",
    );
}

#[test]
fn unknown_model() {
    fails(
        &good_with("model = \"echo\"", "model = \"ekko\""),
        11,
        "cluster[0].model",
        "unknown model \"ekko\": expected one of echo, pinger",
    );
}

#[test]
fn unknown_model_key() {
    fails(
        &good_with("timeout = \"1s\"", "timout = \"1s\""),
        19,
        "cluster[1].timout",
        "unknown key for model \"pinger\"",
    );
}

#[test]
fn model_key_of_wrong_type() {
    fails(
        &good_with("timeout = \"1s\"", "timeout = true"),
        19,
        "cluster[1].timeout",
        "invalid type",
    );
}

#[test]
fn client_targets_unknown_cluster() {
    fails(
        &good_with("target = \"srv\"", "target = \"db\""),
        18,
        "cluster[1].target",
        "unknown cluster \"db\"",
    );
}

#[test]
fn zero_nodes() {
    fails(
        &good_with("nodes = 3", "nodes = 0"),
        12,
        "cluster[0].nodes",
        "nodes must be between 1 and 10000",
    );
}

#[test]
fn nodes_of_wrong_type() {
    fails(
        &good_with("nodes = 3", "nodes = \"three\""),
        12,
        "cluster[0].nodes",
        "invalid type",
    );
}

#[test]
fn unknown_node_in_partition() {
    let e = fails(
        &good_with("\"srv3\", \"c2\"]]", "\"srv9\", \"c2\"]]"),
        23,
        "faults[0].partition[1][1]",
        "unknown node \"srv9\" in faults[0].partition",
    );
    assert!(
        e.message.contains("srv1"),
        "lists known nodes: {}",
        e.message
    );
}

#[test]
fn fault_after_the_end() {
    fails(
        &good_with("at = \"20s\"", "at = \"90s\""),
        26,
        "faults[1].at",
        "fault at 90s is after the end of the run (1m)",
    );
}

#[test]
fn fault_with_two_actions() {
    fails(
        &good_with("heal = \"all\"", "heal = \"all\"\ncrash = \"srv1\""),
        25,
        "faults[1]",
        "exactly one action",
    );
}

#[test]
fn fault_without_action() {
    fails(
        &good_with("heal = \"all\"\n", ""),
        25,
        "faults[1]",
        "a fault needs one action",
    );
}

#[test]
fn heal_with_a_bad_value() {
    fails(
        &good_with("heal = \"all\"", "heal = \"some\""),
        27,
        "faults[1].heal",
        "heal takes \"all\"",
    );
}

#[test]
fn partition_with_one_group() {
    fails(
        &good_with(
            "partition = [[\"srv1\", \"c1\"], [\"srv2\", \"srv3\", \"c2\"]]",
            "partition = [[\"srv1\", \"c1\"]]",
        ),
        21,
        "faults[0].partition",
        "at least two groups",
    );
}

#[test]
fn missing_clusters() {
    let text: String = GOOD
        .split("[[cluster]]")
        .next()
        .unwrap_or_default()
        .to_owned();
    fails(&text, 1, "cluster", "at least one [[cluster]]");
}

#[test]
fn duplicate_cluster_names() {
    fails(
        &good_with("name = \"c\"", "name = \"srv\""),
        1,
        "cluster[1].name",
        "two clusters are named \"srv\"",
    );
}

#[test]
fn unknown_zone_in_override() {
    let text = good_with(
        "loss = 0.01",
        "loss = 0.01\n[[network.zones]]\nbetween = [\"eu\", \"us\"]\nlatency = \"80ms\"",
    );
    fails(
        &text,
        9,
        "network.zones[0].between[0]",
        "unknown zone \"eu\"",
    );
}

#[test]
fn unknown_node_in_clocks() {
    let text = good_with(
        "loss = 0.01",
        "loss = 0.01\n[clocks.nodes.srv7]\noffset = \"5ms\"",
    );
    fails(
        &text,
        8,
        "clocks.nodes.srv7",
        "unknown node \"srv7\" in [clocks.nodes]",
    );
}

#[test]
fn unknown_nemesis_kind() {
    let text = format!("{GOOD}\n[nemesis]\nkinds = [\"meteor\"]\n");
    fails(&text, 30, "nemesis.kinds[0]", "unknown variant `meteor`");
}

#[test]
fn expectation_with_unknown_bound() {
    let text = format!("{GOOD}\n[expect]\n\"availability.c\" = {{ minimum = 0.5 }}\n");
    fails(
        &text,
        30,
        "expect.availability.c",
        "unknown bound `minimum`",
    );
}

#[test]
fn expectation_with_a_backwards_window() {
    let text = format!("{GOOD}\n[expect]\n\"availability.c1@30s..10s\" = {{ max = 0.1 }}\n");
    fails(&text, 30, "expect.availability.c1@30s..10s", "is empty");
}

#[test]
fn window_on_a_metric_that_has_none() {
    let text = format!("{GOOD}\n[expect]\n\"pongs@0s..10s\" = {{ min = 1 }}\n");
    fails(&text, 30, "expect.pongs@0s..10s", "only operation metrics");
}

#[test]
fn invalid_cluster_name() {
    fails(
        &good_with("name = \"srv\"", "name = \"1srv\""),
        10,
        "cluster[0].name",
        "must be letters, digits",
    );
}

#[test]
fn clock_jump_without_unit() {
    let text = good_with(
        "heal = \"all\"",
        "clock_jump = { node = \"srv1\", by = \"-2\" }",
    );
    fails(&text, 27, "faults[1].clock_jump.by", "unit");
}

#[test]
fn errors_render_with_file_line_and_column() {
    let e = parse(&good_with("loss = 0.01", "loss = -1")).expect_err("invalid");
    let shown = e.to_string();
    assert!(
        shown.starts_with("bad.toml:7:8: network.loss: probability -1 is outside"),
        "{shown}"
    );
}

#[test]
fn zero_interval_would_spin_forever() {
    let text = good_with("timeout = \"1s\"", "timeout = \"1s\"\ninterval = \"0s\"");
    fails(
        &text,
        20,
        "cluster[1].interval",
        "interval 0ns must have a mean above 0",
    );
}

#[test]
fn too_many_nodes() {
    let text = good_with("nodes = 3", "nodes = 9999");
    fails(
        &text,
        1,
        "cluster",
        "the scenario has 10001 nodes; at most 10000",
    );
}

/// A lock service, a store and lock clients; `CLIENT` is replaced by extra client keys.
const LOCK: &str = r#"name = "t"
description = "a test"
duration = "10s"

[[cluster]]
name = "kv"
model = "raft-kv"
nodes = 3

[[cluster]]
name = "store"
model = "fenced-store"

[[cluster]]
name = "c"
model = "lock-client"
nodes = 2
target = "kv"
stores = ["store"]
CLIENT
"#;

fn lock_with(client: &str) -> String {
    LOCK.replace("CLIENT", client)
}

#[test]
fn the_lock_scenario_parses() {
    let s = parse(&lock_with("")).expect("valid");
    assert_eq!(s.nodes.len(), 6);
}

#[test]
fn zero_lease_ttl() {
    fails(
        &lock_with("ttl = \"0s\""),
        20,
        "cluster[2].ttl",
        "expected a duration longer than 0, got 0s",
    );
}

#[test]
fn keepalive_no_shorter_than_the_ttl() {
    fails(
        &lock_with("ttl = \"1s\"\nkeepalive_every = \"1s\""),
        21,
        "cluster[2].keepalive_every",
        "must be above 0 and shorter than ttl (1s)",
    );
}

#[test]
fn unknown_store_cluster() {
    let text = lock_with("").replace("stores = [\"store\"]", "stores = [\"store\", \"nas\"]");
    fails(
        &text,
        19,
        "cluster[2].stores[1]",
        "unknown cluster \"nas\": expected one of kv, store, c (clusters that do: store)",
    );
}

#[test]
fn the_lock_service_is_not_a_store() {
    let text = lock_with("").replace("stores = [\"store\"]", "stores = [\"kv\"]");
    fails(
        &text,
        19,
        "cluster[2].stores[0]",
        "cluster \"kv\" runs model \"raft-kv\", which serves kv and lock; a lock-client's stores[0] must serve store (clusters that do: store)",
    );
}

#[test]
fn a_kv_client_aimed_at_an_echo_cluster_names_what_the_cluster_serves() {
    // The target exists but speaks another protocol: the error is at the key and says what
    // the cluster serves, what was needed, and which clusters would do.
    let text = GOOD.replace(
        "model = \"pinger\"\nnodes = 2\ntarget = \"srv\"\ntimeout = \"1s\"",
        "model = \"kv-client\"\nnodes = 2\ntarget = \"srv\"\ntimeout = \"1s\"",
    );
    fails(
        &text,
        18,
        "cluster[1].target",
        "cluster \"srv\" runs model \"echo\", which serves ping; a kv-client's target must serve kv (no cluster of this scenario serves kv)",
    );
}

#[test]
fn a_pinger_aimed_at_a_client_cluster_is_refused() {
    let text = format!("{GOOD}\n[[cluster]]\nname = \"p\"\nmodel = \"pinger\"\ntarget = \"c\"\n");
    fails(
        &text,
        32,
        "cluster[2].target",
        "cluster \"c\" runs model \"pinger\", which serves nothing; a pinger's target must serve ping (clusters that do: srv)",
    );
}

#[test]
fn fencing_takes_a_boolean() {
    let text = lock_with("").replace(
        "model = \"fenced-store\"",
        "model = \"fenced-store\"\nfencing = \"yes\"",
    );
    fails(&text, 13, "cluster[1].fencing", "invalid type");
}

/// The good scenario with `extra` inserted after its `duration` line (top-level keys).
fn top_with(extra: &str) -> String {
    GOOD.replace(
        "duration = \"60s\"\n",
        &format!("duration = \"60s\"\n{extra}\n"),
    )
}

#[test]
fn unknown_bug_lists_the_catalog() {
    let e = fails(
        &top_with("bugs = [\"raft.vote-not-persisted\", \"raft.typo\"]"),
        4,
        "bugs",
        "unknown bug \"raft.typo\": expected one of raft.vote-not-persisted, raft.commit-old-term",
    );
    assert!(
        e.message.contains("lock.no-fencing-tokens"),
        "{}",
        e.message
    );
    assert_eq!(e.column, 36, "points at the bad name");
}

#[test]
fn known_bugs_parse() {
    let s = parse(&top_with("bugs = [\"raft.vote-not-persisted\"]")).expect("valid");
    assert!(s.bugs.has(&sim_models::raft::VOTE_NOT_PERSISTED));
    assert!(!s.bugs.has(&sim_models::raft::COMMIT_OLD_TERM));
}

#[test]
fn liveness_deadline_after_the_end() {
    fails(
        &format!("{GOOD}\n[liveness]\nafter = \"50s\"\nwithin = \"20s\"\n"),
        31,
        "liveness.within",
        "the quiet phase's deadline (50s + 20s) is after the end of the run (1m)",
    );
}

#[test]
fn fault_inside_the_quiet_phase() {
    fails(
        &format!("{GOOD}\n[liveness]\nafter = \"15s\"\nwithin = \"10s\"\n"),
        26,
        "faults[1].at",
        "fault at 20s falls in the quiet phase",
    );
}

#[test]
fn liveness_needs_both_keys() {
    fails(
        &format!("{GOOD}\n[liveness]\nafter = \"15s\"\n"),
        29,
        "liveness.within",
        "missing field `within`",
    );
}

#[test]
fn swarm_with_unknown_kind() {
    fails(
        &format!("{GOOD}\n[swarm]\nkinds = [\"crash\", \"meteor\"]\n"),
        30,
        "swarm.kinds[1]",
        "unknown variant `meteor`",
    );
}

#[test]
fn swarm_range_backwards() {
    fails(
        &format!("{GOOD}\n[swarm]\nkinds = [\"crash\"]\ninterval = [\"5s\", \"1s\"]\n"),
        31,
        "swarm.interval",
        "the range [5s, 1s] goes backwards",
    );
}

#[test]
fn swarm_loss_range_outside_probabilities() {
    fails(
        &format!("{GOOD}\n[swarm]\nkinds = [\"crash\"]\nloss = [0, 1.5]\n"),
        31,
        "swarm.loss[1]",
        "probability 1.5 is outside [0, 1]",
    );
}

#[test]
fn swarm_needs_a_kind() {
    fails(
        &format!("{GOOD}\n[swarm]\nkinds = []\n"),
        29,
        "swarm.kinds",
        "the swarm needs at least one fault kind (crash, pause, partition, isolate, clock-jump",
    );
}

#[test]
fn swarm_target_must_exist() {
    fails(
        &format!("{GOOD}\n[swarm]\nkinds = [\"crash\"]\ntargets = [\"srv9\"]\n"),
        31,
        "swarm.targets[0]",
        "unknown node \"srv9\" in swarm.targets",
    );
}

/// Found by the determinism property: a seed above i64::MAX (TOML integers are i64) made
/// `--print-config` print nothing.
#[test]
fn print_config_keeps_a_seed_above_i64_max() {
    let s = parse(&GOOD.replace(
        "duration = \"60s\"",
        "seed = 18446744073709551615\nduration = \"60s\"",
    ))
    .expect("valid");
    let printed = s.to_toml(&sim_models::Overrides::default());
    assert!(printed.contains("seed = 18446744073709551615"), "{printed}");
    let again = parse(&printed).expect("parses back");
    assert_eq!(again.spec.seed, u64::MAX);
}

#[test]
fn nemesis_without_kinds_lists_them_as_written() {
    fails(
        &format!("{GOOD}\n[nemesis]\nkinds = []\n"),
        29,
        "nemesis.kinds",
        "the nemesis needs at least one kind (crash, pause, partition, isolate, clock-jump, latency-spike, loss-burst)",
    );
}
