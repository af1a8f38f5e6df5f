//! The linearizability view: each key's operations as bars over time, with the linearization
//! the checker found or, for a key that fails, the longest linearizable prefix and the
//! operation that cannot be placed after it (what Porcupine's visualiser shows).

use sim_core::lin::Verdict;
use sim_core::{OpCall, OpPhase, Simulation};
use sim_models::World;

use crate::data::RunData;

/// One operation as a bar.
#[derive(Clone, Debug, PartialEq)]
pub struct LinOp {
    /// The simulator's operation id (the `op` trace events carry it).
    pub op_id: u64,
    /// The client node.
    pub client: u32,
    /// The operation in words (`write k3 7 -> ok`).
    pub text: String,
    /// Invocation time.
    pub invoked: u64,
    /// Completion time; `None` for unknown outcome (the bar runs to the end).
    pub completed: Option<u64>,
    /// Its place in the linearization or prefix, from 0, if it has one.
    pub order: Option<usize>,
    /// Part of the minimal set of operations that cannot be ordered.
    pub conflict: bool,
    /// The operation that cannot be placed.
    pub unplaceable: bool,
}

/// One key (one checker partition).
#[derive(Clone, Debug, PartialEq)]
pub struct KeyBars {
    /// The partition's label (`key 3`).
    pub label: String,
    /// Its verdict.
    pub verdict: Verdict,
    /// Its operations in invocation order.
    pub ops: Vec<LinOp>,
    /// The model state after the prefix, for a failing key.
    pub state: Option<String>,
}

/// The whole check, key by key, failing keys first.
#[derive(Clone, Debug, PartialEq)]
pub struct LinView {
    /// The overall verdict.
    pub verdict: Verdict,
    /// Keys, failing first, then by label.
    pub keys: Vec<KeyBars>,
}

impl LinView {
    /// Checks the run's read / write / cas history (as `sim_models::run` does) and lays the
    /// result out per key. `None` when the clients did no register operations.
    pub fn of(sim: &Simulation<World>, data: &RunData) -> Option<LinView> {
        let (history, result) = sim_models::run::check_register_history(sim)?;
        let describe = |i: usize| -> Option<LinOp> {
            let id = history.ids.get(i)?;
            let op = sim.history().get(*id)?;
            let result = match (op.status, op.result, &op.call) {
                (OpPhase::Ok, Some(v), _) => format!(" -> {v}"),
                (OpPhase::Ok, None, OpCall::Read { .. }) => " -> empty".to_owned(),
                _ => String::new(),
            };
            Some(LinOp {
                op_id: id.0,
                client: op.client.0,
                text: format!(
                    "{}{result} ({}, {})",
                    op.call,
                    data.name(op.client.0),
                    op.status.as_str()
                ),
                invoked: op.invoked.0,
                completed: op
                    .completed
                    .map(|t| t.0)
                    .filter(|_| op.status == OpPhase::Ok),
                order: None,
                conflict: false,
                unplaceable: false,
            })
        };
        let mut keys: Vec<KeyBars> = result
            .partitions
            .iter()
            .map(|p| {
                let order: &[usize] = match &p.counterexample {
                    Some(c) => &c.prefix,
                    None => &p.linearization,
                };
                let ops = p
                    .ops
                    .iter()
                    .filter_map(|&i| {
                        let mut op = describe(i)?;
                        op.order = order.iter().position(|&x| x == i);
                        if let Some(c) = &p.counterexample {
                            op.unplaceable = c.op == i;
                            op.conflict = c.conflict.contains(&i);
                        }
                        Some(op)
                    })
                    .collect();
                KeyBars {
                    label: if p.label.is_empty() {
                        "all keys".to_owned()
                    } else {
                        p.label.clone()
                    },
                    verdict: p.verdict,
                    ops,
                    state: p.counterexample.as_ref().map(|c| c.state.clone()),
                }
            })
            .collect();
        keys.sort_by_key(|k| (k.verdict != Verdict::NotLinearizable, k.label.clone()));
        Some(LinView {
            verdict: result.verdict,
            keys,
        })
    }
}
