//! `dsim shrink`: cut a failing seed's scenario down, while it keeps failing the same way, to
//! a small scenario file that fails on its own with `dsim run`.

use std::io::IsTerminal;
use std::process::ExitCode;

use sim_core::time::format_nanos;
use sim_models::shrink::{self, Options};

use crate::cli::ShrinkArgs;
use crate::render::{self, outln, thousands};

/// Shrinks and prints (or writes) the result; exit 0 when a reproducer was written, 1 when
/// the seed does not fail.
pub fn shrink(args: &ShrinkArgs) -> Result<ExitCode, String> {
    let scenario = super::load(&args.scenario)?;
    let options = Options {
        swarm: args.swarm,
        kind: args.kind.clone(),
        max_runs: args.max_runs,
        reseed: args.reseed,
    };
    let chatty = std::io::stderr().is_terminal();
    let result = shrink::shrink(&scenario, args.seed, &options, |runs, size| {
        if chatty {
            eprintln!(
                "run {runs}: {} faults, {}, {} operations",
                size.faults,
                format_nanos(size.duration_ns),
                size.operations
            );
        }
    });
    let shrunk = match result {
        Ok(s) => s,
        Err(e @ (shrink::ShrinkError::Passes(_) | shrink::ShrinkError::OtherKind { .. })) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(format!("error: {}: {e}", args.scenario.display())),
    };
    if let Some(out) = &args.out {
        std::fs::write(out, &shrunk.toml)
            .map_err(|e| format!("error: cannot write {}: {e}", out.display()))?;
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&shrunk).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.out.is_none() {
        outln!("{}", shrunk.toml.trim_end());
        outln!();
    }
    let mut t = render::table(&["shrunk", "before", "after"]);
    let (b, a) = (&shrunk.before, &shrunk.after);
    t.add_row(vec![
        "faults applied".to_owned(),
        thousands(b.faults),
        thousands(a.faults),
    ]);
    t.add_row(vec![
        "[[faults]] entries".to_owned(),
        b.fault_entries.to_string(),
        a.fault_entries.to_string(),
    ]);
    t.add_row(vec![
        "duration".to_owned(),
        format_nanos(b.duration_ns),
        format_nanos(a.duration_ns),
    ]);
    t.add_row(vec![
        "operations".to_owned(),
        thousands(b.operations),
        thousands(a.operations),
    ]);
    t.add_row(vec![
        "nodes".to_owned(),
        b.nodes.to_string(),
        a.nodes.to_string(),
    ]);
    t.add_row(vec![
        "seed".to_owned(),
        shrunk.seed.to_string(),
        shrunk.final_seed.to_string(),
    ]);
    render::print_table(&t);
    outln!();
    outln!(
        "kept failing with {} through {} reductions in {} runs",
        shrunk.kind,
        shrunk.steps,
        shrunk.runs
    );
    match &args.out {
        Some(out) => outln!("reproduce: dsim run {}", out.display()),
        None => outln!("(--out FILE writes it to a file)"),
    }
    Ok(ExitCode::SUCCESS)
}
