//! Client operation histories, as Jepsen records them: invoke, then ok / fail / info.
//!
//! Times are true simulated times (checkers see true time; models never do). An operation
//! that never completes, or completes with `info`, has an unknown outcome: it may or may not
//! have taken effect.

use std::ops::Range;

use serde::Serialize;

use crate::chunked::ChunkedVec;
use crate::node::NodeId;
use crate::time::SimTime;
use crate::trace::{OpPhase, ShortText};

/// An operation's id, unique within a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct OpId(pub u64);

/// What a client asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum OpCall {
    /// Read a key.
    Read {
        /// The key.
        key: u64,
    },
    /// Write a value to a key.
    Write {
        /// The key.
        key: u64,
        /// The value written.
        value: i64,
    },
    /// Compare-and-set: write `new` if the key holds `expected`.
    Cas {
        /// The key.
        key: u64,
        /// The value the key must hold.
        expected: i64,
        /// The value to write.
        new: i64,
    },
    /// Any other request, named (e.g. `ping`), with an optional target key.
    Other {
        /// The operation's name.
        name: &'static str,
        /// A key or target index, if any.
        key: u64,
    },
}

impl OpCall {
    /// The call in words (e.g. `write k3 7`), as the trace records it. Written by hand rather
    /// than through `format!`, into a [`ShortText`] (no allocation up to 24 bytes): a run
    /// describes every operation it invokes.
    pub fn describe(&self) -> ShortText {
        let mut out = ShortText::default();
        let mut num = itoa::Buffer::new();
        match self {
            OpCall::Read { key } => {
                out.push_str("read k");
                out.push_str(num.format(*key));
            }
            OpCall::Write { key, value } => {
                out.push_str("write k");
                out.push_str(num.format(*key));
                out.push(' ');
                out.push_str(num.format(*value));
            }
            OpCall::Cas { key, expected, new } => {
                out.push_str("cas k");
                out.push_str(num.format(*key));
                out.push(' ');
                out.push_str(num.format(*expected));
                out.push_str("->");
                out.push_str(num.format(*new));
            }
            OpCall::Other { name, key } => {
                out.push_str(name);
                out.push(' ');
                out.push_str(num.format(*key));
            }
        }
        out
    }
}

impl std::fmt::Display for OpCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// One operation: its call, its result and when each happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// The id.
    pub id: OpId,
    /// The client that issued it.
    pub client: NodeId,
    /// What was asked.
    pub call: OpCall,
    /// When it was invoked (true time).
    pub invoked: SimTime,
    /// When it completed (true time), if it did.
    pub completed: Option<SimTime>,
    /// Ok, fail or info; `Invoke` while it has not completed.
    pub status: OpPhase,
    /// The value a read returned (None: the key was empty, or no value).
    pub result: Option<i64>,
}

/// Every operation of a run, in invocation order.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Chunked: a long run records hundreds of thousands of operations, and a growing `Vec`
    /// would copy them all at every doubling.
    ops: ChunkedVec<Operation>,
}

/// Per-client tallies of a history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpCounts {
    /// Invoked operations.
    pub invoked: u64,
    /// Completed ok.
    pub ok: u64,
    /// Completed fail.
    pub fail: u64,
    /// Completed info: the client gave up without knowing the outcome.
    pub unknown: u64,
    /// Still open when the run ended (not counted against availability).
    pub pending: u64,
}

impl OpCounts {
    /// The share of completed operations (ok, fail or info) that completed ok; operations
    /// still open when the run ended are left out. 1.0 when none completed.
    pub fn availability(&self) -> f64 {
        let completed = self.ok + self.fail + self.unknown;
        if completed == 0 {
            1.0
        } else {
            self.ok as f64 / completed as f64
        }
    }
}

impl History {
    /// Records an invocation at `time` and returns its id.
    pub fn invoke(&mut self, time: SimTime, client: NodeId, call: OpCall) -> OpId {
        let id = OpId(self.ops.len() as u64);
        self.ops.push(Operation {
            id,
            client,
            call,
            invoked: time,
            completed: None,
            status: OpPhase::Invoke,
            result: None,
        });
        id
    }

    /// Records the completion of `id`. Returns false (and changes nothing) if `id` is unknown,
    /// was invoked by another client, or already completed.
    pub fn complete(
        &mut self,
        time: SimTime,
        client: NodeId,
        id: OpId,
        status: OpPhase,
        result: Option<i64>,
    ) -> bool {
        match self.ops.get_mut(id.0 as usize) {
            Some(op)
                if op.client == client && op.completed.is_none() && status != OpPhase::Invoke =>
            {
                op.completed = Some(time);
                op.status = status;
                op.result = result;
                true
            }
            _ => false,
        }
    }

    /// Every operation in invocation order.
    pub fn operations(&self) -> &ChunkedVec<Operation> {
        &self.ops
    }

    /// Looks up one operation.
    pub fn get(&self, id: OpId) -> Option<&Operation> {
        self.ops.get(id.0 as usize)
    }

    /// Tallies the operations of the clients in `clients`.
    pub fn counts(&self, clients: &[NodeId]) -> OpCounts {
        self.counts_invoked_in(clients, SimTime::ZERO..SimTime(u64::MAX))
    }

    /// Tallies the operations of the clients in `clients` invoked in `window` (true time),
    /// each with the outcome it finally had, even if that came after the window closed: what
    /// a client asked for during a partition, and what became of it.
    pub fn counts_invoked_in(&self, clients: &[NodeId], window: Range<SimTime>) -> OpCounts {
        let mut c = OpCounts::default();
        let ops = self
            .ops
            .iter()
            .filter(|o| window.contains(&o.invoked) && clients.contains(&o.client));
        for op in ops {
            c.invoked += 1;
            match op.status {
                OpPhase::Ok => c.ok += 1,
                OpPhase::Fail => c.fail += 1,
                OpPhase::Info => c.unknown += 1,
                OpPhase::Invoke => c.pending += 1,
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_once_and_only_by_its_client() {
        let mut h = History::default();
        let id = h.invoke(SimTime(1), NodeId(3), OpCall::Read { key: 1 });
        assert!(!h.complete(SimTime(2), NodeId(4), id, OpPhase::Ok, None));
        assert!(h.complete(SimTime(2), NodeId(3), id, OpPhase::Ok, Some(7)));
        assert!(!h.complete(SimTime(3), NodeId(3), id, OpPhase::Fail, None));
        let op = h.get(id).expect("op");
        assert_eq!(
            (op.status, op.result, op.completed),
            (OpPhase::Ok, Some(7), Some(SimTime(2)))
        );
    }

    #[test]
    fn availability_counts_info_as_unavailable_and_skips_pending() {
        let mut h = History::default();
        let c = NodeId(0);
        let a = h.invoke(SimTime(1), c, OpCall::Read { key: 0 });
        let b = h.invoke(SimTime(1), c, OpCall::Read { key: 0 });
        h.invoke(SimTime(1), c, OpCall::Read { key: 0 });
        h.complete(SimTime(2), c, a, OpPhase::Ok, None);
        h.complete(SimTime(2), c, b, OpPhase::Info, None);
        let counts = h.counts(&[c]);
        assert_eq!((counts.ok, counts.unknown, counts.pending), (1, 1, 1));
        assert!(
            (counts.availability() - 0.5).abs() < 1e-12,
            "pending ops are left out"
        );
        assert_eq!(h.counts(&[]).availability(), 1.0);
    }

    #[test]
    fn a_window_counts_what_was_invoked_in_it_with_its_final_outcome() {
        let mut h = History::default();
        let c = NodeId(0);
        let before = h.invoke(SimTime(5), c, OpCall::Read { key: 0 });
        let inside = h.invoke(SimTime(10), c, OpCall::Read { key: 0 });
        let at_end = h.invoke(SimTime(20), c, OpCall::Read { key: 0 });
        h.complete(SimTime(11), c, before, OpPhase::Ok, None);
        h.complete(SimTime(30), c, inside, OpPhase::Info, None);
        h.complete(SimTime(21), c, at_end, OpPhase::Ok, None);
        let counts = h.counts_invoked_in(&[c], SimTime(10)..SimTime(20));
        assert_eq!((counts.invoked, counts.ok, counts.unknown), (1, 0, 1));
        assert_eq!(counts.availability(), 0.0);
    }
}
