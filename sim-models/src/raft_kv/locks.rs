//! The lock-service half of `raft-kv`: leases (sessions) and the locks they hold, serving the
//! [`crate::protocols::lock`] family. See [`crate::lock`] for the service as a whole.
//!
//! The table is a function of the committed log: ids and tokens are log indexes, and no clock
//! is read. Deadlines live on the leader only, in its [`Lessor`] (the machine's leader state):
//! the table just records `renewed_at`, the index of each lease's last grant or keep-alive, so
//! that an expiry proposed before a keep-alive that committed first does nothing.

use std::collections::BTreeMap;
use std::convert::Infallible;

use sim_core::{Ctx, Duration, NodeId};

use crate::protocols::lock::{LockMsg, LockOp, LockOutcome, LockResult};
use crate::raft::{Request, StateMachine};
use crate::raft_kv::lessor::{LeaseExpire, Lessor};
use crate::world::{Msg, World};

/// A session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The client that opened it.
    pub owner: NodeId,
    /// How long it lives past its last renewal (on the leader's clock).
    pub ttl: Duration,
    /// Log index of its grant or of its last keep-alive.
    pub renewed_at: u64,
}

/// Who holds a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holder {
    /// The lease (session) that holds it.
    pub lease: u64,
    /// The fencing token it was granted with: the log index of the granting entry.
    pub token: u64,
}

/// Leases and locks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockTable {
    leases: BTreeMap<u64, Lease>,
    locks: BTreeMap<String, Holder>,
}

impl LockTable {
    /// Revokes `lease` (releasing its locks) if it exists and was last renewed at
    /// `renewed_at`. Returns whether it did; an expiry that a later renewal overtook is a no-op.
    pub fn expire(&mut self, lease: u64, renewed_at: u64) -> bool {
        match self.leases.get(&lease) {
            Some(l) if l.renewed_at == renewed_at => {
                self.leases.remove(&lease);
                self.locks.retain(|_, h| h.lease != lease);
                true
            }
            Some(_) | None => false,
        }
    }

    /// The lease `id`, if it is alive.
    pub fn lease(&self, id: u64) -> Option<&Lease> {
        self.leases.get(&id)
    }

    /// Every live lease, by id.
    pub fn leases(&self) -> impl Iterator<Item = (u64, &Lease)> {
        self.leases.iter().map(|(id, l)| (*id, l))
    }

    /// Who holds `lock`, if anyone.
    pub fn holder(&self, lock: &str) -> Option<Holder> {
        self.locks.get(lock).copied()
    }

    /// Every held lock and its holder, by name.
    pub fn holders(&self) -> impl Iterator<Item = (&str, Holder)> {
        self.locks.iter().map(|(k, h)| (k.as_str(), *h))
    }
}

impl StateMachine for LockTable {
    type Command = LockOp;
    type Output = LockResult;
    /// The leader's lessor expires leases through the log.
    type Proposal = LeaseExpire;
    /// Every lock operation goes through the log.
    type Query = Infallible;
    /// The lessor: lease deadlines on the leader's clock.
    type LeaderState = Lessor;

    fn decode(msg: Msg) -> Result<Request<LockOp>, Msg> {
        match LockMsg::try_from(msg) {
            Ok(LockMsg::Request {
                seq,
                first_open,
                op,
            }) => Ok(Request {
                seq,
                first_open,
                command: op,
            }),
            Ok(other) => Err(other.into()),
            Err(other) => Err(other),
        }
    }

    fn done(seq: u64, output: LockResult) -> Msg {
        LockMsg::Reply {
            seq,
            outcome: LockOutcome::Done(output),
        }
        .into()
    }

    fn not_leader(seq: u64, _: &LockOp, leader: Option<NodeId>) -> Msg {
        LockMsg::Reply {
            seq,
            outcome: LockOutcome::NotLeader { leader },
        }
        .into()
    }

    fn query(_: &LockOp) -> Option<Infallible> {
        None
    }

    fn read(&self, query: Infallible) -> LockResult {
        match query {}
    }

    fn apply(&mut self, index: u64, client: NodeId, op: &LockOp) -> LockResult {
        match op {
            LockOp::LeaseGrant { ttl } => {
                self.leases.insert(
                    index,
                    Lease {
                        owner: client,
                        ttl: *ttl,
                        renewed_at: index,
                    },
                );
                LockResult::LeaseGranted {
                    lease: index,
                    ttl: *ttl,
                }
            }
            LockOp::LeaseKeepAlive { lease } => match self.leases.get_mut(lease) {
                Some(l) => {
                    l.renewed_at = index;
                    LockResult::KeptAlive { ttl: l.ttl }
                }
                None => LockResult::LeaseNotFound,
            },
            LockOp::Acquire { lock, lease } => {
                if !self.leases.contains_key(lease) {
                    return LockResult::LeaseNotFound;
                }
                match self.locks.get(lock) {
                    // Acquiring a lock one already holds is idempotent: same token.
                    Some(h) if h.lease == *lease => LockResult::Granted { token: h.token },
                    Some(h) => LockResult::Busy { holder: h.lease },
                    None => {
                        self.locks.insert(
                            lock.clone(),
                            Holder {
                                lease: *lease,
                                token: index,
                            },
                        );
                        LockResult::Granted { token: index }
                    }
                }
            }
            LockOp::Release { lock, lease } => match self.locks.get(lock) {
                Some(h) if h.lease == *lease => {
                    self.locks.remove(lock);
                    LockResult::Released
                }
                Some(_) | None => LockResult::NotHeld,
            },
        }
    }

    fn apply_proposal(&mut self, _: u64, proposal: &LeaseExpire) {
        self.expire(proposal.lease, proposal.renewed_at);
    }

    fn on_elected(&self, ctx: &mut Ctx<'_, World>) -> Lessor {
        Lessor::promote(self, ctx.now())
    }

    fn on_heartbeat(&self, lessor: &mut Lessor, ctx: &mut Ctx<'_, World>) -> Vec<LeaseExpire> {
        let due = lessor.expiries(self, ctx.now());
        for _ in &due {
            ctx.count("lease_expiries", 1);
        }
        due
    }

    fn on_applied(
        &self,
        lessor: &mut Lessor,
        ctx: &mut Ctx<'_, World>,
        command: &LockOp,
        output: LockResult,
    ) {
        // A grant or keep-alive applied on the leader: the lease lives `ttl` from now.
        let renewed = match (command, output) {
            (_, LockResult::LeaseGranted { lease, ttl }) => Some((lease, ttl)),
            (LockOp::LeaseKeepAlive { lease }, LockResult::KeptAlive { ttl }) => {
                Some((*lease, ttl))
            }
            _ => None,
        };
        if let Some((lease, ttl)) = renewed {
            lessor.renew(lease, ctx.now().after(ttl));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C1: NodeId = NodeId(5);
    const C2: NodeId = NodeId(6);

    fn acquire(lease: u64) -> LockOp {
        LockOp::Acquire {
            lock: "l".into(),
            lease,
        }
    }

    fn grant(t: &mut LockTable, client: NodeId, index: u64) -> u64 {
        match t.apply(
            index,
            client,
            &LockOp::LeaseGrant {
                ttl: Duration::from_secs(2),
            },
        ) {
            LockResult::LeaseGranted { lease, .. } => lease,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn leases_are_numbered_by_their_log_index_and_keepalives_renew_them() {
        let mut t = LockTable::default();
        assert_eq!(grant(&mut t, C1, 3), 3);
        assert_eq!(
            t.apply(7, C1, &LockOp::LeaseKeepAlive { lease: 3 }),
            LockResult::KeptAlive {
                ttl: Duration::from_secs(2)
            }
        );
        assert_eq!(t.lease(3).map(|l| l.renewed_at), Some(7));
        assert_eq!(
            t.apply(8, C1, &LockOp::LeaseKeepAlive { lease: 4 }),
            LockResult::LeaseNotFound
        );
    }

    #[test]
    fn a_lock_is_granted_once_with_its_log_index_as_token() {
        let mut t = LockTable::default();
        let a = grant(&mut t, C1, 1);
        let b = grant(&mut t, C2, 2);
        assert_eq!(
            t.apply(5, C1, &acquire(a)),
            LockResult::Granted { token: 5 }
        );
        assert_eq!(t.apply(6, C2, &acquire(b)), LockResult::Busy { holder: a });
        // Asking again while holding it changes nothing.
        assert_eq!(
            t.apply(7, C1, &acquire(a)),
            LockResult::Granted { token: 5 }
        );
        assert_eq!(
            t.apply(8, C2, &acquire(99)),
            LockResult::LeaseNotFound,
            "no session, no lock"
        );
        assert_eq!(
            t.apply(
                9,
                C2,
                &LockOp::Release {
                    lock: "l".into(),
                    lease: b
                }
            ),
            LockResult::NotHeld
        );
        assert_eq!(
            t.apply(
                10,
                C1,
                &LockOp::Release {
                    lock: "l".into(),
                    lease: a
                }
            ),
            LockResult::Released
        );
        assert_eq!(t.holder("l"), None);
        assert_eq!(
            t.apply(11, C2, &acquire(b)),
            LockResult::Granted { token: 11 },
            "the next token is higher"
        );
    }

    #[test]
    fn expiry_revokes_the_lease_and_its_locks_unless_a_renewal_overtook_it() {
        let mut t = LockTable::default();
        let a = grant(&mut t, C1, 1);
        t.apply(2, C1, &acquire(a));
        t.apply(3, C1, &LockOp::LeaseKeepAlive { lease: a });
        // Proposed when the leader had applied only the grant: stale.
        assert!(!t.expire(a, 1));
        assert_eq!(t.holder("l").map(|h| h.token), Some(2));
        assert!(t.expire(a, 3));
        assert_eq!(t.holder("l"), None);
        assert!(t.lease(a).is_none());
        assert!(!t.expire(a, 3), "twice is a no-op");
    }
}
