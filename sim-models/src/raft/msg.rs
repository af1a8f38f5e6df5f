//! Raft's messages between servers (Figure 2 of the paper, plus PreVote and InstallSnapshot)
//! and its timers.

use sim_core::Labeled;

use crate::raft::log::Entry;
use crate::raft::state_machine::Snapshot;

/// Messages between Raft servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftMsg {
    /// A candidate asks for a vote; with `pre_vote`, it asks whether it *would* get one at
    /// `term` (its term + 1) without anyone changing term (dissertation §9.6).
    RequestVote {
        /// The candidate's term (for a pre-vote: the term it would campaign in).
        term: u64,
        /// Index of its last log entry.
        last_index: u64,
        /// Term of its last log entry.
        last_term: u64,
        /// Whether this is a pre-vote.
        pre_vote: bool,
    },
    /// The answer to a vote request.
    RequestVoteReply {
        /// The voter's term (for a granted pre-vote: the term asked about).
        term: u64,
        /// Whether the vote (or pre-vote) is granted.
        granted: bool,
        /// Whether it answers a pre-vote.
        pre_vote: bool,
    },
    /// The leader replicates entries (none: a heartbeat).
    AppendEntries {
        /// The leader's term.
        term: u64,
        /// Index of the entry just before `entries`.
        prev_index: u64,
        /// Its term (the consistency check).
        prev_term: u64,
        /// Entries to store (possibly none).
        entries: Vec<Entry>,
        /// The leader's commit index.
        commit: u64,
        /// The leader's heartbeat round when it sent this (ReadIndex confirmation).
        round: u64,
    },
    /// A follower's answer to AppendEntries or InstallSnapshot.
    AppendEntriesReply {
        /// The follower's term.
        term: u64,
        /// Whether the entries (or snapshot) were taken.
        success: bool,
        /// On success, the last index known to match the leader's log.
        match_index: u64,
        /// On failure, the term of the follower's conflicting entry at `prev_index`, if it
        /// had one (fast back-off: the leader skips that whole term).
        conflict_term: Option<u64>,
        /// On failure, the first index of that term in the follower's log, or its last index
        /// + 1 when its log was too short.
        conflict_index: u64,
        /// The round of the message this answers.
        round: u64,
    },
    /// The leader sends its snapshot to a follower that needs entries it has compacted (one
    /// message rather than the paper's chunks).
    InstallSnapshot {
        /// The leader's term.
        term: u64,
        /// The snapshot.
        snapshot: Box<Snapshot>,
        /// The leader's heartbeat round when it sent this.
        round: u64,
    },
}

impl Labeled for RaftMsg {
    fn label(&self) -> &'static str {
        match self {
            RaftMsg::RequestVote { pre_vote: true, .. } => "PreVote",
            RaftMsg::RequestVote {
                pre_vote: false, ..
            } => "RequestVote",
            RaftMsg::RequestVoteReply { pre_vote: true, .. } => "PreVoteReply",
            RaftMsg::RequestVoteReply {
                pre_vote: false, ..
            } => "RequestVoteReply",
            RaftMsg::AppendEntries { entries, .. } if entries.is_empty() => "Heartbeat",
            RaftMsg::AppendEntries { .. } => "AppendEntries",
            RaftMsg::AppendEntriesReply { .. } => "AppendEntriesReply",
            RaftMsg::InstallSnapshot { .. } => "InstallSnapshot",
        }
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
