//! The Verdicts tab: whether the run passed, each expectation, invariant violations and the
//! models' own checks, each failure with a jump to the events that prove it; and the
//! linearizability check drawn per key as operation bars (Porcupine-style): the longest
//! linearizable prefix numbered in order, the operation that cannot be placed in red.

use egui::{Align2, Color32, FontId, RichText, Sense, Stroke, Ui, pos2, vec2};

use crate::app::Command;
use crate::data::{Kind, RunData};
use crate::linview::{KeyBars, LinView};
use crate::session::Session;
use crate::{fmt, theme};

/// Events of the operations of `client` that did not complete ok, and the faults: the
/// evidence for a failed availability-style expectation.
fn expectation_evidence(run: &RunData, metric: &str) -> Vec<usize> {
    let scope = metric
        .split('@')
        .next()
        .unwrap_or(metric)
        .rsplit('.')
        .next()
        .unwrap_or("");
    let node = run
        .nodes
        .iter()
        .position(|n| n.name == scope)
        .map(|i| i as u32);
    run.events
        .iter()
        .enumerate()
        .filter(|(_, e)| match e.kind {
            Kind::Fault | Kind::Crash | Kind::Violation => true,
            Kind::Op => Some(e.node) == node && matches!(run.strings.get(e.label), "fail" | "info"),
            _ => false,
        })
        .map(|(i, _)| i)
        .take(500)
        .collect()
}

/// The Verdicts tab.
pub fn ui(ui: &mut Ui, s: &Session, commands: &mut Vec<Command>) {
    let run = &s.run.data;
    let Some(summary) = &s.run.summary else {
        ui.label("Trace files carry no verdicts: open the scenario to check the run.");
        return;
    };
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if summary.passed() {
                ui.label(
                    RichText::new(format!("PASSED  {}", summary.scenario))
                        .strong()
                        .color(theme::pick(2)),
                );
            } else {
                ui.label(
                    RichText::new(format!("FAILED  {}", summary.scenario))
                        .strong()
                        .color(theme::DANGER),
                );
                for f in summary.failures() {
                    ui.label(format!("• {}", f.lines().next().unwrap_or("")));
                }
            }
            for (i, v) in summary.violations.iter().enumerate() {
                ui.horizontal(|ui| {
                    ui.colored_label(
                        theme::DANGER,
                        format!("violation at {}: {}", fmt::seconds(v.time.0), v.text()),
                    );
                    if ui.button(format!("Show violation {}", i + 1)).clicked() {
                        let evidence: Vec<usize> = run
                            .events
                            .iter()
                            .enumerate()
                            .filter(|(_, e)| e.kind == Kind::Violation && e.time == v.time.0)
                            .map(|(i, _)| i)
                            .collect();
                        commands.push(Command::ShowEvidence(v.time.0, evidence));
                    }
                });
            }
            if !summary.expectations.is_empty() {
                ui.add_space(6.0);
                egui::Grid::new("expectations")
                    .num_columns(5)
                    .striped(true)
                    .show(ui, |ui| {
                        ui.weak("expect");
                        ui.weak("wanted");
                        ui.weak("got");
                        ui.weak("verdict");
                        ui.weak("");
                        ui.end_row();
                        for e in &summary.expectations {
                            ui.monospace(&e.metric);
                            ui.monospace(&e.expected);
                            ui.monospace(
                                e.actual
                                    .map_or_else(|| "(missing)".to_owned(), |v| format!("{v:.4}")),
                            );
                            if e.passed {
                                ui.colored_label(theme::pick(2), "ok");
                                ui.label("");
                            } else {
                                ui.colored_label(theme::DANGER, "FAILED");
                                if ui.button(format!("Evidence for {}", e.metric)).clicked() {
                                    let evidence = expectation_evidence(run, &e.metric);
                                    let t = evidence.first().map_or(0, |&i| run.events[i].time);
                                    commands.push(Command::ShowEvidence(t, evidence));
                                }
                            }
                            ui.end_row();
                        }
                    });
            }
            for v in &summary.verdicts {
                ui.add_space(6.0);
                let color = if v.holds {
                    theme::pick(2)
                } else {
                    theme::DANGER
                };
                ui.colored_label(color, format!("{}: {}", v.check, v.summary));
                if !v.report.is_empty() {
                    ui.monospace(v.report.trim_end());
                }
            }
            if let Some(lin) = &s.run.lin {
                ui.add_space(8.0);
                lin_ui(ui, run, lin, (s.view.t0, s.view.t1), commands);
            }
        });
}

fn lin_ui(
    ui: &mut Ui,
    run: &RunData,
    lin: &LinView,
    window: (f64, f64),
    commands: &mut Vec<Command>,
) {
    ui.label(RichText::new(format!("Linearizability: {}", lin.verdict)).strong());
    ui.weak("Per key, over the timeline's window (zoom the timeline to zoom these): each client's operations as bars from invocation to completion (unknown outcomes run on). Numbers: the order of the linearization found (for a failing key, its longest linearizable prefix). Red: the operation that cannot be placed; orange outline: a minimal set that cannot be ordered.");
    const SHOWN: usize = 8;
    for key in lin.keys.iter().take(SHOWN) {
        key_ui(ui, run, key, window, commands);
    }
    if lin.keys.len() > SHOWN {
        ui.weak(format!(
            "… {} more keys, all linearizable",
            lin.keys.len() - SHOWN
        ));
    }
}

fn key_ui(
    ui: &mut Ui,
    run: &RunData,
    key: &KeyBars,
    window: (f64, f64),
    commands: &mut Vec<Command>,
) {
    ui.label(format!(
        "{} — {} ({} operations)",
        key.label,
        key.verdict,
        key.ops.len()
    ));
    if let Some(state) = &key.state {
        ui.weak(format!("state after the prefix: {state}"));
    }
    let mut clients: Vec<u32> = key.ops.iter().map(|o| o.client).collect();
    clients.sort_unstable();
    clients.dedup();
    // The timeline's window and gutter, so the bars line up with the messages above.
    let (t0, t1) = (window.0, window.1.max(window.0 + 1.0));
    let row = 16.0;
    let (rect, response) = ui.allocate_exact_size(
        vec2(ui.available_width(), row * clients.len() as f32 + 4.0),
        Sense::click(),
    );
    let painter = ui.painter_at(rect);
    let gutter = crate::timeline::layout::GUTTER;
    let left = rect.left() + gutter;
    let x = |t: u64| {
        let at = left + ((t as f64 - t0) / (t1 - t0)) as f32 * (rect.right() - left);
        at.clamp(left - 2.0, rect.right() + 2.0)
    };
    let text = ui.visuals().text_color();
    let mut clicked = None;
    for (r, c) in clients.iter().enumerate() {
        let y = rect.top() + 2.0 + r as f32 * row;
        painter.text(
            pos2(rect.left(), y + row / 2.0),
            Align2::LEFT_CENTER,
            run.name(*c),
            FontId::monospace(11.0),
            text,
        );
        let visible = |o: &&crate::linview::LinOp| {
            (o.invoked as f64) <= t1 && o.completed.is_none_or(|c| c as f64 >= t0)
        };
        for op in key.ops.iter().filter(|o| o.client == *c).filter(visible) {
            let end = op.completed.map_or(rect.right(), x);
            let bar = egui::Rect::from_min_max(
                pos2(x(op.invoked), y + 2.0),
                pos2(end.max(x(op.invoked) + 3.0), y + row - 2.0),
            );
            let fill = if op.unplaceable {
                theme::DANGER
            } else if op.order.is_some() {
                theme::pick(2).gamma_multiply(0.7)
            } else {
                Color32::from_gray(170)
            };
            painter.rect_filled(bar, 2.0, fill);
            if op.conflict {
                painter.rect_stroke(
                    bar,
                    2.0,
                    Stroke::new(2.0, theme::pick(1)),
                    egui::StrokeKind::Outside,
                );
            }
            if let Some(n) = op.order
                && bar.width() > 14.0
            {
                painter.text(
                    bar.center(),
                    Align2::CENTER_CENTER,
                    n.to_string(),
                    FontId::proportional(10.0),
                    Color32::WHITE,
                );
            }
            if let Some(p) = response.hover_pos()
                && bar.contains(p)
            {
                response.clone().on_hover_text_at_pointer(format!(
                    "{} [{} .. {}]",
                    op.text,
                    fmt::seconds(op.invoked),
                    op.completed
                        .map_or_else(|| "unknown".to_owned(), fmt::seconds)
                ));
                if response.clicked() {
                    clicked = Some(op.op_id);
                }
            }
        }
    }
    if let Some(op) = clicked {
        let evidence: Vec<usize> = run
            .events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind == Kind::Op && e.id == op)
            .map(|(i, _)| i)
            .collect();
        let t = evidence.first().map_or(0, |&i| run.events[i].time);
        commands.push(Command::ShowEvidence(t, evidence));
    }
    if let Some(bad) = key.ops.iter().find(|o| o.unplaceable)
        && ui
            .button(format!("Show unplaceable operation {}", bad.op_id))
            .clicked()
    {
        let evidence: Vec<usize> = run
            .events
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.kind == Kind::Op && key.ops.iter().any(|o| o.conflict && o.op_id == e.id)
            })
            .map(|(i, _)| i)
            .collect();
        commands.push(Command::ShowEvidence(bad.invoked, evidence));
    }
}
