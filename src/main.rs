//! `dsim`: the command-line front end of the deterministic distributed-systems simulator.
//!
//! Argument parsing (clap), output formatting and exit codes live here; everything else is in
//! `sim-core` (the engine) and `sim-models` (the systems and the scenario format).
//!
//! Exit codes: 0 success; 1 a run failed (an expectation, an invariant, a bound, a determinism
//! check); 2 bad input (arguments, unreadable or invalid scenario files).

mod cli;
mod cmd;
mod render;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: a run allocates small, short-lived values (trace
/// strings, boxed messages) at a high rate, and the allocator has no effect on what a run does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let result = match args.command {
        cli::Command::Run(a) => cmd::run::run(&a),
        cli::Command::Validate(a) => cmd::validate::validate(&a),
        cli::Command::List(a) => cmd::list::list(&a),
        cli::Command::CheckDeterminism(a) => cmd::determinism::check(&a),
        cli::Command::Models => cmd::list::models(),
        cli::Command::Bench(a) => cmd::bench::bench(&a),
        cli::Command::Check(a) => cmd::check::check(&a),
        cli::Command::Sweep(a) => cmd::sweep::sweep(&a),
        cli::Command::Shrink(a) => cmd::shrink::shrink(&a),
        cli::Command::Bugs(a) => cmd::list::bugs(&a),
        cli::Command::Gui(a) => cmd::gui::gui(&a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
