//! The explorer driven through its accessible labels (egui_kittest, no display): pick a
//! scenario, run, step, select a message and read the inspector, inject a crash, save the
//! scenario and check that the engine reproduces the trace hash from the saved file, open a
//! broken scenario and see its error, open a trace file.

use std::path::{Path, PathBuf};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sim_gui::app::{App, Command};

fn catalog() -> PathBuf {
    sim_gui::catalog::default_dir()
}

fn harness(app: App) -> Harness<'static, App> {
    Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .with_theme(egui::Theme::Light)
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dsim-gui-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// Types `text` into the text field labelled `label`.
fn type_into(h: &mut Harness<'_, App>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run();
    h.get_by_label(label).type_text(text);
    h.run();
}

fn hash(h: &Harness<'_, App>) -> String {
    h.state()
        .session()
        .and_then(|s| s.run.hash())
        .expect("a run with a hash")
        .to_owned()
}

#[test]
fn pick_a_scenario_run_step_and_read_the_inspector() {
    let mut h = harness(App::new(&catalog()));
    h.get_by_label("Open cap/raft-partition").click();
    h.run();
    let first = hash(&h);
    h.get_by_label(&first); // the toolbar shows the trace hash

    // Step: the cursor moves to the first event (every node starts at 0) and then on.
    h.get_by_label("Step").click();
    h.run();
    let s = h.state().session().expect("session");
    assert_eq!(s.selection.event, Some(0));
    type_into(&mut h, "Jump to", "10.5s");
    h.get_by_label("Go").click();
    h.run();
    assert_eq!(h.state().session().expect("session").cursor, 10_500_000_000);

    // The next message after the cursor is selected and the inspector describes it.
    h.get_by_label("Next message").click();
    h.run();
    let s = h.state().session().expect("session");
    let i = s.selection.message.expect("a message is selected");
    let m = s.run.data.messages[i];
    assert!(m.sent > 10_500_000_000);
    let from = s.run.data.name(m.from).to_owned();
    let to = s.run.data.name(m.to).to_owned();
    let title = format!("{} #{}", s.run.data.strings.get(m.label), m.id);
    h.get_by_label(&title);
    h.get_by_label(&format!("from {from} to {to}"));
    h.get_by_label(&format!("Sender {from} at the send"));
    // The message's contents, kept by the engine for the inspector.
    let contents = s.run.payload(m.id).expect("contents kept").to_owned();
    h.get_by_label("Contents");
    h.get_by_label(&contents);
    h.get_by_label_contains(&format!("Receiver {to}"));

    // Pick another message from the in-flight list by its label.
    let s = h.state().session().expect("session");
    let other = s
        .run
        .data
        .in_flight_at(s.cursor)
        .into_iter()
        .find(|&j| j != i)
        .expect("more than one message in flight");
    let o = s.run.data.messages[other];
    let row = format!(
        "#{} {} {} -> {}",
        o.id,
        s.run.data.strings.get(o.label),
        s.run.data.name(o.from),
        s.run.data.name(o.to)
    );
    h.get_by_label(&row).click();
    h.run();
    assert_eq!(
        h.state().session().expect("session").selection.message,
        Some(other)
    );

    // Another seed gives another run, compared with the first.
    type_into(&mut h, "Seed", "1"); // "2" becomes "21"
    h.get_by_label("Run").click();
    h.run();
    let second = hash(&h);
    assert_ne!(first, second);
    let s = h.state().session().expect("session");
    let c = s
        .comparison
        .as_ref()
        .expect("compared with the previous run");
    assert_eq!(c.previous_hash.as_deref(), Some(first.as_str()));
    assert!(c.first.is_some());
}

#[test]
fn inject_a_crash_then_the_saved_scenario_reproduces_the_trace_hash() {
    let path = catalog().join("cap").join("raft-partition.toml");
    let mut h = harness(App::with_scenario(&catalog(), &path, Some(5)));
    h.run();
    type_into(&mut h, "Jump to", "5s");
    h.get_by_label("Go").click();
    h.run();
    let before = hash(&h);

    // Select kv4 in the State tab, then crash it from the inspector.
    h.get_by_label("kv4").click();
    h.run();
    h.get_by_label("Crash kv4 now").click();
    h.run();
    let after = hash(&h);
    assert_ne!(before, after);
    let s = h.state().session().expect("session");
    assert_eq!(s.injected.len(), 1);
    let kv4 = s
        .run
        .data
        .nodes
        .iter()
        .position(|n| n.name == "kv4")
        .expect("kv4") as u32;
    let outage = s.run.data.outages[kv4 as usize]
        .first()
        .expect("kv4 crashed");
    assert_eq!(outage.start, 5_000_000_001);
    // The past is unchanged: the first divergence is the crash itself.
    let d = s
        .comparison
        .as_ref()
        .and_then(|c| c.first.clone())
        .expect("diverges");
    assert_eq!(d.time, 5_000_000_001);

    // Save, then run the saved file with the engine.
    let saved = scratch("raft-partition-crash.toml");
    h.state_mut().session_mut().expect("session").files.scenario = saved.display().to_string();
    h.get_by_label("Files").click();
    h.run();
    h.get_by_label("Save scenario").click();
    h.run();
    let text = std::fs::read_to_string(&saved).expect("saved");
    assert!(text.contains("crash = \"kv4\""), "{text}");
    assert!(text.contains("seed = 5"));
    let scenario = sim_models::Scenario::load(&saved).expect("the saved scenario loads");
    let (_, summary) = sim_models::run(&scenario, &sim_models::Overrides::default()).expect("runs");
    assert_eq!(summary.trace_hash, after);
    h.get_by_label_contains("reproduces trace hash");

    // Taking the fault back gives the first run again.
    h.get_by_label("What-if").click();
    h.run();
    h.get_by_label("Undo last fault").click();
    h.run();
    assert_eq!(hash(&h), before);
    assert!(h.state().session().expect("session").injected.is_empty());
}

#[test]
fn a_broken_scenario_shows_its_error_with_line_and_column() {
    let broken = scratch("broken.toml");
    std::fs::write(
        &broken,
        "name = \"broken\"\nseed = 1\nduration = \"sixty\"\n",
    )
    .expect("write");
    let mut h = harness(App::new(&catalog()));
    type_into(&mut h, "Scenario file", &broken.display().to_string());
    h.get_by_label("Open scenario").click();
    h.run();
    assert!(h.state().session().is_none());
    let problem = h.state().problem().expect("the error is shown").clone();
    assert!(
        problem
            .message
            .starts_with(&format!("{}:3:12:", broken.display())),
        "{}",
        problem.message
    );
    h.get_by_label(&problem.message);
    let snippet = problem.snippet.expect("the offending line");
    assert!(snippet.contains("duration = \"sixty\""));
    h.get_by_label(&snippet);

    // Opening it directly (dsim gui broken.toml) lands on the picker with the same error.
    let h = harness(App::with_scenario(&catalog(), &broken, None));
    assert!(h.state().session().is_none());
    assert!(h.state().problem().is_some());
    // A missing file is an error too, not a panic.
    let h = harness(App::with_scenario(
        &catalog(),
        Path::new("no/such/file.toml"),
        None,
    ));
    assert!(
        h.state()
            .problem()
            .is_some_and(|p| p.message.contains("cannot read"))
    );
}

#[test]
fn a_trace_written_by_dsim_run_opens_without_running() {
    let path = catalog().join("basics").join("crash-restart.toml");
    let scenario = sim_models::Scenario::load(&path).expect("loads");
    let overrides = sim_models::Overrides {
        trace: Some(sim_core::TraceLevel::Full),
        ..Default::default()
    };
    let (sim, _) = sim_models::run(&scenario, &overrides).expect("runs");
    let file = scratch("crash-restart.jsonl");
    let out = std::fs::File::create(&file).expect("create");
    sim_core::trace::export(
        sim.trace().events(),
        &sim.node_names(),
        sim_core::trace::TraceFormat::JsonLines,
        out,
    )
    .expect("export");

    let mut h = harness(App::new(&catalog()));
    type_into(&mut h, "Trace file", &file.display().to_string());
    h.get_by_label("Open trace").click();
    h.run();
    let s = h.state().session().expect("the trace is open");
    assert_eq!(s.run.data.events.len(), sim.trace().events().len());
    assert!(s.run.summary.is_none());
    assert!(
        s.run.data.outages.iter().any(|o| !o.is_empty()),
        "the crash is on a lane"
    );

    // Exported again as CSV from the explorer, it reads back to the same events.
    let csv = scratch("crash-restart-again.csv");
    h.state_mut().session_mut().expect("session").files.trace = csv.display().to_string();
    h.get_by_label("Files").click();
    h.run();
    h.get_by_label("Export CSV").click();
    h.run();
    let again = sim_gui::load::open_trace(&csv).expect("reads back");
    assert_eq!(
        again.data.events,
        h.state().session().expect("session").run.data.events
    );

    // An empty trace opens and every tab draws without a node in sight.
    let empty = scratch("empty.jsonl");
    std::fs::write(&empty, "").expect("write");
    let mut h = harness(App::new(&catalog()));
    h.state_mut().apply(Command::OpenTrace(empty));
    h.run();
    assert!(h.state().session().is_some());
    for tab in [
        "State", "Plots", "Topology", "Verdicts", "What-if", "Compare", "Files",
    ] {
        h.get_by_label(tab).click();
        h.run();
    }
    h.key_press(egui::Key::ArrowRight);
    h.key_press(egui::Key::N);
    h.run();
}

#[test]
fn keyboard_shortcuts_step_and_play() {
    let path = catalog().join("basics").join("partition.toml");
    let mut h = harness(App::with_scenario(&catalog(), &path, None));
    h.run();
    h.key_press(egui::Key::End);
    h.run();
    let end = h.state().session().expect("session").run.data.end;
    assert_eq!(h.state().session().expect("session").cursor, end);
    h.key_press(egui::Key::Home);
    h.key_press(egui::Key::ArrowRight);
    h.run();
    assert_eq!(
        h.state().session().expect("session").selection.event,
        Some(0)
    );
    h.key_press(egui::Key::Space);
    h.step();
    assert!(h.state().session().expect("session").playing);
    h.step();
    assert!(
        h.state().session().expect("session").cursor > 0,
        "playing moves the cursor"
    );
}

#[test]
fn the_bottom_panel_keeps_its_size_whatever_the_tab() {
    let path = catalog().join("basics").join("partition.toml");
    let mut h = harness(App::with_scenario(&catalog(), &path, None));
    h.run();
    let top = h.get_by_label("State").rect().top();
    for tab in [
        "Plots", "Topology", "Verdicts", "What-if", "Compare", "Files", "State",
    ] {
        h.get_by_label(tab).click();
        for _ in 0..4 {
            h.step();
        }
        assert_eq!(
            h.get_by_label(tab).rect().top(),
            top,
            "the {tab} tab moved the panel"
        );
    }
}

#[test]
fn verdicts_show_the_checks_and_jump_to_the_evidence_of_a_failure() {
    // The models' own checks and the linearizability bars.
    let path = catalog().join("lock").join("lease-pause.toml");
    let mut h = harness(App::with_scenario(&catalog(), &path, None));
    h.get_by_label("Verdicts").click();
    h.run();
    h.get_by_label("PASSED  lock/lease-pause");
    h.get_by_label_contains("mutual exclusion on plain: VIOLATED");
    let path = catalog().join("cap").join("raft-partition.toml");
    let mut h = harness(App::with_scenario(&catalog(), &path, None));
    h.get_by_label("Verdicts").click();
    h.run();
    h.get_by_label("Linearizability: linearizable");

    // An expectation that fails: its evidence is c1's failed operations and the faults.
    let text =
        std::fs::read_to_string(catalog().join("basics").join("partition.toml")).expect("read");
    let strict = text.replace(
        "\"availability.c1\" = { min = 0.62, max = 0.72 }",
        "\"availability.c1\" = { min = 0.99 }",
    );
    assert_ne!(text, strict);
    let file = scratch("partition-strict.toml");
    std::fs::write(&file, strict).expect("write");
    let mut h = harness(App::with_scenario(&catalog(), &file, None));
    h.get_by_label("Verdicts").click();
    h.run();
    h.get_by_label("FAILED  basics/partition");
    h.get_by_label("Evidence for availability.c1").click();
    h.run();
    let s = h.state().session().expect("session");
    let run = &s.run.data;
    let c1 = run.nodes.iter().position(|n| n.name == "c1").expect("c1") as u32;
    assert!(!s.selection.evidence.is_empty());
    assert!(
        s.selection
            .evidence
            .iter()
            .any(|&e| run.events[e].node == c1)
    );
    assert_eq!(s.cursor, run.events[s.selection.evidence[0]].time);
}

#[test]
fn a_partition_injected_from_the_what_if_tab_cuts_the_chosen_links() {
    let path = catalog().join("basics").join("crash-restart.toml");
    let mut h = harness(App::with_scenario(&catalog(), &path, None));
    h.run();
    type_into(&mut h, "Jump to", "2s");
    h.get_by_label("Go").click();
    h.run();
    h.get_by_label("What-if").click();
    h.run();
    h.get_by_label("Fault").click();
    h.run();
    h.get_by_label("partition A | B").click();
    h.run();
    let s = h.state().session().expect("session");
    let names: Vec<String> = s.run.data.nodes.iter().map(|n| n.name.clone()).collect();
    let (a, b) = (names[0].clone(), names[names.len() - 1].clone());
    // Sides cycle none -> A -> B on click.
    h.get_by_label(&format!("{a} ·")).click();
    h.run();
    h.get_by_label(&format!("{b} ·")).click();
    h.run();
    h.get_by_label(&format!("{b} A")).click();
    h.run();
    h.get_by_label_contains("Inject at").click();
    h.run();
    let s = h.state().session().expect("session");
    assert_eq!(s.injected.len(), 1, "{:?}", h.state().status());
    let run = &s.run.data;
    let (ia, ib) = (
        names.iter().position(|n| *n == a).expect("a") as u32,
        names.iter().position(|n| *n == b).expect("b") as u32,
    );
    let cut: Vec<(u32, u32)> = run.cuts_at(3_000_000_000).map(|c| (c.a, c.b)).collect();
    assert_eq!(cut, vec![(ia.min(ib), ia.max(ib))]);
    assert!(run.link_cuts.iter().all(|c| c.start == 2_000_000_001));
    // The Compare tab opened on the divergence.
    h.get_by_label("Jump to divergence");
}

#[test]
fn a_right_click_on_a_lane_crashes_its_node_there() {
    let path = catalog().join("basics").join("crash-restart.toml");
    let mut h = harness(App::with_scenario(&catalog(), &path, None));
    h.run();
    h.get_by_label("timeline").click_secondary();
    h.run();
    let names: Vec<String> = h
        .state()
        .session()
        .expect("session")
        .run
        .data
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .collect();
    let node = names
        .into_iter()
        .find(|n| h.query_by_label(&format!("Crash {n} here")).is_some())
        .expect("the menu offers to crash the lane's node");
    let item = format!("Crash {node} here");
    h.get_by_label(&item).click();
    h.run();
    let s = h.state().session().expect("session");
    assert_eq!(s.injected.len(), 1, "{:?}", h.state().status());
    let id = s
        .run
        .data
        .nodes
        .iter()
        .position(|n| n.name == node)
        .expect("node");
    let crash = s.run.data.outages[id]
        .iter()
        .find(|o| o.crashed)
        .expect("crashed");
    assert_eq!(crash.start, s.injected[0].0);
}

#[test]
fn filters_and_the_scrubber() {
    let path = catalog().join("basics").join("partition.toml");
    let mut h = harness(App::with_scenario(&catalog(), &path, None));
    h.run();
    h.get_by_label("Nodes").click();
    h.run();
    h.get_by_label("cluster c").click();
    h.run();
    h.key_press(egui::Key::Escape);
    h.run();
    h.get_by_label("Labels").click();
    h.run();
    h.get_by_label("ping").click();
    h.run();
    h.key_press(egui::Key::Escape);
    h.get_by_label("Colour by label").click();
    h.run();
    let s = h.state().session().expect("session");
    assert!(s.view.hidden_clusters.contains("c"));
    assert!(s.view.hidden_labels.contains("ping"));
    assert!(!s.view.colour_by_label);
    // The scrubber moves the cursor and the State tab follows it.
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "Time")
        .set_value_accesskit(20.0);
    h.run();
    assert_eq!(h.state().session().expect("session").cursor, 20_000_000_000);
    h.get_by_label("The system at 20.000 s");
}

#[test]
fn a_delay_injected_on_one_link_slows_that_direction_only() {
    let path = catalog().join("basics").join("partition.toml");
    let mut h = harness(App::with_scenario(&catalog(), &path, None));
    h.run();
    type_into(&mut h, "Jump to", "2s");
    h.get_by_label("Go").click();
    h.run();
    h.get_by_label("What-if").click();
    h.run();
    h.get_by_label("Fault").click();
    h.run();
    // Far down the menu: scroll it into view first.
    h.get_by_label("delay links A -> B").scroll_to_me();
    h.run();
    h.get_by_label("delay links A -> B").click();
    h.run();
    h.get_by_label("c1 ·").click();
    h.run();
    h.get_by_label("srv1 ·").click();
    h.run();
    h.get_by_label("srv1 A").click(); // A -> B
    h.run();
    h.get_by_label_contains("Inject at").click();
    h.run();
    let s = h.state().session().expect("session");
    assert_eq!(s.injected.len(), 1, "{:?}", h.state().status());
    let run = &s.run.data;
    let id = |n: &str| run.nodes.iter().position(|m| m.name == n).expect("node") as u32;
    let (c1, srv1) = (id("c1"), id("srv1"));
    let during = |m: &&sim_gui::data::Message| {
        m.sent > 2_000_000_001 && m.sent < 7_000_000_000 && m.fate == sim_gui::data::Fate::Delivered
    };
    let slow: Vec<u64> = run
        .messages
        .iter()
        .filter(during)
        .filter(|m| (m.from, m.to) == (c1, srv1))
        .map(|m| m.end - m.sent)
        .collect();
    assert!(!slow.is_empty());
    assert!(slow.iter().all(|&l| l >= 200_000_000), "{slow:?}");
    let back = run
        .messages
        .iter()
        .filter(during)
        .filter(|m| (m.from, m.to) == (srv1, c1))
        .map(|m| m.end - m.sent);
    assert!(back.into_iter().all(|l| l < 200_000_000));
}
