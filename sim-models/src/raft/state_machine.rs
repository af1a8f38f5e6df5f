//! The replicated state machine: a key-value map of registers plus client sessions that make
//! retries idempotent (Raft dissertation §6.3).
//!
//! A session remembers, per client, the results of the operations it applied that the client
//! may still ask about. A request applied again (the client resent it, or a duplicate message
//! was appended twice) returns the remembered result instead of applying twice. Each request
//! carries the lowest sequence number its client still has open; results below it are
//! forgotten, and a request below it is stale (the client has given up on it) and is skipped.
//! Sessions live in the state machine, so snapshots carry them and every replica agrees.

use std::collections::BTreeMap;

use sim_core::NodeId;

use crate::kv_client::{KvOp, KvResult};
use crate::raft::log::ClientCommand;

/// One client's session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// Requests below this sequence number are finished for the client.
    floor: u64,
    /// Results of applied requests at or above `floor`.
    results: BTreeMap<u64, KvResult>,
}

/// The key-value state machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvState {
    data: BTreeMap<u64, i64>,
    sessions: BTreeMap<NodeId, Session>,
}

/// What applying a client command did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Applied now, with this result.
    Fresh(KvResult),
    /// Applied before: this is the remembered result.
    Duplicate(KvResult),
    /// Below the client's floor: skipped, nobody waits for it.
    Stale,
}

impl Applied {
    /// The result to send the client, if any.
    pub fn result(self) -> Option<KvResult> {
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

    /// The remembered result of (client, seq), if it was applied and is still remembered.
    pub fn remembered(&self, client: NodeId, seq: u64) -> Option<KvResult> {
        self.sessions.get(&client)?.results.get(&seq).copied()
    }

    /// Applies a committed client command, once per (client, seq).
    pub fn apply(&mut self, cmd: &ClientCommand) -> Applied {
        let session = self.sessions.entry(cmd.client).or_default();
        if cmd.first_open > session.floor {
            session.floor = cmd.first_open;
            session.results = session.results.split_off(&cmd.first_open);
        }
        if cmd.seq < session.floor {
            return Applied::Stale;
        }
        if let Some(&r) = session.results.get(&cmd.seq) {
            return Applied::Duplicate(r);
        }
        let result = match cmd.op {
            KvOp::Read { key } => KvResult::Value(self.data.get(&key).copied()),
            KvOp::Write { key, value } => {
                self.data.insert(key, value);
                KvResult::Written
            }
            KvOp::Cas { key, expected, new } => {
                let current = self.data.get(&key).copied();
                if current == Some(expected) {
                    self.data.insert(key, new);
                    KvResult::Swapped
                } else {
                    KvResult::Mismatch(current)
                }
            }
        };
        session.results.insert(cmd.seq, result);
        Applied::Fresh(result)
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

    fn cmd(seq: u64, first_open: u64, op: KvOp) -> ClientCommand {
        ClientCommand {
            client: NodeId(7),
            seq,
            first_open,
            op,
        }
    }

    #[test]
    fn a_retried_request_applies_once() {
        let mut kv = KvState::default();
        let w = cmd(1, 1, KvOp::Write { key: 0, value: 10 });
        assert_eq!(kv.apply(&w), Applied::Fresh(KvResult::Written));
        let c = cmd(
            2,
            1,
            KvOp::Cas {
                key: 0,
                expected: 10,
                new: 20,
            },
        );
        assert_eq!(kv.apply(&c), Applied::Fresh(KvResult::Swapped));
        // The same cas again (a resend appended twice): remembered, not re-evaluated (which
        // would now be a mismatch).
        assert_eq!(kv.apply(&c), Applied::Duplicate(KvResult::Swapped));
        assert_eq!(kv.get(0), Some(20));
        assert_eq!(kv.remembered(NodeId(7), 2), Some(KvResult::Swapped));
    }

    #[test]
    fn results_below_the_floor_are_forgotten_and_stale_requests_skipped() {
        let mut kv = KvState::default();
        kv.apply(&cmd(1, 1, KvOp::Write { key: 1, value: 5 }));
        kv.apply(&cmd(3, 3, KvOp::Read { key: 1 }));
        assert_eq!(kv.remembered(NodeId(7), 1), None);
        // A late copy of seq 2 (the client gave up on it): skipped, the value stays.
        assert_eq!(
            kv.apply(&cmd(2, 2, KvOp::Write { key: 1, value: 9 })),
            Applied::Stale
        );
        assert_eq!(kv.get(1), Some(5));
    }

    #[test]
    fn a_failed_cas_changes_nothing() {
        let mut kv = KvState::default();
        let c = cmd(
            1,
            1,
            KvOp::Cas {
                key: 3,
                expected: 1,
                new: 2,
            },
        );
        assert_eq!(kv.apply(&c), Applied::Fresh(KvResult::Mismatch(None)));
        assert_eq!(kv.get(3), None);
    }
}
