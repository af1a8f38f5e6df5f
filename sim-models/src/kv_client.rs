//! `kv-client`: a client that drives a replicated key-value store (such as `raft-kv`) with a
//! register workload — read, write and compare-and-set over a few keys — and records every
//! operation the way Jepsen does: invoke, then `ok`, `fail` or `info`, with true times.
//!
//! **Load.** Either closed loop (`think`: one operation at a time, waiting `think` after each
//! completes) or open loop (`rate`: new operations arrive as a Poisson process of `rate` per
//! second, however many are still open). Give one or the other; neither means closed loop with
//! `think = "10ms"`.
//!
//! **Requests** go through a [`ClusterClient`], which kv-client shares with `lock-client`:
//! to the server the client believes leads, redirected by `NotLeader` hints, resent with the
//! same (client, seq) to the next server every `retry_every` without an answer (the server's
//! state machine applies each once and remembers its result), given up after `timeout` — all
//! on one deadline timer per client.
//!
//! **Holding back.** An open-loop client guards its calls with a circuit breaker
//! ([`crate::kit::breaker`], resilience4j's semantics): an arrival the breaker rejects is
//! failed at once without being sent — `fail` is exact for those, they certainly did not
//! happen — and counted as `held_back`. A timeout is a failed call; any answer (a failed
//! compare-and-set included) is a successful one. By default (`breaker = true`) the breaker
//! opens on the first timeout, stays open for one `timeout`, then lets one call through as a
//! probe; it closes when the probe is answered and opens again when the probe times out (a
//! window of one call, a 100% threshold, one call in half-open). `breaker = { … }` sets any of resilience4j's keys
//! instead, and `breaker = false` turns it off. Without one, a client cut off from the leader
//! would leave `rate × timeout` operations of unknown outcome every second, each of which a
//! linearizability checker must try at every later point of the history. The timeline shows
//! the breaker's state (`breaker`) when it changes.
//!
//! **Outcomes.** A read is `ok` with the value it saw (none: the key is empty). A write is `ok`
//! once applied. A compare-and-set is `ok` if it applied and `fail` if its precondition did not
//! hold (then it definitely did not take effect). An operation with no answer within `timeout`
//! is `info`: it may or may not have taken effect, and the client never retries it after that.
//! Values written are unique per (client, operation) — `(client id + 1) × 10⁹ + seq` — so a
//! linearizability checker can tell every write apart. A compare-and-set expects the last value
//! this client saw for the key; with none seen yet, the client reads instead.
//!
//! Metrics: `latency` (histogram of answered operations, measured on the client's monotonic
//! clock), counters `redirects`, `resends`, `late` (answers after the op was closed; see
//! [`crate::cluster_client`]), `held_back` (arrivals failed at once by the breaker).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::{
    Ctx, Duration, DurationDist, Invariant, Labeled, Node, NodeFactory, NodeId, OpPhase,
};

use crate::cluster_client::{ClientsServed, ClusterClient, OpenRequest, Request};
use crate::config::{ClusterRef, Count, NonZeroDuration, Probability, Reference};
use crate::kit::breaker::{Breaker, BreakerConfig, SlidingWindowType, Transition};
use crate::kit::retry::RetryPolicy;
use crate::model::{ConfigProblem, Model, NodeEnv, table_of};
use crate::protocols;
use crate::protocols::kv::{KvMsg, KvOp, KvOutcome, KvResult};
use crate::world::{Msg, Timer, World};

impl Request for KvOp {
    fn message(&self, seq: u64, first_open: u64) -> Msg {
        KvMsg::Request {
            seq,
            first_open,
            op: *self,
        }
        .into()
    }
}

/// A server answered a request with a result of another kind of operation (a read answered
/// "written"): a bug in the store model.
pub const REPLY_MATCHES_REQUEST: Invariant =
    Invariant::new("kv-client.reply-matches-request", "kv-client");

/// Timers of a key-value client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvClientTimer {
    /// Time to issue the next operation.
    Next,
    /// The earliest retry or timeout of the open operations is due (the
    /// [`ClusterClient`]'s one deadline timer).
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

fn default_keys() -> Count {
    Count::new(5).unwrap_or(Count::ONE)
}
fn default_read_fraction() -> Probability {
    Probability::new(0.5).unwrap_or_default()
}
fn default_cas_fraction() -> Probability {
    Probability::new(0.1).unwrap_or_default()
}
fn default_timeout() -> NonZeroDuration {
    const ONE_SECOND: NonZeroDuration = NonZeroDuration::from_millis(1000);
    ONE_SECOND
}
/// The resend interval when neither `retry_every` nor `retry` is given.
const DEFAULT_RETRY_EVERY: NonZeroDuration = NonZeroDuration::from_millis(100);

/// The think time when neither `rate` nor `think` is given.
pub const DEFAULT_THINK: Duration = Duration::from_millis(10);

/// Configuration of a `kv-client` cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KvClientConfig {
    /// The key-value cluster to use (required; it must serve the `kv` family).
    pub target: ClusterRef,
    /// How many keys (`0..keys`; default 5). Fewer keys, more contention.
    #[serde(default = "default_keys")]
    pub keys: Count,
    /// Share of operations that are reads (default 0.5).
    #[serde(default = "default_read_fraction")]
    pub read_fraction: Probability,
    /// Share that are compare-and-sets (default 0.1); the rest are writes.
    #[serde(default = "default_cas_fraction")]
    pub cas_fraction: Probability,
    /// Open loop: operations per second, arriving as a Poisson process. Not with `think`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Closed loop: wait this long after each operation completes (default `10ms` when `rate`
    /// is not given). Not with `rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<DurationDist>,
    /// Give up on an operation after this long and record it as `info` (default `1s`).
    #[serde(default = "default_timeout")]
    pub timeout: NonZeroDuration,
    /// Resend an unanswered request to the next server every this long (default `100ms`,
    /// when `retry` is not given): shorthand for a fixed `retry` policy without jitter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_every: Option<NonZeroDuration>,
    /// The resend schedule as a full retry policy (backoff, jitter, attempts; see
    /// [`RetryPolicy`]), each resend going to the next server. Not with `retry_every`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    /// Open loop: the circuit breaker that fails arrivals at once while the cluster does not
    /// answer: `true` (default: open on a timeout, probe with one call), `false` (none), or a
    /// table of resilience4j's settings. Ignored in closed loop.
    #[serde(default)]
    pub breaker: BreakerSetting,
}

/// A client's circuit breaker, as a scenario sets it: on with the probe settings, off, or
/// configured key by key.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BreakerSetting {
    /// `true`: [`BreakerSetting::probe`]; `false`: no breaker.
    Enabled(bool),
    /// A table of resilience4j's settings (missing keys take resilience4j's defaults).
    Custom(BreakerConfig),
}

impl Default for BreakerSetting {
    fn default() -> Self {
        BreakerSetting::Enabled(true)
    }
}

impl BreakerSetting {
    /// The settings of `breaker = true` for a client that gives up after `timeout`: open on
    /// the first timeout (a window of one call and a 100% threshold), wait one `timeout`, then
    /// let one call through as a probe.
    pub fn probe(timeout: Duration) -> BreakerConfig {
        BreakerConfig {
            sliding_window_type: SlidingWindowType::CountBased,
            sliding_window_size: 1,
            minimum_number_of_calls: 1,
            failure_rate_threshold: 100.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration_threshold: Duration::from_secs(60),
            wait_duration_in_open_state: timeout.max(Duration::from_millis(1)),
            permitted_number_of_calls_in_half_open_state: 1,
        }
    }

    /// The breaker's settings for a client that gives up after `timeout`, or `None` for no
    /// breaker.
    pub fn config(&self, timeout: Duration) -> Option<BreakerConfig> {
        match self {
            BreakerSetting::Enabled(true) => Some(Self::probe(timeout)),
            BreakerSetting::Enabled(false) => None,
            BreakerSetting::Custom(c) => Some(*c),
        }
    }
}

impl<'de> Deserialize<'de> for BreakerSetting {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = BreakerSetting;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false or a table of circuit-breaker settings")
            }
            fn visit_bool<E: serde::de::Error>(self, on: bool) -> Result<Self::Value, E> {
                Ok(BreakerSetting::Enabled(on))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                let de = serde::de::value::MapAccessDeserializer::new(map);
                BreakerConfig::deserialize(de).map(BreakerSetting::Custom)
            }
        }
        de.deserialize_any(Visitor)
    }
}

/// The most operations per second an open-loop client may ask for.
pub const MAX_RATE: f64 = 1_000_000.0;

impl KvClientConfig {
    /// The resend schedule in effect.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry.unwrap_or_else(|| {
            RetryPolicy::fixed(self.retry_every.unwrap_or(DEFAULT_RETRY_EVERY).get())
        })
    }
}

impl Model for KvClientConfig {
    fn to_table(&self) -> toml::Table {
        // Every default filled in: without a `retry` policy, the interval in effect.
        let effective = KvClientConfig {
            retry_every: match self.retry {
                Some(_) => None,
                None => Some(self.retry_every.unwrap_or(DEFAULT_RETRY_EVERY)),
            },
            ..self.clone()
        };
        table_of(&effective)
    }

    fn references(&self) -> Vec<Reference> {
        vec![Reference::new(
            "target",
            &self.target,
            protocols::kv::FAMILY,
        )]
    }

    fn check(&self, _: &BTreeMap<String, Vec<NodeId>>) -> Result<(), ConfigProblem> {
        let problem = |key: &str, message: String| Err(ConfigProblem::at(key, message));
        if let Some(policy) = &self.retry {
            if self.retry_every.is_some() {
                return problem(
                    "retry",
                    "give either retry_every (a fixed interval) or retry (a policy), not both"
                        .into(),
                );
            }
            if let Err(e) = policy.validate() {
                return problem(&format!("retry.{}", e.field), e.message);
            }
        }
        if let BreakerSetting::Custom(c) = &self.breaker
            && let Err(e) = c.validate()
        {
            return problem(&format!("breaker.{}", e.field), e.message);
        }
        let mix = self.read_fraction.get() + self.cas_fraction.get();
        if mix > 1.0 {
            return problem(
                "cas_fraction",
                format!("read_fraction + cas_fraction must be at most 1, got {mix}"),
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
        // Every client has had an operation invoked in the quiet phase complete `ok`.
        Some(Box::new(ClientsServed { what: "operation" }))
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
        if self.keys.get() > 1 {
            let one_key = KvClientConfig {
                keys: Count::ONE,
                ..self.clone()
            };
            out.push(table_of(&one_key));
        }
        out
    }

    fn factory(&self, env: &NodeEnv<'_>) -> NodeFactory<World> {
        let config = self.clone();
        let servers = env
            .clusters
            .get(self.target.name())
            .cloned()
            .unwrap_or_default();
        let first = env.index;
        Box::new(move || Box::new(KvClient::new(config.clone(), servers.clone(), first)))
    }
}

/// A key-value client node.
#[derive(Debug)]
pub struct KvClient {
    config: KvClientConfig,
    /// The last sequence number used.
    seq: u64,
    /// The open operations and the way to the leader.
    requests: ClusterClient<KvOp>,
    /// The last value this client saw per key (for compare-and-set expectations).
    seen: BTreeMap<u64, i64>,
    /// The circuit breaker (open loop, unless switched off).
    breaker: Option<Breaker>,
}

/// Shows a breaker's change of state on the timeline.
fn show(ctx: &mut Ctx<'_, World>, transition: Option<Transition>) {
    if let Some(t) = transition {
        ctx.annotate("breaker", t.to);
        ctx.count("breaker_transitions", 1);
    }
}

impl KvClient {
    fn new(config: KvClientConfig, servers: Vec<NodeId>, index: usize) -> Self {
        let breaker = match config.rate {
            // Closed loop has one operation open at a time: nothing to hold back.
            None => None,
            Some(_) => config
                .breaker
                .config(config.timeout.get())
                .and_then(|c| Breaker::new(&c).ok()),
        };
        let requests = ClusterClient::new(
            servers,
            index,
            config.retry_policy(),
            config.timeout.get(),
            KvClientTimer::Deadline.into(),
        );
        KvClient {
            config,
            seq: 0,
            requests,
            seen: BTreeMap::new(),
            breaker,
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
        ctx.set_timer(wait, KvClientTimer::Next.into());
    }

    fn closed_loop(&self) -> bool {
        self.config.rate.is_none()
    }

    fn choose_op(&mut self, ctx: &mut Ctx<'_, World>, seq: u64) -> KvOp {
        let key = ctx.rng().below(self.config.keys.get());
        let u = ctx.rng().unit_f64();
        let value = (i64::from(ctx.id().0) + 1) * 1_000_000_000 + seq as i64;
        let (reads, cas) = (
            self.config.read_fraction.get(),
            self.config.cas_fraction.get(),
        );
        if u < reads {
            KvOp::Read { key }
        } else if u < reads + cas {
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
        if !self.requests.has_servers() {
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        let op = self.choose_op(ctx, seq);
        let id = ctx.invoke(op.call());
        if let Some(breaker) = &mut self.breaker {
            match breaker.try_acquire(ctx.monotonic()) {
                Ok(permit) => show(ctx, permit.transition),
                Err(_) => {
                    // Never sent, so it certainly did not happen.
                    ctx.count("held_back", 1);
                    ctx.complete(id, OpPhase::Fail, None);
                    return;
                }
            }
        }
        self.requests.open(ctx, seq, id, op);
    }

    /// The deadline timer fired: give up (outcome unknown) on what ran out of time; the
    /// cluster client resends what is due a retry.
    fn on_deadline(&mut self, ctx: &mut Ctx<'_, World>) {
        let mut pass = self.requests.on_deadline(ctx);
        while let Some((_, open)) = self.requests.next_timed_out(ctx, &mut pass) {
            self.record(ctx, open, OpPhase::Info, None);
        }
    }

    /// Closes operation `seq` with this outcome.
    fn finish(&mut self, ctx: &mut Ctx<'_, World>, seq: u64, phase: OpPhase, value: Option<i64>) {
        if let Some(open) = self.requests.close(ctx, seq) {
            self.record(ctx, open, phase, value);
        }
    }

    /// Records the outcome of a closed operation; updates the breaker; in closed loop,
    /// schedules the next operation.
    fn record(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        open: OpenRequest<KvOp>,
        phase: OpPhase,
        value: Option<i64>,
    ) {
        ctx.complete(open.id, phase, value);
        if let Some(breaker) = &mut self.breaker {
            let now = ctx.monotonic();
            let took = Duration::from_nanos(now.nanos_since(open.started).max(0) as u64);
            let transition = match phase {
                // No answer in time: the call failed.
                OpPhase::Info => breaker.on_failure(now, took),
                // The cluster answered (a compare-and-set that did not match included).
                OpPhase::Ok | OpPhase::Fail => breaker.on_success(now, took),
                OpPhase::Invoke => None,
            };
            show(ctx, transition);
        }
        if phase != OpPhase::Info {
            let took = ctx.monotonic().nanos_since(open.started);
            ctx.observe("latency", took.max(0) as u64);
        }
        if self.closed_loop() {
            self.schedule_next(ctx);
        }
    }

    fn on_outcome(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, seq: u64, outcome: KvOutcome) {
        match outcome {
            KvOutcome::NotLeader { leader } => self.requests.not_leader(ctx, from, seq, leader),
            KvOutcome::Done(result) => {
                let Some(&op) = self.requests.answered(ctx, from, seq) else {
                    return;
                };
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
                        ctx.violation(
                            REPLY_MATCHES_REQUEST,
                            format!(
                                "server {} answered {op:?} (seq {seq}) with {result:?}",
                                from.0
                            ),
                        );
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
        self.requests.zero_counters(ctx);
        ctx.count("held_back", 0);
        self.schedule_next(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: Msg) {
        if let Ok(KvMsg::Reply { seq, outcome }) = KvMsg::try_from(msg) {
            self.on_outcome(ctx, from, seq, outcome);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, World>, timer: Timer) {
        let Ok(timer) = KvClientTimer::try_from(timer) else {
            return;
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
        fails("", "keys = 0", "cluster[1].keys", "at least 1, got 0");
        fails(
            "",
            "breaker = { failure_rate_threshold = 0 }",
            "cluster[1].breaker.failure_rate_threshold",
            "must be a percentage above 0",
        );
        fails(
            "",
            "breaker = { minimum_calls = 3 }",
            "cluster[1].breaker.minimum_calls",
            "`minimum_calls`, expected one of `sliding_window_type`",
        );
        fails(
            "",
            "breaker = \"on\"",
            "cluster[1].breaker",
            "true, false or a table of circuit-breaker settings",
        );
        fails(
            "",
            "retry_every = \"50ms\"\nretry = { backoff = \"fixed\", base = \"50ms\" }",
            "cluster[1].retry",
            "either retry_every (a fixed interval) or retry (a policy), not both",
        );
        fails(
            "",
            "retry = { max_attempts = 0 }",
            "cluster[1].retry.max_attempts",
            "must be between 1 and 100",
        );
        fails(
            "",
            "retry = { jitter = \"sometimes\" }",
            "cluster[1].retry.jitter",
            "unknown variant",
        );
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
