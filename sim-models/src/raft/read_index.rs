//! Linearizable reads without the log: ReadIndex (dissertation §6.4).
//!
//! The leader notes its commit index when a read arrives (at least this term's no-op, which
//! covers everything committed before the term), confirms it still leads with a round of
//! messages sent after the read arrived and answered by a majority, and serves the read once
//! its state machine has applied that far. [`ReadQueue`] keeps the reads waiting; the node
//! ([`crate::raft::RaftNode`]) serves them as the conditions come true.

use sim_core::NodeId;

/// A linearizable read waiting for its ReadIndex conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingRead<Q> {
    /// The client that asked.
    pub client: NodeId,
    /// Its sequence number for the read.
    pub seq: u64,
    /// What to read.
    pub query: Q,
    /// Serve once the state machine has applied this index...
    pub read_index: u64,
    /// ...and a majority answered a round at least this recent.
    pub round: u64,
}

/// The reads a leader holds, in arrival order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadQueue<Q> {
    reads: Vec<PendingRead<Q>>,
}

impl<Q> Default for ReadQueue<Q> {
    fn default() -> Self {
        ReadQueue { reads: Vec::new() }
    }
}

impl<Q: Copy> ReadQueue<Q> {
    /// Queues a read.
    pub fn push(&mut self, read: PendingRead<Q>) {
        self.reads.push(read);
    }

    /// Whether a read waits for a round later than `round` (a follower that has answered
    /// `round` must be sent another message for it).
    pub fn waits_for_round_after(&self, round: u64) -> bool {
        self.reads.last().is_some_and(|r| r.round > round)
    }

    /// The index the oldest read waits for the state machine to reach, if any read waits.
    pub fn first_index(&self) -> Option<u64> {
        self.reads.first().map(|r| r.read_index)
    }

    /// Takes the reads that may be served now that `applied` is applied and a majority has
    /// answered `quorum_round`. Both conditions only grow along the queue (the commit index
    /// and the round at arrival never go back within a term), so the ready reads are a
    /// prefix: it stops at the first that is not.
    pub fn take_ready(
        &mut self,
        applied: u64,
        quorum_round: u64,
    ) -> impl Iterator<Item = PendingRead<Q>> + '_ {
        let ready = self
            .reads
            .iter()
            .take_while(|r| applied >= r.read_index && r.round <= quorum_round)
            .count();
        self.reads.drain(..ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(seq: u64, read_index: u64, round: u64) -> PendingRead<u64> {
        PendingRead {
            client: NodeId(9),
            seq,
            query: seq * 10,
            read_index,
            round,
        }
    }

    fn seqs(q: &mut ReadQueue<u64>, applied: u64, quorum_round: u64) -> Vec<u64> {
        q.take_ready(applied, quorum_round).map(|r| r.seq).collect()
    }

    #[test]
    fn a_read_waits_for_both_its_index_and_a_confirming_round() {
        let mut q = ReadQueue::default();
        q.push(read(1, 5, 3));
        q.push(read(2, 6, 4));
        assert_eq!(q.first_index(), Some(5));
        assert!(seqs(&mut q, 4, 10).is_empty(), "not applied far enough");
        assert!(seqs(&mut q, 9, 2).is_empty(), "leadership not confirmed");
        assert_eq!(seqs(&mut q, 5, 3), [1], "the first only");
        assert!(q.waits_for_round_after(3));
        assert!(!q.waits_for_round_after(4));
        assert_eq!(seqs(&mut q, 6, 4), [2]);
        assert_eq!(q.first_index(), None);
    }
}
