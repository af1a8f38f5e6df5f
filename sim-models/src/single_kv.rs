//! `single-kv`: a key-value store kept on one node, without replication — the baseline every
//! replicated store is measured against.
//!
//! The cluster's first node holds the data and answers every `kv` request itself (read, write,
//! compare-and-set); any other node of the cluster answers `NotLeader` naming it, so clients
//! find it as they find a Raft leader. A write is applied, written to storage and synced before
//! it is answered, so a crash loses nothing that was acknowledged; a read is served from memory.
//!
//! **Why it is here.** One copy is trivially consistent (every history it produces is
//! linearizable) and exactly as available as its node: while the node is down or cut off,
//! every request fails. Set beside `raft-kv` it shows what replication buys (staying up through
//! a crash) and costs (a round of messages per write).
//!
//! **Resends.** A client resends a request it got no answer to (same client and sequence
//! number). The store remembers each client's results from its lowest open sequence number on
//! (the request's `first_open`), durably with the data, and answers a resend from there — a
//! compare-and-set applied twice would otherwise report a mismatch for its own write.
//!
//! Counters: `requests` (answered), `resends_deduplicated`, `redirected` (answered `NotLeader`
//! by a node that holds no data).

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, Node, NodeFactory, NodeId};

use crate::model::{Model, NodeEnv, table_of};
use crate::protocols::kv::{KvMsg, KvOp, KvOutcome, KvResult};
use crate::raft::StateMachine;
use crate::raft::sessions::{Applied, Sessions};
use crate::raft_kv::registers::Registers;
use crate::world::{Msg, World, stored};

/// Storage key of the store's state.
pub const STATE_KEY: &str = "single-kv";

/// Configuration of a `single-kv` cluster: nothing to set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SingleKvConfig {}

impl Model for SingleKvConfig {
    fn to_table(&self) -> toml::Table {
        table_of(self)
    }

    fn factory(&self, env: &NodeEnv<'_>) -> NodeFactory<World> {
        let holder = env
            .clusters
            .get(env.cluster)
            .and_then(|nodes| nodes.first().copied())
            .unwrap_or(env.id);
        let me = env.id;
        Box::new(move || {
            if me == holder {
                Box::new(Store::default())
            } else {
                Box::new(Redirect { holder })
            }
        })
    }
}

/// The store's durable state: the registers (the same machine `raft-kv` replicates), and each
/// client's results from its lowest open request on (the same sessions Raft keeps).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SingleKvState {
    registers: Registers,
    sessions: Sessions<KvResult>,
}

impl SingleKvState {
    /// Applies `op` for request `seq` of `client` (whose lowest open request is `first_open`)
    /// once, however often it is resent.
    fn apply(&mut self, client: NodeId, seq: u64, first_open: u64, op: KvOp) -> Applied<KvResult> {
        let registers = &mut self.registers;
        self.sessions
            .apply_once(client, seq, first_open, || registers.apply(0, client, &op))
    }
}

/// The node that holds the data.
#[derive(Debug, Default)]
struct Store {
    state: SingleKvState,
}

impl Node<World> for Store {
    fn on_start(&mut self, ctx: &mut Ctx<'_, World>) {
        self.state = stored::<SingleKvState>(ctx.storage(), STATE_KEY)
            .cloned()
            .unwrap_or_default();
        for counter in ["requests", "resends_deduplicated"] {
            ctx.count(counter, 0);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: Msg) {
        let Ok(KvMsg::Request {
            seq,
            first_open,
            op,
        }) = KvMsg::try_from(msg)
        else {
            return;
        };
        let result = match self.state.apply(from, seq, first_open, op) {
            Applied::Fresh(result) => {
                if !matches!(op, KvOp::Read { .. }) {
                    // Durable before it is acknowledged: what a client was told survives a
                    // crash.
                    ctx.storage().put(STATE_KEY, self.state.clone().into());
                    ctx.storage().sync();
                }
                result
            }
            Applied::Duplicate(result) => {
                ctx.count("resends_deduplicated", 1);
                result
            }
            // The client has given up on it: nobody waits for an answer.
            Applied::Stale => return,
        };
        ctx.count("requests", 1);
        let reply = KvMsg::Reply {
            seq,
            outcome: KvOutcome::Done(result),
        };
        ctx.send(from, reply.into());
    }
}

/// A node of the cluster that holds no data: it points clients at the one that does.
#[derive(Debug)]
struct Redirect {
    holder: NodeId,
}

impl Node<World> for Redirect {
    fn on_message(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: Msg) {
        if let Ok(KvMsg::Request { seq, .. }) = KvMsg::try_from(msg) {
            ctx.count("redirected", 1);
            let reply = KvMsg::Reply {
                seq,
                outcome: KvOutcome::NotLeader {
                    leader: Some(self.holder),
                },
            };
            ctx.send(from, reply.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use sim_core::NodeId;
    use sim_core::testing::{Effect, Harness};

    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Ghosts, NodeEnv};

    /// The store `s1` (node 0) with a placeholder client `c1` (node 1).
    fn store() -> Harness<World> {
        let clusters = BTreeMap::from([
            ("s".to_owned(), vec![NodeId(0)]),
            ("c".to_owned(), vec![NodeId(1)]),
        ]);
        let env = NodeEnv {
            id: NodeId(0),
            index: 0,
            cluster: "s",
            clusters: &clusters,
            ghosts: &Ghosts::default(),
            bugs: &crate::bugs::Bugs::default(),
        };
        let factory = SingleKvConfig::default().factory(&env);
        let mut h = Harness::builder(1)
            .node("s1", "s", factory)
            .peer("c1", "c")
            .build()
            .expect("builds");
        h.start();
        h
    }

    fn request(seq: u64, first_open: u64, op: KvOp) -> Msg {
        KvMsg::Request {
            seq,
            first_open,
            op,
        }
        .into()
    }

    fn done(seq: u64, result: KvResult) -> Effect<World> {
        Effect::Send {
            to: NodeId(1),
            msg: KvMsg::Reply {
                seq,
                outcome: KvOutcome::Done(result),
            }
            .into(),
        }
    }

    #[test]
    fn a_write_is_synced_before_it_is_acknowledged() {
        let mut h = store();
        let c1 = h.peer("c1");
        let fx = h
            .deliver(c1, request(1, 1, KvOp::Write { key: 3, value: 7 }))
            .without_telemetry();
        let mut state = SingleKvState::default();
        state.apply(c1, 1, 1, KvOp::Write { key: 3, value: 7 });
        assert_eq!(
            fx,
            vec![
                Effect::Put {
                    key: STATE_KEY.to_owned(),
                    value: state.into(),
                },
                Effect::Sync,
                done(1, KvResult::Written),
            ]
        );
    }

    #[test]
    fn a_resent_compare_and_set_is_answered_from_the_session_not_applied_again() {
        let mut h = store();
        let c1 = h.peer("c1");
        h.deliver(c1, request(1, 1, KvOp::Write { key: 0, value: 1 }));
        let cas = KvOp::Cas {
            key: 0,
            expected: 1,
            new: 2,
        };
        let first = h.deliver(c1, request(2, 2, cas)).without_telemetry();
        assert_eq!(first.sends().len(), 1);
        assert_eq!(first.last(), Some(&done(2, KvResult::Swapped)));
        // The answer was lost; the client resends the same request: applying it again would
        // report a mismatch against its own write.
        let again = h.deliver(c1, request(2, 2, cas)).without_telemetry();
        assert_eq!(again, vec![done(2, KvResult::Swapped)]);
        assert_eq!(
            sim_core::testing::expect_counter(h.sim(), h.id(), "resends_deduplicated"),
            1
        );
    }

    #[test]
    fn acknowledged_writes_survive_a_crash_and_reads_see_them() {
        let mut h = store();
        let c1 = h.peer("c1");
        h.deliver(c1, request(1, 1, KvOp::Write { key: 5, value: 9 }));
        h.crash_and_restart();
        let fx = h.deliver(c1, request(2, 2, KvOp::Read { key: 5 }));
        assert_eq!(fx.sends().len(), 1);
        assert_eq!(
            fx.without_telemetry(),
            vec![done(2, KvResult::Value(Some(9)))]
        );
    }
}
