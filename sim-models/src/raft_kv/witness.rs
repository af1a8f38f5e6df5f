//! The lock service's hook on the Raft observer: it follows the committed log of a `raft-kv`
//! cluster and reports every lock command, with the lock table it leaves, to the run's
//! [`LockWitness`] (which the protected stores' mutual-exclusion check consults).
//!
//! It applies each committed entry the moment it is first known committed to a ghost lock
//! table — the table every replica will reach — through ghost sessions, so that a resent lock
//! request counts once, as on the replicas.

use std::cell::RefCell;
use std::rc::Rc;

use crate::lock::witness::{self, Ended, LockWitness};
use crate::model::NodeEnv;
use crate::raft::{Command, CommitFollower, Entry, Sessions, StateMachine};
use crate::raft_kv::locks::LockTable;
use crate::raft_kv::{KvLock, KvLockCommand};

/// Follows one `raft-kv` cluster's committed lock commands for the lock witness.
#[derive(Debug)]
pub struct LockFollower {
    /// The cluster: the lock service's name in the witness.
    service: String,
    /// Whether each client's requests applied, as on the replicas (outputs are not needed).
    sessions: Sessions<()>,
    /// The lock table as of the committed prefix.
    table: LockTable,
    witness: Rc<RefCell<LockWitness>>,
}

impl LockFollower {
    /// A follower of cluster `service`, reporting to `witness`.
    pub fn new(service: &str, witness: Rc<RefCell<LockWitness>>) -> Self {
        LockFollower {
            service: service.to_owned(),
            sessions: Sessions::default(),
            table: LockTable::default(),
            witness,
        }
    }
}

/// The follower of the `raft-kv` cluster at `env`, reporting to the build's lock witness.
pub fn follower(env: &NodeEnv<'_>) -> Box<dyn CommitFollower<KvLock>> {
    let witness = env
        .ghosts
        .get_or_insert_with(witness::KEY, LockWitness::default);
    Box::new(LockFollower::new(env.cluster, witness))
}

impl CommitFollower<KvLock> for LockFollower {
    fn committed(&mut self, entry: &Entry<KvLock>) {
        let how = match &entry.command {
            Command::Noop => return,
            Command::Client(c) => {
                let table = &mut self.table;
                self.sessions
                    .apply_once(c.client, c.seq, c.first_open, || match &c.op {
                        KvLockCommand::Lock(op) => {
                            table.apply(entry.index, c.client, op);
                        }
                        KvLockCommand::Kv(_) => {}
                    });
                match c.op {
                    KvLockCommand::Lock(_) => Ended::Released,
                    KvLockCommand::Kv(_) => return,
                }
            }
            Command::Machine(expiry) => {
                self.table.expire(expiry.lease, expiry.renewed_at);
                Ended::Expired
            }
        };
        self.witness
            .borrow_mut()
            .committed(&self.service, entry.index, how, &self.table);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::lock::LockOp;
    use crate::raft::ClientCommand;
    use crate::raft_kv::lessor::LeaseExpire;
    use sim_core::{Duration, NodeId};

    fn entry(index: u64, command: Command<KvLock>) -> Entry<KvLock> {
        Entry {
            term: 1,
            index,
            command,
        }
    }

    fn lock(index: u64, client: NodeId, seq: u64, op: LockOp) -> Entry<KvLock> {
        entry(
            index,
            Command::Client(ClientCommand {
                client,
                seq,
                first_open: seq,
                op: KvLockCommand::Lock(op),
            }),
        )
    }

    #[test]
    fn grants_and_expiries_reach_the_witness_once() {
        let (c1, store) = (NodeId(3), NodeId(9));
        let witness = Rc::new(RefCell::new(LockWitness::default()));
        let mut f = LockFollower::new("kv", Rc::clone(&witness));
        let ttl = Duration::from_secs(1);
        f.committed(&lock(1, c1, 1, LockOp::LeaseGrant { ttl }));
        let acquire = LockOp::Acquire {
            lock: "l".into(),
            lease: 1,
        };
        f.committed(&lock(2, c1, 2, acquire.clone()));
        // The acquire appended again (a resend): the same grant, not a second one.
        f.committed(&lock(3, c1, 2, acquire));
        witness.borrow_mut().accepted(store, c1, 2, 100);
        assert_eq!(witness.borrow().grant(3), None);
        let expiry = LeaseExpire {
            lease: 1,
            renewed_at: 1,
        };
        f.committed(&entry(4, Command::Machine(expiry)));
        witness.borrow_mut().accepted(store, c1, 2, 101);
        let w = witness.borrow();
        assert_eq!(w.grant(2).and_then(|g| g.ended), Some((4, Ended::Expired)));
        let by_holder: Vec<bool> = w.writes(store).iter().map(|x| x.by_holder).collect();
        assert_eq!(by_holder, [true, false]);
    }
}
