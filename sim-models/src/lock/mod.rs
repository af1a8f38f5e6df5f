//! The lock service: etcd-style sessions, locks and fencing tokens on the Raft log, the clients
//! that use it and the protected store they write to (Kleppmann, "How to do distributed
//! locking", 2016).
//!
//! **The service** is `raft-kv` itself: its replicated state machine holds, next to the
//! registers, a table of leases and locks ([`crate::raft_kv::locks`]). A client opens a session
//! with `LeaseGrant { ttl }` (the lease id is the log index of the granting entry), keeps it
//! alive with `LeaseKeepAlive`, and tries `Acquire { lock, lease }`: `Granted { token }` or
//! `Busy { holder }`. The **fencing token** is the log index of the entry that granted the
//! lock: a revision that only grows and is the same on every replica. Revoking a lease releases
//! its locks. Requests travel like key-value ones — to the leader, redirected by `NotLeader`,
//! resent with the same (client, seq), applied once per session.
//!
//! **Expiry is the leader's job, on its own clock**, as in etcd's lessor
//! ([`crate::raft_kv::lessor`]): when a grant or keep-alive is applied on the leader, the
//! lease's deadline becomes the leader's `now + ttl`; a new leader gives every lease a fresh
//! `now + ttl`; on each heartbeat the leader proposes `LeaseExpire { lease, renewed_at }` for
//! the leases past their deadline. `renewed_at` is the
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
