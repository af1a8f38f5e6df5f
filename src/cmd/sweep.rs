//! `dsim sweep`: one scenario over many seeds, in parallel across cores (rayon; each run is
//! single-threaded and deterministic), with a progress bar on a terminal and plain progress
//! lines otherwise; every finished seed is one JSON line in `--out`, flushed at once, so an
//! interrupted sweep keeps what it found. `dsim sweep merge` joins the files of shards.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use sim_models::Scenario;
use sim_models::sweep::{Report, SeedResult, run_seed, shard_seeds};

use crate::cli::{MergeArgs, SweepArgs, SweepCommand};
use crate::render::{self, outln, thousands};

/// Where finished seeds go: the `--out` file, the tallies, the progress display.
struct Sink {
    out: Option<std::io::BufWriter<File>>,
    results: Vec<SeedResult>,
    failed: usize,
    bar: Option<ProgressBar>,
    total: usize,
    /// Plain progress: the next count at which to print a line.
    next_line: usize,
    error: Option<String>,
}

impl Sink {
    fn add(&mut self, r: SeedResult) {
        if !r.passed {
            self.failed += 1;
        }
        if let Some(out) = &mut self.out {
            let line = serde_json::to_string(&r).unwrap_or_default();
            let written = writeln!(out, "{line}").and_then(|()| out.flush());
            if let Err(e) = written {
                self.error
                    .get_or_insert(format!("error: cannot write --out: {e}"));
            }
        }
        self.results.push(r);
        let done = self.results.len();
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{} failed", self.failed));
                bar.inc(1);
            }
            None if done >= self.next_line || done == self.total => {
                eprintln!("sweep: {done}/{} seeds, {} failed", self.total, self.failed);
                self.next_line = done + (self.total / 10).max(1);
            }
            None => {}
        }
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    report: &'a Report,
    file: String,
    swarm: bool,
    jobs: Option<usize>,
    wall_time_s: Option<f64>,
    seeds_per_second: Option<f64>,
    replay: Vec<String>,
    shrunk: Vec<ShrunkLine>,
}

#[derive(Clone, Serialize)]
struct ShrunkLine {
    kind: String,
    seed: u64,
    file: String,
    faults_before: u64,
    faults_after: u64,
    duration_before: String,
    duration_after: String,
    operations_before: u64,
    operations_after: u64,
    runs: usize,
}

/// Runs the sweep (or the merge) and prints the report; exit 1 if any seed failed.
pub fn sweep(args: &SweepArgs) -> Result<ExitCode, String> {
    if let Some(SweepCommand::Merge(m)) = &args.merge {
        return merge(m);
    }
    let Some(path) = &args.scenario else {
        return Err("error: dsim sweep needs a scenario file (or `merge FILE…`)".into());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("error: cannot read {}: {e}", path.display()))?;
    let scenario = super::load(path)?;
    if args.swarm && scenario.spec.swarm.is_none() {
        // Drawing without a [swarm] table fails with the located error to show.
        if let Err(e) = scenario.swarm(args.seeds.from) {
            return Err(render::diagnostic(&e));
        }
    }
    let seeds = match args.shard {
        Some(s) => shard_seeds(args.seeds.from, args.seeds.to, s.index - 1, s.count),
        None => (args.seeds.from..args.seeds.to).collect(),
    };
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| format!("error: cannot start {jobs} workers: {e}"))?;
    let out = match &args.out {
        Some(p) => {
            Some(std::io::BufWriter::new(File::create(p).map_err(|e| {
                format!("error: cannot create {}: {e}", p.display())
            })?))
        }
        None => None,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(seeds.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} seeds  {msg}  {per_sec}  ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message("0 failed");
        bar
    });
    let sink = Mutex::new(Sink {
        out,
        results: Vec::with_capacity(seeds.len()),
        failed: 0,
        bar,
        total: seeds.len(),
        next_line: (seeds.len() / 10).max(1),
        error: None,
    });
    let stop = AtomicBool::new(false);
    let file = path.display().to_string();
    #[allow(clippy::disallowed_methods)] // timing the sweep, outside every run
    let started = Instant::now();
    pool.install(|| {
        seeds.par_iter().for_each_init(
            || Scenario::parse(path, &text).ok(),
            |scenario, &seed| {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let Some(scenario) = scenario.as_ref() else {
                    return;
                };
                let result = run_seed(scenario, seed, args.swarm);
                let mut sink = sink
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match result {
                    Ok(mut r) => {
                        r.file.clone_from(&file);
                        if !r.passed && args.stop_on_failure {
                            stop.store(true, Ordering::Relaxed);
                        }
                        sink.add(r);
                    }
                    Err(e) => {
                        sink.error
                            .get_or_insert(format!("error: {}: seed {seed}: {e}", path.display()));
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            },
        );
    });
    let wall = started.elapsed().as_secs_f64();
    let sink = sink
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(bar) = &sink.bar {
        bar.finish_and_clear();
    }
    if let Some(e) = sink.error {
        return Err(e);
    }
    let report = Report::of(&sink.results);
    let shrunk = if args.shrink {
        shrink_firsts(&scenario, &report, args)?
    } else {
        Vec::new()
    };
    let rate = if wall > 0.0 {
        report.runs as f64 / wall
    } else {
        0.0
    };
    print_report(
        &report,
        &file,
        args.swarm,
        Some((jobs, wall, rate)),
        &shrunk,
        args.json,
    )?;
    Ok(if report.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Shrinks the first failing seed of each kind; the reproducers go next to `--out`.
fn shrink_firsts(
    scenario: &Scenario,
    report: &Report,
    args: &SweepArgs,
) -> Result<Vec<ShrunkLine>, String> {
    let dir = args
        .out
        .as_ref()
        .and_then(|p| p.parent())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut out = Vec::new();
    for kind in &report.kinds {
        let Some(&seed) = kind.first_seeds.first() else {
            continue;
        };
        eprintln!("shrinking seed {seed} ({}) ...", kind.kind);
        let options = sim_models::shrink::Options {
            swarm: args.swarm,
            kind: Some(kind.kind.clone()),
            ..sim_models::shrink::Options::default()
        };
        let shrunk = match sim_models::shrink::shrink(scenario, seed, &options, |_, _| {}) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("  could not shrink: {e}");
                continue;
            }
        };
        let slug: String = kind
            .kind
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let slug = slug
            .split('-')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let file = dir.join(format!("repro-{slug}-seed{seed}.toml"));
        std::fs::write(&file, &shrunk.toml)
            .map_err(|e| format!("error: cannot write {}: {e}", file.display()))?;
        out.push(ShrunkLine {
            kind: kind.kind.clone(),
            seed,
            file: file.display().to_string(),
            faults_before: shrunk.before.faults,
            faults_after: shrunk.after.faults,
            duration_before: sim_core::time::format_nanos(shrunk.before.duration_ns),
            duration_after: sim_core::time::format_nanos(shrunk.after.duration_ns),
            operations_before: shrunk.before.operations,
            operations_after: shrunk.after.operations,
            runs: shrunk.runs,
        });
    }
    Ok(out)
}

/// Reads the JSON-lines files of shards and prints one report. A line that does not parse
/// (the last line of a file cut off by an interrupted sweep) is skipped with a note.
fn merge(args: &MergeArgs) -> Result<ExitCode, String> {
    let mut results = Vec::new();
    let mut skipped = 0;
    for f in &args.files {
        let file = File::open(f).map_err(|e| format!("error: cannot read {}: {e}", f.display()))?;
        for line in BufReader::new(file).lines() {
            let line = line.map_err(|e| format!("error: cannot read {}: {e}", f.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<SeedResult>(&line) {
                Ok(r) => results.push(r),
                Err(_) => skipped += 1,
            }
        }
    }
    if skipped > 0 {
        eprintln!("note: skipped {skipped} lines that are not seed results (a cut-off write?)");
    }
    if results.is_empty() {
        return Err("error: no seed results in the files given".into());
    }
    let report = Report::of(&results);
    let file = results.first().map(|r| r.file.clone()).unwrap_or_default();
    let swarm = results.iter().any(|r| r.swarm.is_some());
    print_report(&report, &file, swarm, None, &[], args.json)?;
    Ok(if report.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn replay_lines(report: &Report, file: &str, swarm: bool) -> Vec<String> {
    let flag = if swarm { " --swarm" } else { "" };
    let mut seeds: Vec<u64> = report
        .kinds
        .iter()
        .filter_map(|k| k.first_seeds.first().copied())
        .collect();
    seeds.sort_unstable();
    seeds.dedup();
    seeds
        .iter()
        .map(|seed| format!("dsim run {file} --seed {seed}{flag}"))
        .collect()
}

fn print_report(
    report: &Report,
    file: &str,
    swarm: bool,
    timing: Option<(usize, f64, f64)>,
    shrunk: &[ShrunkLine],
    json: bool,
) -> Result<(), String> {
    let replay = replay_lines(report, file, swarm);
    if json {
        let out = JsonReport {
            report,
            file: file.to_owned(),
            swarm,
            jobs: timing.map(|t| t.0),
            wall_time_s: timing.map(|t| t.1),
            seeds_per_second: timing.map(|t| t.2),
            replay,
            shrunk: shrunk.to_vec(),
        };
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    let mut t = render::table(&["sweep", ""]);
    t.add_row(vec![
        "scenario".to_owned(),
        format!("{} ({file})", report.scenario),
    ]);
    if let Some((lo, hi)) = report.seed_range {
        t.add_row(vec!["seeds".to_owned(), format!("{lo} to {hi}")]);
    }
    t.add_row(vec!["runs".to_owned(), thousands(report.runs as u64)]);
    t.add_row(vec![
        "failed".to_owned(),
        format!(
            "{} (safety {}, liveness {}, other {})",
            thousands(report.failed as u64),
            report.safety_failures,
            report.liveness_failures,
            report.other_failures
        ),
    ]);
    if swarm {
        t.add_row(vec![
            "swarm".to_owned(),
            "each seed drew its own faults and network".to_owned(),
        ]);
    }
    if let Some((jobs, wall, rate)) = timing {
        t.add_row(vec![
            "wall time".to_owned(),
            format!("{wall:.2} s, {rate:.1} seeds/s with {jobs} jobs"),
        ]);
    }
    render::print_table(&t);
    outln!();
    if !report.kinds.is_empty() {
        let mut k = render::table(&[
            "class",
            "failure kind",
            "seeds",
            "first seeds",
            "first account",
        ]);
        for row in &report.kinds {
            let firsts: Vec<String> = row.first_seeds.iter().map(u64::to_string).collect();
            let mut example = row.example.clone();
            if example.chars().count() > 100 {
                example = example.chars().take(99).collect::<String>() + "…";
            }
            k.add_row(vec![
                row.class.as_str().to_owned(),
                row.kind.clone(),
                thousands(row.seeds as u64),
                firsts.join(", "),
                example,
            ]);
        }
        render::print_table(&k);
        outln!();
    }
    if swarm && !report.failing.is_empty() {
        let mut f = render::table(&["failing seed", "failures", "what it drew"]);
        for s in &report.failing {
            f.add_row(vec![
                s.seed.to_string(),
                s.kinds.join("; "),
                s.swarm
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ]);
        }
        render::print_table(&f);
        outln!();
    }
    if !report.coverage.is_empty() {
        let mut c = render::table(&["fault kind", "seeds", "failed"]);
        for row in &report.coverage {
            c.add_row(vec![
                row.faults.clone(),
                thousands(row.seeds as u64),
                thousands(row.failed as u64),
            ]);
        }
        render::print_table(&c);
        outln!();
        let mut c = render::table(&["fault combination", "seeds", "failed"]);
        for row in report.combinations.iter().take(15) {
            c.add_row(vec![
                row.faults.clone(),
                thousands(row.seeds as u64),
                thousands(row.failed as u64),
            ]);
        }
        render::print_table(&c);
        if report.combinations.len() > 15 {
            outln!(
                "({} more combinations; --json lists them all)",
                report.combinations.len() - 15
            );
        }
        outln!();
    }
    if !shrunk.is_empty() {
        let mut s = render::table(&[
            "shrunk",
            "seed",
            "faults",
            "duration",
            "operations",
            "runs",
            "file",
        ]);
        for l in shrunk {
            s.add_row(vec![
                l.kind.clone(),
                l.seed.to_string(),
                format!("{} -> {}", l.faults_before, l.faults_after),
                format!("{} -> {}", l.duration_before, l.duration_after),
                format!("{} -> {}", l.operations_before, l.operations_after),
                l.runs.to_string(),
                l.file.clone(),
            ]);
        }
        render::print_table(&s);
        outln!();
    }
    if report.failed == 0 {
        outln!("PASSED  {} seeds", thousands(report.runs as u64));
    } else {
        outln!("FAILED  {} of {} seeds", report.failed, report.runs);
        for line in &replay {
            outln!("  replay: {line}");
        }
        if shrunk.is_empty()
            && let Some(seed) = report.kinds.first().and_then(|k| k.first_seeds.first())
        {
            let flag = if swarm { " --swarm" } else { "" };
            outln!("  shrink: dsim shrink {file} --seed {seed}{flag} --out repro.toml");
        }
    }
    Ok(())
}
