//! The timeline's layout, without a GPU.

use super::*;
use crate::data::{Builder, NodeMeta, Raw, RunData};

fn run(messages: u64) -> RunData {
    let nodes = ["kv1", "kv2", "c1"]
        .iter()
        .map(|n| NodeMeta {
            name: (*n).into(),
            cluster: crate::data::cluster_of_name(n),
        })
        .collect();
    let mut b = Builder::new(nodes);
    b.push(
        0,
        Raw::Fault {
            kind: "partition",
            node: None,
            detail: "{kv1} | {kv2,c1}",
        },
    );
    let mut events: Vec<(u64, Raw<'static>)> = Vec::new();
    for i in 0..messages {
        let t = 1_000 + i * 1_000;
        events.push((
            t,
            Raw::Send {
                msg: i,
                from: 0,
                to: 1,
                label: "append",
            },
        ));
        if i % 2 == 0 {
            events.push((
                t + 1_500,
                Raw::Deliver {
                    msg: i,
                    from: 0,
                    to: 1,
                    label: "append",
                },
            ));
        } else {
            events.push((
                t,
                Raw::Drop {
                    msg: i,
                    from: 0,
                    to: 1,
                    label: "append",
                    reason: "loss",
                },
            ));
        }
    }
    events.sort_by_key(|e| e.0);
    for (t, e) in events {
        b.push(t, e);
    }
    b.push(5_000, Raw::Crash { node: 2 });
    b.finish(messages * 1_000 + 10_000)
}

fn frame(run: &RunData, view: &View) -> Scene {
    layout(
        run,
        &Context {
            view,
            rect: Rect::from_min_size(pos2(0.0, 0.0), vec2(1000.0, 300.0)),
            cursor: 0,
            selected_message: Some(0),
            selected_node: None,
            evidence: &[],
            divergence: None,
        },
    )
}

#[test]
fn arrows_crosses_lanes_and_markers() {
    let r = run(4);
    let view = View::whole(r.end);
    let s = frame(&r, &view);
    assert_eq!(
        s.lanes.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        vec!["kv1", "kv2", "c1"]
    );
    assert_eq!(s.lanes[2].cluster_start.as_deref(), Some("c"));
    assert!(!s.aggregated);
    assert_eq!(s.arrows.len(), 4);
    assert_eq!(s.arrows.iter().filter(|a| a.end == End::Dropped).count(), 2);
    assert!(s.arrows[0].selected && !s.arrows[1].selected);
    // Arrows run from the sender's lane down to the receiver's, left to right.
    let a = s.arrows[0];
    assert_eq!((a.a.y, a.b.y), (s.lanes[0].y, s.lanes[1].y));
    assert!(a.b.x > a.a.x);
    // The partition is a global marker, the crash one on c1's lane, and c1's line is broken.
    assert!(
        s.markers
            .iter()
            .any(|m| !m.on_lane && m.kind == crate::data::Kind::Fault)
    );
    assert!(
        s.markers
            .iter()
            .any(|m| m.on_lane && m.kind == crate::data::Kind::Crash)
    );
    assert_eq!(s.outages.len(), 1);
    assert_eq!(s.lines.len(), 3, "c1's lane ends at its crash");
    assert!(s.cuts.len() >= 3, "every lane of the partition is shaded");
    // Hit testing finds the arrow under its midpoint.
    let mid = a.a + (a.b - a.a) / 2.0;
    assert_eq!(hit_test(&s, &view, mid), Some(Hit::Message(0)));
}

#[test]
fn filters_hide_lanes_and_their_messages() {
    let r = run(4);
    let mut view = View::whole(r.end);
    view.hidden_labels.insert("append".into());
    let s = frame(&r, &view);
    assert_eq!(s.arrows.len(), 1, "only the selected message stays");
    view.hidden_labels.clear();
    view.hidden_clusters.insert("kv".into());
    let s = frame(&r, &view);
    assert_eq!(s.lanes.len(), 1);
    assert!(s.arrows.is_empty());
}

#[test]
fn too_many_messages_become_density_cells_and_zooming_in_brings_arrows_back() {
    let r = run(20_000);
    let mut view = View::whole(r.end);
    let s = frame(&r, &view);
    assert!(s.aggregated);
    assert!(!s.density.is_empty());
    assert_eq!(s.message_count, 20_000);
    assert_eq!(s.arrows.len(), 1, "the selected message is still drawn");
    view.t0 = 5_000_000.0;
    view.t1 = 5_050_000.0;
    let s = frame(&r, &view);
    assert!(!s.aggregated);
    assert!((45..=55).contains(&s.arrows.len()), "{}", s.arrows.len());
}

#[test]
fn zoom_keeps_the_time_under_the_pointer() {
    let mut v = View::whole(1_000_000);
    v.zoom(0.5, 250_000.0, 1_000_000);
    assert!(
        (v.t0 - 125_000.0).abs() < 1.0 && (v.t1 - 625_000.0).abs() < 1.0,
        "{v:?}"
    );
    v.pan(1e9, 1_000_000);
    assert!(v.t1 <= 1_000_000.0 * 1.05 + 1.0);
}
