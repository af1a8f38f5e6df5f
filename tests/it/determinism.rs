//! Determinism is the product: the same scenario and seed give the same trace hash; another
//! seed gives another; and golden hashes pin behaviour across changes.

use std::path::{Path, PathBuf};

use sim_models::{Overrides, Scenario};

fn shipped_scenarios() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("scenarios/ exists")
            .map(|e| e.expect("readable").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "toml") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"),
        &mut out,
    );
    out
}

fn hash(path: &Path, seed: Option<u64>) -> String {
    let scenario = Scenario::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let overrides = Overrides {
        seed,
        ..Overrides::default()
    };
    let (_, summary) = sim_models::run(&scenario, &overrides).expect("builds");
    summary.trace_hash
}

/// The trace hash of every shipped scenario (under `scenarios/`) with its own seed. A change
/// that moves one must say why in its commit message; a new scenario adds its line.
const SHIPPED_GOLDEN: &[(&str, &str)] = &[
    ("basics/clock-skew.toml", "b35ca821efa32d65"),
    ("basics/crash-restart.toml", "181333e366c8e2c9"),
    ("basics/loss.toml", "2f330cdfe51f0dc3"),
    ("basics/nemesis.toml", "b759914376b1e9dd"),
    ("basics/partition.toml", "8336d0194d825bcc"),
    (
        "bugs/lock-lease-trusts-skewed-clock.toml",
        "e0473d470fdf85bb",
    ),
    ("bugs/lock-no-fencing-tokens.toml", "816e94fa4c0453be"),
    ("bugs/raft-apply-before-commit.toml", "9b066260440dc8d0"),
    ("bugs/raft-commit-old-term.toml", "768b9fd5120529cb"),
    ("bugs/raft-vote-not-persisted.toml", "5c7a1d86da7baafd"),
    ("bugs/raft-vote-without-log-check.toml", "58213f5464d05ff0"),
    ("cap/raft-partition.toml", "475d691c2f749c16"),
    ("cap/single-node.toml", "59f86e2254413745"),
    ("lock/lease-pause.toml", "6d0fc41250986687"),
    ("lock/lease-skew.toml", "53fd520b18d6d1cb"),
    ("raft/asymmetric-partition-prevote.toml", "eb21bb02f660969e"),
    ("raft/asymmetric-partition.toml", "626ed71f340659d5"),
    ("raft/figure8.toml", "de5211d38314e5e8"),
    ("raft/leader-crash.toml", "6b950292cba55c94"),
    ("raft/split-vote.toml", "789672baaed6321a"),
    ("raft/swarm.toml", "855a446b617265a1"),
];

/// Every shipped scenario gives the same trace twice, its golden hash ([`SHIPPED_GOLDEN`]),
/// and another trace under another seed.
#[test]
fn every_shipped_scenario_is_deterministic_and_seed_sensitive() {
    let files = shipped_scenarios();
    assert!(files.len() >= 3, "found {files:?}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for f in &files {
        let a = hash(f, None);
        let b = hash(f, None);
        assert_eq!(a, b, "{} is not deterministic", f.display());
        let name = f.strip_prefix(&dir).expect("under scenarios/");
        let Some((_, golden)) = SHIPPED_GOLDEN.iter().find(|(g, _)| Path::new(g) == name) else {
            panic!(
                "{} has no golden hash: add its line, hash {a}",
                name.display()
            );
        };
        assert_eq!(&a, golden, "{}: the golden hash moved", name.display());
        let other = hash(f, Some(0xD15C0));
        assert_ne!(
            a,
            other,
            "{}: a different seed gave the same trace",
            f.display()
        );
    }
}

/// Every shipped scenario passes its expectations, except the bug catalog's
/// (`scenarios/bugs/`): they switch a deliberate bug on and their seed is one that shows it
/// (`tests/it/bugs.rs` checks that they fail with the bug and pass without).
#[test]
fn every_shipped_scenario_passes_its_expectations() {
    for f in shipped_scenarios()
        .into_iter()
        .filter(|f| !f.components().any(|c| c.as_os_str() == "bugs"))
    {
        let scenario = Scenario::load(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(
            !scenario.spec.expect.is_empty(),
            "{} has no [expect]",
            f.display()
        );
        let (_, summary) = sim_models::run(&scenario, &Overrides::default()).expect("builds");
        assert!(
            summary.passed(),
            "{} failed: {:?}",
            f.display(),
            summary.failures()
        );
    }
}

#[test]
fn print_config_parses_back_to_the_same_run() {
    for f in shipped_scenarios() {
        let scenario = Scenario::load(&f).expect("valid");
        let printed = scenario.to_toml(&Overrides::default());
        let reparsed = Scenario::parse(&f, &printed)
            .unwrap_or_else(|e| panic!("{}: {e}\n{printed}", f.display()));
        let (_, a) = sim_models::run(&scenario, &Overrides::default()).expect("builds");
        let (_, b) = sim_models::run(&reparsed, &Overrides::default()).expect("builds");
        assert_eq!(a.trace_hash, b.trace_hash, "{}", f.display());
        // Printing is a fixed point.
        assert_eq!(printed, reparsed.to_toml(&Overrides::default()));
    }
}

/// Golden hashes. A change that moves one must say why in its commit message.
#[test]
fn golden_trace_hashes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden = [
        ("scenarios/basics/partition.toml", 7, "8336d0194d825bcc"),
        ("scenarios/basics/loss.toml", 1, "2f330cdfe51f0dc3"),
        ("scenarios/basics/clock-skew.toml", 3, "b35ca821efa32d65"),
    ];
    for (file, seed, expected) in golden {
        assert_eq!(
            hash(&root.join(file), Some(seed)),
            expected,
            "{file} seed {seed}"
        );
    }
}
