//! Carrying out what the person asked for on a loaded run: stepping, jumping, selecting,
//! re-running, injecting faults, saving and exporting; plus the keyboard shortcuts and
//! playback, which turn keys and elapsed time into the same commands.

use egui::{Key, Ui};

use crate::app::Command;

/// What a run opened from a trace file cannot do.
const NO_SCENARIO: &str =
    "this run came from a trace file: open its scenario to re-run, inject faults or save it";
use crate::session::{Session, Tab};
use crate::{export, fmt, load, timeline};

/// Applies a command that needs a session; returns a status message.
pub fn apply_to_session(s: &mut Session, command: Command) -> Option<(String, bool)> {
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
            let Some(text) = s.text.clone() else {
                return Some((NO_SCENARIO.to_owned(), true));
            };
            return Some(match load::run_text(&s.path, &text, Some(seed)) {
                Ok(run) => {
                    s.replace_run(run);
                    (format!("ran with seed {seed}"), false)
                }
                Err(e) => (e.to_string(), true),
            });
        }
        Command::Inject(fault) => {
            let Some(text) = s.text.clone() else {
                return Some((NO_SCENARIO.to_owned(), true));
            };
            let seed = s.seed_text.trim().parse::<u64>().ok();
            let at = s.cursor.saturating_add(1);
            let new_text = crate::edit::append_fault(&text, &fault, at);
            return Some(match load::run_text(&s.path, &new_text, seed) {
                Ok(run) => {
                    let what = fault.describe();
                    s.injected.push((at, fault));
                    s.before_injection.push(text);
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
        Command::UndoInject => {
            let Some(text) = s.before_injection.pop() else {
                return Some(("no injected fault to take back".to_owned(), true));
            };
            let seed = s.seed_text.trim().parse::<u64>().ok();
            return Some(match load::run_text(&s.path, &text, seed) {
                Ok(run) => {
                    let undone = s
                        .injected
                        .pop()
                        .map(|(_, f)| f.describe())
                        .unwrap_or_default();
                    s.replace_run(run);
                    (
                        format!("took back {undone} and re-ran from the seed"),
                        false,
                    )
                }
                Err(e) => {
                    s.before_injection.push(text);
                    (e.to_string(), true)
                }
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
            let Some(text) = s.text.clone() else {
                return Some((NO_SCENARIO.to_owned(), true));
            };
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
pub fn shortcuts(ui: &Ui, s: &Session, commands: &mut Vec<Command>) {
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
pub fn playback(ui: &Ui, s: &mut Session) {
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
