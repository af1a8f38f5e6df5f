//! Log replication (§5.3), both sides: AppendEntries with the consistency check and fast
//! back-off, batching, and InstallSnapshot (§7) for followers that need compacted entries.
//!
//! The rules, from Figure 2 unless noted:
//!
//! * *Leaders*: "If command received from client: append entry to local log"
//!   (`RaftNode::propose`); "If last log index ≥ nextIndex for a follower: send
//!   AppendEntries RPC with log entries starting at nextIndex" (`RaftNode::send_append`);
//!   "If successful: update nextIndex and matchIndex for follower"; "If AppendEntries fails
//!   because of log inconsistency: decrement nextIndex and retry"
//!   (`RaftNode::on_append_entries_reply`) — by a whole term per round trip, from the
//!   follower's conflict hint (fast back-off, end of §5.3). The leader sends optimistically,
//!   up to `max_entries_per_append` per message, and keeps at most one message in flight per
//!   follower between heartbeats: what queues meanwhile goes in the next (batching). A
//!   follower that needs compacted entries gets the snapshot (Figure 13).
//! * *AppendEntries RPC, receiver implementation* (`RaftNode::on_append_entries`): "1. Reply
//!   false if term < currentTerm"; "2. Reply false if log doesn't contain an entry at
//!   prevLogIndex whose term matches prevLogTerm" (with the conflict hint); "3. If an existing
//!   entry conflicts with a new one (same index but different terms), delete the existing
//!   entry and all that follow it"; "4. Append any new entries not already in the log"; "5. If
//!   leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of last new entry)".
//! * *InstallSnapshot RPC, receiver implementation* (`RaftNode::on_install_snapshot`,
//!   Figure 13): a snapshot the log extends keeps the entries after it; otherwise the whole
//!   log goes, and the state machine is reset from the snapshot.

use sim_core::{Ctx, NodeId};

use crate::raft::STORAGE_INTACT;
use crate::raft::log::{Command, Entry};
use crate::raft::machine::Registered;
use crate::raft::msg::{AppendEntries, AppendEntriesReply, InstallSnapshot, RaftTimer};
use crate::raft::node::{Leadership, RaftNode, Role, SNAPSHOT_KEY};
use crate::raft::tracker::Progress;
use crate::world::World;

/// Heartbeat periods a leader waits for a follower to install a snapshot before sending it
/// again (it may have been lost).
const SNAPSHOT_RESEND_HEARTBEATS: u32 = 4;

impl<S: Registered> RaftNode<S> {
    // ----- leader side ---------------------------------------------------------------------

    /// Appends a new entry of the current term to the leader's log; returns its index.
    pub(super) fn propose(&mut self, ctx: &mut Ctx<'_, World>, command: Command<S>) -> u64 {
        let index = self.log.last_index() + 1;
        let prev_term = self.log.last_term();
        let entry = Entry {
            term: self.term,
            index,
            command,
        };
        let check = self.observer.borrow_mut().appended(
            self.cluster.me,
            prev_term,
            std::slice::from_ref(&entry),
        );
        Self::report(ctx, check);
        self.log.append(entry, ctx.storage());
        let now = ctx.now();
        if let Some(lead) = self.lead.as_mut() {
            lead.proposed_at.insert(index, now);
        }
        ctx.annotate("log", index);
        index
    }

    /// The heartbeat timer fired: the state machine may propose (lease expiries), and every
    /// follower hears from the leader.
    pub(super) fn on_heartbeat_timer(&mut self, ctx: &mut Ctx<'_, World>) {
        let Some(lead) = self.lead.as_mut() else {
            return;
        };
        lead.heartbeat_timer = None;
        lead.tracker.heartbeat_passed();
        let proposals = self.replica.machine.on_heartbeat(&mut lead.machine, ctx);
        let proposed = !proposals.is_empty();
        for p in proposals {
            self.propose(ctx, Command::Machine(p));
        }
        self.heartbeat(ctx);
        if proposed {
            self.maybe_commit(ctx);
        }
    }

    /// Sends every follower what it lacks (or an empty heartbeat), whether or not a message
    /// is already on its way, and arms the next heartbeat.
    pub(super) fn heartbeat(&mut self, ctx: &mut Ctx<'_, World>) {
        for i in 0..self.cluster.peers.len() {
            self.send_append(ctx, self.cluster.peers[i]);
        }
        let timer = ctx.set_timer(self.config.heartbeat, RaftTimer::Heartbeat.into());
        if let Some(lead) = self.lead.as_mut() {
            lead.heartbeat_timer = Some(timer);
        }
    }

    /// Sends new entries (and the current read round) to every follower with nothing on its
    /// way. The others get them in one message when their reply comes back, so at a high
    /// request rate one AppendEntries carries all the entries of a round trip.
    pub(super) fn replicate(&mut self, ctx: &mut Ctx<'_, World>) {
        for i in 0..self.cluster.peers.len() {
            let peer = self.cluster.peers[i];
            let idle = self
                .lead
                .as_ref()
                .and_then(|l| l.tracker.get(peer))
                .is_some_and(|p| p.idle());
            if idle {
                self.send_append(ctx, peer);
            }
        }
    }

    /// Sends `peer` the entries from its next index on (an empty heartbeat if it has them
    /// all), or the snapshot if they are compacted.
    fn send_append(&mut self, ctx: &mut Ctx<'_, World>, peer: NodeId) {
        let Some(p) = self.lead.as_mut().and_then(|l| l.tracker.get_mut(peer)) else {
            return;
        };
        self.round += 1;
        p.sent = self.round;
        let p = *p;
        if p.next <= self.log.snapshot_index() && p.snapshot_wait > 0 {
            // The snapshot sent earlier is on its way: only keep the follower's election timer
            // reset (the consistency check will fail, harmlessly).
            let m = AppendEntries {
                term: self.term,
                prev_index: self.log.snapshot_index(),
                prev_term: self.log.snapshot_term(),
                entries: Vec::new(),
                commit: self.commit,
                round: self.round,
            };
            self.send(peer, m);
            return;
        }
        if p.next <= self.log.snapshot_index() {
            self.send_snapshot(ctx, peer);
            return;
        }
        let prev_index = p.next - 1;
        let prev_term = self.log.term_at(prev_index).unwrap_or(0);
        let max = usize::try_from(self.config.max_entries_per_append).unwrap_or(usize::MAX);
        let entries = self.log.entries_from(p.next, max);
        // Optimistic: assume they arrive; a rejection moves `next` back.
        let next = p.next + entries.len() as u64;
        self.update_progress(peer, |p| p.next = next);
        let m = AppendEntries {
            term: self.term,
            prev_index,
            prev_term,
            entries,
            commit: self.commit,
            round: self.round,
        };
        self.send(peer, m);
    }

    /// Sends `peer` the snapshot from storage, and waits a few heartbeats before sending it
    /// again.
    fn send_snapshot(&mut self, ctx: &mut Ctx<'_, World>, peer: NodeId) {
        let stored = ctx.storage().get(SNAPSHOT_KEY);
        let Some(snapshot) = stored.and_then(S::stored_snapshot).cloned() else {
            let other = ctx.storage().get(SNAPSHOT_KEY).cloned();
            ctx.violation(
                STORAGE_INTACT,
                format!(
                    "log compacted to {} but {SNAPSHOT_KEY} holds {other:?}",
                    self.log.snapshot_index()
                ),
            );
            return;
        };
        ctx.count("snapshots_sent", 1);
        let next = snapshot.last_index + 1;
        self.update_progress(peer, |p| {
            p.next = next;
            p.snapshot_wait = SNAPSHOT_RESEND_HEARTBEATS;
        });
        let m = InstallSnapshot {
            term: self.term,
            snapshot: Box::new(snapshot),
            round: self.round,
        };
        self.send(peer, m);
    }

    /// Changes what the tracker knows of `peer`.
    fn update_progress(&mut self, peer: NodeId, f: impl FnOnce(&mut Progress)) {
        if let Some(p) = self.lead.as_mut().and_then(|l| l.tracker.get_mut(peer)) {
            f(p);
        }
    }

    /// A follower answered AppendEntries or InstallSnapshot: move its indexes (back, on a
    /// rejection, by the conflict hint), send what queued meanwhile, and see what commits.
    pub(super) fn on_append_entries_reply(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        m: AppendEntriesReply,
    ) {
        if self.observe_term(ctx, m.term) || self.role != Role::Leader || m.term < self.term {
            return;
        }
        let last = self.log.last_index();
        let Some(Leadership { tracker, reads, .. }) = self.lead.as_mut() else {
            return;
        };
        let Some(p) = tracker.get_mut(from) else {
            return;
        };
        p.active = true;
        p.round = p.round.max(m.round);
        // A read that arrived after this follower's last message left needs a new round.
        let mut more = reads.waits_for_round_after(p.round);
        if m.success {
            p.snapshot_wait = 0;
            p.matched = p.matched.max(m.match_index.min(last));
            p.next = p.next.max(p.matched + 1);
            more |= p.next <= last;
        } else {
            // Fast back-off: skip the follower's whole conflicting term, or jump to the end of
            // its log, instead of one entry per round trip.
            let hint = match m.conflict_term {
                Some(t) => self
                    .log
                    .last_index_of_term(t)
                    .map_or(m.conflict_index, |i| i + 1),
                None => m.conflict_index,
            };
            let next = hint.clamp(p.matched + 1, last + 1);
            if next < p.next {
                p.next = next;
                more = true;
            }
        }
        // Only once the latest message is answered: what queued meanwhile goes in one message.
        if more && p.idle() {
            self.send_append(ctx, from);
        }
        if m.success {
            self.maybe_commit(ctx);
        }
        self.serve_reads();
    }

    // ----- follower side -------------------------------------------------------------------

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
        self.election.last_contact = ctx.now();
        self.reset_election_timer(ctx);
        true
    }

    /// Answers `to` that its message of `round` was refused.
    fn reject(&mut self, to: NodeId, conflict_term: Option<u64>, conflict_index: u64, round: u64) {
        let m = AppendEntriesReply {
            term: self.term,
            success: false,
            match_index: 0,
            conflict_term,
            conflict_index,
            round,
        };
        self.send(to, m);
    }

    /// Answers `to` that its log matches up to `match_index`.
    fn acknowledge(&mut self, to: NodeId, match_index: u64, round: u64) {
        let m = AppendEntriesReply {
            term: self.term,
            success: true,
            match_index,
            conflict_term: None,
            conflict_index: 0,
            round,
        };
        self.send(to, m);
    }

    /// AppendEntries RPC, receiver implementation (rules 1 to 5).
    pub(super) fn on_append_entries(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        m: AppendEntries<S>,
    ) {
        let AppendEntries {
            term,
            mut prev_index,
            mut prev_term,
            mut entries,
            commit: leader_commit,
            round,
        } = m;
        // Rule 1.
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
        // Rule 2, the consistency check, with the conflict hint of §5.3's closing paragraphs.
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
        // Rules 3 and 4.
        let merge = self.log.merge(prev_index, &entries, ctx.storage());
        if !merge.removed.is_empty() {
            ctx.count("truncations", 1);
            let check =
                self.observer
                    .borrow_mut()
                    .truncated(self.cluster.me, self.term, &merge.removed);
            Self::report(ctx, check);
        }
        if let Some(first) = merge.appended_from {
            let prev = self.log.term_at(first - 1).unwrap_or(0);
            let added = self.log.tail_from(first);
            let check = self
                .observer
                .borrow_mut()
                .appended(self.cluster.me, prev, added);
            Self::report(ctx, check);
            ctx.annotate("log", self.log.last_index());
        }
        // Rule 5.
        if leader_commit > self.commit {
            self.advance_commit(ctx, leader_commit.min(last_new.max(snap)));
        }
        self.acknowledge(from, last_new.max(snap), round);
    }

    /// InstallSnapshot RPC, receiver implementation (Figure 13, in one message).
    pub(super) fn on_install_snapshot(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        m: InstallSnapshot<S>,
    ) {
        let InstallSnapshot {
            term,
            snapshot,
            round,
        } = m;
        if !self.accept_leader(ctx, from, term) {
            self.reject(from, None, 0, round);
            return;
        }
        let (index, snap_term) = (snapshot.last_index, snapshot.last_term);
        if index > self.commit {
            // Keep the log after the snapshot if it extends it; otherwise drop it all (§7).
            // Entries dropped here are either covered by the snapshot or uncommitted.
            self.log.compact(index, snap_term, ctx.storage());
            self.replica = snapshot.state.clone();
            ctx.storage()
                .put(SNAPSHOT_KEY, S::store_snapshot(*snapshot));
            self.commit = index;
            self.applied = index;
            ctx.count("snapshots_installed", 1);
            ctx.annotate("commit", index);
            ctx.annotate("log", self.log.last_index());
            let check =
                self.observer
                    .borrow_mut()
                    .snapshot_installed(self.cluster.me, index, snap_term);
            Self::report(ctx, check);
            self.apply_committed(ctx);
        }
        self.acknowledge(from, index, round);
    }
}
