//! The timeline's layout: a pure function from a run, a view and a rectangle to the shapes to
//! draw (lanes, state bands, arrows, crosses, outages, cut shading, markers, ticks). Nothing
//! here paints, so it is tested without a GPU, and it only touches what is visible: window
//! queries by binary search, and density cells instead of arrows when too many would be drawn.

use egui::{Color32, Pos2, Rect, pos2, vec2};

use super::View;
use crate::data::{Fate, Kind, NO_NODE, RunData};
use crate::theme;

/// More visible messages than this are drawn as density cells instead of arrows.
pub const MAX_ARROWS: usize = 4000;
/// Width of the lane-name gutter, points.
pub const GUTTER: f32 = 76.0;
/// Height of the time axis, points.
pub const AXIS: f32 = 18.0;

/// What a frame of the timeline needs besides the run.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The visible window and filters.
    pub view: &'a View,
    /// Where to draw.
    pub rect: Rect,
    /// The time cursor (events after it are drawn faded).
    pub cursor: u64,
    /// The selected message.
    pub selected_message: Option<usize>,
    /// The selected node.
    pub selected_node: Option<u32>,
    /// Events to highlight (a verdict's evidence).
    pub evidence: &'a [usize],
    /// Where this run first differs from the previous one.
    pub divergence: Option<u64>,
}

/// One lane.
#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    /// The node.
    pub node: u32,
    /// Centre line.
    pub y: f32,
    /// The node's name.
    pub name: String,
    /// The cluster's name, on the first lane of each cluster.
    pub cluster_start: Option<String>,
    /// The selected node's lane.
    pub selected: bool,
}

/// How an arrow ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// At the receiver.
    Delivered,
    /// In a cross where it was lost.
    Dropped,
    /// Still travelling at the end of the run (open arrow head).
    InFlight,
}

/// One message arrow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arrow {
    /// Index into `RunData::messages`.
    pub msg: usize,
    /// Send point.
    pub a: Pos2,
    /// End point (the cross for a drop).
    pub b: Pos2,
    /// Colour.
    pub color: Color32,
    /// How it ends.
    pub end: End,
    /// A duplicate copy (drawn dashed).
    pub duplicate: bool,
    /// Sent after the cursor (drawn faded).
    pub future: bool,
    /// Selected.
    pub selected: bool,
}

/// A fault, crash, restart or violation on a lane (or on the axis when about no node).
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    /// Where.
    pub pos: Pos2,
    /// The event.
    pub event: usize,
    /// What kind of event.
    pub kind: Kind,
    /// On a lane (false: a fault about no node, drawn across every lane).
    pub on_lane: bool,
}

/// A state band segment.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// Where.
    pub rect: Rect,
    /// Colour of the value.
    pub color: Color32,
    /// `key=value`, drawn when it fits.
    pub text: String,
}

/// Everything one frame draws.
#[derive(Clone, Debug)]
pub struct Scene {
    /// The lanes in order.
    pub lanes: Vec<Lane>,
    /// Lane height.
    pub lane_h: f32,
    /// The plot area (right of the gutter, below the axis).
    pub plot: Rect,
    /// Lane line segments (broken where a node was down).
    pub lines: Vec<[Pos2; 2]>,
    /// State bands.
    pub bands: Vec<Band>,
    /// Crashed (true) or paused (false) stretches.
    pub outages: Vec<(Rect, bool)>,
    /// Stretches when a lane's links were cut, with the partition side.
    pub cuts: Vec<(Rect, u8)>,
    /// Message arrows.
    pub arrows: Vec<Arrow>,
    /// Density cells when zoomed out: rectangle and intensity in (0, 1].
    pub density: Vec<(Rect, f32)>,
    /// Markers.
    pub markers: Vec<Marker>,
    /// Evidence highlights.
    pub highlights: Vec<Pos2>,
    /// Axis ticks: x and text.
    pub ticks: Vec<(f32, String)>,
    /// The cursor's x, if visible.
    pub cursor_x: Option<f32>,
    /// The divergence's x, if visible.
    pub divergence_x: Option<f32>,
    /// Whether messages were aggregated into density cells.
    pub aggregated: bool,
    /// Arrows drawn (or messages counted in cells).
    pub message_count: usize,
}

impl Default for Scene {
    fn default() -> Self {
        Scene {
            lanes: Vec::new(),
            lane_h: 0.0,
            plot: Rect::NOTHING,
            lines: Vec::new(),
            bands: Vec::new(),
            outages: Vec::new(),
            cuts: Vec::new(),
            arrows: Vec::new(),
            density: Vec::new(),
            markers: Vec::new(),
            highlights: Vec::new(),
            ticks: Vec::new(),
            cursor_x: None,
            divergence_x: None,
            aggregated: false,
            message_count: 0,
        }
    }
}

impl Scene {
    /// The lane of `node`, if shown.
    pub fn lane_of(&self, node: u32) -> Option<&Lane> {
        self.lanes.iter().find(|l| l.node == node)
    }
}

/// Maps time to x and back over the plot area.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    t0: f64,
    t1: f64,
    x0: f32,
    x1: f32,
}

impl Scale {
    /// The scale of `view` over the plot area `plot`.
    pub fn new(view: &View, plot: Rect) -> Scale {
        Scale {
            t0: view.t0,
            t1: view.t1.max(view.t0 + 1.0),
            x0: plot.left(),
            x1: plot.right().max(plot.left() + 1.0),
        }
    }

    /// x of time `t`.
    pub fn x(&self, t: u64) -> f32 {
        self.x0 + ((t as f64 - self.t0) / (self.t1 - self.t0)) as f32 * (self.x1 - self.x0)
    }

    /// Time at x (clamped at 0).
    pub fn t(&self, x: f32) -> u64 {
        let t = self.t0 + f64::from((x - self.x0) / (self.x1 - self.x0)) * (self.t1 - self.t0);
        t.max(0.0) as u64
    }

    /// The visible window in whole nanoseconds.
    pub fn window(&self) -> (u64, u64) {
        (self.t0.max(0.0) as u64, self.t1.max(0.0).ceil() as u64)
    }
}

/// Lays out one frame.
pub fn layout(run: &RunData, cx: &Context<'_>) -> Scene {
    let view = cx.view;
    let plot = Rect::from_min_max(
        pos2(cx.rect.left() + GUTTER, cx.rect.top() + AXIS),
        cx.rect.right_bottom(),
    );
    let scale = Scale::new(view, plot);
    let (t0, t1) = scale.window();
    let mut scene = Scene {
        plot,
        ..Scene::default()
    };

    // Lanes: visible nodes in lane order.
    let shown: Vec<u32> = run
        .lanes
        .iter()
        .copied()
        .filter(|&n| view.shows_node(run, n))
        .collect();
    let lane_h = if shown.is_empty() {
        0.0
    } else {
        (plot.height() / shown.len() as f32).clamp(4.0, 64.0)
    };
    scene.lane_h = lane_h;
    let mut y_of = vec![f32::NAN; run.nodes.len()];
    let mut previous_cluster: Option<&str> = None;
    for (i, &n) in shown.iter().enumerate() {
        let y = plot.top() + lane_h * (i as f32 + 0.5);
        y_of[n as usize] = y;
        let cluster = run.nodes[n as usize].cluster.as_str();
        let starts = previous_cluster != Some(cluster);
        previous_cluster = Some(cluster);
        scene.lanes.push(Lane {
            node: n,
            y,
            name: run.name(n).to_owned(),
            cluster_start: starts.then(|| cluster.to_owned()),
            selected: cx.selected_node == Some(n),
        });
    }
    let lane_y = |n: u32| y_of.get(n as usize).copied().filter(|y| !y.is_nan());
    let clip_x = |t: u64| scale.x(t).clamp(plot.left() - 2.0, plot.right() + 2.0);

    // Per lane: cut shading, outages, the line broken by crashes, and the state band.
    for lane in &scene.lanes {
        let top = lane.y - lane_h / 2.0;
        let full = |a: u64, b: u64, inset: f32| {
            Rect::from_min_max(
                pos2(clip_x(a), top + inset),
                pos2(clip_x(b), top + lane_h - inset),
            )
        };
        for c in run.node_cuts.get(lane.node as usize).into_iter().flatten() {
            if c.end >= t0 && c.start <= t1 {
                scene.cuts.push((full(c.start, c.end, 0.5), c.side));
            }
        }
        let mut line_from = plot.left();
        for o in run.outages.get(lane.node as usize).into_iter().flatten() {
            if o.end >= t0 && o.start <= t1 {
                scene
                    .outages
                    .push((full(o.start, o.end, lane_h * 0.2), o.crashed));
                if o.crashed {
                    let (xa, xb) = (clip_x(o.start), clip_x(o.end));
                    if xa > line_from {
                        scene
                            .lines
                            .push([pos2(line_from, lane.y), pos2(xa, lane.y)]);
                    }
                    line_from = line_from.max(xb);
                }
            }
        }
        if line_from < plot.right() {
            scene
                .lines
                .push([pos2(line_from, lane.y), pos2(plot.right(), lane.y)]);
        }
        band(run, lane, lane_h, &scale, (t0, t1), &mut scene.bands);
    }

    // Messages: arrows, or density cells when there are too many.
    let label_shown = view.label_mask(run);
    let shows = |m: &crate::data::Message| {
        label_shown.get(m.label as usize).copied().unwrap_or(true)
            && lane_y(m.from).is_some()
            && lane_y(m.to).is_some()
    };
    let bound = run.visible_message_bound(t0, t1);
    scene.aggregated = bound > MAX_ARROWS;
    let push_arrow = |scene: &mut Scene, i: usize| {
        let m = &run.messages[i];
        let (Some(ya), Some(yb)) = (lane_y(m.from), lane_y(m.to)) else {
            return;
        };
        let a = pos2(scale.x(m.sent), ya);
        let (b, end) = match m.fate {
            Fate::Delivered => (pos2(scale.x(m.end), yb), End::Delivered),
            Fate::InFlight => (pos2(scale.x(m.end), yb), End::InFlight),
            Fate::Dropped(_) if m.end > m.sent => (pos2(scale.x(m.end), yb), End::Dropped),
            // Lost as it left: a short stub towards the receiver.
            // (short, so the cross stays by the sender rather than on a lane in between).
            Fate::Dropped(_) => (
                a + vec2(8.0, ((yb - ya) * 0.35).clamp(-lane_h * 0.4, lane_h * 0.4)),
                End::Dropped,
            ),
        };
        let color = if view.colour_by_label {
            theme::of_text(run.strings.get(m.label))
        } else {
            theme::MESSAGE
        };
        scene.arrows.push(Arrow {
            msg: i,
            a,
            b,
            color,
            end,
            duplicate: m.copy_of.is_some(),
            future: m.sent > cx.cursor,
            selected: cx.selected_message == Some(i),
        });
    };
    if scene.aggregated {
        const CELL: f32 = 3.0;
        let columns = (plot.width() / CELL).ceil().max(1.0) as usize;
        let mut cells = Vec::new();
        let mut max = 1usize;
        for lane in &scene.lanes {
            for c in 0..columns {
                let xa = plot.left() + c as f32 * CELL;
                let (ta, tb) = (scale.t(xa), scale.t(xa + CELL));
                let n = run.sends_in(lane.node, ta, tb);
                if n > 0 {
                    max = max.max(n);
                    scene.message_count += n;
                    cells.push((
                        Rect::from_min_size(
                            pos2(xa, lane.y - lane_h * 0.3),
                            vec2(CELL, lane_h * 0.6),
                        ),
                        n,
                    ));
                }
            }
        }
        let max = max as f32;
        scene.density = cells
            .into_iter()
            .map(|(r, n)| (r, (n as f32 / max).sqrt().max(0.08)))
            .collect();
        if let Some(i) = cx.selected_message.filter(|&i| i < run.messages.len()) {
            push_arrow(&mut scene, i);
        }
    } else {
        for i in run.visible_messages(t0, t1) {
            if shows(&run.messages[i]) || cx.selected_message == Some(i) {
                push_arrow(&mut scene, i);
            }
        }
        scene.message_count = scene.arrows.len();
    }

    // Markers: faults, crashes, restarts, violations.
    for e in run.markers_in(t0, t1) {
        let ev = &run.events[e];
        let x = scale.x(ev.time);
        match lane_y(ev.node) {
            Some(y) => scene.markers.push(Marker {
                pos: pos2(x, y),
                event: e,
                kind: ev.kind,
                on_lane: true,
            }),
            None if ev.node == NO_NODE => scene.markers.push(Marker {
                pos: pos2(x, plot.top()),
                event: e,
                kind: ev.kind,
                on_lane: false,
            }),
            None => {}
        }
    }
    for &e in cx.evidence {
        if let Some(ev) = run.events.get(e)
            && ev.time >= t0
            && ev.time <= t1
            && let Some(y) = lane_y(ev.node)
        {
            scene.highlights.push(pos2(scale.x(ev.time), y));
        }
    }

    scene.ticks = ticks(&scale, plot);
    let visible_x = |t: u64| (t0..=t1).contains(&t).then_some(scale.x(t));
    scene.cursor_x = Some(cx.cursor).and_then(visible_x);
    scene.divergence_x = cx.divergence.and_then(visible_x);
    scene
}

/// The state band of one lane: segments of the lane's band key over the window.
fn band(
    run: &RunData,
    lane: &Lane,
    lane_h: f32,
    scale: &Scale,
    (t0, t1): (u64, u64),
    out: &mut Vec<Band>,
) {
    const PREFERRED: [&str; 4] = ["role", "state", "breaker", "size"];
    let Some(key) = run.state.band_key(lane.node, &run.strings, &PREFERRED) else {
        return;
    };
    let Some(series) = run.state.series(lane.node, key) else {
        return;
    };
    let top = lane.y - lane_h / 2.0 + 1.0;
    let h = (lane_h * 0.4).max(2.0);
    let key_text = run.strings.get(key);
    let mut push = |a: u64, b: u64, v: u32| {
        if v == crate::data::intern::NONE {
            return;
        }
        let (xa, xb) = (scale.x(a.max(t0)), scale.x(b.min(t1)));
        if xb - xa < 0.5 {
            return;
        }
        let value = run.strings.get(v);
        out.push(Band {
            rect: Rect::from_min_max(pos2(xa, top), pos2(xb, top + h)),
            color: theme::of_state(value),
            text: format!("{key_text}={value}"),
        });
    };
    let mut start = t0;
    let mut value = series.at(t0);
    for &(t, v) in &series.points[series.first_after(t0)..] {
        if t > t1 {
            break;
        }
        push(start, t, value);
        start = t;
        value = v;
    }
    push(start, t1, value);
}

/// Axis ticks: a 1-2-5 step that leaves about 90 points between labels.
fn ticks(scale: &Scale, plot: Rect) -> Vec<(f32, String)> {
    let span = (scale.t1 - scale.t0).max(1.0);
    let target = span * 90.0 / f64::from(plot.width().max(1.0));
    let mut step = 1.0f64;
    while step < target {
        for m in [2.0, 2.5, 2.0] {
            step *= m;
            if step >= target {
                break;
            }
        }
    }
    let first = (scale.t0 / step).ceil() * step;
    let mut out = Vec::new();
    let mut t = first.max(0.0);
    while t <= scale.t1 && out.len() < 200 {
        out.push((scale.x(t as u64), crate::fmt::time(t as u64)));
        t += step;
    }
    out
}

/// What is under the pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hit {
    /// A message arrow (index into messages).
    Message(usize),
    /// A marker (event index).
    Marker(usize),
    /// A lane, at a time.
    Lane(u32, u64),
}

/// The nearest thing under `p`: a marker or an arrow within a few points, else a lane.
pub fn hit_test(scene: &Scene, view: &View, p: Pos2) -> Option<Hit> {
    if !scene.plot.expand(4.0).contains(p) {
        return None;
    }
    let near = |q: Pos2| q.distance(p) <= 6.0;
    if let Some(m) = scene.markers.iter().find(|m| m.on_lane && near(m.pos)) {
        return Some(Hit::Marker(m.event));
    }
    let best = scene
        .arrows
        .iter()
        .map(|a| (segment_distance(p, a.a, a.b), a.msg))
        .filter(|(d, _)| *d <= 5.0)
        .min_by(|x, y| x.0.total_cmp(&y.0));
    if let Some((_, msg)) = best {
        return Some(Hit::Message(msg));
    }
    if let Some(m) = scene
        .markers
        .iter()
        .find(|m| !m.on_lane && (m.pos.x - p.x).abs() <= 4.0)
    {
        return Some(Hit::Marker(m.event));
    }
    let scale = Scale::new(view, scene.plot);
    scene
        .lanes
        .iter()
        .find(|l| (l.y - p.y).abs() <= scene.lane_h / 2.0)
        .map(|l| Hit::Lane(l.node, scale.t(p.x)))
}

fn segment_distance(p: Pos2, a: Pos2, b: Pos2) -> f32 {
    let ab = b - a;
    let len2 = ab.length_sq();
    if len2 <= f32::EPSILON {
        return p.distance(a);
    }
    let t = ((p - a).dot(ab) / len2).clamp(0.0, 1.0);
    p.distance(a + ab * t)
}

#[cfg(test)]
mod tests;
