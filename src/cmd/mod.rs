//! One module per subcommand. Each returns the process exit code, or an error message for
//! bad input (exit 2).

pub mod bench;
pub mod check;
pub mod determinism;
pub mod gui;
pub mod list;
pub mod run;
pub mod shrink;
pub mod sweep;
pub mod validate;

use std::path::Path;

use sim_models::Scenario;

/// Loads a scenario or renders why it cannot be loaded.
pub fn load(path: &Path) -> Result<Scenario, String> {
    Scenario::load(path).map_err(|e| crate::render::load_error(&e))
}
