//! One Raft server: Figure 2 of the paper as a sans-IO state machine, with PreVote,
//! CheckQuorum, ReadIndex, fast log back-off and snapshots.
//!
//! Every handler ends in `RaftNode::flush`, which syncs storage if anything was written and
//! only then sends the messages the handler queued: a vote, an acknowledgement or a reply
//! never leaves before the state it depends on is durable.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use sim_core::{Ctx, LocalTime, Node, NodeId, TimerId};

use crate::protocols::kv::{KvMsg, KvOp, KvOutcome, KvResult};
use crate::protocols::lock::{LockMsg, LockOp, LockOutcome, LockResult};
use crate::raft::log::{ClientCommand, ClientOp, Command, Entry, Meta, RaftLog};
use crate::raft::msg::{RaftMsg, RaftTimer};
use crate::raft::observer::{Check, RaftObserver};
use crate::raft::state_machine::{Applied, KvState, OpResult, Snapshot};
use crate::raft::{CommitRule, RaftConfig, ReadMode, STORAGE_INTACT};
use crate::world::{Msg, Timer, World, stored};

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
    fn as_str(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::PreCandidate => "pre-candidate",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// What the leader knows of one follower.
#[derive(Clone, Copy, Debug)]
struct Progress {
    /// Next index to send (advanced optimistically as entries are sent).
    next: u64,
    /// Highest index known to match the leader's log.
    matched: u64,
    /// Highest round (see `RaftNode::round`) the follower has answered in this term.
    round: u64,
    /// Round of the last message sent to it. While `round < sent` a message is on its way:
    /// new entries and reads wait for its reply and then go in one message (batching). The
    /// heartbeat sends regardless, so a lost message costs at most one heartbeat period.
    sent: u64,
    /// Whether it answered since the last CheckQuorum check.
    active: bool,
    /// Heartbeats to wait before sending another snapshot (one is on its way).
    snapshot_wait: u32,
}

/// Heartbeat periods a leader waits for a follower to install a snapshot before sending it
/// again (it may have been lost).
const SNAPSHOT_RESEND_HEARTBEATS: u32 = 4;

/// A linearizable read waiting for its ReadIndex conditions.
#[derive(Clone, Copy, Debug)]
struct PendingRead {
    client: NodeId,
    seq: u64,
    key: u64,
    /// Serve once the state machine has applied this index...
    read_index: u64,
    /// ...and a majority answered a heartbeat round at least this recent.
    round: u64,
}

/// A leader's clock for one lease (the lessor of etcd): leaders only.
#[derive(Clone, Copy, Debug)]
struct LeaseClock {
    /// When the lease expires on the leader's local clock.
    deadline: LocalTime,
    /// The `renewed_at` of the `LeaseExpire` this leader proposed for it, if any (so it is
    /// proposed once per renewal, not on every heartbeat).
    proposed: Option<u64>,
}

/// What the commit rule concludes from the followers' match indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitDecision {
    /// Nothing new is on a majority.
    Nothing,
    /// Commit up to this index (an entry of the current term is on a majority).
    Advance(u64),
    /// The index on a majority is from an earlier term: it must wait for an entry of the
    /// current term to cover it (§5.4.2, Figure 8).
    HeldOldTerm(u64),
}

/// Clusters up to this size count votes and match indexes in stack arrays.
const SMALL_CLUSTER: usize = 16;

/// Collects `values` and then `last` into `small` when they fit, else into `large`: no
/// allocation for the usual cluster sizes.
fn gather<'a>(
    values: impl ExactSizeIterator<Item = u64>,
    last: u64,
    small: &'a mut [u64; SMALL_CLUSTER],
    large: &'a mut Vec<u64>,
) -> &'a mut [u64] {
    let n = values.len() + 1;
    if n <= SMALL_CLUSTER {
        for (slot, v) in small.iter_mut().zip(values.chain([last])) {
            *slot = v;
        }
        &mut small[..n]
    } else {
        large.extend(values.chain([last]));
        large
    }
}

/// The commit rule (Figure 2, "Rules for Servers", Leaders, last bullet): the highest index `N`
/// stored on a majority (`matched` holds every server's match index, the leader's own
/// included) with `N > commit` and `log[N].term == term`. [`CommitRule::AnyTerm`] drops the
/// last condition (the Figure 8 bug).
pub fn commit_decision(
    rule: CommitRule,
    matched: &[u64],
    log: &RaftLog,
    term: u64,
    commit: u64,
) -> CommitDecision {
    let mut small = [0u64; SMALL_CLUSTER];
    let mut large = Vec::new();
    let m: &mut [u64] = match small.get_mut(..matched.len()) {
        Some(m) => m,
        None => {
            large.resize(matched.len(), 0);
            &mut large
        }
    };
    m.copy_from_slice(matched);
    m.sort_unstable_by(|a, b| b.cmp(a));
    let majority = m.len() / 2 + 1;
    let Some(&n) = m.get(majority - 1) else {
        return CommitDecision::Nothing;
    };
    if n <= commit {
        return CommitDecision::Nothing;
    }
    // Terms never decrease along a log, so if log[n] is older than `term` so is every entry
    // below it: there is no smaller N to fall back on.
    match (rule, log.term_at(n)) {
        (CommitRule::AnyTerm, _) => CommitDecision::Advance(n),
        (CommitRule::CurrentTerm, Some(t)) if t == term => CommitDecision::Advance(n),
        (CommitRule::CurrentTerm, Some(_) | None) => CommitDecision::HeldOldTerm(n),
    }
}

/// A Raft server running the key-value state machine.
pub struct RaftNode {
    config: RaftConfig,
    me: NodeId,
    peers: Vec<NodeId>,
    names: Rc<BTreeMap<NodeId, String>>,
    observer: Rc<RefCell<RaftObserver>>,
    // Persistent state (Figure 2), mirrored in storage.
    term: u64,
    voted_for: Option<NodeId>,
    log: RaftLog,
    // Volatile state.
    role: Role,
    leader: Option<NodeId>,
    commit: u64,
    applied: u64,
    kv: KvState,
    votes: BTreeSet<NodeId>,
    election_timer: Option<TimerId>,
    heartbeat_timer: Option<TimerId>,
    leaderless_since: Option<LocalTime>,
    /// When this server last heard from its leader (local clock).
    last_contact: LocalTime,
    // Leader state.
    progress: BTreeMap<NodeId, Progress>,
    /// Numbers every AppendEntries / InstallSnapshot sent; followers echo it, so an answer to
    /// round r proves the follower still followed this leader after round r was sent
    /// (ReadIndex) and tells which message it answers (batching).
    round: u64,
    noop_index: u64,
    proposed: BTreeMap<(NodeId, u64), u64>,
    proposed_at: BTreeMap<u64, LocalTime>,
    reads: Vec<PendingRead>,
    held_reported: u64,
    /// Lease deadlines on this leader's clock.
    lease_clocks: BTreeMap<u64, LeaseClock>,
    outbox: Vec<(NodeId, Msg)>,
}

impl std::fmt::Debug for RaftNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftNode")
            .field("me", &self.me)
            .field("role", &self.role)
            .field("term", &self.term)
            .field("commit", &self.commit)
            .field("last_index", &self.log.last_index())
            .finish_non_exhaustive()
    }
}

impl RaftNode {
    /// A server `me` of a cluster whose other members are `peers`, reporting to `observer`.
    /// It recovers its state from storage in `on_start`.
    pub fn new(
        config: RaftConfig,
        me: NodeId,
        peers: Vec<NodeId>,
        names: Rc<BTreeMap<NodeId, String>>,
        observer: Rc<RefCell<RaftObserver>>,
    ) -> Self {
        RaftNode {
            config,
            me,
            peers,
            names,
            observer,
            term: 0,
            voted_for: None,
            log: RaftLog::default(),
            role: Role::Follower,
            leader: None,
            commit: 0,
            applied: 0,
            kv: KvState::default(),
            votes: BTreeSet::new(),
            election_timer: None,
            heartbeat_timer: None,
            leaderless_since: None,
            last_contact: LocalTime(0),
            progress: BTreeMap::new(),
            round: 0,
            noop_index: 0,
            proposed: BTreeMap::new(),
            proposed_at: BTreeMap::new(),
            reads: Vec::new(),
            held_reported: 0,
            lease_clocks: BTreeMap::new(),
            outbox: Vec::new(),
        }
    }

    fn majority(&self) -> usize {
        let size = self.peers.len() + 1;
        size / 2 + 1
    }

    fn name_of(&self, node: NodeId) -> String {
        self.names
            .get(&node)
            .cloned()
            .unwrap_or_else(|| format!("#{}", node.0))
    }

    fn report(ctx: &mut Ctx<'_, World>, check: Check) {
        if let Err(breach) = check {
            ctx.violation(breach.invariant, breach.detail);
        }
    }

    fn send(&mut self, to: NodeId, msg: RaftMsg) {
        self.outbox.push((to, msg.into()));
    }

    /// Answers request `seq` of client `to` with its result.
    fn reply_done(&mut self, to: NodeId, seq: u64, result: OpResult) {
        let msg = match result {
            OpResult::Kv(r) => KvMsg::Reply {
                seq,
                outcome: KvOutcome::Done(r),
            }
            .into(),
            OpResult::Lock(r) => LockMsg::Reply {
                seq,
                outcome: LockOutcome::Done(r),
            }
            .into(),
        };
        self.outbox.push((to, msg));
    }

    /// Tells client `to` that this server does not lead, in the protocol it asked in.
    fn reply_not_leader(&mut self, to: NodeId, seq: u64, op: &ClientOp) {
        let leader = self.leader;
        let msg = match op {
            ClientOp::Kv(_) => KvMsg::Reply {
                seq,
                outcome: KvOutcome::NotLeader { leader },
            }
            .into(),
            ClientOp::Lock(_) => LockMsg::Reply {
                seq,
                outcome: LockOutcome::NotLeader { leader },
            }
            .into(),
        };
        self.outbox.push((to, msg));
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

    // ----- recovery, timers, roles ------------------------------------------------------------

    fn recover(&mut self, ctx: &mut Ctx<'_, World>) {
        let (term, voted_for) = match ctx.storage().get(META_KEY).cloned().map(Meta::try_from) {
            Some(Ok(Meta { term, voted_for })) => (term, voted_for),
            None => (0, None),
            Some(Err(other)) => {
                ctx.violation(STORAGE_INTACT, format!("{META_KEY} holds {other:?}"));
                (0, None)
            }
        };
        let snapshot = match ctx
            .storage()
            .get(SNAPSHOT_KEY)
            .cloned()
            .map(Snapshot::try_from)
        {
            Some(Ok(s)) => Some(s),
            None => None,
            Some(Err(other)) => {
                ctx.violation(STORAGE_INTACT, format!("{SNAPSHOT_KEY} holds {other:?}"));
                None
            }
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
        self.kv = snapshot.map(|s| s.state).unwrap_or_default();
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
        self.leaderless_since = Some(ctx.now());
        self.reset_election_timer(ctx);
    }

    fn reset_election_timer(&mut self, ctx: &mut Ctx<'_, World>) {
        let after = self.config.election_timeout.sample(ctx.rng());
        let moved = self
            .election_timer
            .take()
            .and_then(|t| ctx.reset_timer(t, after));
        self.election_timer =
            Some(moved.unwrap_or_else(|| ctx.set_timer(after, RaftTimer::Election.into())));
    }

    fn set_leader(&mut self, ctx: &mut Ctx<'_, World>, leader: Option<NodeId>) {
        if self.leader == leader {
            return;
        }
        let previous = std::mem::replace(&mut self.leader, leader);
        match leader {
            Some(l) => {
                ctx.annotate("leader", self.name_of(l));
                if let Some(since) = self.leaderless_since.take() {
                    let ms = ctx.now().nanos_since(since).max(0) / 1_000_000;
                    ctx.count("leaderless_ms", ms as u64);
                }
            }
            None => {
                ctx.annotate("leader", "none");
                if self.leaderless_since.is_none() {
                    // A follower has been without its leader since it last heard from it, not
                    // just since it noticed.
                    let since = match previous {
                        Some(l) if l != self.me => self.last_contact,
                        Some(_) | None => ctx.now(),
                    };
                    self.leaderless_since = Some(since);
                }
            }
        }
    }

    /// Adds the time spent without a leader so far to `leaderless_ms` (so the counter is
    /// current even if no leader ever turns up).
    fn account_leaderless(&mut self, ctx: &mut Ctx<'_, World>) {
        if let Some(since) = self.leaderless_since {
            let now = ctx.now();
            let ms = now.nanos_since(since).max(0) / 1_000_000;
            ctx.count("leaderless_ms", ms as u64);
            // Keep the sub-millisecond remainder for next time.
            self.leaderless_since = Some(LocalTime(since.0 + ms * 1_000_000));
        }
    }

    fn set_role(&mut self, ctx: &mut Ctx<'_, World>, role: Role) {
        self.role = role;
        ctx.annotate("role", role.as_str());
    }

    fn save_meta(&mut self, ctx: &mut Ctx<'_, World>) {
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

    /// Adopts a higher term seen in any message (Figure 2: "If RPC request or response contains
    /// term T > currentTerm: set currentTerm = T, convert to follower"). Returns whether it did.
    fn observe_term(&mut self, ctx: &mut Ctx<'_, World>, term: u64) -> bool {
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

    fn become_follower(&mut self, ctx: &mut Ctx<'_, World>, leader: Option<NodeId>) {
        let was_leader = self.role == Role::Leader;
        if self.role != Role::Follower {
            self.set_role(ctx, Role::Follower);
        }
        if was_leader {
            if let Some(t) = self.heartbeat_timer.take() {
                ctx.cancel_timer(t);
            }
            self.progress.clear();
            self.proposed.clear();
            self.proposed_at.clear();
            // Followers keep no lease deadlines; the next leader starts them afresh.
            self.lease_clocks.clear();
            // Clients retry pending reads elsewhere; serving them now could be stale.
            self.reads.clear();
        }
        self.set_leader(ctx, leader);
        if was_leader || self.election_timer.is_none() {
            self.reset_election_timer(ctx);
        }
    }

    fn on_election_timer(&mut self, ctx: &mut Ctx<'_, World>) {
        self.election_timer = None;
        match self.role {
            Role::Leader => {
                if !self.config.check_quorum {
                    return;
                }
                // CheckQuorum: a leader that has not heard from a majority within an election
                // timeout steps down, so a leader cut off from the majority stops serving.
                let heard = 1 + self.progress.values().filter(|p| p.active).count();
                for p in self.progress.values_mut() {
                    p.active = false;
                }
                if heard < self.majority() {
                    ctx.count("check_quorum_stepdowns", 1);
                    self.become_follower(ctx, None);
                } else {
                    self.reset_election_timer(ctx);
                }
            }
            Role::Follower | Role::PreCandidate | Role::Candidate => {
                self.set_leader(ctx, None);
                self.account_leaderless(ctx);
                if self.config.pre_vote {
                    self.start_pre_vote(ctx);
                } else {
                    self.start_election(ctx);
                }
            }
        }
    }

    fn start_pre_vote(&mut self, ctx: &mut Ctx<'_, World>) {
        self.set_role(ctx, Role::PreCandidate);
        self.votes = BTreeSet::from([self.me]);
        self.reset_election_timer(ctx);
        ctx.count("pre_votes", 1);
        if self.votes.len() >= self.majority() {
            self.start_election(ctx);
            return;
        }
        for peer in self.peers.clone() {
            self.send(
                peer,
                RaftMsg::RequestVote {
                    term: self.term + 1,
                    last_index: self.log.last_index(),
                    last_term: self.log.last_term(),
                    pre_vote: true,
                },
            );
        }
    }

    fn start_election(&mut self, ctx: &mut Ctx<'_, World>) {
        self.term += 1;
        self.voted_for = Some(self.me);
        self.save_meta(ctx);
        ctx.annotate("term", self.term);
        self.set_role(ctx, Role::Candidate);
        self.set_leader(ctx, None);
        self.votes = BTreeSet::from([self.me]);
        ctx.count("elections", 1);
        self.reset_election_timer(ctx);
        if self.votes.len() >= self.majority() {
            self.become_leader(ctx);
            return;
        }
        for peer in self.peers.clone() {
            self.send(
                peer,
                RaftMsg::RequestVote {
                    term: self.term,
                    last_index: self.log.last_index(),
                    last_term: self.log.last_term(),
                    pre_vote: false,
                },
            );
        }
    }

    fn become_leader(&mut self, ctx: &mut Ctx<'_, World>) {
        self.set_role(ctx, Role::Leader);
        self.set_leader(ctx, Some(self.me));
        ctx.count("leaders_elected", 1);
        let check = self
            .observer
            .borrow_mut()
            .became_leader(self.me, self.term, &self.log);
        Self::report(ctx, check);
        let next = self.log.last_index() + 1;
        self.progress = self
            .peers
            .iter()
            .map(|&p| {
                (
                    p,
                    Progress {
                        next,
                        matched: 0,
                        round: 0,
                        active: false,
                        snapshot_wait: 0,
                        sent: 0,
                    },
                )
            })
            .collect();
        // Every lease it knows of gets a full TTL on this leader's clock (etcd's lessor
        // "promote"): it cannot know how long the old leader had left, so it errs on the side
        // of the holder.
        let now = ctx.now();
        self.lease_clocks = self
            .kv
            .locks()
            .leases()
            .map(|(id, l)| {
                (
                    id,
                    LeaseClock {
                        deadline: now.after(l.ttl),
                        proposed: None,
                    },
                )
            })
            .collect();
        // A no-op of the new term: entries of earlier terms commit once it does (§5.4.2), and
        // ReadIndex needs it committed before serving reads (§6.4).
        self.noop_index = self.propose(ctx, Command::Noop);
        if self.config.check_quorum {
            self.reset_election_timer(ctx);
        } else if let Some(t) = self.election_timer.take() {
            ctx.cancel_timer(t);
        }
        self.heartbeat(ctx);
        self.maybe_commit(ctx);
    }

    /// Appends a new entry of the current term to the leader's log; returns its index.
    fn propose(&mut self, ctx: &mut Ctx<'_, World>, command: Command) -> u64 {
        let index = self.log.last_index() + 1;
        let prev_term = self.log.last_term();
        let entry = Entry {
            term: self.term,
            index,
            command,
        };
        let check =
            self.observer
                .borrow_mut()
                .appended(self.me, prev_term, std::slice::from_ref(&entry));
        Self::report(ctx, check);
        self.log.append(entry, ctx.storage());
        let now = ctx.now();
        self.proposed_at.insert(index, now);
        ctx.annotate("log", index);
        index
    }

    fn on_heartbeat_timer(&mut self, ctx: &mut Ctx<'_, World>) {
        self.heartbeat_timer = None;
        if self.role != Role::Leader {
            return;
        }
        for p in self.progress.values_mut() {
            p.snapshot_wait = p.snapshot_wait.saturating_sub(1);
        }
        let expiring = self.propose_expiries(ctx);
        self.heartbeat(ctx);
        if expiring {
            self.maybe_commit(ctx);
        }
    }

    /// Proposes `LeaseExpire` for every lease past its deadline on this leader's clock, once
    /// per renewal. The entry carries the lease's `renewed_at` as this leader has applied it:
    /// if a keep-alive is already in the log, it applies first and the expiry does nothing.
    /// Returns whether it proposed any.
    fn propose_expiries(&mut self, ctx: &mut Ctx<'_, World>) -> bool {
        let now = ctx.now();
        let due: Vec<(u64, u64)> = self
            .lease_clocks
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .filter_map(|(&id, c)| {
                let renewed_at = self.kv.locks().lease(id)?.renewed_at;
                (c.proposed != Some(renewed_at)).then_some((id, renewed_at))
            })
            .collect();
        for &(lease, renewed_at) in &due {
            if let Some(c) = self.lease_clocks.get_mut(&lease) {
                c.proposed = Some(renewed_at);
            }
            ctx.count("lease_expiries", 1);
            self.propose(ctx, Command::LeaseExpire { lease, renewed_at });
        }
        !due.is_empty()
    }

    /// On the leader, after a grant or keep-alive of `lease` applied: its deadline is now +
    /// `ttl` on this leader's clock.
    fn renew_lease(&mut self, ctx: &mut Ctx<'_, World>, lease: u64, ttl: sim_core::Duration) {
        if self.role != Role::Leader {
            return;
        }
        let deadline = ctx.now().after(ttl);
        self.lease_clocks.insert(
            lease,
            LeaseClock {
                deadline,
                proposed: None,
            },
        );
    }

    /// Sends every follower what it lacks (or an empty heartbeat), whether or not a message
    /// is already on its way, and arms the next heartbeat.
    fn heartbeat(&mut self, ctx: &mut Ctx<'_, World>) {
        for i in 0..self.peers.len() {
            self.send_append(ctx, self.peers[i]);
        }
        self.heartbeat_timer =
            Some(ctx.set_timer(self.config.heartbeat, RaftTimer::Heartbeat.into()));
    }

    /// Sends new entries (and the current read round) to every follower with nothing on its
    /// way. The others get them in one message when their reply comes back, so at a high
    /// request rate one AppendEntries carries all the entries of a round trip.
    fn replicate(&mut self, ctx: &mut Ctx<'_, World>) {
        for i in 0..self.peers.len() {
            let peer = self.peers[i];
            if self.progress.get(&peer).is_some_and(|p| p.round >= p.sent) {
                self.send_append(ctx, peer);
            }
        }
    }

    fn send_append(&mut self, ctx: &mut Ctx<'_, World>, peer: NodeId) {
        let Some(p) = self.progress.get_mut(&peer) else {
            return;
        };
        self.round += 1;
        p.sent = self.round;
        let p = *p;
        if p.next <= self.log.snapshot_index() && p.snapshot_wait > 0 {
            // The snapshot sent earlier is on its way: only keep the follower's election timer
            // reset (the consistency check will fail, harmlessly).
            self.send(
                peer,
                RaftMsg::AppendEntries {
                    term: self.term,
                    prev_index: self.log.snapshot_index(),
                    prev_term: self.log.snapshot_term(),
                    entries: Vec::new(),
                    commit: self.commit,
                    round: self.round,
                },
            );
            return;
        }
        if p.next <= self.log.snapshot_index() {
            let snapshot = match stored::<Snapshot>(ctx.storage(), SNAPSHOT_KEY).cloned() {
                Some(s) => s,
                None => {
                    let other = ctx.storage().get(SNAPSHOT_KEY).cloned();
                    ctx.violation(
                        STORAGE_INTACT,
                        format!(
                            "log compacted to {} but {SNAPSHOT_KEY} holds {other:?}",
                            self.log.snapshot_index()
                        ),
                    );
                    return;
                }
            };
            ctx.count("snapshots_sent", 1);
            self.set_next(peer, snapshot.last_index + 1);
            if let Some(p) = self.progress.get_mut(&peer) {
                p.snapshot_wait = SNAPSHOT_RESEND_HEARTBEATS;
            }
            self.send(
                peer,
                RaftMsg::InstallSnapshot {
                    term: self.term,
                    snapshot: Box::new(snapshot),
                    round: self.round,
                },
            );
            return;
        }
        let prev_index = p.next - 1;
        let prev_term = self.log.term_at(prev_index).unwrap_or(0);
        let max = usize::try_from(self.config.max_entries_per_append).unwrap_or(usize::MAX);
        let entries = self.log.entries_from(p.next, max);
        // Optimistic: assume they arrive; a rejection moves `next` back.
        self.set_next(peer, p.next + entries.len() as u64);
        self.send(
            peer,
            RaftMsg::AppendEntries {
                term: self.term,
                prev_index,
                prev_term,
                entries,
                commit: self.commit,
                round: self.round,
            },
        );
    }

    fn set_next(&mut self, peer: NodeId, next: u64) {
        if let Some(p) = self.progress.get_mut(&peer) {
            p.next = next;
        }
    }

    // ----- elections ----------------------------------------------------------------------

    fn on_request_vote(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        term: u64,
        last_index: u64,
        last_term: u64,
        pre_vote: bool,
    ) {
        // A server that has heard from a leader within an election timeout (its election timer
        // has not fired since) believes the leader is alive. It refuses pre-votes (§9.6) and,
        // with CheckQuorum, ignores vote requests (§4.2.3): a server that cannot hear the
        // leader then cannot depose it by bumping the term.
        let in_lease = self.leader.is_some() && (pre_vote || self.config.check_quorum);
        if term > self.term && in_lease {
            ctx.count("votes_refused_in_lease", 1);
            self.send(
                from,
                RaftMsg::RequestVoteReply {
                    term: self.term,
                    granted: false,
                    pre_vote,
                },
            );
            return;
        }
        let up_to_date = self.config.bugs.vote_without_log_check
            || self.log.candidate_up_to_date(last_index, last_term);
        if pre_vote {
            // Never change term for a pre-vote.
            let granted = term > self.term && up_to_date;
            self.send(
                from,
                RaftMsg::RequestVoteReply {
                    term: if granted { term } else { self.term },
                    granted,
                    pre_vote: true,
                },
            );
            return;
        }
        self.observe_term(ctx, term);
        let granted = term == self.term && up_to_date && self.voted_for.is_none_or(|v| v == from);
        if granted {
            self.voted_for = Some(from);
            self.save_meta(ctx);
            self.reset_election_timer(ctx);
        }
        self.send(
            from,
            RaftMsg::RequestVoteReply {
                term: self.term,
                granted,
                pre_vote: false,
            },
        );
    }

    fn on_vote_reply(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        term: u64,
        granted: bool,
        pre_vote: bool,
    ) {
        if pre_vote {
            if !granted {
                // A refusal carries the voter's term; a later one means we are behind.
                self.observe_term(ctx, term);
                return;
            }
            if self.role == Role::PreCandidate && term == self.term + 1 {
                self.votes.insert(from);
                if self.votes.len() >= self.majority() {
                    self.start_election(ctx);
                }
            }
            return;
        }
        if self.observe_term(ctx, term) {
            return;
        }
        if self.role == Role::Candidate && term == self.term && granted {
            self.votes.insert(from);
            if self.votes.len() >= self.majority() {
                self.become_leader(ctx);
            }
        }
    }

    // ----- replication: follower side -----------------------------------------------------

    /// Common to AppendEntries and InstallSnapshot: reject a stale leader; otherwise follow
    /// `from` in `term`. Returns false if the message is to be rejected.
    fn accept_leader(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, term: u64) -> bool {
        if term < self.term {
            return false;
        }
        self.observe_term(ctx, term);
        if self.role == Role::Leader {
            // Another leader in our own term: Election Safety is broken; the observer reports
            // it. Do not follow.
            return false;
        }
        if self.role != Role::Follower {
            self.set_role(ctx, Role::Follower);
        }
        self.set_leader(ctx, Some(from));
        self.last_contact = ctx.now();
        self.reset_election_timer(ctx);
        true
    }

    fn reject(&mut self, to: NodeId, conflict_term: Option<u64>, conflict_index: u64, round: u64) {
        self.send(
            to,
            RaftMsg::AppendEntriesReply {
                term: self.term,
                success: false,
                match_index: 0,
                conflict_term,
                conflict_index,
                round,
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn on_append_entries(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        term: u64,
        mut prev_index: u64,
        mut prev_term: u64,
        mut entries: Vec<Entry>,
        leader_commit: u64,
        round: u64,
    ) {
        if !self.accept_leader(ctx, from, term) {
            self.reject(from, None, 0, round);
            return;
        }
        let last_new = prev_index + entries.len() as u64;
        // Entries at or below our snapshot are committed, so they match: skip them.
        let snap = self.log.snapshot_index();
        if prev_index < snap {
            let skip = usize::try_from(snap - prev_index).unwrap_or(usize::MAX);
            entries.drain(..skip.min(entries.len()));
            prev_index = snap;
            prev_term = self.log.snapshot_term();
        }
        // The consistency check (rule 2), with the conflict hint of §5.3's closing paragraphs.
        match self.log.term_at(prev_index) {
            None => {
                let hint = self.log.last_index() + 1;
                self.reject(from, None, hint, round);
                return;
            }
            Some(t) if t != prev_term => {
                let hint = self.log.first_index_of_term_run(prev_index);
                self.reject(from, Some(t), hint, round);
                return;
            }
            Some(_) => {}
        }
        let merge = self.log.merge(prev_index, &entries, ctx.storage());
        if !merge.removed.is_empty() {
            ctx.count("truncations", 1);
            let check = self
                .observer
                .borrow_mut()
                .truncated(self.me, self.term, &merge.removed);
            Self::report(ctx, check);
        }
        if let Some(first) = merge.appended_from {
            let prev = self.log.term_at(first - 1).unwrap_or(0);
            let added = self.log.tail_from(first);
            let check = self.observer.borrow_mut().appended(self.me, prev, added);
            Self::report(ctx, check);
            ctx.annotate("log", self.log.last_index());
        }
        if leader_commit > self.commit {
            self.advance_commit(ctx, leader_commit.min(last_new.max(snap)));
        }
        self.send(
            from,
            RaftMsg::AppendEntriesReply {
                term: self.term,
                success: true,
                match_index: last_new.max(snap),
                conflict_term: None,
                conflict_index: 0,
                round,
            },
        );
    }

    fn on_install_snapshot(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        term: u64,
        snapshot: Snapshot,
        round: u64,
    ) {
        if !self.accept_leader(ctx, from, term) {
            self.reject(from, None, 0, round);
            return;
        }
        let (index, snap_term) = (snapshot.last_index, snapshot.last_term);
        if index > self.commit {
            // Keep the log after the snapshot if it extends it; otherwise drop it all (§7).
            // Entries dropped here are either covered by the snapshot or uncommitted.
            self.log.compact(index, snap_term, ctx.storage());
            self.kv = snapshot.state.clone();
            ctx.storage().put(SNAPSHOT_KEY, snapshot.into());
            self.commit = index;
            self.applied = index;
            ctx.count("snapshots_installed", 1);
            ctx.annotate("commit", index);
            ctx.annotate("log", self.log.last_index());
            let check = self
                .observer
                .borrow_mut()
                .snapshot_installed(self.me, index, snap_term);
            Self::report(ctx, check);
            self.apply_committed(ctx);
        }
        self.send(
            from,
            RaftMsg::AppendEntriesReply {
                term: self.term,
                success: true,
                match_index: index,
                conflict_term: None,
                conflict_index: 0,
                round,
            },
        );
    }

    // ----- replication: leader side -------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn on_append_reply(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        term: u64,
        success: bool,
        match_index: u64,
        conflict_term: Option<u64>,
        conflict_index: u64,
        round: u64,
    ) {
        if self.observe_term(ctx, term) || self.role != Role::Leader || term < self.term {
            return;
        }
        let last = self.log.last_index();
        let Some(p) = self.progress.get_mut(&from) else {
            return;
        };
        p.active = true;
        p.round = p.round.max(round);
        // A read that arrived after this follower's last message left needs a new round.
        let mut more = self.reads.last().is_some_and(|r| r.round > p.round);
        if success {
            p.snapshot_wait = 0;
            p.matched = p.matched.max(match_index.min(last));
            p.next = p.next.max(p.matched + 1);
            more |= p.next <= last;
        } else {
            // Fast back-off: skip the follower's whole conflicting term, or jump to the end of
            // its log, instead of one entry per round trip.
            let hint = match conflict_term {
                Some(t) => self
                    .log
                    .last_index_of_term(t)
                    .map_or(conflict_index, |i| i + 1),
                None => conflict_index,
            };
            let next = hint.clamp(p.matched + 1, last + 1);
            if next < p.next {
                p.next = next;
                more = true;
            }
        }
        // Only once the latest message is answered: what queued meanwhile goes in one message.
        if more && p.round >= p.sent {
            self.send_append(ctx, from);
        }
        if success {
            self.maybe_commit(ctx);
        }
        self.serve_reads(ctx);
    }

    fn maybe_commit(&mut self, ctx: &mut Ctx<'_, World>) {
        if self.role != Role::Leader {
            return;
        }
        let mut small = [0u64; SMALL_CLUSTER];
        let mut large = Vec::new();
        let own = self.log.last_index();
        let all = self.progress.values().map(|p| p.matched);
        let matched = gather(all, own, &mut small, &mut large);
        match commit_decision(
            self.config.commit_rule,
            &*matched,
            &self.log,
            self.term,
            self.commit,
        ) {
            CommitDecision::Nothing => {}
            CommitDecision::Advance(n) => self.advance_commit(ctx, n),
            CommitDecision::HeldOldTerm(n) => {
                if n > self.held_reported {
                    self.held_reported = n;
                    ctx.count("commit_held_old_term", 1);
                }
            }
        }
    }

    fn advance_commit(&mut self, ctx: &mut Ctx<'_, World>, new: u64) {
        if new <= self.commit {
            return;
        }
        for i in self.commit + 1..=new {
            if let Some(e) = self.log.get(i) {
                let check = self.observer.borrow_mut().committed(self.me, self.term, e);
                Self::report(ctx, check);
            }
        }
        self.commit = new;
        ctx.annotate("commit", new);
        if self.role == Role::Leader {
            let now = ctx.now();
            while let Some(entry) = self.proposed_at.first_entry() {
                if *entry.key() > new {
                    break;
                }
                let at = entry.remove();
                ctx.observe("commit_latency", now.nanos_since(at).max(0) as u64);
            }
        }
        self.apply_committed(ctx);
    }

    fn apply_committed(&mut self, ctx: &mut Ctx<'_, World>) {
        self.apply_up_to(ctx, self.commit);
    }

    /// Applies entries up to `limit` (the commit index, but for a bug of the catalog).
    fn apply_up_to(&mut self, ctx: &mut Ctx<'_, World>, limit: u64) {
        while self.applied < limit {
            let i = self.applied + 1;
            let Some(entry) = self.log.get(i).cloned() else {
                ctx.violation(
                    STORAGE_INTACT,
                    format!(
                        "committed index {i} is missing from the log (it starts after {})",
                        self.log.snapshot_index()
                    ),
                );
                break;
            };
            self.applied = i;
            let check = self
                .observer
                .borrow_mut()
                .applied(self.me, self.term, &entry);
            Self::report(ctx, check);
            match entry.command {
                Command::Noop => {}
                Command::Client(c) => {
                    let applied = self.kv.apply(&c, i);
                    match (applied, &c.op) {
                        (Applied::Duplicate(_), _) => ctx.count("resends_deduplicated", 1),
                        (
                            Applied::Fresh(OpResult::Lock(LockResult::LeaseGranted { lease, ttl })),
                            _,
                        ) => self.renew_lease(ctx, lease, ttl),
                        (
                            Applied::Fresh(OpResult::Lock(LockResult::KeptAlive { ttl })),
                            ClientOp::Lock(LockOp::LeaseKeepAlive { lease }),
                        ) => self.renew_lease(ctx, *lease, ttl),
                        _ => {}
                    }
                    if self.role == Role::Leader {
                        self.proposed.remove(&(c.client, c.seq));
                        if let Some(result) = applied.result() {
                            self.reply_done(c.client, c.seq, result);
                        }
                    }
                }
                Command::LeaseExpire { lease, renewed_at } => {
                    if self.kv.expire(lease, renewed_at) {
                        self.lease_clocks.remove(&lease);
                    }
                }
            }
        }
        self.serve_reads(ctx);
        self.maybe_snapshot(ctx);
    }

    fn maybe_snapshot(&mut self, ctx: &mut Ctx<'_, World>) {
        let every = self.config.snapshot_every;
        if every == 0 || self.applied.saturating_sub(self.log.snapshot_index()) < every {
            return;
        }
        let index = self.applied;
        let term = self.log.term_at(index).unwrap_or(0);
        ctx.storage().put(
            SNAPSHOT_KEY,
            Snapshot {
                last_index: index,
                last_term: term,
                state: self.kv.clone(),
            }
            .into(),
        );
        self.log.compact(index, term, ctx.storage());
        ctx.count("snapshots", 1);
    }

    // ----- clients ------------------------------------------------------------------------

    fn on_client_request(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        seq: u64,
        first_open: u64,
        op: ClientOp,
    ) {
        if self.role != Role::Leader {
            self.reply_not_leader(from, seq, &op);
            return;
        }
        match (op, self.config.read_mode) {
            (ClientOp::Kv(KvOp::Read { key }), ReadMode::ReadIndex) => {
                // ReadIndex (§6.4): note the commit index (at least this term's no-op, which
                // covers everything committed before the term), confirm leadership with a
                // round of messages sent after it arrived, and serve once applied that far.
                self.reads.push(PendingRead {
                    client: from,
                    seq,
                    key,
                    read_index: self.commit.max(self.noop_index),
                    round: self.round + 1,
                });
                self.replicate(ctx);
                self.serve_reads(ctx);
            }
            (op @ (ClientOp::Kv(_) | ClientOp::Lock(_)), _) => {
                if let Some(result) = self.kv.remembered(from, seq) {
                    ctx.count("resends_deduplicated", 1);
                    self.reply_done(from, seq, result);
                    return;
                }
                if self.proposed.contains_key(&(from, seq)) {
                    // Already in the log this term; the answer comes when it applies.
                    return;
                }
                let index = self.propose(
                    ctx,
                    Command::Client(ClientCommand {
                        client: from,
                        seq,
                        first_open,
                        op,
                    }),
                );
                self.proposed.insert((from, seq), index);
                self.replicate(ctx);
                self.maybe_commit(ctx);
                if self.config.bugs.apply_before_commit {
                    // The bug: apply (and answer) what is only in the leader's log.
                    self.apply_up_to(ctx, self.log.last_index());
                }
            }
        }
    }

    /// A message from a client: a request of the `kv` or `lock` family.
    fn on_client_message(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: Msg) {
        let msg = match KvMsg::try_from(msg) {
            Ok(KvMsg::Request {
                seq,
                first_open,
                op,
            }) => return self.on_client_request(ctx, from, seq, first_open, ClientOp::Kv(op)),
            Ok(KvMsg::Reply { .. }) => return,
            Err(other) => other,
        };
        if let Ok(LockMsg::Request {
            seq,
            first_open,
            op,
        }) = LockMsg::try_from(msg)
        {
            self.on_client_request(ctx, from, seq, first_open, ClientOp::Lock(op));
        }
    }

    fn serve_reads(&mut self, _ctx: &mut Ctx<'_, World>) {
        if self.role != Role::Leader {
            return;
        }
        // Reads wait in arrival order, and both conditions only grow along it (the commit
        // index and the round at arrival never go back within a term), so the ready ones are
        // a prefix: stop at the first that is not.
        let Some(first) = self.reads.first() else {
            return;
        };
        if self.applied < first.read_index {
            return;
        }
        // The latest round a majority (the leader included) has answered: a read whose round
        // is at most this is confirmed.
        let quorum_round = {
            let mut small = [0u64; SMALL_CLUSTER];
            let mut large = Vec::new();
            let all = self.progress.values().map(|p| p.round);
            let rounds = gather(all, u64::MAX, &mut small, &mut large);
            rounds.sort_unstable_by(|a, b| b.cmp(a));
            rounds.get(self.majority() - 1).copied().unwrap_or(0)
        };
        let ready = self
            .reads
            .iter()
            .take_while(|r| self.applied >= r.read_index && r.round <= quorum_round)
            .count();
        for r in self.reads.drain(..ready) {
            let value = self.kv.get(r.key);
            let reply = KvMsg::Reply {
                seq: r.seq,
                outcome: KvOutcome::Done(KvResult::Value(value)),
            };
            self.outbox.push((r.client, reply.into()));
        }
    }

    fn step(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: RaftMsg) {
        match msg {
            RaftMsg::RequestVote {
                term,
                last_index,
                last_term,
                pre_vote,
            } => self.on_request_vote(ctx, from, term, last_index, last_term, pre_vote),
            RaftMsg::RequestVoteReply {
                term,
                granted,
                pre_vote,
            } => self.on_vote_reply(ctx, from, term, granted, pre_vote),
            RaftMsg::AppendEntries {
                term,
                prev_index,
                prev_term,
                entries,
                commit,
                round,
            } => self.on_append_entries(
                ctx, from, term, prev_index, prev_term, entries, commit, round,
            ),
            RaftMsg::AppendEntriesReply {
                term,
                success,
                match_index,
                conflict_term,
                conflict_index,
                round,
            } => self.on_append_reply(
                ctx,
                from,
                term,
                success,
                match_index,
                conflict_term,
                conflict_index,
                round,
            ),
            RaftMsg::InstallSnapshot {
                term,
                snapshot,
                round,
            } => self.on_install_snapshot(ctx, from, term, *snapshot, round),
        }
    }
}

impl Node<World> for RaftNode {
    fn on_start(&mut self, ctx: &mut Ctx<'_, World>) {
        self.recover(ctx);
        self.flush(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: Msg) {
        match RaftMsg::try_from(msg) {
            Ok(m) => self.step(ctx, from, m),
            Err(other) => self.on_client_message(ctx, from, other),
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
