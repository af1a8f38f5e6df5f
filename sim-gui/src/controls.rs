//! The toolbar: back to the picker, seed and run; play / pause, step, step to the next
//! message of a kind, jump to a time, playback speed; and the time scrubber.

use egui::Ui;

use crate::app::Command;
use crate::fmt;
use crate::session::Session;

/// Playback speeds offered, simulated seconds per real second.
pub const SPEEDS: [f64; 7] = [0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 20.0];

/// The keyboard shortcuts, for the help line.
pub const SHORTCUTS: &str = "Space play/pause · Right / Left step · N next message · Home / End · + / - zoom · F fit · R run";

/// The toolbar.
pub fn ui(ui: &mut Ui, s: &mut Session, commands: &mut Vec<Command>) {
    let end = s.run.data.end;
    ui.horizontal(|ui| {
        if ui.button("< Scenarios").clicked() {
            commands.push(Command::BackToPicker);
        }
        ui.strong(s.title());
        if s.text.is_some() {
            ui.separator();
            let l = ui.label("Seed");
            ui.add(egui::TextEdit::singleline(&mut s.seed_text).desired_width(70.0))
                .labelled_by(l.id);
            if ui
                .button("Run")
                .on_hover_text("Run the scenario again with this seed (R)")
                .clicked()
            {
                commands.push(Command::Rerun);
            }
        }
        if let Some(h) = s.run.hash() {
            ui.separator();
            ui.label("trace hash");
            ui.monospace(h);
        }
    });
    ui.horizontal(|ui| {
        let play = if s.playing { "Pause" } else { "Play" };
        if ui.button(play).clicked() {
            commands.push(Command::TogglePlay);
        }
        if ui.button("Step back").clicked() {
            commands.push(Command::Step(false));
        }
        if ui
            .button("Step")
            .on_hover_text("Move the cursor to the next event (->)")
            .clicked()
        {
            commands.push(Command::Step(true));
        }
        ui.separator();
        if ui
            .button("Next message")
            .on_hover_text("The next message of the chosen kind (N)")
            .clicked()
        {
            commands.push(Command::NextMessage);
        }
        let l = ui.label("of kind");
        let run = &s.run.data;
        egui::ComboBox::from_id_salt("next kind")
            .selected_text(s.next_label.clone().unwrap_or_else(|| "any".into()))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut s.next_label, None, "any");
                for &l in &run.message_labels {
                    let name = run.strings.get(l).to_owned();
                    ui.selectable_value(&mut s.next_label, Some(name.clone()), name);
                }
            })
            .response
            .labelled_by(l.id);
        ui.separator();
        let l = ui.label("Jump to");
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut s.jump_text)
                    .hint_text("12.5s")
                    .desired_width(70.0),
            )
            .labelled_by(l.id);
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Go").clicked() || enter {
            match fmt::parse_time(&s.jump_text) {
                Some(t) => commands.push(Command::JumpTo(t)),
                None => commands.push(Command::Status(
                    format!(
                        "cannot read {:?} as a time (try 12.5s or 300ms)",
                        s.jump_text
                    ),
                    true,
                )),
            }
        }
        ui.separator();
        let l = ui.label("Speed");
        egui::ComboBox::from_id_salt("speed")
            .selected_text(format!("{}x", s.speed))
            .show_ui(ui, |ui| {
                for v in SPEEDS {
                    ui.selectable_value(&mut s.speed, v, format!("{v}x"));
                }
            })
            .response
            .labelled_by(l.id);
        ui.separator();
        ui.monospace(format!("t = {}", fmt::seconds(s.cursor)));
    });
    ui.horizontal(|ui| {
        let mut secs = s.cursor as f64 / 1e9;
        ui.spacing_mut().slider_width = (ui.available_width() - 120.0).max(100.0);
        let slider = egui::Slider::new(&mut secs, 0.0..=(end as f64 / 1e9))
            .text("Time")
            .suffix(" s")
            .max_decimals(6);
        if ui.add(slider).changed() {
            commands.push(Command::Scrub((secs * 1e9).max(0.0) as u64));
        }
    });
}
