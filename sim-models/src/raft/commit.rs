//! From replicated to committed to applied: the commit index, the state machine, snapshots.
//!
//! The rules, from Figure 2 unless noted:
//!
//! * *Leaders*: "If there exists an N such that N > commitIndex, a majority of
//!   matchIndex\[i\] ≥ N, and log\[N\].term == currentTerm: set commitIndex = N" (§5.3, §5.4)
//!   — `RaftNode::maybe_commit`, with the rule itself in [`crate::raft::tracker`].
//! * *All Servers*: "If commitIndex > lastApplied: increment lastApplied, apply
//!   log\[lastApplied\] to state machine" (`RaftNode::apply_up_to`). A client's command
//!   applies once per session (§6.3); the leader answers the client once it has applied it.
//! * *Log compaction* (§7): every `snapshot_every` applied entries a server snapshots its state
//!   machine with the sessions and drops the covered log prefix (`RaftNode::maybe_snapshot`).

use sim_core::Ctx;

use crate::raft::STORAGE_INTACT;
use crate::raft::log::Command;
use crate::raft::machine::Registered;
use crate::raft::node::{RaftNode, SNAPSHOT_KEY};
use crate::raft::replica::Snapshot;
use crate::raft::sessions::Applied;
use crate::raft::tracker::CommitDecision;
use crate::world::World;

impl<S: Registered> RaftNode<S> {
    /// On the leader: commits what the commit rule allows, and counts an old-term entry held
    /// back (once per index).
    pub(super) fn maybe_commit(&mut self, ctx: &mut Ctx<'_, World>) {
        let Some(lead) = self.lead.as_ref() else {
            return;
        };
        let log = &self.log;
        let decision = lead.tracker.commit_decision(
            self.config.commit_rule,
            log.last_index(),
            self.term,
            self.commit,
            |n| log.term_at(n),
        );
        match decision {
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

    /// Moves the commit index up to `new` and applies what it covers.
    pub(super) fn advance_commit(&mut self, ctx: &mut Ctx<'_, World>, new: u64) {
        if new <= self.commit {
            return;
        }
        for i in self.commit + 1..=new {
            if let Some(e) = self.log.get(i) {
                let check = self
                    .observer
                    .borrow_mut()
                    .committed(self.cluster.me, self.term, e);
                Self::report(ctx, check);
            }
        }
        self.commit = new;
        ctx.annotate("commit", new);
        if let Some(lead) = self.lead.as_mut() {
            let now = ctx.now();
            while let Some(entry) = lead.proposed_at.first_entry() {
                if *entry.key() > new {
                    break;
                }
                let at = entry.remove();
                ctx.observe("commit_latency", now.nanos_since(at).max(0) as u64);
            }
        }
        self.apply_committed(ctx);
    }

    /// Applies every committed entry not yet applied.
    pub(super) fn apply_committed(&mut self, ctx: &mut Ctx<'_, World>) {
        self.apply_up_to(ctx, self.commit);
    }

    /// Applies entries up to `limit` (the commit index, but for a bug of the catalog). On the
    /// leader, the state machine follows up on each fresh client command and the client gets
    /// its answer.
    pub(super) fn apply_up_to(&mut self, ctx: &mut Ctx<'_, World>, limit: u64) {
        while self.applied < limit {
            let i = self.applied + 1;
            let Some(entry) = self.log.get(i) else {
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
                .applied(self.cluster.me, self.term, entry);
            Self::report(ctx, check);
            match &entry.command {
                Command::Noop => {}
                Command::Client(c) => {
                    let applied = self.replica.apply(i, c);
                    match applied {
                        Applied::Duplicate(_) => ctx.count("resends_deduplicated", 1),
                        Applied::Fresh(output) => {
                            if let Some(lead) = self.lead.as_mut() {
                                let machine = &self.replica.machine;
                                machine.on_applied(&mut lead.machine, ctx, &c.op, output);
                            }
                        }
                        Applied::Stale => {}
                    }
                    if let Some(lead) = self.lead.as_mut() {
                        lead.proposed.remove(&(c.client, c.seq));
                        if let Some(output) = applied.output() {
                            self.outbox.push((c.client, S::done(c.seq, output)));
                        }
                    }
                }
                Command::Machine(p) => self.replica.machine.apply_proposal(i, p),
            }
        }
        self.serve_reads();
        self.maybe_snapshot(ctx);
    }

    /// Snapshots the replicated state and compacts the log, every `snapshot_every` applied
    /// entries.
    fn maybe_snapshot(&mut self, ctx: &mut Ctx<'_, World>) {
        let every = self.config.snapshot_every;
        if every == 0 || self.applied.saturating_sub(self.log.snapshot_index()) < every {
            return;
        }
        let index = self.applied;
        let term = self.log.term_at(index).unwrap_or(0);
        let snapshot = Snapshot {
            last_index: index,
            last_term: term,
            state: self.replica.clone(),
        };
        ctx.storage().put(SNAPSHOT_KEY, S::store_snapshot(snapshot));
        self.log.compact(index, term, ctx.storage());
        ctx.count("snapshots", 1);
    }
}
