//! The application: the picker or an exploration session, the panels around the timeline,
//! and the commands that user actions become (applied once per frame, after drawing).

use std::path::{Path, PathBuf};

use egui::{Key, RichText, Ui};
use sim_core::trace::TraceFormat;

use crate::edit::FaultEdit;
use crate::load::{self, Loaded};
use crate::picker::{Picker, Problem};
use crate::session::{Session, Tab};
use crate::timeline::{self, Action, layout};
use crate::{
    compare, controls, export, files, fmt, inspector, plots, state_panel, theme, topology,
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
                    && let Some(status) = apply_to_session(s, other)
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
                shortcuts(ui, s, &mut commands);
                playback(ui, s);
                session_ui(ui, s, self.status.as_ref(), &mut commands);
            }
        }
        for c in commands.drain(..) {
            self.apply(c);
        }
        self.commands = commands;
    }
}

/// Applies a command that needs a session; returns a status message.
fn apply_to_session(s: &mut Session, command: Command) -> Option<(String, bool)> {
    let end = s.run.data.end;
    match command {
        Command::Rerun => {
            let seed = match s.seed_text.trim().parse::<u64>() {
                Ok(v) => v,
                Err(_) => {
                    return Some((
                        format!("seed {:?} is not a whole number", s.seed_text),
                        true,
                    ));
                }
            };
            let text = s.text.clone()?;
            return Some(match load::run_text(&s.path, &text, Some(seed)) {
                Ok(run) => {
                    s.replace_run(run);
                    (format!("ran with seed {seed}"), false)
                }
                Err(e) => (e.to_string(), true),
            });
        }
        Command::Inject(fault) => {
            let text = s.text.clone()?;
            let seed = s.seed_text.trim().parse::<u64>().ok();
            let at = s.cursor.saturating_add(1);
            let new_text = crate::edit::append_fault(&text, &fault, at);
            return Some(match load::run_text(&s.path, &new_text, seed) {
                Ok(run) => {
                    let what = fault.describe();
                    s.injected.push((at, fault));
                    s.replace_run(run);
                    s.tab = Tab::Compare;
                    (
                        format!(
                            "injected {what} at {} and re-ran from the seed",
                            fmt::seconds(at)
                        ),
                        false,
                    )
                }
                Err(e) => (format!("cannot inject: {e}"), true),
            });
        }
        Command::TogglePlay => {
            if s.cursor >= end {
                s.cursor = 0;
            }
            s.playing = !s.playing;
        }
        Command::Step(forward) => {
            s.playing = false;
            let run = &s.run.data;
            // Step event by event, also through events at the same time as the cursor.
            let here = s
                .selection
                .event
                .filter(|&i| run.events.get(i).is_some_and(|e| e.time == s.cursor));
            let next = match (here, forward) {
                (Some(i), true) => (i + 1 < run.events.len()).then_some(i + 1),
                (Some(i), false) => i.checked_sub(1),
                (None, true) => run.first_event_from(s.cursor),
                (None, false) => run.prev_event_before(s.cursor.saturating_add(1)),
            };
            if let Some(i) = next {
                let e = run.events[i];
                s.selection.event = Some(i);
                use crate::data::Kind;
                let is_message = matches!(
                    e.kind,
                    Kind::Send | Kind::Deliver | Kind::Drop | Kind::Duplicate
                );
                s.selection.message = if is_message {
                    run.message_by_id(e.id)
                } else {
                    None
                };
                s.set_cursor(e.time);
            }
        }
        Command::NextMessage => {
            let run = &s.run.data;
            let label = s.next_label.as_deref().and_then(|l| run.strings.find(l));
            if s.next_label.is_some() && label.is_none() {
                return Some(("no message of that kind in this run".into(), true));
            }
            match run.next_message_after(s.cursor, label) {
                Some(i) => {
                    let t = run.messages[i].sent;
                    s.selection.message = Some(i);
                    s.selection.event = Some(run.messages[i].send_event as usize);
                    s.set_cursor(t);
                }
                None => return Some(("no later message of that kind".into(), false)),
            }
        }
        Command::JumpTo(t) => s.set_cursor(t),
        Command::Scrub(t) => {
            s.cursor = t.min(end);
        }
        Command::SelectMessage(i) => {
            s.selection.message = Some(i);
            s.selection.event = None;
        }
        Command::SelectNode(n) => s.selection.node = n,
        Command::SelectEvent(i) => {
            s.selection.event = Some(i);
            if let Some(e) = s.run.data.events.get(i) {
                s.cursor = e.time;
            }
        }
        Command::ShowEvidence(t, evidence) => {
            s.selection.evidence = evidence;
            let span = (s.view.t1 - s.view.t0).min(end as f64 / 10.0).max(1e6);
            s.view.t0 = t as f64 - span / 2.0;
            s.view.t1 = t as f64 + span / 2.0;
            s.set_cursor(t);
        }
        Command::SaveScenario(path) => {
            let text = s.text.clone()?;
            let seed = s
                .seed_text
                .trim()
                .parse::<u64>()
                .unwrap_or(match &s.run.origin {
                    load::Origin::Scenario { seed, .. } => *seed,
                    load::Origin::TraceFile { .. } => 0,
                });
            return Some(match export::save_scenario(&text, seed, &path) {
                Ok(()) => (
                    format!(
                        "saved {} — `dsim run {}` reproduces trace hash {}",
                        path.display(),
                        path.display(),
                        s.run.hash().unwrap_or("?")
                    ),
                    false,
                ),
                Err(e) => (e.to_string(), true),
            });
        }
        Command::ExportTrace(format, path) => {
            return Some(match export::export_trace(&s.run, format, &path) {
                Ok(()) => (format!("wrote {}", path.display()), false),
                Err(e) => (e.to_string(), true),
            });
        }
        Command::ExportShiviz(path) => {
            return Some(match export::export_shiviz(&s.run.data, &path) {
                Ok(()) => (
                    format!("wrote {} (open it in ShiViz)", path.display()),
                    false,
                ),
                Err(e) => (e.to_string(), true),
            });
        }
        Command::ZoomFit => {
            s.view = timeline::View {
                t0: 0.0,
                t1: end.max(1) as f64,
                ..s.view.clone()
            }
        }
        Command::Zoom(f) => s.view.zoom(f, s.cursor as f64, end),
        Command::OpenScenario(..)
        | Command::OpenTrace(_)
        | Command::BackToPicker
        | Command::Status(..) => {}
    }
    None
}

/// Keyboard shortcuts, unless a text field has the keyboard.
fn shortcuts(ui: &Ui, s: &Session, commands: &mut Vec<Command>) {
    if ui.ctx().egui_wants_keyboard_input() {
        return;
    }
    ui.input(|i| {
        let end = s.run.data.end;
        let pressed = |k| i.key_pressed(k);
        if pressed(Key::Space) {
            commands.push(Command::TogglePlay);
        }
        if pressed(Key::ArrowRight) {
            commands.push(Command::Step(true));
        }
        if pressed(Key::ArrowLeft) {
            commands.push(Command::Step(false));
        }
        if pressed(Key::N) {
            commands.push(Command::NextMessage);
        }
        if pressed(Key::Home) {
            commands.push(Command::JumpTo(0));
        }
        if pressed(Key::End) {
            commands.push(Command::JumpTo(end));
        }
        if pressed(Key::Plus) || pressed(Key::Equals) {
            commands.push(Command::Zoom(0.5));
        }
        if pressed(Key::Minus) {
            commands.push(Command::Zoom(2.0));
        }
        if pressed(Key::F) {
            commands.push(Command::ZoomFit);
        }
        if pressed(Key::R) && s.text.is_some() {
            commands.push(Command::Rerun);
        }
    });
}

/// Advances the cursor while playing, by the real time since the last frame times the speed.
fn playback(ui: &Ui, s: &mut Session) {
    if !s.playing {
        return;
    }
    let dt = f64::from(ui.input(|i| i.stable_dt).min(0.1));
    let end = s.run.data.end;
    let next = s.cursor.saturating_add((dt * s.speed * 1e9) as u64);
    if next >= end {
        s.cursor = end;
        s.playing = false;
    } else {
        s.cursor = next;
        s.view.follow(next, end);
    }
    ui.ctx().request_repaint();
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
        filters(ui, s, commands);
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

/// The filter bar above the timeline.
fn filters(ui: &mut Ui, s: &mut Session, commands: &mut Vec<Command>) {
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
        Some(Action::SelectLane(n, t)) => {
            commands.push(Command::SelectNode(Some(n)));
            commands.push(Command::Scrub(t));
        }
        None => {}
    }
}
