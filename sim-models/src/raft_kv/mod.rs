//! The state machine of `raft-kv`: registers and the lock service, replicated by the Raft
//! engine ([`crate::raft`]).
//!
//! **One cluster, two services.** As etcd keeps leases and locks next to its keys, one
//! `raft-kv` cluster serves `kv-client`s ([`crate::protocols::kv`]) and `lock-client`s
//! ([`crate::protocols::lock`]) at once. [`KvLock`] is composed of two state machines, each
//! complete on its own and serving its own family: [`registers::Registers`] (read, write,
//! compare-and-set; reads may skip the log by ReadIndex) and [`locks::LockTable`] (leases and
//! locks with fencing tokens, whose leader state is the [`lessor::Lessor`] and whose own
//! proposals are lease expiries). [`KvLock`] routes each request to the half whose family it
//! came in, each answer back in that family, and every hook to both halves. Composing rather
//! than merging keeps each half testable alone, and a third service (a log, a registry) would
//! be a third half and one more arm per method.
//!
//! **Sharing one log** is what makes the two halves one service: a lock's fencing token is the
//! log index of the entry that granted it, a revision that only grows across both halves, and
//! the client sessions (kept by the engine, §6.3) cover both.
//!
//! [`witness`] is the lock service's hook on the cluster's Raft observer: it follows the
//! committed log for the protected stores' mutual-exclusion check.

pub mod lessor;
pub mod locks;
pub mod model;
pub mod registers;
pub mod witness;

pub use model::{RaftKv, parse};

use sim_core::{Ctx, NodeId};

use crate::protocols::kv::{KvOp, KvResult};
use crate::protocols::lock::{LockOp, LockResult};
use crate::raft::{Request, StateMachine};
use crate::world::{Msg, World};

use lessor::LeaseExpire;
use locks::LockTable;
use registers::Registers;

/// The `raft-kv` state machine: registers and the lock service side by side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvLock {
    /// The key-value half.
    pub registers: Registers,
    /// The lock-service half.
    pub locks: LockTable,
}

/// A `raft-kv` client's command: a request of either family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvLockCommand {
    /// A register operation (from a `kv-client`).
    Kv(KvOp),
    /// A lease or lock operation (from a `lock-client`).
    Lock(LockOp),
}

/// What a `raft-kv` command gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvLockOutput {
    /// Of a register operation.
    Kv(KvResult),
    /// Of a lease or lock operation.
    Lock(LockResult),
}

/// Each half's leader state: the registers keep none, the lock service its lessor.
pub type KvLockLeader = (
    <Registers as StateMachine>::LeaderState,
    <LockTable as StateMachine>::LeaderState,
);

impl StateMachine for KvLock {
    type Command = KvLockCommand;
    type Output = KvLockOutput;
    /// Only the lock service proposes (lease expiries).
    type Proposal = LeaseExpire;
    /// Only registers are read without the log: a key.
    type Query = <Registers as StateMachine>::Query;
    type LeaderState = KvLockLeader;

    fn decode(msg: Msg) -> Result<Request<KvLockCommand>, Msg> {
        fn wrap<C>(r: Request<C>, f: impl FnOnce(C) -> KvLockCommand) -> Request<KvLockCommand> {
            Request {
                seq: r.seq,
                first_open: r.first_open,
                command: f(r.command),
            }
        }
        match Registers::decode(msg) {
            Ok(r) => Ok(wrap(r, KvLockCommand::Kv)),
            Err(msg) => LockTable::decode(msg).map(|r| wrap(r, KvLockCommand::Lock)),
        }
    }

    fn done(seq: u64, output: KvLockOutput) -> Msg {
        match output {
            KvLockOutput::Kv(o) => Registers::done(seq, o),
            KvLockOutput::Lock(o) => LockTable::done(seq, o),
        }
    }

    fn not_leader(seq: u64, command: &KvLockCommand, leader: Option<NodeId>) -> Msg {
        match command {
            KvLockCommand::Kv(c) => Registers::not_leader(seq, c, leader),
            KvLockCommand::Lock(c) => LockTable::not_leader(seq, c, leader),
        }
    }

    fn query(command: &KvLockCommand) -> Option<Self::Query> {
        match command {
            KvLockCommand::Kv(c) => Registers::query(c),
            KvLockCommand::Lock(c) => LockTable::query(c).map(|q| match q {}),
        }
    }

    fn read(&self, query: Self::Query) -> KvLockOutput {
        KvLockOutput::Kv(self.registers.read(query))
    }

    fn apply(&mut self, index: u64, client: NodeId, command: &KvLockCommand) -> KvLockOutput {
        match command {
            KvLockCommand::Kv(c) => KvLockOutput::Kv(self.registers.apply(index, client, c)),
            KvLockCommand::Lock(c) => {
                KvLockOutput::Lock(StateMachine::apply(&mut self.locks, index, client, c))
            }
        }
    }

    fn apply_proposal(&mut self, index: u64, proposal: &LeaseExpire) {
        self.locks.apply_proposal(index, proposal);
    }

    fn on_elected(&self, ctx: &mut Ctx<'_, World>) -> KvLockLeader {
        (self.registers.on_elected(ctx), self.locks.on_elected(ctx))
    }

    fn on_heartbeat(
        &self,
        leader: &mut KvLockLeader,
        ctx: &mut Ctx<'_, World>,
    ) -> Vec<LeaseExpire> {
        let mut proposals: Vec<LeaseExpire> = (self.registers.on_heartbeat(&mut leader.0, ctx))
            .into_iter()
            .map(|p| match p {})
            .collect();
        proposals.extend(self.locks.on_heartbeat(&mut leader.1, ctx));
        proposals
    }

    fn on_applied(
        &self,
        leader: &mut KvLockLeader,
        ctx: &mut Ctx<'_, World>,
        command: &KvLockCommand,
        output: KvLockOutput,
    ) {
        match (command, output) {
            (KvLockCommand::Kv(c), KvLockOutput::Kv(o)) => {
                self.registers.on_applied(&mut leader.0, ctx, c, o);
            }
            (KvLockCommand::Lock(c), KvLockOutput::Lock(o)) => {
                self.locks.on_applied(&mut leader.1, ctx, c, o);
            }
            // A command gives an output of its own half.
            (KvLockCommand::Kv(_), KvLockOutput::Lock(_))
            | (KvLockCommand::Lock(_), KvLockOutput::Kv(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::kv::{KvMsg, KvOutcome};
    use crate::protocols::lock::{LockMsg, LockOutcome};
    use crate::protocols::ping::PingMsg;
    use crate::raft::ClientCommand;
    use crate::raft::replica::{Replica, Snapshot};
    use crate::raft::sessions::Applied;
    use crate::world::Durable;
    use sim_core::{Duration, Storage};

    const C: NodeId = NodeId(7);
    const TTL: Duration = Duration::from_secs(2);

    fn lock_cmd(client: NodeId, seq: u64, op: LockOp) -> ClientCommand<KvLockCommand> {
        ClientCommand {
            client,
            seq,
            first_open: seq,
            op: KvLockCommand::Lock(op),
        }
    }

    fn acquire(lease: u64) -> LockOp {
        LockOp::Acquire {
            lock: "l".into(),
            lease,
        }
    }

    #[test]
    fn resent_lock_requests_are_answered_from_the_session() {
        let mut s = Replica::<KvLock>::default();
        let grant = lock_cmd(C, 1, LockOp::LeaseGrant { ttl: TTL });
        let granted = KvLockOutput::Lock(LockResult::LeaseGranted { lease: 1, ttl: TTL });
        assert_eq!(s.apply(1, &grant), Applied::Fresh(granted));
        // The grant appended again (the resend reached a second leader): the same lease, not
        // a second one.
        assert_eq!(s.apply(2, &grant), Applied::Duplicate(granted));
        assert!(s.machine.locks.lease(2).is_none());
        // A duplicate acquire keeps the first token.
        let token = KvLockOutput::Lock(LockResult::Granted { token: 3 });
        let take = lock_cmd(C, 2, acquire(1));
        assert_eq!(s.apply(3, &take), Applied::Fresh(token));
        assert_eq!(s.apply(4, &take), Applied::Duplicate(token));
        assert_eq!(s.remembered(C, 2), Some(token));
        // A late copy of the grant, below the floor the acquire moved: skipped.
        assert_eq!(s.apply(5, &grant), Applied::Stale);
        assert_eq!(s.machine.locks.leases().count(), 1);
    }

    #[test]
    fn a_snapshot_carries_leases_locks_and_sessions_through_a_crash() {
        let mut s = Replica::<KvLock>::default();
        s.apply(1, &lock_cmd(NodeId(1), 1, LockOp::LeaseGrant { ttl: TTL }));
        s.apply(2, &lock_cmd(NodeId(2), 1, LockOp::LeaseGrant { ttl: TTL }));
        s.apply(3, &lock_cmd(NodeId(1), 2, acquire(1)));
        let snapshot = Snapshot {
            last_index: 3,
            last_term: 1,
            state: s.clone(),
        };
        let mut storage: Storage<Durable> = Storage::default();
        storage.put_synced("snapshot", snapshot.into());
        storage.crash();
        let Some(Durable::RaftSnapshot(snap)) = storage.get("snapshot").cloned() else {
            panic!("the snapshot survives a crash");
        };
        let mut restored = snap.state;
        assert_eq!(restored, s);
        assert_eq!(
            restored.machine.locks.lease(2).map(|l| l.owner),
            Some(NodeId(2))
        );
        // The session came along: a resend is still recognised after the restore.
        assert_eq!(
            restored.apply(4, &lock_cmd(NodeId(1), 2, acquire(1))),
            Applied::Duplicate(KvLockOutput::Lock(LockResult::Granted { token: 3 }))
        );
    }

    #[test]
    fn requests_of_both_families_decode_and_are_answered_in_their_family() {
        let kv = KvMsg::Request {
            seq: 1,
            first_open: 1,
            op: KvOp::Read { key: 3 },
        };
        let lock = LockMsg::Request {
            seq: 2,
            first_open: 1,
            op: LockOp::LeaseKeepAlive { lease: 4 },
        };
        let Ok(kv) = KvLock::decode(kv.into()) else {
            panic!("a kv request");
        };
        let Ok(lock) = KvLock::decode(lock.into()) else {
            panic!("a lock request");
        };
        assert_eq!(kv.command, KvLockCommand::Kv(KvOp::Read { key: 3 }));
        assert_eq!(KvLock::query(&kv.command), Some(3));
        assert_eq!(
            KvLock::query(&lock.command),
            None,
            "lock requests use the log"
        );
        assert_eq!(
            KvLock::not_leader(2, &lock.command, Some(NodeId(1))),
            Msg::from(LockMsg::Reply {
                seq: 2,
                outcome: LockOutcome::NotLeader {
                    leader: Some(NodeId(1))
                }
            })
        );
        assert_eq!(
            KvLock::done(1, KvLockOutput::Kv(KvResult::Value(None))),
            Msg::from(KvMsg::Reply {
                seq: 1,
                outcome: KvOutcome::Done(KvResult::Value(None))
            })
        );
        let ping = Msg::from(PingMsg::Ping { seq: 1 });
        assert_eq!(
            KvLock::decode(ping.clone()),
            Err(ping),
            "not a family it serves"
        );
    }

    #[test]
    fn one_log_numbers_both_halves() {
        let mut m = KvLock::default();
        let write = KvLockCommand::Kv(KvOp::Write { key: 1, value: 5 });
        assert_eq!(m.apply(1, C, &write), KvLockOutput::Kv(KvResult::Written));
        let ttl = Duration::from_secs(2);
        let grant = KvLockCommand::Lock(LockOp::LeaseGrant { ttl });
        assert_eq!(
            m.apply(2, C, &grant),
            KvLockOutput::Lock(LockResult::LeaseGranted { lease: 2, ttl }),
            "the lease is numbered by its log index"
        );
        let acquire = KvLockCommand::Lock(LockOp::Acquire {
            lock: "l".into(),
            lease: 2,
        });
        assert_eq!(
            m.apply(4, C, &acquire),
            KvLockOutput::Lock(LockResult::Granted { token: 4 })
        );
        assert_eq!(m.read(1), KvLockOutput::Kv(KvResult::Value(Some(5))));
        m.apply_proposal(
            5,
            &LeaseExpire {
                lease: 2,
                renewed_at: 2,
            },
        );
        assert_eq!(m.locks.holder("l"), None, "the expiry released the lock");
    }
}
