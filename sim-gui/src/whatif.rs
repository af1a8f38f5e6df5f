//! What-if: inject a fault at the cursor. The fault is appended to the scenario's schedule
//! and the scenario re-run from the same seed, so everything before the cursor stays as it
//! was and the future changes. Faults land one nanosecond after the cursor, so the event the
//! cursor stands on stays in the past.

use egui::Ui;

use crate::app::Command;
use crate::data::RunData;
use crate::edit::FaultEdit;

/// The kinds of fault the form offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Crash a node.
    Crash,
    /// Restart a node.
    Restart,
    /// Pause a node.
    Pause,
    /// Resume a node.
    Resume,
    /// Isolate a node.
    Isolate,
    /// Partition side A from side B.
    Partition,
    /// Block one direction, A to B.
    Block,
    /// Heal every partition.
    Heal,
    /// Jump a node's clock.
    ClockJump,
    /// Delay the links from A to B for a while.
    Delay,
    /// Delay every link for a while.
    LatencySpike,
}

impl FaultKind {
    /// Every kind, in menu order.
    pub const ALL: [FaultKind; 11] = [
        FaultKind::Crash,
        FaultKind::Restart,
        FaultKind::Pause,
        FaultKind::Resume,
        FaultKind::Isolate,
        FaultKind::Partition,
        FaultKind::Block,
        FaultKind::Heal,
        FaultKind::ClockJump,
        FaultKind::Delay,
        FaultKind::LatencySpike,
    ];

    /// Its name in the menu.
    pub fn title(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::Restart => "restart",
            FaultKind::Pause => "pause",
            FaultKind::Resume => "resume",
            FaultKind::Isolate => "isolate",
            FaultKind::Partition => "partition A | B",
            FaultKind::Block => "block A -> B (one way)",
            FaultKind::Heal => "heal",
            FaultKind::ClockJump => "clock jump",
            FaultKind::Delay => "delay links A -> B",
            FaultKind::LatencySpike => "latency spike (every link)",
        }
    }

    fn needs_node(self) -> bool {
        matches!(
            self,
            FaultKind::Crash
                | FaultKind::Restart
                | FaultKind::Pause
                | FaultKind::Resume
                | FaultKind::Isolate
                | FaultKind::ClockJump
        )
    }
}

/// Which side of a partition a node is put on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Side {
    /// Not in the partition.
    #[default]
    None,
    /// Side A.
    A,
    /// Side B.
    B,
}

/// The form's fields.
#[derive(Clone, Debug, PartialEq)]
pub struct WhatIfForm {
    /// The fault kind.
    pub kind: FaultKind,
    /// The node, for node faults.
    pub node: String,
    /// Per node name, its side, for partitions and blocks.
    pub sides: Vec<(String, Side)>,
    /// Clock jump, e.g. `-2s`.
    pub jump: String,
    /// Extra latency, e.g. `200ms`.
    pub extra: String,
    /// How long the spike lasts, e.g. `5s`.
    pub lasting: String,
    /// Why the last attempt could not be made into a fault.
    pub error: Option<String>,
}

impl Default for WhatIfForm {
    fn default() -> Self {
        WhatIfForm {
            kind: FaultKind::Crash,
            node: String::new(),
            sides: Vec::new(),
            jump: "-2s".into(),
            extra: "200ms".into(),
            lasting: "5s".into(),
            error: None,
        }
    }
}

fn duration(text: &str) -> Result<u64, String> {
    sim_core::units::parse_duration(text)
        .map(|d| d.0)
        .map_err(|e| e.to_string())
}

fn signed_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let d = sim_core::units::parse_duration(body).map_err(|e| e.to_string())?;
    let v = i64::try_from(d.0).map_err(|_| format!("{t}: too large"))?;
    Ok(if neg { -v } else { v })
}

impl WhatIfForm {
    /// The fault the form describes, or why it cannot be made.
    pub fn fault(&self) -> Result<FaultEdit, String> {
        let node = || {
            if self.node.is_empty() {
                Err("choose a node".to_owned())
            } else {
                Ok(self.node.clone())
            }
        };
        let side = |s: Side| -> Vec<String> {
            self.sides
                .iter()
                .filter(|(_, x)| *x == s)
                .map(|(n, _)| n.clone())
                .collect()
        };
        Ok(match self.kind {
            FaultKind::Crash => FaultEdit::Crash(node()?),
            FaultKind::Restart => FaultEdit::Restart(node()?),
            FaultKind::Pause => FaultEdit::Pause(node()?),
            FaultKind::Resume => FaultEdit::Resume(node()?),
            FaultKind::Isolate => FaultEdit::Isolate(node()?),
            FaultKind::Heal => FaultEdit::Heal,
            FaultKind::Partition | FaultKind::Block | FaultKind::Delay => {
                let (a, b) = (side(Side::A), side(Side::B));
                if a.is_empty() || b.is_empty() {
                    return Err("put at least one node on each side (A and B)".into());
                }
                match self.kind {
                    FaultKind::Partition => FaultEdit::Partition(vec![a, b]),
                    FaultKind::Block => FaultEdit::Block { from: a, to: b },
                    _ => FaultEdit::Delay {
                        from: a,
                        to: b,
                        extra_ns: duration(&self.extra)?,
                        for_ns: duration(&self.lasting)?,
                    },
                }
            }
            FaultKind::ClockJump => FaultEdit::ClockJump {
                node: node()?,
                by_ns: signed_duration(&self.jump)?,
            },
            FaultKind::LatencySpike => FaultEdit::LatencySpike {
                extra_ns: duration(&self.extra)?,
                for_ns: duration(&self.lasting)?,
            },
        })
    }
}

/// The What-if tab.
pub fn ui(
    ui: &mut Ui,
    form: &mut WhatIfForm,
    run: &RunData,
    cursor: u64,
    injected: &[(u64, FaultEdit)],
    can_run: bool,
    commands: &mut Vec<Command>,
) {
    if !can_run {
        ui.label("This run came from a trace file: open its scenario to inject faults.");
        return;
    }
    if form.sides.len() != run.nodes.len() {
        form.sides = run
            .nodes
            .iter()
            .map(|n| (n.name.clone(), Side::None))
            .collect();
    }
    ui.horizontal(|ui| {
        let label = ui.label("Fault");
        egui::ComboBox::from_id_salt("fault kind")
            .selected_text(form.kind.title())
            .show_ui(ui, |ui| {
                for k in FaultKind::ALL {
                    ui.selectable_value(&mut form.kind, k, k.title());
                }
            })
            .response
            .labelled_by(label.id);
        if form.kind.needs_node() {
            let label = ui.label("Node");
            egui::ComboBox::from_id_salt("fault node")
                .selected_text(if form.node.is_empty() {
                    "(choose)"
                } else {
                    &form.node
                })
                .show_ui(ui, |ui| {
                    for n in &run.nodes {
                        ui.selectable_value(&mut form.node, n.name.clone(), &n.name);
                    }
                })
                .response
                .labelled_by(label.id);
        }
        match form.kind {
            FaultKind::ClockJump => {
                let l = ui.label("by");
                ui.add(egui::TextEdit::singleline(&mut form.jump).desired_width(60.0))
                    .labelled_by(l.id);
            }
            FaultKind::LatencySpike | FaultKind::Delay => {
                let l = ui.label("extra");
                ui.add(egui::TextEdit::singleline(&mut form.extra).desired_width(60.0))
                    .labelled_by(l.id);
                let l = ui.label("for");
                ui.add(egui::TextEdit::singleline(&mut form.lasting).desired_width(60.0))
                    .labelled_by(l.id);
            }
            _ => {}
        }
        if ui
            .button(format!("Inject at {}", crate::fmt::seconds(cursor)))
            .clicked()
        {
            match form.fault() {
                Ok(f) => {
                    form.error = None;
                    commands.push(Command::Inject(f));
                }
                Err(e) => form.error = Some(e),
            }
        }
    });
    if matches!(
        form.kind,
        FaultKind::Partition | FaultKind::Block | FaultKind::Delay
    ) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Sides:");
            for (name, side) in form.sides.iter_mut() {
                let text = match side {
                    Side::None => format!("{name} ·"),
                    Side::A => format!("{name} A"),
                    Side::B => format!("{name} B"),
                };
                if ui
                    .button(text)
                    .on_hover_text("click: none -> A -> B")
                    .clicked()
                {
                    *side = match side {
                        Side::None => Side::A,
                        Side::A => Side::B,
                        Side::B => Side::None,
                    };
                }
            }
        });
    }
    if let Some(e) = &form.error {
        ui.colored_label(crate::theme::DANGER, e);
    }
    ui.weak("The fault is appended to the scenario and the run repeated from the same seed: the past stays, the future changes.");
    if !injected.is_empty() {
        ui.separator();
        ui.horizontal(|ui| {
            ui.label("Injected so far:");
            if ui.button("Undo last fault").clicked() {
                commands.push(Command::UndoInject);
            }
        });
        for (at, f) in injected {
            ui.monospace(format!("{}  {}", crate::fmt::seconds(*at), f.describe()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_builds_faults_or_says_what_is_missing() {
        let mut f = WhatIfForm::default();
        assert_eq!(f.fault(), Err("choose a node".into()));
        f.node = "kv1".into();
        assert_eq!(f.fault(), Ok(FaultEdit::Crash("kv1".into())));
        f.kind = FaultKind::ClockJump;
        assert_eq!(
            f.fault(),
            Ok(FaultEdit::ClockJump {
                node: "kv1".into(),
                by_ns: -2_000_000_000
            })
        );
        f.kind = FaultKind::Partition;
        f.sides = vec![("kv1".into(), Side::A), ("kv2".into(), Side::None)];
        assert!(f.fault().is_err());
        f.sides[1].1 = Side::B;
        assert_eq!(
            f.fault(),
            Ok(FaultEdit::Partition(vec![
                vec!["kv1".into()],
                vec!["kv2".into()]
            ]))
        );
    }
}
