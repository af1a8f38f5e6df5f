//! Checks every history of `shared/data/histories/manifest.json` and prints, per file, its
//! size, the verdict, whether it agrees with the known one, and how long the check took
//! (verdict alone, and verdict plus the minimal counterexample); then totals and the slowest
//! files. Run with `cargo bench -p sim-core --bench histories`.
//!
//! Environment: `HISTORIES_DIR` overrides the data directory; `HISTORIES_ROUNDS` (default 3)
//! sets how many times each file is checked (the fastest time is reported); `HISTORIES_FILTER`
//! keeps only files whose name contains it; `HISTORIES_VERBOSE=1` also prints every partition
//! that is not linearizable, with its counterexample; `HISTORIES_MAX_STEPS` sets
//! [`CheckOptions::max_steps`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sim_core::lin::{self, CheckOptions, Verdict};

struct Row {
    file: String,
    ops: usize,
    verdict: Verdict,
    expected: bool,
    parse: Duration,
    check: Duration,
    explain: Duration,
    conflict: Option<(usize, bool)>,
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
        let conflict = full
            .failures()
            .filter_map(|p| p.counterexample.as_ref())
            .map(|c| (c.conflict.len(), c.minimal))
            .next();
        rows.push(Row {
            file: name.clone(),
            ops: history.len(),
            verdict: result.verdict,
            expected,
            parse,
            check,
            explain,
            conflict,
        });
    }

    println!(
        "{:<58} {:>5} {:>17} {:>6} {:>9} {:>10} {:>12} {:>9}",
        "file", "ops", "verdict", "agrees", "parse ms", "verdict ms", "explained ms", "conflict"
    );
    for r in &rows {
        let agrees =
            (r.verdict == Verdict::Linearizable) == r.expected && r.verdict != Verdict::Unknown;
        let conflict = match r.conflict {
            Some((n, true)) => format!("{n}"),
            Some((n, false)) => format!("{n} (not min)"),
            None => String::from("-"),
        };
        println!(
            "{:<58} {:>5} {:>17} {:>6} {:>9.3} {:>10.3} {:>12.3} {:>9}",
            r.file,
            r.ops,
            r.verdict.to_string(),
            if agrees { "yes" } else { "NO" },
            ms(r.parse),
            ms(r.check),
            ms(r.explain),
            conflict
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
        "total: parse {:.1} ms, verdict {:.1} ms, verdict + explanation {:.1} ms (best of {rounds})",
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
    if agree != rows.len() {
        eprintln!("{} files disagree with the manifest", rows.len() - agree);
        std::process::exit(1);
    }
}
