//! `dsim bench`: the engine benchmarks (W1–W3) and the raft-kv benchmark (W4: simulated
//! seconds per wall-clock second at 1,000 client operations per second, and the time of the
//! linearizability check), run from the installed binary so anyone can measure their own
//! machine. The same workloads as `cargo bench` (`sim_models::bench`).

use std::io::IsTerminal;
use std::process::ExitCode;

use sim_models::bench::{self, Scale};

use crate::cli::BenchArgs;
use crate::render::outln;

/// Runs every workload and prints the table (or JSON). Always exit 0: the targets are
/// informational, never a verdict on the machine.
pub fn bench(args: &BenchArgs) -> Result<ExitCode, String> {
    if let Some(scenario) = &args.sweep {
        return sweep_throughput(scenario, args);
    }
    let scale = if args.quick {
        Scale::QUICK
    } else {
        Scale::FULL
    };
    let progress = std::io::stderr().is_terminal();
    let report = bench::run_all(scale, |w| {
        if progress {
            eprintln!("running {} ({}) ...", w.name(), w.id());
        }
    });
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        outln!("{text}");
    } else {
        outln!("{}", bench::table(&report).trim_end());
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(serde::Serialize)]
struct SweepFigure {
    jobs: usize,
    seeds: u64,
    wall_time_s: f64,
    seeds_per_second: f64,
}

/// Runs `seeds` seeds of the scenario with one job, then with two (each run single-threaded,
/// seeds in parallel as `dsim sweep` runs them), and prints seeds per second and the
/// speed-up.
fn sweep_throughput(path: &std::path::Path, args: &BenchArgs) -> Result<ExitCode, String> {
    use rayon::prelude::*;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("error: cannot read {}: {e}", path.display()))?;
    let scenario = super::load(path)?;
    let seeds = args.seeds.max(1);
    let mut figures = Vec::new();
    for jobs in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .map_err(|e| format!("error: cannot start {jobs} workers: {e}"))?;
        if std::io::stderr().is_terminal() {
            eprintln!(
                "running {seeds} seeds of {} with {jobs} jobs ...",
                scenario.name()
            );
        }
        #[allow(clippy::disallowed_methods)] // timing the sweep, outside every run
        let started = std::time::Instant::now();
        let ran = pool.install(|| {
            (0..seeds)
                .into_par_iter()
                .map_init(
                    || sim_models::Scenario::parse(path, &text).ok(),
                    |s, seed| {
                        s.as_ref()
                            .is_some_and(|s| sim_models::sweep::run_seed(s, seed, false).is_ok())
                    },
                )
                .filter(|ok| *ok)
                .count() as u64
        });
        let wall = started.elapsed().as_secs_f64();
        if ran < seeds {
            return Err(format!(
                "error: {}: {} of {seeds} seeds could not be built",
                path.display(),
                seeds - ran
            ));
        }
        figures.push(SweepFigure {
            jobs,
            seeds,
            wall_time_s: wall,
            seeds_per_second: seeds as f64 / wall.max(1e-9),
        });
    }
    let speedup = figures[1].seeds_per_second / figures[0].seeds_per_second.max(1e-9);
    if args.json {
        let out = serde_json::json!({
            "scenario": scenario.name(),
            "figures": figures,
            "speedup": speedup,
            "targets": { "seeds_per_second_with_2_jobs": 20.0, "speedup": 1.8 },
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = crate::render::table(&[
        "sweep throughput",
        "seeds",
        "wall time",
        "seeds/s",
        "target",
    ]);
    for f in &figures {
        t.add_row(vec![
            format!(
                "{} ({} job{})",
                scenario.name(),
                f.jobs,
                if f.jobs == 1 { "" } else { "s" }
            ),
            f.seeds.to_string(),
            format!("{:.2} s", f.wall_time_s),
            format!("{:.1}", f.seeds_per_second),
            if f.jobs == 2 {
                ">= 20".to_owned()
            } else {
                String::new()
            },
        ]);
    }
    crate::render::print_table(&t);
    outln!("speed-up with 2 jobs: {speedup:.2}x (target >= 1.8x)");
    Ok(ExitCode::SUCCESS)
}
