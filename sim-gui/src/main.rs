//! `dsim-gui`: the explorer as its own program (`dsim gui` is the same).
//!
//! `dsim-gui [SCENARIO] [--seed N]` opens the picker or the scenario; `dsim-gui --bench`
//! renders timeline frames headlessly with a million trace events and prints frame times.

use std::path::PathBuf;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: dsim-gui [SCENARIO] [--seed N] [--catalog DIR] | dsim-gui --bench [EVENTS]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut scenario: Option<PathBuf> = None;
    let mut seed: Option<u64> = None;
    let mut catalog = sim_gui::catalog::default_dir();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {
                let events = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1_000_000);
                sim_gui::bench::print_report(events);
                return ExitCode::SUCCESS;
            }
            "--seed" => match args.next().and_then(|s| s.parse().ok()) {
                Some(s) => seed = Some(s),
                None => return usage(),
            },
            "--catalog" => match args.next() {
                Some(d) => catalog = PathBuf::from(d),
                None => return usage(),
            },
            "-h" | "--help" => return usage(),
            other if scenario.is_none() && !other.starts_with('-') => {
                scenario = Some(PathBuf::from(other))
            }
            _ => return usage(),
        }
    }
    let app = match scenario {
        Some(p) => sim_gui::app::App::with_scenario(&catalog, &p, seed),
        None => sim_gui::app::App::new(&catalog),
    };
    match sim_gui::run_native(app) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot open the window: {e}");
            ExitCode::from(1)
        }
    }
}
