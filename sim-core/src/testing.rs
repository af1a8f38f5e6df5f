//! Testing a node one handler call at a time, and reading a run's results strictly.
//!
//! # The harness
//!
//! A [`Harness`] holds one node under test inside a real engine, with named placeholder peers
//! around it, so that [`NodeId`]s, [`Ctx::name`] and
//! [`Ctx::cluster_nodes`] answer as in a run. A test feeds the node
//! one event — [`start`](Harness::start), [`deliver`](Harness::deliver), a timer
//! ([`fire`](Harness::fire), [`fire_next`](Harness::fire_next),
//! [`advance`](Harness::advance)), a [`crash_and_restart`](Harness::crash_and_restart) — and
//! gets back the exact list of [`Effect`]s the node performed, in order, to assert whole (as
//! openraft's engine tests do):
//!
//! ```
//! use sim_core::testing::{Effect, Harness};
//! use sim_core::*;
//!
//! #[derive(Clone, Debug, PartialEq)]
//! enum Msg { Ping, Pong }
//! impl Labeled for Msg {
//!     fn label(&self) -> &'static str { match self { Msg::Ping => "ping", Msg::Pong => "pong" } }
//! }
//! #[derive(Clone, Debug, PartialEq)]
//! struct Tick;
//! impl Labeled for Tick { fn label(&self) -> &'static str { "tick" } }
//! struct P;
//! impl Protocol for P { type Msg = Msg; type Timer = Tick; type Durable = u64; }
//!
//! /// Answers pings, counting them durably; ticks every second.
//! struct Echo;
//! impl Node<P> for Echo {
//!     fn on_start(&mut self, ctx: &mut Ctx<'_, P>) {
//!         ctx.set_timer(Duration::from_secs(1), Tick);
//!     }
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, P>, from: NodeId, msg: Msg) {
//!         if msg == Msg::Ping {
//!             let served = ctx.storage().get("served").copied().unwrap_or(0) + 1;
//!             ctx.storage().put_synced("served", served);
//!             ctx.send(from, Msg::Pong);
//!         }
//!     }
//!     fn on_timer(&mut self, ctx: &mut Ctx<'_, P>, _: Tick) {
//!         ctx.count("ticks", 1);
//!     }
//! }
//!
//! let mut h = Harness::<P>::builder(7)
//!     .node("echo1", "echo", || Box::new(Echo))
//!     .peer("client1", "clients")
//!     .build()
//!     .unwrap();
//! let client = h.peer("client1");
//!
//! let fx = h.start();
//! let tick = fx.timer_id(&Tick);
//! assert_eq!(fx, [Effect::SetTimer { id: tick, after: Duration::from_secs(1), timer: Tick }]);
//!
//! assert_eq!(
//!     h.deliver(client, Msg::Ping),
//!     [
//!         Effect::Put { key: "served".into(), value: 1 },
//!         Effect::Sync,
//!         Effect::Send { to: client, msg: Msg::Pong },
//!     ]
//! );
//!
//! // The tick fires at its due time; the harness's clock moves there.
//! assert_eq!(h.fire_next(), [Effect::Count { name: "ticks", n: 1 }]);
//! assert_eq!(h.now(), SimTime(1_000_000_000));
//!
//! // A crash keeps what was synced; the node is rebuilt from its factory.
//! h.crash_and_restart();
//! assert_eq!(h.storage().get("served"), Some(&1));
//! ```
//!
//! What the harness does not do: deliver messages. What the node sends is recorded as
//! [`Effect::Send`] and goes nowhere; the test decides what arrives, and from whom. Time moves
//! only when the test says so (a timer it fires, [`advance`](Harness::advance)), and only
//! forward.
//!
//! Effects are recorded at the [`Ctx`] → engine boundary: one effect per call
//! the node made (an annotation is recorded even when its value did not change, although the
//! trace records only changes), plus the engine's own [`Effect::Violation`]s (a send to an
//! unknown node, completing an operation that was not open). A normal run records nothing:
//! each `Ctx` method tests one flag, and trace hashes do not depend on it.
//!
//! # Strict reads
//!
//! [`Metrics::counter`](crate::Metrics::counter) reads an unknown counter as 0, which suits a
//! report but lets a test that checks "no lease was lost" pass whatever the counter is called.
//! In tests, read through [`expect_counter`], [`expect_annotation`] and [`expect_metric`]:
//! a name that is not there panics with a message that names it and lists the names that
//! are. [`Metrics::try_counter`](crate::Metrics::try_counter) and
//! [`Simulation::annotation`] are the non-panicking forms.
//!
//! ```
//! # use sim_core::*;
//! # #[derive(Clone, Debug)] struct M; impl Labeled for M { fn label(&self) -> &'static str { "m" } }
//! # struct P; impl Protocol for P { type Msg = M; type Timer = M; type Durable = u64; }
//! # struct Leader;
//! # impl Node<P> for Leader {
//! #     fn on_start(&mut self, ctx: &mut Ctx<'_, P>) { ctx.annotate("role", "leader"); ctx.count("elections", 1); }
//! #     fn on_message(&mut self, _: &mut Ctx<'_, P>, _: NodeId, _: M) {}
//! # }
//! use sim_core::testing::{expect_annotation, expect_counter};
//!
//! let mut sim = SimBuilder::<P>::new(1)
//!     .node("kv1", "kv", "z", Clock::new(0, 0.0), Box::new(|| Box::new(Leader)))
//!     .build()
//!     .unwrap();
//! sim.run();
//! let kv1 = NodeId(0);
//! assert_eq!(expect_counter(&sim, kv1, "elections"), 1);
//! assert_eq!(expect_annotation(&sim, kv1, "role"), "leader");
//! // A misspelt name fails loudly instead of reading as 0 or "":
//! let read = std::panic::AssertUnwindSafe(|| expect_counter(&sim, kv1, "election"));
//! let panic = std::panic::catch_unwind(read).unwrap_err();
//! assert_eq!(
//!     panic.downcast_ref::<String>().unwrap(),
//!     r#"no counter "election" on node kv1 (#0); its counters: elections"#
//! );
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;

use crate::clock::{Clock, LocalTime};
use crate::fault::FaultAction;
use crate::history::{OpCall, OpId};
use crate::invariant::Invariant;
use crate::metrics::{Gauge, Percentiles};
use crate::node::{Ctx, Node, NodeId, Protocol, TimerId};
use crate::sim::{BuildError, NodeStatus, SimBuilder, Simulation};
use crate::storage::{Storage, StorageOp};
use crate::time::{Duration, SimTime};
use crate::trace::{OpPhase, TraceLevel};

// ----- effects ---------------------------------------------------------------------------------

/// One thing a node did through its [`Ctx`], as a [`Harness`] records it. There is
/// a variant for every effect a `Ctx` offers; reads (the clock, the random stream, storage
/// reads, names) are not effects.
///
/// `PartialEq` compares every field, so a test can `assert_eq!` a whole list; it needs the
/// protocol's message, timer and durable types to be `PartialEq`.
pub enum Effect<P: Protocol> {
    /// [`Ctx::send`]: `msg` to `to`.
    Send {
        /// The addressee.
        to: NodeId,
        /// The message.
        msg: P::Msg,
    },
    /// [`Ctx::set_timer`]: `timer` in `after` (local time); `id` is
    /// what the call returned.
    SetTimer {
        /// The new timer's id (take it from the list with [`Effects::timer_id`]).
        id: TimerId,
        /// When it is due, on the node's oscillator.
        after: Duration,
        /// Its payload.
        timer: P::Timer,
    },
    /// [`Ctx::reset_timer`]: timer `id` moved to `after` from now.
    ResetTimer {
        /// The timer moved.
        id: TimerId,
        /// Its new delay, on the node's oscillator.
        after: Duration,
        /// What the call returned: the timer's id from now on (the same unless it moved
        /// earlier), or `None` if it was no longer pending.
        new_id: Option<TimerId>,
    },
    /// [`Ctx::cancel_timer`].
    CancelTimer {
        /// The timer cancelled (it may have fired already: then nothing happened).
        id: TimerId,
    },
    /// [`Storage::put`] (and the first half of [`Storage::put_synced`]).
    Put {
        /// The key.
        key: String,
        /// The value written.
        value: P::Durable,
    },
    /// [`Storage::delete`].
    Delete {
        /// The key.
        key: String,
    },
    /// [`Storage::log_append`]: `value` appended at log position `pos`.
    LogAppend {
        /// The position it went to (the log's end before the call).
        pos: u64,
        /// The value.
        value: P::Durable,
    },
    /// [`Storage::log_truncate`]: every position from `from` on cut (recorded even when there
    /// was nothing to cut).
    LogTruncate {
        /// The first position cut.
        from: u64,
    },
    /// [`Storage::log_discard_before`]: every position below `before` cut (recorded even when
    /// there was nothing to cut).
    LogDiscard {
        /// The new start of the log.
        before: u64,
    },
    /// [`Storage::sync`]: every write so far made durable.
    Sync,
    /// [`Ctx::annotate`], with the value as the node's `Display` wrote it.
    Annotate {
        /// The annotation's key.
        key: &'static str,
        /// Its new value, as text.
        value: String,
    },
    /// [`Ctx::count`].
    Count {
        /// The counter.
        name: &'static str,
        /// What was added.
        n: u64,
    },
    /// [`Ctx::gauge`].
    Gauge {
        /// The gauge.
        name: &'static str,
        /// Its new value.
        value: f64,
    },
    /// [`Ctx::observe`].
    Observe {
        /// The histogram.
        name: &'static str,
        /// The value recorded.
        value: u64,
    },
    /// [`Ctx::invoke`]: a client operation began.
    Invoke {
        /// The id the call returned.
        op: OpId,
        /// What was asked.
        call: OpCall,
    },
    /// [`Ctx::complete`]: a client operation ended.
    Complete {
        /// The operation.
        op: OpId,
        /// Ok, fail or info.
        status: OpPhase,
        /// The value returned, if any.
        result: Option<i64>,
    },
    /// An invariant broke: reported by the node ([`Ctx::violation`]),
    /// or by the engine when the node misused the API (see [`crate::invariant::engine`]).
    Violation {
        /// Which invariant.
        invariant: Invariant,
        /// What was seen (without the invariant's title).
        detail: String,
    },
}

impl<P: Protocol> Effect<P> {
    /// Whether this effect only reports on the node (an annotation, a counter, a gauge, a
    /// histogram value) rather than acting on the world: what
    /// [`Effects::without_telemetry`] leaves out.
    pub fn is_telemetry(&self) -> bool {
        match self {
            Effect::Annotate { .. }
            | Effect::Count { .. }
            | Effect::Gauge { .. }
            | Effect::Observe { .. } => true,
            Effect::Send { .. }
            | Effect::SetTimer { .. }
            | Effect::ResetTimer { .. }
            | Effect::CancelTimer { .. }
            | Effect::Put { .. }
            | Effect::Delete { .. }
            | Effect::LogAppend { .. }
            | Effect::LogTruncate { .. }
            | Effect::LogDiscard { .. }
            | Effect::Sync
            | Effect::Invoke { .. }
            | Effect::Complete { .. }
            | Effect::Violation { .. } => false,
        }
    }

    fn from_storage(op: StorageOp<P::Durable>) -> Self {
        match op {
            StorageOp::Put { key, value } => Effect::Put { key, value },
            StorageOp::Delete { key } => Effect::Delete { key },
            StorageOp::LogAppend { pos, value } => Effect::LogAppend { pos, value },
            StorageOp::LogTruncate { from } => Effect::LogTruncate { from },
            StorageOp::LogDiscard { before } => Effect::LogDiscard { before },
            StorageOp::Sync => Effect::Sync,
        }
    }
}

// Written out rather than derived: a derive would ask `P` itself (a marker type) for `Clone`,
// `Debug` and `PartialEq` instead of its message, timer and durable types.

impl<P: Protocol> Clone for Effect<P> {
    fn clone(&self) -> Self {
        match self {
            Effect::Send { to, msg } => Effect::Send {
                to: *to,
                msg: msg.clone(),
            },
            Effect::SetTimer { id, after, timer } => Effect::SetTimer {
                id: *id,
                after: *after,
                timer: timer.clone(),
            },
            Effect::ResetTimer { id, after, new_id } => Effect::ResetTimer {
                id: *id,
                after: *after,
                new_id: *new_id,
            },
            Effect::CancelTimer { id } => Effect::CancelTimer { id: *id },
            Effect::Put { key, value } => Effect::Put {
                key: key.clone(),
                value: value.clone(),
            },
            Effect::Delete { key } => Effect::Delete { key: key.clone() },
            Effect::LogAppend { pos, value } => Effect::LogAppend {
                pos: *pos,
                value: value.clone(),
            },
            Effect::LogTruncate { from } => Effect::LogTruncate { from: *from },
            Effect::LogDiscard { before } => Effect::LogDiscard { before: *before },
            Effect::Sync => Effect::Sync,
            Effect::Annotate { key, value } => Effect::Annotate {
                key,
                value: value.clone(),
            },
            Effect::Count { name, n } => Effect::Count { name, n: *n },
            Effect::Gauge { name, value } => Effect::Gauge {
                name,
                value: *value,
            },
            Effect::Observe { name, value } => Effect::Observe {
                name,
                value: *value,
            },
            Effect::Invoke { op, call } => Effect::Invoke {
                op: *op,
                call: call.clone(),
            },
            Effect::Complete { op, status, result } => Effect::Complete {
                op: *op,
                status: *status,
                result: *result,
            },
            Effect::Violation { invariant, detail } => Effect::Violation {
                invariant: *invariant,
                detail: detail.clone(),
            },
        }
    }
}

impl<P: Protocol> fmt::Debug for Effect<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::Send { to, msg } => f
                .debug_struct("Send")
                .field("to", to)
                .field("msg", msg)
                .finish(),
            Effect::SetTimer { id, after, timer } => f
                .debug_struct("SetTimer")
                .field("id", id)
                .field("after", after)
                .field("timer", timer)
                .finish(),
            Effect::ResetTimer { id, after, new_id } => f
                .debug_struct("ResetTimer")
                .field("id", id)
                .field("after", after)
                .field("new_id", new_id)
                .finish(),
            Effect::CancelTimer { id } => f.debug_struct("CancelTimer").field("id", id).finish(),
            Effect::Put { key, value } => f
                .debug_struct("Put")
                .field("key", key)
                .field("value", value)
                .finish(),
            Effect::Delete { key } => f.debug_struct("Delete").field("key", key).finish(),
            Effect::LogAppend { pos, value } => f
                .debug_struct("LogAppend")
                .field("pos", pos)
                .field("value", value)
                .finish(),
            Effect::LogTruncate { from } => {
                f.debug_struct("LogTruncate").field("from", from).finish()
            }
            Effect::LogDiscard { before } => f
                .debug_struct("LogDiscard")
                .field("before", before)
                .finish(),
            Effect::Sync => f.write_str("Sync"),
            Effect::Annotate { key, value } => f
                .debug_struct("Annotate")
                .field("key", key)
                .field("value", value)
                .finish(),
            Effect::Count { name, n } => f
                .debug_struct("Count")
                .field("name", name)
                .field("n", n)
                .finish(),
            Effect::Gauge { name, value } => f
                .debug_struct("Gauge")
                .field("name", name)
                .field("value", value)
                .finish(),
            Effect::Observe { name, value } => f
                .debug_struct("Observe")
                .field("name", name)
                .field("value", value)
                .finish(),
            Effect::Invoke { op, call } => f
                .debug_struct("Invoke")
                .field("op", op)
                .field("call", call)
                .finish(),
            Effect::Complete { op, status, result } => f
                .debug_struct("Complete")
                .field("op", op)
                .field("status", status)
                .field("result", result)
                .finish(),
            Effect::Violation { invariant, detail } => f
                .debug_struct("Violation")
                .field("invariant", &invariant.name)
                .field("detail", detail)
                .finish(),
        }
    }
}

impl<P: Protocol> PartialEq for Effect<P>
where
    P::Msg: PartialEq,
    P::Timer: PartialEq,
    P::Durable: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        // Exhaustive over `self`: a new variant does not compile until it is compared here.
        match self {
            Effect::Send { to, msg } => {
                matches!(other, Effect::Send { to: t, msg: m } if to == t && msg == m)
            }
            Effect::SetTimer { id, after, timer } => matches!(
                other,
                Effect::SetTimer { id: i, after: a, timer: t } if id == i && after == a && timer == t
            ),
            Effect::ResetTimer { id, after, new_id } => matches!(
                other,
                Effect::ResetTimer { id: i, after: a, new_id: n }
                    if id == i && after == a && new_id == n
            ),
            Effect::CancelTimer { id } => matches!(other, Effect::CancelTimer { id: i } if id == i),
            Effect::Put { key, value } => {
                matches!(other, Effect::Put { key: k, value: v } if key == k && value == v)
            }
            Effect::Delete { key } => matches!(other, Effect::Delete { key: k } if key == k),
            Effect::LogAppend { pos, value } => {
                matches!(other, Effect::LogAppend { pos: p, value: v } if pos == p && value == v)
            }
            Effect::LogTruncate { from } => {
                matches!(other, Effect::LogTruncate { from: f } if from == f)
            }
            Effect::LogDiscard { before } => {
                matches!(other, Effect::LogDiscard { before: b } if before == b)
            }
            Effect::Sync => matches!(other, Effect::Sync),
            Effect::Annotate { key, value } => {
                matches!(other, Effect::Annotate { key: k, value: v } if key == k && value == v)
            }
            Effect::Count { name, n } => {
                matches!(other, Effect::Count { name: m, n: k } if name == m && n == k)
            }
            Effect::Gauge { name, value } => {
                matches!(other, Effect::Gauge { name: m, value: v } if name == m && value == v)
            }
            Effect::Observe { name, value } => {
                matches!(other, Effect::Observe { name: m, value: v } if name == m && value == v)
            }
            Effect::Invoke { op, call } => {
                matches!(other, Effect::Invoke { op: o, call: c } if op == o && call == c)
            }
            Effect::Complete { op, status, result } => matches!(
                other,
                Effect::Complete { op: o, status: s, result: r }
                    if op == o && status == s && result == r
            ),
            Effect::Violation { invariant, detail } => matches!(
                other,
                Effect::Violation { invariant: i, detail: d } if invariant == i && detail == d
            ),
        }
    }
}

/// The effects of one harness call, in the order the node performed them.
///
/// Compares equal to a `Vec`, an array or a slice of [`Effect`]s, so a test asserts the whole
/// list at once; dereferences to a slice for everything else (`len`, `iter`, indexing).
pub struct Effects<P: Protocol>(Vec<Effect<P>>);

impl<P: Protocol> Effects<P> {
    /// The effects as a vector.
    pub fn into_vec(self) -> Vec<Effect<P>> {
        self.0
    }

    /// Every message sent: (addressee, message), in order.
    pub fn sends(&self) -> Vec<(NodeId, &P::Msg)> {
        self.0
            .iter()
            .filter_map(|e| match e {
                Effect::Send { to, msg } => Some((*to, msg)),
                _ => None,
            })
            .collect()
    }

    /// Every timer set: (id, delay, payload), in order.
    pub fn timers(&self) -> Vec<(TimerId, Duration, &P::Timer)> {
        self.0
            .iter()
            .filter_map(|e| match e {
                Effect::SetTimer { id, after, timer } => Some((*id, *after, timer)),
                _ => None,
            })
            .collect()
    }

    /// The id of the last timer set with payload `timer`, to write the expected
    /// [`Effect::SetTimer`] and to fire or follow that timer later.
    ///
    /// # Panics
    ///
    /// If no timer with that payload was set, listing the timers that were.
    pub fn timer_id(&self, timer: &P::Timer) -> TimerId
    where
        P::Timer: PartialEq,
    {
        let set = self.timers();
        match set.iter().rev().find(|(_, _, t)| *t == timer) {
            Some((id, _, _)) => *id,
            None => panic!("no timer {timer:?} was set; the timers set were: {set:?}"),
        }
    }

    /// The effects that act on the world: everything but annotations, counters, gauges and
    /// histogram values (see [`Effect::is_telemetry`]).
    pub fn without_telemetry(&self) -> Effects<P> {
        Effects(
            self.0
                .iter()
                .filter(|e| !e.is_telemetry())
                .cloned()
                .collect(),
        )
    }
}

impl<P: Protocol> Clone for Effects<P> {
    fn clone(&self) -> Self {
        Effects(self.0.clone())
    }
}

impl<P: Protocol> fmt::Debug for Effects<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl<P: Protocol> Deref for Effects<P> {
    type Target = [Effect<P>];
    fn deref(&self) -> &[Effect<P>] {
        &self.0
    }
}

impl<P: Protocol> IntoIterator for Effects<P> {
    type Item = Effect<P>;
    type IntoIter = std::vec::IntoIter<Effect<P>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, P: Protocol> IntoIterator for &'a Effects<P> {
    type Item = &'a Effect<P>;
    type IntoIter = std::slice::Iter<'a, Effect<P>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<P: Protocol> PartialEq for Effects<P>
where
    Effect<P>: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<P: Protocol> PartialEq<Vec<Effect<P>>> for Effects<P>
where
    Effect<P>: PartialEq,
{
    fn eq(&self, other: &Vec<Effect<P>>) -> bool {
        self.0 == *other
    }
}

impl<P: Protocol> PartialEq<[Effect<P>]> for Effects<P>
where
    Effect<P>: PartialEq,
{
    fn eq(&self, other: &[Effect<P>]) -> bool {
        self.0 == other
    }
}

impl<P: Protocol, const N: usize> PartialEq<[Effect<P>; N]> for Effects<P>
where
    Effect<P>: PartialEq,
{
    fn eq(&self, other: &[Effect<P>; N]) -> bool {
        self.0 == other
    }
}

/// What the engine keeps while a harness records: the node under test and its effects so far.
pub(crate) struct Recorder<P: Protocol> {
    /// The node whose effects are recorded (the only one that acts in a harness).
    pub(crate) node: NodeId,
    /// Its effects since the harness call began.
    pub(crate) effects: Vec<Effect<P>>,
}

impl<P: Protocol> Recorder<P> {
    pub(crate) fn new(node: NodeId) -> Self {
        Recorder {
            node,
            effects: Vec::new(),
        }
    }

    /// Moves the storage writes waiting in `storage`'s journal to the effects: they happened
    /// before whatever is recorded next.
    pub(crate) fn take_storage(&mut self, storage: &mut Storage<P::Durable>) {
        self.effects.extend(
            storage
                .drain_journal()
                .into_iter()
                .map(Effect::from_storage),
        );
    }
}

// ----- the harness -----------------------------------------------------------------------------

/// A configuration of the harness's nodes that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HarnessError {
    /// No node under test was added.
    #[error("harness: no node under test (add one with `node`)")]
    NoNode,
    /// Two nodes under test were added.
    #[error("harness: two nodes under test, \"{0}\" and \"{1}\" (add all but one as peers)")]
    TwoNodes(String, String),
    /// The engine refused the nodes (two share a name).
    #[error("harness: {0}")]
    Build(#[from] BuildError),
}

/// A placeholder peer: it has a name, a cluster and an id, and does nothing.
struct Placeholder;

impl<P: Protocol> Node<P> for Placeholder {
    fn on_message(&mut self, _: &mut Ctx<'_, P>, _: NodeId, _: P::Msg) {}
}

/// The factory of the node under test, kept until `build`.
type Factory<P> = Box<dyn Fn() -> Box<dyn Node<P>>>;

/// One entry of a harness's node list, in id order.
enum Member<P: Protocol> {
    UnderTest {
        name: String,
        cluster: String,
        factory: Factory<P>,
    },
    Peer {
        name: String,
        cluster: String,
    },
}

/// Configures a [`Harness`]: the node under test, its peers (ids are given in the order nodes
/// are added, as in [`SimBuilder`]), its clock.
pub struct HarnessBuilder<P: Protocol> {
    seed: u64,
    clock: Clock,
    members: Vec<Member<P>>,
}

impl<P: Protocol> HarnessBuilder<P> {
    /// A harness whose node draws from the random stream of `seed`, with an exact clock (no
    /// offset, no drift) and no nodes yet.
    pub fn new(seed: u64) -> Self {
        HarnessBuilder {
            seed,
            clock: Clock::new(0, 0.0),
            members: Vec::new(),
        }
    }

    /// Adds the node under test (exactly one), built by `factory` at
    /// [`start`](Harness::start) and again at every restart. Accepts a model's
    /// [`NodeFactory`](crate::NodeFactory) as it is.
    pub fn node(
        mut self,
        name: impl Into<String>,
        cluster: impl Into<String>,
        factory: impl Fn() -> Box<dyn Node<P>> + 'static,
    ) -> Self {
        self.members.push(Member::UnderTest {
            name: name.into(),
            cluster: cluster.into(),
            factory: Box::new(factory),
        });
        self
    }

    /// Adds a placeholder peer: a node that does nothing, so that the node under test can
    /// name it, find it in its cluster and be sent messages from it.
    pub fn peer(mut self, name: impl Into<String>, cluster: impl Into<String>) -> Self {
        self.members.push(Member::Peer {
            name: name.into(),
            cluster: cluster.into(),
        });
        self
    }

    /// The clock of the node under test (default: exact, `Clock::new(0, 0.0)`).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Builds the harness; the node under test is not started yet (see
    /// [`Harness::start`]).
    pub fn build(self) -> Result<Harness<P>, HarnessError> {
        let mut under_test: Option<(NodeId, String)> = None;
        // Runs as long as a test could want, well short of where time saturates.
        let mut builder = SimBuilder::<P>::new(self.seed)
            .duration(Duration::from_secs(1_000_000_000))
            .trace_level(TraceLevel::Full);
        for (i, member) in self.members.into_iter().enumerate() {
            let id = NodeId(i as u32);
            builder = match member {
                Member::UnderTest {
                    name,
                    cluster,
                    factory,
                } => {
                    if let Some((_, first)) = &under_test {
                        return Err(HarnessError::TwoNodes(first.clone(), name));
                    }
                    under_test = Some((id, name.clone()));
                    builder.node(name, cluster, "z", self.clock, factory)
                }
                Member::Peer { name, cluster } => builder.node(
                    name,
                    cluster,
                    "z",
                    Clock::new(0, 0.0),
                    Box::new(|| Box::new(Placeholder)),
                ),
            };
        }
        let (node, _) = under_test.ok_or(HarnessError::NoNode)?;
        let mut sim = builder.build()?;
        sim.harness_setup(node);
        Ok(Harness {
            sim,
            node,
            started: false,
        })
    }
}

/// One node under test in a real engine, driven one handler call at a time; every call
/// returns the node's [`Effects`]. See the [module documentation](self) for an example.
///
/// Time starts at 0 and moves only forward: to a timer's due time when one fires, or by
/// [`advance`](Harness::advance). Messages the node sends are recorded and never delivered.
pub struct Harness<P: Protocol> {
    sim: Simulation<P>,
    node: NodeId,
    started: bool,
}

impl<P: Protocol> Harness<P> {
    /// Starts configuring a harness whose node draws from the random stream of `seed`.
    pub fn builder(seed: u64) -> HarnessBuilder<P> {
        HarnessBuilder::new(seed)
    }

    /// The id of the node under test.
    pub fn id(&self) -> NodeId {
        self.node
    }

    /// The id of the node (a peer, or the node under test) called `name`.
    ///
    /// # Panics
    ///
    /// If there is none, listing the names there are.
    pub fn peer(&self, name: &str) -> NodeId {
        match self.sim.node_by_name(name) {
            Some(id) => id,
            None => panic!(
                "harness: no node named {name:?}; the nodes are: {}",
                self.sim.node_names().join(", ")
            ),
        }
    }

    /// The simulation the node lives in: metrics, annotations, the client history,
    /// violations, node names, the trace. Strict readers ([`expect_counter`],
    /// [`expect_annotation`]) take it.
    pub fn sim(&self) -> &Simulation<P> {
        &self.sim
    }

    /// True time now.
    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    /// The node's wall clock now (what `ctx.now()` reads).
    pub fn local_time(&self) -> LocalTime {
        self.sim.local_time(self.node)
    }

    /// The node's durable storage (including unsynced writes).
    pub fn storage(&self) -> &Storage<P::Durable> {
        // The node exists: the harness built it.
        self.sim
            .storage(self.node)
            .unwrap_or_else(|| unreachable!("the node under test exists"))
    }

    /// The node's durable storage, to seed before [`start`](Harness::start) (or a restart) so
    /// that recovery can be tested. Writes made here are not effects; sync them
    /// ([`Storage::put_synced`]) if they must survive a crash.
    pub fn storage_mut(&mut self) -> &mut Storage<P::Durable> {
        self.sim.harness_storage_mut(self.node)
    }

    /// The pending timers of the node: (id, true time due, payload), by due time (ties by
    /// id; [`fire_next`](Harness::fire_next) fires ties in the order they were set).
    pub fn timers(&self) -> Vec<(TimerId, SimTime, &P::Timer)> {
        self.sim.harness_timers(self.node)
    }

    /// Starts the node: builds it from its factory and calls `on_start`.
    ///
    /// # Panics
    ///
    /// If it was started already (use [`crash_and_restart`](Harness::crash_and_restart)).
    pub fn start(&mut self) -> Effects<P> {
        assert!(
            !self.started,
            "harness: the node is started already (crash_and_restart rebuilds it)"
        );
        self.started = true;
        self.record(|sim, node| sim.harness_start(node))
    }

    /// Delivers `msg` from `from` now: calls `on_message`.
    ///
    /// # Panics
    ///
    /// If the node is not running (not started, or crashed).
    pub fn deliver(&mut self, from: NodeId, msg: P::Msg) -> Effects<P> {
        self.expect_running("deliver");
        self.record(|sim, node| sim.harness_deliver(from, node, msg))
    }

    /// Fires the pending timer `id` now, or at its due time if that is later (time moves
    /// there). Timers due before it are not fired: they stay pending and, being overdue,
    /// fire at the then current time on the next [`fire_next`](Harness::fire_next) or
    /// [`advance`](Harness::advance).
    ///
    /// # Panics
    ///
    /// If the node is not running, or `id` is not pending (it fired, was cancelled, or was
    /// set before a crash), listing the timers that are.
    pub fn fire(&mut self, id: TimerId) -> Effects<P> {
        self.expect_running("fire");
        let mut fired = false;
        let effects = self.record(|sim, node| fired = sim.harness_fire(node, id));
        assert!(
            fired,
            "harness: timer {id:?} is not pending (it fired, was cancelled, or was set before \
             a crash); pending: {:?}",
            self.timers()
        );
        effects
    }

    /// Fires the node's next pending timer, in due order (ties in the order they were set),
    /// moving time to its due time (or not at all if it is overdue).
    ///
    /// # Panics
    ///
    /// If the node is not running or has no pending timer.
    pub fn fire_next(&mut self) -> Effects<P> {
        self.expect_running("fire_next");
        assert!(
            !self.timers().is_empty(),
            "harness: fire_next, but the node has no pending timer"
        );
        self.record(|sim, node| while sim.harness_step(node, SimTime::MAX) == Some(false) {})
    }

    /// Moves time forward by `d`, firing every timer that comes due on the way, in order.
    pub fn advance(&mut self, d: Duration) -> Effects<P> {
        let to = self.now() + d;
        self.advance_to(to)
    }

    /// Moves time forward to `at` (not back: an earlier `at` only fires what is overdue),
    /// firing every timer due by then, in order. Works while the node is down: its timers
    /// died with it, so nothing fires.
    pub fn advance_to(&mut self, at: SimTime) -> Effects<P> {
        self.record(|sim, node| {
            while sim.harness_step(node, at).is_some() {}
            sim.harness_set_now(at);
        })
    }

    /// Crashes the node as the engine does: the object is dropped, unsynced writes are
    /// undone, its timers and annotations die. It stays down until
    /// [`restart`](Harness::restart).
    ///
    /// # Panics
    ///
    /// If the node is not running.
    pub fn crash(&mut self) {
        self.expect_running("crash");
        self.sim.apply(FaultAction::Crash(self.node));
    }

    /// Restarts the crashed node: a fresh object from the factory, `on_start` recovering from
    /// what storage kept.
    ///
    /// # Panics
    ///
    /// If the node is not down.
    pub fn restart(&mut self) -> Effects<P> {
        assert!(
            self.started && self.sim.status(self.node) == Some(NodeStatus::Down),
            "harness: restart, but the node is not down (crash it first)"
        );
        let id = self.node;
        self.record(|sim, _| sim.apply(FaultAction::Restart(id)))
    }

    /// [`crash`](Harness::crash), then [`restart`](Harness::restart), at the same instant.
    pub fn crash_and_restart(&mut self) -> Effects<P> {
        self.crash();
        self.restart()
    }

    /// Steps the node's wall clock by `delta_ns` now (an NTP jump); timers and the monotonic
    /// clock do not move.
    pub fn jump_clock(&mut self, delta_ns: i64) {
        self.sim.apply(FaultAction::ClockJump {
            node: self.node,
            delta_ns,
        });
    }

    /// Sets the drift of the node's clock from now on, in parts per million (timers set from
    /// now on follow it).
    pub fn set_drift(&mut self, ppm: f64) {
        self.sim.apply(FaultAction::Drift {
            node: self.node,
            ppm,
        });
    }

    fn expect_running(&self, what: &str) {
        let status = self.sim.status(self.node);
        assert!(
            self.started && status == Some(NodeStatus::Up),
            "harness: {what}, but the node is not running ({})",
            if self.started {
                "it crashed: restart it"
            } else {
                "call start first"
            }
        );
    }

    fn record(&mut self, call: impl FnOnce(&mut Simulation<P>, NodeId)) -> Effects<P> {
        self.sim.harness_begin();
        call(&mut self.sim, self.node);
        Effects(self.sim.harness_end())
    }
}

// ----- strict reads ----------------------------------------------------------------------------

/// A node's name and id for messages (`kv1 (#0)`).
fn describe<P: Protocol>(sim: &Simulation<P>, node: NodeId) -> String {
    match sim.node_info(node) {
        Some(info) => format!("{} (#{})", info.name, node.0),
        None => format!("#{} (no such node; {} nodes)", node.0, sim.node_count()),
    }
}

/// `names` joined with commas, or `none`.
fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// The counter `name` of `node`.
///
/// # Panics
///
/// If `node` never counted `name` (not even `ctx.count(name, 0)`), naming it and listing the
/// node's counters and the nodes that do have one by that name. A model that wants "never
/// happened" to be readable declares the counter at 0 in `on_start`.
pub fn expect_counter<P: Protocol>(sim: &Simulation<P>, node: NodeId, name: &str) -> u64 {
    if let Some(v) = sim.metrics().try_counter(node, name) {
        return v;
    }
    let own: Vec<&str> = sim
        .metrics()
        .counters()
        .filter(|&(n, _, _)| n == node)
        .map(|(_, k, _)| k)
        .collect();
    let others: Vec<String> = sim
        .metrics()
        .counters()
        .filter(|&(_, k, _)| k == name)
        .map(|(n, _, _)| describe(sim, n))
        .collect();
    let elsewhere = if others.is_empty() {
        String::new()
    } else {
        format!("; nodes with a counter {name:?}: {}", others.join(", "))
    };
    panic!(
        "no counter {name:?} on node {}; its counters: {}{elsewhere}",
        describe(sim, node),
        list(&own)
    )
}

/// The latest value of `node`'s annotation `key`.
///
/// # Panics
///
/// If `node` has no annotation `key` (never set, or cleared by a crash), naming it and
/// listing the node's annotation keys.
pub fn expect_annotation<'s, P: Protocol>(
    sim: &'s Simulation<P>,
    node: NodeId,
    key: &str,
) -> &'s str {
    if let Some(v) = sim.annotation(node, key) {
        return v;
    }
    let keys: Vec<&str> = sim
        .annotations(node)
        .map(|a| a.keys().copied().collect())
        .unwrap_or_default();
    let down = if sim.status(node) == Some(NodeStatus::Down) {
        " (the node is down: a crash clears its annotations)"
    } else {
        ""
    };
    panic!(
        "no annotation {key:?} on node {}{down}; its annotations: {}",
        describe(sim, node),
        list(&keys)
    )
}

/// The gauge `name` of `node`.
///
/// # Panics
///
/// If `node` never set `name`, naming it and listing the node's gauges.
pub fn expect_gauge<'s, P: Protocol>(
    sim: &'s Simulation<P>,
    node: NodeId,
    name: &str,
) -> &'s Gauge {
    if let Some(g) = sim.metrics().try_gauge(node, name) {
        return g;
    }
    let own: Vec<&str> = sim
        .metrics()
        .gauges()
        .filter(|&(n, _, _)| n == node)
        .map(|(_, k, _)| k)
        .collect();
    panic!(
        "no gauge {name:?} on node {}; its gauges: {}",
        describe(sim, node),
        list(&own)
    )
}

/// The percentiles of `node`'s histogram `name`.
///
/// # Panics
///
/// If `node` never observed a value for `name`, naming it and listing the node's histograms.
pub fn expect_histogram<P: Protocol>(sim: &Simulation<P>, node: NodeId, name: &str) -> Percentiles {
    if let Some(p) = sim.metrics().try_histogram(node, name) {
        return p;
    }
    let own: Vec<&str> = sim
        .metrics()
        .histograms()
        .filter(|&(n, _, _)| n == node)
        .map(|(_, k, _)| k)
        .collect();
    panic!(
        "no histogram {name:?} on node {}; its histograms: {}",
        describe(sim, node),
        list(&own)
    )
}

/// How many names a failed [`expect_metric`] lists before it only counts the rest.
const LISTED_MAX: usize = 40;

/// The metric `name` of a run's metric table (what `[expect]` reads: `sim_models::run`'s
/// summary `metrics`, or `metric_table`).
///
/// # Panics
///
/// If the table has no metric `name`, naming it and listing the known names: those that share
/// its first dotted part (`lost_lease.*` for `lost_lease.c9`) when there are any, otherwise
/// all of them (the first 40 and a count of the rest).
pub fn expect_metric(table: &BTreeMap<String, f64>, name: &str) -> f64 {
    if let Some(v) = table.get(name) {
        return *v;
    }
    let head = name.split(['.', '@']).next().unwrap_or(name);
    let similar: Vec<&str> = table
        .keys()
        .map(String::as_str)
        .filter(|k| k.split(['.', '@']).next() == Some(head))
        .collect();
    let (what, names): (&str, Vec<&str>) = if similar.is_empty() {
        ("known", table.keys().map(String::as_str).collect())
    } else {
        ("similar", similar)
    };
    let shown = &names[..names.len().min(LISTED_MAX)];
    let more = match names.len() - shown.len() {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    panic!(
        "no metric {name:?} in the table ({} metrics); {what}: {}{more}",
        table.len(),
        list(shown)
    )
}

#[cfg(test)]
mod tests;
