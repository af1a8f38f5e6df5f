//! The data layer against hand-made traces and real runs.

use super::*;
use crate::load;

fn nodes(names: &[&str]) -> Vec<NodeMeta> {
    names
        .iter()
        .map(|n| NodeMeta {
            name: (*n).into(),
            cluster: cluster_of_name(n),
        })
        .collect()
}

#[test]
fn messages_pair_by_id_whatever_their_fate() {
    let mut b = Builder::new(nodes(&["c1", "kv1", "kv2"]));
    b.push(
        10,
        Raw::Send {
            msg: 1,
            from: 0,
            to: 1,
            label: "req",
        },
    );
    b.push(
        11,
        Raw::Send {
            msg: 2,
            from: 1,
            to: 2,
            label: "append",
        },
    );
    b.push(
        11,
        Raw::Duplicate {
            msg: 3,
            of: 2,
            from: 1,
            to: 2,
            label: "append",
        },
    );
    b.push(
        12,
        Raw::Send {
            msg: 4,
            from: 1,
            to: 2,
            label: "append",
        },
    );
    b.push(
        12,
        Raw::Drop {
            msg: 4,
            from: 1,
            to: 2,
            label: "append",
            reason: "loss",
        },
    );
    b.push(
        15,
        Raw::Deliver {
            msg: 1,
            from: 0,
            to: 1,
            label: "req",
        },
    );
    b.push(
        16,
        Raw::Deliver {
            msg: 3,
            from: 1,
            to: 2,
            label: "append",
        },
    );
    b.push(
        17,
        Raw::Deliver {
            msg: 2,
            from: 1,
            to: 2,
            label: "append",
        },
    );
    b.push(
        18,
        Raw::Send {
            msg: 5,
            from: 2,
            to: 1,
            label: "ack",
        },
    );
    let run = b.finish(20);
    let by_id = |id| run.messages[run.message_by_id(id).expect("present")];
    assert_eq!(
        (by_id(1).sent, by_id(1).end, by_id(1).fate),
        (10, 15, Fate::Delivered)
    );
    assert_eq!((by_id(3).copy_of, by_id(3).end), (Some(2), 16));
    let loss = run.strings.find("loss").expect("interned");
    assert_eq!((by_id(4).end, by_id(4).fate), (12, Fate::Dropped(loss)));
    assert_eq!((by_id(5).end, by_id(5).fate), (20, Fate::InFlight));
    // Lanes grouped by cluster in order of first node; labels sorted by name.
    assert_eq!(run.lanes, vec![0, 1, 2]);
    assert_eq!(run.clusters, vec!["c".to_owned(), "kv".to_owned()]);
    let labels: Vec<&str> = run
        .message_labels
        .iter()
        .map(|&l| run.strings.get(l))
        .collect();
    assert_eq!(labels, vec!["ack", "append", "req"]);
    // Window queries.
    let mut visible: Vec<u64> = run
        .visible_messages(13, 14)
        .map(|i| run.messages[i].id)
        .collect();
    visible.sort_unstable();
    assert_eq!(visible, vec![1, 2, 3]);
    let mut flying: Vec<u64> = run
        .in_flight_at(16)
        .into_iter()
        .map(|i| run.messages[i].id)
        .collect();
    flying.sort_unstable();
    assert_eq!(flying, vec![2]);
    assert_eq!(run.sends_in(1, 0, 12), 2);
    assert_eq!(
        run.next_message_after(11, run.strings.find("ack"))
            .map(|i| run.messages[i].id),
        Some(5)
    );
    assert_eq!(run.event_range(12, 15), 3..6);
}

#[test]
fn crashes_pauses_and_state_follow_the_events() {
    let mut b = Builder::new(nodes(&["kv1", "kv2"]));
    b.push(
        0,
        Raw::Annotate {
            node: 0,
            key: "role",
            value: "leader",
        },
    );
    b.push(5, Raw::Crash { node: 0 });
    b.push(
        5,
        Raw::Fault {
            kind: "crash",
            node: Some(0),
            detail: "crashed",
        },
    );
    b.push(
        8,
        Raw::Fault {
            kind: "pause",
            node: Some(1),
            detail: "stalled",
        },
    );
    b.push(9, Raw::Restart { node: 0 });
    b.push(
        9,
        Raw::Annotate {
            node: 0,
            key: "role",
            value: "follower",
        },
    );
    let run = b.finish(12);
    assert_eq!(
        run.outages[0],
        vec![Outage {
            start: 5,
            end: 9,
            crashed: true
        }]
    );
    assert_eq!(
        run.outages[1],
        vec![Outage {
            start: 8,
            end: 12,
            crashed: false
        }]
    );
    let value = |t| {
        run.state
            .at(0, t)
            .iter()
            .map(|(k, v)| format!("{}={}", run.strings.get(*k), run.strings.get(*v)))
            .collect::<Vec<_>>()
    };
    assert_eq!(value(4), vec!["role=leader"]);
    assert!(value(6).is_empty(), "a crash clears the state");
    assert_eq!(value(9), vec!["role=follower"]);
    assert!(run.outage_at(0, 7).is_some_and(|o| o.crashed));
    assert!(run.outage_at(0, 9).is_none());
    assert_eq!(run.markers.len(), 4);
}

#[test]
fn a_real_partition_run_has_cut_links_and_every_message_paired() {
    let path = crate::catalog::default_dir()
        .join("basics")
        .join("partition.toml");
    let loaded = load::run_file(&path, None).expect("the shipped scenario runs");
    let run = &loaded.data;
    let summary = loaded.summary.as_ref().expect("summary");
    assert_eq!(run.events.len() as u64, summary.trace_events);
    assert_eq!(
        run.messages.len() as u64,
        summary.messages.sent + summary.messages.duplicated
    );
    let delivered = run
        .messages
        .iter()
        .filter(|m| m.fate == Fate::Delivered)
        .count() as u64;
    assert_eq!(delivered, summary.messages.delivered);
    // The engine kept every sent message's contents, under the message's id.
    assert_eq!(loaded.payloads.len() as u64, summary.messages.sent);
    assert!(
        run.messages
            .iter()
            .filter(|m| m.copy_of.is_none())
            .all(|m| loaded.payload(m.id).is_some())
    );
    // {c1, srv1} | {c2, c3, srv2, srv3} from 10 s to 30 s: 2 × 4 cut links.
    assert_eq!(run.link_cuts.len(), 8);
    assert!(
        run.link_cuts
            .iter()
            .all(|c| c.start == 10_000_000_000 && c.end == 30_000_000_000)
    );
    assert_eq!(run.cuts_at(20_000_000_000).count(), 8);
    assert_eq!(run.cuts_at(31_000_000_000).count(), 0);
    // Messages dropped for the partition were all sent across the cut.
    let partition = run.strings.find("partition").expect("partition drops");
    let cut = |a: u32, b: u32| {
        run.link_cuts
            .iter()
            .any(|c| (c.a, c.b) == (a.min(b), a.max(b)))
    };
    assert!(
        run.messages
            .iter()
            .filter(|m| m.fate == Fate::Dropped(partition))
            .all(|m| cut(m.from, m.to))
    );
    // Window queries agree with a linear scan.
    let (t0, t1) = (12_000_000_000, 12_500_000_000);
    let mut fast: Vec<usize> = run.visible_messages(t0, t1).collect();
    fast.sort_unstable();
    let slow: Vec<usize> = (0..run.messages.len())
        .filter(|&i| run.messages[i].sent <= t1 && run.messages[i].end >= t0)
        .collect();
    assert_eq!(fast, slow);
}
