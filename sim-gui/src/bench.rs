//! The headless frame-time benchmark: a Raft partition run long enough to record a million
//! trace events, drawn by the whole explorer (timeline, inspector, panels) into an egui
//! context without a window, and tessellated into triangles as a renderer would receive
//! them. Prints frame times per zoom level; `dsim-gui --bench` runs it.

use std::path::Path;
use std::time::Instant;

use crate::app::App;
use crate::load::{self, Loaded};

/// Frame times of one view.
#[derive(Clone, Debug)]
pub struct FrameTimes {
    /// What was shown.
    pub view: String,
    /// Frames measured.
    pub frames: usize,
    /// Median, milliseconds.
    pub p50_ms: f64,
    /// 95th percentile, milliseconds.
    pub p95_ms: f64,
    /// Slowest, milliseconds.
    pub max_ms: f64,
    /// Messages drawn as arrows (or counted in density cells) in the last frame.
    pub messages: usize,
}

/// Runs `cap/raft-partition` for long enough to record at least `events` trace events.
pub fn big_run(events: usize) -> Result<Loaded, load::RunError> {
    let path = crate::catalog::default_dir()
        .join("cap")
        .join("raft-partition.toml");
    let text = std::fs::read_to_string(&path).map_err(|source| load::RunError::Io {
        path: path.clone(),
        source,
    })?;
    // About 92,000 trace events per simulated minute.
    let minutes = (events as u64).div_ceil(90_000).max(1);
    let duration = sim_core::Duration::from_secs(60 * minutes);
    load::run_text_for(&path, &text, None, Some(duration))
}

fn input(size: egui::Vec2, time: f64) -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, size)),
        time: Some(time),
        ..egui::RawInput::default()
    }
}

/// Renders `frames` frames of `app` with the window set by `window` (start, span in ns),
/// panning a little each frame, and returns the frame times.
#[allow(clippy::disallowed_methods)] // a benchmark times itself, outside any run
pub fn measure(
    app: &mut App,
    ctx: &egui::Context,
    label: &str,
    start: f64,
    span: f64,
    frames: usize,
) -> FrameTimes {
    let size = egui::vec2(1600.0, 1000.0);
    let mut times = Vec::with_capacity(frames);
    let mut messages = 0;
    for f in 0..frames {
        if let Some(s) = app.session_mut() {
            s.view.t0 = start + span * 0.01 * f as f64;
            s.view.t1 = s.view.t0 + span;
            s.cursor = (s.view.t0 + span / 2.0) as u64;
        }
        let started = Instant::now();
        let mut out = ctx.run_ui(input(size, f as f64 / 60.0), |ui| app.ui(ui));
        let primitives = ctx.tessellate(out.shapes, out.pixels_per_point);
        // No renderer uploads the font atlas here.
        out.textures_delta.clear();
        times.push(started.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(primitives);
        if let Some(s) = app.session() {
            let run = &s.run.data;
            messages = run.visible_message_bound(s.view.t0 as u64, s.view.t1 as u64);
        }
    }
    // The first frames lay out fonts and panels; time the steady state.
    let mut steady: Vec<f64> = times.iter().skip(frames.min(3)).copied().collect();
    steady.sort_by(f64::total_cmp);
    let at = |p: f64| {
        steady
            .get(((steady.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    FrameTimes {
        view: label.to_owned(),
        frames: steady.len(),
        p50_ms: at(0.5),
        p95_ms: at(0.95),
        max_ms: steady.last().copied().unwrap_or(0.0),
        messages,
    }
}

/// Runs the benchmark and prints a table of frame times.
#[allow(clippy::disallowed_methods)] // a benchmark times itself, outside any run
pub fn print_report(events: usize) {
    let started = Instant::now();
    let run = match big_run(events) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return;
        }
    };
    println!(
        "loaded {} trace events ({} messages, {} nodes) in {:.1} s (run + index)",
        run.data.events.len(),
        run.data.messages.len(),
        run.data.nodes.len(),
        started.elapsed().as_secs_f64()
    );
    let end = run.data.end as f64;
    let mut app = App::new(Path::new("scenarios"));
    app.explore(run);
    let ctx = egui::Context::default();
    let rows = [
        ("whole run", 0.0, end),
        ("one minute", end / 2.0, 60e9),
        ("ten seconds", end / 2.0, 10e9),
        ("one second", end / 2.0, 1e9),
        ("50 ms", end / 2.0, 50e6),
    ];
    println!(
        "{:<12} {:>7} {:>9} {:>9} {:>9} {:>8} {:>10}",
        "view", "frames", "p50 ms", "p95 ms", "max ms", "fps p50", "messages"
    );
    for (label, start, span) in rows {
        let t = measure(&mut app, &ctx, label, start, span, 40);
        println!(
            "{:<12} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>8.0} {:>10}",
            t.view,
            t.frames,
            t.p50_ms,
            t.p95_ms,
            t.max_ms,
            1e3 / t.p50_ms.max(1e-9),
            t.messages
        );
    }
}
