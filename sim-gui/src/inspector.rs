//! The inspector: the selected message (its journey, and the sender's and receiver's annotated
//! state before and after), the selected node's state at the cursor, and the messages in
//! flight at the cursor.

use egui::{RichText, Ui};

use crate::app::Command;
use crate::data::intern::Sym;
use crate::data::{Fate, RunData};
use crate::edit::FaultEdit;
use crate::fmt;
use crate::session::Session;
use crate::theme;

/// A message's details in a few lines (the hover tooltip and the inspector's header).
pub fn message_summary(ui: &mut Ui, run: &RunData, i: usize) {
    let Some(m) = run.messages.get(i) else {
        return;
    };
    ui.label(RichText::new(format!("{} #{}", run.strings.get(m.label), m.id)).strong());
    ui.label(format!("from {} to {}", run.name(m.from), run.name(m.to)));
    ui.label(format!("sent at {}", fmt::seconds(m.sent)));
    match m.fate {
        Fate::Delivered => ui.label(format!(
            "delivered at {} after {}",
            fmt::seconds(m.end),
            fmt::time(m.end - m.sent)
        )),
        Fate::Dropped(reason) => ui.colored_label(
            theme::DANGER,
            format!(
                "dropped at {} ({})",
                fmt::seconds(m.end),
                run.strings.get(reason)
            ),
        ),
        Fate::InFlight => ui.label("still in flight when the run ended"),
    };
    if let Some(of) = m.copy_of {
        ui.label(format!("duplicate of #{of}"));
    }
}

/// Rows `key | before | after` of two states, changed keys marked.
fn state_diff(ui: &mut Ui, run: &RunData, id: &str, before: &[(Sym, Sym)], after: &[(Sym, Sym)]) {
    let mut keys: Vec<Sym> = before.iter().chain(after).map(|(k, _)| *k).collect();
    let mut seen = Vec::new();
    keys.retain(|k| {
        let new = !seen.contains(k);
        seen.push(*k);
        new
    });
    if keys.is_empty() {
        ui.weak("(no annotations)");
        return;
    }
    let value = |s: &[(Sym, Sym)], k: Sym| {
        s.iter()
            .find(|(x, _)| *x == k)
            .map_or("-", |(_, v)| run.strings.get(*v))
    };
    egui::Grid::new(id)
        .num_columns(3)
        .striped(true)
        .show(ui, |ui| {
            ui.weak("key");
            ui.weak("before");
            ui.weak("after");
            ui.end_row();
            for k in keys {
                let (b, a) = (value(before, k), value(after, k));
                ui.monospace(run.strings.get(k));
                ui.monospace(b);
                if a == b {
                    ui.monospace(a);
                } else {
                    ui.label(RichText::new(a).monospace().strong().color(theme::CURSOR));
                }
                ui.end_row();
            }
        });
}

/// The inspector panel.
pub fn ui(ui: &mut Ui, s: &Session, commands: &mut Vec<Command>) {
    let run = &s.run.data;
    ui.heading("Inspector");
    ui.label(format!("Cursor at {}", fmt::seconds(s.cursor)));
    ui.separator();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if let Some(i) = s.selection.message
                && let Some(m) = run.messages.get(i)
            {
                message_summary(ui, run, i);
                if let Some(text) = s.run.payload(m.copy_of.unwrap_or(m.id)) {
                    ui.label(RichText::new("Contents").strong());
                    ui.add(egui::Label::new(RichText::new(text).monospace()).wrap());
                }
                if ui.button("Go to send").clicked() {
                    commands.push(Command::JumpTo(m.sent));
                }
                ui.add_space(4.0);
                ui.label(
                    RichText::new(format!("Sender {} at the send", run.name(m.from))).strong(),
                );
                let before = run.state.at(m.from, m.sent.saturating_sub(1));
                let after = run.state.at(m.from, m.sent);
                state_diff(ui, run, "sender", &before, &after);
                ui.add_space(4.0);
                let what = match m.fate {
                    Fate::Delivered => "at the delivery",
                    Fate::Dropped(_) => "when it was lost",
                    Fate::InFlight => "at the end",
                };
                ui.label(RichText::new(format!("Receiver {} {what}", run.name(m.to))).strong());
                let before = run.state.at(m.to, m.end.saturating_sub(1));
                let after = run.state.at(m.to, m.end);
                state_diff(ui, run, "receiver", &before, &after);
                ui.separator();
            }
            if let Some(e) = s.selection.event {
                ui.label(RichText::new("Event").strong());
                ui.label(run.describe(e));
                ui.separator();
            }
            if let Some(n) = s.selection.node {
                node_ui(ui, s, n, commands);
                ui.separator();
            }
            let flying = run.in_flight_at(s.cursor);
            ui.label(RichText::new(format!("In flight at the cursor: {}", flying.len())).strong());
            for &i in flying.iter().take(200) {
                let m = &run.messages[i];
                let text = format!(
                    "#{} {} {} -> {}",
                    m.id,
                    run.strings.get(m.label),
                    run.name(m.from),
                    run.name(m.to)
                );
                if ui
                    .selectable_label(s.selection.message == Some(i), text)
                    .clicked()
                {
                    commands.push(Command::SelectMessage(i));
                }
            }
            if flying.len() > 200 {
                ui.weak(format!("… and {} more", flying.len() - 200));
            }
        });
}

fn node_ui(ui: &mut Ui, s: &Session, n: u32, commands: &mut Vec<Command>) {
    let run = &s.run.data;
    let status = match run.outage_at(n, s.cursor) {
        Some(o) if o.crashed => "down (crashed)",
        Some(_) => "paused",
        None => "up",
    };
    ui.label(RichText::new(format!("Node {} ({status})", run.name(n))).strong());
    let state = run.state.at(n, s.cursor);
    egui::Grid::new("node state")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            for (k, v) in &state {
                ui.monospace(run.strings.get(*k));
                ui.monospace(run.strings.get(*v));
                ui.end_row();
            }
        });
    if state.is_empty() {
        ui.weak("(no annotations at the cursor)");
    }
    let cut: Vec<String> = run
        .cuts_at(s.cursor)
        .filter(|c| c.a == n || c.b == n)
        .map(|c| run.name(if c.a == n { c.b } else { c.a }).to_owned())
        .collect();
    if !cut.is_empty() {
        ui.colored_label(theme::DANGER, format!("cut off from {}", cut.join(", ")));
    }
    if s.text.is_some() {
        let name = run.name(n).to_owned();
        ui.horizontal(|ui| {
            if status == "up" {
                if ui.button(format!("Crash {name} now")).clicked() {
                    commands.push(Command::Inject(FaultEdit::Crash(name.clone())));
                }
                if ui.button(format!("Isolate {name} now")).clicked() {
                    commands.push(Command::Inject(FaultEdit::Isolate(name.clone())));
                }
            } else if status == "paused" {
                if ui.button(format!("Resume {name} now")).clicked() {
                    commands.push(Command::Inject(FaultEdit::Resume(name.clone())));
                }
            } else if ui.button(format!("Restart {name} now")).clicked() {
                commands.push(Command::Inject(FaultEdit::Restart(name.clone())));
            }
        });
    }
}
