//! The `kv` family: requests to a replicated key-value store and its answers (registers with
//! read, write and compare-and-set). Served by `raft-kv`; called by `kv-client`.

use sim_core::{Labeled, NodeId, OpCall};

use super::Family;

/// The key-value family.
pub const FAMILY: Family = Family {
    name: "kv",
    description: "key-value requests: read, write and compare-and-set on registers, answered by the leader",
};

/// An operation on the key-value state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvOp {
    /// Read a key.
    Read {
        /// The key.
        key: u64,
    },
    /// Write a value.
    Write {
        /// The key.
        key: u64,
        /// The value.
        value: i64,
    },
    /// Write `new` if the key holds `expected`.
    Cas {
        /// The key.
        key: u64,
        /// The value the key must hold.
        expected: i64,
        /// The value to write.
        new: i64,
    },
}

impl KvOp {
    /// The key the operation touches.
    pub fn key(&self) -> u64 {
        match *self {
            KvOp::Read { key } | KvOp::Write { key, .. } | KvOp::Cas { key, .. } => key,
        }
    }

    /// The history record of this operation.
    pub fn call(&self) -> OpCall {
        match *self {
            KvOp::Read { key } => OpCall::Read { key },
            KvOp::Write { key, value } => OpCall::Write { key, value },
            KvOp::Cas { key, expected, new } => OpCall::Cas { key, expected, new },
        }
    }
}

/// What applying an operation gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvResult {
    /// A read's value (None: the key is empty).
    Value(Option<i64>),
    /// A write took effect.
    Written,
    /// A compare-and-set matched and took effect.
    Swapped,
    /// A compare-and-set did not match (the key held this) and did nothing.
    Mismatch(Option<i64>),
}

/// A server's answer to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvOutcome {
    /// The operation was applied (or, for a read, served) with this result.
    Done(KvResult),
    /// This server does not lead; `leader` is its guess of who does.
    NotLeader {
        /// The leader it knows of, if any.
        leader: Option<NodeId>,
    },
}

/// Messages between key-value clients and servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvMsg {
    /// A client request. (client, `seq`) identifies it across resends.
    Request {
        /// The client's sequence number for this operation (from 1).
        seq: u64,
        /// The lowest sequence number the client still has open: results below it may be
        /// forgotten, and requests below it are stale.
        first_open: u64,
        /// What to do.
        op: KvOp,
    },
    /// A server's answer.
    Reply {
        /// The request's sequence number.
        seq: u64,
        /// What happened.
        outcome: KvOutcome,
    },
}

impl Labeled for KvMsg {
    fn label(&self) -> &'static str {
        match self {
            KvMsg::Request { .. } => "ClientRequest",
            KvMsg::Reply { .. } => "ClientReply",
        }
    }
}
