//! `dsim check`: judge an external history (dsim's JSON lines or Jepsen's EDN) for
//! linearizability, and explain a violation.

use std::process::ExitCode;
use std::time::Instant;

use serde::Serialize;
use sim_core::lin::{self, CheckOptions, Verdict};

use crate::cli::{CheckArgs, HistoryModel};
use crate::render::outln;

#[derive(Serialize)]
struct Report {
    file: String,
    model: &'static str,
    operations: usize,
    verdict: String,
    linearizable: bool,
    steps: u64,
    check_ms: f64,
    partitions: usize,
    counterexamples: Vec<CounterexampleOut>,
    report: String,
}

#[derive(Serialize)]
struct CounterexampleOut {
    partition: String,
    cannot_place: String,
    prefix_length: usize,
    state: String,
    conflict: Vec<String>,
    minimal: bool,
}

/// Jepsen EDN by extension (`.edn`), else dsim's JSON lines by extension (`.jsonl`, `.json`,
/// `.ndjson`), else by content: JSON objects start with `{"`, EDN maps with `{:`.
fn is_edn(path: &std::path::Path, text: &str) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some("edn") => true,
        Some("jsonl" | "json" | "ndjson") => false,
        _ => {
            let t = text.trim_start();
            !(t.is_empty() || t.starts_with("{\""))
        }
    }
}

/// Reads, checks and reports; exit 0 when linearizable, 1 when not (or undecided).
pub fn check(args: &CheckArgs) -> Result<ExitCode, String> {
    let path = &args.history;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("error: cannot read {}: {e}", path.display()))?;
    let history = if is_edn(path, &text) {
        lin::edn::read(&text)
    } else {
        lin::jsonl::read(&text)
    }
    .map_err(|e| format!("error: {}: {e}", path.display()))?;
    let kind = history.kind();
    let fits = match args.model {
        HistoryModel::Auto => true,
        HistoryModel::Register => matches!(kind, "register" | "registers"),
        HistoryModel::Kv => kind == "kv",
        HistoryModel::Mutex => kind == "mutex",
        HistoryModel::MultiRegister => kind == "multi-register",
    };
    if !fits {
        return Err(format!(
            "error: {}: --model {} does not fit this history, whose operations are {kind} operations",
            path.display(),
            args.model.name()
        ));
    }
    let options = CheckOptions {
        all_partitions: args.all_partitions,
        ..CheckOptions::default()
    };
    #[allow(clippy::disallowed_methods)] // timing the checker for the user, outside any run
    let started = Instant::now();
    let result = history.check(&options);
    let check_ms = started.elapsed().as_secs_f64() * 1e3;
    let describe = |i: usize| history.describe_op(i);
    let report = result.report(describe);
    let counterexamples = result
        .failures()
        .filter_map(|p| {
            p.counterexample.as_ref().map(|c| CounterexampleOut {
                partition: p.label.clone(),
                cannot_place: describe(c.op),
                prefix_length: c.prefix.len(),
                state: c.state.clone(),
                conflict: c.conflict.iter().map(|&i| describe(i)).collect(),
                minimal: c.minimal,
            })
        })
        .collect();
    let out = Report {
        file: path.display().to_string(),
        model: kind,
        operations: history.len(),
        verdict: result.verdict.to_string(),
        linearizable: result.verdict == Verdict::Linearizable,
        steps: result.steps(),
        check_ms,
        partitions: result.partitions.len(),
        counterexamples,
        report,
    };
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        outln!(
            "{}: {} operations ({} model, {} partitions), checked in {:.1} ms",
            out.file,
            out.operations,
            out.model,
            out.partitions,
            out.check_ms
        );
        outln!("{}", out.report.trim_end());
    }
    Ok(if out.linearizable {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
