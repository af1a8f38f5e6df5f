//! Linearizability checking: does a concurrent history behave like some sequential run of a
//! model?
//!
//! The search is the Wing–Gong algorithm with Lowe's memoisation, the approach of Porcupine and
//! Knossos: the history becomes a linked list of call and return entries in real-time order; the
//! search repeatedly picks an operation whose call comes before the first pending return, applies
//! it to the model, lifts it out of the list, and backtracks when it reaches a return it cannot
//! satisfy. Configurations (set of linearized operations, model state) already explored are
//! remembered, so each is explored once. Histories are first split into independent partitions
//! (one per key for the register and key-value models), and each partition is searched alone.
//!
//! Operations whose outcome is unknown (Jepsen `info`, or an invocation that never completed)
//! have no return: they may take effect at any point after their call, or never. A history is
//! linearizable when every completed operation can be placed. The search places such an
//! operation only right before one that needs it (one that would fail or end elsewhere
//! without it), and leaves out those that nothing could observe ([`Model::unobservable`]), so
//! that many of them do not make it try every place and order for each.
//!
//! The search's budget counts all its work in steps (model steps, remembered configurations
//! compared, and list entries looked at, an eighth of a step each), so that its time is
//! bounded by its budget.
//!
//! When a partition is not linearizable, its [`Counterexample`] names the first operation
//! (in return order) that cannot be placed, a linearization of everything that completed
//! before it, and a minimal set of operations whose real-time order and results cannot be
//! reconciled.
//!
//! Histories come from the simulator ([`from_sim_history`]), from the project's JSON-lines format
//! ([`jsonl::read`]) or from Jepsen/Knossos EDN files ([`edn::read`]).

pub mod edn;
mod external;
pub mod jsonl;
mod model;
mod search;

use std::fmt;

pub use external::{History, Ops, Origin};
pub use model::{
    KeyValue, KvInput, KvOp, MultiRegister, Mutex, MutexOp, Register, RegisterMap, RegisterOp,
    TxnOp,
};

use crate::history::{History as SimHistory, OpCall, OpId};
use crate::trace::OpPhase;

/// One operation of a history, in a form every model and reader shares.
///
/// Times only order events; their unit does not matter. Intervals are closed: an operation that
/// returns at `t` and one called at `t` overlap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    /// The client (Jepsen process) that issued it; informational, the search ignores it.
    pub client: u64,
    /// When it was invoked.
    pub call: u64,
    /// When it returned; `None` if its outcome is unknown (`info`, or never completed): it may
    /// take effect at any time after `call`, or never.
    pub ret: Option<u64>,
    /// What was asked.
    pub input: I,
    /// What was answered. Ignored when `ret` is `None`: the model sees no output then.
    pub output: O,
}

impl<I, O> Operation<I, O> {
    /// Whether the operation completed (has a return time and a known output).
    pub fn is_completed(&self) -> bool {
        self.ret.is_some()
    }
}

/// A group of operations that can be checked on its own (e.g. all operations on one key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    /// A short name for reports, e.g. `key "3"`; empty when the history is not split.
    pub label: String,
    /// Indices into the history, ascending.
    pub ops: Vec<usize>,
}

/// A sequential specification: what a single copy of the object does, one operation at a time.
pub trait Model {
    /// The object's state. It is hashed and compared to remember explored configurations.
    type State: Clone + Eq + std::hash::Hash;
    /// What an operation asks for.
    type Input;
    /// What an operation answers.
    type Output;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Applies `input` to `state`: the new state, or `None` if the operation cannot happen in
    /// `state` with this `output`. `output` is `None` when it is unknown (an `info` operation):
    /// any output is then acceptable.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// True if an operation with this input never changes the state, so that one whose output
    /// is unknown can be dropped before the search. The default (`false`) is always correct.
    fn is_read_only(&self, _input: &Self::Input) -> bool {
        false
    }

    /// Marks the operations of `ops` whose effect no other operation of `ops` could observe,
    /// one flag per operation. `ops` are the operations of one search, each with its output
    /// when it is known. An operation `x` may be marked if, in every state, each other
    /// operation of `ops` that can happen right after `x` could equally happen without it,
    /// with the same result: for a register, a write whose value no read returned and no
    /// compare-and-set expected.
    ///
    /// The search leaves out the marked operations that may or may not take effect (unknown
    /// outcome, or relaxed while a counterexample is minimised): in a linearization such an
    /// operation can always be left out, so marking it never changes a verdict, and it spares
    /// the search trying every place where it might have taken effect. The default marks
    /// none, which is always correct.
    fn unobservable(&self, ops: &[(&Self::Input, Option<&Self::Output>)]) -> Vec<bool> {
        vec![false; ops.len()]
    }

    /// Splits a history into independent partitions, checked separately (per key, say). The
    /// default keeps everything together. Partitions must be disjoint and cover every
    /// operation, and their order must not depend on hashing, so results are deterministic.
    fn partition(&self, history: &[Operation<Self::Input, Self::Output>]) -> Vec<Partition> {
        vec![Partition {
            label: String::new(),
            ops: (0..history.len()).collect(),
        }]
    }

    /// A short human-readable description of an operation, e.g. `write 3` or `read -> 2`.
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String;

    /// A short human-readable description of a state.
    fn describe_state(&self, state: &Self::State) -> String;
}

/// The outcome of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Some order of the operations is consistent with real time and the model.
    Linearizable,
    /// No such order exists.
    NotLinearizable,
    /// The search ran out of budget ([`CheckOptions::max_steps`]) before deciding. Never a
    /// guess: a history with this verdict may or may not be linearizable.
    Unknown,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable => "not linearizable",
            Verdict::Unknown => "unknown",
        })
    }
}

/// Limits and switches for [`check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// The most steps the search of one partition may take before giving up with
    /// [`Verdict::Unknown`]. Every piece of work counts: a step is a model step or a remembered
    /// configuration compared (a few for partitions of thousands of operations), and each
    /// list entry looked at costs an eighth of a step. So the time of a search is bounded by
    /// it: with the shipped models the default amounts to well under a second per partition.
    /// Memory grows with it too (at most one remembered configuration per step).
    pub max_steps: u64,
    /// Whether to compute the minimal conflicting set of a failing partition (costs a few
    /// extra searches of the failing prefix).
    pub explain: bool,
    /// The step budget (steps as in [`CheckOptions::max_steps`]) of the minimisation behind
    /// [`Counterexample::conflict`], shared by all failing partitions (explained in order);
    /// when it runs out the set found so far is reported with `minimal: false`.
    pub max_explain_steps: u64,
    /// Search every partition to the end. When false (the default), partitions are searched
    /// in rounds with a growing step budget and the check stops after the first round in
    /// which one is refuted (as Porcupine stops at the first failing partition): proving a
    /// partition not linearizable can take far longer than finding that another one is not.
    /// The partitions left undecided are marked [`PartitionResult::stopped_early`].
    pub all_partitions: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            max_steps: 5_000_000,
            explain: true,
            max_explain_steps: 1_000_000,
            all_partitions: false,
        }
    }
}

/// Why a partition is not linearizable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterexample {
    /// The first operation, in return order, that cannot be placed: everything that returned
    /// before it can be linearized, but nothing also fits this operation before its return.
    pub op: usize,
    /// The longest linearizable prefix the search found: a linearization of every operation
    /// that returned before `op` (plus some that were still running), as history indices in
    /// linearization order. `op` cannot be placed anywhere after it.
    pub prefix: Vec<usize>,
    /// The model state after `prefix`, described.
    pub state: String,
    /// A set of completed operations that cannot be ordered, ascending, including `op`: even
    /// if every other operation of the history were optional (free to take effect or not,
    /// within its own interval; after its invocation, for operations with unknown outcome),
    /// these could not be ordered consistently with their real-time order and their results.
    pub conflict: Vec<usize>,
    /// Whether `conflict` is minimal: relaxing any one of its members makes it orderable.
    /// `false` when explanation was switched off or ran out of budget.
    pub minimal: bool,
}

/// The result of checking one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionResult {
    /// The partition's label (see [`Partition`]).
    pub label: String,
    /// The history indices in this partition, ascending.
    pub ops: Vec<usize>,
    /// The verdict for this partition.
    pub verdict: Verdict,
    /// Steps (see [`CheckOptions::max_steps`]) the main search took, over all rounds.
    pub steps: u64,
    /// True if the search of this partition was left undecided because another partition
    /// had already been refuted (see [`CheckOptions::all_partitions`]); its verdict is then
    /// [`Verdict::Unknown`].
    pub stopped_early: bool,
    /// When linearizable: one linearization, as history indices in order. Operations with
    /// unknown outcome appear only if they were placed (took effect).
    pub linearization: Vec<usize>,
    /// When not linearizable: why.
    pub counterexample: Option<Counterexample>,
}

/// The result of [`check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    /// Not linearizable if any partition is not; else unknown if any partition is unknown;
    /// else linearizable.
    pub verdict: Verdict,
    /// One result per partition, in the model's partition order.
    pub partitions: Vec<PartitionResult>,
}

impl CheckResult {
    /// True only if the history was shown linearizable.
    pub fn is_linearizable(&self) -> bool {
        self.verdict == Verdict::Linearizable
    }

    /// The failing partitions.
    pub fn failures(&self) -> impl Iterator<Item = &PartitionResult> {
        self.partitions
            .iter()
            .filter(|p| p.verdict == Verdict::NotLinearizable)
    }

    /// Total steps of the main searches (see [`CheckOptions::max_steps`]).
    pub fn steps(&self) -> u64 {
        self.partitions.iter().map(|p| p.steps).sum()
    }

    /// A multi-line human-readable account of the verdict and of each counterexample, using
    /// `describe` to name operations (e.g. [`History::describe_op`]).
    pub fn report(&self, describe: impl Fn(usize) -> String) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} ({} partition{})",
            self.verdict,
            self.partitions.len(),
            if self.partitions.len() == 1 { "" } else { "s" }
        );
        for p in &self.partitions {
            if p.verdict == Verdict::Linearizable {
                continue;
            }
            let label = if p.label.is_empty() {
                String::from("history")
            } else {
                p.label.clone()
            };
            if p.stopped_early {
                let _ = writeln!(
                    out,
                    "{label}: not searched to the end (another partition failed first)"
                );
                continue;
            }
            let _ = writeln!(out, "{label}: {} after {} steps", p.verdict, p.steps);
            if let Some(c) = &p.counterexample {
                let _ = writeln!(out, "  cannot place: {}", describe(c.op));
                let _ = writeln!(
                    out,
                    "  after a linearization of the {} operations before it, ending in state {}",
                    c.prefix.len(),
                    c.state
                );
                let _ = writeln!(
                    out,
                    "  {} set of {} operations that cannot be ordered:",
                    if c.minimal { "minimal" } else { "a" },
                    c.conflict.len()
                );
                for &i in &c.conflict {
                    let _ = writeln!(out, "    {}", describe(i));
                }
            }
        }
        out
    }
}

/// Checks `history` against `model`: partitions it, searches each partition, and explains
/// failures. Deterministic: the same input always gives the same result.
pub fn check<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    options: &CheckOptions,
) -> CheckResult {
    let partitions = search::check_partitions(model, history, model.partition(history), options);
    let verdict = if partitions
        .iter()
        .any(|p| p.verdict == Verdict::NotLinearizable)
    {
        Verdict::NotLinearizable
    } else if partitions.iter().any(|p| p.verdict == Verdict::Unknown) {
        Verdict::Unknown
    } else {
        Verdict::Linearizable
    };
    CheckResult {
        verdict,
        partitions,
    }
}

/// The register operations of a simulator run, ready for [`check`] with a [`RegisterMap`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimRegisterHistory {
    /// The operations, in invocation order: `(key, operation)` inputs, read results as outputs.
    pub ops: Vec<Operation<(u64, RegisterOp), Option<i64>>>,
    /// The simulator's id of each operation (same index as `ops`).
    pub ids: Vec<OpId>,
}

impl SimRegisterHistory {
    /// Checks the history as independent registers (one per key) that start empty.
    pub fn check(&self, options: &CheckOptions) -> CheckResult {
        check(&RegisterMap::<u64>::default(), &self.ops, options)
    }
}

/// Converts a simulator history to checker operations on per-key registers, so a run's
/// client operations can be checked for linearizability.
///
/// Reads, writes and compare-and-sets are kept; `Other` operations are not register operations
/// and are left out, as are `fail`ed ones (they did not take effect). `info` operations and
/// those still open at the end have an unknown outcome. A read result of `None` means the key
/// was empty; registers start empty.
pub fn from_sim_history(history: &SimHistory) -> SimRegisterHistory {
    let mut out = SimRegisterHistory::default();
    for op in history.operations() {
        let (key, input) = match op.call {
            OpCall::Read { key } => (key, RegisterOp::Read),
            OpCall::Write { key, value } => (key, RegisterOp::Write(value)),
            OpCall::Cas { key, expected, new } => (
                key,
                RegisterOp::Cas {
                    from: expected,
                    to: new,
                },
            ),
            OpCall::Other { .. } => continue,
        };
        let ret = match op.status {
            OpPhase::Fail => continue,
            OpPhase::Ok => Some(op.completed.map_or(op.invoked.0, |t| t.0)),
            OpPhase::Info | OpPhase::Invoke => None,
        };
        out.ops.push(Operation {
            client: u64::from(op.client.0),
            call: op.invoked.0,
            ret,
            input: (key, input),
            output: if ret.is_some() { op.result } else { None },
        });
        out.ids.push(op.id);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::NodeId;
    use crate::time::SimTime;

    #[test]
    fn sim_history_converts_and_checks_per_key() {
        let mut h = SimHistory::default();
        let c = NodeId(1);
        let w = h.invoke(SimTime(1), c, OpCall::Write { key: 1, value: 5 });
        h.complete(SimTime(2), c, w, OpPhase::Ok, None);
        let r = h.invoke(SimTime(3), c, OpCall::Read { key: 2 });
        h.complete(SimTime(4), c, r, OpPhase::Ok, None);
        let f = h.invoke(
            SimTime(5),
            c,
            OpCall::Cas {
                key: 1,
                expected: 9,
                new: 1,
            },
        );
        h.complete(SimTime(6), c, f, OpPhase::Fail, None);
        h.invoke(
            SimTime(7),
            c,
            OpCall::Other {
                name: "ping",
                key: 0,
            },
        );
        let r1 = h.invoke(SimTime(8), c, OpCall::Read { key: 1 });
        h.complete(SimTime(9), c, r1, OpPhase::Ok, Some(5));
        h.invoke(SimTime(10), c, OpCall::Write { key: 1, value: 7 });

        let sim = from_sim_history(&h);
        assert_eq!(sim.ids, vec![w, r, r1, OpId(5)]);
        assert_eq!(sim.ops[3].ret, None, "still open: unknown outcome");
        let result = sim.check(&CheckOptions::default());
        assert_eq!(result.verdict, Verdict::Linearizable);
        assert_eq!(result.partitions.len(), 2);
        assert_eq!(result.partitions[0].label, "key 1");

        // A read of key 2 that sees a value nobody wrote.
        let mut h2 = h.clone();
        let bad = h2.invoke(SimTime(11), c, OpCall::Read { key: 2 });
        h2.complete(SimTime(12), c, bad, OpPhase::Ok, Some(3));
        let sim2 = from_sim_history(&h2);
        let result = sim2.check(&CheckOptions::default());
        assert_eq!(result.verdict, Verdict::NotLinearizable);
        let fail = result.failures().next().expect("a failing partition");
        assert_eq!(fail.label, "key 2");
        let cx = fail.counterexample.as_ref().expect("counterexample");
        assert_eq!(sim2.ids[cx.op], bad);
        assert_eq!(cx.conflict, vec![cx.op]);
    }
}
