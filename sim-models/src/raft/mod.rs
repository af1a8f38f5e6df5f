//! Raft (Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm", 2014;
//! section numbers below are the paper's, except §4.2.3, §6.x and §9.6, which are Ongaro's
//! dissertation, "Consensus: Bridging Theory and Practice", 2014): a replication engine over
//! any [`StateMachine`], as raft-rs keeps `RawNode` apart from the application. The `raft-kv`
//! model runs it over registers and the lock service ([`crate::raft_kv`]), serving
//! [`crate::kv_client`] and [`crate::lock::client`] nodes.
//!
//! **What runs.** Figure 2 of the paper, rule for rule; each module's doc quotes the rules its
//! handlers implement:
//!
//! * *Leader election* ([`election`], §5.2) with randomised election timeouts drawn from the
//!   node's own random stream (`election_timeout`), so a run replays exactly from its seed. A
//!   candidate wins with votes from a majority; a voter grants at most one vote per term, and
//!   only to a candidate whose log is at least as up-to-date as its own (§5.4.1).
//! * *Log replication* ([`replication`], §5.3): AppendEntries with the consistency check on the
//!   previous entry; a follower removes a conflicting suffix and appends. A rejection carries
//!   the follower's conflicting term and that term's first index, so the leader skips a whole
//!   term per round trip instead of one entry (fast back-off, end of §5.3). The leader sends
//!   optimistically (up to `max_entries_per_append` per message) and moves back on a
//!   rejection; one message is in flight per follower, and what queues meanwhile goes in the
//!   next (batching).
//! * *The commit rule* ([`tracker`], [`commit`], §5.4.2, Figure 8): a leader commits index N
//!   only when a majority holds it **and** `log[N].term` is its current term; older entries
//!   commit indirectly. A new leader appends a no-op so that happens promptly. The counter
//!   `commit_held_old_term` counts the times an old-term entry sat on a majority and was
//!   (rightly) not committed. `commit_rule = "any-term"` drops the term condition — the bug the
//!   figure warns about — so the invariant checker can be seen catching it
//!   (`scenarios/raft/figure8.toml`).
//! * *Persistence*: `currentTerm` and `votedFor` (key `meta`) and each log entry (the
//!   storage's append-only log, position = index) are written and synced before the
//!   node sends anything that depends on them: every handler queues its messages and
//!   [`node::RaftNode`] syncs, then sends. A restarted node recovers from storage alone; its
//!   commit index and state machine are rebuilt from the snapshot and re-learnt.
//! * *The state machine* ([`machine`]): the engine applies committed entries to it in order and
//!   keeps the client sessions that make resends idempotent ([`sessions`], §6.3). The machine
//!   may keep state on the leader only, and propose commands of its own at each heartbeat
//!   (`raft-kv`'s lessor keeps lease deadlines and proposes expiries).
//! * *Clients* ([`client`], §6.2): a server that does not lead answers `NotLeader` with the
//!   leader it knows; the leader answers once the operation is applied.
//! * *Linearizable reads* ([`read_index`], §6.4): `read_mode = "log"` sends reads through the
//!   log like writes; `"read-index"` (default) records the commit index (at least this term's
//!   no-op), confirms leadership with a fresh heartbeat round answered by a majority, and
//!   serves once the state machine has applied that far.
//! * *PreVote* (§9.6, `pre_vote`): before bumping its term, a would-be candidate asks whether
//!   a majority would vote for it; a server that heard from a leader within an election
//!   timeout says no. A node cut off from the leader then cannot disrupt the cluster.
//! * *CheckQuorum* (§6.2, §4.2.3, `check_quorum`): a leader that has not heard from a majority
//!   for an election timeout steps down, and servers that hear from a leader ignore vote
//!   requests for higher terms (the leader "lease" of etcd's implementation).
//! * *Log compaction* (§7): every `snapshot_every` applied entries a server snapshots its
//!   state machine (with the sessions) and drops the covered log prefix; a leader sends its
//!   snapshot (InstallSnapshot) to a follower that needs compacted entries, and does not
//!   resend it for a few heartbeats while it may still be on its way.
//!
//! **Not implemented**: cluster membership changes (§6; the configuration is fixed),
//! leadership transfer, chunked snapshots (one message carries the whole snapshot, which is
//! small here), and batching of client operations into one entry. Leases for reads without a
//! heartbeat round (§6.4.1) are not offered: they depend on bounded clock drift, which dsim can
//! break on purpose.
//!
//! **Invariants.** An [`observer::RaftObserver`] per cluster checks Election Safety, Leader
//! Append-Only, Log Matching, Leader Completeness and State Machine Safety as the run goes,
//! from facts the servers report; a breach becomes a `violation` event naming the nodes,
//! terms and indexes, and fails the run. See that module for what it keeps. An application may
//! follow the committed log through it ([`observer::CommitFollower`]): `raft-kv`'s lock service
//! reports lock commands to the run's lock witness that way.
//!
//! **Timeline and metrics.** Annotations `role`, `term`, `commit`, `log` (last index) and
//! `leader` (the leader's name as this server knows it; a change is a leader change).
//! Counters `elections` (candidacies: term bumps), `pre_votes`, `leaders_elected`,
//! `leaderless_ms` (time this server had no leader, on its own clock, counted from its last
//! word from the old leader), `check_quorum_stepdowns`,
//! `votes_refused_in_lease`, `truncations`, `resends_deduplicated` (a resent request answered
//! from its session instead of applied again), `snapshots`, `snapshots_sent`,
//! `snapshots_installed`, `commit_held_old_term`; histogram `commit_latency` (a leader's
//! append to commit). `raft-kv`'s machine adds `lease_expiries` (expiries proposed).
//!
//! **The model.** [`crate::raft_kv::RaftKv`] (registered as `raft-kv`) builds [`RaftNode`]s
//! over [`crate::raft_kv::KvLock`]. This module (the engine) names no application: only its
//! tests run it over a concrete machine.

pub mod client;
pub mod commit;
pub mod election;
pub mod log;
pub mod machine;
pub mod msg;
pub mod node;
pub mod observer;
pub mod progress;
pub mod read_index;
pub mod replica;
pub mod replication;
pub mod sessions;
pub mod tracker;

#[cfg(test)]
mod figure2_tests;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use sim_core::{Duration, DurationDist, Invariant};

use crate::bugs::BugSpec;
use crate::model::ConfigProblem;

pub use log::{ClientCommand, Command, Entry, Meta};
pub use machine::{Registered, Request, StateMachine};
pub use msg::{
    AppendEntries, AppendEntriesReply, InstallSnapshot, RaftMsg, RaftTimer, RequestVote,
    RequestVoteReply,
};
pub use node::RaftNode;
pub use observer::{CommitFollower, RaftObserver};
pub use replica::Snapshot;
pub use sessions::Sessions;

/// Election Safety (Figure 3): at most one leader is elected in a term.
pub const ELECTION_SAFETY: Invariant = Invariant::new("raft.election-safety", "Election Safety");
/// Leader Append-Only: a leader never overwrites or deletes entries in its log.
pub const LEADER_APPEND_ONLY: Invariant =
    Invariant::new("raft.leader-append-only", "Leader Append-Only");
/// Log Matching: two logs with an entry of the same index and term agree up to it.
pub const LOG_MATCHING: Invariant = Invariant::new("raft.log-matching", "Log Matching");
/// Leader Completeness: an entry committed in a term is in the log of every later leader.
pub const LEADER_COMPLETENESS: Invariant =
    Invariant::new("raft.leader-completeness", "Leader Completeness");
/// State Machine Safety: no two servers apply different entries at one index.
pub const STATE_MACHINE_SAFETY: Invariant =
    Invariant::new("raft.state-machine-safety", "State Machine Safety");
/// A server's storage holds what it wrote: its term and vote, its snapshot, and every entry
/// from the snapshot on (a bug in the model or the engine, never in a scenario).
pub const STORAGE_INTACT: Invariant = Invariant::new("raft.storage-intact", "Raft storage");

/// Every invariant a `raft-kv` cluster reports.
pub const INVARIANTS: &[Invariant] = &[
    ELECTION_SAFETY,
    LEADER_APPEND_ONLY,
    LOG_MATCHING,
    LEADER_COMPLETENESS,
    STATE_MACHINE_SAFETY,
    STORAGE_INTACT,
];

/// How the leader serves reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadMode {
    /// Reads go through the log like writes (simple, costs a log entry per read).
    Log,
    /// ReadIndex: confirm leadership with a heartbeat round, then read the state machine.
    #[default]
    ReadIndex,
}

/// Which entries a leader may commit by counting replicas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommitRule {
    /// Only entries of the leader's current term; older ones commit with them (§5.4.2). Safe.
    #[default]
    CurrentTerm,
    /// Any entry stored on a majority. **Unsafe**: the bug of the paper's Figure 8, offered so
    /// the invariant checker can be seen catching it (`scenarios/raft/figure8.toml`).
    AnyTerm,
}

/// Raft's catalog bugs (see [`crate::bugs`]): each a mistake real implementations made.
pub const BUGS: &[BugSpec] = &[
    VOTE_NOT_PERSISTED,
    COMMIT_OLD_TERM,
    VOTE_WITHOUT_LOG_CHECK,
    APPLY_BEFORE_COMMIT,
];

/// `raft.vote-not-persisted`.
pub const VOTE_NOT_PERSISTED: BugSpec = BugSpec {
    name: "raft.vote-not-persisted",
    description: "votedFor is not written to storage: a server that restarts votes again in the same term, and two leaders are elected",
    caught_by: "Raft observer: Election Safety",
};

/// `raft.commit-old-term`.
pub const COMMIT_OLD_TERM: BugSpec = BugSpec {
    name: "raft.commit-old-term",
    description: "a leader commits an entry of an earlier term by counting its replicas (the paper's Figure 8); a later leader overwrites it",
    caught_by: "Raft observer: Leader Completeness / State Machine Safety",
};

/// `raft.vote-without-log-check`.
pub const VOTE_WITHOUT_LOG_CHECK: BugSpec = BugSpec {
    name: "raft.vote-without-log-check",
    description: "a server grants its vote without checking that the candidate's log is at least as up-to-date as its own; a stale leader overwrites committed entries",
    caught_by: "Raft observer: Leader Completeness / State Machine Safety",
};

/// `raft.apply-before-commit`.
pub const APPLY_BEFORE_COMMIT: BugSpec = BugSpec {
    name: "raft.apply-before-commit",
    description: "the leader applies an entry (and answers the client) as soon as it appends it, before a majority holds it; a new leader loses the acknowledged write",
    caught_by: "Raft observer: State Machine Safety; linearizability",
};

/// Which of [`BUGS`] a cluster runs with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RaftBugs {
    /// `raft.vote-not-persisted`.
    pub vote_not_persisted: bool,
    /// `raft.commit-old-term`: behaves as `commit_rule = "any-term"`.
    pub commit_old_term: bool,
    /// `raft.vote-without-log-check`.
    pub vote_without_log_check: bool,
    /// `raft.apply-before-commit`.
    pub apply_before_commit: bool,
}

impl RaftBugs {
    /// The switches `bugs` turns on.
    pub fn from(bugs: &crate::bugs::Bugs) -> Self {
        RaftBugs {
            vote_not_persisted: bugs.has(&VOTE_NOT_PERSISTED),
            commit_old_term: bugs.has(&COMMIT_OLD_TERM),
            vote_without_log_check: bugs.has(&VOTE_WITHOUT_LOG_CHECK),
            apply_before_commit: bugs.has(&APPLY_BEFORE_COMMIT),
        }
    }
}

fn default_election_timeout() -> DurationDist {
    DurationDist::Uniform {
        lo: Duration::from_millis(150),
        hi: Duration::from_millis(300),
    }
}
fn default_heartbeat() -> Duration {
    Duration::from_millis(50)
}
fn default_snapshot_every() -> u64 {
    1000
}
fn default_max_entries() -> u64 {
    64
}

/// Configuration of a `raft-kv` cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaftConfig {
    /// How long a follower waits without hearing from a leader before campaigning, drawn
    /// afresh each time (default `uniform(150ms, 300ms)`, the paper's range).
    #[serde(default = "default_election_timeout")]
    pub election_timeout: DurationDist,
    /// How often a leader sends AppendEntries when it has nothing new (default `50ms`).
    #[serde(default = "default_heartbeat")]
    pub heartbeat: Duration,
    /// Run a pre-vote round before bumping the term (default false).
    #[serde(default)]
    pub pre_vote: bool,
    /// Leaders step down without a majority; followers with a leader ignore vote requests
    /// (default false).
    #[serde(default)]
    pub check_quorum: bool,
    /// `"read-index"` (default) or `"log"`.
    #[serde(default)]
    pub read_mode: ReadMode,
    /// Snapshot and compact the log every this many applied entries; 0 never (default 1000).
    #[serde(default = "default_snapshot_every")]
    pub snapshot_every: u64,
    /// Most entries in one AppendEntries (default 64).
    #[serde(default = "default_max_entries")]
    pub max_entries_per_append: u64,
    /// `"current-term"` (default, the paper's rule) or `"any-term"` (deliberately unsafe).
    #[serde(default)]
    pub commit_rule: CommitRule,
    /// The catalog bugs switched on (from the scenario's `bugs`, not a key of the cluster).
    #[serde(skip)]
    pub bugs: RaftBugs,
}

impl RaftConfig {
    /// Checks what the values' types cannot (the heartbeat against the election timeout).
    pub fn check(&self) -> Result<(), ConfigProblem> {
        let Some(mean) = self.election_timeout.mean().filter(|m| *m > Duration::ZERO) else {
            return Err(ConfigProblem {
                key: "election_timeout".into(),
                message: format!(
                    "election_timeout {} must have a finite mean above 0",
                    self.election_timeout
                ),
            });
        };
        if self.heartbeat == Duration::ZERO || self.heartbeat >= mean {
            return Err(ConfigProblem {
                key: "heartbeat".into(),
                message: format!(
                    "heartbeat {} must be above 0 and shorter than the mean election timeout ({mean}), or followers time out between heartbeats",
                    self.heartbeat
                ),
            });
        }
        if self.max_entries_per_append == 0 {
            return Err(ConfigProblem {
                key: "max_entries_per_append".into(),
                message: "max_entries_per_append must be at least 1".into(),
            });
        }
        Ok(())
    }
}
