//! `dsim validate`: parse scenario files and report every error, without running anything.

use crate::render::outln;
use std::process::ExitCode;

use crate::cli::ValidateArgs;

/// Checks each file; exit 2 if any is invalid.
pub fn validate(args: &ValidateArgs) -> Result<ExitCode, String> {
    let mut bad = 0;
    for path in &args.scenarios {
        match sim_models::Scenario::load(path) {
            Ok(s) => outln!(
                "ok       {}  ({}: {} nodes, {} faults)",
                path.display(),
                s.name(),
                s.nodes.len(),
                s.faults.len()
            ),
            Err(e) => {
                bad += 1;
                eprintln!("{}", crate::render::load_error(&e));
            }
        }
    }
    if bad > 0 {
        eprintln!(
            "{bad} of {} scenario files are invalid",
            args.scenarios.len()
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
