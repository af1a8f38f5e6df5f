//! The sans-IO node API: what a simulated process is and the context it acts through.
//!
//! A node is a state machine. The engine calls [`Node::on_start`], [`Node::on_message`] and
//! [`Node::on_timer`]; every effect (send, timers, the local clock, randomness, durable storage,
//! annotations, metrics, client operations) goes through the [`Ctx`] handed in. A node owns no
//! threads, sockets or files, and never sees true time.

use std::fmt::{Debug, Display};

use compact_str::ToCompactString;

use crate::clock::{LocalTime, MonoTime};
use crate::history::{OpCall, OpId};
use crate::invariant::Invariant;
use crate::rng::SimRng;
use crate::sim::Core;
use crate::storage::Storage;
use crate::testing::Effect;
use crate::time::Duration;
use crate::trace::OpPhase;

/// A node's index in its simulation (0-based, in the order nodes were added).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The index as a `usize`, for addressing tables.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Something with a short label for traces and timelines (`"AppendEntries"`, `"ping"`).
pub trait Labeled {
    /// A short, static label naming the variant.
    fn label(&self) -> &'static str;
}

/// The types one simulation runs with: every node in a run shares one message type, one timer
/// type and one durable-value type (enums over all models, so heterogeneous nodes can talk).
pub trait Protocol: 'static {
    /// Messages nodes send each other.
    type Msg: Labeled + Clone + Debug + 'static;
    /// Timer payloads handed back to [`Node::on_timer`].
    type Timer: Labeled + Clone + Debug + 'static;
    /// Values nodes keep in durable storage.
    type Durable: Clone + Debug + 'static;
}

/// A simulated process. Default handlers do nothing, so small models stay small.
pub trait Node<P: Protocol> {
    /// Called once when the node starts, and again after every restart (a fresh object built by
    /// the factory: recover from `ctx.storage()`).
    fn on_start(&mut self, ctx: &mut Ctx<'_, P>) {
        let _ = ctx;
    }

    /// Called when a message from `from` is delivered.
    fn on_message(&mut self, ctx: &mut Ctx<'_, P>, from: NodeId, msg: P::Msg);

    /// Called when a timer set through [`Ctx::set_timer`] fires (and was not cancelled).
    fn on_timer(&mut self, ctx: &mut Ctx<'_, P>, timer: P::Timer) {
        let _ = (ctx, timer);
    }
}

/// A handle on a pending timer, for [`Ctx::cancel_timer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId {
    pub(crate) slot: u32,
    pub(crate) generation: u32,
}

/// The context a node acts through during one handler call.
///
/// Every effect is applied to the engine here. When a test harness ([`crate::testing`])
/// records the node's effects, each method also hands a copy to the recorder (out of line); in
/// a normal run that costs one predictable branch and nothing is copied.
pub struct Ctx<'a, P: Protocol> {
    pub(crate) node: NodeId,
    pub(crate) core: &'a mut Core<P>,
}

impl<P: Protocol> Ctx<'_, P> {
    /// This node's id.
    #[inline]
    pub fn id(&self) -> NodeId {
        self.node
    }

    /// This node's name (e.g. `kv3`).
    pub fn name(&self) -> &str {
        self.core.node_name(self.node)
    }

    /// The node's local wall clock (skewed and drifting; may jump).
    #[inline]
    pub fn now(&self) -> LocalTime {
        self.core.local_time(self.node)
    }

    /// The node's monotonic clock: drifts with the wall clock but never jumps. Measure
    /// timeouts and latencies on it.
    #[inline]
    pub fn monotonic(&self) -> MonoTime {
        self.core.monotonic_time(self.node)
    }

    /// Sends `msg` to `to` over the simulated network (it may be delayed, lost, duplicated or
    /// blocked). Sending to an unknown node is recorded as a violation.
    #[inline]
    pub fn send(&mut self, to: NodeId, msg: P::Msg) {
        if self.core.recording() {
            let msg = &msg;
            self.core.record_with(self.node, || Effect::Send {
                to,
                msg: msg.clone(),
            });
        }
        self.core.send(self.node, to, msg);
    }

    /// Sets a timer that fires after `after` as measured by this node's oscillator.
    #[inline]
    pub fn set_timer(&mut self, after: Duration, timer: P::Timer) -> TimerId {
        let id = self.core.set_timer(self.node, after, timer);
        if self.core.recording() {
            self.core.record_set_timer(self.node, id, after);
        }
        id
    }

    /// Moves a pending timer to fire `after` from now (this node's oscillator), keeping its
    /// payload: the cheap way to push back a timeout on every message. Returns the timer's id
    /// from now on (it changes when the timer moves earlier), or `None` if the timer already
    /// fired or was cancelled, in which case nothing is set.
    #[inline]
    pub fn reset_timer(&mut self, id: TimerId, after: Duration) -> Option<TimerId> {
        let new_id = self.core.reset_timer(self.node, id, after);
        if self.core.recording() {
            let effect = || Effect::ResetTimer { id, after, new_id };
            self.core.record_with(self.node, effect);
        }
        new_id
    }

    /// Cancels a pending timer; cancelling one that fired or was cancelled does nothing.
    #[inline]
    pub fn cancel_timer(&mut self, id: TimerId) {
        if self.core.recording() {
            self.core
                .record_with(self.node, || Effect::CancelTimer { id });
        }
        self.core.cancel_timer(self.node, id);
    }

    /// This node's own random stream (independent of every other purpose).
    #[inline]
    pub fn rng(&mut self) -> &mut SimRng {
        self.core.node_rng(self.node)
    }

    /// This node's durable storage: what survives a crash once synced.
    pub fn storage(&mut self) -> &mut Storage<P::Durable> {
        self.core.storage(self.node)
    }

    /// Annotates this node's state for the timeline (e.g. `("role", "leader")`). Recorded only
    /// when the value changes.
    pub fn annotate(&mut self, key: &'static str, value: impl Display) {
        let value = value.to_compact_string();
        if self.core.recording() {
            let value = &value;
            self.core.record_with(self.node, || Effect::Annotate {
                key,
                value: value.to_string(),
            });
        }
        self.core.annotate(self.node, key, value);
    }

    /// Adds `n` to this node's counter `name`.
    pub fn count(&mut self, name: &'static str, n: u64) {
        if self.core.recording() {
            self.core
                .record_with(self.node, || Effect::Count { name, n });
        }
        self.core.metrics.count(self.node, name, n);
    }

    /// Sets this node's gauge `name`.
    pub fn gauge(&mut self, name: &'static str, value: f64) {
        if self.core.recording() {
            self.core
                .record_with(self.node, || Effect::Gauge { name, value });
        }
        let now = self.core.now;
        self.core.metrics.gauge(now, self.node, name, value);
    }

    /// Records a value (a latency in nanoseconds, a size) in this node's histogram `name`.
    pub fn observe(&mut self, name: &'static str, value: u64) {
        if self.core.recording() {
            self.core
                .record_with(self.node, || Effect::Observe { name, value });
        }
        self.core.metrics.observe(self.node, name, value);
    }

    /// Records that this client invoked an operation; returns the id to complete it with.
    pub fn invoke(&mut self, call: OpCall) -> OpId {
        let op = self.core.invoke(self.node, call);
        if self.core.recording() {
            self.core.record_invoke(self.node, op);
        }
        op
    }

    /// Records the outcome of an operation this client invoked: ok, fail, or info (unknown).
    pub fn complete(&mut self, op: OpId, status: OpPhase, result: Option<i64>) {
        if self.core.recording() {
            let effect = || Effect::Complete { op, status, result };
            self.core.record_with(self.node, effect);
        }
        self.core.complete(self.node, op, status, result);
    }

    /// Reports that this node saw `invariant`, one of its model's named invariants, break;
    /// `detail` says what was seen (the invariant's title is put in front of it in reports).
    /// The run fails and the trace shows where.
    pub fn violation(&mut self, invariant: Invariant, detail: impl Display) {
        self.core
            .violation(self.node, invariant, detail.to_string());
    }

    /// Every node of the cluster named `cluster`, in order (empty if there is none).
    pub fn cluster_nodes(&self, cluster: &str) -> Vec<NodeId> {
        self.core.cluster_nodes(cluster)
    }
}
