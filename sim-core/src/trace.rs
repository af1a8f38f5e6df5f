//! The trace: a typed record of everything that happened in a run, and its fingerprint.
//!
//! Every event is folded into a 64-bit hash whatever the trace level, so the fingerprint of a
//! run does not depend on how much of it was kept. The level decides what is stored:
//! `off` keeps nothing, `summary` keeps everything except per-message and timer events,
//! `full` keeps everything. Exports: CSV (one row per event) and JSON lines, with the columns
//! documented on [`TraceRow`].

use std::fmt;
use std::io::Write;

use serde::{Deserialize, Serialize};

/// The short texts a trace records on nearly every client operation (annotation values such
/// as `42`, operations such as `write k3 7`): kept inline, without an allocation, up to 24
/// bytes. It reads as a `&str` (`as_str`, `Deref`) and is built with `ShortText::from`.
pub type ShortText = compact_str::CompactString;

use crate::chunked::ChunkedVec;
use crate::node::NodeId;
use crate::time::SimTime;

/// How much of the trace a run keeps in memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TraceLevel {
    /// Keep nothing (the hash and counters are still computed).
    Off,
    /// Keep faults, crashes, annotations, operations and drops; not sends, deliveries, timers.
    #[default]
    Summary,
    /// Keep every event.
    Full,
}

/// Why the network or the engine did not deliver a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// Random loss on the link (including loss bursts).
    Loss,
    /// The link was blocked by a partition when the message was sent or when it arrived.
    Partition,
    /// The receiver was crashed when the message arrived.
    NodeDown,
    /// The sender was crashed or had restarted before the send was processed.
    SenderDown,
    /// A bound was reached: too many messages in flight or queued at a paused node.
    Overflow,
}

impl DropReason {
    /// Every reason, in report order.
    pub const ALL: [DropReason; 5] = [
        DropReason::Loss,
        DropReason::Partition,
        DropReason::NodeDown,
        DropReason::SenderDown,
        DropReason::Overflow,
    ];

    /// The short name used in traces and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::Partition => "partition",
            DropReason::NodeDown => "node-down",
            DropReason::SenderDown => "sender-down",
            DropReason::Overflow => "overflow",
        }
    }
}

/// A recorded operation's phase, as in Jepsen histories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpPhase {
    /// The client issued the operation.
    Invoke,
    /// The operation completed and took effect.
    Ok,
    /// The operation definitely did not take effect.
    Fail,
    /// Unknown outcome (e.g. a timeout): it may or may not have taken effect.
    Info,
}

impl OpPhase {
    /// The short name used in traces and histories.
    pub fn as_str(self) -> &'static str {
        match self {
            OpPhase::Invoke => "invoke",
            OpPhase::Ok => "ok",
            OpPhase::Fail => "fail",
            OpPhase::Info => "info",
        }
    }
}

/// What happened, without the time.
#[derive(Clone, Debug, PartialEq)]
pub enum TraceKind {
    /// A node handed a message to the network.
    Send {
        /// Message id, unique in the run.
        msg: u64,
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// The message's short label.
        label: &'static str,
    },
    /// A message reached its receiver's handler.
    Deliver {
        /// Message id.
        msg: u64,
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// The message's short label.
        label: &'static str,
    },
    /// A message was lost.
    Drop {
        /// Message id.
        msg: u64,
        /// Sender.
        from: NodeId,
        /// Intended receiver.
        to: NodeId,
        /// The message's short label.
        label: &'static str,
        /// Why it was lost.
        reason: DropReason,
    },
    /// The network duplicated a message; the copy travels with its own id.
    Duplicate {
        /// Id of the copy.
        msg: u64,
        /// Id of the original.
        of: u64,
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// The message's short label.
        label: &'static str,
    },
    /// A timer fired at a node.
    Timer {
        /// The node.
        node: NodeId,
        /// The timer's short label.
        label: &'static str,
    },
    /// A node started (at the beginning of the run).
    Start {
        /// The node.
        node: NodeId,
    },
    /// A node crashed: volatile state, timers and unsynced writes are gone.
    Crash {
        /// The node.
        node: NodeId,
    },
    /// A node was rebuilt from its factory and its synced storage.
    Restart {
        /// The node.
        node: NodeId,
    },
    /// A fault was applied (partition, heal, pause, clock jump, …), described in words.
    Fault {
        /// The fault kind (e.g. `partition`).
        kind: &'static str,
        /// The node the fault is about, if one.
        node: Option<NodeId>,
        /// Human-readable details.
        detail: String,
    },
    /// A node annotated its state (e.g. `role=leader`).
    Annotate {
        /// The node.
        node: NodeId,
        /// The key.
        key: &'static str,
        /// The value.
        value: ShortText,
    },
    /// A client operation was invoked or completed.
    Op {
        /// The client node.
        node: NodeId,
        /// Operation id, unique in the run.
        op: u64,
        /// Invoke, ok, fail or info.
        phase: OpPhase,
        /// The operation in words (e.g. `write k3 7`).
        detail: ShortText,
    },
    /// A model broke one of its own invariants (a programmer error in the model, or a bug
    /// switched on deliberately).
    Violation {
        /// The node that noticed.
        node: NodeId,
        /// What broke.
        detail: String,
    },
}

impl TraceKind {
    /// The kind's name as written in exports.
    pub fn name(&self) -> &'static str {
        match self {
            TraceKind::Send { .. } => "send",
            TraceKind::Deliver { .. } => "deliver",
            TraceKind::Drop { .. } => "drop",
            TraceKind::Duplicate { .. } => "duplicate",
            TraceKind::Timer { .. } => "timer",
            TraceKind::Start { .. } => "start",
            TraceKind::Crash { .. } => "crash",
            TraceKind::Restart { .. } => "restart",
            TraceKind::Fault { .. } => "fault",
            TraceKind::Annotate { .. } => "annotate",
            TraceKind::Op { .. } => "op",
            TraceKind::Violation { .. } => "violation",
        }
    }

    /// Whether the summary level keeps this kind.
    fn in_summary(&self) -> bool {
        !matches!(
            self,
            TraceKind::Send { .. }
                | TraceKind::Deliver { .. }
                | TraceKind::Duplicate { .. }
                | TraceKind::Timer { .. }
        )
    }
}

/// One trace event: a time and what happened.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceEvent {
    /// True simulated time.
    pub time: SimTime,
    /// What happened.
    pub kind: TraceKind,
}

/// The running fingerprint of a trace: a 64-bit hash over the canonical encoding of every
/// event (kind tag, time, node ids, message ids, labels, strings). The encoding and the mixing
/// function are fixed here, so the hash is the same on every machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceHash(u64);

impl Default for TraceHash {
    fn default() -> Self {
        TraceHash(0x6473_696d_5f74_7263) // "dsim_trc"
    }
}

impl TraceHash {
    /// The hash value.
    pub fn value(self) -> u64 {
        self.0
    }

    #[inline]
    fn word(&mut self, w: u64) {
        // A multiply-xorshift mix per word (in the style of wyhash/fxhash, fixed constants).
        let x = (self.0 ^ w).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = x ^ (x >> 29);
    }

    /// Folds a byte string in: its length, then each 8-byte chunk as a little-endian word, the
    /// last one zero-padded.
    #[inline(always)]
    fn bytes(&mut self, s: &[u8]) {
        self.word(s.len() as u64);
        let mut chunks = s.chunks_exact(8);
        for c in &mut chunks {
            self.word(le_word(c));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.word(tail_word(s, rest.len()));
        }
    }

    /// Folds one event into the hash.
    #[inline(always)]
    pub fn add(&mut self, time: SimTime, kind: &TraceKind) {
        self.word(time.0);
        match kind {
            TraceKind::Send {
                msg,
                from,
                to,
                label,
            }
            | TraceKind::Deliver {
                msg,
                from,
                to,
                label,
            } => {
                let tag = if matches!(kind, TraceKind::Send { .. }) {
                    1
                } else {
                    2
                };
                self.word(tag | (u64::from(from.0) << 8) | (u64::from(to.0) << 36));
                self.word(*msg);
                self.bytes(label.as_bytes());
            }
            TraceKind::Drop {
                msg,
                from,
                to,
                label,
                reason,
            } => {
                self.word(3 | (u64::from(from.0) << 8) | (u64::from(to.0) << 36));
                self.word(*msg ^ ((*reason as u64) << 56));
                self.bytes(label.as_bytes());
            }
            TraceKind::Duplicate {
                msg,
                of,
                from,
                to,
                label,
            } => {
                self.word(4 | (u64::from(from.0) << 8) | (u64::from(to.0) << 36));
                self.word(*msg);
                self.word(*of);
                self.bytes(label.as_bytes());
            }
            TraceKind::Timer { node, label } => {
                self.word(5 | (u64::from(node.0) << 8));
                self.bytes(label.as_bytes());
            }
            TraceKind::Start { node } => self.word(6 | (u64::from(node.0) << 8)),
            TraceKind::Crash { node } => self.word(7 | (u64::from(node.0) << 8)),
            TraceKind::Restart { node } => self.word(8 | (u64::from(node.0) << 8)),
            TraceKind::Fault { kind, node, detail } => {
                self.word(9 | (node.map_or(u64::MAX >> 8, |n| u64::from(n.0)) << 8));
                self.bytes(kind.as_bytes());
                self.bytes(detail.as_bytes());
            }
            TraceKind::Annotate { node, key, value } => {
                self.word(10 | (u64::from(node.0) << 8));
                self.bytes(key.as_bytes());
                self.bytes(value.as_bytes());
            }
            TraceKind::Op {
                node,
                op,
                phase,
                detail,
            } => {
                self.word(11 | (u64::from(node.0) << 8) | ((*phase as u64) << 40));
                self.word(*op);
                self.bytes(detail.as_bytes());
            }
            TraceKind::Violation { node, detail } => {
                self.word(12 | (u64::from(node.0) << 8));
                self.bytes(detail.as_bytes());
            }
        }
    }
}

/// The little-endian word of an 8-byte chunk.
#[inline(always)]
fn le_word(c: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(c);
    u64::from_le_bytes(b)
}

/// The last `r` bytes of `s` (1 <= r <= 7, r <= s.len()) as a little-endian word, zero-padded:
/// what copying them into a zeroed `[u8; 8]` gives, without a variable-length copy (which
/// costs a `memcpy` call and a store-forwarding stall on the hot path).
#[inline(always)]
fn tail_word(s: &[u8], r: usize) -> u64 {
    let n = s.len();
    if n >= 8 {
        // The whole last 8 bytes, shifted so only the final `r` remain, at the bottom.
        le_word(&s[n - 8..]) >> (8 * (8 - r))
    } else {
        // The whole string is the tail (n == r): assemble it from overlapping loads; bytes
        // read twice land on the same position, so OR-ing them is harmless.
        let at = |i: usize| u64::from(s[i]) << (8 * i);
        if n >= 4 {
            let lo = u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
            let hi = u64::from(u32::from_le_bytes([s[n - 4], s[n - 3], s[n - 2], s[n - 1]]));
            lo | (hi << (8 * (n - 4)))
        } else {
            at(0) | at(n / 2) | at(n - 1)
        }
    }
}

impl fmt::Display for TraceHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// The trace of a run: the hash, the event count, and the events the level keeps.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    level: TraceLevel,
    hash: TraceHash,
    count: u64,
    /// Chunked: a full trace holds millions of events, and growing one `Vec` would copy
    /// them all at every doubling.
    events: ChunkedVec<TraceEvent>,
    /// Message contents by id (`Debug` text), when asked for; not part of the hash.
    payloads: Option<Vec<(u64, String)>>,
}

impl Trace {
    /// An empty trace that keeps events according to `level`.
    pub fn new(level: TraceLevel) -> Self {
        Trace {
            level,
            ..Trace::default()
        }
    }

    /// Records one event: always hashed and counted, stored if the level keeps it.
    ///
    /// Always inlined: every call site builds one known variant, so the hash and the level
    /// check fold down to that variant's few words.
    #[inline(always)]
    pub fn record(&mut self, time: SimTime, kind: TraceKind) {
        self.hash.add(time, &kind);
        self.count += 1;
        let keep = match self.level {
            TraceLevel::Off => false,
            TraceLevel::Summary => kind.in_summary(),
            TraceLevel::Full => true,
        };
        if keep {
            self.events.push(TraceEvent { time, kind });
        }
    }

    /// Also keep every message's contents (its `Debug` text) from now on, for viewers such
    /// as the explorer's inspector. Contents are not hashed: the fingerprint is unchanged.
    pub fn capture_payloads(&mut self) {
        self.payloads.get_or_insert_with(Vec::new);
    }

    /// Whether message contents are being kept.
    #[inline]
    pub fn wants_payloads(&self) -> bool {
        self.payloads.is_some()
    }

    /// Keeps the contents of message `msg` (ignored unless [`Self::capture_payloads`] was
    /// called).
    pub fn payload(&mut self, msg: u64, text: String) {
        if let Some(p) = self.payloads.as_mut() {
            p.push((msg, text));
        }
    }

    /// The kept message contents, `(message id, text)` in send order (ids ascending).
    pub fn payloads(&self) -> &[(u64, String)] {
        self.payloads.as_deref().unwrap_or_default()
    }

    /// The level this trace records at.
    pub fn level(&self) -> TraceLevel {
        self.level
    }

    /// The determinism fingerprint over every event so far.
    pub fn hash(&self) -> TraceHash {
        self.hash
    }

    /// Number of events recorded (kept or not).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The events kept, in order.
    pub fn events(&self) -> &ChunkedVec<TraceEvent> {
        &self.events
    }
}

/// One exported row. Columns, in CSV order:
///
/// | column | meaning |
/// | --- | --- |
/// | `index` | position of the event among the events kept, from 0 |
/// | `time_ns` | true simulated time in nanoseconds |
/// | `kind` | send, deliver, drop, duplicate, timer, start, crash, restart, fault, annotate, op, violation |
/// | `node` | the node the event happened at (the sender for send and duplicate) |
/// | `peer` | the other node of a message event (receiver for send, sender for deliver) |
/// | `msg` | message id (send, deliver, drop, duplicate) or operation id (op) |
/// | `label` | message or timer label, fault kind, annotation key or operation phase |
/// | `detail` | drop reason, original id of a duplicate, fault details, annotation value, operation |
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceRow {
    /// Position among the kept events.
    pub index: u64,
    /// True time in nanoseconds.
    pub time_ns: u64,
    /// Event kind name.
    pub kind: String,
    /// Node name where it happened.
    pub node: String,
    /// The other node of a message event.
    pub peer: String,
    /// Message or operation id.
    pub msg: Option<u64>,
    /// Label, fault kind, annotation key or phase.
    pub label: String,
    /// Details.
    pub detail: String,
}

impl TraceRow {
    /// Builds the exported row of `event`, naming nodes with `names`.
    pub fn of(index: u64, event: &TraceEvent, names: &[String]) -> TraceRow {
        let name = |n: &NodeId| names.get(n.index()).cloned().unwrap_or_default();
        let mut row = TraceRow {
            index,
            time_ns: event.time.0,
            kind: event.kind.name().to_owned(),
            node: String::new(),
            peer: String::new(),
            msg: None,
            label: String::new(),
            detail: String::new(),
        };
        match &event.kind {
            TraceKind::Send {
                msg,
                from,
                to,
                label,
            } => {
                (row.node, row.peer, row.msg) = (name(from), name(to), Some(*msg));
                row.label = (*label).to_owned();
            }
            TraceKind::Deliver {
                msg,
                from,
                to,
                label,
            } => {
                (row.node, row.peer, row.msg) = (name(to), name(from), Some(*msg));
                row.label = (*label).to_owned();
            }
            TraceKind::Drop {
                msg,
                from,
                to,
                label,
                reason,
            } => {
                (row.node, row.peer, row.msg) = (name(from), name(to), Some(*msg));
                row.label = (*label).to_owned();
                row.detail = reason.as_str().to_owned();
            }
            TraceKind::Duplicate {
                msg,
                of,
                from,
                to,
                label,
            } => {
                (row.node, row.peer, row.msg) = (name(from), name(to), Some(*msg));
                row.label = (*label).to_owned();
                row.detail = format!("copy of {of}");
            }
            TraceKind::Timer { node, label } => {
                row.node = name(node);
                row.label = (*label).to_owned();
            }
            TraceKind::Start { node } | TraceKind::Crash { node } | TraceKind::Restart { node } => {
                row.node = name(node);
            }
            TraceKind::Fault { kind, node, detail } => {
                row.node = node.as_ref().map(name).unwrap_or_default();
                row.label = (*kind).to_owned();
                row.detail.clone_from(detail);
            }
            TraceKind::Annotate { node, key, value } => {
                row.node = name(node);
                row.label = (*key).to_owned();
                row.detail = value.as_str().to_owned();
            }
            TraceKind::Op {
                node,
                op,
                phase,
                detail,
            } => {
                row.node = name(node);
                row.msg = Some(*op);
                row.label = phase.as_str().to_owned();
                row.detail = detail.as_str().to_owned();
            }
            TraceKind::Violation { node, detail } => {
                row.node = name(node);
                row.detail.clone_from(detail);
            }
        }
        row
    }
}

/// The export formats of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl TraceFormat {
    /// The format implied by a file name (`.csv`, `.jsonl`/`.ndjson`/`.json`), if any.
    pub fn from_path(path: &std::path::Path) -> Option<TraceFormat> {
        match path.extension()?.to_str()? {
            "csv" => Some(TraceFormat::Csv),
            "jsonl" | "ndjson" | "json" => Some(TraceFormat::JsonLines),
            _ => None,
        }
    }
}

/// An error writing a trace export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing failed.
    #[error("cannot write trace: {0}")]
    Io(#[from] std::io::Error),
    /// The CSV writer failed.
    #[error("cannot write trace: {0}")]
    Csv(#[from] csv::Error),
    /// JSON encoding failed.
    #[error("cannot write trace: {0}")]
    Json(#[from] serde_json::Error),
}

/// Writes `events` to `out` in `format`, naming nodes with `names`.
pub fn export<'a, W: Write>(
    events: impl IntoIterator<Item = &'a TraceEvent>,
    names: &[String],
    format: TraceFormat,
    out: W,
) -> Result<(), ExportError> {
    match format {
        TraceFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            for (i, e) in events.into_iter().enumerate() {
                w.serialize(TraceRow::of(i as u64, e, names))?;
            }
            w.flush()?;
        }
        TraceFormat::JsonLines => {
            let mut out = std::io::BufWriter::new(out);
            for (i, e) in events.into_iter().enumerate() {
                serde_json::to_writer(&mut out, &TraceRow::of(i as u64, e, names))?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
    }
    Ok(())
}

/// The first place two traces differ.
#[derive(Clone, Debug, PartialEq)]
pub struct Divergence {
    /// Index of the first differing event.
    pub index: usize,
    /// The event in the first trace (None: the first trace ended here).
    pub first: Option<TraceEvent>,
    /// The event in the second trace (None: the second trace ended here).
    pub second: Option<TraceEvent>,
}

/// Finds the first event where `a` and `b` differ, or None if they are identical.
pub fn first_divergence<'a>(
    a: impl IntoIterator<Item = &'a TraceEvent>,
    b: impl IntoIterator<Item = &'a TraceEvent>,
) -> Option<Divergence> {
    let (mut a, mut b) = (a.into_iter(), b.into_iter());
    let mut index = 0;
    loop {
        match (a.next(), b.next()) {
            (None, None) => return None,
            (x, y) if x == y => index += 1,
            (x, y) => {
                return Some(Divergence {
                    index,
                    first: x.cloned(),
                    second: y.cloned(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(msg: u64) -> TraceKind {
        TraceKind::Send {
            msg,
            from: NodeId(0),
            to: NodeId(1),
            label: "ping",
        }
    }

    #[test]
    fn hash_is_independent_of_level() {
        let mut full = Trace::new(TraceLevel::Full);
        let mut off = Trace::new(TraceLevel::Off);
        for t in [&mut full, &mut off] {
            t.record(SimTime(1), send(1));
            t.record(SimTime(2), TraceKind::Crash { node: NodeId(1) });
        }
        assert_eq!(full.hash(), off.hash());
        assert_eq!(full.events().len(), 2);
        assert!(off.events().is_empty());
        assert_eq!(off.count(), 2);
    }

    #[test]
    fn tail_words_match_zero_padded_copies() {
        let text: Vec<u8> = (1..=40u8).map(|b| b.wrapping_mul(37)).collect();
        for len in 1..=text.len() {
            let s = &text[..len];
            let r = len % 8;
            if r == 0 {
                continue;
            }
            let mut b = [0u8; 8];
            b[..r].copy_from_slice(&s[len - r..]);
            assert_eq!(tail_word(s, r), u64::from_le_bytes(b), "length {len}");
        }
    }

    #[test]
    fn hash_of_every_kind_is_pinned() {
        // Pins the canonical encoding: any change to what the hash covers shows up here.
        let mut h = TraceHash::default();
        let kinds = [
            send(1),
            TraceKind::Deliver {
                msg: 1,
                from: NodeId(0),
                to: NodeId(1),
                label: "AppendEntries",
            },
            TraceKind::Drop {
                msg: 2,
                from: NodeId(1),
                to: NodeId(0),
                label: "x",
                reason: DropReason::Overflow,
            },
            TraceKind::Duplicate {
                msg: 3,
                of: 2,
                from: NodeId(1),
                to: NodeId(2),
                label: "abcdefgh",
            },
            TraceKind::Timer {
                node: NodeId(3),
                label: "election",
            },
            TraceKind::Start { node: NodeId(4) },
            TraceKind::Crash { node: NodeId(4) },
            TraceKind::Restart { node: NodeId(4) },
            TraceKind::Fault {
                kind: "partition",
                node: None,
                detail: "{a} | {b,c}".into(),
            },
            TraceKind::Annotate {
                node: NodeId(2),
                key: "role",
                value: "leader".into(),
            },
            TraceKind::Op {
                node: NodeId(5),
                op: 9,
                phase: OpPhase::Ok,
                detail: "write k3 7 -> 7".into(),
            },
            TraceKind::Violation {
                node: NodeId(6),
                detail: "two leaders".into(),
            },
        ];
        for (i, k) in kinds.iter().enumerate() {
            h.add(SimTime(i as u64 * 1_000_003), k);
        }
        assert_eq!(h.to_string(), "6461303bb78fd12d");
    }

    #[test]
    fn payloads_are_kept_on_request_and_not_hashed() {
        let mut plain = Trace::new(TraceLevel::Full);
        let mut with = Trace::new(TraceLevel::Full);
        with.capture_payloads();
        for t in [&mut plain, &mut with] {
            t.record(SimTime(1), send(1));
            t.payload(1, "Ping { seq: 1 }".into());
        }
        assert_eq!(plain.hash(), with.hash());
        assert!(plain.payloads().is_empty());
        assert_eq!(with.payloads(), &[(1, "Ping { seq: 1 }".to_owned())]);
    }

    #[test]
    fn summary_drops_message_events_only() {
        let mut t = Trace::new(TraceLevel::Summary);
        t.record(SimTime(1), send(1));
        t.record(SimTime(2), TraceKind::Crash { node: NodeId(1) });
        assert_eq!(t.events().len(), 1);
        assert_eq!(t.events()[0].kind.name(), "crash");
    }

    #[test]
    fn hash_sees_time_ids_and_labels() {
        let h = |time, kind: TraceKind| {
            let mut x = TraceHash::default();
            x.add(SimTime(time), &kind);
            x
        };
        assert_ne!(h(1, send(1)), h(2, send(1)));
        assert_ne!(h(1, send(1)), h(1, send(2)));
        let relabelled = TraceKind::Send {
            msg: 1,
            from: NodeId(0),
            to: NodeId(1),
            label: "pong",
        };
        assert_ne!(h(1, send(1)), h(1, relabelled));
    }

    #[test]
    fn divergence_names_the_first_difference() {
        let a = vec![
            TraceEvent {
                time: SimTime(1),
                kind: send(1),
            },
            TraceEvent {
                time: SimTime(2),
                kind: send(2),
            },
        ];
        let mut b = a.clone();
        b[1].time = SimTime(3);
        let d = first_divergence(&a, &b).expect("differs");
        assert_eq!(d.index, 1);
        assert_eq!(first_divergence(&a, &a), None);
        let d = first_divergence(&a, &a[..1]).expect("shorter");
        assert_eq!((d.index, d.second), (1, None));
    }

    #[test]
    fn csv_and_jsonl_exports_carry_the_columns() {
        let events = vec![TraceEvent {
            time: SimTime(5),
            kind: TraceKind::Drop {
                msg: 3,
                from: NodeId(0),
                to: NodeId(1),
                label: "ping",
                reason: DropReason::Partition,
            },
        }];
        let names = vec!["a1".to_owned(), "b1".to_owned()];
        let mut csv_out = Vec::new();
        export(&events, &names, TraceFormat::Csv, &mut csv_out).expect("csv");
        let text = String::from_utf8(csv_out).expect("utf8");
        assert_eq!(
            text,
            "index,time_ns,kind,node,peer,msg,label,detail\n0,5,drop,a1,b1,3,ping,partition\n"
        );
        let mut json_out = Vec::new();
        export(&events, &names, TraceFormat::JsonLines, &mut json_out).expect("json");
        let row: TraceRow = serde_json::from_slice(json_out.trim_ascii_end()).expect("parse");
        assert_eq!(row.detail, "partition");
        assert_eq!(row.peer, "b1");
    }
}
