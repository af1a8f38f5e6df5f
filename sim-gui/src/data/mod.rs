//! The data layer: a loaded run as the explorer queries it, separate from any drawing.
//!
//! A [`RunData`] is built once from a trace (a run just made, or a trace file) and is then
//! read-only: events in time order with interned strings, messages paired send -> deliver /
//! drop / duplicate by id, lanes grouped by cluster, crash / pause / partition intervals,
//! fault markers, client operations, and every node's annotated state as step functions of
//! time. Queries over a visible time window use binary search (see [`query`]).

mod build;
pub mod intern;
pub mod network;
pub mod query;
pub mod series;
pub mod state;

pub use build::{Builder, Raw};

use intern::{Interner, Sym};
use network::{LinkCut, NodeCut};
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

/// One trace event, compact: strings are interned ids ([`NONE`](intern::NONE) when absent).
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
