//! `dsim check-determinism`: run twice with one seed and compare the traces event by event.

use crate::render::outln;
use std::process::ExitCode;

use serde::Serialize;
use sim_core::TraceLevel;
use sim_core::trace::{TraceEvent, TraceRow, first_divergence};
use sim_models::Overrides;

use crate::cli::DeterminismArgs;

#[derive(Serialize)]
struct Report {
    scenario: String,
    seed: u64,
    events: u64,
    hash_first: String,
    hash_second: String,
    identical: bool,
    divergence: Option<DivergenceOut>,
}

#[derive(Serialize)]
struct DivergenceOut {
    index: usize,
    first: Option<TraceRow>,
    second: Option<TraceRow>,
}

/// Runs the scenario twice at full trace level; exit 1 if the runs differ.
pub fn check(args: &DeterminismArgs) -> Result<ExitCode, String> {
    let scenario = super::load(&args.scenario)?;
    let overrides = Overrides {
        seed: args.seed,
        duration: args.duration,
        trace: Some(TraceLevel::Full),
    };
    let err = |e: sim_core::BuildError| format!("error: {}: {e}", args.scenario.display());
    let (a, sa) = sim_models::run(&scenario, &overrides).map_err(err)?;
    let (b, sb) = sim_models::run(&scenario, &overrides).map_err(err)?;
    let names = a.node_names();
    let row =
        |i: usize, e: &Option<TraceEvent>| e.as_ref().map(|e| TraceRow::of(i as u64, e, &names));
    let divergence =
        first_divergence(a.trace().events(), b.trace().events()).map(|d| DivergenceOut {
            index: d.index,
            first: row(d.index, &d.first),
            second: row(d.index, &d.second),
        });
    let identical = divergence.is_none() && sa.trace_hash == sb.trace_hash;
    let report = Report {
        scenario: sa.scenario.clone(),
        seed: sa.seed,
        events: a.trace().count(),
        hash_first: sa.trace_hash.clone(),
        hash_second: sb.trace_hash.clone(),
        identical,
        divergence,
    };
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else if identical {
        outln!(
            "deterministic: two runs of {} with seed {} gave identical traces ({} events, hash {})",
            report.scenario,
            report.seed,
            report.events,
            report.hash_first
        );
    } else {
        outln!(
            "NOT deterministic: {} with seed {}",
            report.scenario,
            report.seed
        );
        outln!(
            "  trace hashes: {} vs {}",
            report.hash_first,
            report.hash_second
        );
        if let Some(d) = &report.divergence {
            outln!("  first divergent event: #{}", d.index);
            let show = |r: &Option<TraceRow>| match r {
                Some(r) => format!(
                    "t={}ns {} node={} peer={} msg={} label={} {}",
                    r.time_ns,
                    r.kind,
                    r.node,
                    r.peer,
                    r.msg.map_or_else(String::new, |m| m.to_string()),
                    r.label,
                    r.detail
                ),
                None => "(trace ended)".to_owned(),
            };
            outln!("    run 1: {}", show(&d.first));
            outln!("    run 2: {}", show(&d.second));
        }
    }
    Ok(if identical {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
