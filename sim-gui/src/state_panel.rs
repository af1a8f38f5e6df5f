//! The State tab: every node as it was at the cursor (status, annotations, messages waiting
//! for it), and the selected node's state changes over time as a table.

use egui::{RichText, Ui};

use crate::app::Command;
use crate::data::intern::NONE;
use crate::session::Session;
use crate::{fmt, theme};

/// The State tab.
pub fn ui(ui: &mut Ui, s: &Session, commands: &mut Vec<Command>) {
    let run = &s.run.data;
    let flying = run.in_flight_at(s.cursor);
    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        ui.label(RichText::new(format!("The system at {}", fmt::seconds(s.cursor))).strong());
        egui::ScrollArea::vertical().id_salt("system").auto_shrink([false, false]).show(ui, |ui| {
            egui::Grid::new("system grid").num_columns(4).striped(true).show(ui, |ui| {
                ui.weak("node");
                ui.weak("status");
                ui.weak("inbound");
                ui.weak("state");
                ui.end_row();
                for &n in &run.lanes {
                    let selected = s.selection.node == Some(n);
                    if ui.selectable_label(selected, run.name(n)).clicked() {
                        commands.push(Command::SelectNode(Some(n)));
                    }
                    match run.outage_at(n, s.cursor) {
                        Some(o) if o.crashed => ui.colored_label(theme::DANGER, "down"),
                        Some(_) => ui.colored_label(theme::CURSOR, "paused"),
                        None => ui.label("up"),
                    };
                    let inbound = flying.iter().filter(|&&i| run.messages[i].to == n).count();
                    ui.label(inbound.to_string());
                    let state: Vec<String> = run
                        .state
                        .at(n, s.cursor)
                        .iter()
                        .map(|(k, v)| format!("{}={}", run.strings.get(*k), run.strings.get(*v)))
                        .collect();
                    ui.monospace(state.join(" "));
                    ui.end_row();
                }
            });
        });
        let ui = &mut cols[1];
        let Some(n) = s.selection.node else {
            ui.label("Select a node (click its lane, a row, or the topology) to see its state over time.");
            return;
        };
        ui.label(RichText::new(format!("{} over time", run.name(n))).strong());
        let mut changes: Vec<(u64, &str, &str)> = run
            .state
            .nodes
            .get(n as usize)
            .into_iter()
            .flatten()
            .flat_map(|series| {
                series.points.iter().map(move |&(t, v)| {
                    let value = if v == NONE { "(cleared)" } else { run.strings.get(v) };
                    (t, run.strings.get(series.key), value)
                })
            })
            .collect();
        changes.sort_by_key(|c| c.0);
        let current = changes.partition_point(|c| c.0 <= s.cursor);
        let row_h = ui.text_style_height(&egui::TextStyle::Monospace) + 4.0;
        egui::ScrollArea::vertical().id_salt("node history").auto_shrink([false, false]).show_rows(
            ui,
            row_h,
            changes.len(),
            |ui, rows| {
                for i in rows {
                    let (t, k, v) = changes[i];
                    let text = format!("{:>12}  {k} = {v}", fmt::seconds(t));
                    let rich = RichText::new(text).monospace();
                    let rich = if i + 1 == current { rich.strong().color(theme::CURSOR) } else if i >= current { rich.weak() } else { rich };
                    if ui.selectable_label(false, rich).clicked() {
                        commands.push(Command::JumpTo(t));
                    }
                }
            },
        );
    });
}
