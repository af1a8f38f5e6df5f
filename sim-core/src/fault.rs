//! Faults: what can go wrong, scheduled by the scenario or drawn by a random nemesis.
//!
//! Every applied fault is a trace event. The nemesis draws from its own random stream, so
//! turning it on does not change the network's or the nodes' dice.

use crate::dist::DurationDist;
use crate::node::NodeId;
use crate::time::{Duration, SimTime};

/// One fault, with node names already resolved to ids.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// Split the groups from each other (both directions); unlisted nodes keep their links.
    Partition(Vec<Vec<NodeId>>),
    /// Cut one node off from all others, both directions.
    Isolate(NodeId),
    /// Block messages from every node in `from` to every node in `to` (one direction only, like
    /// an iptables `DROP` on one side).
    Block {
        /// Senders whose messages are dropped.
        from: Vec<NodeId>,
        /// Receivers that no longer hear them.
        to: Vec<NodeId>,
    },
    /// Remove every partition and block.
    Heal,
    /// Crash a node: its state, timers and unsynced writes are lost.
    Crash(NodeId),
    /// Restart a crashed node from its factory and synced storage.
    Restart(NodeId),
    /// Stall a node (a GC pause): its state is kept, nothing is handled, arrivals queue up.
    Pause(NodeId),
    /// End a stall: queued arrivals are handled in order.
    Resume(NodeId),
    /// Step a node's wall clock by `delta_ns` (an NTP jump; timers are unaffected).
    ClockJump {
        /// The node.
        node: NodeId,
        /// How far to step, in nanoseconds (negative: backwards).
        delta_ns: i64,
    },
    /// Change a node's clock drift (until a [`FaultAction::DriftEnd`], which the quiet phase
    /// of a scenario applies).
    Drift {
        /// The node.
        node: NodeId,
        /// New drift in parts per million.
        ppm: f64,
    },
    /// Add latency to every message for a while.
    LatencySpike {
        /// Extra one-way latency.
        extra: Duration,
        /// How long it lasts.
        duration: Duration,
    },
    /// Add a loss probability to every link for a while.
    LossBurst {
        /// Extra loss probability in [0, 1].
        loss: f64,
        /// How long it lasts.
        duration: Duration,
    },
    /// Add latency to the messages from every node in `from` to every node in `to` (one
    /// direction) for a while: a slow link.
    LinkDelay {
        /// Senders.
        from: Vec<NodeId>,
        /// Receivers.
        to: Vec<NodeId>,
        /// Extra one-way latency on those links.
        extra: Duration,
        /// How long it lasts.
        duration: Duration,
    },
    /// End of a link delay (scheduled by the engine).
    LinkDelayEnd {
        /// Senders.
        from: Vec<NodeId>,
        /// Receivers.
        to: Vec<NodeId>,
    },
    /// End of a drift change: the node's clock runs at the drift it was built with again
    /// (the scenario's `[clocks]`). What it gained or lost meanwhile stays: taking that back
    /// would be a step of the wall clock, and a drifting oscillator does not step.
    DriftEnd(NodeId),
    /// End of a latency spike (scheduled by the engine).
    LatencySpikeEnd,
    /// End of a loss burst (scheduled by the engine).
    LossBurstEnd,
}

impl FaultAction {
    /// The fault's kind name, as traces and reports show it.
    pub fn kind(&self) -> &'static str {
        match self {
            FaultAction::Partition(_) => "partition",
            FaultAction::Isolate(_) => "isolate",
            FaultAction::Block { .. } => "block",
            FaultAction::Heal => "heal",
            FaultAction::Crash(_) => "crash",
            FaultAction::Restart(_) => "restart",
            FaultAction::Pause(_) => "pause",
            FaultAction::Resume(_) => "resume",
            FaultAction::ClockJump { .. } => "clock-jump",
            FaultAction::Drift { .. } => "drift",
            FaultAction::DriftEnd(_) => "drift-end",
            FaultAction::LatencySpike { .. } => "latency-spike",
            FaultAction::LossBurst { .. } => "loss-burst",
            FaultAction::LinkDelay { .. } => "link-delay",
            FaultAction::LinkDelayEnd { .. } => "link-delay-end",
            FaultAction::LatencySpikeEnd => "latency-spike-end",
            FaultAction::LossBurstEnd => "loss-burst-end",
        }
    }

    /// The single node the fault is about, if it is about one.
    pub fn node(&self) -> Option<NodeId> {
        match self {
            FaultAction::Isolate(n)
            | FaultAction::Crash(n)
            | FaultAction::Restart(n)
            | FaultAction::Pause(n)
            | FaultAction::Resume(n)
            | FaultAction::ClockJump { node: n, .. }
            | FaultAction::Drift { node: n, .. }
            | FaultAction::DriftEnd(n) => Some(*n),
            _ => None,
        }
    }
}

/// A fault at a point in true time.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledFault {
    /// When it happens.
    pub at: SimTime,
    /// What happens.
    pub action: FaultAction,
}

/// A kind of fault the nemesis may inject; each is undone after the fault's duration.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum NemesisKind {
    /// Crash a random target, restart it afterwards.
    Crash,
    /// Pause a random target, resume it afterwards.
    Pause,
    /// Split the targets into two random non-empty halves, heal afterwards.
    Partition,
    /// Isolate a random target, heal afterwards.
    Isolate,
    /// Step a random target's clock by up to ±`clock_jump_max`, step it back afterwards.
    ClockJump,
    /// Add `latency_spike` to every message for the duration.
    LatencySpike,
    /// Add `loss_burst` loss to every link for the duration.
    LossBurst,
}

impl NemesisKind {
    /// Every kind, in documentation order.
    pub const ALL: [NemesisKind; 7] = [
        NemesisKind::Crash,
        NemesisKind::Pause,
        NemesisKind::Partition,
        NemesisKind::Isolate,
        NemesisKind::ClockJump,
        NemesisKind::LatencySpike,
        NemesisKind::LossBurst,
    ];
}

/// The random nemesis: every `interval` it injects one fault of a random kind on random
/// targets, and undoes it after `duration`. Faults do not overlap: the next wait starts when
/// the previous fault is undone.
#[derive(Clone, Debug, PartialEq)]
pub struct NemesisConfig {
    /// Kinds to draw from (uniformly).
    pub kinds: Vec<NemesisKind>,
    /// Wait before each fault.
    pub interval: DurationDist,
    /// How long each fault lasts.
    pub duration: DurationDist,
    /// Nodes the nemesis may touch.
    pub targets: Vec<NodeId>,
    /// No fault starts before this time.
    pub start: SimTime,
    /// No fault starts after this time; every fault is undone by then (a quiet phase follows).
    pub stop: SimTime,
    /// Largest clock step for `clock-jump`.
    pub clock_jump_max: Duration,
    /// Extra latency for `latency-spike`.
    pub latency_spike: Duration,
    /// Extra loss for `loss-burst`.
    pub loss_burst: f64,
}
