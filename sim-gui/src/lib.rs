//! # sim-gui: the dsim explorer
//!
//! An egui/eframe desktop application over one deterministic run: a space-time diagram of
//! every message (arrows from send to delivery, crosses where messages were lost, partitions
//! shaded, crashes breaking the lanes), node state over time from annotations, metric plots,
//! the topology, checker verdicts with their evidence, time travel with a cursor, and faults
//! injected at the cursor by appending them to the scenario and re-running from the seed.
//!
//! Layers: [`data`] (a loaded run and its window queries, no drawing), [`load`] (making one
//! from a scenario or a trace file), [`timeline`] (layout as a pure function, then painting),
//! the panels, and [`app`] (state and the commands user actions become).
//!
//! ```no_run
//! let app = sim_gui::app::App::new(std::path::Path::new("scenarios"));
//! sim_gui::run_native(app).expect("the window opens");
//! ```

pub mod actions;
pub mod app;
pub mod bench;
pub mod catalog;
pub mod compare;
pub mod controls;
pub mod data;
pub mod edit;
pub mod export;
pub mod files;
pub mod filters;
pub mod fmt;
pub mod inspector;
pub mod linview;
pub mod load;
pub mod picker;
pub mod plots;
pub mod session;
pub mod state_panel;
pub mod theme;
pub mod timeline;
pub mod topology;
pub mod verdicts;
pub mod whatif;

/// The eframe wrapper around [`app::App`].
struct Window(app::App);

impl eframe::App for Window {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.0.ui(ui);
    }
}

/// Opens the explorer in a native window and runs until it is closed.
pub fn run_native(app: app::App) -> Result<(), eframe::Error> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("dsim explorer")
            .with_inner_size([1400.0, 900.0]),
        ..eframe::NativeOptions::default()
    };
    eframe::run_native(
        "dsim explorer",
        options,
        Box::new(|cc| {
            cc.egui_ctx.set_theme(egui::Theme::Light);
            Ok(Box::new(Window(app)))
        }),
    )
}
