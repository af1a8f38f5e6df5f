//! `dsim sweep`, `dsim sweep merge`, shards, an interrupted sweep, `dsim shrink`, swarm draws
//! and the quiet liveness phase, end to end.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sim_core::testing::expect_metric;
use sim_models::sweep::{FailureClass, SeedResult};
use sim_models::{Overrides, Scenario};

fn dsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dsim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("dsim runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn results(file: &Path) -> Vec<SeedResult> {
    std::fs::read_to_string(file)
        .expect("results written")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

const BUG: &str = "scenarios/bugs/lock-no-fencing-tokens.toml";

#[test]
fn a_sweep_reports_failures_by_kind_and_writes_a_line_per_seed() {
    let dir = scratch("sweep-report");
    let out = dir.join("r.jsonl");
    let o = dsim(&[
        "sweep",
        BUG,
        "--seeds",
        "0..6",
        "--jobs",
        "2",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}{}", text(&o.stderr));
    for needle in [
        "runs       6",
        "mutual exclusion on fenced",
        "first seeds",
        "fault kind",
        "pause",
        "replay: dsim run scenarios/bugs/lock-no-fencing-tokens.toml --seed 0",
        "shrink: dsim shrink scenarios/bugs/lock-no-fencing-tokens.toml --seed 0",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
    let mut rs = results(&out);
    rs.sort_by_key(|r| r.seed);
    assert_eq!(
        rs.iter().map(|r| r.seed).collect::<Vec<_>>(),
        (0..6).collect::<Vec<_>>()
    );
    let failing: Vec<&SeedResult> = rs.iter().filter(|r| !r.passed).collect();
    assert!(!failing.is_empty());
    assert!(
        failing
            .iter()
            .all(|r| r.failures[0].class == FailureClass::Safety)
    );

    // The same sweep as JSON, and the seed it names replays to the same failure.
    let o = dsim(&["sweep", BUG, "--seeds", "0..6", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(report["runs"], 6);
    assert_eq!(report["failed"], failing.len());
    assert_eq!(report["kinds"][0]["kind"], "mutual exclusion on fenced");
    let replay = report["replay"][0].as_str().expect("a replay line");
    let args: Vec<&str> = replay.split(' ').skip(1).collect();
    let again = dsim(&args);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stdout).contains("mutual_exclusion.fenced"));
}

#[test]
fn shards_split_a_sweep_and_merge_joins_them() {
    let dir = scratch("sweep-shards");
    let mut files = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let f = dir.join(format!("shard-{}.jsonl", &shard[..1]));
        let o = dsim(&[
            "sweep",
            BUG,
            "--seeds",
            "0..7",
            "--shard",
            shard,
            "--jobs",
            "1",
            "--out",
            f.to_str().expect("utf-8"),
        ]);
        assert_ne!(o.status.code(), Some(2), "{}", text(&o.stderr));
        files.push(f);
    }
    let seeds: Vec<Vec<u64>> = files
        .iter()
        .map(|f| results(f).iter().map(|r| r.seed).collect())
        .collect();
    assert_eq!(seeds[0].len() + seeds[1].len() + seeds[2].len(), 7);
    let mut first = seeds[0].clone();
    first.sort_unstable();
    assert_eq!(first, vec![0, 3, 6]);

    let mut args = vec!["sweep", "merge", "--json"];
    args.extend(files.iter().map(|f| f.to_str().expect("utf-8")));
    let merged: serde_json::Value = serde_json::from_slice(&dsim(&args).stdout).expect("json");
    let whole: serde_json::Value =
        serde_json::from_slice(&dsim(&["sweep", BUG, "--seeds", "0..7", "--json"]).stdout)
            .expect("json");
    assert_eq!(merged["runs"], 7);
    assert_eq!(merged["failed"], whole["failed"]);
    assert_eq!(merged["kinds"], whole["kinds"]);
}

#[test]
fn an_interrupted_sweep_keeps_the_results_it_wrote() {
    let dir = scratch("sweep-interrupted");
    let out = dir.join("r.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dsim"))
        .args([
            "sweep",
            "scenarios/basics/partition.toml",
            "--seeds",
            "0..1000000",
            "--jobs",
            "1",
            "--out",
            out.to_str().expect("utf-8"),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dsim starts");
    // Wait (without a time limit of our own: the test harness has one) for a few seeds.
    let lines = |p: &Path| {
        std::fs::File::open(p)
            .map(|f| std::io::BufReader::new(f).lines().count())
            .unwrap_or(0)
    };
    while lines(&out) < 3 {
        assert!(
            child.try_wait().expect("waits").is_none(),
            "the sweep ended early"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Ctrl-C, as a terminal sends it. A process started in the background by a
    // non-interactive shell inherits SIGINT ignored; then it is killed outright, which an
    // interrupted sweep must survive just as well.
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let mut status = None;
    for _ in 0..100 {
        status = child.try_wait().expect("waits");
        if status.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let status = match status {
        Some(s) => s,
        None => {
            child.kill().expect("killed");
            child.wait().expect("ends")
        }
    };
    assert!(!status.success());
    let written = std::fs::read_to_string(&out).expect("kept");
    let complete: Vec<&str> = written.lines().filter(|l| l.ends_with('}')).collect();
    assert!(complete.len() >= 3, "{written}");
    for l in &complete {
        let r: SeedResult = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert_eq!(r.scenario, "basics/partition");
    }
    let merged = dsim(&["sweep", "merge", out.to_str().expect("utf-8")]);
    assert_ne!(merged.status.code(), Some(2), "{}", text(&merged.stderr));
    assert!(text(&merged.stdout).contains("runs"));
}

#[test]
fn shrink_writes_a_small_scenario_that_fails_on_its_own() {
    let dir = scratch("shrink");
    let out = dir.join("repro.toml");
    let o = dsim(&[
        "shrink",
        "scenarios/bugs/raft-apply-before-commit.toml",
        "--seed",
        "0",
        "--max-runs",
        "300",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{stdout}{}", text(&o.stderr));
    for needle in [
        "faults applied",
        "duration",
        "operations",
        "runs",
        "reproduce: dsim run",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
    // Laid out like a hand-written scenario, saying where it comes from.
    let written = std::fs::read_to_string(&out).expect("written");
    assert!(written.starts_with("name = \"bugs/raft-apply-before-commit\"\ndescription = \"\"\"\nShrunk by `dsim shrink scenarios/bugs/raft-apply-before-commit.toml --seed 0`."), "{written}");
    assert!(!written.contains("\n[faults."), "{written}");
    assert!(
        written.contains("\n# A Raft leader that applies an entry"),
        "{written}"
    );
    let run = dsim(&["run", out.to_str().expect("utf-8")]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        text(&run.stdout).contains("Leader Completeness"),
        "{}",
        text(&run.stdout)
    );
    // A passing seed has nothing to shrink.
    let o = dsim(&["shrink", "scenarios/basics/partition.toml", "--seed", "7"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("seed 7 passes"));
}

#[test]
fn bugs_lists_the_catalog() {
    let o = dsim(&["bugs"]);
    let stdout = text(&o.stdout);
    assert!(o.status.success());
    for b in sim_models::bugs::catalog() {
        assert!(stdout.contains(b.name), "{} missing:\n{stdout}", b.name);
    }
    assert!(stdout.contains("caught by"));
}

const SWARM: &str = r#"name = "t/swarm"
description = "A swarm test."
duration = "10s"

[[cluster]]
name = "kv"
model = "raft-kv"
nodes = 3

[[cluster]]
name = "c"
model = "kv-client"
nodes = 1
target = "kv"
think = "50ms"

[swarm]
kinds = ["crash", "partition", "pause", "loss-burst"]
interval = ["200ms", "2s"]
fault_duration = ["50ms", "1s"]
loss = [0, 0.05]
latency = ["1ms", "20ms"]

[liveness]
after = "7s"
within = "3s"

[expect]
violations = 0
linearizable = true
"#;

#[test]
fn swarm_seeds_draw_their_own_faults_and_the_run_replays_them() {
    let dir = scratch("swarm");
    let file = dir.join("swarm.toml");
    std::fs::write(&file, SWARM).expect("written");
    let path = file.to_str().expect("utf-8");
    let out = dir.join("r.jsonl");
    let o = dsim(&[
        "sweep",
        path,
        "--swarm",
        "--seeds",
        "0..6",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_ne!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let rs = results(&out);
    let mixes: std::collections::BTreeSet<String> = rs
        .iter()
        .map(|r| r.swarm.as_ref().expect("a draw").kinds.join("+"))
        .collect();
    assert!(mixes.len() >= 2, "every seed drew the same mix: {mixes:?}");
    for r in &rs {
        let d = r.swarm.as_ref().expect("a draw");
        assert!(d.loss.is_some_and(|l| (0.0..=0.05).contains(&l)));
        // The faults the run applied are of the kinds drawn (and their undoing).
        for k in &r.fault_kinds {
            let undo = ["heal", "restart", "resume"].contains(&k.as_str());
            assert!(undo || d.kinds.contains(k), "{k} not in {:?}", d.kinds);
        }
    }
    // `dsim run --swarm` replays a seed with its draw: the same trace.
    let r = &rs[0];
    let o = dsim(&[
        "run",
        path,
        "--seed",
        &r.seed.to_string(),
        "--swarm",
        "--json",
    ]);
    let run: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(run["trace_hash"], r.trace_hash.as_str());
    assert!(text(&o.stderr).contains(&format!("swarm: seed {} drew", r.seed)));
    // Without a [swarm] table, --swarm is an error naming the table.
    let o = dsim(&[
        "sweep",
        "scenarios/basics/partition.toml",
        "--swarm",
        "--seeds",
        "0..2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("[swarm]"), "{}", text(&o.stderr));
}

/// A raft-kv cluster cut in three until 5 s; the quiet phase starts then.
fn quiet(within: &str) -> String {
    format!(
        r#"name = "t/quiet"
description = "A quiet phase."
duration = "10s"

[[cluster]]
name = "kv"
model = "raft-kv"
nodes = 3

[[cluster]]
name = "c"
model = "kv-client"
nodes = 2
target = "kv"
think = "20ms"

[[faults]]
at = "1s"
partition = [["kv1"], ["kv2"], ["kv3"]]

[[faults]]
at = "2s"
crash = "kv2"

[liveness]
after = "5s"
within = "{within}"

[expect]
violations = 0
"#
    )
}

#[test]
fn the_quiet_phase_heals_and_judges_progress_apart_from_safety() {
    let run = |text: &str| {
        let s = Scenario::parse(Path::new("quiet.toml"), text).expect("valid");
        sim_models::run(&s, &Overrides::default())
            .expect("builds")
            .1
    };
    // Five seconds after the heal and restart: a leader, caught up, clients served.
    let ok = run(&quiet("5s"));
    assert!(ok.passed(), "{:?}", ok.failures());
    assert_eq!(expect_metric(&ok.metrics, "liveness.kv"), 1.0);
    assert_eq!(expect_metric(&ok.metrics, "liveness.c"), 1.0);
    // One millisecond is too little to elect anyone: a liveness failure, not a safety one.
    let late = run(&quiet("1ms"));
    assert!(!late.passed());
    assert_eq!(expect_metric(&late.metrics, "liveness.kv"), 0.0);
    let failures = sim_models::sweep::failures(&late);
    assert!(
        failures.iter().all(|f| f.class == FailureClass::Liveness),
        "{failures:?}"
    );
    assert!(
        failures
            .iter()
            .any(|f| f.kind == "liveness: progress of kv"),
        "{failures:?}"
    );
    assert!(late.violations.is_empty());
    // A run cut short before the deadline has no quiet phase to judge.
    let s = Scenario::parse(Path::new("quiet.toml"), &quiet("1ms")).expect("valid");
    let short = Overrides {
        duration: Some(sim_core::Duration::from_secs(3)),
        ..Overrides::default()
    };
    let cut = sim_models::run(&s, &short).expect("builds").1;
    assert!(
        cut.progress.is_empty() && cut.passed(),
        "{:?}",
        cut.failures()
    );
}

#[test]
fn the_lock_service_serves_its_clients_again_in_the_quiet_phase() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lock/lease-pause.toml");
    let text = std::fs::read_to_string(&path).expect("readable")
        + "\n[liveness]\nafter = \"14s\"\nwithin = \"6s\"\n";
    let s = Scenario::parse(&path, &text).expect("valid");
    let summary = sim_models::run(&s, &Overrides::default())
        .expect("builds")
        .1;
    assert!(summary.passed(), "{:?}", summary.failures());
    assert_eq!(expect_metric(&summary.metrics, "liveness.c"), 1.0);
    assert_eq!(expect_metric(&summary.metrics, "liveness.kv"), 1.0);
    // The stores have no progress check of their own.
    // Absent, not 0: the strict reads above pin how liveness metrics are named.
    assert!(!summary.metrics.contains_key("liveness.plain"));
}

#[test]
fn the_quiet_phase_returns_drifted_clocks_to_their_own_rate() {
    // srv1 has an exact clock, srv2 one that runs 1,000 ppm fast ([clocks]); a drift fault at
    // 1 s makes srv1 run 50% fast and srv2 20% slow until the quiet phase at 4 s.
    let text = r#"name = "t/drift-quiet"
description = "Drift faults, then a quiet phase."
duration = "8s"

[clocks.nodes.srv2]
drift_ppm = 1000

[[cluster]]
name = "srv"
model = "echo"
nodes = 2

[[faults]]
at = "1s"
drift = { node = "srv1", ppm = 500000 }

[[faults]]
at = "1s"
drift = { node = "srv2", ppm = -200000 }

[liveness]
after = "4s"
within = "2s"
"#;
    let s = Scenario::parse(Path::new("drift-quiet.toml"), text).expect("valid");
    let mut sim = s.build(&Overrides::default()).expect("builds");
    let (srv1, srv2) = (sim_core::NodeId(0), sim_core::NodeId(1));
    // How far each clock advances over one true second from `from`.
    let second = |sim: &mut sim_core::Simulation<_>, from: u64| {
        sim.run_until(sim_core::SimTime(from));
        let start = (sim.local_time(srv1), sim.local_time(srv2));
        sim.run_until(sim_core::SimTime(from + 1_000_000_000));
        (
            sim.local_time(srv1).nanos_since(start.0),
            sim.local_time(srv2).nanos_since(start.1),
        )
    };
    assert_eq!(
        second(&mut sim, 2_000_000_000),
        (1_500_000_000, 800_000_000)
    );
    // From the quiet phase on: each at the rate it was built with.
    assert_eq!(
        second(&mut sim, 4_000_000_000),
        (1_000_000_000, 1_001_000_000)
    );
    assert_eq!(
        second(&mut sim, 6_000_000_000),
        (1_000_000_000, 1_001_000_000)
    );
    // What they gained or lost while drifting stays: undoing it would step the clock.
    assert_eq!(sim.clock_offset(srv1), 1_500_000_000);
    let ends: Vec<_> = sim
        .applied_faults()
        .iter()
        .filter(|f| f.action.kind() == "drift-end")
        .map(|f| (f.at, f.action.node()))
        .collect();
    assert_eq!(
        ends,
        [
            (sim_core::SimTime(4_000_000_000), Some(srv1)),
            (sim_core::SimTime(4_000_000_000), Some(srv2)),
        ]
    );
}
