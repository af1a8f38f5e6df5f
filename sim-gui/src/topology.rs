//! The topology: the run's petgraph graph of nodes and links, nodes on a circle grouped by
//! cluster, links cut at the cursor in red, crashed nodes greyed. Clicking a node selects its
//! lane.

use egui::{Align2, Color32, FontId, Pos2, Sense, Stroke, Ui, WidgetInfo, pos2, vec2};
use petgraph::visit::EdgeRef;

use crate::app::Command;
use crate::session::Session;
use crate::theme;

/// Node positions on a circle in lane order (so clusters sit together), inside `rect`.
pub fn positions(lanes: &[u32], n: usize, rect: egui::Rect) -> Vec<Pos2> {
    let mut out = vec![rect.center(); n];
    let r = (rect.width().min(rect.height()) / 2.0 - 28.0).max(10.0);
    let count = lanes.len().max(1) as f32;
    for (i, &node) in lanes.iter().enumerate() {
        let a = std::f32::consts::TAU * i as f32 / count - std::f32::consts::FRAC_PI_2;
        if let Some(p) = out.get_mut(node as usize) {
            *p = rect.center() + vec2(a.cos(), a.sin()) * r;
        }
    }
    out
}

/// The Topology tab.
pub fn ui(ui: &mut Ui, s: &Session, commands: &mut Vec<Command>) {
    let run = &s.run.data;
    let graph = &s.run.topology;
    let (rect, _) = ui.allocate_exact_size(ui.available_size() - vec2(0.0, 4.0), Sense::hover());
    let painter = ui.painter_at(rect);
    let pos = positions(&run.lanes, run.nodes.len(), rect);
    let cut: Vec<(u32, u32)> = run.cuts_at(s.cursor).map(|c| (c.a, c.b)).collect();
    let weak = ui.visuals().weak_text_color().gamma_multiply(0.5);
    for e in graph.edge_references() {
        let (Some(&a), Some(&b)) = (graph.node_weight(e.source()), graph.node_weight(e.target()))
        else {
            continue;
        };
        let (Some(&pa), Some(&pb)) = (pos.get(a as usize), pos.get(b as usize)) else {
            continue;
        };
        let is_cut = cut.contains(&(a.min(b), a.max(b)));
        let stroke = if is_cut {
            Stroke::new(2.5, theme::DANGER)
        } else {
            Stroke::new(1.0, weak)
        };
        painter.line_segment([pa, pb], stroke);
    }
    let text = ui.visuals().text_color();
    for &node in &run.lanes {
        let Some(&p) = pos.get(node as usize) else {
            continue;
        };
        let meta = &run.nodes[node as usize];
        let down = run.outage_at(node, s.cursor);
        let fill = match down {
            Some(o) if o.crashed => Color32::from_gray(150),
            Some(_) => Color32::from_rgb(230, 180, 60),
            None => theme::of_text(&meta.cluster),
        };
        let rect = egui::Rect::from_center_size(p, vec2(26.0, 26.0));
        let response = ui.interact(
            rect,
            ui.scope_id().with(("topology node", node)),
            Sense::click(),
        );
        let name = meta.name.clone();
        response
            .widget_info(|| WidgetInfo::labeled(egui::Role::Button, true, format!("node {name}")));
        if s.selection.node == Some(node) {
            painter.circle_stroke(p, 15.0, Stroke::new(3.0, theme::HIGHLIGHT));
        }
        painter.circle(p, 11.0, fill, Stroke::new(1.0, Color32::WHITE));
        if down.is_some_and(|o| o.crashed) {
            painter.text(
                p,
                Align2::CENTER_CENTER,
                "×",
                FontId::proportional(14.0),
                Color32::WHITE,
            );
        }
        painter.text(
            p + vec2(0.0, 14.0),
            Align2::CENTER_TOP,
            &meta.name,
            FontId::proportional(12.0),
            text,
        );
        if response.clicked() {
            commands.push(Command::SelectNode(Some(node)));
        }
    }
    painter.text(
        pos2(rect.left() + 4.0, rect.top() + 4.0),
        Align2::LEFT_TOP,
        format!(
            "at {} — {} links cut",
            crate::fmt::seconds(s.cursor),
            cut.len()
        ),
        FontId::proportional(12.0),
        text,
    );
}
