//! The lock service: etcd-style sessions, locks and fencing tokens on the Raft log, the clients
//! that use it and the protected store they write to (Kleppmann, "How to do distributed
//! locking", 2016).
//!
//! **The service** is `raft-kv` itself: its replicated state machine holds, next to the
//! registers, a table of leases and locks ([`crate::raft::locks`]). A client opens a session
//! with `LeaseGrant { ttl }` (the lease id is the log index of the granting entry), keeps it
//! alive with `LeaseKeepAlive`, and tries `Acquire { lock, lease }`: `Granted { token }` or
//! `Busy { holder }`. The **fencing token** is the log index of the entry that granted the
//! lock: a revision that only grows and is the same on every replica. Revoking a lease releases
//! its locks. Requests travel like key-value ones — to the leader, redirected by `NotLeader`,
//! resent with the same (client, seq), applied once per session.
//!
//! **Expiry is the leader's job, on its own clock**, as in etcd's lessor: when a grant or
//! keep-alive is applied on the leader, the lease's deadline becomes the leader's `now + ttl`;
//! a new leader gives every lease a fresh `now + ttl`; on each heartbeat the leader proposes
//! `LeaseExpire { lease, renewed_at }` for the leases past their deadline. `renewed_at` is the
//! log index of the lease's last grant or keep-alive, so an expiry that a committed keep-alive
//! overtook does nothing. Followers keep no deadlines.
//!
//! **The clients** ([`client`], model `lock-client`) hold the lock for a while and, inside the
//! critical section, write to protected stores: check the lease on the local clock, wait
//! `work`, write. That check-then-act gap is where a GC pause, or a clock that runs slow, lets
//! a client write after its lease has expired and another client holds the lock.
//!
//! **The protected store** ([`store`], model `fenced-store`) is the resource. With `fencing =
//! true` it rejects a write whose token is below the highest it has accepted (kept durably);
//! without, it accepts everything.
//!
//! **The checker** ([`checker`]) judges each store's accepted writes in the order it applied
//! them: a token that goes back means two clients wrote under the lock (mutual exclusion is
//! broken); a ghost check, against the lock table as committed, counts writes accepted from a
//! token that no longer held the lock. [`witness`] is the ghost state that feeds it.

pub mod checker;
pub mod client;
pub mod store;
pub mod witness;

use sim_core::{Duration, Labeled, NodeId};

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

/// A protected store's answer to a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The write was applied.
    Accepted,
    /// The write's token is below the highest the store has accepted: it was refused.
    RejectedStale {
        /// The highest token the store has accepted.
        highest: u64,
    },
}

/// Messages between lock clients, the lock service and protected stores.
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
    /// A client writes `value` to a protected store under the lock it holds with `token`.
    Write {
        /// The client's sequence number for this write.
        seq: u64,
        /// The fencing token of the client's lock.
        token: u64,
        /// The value, unique per client and write.
        value: u64,
    },
    /// The store's answer to a write.
    WriteReply {
        /// The write's sequence number.
        seq: u64,
        /// Accepted or rejected.
        outcome: WriteOutcome,
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
            LockMsg::Write { .. } => "Write",
            LockMsg::WriteReply { .. } => "WriteReply",
        }
    }
}
