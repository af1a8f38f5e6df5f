//! Metric plots (egui_plot): throughput, latency percentiles, availability and messages in
//! flight over time, with a vertical marker at every fault and the timeline's cursor. The
//! plots show the timeline's window; a click on a plot moves the cursor.

use egui::{Color32, Ui};
use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};

use crate::app::Command;
use crate::data::Kind;
use crate::session::Session;
use crate::theme;

/// The Plots tab.
pub fn ui(ui: &mut Ui, s: &Session, commands: &mut Vec<Command>) {
    let run = &s.run.data;
    let series = &s.series;
    let faults: Vec<f64> = run
        .markers
        .iter()
        .map(|&i| &run.events[i as usize])
        .filter(|e| matches!(e.kind, Kind::Fault | Kind::Crash | Kind::Violation))
        .map(|e| e.time as f64 / 1e9)
        .collect();
    let x_range = (s.view.t0 / 1e9)..=(s.view.t1 / 1e9);
    let cursor = s.cursor as f64 / 1e9;
    let width = (ui.available_width() / 2.0 - 8.0).max(120.0);
    // Two rows of a title and a plot must fit the panel, or the panel grows every frame.
    let height = (ui.available_height() / 2.0 - 34.0).max(60.0);
    let mut plot = |ui: &mut Ui, title: &str, lines: Vec<(String, Vec<[f64; 2]>, Color32)>| {
        ui.vertical(|ui| {
            ui.label(title);
            let response = Plot::new(title)
                .width(width)
                .height(height)
                .allow_zoom(false)
                .allow_drag(false)
                .allow_scroll(false)
                .allow_boxed_zoom(false)
                .allow_double_click_reset(false)
                .legend(Legend::default())
                .link_cursor(egui::Id::unique("dsim plots"), [true, false])
                .show(ui, |p| {
                    p.set_plot_bounds_x(x_range.clone());
                    for (name, points, color) in lines {
                        p.line(Line::new(name, PlotPoints::from(points)).color(color));
                    }
                    for &x in &faults {
                        p.vline(
                            VLine::new("", x)
                                .color(theme::FAULT.gamma_multiply(0.6))
                                .width(1.0),
                        );
                    }
                    p.vline(VLine::new("", cursor).color(theme::CURSOR).width(1.5));
                    p.pointer_coordinate()
                });
            if response.response.clicked()
                && let Some(at) = response.inner
            {
                commands.push(Command::JumpTo((at.x.max(0.0) * 1e9) as u64));
            }
        });
    };
    let has_ops = !series.throughput.is_empty() && !run.ops.is_empty();
    ui.horizontal(|ui| {
        if has_ops {
            plot(
                ui,
                "Throughput (ok operations / s)",
                vec![("ok/s".into(), series.throughput.clone(), theme::pick(0))],
            );
            plot(
                ui,
                "Latency percentiles (ms)",
                vec![
                    ("p50".into(), series.p50.clone(), theme::pick(2)),
                    ("p95".into(), series.p95.clone(), theme::pick(1)),
                    ("p99".into(), series.p99.clone(), theme::DANGER),
                ],
            );
        } else {
            ui.label("No client operations in this run: no throughput, latency or availability.");
        }
    });
    ui.horizontal(|ui| {
        if has_ops {
            plot(
                ui,
                "Availability (share ok)",
                vec![(
                    "ok share".into(),
                    series.availability.clone(),
                    theme::pick(2),
                )],
            );
        }
        let queues = series
            .in_flight
            .iter()
            .enumerate()
            .map(|(i, (c, p))| (format!("to {c}"), p.clone(), theme::pick(i as u32 + 3)))
            .collect();
        plot(ui, "Queue lengths (messages in flight)", queues);
    });
}
