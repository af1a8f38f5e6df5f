//! Image snapshots of the explorer's main views, rendered with wgpu (egui_kittest `wgpu` +
//! `snapshot`), so that a broken drawing is caught. Baselines live in `tests/snapshots/` and
//! were made with Mesa's lavapipe (Debian `mesa-vulkan-drivers libvulkan1`); regenerate with
//! `UPDATE_SNAPSHOTS=1 cargo test -p sim-gui --test snapshots`.
//!
//! The views show a recorded trace, `tests/data/raft-partition-split.jsonl`, not a live run,
//! so that changes to the models (which move trace hashes) do not move these images: it is
//! `dsim run scenarios/cap/raft-partition.toml --trace` (seed 2) cut to the events between
//! 9.95 s and 10.2 s, plus the starts, the faults and each node's last annotations before.
//!
//! Without a wgpu adapter the tests print a notice and pass, so `cargo test` works on a bare
//! machine; with `DSIM_REQUIRE_SNAPSHOTS=1` (as `.ci/run` sets) a missing adapter fails them.

use std::io::Write;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use egui_kittest::wgpu::WgpuTestRenderer;
use sim_gui::app::{App, Command};

/// The wgpu renderer, or `None` (with a notice) when this machine has no adapter.
fn renderer() -> Option<WgpuTestRenderer> {
    let made = std::panic::catch_unwind(WgpuTestRenderer::new);
    match made {
        Ok(r) => Some(r),
        Err(_) if std::env::var_os("DSIM_REQUIRE_SNAPSHOTS").is_some_and(|v| v == "1") => {
            panic!(
                "DSIM_REQUIRE_SNAPSHOTS=1 but wgpu found no adapter: install mesa-vulkan-drivers and libvulkan1"
            )
        }
        Err(_) => {
            // Straight to stderr, past the test harness's capture, so plain `cargo test`
            // shows that the snapshots were skipped.
            let _ = writeln!(
                std::io::stderr(),
                "notice: no wgpu adapter on this machine; snapshot tests skipped (install mesa-vulkan-drivers libvulkan1, or set DSIM_REQUIRE_SNAPSHOTS=1 to make this a failure)"
            );
            None
        }
    }
}

/// The explorer on the recorded split of cap/raft-partition, zoomed to the moment of the
/// partition at 10 s, with the first message after 10.0 s selected.
fn explorer(renderer: WgpuTestRenderer) -> Harness<'static, App> {
    let catalog = sim_gui::catalog::default_dir();
    // Relative (tests run in the package's directory): the path is on screen, and the
    // images must not depend on where the repository is checked out.
    let trace = std::path::PathBuf::from("tests/data/raft-partition-split.jsonl");
    let mut app = App::new(&catalog);
    app.apply(Command::OpenTrace(trace));
    app.apply(Command::JumpTo(10_000_000_000));
    app.apply(Command::NextMessage);
    if let Some(s) = app.session_mut() {
        s.view.t0 = 9_990_000_000.0;
        s.view.t1 = 10_140_000_000.0;
    }
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 820.0))
        .with_theme(egui::Theme::Light)
        .renderer(renderer)
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app);
    h.run();
    h
}

#[test]
fn snapshots_of_timeline_inspector_plots_and_topology() {
    let Some(renderer) = renderer() else {
        return;
    };
    let mut h = explorer(renderer);
    assert!(
        h.state()
            .session()
            .is_some_and(|s| s.selection.message.is_some())
    );
    h.snapshot("timeline_and_inspector");
    h.get_by_label("Plots").click();
    h.run();
    h.snapshot("plots");
    h.state_mut().apply(Command::JumpTo(10_100_000_000));
    h.get_by_label("Topology").click();
    h.run();
    h.snapshot("topology_during_partition");
}
