//! The key-value half of `raft-kv`: registers with read, write and compare-and-set, serving
//! the [`crate::protocols::kv`] family. Reads may be served by ReadIndex, without the log.

use std::collections::BTreeMap;
use std::convert::Infallible;

use sim_core::{Ctx, NodeId};

use crate::protocols::kv::{KvMsg, KvOp, KvOutcome, KvResult};
use crate::raft::{Request, StateMachine};
use crate::world::{Msg, World};

/// Registers: a map from key to value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registers {
    data: BTreeMap<u64, i64>,
}

impl Registers {
    /// The value of `key`, if set.
    pub fn get(&self, key: u64) -> Option<i64> {
        self.data.get(&key).copied()
    }
}

impl StateMachine for Registers {
    type Command = KvOp;
    type Output = KvResult;
    /// Registers propose nothing of their own.
    type Proposal = Infallible;
    /// A key to read.
    type Query = u64;
    /// Registers keep nothing on the leader.
    type LeaderState = ();

    fn decode(msg: Msg) -> Result<Request<KvOp>, Msg> {
        match KvMsg::try_from(msg) {
            Ok(KvMsg::Request {
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

    fn done(seq: u64, output: KvResult) -> Msg {
        KvMsg::Reply {
            seq,
            outcome: KvOutcome::Done(output),
        }
        .into()
    }

    fn not_leader(seq: u64, _: &KvOp, leader: Option<NodeId>) -> Msg {
        KvMsg::Reply {
            seq,
            outcome: KvOutcome::NotLeader { leader },
        }
        .into()
    }

    fn query(command: &KvOp) -> Option<u64> {
        match *command {
            KvOp::Read { key } => Some(key),
            KvOp::Write { .. } | KvOp::Cas { .. } => None,
        }
    }

    fn read(&self, key: u64) -> KvResult {
        KvResult::Value(self.get(key))
    }

    fn apply(&mut self, _: u64, _: NodeId, command: &KvOp) -> KvResult {
        match *command {
            KvOp::Read { key } => KvResult::Value(self.get(key)),
            KvOp::Write { key, value } => {
                self.data.insert(key, value);
                KvResult::Written
            }
            KvOp::Cas { key, expected, new } => {
                let current = self.get(key);
                if current == Some(expected) {
                    self.data.insert(key, new);
                    KvResult::Swapped
                } else {
                    KvResult::Mismatch(current)
                }
            }
        }
    }

    fn apply_proposal(&mut self, _: u64, proposal: &Infallible) {
        match *proposal {}
    }

    fn on_elected(&self, _: &mut Ctx<'_, World>) {}

    fn on_heartbeat(&self, _: &mut (), _: &mut Ctx<'_, World>) -> Vec<Infallible> {
        Vec::new()
    }

    fn on_applied(&self, _: &mut (), _: &mut Ctx<'_, World>, _: &KvOp, _: KvResult) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: NodeId = NodeId(7);

    #[test]
    fn write_then_cas_then_a_failed_cas() {
        let mut r = Registers::default();
        assert_eq!(
            r.apply(1, C, &KvOp::Write { key: 0, value: 10 }),
            KvResult::Written
        );
        let cas = KvOp::Cas {
            key: 0,
            expected: 10,
            new: 20,
        };
        assert_eq!(r.apply(2, C, &cas), KvResult::Swapped);
        assert_eq!(r.apply(3, C, &cas), KvResult::Mismatch(Some(20)));
        assert_eq!(r.read(0), KvResult::Value(Some(20)));
        assert_eq!(r.read(1), KvResult::Value(None));
    }

    #[test]
    fn only_reads_are_queries() {
        assert_eq!(Registers::query(&KvOp::Read { key: 4 }), Some(4));
        assert_eq!(Registers::query(&KvOp::Write { key: 4, value: 1 }), None);
    }

    #[test]
    fn requests_decode_and_answers_encode_in_the_kv_family() {
        let op = KvOp::Write { key: 1, value: 2 };
        let msg = Msg::from(KvMsg::Request {
            seq: 5,
            first_open: 3,
            op,
        });
        assert_eq!(
            Registers::decode(msg),
            Ok(Request {
                seq: 5,
                first_open: 3,
                command: op
            })
        );
        let reply = KvMsg::Reply {
            seq: 5,
            outcome: KvOutcome::NotLeader { leader: None },
        };
        assert_eq!(
            Registers::not_leader(5, &op, None),
            Msg::from(reply.clone())
        );
        assert_eq!(
            Registers::decode(reply.clone().into()),
            Err(reply.into()),
            "a reply is no request"
        );
    }
}
