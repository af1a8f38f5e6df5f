//! The bug catalog (`scenarios/bugs/`): for each deliberate bug, a sweep of its scenario finds
//! it within a stated number of seeds, with the kind of failure its checker reports; the same
//! scenario without the bug passes a few seeds; and the shrinker cuts the first failing seed
//! down to a small scenario that fails the same way on its own.
//!
//! The bounds are measured (README, "The bug catalog"), with a margin: a model change that
//! makes a bug harder to find or to shrink shows up here.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sim_models::Scenario;
use sim_models::shrink::{Options, shrink};
use sim_models::sweep::{SeedResult, run_seed};

/// One bug of the catalog and what is promised about it.
struct Case {
    /// The scenario under `scenarios/bugs/`.
    file: &'static str,
    /// The failure kind its checker reports.
    kind: &'static str,
    /// A sweep from seed 0 finds it within this many seeds.
    within: u64,
    /// Seeds the scenario passes with the bug switched off.
    clean: u64,
    /// The shrunk reproducer applies at most this many faults.
    max_faults: u64,
    /// Runs the shrinker may spend.
    shrink_runs: usize,
    /// A fault the reproducer must hold, as it is written there (the bug needs it).
    needs: Option<&'static str>,
}

fn path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/bugs")
        .join(file)
}

/// The first seed from 0 whose run fails, looking at most `within` seeds (a few at a time,
/// in parallel).
fn first_failure(file: &Path, within: u64) -> Option<SeedResult> {
    let text = std::fs::read_to_string(file).expect("readable");
    let batch = 8;
    let mut from = 0;
    while from < within {
        let to = (from + batch).min(within);
        let mut results: Vec<SeedResult> = (from..to)
            .into_par_iter()
            .map_init(
                || Scenario::parse(file, &text).expect("valid"),
                |s, seed| run_seed(s, seed, false).expect("builds"),
            )
            .collect();
        results.sort_by_key(|r| r.seed);
        if let Some(r) = results.into_iter().find(|r| !r.passed) {
            return Some(r);
        }
        from = to;
    }
    None
}

fn check(case: &Case) {
    let file = path(case.file);
    let found = first_failure(&file, case.within)
        .unwrap_or_else(|| panic!("{}: no failure in seeds 0..{}", case.file, case.within));
    let kinds: Vec<&str> = found.failures.iter().map(|f| f.kind.as_str()).collect();
    assert!(
        kinds.contains(&case.kind),
        "{} seed {}: expected {}, got {kinds:?}",
        case.file,
        found.seed,
        case.kind
    );

    // Without the bug, the same scenario passes.
    let text = std::fs::read_to_string(&file).expect("readable");
    let clean: String = text
        .lines()
        .filter(|l| !l.starts_with("bugs = "))
        .map(|l| format!("{l}\n"))
        .collect();
    let scenario = Scenario::parse(&file, &clean).expect("valid without the bug");
    assert!(scenario.bugs.is_empty());
    let failing: Vec<u64> = (0..case.clean)
        .into_par_iter()
        .map_init(
            || Scenario::parse(&file, &clean).expect("valid"),
            |s, seed| run_seed(s, seed, false).expect("builds"),
        )
        .filter(|r| !r.passed)
        .map(|r| r.seed)
        .collect();
    assert!(
        failing.is_empty(),
        "{} without its bug fails with seeds {failing:?}",
        case.file
    );

    // The shrunk reproducer is small and fails on its own.
    let scenario = Scenario::load(&file).expect("valid");
    let options = Options {
        kind: Some(case.kind.to_owned()),
        max_runs: case.shrink_runs,
        ..Options::default()
    };
    let shrunk = shrink(&scenario, found.seed, &options, |_, _| {}).expect("shrinks");
    assert!(
        shrunk.after.faults <= case.max_faults,
        "{} seed {}: shrunk to {} faults (at most {} promised) in {} runs:\n{}",
        case.file,
        found.seed,
        shrunk.after.faults,
        case.max_faults,
        shrunk.runs,
        shrunk.toml
    );
    assert!(shrunk.after.duration_ns <= shrunk.before.duration_ns);
    let repro = Scenario::parse(Path::new("repro.toml"), &shrunk.toml).expect("parses");
    let (_, summary) = sim_models::run(&repro, &sim_models::Overrides::default()).expect("builds");
    let again: Vec<String> = sim_models::sweep::failures(&summary)
        .into_iter()
        .map(|f| f.kind)
        .collect();
    assert!(
        again.iter().any(|k| k == case.kind),
        "the reproducer fails with {again:?}, not {}:\n{}",
        case.kind,
        shrunk.toml
    );
    reads_like_a_scenario(&shrunk.toml, &repro, &scenario, found.seed, case);
}

/// The reproducer is laid out like the shipped scenarios, says what it is, and keeps the
/// original description as a comment.
fn reads_like_a_scenario(
    text: &str,
    repro: &Scenario,
    original: &Scenario,
    seed: u64,
    case: &Case,
) {
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
    for h in &headers {
        assert!(
            !h.starts_with("[faults.") && !h.starts_with("[expect."),
            "{}: a sub-table {h} in the reproducer:\n{text}",
            case.file
        );
    }
    let first = |h: &str| headers.iter().position(|x| *x == h);
    let (cluster, expect) = (first("[[cluster]]"), first("[expect]"));
    assert!(cluster.is_some() && expect.is_some(), "{text}");
    if let Some(faults) = first("[[faults]]") {
        assert!(cluster < Some(faults) && Some(faults) < expect, "{text}");
    }
    assert!(text.starts_with("name = "), "{text}");
    if let Some(needle) = case.needs {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }
    let description = &repro.spec.description;
    for needle in [
        format!("{} --seed {seed}", case.file),
        format!("Fails with {}", case.kind),
    ] {
        assert!(
            description.contains(&needle),
            "{needle:?} missing from the description:\n{text}"
        );
    }
    let first_line = original.spec.description.lines().next().expect("described");
    assert!(
        text.contains(&format!("# {first_line}\n")),
        "the original description is not kept as a comment:\n{text}"
    );
    assert!(!description.contains(first_line), "{text}");
}

#[test]
fn raft_vote_not_persisted() {
    check(&Case {
        file: "raft-vote-not-persisted.toml",
        kind: "invariant: raft.election-safety",
        within: 200,
        clean: 20,
        max_faults: 3,
        shrink_runs: 1_000,
        needs: None,
    });
}

#[test]
fn raft_commit_old_term() {
    check(&Case {
        file: "raft-commit-old-term.toml",
        kind: "invariant: raft.leader-completeness",
        within: 300,
        clean: 20,
        max_faults: 6,
        shrink_runs: 2_000,
        needs: None,
    });
}

#[test]
fn raft_vote_without_log_check() {
    check(&Case {
        file: "raft-vote-without-log-check.toml",
        kind: "invariant: raft.leader-completeness",
        within: 10,
        clean: 20,
        max_faults: 3,
        shrink_runs: 1_000,
        needs: None,
    });
}

#[test]
fn raft_apply_before_commit() {
    check(&Case {
        file: "raft-apply-before-commit.toml",
        kind: "invariant: raft.leader-completeness",
        within: 10,
        clean: 20,
        max_faults: 3,
        shrink_runs: 1_000,
        needs: None,
    });
}

#[test]
fn lock_no_fencing_tokens() {
    check(&Case {
        file: "lock-no-fencing-tokens.toml",
        kind: "mutual exclusion on fenced",
        within: 10,
        clean: 20,
        max_faults: 3,
        shrink_runs: 1_000,
        needs: None,
    });
}

#[test]
fn lock_lease_trusts_skewed_clock() {
    check(&Case {
        file: "lock-lease-trusts-skewed-clock.toml",
        kind: "mutual exclusion on plain",
        within: 10,
        clean: 20,
        max_faults: 3,
        shrink_runs: 1_000,
        // The lease outlives its expiry only if the client's wall clock is stepped back.
        needs: Some("clock_jump = { node = \"c"),
    });
}

#[test]
fn every_catalog_bug_has_a_scenario_here() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bugs");
    for bug in sim_models::bugs::catalog() {
        let file = dir.join(format!("{}.toml", bug.name.replace('.', "-")));
        let scenario = Scenario::load(&file)
            .unwrap_or_else(|e| panic!("{}: no scenario for it ({e})", bug.name));
        assert!(
            scenario.bugs.has(&bug),
            "{} does not switch it on",
            file.display()
        );
    }
}

#[test]
fn violations_are_counted_per_named_invariant() {
    // The catalog's vote bug breaks Election Safety on some seed of its scenario; the metric
    // table counts violations under the invariant's name, and declares every invariant of the
    // run's models at zero so that `[expect]` can pin one by name.
    let scenario = Scenario::load(&path("raft-vote-not-persisted.toml")).expect("loads");
    let failing = (0..60)
        .map(|seed| {
            let overrides = sim_models::Overrides {
                seed: Some(seed),
                ..Default::default()
            };
            sim_models::run(&scenario, &overrides).expect("builds").1
        })
        .find(|s| !s.violations.is_empty())
        .expect("some seed of 0..60 breaks Election Safety");
    let m = &failing.metrics;
    let named: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("violations."))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(named, m["violations"], "{m:?}");
    assert!(m["violations.raft.election-safety"] >= 1.0, "{m:?}");
    assert_eq!(m["violations.raft.log-matching"], 0.0);
    assert_eq!(m["violations.engine.send-to-known-node"], 0.0);
    assert!(
        failing
            .violations
            .iter()
            .all(|v| v.invariant.name.starts_with("raft.")),
        "{:?}",
        failing.violations
    );
}
