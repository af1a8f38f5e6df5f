//! The space-time diagram: one lane per node grouped by cluster, time to the right, an arrow
//! per message. [`layout`] computes what to draw (pure), [`paint`] draws it, and [`show`]
//! handles zoom, pan, hover and clicks.

pub mod layout;
pub mod paint;

use std::collections::BTreeSet;

use egui::{Rect, Sense, Ui};

use crate::data::RunData;
use layout::{Context, Hit, Scale, Scene};

/// The visible window and the filters.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// Left edge, nanoseconds.
    pub t0: f64,
    /// Right edge, nanoseconds.
    pub t1: f64,
    /// Nodes hidden by name.
    pub hidden_nodes: BTreeSet<String>,
    /// Clusters hidden.
    pub hidden_clusters: BTreeSet<String>,
    /// Message labels hidden.
    pub hidden_labels: BTreeSet<String>,
    /// Colour arrows by message label.
    pub colour_by_label: bool,
}

impl View {
    /// The whole run of `end` nanoseconds.
    pub fn whole(end: u64) -> View {
        View {
            t0: 0.0,
            t1: end.max(1) as f64,
            hidden_nodes: BTreeSet::new(),
            hidden_clusters: BTreeSet::new(),
            hidden_labels: BTreeSet::new(),
            colour_by_label: true,
        }
    }

    /// Whether node `n`'s lane is shown.
    pub fn shows_node(&self, run: &RunData, n: u32) -> bool {
        run.nodes.get(n as usize).is_some_and(|m| {
            !self.hidden_nodes.contains(&m.name) && !self.hidden_clusters.contains(&m.cluster)
        })
    }

    /// Per interned string id: whether a message with that label is shown.
    pub fn label_mask(&self, run: &RunData) -> Vec<bool> {
        if self.hidden_labels.is_empty() {
            return Vec::new();
        }
        (0..run.strings.len() as u32)
            .map(|s| !self.hidden_labels.contains(run.strings.get(s)))
            .collect()
    }

    /// Zooms by `factor` (< 1: in) keeping time `at` where it is.
    pub fn zoom(&mut self, factor: f64, at: f64, end: u64) {
        let span = ((self.t1 - self.t0) * factor).clamp(1_000.0, (end.max(1) as f64) * 1.2);
        let left = (at - self.t0) / (self.t1 - self.t0).max(1.0);
        self.t0 = at - span * left;
        self.t1 = self.t0 + span;
        self.clamp(end);
    }

    /// Moves the window by `dt` nanoseconds.
    pub fn pan(&mut self, dt: f64, end: u64) {
        self.t0 += dt;
        self.t1 += dt;
        self.clamp(end);
    }

    /// Keeps the window inside the run (with a little margin).
    fn clamp(&mut self, end: u64) {
        let span = self.t1 - self.t0;
        let max = end as f64 + span * 0.05;
        if self.t1 > max {
            self.t1 = max;
            self.t0 = max - span;
        }
        if self.t0 < -span * 0.05 {
            self.t0 = -span * 0.05;
            self.t1 = self.t0 + span;
        }
    }

    /// Centres the window on `t` if `t` is outside it.
    pub fn follow(&mut self, t: u64, end: u64) {
        let t = t as f64;
        if t < self.t0 || t > self.t1 {
            let span = self.t1 - self.t0;
            self.t0 = t - span / 2.0;
            self.t1 = t + span / 2.0;
            self.clamp(end);
        }
    }
}

/// What the person did on the timeline this frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Clicked a message arrow.
    SelectMessage(usize),
    /// Clicked a marker (event index).
    SelectEvent(usize),
    /// Clicked a lane at a time.
    SelectLane(u32, u64),
    /// Chose a fault from a lane's context menu: the node, the time, what.
    Inject(u32, u64, LaneFault),
}

/// The faults a lane's context menu offers at the clicked time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneFault {
    /// Crash the node.
    Crash,
    /// Restart the node.
    Restart,
    /// Cut it off from every other node.
    Isolate,
    /// Stall it.
    Pause,
    /// End a stall.
    Resume,
}

impl LaneFault {
    /// Every choice, in menu order.
    pub const ALL: [LaneFault; 5] = [
        LaneFault::Crash,
        LaneFault::Restart,
        LaneFault::Isolate,
        LaneFault::Pause,
        LaneFault::Resume,
    ];

    /// The verb in the menu.
    pub fn verb(self) -> &'static str {
        match self {
            LaneFault::Crash => "Crash",
            LaneFault::Restart => "Restart",
            LaneFault::Isolate => "Isolate",
            LaneFault::Pause => "Pause",
            LaneFault::Resume => "Resume",
        }
    }
}

/// Draws the timeline of `run` filling the available space, handling zoom (scroll wheel),
/// pan (drag, or shift + scroll) and hover; returns the click, if any, and the scene drawn.
pub fn show(
    ui: &mut Ui,
    run: &RunData,
    cx: Context<'_>,
    view: &mut View,
) -> (Option<Action>, Scene) {
    let (rect, response) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
    let response = response.on_hover_cursor(egui::CursorIcon::Crosshair);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "timeline"));
    let cx = Context { rect, ..cx };
    let plot = Rect::from_min_max(
        egui::pos2(rect.left() + layout::GUTTER, rect.top() + layout::AXIS),
        rect.right_bottom(),
    );
    // Zoom and pan before laying out, so the frame shows the new window.
    if response.hovered() {
        let (scroll, zoom, shift) =
            ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta(), i.modifiers.shift));
        let scale = Scale::new(view, plot);
        if let Some(p) = response.hover_pos() {
            let at = scale.t(p.x) as f64;
            if zoom != 1.0 {
                view.zoom(1.0 / f64::from(zoom), at, run.end);
            } else if scroll.y != 0.0 && !shift {
                view.zoom((-f64::from(scroll.y) / 200.0).exp(), at, run.end);
            }
        }
        let sideways = if shift { scroll.y } else { scroll.x };
        if sideways != 0.0 {
            let per_point = (view.t1 - view.t0) / f64::from(plot.width().max(1.0));
            view.pan(-f64::from(sideways) * per_point, run.end);
        }
    }
    if response.dragged() {
        let per_point = (view.t1 - view.t0) / f64::from(plot.width().max(1.0));
        view.pan(-f64::from(response.drag_delta().x) * per_point, run.end);
    }
    let scene = layout::layout(run, &Context { view, ..cx });
    paint::paint(ui.painter_at(rect), run, &scene, rect);

    let mut action = None;
    if let Some(p) = response.hover_pos() {
        let hit = layout::hit_test(&scene, view, p);
        match hit {
            Some(Hit::Message(i)) => {
                response.clone().on_hover_ui_at_pointer(|ui| {
                    crate::inspector::message_summary(ui, run, i);
                });
            }
            Some(Hit::Marker(e)) => {
                response.clone().on_hover_ui_at_pointer(|ui| {
                    ui.label(run.describe(e));
                });
            }
            _ => {}
        }
        // Right-click on a lane: remember which, for the context menu below.
        if response.secondary_clicked()
            && let Some(Hit::Lane(n, t)) = hit
        {
            ui.ctx()
                .data_mut(|d| d.insert_temp(response.id.with("lane menu"), (n, t)));
        }
        if response.clicked() {
            action = hit.map(|h| match h {
                Hit::Message(i) => Action::SelectMessage(i),
                Hit::Marker(e) => Action::SelectEvent(e),
                Hit::Lane(n, t) => Action::SelectLane(n, t),
            });
        }
    }
    let key = response.id.with("lane menu");
    response.context_menu(|ui| {
        let Some((n, t)) = ui.ctx().data(|d| d.get_temp::<(u32, u64)>(key)) else {
            ui.close();
            return;
        };
        ui.label(format!("{} at {}", run.name(n), crate::fmt::seconds(t)));
        for f in LaneFault::ALL {
            if ui
                .button(format!("{} {} here", f.verb(), run.name(n)))
                .clicked()
            {
                action = Some(Action::Inject(n, t, f));
                ui.close();
            }
        }
    });
    (action, scene)
}
