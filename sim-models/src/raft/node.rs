//! One Raft server over a state machine `S`: its state (Figure 2, "State"), the dispatch of
//! messages and timers to the handlers, recovery from storage, and the role changes every
//! handler shares ("Rules for Servers", All Servers: a higher term makes a server a follower).
//!
//! The handlers live by topic: [`crate::raft::election`] (RequestVote, PreVote, CheckQuorum),
//! [`crate::raft::replication`] (AppendEntries and InstallSnapshot, both sides),
//! [`crate::raft::commit`] (the commit index, applying, snapshots) and
//! [`crate::raft::client`] (requests, ReadIndex). Every handler ends in `RaftNode::flush`,
//! which syncs storage if anything was written and only then sends the messages the handler
//! queued: a vote, an acknowledgement or a reply never leaves before the state it depends on
//! is durable.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use sim_core::{Ctx, LocalTime, Node, NodeId, TimerId};

use crate::raft::log::{Meta, RaftLog};
use crate::raft::machine::{Registered, StateMachine};
use crate::raft::msg::{RaftMsg, RaftTimer};
use crate::raft::observer::{Check, RaftObserver};
use crate::raft::read_index::ReadQueue;
use crate::raft::replica::{Replica, Snapshot};
use crate::raft::tracker::Tracker;
use crate::raft::{RaftConfig, STORAGE_INTACT};
use crate::world::{Msg, Timer, World};

/// Storage key of `currentTerm` and `votedFor`.
pub const META_KEY: &str = "meta";
/// Storage key of the latest snapshot.
pub const SNAPSHOT_KEY: &str = "snapshot";

/// A server's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asking whether it could win an election, without changing term (PreVote).
    PreCandidate,
    /// Campaigning in its current term.
    Candidate,
    /// Leads its current term.
    Leader,
}

impl Role {
    /// The role as the `role` annotation shows it.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::PreCandidate => "pre-candidate",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// The servers of the cluster as one of them sees it.
#[derive(Debug)]
pub(super) struct Cluster {
    /// This server.
    pub(super) me: NodeId,
    /// The other servers, in id order.
    pub(super) peers: Vec<NodeId>,
    /// Every server's name, for annotations.
    names: Rc<BTreeMap<NodeId, String>>,
}

impl Cluster {
    /// Votes (or answers) that make a majority of the cluster.
    pub(super) fn majority(&self) -> usize {
        let size = self.peers.len() + 1;
        size / 2 + 1
    }

    /// The name of `node`.
    pub(super) fn name_of(&self, node: NodeId) -> String {
        self.names
            .get(&node)
            .cloned()
            .unwrap_or_else(|| format!("#{}", node.0))
    }
}

/// Leader election bookkeeping every server keeps.
#[derive(Debug)]
pub(super) struct Election {
    /// Votes received in the current (pre-)candidacy, its own included.
    pub(super) votes: BTreeSet<NodeId>,
    /// The pending election timer.
    pub(super) timer: Option<TimerId>,
    /// Since when (local clock) this server has known no leader, if it knows none.
    pub(super) leaderless_since: Option<LocalTime>,
    /// When this server last heard from its leader (local clock).
    pub(super) last_contact: LocalTime,
}

/// What a server keeps while it leads (Figure 2, "Volatile state on leaders", and the rest of
/// a leader's bookkeeping); made when it takes office, dropped when it steps down.
#[derive(Debug)]
pub(super) struct Leadership<S: StateMachine> {
    /// Each follower's progress.
    pub(super) tracker: Tracker,
    /// The pending heartbeat timer.
    pub(super) heartbeat_timer: Option<TimerId>,
    /// The index of this term's no-op.
    pub(super) noop_index: u64,
    /// Client requests in the log this term, by (client, seq): their index.
    pub(super) proposed: BTreeMap<(NodeId, u64), u64>,
    /// When each entry of this term not yet committed was appended (local clock).
    pub(super) proposed_at: BTreeMap<u64, LocalTime>,
    /// Reads waiting for their ReadIndex conditions.
    pub(super) reads: ReadQueue<S::Query>,
    /// What the state machine keeps while this server leads.
    pub(super) machine: S::LeaderState,
}

/// A Raft server replicating the state machine `S`.
pub struct RaftNode<S: StateMachine> {
    pub(super) config: RaftConfig,
    pub(super) cluster: Cluster,
    pub(super) observer: Rc<RefCell<RaftObserver<S>>>,
    // Persistent state (Figure 2), mirrored in storage.
    pub(super) term: u64,
    pub(super) voted_for: Option<NodeId>,
    pub(super) log: RaftLog<S>,
    // Volatile state on all servers.
    pub(super) role: Role,
    pub(super) leader: Option<NodeId>,
    pub(super) commit: u64,
    pub(super) applied: u64,
    pub(super) replica: Replica<S>,
    pub(super) election: Election,
    /// `Some` exactly while `role` is [`Role::Leader`].
    pub(super) lead: Option<Leadership<S>>,
    /// Numbers every AppendEntries / InstallSnapshot sent; followers echo it, so an answer to
    /// round r proves the follower still followed this leader after round r was sent
    /// (ReadIndex) and tells which message it answers (batching).
    pub(super) round: u64,
    /// The highest index the commit rule has held back for its term (counted once).
    pub(super) held_reported: u64,
    /// Messages the current handler queued, sent by `RaftNode::flush`.
    pub(super) outbox: Vec<(NodeId, Msg)>,
}

impl<S: StateMachine> std::fmt::Debug for RaftNode<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftNode")
            .field("me", &self.cluster.me)
            .field("role", &self.role)
            .field("term", &self.term)
            .field("commit", &self.commit)
            .field("last_index", &self.log.last_index())
            .finish_non_exhaustive()
    }
}

impl<S: Registered> RaftNode<S> {
    /// A server `me` of a cluster whose other members are `peers` (servers named by `names`),
    /// reporting to `observer`. It recovers its state from storage in `on_start`.
    pub fn new(
        config: RaftConfig,
        me: NodeId,
        peers: Vec<NodeId>,
        names: Rc<BTreeMap<NodeId, String>>,
        observer: Rc<RefCell<RaftObserver<S>>>,
    ) -> Self {
        RaftNode {
            config,
            cluster: Cluster { me, peers, names },
            observer,
            term: 0,
            voted_for: None,
            log: RaftLog::default(),
            role: Role::Follower,
            leader: None,
            commit: 0,
            applied: 0,
            replica: Replica::default(),
            election: Election {
                votes: BTreeSet::new(),
                timer: None,
                leaderless_since: None,
                last_contact: LocalTime(0),
            },
            lead: None,
            round: 0,
            held_reported: 0,
            outbox: Vec::new(),
        }
    }

    /// Turns the observer's verdict on a reported fact into a violation, if it is a breach.
    pub(super) fn report(ctx: &mut Ctx<'_, World>, check: Check) {
        if let Err(breach) = check {
            ctx.violation(breach.invariant, breach.detail);
        }
    }

    /// Queues a Raft message to `to`.
    pub(super) fn send(&mut self, to: NodeId, msg: impl Into<RaftMsg<S>>) {
        self.outbox.push((to, S::wrap(msg.into())));
    }

    /// Makes every write durable, then sends what the handler queued.
    fn flush(&mut self, ctx: &mut Ctx<'_, World>) {
        if ctx.storage().has_unsynced() {
            ctx.storage().sync();
        }
        for (to, msg) in self.outbox.drain(..) {
            ctx.send(to, msg);
        }
    }

    fn step(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: RaftMsg<S>) {
        match msg {
            RaftMsg::RequestVote(m) => self.on_request_vote(ctx, from, m),
            RaftMsg::RequestVoteReply(m) => self.on_request_vote_reply(ctx, from, m),
            RaftMsg::AppendEntries(m) => self.on_append_entries(ctx, from, m),
            RaftMsg::AppendEntriesReply(m) => self.on_append_entries_reply(ctx, from, m),
            RaftMsg::InstallSnapshot(m) => self.on_install_snapshot(ctx, from, m),
        }
    }

    // ----- recovery -----------------------------------------------------------------------

    /// Rebuilds the persistent state from storage after a start or restart; the commit index
    /// and the state machine restart from the snapshot and are re-learnt.
    fn recover(&mut self, ctx: &mut Ctx<'_, World>) {
        let (term, voted_for) = match ctx.storage().get(META_KEY).cloned().map(Meta::try_from) {
            Some(Ok(Meta { term, voted_for })) => (term, voted_for),
            None => (0, None),
            Some(Err(other)) => {
                ctx.violation(STORAGE_INTACT, format!("{META_KEY} holds {other:?}"));
                (0, None)
            }
        };
        let snapshot: Option<Snapshot<S>> = match ctx.storage().get(SNAPSHOT_KEY) {
            None => None,
            Some(value) => match S::stored_snapshot(value) {
                Some(s) => Some(s.clone()),
                None => {
                    let other = value.clone();
                    ctx.violation(STORAGE_INTACT, format!("{SNAPSHOT_KEY} holds {other:?}"));
                    None
                }
            },
        };
        let (index, snap_term) = snapshot
            .as_ref()
            .map_or((0, 0), |s| (s.last_index, s.last_term));
        self.term = term;
        self.voted_for = voted_for;
        self.log = match RaftLog::recover(ctx.storage(), index, snap_term) {
            Ok(log) => log,
            Err(e) => {
                ctx.violation(STORAGE_INTACT, format!("cannot recover the log: {e}"));
                RaftLog::starting_after(index, snap_term)
            }
        };
        self.replica = snapshot.map(|s| s.state).unwrap_or_default();
        self.commit = index;
        self.applied = index;
        ctx.annotate("role", self.role.as_str());
        ctx.annotate("term", self.term);
        ctx.annotate("commit", self.commit);
        ctx.annotate("log", self.log.last_index());
        ctx.annotate("leader", "none");
        for counter in ["elections", "leaderless_ms", "leaders_elected"] {
            ctx.count(counter, 0);
        }
        self.election.leaderless_since = Some(ctx.now());
        self.reset_election_timer(ctx);
    }

    // ----- terms and roles (Figure 2, Rules for Servers, All Servers) -----------------------

    /// Writes `currentTerm` and `votedFor` (synced before the handler sends anything).
    pub(super) fn save_meta(&mut self, ctx: &mut Ctx<'_, World>) {
        ctx.storage().put(
            META_KEY,
            Meta {
                term: self.term,
                // The bug: the vote lives only in memory.
                voted_for: self
                    .voted_for
                    .filter(|_| !self.config.bugs.vote_not_persisted),
            }
            .into(),
        );
    }

    /// Adopts a higher term seen in any message ("If RPC request or response contains term
    /// T > currentTerm: set currentTerm = T, convert to follower"). Returns whether it did.
    pub(super) fn observe_term(&mut self, ctx: &mut Ctx<'_, World>, term: u64) -> bool {
        if term <= self.term {
            return false;
        }
        self.term = term;
        self.voted_for = None;
        self.save_meta(ctx);
        ctx.annotate("term", term);
        self.become_follower(ctx, None);
        true
    }

    pub(super) fn set_role(&mut self, ctx: &mut Ctx<'_, World>, role: Role) {
        self.role = role;
        ctx.annotate("role", role.as_str());
    }

    /// Follows `leader` (or none). A leader stepping down drops what it kept as leader:
    /// clients retry pending reads elsewhere (serving them now could be stale), and the state
    /// machine's leader state goes with it (the next leader starts its own).
    pub(super) fn become_follower(&mut self, ctx: &mut Ctx<'_, World>, leader: Option<NodeId>) {
        let was_leader = self.role == Role::Leader;
        if self.role != Role::Follower {
            self.set_role(ctx, Role::Follower);
        }
        if let Some(lead) = self.lead.take()
            && let Some(t) = lead.heartbeat_timer
        {
            ctx.cancel_timer(t);
        }
        self.set_leader(ctx, leader);
        if was_leader || self.election.timer.is_none() {
            self.reset_election_timer(ctx);
        }
    }

    pub(super) fn reset_election_timer(&mut self, ctx: &mut Ctx<'_, World>) {
        let after = self.config.election_timeout.sample(ctx.rng());
        let moved = self
            .election
            .timer
            .take()
            .and_then(|t| ctx.reset_timer(t, after));
        self.election.timer =
            Some(moved.unwrap_or_else(|| ctx.set_timer(after, RaftTimer::Election.into())));
    }

    /// Records who leads as this server knows it (the `leader` annotation), and how long it
    /// was without one (`leaderless_ms`).
    pub(super) fn set_leader(&mut self, ctx: &mut Ctx<'_, World>, leader: Option<NodeId>) {
        if self.leader == leader {
            return;
        }
        let previous = std::mem::replace(&mut self.leader, leader);
        match leader {
            Some(l) => {
                ctx.annotate("leader", self.cluster.name_of(l));
                if let Some(since) = self.election.leaderless_since.take() {
                    let ms = ctx.now().nanos_since(since).max(0) / 1_000_000;
                    ctx.count("leaderless_ms", ms as u64);
                }
            }
            None => {
                ctx.annotate("leader", "none");
                if self.election.leaderless_since.is_none() {
                    // A follower has been without its leader since it last heard from it, not
                    // just since it noticed.
                    let since = match previous {
                        Some(l) if l != self.cluster.me => self.election.last_contact,
                        Some(_) | None => ctx.now(),
                    };
                    self.election.leaderless_since = Some(since);
                }
            }
        }
    }

    /// Adds the time spent without a leader so far to `leaderless_ms` (so the counter is
    /// current even if no leader ever turns up).
    pub(super) fn account_leaderless(&mut self, ctx: &mut Ctx<'_, World>) {
        if let Some(since) = self.election.leaderless_since {
            let now = ctx.now();
            let ms = now.nanos_since(since).max(0) / 1_000_000;
            ctx.count("leaderless_ms", ms as u64);
            // Keep the sub-millisecond remainder for next time.
            self.election.leaderless_since = Some(LocalTime(since.0 + ms * 1_000_000));
        }
    }
}

impl<S: Registered> Node<World> for RaftNode<S> {
    fn on_start(&mut self, ctx: &mut Ctx<'_, World>) {
        self.recover(ctx);
        self.flush(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: Msg) {
        match S::unwrap(msg) {
            Ok(m) => self.step(ctx, from, m),
            Err(other) => {
                if let Ok(request) = S::decode(other) {
                    self.on_client_request(ctx, from, request);
                }
            }
        }
        self.flush(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, World>, timer: Timer) {
        match RaftTimer::try_from(timer) {
            Ok(RaftTimer::Election) => self.on_election_timer(ctx),
            Ok(RaftTimer::Heartbeat) => self.on_heartbeat_timer(ctx),
            Err(_) => {}
        }
        self.flush(ctx);
    }
}
