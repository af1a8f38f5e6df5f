//! Client interaction (§6 of the dissertation): where a request goes, and when it is answered.
//!
//! * *Finding the leader* (§6.2): a server that does not lead answers `NotLeader` with the
//!   leader it knows of, in the family the request came in.
//! * *Commands* go through the log: the leader proposes each (client, seq) once per term and
//!   answers once it has applied it ([`crate::raft::commit`]); one already applied is answered
//!   from its session (§6.3).
//! * *Reads* ([`crate::raft::read_index`], §6.4): with `read_mode = "read-index"`, a request
//!   the state machine calls a read is served without the log, once its ReadIndex conditions
//!   hold; with `"log"` reads are commands like any other.

use sim_core::{Ctx, NodeId};

use crate::raft::ReadMode;
use crate::raft::log::{ClientCommand, Command};
use crate::raft::machine::{Registered, Request};
use crate::raft::node::RaftNode;
use crate::raft::read_index::PendingRead;
use crate::world::World;

impl<S: Registered> RaftNode<S> {
    /// A client's request.
    pub(super) fn on_client_request(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        request: Request<S::Command>,
    ) {
        let Request {
            seq,
            first_open,
            command,
        } = request;
        let Some(lead) = self.lead.as_mut() else {
            let answer = S::not_leader(seq, &command, self.leader);
            self.outbox.push((from, answer));
            return;
        };
        if self.config.read_mode == ReadMode::ReadIndex
            && let Some(query) = S::query(&command)
        {
            // ReadIndex: note the commit index (at least this term's no-op, which covers
            // everything committed before the term), confirm leadership with a round of
            // messages sent after it arrived, and serve once applied that far.
            lead.reads.push(PendingRead {
                client: from,
                seq,
                query,
                read_index: self.commit.max(lead.noop_index),
                round: self.round + 1,
            });
            self.replicate(ctx);
            self.serve_reads();
            return;
        }
        if let Some(output) = self.replica.remembered(from, seq) {
            ctx.count("resends_deduplicated", 1);
            self.outbox.push((from, S::done(seq, output)));
            return;
        }
        if lead.proposed.contains_key(&(from, seq)) {
            // Already in the log this term; the answer comes when it applies.
            return;
        }
        let index = self.propose(
            ctx,
            Command::Client(ClientCommand {
                client: from,
                seq,
                first_open,
                op: command,
            }),
        );
        if let Some(lead) = self.lead.as_mut() {
            lead.proposed.insert((from, seq), index);
        }
        self.replicate(ctx);
        self.maybe_commit(ctx);
        if self.config.bugs.apply_before_commit {
            // The bug: apply (and answer) what is only in the leader's log.
            self.apply_up_to(ctx, self.log.last_index());
        }
    }

    /// On the leader: answers the reads whose ReadIndex conditions hold.
    pub(super) fn serve_reads(&mut self) {
        let Some(lead) = self.lead.as_mut() else {
            return;
        };
        // Cheap test first: the oldest read waits for the state machine.
        if lead
            .reads
            .first_index()
            .is_none_or(|index| self.applied < index)
        {
            return;
        }
        let quorum_round = lead.tracker.quorum_round(self.cluster.majority());
        for r in lead.reads.take_ready(self.applied, quorum_round) {
            let output = self.replica.machine.read(r.query);
            self.outbox.push((r.client, S::done(r.seq, output)));
        }
    }
}
