//! The application: the picker or an exploration session, the panels around the timeline,
//! and the commands that user actions become (applied once per frame, after drawing).

use std::path::{Path, PathBuf};

use egui::{RichText, Ui};
use sim_core::trace::TraceFormat;

use crate::edit::FaultEdit;
use crate::load::{self, Loaded};
use crate::picker::{Picker, Problem};
use crate::session::{Session, Tab};
use crate::timeline::{self, Action, LaneFault, layout};
use crate::{
    actions, compare, controls, files, filters, inspector, plots, state_panel, theme, topology,
    verdicts, whatif,
};

/// Everything a person can ask for; panels push these, [`App::apply`] carries them out.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run the scenario at the path (with a seed, or the file's).
    OpenScenario(PathBuf, Option<u64>),
    /// Read a trace file.
    OpenTrace(PathBuf),
    /// Back to the scenario picker.
    BackToPicker,
    /// Run the current scenario text again with the seed field's seed.
    Rerun,
    /// Play or pause.
    TogglePlay,
    /// Move the cursor to the next (true) or previous (false) event.
    Step(bool),
    /// Select the next message of the chosen kind after the cursor.
    NextMessage,
    /// Move the cursor to a time and bring it into view.
    JumpTo(u64),
    /// Move the cursor (the scrubber).
    Scrub(u64),
    /// Select a message.
    SelectMessage(usize),
    /// Select a node (or none).
    SelectNode(Option<u32>),
    /// Select an event.
    SelectEvent(usize),
    /// Jump to a time and highlight events (a verdict's evidence).
    ShowEvidence(u64, Vec<usize>),
    /// Append a fault at the cursor and re-run.
    Inject(FaultEdit),
    /// Take the last injected fault back out and re-run.
    UndoInject,
    /// Save the scenario (with injected faults and the seed).
    SaveScenario(PathBuf),
    /// Export the trace.
    ExportTrace(TraceFormat, PathBuf),
    /// Export a ShiViz log.
    ExportShiviz(PathBuf),
    /// Show the whole run.
    ZoomFit,
    /// Zoom around the cursor by a factor (< 1: in).
    Zoom(f64),
    /// Show a status message (true: an error).
    Status(String, bool),
}

/// The explorer.
pub struct App {
    picker: Picker,
    session: Option<Session>,
    status: Option<(String, bool)>,
    commands: Vec<Command>,
}

impl App {
    /// An explorer on the picker over the catalog in `catalog_dir`.
    pub fn new(catalog_dir: &Path) -> App {
        App {
            picker: Picker::new(catalog_dir),
            session: None,
            status: None,
            commands: Vec::new(),
        }
    }

    /// An explorer that opens `scenario` right away (with `seed`, or the file's).
    pub fn with_scenario(catalog_dir: &Path, scenario: &Path, seed: Option<u64>) -> App {
        let mut app = App::new(catalog_dir);
        app.apply(Command::OpenScenario(scenario.to_path_buf(), seed));
        app
    }

    /// The session, if a run is loaded.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The session, mutably (tests and the benchmark set the view directly).
    pub fn session_mut(&mut self) -> Option<&mut Session> {
        self.session.as_mut()
    }

    /// The last status message and whether it is an error.
    pub fn status(&self) -> Option<&(String, bool)> {
        self.status.as_ref()
    }

    /// The picker's last problem (a file that could not be opened).
    pub fn problem(&self) -> Option<&Problem> {
        self.picker.problem.as_ref()
    }

    /// Starts exploring `run`.
    pub fn explore(&mut self, run: Loaded) {
        self.session = Some(Session::new(run));
        self.picker.problem = None;
    }

    /// Carries out one command.
    pub fn apply(&mut self, command: Command) {
        match command {
            Command::OpenScenario(path, seed) => match load::run_file(&path, seed) {
                Ok(run) => {
                    let what = run.summary.as_ref().map_or_else(
                        || path.display().to_string(),
                        |r| format!("{} with seed {}", r.scenario, r.seed),
                    );
                    self.status = Some((format!("ran {what}"), false));
                    self.explore(run);
                }
                Err(e) => {
                    self.picker.problem = Some(Problem::of(&e));
                    self.session = None;
                }
            },
            Command::OpenTrace(path) => match load::open_trace(&path) {
                Ok(run) => {
                    self.status = Some((format!("opened trace {}", path.display()), false));
                    self.explore(run);
                }
                Err(e) => {
                    self.status = Some((e.to_string(), true));
                    if self.session.is_none() {
                        self.picker.problem = Some(Problem::text(e.to_string()));
                    }
                }
            },
            Command::BackToPicker => self.session = None,
            Command::Status(text, error) => self.status = Some((text, error)),
            other => {
                if let Some(s) = self.session.as_mut()
                    && let Some(status) = actions::apply_to_session(s, other)
                {
                    self.status = Some(status);
                }
            }
        }
    }

    /// Draws one frame and applies what the person did.
    pub fn ui(&mut self, ui: &mut Ui) {
        let mut commands = std::mem::take(&mut self.commands);
        match self.session.as_mut() {
            None => {
                egui::CentralPanel::default().show(ui, |ui| self.picker.ui(ui, &mut commands));
            }
            Some(s) => {
                actions::shortcuts(ui, s, &mut commands);
                actions::playback(ui, s);
                session_ui(ui, s, self.status.as_ref(), &mut commands);
            }
        }
        for c in commands.drain(..) {
            self.apply(c);
        }
        self.commands = commands;
    }
}

fn session_ui(
    ui: &mut Ui,
    s: &mut Session,
    status: Option<&(String, bool)>,
    commands: &mut Vec<Command>,
) {
    egui::Panel::top("toolbar").show(ui, |ui| controls::ui(ui, s, commands));
    egui::Panel::bottom("status").show(ui, |ui| {
        ui.horizontal(|ui| {
            match status {
                Some((text, true)) => {
                    ui.colored_label(theme::DANGER, text);
                }
                Some((text, false)) => {
                    ui.label(text);
                }
                None => {}
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.weak(controls::SHORTCUTS);
            });
        });
    });
    egui::Panel::right("inspector")
        .resizable(true)
        .default_size(330.0)
        .show(ui, |ui| inspector::ui(ui, s, commands));
    egui::Panel::bottom("panels")
        .resizable(true)
        .default_size(280.0)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                for t in Tab::ALL {
                    ui.selectable_value(&mut s.tab, t, t.title());
                }
            });
            ui.separator();
            // The tab draws into exactly the rest of the panel: the panel takes the size of
            // its contents, so a tab using less or more would shrink or grow it every frame.
            let rect = ui.available_rect_before_wrap();
            let mut tab = ui.new_child(
                egui::UiBuilder::new()
                    .max_rect(rect)
                    .layout(egui::Layout::top_down(egui::Align::Min)),
            );
            tab.shrink_clip_rect(rect);
            tab_ui(&mut tab, s, commands);
            ui.allocate_rect(rect, egui::Sense::hover());
        });
    egui::CentralPanel::default().show(ui, |ui| {
        filters::filters(ui, s, commands);
        timelines(ui, s, commands);
    });
}

/// The bottom panel's current tab.
fn tab_ui(ui: &mut Ui, s: &mut Session, commands: &mut Vec<Command>) {
    match s.tab {
        Tab::State => state_panel::ui(ui, s, commands),
        Tab::Plots => plots::ui(ui, s, commands),
        Tab::Topology => topology::ui(ui, s, commands),
        Tab::Verdicts => verdicts::ui(ui, s, commands),
        Tab::WhatIf => {
            let can_run = s.text.is_some();
            whatif::ui(
                ui,
                &mut s.whatif,
                &s.run.data,
                s.cursor,
                &s.injected,
                can_run,
                commands,
            );
        }
        Tab::Compare => compare::ui(ui, s.comparison.as_ref(), &mut s.show_previous, commands),
        Tab::Files => files::ui(ui, s, commands),
    }
}

/// The timeline, and the previous run's under it when comparing.
fn timelines(ui: &mut Ui, s: &mut Session, commands: &mut Vec<Command>) {
    let evidence = s.selection.evidence.clone();
    let divergence = s.comparison.as_ref().and_then(|c| c.time());
    let cx = layout::Context {
        view: &s.view,
        rect: ui.available_rect_before_wrap(),
        cursor: s.cursor,
        selected_message: s.selection.message,
        selected_node: s.selection.node,
        evidence: &evidence,
        divergence,
    };
    let mut view = s.view.clone();
    let show_previous = s.show_previous && s.previous.is_some();
    let height = if show_previous {
        ui.available_height() / 2.0 - 14.0
    } else {
        ui.available_height()
    };
    let action = ui
        .allocate_ui(egui::vec2(ui.available_width(), height), |ui| {
            timeline::show(ui, &s.run.data, cx, &mut view).0
        })
        .inner;
    if show_previous && let Some(prev) = &s.previous {
        ui.label(RichText::new("Previous run").weak());
        let cx = layout::Context {
            selected_message: None,
            evidence: &[],
            ..cx
        };
        let _ = timeline::show(ui, &prev.data, cx, &mut view);
    }
    s.view = view;
    match action {
        Some(Action::SelectMessage(i)) => commands.push(Command::SelectMessage(i)),
        Some(Action::SelectEvent(e)) => commands.push(Command::SelectEvent(e)),
        Some(Action::Inject(n, t, f)) => {
            let name = s.run.data.name(n).to_owned();
            let fault = match f {
                LaneFault::Crash => FaultEdit::Crash(name),
                LaneFault::Restart => FaultEdit::Restart(name),
                LaneFault::Isolate => FaultEdit::Isolate(name),
                LaneFault::Pause => FaultEdit::Pause(name),
                LaneFault::Resume => FaultEdit::Resume(name),
            };
            commands.push(Command::Scrub(t));
            commands.push(Command::Inject(fault));
        }
        Some(Action::SelectLane(n, t)) => {
            commands.push(Command::SelectNode(Some(n)));
            commands.push(Command::Scrub(t));
        }
        None => {}
    }
}
