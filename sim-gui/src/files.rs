//! The Files tab: save the scenario that reproduces what is on screen, export the trace
//! (CSV, JSON lines, ShiViz), open a trace file, and read the scenario text as run.

use std::path::PathBuf;

use egui::Ui;
use sim_core::trace::TraceFormat;

use crate::app::Command;
use crate::session::Session;

fn with_extension(path: &str, ext: &str) -> PathBuf {
    PathBuf::from(path.trim()).with_extension(ext)
}

/// The Files tab.
pub fn ui(ui: &mut Ui, s: &mut Session, commands: &mut Vec<Command>) {
    let form = &mut s.files;
    if s.text.is_some() {
        ui.horizontal(|ui| {
            let l = ui.label("Scenario file");
            ui.add(egui::TextEdit::singleline(&mut form.scenario).desired_width(380.0))
                .labelled_by(l.id);
            if ui.button("Save scenario").clicked() {
                commands.push(Command::SaveScenario(PathBuf::from(form.scenario.trim())));
            }
        });
    }
    ui.horizontal(|ui| {
        let l = ui.label("Trace export");
        ui.add(egui::TextEdit::singleline(&mut form.trace).desired_width(380.0))
            .labelled_by(l.id);
        if ui.button("Export CSV").clicked() {
            commands.push(Command::ExportTrace(
                TraceFormat::Csv,
                with_extension(&form.trace, "csv"),
            ));
        }
        if ui.button("Export JSON lines").clicked() {
            commands.push(Command::ExportTrace(
                TraceFormat::JsonLines,
                with_extension(&form.trace, "jsonl"),
            ));
        }
        if ui.button("Export ShiViz log").clicked() {
            commands.push(Command::ExportShiviz(with_extension(
                &form.trace,
                "shiviz.log",
            )));
        }
    });
    ui.weak("The ShiViz log opens with ShiViz's \"upload a log\" (its first line is the parsing expression).");
    ui.horizontal(|ui| {
        let l = ui.label("Open trace file");
        ui.add(
            egui::TextEdit::singleline(&mut form.open)
                .hint_text("a .csv or .jsonl from dsim run --trace")
                .desired_width(380.0),
        )
        .labelled_by(l.id);
        if ui.button("Open trace").clicked() {
            commands.push(Command::OpenTrace(PathBuf::from(form.open.trim())));
        }
    });
    if let Some(text) = &s.text {
        egui::CollapsingHeader::new("Scenario text as run").show(ui, |ui| {
            egui::ScrollArea::vertical()
                .max_height(240.0)
                .show(ui, |ui| {
                    ui.monospace(text);
                });
        });
    }
}
