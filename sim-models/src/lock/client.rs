//! `lock-client`: a client of the lock service that uses the lock to protect writes to stores.
//!
//! **The loop.** After `stagger` × its index in the cluster, open a session (`LeaseGrant { ttl }`) and keep it alive every
//! `keepalive_every`; try `Acquire` until granted (a busy lock is tried again every
//! `retry_every`); then, in the critical section, repeatedly: check that the lease is still
//! valid *on the client's own clock*, wait `work`, and write `Write { token, value }` to every
//! node of every store in `stores`; once they have answered, check again. The check is a
//! careful one: the lease must still be valid at the end of the `work` gap, not just now. After `hold` it
//! releases the lock and, `idle` later, tries to take it again with the same session.
//!
//! **What the client believes.** The lease is valid until the local time at which the client
//! first sent its last successful grant or keep-alive, plus `ttl`: the leader started its own
//! deadline no earlier, so on a correct clock the client gives up first. A keep-alive answered
//! `LeaseNotFound` (the leader expired it) or a lease past that local deadline means the lock is
//! lost: the client stops writing and opens a new session. A write a store rejects as stale
//! means the same (someone with a newer token wrote there).
//!
//! The lease is timed on the client's *monotonic* clock (its oscillator, drift included, but
//! not the steps an NTP-style `clock_jump` makes); the catalog bug
//! `lock.lease-trusts-skewed-clock` times it on the wall clock instead, so a clock stepped
//! back keeps the client writing long after its lease ended.
//!
//! **Where it goes wrong.** Between the check and the write lies `work`: a process paused there
//! (`pause` fault) for longer than the rest of its lease wakes up and writes with the token of
//! a lock that has since passed to another client; a clock that runs slow stretches the local
//! deadline past the leader's. Only a fencing store stops those writes.
//!
//! **Requests** to the lock service go through a [`ClusterClient`], as `kv-client`'s do: to
//! the leader, redirected on `NotLeader`, resent to the next server every `retry_every` with the
//! same (client, seq) so the state machine applies each once, all on one deadline timer per
//! client. A request not answered within `timeout` is recorded `info`; a grant, acquire or
//! release that timed out is sent again as a new request (acquire and release are idempotent
//! for a session; a grant that did apply leaves a lease that expires). Writes to stores are not
//! resent; each has its own timeout timer.
//!
//! **Restarts.** A crashed client comes back with a new session. Its sequence numbers go on
//! from its incarnation (counted in its storage) × 2³², so no request of the new incarnation
//! is mistaken for one of the old in the service's session table. Written values are the
//! write's sequence number: unique per client, across restarts too.
//!
//! **History.** Every request and every write is an operation (`OpCall::Other` named
//! `lease-grant`, `keepalive` and `acquire`/`release` with the lease as key, `write` with the
//! value as key): `ok` when granted, renewed, released or accepted; `fail` when busy, not
//! found, not held or rejected; `info` on timeout. Annotations `holding`, `token`, `lease`;
//! counters `acquired`, `lost_lease`, `writes`, `writes.rejected`, and the cluster client's
//! `redirects`, `resends`, `late`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::{
    Ctx, Duration, Invariant, Labeled, LocalTime, Node, NodeFactory, NodeId, OpCall, OpId, OpPhase,
    TimerId,
};

use crate::bugs::BugSpec;
use crate::cluster_client::{ClientsServed, ClusterClient, OpenRequest, Request};
use crate::config::{ClusterRef, NonZeroDuration, Reference};
use crate::kit::retry::RetryPolicy;
use crate::model::{ConfigProblem, Model, NodeEnv, table_of};
use crate::protocols;
use crate::protocols::lock::{LockMsg, LockOp, LockOutcome, LockResult};
use crate::protocols::store::{StoreMsg, WriteOutcome};
use crate::world::{Msg, Timer, World, stored};

/// The lock service answered a request with a result of another kind of operation: a bug in
/// the service model.
pub const REPLY_MATCHES_REQUEST: Invariant =
    Invariant::new("lock-client.reply-matches-request", "lock-client");

/// The lock client's catalog bugs (see [`crate::bugs`]).
pub const BUGS: &[BugSpec] = &[LEASE_TRUSTS_SKEWED_CLOCK];

/// `lock.lease-trusts-skewed-clock`: the lease is timed on the wall clock.
pub const LEASE_TRUSTS_SKEWED_CLOCK: BugSpec = BugSpec {
    name: "lock.lease-trusts-skewed-clock",
    description: "the lock client times its lease on its wall clock, which NTP may step back, instead of its monotonic clock: it keeps writing after the lease ended",
    caught_by: "mutual exclusion on an unfenced store",
};

/// Storage key of the number of times the client has started.
pub const INCARNATION_KEY: &str = "incarnation";

fn default_lock() -> String {
    "lock".to_owned()
}
fn default_ttl() -> NonZeroDuration {
    const DEFAULT: NonZeroDuration = NonZeroDuration::from_millis(2000);
    DEFAULT
}
fn default_hold() -> NonZeroDuration {
    const DEFAULT: NonZeroDuration = NonZeroDuration::from_millis(5000);
    DEFAULT
}
fn default_work() -> Duration {
    Duration::from_millis(100)
}
fn default_idle() -> Duration {
    Duration::from_secs(1)
}
fn default_retry_every() -> NonZeroDuration {
    const DEFAULT: NonZeroDuration = NonZeroDuration::from_millis(100);
    DEFAULT
}
fn default_timeout() -> NonZeroDuration {
    const DEFAULT: NonZeroDuration = NonZeroDuration::from_millis(1000);
    DEFAULT
}

/// Configuration of a `lock-client` cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockClientConfig {
    /// The lock service: a cluster serving the `lock` family, such as `raft-kv` (required).
    pub target: ClusterRef,
    /// The clusters written in the critical section: each must serve the `store` family, as
    /// `fenced-store` does (required, at least one).
    pub stores: Vec<ClusterRef>,
    /// The lock's name (default `"lock"`).
    #[serde(default = "default_lock")]
    pub lock: String,
    /// The lease's time to live (default `2s`).
    #[serde(default = "default_ttl")]
    pub ttl: NonZeroDuration,
    /// How often to renew the lease (default a third of `ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalive_every: Option<Duration>,
    /// How long to keep the lock once granted (default `5s`).
    #[serde(default = "default_hold")]
    pub hold: NonZeroDuration,
    /// The gap between checking the lease and writing (default `100ms`).
    #[serde(default = "default_work")]
    pub work: Duration,
    /// The rest between releasing the lock and trying again (default `1s`).
    #[serde(default = "default_idle")]
    pub idle: Duration,
    /// Resend an unanswered request to the next server, and try a busy lock again, after this
    /// long (default `100ms`).
    #[serde(default = "default_retry_every")]
    pub retry_every: NonZeroDuration,
    /// Give up on a request or write after this long and record it as `info` (default `1s`).
    #[serde(default = "default_timeout")]
    pub timeout: NonZeroDuration,
    /// The clients of the cluster start one after another: the n-th (from 0) opens its
    /// session n × `stagger` into the run (default `0s`: all at once).
    #[serde(default)]
    pub stagger: Duration,
}

impl LockClientConfig {
    /// The keep-alive period in effect.
    pub fn keepalive(&self) -> Duration {
        self.keepalive_every
            .unwrap_or(Duration::from_nanos(self.ttl.get().as_nanos() / 3))
    }
}

impl Model for LockClientConfig {
    fn to_table(&self) -> toml::Table {
        table_of(self)
    }

    fn references(&self) -> Vec<Reference> {
        let mut refs = vec![Reference::new(
            "target",
            &self.target,
            protocols::lock::FAMILY,
        )];
        for (i, store) in self.stores.iter().enumerate() {
            refs.push(Reference::new(
                format!("stores[{i}]"),
                store,
                protocols::store::FAMILY,
            ));
        }
        refs
    }

    fn check(&self, _: &BTreeMap<String, Vec<NodeId>>) -> Result<(), ConfigProblem> {
        let problem = |key: &str, message: String| Err(ConfigProblem::at(key, message));
        if self.stores.is_empty() {
            return problem(
                "stores",
                "stores must name at least one cluster that serves the store family, such as a fenced-store".into(),
            );
        }
        if self.lock.is_empty() {
            return problem("lock", "lock must be a non-empty name".into());
        }
        let keepalive = self.keepalive();
        if keepalive == Duration::ZERO || keepalive >= self.ttl.get() {
            return problem(
                "keepalive_every",
                format!(
                    "keepalive_every {keepalive} must be above 0 and shorter than ttl ({}), or the lease lapses between renewals",
                    self.ttl
                ),
            );
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
        // Every client has had a request of the quiet phase answered `ok`: a lease granted or
        // kept alive, the lock taken or released, a write accepted.
        Some(Box::new(ClientsServed { what: "request" }))
    }

    fn factory(&self, env: &NodeEnv<'_>) -> NodeFactory<World> {
        let config = self.clone();
        let servers = env
            .clusters
            .get(self.target.name())
            .cloned()
            .unwrap_or_default();
        let stores: Vec<NodeId> = self
            .stores
            .iter()
            .flat_map(|s| env.clusters.get(s.name()).cloned().unwrap_or_default())
            .collect();
        let first = env.index;
        let wall_clock_leases = env.bugs.has(&LEASE_TRUSTS_SKEWED_CLOCK);
        Box::new(move || {
            let mut client =
                LockClient::new(config.clone(), servers.clone(), stores.clone(), first);
            client.wall_clock_leases = wall_clock_leases;
            Box::new(client)
        })
    }
}

/// Timers of a lock client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockClientTimer {
    /// Time to renew the lease.
    KeepAlive,
    /// Time to try the lock again (after a busy answer, or after resting).
    Acquire,
    /// The `work` gap after the lease check has passed: write now.
    Write,
    /// The earliest retry or timeout of the open requests to the lock service is due (the
    /// [`ClusterClient`]'s one deadline timer).
    Deadline,
    /// Give up on the open write `seq`.
    WriteTimeout {
        /// Its sequence number.
        seq: u64,
    },
}

impl Labeled for LockClientTimer {
    fn label(&self) -> &'static str {
        match self {
            LockClientTimer::KeepAlive => "keepalive",
            LockClientTimer::Acquire => "try-lock",
            LockClientTimer::Write => "write",
            LockClientTimer::Deadline => "op-deadline",
            LockClientTimer::WriteTimeout { .. } => "write-timeout",
        }
    }
}

/// A request to the lock service.
#[derive(Debug)]
struct LockRequest {
    op: LockOp,
    /// Time of the first send on the lease clock (a lease is valid for `ttl` from there, at
    /// most).
    sent: LocalTime,
}

impl Request for LockRequest {
    fn message(&self, seq: u64, first_open: u64) -> Msg {
        LockMsg::Request {
            seq,
            first_open,
            op: self.op.clone(),
        }
        .into()
    }
}

/// A write to a store awaiting its answer.
#[derive(Debug)]
struct OpenWrite {
    id: OpId,
    timeout: TimerId,
}

/// The client's session: its lease and how long it believes the lease lives.
#[derive(Clone, Copy, Debug)]
struct Session {
    lease: u64,
    valid_until: LocalTime,
}

/// Where the client is in its loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Opening a session.
    Opening,
    /// Trying to take the lock.
    Acquiring,
    /// Holding the lock with `token` until `until` (local time).
    Holding { token: u64, until: LocalTime },
    /// Giving the lock back.
    Releasing,
    /// Resting between rounds.
    Idle,
}

/// A lock client node.
#[derive(Debug)]
pub struct LockClient {
    config: LockClientConfig,
    stores: Vec<NodeId>,
    /// The last sequence number used (requests and writes share the sequence).
    seq: u64,
    /// The open requests to the lock service and the way to its leader.
    requests: ClusterClient<LockRequest>,
    writes_open: BTreeMap<u64, OpenWrite>,
    session: Option<Session>,
    phase: Phase,
    keepalive_timer: Option<TimerId>,
    /// The pending end of a `work` gap.
    write_timer: Option<TimerId>,
    /// When to open the first session.
    start: Duration,
    /// Time the lease on the wall clock (the bug `lock.lease-trusts-skewed-clock`).
    wall_clock_leases: bool,
}

impl LockClient {
    fn new(
        config: LockClientConfig,
        servers: Vec<NodeId>,
        stores: Vec<NodeId>,
        index: usize,
    ) -> Self {
        let requests = ClusterClient::new(
            servers,
            index,
            RetryPolicy::fixed(config.retry_every.get()),
            config.timeout.get(),
            LockClientTimer::Deadline.into(),
        );
        let start = Duration::from_nanos(
            config
                .stagger
                .as_nanos()
                .saturating_mul(u64::try_from(index).unwrap_or(u64::MAX)),
        );
        LockClient {
            config,
            stores,
            seq: 0,
            requests,
            writes_open: BTreeMap::new(),
            session: None,
            phase: Phase::Opening,
            keepalive_timer: None,
            write_timer: None,
            start,
            wall_clock_leases: false,
        }
    }

    /// The clock the lease is timed on, as nanoseconds on one scale: monotonic, or the wall
    /// clock under the bug.
    fn lease_clock(&self, ctx: &Ctx<'_, World>) -> LocalTime {
        if self.wall_clock_leases {
            ctx.now()
        } else {
            LocalTime(ctx.monotonic().0)
        }
    }

    // ----- requests to the lock service ---------------------------------------------------

    fn request(&mut self, ctx: &mut Ctx<'_, World>, op: LockOp) {
        if !self.requests.has_servers() {
            return;
        }
        self.seq += 1;
        let seq = self.seq;
        let key = match &op {
            LockOp::LeaseGrant { .. } => 0,
            LockOp::LeaseKeepAlive { lease }
            | LockOp::Acquire { lease, .. }
            | LockOp::Release { lease, .. } => *lease,
        };
        let id = ctx.invoke(OpCall::Other {
            name: op.name(),
            key,
        });
        let sent = self.lease_clock(ctx);
        self.requests.open(ctx, seq, id, LockRequest { op, sent });
    }

    fn on_reply(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, seq: u64, outcome: LockOutcome) {
        let result = match outcome {
            LockOutcome::NotLeader { leader } => {
                self.requests.not_leader(ctx, from, seq, leader);
                return;
            }
            LockOutcome::Done(result) => result,
        };
        if self.requests.answered(ctx, from, seq).is_none() {
            return;
        }
        let Some(open) = self.requests.close(ctx, seq) else {
            return;
        };
        let ok = matches!(
            result,
            LockResult::LeaseGranted { .. }
                | LockResult::KeptAlive { .. }
                | LockResult::Granted { .. }
                | LockResult::Released
        );
        ctx.complete(open.id, if ok { OpPhase::Ok } else { OpPhase::Fail }, None);
        self.on_result(ctx, &open.request, result);
    }

    fn on_result(&mut self, ctx: &mut Ctx<'_, World>, request: &LockRequest, result: LockResult) {
        let current = self.session.map(|s| s.lease);
        match (&request.op, result) {
            (LockOp::LeaseGrant { .. }, LockResult::LeaseGranted { lease, ttl }) => {
                if self.phase != Phase::Opening {
                    return;
                }
                self.session = Some(Session {
                    lease,
                    valid_until: request.sent.after(ttl),
                });
                ctx.annotate("lease", lease);
                self.arm_keepalive(ctx);
                self.phase = Phase::Acquiring;
                self.acquire(ctx);
            }
            (LockOp::LeaseKeepAlive { lease }, LockResult::KeptAlive { ttl }) => {
                if let Some(s) = self.session.as_mut().filter(|s| s.lease == *lease) {
                    s.valid_until = s.valid_until.max(request.sent.after(ttl));
                }
            }
            (
                LockOp::LeaseKeepAlive { lease } | LockOp::Acquire { lease, .. },
                LockResult::LeaseNotFound,
            ) => {
                if current == Some(*lease) {
                    self.lose(ctx);
                }
            }
            (LockOp::Acquire { lease, .. }, LockResult::Granted { token }) => {
                if self.phase != Phase::Acquiring || current != Some(*lease) {
                    return;
                }
                ctx.count("acquired", 1);
                ctx.annotate("holding", true);
                ctx.annotate("token", token);
                let until = ctx.now().after(self.config.hold.get());
                self.phase = Phase::Holding { token, until };
                // Writes of an earlier hold still out: the cycle goes on when they are answered.
                if self.writes_open.is_empty() {
                    self.check_then_work(ctx);
                }
            }
            (LockOp::Acquire { lease, .. }, LockResult::Busy { .. }) => {
                if self.phase == Phase::Acquiring && current == Some(*lease) {
                    ctx.set_timer(
                        self.config.retry_every.get(),
                        LockClientTimer::Acquire.into(),
                    );
                }
            }
            (LockOp::Release { .. }, LockResult::Released | LockResult::NotHeld) => {
                if self.phase == Phase::Releasing {
                    self.rest(ctx);
                }
            }
            (op, result) => {
                ctx.violation(
                    REPLY_MATCHES_REQUEST,
                    format!("the lock service answered {op:?} with {result:?}"),
                );
            }
        }
    }

    /// The deadline timer fired: record what ran out of time as `info` and ask again (the
    /// cluster client resends what is due a retry).
    fn on_deadline(&mut self, ctx: &mut Ctx<'_, World>) {
        let mut pass = self.requests.on_deadline(ctx);
        while let Some((_, open)) = self.requests.next_timed_out(ctx, &mut pass) {
            self.on_timeout(ctx, open);
        }
    }

    fn on_timeout(&mut self, ctx: &mut Ctx<'_, World>, open: OpenRequest<LockRequest>) {
        ctx.complete(open.id, OpPhase::Info, None);
        // A keep-alive is simply tried again at the next period; the others are asked again.
        match open.request.op {
            LockOp::LeaseGrant { .. } if self.phase == Phase::Opening => self.open_session(ctx),
            LockOp::Acquire { .. } if self.phase == Phase::Acquiring => self.acquire(ctx),
            LockOp::Release { .. } if self.phase == Phase::Releasing => self.release(ctx),
            LockOp::LeaseGrant { .. }
            | LockOp::Acquire { .. }
            | LockOp::Release { .. }
            | LockOp::LeaseKeepAlive { .. } => {}
        }
    }

    // ----- the loop -----------------------------------------------------------------------

    fn open_session(&mut self, ctx: &mut Ctx<'_, World>) {
        self.phase = Phase::Opening;
        self.request(
            ctx,
            LockOp::LeaseGrant {
                ttl: self.config.ttl.get(),
            },
        );
    }

    fn acquire(&mut self, ctx: &mut Ctx<'_, World>) {
        let Some(s) = self.session else {
            self.open_session(ctx);
            return;
        };
        self.request(
            ctx,
            LockOp::Acquire {
                lock: self.config.lock.clone(),
                lease: s.lease,
            },
        );
    }

    fn release(&mut self, ctx: &mut Ctx<'_, World>) {
        let Some(s) = self.session else {
            self.rest(ctx);
            return;
        };
        self.phase = Phase::Releasing;
        self.request(
            ctx,
            LockOp::Release {
                lock: self.config.lock.clone(),
                lease: s.lease,
            },
        );
    }

    fn stop_holding(&mut self, ctx: &mut Ctx<'_, World>) {
        ctx.annotate("holding", false);
        ctx.annotate("token", "none");
    }

    fn rest(&mut self, ctx: &mut Ctx<'_, World>) {
        self.stop_holding(ctx);
        self.phase = Phase::Idle;
        ctx.set_timer(self.config.idle, LockClientTimer::Acquire.into());
    }

    /// The session is gone (the service said so, or the lease ran out on the local clock):
    /// any lock it held is lost. Open a new one.
    fn lose(&mut self, ctx: &mut Ctx<'_, World>) {
        if let Phase::Holding { .. } = self.phase {
            ctx.count("lost_lease", 1);
        }
        self.stop_holding(ctx);
        self.session = None;
        ctx.annotate("lease", "none");
        if let Some(t) = self.keepalive_timer.take() {
            ctx.cancel_timer(t);
        }
        if let Some(t) = self.write_timer.take() {
            ctx.cancel_timer(t);
        }
        self.open_session(ctx);
    }

    fn arm_keepalive(&mut self, ctx: &mut Ctx<'_, World>) {
        if let Some(t) = self.keepalive_timer.take() {
            ctx.cancel_timer(t);
        }
        self.keepalive_timer =
            Some(ctx.set_timer(self.config.keepalive(), LockClientTimer::KeepAlive.into()));
    }

    fn on_keepalive_timer(&mut self, ctx: &mut Ctx<'_, World>) {
        self.keepalive_timer = None;
        let Some(s) = self.session else {
            return;
        };
        let pending = self
            .requests
            .requests()
            .any(|r| r.op == LockOp::LeaseKeepAlive { lease: s.lease });
        if !pending {
            self.request(ctx, LockOp::LeaseKeepAlive { lease: s.lease });
        }
        self.arm_keepalive(ctx);
    }

    /// In the critical section: release once `hold` is over; otherwise check the lease on the
    /// local clock and, if it is still valid, write after `work`.
    fn check_then_work(&mut self, ctx: &mut Ctx<'_, World>) {
        let Phase::Holding { until, .. } = self.phase else {
            return;
        };
        let now = ctx.now();
        if now >= until {
            self.release(ctx);
            return;
        }
        // The lease must outlive the gap before the write, on the local clock.
        let lease_now = self.lease_clock(ctx);
        if self
            .session
            .is_none_or(|s| lease_now.after(self.config.work) >= s.valid_until)
        {
            self.lose(ctx);
            return;
        }
        // The check passed. Whatever happens during `work` — a pause, a slow clock — the
        // write below goes out without looking again.
        self.write_timer = Some(ctx.set_timer(self.config.work, LockClientTimer::Write.into()));
    }

    fn on_write_timer(&mut self, ctx: &mut Ctx<'_, World>) {
        self.write_timer = None;
        let Phase::Holding { token, .. } = self.phase else {
            return;
        };
        for store in self.stores.clone() {
            self.seq += 1;
            let seq = self.seq;
            let value = seq;
            let id = ctx.invoke(OpCall::Other {
                name: "write",
                key: value,
            });
            let timeout = ctx.set_timer(
                self.config.timeout.get(),
                LockClientTimer::WriteTimeout { seq }.into(),
            );
            self.writes_open.insert(seq, OpenWrite { id, timeout });
            ctx.count("writes", 1);
            ctx.send(store, StoreMsg::Write { seq, token, value }.into());
        }
    }

    fn on_write_done(&mut self, ctx: &mut Ctx<'_, World>, seq: u64, phase: OpPhase) {
        let Some(w) = self.writes_open.remove(&seq) else {
            return;
        };
        ctx.cancel_timer(w.timeout);
        ctx.complete(w.id, phase, None);
        if phase == OpPhase::Fail {
            ctx.count("writes.rejected", 1);
            // Someone with a newer token has written there: the lock has passed on.
            if let Phase::Holding { .. } = self.phase {
                self.lose(ctx);
            }
            return;
        }
        if self.writes_open.is_empty() {
            self.check_then_work(ctx);
        }
    }
}

impl Node<World> for LockClient {
    fn on_start(&mut self, ctx: &mut Ctx<'_, World>) {
        // A restarted client must not reuse a sequence number: the service would answer it
        // from the session of the previous incarnation.
        let incarnation = stored::<u64>(ctx.storage(), INCARNATION_KEY)
            .copied()
            .unwrap_or(0);
        ctx.storage().put(INCARNATION_KEY, (incarnation + 1).into());
        ctx.storage().sync();
        self.seq = incarnation << 32;
        for counter in ["acquired", "lost_lease", "writes", "writes.rejected"] {
            ctx.count(counter, 0);
        }
        self.requests.zero_counters(ctx);
        ctx.annotate("holding", false);
        ctx.annotate("token", "none");
        ctx.annotate("lease", "none");
        if self.start == Duration::ZERO {
            self.open_session(ctx);
        } else {
            self.phase = Phase::Idle;
            ctx.set_timer(self.start, LockClientTimer::Acquire.into());
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: Msg) {
        let msg = match LockMsg::try_from(msg) {
            Ok(LockMsg::Reply { seq, outcome }) => return self.on_reply(ctx, from, seq, outcome),
            Ok(LockMsg::Request { .. }) => return,
            Err(other) => other,
        };
        if let Ok(StoreMsg::WriteReply { seq, outcome }) = StoreMsg::try_from(msg) {
            let phase = match outcome {
                WriteOutcome::Accepted => OpPhase::Ok,
                WriteOutcome::RejectedStale { .. } => OpPhase::Fail,
            };
            self.on_write_done(ctx, seq, phase);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, World>, timer: Timer) {
        let Ok(timer) = LockClientTimer::try_from(timer) else {
            return;
        };
        match timer {
            LockClientTimer::KeepAlive => self.on_keepalive_timer(ctx),
            LockClientTimer::Acquire => {
                if matches!(self.phase, Phase::Acquiring | Phase::Idle) {
                    self.phase = Phase::Acquiring;
                    self.acquire(ctx);
                }
            }
            LockClientTimer::Write => self.on_write_timer(ctx),
            LockClientTimer::Deadline => self.on_deadline(ctx),
            LockClientTimer::WriteTimeout { seq } => self.on_write_done(ctx, seq, OpPhase::Info),
        }
    }
}
