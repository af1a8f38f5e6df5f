//! Externally recorded histories (JSON lines, Jepsen EDN): the events both readers produce,
//! how invocations are paired with completions, and the typed [`History`] they become.

use std::collections::BTreeMap;
use std::fmt;

use super::edn::Value;
use super::{
    CheckOptions, CheckResult, KeyValue, KvInput, KvOp, Model, MultiRegister, Mutex, MutexOp,
    Operation, Register, RegisterMap, RegisterOp, TxnOp, check,
};

/// A reader error, with the 1-based line (and column, where known) it refers to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {message}", .column.map(|c| format!(", column {c}")).unwrap_or_default())]
pub struct ParseError {
    /// The 1-based line.
    pub line: usize,
    /// The 1-based column (in characters), where known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    pub(super) fn at(pos: Pos, message: impl Into<String>) -> Self {
        ParseError {
            line: pos.line,
            column: pos.column,
            message: message.into(),
        }
    }
}

/// A position in the source text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Pos {
    pub line: usize,
    pub column: Option<usize>,
}

/// The kind of a history event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl Kind {
    pub(super) fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "invoke" => Kind::Invoke,
            "ok" => Kind::Ok,
            "fail" => Kind::Fail,
            "info" => Kind::Info,
            _ => return None,
        })
    }
}

/// One event as read, before pairing.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Event {
    pub pos: Pos,
    /// `None` for non-client processes (Jepsen's `:nemesis`): such events are skipped.
    pub process: Option<u64>,
    pub kind: Kind,
    pub f: String,
    pub key: Value,
    pub value: Value,
}

/// Where an operation came from in the source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The process (client) that ran it.
    pub process: u64,
    /// The 1-based line of its invocation.
    pub invoke_line: usize,
    /// The 1-based line of its completion (`ok` or `info`), if there was one.
    pub complete_line: Option<usize>,
}

/// The operations of an external history, typed by the kind of object they act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ops {
    /// One register (`read`/`write`/`cas` without keys): check with [`Register`].
    Register(Vec<Operation<RegisterOp, Option<i64>>>),
    /// Registers named by keys (`read`/`write`/`cas` with keys): check with [`RegisterMap`].
    Registers(Vec<Operation<(String, RegisterOp), Option<i64>>>),
    /// A key-value store (`get`/`put`/`append`): check with [`KeyValue`].
    Kv(Vec<Operation<KvInput, String>>),
    /// Knossos multi-register transactions (`txn`): check with [`MultiRegister`].
    MultiRegister(Vec<Operation<Vec<TxnOp>, ()>>),
    /// A lock (`acquire`/`release`): check with [`Mutex`].
    Mutex(Vec<Operation<MutexOp, ()>>),
}

/// A history read from a file: the operations (indexed by their position, in invocation
/// order), where each came from, and what was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History {
    /// The operations. `fail`ed operations are not included: they did not take effect.
    pub ops: Ops,
    /// Where each operation came from (same index as the operations).
    pub origins: Vec<Origin>,
    /// How many invocations completed with `fail` and were dropped.
    pub failed: usize,
    /// How many events were skipped because their process is not a client (`:nemesis`).
    pub skipped: usize,
}

impl History {
    /// The number of operations.
    pub fn len(&self) -> usize {
        self.origins.len()
    }

    /// True if there are no operations.
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// The name of the kind of history (`register`, `registers`, `kv`, `multi-register`,
    /// `mutex`).
    pub fn kind(&self) -> &'static str {
        match &self.ops {
            Ops::Register(_) => "register",
            Ops::Registers(_) => "registers",
            Ops::Kv(_) => "kv",
            Ops::MultiRegister(_) => "multi-register",
            Ops::Mutex(_) => "mutex",
        }
    }

    /// Checks the history with the default model of its kind: registers and keys that start
    /// empty (`nil`, or `""` for the key-value store), a free mutex. For other initial values
    /// call [`check`] with a configured model.
    pub fn check(&self, options: &CheckOptions) -> CheckResult {
        match &self.ops {
            Ops::Register(ops) => check(&Register::default(), ops, options),
            Ops::Registers(ops) => check(&RegisterMap::<String>::default(), ops, options),
            Ops::Kv(ops) => check(&KeyValue, ops, options),
            Ops::MultiRegister(ops) => check(&MultiRegister::default(), ops, options),
            Ops::Mutex(ops) => check(&Mutex, ops, options),
        }
    }

    /// Describes operation `i` for a report, e.g. `#12 process 3 write 4 (lines 20-25)`.
    pub fn describe_op(&self, i: usize) -> String {
        fn describe<M: Model>(
            model: &M,
            ops: &[Operation<M::Input, M::Output>],
            i: usize,
        ) -> Option<(String, bool)> {
            ops.get(i).map(|op| {
                (
                    model.describe_operation(&op.input, op.ret.map(|_| &op.output)),
                    op.ret.is_some(),
                )
            })
        }
        let what = match &self.ops {
            Ops::Register(ops) => describe(&Register::default(), ops, i),
            Ops::Registers(ops) => describe(&RegisterMap::<String>::default(), ops, i),
            Ops::Kv(ops) => describe(&KeyValue, ops, i),
            Ops::MultiRegister(ops) => describe(&MultiRegister::default(), ops, i),
            Ops::Mutex(ops) => describe(&Mutex, ops, i),
        };
        match (what, self.origins.get(i)) {
            (Some((what, true)), Some(o)) => format!(
                "#{i} process {} {what} (lines {}-{})",
                o.process,
                o.invoke_line,
                o.complete_line.unwrap_or(o.invoke_line)
            ),
            (Some((what, false)), Some(o)) => format!(
                "#{i} process {} {what} (line {}, outcome unknown)",
                o.process, o.invoke_line
            ),
            _ => format!("#{i} (no such operation)"),
        }
    }
}

/// An invocation paired with its completion.
struct Paired {
    invoke: Event,
    /// `None`: never completed.
    completion: Option<Event>,
    call: u64,
    ret: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Register,
    Kv,
    Txn,
    Mutex,
}

fn family(f: &str) -> Option<Family> {
    Some(match f {
        "read" | "write" | "cas" => Family::Register,
        "get" | "put" | "append" => Family::Kv,
        "txn" => Family::Txn,
        "acquire" | "release" => Family::Mutex,
        _ => return None,
    })
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Register => "register (read/write/cas)",
            Family::Kv => "key-value (get/put/append)",
            Family::Txn => "multi-register (txn)",
            Family::Mutex => "mutex (acquire/release)",
        })
    }
}

/// Pairs invocations with completions and types the operations.
///
/// Events are in real-time order; an event's position is its time. An invocation pairs with
/// the next completion of the same process. `fail` pairs are dropped; `info` completions and
/// invocations never completed give operations of unknown outcome.
pub(super) fn build(events: Vec<Event>) -> Result<History, ParseError> {
    let mut skipped = 0;
    let mut failed = 0;
    let mut fam: Option<(Family, Pos)> = None;
    let mut paired: Vec<Option<Paired>> = Vec::new();
    // Process -> index in `paired` of its open invocation. A BTreeMap: lookups only, and
    // the leftovers are visited in index order below anyway.
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    for (time, ev) in events.into_iter().enumerate() {
        let time = time as u64;
        let Some(process) = ev.process else {
            skipped += 1;
            continue;
        };
        let Some(this) = family(&ev.f) else {
            return Err(ParseError::at(
                ev.pos,
                format!(
                    "unknown operation {:?} (expected read, write, cas, get, put, append, txn, acquire or release)",
                    ev.f
                ),
            ));
        };
        match fam {
            None => fam = Some((this, ev.pos)),
            Some((first, first_pos)) if first != this => {
                return Err(ParseError::at(
                    ev.pos,
                    format!(
                        "a {this} operation in a {first} history (the first operation is on line {})",
                        first_pos.line
                    ),
                ));
            }
            Some(_) => {}
        }
        if ev.kind == Kind::Invoke {
            if let Some(&prev) = open.get(&process) {
                let line = paired[prev].as_ref().map_or(0, |p| p.invoke.pos.line);
                return Err(ParseError::at(
                    ev.pos,
                    format!(
                        "process {process} invokes again while its operation invoked on line {line} is still open"
                    ),
                ));
            }
            open.insert(process, paired.len());
            paired.push(Some(Paired {
                invoke: ev,
                completion: None,
                call: time,
                ret: None,
            }));
            continue;
        }
        let Some(index) = open.remove(&process) else {
            return Err(ParseError::at(
                ev.pos,
                format!("a completion for process {process}, which has no open invocation"),
            ));
        };
        let Some(p) = paired[index].as_mut() else {
            continue;
        };
        if p.invoke.f != ev.f {
            return Err(ParseError::at(
                ev.pos,
                format!(
                    "process {process} completes {:?} but invoked {:?} on line {}",
                    ev.f, p.invoke.f, p.invoke.pos.line
                ),
            ));
        }
        match ev.kind {
            Kind::Fail => {
                failed += 1;
                paired[index] = None;
            }
            Kind::Ok => {
                p.ret = Some(time);
                p.completion = Some(ev);
            }
            Kind::Info | Kind::Invoke => p.completion = Some(ev),
        }
    }
    let paired: Vec<Paired> = paired.into_iter().flatten().collect();
    let origins = paired
        .iter()
        .map(|p| Origin {
            process: p.invoke.process.unwrap_or_default(),
            invoke_line: p.invoke.pos.line,
            complete_line: p.completion.as_ref().map(|c| c.pos.line),
        })
        .collect();
    let ops = match fam.map(|(f, _)| f) {
        None => Ops::Register(Vec::new()),
        Some(Family::Register) => register_ops(&paired)?,
        Some(Family::Kv) => Ops::Kv(typed(&paired, kv_op)?),
        Some(Family::Txn) => Ops::MultiRegister(typed(&paired, txn_op)?),
        Some(Family::Mutex) => Ops::Mutex(typed(&paired, mutex_op)?),
    };
    Ok(History {
        ops,
        origins,
        failed,
        skipped,
    })
}

/// Types every paired operation with `convert`, which gets the invocation, the completion if
/// it was `ok`, and returns (input, output).
fn typed<I, O>(
    paired: &[Paired],
    convert: impl Fn(&Event, Option<&Event>) -> Result<(I, O), ParseError>,
) -> Result<Vec<Operation<I, O>>, ParseError> {
    paired
        .iter()
        .map(|p| {
            let ok = p.ret.and(p.completion.as_ref());
            let (input, output) = convert(&p.invoke, ok)?;
            Ok(Operation {
                client: p.invoke.process.unwrap_or_default(),
                call: p.call,
                ret: p.ret,
                input,
                output,
            })
        })
        .collect()
}

fn int(v: &Value, pos: Pos, what: &str) -> Result<i64, ParseError> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(ParseError::at(
            pos,
            format!("{what}: expected an integer, found {other}"),
        )),
    }
}

fn key_name(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) | Value::Keyword(s) | Value::Symbol(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn register_op(
    invoke: &Event,
    ok: Option<&Event>,
) -> Result<(RegisterOp, Option<i64>), ParseError> {
    let pos = invoke.pos;
    let op = match invoke.f.as_str() {
        "read" => RegisterOp::Read,
        "write" => RegisterOp::Write(int(&invoke.value, pos, "write value")?),
        _ => match &invoke.value {
            Value::List(items) if items.len() == 2 => RegisterOp::Cas {
                from: int(&items[0], pos, "cas value")?,
                to: int(&items[1], pos, "cas value")?,
            },
            other => {
                return Err(ParseError::at(
                    pos,
                    format!("cas value: expected [from to], found {other}"),
                ));
            }
        },
    };
    let output = match (op, ok) {
        (RegisterOp::Read, Some(done)) => match &done.value {
            Value::Nil => None,
            v => Some(int(v, done.pos, "read result")?),
        },
        (RegisterOp::Write(w), Some(done)) => {
            if let Value::Int(v) = done.value
                && v != w
            {
                return Err(ParseError::at(
                    done.pos,
                    format!("write completes with {v} but invoked with {w}"),
                ));
            }
            None
        }
        _ => None,
    };
    Ok((op, output))
}

fn register_ops(paired: &[Paired]) -> Result<Ops, ParseError> {
    let keyed = paired.iter().find(|p| p.invoke.key != Value::Nil);
    let Some(first_keyed) = keyed else {
        return Ok(Ops::Register(typed(paired, register_op)?));
    };
    let first_line = first_keyed.invoke.pos.line;
    Ok(Ops::Registers(typed(paired, |invoke, ok| {
        let Some(key) = key_name(&invoke.key) else {
            return Err(ParseError::at(
                invoke.pos,
                format!(
                    "register operation without a usable key ({}) in a history with keys (line {first_line})",
                    invoke.key
                ),
            ));
        };
        let (op, out) = register_op(invoke, ok)?;
        Ok(((key, op), out))
    })?))
}

fn kv_op(invoke: &Event, ok: Option<&Event>) -> Result<(KvInput, String), ParseError> {
    let pos = invoke.pos;
    let Some(key) = key_name(&invoke.key) else {
        return Err(ParseError::at(
            pos,
            format!("{} needs a key, found {}", invoke.f, invoke.key),
        ));
    };
    let text = |v: &Value, p: Pos, what: &str| match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Nil => Ok(String::new()),
        other => Err(ParseError::at(
            p,
            format!("{what}: expected a string, found {other}"),
        )),
    };
    let op = match invoke.f.as_str() {
        "get" => KvOp::Get,
        "put" => KvOp::Put(text(&invoke.value, pos, "put value")?),
        _ => KvOp::Append(text(&invoke.value, pos, "append value")?),
    };
    let output = match (&op, ok) {
        (KvOp::Get, Some(done)) => text(&done.value, done.pos, "get result")?,
        _ => String::new(),
    };
    Ok((KvInput { key, op }, output))
}

fn txn_op(invoke: &Event, ok: Option<&Event>) -> Result<(Vec<TxnOp>, ()), ParseError> {
    // An ok transaction's completion carries the values read; otherwise the invocation's.
    let source = ok.unwrap_or(invoke);
    let Value::List(steps) = &source.value else {
        return Err(ParseError::at(
            source.pos,
            format!(
                "txn value: expected a list of [f k v], found {}",
                source.value
            ),
        ));
    };
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let bad = || {
            ParseError::at(
                source.pos,
                format!("txn step: expected [:read k v] or [:write k v], found {step}"),
            )
        };
        let Value::List(parts) = step else {
            return Err(bad());
        };
        let [f, k, v] = parts.as_slice() else {
            return Err(bad());
        };
        let key = key_name(k).ok_or_else(bad)?;
        let f = match f {
            Value::Keyword(s) | Value::Str(s) | Value::Symbol(s) => s.as_str(),
            _ => return Err(bad()),
        };
        out.push(match (f, v) {
            ("read", Value::Nil) => TxnOp::Read { key, value: None },
            ("read", Value::Int(i)) => TxnOp::Read {
                key,
                value: Some(*i),
            },
            ("write", Value::Int(i)) => TxnOp::Write { key, value: *i },
            _ => return Err(bad()),
        });
    }
    Ok((out, ()))
}

fn mutex_op(invoke: &Event, _ok: Option<&Event>) -> Result<(MutexOp, ()), ParseError> {
    Ok((
        if invoke.f == "acquire" {
            MutexOp::Acquire
        } else {
            MutexOp::Release
        },
        (),
    ))
}
