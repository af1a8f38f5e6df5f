//! A loaded run and everything the person has done to it: cursor, selection, view, injected
//! faults, the previous run kept for comparison. The panels read it; [`crate::app::Command`]s
//! change it, once per frame.

use std::path::PathBuf;

use crate::compare::Comparison;
use crate::data::series::Series;
use crate::edit::FaultEdit;
use crate::load::{Loaded, Origin};
use crate::timeline::View;
use crate::whatif::WhatIfForm;

/// The bottom panel's tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// Every node's state at the cursor and the selected node's history.
    State,
    /// Metric plots.
    Plots,
    /// The topology graph.
    Topology,
    /// Checker verdicts and linearizability bars.
    Verdicts,
    /// Inject faults.
    WhatIf,
    /// Compare with the previous run.
    Compare,
    /// Save, export, open.
    Files,
}

impl Tab {
    /// Every tab in display order.
    pub const ALL: [Tab; 7] = [
        Tab::State,
        Tab::Plots,
        Tab::Topology,
        Tab::Verdicts,
        Tab::WhatIf,
        Tab::Compare,
        Tab::Files,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::State => "State",
            Tab::Plots => "Plots",
            Tab::Topology => "Topology",
            Tab::Verdicts => "Verdicts",
            Tab::WhatIf => "What-if",
            Tab::Compare => "Compare",
            Tab::Files => "Files",
        }
    }
}

/// What is selected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// A message (index into messages).
    pub message: Option<usize>,
    /// A node.
    pub node: Option<u32>,
    /// An event (a marker clicked, a verdict's evidence).
    pub event: Option<usize>,
    /// Events highlighted on the timeline.
    pub evidence: Vec<usize>,
}

/// One loaded run and its exploration state.
pub struct Session {
    /// The run on screen.
    pub run: Loaded,
    /// The run before the last re-run, for comparison.
    pub previous: Option<Loaded>,
    /// Where the two differ.
    pub comparison: Option<Comparison>,
    /// The scenario text that was run (None for a trace file).
    pub text: Option<String>,
    /// The scenario file (or the trace file).
    pub path: PathBuf,
    /// The seed field.
    pub seed_text: String,
    /// Faults injected so far, described, with their times.
    pub injected: Vec<(u64, FaultEdit)>,
    /// The scenario text before each injection, for undo.
    pub before_injection: Vec<String>,
    /// The time cursor, nanoseconds.
    pub cursor: u64,
    /// Playing.
    pub playing: bool,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// The timeline window and filters.
    pub view: View,
    /// What is selected.
    pub selection: Selection,
    /// The label "next message" steps to (None: any).
    pub next_label: Option<String>,
    /// The jump-to field.
    pub jump_text: String,
    /// The bottom panel's tab.
    pub tab: Tab,
    /// Metric series.
    pub series: Series,
    /// The what-if form.
    pub whatif: WhatIfForm,
    /// The save / export path fields.
    pub files: crate::export::FileForm,
    /// Show the previous run's timeline under this one.
    pub show_previous: bool,
}

impl Session {
    /// A fresh session on `run`.
    pub fn new(run: Loaded) -> Session {
        let (text, path, seed) = match &run.origin {
            Origin::Scenario { path, text, seed } => {
                (Some(text.clone()), path.clone(), Some(*seed))
            }
            Origin::TraceFile { path } => (None, path.clone(), None),
        };
        let files = crate::export::FileForm::for_path(&path);
        let series = Series::of(&run.data, 240);
        Session {
            view: View::whole(run.data.end),
            previous: None,
            comparison: None,
            text,
            seed_text: seed.map(|s| s.to_string()).unwrap_or_default(),
            path,
            injected: Vec::new(),
            before_injection: Vec::new(),
            cursor: 0,
            playing: false,
            speed: 1.0,
            selection: Selection::default(),
            next_label: None,
            jump_text: String::new(),
            tab: Tab::State,
            series,
            whatif: WhatIfForm::default(),
            files,
            show_previous: false,
            run,
        }
    }

    /// Replaces the run with a new one of the same scenario, keeping the view, cursor and
    /// filters, and keeping the old run for comparison.
    pub fn replace_run(&mut self, run: Loaded) {
        let old = std::mem::replace(&mut self.run, run);
        self.series = Series::of(&self.run.data, 240);
        self.comparison = Some(Comparison::of(&old, &self.run));
        self.previous = Some(old);
        self.selection = Selection::default();
        self.cursor = self.cursor.min(self.run.data.end);
        if let Origin::Scenario { text, .. } = &self.run.origin {
            self.text = Some(text.clone());
        }
    }

    /// The scenario's name or the trace file's name.
    pub fn title(&self) -> String {
        match &self.run.summary {
            Some(s) => s.scenario.clone(),
            None => self.path.display().to_string(),
        }
    }

    /// Moves the cursor to `t` (clamped to the run) and keeps it in view.
    pub fn set_cursor(&mut self, t: u64) {
        self.cursor = t.min(self.run.data.end);
        self.view.follow(self.cursor, self.run.data.end);
    }
}
