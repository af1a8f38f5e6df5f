//! Ghost state of the lock service and the stores it protects, for the mutual-exclusion
//! checker ([`crate::lock::checker`]).
//!
//! One [`LockWitness`] per build of a scenario, shared through the build's
//! [`crate::model::Ghosts`]: each `raft-kv` cluster reports every lock command the moment it
//! is first known committed, with the lock table it leaves ([`crate::raft_kv::witness`]) (so the witness knows
//! each lock's holder as committed, and every grant ever made); each `fenced-store` reports
//! the writes it accepts, in order, and the witness notes whether the write's token held the
//! lock at that moment. Like the Raft observer it lives outside every node, so it survives
//! crashes, and no node reads it.

use std::collections::BTreeMap;

use sim_core::NodeId;

use crate::lock::checker::AcceptedWrite;
use crate::raft_kv::locks::{Holder, LockTable};

/// The key of the run's lock witness in [`crate::model::Ghosts`].
pub const KEY: &str = "lock-witness";

/// How a grant ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The holder released the lock.
    Released,
    /// The leader expired the holder's lease.
    Expired,
}

/// One grant of a lock, as committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The lock service (a `raft-kv` cluster).
    pub service: String,
    /// The lock.
    pub lock: String,
    /// The lease that held it.
    pub lease: u64,
    /// The client that opened that lease.
    pub client: NodeId,
    /// The log index and manner of its end, once it ended.
    pub ended: Option<(u64, Ended)>,
}

/// What the lock services committed and what the stores accepted.
#[derive(Debug, Default)]
pub struct LockWitness {
    /// Each (service, lock)'s holder as committed.
    holders: BTreeMap<(String, String), Holder>,
    /// Every grant, by (token, service).
    grants: BTreeMap<(u64, String), Grant>,
    /// Each store node's accepted writes, in the order it applied them.
    writes: BTreeMap<NodeId, Vec<AcceptedWrite>>,
}

impl LockWitness {
    /// `service` committed a lock command at `index`, leaving `table`; a grant it ended ended
    /// `how` (a client's command releases, an expiry expires).
    pub fn committed(&mut self, service: &str, index: u64, how: Ended, table: &LockTable) {
        let before: Vec<(String, Holder)> = self
            .holders
            .iter()
            .filter(|((s, _), _)| s == service)
            .map(|((_, lock), h)| (lock.clone(), *h))
            .collect();
        for (lock, h) in before {
            if table.holder(&lock) != Some(h) {
                self.holders.remove(&(service.to_owned(), lock));
                if let Some(g) = self.grants.get_mut(&(h.token, service.to_owned())) {
                    g.ended = Some((index, how));
                }
            }
        }
        for (lock, h) in table.holders() {
            let key = (service.to_owned(), lock.to_owned());
            if self.holders.get(&key) == Some(&h) {
                continue;
            }
            self.holders.insert(key, h);
            let client = table.lease(h.lease).map_or(NodeId(u32::MAX), |l| l.owner);
            self.grants.insert(
                (h.token, service.to_owned()),
                Grant {
                    service: service.to_owned(),
                    lock: lock.to_owned(),
                    lease: h.lease,
                    client,
                    ended: None,
                },
            );
        }
    }

    /// Store node `store` accepted `value` from `client` with `token`.
    pub fn accepted(&mut self, store: NodeId, client: NodeId, token: u64, value: u64) {
        let by_holder = self.holders.values().any(|h| h.token == token);
        self.writes.entry(store).or_default().push(AcceptedWrite {
            client,
            token,
            value,
            by_holder,
        });
    }

    /// The writes `store` accepted, in its order.
    pub fn writes(&self, store: NodeId) -> &[AcceptedWrite] {
        self.writes.get(&store).map_or(&[], Vec::as_slice)
    }

    /// The grant that carried `token` (the first service's, should several lock services
    /// have used the same index).
    pub fn grant(&self, token: u64) -> Option<&Grant> {
        self.grants
            .range((token, String::new())..)
            .next()
            .filter(|((t, _), _)| *t == token)
            .map(|(_, g)| g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::lock::LockOp;
    use crate::raft::StateMachine;
    use sim_core::Duration;

    /// Applies `op` of `client` at `index` to `table` and reports it.
    fn commit(w: &mut LockWitness, table: &mut LockTable, index: u64, client: NodeId, op: LockOp) {
        table.apply(index, client, &op);
        w.committed("kv", index, Ended::Released, table);
    }

    #[test]
    fn writes_are_judged_against_the_holder_as_committed() {
        let (c1, c2, store) = (NodeId(3), NodeId(4), NodeId(9));
        let mut w = LockWitness::default();
        let mut t = LockTable::default();
        let ttl = Duration::from_secs(1);
        commit(&mut w, &mut t, 1, c1, LockOp::LeaseGrant { ttl });
        commit(&mut w, &mut t, 2, c2, LockOp::LeaseGrant { ttl });
        let acquire = |lease| LockOp::Acquire {
            lock: "l".into(),
            lease,
        };
        commit(&mut w, &mut t, 3, c1, acquire(1));
        w.accepted(store, c1, 3, 100);
        assert!(t.expire(1, 1));
        w.committed("kv", 4, Ended::Expired, &t);
        assert_eq!(w.grant(3).and_then(|g| g.ended), Some((4, Ended::Expired)));
        commit(&mut w, &mut t, 5, c2, acquire(2));
        w.accepted(store, c2, 5, 200);
        w.accepted(store, c1, 3, 101);
        let by_holder: Vec<bool> = w.writes(store).iter().map(|x| x.by_holder).collect();
        assert_eq!(by_holder, vec![true, true, false]);
        assert_eq!(w.grant(5).map(|g| (g.client, g.lease)), Some((c2, 2)));
        assert_eq!(w.grant(4), None);
        assert!(w.writes(NodeId(0)).is_empty());
    }
}
