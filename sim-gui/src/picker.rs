//! The scenario picker: the catalog with descriptions, a path to open any scenario file or a
//! trace file, and the error (with line, column and the offending line) when one cannot be
//! opened.

use std::path::{Path, PathBuf};

use egui::{RichText, Ui};

use crate::app::Command;
use crate::catalog::{self, Entry};
use crate::theme;

/// A problem opening a file, ready to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The message (`file:line:column: key: what is wrong`).
    pub message: String,
    /// The offending line and a caret under the column, when the error is located.
    pub snippet: Option<String>,
}

impl Problem {
    /// A problem from a run error: located scenario errors get the offending line.
    pub fn of(e: &crate::load::RunError) -> Problem {
        let snippet = match e {
            crate::load::RunError::Invalid(s) => s
                .source_text
                .lines()
                .nth(s.line.saturating_sub(1))
                .map(|l| {
                    format!(
                        "{:>4} | {l}\n     | {}^",
                        s.line,
                        " ".repeat(s.column.saturating_sub(1))
                    )
                }),
            _ => None,
        };
        Problem {
            message: e.to_string(),
            snippet,
        }
    }

    /// A problem with only a message.
    pub fn text(message: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            snippet: None,
        }
    }

    /// Shows the problem in red.
    pub fn ui(&self, ui: &mut Ui) {
        egui::Frame::group(ui.style())
            .stroke(egui::Stroke::new(1.0, theme::DANGER))
            .show(ui, |ui| {
                ui.colored_label(theme::DANGER, RichText::new(&self.message).strong());
                if let Some(s) = &self.snippet {
                    ui.monospace(s);
                }
            });
    }
}

/// The picker's state.
pub struct Picker {
    /// The catalog directory.
    pub dir: PathBuf,
    /// Its scenarios.
    pub entries: Vec<Entry>,
    /// The path field.
    pub path: String,
    /// The seed field (empty: the file's seed).
    pub seed: String,
    /// The trace file field.
    pub trace: String,
    /// The last problem.
    pub problem: Option<Problem>,
}

impl Picker {
    /// A picker over the catalog in `dir`.
    pub fn new(dir: &Path) -> Picker {
        Picker {
            dir: dir.to_path_buf(),
            entries: catalog::scan(dir),
            path: String::new(),
            seed: String::new(),
            trace: String::new(),
            problem: None,
        }
    }

    fn seed(&mut self) -> Result<Option<u64>, ()> {
        let t = self.seed.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse().map(Some).map_err(|_| {
            self.problem = Some(Problem::text(format!("seed {t:?} is not a whole number")));
        })
    }

    /// The picker screen.
    pub fn ui(&mut self, ui: &mut Ui, commands: &mut Vec<Command>) {
        ui.heading("dsim explorer");
        ui.label("Pick a scenario to run it and explore its messages, states and faults.");
        ui.add_space(6.0);
        if let Some(p) = &self.problem {
            p.ui(ui);
            ui.add_space(6.0);
        }
        ui.horizontal(|ui| {
            let l = ui.label("Seed");
            ui.add(
                egui::TextEdit::singleline(&mut self.seed)
                    .hint_text("file's")
                    .desired_width(80.0),
            )
            .labelled_by(l.id);
            let l = ui.label("Scenario file");
            ui.add(egui::TextEdit::singleline(&mut self.path).desired_width(320.0))
                .labelled_by(l.id);
            if ui.button("Open scenario").clicked()
                && let Ok(seed) = self.seed()
            {
                commands.push(Command::OpenScenario(PathBuf::from(self.path.trim()), seed));
            }
        });
        ui.horizontal(|ui| {
            let l = ui.label("Trace file");
            ui.add(
                egui::TextEdit::singleline(&mut self.trace)
                    .hint_text("written by dsim run --trace")
                    .desired_width(320.0),
            )
            .labelled_by(l.id);
            if ui.button("Open trace").clicked() {
                commands.push(Command::OpenTrace(PathBuf::from(self.trace.trim())));
            }
        });
        ui.separator();
        ui.label(RichText::new(format!("Catalog: {}", self.dir.display())).strong());
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for e in &self.entries {
                    ui.horizontal(|ui| {
                        if ui.button(format!("Open {}", e.name)).clicked() {
                            let seed = self.seed.trim().parse().ok();
                            commands.push(Command::OpenScenario(e.path.clone(), seed));
                        }
                        match &e.error {
                            Some(err) => {
                                ui.colored_label(theme::DANGER, err);
                            }
                            None => {
                                ui.label(&e.summary).on_hover_text(&e.description);
                            }
                        }
                    });
                }
            });
    }
}
