//! The lessor (etcd's, not in the Raft paper): lease deadlines kept by the leader only, on its
//! own clock, and the expiries it proposes through the log.
//!
//! When a grant or keep-alive applies on the leader, the lease's deadline becomes the leader's
//! `now + ttl`. A new leader cannot know how long the old one had left, so it gives every
//! lease a full TTL ("promote"), erring on the side of the holder. At each heartbeat the leader
//! proposes [`LeaseExpire`] for the leases past their deadline, once per renewal; the entry
//! names the lease's last renewal, so a keep-alive committed first makes it a no-op. The
//! lessor is the lock machine's leader state: a server that steps down drops it, and followers
//! keep no deadlines.

use std::collections::BTreeMap;

use sim_core::LocalTime;

use crate::raft_kv::locks::LockTable;

/// The leader found `lease` past its deadline: revoke it (and release its locks) unless it was
/// renewed after index `renewed_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseExpire {
    /// The lease.
    pub lease: u64,
    /// The index of the lease's last grant or keep-alive the leader knew of.
    pub renewed_at: u64,
}

/// A leader's clock for one lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LeaseClock {
    /// When the lease expires on the leader's local clock.
    deadline: LocalTime,
    /// The `renewed_at` of the expiry this leader proposed for it, if any (so it is proposed
    /// once per renewal, not on every heartbeat).
    proposed: Option<u64>,
}

/// Lease deadlines on the leader's clock, by lease.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lessor {
    clocks: BTreeMap<u64, LeaseClock>,
}

impl Lessor {
    /// A new leader's lessor: every lease in `table` gets a full TTL from `now`.
    pub fn promote(table: &LockTable, now: LocalTime) -> Self {
        let clocks = table
            .leases()
            .map(|(id, l)| {
                let clock = LeaseClock {
                    deadline: now.after(l.ttl),
                    proposed: None,
                };
                (id, clock)
            })
            .collect();
        Lessor { clocks }
    }

    /// A grant or keep-alive of `lease` applied: it now expires at `deadline`.
    pub fn renew(&mut self, lease: u64, deadline: LocalTime) {
        let clock = LeaseClock {
            deadline,
            proposed: None,
        };
        self.clocks.insert(lease, clock);
    }

    /// The expiries to propose at `now`: every lease of `table` past its deadline whose
    /// current renewal has not been proposed for yet, in lease order. Leases `table` no longer
    /// has (revoked) are forgotten.
    pub fn expiries(&mut self, table: &LockTable, now: LocalTime) -> Vec<LeaseExpire> {
        let mut due = Vec::new();
        self.clocks.retain(|&lease, clock| {
            let Some(l) = table.lease(lease) else {
                return false;
            };
            if clock.deadline <= now && clock.proposed != Some(l.renewed_at) {
                clock.proposed = Some(l.renewed_at);
                due.push(LeaseExpire {
                    lease,
                    renewed_at: l.renewed_at,
                });
            }
            true
        });
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::lock::LockOp;
    use crate::raft::StateMachine;
    use sim_core::{Duration, NodeId};

    const TTL: Duration = Duration::from_secs(2);

    fn at(ms: u64) -> LocalTime {
        LocalTime(ms as i64 * 1_000_000)
    }

    /// A table with leases granted at indexes 1 and 2.
    fn table() -> LockTable {
        let mut t = LockTable::default();
        t.apply(1, NodeId(1), &LockOp::LeaseGrant { ttl: TTL });
        t.apply(2, NodeId(2), &LockOp::LeaseGrant { ttl: TTL });
        t
    }

    fn expire(lease: u64, renewed_at: u64) -> LeaseExpire {
        LeaseExpire { lease, renewed_at }
    }

    #[test]
    fn a_new_leader_gives_every_lease_a_full_ttl() {
        let t = table();
        let mut l = Lessor::promote(&t, at(500));
        assert!(l.expiries(&t, at(2_499)).is_empty());
        assert_eq!(l.expiries(&t, at(2_500)), [expire(1, 1), expire(2, 2)]);
    }

    #[test]
    fn an_expiry_is_proposed_once_per_renewal() {
        let mut t = table();
        let mut l = Lessor::promote(&t, at(0));
        assert_eq!(l.expiries(&t, at(3_000)).len(), 2);
        assert!(l.expiries(&t, at(3_050)).is_empty(), "already proposed");
        // Lease 1 kept alive (at index 3) before its expiry committed: a new deadline, and
        // once past it a new expiry naming the new renewal.
        t.apply(3, NodeId(1), &LockOp::LeaseKeepAlive { lease: 1 });
        l.renew(1, at(3_100).after(TTL));
        assert!(l.expiries(&t, at(5_099)).is_empty());
        assert_eq!(l.expiries(&t, at(5_100)), [expire(1, 3)]);
    }

    #[test]
    fn revoked_leases_are_forgotten() {
        let mut t = table();
        let mut l = Lessor::promote(&t, at(0));
        assert!(t.expire(2, 2));
        assert_eq!(l.expiries(&t, at(9_000)), [expire(1, 1)]);
        assert_eq!(l.clocks.len(), 1);
    }
}
