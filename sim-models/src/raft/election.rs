//! Leader election (§5.2, §5.4.1), with PreVote (§9.6) and CheckQuorum (§6.2, §4.2.3).
//!
//! The rules, from Figure 2 unless noted:
//!
//! * *Followers* (Rules for Servers): "If election timeout elapses without receiving
//!   AppendEntries RPC from current leader or granting vote to candidate: convert to
//!   candidate" — `RaftNode::on_election_timer`. With PreVote it first becomes a
//!   pre-candidate and asks whether it would win, without changing term.
//! * *Candidates*: "On conversion to candidate, start election: increment currentTerm, vote
//!   for self, reset election timer, send RequestVote RPCs to all other servers"
//!   (`RaftNode::start_election`); "If votes received from majority of servers: become
//!   leader" (`RaftNode::on_request_vote_reply`, `RaftNode::become_leader`); "If election
//!   timeout elapses: start new election".
//! * *RequestVote RPC, receiver implementation* (`RaftNode::on_request_vote`): "Reply false
//!   if term < currentTerm"; "If votedFor is null or candidateId, and candidate's log is at
//!   least as up-to-date as receiver's log, grant vote" — persisted before the reply leaves.
//!   A server that heard from a leader within an election timeout refuses pre-votes (§9.6)
//!   and, with CheckQuorum, ignores vote requests (§4.2.3).
//! * *Leaders* (`RaftNode::become_leader`): "Upon election: send initial empty
//!   AppendEntries RPCs (heartbeat) to each server", after appending a no-op of the new term
//!   (§8: entries of earlier terms commit only through it, and ReadIndex needs it). With
//!   CheckQuorum, a leader that has not heard from a majority for an election timeout steps
//!   down.

use std::collections::BTreeSet;

use sim_core::{Ctx, NodeId};

use crate::raft::log::Command;
use crate::raft::machine::Registered;
use crate::raft::msg::{RequestVote, RequestVoteReply};
use crate::raft::node::{Leadership, RaftNode, Role};
use crate::raft::read_index::ReadQueue;
use crate::raft::tracker::Tracker;
use crate::world::World;

impl<S: Registered> RaftNode<S> {
    /// The election timer fired: campaign (or, with PreVote, ask first); on a leader with
    /// CheckQuorum, step down unless a majority was heard from since the last check.
    pub(super) fn on_election_timer(&mut self, ctx: &mut Ctx<'_, World>) {
        self.election.timer = None;
        match self.role {
            Role::Leader => {
                if !self.config.check_quorum {
                    return;
                }
                let heard = self.lead.as_mut().map_or(1, |l| l.tracker.take_heard());
                if heard < self.cluster.majority() {
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

    /// Asks every peer whether it would vote for this server in the next term (§9.6).
    fn start_pre_vote(&mut self, ctx: &mut Ctx<'_, World>) {
        self.set_role(ctx, Role::PreCandidate);
        self.election.votes = BTreeSet::from([self.cluster.me]);
        self.reset_election_timer(ctx);
        ctx.count("pre_votes", 1);
        if self.election.votes.len() >= self.cluster.majority() {
            self.start_election(ctx);
            return;
        }
        self.ask_for_votes(self.term + 1, true);
    }

    /// Becomes a candidate of the next term, voting for itself.
    fn start_election(&mut self, ctx: &mut Ctx<'_, World>) {
        self.term += 1;
        self.voted_for = Some(self.cluster.me);
        self.save_meta(ctx);
        ctx.annotate("term", self.term);
        self.set_role(ctx, Role::Candidate);
        self.set_leader(ctx, None);
        self.election.votes = BTreeSet::from([self.cluster.me]);
        ctx.count("elections", 1);
        self.reset_election_timer(ctx);
        if self.election.votes.len() >= self.cluster.majority() {
            self.become_leader(ctx);
            return;
        }
        self.ask_for_votes(self.term, false);
    }

    /// Sends RequestVote for `term` to every peer.
    fn ask_for_votes(&mut self, term: u64, pre_vote: bool) {
        let m = RequestVote {
            term,
            last_index: self.log.last_index(),
            last_term: self.log.last_term(),
            pre_vote,
        };
        for i in 0..self.cluster.peers.len() {
            self.send(self.cluster.peers[i], m.clone());
        }
    }

    /// RequestVote RPC, receiver implementation.
    pub(super) fn on_request_vote(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        m: RequestVote,
    ) {
        // A server that has heard from a leader within an election timeout (its election timer
        // has not fired since) believes the leader is alive. It refuses pre-votes (§9.6) and,
        // with CheckQuorum, ignores vote requests (§4.2.3): a server that cannot hear the
        // leader then cannot depose it by bumping the term.
        let in_lease = self.leader.is_some() && (m.pre_vote || self.config.check_quorum);
        if m.term > self.term && in_lease {
            ctx.count("votes_refused_in_lease", 1);
            let refusal = RequestVoteReply {
                term: self.term,
                granted: false,
                pre_vote: m.pre_vote,
            };
            self.send(from, refusal);
            return;
        }
        let up_to_date = self.config.bugs.vote_without_log_check
            || self.log.candidate_up_to_date(m.last_index, m.last_term);
        if m.pre_vote {
            // Never change term for a pre-vote.
            let granted = m.term > self.term && up_to_date;
            let reply = RequestVoteReply {
                term: if granted { m.term } else { self.term },
                granted,
                pre_vote: true,
            };
            self.send(from, reply);
            return;
        }
        self.observe_term(ctx, m.term);
        let granted = m.term == self.term && up_to_date && self.voted_for.is_none_or(|v| v == from);
        if granted {
            self.voted_for = Some(from);
            self.save_meta(ctx);
            self.reset_election_timer(ctx);
        }
        let reply = RequestVoteReply {
            term: self.term,
            granted,
            pre_vote: false,
        };
        self.send(from, reply);
    }

    /// A vote (or pre-vote) came back: count it; a majority makes this server a candidate
    /// (after a pre-vote) or the leader.
    pub(super) fn on_request_vote_reply(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        m: RequestVoteReply,
    ) {
        if m.pre_vote {
            if !m.granted {
                // A refusal carries the voter's term; a later one means we are behind.
                self.observe_term(ctx, m.term);
                return;
            }
            if self.role == Role::PreCandidate && m.term == self.term + 1 {
                self.election.votes.insert(from);
                if self.election.votes.len() >= self.cluster.majority() {
                    self.start_election(ctx);
                }
            }
            return;
        }
        if self.observe_term(ctx, m.term) {
            return;
        }
        if self.role == Role::Candidate && m.term == self.term && m.granted {
            self.election.votes.insert(from);
            if self.election.votes.len() >= self.cluster.majority() {
                self.become_leader(ctx);
            }
        }
    }

    /// Takes office: the tracker starts every follower just past its log, the state machine
    /// makes its leader state (the lessor gives every lease a fresh deadline), a no-op of the
    /// new term goes in the log, and heartbeats go out.
    fn become_leader(&mut self, ctx: &mut Ctx<'_, World>) {
        self.set_role(ctx, Role::Leader);
        self.set_leader(ctx, Some(self.cluster.me));
        ctx.count("leaders_elected", 1);
        let check = self
            .observer
            .borrow_mut()
            .became_leader(self.cluster.me, self.term, &self.log);
        Self::report(ctx, check);
        let machine = self.replica.machine.on_elected(ctx);
        self.lead = Some(Leadership {
            tracker: Tracker::new(&self.cluster.peers, self.log.last_index() + 1),
            heartbeat_timer: None,
            noop_index: 0,
            proposed: Default::default(),
            proposed_at: Default::default(),
            reads: ReadQueue::default(),
            machine,
        });
        // A no-op of the new term: entries of earlier terms commit once it does (§5.4.2), and
        // ReadIndex needs it committed before serving reads (§6.4).
        let noop = self.propose(ctx, Command::Noop);
        if let Some(lead) = self.lead.as_mut() {
            lead.noop_index = noop;
        }
        if self.config.check_quorum {
            self.reset_election_timer(ctx);
        } else if let Some(t) = self.election.timer.take() {
            ctx.cancel_timer(t);
        }
        self.heartbeat(ctx);
        self.maybe_commit(ctx);
    }
}
