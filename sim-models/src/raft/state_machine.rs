//! The replicated state machine: a key-value map of registers, the lock service's leases and
//! locks ([`crate::raft::locks`]), and client sessions that make retries idempotent (Raft
//! dissertation §6.3).
//!
//! A session remembers, per client, the results of the operations it applied that the client
//! may still ask about. A request applied again (the client resent it, or a duplicate message
//! was appended twice) returns the remembered result instead of applying twice — a resent
//! `LeaseGrant` does not open a second lease. Each request carries the lowest sequence number
//! its client still has open; results below it are forgotten, and a request below it is stale
//! (the client has given up on it) and is skipped. Sessions live in the state machine, so
//! snapshots carry them and every replica agrees.

use std::collections::{BTreeMap, VecDeque};

use sim_core::NodeId;

use crate::protocols::kv::{KvOp, KvResult};
use crate::protocols::lock::LockResult;
use crate::raft::locks::LockTable;
use crate::raft::log::{ClientCommand, ClientOp};

/// The result of a client operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpResult {
    /// Of a register operation.
    Kv(KvResult),
    /// Of a lease or lock operation.
    Lock(LockResult),
}

/// One client's session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// Requests below this sequence number are finished for the client.
    floor: u64,
    /// Results of applied requests at or above `floor`, by sequence number (ascending). A
    /// client has a handful open at once and numbers them in order, so a sorted ring beats a
    /// tree: trimming pops the front and a new result usually goes at the back.
    results: VecDeque<(u64, OpResult)>,
}

impl Session {
    fn result(&self, seq: u64) -> Option<OpResult> {
        // A new request is above every remembered one: settle that without a search.
        if self.results.back().is_none_or(|&(s, _)| s < seq) {
            return None;
        }
        let i = self.results.partition_point(|&(s, _)| s < seq);
        self.results
            .get(i)
            .filter(|&&(s, _)| s == seq)
            .map(|&(_, r)| r)
    }

    fn remember(&mut self, seq: u64, result: OpResult) {
        if self.results.back().is_none_or(|&(s, _)| s < seq) {
            self.results.push_back((seq, result));
            return;
        }
        let i = self.results.partition_point(|&(s, _)| s < seq);
        self.results.insert(i, (seq, result));
    }

    /// Raises the floor to `first_open`, forgetting the results below it.
    fn raise_floor(&mut self, first_open: u64) {
        if first_open > self.floor {
            self.floor = first_open;
            while self.results.front().is_some_and(|&(s, _)| s < first_open) {
                self.results.pop_front();
            }
        }
    }
}

/// The state machine: registers, leases and locks, sessions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvState {
    data: BTreeMap<u64, i64>,
    locks: LockTable,
    /// Per client, sorted by client id (few clients: a binary search beats a tree).
    sessions: Vec<(NodeId, Session)>,
}

/// What applying a client command did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Applied now, with this result.
    Fresh(OpResult),
    /// Applied before: this is the remembered result.
    Duplicate(OpResult),
    /// Below the client's floor: skipped, nobody waits for it.
    Stale,
}

impl Applied {
    /// The result to send the client, if any.
    pub fn result(self) -> Option<OpResult> {
        match self {
            Applied::Fresh(r) | Applied::Duplicate(r) => Some(r),
            Applied::Stale => None,
        }
    }
}

impl KvState {
    /// The value of `key`, if set.
    pub fn get(&self, key: u64) -> Option<i64> {
        self.data.get(&key).copied()
    }

    /// The leases and locks.
    pub fn locks(&self) -> &LockTable {
        &self.locks
    }

    /// The remembered result of (client, seq), if it was applied and is still remembered.
    pub fn remembered(&self, client: NodeId, seq: u64) -> Option<OpResult> {
        let i = self
            .sessions
            .binary_search_by_key(&client, |(c, _)| *c)
            .ok()?;
        self.sessions[i].1.result(seq)
    }

    /// The position of `client`'s session in `sessions`, opened if it has none.
    fn session(&mut self, client: NodeId) -> usize {
        match self.sessions.binary_search_by_key(&client, |(c, _)| *c) {
            Ok(i) => i,
            Err(i) => {
                self.sessions.insert(i, (client, Session::default()));
                i
            }
        }
    }

    /// Applies a client command committed at log `index`, once per (client, seq).
    pub fn apply(&mut self, cmd: &ClientCommand, index: u64) -> Applied {
        let at = self.session(cmd.client);
        let session = &mut self.sessions[at].1;
        session.raise_floor(cmd.first_open);
        if cmd.seq < session.floor {
            return Applied::Stale;
        }
        if let Some(r) = session.result(cmd.seq) {
            return Applied::Duplicate(r);
        }
        let result = match &cmd.op {
            ClientOp::Kv(op) => OpResult::Kv(apply_kv(&mut self.data, *op)),
            ClientOp::Lock(op) => OpResult::Lock(self.locks.apply(cmd.client, op, index)),
        };
        self.sessions[at].1.remember(cmd.seq, result);
        Applied::Fresh(result)
    }

    /// Applies a leader's `LeaseExpire`: revokes the lease unless it was renewed after
    /// `renewed_at`. Returns whether it revoked it.
    pub fn expire(&mut self, lease: u64, renewed_at: u64) -> bool {
        self.locks.expire(lease, renewed_at)
    }
}

fn apply_kv(data: &mut BTreeMap<u64, i64>, op: KvOp) -> KvResult {
    match op {
        KvOp::Read { key } => KvResult::Value(data.get(&key).copied()),
        KvOp::Write { key, value } => {
            data.insert(key, value);
            KvResult::Written
        }
        KvOp::Cas { key, expected, new } => {
            let current = data.get(&key).copied();
            if current == Some(expected) {
                data.insert(key, new);
                KvResult::Swapped
            } else {
                KvResult::Mismatch(current)
            }
        }
    }
}

/// A snapshot: the state machine as of `last_index`, and that entry's term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The last log index applied to `state`.
    pub last_index: u64,
    /// Its term.
    pub last_term: u64,
    /// The state machine with its sessions.
    pub state: KvState,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::lock::LockOp;
    use sim_core::Duration;

    const CLIENT: NodeId = NodeId(7);

    fn cmd(seq: u64, first_open: u64, op: KvOp) -> ClientCommand {
        lock_cmd_of(CLIENT, seq, first_open, ClientOp::Kv(op))
    }

    fn lock_cmd_of(client: NodeId, seq: u64, first_open: u64, op: ClientOp) -> ClientCommand {
        ClientCommand {
            client,
            seq,
            first_open,
            op,
        }
    }

    fn lock_cmd(client: NodeId, seq: u64, op: LockOp) -> ClientCommand {
        lock_cmd_of(client, seq, seq, ClientOp::Lock(op))
    }

    fn kv(r: KvResult) -> OpResult {
        OpResult::Kv(r)
    }

    fn lock(r: LockResult) -> OpResult {
        OpResult::Lock(r)
    }

    #[test]
    fn a_retried_request_applies_once() {
        let mut s = KvState::default();
        let w = cmd(1, 1, KvOp::Write { key: 0, value: 10 });
        assert_eq!(s.apply(&w, 1), Applied::Fresh(kv(KvResult::Written)));
        let c = cmd(
            2,
            1,
            KvOp::Cas {
                key: 0,
                expected: 10,
                new: 20,
            },
        );
        assert_eq!(s.apply(&c, 2), Applied::Fresh(kv(KvResult::Swapped)));
        // The same cas again (a resend appended twice): remembered, not re-evaluated (which
        // would now be a mismatch).
        assert_eq!(s.apply(&c, 3), Applied::Duplicate(kv(KvResult::Swapped)));
        assert_eq!(s.get(0), Some(20));
        assert_eq!(s.remembered(CLIENT, 2), Some(kv(KvResult::Swapped)));
    }

    #[test]
    fn results_below_the_floor_are_forgotten_and_stale_requests_skipped() {
        let mut s = KvState::default();
        s.apply(&cmd(1, 1, KvOp::Write { key: 1, value: 5 }), 1);
        s.apply(&cmd(3, 3, KvOp::Read { key: 1 }), 2);
        assert_eq!(s.remembered(CLIENT, 1), None);
        // A late copy of seq 2 (the client gave up on it): skipped, the value stays.
        assert_eq!(
            s.apply(&cmd(2, 2, KvOp::Write { key: 1, value: 9 }), 3),
            Applied::Stale
        );
        assert_eq!(s.get(1), Some(5));
    }

    #[test]
    fn a_failed_cas_changes_nothing() {
        let mut s = KvState::default();
        let c = cmd(
            1,
            1,
            KvOp::Cas {
                key: 3,
                expected: 1,
                new: 2,
            },
        );
        assert_eq!(s.apply(&c, 1), Applied::Fresh(kv(KvResult::Mismatch(None))));
        assert_eq!(s.get(3), None);
    }

    const TTL: Duration = Duration::from_secs(2);

    /// Two clients open sessions at indexes 1 and 2; client 1 takes lock "l" at 3.
    fn two_sessions_one_holder() -> KvState {
        let mut s = KvState::default();
        let grant = LockOp::LeaseGrant { ttl: TTL };
        assert_eq!(
            s.apply(&lock_cmd(NodeId(1), 1, grant.clone()), 1),
            Applied::Fresh(lock(LockResult::LeaseGranted { lease: 1, ttl: TTL }))
        );
        assert_eq!(
            s.apply(&lock_cmd(NodeId(2), 1, grant), 2),
            Applied::Fresh(lock(LockResult::LeaseGranted { lease: 2, ttl: TTL }))
        );
        let acquire = LockOp::Acquire {
            lock: "l".into(),
            lease: 1,
        };
        assert_eq!(
            s.apply(&lock_cmd(NodeId(1), 2, acquire), 3),
            Applied::Fresh(lock(LockResult::Granted { token: 3 }))
        );
        s
    }

    #[test]
    fn grant_keepalive_acquire_busy_release() {
        let mut s = two_sessions_one_holder();
        let busy = LockOp::Acquire {
            lock: "l".into(),
            lease: 2,
        };
        assert_eq!(
            s.apply(&lock_cmd(NodeId(2), 2, busy.clone()), 4),
            Applied::Fresh(lock(LockResult::Busy { holder: 1 }))
        );
        assert_eq!(
            s.apply(
                &lock_cmd(NodeId(1), 3, LockOp::LeaseKeepAlive { lease: 1 }),
                5
            ),
            Applied::Fresh(lock(LockResult::KeptAlive { ttl: TTL }))
        );
        let release = LockOp::Release {
            lock: "l".into(),
            lease: 1,
        };
        assert_eq!(
            s.apply(&lock_cmd(NodeId(1), 4, release), 6),
            Applied::Fresh(lock(LockResult::Released))
        );
        // Client 2 tries again (a new request): granted, with a higher token.
        assert_eq!(
            s.apply(&lock_cmd(NodeId(2), 3, busy), 7),
            Applied::Fresh(lock(LockResult::Granted { token: 7 }))
        );
        assert_eq!(
            s.locks().holder("l").map(|h| (h.lease, h.token)),
            Some((2, 7))
        );
    }

    #[test]
    fn expiry_releases_the_locks_and_a_stale_expiry_is_ignored() {
        let mut s = two_sessions_one_holder();
        // The leader proposed an expiry of lease 1 as of its grant (index 1), but a keep-alive
        // committed first (index 4): the expiry does nothing.
        s.apply(
            &lock_cmd(NodeId(1), 3, LockOp::LeaseKeepAlive { lease: 1 }),
            4,
        );
        assert!(!s.expire(1, 1));
        assert_eq!(s.locks().holder("l").map(|h| h.token), Some(3));
        // Expired as of its last renewal: gone, and so is its lock.
        assert!(s.expire(1, 4));
        assert_eq!(s.locks().holder("l"), None);
        assert_eq!(
            s.apply(
                &lock_cmd(NodeId(1), 4, LockOp::LeaseKeepAlive { lease: 1 }),
                6
            ),
            Applied::Fresh(lock(LockResult::LeaseNotFound)),
            "the holder learns its session is gone"
        );
    }

    #[test]
    fn resent_lock_requests_are_answered_from_the_session() {
        let mut s = KvState::default();
        let c = NodeId(1);
        let grant = lock_cmd(c, 1, LockOp::LeaseGrant { ttl: TTL });
        let granted = lock(LockResult::LeaseGranted { lease: 1, ttl: TTL });
        assert_eq!(s.apply(&grant, 1), Applied::Fresh(granted));
        // The grant appended again (the resend reached a second leader): the same lease, not
        // a second one.
        assert_eq!(s.apply(&grant, 2), Applied::Duplicate(granted));
        assert!(s.locks().lease(2).is_none());
        // A duplicate acquire keeps the first token.
        let acquire = lock_cmd(
            c,
            2,
            LockOp::Acquire {
                lock: "l".into(),
                lease: 1,
            },
        );
        let token = lock(LockResult::Granted { token: 3 });
        assert_eq!(s.apply(&acquire, 3), Applied::Fresh(token));
        assert_eq!(s.apply(&acquire, 4), Applied::Duplicate(token));
        // A late copy of the grant, below the floor the acquire moved: skipped.
        assert_eq!(s.apply(&grant, 5), Applied::Stale);
        assert_eq!(s.locks().leases().count(), 1);
    }

    #[test]
    fn a_snapshot_carries_leases_locks_and_sessions() {
        let s = two_sessions_one_holder();
        let mut storage: sim_core::Storage<crate::world::Durable> = sim_core::Storage::default();
        storage.put_synced(
            "snapshot",
            crate::world::Durable::RaftSnapshot(Snapshot {
                last_index: 3,
                last_term: 1,
                state: s.clone(),
            }),
        );
        storage.crash();
        let Some(crate::world::Durable::RaftSnapshot(snap)) = storage.get("snapshot").cloned()
        else {
            panic!("the snapshot survives a crash");
        };
        let mut restored = snap.state;
        assert_eq!(restored, s);
        assert_eq!(restored.locks().holder("l").map(|h| h.token), Some(3));
        assert_eq!(restored.locks().lease(2).map(|l| l.owner), Some(NodeId(2)));
        // The session came along: a resend is still recognised after the restore.
        let acquire = lock_cmd(
            NodeId(1),
            2,
            LockOp::Acquire {
                lock: "l".into(),
                lease: 1,
            },
        );
        assert_eq!(
            restored.apply(&acquire, 4),
            Applied::Duplicate(lock(LockResult::Granted { token: 3 }))
        );
    }
}
