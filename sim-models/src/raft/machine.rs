//! What the engine replicates: the [`StateMachine`] trait.
//!
//! Raft orders commands; the state machine gives them meaning. As raft-rs keeps `RawNode` apart
//! from the application, the engine ([`crate::raft::RaftNode`]) never looks inside a command.
//! The split of duties:
//!
//! * **The engine** keeps the log, elects leaders, replicates and commits entries, applies
//!   them in order, remembers each client's answers in its session (§6.3, so a resent request
//!   applies once), answers `NotLeader` on followers, confirms ReadIndex reads (§6.4), and
//!   snapshots the machine with the sessions (§7).
//! * **The machine** is the replicated state and its transitions ([`StateMachine::apply`]);
//!   it speaks the wire families it serves (decodes requests, encodes answers), says which
//!   requests are reads, and does what only a leader may: what it keeps while it leads
//!   ([`StateMachine::on_elected`]), commands it proposes on a heartbeat
//!   ([`StateMachine::on_heartbeat`]) and follow-ups to what it applied
//!   ([`StateMachine::on_applied`]).
//!
//! The machine is a value: a snapshot is a copy of it. What a leader keeps for it lives apart
//! ([`StateMachine::LeaderState`]), made when the server takes office and dropped when it steps
//! down, so followers never hold leader-only state and snapshots never carry it.

use std::fmt::Debug;

use sim_core::{Ctx, NodeId};

use crate::raft::log::Entry;
use crate::raft::msg::RaftMsg;
use crate::raft::replica::Snapshot;
use crate::world::{Durable, Msg, World};

/// A client's request as the engine sees it: the client's sequence numbers and the command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<C> {
    /// The client's sequence number for it; (client, `seq`) identifies it across resends.
    pub seq: u64,
    /// The lowest sequence number the client still has open (§6.3: answers below it may be
    /// forgotten, and requests below it are stale).
    pub first_open: u64,
    /// What the client asks of the machine.
    pub command: C,
}

/// A deterministic state machine Raft replicates, and how its clients reach it.
///
/// `apply` and `apply_proposal` must be functions of the machine and their arguments only (no
/// clock, no randomness): every replica applies the same entries in the same order and must
/// reach the same state. The leader's hooks take the node's [`Ctx`] and may read its clock.
pub trait StateMachine: Clone + Debug + Default + PartialEq + Eq + 'static {
    /// A client's operation: what a request asks and a log entry carries.
    type Command: Clone + Debug + PartialEq + Eq;
    /// What applying a command gives: remembered in the client's session and sent back.
    type Output: Copy + Debug + PartialEq + Eq;
    /// A command the machine proposes itself, on the leader ([`StateMachine::on_heartbeat`]);
    /// no client waits for it.
    type Proposal: Clone + Debug + PartialEq + Eq;
    /// A read the leader may serve without the log, by ReadIndex (§6.4).
    type Query: Copy + Debug;
    /// What the machine keeps on the leader while it leads (the lessor's deadlines).
    type LeaderState: Debug;

    /// The request `msg` carries if it is a request of a family this machine serves;
    /// otherwise `msg`, given back.
    fn decode(msg: Msg) -> Result<Request<Self::Command>, Msg>;
    /// The answer to request `seq`: applied (or read) with `output`.
    fn done(seq: u64, output: Self::Output) -> Msg;
    /// The answer to request `seq`, which asked `command`, from a server that does not lead;
    /// `leader` is the leader it knows of. In the family `command` came in.
    fn not_leader(seq: u64, command: &Self::Command, leader: Option<NodeId>) -> Msg;
    /// The read `command` is, if the leader may serve it without the log.
    fn query(command: &Self::Command) -> Option<Self::Query>;
    /// Serves a read from the state as applied.
    fn read(&self, query: Self::Query) -> Self::Output;

    /// Applies `command` of `client`, committed at log `index` (once per request: the engine's
    /// sessions catch resends).
    fn apply(&mut self, index: u64, client: NodeId, command: &Self::Command) -> Self::Output;
    /// Applies a proposal of the machine's own, committed at log `index`.
    fn apply_proposal(&mut self, index: u64, proposal: &Self::Proposal);

    /// Leader change: this server takes office. Returns what the machine keeps while it leads
    /// (dropped when it steps down).
    fn on_elected(&self, ctx: &mut Ctx<'_, World>) -> Self::LeaderState;
    /// Tick: on each heartbeat, the commands the leader proposes.
    fn on_heartbeat(
        &self,
        leader: &mut Self::LeaderState,
        ctx: &mut Ctx<'_, World>,
    ) -> Vec<Self::Proposal>;
    /// On the leader, after `command` applied for the first time with `output`.
    fn on_applied(
        &self,
        leader: &mut Self::LeaderState,
        ctx: &mut Ctx<'_, World>,
        command: &Self::Command,
        output: Self::Output,
    );
}

/// A state machine whose Raft types are instances in the world registry ([`crate::world`]:
/// `RaftMsg<S>`, `Entry<S>`, `Snapshot<S>`, one line each), and so can run on the engine.
/// Implemented for every such machine; the engine converts through it.
pub trait Registered: StateMachine {
    /// A Raft message as a world message.
    fn wrap(msg: RaftMsg<Self>) -> Msg;
    /// The Raft message `msg` is, or `msg` given back.
    fn unwrap(msg: Msg) -> Result<RaftMsg<Self>, Msg>;
    /// A log entry as a durable value.
    fn store_entry(entry: Entry<Self>) -> Durable;
    /// The log entry `value` is, if it is one.
    fn stored_entry(value: &Durable) -> Option<&Entry<Self>>;
    /// A snapshot as a durable value.
    fn store_snapshot(snapshot: Snapshot<Self>) -> Durable;
    /// The snapshot `value` is, if it is one.
    fn stored_snapshot(value: &Durable) -> Option<&Snapshot<Self>>;
}

impl<S> Registered for S
where
    S: StateMachine,
    RaftMsg<S>: Into<Msg> + TryFrom<Msg, Error = Msg>,
    Entry<S>: Into<Durable>,
    Snapshot<S>: Into<Durable>,
    for<'a> &'a Entry<S>: TryFrom<&'a Durable>,
    for<'a> &'a Snapshot<S>: TryFrom<&'a Durable>,
{
    fn wrap(msg: RaftMsg<S>) -> Msg {
        msg.into()
    }

    fn unwrap(msg: Msg) -> Result<RaftMsg<S>, Msg> {
        RaftMsg::try_from(msg)
    }

    fn store_entry(entry: Entry<S>) -> Durable {
        entry.into()
    }

    fn stored_entry(value: &Durable) -> Option<&Entry<S>> {
        <&Entry<S>>::try_from(value).ok()
    }

    fn store_snapshot(snapshot: Snapshot<S>) -> Durable {
        snapshot.into()
    }

    fn stored_snapshot(value: &Durable) -> Option<&Snapshot<S>> {
        <&Snapshot<S>>::try_from(value).ok()
    }
}
