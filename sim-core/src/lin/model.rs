//! The models the checker ships: registers, a key-value store, Knossos's multi-register and a
//! mutex.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{Debug, Display};
use std::hash::Hash;

use super::{Model, Operation, Partition};

/// An operation on one integer register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    /// Read the value; the output is the value read (`None`: the register is empty).
    Read,
    /// Write a value.
    Write(i64),
    /// Compare-and-set: write `to` if the register holds `from`, else the operation fails
    /// (and a failed operation is not part of the history).
    Cas {
        /// The value the register must hold.
        from: i64,
        /// The value written.
        to: i64,
    },
}

/// A single register holding an optional integer, with read, write and compare-and-set.
///
/// The semantics that reproduce every verdict of the recorded Jepsen data (see the data's
/// SPEC.md §3–§4): the register starts at `initial` (empty by default); a read that returned
/// `None` means "empty", literally; an unknown-outcome read says nothing and is dropped; an
/// unknown write or compare-and-set may or may not have happened, and a compare-and-set applies
/// only if its `from` matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Register {
    /// The value before any write (`None`: empty).
    pub initial: Option<i64>,
}

fn describe_value(v: Option<i64>) -> String {
    v.map_or_else(|| String::from("nil"), |v| v.to_string())
}

fn register_step(
    state: Option<i64>,
    op: RegisterOp,
    output: Option<&Option<i64>>,
) -> Option<Option<i64>> {
    match op {
        RegisterOp::Read => match output {
            None => Some(state),
            Some(&seen) => (seen == state).then_some(state),
        },
        RegisterOp::Write(v) => Some(Some(v)),
        RegisterOp::Cas { from, to } => (state == Some(from)).then_some(Some(to)),
    }
}

/// The writes and compare-and-sets whose value nothing in `ops` observed: no read returned it
/// and no compare-and-set expected it, on the same key. Such an operation can only be followed
/// by a write, which overwrites it, or by nothing that can happen in the state it leaves; see
/// [`Model::unobservable`]. A read whose output is unknown would see any value, so none is
/// marked on its key.
fn unobservable_writes<K: Ord>(ops: &[(&K, RegisterOp, Option<&Option<i64>>)]) -> Vec<bool> {
    let mut seen: BTreeSet<(&K, i64)> = BTreeSet::new();
    let mut blind: BTreeSet<&K> = BTreeSet::new();
    for &(key, op, output) in ops {
        match (op, output) {
            (RegisterOp::Read, Some(&Some(v))) | (RegisterOp::Cas { from: v, .. }, _) => {
                seen.insert((key, v));
            }
            (RegisterOp::Read, None) => {
                blind.insert(key);
            }
            _ => {}
        }
    }
    ops.iter()
        .map(|&(key, op, _)| match op {
            RegisterOp::Write(v) | RegisterOp::Cas { to: v, .. } => {
                !seen.contains(&(key, v)) && !blind.contains(key)
            }
            RegisterOp::Read => false,
        })
        .collect()
}

fn describe_register_op(op: RegisterOp, output: Option<&Option<i64>>) -> String {
    match op {
        RegisterOp::Read => match output {
            Some(&v) => format!("read -> {}", describe_value(v)),
            None => String::from("read -> ?"),
        },
        RegisterOp::Write(v) => format!("write {v}"),
        RegisterOp::Cas { from, to } => format!("cas {from}->{to}"),
    }
}

impl Model for Register {
    type State = Option<i64>;
    type Input = RegisterOp;
    type Output = Option<i64>;

    fn init(&self) -> Option<i64> {
        self.initial
    }

    fn step(
        &self,
        state: &Option<i64>,
        input: &RegisterOp,
        output: Option<&Option<i64>>,
    ) -> Option<Option<i64>> {
        register_step(*state, *input, output)
    }

    fn is_read_only(&self, input: &RegisterOp) -> bool {
        matches!(input, RegisterOp::Read)
    }

    fn unobservable(&self, ops: &[(&RegisterOp, Option<&Option<i64>>)]) -> Vec<bool> {
        let keyed: Vec<_> = ops.iter().map(|&(op, out)| (&(), *op, out)).collect();
        unobservable_writes(&keyed)
    }

    fn describe_operation(&self, input: &RegisterOp, output: Option<&Option<i64>>) -> String {
        describe_register_op(*input, output)
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        describe_value(*state)
    }
}

/// Independent registers, one per key, each behaving like [`Register`]; checked per key.
///
/// The state is that of one register: the history is always split per key before searching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegisterMap<K> {
    /// The value of every register before any write (`None`: empty).
    pub initial: Option<i64>,
    _key: std::marker::PhantomData<fn() -> K>,
}

impl<K> RegisterMap<K> {
    /// Registers that start at `initial`.
    pub fn new(initial: Option<i64>) -> Self {
        RegisterMap {
            initial,
            _key: std::marker::PhantomData,
        }
    }
}

impl<K> Default for RegisterMap<K> {
    fn default() -> Self {
        RegisterMap::new(None)
    }
}

/// Groups operation indices by key, in key order (a BTreeMap, so the order never depends on
/// hashing).
fn partition_by<I, O, K: Ord + Clone + Display>(
    history: &[Operation<I, O>],
    key: impl Fn(&I) -> &K,
) -> Vec<Partition> {
    let mut groups: BTreeMap<K, Vec<usize>> = BTreeMap::new();
    for (i, op) in history.iter().enumerate() {
        groups.entry(key(&op.input).clone()).or_default().push(i);
    }
    groups
        .into_iter()
        .map(|(k, ops)| Partition {
            label: format!("key {k}"),
            ops,
        })
        .collect()
}

impl<K: Ord + Clone + Display + Debug> Model for RegisterMap<K> {
    type State = Option<i64>;
    type Input = (K, RegisterOp);
    type Output = Option<i64>;

    fn init(&self) -> Option<i64> {
        self.initial
    }

    fn step(
        &self,
        state: &Option<i64>,
        input: &(K, RegisterOp),
        output: Option<&Option<i64>>,
    ) -> Option<Option<i64>> {
        register_step(*state, input.1, output)
    }

    fn is_read_only(&self, input: &(K, RegisterOp)) -> bool {
        matches!(input.1, RegisterOp::Read)
    }

    fn unobservable(&self, ops: &[(&(K, RegisterOp), Option<&Option<i64>>)]) -> Vec<bool> {
        let keyed: Vec<_> = ops
            .iter()
            .map(|&((key, op), out)| (key, *op, out))
            .collect();
        unobservable_writes(&keyed)
    }

    fn partition(&self, history: &[Operation<(K, RegisterOp), Option<i64>>]) -> Vec<Partition> {
        partition_by(history, |input| &input.0)
    }

    fn describe_operation(&self, input: &(K, RegisterOp), output: Option<&Option<i64>>) -> String {
        format!("{} {}", input.0, describe_register_op(input.1, output))
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        describe_value(*state)
    }
}

/// A key-value operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvOp {
    /// Read the key's value (the output; `""` if missing).
    Get,
    /// Replace the key's value.
    Put(String),
    /// Append to the key's value.
    Append(String),
}

/// A key-value operation on one key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KvInput {
    /// The key.
    pub key: String,
    /// The operation.
    pub op: KvOp,
}

/// A store of string values under string keys with get, put and append (Porcupine's kv model,
/// after the MIT 6.824 lab): every key starts at `""`, and keys are checked independently.
///
/// The state is one key's value: the history is always split per key before searching.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyValue;

impl Model for KeyValue {
    type State = String;
    type Input = KvInput;
    type Output = String;

    fn init(&self) -> String {
        String::new()
    }

    fn step(&self, state: &String, input: &KvInput, output: Option<&String>) -> Option<String> {
        match &input.op {
            KvOp::Get => match output {
                Some(seen) if seen != state => None,
                _ => Some(state.clone()),
            },
            KvOp::Put(v) => Some(v.clone()),
            KvOp::Append(v) => {
                let mut s = String::with_capacity(state.len() + v.len());
                s.push_str(state);
                s.push_str(v);
                Some(s)
            }
        }
    }

    fn is_read_only(&self, input: &KvInput) -> bool {
        input.op == KvOp::Get
    }

    fn partition(&self, history: &[Operation<KvInput, String>]) -> Vec<Partition> {
        let mut parts = partition_by(history, |input| &input.key);
        for p in &mut parts {
            // Labels with quotes, so that an empty key is visible.
            if let Some(&first) = p.ops.first() {
                p.label = format!("key {:?}", history[first].input.key);
            }
        }
        parts
    }

    fn describe_operation(&self, input: &KvInput, output: Option<&String>) -> String {
        match &input.op {
            KvOp::Get => match output {
                Some(v) => format!("get {:?} -> {v:?}", input.key),
                None => format!("get {:?} -> ?", input.key),
            },
            KvOp::Put(v) => format!("put {:?} {v:?}", input.key),
            KvOp::Append(v) => format!("append {:?} {v:?}", input.key),
        }
    }

    fn describe_state(&self, state: &String) -> String {
        format!("{state:?}")
    }
}

/// One step of a multi-register transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TxnOp {
    /// Read a register; `value` is what was read (`None`: empty).
    Read {
        /// The register.
        key: String,
        /// The value read.
        value: Option<i64>,
    },
    /// Write a register.
    Write {
        /// The register.
        key: String,
        /// The value written.
        value: i64,
    },
}

/// Knossos's multi-register: named integer registers updated by transactions (lists of reads
/// and writes applied atomically). Transactions span keys, so the history is not split.
///
/// The transaction's read values are its input; when the outcome is unknown they are not
/// checked. A read of `None` means the register is empty (unlike Knossos, where it is a
/// wildcard).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MultiRegister {
    /// The registers' values before any write; registers not listed start empty.
    pub initial: BTreeMap<String, i64>,
}

impl Model for MultiRegister {
    type State = BTreeMap<String, i64>;
    type Input = Vec<TxnOp>;
    type Output = ();

    fn init(&self) -> BTreeMap<String, i64> {
        self.initial.clone()
    }

    fn step(
        &self,
        state: &BTreeMap<String, i64>,
        input: &Vec<TxnOp>,
        output: Option<&()>,
    ) -> Option<BTreeMap<String, i64>> {
        let known = output.is_some();
        let mut next: Option<BTreeMap<String, i64>> = None;
        for op in input {
            match op {
                TxnOp::Read { key, value } => {
                    let current = next.as_ref().unwrap_or(state).get(key).copied();
                    if known && current != *value {
                        return None;
                    }
                }
                TxnOp::Write { key, value } => {
                    next.get_or_insert_with(|| state.clone())
                        .insert(key.clone(), *value);
                }
            }
        }
        Some(next.unwrap_or_else(|| state.clone()))
    }

    fn is_read_only(&self, input: &Vec<TxnOp>) -> bool {
        input.iter().all(|op| matches!(op, TxnOp::Read { .. }))
    }

    fn describe_operation(&self, input: &Vec<TxnOp>, output: Option<&()>) -> String {
        let parts: Vec<String> = input
            .iter()
            .map(|op| match op {
                TxnOp::Read { key, value } if output.is_some() => {
                    format!("r {key} {}", describe_value(*value))
                }
                TxnOp::Read { key, .. } => format!("r {key} ?"),
                TxnOp::Write { key, value } => format!("w {key} {value}"),
            })
            .collect();
        format!("txn [{}]", parts.join(", "))
    }

    fn describe_state(&self, state: &BTreeMap<String, i64>) -> String {
        let parts: Vec<String> = state.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{{{}}}", parts.join(", "))
    }
}

/// A mutex operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MutexOp {
    /// Take the lock; only possible when it is free.
    Acquire,
    /// Give the lock back; only possible when it is held.
    Release,
}

/// Knossos's mutex: a lock that starts free. (It does not track the owner, like Knossos's.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mutex;

impl Model for Mutex {
    type State = bool;
    type Input = MutexOp;
    type Output = ();

    fn init(&self) -> bool {
        false
    }

    fn step(&self, locked: &bool, input: &MutexOp, _output: Option<&()>) -> Option<bool> {
        match input {
            MutexOp::Acquire => (!*locked).then_some(true),
            MutexOp::Release => locked.then_some(false),
        }
    }

    fn describe_operation(&self, input: &MutexOp, _output: Option<&()>) -> String {
        match input {
            MutexOp::Acquire => String::from("acquire"),
            MutexOp::Release => String::from("release"),
        }
    }

    fn describe_state(&self, locked: &bool) -> String {
        String::from(if *locked { "locked" } else { "free" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_semantics() {
        let m = Register::default();
        assert_eq!(m.init(), None);
        assert_eq!(m.step(&None, &RegisterOp::Read, Some(&None)), Some(None));
        assert_eq!(m.step(&None, &RegisterOp::Read, Some(&Some(1))), None);
        assert_eq!(m.step(&Some(1), &RegisterOp::Read, None), Some(Some(1)));
        assert_eq!(m.step(&None, &RegisterOp::Write(2), None), Some(Some(2)));
        let cas = RegisterOp::Cas { from: 2, to: 3 };
        assert_eq!(m.step(&Some(2), &cas, Some(&None)), Some(Some(3)));
        assert_eq!(m.step(&Some(1), &cas, None), None);
        assert_eq!(m.step(&None, &cas, None), None);
        assert!(m.is_read_only(&RegisterOp::Read));
        assert!(!m.is_read_only(&cas));
        assert_eq!(m.describe_operation(&cas, None), "cas 2->3");
        assert_eq!(
            m.describe_operation(&RegisterOp::Read, Some(&None)),
            "read -> nil"
        );
    }

    #[test]
    fn unobservable_register_writes() {
        let read = RegisterOp::Read;
        let (w5, w6, w7) = (
            RegisterOp::Write(5),
            RegisterOp::Write(6),
            RegisterOp::Write(7),
        );
        let cas = RegisterOp::Cas { from: 6, to: 8 };
        let ops = [
            (&w5, None),
            (&w6, None),
            (&w7, Some(&None)),
            (&read, Some(&Some(6))),
            (&cas, None),
            (&read, Some(&None)),
        ];
        // 5, 7 and 8 were never read nor expected; 6 was read, and expected by the cas.
        assert_eq!(
            Register::default().unobservable(&ops),
            vec![true, false, true, false, true, false]
        );
        // A read with unknown output could have seen anything.
        let blind = [(&w5, None), (&read, None)];
        assert_eq!(Register::default().unobservable(&blind), vec![false, false]);
        // Per key.
        let m = RegisterMap::<u64>::default();
        let (a5, b5, a_read) = ((1, w5), (2, w5), (1, read));
        let keyed = [(&a5, None), (&b5, None), (&a_read, Some(&Some(5)))];
        assert_eq!(m.unobservable(&keyed), vec![false, true, false]);
        // Models that say nothing mark nothing.
        let put = KvInput {
            key: "a".into(),
            op: KvOp::Put("x".into()),
        };
        assert_eq!(KeyValue.unobservable(&[(&put, None)]), vec![false]);
    }

    #[test]
    fn kv_semantics_and_partitions() {
        let m = KeyValue;
        let put = KvInput {
            key: "a".into(),
            op: KvOp::Put("x".into()),
        };
        let app = KvInput {
            key: "a".into(),
            op: KvOp::Append("y".into()),
        };
        let get = KvInput {
            key: "a".into(),
            op: KvOp::Get,
        };
        let s = m.step(&m.init(), &put, Some(&String::new())).expect("put");
        let s = m.step(&s, &app, Some(&String::new())).expect("append");
        assert_eq!(s, "xy");
        assert!(m.step(&s, &get, Some(&"x".to_string())).is_none());
        assert!(m.step(&s, &get, None).is_some());
        let op = |key: &str| Operation {
            client: 0,
            call: 0,
            ret: Some(1),
            input: KvInput {
                key: key.into(),
                op: KvOp::Get,
            },
            output: String::new(),
        };
        let parts = m.partition(&[op("b"), op("a"), op("b")]);
        assert_eq!(
            parts,
            vec![
                Partition {
                    label: "key \"a\"".into(),
                    ops: vec![1]
                },
                Partition {
                    label: "key \"b\"".into(),
                    ops: vec![0, 2]
                }
            ]
        );
    }

    #[test]
    fn multi_register_and_mutex_semantics() {
        let m = MultiRegister {
            initial: [("x".to_string(), 0)].into_iter().collect(),
        };
        let txn = vec![
            TxnOp::Read {
                key: "x".into(),
                value: Some(0),
            },
            TxnOp::Write {
                key: "y".into(),
                value: 2,
            },
            TxnOp::Read {
                key: "y".into(),
                value: Some(2),
            },
        ];
        let s = m.step(&m.init(), &txn, Some(&())).expect("txn applies");
        assert_eq!(m.describe_state(&s), "{x=0, y=2}");
        assert!(m.step(&s, &txn, Some(&())).is_some());
        let read_y0 = vec![TxnOp::Read {
            key: "y".into(),
            value: Some(0),
        }];
        assert!(m.step(&s, &read_y0, Some(&())).is_none());
        assert!(
            m.step(&s, &read_y0, None).is_some(),
            "unknown reads are unchecked"
        );

        let mx = Mutex;
        assert_eq!(mx.step(&false, &MutexOp::Acquire, None), Some(true));
        assert_eq!(mx.step(&true, &MutexOp::Acquire, None), None);
        assert_eq!(mx.step(&false, &MutexOp::Release, None), None);
    }
}
