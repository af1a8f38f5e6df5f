//! Raft's messages between servers, one struct per message (Figure 2 of the paper, plus
//! PreVote and InstallSnapshot), and its timers.

use std::fmt::{self, Debug};

use sim_core::Labeled;

use crate::raft::log::Entry;
use crate::raft::machine::StateMachine;
use crate::raft::replica::Snapshot;

/// RequestVote RPC (Figure 2): a candidate asks for a vote; with `pre_vote`, it asks whether
/// it *would* get one at `term` (its term + 1) without anyone changing term (§9.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestVote {
    /// The candidate's term (for a pre-vote: the term it would campaign in).
    pub term: u64,
    /// Index of its last log entry.
    pub last_index: u64,
    /// Term of its last log entry.
    pub last_term: u64,
    /// Whether this is a pre-vote.
    pub pre_vote: bool,
}

/// The answer to a [`RequestVote`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestVoteReply {
    /// The voter's term (for a granted pre-vote: the term asked about).
    pub term: u64,
    /// Whether the vote (or pre-vote) is granted.
    pub granted: bool,
    /// Whether it answers a pre-vote.
    pub pre_vote: bool,
}

/// AppendEntries RPC (Figure 2): the leader replicates entries (none: a heartbeat).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendEntries<S: StateMachine> {
    /// The leader's term.
    pub term: u64,
    /// Index of the entry just before `entries`.
    pub prev_index: u64,
    /// Its term (the consistency check).
    pub prev_term: u64,
    /// Entries to store (possibly none).
    pub entries: Vec<Entry<S>>,
    /// The leader's commit index.
    pub commit: u64,
    /// The leader's round when it sent this (ReadIndex confirmation, batching).
    pub round: u64,
}

/// A follower's answer to [`AppendEntries`] or [`InstallSnapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendEntriesReply {
    /// The follower's term.
    pub term: u64,
    /// Whether the entries (or snapshot) were taken.
    pub success: bool,
    /// On success, the last index known to match the leader's log.
    pub match_index: u64,
    /// On failure, the term of the follower's conflicting entry at `prev_index`, if it had
    /// one (fast back-off: the leader skips that whole term).
    pub conflict_term: Option<u64>,
    /// On failure, the first index of that term in the follower's log, or its last index + 1
    /// when its log was too short.
    pub conflict_index: u64,
    /// The round of the message this answers.
    pub round: u64,
}

/// InstallSnapshot RPC (Figure 13): the leader sends its snapshot to a follower that needs
/// entries it has compacted (one message rather than the paper's chunks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallSnapshot<S: StateMachine> {
    /// The leader's term.
    pub term: u64,
    /// The snapshot (boxed: it is far bigger than the other messages).
    pub snapshot: Box<Snapshot<S>>,
    /// The leader's round when it sent this.
    pub round: u64,
}

/// Messages between Raft servers replicating `S`.
#[derive(Clone, PartialEq, Eq)]
pub enum RaftMsg<S: StateMachine> {
    /// See [`RequestVote`].
    RequestVote(RequestVote),
    /// See [`RequestVoteReply`].
    RequestVoteReply(RequestVoteReply),
    /// See [`AppendEntries`].
    AppendEntries(AppendEntries<S>),
    /// See [`AppendEntriesReply`].
    AppendEntriesReply(AppendEntriesReply),
    /// See [`InstallSnapshot`].
    InstallSnapshot(InstallSnapshot<S>),
}

/// A message shows as the struct it carries.
impl<S: StateMachine> Debug for RaftMsg<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RaftMsg::RequestVote(m) => m.fmt(f),
            RaftMsg::RequestVoteReply(m) => m.fmt(f),
            RaftMsg::AppendEntries(m) => m.fmt(f),
            RaftMsg::AppendEntriesReply(m) => m.fmt(f),
            RaftMsg::InstallSnapshot(m) => m.fmt(f),
        }
    }
}

impl<S: StateMachine> Labeled for RaftMsg<S> {
    fn label(&self) -> &'static str {
        match self {
            RaftMsg::RequestVote(m) if m.pre_vote => "PreVote",
            RaftMsg::RequestVote(_) => "RequestVote",
            RaftMsg::RequestVoteReply(m) if m.pre_vote => "PreVoteReply",
            RaftMsg::RequestVoteReply(_) => "RequestVoteReply",
            RaftMsg::AppendEntries(m) if m.entries.is_empty() => "Heartbeat",
            RaftMsg::AppendEntries(_) => "AppendEntries",
            RaftMsg::AppendEntriesReply(_) => "AppendEntriesReply",
            RaftMsg::InstallSnapshot(_) => "InstallSnapshot",
        }
    }
}

impl<S: StateMachine> From<RequestVote> for RaftMsg<S> {
    fn from(m: RequestVote) -> Self {
        RaftMsg::RequestVote(m)
    }
}

impl<S: StateMachine> From<RequestVoteReply> for RaftMsg<S> {
    fn from(m: RequestVoteReply) -> Self {
        RaftMsg::RequestVoteReply(m)
    }
}

impl<S: StateMachine> From<AppendEntries<S>> for RaftMsg<S> {
    fn from(m: AppendEntries<S>) -> Self {
        RaftMsg::AppendEntries(m)
    }
}

impl<S: StateMachine> From<AppendEntriesReply> for RaftMsg<S> {
    fn from(m: AppendEntriesReply) -> Self {
        RaftMsg::AppendEntriesReply(m)
    }
}

impl<S: StateMachine> From<InstallSnapshot<S>> for RaftMsg<S> {
    fn from(m: InstallSnapshot<S>) -> Self {
        RaftMsg::InstallSnapshot(m)
    }
}

/// Timers of a Raft server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftTimer {
    /// No word from a leader for an election timeout (follower, candidate); on a leader with
    /// CheckQuorum, time to check it heard from a majority.
    Election,
    /// A leader's heartbeat.
    Heartbeat,
}

impl Labeled for RaftTimer {
    fn label(&self) -> &'static str {
        match self {
            RaftTimer::Election => "election",
            RaftTimer::Heartbeat => "heartbeat",
        }
    }
}
