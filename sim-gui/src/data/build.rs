//! Building a [`RunData`] from events pushed in time order, whatever their source: the
//! engine's trace of a run, or the rows of a trace file.

use std::collections::HashMap;

use super::intern::{NONE, Sym};
use super::network::NetTracker;
use super::state::StateIndex;
use super::{Event, Fate, Kind, Message, NO_NODE, NodeMeta, OpSpan, Outage, RunData};

/// One event as a source hands it to the [`Builder`], strings borrowed.
#[derive(Clone, Copy, Debug)]
pub enum Raw<'a> {
    /// See [`Kind::Send`].
    Send {
        /// Id.
        msg: u64,
        /// Sender.
        from: u32,
        /// Receiver.
        to: u32,
        /// Label.
        label: &'a str,
    },
    /// See [`Kind::Deliver`].
    Deliver {
        /// Id.
        msg: u64,
        /// Sender.
        from: u32,
        /// Receiver.
        to: u32,
        /// Label.
        label: &'a str,
    },
    /// See [`Kind::Drop`].
    Drop {
        /// Id.
        msg: u64,
        /// Sender.
        from: u32,
        /// Receiver.
        to: u32,
        /// Label.
        label: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// See [`Kind::Duplicate`].
    Duplicate {
        /// Id of the copy.
        msg: u64,
        /// Id of the original.
        of: u64,
        /// Sender.
        from: u32,
        /// Receiver.
        to: u32,
        /// Label.
        label: &'a str,
    },
    /// See [`Kind::Timer`].
    Timer {
        /// Node.
        node: u32,
        /// Label.
        label: &'a str,
    },
    /// See [`Kind::Start`].
    Start {
        /// Node.
        node: u32,
    },
    /// See [`Kind::Crash`].
    Crash {
        /// Node.
        node: u32,
    },
    /// See [`Kind::Restart`].
    Restart {
        /// Node.
        node: u32,
    },
    /// See [`Kind::Fault`].
    Fault {
        /// Fault kind.
        kind: &'a str,
        /// Node, if one.
        node: Option<u32>,
        /// Details.
        detail: &'a str,
    },
    /// See [`Kind::Annotate`].
    Annotate {
        /// Node.
        node: u32,
        /// Key.
        key: &'a str,
        /// Value.
        value: &'a str,
    },
    /// See [`Kind::Op`].
    Op {
        /// Client.
        node: u32,
        /// Operation id.
        op: u64,
        /// Phase name.
        phase: &'a str,
        /// Text.
        detail: &'a str,
    },
    /// See [`Kind::Violation`].
    Violation {
        /// Node.
        node: u32,
        /// What broke.
        detail: &'a str,
    },
}

impl<'a> Raw<'a> {
    /// The engine's event in this form.
    pub fn of(kind: &'a sim_core::TraceKind) -> Raw<'a> {
        use sim_core::TraceKind as K;
        match kind {
            K::Send {
                msg,
                from,
                to,
                label,
            } => Raw::Send {
                msg: *msg,
                from: from.0,
                to: to.0,
                label,
            },
            K::Deliver {
                msg,
                from,
                to,
                label,
            } => Raw::Deliver {
                msg: *msg,
                from: from.0,
                to: to.0,
                label,
            },
            K::Drop {
                msg,
                from,
                to,
                label,
                reason,
            } => Raw::Drop {
                msg: *msg,
                from: from.0,
                to: to.0,
                label,
                reason: reason.as_str(),
            },
            K::Duplicate {
                msg,
                of,
                from,
                to,
                label,
            } => Raw::Duplicate {
                msg: *msg,
                of: *of,
                from: from.0,
                to: to.0,
                label,
            },
            K::Timer { node, label } => Raw::Timer {
                node: node.0,
                label,
            },
            K::Start { node } => Raw::Start { node: node.0 },
            K::Crash { node } => Raw::Crash { node: node.0 },
            K::Restart { node } => Raw::Restart { node: node.0 },
            K::Fault { kind, node, detail } => Raw::Fault {
                kind,
                node: node.map(|n| n.0),
                detail,
            },
            K::Annotate { node, key, value } => Raw::Annotate {
                node: node.0,
                key,
                value,
            },
            K::Op {
                node,
                op,
                phase,
                detail,
            } => Raw::Op {
                node: node.0,
                op: *op,
                phase: phase.as_str(),
                detail,
            },
            K::Violation { node, detail } => Raw::Violation {
                node: node.0,
                detail,
            },
        }
    }
}

/// Builds a [`RunData`] from events pushed in time order.
pub struct Builder {
    data: RunData,
    msg_index: HashMap<u64, u32>,
    op_index: HashMap<u64, u32>,
    net: NetTracker,
    down_since: Vec<Option<(u64, bool)>>,
}

impl Builder {
    /// A builder for a run of `nodes` (by id).
    pub fn new(nodes: Vec<NodeMeta>) -> Builder {
        let n = nodes.len();
        Builder {
            data: RunData {
                nodes,
                sends_by_node: vec![Vec::new(); n],
                outages: vec![Vec::new(); n],
                state: StateIndex::new(n),
                ..RunData::default()
            },
            msg_index: HashMap::new(),
            op_index: HashMap::new(),
            net: NetTracker::new(n),
            down_since: vec![None; n],
        }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.data.nodes.len()
    }

    /// Adds one event at `time` (not earlier than the previous one).
    pub fn push(&mut self, time: u64, raw: Raw<'_>) {
        let n = self.data.nodes.len() as u32;
        let valid = |x: u32| if x < n { x } else { NO_NODE };
        let index = self.data.events.len() as u32;
        let s = &mut self.data.strings;
        let mut ev = Event {
            time,
            id: 0,
            aux: 0,
            node: NO_NODE,
            peer: NO_NODE,
            label: NONE,
            detail: NONE,
            kind: Kind::Start,
        };
        match raw {
            Raw::Send {
                msg,
                from,
                to,
                label,
            } => {
                ev = Event {
                    kind: Kind::Send,
                    id: msg,
                    node: valid(from),
                    peer: valid(to),
                    label: s.intern(label),
                    ..ev
                };
                self.open_message(&ev, index, None);
            }
            Raw::Duplicate {
                msg,
                of,
                from,
                to,
                label,
            } => {
                ev = Event {
                    kind: Kind::Duplicate,
                    id: msg,
                    aux: of,
                    node: valid(from),
                    peer: valid(to),
                    label: s.intern(label),
                    ..ev
                };
                self.open_message(&ev, index, Some(of));
            }
            Raw::Deliver {
                msg,
                from,
                to,
                label,
            } => {
                ev = Event {
                    kind: Kind::Deliver,
                    id: msg,
                    node: valid(to),
                    peer: valid(from),
                    label: s.intern(label),
                    ..ev
                };
                self.close_message(&ev, index, Fate::Delivered);
            }
            Raw::Drop {
                msg,
                from,
                to,
                label,
                reason,
            } => {
                ev = Event {
                    kind: Kind::Drop,
                    id: msg,
                    node: valid(from),
                    peer: valid(to),
                    label: s.intern(label),
                    detail: s.intern(reason),
                    ..ev
                };
                if !self.msg_index.contains_key(&msg) {
                    // Lost without a send event of its own: a zero-length message.
                    let send = Event {
                        kind: Kind::Send,
                        ..ev
                    };
                    self.open_message(&send, index, None);
                }
                self.close_message(&ev, index, Fate::Dropped(ev.detail));
            }
            Raw::Timer { node, label } => {
                ev = Event {
                    kind: Kind::Timer,
                    node: valid(node),
                    label: s.intern(label),
                    ..ev
                };
            }
            Raw::Start { node } => {
                ev = Event {
                    kind: Kind::Start,
                    node: valid(node),
                    ..ev
                };
            }
            Raw::Crash { node } => {
                ev = Event {
                    kind: Kind::Crash,
                    node: valid(node),
                    ..ev
                };
                self.outage_begins(ev.node, time, true);
                self.data.state.clear(ev.node, time);
                self.data.markers.push(index);
            }
            Raw::Restart { node } => {
                ev = Event {
                    kind: Kind::Restart,
                    node: valid(node),
                    ..ev
                };
                self.outage_ends(ev.node, time, true);
                self.data.markers.push(index);
            }
            Raw::Fault { kind, node, detail } => {
                ev = Event {
                    kind: Kind::Fault,
                    node: node.map_or(NO_NODE, valid),
                    label: s.intern(kind),
                    detail: s.intern(detail),
                    ..ev
                };
                match kind {
                    "pause" if detail == "stalled" => self.outage_begins(ev.node, time, false),
                    "resume" if !detail.starts_with("no effect") => {
                        self.outage_ends(ev.node, time, false);
                    }
                    _ => {}
                }
                let nodes = &self.data.nodes;
                let lookup =
                    |name: &str| nodes.iter().position(|m| m.name == name).map(|i| i as u32);
                self.net.fault(time, kind, node, detail, &lookup);
                self.data.markers.push(index);
            }
            Raw::Annotate { node, key, value } => {
                ev = Event {
                    kind: Kind::Annotate,
                    node: valid(node),
                    label: s.intern(key),
                    detail: s.intern(value),
                    ..ev
                };
                self.data.state.annotate(ev.node, time, ev.label, ev.detail);
            }
            Raw::Op {
                node,
                op,
                phase,
                detail,
            } => {
                ev = Event {
                    kind: Kind::Op,
                    id: op,
                    node: valid(node),
                    label: s.intern(phase),
                    ..ev
                };
                if phase == "invoke" {
                    self.op_index.insert(op, self.data.ops.len() as u32);
                    self.data.ops.push(OpSpan {
                        id: op,
                        node: ev.node,
                        text: detail.to_owned(),
                        invoked: time,
                        completed: None,
                        phase: phase.to_owned(),
                    });
                } else if let Some(&i) = self.op_index.get(&op) {
                    let span = &mut self.data.ops[i as usize];
                    span.completed = Some(time);
                    span.phase = phase.to_owned();
                    span.text = detail.to_owned();
                }
            }
            Raw::Violation { node, detail } => {
                ev = Event {
                    kind: Kind::Violation,
                    node: valid(node),
                    detail: s.intern(detail),
                    ..ev
                };
                self.data.markers.push(index);
            }
        }
        self.data.end = self.data.end.max(time);
        self.data.events.push(ev);
    }

    fn open_message(&mut self, ev: &Event, index: u32, copy_of: Option<u64>) {
        if ev.node == NO_NODE || ev.peer == NO_NODE {
            return;
        }
        self.msg_index
            .insert(ev.id, self.data.messages.len() as u32);
        self.data.messages.push(Message {
            id: ev.id,
            from: ev.node,
            to: ev.peer,
            label: ev.label,
            sent: ev.time,
            end: ev.time,
            fate: Fate::InFlight,
            copy_of,
            send_event: index,
            end_event: None,
        });
        self.data.sends_by_node[ev.node as usize].push(ev.time);
    }

    fn close_message(&mut self, ev: &Event, index: u32, fate: Fate) {
        if let Some(i) = self.msg_index.remove(&ev.id) {
            let m = &mut self.data.messages[i as usize];
            m.end = ev.time;
            m.fate = fate;
            m.end_event = Some(index);
        }
    }

    fn outage_begins(&mut self, node: u32, time: u64, crashed: bool) {
        if let Some(slot) = self.down_since.get_mut(node as usize)
            && slot.is_none()
        {
            *slot = Some((time, crashed));
        }
    }

    fn outage_ends(&mut self, node: u32, time: u64, crashed: bool) {
        if let Some(slot) = self.down_since.get_mut(node as usize)
            && let Some((start, c)) = *slot
            && c == crashed
        {
            self.data.outages[node as usize].push(Outage {
                start,
                end: time,
                crashed,
            });
            *slot = None;
        }
    }

    /// Finishes the run at `end` (at least the last event's time) and builds the indexes.
    pub fn finish(mut self, end: u64) -> RunData {
        let end = end.max(self.data.end);
        let d = &mut self.data;
        d.end = end;
        for (node, open) in self.down_since.iter().enumerate() {
            if let Some((start, crashed)) = *open {
                d.outages[node].push(Outage {
                    start,
                    end,
                    crashed,
                });
            }
        }
        for m in d.messages.iter_mut().filter(|m| m.fate == Fate::InFlight) {
            m.end = end;
        }
        let (links, nodes) = self.net.finish(end);
        d.link_cuts = links;
        d.node_cuts = nodes;
        // Lanes: clusters in order of their first node, nodes in id order within each.
        for m in &d.nodes {
            if !d.clusters.contains(&m.cluster) {
                d.clusters.push(m.cluster.clone());
            }
        }
        d.lanes = d
            .clusters
            .iter()
            .flat_map(|c| {
                d.nodes
                    .iter()
                    .enumerate()
                    .filter(move |(_, m)| &m.cluster == c)
                    .map(|(i, _)| i as u32)
            })
            .collect();
        // Long-lived messages apart: the rest bound every window query by `short_span`.
        let mut spans: Vec<u64> = d.messages.iter().map(|m| m.end - m.sent).collect();
        spans.sort_unstable();
        let cut = spans
            .get(spans.len().saturating_sub(1 + spans.len() / 1000))
            .copied()
            .unwrap_or(0);
        d.short_span = 0;
        for (i, m) in d.messages.iter().enumerate() {
            let span = m.end - m.sent;
            if span > cut {
                d.long_messages.push(i as u32);
            } else {
                d.short_span = d.short_span.max(span);
            }
        }
        d.dropped = d
            .messages
            .iter()
            .filter(|m| matches!(m.fate, Fate::Dropped(_)))
            .count();
        let mut labels: Vec<Sym> = d.messages.iter().map(|m| m.label).collect();
        labels.sort_unstable();
        labels.dedup();
        labels.sort_by(|a, b| d.strings.get(*a).cmp(d.strings.get(*b)));
        d.message_labels = labels;
        self.data
    }
}
