//! Comparing a run with the one before it: where they first diverge.
//!
//! Message ids are the engine's queue sequence numbers, so adding a scheduled fault shifts
//! every later id by one although nothing else changes. The comparison therefore matches
//! events by what happened — time, kind, nodes, label, detail — and reports the first event
//! that differs in substance; `sim_core::trace::first_divergence` (exact, ids included) is
//! reported beside it.

use egui::Ui;

use crate::data::{Event, RunData};
use crate::load::Loaded;

/// Where two runs first differ.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The previous run's trace hash.
    pub previous_hash: Option<String>,
    /// This run's trace hash.
    pub current_hash: Option<String>,
    /// The first event that differs in substance: index, time, previous and current event.
    pub first: Option<Difference>,
    /// Index of the first event that differs exactly (message ids included).
    pub exact_index: Option<usize>,
}

/// The first differing event.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// Index in both traces.
    pub index: usize,
    /// The earlier of the two events' times.
    pub time: u64,
    /// The previous run's event, described ("" if its trace ended).
    pub previous: String,
    /// This run's event, described ("" if its trace ended).
    pub current: String,
}

fn same(a: &RunData, x: &Event, b: &RunData, y: &Event) -> bool {
    x.time == y.time
        && x.kind == y.kind
        && x.node == y.node
        && x.peer == y.peer
        && a.strings.get(x.label) == b.strings.get(y.label)
        && a.strings.get(x.detail) == b.strings.get(y.detail)
}

impl Comparison {
    /// Compares `previous` with `current`.
    pub fn of(previous: &Loaded, current: &Loaded) -> Comparison {
        let (a, b) = (&previous.data, &current.data);
        let n = a.events.len().max(b.events.len());
        let index = (0..n).find(|&i| match (a.events.get(i), b.events.get(i)) {
            (Some(x), Some(y)) => !same(a, x, b, y),
            _ => true,
        });
        let first = index.map(|i| {
            let ta = a.events.get(i).map_or(u64::MAX, |e| e.time);
            let tb = b.events.get(i).map_or(u64::MAX, |e| e.time);
            Difference {
                index: i,
                time: ta.min(tb),
                previous: a.describe(i),
                current: b.describe(i),
            }
        });
        Comparison {
            previous_hash: previous.hash().map(str::to_owned),
            current_hash: current.hash().map(str::to_owned),
            first,
            exact_index: sim_core::trace::first_divergence(&previous.events, &current.events)
                .map(|d| d.index),
        }
    }

    /// The time of the first divergence, if any.
    pub fn time(&self) -> Option<u64> {
        self.first.as_ref().map(|d| d.time)
    }
}

/// The Compare tab: the two hashes and the first divergence, with a jump to it.
pub fn ui(
    ui: &mut Ui,
    comparison: Option<&Comparison>,
    show_previous: &mut bool,
    commands: &mut Vec<crate::app::Command>,
) {
    let Some(c) = comparison else {
        ui.label("Re-run (or inject a fault) to compare with the previous run.");
        return;
    };
    egui::Grid::new("compare")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            ui.label("previous trace hash");
            ui.monospace(c.previous_hash.as_deref().unwrap_or("-"));
            ui.end_row();
            ui.label("this trace hash");
            ui.monospace(c.current_hash.as_deref().unwrap_or("-"));
            ui.end_row();
        });
    match &c.first {
        None => {
            ui.label("The runs are identical.");
        }
        Some(d) => {
            ui.label(format!(
                "First divergence at event {} ({}):",
                d.index,
                crate::fmt::seconds(d.time)
            ));
            ui.horizontal(|ui| {
                ui.label("previous:");
                ui.monospace(if d.previous.is_empty() {
                    "(trace ended)"
                } else {
                    &d.previous
                });
            });
            ui.horizontal(|ui| {
                ui.label("this run:");
                ui.monospace(if d.current.is_empty() {
                    "(trace ended)"
                } else {
                    &d.current
                });
            });
            if let Some(e) = c.exact_index.filter(|&e| e != d.index) {
                ui.weak(format!(
                    "Counting message ids, the traces differ from event {e}: ids are queue sequence numbers and an added fault shifts them."
                ));
            }
            if ui.button("Jump to divergence").clicked() {
                commands.push(crate::app::Command::JumpTo(d.time));
            }
        }
    }
    ui.checkbox(show_previous, "Show the previous run under this one");
}
