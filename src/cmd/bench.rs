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
