//! The filter bar above the timeline: nodes and clusters, message labels (with their
//! colours), colour by label, zoom buttons, and what the run holds.

use egui::{RichText, Ui};

use crate::app::Command;
use crate::session::Session;
use crate::{fmt, theme};

/// The filter bar above the timeline.
pub fn filters(ui: &mut Ui, s: &mut Session, commands: &mut Vec<Command>) {
    let run = &s.run.data;
    let view = &mut s.view;
    ui.horizontal(|ui| {
        ui.menu_button("Nodes", |ui| {
            for c in &run.clusters {
                let mut shown = !view.hidden_clusters.contains(c);
                if ui
                    .checkbox(&mut shown, RichText::new(format!("cluster {c}")).strong())
                    .changed()
                {
                    toggle(&mut view.hidden_clusters, c, shown);
                }
                for n in run.nodes.iter().filter(|n| &n.cluster == c) {
                    let mut shown = !view.hidden_nodes.contains(&n.name);
                    if ui.checkbox(&mut shown, format!("  {}", n.name)).changed() {
                        toggle(&mut view.hidden_nodes, &n.name, shown);
                    }
                }
            }
        });
        ui.menu_button("Labels", |ui| {
            for &l in &run.message_labels {
                let name = run.strings.get(l);
                let mut shown = !view.hidden_labels.contains(name);
                ui.horizontal(|ui| {
                    let (r, _) =
                        ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                    ui.painter().rect_filled(r, 2.0, theme::of_text(name));
                    if ui.checkbox(&mut shown, name).changed() {
                        toggle(&mut view.hidden_labels, name, shown);
                    }
                });
            }
        });
        ui.checkbox(&mut view.colour_by_label, "Colour by label");
        if ui.button("Fit").clicked() {
            commands.push(Command::ZoomFit);
        }
        if ui.button("Zoom in").clicked() {
            commands.push(Command::Zoom(0.5));
        }
        if ui.button("Zoom out").clicked() {
            commands.push(Command::Zoom(2.0));
        }
        let dropped = run.dropped;
        ui.weak(format!(
            "{} events · {} messages ({} dropped) · window {} – {}",
            run.events.len(),
            run.messages.len(),
            dropped,
            fmt::seconds(view.t0.max(0.0) as u64),
            fmt::seconds(view.t1.max(0.0) as u64)
        ));
    });
}

fn toggle(set: &mut std::collections::BTreeSet<String>, key: &str, shown: bool) {
    if shown {
        set.remove(key);
    } else {
        set.insert(key.to_owned());
    }
}
