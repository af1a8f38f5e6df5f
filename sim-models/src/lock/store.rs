//! `fenced-store`: the resource a lock protects — a storage service that lock clients write to
//! from inside their critical sections.
//!
//! With `fencing = true` (the default) each node remembers the highest fencing token it has
//! accepted, durably (written and synced to its simulated storage before it answers, so a
//! crash keeps it), and rejects a write with a lower token: `RejectedStale`. A client whose
//! lock has passed to someone else who already wrote here can then do no harm. With `fencing =
//! false` it accepts everything, like a store that knows nothing of the lock.
//!
//! Each node of the cluster is its own resource (clients write to every node). Counters
//! `store.accepted` and `store.rejected_stale`; annotation `token` (the token of the last
//! accepted write). The model's verdict is the mutual-exclusion check of
//! [`crate::lock::checker`] on each node's accepted writes, as metrics
//! `mutual_exclusion.<cluster>` (1 if it held on every node) and `stale_writes.<cluster>`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, Node, NodeFactory, NodeId, OpCall, Simulation};

use crate::bugs::BugSpec;
use crate::lock::checker::{AcceptedWrite, judge};
use crate::lock::witness::{self, Ended, LockWitness};
use crate::model::{ConfigProblem, Model, NodeEnv, Verdict, table_of};
use crate::protocols::store::{StoreMsg, WriteOutcome};
use crate::world::{Msg, World, stored};

/// The store's catalog bugs (see [`crate::bugs`]).
pub const BUGS: &[BugSpec] = &[NO_FENCING_TOKENS];

/// `lock.no-fencing-tokens`: the store has no usable token to compare.
pub const NO_FENCING_TOKENS: BugSpec = BugSpec {
    name: "lock.no-fencing-tokens",
    description: "the lock service hands out no usable fencing token, so a fencing store has nothing to compare and accepts a write from a holder whose lock has passed on",
    caught_by: "mutual exclusion on a fencing store",
};

/// Storage key of the highest accepted token.
pub const FENCE_KEY: &str = "fence";

fn default_fencing() -> bool {
    true
}

/// Configuration of a `fenced-store` cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Reject writes whose token is below the highest accepted (default true).
    #[serde(default = "default_fencing")]
    pub fencing: bool,
}

/// What the last build made of a store cluster: its name, its nodes and the witness they
/// report to.
#[derive(Clone, Debug)]
struct Built {
    cluster: String,
    nodes: Vec<NodeId>,
    witness: Rc<RefCell<LockWitness>>,
}

/// The `fenced-store` model.
#[derive(Debug)]
pub struct FencedStore {
    config: StoreConfig,
    built: RefCell<Option<Built>>,
}

/// Parses a `fenced-store` cluster's configuration (the registry's entry point).
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Model>, toml::de::Error> {
    let config: StoreConfig = Deserialize::deserialize(de)?;
    Ok(Box::new(FencedStore {
        config,
        built: RefCell::new(None),
    }))
}

impl Model for FencedStore {
    fn to_table(&self) -> toml::Table {
        table_of(&self.config)
    }

    fn check(&self, _: &BTreeMap<String, Vec<NodeId>>) -> Result<(), ConfigProblem> {
        Ok(())
    }

    fn factory(&self, env: &NodeEnv<'_>) -> NodeFactory<World> {
        let witness = env
            .ghosts
            .get_or_insert_with(witness::KEY, LockWitness::default);
        *self.built.borrow_mut() = Some(Built {
            cluster: env.cluster.to_owned(),
            nodes: env.clusters.get(env.cluster).cloned().unwrap_or_default(),
            witness: Rc::clone(&witness),
        });
        // Without tokens from the lock service a store cannot fence, whatever it is set to do.
        // (The store still reports the grant's true token to the ghost checker.)
        let fencing = self.config.fencing && !env.bugs.has(&NO_FENCING_TOKENS);
        Box::new(move || {
            Box::new(StoreNode {
                fencing,
                highest: 0,
                witness: Rc::clone(&witness),
            })
        })
    }

    fn verdicts(&self, sim: &Simulation<World>) -> Vec<Verdict> {
        let Some(built) = self.built.borrow().clone() else {
            return Vec::new();
        };
        let witness = built.witness.borrow();
        let names = sim.node_names();
        let name = |n: NodeId| {
            names
                .get(n.index())
                .cloned()
                .unwrap_or_else(|| format!("#{}", n.0))
        };
        let describe = |w: &AcceptedWrite| {
            let when = sim
                .history()
                .operations()
                .iter()
                .find(|o| {
                    o.client == w.client
                        && o.call
                            == OpCall::Other {
                                name: "write",
                                key: w.value,
                            }
                })
                .map_or_else(String::new, |o| {
                    let answered = o
                        .completed
                        .map_or_else(|| "never".to_owned(), |t| t.to_string());
                    format!(" sent at {} (answered {answered})", o.invoked)
                });
            let grant = witness.grant(w.token).map_or_else(
                || "a token the lock service never granted".to_owned(),
                |g| {
                    let end = match g.ended {
                        Some((i, Ended::Expired)) => format!(", lease expired at index {i}"),
                        Some((i, Ended::Released)) => format!(", released at index {i}"),
                        None => String::new(),
                    };
                    format!(
                        "lock \"{}\" of {} granted to {} (lease {}) at index {}{end}",
                        g.lock,
                        g.service,
                        name(g.client),
                        g.lease,
                        w.token
                    )
                },
            );
            format!(
                "{} wrote #{} with token {}{when}; {}: {grant}",
                name(w.client),
                w.value,
                w.token,
                if w.by_holder {
                    "the holder"
                } else {
                    "NOT the holder"
                }
            )
        };
        // When the store accepted the write that went back (its answer's time): the first
        // moment mutual exclusion was seen broken.
        let accepted_at = |w: &AcceptedWrite| {
            sim.history()
                .operations()
                .iter()
                .find(|o| {
                    o.client == w.client
                        && o.call
                            == OpCall::Other {
                                name: "write",
                                key: w.value,
                            }
                })
                .map(|o| o.completed.unwrap_or(o.invoked))
        };
        let mut broken_at: Option<sim_core::SimTime> = None;
        let mut holds = true;
        let mut writes = 0;
        let mut stale = 0;
        let mut report = String::new();
        for &node in &built.nodes {
            let accepted = witness.writes(node);
            let j = judge(accepted);
            holds &= j.mutual_exclusion();
            for o in &j.overlaps {
                if let Some(t) = accepted.get(o.later).and_then(accepted_at) {
                    broken_at = Some(broken_at.map_or(t, |b| b.min(t)));
                }
            }
            writes += j.writes;
            stale += j.stale.len();
            let text = j.report(accepted, describe);
            if !text.is_empty() {
                report.push_str(&format!("{}:\n", name(node)));
                for line in text.lines() {
                    report.push_str(&format!("  {line}\n"));
                }
            }
        }
        let cluster = &built.cluster;
        let summary = format!(
            "{} ({writes} writes accepted; {stale} from a token that no longer held the lock)",
            if holds {
                "holds: tokens never went back"
            } else {
                "VIOLATED: two clients wrote under the lock"
            }
        );
        vec![Verdict {
            check: format!("mutual exclusion on {cluster}"),
            holds,
            summary,
            metrics: BTreeMap::from([
                (
                    format!("mutual_exclusion.{cluster}"),
                    if holds { 1.0 } else { 0.0 },
                ),
                (format!("stale_writes.{cluster}"), stale as f64),
            ]),
            report,
            broken_at,
        }]
    }
}

/// A protected store node.
#[derive(Debug)]
pub struct StoreNode {
    fencing: bool,
    /// The highest token accepted.
    highest: u64,
    witness: Rc<RefCell<LockWitness>>,
}

impl StoreNode {
    fn on_write(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        seq: u64,
        token: u64,
        value: u64,
    ) {
        let outcome = if self.fencing && token < self.highest {
            ctx.count("store.rejected_stale", 1);
            WriteOutcome::RejectedStale {
                highest: self.highest,
            }
        } else {
            if token > self.highest {
                self.highest = token;
                if self.fencing {
                    // Durable before the answer: a restarted store still fences.
                    ctx.storage().put(FENCE_KEY, token.into());
                    ctx.storage().sync();
                }
            }
            ctx.count("store.accepted", 1);
            ctx.annotate("token", token);
            self.witness
                .borrow_mut()
                .accepted(ctx.id(), from, token, value);
            WriteOutcome::Accepted
        };
        ctx.send(from, StoreMsg::WriteReply { seq, outcome }.into());
    }
}

impl Node<World> for StoreNode {
    fn on_start(&mut self, ctx: &mut Ctx<'_, World>) {
        self.highest = stored::<u64>(ctx.storage(), FENCE_KEY)
            .copied()
            .unwrap_or(0);
        ctx.count("store.accepted", 0);
        ctx.count("store.rejected_stale", 0);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: Msg) {
        if let Ok(StoreMsg::Write { seq, token, value }) = StoreMsg::try_from(msg) {
            self.on_write(ctx, from, seq, token, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::checker::judge;
    use crate::lock::client::LockClientTimer;
    use crate::world::Timer;
    use sim_core::{Clock, FaultAction, SimBuilder, SimTime};

    type Replies = Rc<RefCell<Vec<(u64, WriteOutcome)>>>;

    /// Writes `(at_ms, token)` to node 0 at those times (a timer per step, its index as the
    /// timer's seq) and records the answers.
    struct Script {
        steps: Vec<(u64, u64)>,
        replies: Replies,
    }

    impl Node<World> for Script {
        fn on_start(&mut self, ctx: &mut Ctx<'_, World>) {
            for (i, &(at, _)) in self.steps.iter().enumerate() {
                ctx.set_timer(
                    sim_core::Duration::from_millis(at),
                    LockClientTimer::WriteTimeout { seq: i as u64 }.into(),
                );
            }
        }

        fn on_timer(&mut self, ctx: &mut Ctx<'_, World>, timer: Timer) {
            if let Ok(LockClientTimer::WriteTimeout { seq }) = LockClientTimer::try_from(timer) {
                let token = self.steps[seq as usize].1;
                let write = StoreMsg::Write {
                    seq,
                    token,
                    value: seq,
                };
                ctx.send(NodeId(0), write.into());
            }
        }

        fn on_message(&mut self, _: &mut Ctx<'_, World>, _: NodeId, msg: Msg) {
            if let Ok(StoreMsg::WriteReply { seq, outcome }) = StoreMsg::try_from(msg) {
                self.replies.borrow_mut().push((seq, outcome));
            }
        }
    }

    /// Runs a store (node 0) and a script of writes (node 1) with `faults` on the store.
    fn run(
        fencing: bool,
        steps: &[(u64, u64)],
        faults: &[(u64, FaultAction)],
    ) -> (Vec<WriteOutcome>, Vec<AcceptedWrite>, u64) {
        let witness: Rc<RefCell<LockWitness>> = Rc::default();
        let replies: Replies = Rc::default();
        let w = Rc::clone(&witness);
        let (r, s) = (Rc::clone(&replies), steps.to_vec());
        let mut b = SimBuilder::<World>::new(1)
            .duration(sim_core::Duration::from_secs(1))
            .node(
                "store1",
                "store",
                "default",
                Clock::new(0, 0.0),
                Box::new(move || {
                    Box::new(StoreNode {
                        fencing,
                        highest: 0,
                        witness: Rc::clone(&w),
                    })
                }),
            )
            .node(
                "c1",
                "c",
                "default",
                Clock::new(0, 0.0),
                Box::new(move || {
                    Box::new(Script {
                        steps: s.clone(),
                        replies: Rc::clone(&r),
                    })
                }),
            );
        for (at, f) in faults {
            b = b.fault(SimTime(at * 1_000_000), f.clone());
        }
        let mut sim = b.build().expect("builds");
        sim.run();
        assert!(sim.violations().is_empty(), "{:?}", sim.violations());
        let mut got = replies.borrow().clone();
        got.sort_by_key(|(seq, _)| *seq);
        let accepted = witness.borrow().writes(NodeId(0)).to_vec();
        let rejected = sim_core::testing::expect_counter(&sim, NodeId(0), "store.rejected_stale");
        (
            got.into_iter().map(|(_, o)| o).collect(),
            accepted,
            rejected,
        )
    }

    fn tokens(writes: &[AcceptedWrite]) -> Vec<u64> {
        writes.iter().map(|w| w.token).collect()
    }

    const STEPS: [(u64, u64); 6] = [(10, 5), (20, 5), (30, 7), (40, 3), (50, 7), (60, 8)];

    #[test]
    fn a_fencing_store_rejects_tokens_below_the_highest() {
        let (outcomes, accepted, rejected) = run(true, &STEPS, &[]);
        let ok = WriteOutcome::Accepted;
        assert_eq!(
            outcomes,
            vec![
                ok,
                ok,
                ok,
                WriteOutcome::RejectedStale { highest: 7 },
                ok,
                ok
            ]
        );
        assert_eq!(tokens(&accepted), vec![5, 5, 7, 7, 8]);
        assert_eq!(rejected, 1);
        assert!(judge(&accepted).mutual_exclusion());
    }

    #[test]
    fn a_store_without_fencing_accepts_everything_and_the_checker_sees_two_writers() {
        let (outcomes, accepted, rejected) = run(false, &STEPS, &[]);
        assert!(outcomes.iter().all(|o| *o == WriteOutcome::Accepted));
        assert_eq!(tokens(&accepted), vec![5, 5, 7, 3, 7, 8]);
        assert_eq!(rejected, 0);
        assert!(!judge(&accepted).mutual_exclusion());
    }

    #[test]
    fn the_fence_survives_a_crash() {
        let steps = [(10, 5), (20, 9), (100, 4), (110, 9)];
        let faults = [
            (50, FaultAction::Crash(NodeId(0))),
            (60, FaultAction::Restart(NodeId(0))),
        ];
        let (outcomes, accepted, _) = run(true, &steps, &faults);
        assert_eq!(
            outcomes,
            vec![
                WriteOutcome::Accepted,
                WriteOutcome::Accepted,
                WriteOutcome::RejectedStale { highest: 9 },
                WriteOutcome::Accepted
            ]
        );
        assert_eq!(tokens(&accepted), vec![5, 9, 9]);
    }
}
