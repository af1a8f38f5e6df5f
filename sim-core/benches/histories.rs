//! Checks every history of `shared/data/histories/manifest.json` and prints, per file, its
//! size, the verdict, whether it agrees with the known one, the steps of the search and how
//! long the check took (verdict alone, and verdict plus the minimal counterexample); then
//! totals and the slowest files. Then the same for generated register histories in which many
//! writes have an unknown outcome (`tests/support/info_heavy.rs`), which the checker used to
//! take minutes over. Run with `cargo bench -p sim-core --bench histories`.
//!
//! Environment: `HISTORIES_DIR` overrides the data directory; `HISTORIES_ROUNDS` (default 3)
//! sets how many times each file is checked (the fastest time is reported); `HISTORIES_FILTER`
//! keeps only files whose name contains it; `HISTORIES_VERBOSE=1` also prints every partition
//! that is not linearizable, with its counterexample; `HISTORIES_MAX_STEPS` sets
//! [`CheckOptions::max_steps`].

#[path = "../tests/support/info_heavy.rs"]
mod info_heavy;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sim_core::lin::{self, CheckOptions, CheckResult, Register, Verdict};

struct Row {
    file: String,
    ops: usize,
    verdict: Verdict,
    expected: bool,
    steps: u64,
    parse: Duration,
    check: Duration,
    explain: Duration,
    /// The size of the first conflict, as [`conflict_of`] gives it.
    conflict: String,
}

#[allow(clippy::disallowed_methods)] // reason: a benchmark times itself; no run reads this
fn best_of<T>(rounds: usize, mut f: impl FnMut() -> T) -> (T, Duration) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        out = Some(value);
    }
    match out {
        Some(v) => (v, best),
        None => unreachable!("at least one round"),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The size of the first failing partition's conflict, marked if not minimal; `-` if none.
fn conflict_of(result: &CheckResult) -> String {
    match result
        .failures()
        .filter_map(|p| p.counterexample.as_ref())
        .map(|c| (c.conflict.len(), c.minimal))
        .next()
    {
        Some((n, true)) => format!("{n}"),
        Some((n, false)) => format!("{n} (not min)"),
        None => String::from("-"),
    }
}

/// Generated single-register histories, 10 clients, 40% of the writes with unknown outcome:
/// (name, spec, known verdict).
fn info_heavy_cases() -> Vec<(String, info_heavy::Spec, bool)> {
    let mut cases = Vec::new();
    for ops in [500, 2_000, 10_000] {
        for (kind, stale) in [("ok", None), ("stale", Some(900))] {
            let spec = info_heavy::Spec {
                seed: 1,
                clients: 10,
                ops,
                info_per_mille: 400,
                effect_per_mille: 500,
                stale_read_at_per_mille: stale,
            };
            cases.push((
                format!("generated/info-heavy-{ops}-{kind}"),
                spec,
                stale.is_none(),
            ));
        }
    }
    cases
}

/// Checks the generated info-heavy histories and prints a row for each.
fn bench_info_heavy(
    rounds: usize,
    filter: &str,
    verdict_only: &CheckOptions,
    explained: &CheckOptions,
) -> bool {
    println!();
    println!(
        "{:<34} {:>6} {:>5} {:>17} {:>6} {:>9} {:>10} {:>12} {:>9}",
        "generated",
        "ops",
        "info",
        "verdict",
        "agrees",
        "steps",
        "verdict ms",
        "explained ms",
        "conflict"
    );
    let mut all_agree = true;
    for (name, spec, expected) in info_heavy_cases() {
        if !name.contains(filter) {
            continue;
        }
        let ops = info_heavy::generate(spec);
        let info = ops.iter().filter(|o| o.ret.is_none()).count();
        let model = Register::default();
        let (result, check) = best_of(rounds, || lin::check(&model, &ops, verdict_only));
        let (full, explain) = if result.verdict == Verdict::NotLinearizable {
            best_of(rounds, || lin::check(&model, &ops, explained))
        } else {
            (result.clone(), check)
        };
        let agrees = (result.verdict == Verdict::Linearizable) == expected
            && result.verdict != Verdict::Unknown;
        all_agree &= agrees;
        println!(
            "{:<34} {:>6} {:>5} {:>17} {:>6} {:>9} {:>10.3} {:>12.3} {:>9}",
            name,
            ops.len(),
            info,
            result.verdict.to_string(),
            if agrees { "yes" } else { "NO" },
            result.steps(),
            ms(check),
            ms(explain),
            conflict_of(&full)
        );
    }
    all_agree
}

fn main() {
    let dir = std::env::var_os("HISTORIES_DIR").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/data/histories"
            ))
        },
        PathBuf::from,
    );
    let rounds: usize = std::env::var("HISTORIES_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let Ok(manifest) = std::fs::read_to_string(dir.join("manifest.json")) else {
        println!(
            "no histories at {} (set HISTORIES_DIR); nothing to benchmark",
            dir.display()
        );
        return;
    };
    let manifest: serde_json::Value = match serde_json::from_str(&manifest) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("manifest.json: {e}");
            std::process::exit(1);
        }
    };
    let Some(files) = manifest.get("files").and_then(|f| f.as_object()) else {
        eprintln!("manifest.json has no \"files\" object");
        std::process::exit(1);
    };
    let mut explained = CheckOptions::default();
    if let Some(steps) = std::env::var("HISTORIES_MAX_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        explained.max_steps = steps;
    }
    let verdict_only = CheckOptions {
        explain: false,
        ..explained.clone()
    };

    let mut rows = Vec::new();
    let mut names: Vec<&String> = files.keys().collect();
    names.sort();
    let filter = std::env::var("HISTORIES_FILTER").unwrap_or_default();
    let verbose = std::env::var_os("HISTORIES_VERBOSE").is_some();
    for name in names.into_iter().filter(|n| n.contains(&filter)) {
        let entry = &files[name.as_str()];
        let Some(expected) = entry.get("linearizable").and_then(|v| v.as_bool()) else {
            continue; // skipped in the manifest (e.g. an empty log)
        };
        let text = match std::fs::read_to_string(dir.join(name)) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{name}: {e}");
                std::process::exit(1);
            }
        };
        let (history, parse) = best_of(rounds, || lin::jsonl::read(&text));
        let history = match history {
            Ok(h) => h,
            Err(e) => {
                eprintln!("{name}: {e}");
                std::process::exit(1);
            }
        };
        let (result, check) = best_of(rounds, || history.check(&verdict_only));
        let (full, explain) = if result.verdict == Verdict::NotLinearizable {
            best_of(rounds, || history.check(&explained))
        } else {
            (result.clone(), check)
        };
        if verbose {
            for p in &result.partitions {
                println!(
                    "  {name} {:?}: {} ops, {} steps, {}",
                    p.label,
                    p.ops.len(),
                    p.steps,
                    p.verdict
                );
            }
            print!("{}", full.report(|i| history.describe_op(i)));
        }
        rows.push(Row {
            file: name.clone(),
            ops: history.len(),
            verdict: result.verdict,
            expected,
            steps: result.steps(),
            parse,
            check,
            explain,
            conflict: conflict_of(&full),
        });
    }

    println!(
        "{:<58} {:>5} {:>17} {:>6} {:>9} {:>9} {:>10} {:>12} {:>9}",
        "file",
        "ops",
        "verdict",
        "agrees",
        "steps",
        "parse ms",
        "verdict ms",
        "explained ms",
        "conflict"
    );
    for r in &rows {
        let agrees =
            (r.verdict == Verdict::Linearizable) == r.expected && r.verdict != Verdict::Unknown;
        println!(
            "{:<58} {:>5} {:>17} {:>6} {:>9} {:>9.3} {:>10.3} {:>12.3} {:>9}",
            r.file,
            r.ops,
            r.verdict.to_string(),
            if agrees { "yes" } else { "NO" },
            r.steps,
            ms(r.parse),
            ms(r.check),
            ms(r.explain),
            r.conflict
        );
    }

    let agree = rows
        .iter()
        .filter(|r| {
            (r.verdict == Verdict::Linearizable) == r.expected && r.verdict != Verdict::Unknown
        })
        .count();
    let total = |f: fn(&Row) -> Duration| rows.iter().map(f).sum::<Duration>();
    println!();
    println!(
        "{} files, {} operations; {agree}/{} agree with the manifest",
        rows.len(),
        rows.iter().map(|r| r.ops).sum::<usize>(),
        rows.len()
    );
    println!(
        "total: {} steps; parse {:.1} ms, verdict {:.1} ms, verdict + explanation {:.1} ms (best of {rounds})",
        rows.iter().map(|r| r.steps).sum::<u64>(),
        ms(total(|r| r.parse)),
        ms(total(|r| r.check)),
        ms(total(|r| r.explain))
    );
    let mut slowest: Vec<&Row> = rows.iter().collect();
    slowest.sort_by(|a, b| b.explain.cmp(&a.explain).then(a.file.cmp(&b.file)));
    println!("slowest (verdict + explanation):");
    for r in slowest.iter().take(8) {
        println!(
            "  {:<58} {:>5} ops  verdict {:>8.3} ms  explained {:>8.3} ms",
            r.file,
            r.ops,
            ms(r.check),
            ms(r.explain)
        );
    }
    let generated_agree = bench_info_heavy(rounds, &filter, &verdict_only, &explained);
    if agree != rows.len() {
        eprintln!("{} files disagree with the manifest", rows.len() - agree);
        std::process::exit(1);
    }
    if !generated_agree {
        eprintln!("a generated history got the wrong verdict");
        std::process::exit(1);
    }
}
