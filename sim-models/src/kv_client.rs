//! `kv-client`: a client that drives a replicated key-value store (such as `raft-kv`) with a
//! register workload — read, write and compare-and-set over a few keys — and records every
//! operation the way Jepsen does: invoke, then `ok`, `fail` or `info`, with true times.
//!
//! **Load.** Either closed loop (`think`: one operation at a time, waiting `think` after each
//! completes) or open loop (`rate`: new operations arrive as a Poisson process of `rate` per
//! second, however many are still open). Give one or the other; neither means closed loop with
//! `think = "10ms"`.
//!
//! **Finding the leader.** A request goes to the server the client believes leads. A server
//! that does not lead answers `NotLeader` with its best guess; the client follows the hint at
//! once (a bounded number of times per op) or, without one, tries the next server when
//! `retry_every` passes. Every `retry_every` without an answer the client resends the same
//! request to the next server: requests carry the client's id and a sequence number, and the
//! server's state machine applies each (client, seq) once and remembers its result, so a resend
//! never applies twice. Each request also carries the lowest sequence number the client still
//! has open, so the server can forget results the client no longer needs (Raft dissertation
//! §6.3).
//!
//! **Holding back.** An open-loop client whose operation has just timed out holds back, as a
//! client library's circuit breaker would: until an operation succeeds again it keeps at most
//! one operation open (the probe) and fails new arrivals at once without sending them — `fail`
//! is exact for those, they certainly did not happen. Without it a client cut off from the
//! leader would leave `rate × timeout` operations of unknown outcome every second, each of
//! which a linearizability checker must try at every later point of the history. `breaker =
//! false` turns it off.
//!
//! **Outcomes.** A read is `ok` with the value it saw (none: the key is empty). A write is `ok`
//! once applied. A compare-and-set is `ok` if it applied and `fail` if its precondition did not
//! hold (then it definitely did not take effect). An operation with no answer within `timeout`
//! is `info`: it may or may not have taken effect, and the client never retries it after that.
//! Values written are unique per (client, operation) — `(client id + 1) × 10⁹ + seq` — so a
//! linearizability checker can tell every write apart. A compare-and-set expects the last value
//! this client saw for the key; with none seen yet, the client reads instead.
//!
//! Metrics: `latency` (histogram of answered operations, measured on the client's clock),
//! counters `redirects`, `resends`, `late` (answers after the op was closed), `held_back`
//! (arrivals failed at once by the breaker).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::{
    Ctx, Duration, DurationDist, Labeled, MonoTime, Node, NodeFactory, NodeId, OpCall, OpId,
    OpPhase, TimerId,
};

use crate::model::{ConfigProblem, Model, NodeEnv, table_of};
use crate::world::{Msg, Timer, World};

/// An operation on the key-value state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvOp {
    /// Read a key.
    Read {
        /// The key.
        key: u64,
    },
    /// Write a value.
    Write {
        /// The key.
        key: u64,
        /// The value.
        value: i64,
    },
    /// Write `new` if the key holds `expected`.
    Cas {
        /// The key.
        key: u64,
        /// The value the key must hold.
        expected: i64,
        /// The value to write.
        new: i64,
    },
}

impl KvOp {
    /// The key the operation touches.
    pub fn key(&self) -> u64 {
        match *self {
            KvOp::Read { key } | KvOp::Write { key, .. } | KvOp::Cas { key, .. } => key,
        }
    }

    /// The history record of this operation.
    pub fn call(&self) -> OpCall {
        match *self {
            KvOp::Read { key } => OpCall::Read { key },
            KvOp::Write { key, value } => OpCall::Write { key, value },
            KvOp::Cas { key, expected, new } => OpCall::Cas { key, expected, new },
        }
    }
}

/// What applying an operation gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvResult {
    /// A read's value (None: the key is empty).
    Value(Option<i64>),
    /// A write took effect.
    Written,
    /// A compare-and-set matched and took effect.
    Swapped,
    /// A compare-and-set did not match (the key held this) and did nothing.
    Mismatch(Option<i64>),
}

/// A server's answer to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvOutcome {
    /// The operation was applied (or, for a read, served) with this result.
    Done(KvResult),
    /// This server does not lead; `leader` is its guess of who does.
    NotLeader {
        /// The leader it knows of, if any.
        leader: Option<NodeId>,
    },
}

/// Messages between key-value clients and servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvMsg {
    /// A client request. (client, `seq`) identifies it across resends.
    Request {
        /// The client's sequence number for this operation (from 1).
        seq: u64,
        /// The lowest sequence number the client still has open: results below it may be
        /// forgotten, and requests below it are stale.
        first_open: u64,
        /// What to do.
        op: KvOp,
    },
    /// A server's answer.
    Reply {
        /// The request's sequence number.
        seq: u64,
        /// What happened.
        outcome: KvOutcome,
    },
}

impl Labeled for KvMsg {
    fn label(&self) -> &'static str {
        match self {
            KvMsg::Request { .. } => "ClientRequest",
            KvMsg::Reply { .. } => "ClientReply",
        }
    }
}

/// Timers of a key-value client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvClientTimer {
    /// Time to issue the next operation.
    Next,
    /// The earliest retry or timeout of the open operations is due: resend what got no
    /// answer, give up (outcome unknown) on what ran out of time. One timer per client, pushed
    /// back as operations finish, instead of two per operation.
    Deadline,
}

impl Labeled for KvClientTimer {
    fn label(&self) -> &'static str {
        match self {
            KvClientTimer::Next => "next-op",
            KvClientTimer::Deadline => "op-deadline",
        }
    }
}

fn default_keys() -> u64 {
    5
}
fn default_read_fraction() -> f64 {
    0.5
}
fn default_cas_fraction() -> f64 {
    0.1
}
fn default_timeout() -> Duration {
    Duration::from_secs(1)
}
fn default_retry_every() -> Duration {
    Duration::from_millis(100)
}

/// The think time when neither `rate` nor `think` is given.
pub const DEFAULT_THINK: Duration = Duration::from_millis(10);

/// Configuration of a `kv-client` cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KvClientConfig {
    /// The key-value cluster to use (required).
    pub target: String,
    /// How many keys (`0..keys`; default 5). Fewer keys, more contention.
    #[serde(default = "default_keys")]
    pub keys: u64,
    /// Share of operations that are reads (default 0.5).
    #[serde(default = "default_read_fraction")]
    pub read_fraction: f64,
    /// Share that are compare-and-sets (default 0.1); the rest are writes.
    #[serde(default = "default_cas_fraction")]
    pub cas_fraction: f64,
    /// Open loop: operations per second, arriving as a Poisson process. Not with `think`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Closed loop: wait this long after each operation completes (default `10ms` when `rate`
    /// is not given). Not with `rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<DurationDist>,
    /// Give up on an operation after this long and record it as `info` (default `1s`).
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Resend an unanswered request to the next server after this long (default `100ms`).
    #[serde(default = "default_retry_every")]
    pub retry_every: Duration,
    /// Open loop: after a timeout, fail new arrivals at once until an operation succeeds,
    /// keeping one probe open (default true). Ignored in closed loop.
    #[serde(default = "default_breaker")]
    pub breaker: bool,
}

fn default_breaker() -> bool {
    true
}

/// The most operations per second an open-loop client may ask for.
pub const MAX_RATE: f64 = 1_000_000.0;

impl Model for KvClientConfig {
    fn to_table(&self) -> toml::Table {
        table_of(self)
    }

    fn check(&self, clusters: &BTreeMap<String, Vec<NodeId>>) -> Result<(), ConfigProblem> {
        let problem = |key: &'static str, message: String| Err(ConfigProblem { key, message });
        if !clusters.contains_key(&self.target) {
            let known: Vec<&str> = clusters.keys().map(String::as_str).collect();
            return problem(
                "target",
                format!(
                    "unknown cluster \"{}\": expected one of {}",
                    self.target,
                    known.join(", ")
                ),
            );
        }
        if self.keys == 0 {
            return problem("keys", "keys must be at least 1".into());
        }
        for (key, v) in [
            ("read_fraction", self.read_fraction),
            ("cas_fraction", self.cas_fraction),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return problem(key, format!("{key} must be between 0 and 1, got {v}"));
            }
        }
        if self.read_fraction + self.cas_fraction > 1.0 {
            return problem(
                "cas_fraction",
                format!(
                    "read_fraction + cas_fraction must be at most 1, got {}",
                    self.read_fraction + self.cas_fraction
                ),
            );
        }
        match (self.rate, &self.think) {
            (Some(_), Some(_)) => {
                return problem(
                    "think",
                    "give either rate (open loop) or think (closed loop), not both".into(),
                );
            }
            (Some(r), None) if !(r > 0.0 && r <= MAX_RATE) => {
                return problem(
                    "rate",
                    format!(
                        "rate must be above 0 and at most {MAX_RATE} operations per second, got {r}"
                    ),
                );
            }
            (None, Some(t)) if t.mean().is_none() => {
                return problem("think", format!("think {t} must have a finite mean"));
            }
            _ => {}
        }
        if self.timeout == Duration::ZERO {
            return problem("timeout", "timeout must be longer than 0".into());
        }
        if self.retry_every == Duration::ZERO {
            return problem("retry_every", "retry_every must be longer than 0".into());
        }
        Ok(())
    }

    fn is_client(&self) -> bool {
        true
    }

    fn progress(
        &self,
        _: &sim_core::Simulation<World>,
        _: &[NodeId],
    ) -> Option<Box<dyn crate::model::Progress>> {
        Some(Box::new(ClientProgress))
    }

    fn reductions(&self) -> Vec<toml::Table> {
        let mut out = Vec::new();
        if let Some(rate) = self.rate.filter(|r| *r >= 2.0) {
            let halved = KvClientConfig {
                rate: Some((rate / 2.0).floor()),
                ..self.clone()
            };
            out.push(table_of(&halved));
        }
        if self.keys > 1 {
            let one_key = KvClientConfig {
                keys: 1,
                ..self.clone()
            };
            out.push(table_of(&one_key));
        }
        out
    }

    fn factory(&self, env: &NodeEnv<'_>) -> NodeFactory<World> {
        let config = self.clone();
        let servers = env.clusters.get(&self.target).cloned().unwrap_or_default();
        let first = env.index;
        Box::new(move || Box::new(KvClient::new(config.clone(), servers.clone(), first)))
    }
}

/// The most times one operation follows a `NotLeader` hint at once before waiting for its
/// retry timer (hints can be stale; this stops two stale servers bouncing a request).
const MAX_REDIRECTS_PER_RETRY: u32 = 3;

#[derive(Debug)]
struct OpenOp {
    id: OpId,
    op: KvOp,
    /// When it was issued, on the monotonic clock (latency and the timeout count from here).
    started: MonoTime,
    /// Resend at this time if no answer came.
    retry_at: MonoTime,
    redirects: u32,
}

/// The operations a client has open, in issue (= sequence number) order. A client has a
/// handful open at once, so a sorted vector beats a tree.
#[derive(Debug, Default)]
struct OpenOps(Vec<(u64, OpenOp)>);

impl OpenOps {
    fn position(&self, seq: u64) -> Result<usize, usize> {
        self.0.binary_search_by_key(&seq, |(s, _)| *s)
    }

    fn insert(&mut self, seq: u64, op: OpenOp) {
        match self.position(seq) {
            Ok(i) => self.0[i].1 = op,
            Err(i) => self.0.insert(i, (seq, op)),
        }
    }

    fn get(&self, seq: u64) -> Option<&OpenOp> {
        self.position(seq).ok().map(|i| &self.0[i].1)
    }

    fn get_mut(&mut self, seq: u64) -> Option<&mut OpenOp> {
        self.position(seq).ok().map(|i| &mut self.0[i].1)
    }

    fn remove(&mut self, seq: u64) -> Option<OpenOp> {
        self.position(seq).ok().map(|i| self.0.remove(i).1)
    }

    fn first_seq(&self) -> Option<u64> {
        self.0.first().map(|(s, _)| *s)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = (u64, &OpenOp)> {
        self.0.iter().map(|(s, o)| (*s, o))
    }
}

/// A key-value client node.
#[derive(Debug)]
pub struct KvClient {
    config: KvClientConfig,
    servers: Vec<NodeId>,
    /// Index into `servers` of the server to ask next.
    guess: usize,
    seq: u64,
    open: OpenOps,
    /// The [`KvClientTimer::Deadline`] timer, armed while operations are open.
    deadline: Option<TimerId>,
    /// The last value this client saw per key (for compare-and-set expectations).
    seen: BTreeMap<u64, i64>,
    /// The breaker is open: an operation timed out and none has succeeded since.
    holding_back: bool,
}

impl KvClient {
    fn new(config: KvClientConfig, servers: Vec<NodeId>, index: usize) -> Self {
        let guess = if servers.is_empty() {
            0
        } else {
            index % servers.len()
        };
        KvClient {
            config,
            servers,
            guess,
            seq: 0,
            open: OpenOps::default(),
            deadline: None,
            seen: BTreeMap::new(),
            holding_back: false,
        }
    }

    fn schedule_next(&mut self, ctx: &mut Ctx<'_, World>) {
        let wait = match (self.config.rate, &self.config.think) {
            (Some(rate), _) => {
                let mean = Duration::from_nanos((1e9 / rate).round().max(1.0) as u64);
                DurationDist::Exponential { mean }.sample(ctx.rng())
            }
            (None, Some(think)) => think.sample(ctx.rng()),
            (None, None) => DEFAULT_THINK,
        };
        ctx.set_timer(wait, Timer::KvClient(KvClientTimer::Next));
    }

    fn closed_loop(&self) -> bool {
        self.config.rate.is_none()
    }

    fn choose_op(&mut self, ctx: &mut Ctx<'_, World>, seq: u64) -> KvOp {
        let key = ctx.rng().below(self.config.keys);
        let u = ctx.rng().unit_f64();
        let value = (i64::from(ctx.id().0) + 1) * 1_000_000_000 + seq as i64;
        if u < self.config.read_fraction {
            KvOp::Read { key }
        } else if u < self.config.read_fraction + self.config.cas_fraction {
            match self.seen.get(&key) {
                Some(&expected) => KvOp::Cas {
                    key,
                    expected,
                    new: value,
                },
                None => KvOp::Read { key },
            }
        } else {
            KvOp::Write { key, value }
        }
    }

    fn issue(&mut self, ctx: &mut Ctx<'_, World>) {
        if self.servers.is_empty() {
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        let op = self.choose_op(ctx, seq);
        let id = ctx.invoke(op.call());
        if self.holding_back && !self.open.is_empty() {
            // Never sent, so it certainly did not happen.
            ctx.count("held_back", 1);
            ctx.complete(id, OpPhase::Fail, None);
            return;
        }
        let started = ctx.monotonic();
        self.open.insert(
            seq,
            OpenOp {
                id,
                op,
                started,
                retry_at: started.after(self.config.retry_every),
                redirects: 0,
            },
        );
        self.send(ctx, seq);
        self.arm_deadline(ctx);
    }

    /// When open operation `op` runs out of time.
    fn timeout_at(&self, op: &OpenOp) -> MonoTime {
        op.started.after(self.config.timeout)
    }

    /// Points the deadline timer at the earliest retry or timeout of the open operations
    /// (cancelling it when none is open).
    fn arm_deadline(&mut self, ctx: &mut Ctx<'_, World>) {
        let next = self
            .open
            .iter()
            .map(|(_, o)| o.retry_at.min(self.timeout_at(o)))
            .min();
        let Some(next) = next else {
            if let Some(t) = self.deadline.take() {
                ctx.cancel_timer(t);
            }
            return;
        };
        let after = ctx.monotonic().until(next);
        let moved = self.deadline.take().and_then(|t| ctx.reset_timer(t, after));
        self.deadline = Some(
            moved.unwrap_or_else(|| ctx.set_timer(after, Timer::KvClient(KvClientTimer::Deadline))),
        );
    }

    /// The deadline timer fired: time out what ran out of time, resend what is due a retry
    /// (in issue order), and re-arm.
    fn on_deadline(&mut self, ctx: &mut Ctx<'_, World>) {
        self.deadline = None;
        let now = ctx.monotonic();
        let due: Vec<(u64, bool)> = self
            .open
            .iter()
            .filter_map(|(seq, o)| {
                if self.timeout_at(o) <= now {
                    Some((seq, true))
                } else {
                    (o.retry_at <= now).then_some((seq, false))
                }
            })
            .collect();
        for (seq, timed_out) in due {
            if timed_out {
                self.finish(ctx, seq, OpPhase::Info, None);
                continue;
            }
            let Some(open) = self.open.get_mut(seq) else {
                continue;
            };
            open.redirects = 0;
            open.retry_at = now.after(self.config.retry_every);
            self.guess = (self.guess + 1) % self.servers.len();
            ctx.count("resends", 1);
            self.send(ctx, seq);
        }
        self.arm_deadline(ctx);
    }

    fn send(&mut self, ctx: &mut Ctx<'_, World>, seq: u64) {
        let Some(open) = self.open.get(seq) else {
            return;
        };
        let first_open = self.open.first_seq().unwrap_or(seq);
        let to = self.servers[self.guess];
        ctx.send(
            to,
            Msg::Kv(Box::new(KvMsg::Request {
                seq,
                first_open,
                op: open.op,
            })),
        );
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, World>, seq: u64, phase: OpPhase, value: Option<i64>) {
        let Some(open) = self.open.remove(seq) else {
            return;
        };
        ctx.complete(open.id, phase, value);
        self.holding_back = match phase {
            OpPhase::Info => self.config.breaker && !self.closed_loop(),
            OpPhase::Ok | OpPhase::Fail => false,
            OpPhase::Invoke => self.holding_back,
        };
        if phase != OpPhase::Info {
            let took = ctx.monotonic().nanos_since(open.started);
            ctx.observe("latency", took.max(0) as u64);
        }
        self.arm_deadline(ctx);
        if self.closed_loop() {
            self.schedule_next(ctx);
        }
    }

    fn on_outcome(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, seq: u64, outcome: KvOutcome) {
        let Some(open) = self.open.get_mut(seq) else {
            ctx.count("late", 1);
            return;
        };
        let op = open.op;
        match outcome {
            KvOutcome::NotLeader { leader } => {
                let hinted = leader
                    .filter(|&l| l != from)
                    .and_then(|l| self.servers.iter().position(|&s| s == l));
                match hinted {
                    Some(i) => {
                        self.guess = i;
                        if open.redirects < MAX_REDIRECTS_PER_RETRY {
                            open.redirects += 1;
                            ctx.count("redirects", 1);
                            self.send(ctx, seq);
                        }
                    }
                    None => {
                        // No useful hint: move on from this server; the retry timer resends.
                        if self.servers[self.guess] == from {
                            self.guess = (self.guess + 1) % self.servers.len();
                        }
                    }
                }
            }
            KvOutcome::Done(result) => {
                if let Some(i) = self.servers.iter().position(|&s| s == from) {
                    self.guess = i;
                }
                let key = op.key();
                let (phase, value) = match (op, result) {
                    (KvOp::Read { .. }, KvResult::Value(v)) => {
                        if let Some(v) = v {
                            self.seen.insert(key, v);
                        }
                        (OpPhase::Ok, v)
                    }
                    (KvOp::Write { value, .. }, KvResult::Written) => {
                        self.seen.insert(key, value);
                        (OpPhase::Ok, None)
                    }
                    (KvOp::Cas { new, .. }, KvResult::Swapped) => {
                        self.seen.insert(key, new);
                        (OpPhase::Ok, None)
                    }
                    (KvOp::Cas { .. }, KvResult::Mismatch(current)) => {
                        match current {
                            Some(v) => self.seen.insert(key, v),
                            None => self.seen.remove(&key),
                        };
                        (OpPhase::Fail, None)
                    }
                    (op, result) => {
                        ctx.violation(format!(
                            "kv-client: server {} answered {op:?} (seq {seq}) with {result:?}",
                            from.0
                        ));
                        return;
                    }
                };
                self.finish(ctx, seq, phase, value);
            }
        }
    }
}

impl Node<World> for KvClient {
    fn on_start(&mut self, ctx: &mut Ctx<'_, World>) {
        ctx.count("redirects", 0);
        ctx.count("resends", 0);
        ctx.count("held_back", 0);
        self.schedule_next(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Kv(m) => match *m {
                KvMsg::Reply { seq, outcome } => self.on_outcome(ctx, from, seq, outcome),
                KvMsg::Request { .. } => {}
            },
            Msg::Ping(_) | Msg::Raft(_) | Msg::Lock(_) => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, World>, timer: Timer) {
        let timer = match timer {
            Timer::KvClient(t) => t,
            Timer::Ping(_) | Timer::Raft(_) | Timer::LockClient(_) => return,
        };
        match timer {
            KvClientTimer::Next => {
                self.issue(ctx);
                if !self.closed_loop() {
                    self.schedule_next(ctx);
                }
            }
            KvClientTimer::Deadline => self.on_deadline(ctx),
        }
    }
}

/// The kv-client's liveness check: by the deadline, every client has had an operation
/// invoked in the quiet phase complete `ok` (the service answers again).
struct ClientProgress;

impl crate::model::Progress for ClientProgress {
    fn judge(
        &self,
        sim: &sim_core::Simulation<World>,
        nodes: &[NodeId],
        since: sim_core::SimTime,
    ) -> crate::model::Verdict {
        let served = |n: NodeId| {
            sim.history()
                .operations()
                .iter()
                .any(|o| o.client == n && o.invoked >= since && o.status == sim_core::OpPhase::Ok)
        };
        let name = |n: NodeId| {
            sim.node_info(n)
                .map_or_else(String::new, |i| i.name.clone())
        };
        let cluster = nodes
            .first()
            .and_then(|&n| sim.node_info(n))
            .map_or_else(String::new, |i| i.cluster.clone());
        let starved: Vec<String> = nodes
            .iter()
            .copied()
            .filter(|&n| !served(n))
            .map(name)
            .collect();
        let holds = starved.is_empty();
        let summary = if holds {
            format!("every client of {cluster} was served in the quiet phase (from {since})")
        } else {
            format!(
                "{} had no operation served between {since} and {}",
                starved.join(", "),
                sim.now()
            )
        };
        crate::model::Verdict {
            check: format!("progress of {cluster}"),
            holds,
            summary,
            metrics: [(format!("liveness.{cluster}"), f64::from(u8::from(holds)))].into(),
            report: String::new(),
            broken_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::Scenario;

    const BASE: &str = "name = \"t\"\ndescription = \"t\"\nduration = \"10s\"\n\
        [[cluster]]\nname = \"kv\"\nmodel = \"raft-kv\"\nnodes = 3\nRAFT\n\
        [[cluster]]\nname = \"c\"\nmodel = \"kv-client\"\ntarget = \"kv\"\nCLIENT\n";

    /// The error (key and message) for a scenario with these extra lines, or None if valid.
    fn error(raft: &str, client: &str) -> Option<(String, String)> {
        let mut text = BASE.replace("RAFT", raft).replace("CLIENT", client);
        if client.contains("target") {
            text = text.replacen("target = \"kv\"\n", "", 1);
        }
        Scenario::parse(Path::new("t.toml"), &text)
            .err()
            .map(|e| (e.key, e.message))
    }

    #[track_caller]
    fn fails(raft: &str, client: &str, key: &str, message: &str) {
        let (k, m) = error(raft, client).expect("an error");
        assert_eq!(k, key, "{m}");
        assert!(m.contains(message), "{m:?} lacks {message:?}");
    }

    #[test]
    fn defaults_and_both_load_schemes_are_valid() {
        assert_eq!(error("", ""), None);
        assert_eq!(error("", "rate = 50"), None);
        assert_eq!(error("", "think = \"exponential(20ms)\""), None);
        assert_eq!(
            error(
                "pre_vote = true\ncheck_quorum = true\nread_mode = \"log\"\nsnapshot_every = 0",
                ""
            ),
            None
        );
    }

    #[test]
    fn client_configurations_that_make_no_sense_are_rejected() {
        fails(
            "",
            "rate = 10\nthink = \"5ms\"",
            "cluster[1].think",
            "either rate (open loop) or think (closed loop), not both",
        );
        fails("", "rate = 0", "cluster[1].rate", "rate must be above 0");
        fails(
            "",
            "read_fraction = 0.8\ncas_fraction = 0.3",
            "cluster[1].cas_fraction",
            "at most 1",
        );
        fails("", "keys = 0", "cluster[1].keys", "at least 1");
        fails(
            "",
            "timeout = \"0s\"",
            "cluster[1].timeout",
            "longer than 0",
        );
        fails(
            "",
            "target = \"nope\"",
            "cluster[1].target",
            "unknown cluster \"nope\"",
        );
        fails(
            "",
            "retries = 3",
            "cluster[1].retries",
            "unknown key for model \"kv-client\"",
        );
    }

    #[test]
    fn raft_configurations_that_make_no_sense_are_rejected() {
        fails(
            "heartbeat = \"300ms\"",
            "",
            "cluster[0].heartbeat",
            "shorter than the mean election timeout",
        );
        fails(
            "max_entries_per_append = 0",
            "",
            "cluster[0].max_entries_per_append",
            "at least 1",
        );
        fails(
            "read_mode = \"lease\"",
            "",
            "cluster[0].read_mode",
            "unknown variant",
        );
        fails(
            "prevote = true",
            "",
            "cluster[0].prevote",
            "unknown key for model \"raft-kv\"",
        );
    }
}
