//! The data layer: a loaded run as the explorer queries it, separate from any drawing.
//!
//! A [`RunData`] is built once from a trace (a run just made, or a trace file) and is then
//! read-only: events in time order with interned strings, messages paired send -> deliver /
//! drop / duplicate by id, lanes grouped by cluster, crash / pause / partition intervals,
//! fault markers, client operations, and every node's annotated state as step functions of
//! time. Queries over a visible time window use binary search (see [`query`]).

pub mod intern;
pub mod network;
pub mod query;
pub mod series;
pub mod state;

use std::collections::HashMap;

use intern::{Interner, NONE, Sym};
use network::{LinkCut, NetTracker, NodeCut};
use state::StateIndex;

/// What kind of event a trace row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A message was handed to the network.
    Send,
    /// A message reached its receiver.
    Deliver,
    /// A message was lost.
    Drop,
    /// The network duplicated a message.
    Duplicate,
    /// A timer fired.
    Timer,
    /// A node started.
    Start,
    /// A node crashed.
    Crash,
    /// A node restarted.
    Restart,
    /// A fault was applied.
    Fault,
    /// A node annotated its state.
    Annotate,
    /// A client operation was invoked or completed.
    Op,
    /// A model broke an invariant.
    Violation,
}

impl Kind {
    /// The kind's name, as in trace exports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Send => "send",
            Kind::Deliver => "deliver",
            Kind::Drop => "drop",
            Kind::Duplicate => "duplicate",
            Kind::Timer => "timer",
            Kind::Start => "start",
            Kind::Crash => "crash",
            Kind::Restart => "restart",
            Kind::Fault => "fault",
            Kind::Annotate => "annotate",
            Kind::Op => "op",
            Kind::Violation => "violation",
        }
    }

    /// The kind named `name` in a trace export.
    pub fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "send" => Kind::Send,
            "deliver" => Kind::Deliver,
            "drop" => Kind::Drop,
            "duplicate" => Kind::Duplicate,
            "timer" => Kind::Timer,
            "start" => Kind::Start,
            "crash" => Kind::Crash,
            "restart" => Kind::Restart,
            "fault" => Kind::Fault,
            "annotate" => Kind::Annotate,
            "op" => Kind::Op,
            "violation" => Kind::Violation,
            _ => return None,
        })
    }
}

/// One trace event, compact: strings are interned ids ([`NONE`] when absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// True simulated time, nanoseconds.
    pub time: u64,
    /// Message id (message events), operation id (op), original id (duplicate: in `aux`).
    pub id: u64,
    /// The original of a duplicate; 0 otherwise.
    pub aux: u64,
    /// The node it happened at (sender for send / drop / duplicate); `u32::MAX` if none.
    pub node: u32,
    /// The other node of a message event; `u32::MAX` if none.
    pub peer: u32,
    /// Message / timer label, fault kind, annotation key or operation phase.
    pub label: Sym,
    /// Drop reason, fault detail, annotation value, operation text or violation.
    pub detail: Sym,
    /// What happened.
    pub kind: Kind,
}

/// No node.
pub const NO_NODE: u32 = u32::MAX;

/// A node and where its lane sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeMeta {
    /// Its name (`kv3`).
    pub name: String,
    /// Its cluster (`kv`).
    pub cluster: String,
}

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Delivered to its receiver.
    Delivered,
    /// Lost; the reason is interned.
    Dropped(Sym),
    /// Still travelling when the trace ends.
    InFlight,
}

/// A message from send to its end, paired by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// Message id.
    pub id: u64,
    /// Sender.
    pub from: u32,
    /// Receiver.
    pub to: u32,
    /// Label (interned).
    pub label: Sym,
    /// Send time (for a duplicate: when the copy was made).
    pub sent: u64,
    /// Delivery or drop time; the run's end if still in flight.
    pub end: u64,
    /// What became of it.
    pub fate: Fate,
    /// For a duplicate, the id of the original.
    pub copy_of: Option<u64>,
    /// Index of the send (or duplicate) event.
    pub send_event: u32,
    /// Index of the deliver or drop event.
    pub end_event: Option<u32>,
}

/// A client operation from invocation to completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpSpan {
    /// Operation id.
    pub id: u64,
    /// The client.
    pub node: u32,
    /// What was asked (`write k3 7`).
    pub text: String,
    /// Invocation time.
    pub invoked: u64,
    /// Completion time, if it completed.
    pub completed: Option<u64>,
    /// `ok`, `fail`, `info`, or `invoke` while open.
    pub phase: String,
}

/// A stretch of a node's life when it was not running normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outage {
    /// Start.
    pub start: u64,
    /// End (the run's end if it never came back).
    pub end: u64,
    /// Crashed (true) or paused (false).
    pub crashed: bool,
}

/// A loaded run, ready to query.
#[derive(Clone, Debug, Default)]
pub struct RunData {
    /// Nodes by id.
    pub nodes: Vec<NodeMeta>,
    /// Clusters in first-node order.
    pub clusters: Vec<String>,
    /// Node ids in lane order (grouped by cluster).
    pub lanes: Vec<u32>,
    /// Every event, in time order.
    pub events: Vec<Event>,
    /// The strings events refer to.
    pub strings: Interner,
    /// Messages by send time.
    pub messages: Vec<Message>,
    /// Messages that took unusually long (indices into `messages`), scanned apart so that
    /// window queries stay short.
    pub long_messages: Vec<u32>,
    /// The longest lifetime among the other messages.
    pub short_span: u64,
    /// Per node, the send times of its messages (ascending), for density when zoomed out.
    pub sends_by_node: Vec<Vec<u64>>,
    /// Per node, its crashes and pauses.
    pub outages: Vec<Vec<Outage>>,
    /// Links cut by partitions.
    pub link_cuts: Vec<LinkCut>,
    /// Per node, when it had cut links.
    pub node_cuts: Vec<Vec<NodeCut>>,
    /// Indices of fault, crash, restart and violation events.
    pub markers: Vec<u32>,
    /// Client operations by invocation.
    pub ops: Vec<OpSpan>,
    /// Annotated state.
    pub state: StateIndex,
    /// Distinct message labels, sorted by name.
    pub message_labels: Vec<Sym>,
    /// How many messages were lost.
    pub dropped: usize,
    /// The last time of the run.
    pub end: u64,
}

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

impl RunData {
    /// A node's name (`?` for an unknown id).
    pub fn name(&self, node: u32) -> &str {
        self.nodes
            .get(node as usize)
            .map_or("?", |m| m.name.as_str())
    }

    /// Whether `node` was crashed (true) or paused (false) at `t`, if either.
    pub fn outage_at(&self, node: u32, t: u64) -> Option<&Outage> {
        self.outages
            .get(node as usize)?
            .iter()
            .find(|o| o.start <= t && t < o.end)
    }

    /// The links cut at `t`.
    pub fn cuts_at(&self, t: u64) -> impl Iterator<Item = &LinkCut> {
        self.link_cuts
            .iter()
            .filter(move |c| c.start <= t && t < c.end)
    }

    /// A one-line description of event `i`, for lists and tooltips.
    pub fn describe(&self, i: usize) -> String {
        let Some(e) = self.events.get(i) else {
            return String::new();
        };
        let s = |x: Sym| self.strings.get(x);
        let t = crate::fmt::time(e.time);
        match e.kind {
            Kind::Send => format!(
                "{t} {} sends {} #{} to {}",
                self.name(e.node),
                s(e.label),
                e.id,
                self.name(e.peer)
            ),
            Kind::Deliver => format!(
                "{t} {} receives {} #{} from {}",
                self.name(e.node),
                s(e.label),
                e.id,
                self.name(e.peer)
            ),
            Kind::Drop => format!(
                "{t} {} #{} {} -> {} dropped ({})",
                s(e.label),
                e.id,
                self.name(e.node),
                self.name(e.peer),
                s(e.detail)
            ),
            Kind::Duplicate => format!(
                "{t} {} #{} duplicated as #{} ({} -> {})",
                s(e.label),
                e.aux,
                e.id,
                self.name(e.node),
                self.name(e.peer)
            ),
            Kind::Timer => format!("{t} {} timer {}", self.name(e.node), s(e.label)),
            Kind::Start => format!("{t} {} starts", self.name(e.node)),
            Kind::Crash => format!("{t} {} crashes", self.name(e.node)),
            Kind::Restart => format!("{t} {} restarts", self.name(e.node)),
            Kind::Fault => {
                let on = if e.node == NO_NODE {
                    String::new()
                } else {
                    format!(" {}", self.name(e.node))
                };
                format!("{t} fault {}{on}: {}", s(e.label), s(e.detail))
            }
            Kind::Annotate => format!("{t} {} {}={}", self.name(e.node), s(e.label), s(e.detail)),
            Kind::Op => format!("{t} {} op {} {}", self.name(e.node), e.id, s(e.label)),
            Kind::Violation => format!("{t} VIOLATION at {}: {}", self.name(e.node), s(e.detail)),
        }
    }
}

/// The cluster a node belongs to when a trace file does not say: its name without the
/// trailing digits (`kv3` -> `kv`).
pub fn cluster_of_name(name: &str) -> String {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if base.is_empty() {
        name.to_owned()
    } else {
        base.to_owned()
    }
}

#[cfg(test)]
mod tests;
