//! The `lock` family: etcd-style sessions, locks and fencing tokens (see [`crate::lock`] for
//! the service and its clients). Served by `raft-kv`; called by `lock-client`.

use sim_core::{Duration, Labeled, NodeId};

use super::Family;

/// The lock-service family.
pub const FAMILY: Family = Family {
    name: "lock",
    description: "lock-service requests: lease grant and keep-alive, acquire and release, answered with fencing tokens",
};

/// An operation on the lock service's state machine, sent by a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockOp {
    /// Open a session: a lease that lives `ttl` past its last renewal.
    LeaseGrant {
        /// The lease's time to live.
        ttl: Duration,
    },
    /// Renew a lease.
    LeaseKeepAlive {
        /// The lease.
        lease: u64,
    },
    /// Try to take `lock` for `lease` (try-lock: a busy lock is not queued for).
    Acquire {
        /// The lock's name.
        lock: String,
        /// The session that will hold it.
        lease: u64,
    },
    /// Give `lock` up, if `lease` holds it.
    Release {
        /// The lock's name.
        lock: String,
        /// The session that holds it.
        lease: u64,
    },
}

impl LockOp {
    /// The operation's name in histories and timelines.
    pub fn name(&self) -> &'static str {
        match self {
            LockOp::LeaseGrant { .. } => "lease-grant",
            LockOp::LeaseKeepAlive { .. } => "keepalive",
            LockOp::Acquire { .. } => "acquire",
            LockOp::Release { .. } => "release",
        }
    }
}

/// What a lock operation gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockResult {
    /// A session was opened.
    LeaseGranted {
        /// Its id (the log index of the granting entry).
        lease: u64,
        /// Its time to live.
        ttl: Duration,
    },
    /// The lease was renewed.
    KeptAlive {
        /// Its time to live.
        ttl: Duration,
    },
    /// No such lease: it expired (and its locks were released) or never existed.
    LeaseNotFound,
    /// The lock is the caller's.
    Granted {
        /// The fencing token: the log index of the entry that granted it.
        token: u64,
    },
    /// Another lease holds the lock.
    Busy {
        /// The lease that holds it.
        holder: u64,
    },
    /// The lock was released.
    Released,
    /// The lease did not hold the lock (it was released already, or expired).
    NotHeld,
}

/// A lock service's answer to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockOutcome {
    /// The operation was applied with this result.
    Done(LockResult),
    /// This server does not lead; `leader` is its guess of who does.
    NotLeader {
        /// The leader it knows of, if any.
        leader: Option<NodeId>,
    },
}

/// Messages between lock clients and the lock service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockMsg {
    /// A client's request to the lock service. (client, `seq`) identifies it across resends.
    Request {
        /// The client's sequence number for this request (from 1).
        seq: u64,
        /// The lowest sequence number the client still has open.
        first_open: u64,
        /// What to do.
        op: LockOp,
    },
    /// The lock service's answer.
    Reply {
        /// The request's sequence number.
        seq: u64,
        /// What happened.
        outcome: LockOutcome,
    },
}

impl Labeled for LockMsg {
    fn label(&self) -> &'static str {
        match self {
            LockMsg::Request { op, .. } => match op {
                LockOp::LeaseGrant { .. } => "LeaseGrant",
                LockOp::LeaseKeepAlive { .. } => "LeaseKeepAlive",
                LockOp::Acquire { .. } => "Acquire",
                LockOp::Release { .. } => "Release",
            },
            LockMsg::Reply { .. } => "LockReply",
        }
    }
}
