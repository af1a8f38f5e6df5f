//! Painting a laid-out [`Scene`]: no decisions here, only shapes.

use egui::{Align2, Color32, FontId, Painter, Pos2, Rect, Shape, Stroke, pos2, vec2};

use super::layout::{End, Scene};
use crate::data::{Kind, RunData};
use crate::theme;

fn faded(c: Color32, future: bool) -> Color32 {
    if future { c.gamma_multiply(0.45) } else { c }
}

/// Light tints for the sides of a partition.
fn cut_tint(side: u8) -> Color32 {
    match side % 3 {
        0 => Color32::from_rgba_unmultiplied(230, 40, 40, 34),
        1 => Color32::from_rgba_unmultiplied(230, 170, 0, 40),
        _ => Color32::from_rgba_unmultiplied(150, 40, 200, 34),
    }
}

/// Draws `scene` of `run` inside `rect`.
pub fn paint(painter: Painter, run: &RunData, scene: &Scene, rect: Rect) {
    let visuals = painter.ctx().global_style().visuals.clone();
    let text = visuals.text_color();
    let weak = visuals.weak_text_color();
    let small = FontId::proportional(11.0);
    let plot = scene.plot;
    painter.rect_filled(rect, 0.0, visuals.extreme_bg_color);

    // Axis and grid.
    for (x, label) in &scene.ticks {
        painter.line_segment(
            [pos2(*x, plot.top()), pos2(*x, plot.bottom())],
            Stroke::new(1.0, visuals.faint_bg_color.gamma_multiply(2.0)),
        );
        painter.text(
            pos2(*x + 2.0, rect.top() + 2.0),
            Align2::LEFT_TOP,
            label,
            small.clone(),
            weak,
        );
    }

    // Lanes: cluster separators, names, cut shading, outages, bands, the lines.
    for lane in &scene.lanes {
        let top = lane.y - scene.lane_h / 2.0;
        if let Some(cluster) = &lane.cluster_start {
            painter.line_segment(
                [pos2(rect.left(), top), pos2(rect.right(), top)],
                Stroke::new(1.0, weak.gamma_multiply(0.6)),
            );
            if scene.lane_h >= 12.0 {
                painter.text(
                    pos2(rect.left() + 2.0, top + 1.0),
                    Align2::LEFT_TOP,
                    cluster,
                    small.clone(),
                    weak,
                );
            }
        }
        if lane.selected {
            let r = Rect::from_min_max(
                pos2(rect.left(), top),
                pos2(rect.right(), top + scene.lane_h),
            );
            painter.rect_filled(r, 0.0, theme::HIGHLIGHT.gamma_multiply(0.18));
        }
        if scene.lane_h >= 8.0 {
            painter.text(
                pos2(plot.left() - 4.0, lane.y),
                Align2::RIGHT_CENTER,
                &lane.name,
                FontId::monospace(12.0_f32.min(scene.lane_h * 0.8)),
                text,
            );
        }
    }
    for (r, side) in &scene.cuts {
        painter.rect_filled(*r, 0.0, cut_tint(*side));
    }
    for b in &scene.bands {
        painter.rect_filled(b.rect, 1.0, b.color.gamma_multiply(0.28));
        let width = b.text.len() as f32 * 6.0;
        if b.rect.width() > width + 6.0 && b.rect.height() >= 9.0 {
            painter.text(
                pos2(b.rect.left().max(plot.left()) + 3.0, b.rect.center().y),
                Align2::LEFT_CENTER,
                &b.text,
                FontId::proportional(10.0),
                b.color.gamma_multiply(0.9),
            );
        }
    }
    for (r, crashed) in &scene.outages {
        if *crashed {
            painter.rect_filled(*r, 0.0, Color32::from_gray(128).gamma_multiply(0.25));
            hatch(&painter, *r, Color32::from_gray(110));
        } else {
            painter.rect_stroke(
                *r,
                0.0,
                Stroke::new(1.0, Color32::from_rgb(200, 150, 0)),
                egui::StrokeKind::Inside,
            );
        }
    }
    for [a, b] in &scene.lines {
        painter.line_segment([*a, *b], Stroke::new(1.5, weak));
    }

    // Messages.
    for (r, intensity) in &scene.density {
        painter.rect_filled(*r, 0.0, theme::MESSAGE.gamma_multiply(*intensity));
    }
    let mut shapes = Vec::with_capacity(scene.arrows.len() * 3);
    for a in &scene.arrows {
        let color = if a.selected {
            theme::HIGHLIGHT
        } else {
            faded(a.color, a.future)
        };
        let width = if a.selected { 3.0 } else { 1.4 };
        let stroke = Stroke::new(width, color);
        if a.duplicate {
            shapes.extend(Shape::dashed_line(&[a.a, a.b], stroke, 4.0, 3.0));
        } else {
            shapes.push(Shape::line_segment([a.a, a.b], stroke));
        }
        match a.end {
            End::Delivered | End::InFlight => {
                let dir = (a.b - a.a).normalized();
                if dir.is_finite() && a.a.distance(a.b) > 6.0 {
                    let back = a.b - dir * 6.0;
                    let side = dir.rot90() * 3.0;
                    let head = vec![a.b, back + side, back - side];
                    if a.end == End::Delivered {
                        shapes.push(Shape::convex_polygon(head, color, Stroke::NONE));
                    } else {
                        shapes.push(Shape::closed_line(head, stroke));
                    }
                }
            }
            End::Dropped => {
                let c = if a.selected {
                    theme::HIGHLIGHT
                } else {
                    faded(theme::DANGER, a.future)
                };
                let s = Stroke::new(2.0, c);
                let d = 4.0;
                shapes.push(Shape::line_segment(
                    [a.b + vec2(-d, -d), a.b + vec2(d, d)],
                    s,
                ));
                shapes.push(Shape::line_segment(
                    [a.b + vec2(-d, d), a.b + vec2(d, -d)],
                    s,
                ));
            }
        }
    }
    painter.extend(shapes);

    // Markers.
    for m in &scene.markers {
        let ev = &run.events[m.event];
        if !m.on_lane {
            painter.add(Shape::dashed_line(
                &[pos2(m.pos.x, plot.top()), pos2(m.pos.x, plot.bottom())],
                Stroke::new(1.0, theme::FAULT),
                5.0,
                4.0,
            ));
            painter.text(
                pos2(m.pos.x + 3.0, plot.top() + 1.0),
                Align2::LEFT_TOP,
                run.strings.get(ev.label),
                small.clone(),
                theme::FAULT,
            );
            continue;
        }
        match m.kind {
            Kind::Crash => {
                painter.circle_filled(m.pos, 5.0, theme::DANGER);
                painter.text(
                    m.pos,
                    Align2::CENTER_CENTER,
                    "×",
                    FontId::proportional(10.0),
                    Color32::WHITE,
                );
            }
            Kind::Restart => {
                painter.circle_filled(m.pos, 5.0, Color32::from_rgb(44, 160, 44));
            }
            Kind::Violation => {
                diamond(&painter, m.pos, 6.0, theme::DANGER);
            }
            _ => {
                diamond(&painter, m.pos, 5.0, theme::FAULT);
            }
        }
    }
    for p in &scene.highlights {
        painter.circle_stroke(*p, 8.0, Stroke::new(2.5, theme::HIGHLIGHT));
    }
    if let Some(x) = scene.divergence_x {
        painter.line_segment(
            [pos2(x, rect.top()), pos2(x, rect.bottom())],
            Stroke::new(2.0, theme::DIVERGENCE),
        );
        painter.text(
            pos2(x + 3.0, plot.top() + 12.0),
            Align2::LEFT_TOP,
            "first divergence",
            small.clone(),
            theme::DIVERGENCE,
        );
    }
    if let Some(x) = scene.cursor_x {
        painter.line_segment(
            [pos2(x, rect.top()), pos2(x, rect.bottom())],
            Stroke::new(1.5, theme::CURSOR),
        );
    }
    painter.text(
        pos2(plot.left() + 4.0, plot.bottom() - 2.0),
        Align2::LEFT_BOTTOM,
        "shading: partition sides · hatched: crashed · × lost · dashed: duplicate · diamond: fault · cursor in orange",
        small.clone(),
        weak,
    );
    if scene.aggregated {
        painter.text(
            pos2(plot.right() - 4.0, plot.bottom() - 2.0),
            Align2::RIGHT_BOTTOM,
            format!(
                "{} messages shown as density — zoom in for arrows",
                scene.message_count
            ),
            small,
            weak,
        );
    }
}

fn diamond(painter: &Painter, c: Pos2, r: f32, color: Color32) {
    painter.add(Shape::convex_polygon(
        vec![
            c + vec2(0.0, -r),
            c + vec2(r, 0.0),
            c + vec2(0.0, r),
            c + vec2(-r, 0.0),
        ],
        color,
        Stroke::new(1.0, Color32::WHITE),
    ));
}

/// Diagonal hatching over a crashed stretch.
fn hatch(painter: &Painter, r: Rect, color: Color32) {
    let step = 6.0;
    let mut x = r.left() - r.height();
    let stroke = Stroke::new(1.0, color.gamma_multiply(0.6));
    let mut n = 0;
    while x < r.right() && n < 2000 {
        let a = pos2(x, r.bottom());
        let b = pos2(x + r.height(), r.top());
        // Clip the segment to the rectangle horizontally.
        let (a, b) = clip(a, b, r);
        if let Some((a, b)) = a.zip(b) {
            painter.line_segment([a, b], stroke);
        }
        x += step;
        n += 1;
    }
}

fn clip(a: Pos2, b: Pos2, r: Rect) -> (Option<Pos2>, Option<Pos2>) {
    let lerp = |x: f32| {
        let t = (x - a.x) / (b.x - a.x);
        pos2(x, a.y + (b.y - a.y) * t)
    };
    let a2 = if a.x < r.left() { lerp(r.left()) } else { a };
    let b2 = if b.x > r.right() { lerp(r.right()) } else { b };
    if a2.x > b2.x {
        (None, None)
    } else {
        (Some(a2), Some(b2))
    }
}
