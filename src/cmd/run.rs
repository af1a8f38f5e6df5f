//! `dsim run`: one run of one scenario, summarised as aligned tables or JSON.

use crate::render::outln;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use serde::Serialize;
use sim_core::trace::{TraceFormat, export};
use sim_core::{DropReason, TraceLevel};
use sim_models::{Overrides, RunSummary, Scenario};

use crate::cli::RunArgs;
use crate::render::{self, number, thousands};

#[derive(Serialize)]
struct JsonOut<'a> {
    #[serde(flatten)]
    summary: &'a RunSummary,
    file: String,
    passed: bool,
    failures: Vec<String>,
    wall_time_s: f64,
    events_per_second: f64,
    reproduce: String,
    trace_file: Option<String>,
}

/// The one-line command that reproduces a run.
pub fn reproduce_line(path: &Path, seed: u64, args: &RunArgs) -> String {
    let mut line = format!("dsim run {} --seed {seed}", path.display());
    if let Some(d) = args.duration {
        line.push_str(&format!(" --duration {d}"));
    }
    if args.swarm {
        line.push_str(" --swarm");
    }
    line
}

/// Runs the scenario and prints the summary; exit 1 if the run failed.
pub fn run(args: &RunArgs) -> Result<ExitCode, String> {
    let mut scenario = super::load(&args.scenario)?;
    if args.swarm {
        let seed = args.seed.unwrap_or(scenario.spec.seed);
        let (drawn, draw) = scenario
            .swarm(seed)
            .map_err(|e| crate::render::diagnostic(&e))?;
        if let Some(d) = draw {
            eprintln!("swarm: seed {seed} drew {d}");
        }
        scenario = drawn;
    }
    let trace_format = match &args.trace {
        Some(p) => Some(TraceFormat::from_path(p).ok_or_else(|| {
            format!(
                "error: --trace {}: unknown trace format; use a .csv or .jsonl file name",
                p.display()
            )
        })?),
        None => None,
    };
    let level = match (args.trace_level, &args.trace) {
        (Some(l), _) => Some(TraceLevel::from(l)),
        (None, Some(_)) => Some(TraceLevel::Full),
        (None, None) => None,
    };
    let overrides = Overrides {
        seed: args.seed,
        duration: args.duration,
        trace: level,
    };
    if args.print_config {
        crate::render::emit(scenario.to_toml(&overrides), false);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(d) = args.duration {
        let skipped = scenario.faults_after(d);
        if skipped > 0 {
            eprintln!(
                "note: {skipped} scheduled faults fall after --duration {d} and will not happen"
            );
        }
    }
    #[allow(clippy::disallowed_methods)] // reporting wall time and speed, outside the run
    let started = Instant::now();
    let (sim, summary) = sim_models::run(&scenario, &overrides)
        .map_err(|e| format!("error: {}: {e}", args.scenario.display()))?;
    let wall = started.elapsed().as_secs_f64();
    let trace_file = match (&args.trace, trace_format) {
        (Some(path), Some(format)) => {
            let file = std::fs::File::create(path)
                .map_err(|e| format!("error: cannot create {}: {e}", path.display()))?;
            export(sim.trace().events(), &sim.node_names(), format, file)
                .map_err(|e| format!("error: {}: {e}", path.display()))?;
            Some(path.display().to_string())
        }
        _ => None,
    };
    let seed = summary.seed;
    let reproduce = reproduce_line(&args.scenario, seed, args);
    let rate = if wall > 0.0 {
        summary.events as f64 / wall
    } else {
        0.0
    };
    if args.json {
        let out = JsonOut {
            summary: &summary,
            file: args.scenario.display().to_string(),
            passed: summary.passed(),
            failures: summary.failures(),
            wall_time_s: wall,
            events_per_second: rate,
            reproduce,
            trace_file,
        };
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        print_summary(&scenario, &summary, args, wall, rate, trace_file.as_deref());
        outln!("reproduce: {reproduce}");
    }
    Ok(if summary.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_summary(
    scenario: &Scenario,
    s: &RunSummary,
    args: &RunArgs,
    wall: f64,
    rate: f64,
    trace_file: Option<&str>,
) {
    let m = &s.messages;
    let drops: Vec<String> = DropReason::ALL
        .iter()
        .filter(|r| m.dropped_for(**r) > 0)
        .map(|r| format!("{} {}", r.as_str(), thousands(m.dropped_for(*r))))
        .collect();
    let dropped = if drops.is_empty() {
        "0".to_owned()
    } else {
        format!("{} ({})", thousands(m.dropped_total()), drops.join(", "))
    };
    let mut t = render::table(&["run", ""]);
    t.add_row(vec![
        "scenario".to_owned(),
        format!("{} ({})", s.scenario, args.scenario.display()),
    ]);
    t.add_row(vec!["seed".to_owned(), s.seed.to_string()]);
    t.add_row(vec![
        "outcome".to_owned(),
        format!(
            "{:?} at {} simulated",
            s.outcome,
            sim_core::SimTime(s.sim_time_ns)
        )
        .to_lowercase(),
    ]);
    t.add_row(vec!["events".to_owned(), thousands(s.events)]);
    t.add_row(vec!["messages sent".to_owned(), thousands(m.sent)]);
    t.add_row(vec![
        "messages delivered".to_owned(),
        thousands(m.delivered),
    ]);
    t.add_row(vec!["messages dropped".to_owned(), dropped]);
    t.add_row(vec![
        "messages duplicated".to_owned(),
        thousands(m.duplicated),
    ]);
    t.add_row(vec!["faults applied".to_owned(), thousands(s.faults)]);
    t.add_row(vec![
        "violations".to_owned(),
        s.violations.len().to_string(),
    ]);
    t.add_row(vec!["wall time".to_owned(), format!("{wall:.3} s")]);
    t.add_row(vec!["events per second".to_owned(), thousands(rate as u64)]);
    t.add_row(vec![
        "trace hash".to_owned(),
        format!("{} ({} events)", s.trace_hash, thousands(s.trace_events)),
    ]);
    if let Some(f) = trace_file {
        t.add_row(vec!["trace file".to_owned(), f.to_owned()]);
    }
    render::print_table(&t);
    outln!();

    let mut nodes = render::table(&[
        "node", "cluster", "zone", "status", "sent", "received", "timers", "crashes", "restarts",
        "clock", "state",
    ]);
    for n in &s.nodes {
        nodes.add_row(vec![
            n.name.clone(),
            n.cluster.clone(),
            n.zone.clone(),
            format!("{:?}", n.status).to_lowercase(),
            thousands(n.stats.sent),
            thousands(n.stats.received),
            thousands(n.stats.timers),
            n.stats.crashes.to_string(),
            n.stats.restarts.to_string(),
            format!("{:+.3}ms", n.clock_offset_ms),
            n.state.clone(),
        ]);
    }
    render::print_table(&nodes);
    outln!();

    let node_names: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    let mut metrics = render::table(&["metric", "value"]);
    let mut hidden = 0;
    for (k, v) in &s.metrics {
        let per_node = k
            .rsplit('.')
            .next()
            .is_some_and(|last| node_names.contains(&last));
        if per_node && !args.verbose {
            hidden += 1;
            continue;
        }
        metrics.add_row(vec![k.clone(), number(*v)]);
    }
    render::print_table(&metrics);
    if hidden > 0 {
        outln!("({hidden} per-node metrics hidden; --verbose shows them, --json has all)");
    }
    outln!();

    if let Some(l) = &s.linearizability {
        outln!(
            "linearizability: {} ({} register operations, {} search steps)",
            l.verdict,
            thousands(l.operations as u64),
            thousands(l.steps)
        );
        if l.verdict != "linearizable" {
            for line in l.report.lines().skip(1) {
                outln!("  {line}");
            }
        }
        outln!();
    }
    for v in &s.verdicts {
        outln!("{}: {}", v.check, v.summary);
        for line in v.report.lines() {
            outln!("  {line}");
        }
        outln!();
    }
    if !s.expectations.is_empty() {
        let mut e = render::table(&["expect", "wanted", "got", "verdict"]);
        for x in &s.expectations {
            e.add_row(vec![
                x.metric.clone(),
                x.expected.clone(),
                x.actual.map_or_else(|| "(missing)".to_owned(), number),
                if x.passed { "ok" } else { "FAILED" }.to_owned(),
            ]);
        }
        render::print_table(&e);
        outln!();
    }
    let _ = scenario;
    if s.passed() {
        outln!("PASSED  {}", s.scenario);
    } else {
        outln!("FAILED  {}", s.scenario);
        for f in s.failures() {
            outln!("  - {f}");
        }
    }
}
