//! `dsim gui`: the desktop explorer (the `sim-gui` crate), on the picker or a scenario.

use std::process::ExitCode;

use crate::cli::GuiArgs;

/// Opens the explorer window and returns when it is closed. A scenario that cannot be read
/// opens the picker with its error (line and column) shown.
#[cfg(feature = "gui")]
pub fn gui(args: &GuiArgs) -> Result<ExitCode, String> {
    let app = match &args.scenario {
        Some(path) => sim_gui::app::App::with_scenario(&args.catalog, path, args.seed),
        None => sim_gui::app::App::new(&args.catalog),
    };
    sim_gui::run_native(app).map_err(|e| format!("error: cannot open the explorer window: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Without the `gui` feature there is no explorer to open: says how to get one.
#[cfg(not(feature = "gui"))]
pub fn gui(_args: &GuiArgs) -> Result<ExitCode, String> {
    Err(
        "error: this dsim was built without the explorer; build it with the `gui` feature \
         (cargo run --release --features gui -- gui), or run the explorer on its own: \
         cargo run --release -p sim-gui"
            .to_owned(),
    )
}
