//! Ping/echo: the first model, small enough to read in one sitting, that exercises every part
//! of the engine.
//!
//! * `echo` servers answer each `ping` with a `pong` that carries their local wall-clock
//!   reading. They count pings served in durable storage, synced every `sync_every` pings, so a
//!   crash loses the unsynced tail — visible in the `recovered` annotation after a restart.
//! * `pinger` clients send a ping every `interval` to a node of their `target` cluster (round
//!   robin or random), record each as an operation (`ok` on the pong, `info` on timeout), record
//!   the round-trip time measured on their own clock, and estimate the server's clock offset
//!   the way NTP does: `offset = server_time − (sent + received) / 2`. Under clock skew the
//!   estimate shows the skew; after a clock jump it shows the jump.
//!
//! Simplifications: no retries; a pong that arrives after its timeout counts as `late`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::{
    Ctx, Duration, DurationDist, Labeled, LocalTime, Node, NodeFactory, NodeId, OpCall, OpId,
    OpPhase, TimerId,
};

use crate::config::{ClusterRef, Count, NonZeroDuration, Reference};
use crate::model::{ConfigProblem, Model, NodeEnv, table_of};
use crate::protocols;
use crate::protocols::ping::PingMsg;
use crate::world::{Msg, Timer, World, stored};

/// Timers of the ping model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingTimer {
    /// Time to send the next ping.
    Tick,
    /// The ping with this sequence number has waited long enough.
    Timeout {
        /// Sequence number.
        seq: u64,
    },
}

impl Labeled for PingTimer {
    fn label(&self) -> &'static str {
        match self {
            PingTimer::Tick => "tick",
            PingTimer::Timeout { .. } => "timeout",
        }
    }
}

fn default_sync_every() -> Count {
    Count::ONE
}

/// Configuration of an `echo` cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EchoConfig {
    /// Sync the durable ping count every this many pings (default 1: every ping).
    #[serde(default = "default_sync_every")]
    pub sync_every: Count,
}

impl Model for EchoConfig {
    fn to_table(&self) -> toml::Table {
        table_of(self)
    }

    fn factory(&self, _: &NodeEnv<'_>) -> NodeFactory<World> {
        let sync_every = self.sync_every.get();
        Box::new(move || {
            Box::new(Echo {
                served: 0,
                sync_every,
            })
        })
    }
}

/// An echo server.
#[derive(Debug)]
pub struct Echo {
    served: u64,
    sync_every: u64,
}

const SERVED_KEY: &str = "served";

impl Node<World> for Echo {
    fn on_start(&mut self, ctx: &mut Ctx<'_, World>) {
        self.served = stored::<u64>(ctx.storage(), SERVED_KEY)
            .copied()
            .unwrap_or(0);
        ctx.annotate("recovered", self.served);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: Msg) {
        let Ok(PingMsg::Ping { seq }) = PingMsg::try_from(msg) else {
            return;
        };
        self.served += 1;
        ctx.count("pings", 1);
        let storage = ctx.storage();
        storage.put(SERVED_KEY, self.served.into());
        if self.served.is_multiple_of(self.sync_every) {
            storage.sync();
        }
        let server_time = ctx.now();
        ctx.send(from, PingMsg::Pong { seq, server_time }.into());
    }
}

/// How a pinger picks the server for each ping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pick {
    /// Each server in turn, starting with the one matching the client's index.
    #[default]
    RoundRobin,
    /// A uniformly random server each time.
    Random,
}

fn default_interval() -> DurationDist {
    DurationDist::constant(Duration::from_millis(100))
}

fn default_timeout() -> NonZeroDuration {
    const ONE_SECOND: NonZeroDuration = NonZeroDuration::from_millis(1000);
    ONE_SECOND
}

/// Configuration of a `pinger` cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PingerConfig {
    /// The cluster to ping (required; it must serve the `ping` family).
    pub target: ClusterRef,
    /// Wait between pings (default `100ms`).
    #[serde(default = "default_interval")]
    pub interval: DurationDist,
    /// How long to wait for a pong before recording the ping as `info` (default `1s`).
    #[serde(default = "default_timeout")]
    pub timeout: NonZeroDuration,
    /// How to choose the server for each ping (default `round-robin`).
    #[serde(default)]
    pub pick: Pick,
}

impl Model for PingerConfig {
    fn to_table(&self) -> toml::Table {
        table_of(self)
    }

    fn references(&self) -> Vec<Reference> {
        vec![Reference::new(
            "target",
            &self.target,
            protocols::ping::FAMILY,
        )]
    }

    fn check(&self, _: &BTreeMap<String, Vec<NodeId>>) -> Result<(), ConfigProblem> {
        if self.interval.mean().is_none_or(|m| m == Duration::ZERO) {
            return Err(ConfigProblem::at(
                "interval",
                format!("interval {} must have a mean above 0", self.interval),
            ));
        }
        Ok(())
    }

    fn is_client(&self) -> bool {
        true
    }

    fn factory(&self, env: &NodeEnv<'_>) -> NodeFactory<World> {
        let config = self.clone();
        let servers = env
            .clusters
            .get(self.target.name())
            .cloned()
            .unwrap_or_default();
        let first = env.index;
        Box::new(move || {
            Box::new(Pinger {
                config: config.clone(),
                servers: servers.clone(),
                next: first,
                seq: 0,
                pending: BTreeMap::new(),
            })
        })
    }
}

#[derive(Debug)]
struct Pending {
    op: OpId,
    sent: LocalTime,
    timeout: TimerId,
}

/// A pinging client.
#[derive(Debug)]
pub struct Pinger {
    config: PingerConfig,
    servers: Vec<NodeId>,
    next: usize,
    seq: u64,
    pending: BTreeMap<u64, Pending>,
}

impl Pinger {
    fn schedule_tick(&mut self, ctx: &mut Ctx<'_, World>) {
        let wait = self.config.interval.sample(ctx.rng());
        ctx.set_timer(wait, PingTimer::Tick.into());
    }

    fn ping(&mut self, ctx: &mut Ctx<'_, World>) {
        if self.servers.is_empty() {
            return;
        }
        let i = match self.config.pick {
            Pick::RoundRobin => {
                self.next = (self.next + 1) % self.servers.len();
                self.next
            }
            Pick::Random => ctx.rng().below(self.servers.len() as u64) as usize,
        };
        let server = self.servers[i];
        self.seq += 1;
        let seq = self.seq;
        let op = ctx.invoke(OpCall::Other {
            name: "ping",
            key: u64::from(server.0),
        });
        let timeout = ctx.set_timer(self.config.timeout.get(), PingTimer::Timeout { seq }.into());
        let sent = ctx.now();
        self.pending.insert(seq, Pending { op, sent, timeout });
        ctx.send(server, PingMsg::Ping { seq }.into());
    }
}

impl Node<World> for Pinger {
    fn on_start(&mut self, ctx: &mut Ctx<'_, World>) {
        self.schedule_tick(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, World>, _from: NodeId, msg: Msg) {
        let Ok(PingMsg::Pong { seq, server_time }) = PingMsg::try_from(msg) else {
            return;
        };
        let Some(p) = self.pending.remove(&seq) else {
            ctx.count("late", 1);
            return;
        };
        ctx.cancel_timer(p.timeout);
        let received = ctx.now();
        ctx.complete(p.op, OpPhase::Ok, None);
        // Measured on the local wall clock, as a real client would: a clock jump while the ping
        // was in flight shows up here as a bogus (even negative) round trip.
        let rtt = received.nanos_since(p.sent);
        ctx.observe("rtt", rtt.max(0) as u64);
        let midpoint = p.sent.0 / 2 + received.0 / 2;
        let offset_ns = server_time.0.saturating_sub(midpoint);
        ctx.gauge("skew_ms", offset_ns as f64 / 1e6);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, World>, timer: Timer) {
        let Ok(timer) = PingTimer::try_from(timer) else {
            return;
        };
        match timer {
            PingTimer::Tick => {
                self.ping(ctx);
                self.schedule_tick(ctx);
            }
            PingTimer::Timeout { seq } => {
                if let Some(p) = self.pending.remove(&seq) {
                    ctx.count("timeouts", 1);
                    ctx.complete(p.op, OpPhase::Info, None);
                }
            }
        }
    }
}
