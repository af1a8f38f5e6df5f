//! Engine benchmarks: the workloads, a hand-written baseline loop, and the report table.
//!
//! `cargo bench` (`benches/engine.rs`) and `dsim bench` both run these, so a figure from one
//! means the same as a figure from the other. Nothing here asserts on timing: the targets are
//! printed next to the measurements for information.
//!
//! The workloads:
//!
//! * **W1, ping-pong mesh** (N = 5 and N = 100): every node sends one message at the start, so
//!   N are in flight; every delivery is answered by one send to a uniformly random other node;
//!   latency is `uniform(1ms, 10ms)`. Runs for 10 M deliveries, trace off, and once more with
//!   the full trace kept.
//! * **W2, heartbeats**: five nodes; the leader sends a heartbeat to the other four every
//!   50 ms; each follower holds an election timer drawn from `uniform(150ms, 300ms)` and resets
//!   it (cancel and set) on every heartbeat. One simulated hour.
//! * **W3, deep queue**: the W1 mesh with N = 100 where every node sends 10,000 messages at
//!   the start, so 1,000,000 events are pending throughout; 10 M deliveries.
//! * **W4, raft-kv**: five `raft-kv` replicas and four open-loop `kv-client`s of 250
//!   operations per second each — 1,000 operations per simulated second — built from a
//!   scenario file ([`raft_kv_scenario`]) through the scenario parser, with the trace at
//!   `summary`. The clients are held (paused) for the first simulated second, while the
//!   replicas elect a leader, then run for 60 simulated seconds. The figure is the
//!   real-time ratio: simulated seconds per wall-clock second (target ≥ 500×). The
//!   linearizability check of the history runs after the timed part and is timed on its own.
//!
//! The baseline for W1 and W3 is the smallest loop that does the same work: a
//! `BinaryHeap<Reverse<(time, seq, from, to)>>` and one `ChaCha8Rng` drawing the target and
//! the latency with the same unbiased method as the engine ([`SimRng::below`]). The ratio
//! printed is engine rate / baseline rate.
//!
//! Rates are measured after setup (the start events at time 0, which send the initial
//! messages), over the steady state.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::time::Instant;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde::Serialize;
use sim_core::{
    Clock, Ctx, Duration, DurationDist, Labeled, Limits, MemoryStats, NetworkConfig, Node, NodeId,
    Protocol, SimBuilder, SimRng, SimTime, Simulation, TimerId, TraceLevel,
};

use crate::scenario::{Overrides, Scenario};
use crate::world::World;

/// The seed every benchmark run uses (the figures do not depend on it in any meaningful way).
pub const SEED: u64 = 0x00D5_1BE7;

/// Shortest link latency of the mesh (W1, W3) and of the heartbeat network (W2).
const LATENCY_LO: u64 = 1_000_000;
/// Longest link latency.
const LATENCY_HI: u64 = 10_000_000;
/// Deliveries of W1 and W3 at full scale.
const DELIVERIES: u64 = 10_000_000;
/// Messages each W3 node sends at the start, at full scale (100 nodes: 1,000,000 pending).
const DEEP_PER_NODE: u64 = 10_000;
/// Nodes of the W3 mesh.
const DEEP_NODES: u32 = 100;
/// The W2 heartbeat period.
const HEARTBEAT: Duration = Duration::from_millis(50);
/// Shortest W2 election timeout.
const ELECTION_LO: u64 = 150_000_000;
/// Longest W2 election timeout.
const ELECTION_HI: u64 = 300_000_000;
/// Simulated length of W2 at full scale.
const HEARTBEAT_RUN: Duration = Duration::from_secs(3600);
/// Nodes of W2 (one leader, four followers).
const HEARTBEAT_NODES: u32 = 5;

/// Simulated length of W4 at full scale, after its warm-up.
const RAFT_RUN: Duration = Duration::from_secs(60);
/// W4's warm-up: the clients are held while the replicas elect a leader.
const RAFT_WARMUP: Duration = Duration::from_secs(1);

/// Target for W1 with the trace off: at least this fraction of the baseline's rate.
pub const TARGET_RATIO_OFF: f64 = 0.5;
/// Target for W1 with the full trace: at least this fraction of the baseline's rate.
pub const TARGET_RATIO_FULL: f64 = 0.25;
/// Target for W3: at least this many events per second.
pub const TARGET_DEEP_RATE: f64 = 3e6;
/// Target for W3: at most this many bytes of engine memory per pending event.
pub const TARGET_BYTES_PER_PENDING: f64 = 48.0;
/// Target for W4: at least this many simulated seconds per wall-clock second.
pub const TARGET_REAL_TIME: f64 = 500.0;

// ----- the protocol --------------------------------------------------------------------------

/// The benchmarks' own protocol.
#[derive(Clone, Copy, Debug)]
pub struct Bench;

impl Protocol for Bench {
    type Msg = BenchMsg;
    type Timer = BenchTimer;
    type Durable = ();
}

/// Benchmark messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchMsg {
    /// A mesh message (W1, W3).
    Ping,
    /// A leader's heartbeat (W2).
    Heartbeat,
}

impl Labeled for BenchMsg {
    fn label(&self) -> &'static str {
        match self {
            BenchMsg::Ping => "ping",
            BenchMsg::Heartbeat => "heartbeat",
        }
    }
}

/// Benchmark timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchTimer {
    /// The leader's heartbeat period (W2).
    Heartbeat,
    /// A follower's election timeout (W2).
    Election,
}

impl Labeled for BenchTimer {
    fn label(&self) -> &'static str {
        match self {
            BenchTimer::Heartbeat => "heartbeat",
            BenchTimer::Election => "election",
        }
    }
}

/// A uniformly random node other than `me`, out of `nodes` (at least two).
#[inline]
fn other_node(rng: &mut SimRng, me: u32, nodes: u32) -> NodeId {
    let r = rng.below(u64::from(nodes - 1)) as u32;
    NodeId(if r >= me { r + 1 } else { r })
}

/// A W1/W3 mesh node: sends `initial` messages at the start, answers each delivery with one.
struct MeshNode {
    nodes: u32,
    initial: u64,
}

impl Node<Bench> for MeshNode {
    fn on_start(&mut self, ctx: &mut Ctx<'_, Bench>) {
        let me = ctx.id().0;
        for _ in 0..self.initial {
            let to = other_node(ctx.rng(), me, self.nodes);
            ctx.send(to, BenchMsg::Ping);
        }
    }

    #[inline]
    fn on_message(&mut self, ctx: &mut Ctx<'_, Bench>, _from: NodeId, _msg: BenchMsg) {
        let me = ctx.id().0;
        let to = other_node(ctx.rng(), me, self.nodes);
        ctx.send(to, BenchMsg::Ping);
    }
}

/// The W2 leader: a heartbeat to every follower each period.
struct Leader {
    followers: Vec<NodeId>,
}

impl Node<Bench> for Leader {
    fn on_start(&mut self, ctx: &mut Ctx<'_, Bench>) {
        ctx.set_timer(HEARTBEAT, BenchTimer::Heartbeat);
    }

    fn on_message(&mut self, _: &mut Ctx<'_, Bench>, _: NodeId, _: BenchMsg) {}

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Bench>, _: BenchTimer) {
        for &f in &self.followers {
            ctx.send(f, BenchMsg::Heartbeat);
        }
        ctx.set_timer(HEARTBEAT, BenchTimer::Heartbeat);
    }
}

/// A W2 follower: an election timer, reset on every heartbeat.
struct Follower {
    election: Option<TimerId>,
}

impl Follower {
    fn arm(&mut self, ctx: &mut Ctx<'_, Bench>) {
        let timeout = ELECTION_LO + ctx.rng().below(ELECTION_HI - ELECTION_LO + 1);
        self.election = Some(ctx.set_timer(Duration(timeout), BenchTimer::Election));
    }
}

impl Node<Bench> for Follower {
    fn on_start(&mut self, ctx: &mut Ctx<'_, Bench>) {
        self.arm(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Bench>, _: NodeId, _: BenchMsg) {
        if let Some(t) = self.election.take() {
            ctx.cancel_timer(t);
        }
        self.arm(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Bench>, _: BenchTimer) {
        // Never happens with these timings (heartbeats arrive well within the timeout); counted
        // so the unit test can say so.
        ctx.count("elections", 1);
        self.arm(ctx);
    }
}

fn network() -> NetworkConfig {
    let mut network = NetworkConfig::default();
    network.default.latency = DurationDist::Uniform {
        lo: Duration(LATENCY_LO),
        hi: Duration(LATENCY_HI),
    };
    network
}

/// The W1/W3 mesh: `nodes` nodes each sending `per_node` messages at the start, stopped after
/// exactly `deliveries` deliveries.
pub fn mesh(nodes: u32, per_node: u64, deliveries: u64, trace: TraceLevel) -> Simulation<Bench> {
    let pending = u64::from(nodes) * per_node;
    let limits = Limits {
        // The start events, then one event per delivery.
        max_events: u64::from(nodes) + deliveries,
        max_in_flight: usize::try_from(pending).unwrap_or(usize::MAX).max(1) * 2,
        ..Limits::default()
    };
    let mut b = SimBuilder::<Bench>::new(SEED)
        .duration(Duration::MAX)
        .network(network())
        .limits(limits)
        .trace_level(trace);
    for i in 0..nodes {
        b = b.node(
            format!("n{i}"),
            "mesh",
            "z",
            Clock::new(0, 0.0),
            Box::new(move || {
                Box::new(MeshNode {
                    nodes,
                    initial: per_node,
                })
            }),
        );
    }
    b.build().expect("the mesh configuration is valid")
}

/// The W2 cluster: a leader (node 0) and four followers, for `duration`.
pub fn heartbeat(duration: Duration) -> Simulation<Bench> {
    let mut b = SimBuilder::<Bench>::new(SEED)
        .duration(duration)
        .network(network())
        .trace_level(TraceLevel::Off);
    let followers: Vec<NodeId> = (1..HEARTBEAT_NODES).map(NodeId).collect();
    b = b.node(
        "leader",
        "raft",
        "z",
        Clock::new(0, 0.0),
        Box::new(move || {
            Box::new(Leader {
                followers: followers.clone(),
            })
        }),
    );
    for i in 1..HEARTBEAT_NODES {
        b = b.node(
            format!("f{i}"),
            "raft",
            "z",
            Clock::new(0, 0.0),
            Box::new(|| Box::new(Follower { election: None })),
        );
    }
    b.build().expect("the heartbeat configuration is valid")
}

/// The W4 scenario: five raft-kv replicas (default options: ReadIndex reads, snapshots every
/// 1,000 entries), four open-loop clients of 250 operations a second over five keys, 1–5 ms
/// links, the trace at `summary`; the clients are paused for the warm-up second and then run
/// for `run`.
pub fn raft_kv_scenario(run: Duration) -> String {
    let warmup_ms = RAFT_WARMUP.0 / 1_000_000;
    let end_ms = (RAFT_WARMUP.0 + run.0) / 1_000_000;
    format!(
        r#"name = "bench/raft-kv"
description = "W4: five raft-kv replicas serving 1,000 client operations per simulated second."
seed = {SEED}
duration = "{end_ms}ms"
trace = "summary"

[network]
latency = "uniform(1ms, 5ms)"

[[cluster]]
name = "kv"
model = "raft-kv"
nodes = 5

[[cluster]]
name = "c"
model = "kv-client"
nodes = 4
target = "kv"
rate = 250

# The clients wait while the replicas elect a leader.
[[faults]]
at = "0s"
pause = "c"

[[faults]]
at = "{warmup_ms}ms"
resume = "c"
"#
    )
}

/// The W4 simulation, built from [`raft_kv_scenario`] by the scenario parser.
pub fn raft_kv(run: Duration) -> Simulation<World> {
    let text = raft_kv_scenario(run);
    let scenario = Scenario::parse(std::path::Path::new("bench/raft-kv.toml"), &text)
        .expect("the W4 scenario is valid");
    scenario
        .build(&Overrides::default())
        .expect("the W4 scenario builds")
}

// ----- the baseline ----------------------------------------------------------------------------

/// What the baseline loop did.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BaselineRun {
    /// Deliveries made in the timed part.
    pub deliveries: u64,
    /// Wall-clock seconds of the timed part.
    pub wall_secs: f64,
    /// A value computed from every delivery, so the loop cannot be optimised away.
    pub checksum: u64,
}

impl BaselineRun {
    /// Deliveries per second.
    pub fn rate(&self) -> f64 {
        rate(self.deliveries, self.wall_secs)
    }
}

/// `SimRng::below`, written out over a bare `ChaCha8Rng`: uniform in `[0, n)`, unbiased
/// (Lemire's method, dividing only when the draw may be rejected).
#[inline(always)]
fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    if (m as u64) < n {
        let threshold = n.wrapping_neg() % n;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (m >> 64) as u64
}

/// The baseline: the W1/W3 mesh as a minimal hand-written loop. `nodes` nodes, `per_node`
/// messages each in flight, `deliveries` deliveries after the initial sends.
pub fn baseline(nodes: u32, per_node: u64, deliveries: u64) -> BaselineRun {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let span = LATENCY_HI - LATENCY_LO + 1;
    let others = u64::from(nodes - 1);
    let pending = usize::try_from(u64::from(nodes) * per_node).unwrap_or(usize::MAX);
    let mut heap: BinaryHeap<Reverse<(u64, u64, u32, u32)>> = BinaryHeap::with_capacity(pending);
    let mut seq = 0u64;
    for from in 0..nodes {
        for _ in 0..per_node {
            let r = below(&mut rng, others) as u32;
            let to = if r >= from { r + 1 } else { r };
            let at = LATENCY_LO + below(&mut rng, span);
            heap.push(Reverse((at, seq, from, to)));
            seq += 1;
        }
    }
    let mut checksum = 0u64;
    let start = wall_clock();
    for _ in 0..deliveries {
        let Some(Reverse((now, _, from, to))) = heap.pop() else {
            break;
        };
        checksum = checksum.wrapping_add(u64::from(from) ^ now);
        let r = below(&mut rng, others) as u32;
        let next = if r >= to { r + 1 } else { r };
        let at = now + LATENCY_LO + below(&mut rng, span);
        heap.push(Reverse((at, seq, to, next)));
        seq += 1;
    }
    let wall_secs = start.elapsed().as_secs_f64();
    BaselineRun {
        deliveries,
        wall_secs,
        checksum: std::hint::black_box(checksum),
    }
}

// ----- workloads and results -----------------------------------------------------------------

/// How much work each workload does, and how many times it is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Scale {
    /// Every count (deliveries, simulated time, pending messages) is divided by this.
    pub divisor: u64,
    /// Each measurement is taken this many times and the fastest kept (the machine's noise only
    /// ever slows a run down). The W3 baseline, which takes ten seconds, runs once.
    pub repeats: u32,
}

impl Scale {
    /// The figures the issue asks for, best of five.
    pub const FULL: Scale = Scale {
        divisor: 1,
        repeats: 5,
    };
    /// 100× less work, measured once: a smoke test (a second or two even in a debug build);
    /// its figures are only indicative.
    pub const QUICK: Scale = Scale {
        divisor: 100,
        repeats: 1,
    };

    fn count(self, n: u64) -> u64 {
        (n / self.divisor.max(1)).max(1)
    }

    fn raft_run(self) -> Duration {
        Duration(RAFT_RUN.0 / self.divisor.max(1))
    }

    fn heartbeat_run(self) -> Duration {
        // A whole number of heartbeat periods, at least one.
        let periods = (HEARTBEAT_RUN.0 / HEARTBEAT.0 / self.divisor.max(1)).max(1);
        Duration(periods * HEARTBEAT.0)
    }
}

/// The benchmark workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// W1 with N = 5, trace off.
    MeshSmall,
    /// W1 with N = 100, trace off.
    MeshLarge,
    /// W1 with N = 5, full trace kept.
    MeshFullTrace,
    /// W2: heartbeats and election timers, one simulated hour.
    Heartbeat,
    /// W3: the N = 100 mesh with 1,000,000 messages pending.
    DeepQueue,
    /// W4: five raft-kv replicas, 1,000 client operations per simulated second.
    RaftKv,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 6] = [
        Workload::MeshSmall,
        Workload::MeshLarge,
        Workload::MeshFullTrace,
        Workload::Heartbeat,
        Workload::DeepQueue,
        Workload::RaftKv,
    ];

    /// Short id for JSON (`w1-n5`, …).
    pub fn id(self) -> &'static str {
        match self {
            Workload::MeshSmall => "w1-n5",
            Workload::MeshLarge => "w1-n100",
            Workload::MeshFullTrace => "w1-n5-full-trace",
            Workload::Heartbeat => "w2-heartbeat",
            Workload::DeepQueue => "w3-deep-queue",
            Workload::RaftKv => "w4-raft-kv",
        }
    }

    /// Name for the table.
    pub fn name(self) -> &'static str {
        match self {
            Workload::MeshSmall | Workload::MeshFullTrace => "W1 mesh N=5",
            Workload::MeshLarge => "W1 mesh N=100",
            Workload::Heartbeat => "W2 heartbeat 5 nodes",
            Workload::DeepQueue => "W3 deep queue N=100",
            Workload::RaftKv => "W4 raft-kv 1,000 ops/s",
        }
    }

    /// The trace level it runs at.
    pub fn trace_level(self) -> TraceLevel {
        match self {
            Workload::MeshFullTrace => TraceLevel::Full,
            Workload::RaftKv => TraceLevel::Summary,
            _ => TraceLevel::Off,
        }
    }

    /// The mesh shape (nodes, messages each node keeps in flight), for mesh workloads.
    fn mesh_shape(self, scale: Scale) -> Option<(u32, u64)> {
        match self {
            Workload::MeshSmall | Workload::MeshFullTrace => Some((5, 1)),
            Workload::MeshLarge => Some((100, 1)),
            Workload::DeepQueue => Some((DEEP_NODES, scale.count(DEEP_PER_NODE))),
            Workload::Heartbeat | Workload::RaftKv => None,
        }
    }

    /// The target, in words.
    pub fn target(self) -> &'static str {
        match self {
            Workload::MeshSmall | Workload::MeshLarge => ">= 0.5x baseline",
            Workload::MeshFullTrace => ">= 0.25x baseline",
            Workload::Heartbeat => "-",
            Workload::DeepQueue => ">= 3 M/s, <= 48 B/pending",
            Workload::RaftKv => ">= 500x real time",
        }
    }

    /// Whether simulated time is what the workload is about (its real-time ratio is shown).
    fn timed(self) -> bool {
        matches!(self, Workload::Heartbeat | Workload::RaftKv)
    }

    /// Builds this workload's simulation at `scale` (every workload but W4).
    fn build(self, scale: Scale) -> Simulation<Bench> {
        match self.mesh_shape(scale) {
            Some((nodes, per_node)) => {
                mesh(nodes, per_node, scale.count(DELIVERIES), self.trace_level())
            }
            None => heartbeat(scale.heartbeat_run()),
        }
    }
}

/// One workload's figures.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    /// Short id (`w1-n5`, …).
    pub id: &'static str,
    /// Name for the table.
    pub name: &'static str,
    /// Trace level: `off` or `full`.
    pub trace: TraceLevel,
    /// Nodes.
    pub nodes: u32,
    /// Messages kept in flight (mesh workloads; 0 for W2).
    pub in_flight: u64,
    /// Events the engine handled in the timed part (deliveries and timers, including
    /// cancelled timers skipped).
    pub events: u64,
    /// Messages delivered in the timed part.
    pub deliveries: u64,
    /// Simulated seconds covered.
    pub simulated_secs: f64,
    /// Wall-clock seconds of the timed part (the fastest of the repeats).
    pub wall_secs: f64,
    /// Events per wall-clock second.
    pub events_per_sec: f64,
    /// Simulated seconds per wall-clock second (W2, W4).
    pub real_time_ratio: Option<f64>,
    /// Client operations completed — answered ok or fail (W4).
    pub ops_completed: Option<u64>,
    /// The linearizability verdict on the clients' history (W4).
    pub linearizability: Option<String>,
    /// Wall-clock seconds the linearizability check took, measured apart from the run (W4).
    pub check_secs: Option<f64>,
    /// The baseline loop's deliveries per second on the same work (mesh workloads).
    pub baseline_per_sec: Option<f64>,
    /// `events_per_sec / baseline_per_sec`.
    pub ratio: Option<f64>,
    /// The target, in words.
    pub target: &'static str,
    /// Whether the target was met (informational; `None` when there is none).
    pub pass: Option<bool>,
    /// Engine memory for pending work (queue and timers, allocated) per pending event, at the
    /// end of the run.
    pub bytes_per_pending: f64,
    /// The memory figures behind `bytes_per_pending`.
    pub memory: MemoryStats,
    /// The run's trace hash (the same on every machine).
    pub trace_hash: String,
}

/// A whole benchmark run: the scale and one result per workload.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The scale it ran at.
    pub scale: Scale,
    /// One result per workload, in [`Workload::ALL`] order.
    pub results: Vec<BenchResult>,
}

fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

/// The wall clock, for timing benchmarks only.
#[allow(clippy::disallowed_methods)] // reason: benchmarks time themselves; no run reads this
fn wall_clock() -> Instant {
    Instant::now()
}

/// One timed engine run, summarised (the simulation itself is dropped straight away: a
/// full trace holds a gigabyte).
struct EngineRun {
    events: u64,
    deliveries: u64,
    wall_secs: f64,
    nodes: usize,
    simulated_secs: f64,
    memory: MemoryStats,
    trace_hash: String,
}

fn run_engine(w: Workload, scale: Scale) -> EngineRun {
    if w == Workload::RaftKv {
        return run_raft_kv(scale).0;
    }
    let mut sim = w.build(scale);
    // Setup, not timed: the start events at time 0 (the initial sends).
    sim.run_until(SimTime::ZERO);
    let events_before = sim.events();
    let delivered_before = sim.message_stats().delivered;
    let start = wall_clock();
    sim.run();
    let wall_secs = start.elapsed().as_secs_f64();
    EngineRun {
        events: sim.events() - events_before,
        deliveries: sim.message_stats().delivered - delivered_before,
        wall_secs,
        nodes: sim.node_count(),
        simulated_secs: sim.now().as_secs_f64(),
        memory: sim.memory_stats(),
        trace_hash: sim.trace().hash().to_string(),
    }
}

/// Times one W4 run and returns it with its finished simulation (for the history).
fn run_raft_kv(scale: Scale) -> (EngineRun, Simulation<World>) {
    let mut sim = raft_kv(scale.raft_run());
    // Setup, not timed: the start events at time 0.
    sim.run_until(SimTime::ZERO);
    let events_before = sim.events();
    let delivered_before = sim.message_stats().delivered;
    let start = wall_clock();
    sim.run();
    let wall_secs = start.elapsed().as_secs_f64();
    let run = EngineRun {
        events: sim.events() - events_before,
        deliveries: sim.message_stats().delivered - delivered_before,
        wall_secs,
        nodes: sim.node_count(),
        simulated_secs: sim.now().as_secs_f64(),
        memory: sim.memory_stats(),
        trace_hash: sim.trace().hash().to_string(),
    };
    (run, sim)
}

/// W4's client operations answered (ok or fail), its linearizability verdict, and the
/// wall-clock seconds the check took.
fn check_raft_kv(sim: &Simulation<World>) -> (u64, String, f64) {
    let nodes: Vec<NodeId> = (0..sim.node_count() as u32).map(NodeId).collect();
    let counts = sim.history().counts(&nodes);
    let start = wall_clock();
    let checked = crate::run::check_linearizability(sim);
    let secs = start.elapsed().as_secs_f64();
    let verdict = checked.map_or_else(|| "nothing to check".to_owned(), |(v, _)| v.to_string());
    (counts.ok + counts.fail, verdict, secs)
}

/// How many times W4 is measured for each repeat of the others: one W4 run takes a tenth of a
/// second, short enough that a hiccup of the machine can hide its speed in five tries.
const RAFT_KV_REPEAT_FACTOR: u32 = 3;

/// Runs one workload at `scale` and measures it (and, for mesh workloads, the baseline loop
/// on the same work), keeping the fastest of `scale.repeats` runs of each (W4:
/// `RAFT_KV_REPEAT_FACTOR` times as many).
pub fn run_workload(w: Workload, scale: Scale) -> BenchResult {
    let shape = w.mesh_shape(scale);
    let mut best: Option<EngineRun> = None;
    let mut best_baseline: Option<BaselineRun> = None;
    let mut checked: Option<(u64, String, f64)> = None;
    let repeats = if w == Workload::RaftKv {
        scale.repeats.max(1) * RAFT_KV_REPEAT_FACTOR
    } else {
        scale.repeats.max(1)
    };
    for rep in 0..repeats {
        if let Some((nodes, per_node)) = shape
            && (rep == 0 || w != Workload::DeepQueue)
        {
            let b = baseline(nodes, per_node, scale.count(DELIVERIES));
            if best_baseline.is_none_or(|x| b.wall_secs < x.wall_secs) {
                best_baseline = Some(b);
            }
        }
        let run = if w == Workload::RaftKv {
            // Every repeat is the same run: check the history of the last one.
            let (run, sim) = run_raft_kv(scale);
            if rep + 1 == repeats {
                checked = Some(check_raft_kv(&sim));
            }
            run
        } else {
            run_engine(w, scale)
        };
        if best.as_ref().is_none_or(|x| run.wall_secs < x.wall_secs) {
            best = Some(run);
        }
    }
    let Some(run) = best else {
        unreachable!("at least one repeat runs")
    };
    let events_per_sec = rate(run.events, run.wall_secs);
    let baseline_per_sec = best_baseline.map(|b| b.rate());
    let ratio = baseline_per_sec.map(|b| if b > 0.0 { events_per_sec / b } else { 0.0 });
    let memory = run.memory;
    let bytes_per_pending = memory.bytes_per_pending();
    let real_time_ratio = w.timed().then(|| {
        if run.wall_secs > 0.0 {
            run.simulated_secs / run.wall_secs
        } else {
            0.0
        }
    });
    let pass = match w {
        Workload::MeshSmall | Workload::MeshLarge => ratio.map(|r| r >= TARGET_RATIO_OFF),
        Workload::MeshFullTrace => ratio.map(|r| r >= TARGET_RATIO_FULL),
        Workload::Heartbeat => None,
        Workload::DeepQueue => Some(
            events_per_sec >= TARGET_DEEP_RATE && bytes_per_pending <= TARGET_BYTES_PER_PENDING,
        ),
        Workload::RaftKv => real_time_ratio.map(|r| r >= TARGET_REAL_TIME),
    };
    let (ops_completed, linearizability, check_secs) = match checked {
        Some((ops, verdict, secs)) => (Some(ops), Some(verdict), Some(secs)),
        None => (None, None, None),
    };
    BenchResult {
        id: w.id(),
        name: w.name(),
        trace: w.trace_level(),
        nodes: u32::try_from(run.nodes).unwrap_or(u32::MAX),
        in_flight: shape.map_or(0, |(n, per)| u64::from(n) * per),
        events: run.events,
        deliveries: run.deliveries,
        simulated_secs: run.simulated_secs,
        wall_secs: run.wall_secs,
        events_per_sec,
        real_time_ratio,
        ops_completed,
        linearizability,
        check_secs,
        baseline_per_sec,
        ratio,
        target: w.target(),
        pass,
        bytes_per_pending,
        memory,
        trace_hash: run.trace_hash,
    }
}

/// Runs every workload in report order, calling `progress` before each.
pub fn run_all(scale: Scale, mut progress: impl FnMut(Workload)) -> Report {
    let results = Workload::ALL
        .iter()
        .map(|&w| {
            progress(w);
            run_workload(w, scale)
        })
        .collect();
    Report { scale, results }
}

/// Queues shallower than this show no bytes-per-pending figure in the table: fixed tables
/// dominate it there.
const DEEP_ENOUGH: usize = 10_000;

/// The report as an aligned plain-text table (header, rule, one row per workload, notes).
pub fn table(report: &Report) -> String {
    let header = [
        "workload",
        "trace",
        "pending",
        "events",
        "wall s",
        "M ev/s",
        "x real",
        "baseline M/s",
        "ratio",
        "target",
        "result",
        "B/pending",
    ];
    // Columns holding numbers are right-aligned.
    let right = [
        false, false, true, true, true, true, true, true, true, false, false, true,
    ];
    let rows: Vec<[String; 12]> = report
        .results
        .iter()
        .map(|r| {
            [
                r.name.to_owned(),
                match r.trace {
                    TraceLevel::Off => "off",
                    TraceLevel::Summary => "summary",
                    TraceLevel::Full => "full",
                }
                .to_owned(),
                if r.in_flight > 0 {
                    thousands(r.in_flight)
                } else {
                    "-".to_owned()
                },
                thousands(r.events),
                format!("{:.3}", r.wall_secs),
                format!("{:.2}", r.events_per_sec / 1e6),
                r.real_time_ratio
                    .map_or("-".to_owned(), |x| thousands(x.round() as u64)),
                r.baseline_per_sec
                    .map_or("-".to_owned(), |b| format!("{:.2}", b / 1e6)),
                r.ratio.map_or("-".to_owned(), |x| format!("{x:.3}")),
                r.target.to_owned(),
                match r.pass {
                    Some(true) => "pass",
                    Some(false) => "miss",
                    None => "-",
                }
                .to_owned(),
                if r.memory.pending_events >= DEEP_ENOUGH {
                    format!("{:.1}", r.bytes_per_pending)
                } else {
                    "-".to_owned()
                },
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = widths[i] - cell.chars().count();
            if right[i] {
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = String::new();
    let head = line(&header);
    let _ = writeln!(out, "{head}");
    let _ = writeln!(out, "{}", "-".repeat(head.chars().count()));
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        let _ = writeln!(out, "{}", line(&cells));
    }
    let _ = writeln!(
        out,
        "\npending: messages kept in flight. events: handled after setup (W1, W3: deliveries; W2, \
         W4 also count timers). x real: simulated seconds per wall-clock second. Fastest of {} \
         run(s) (W4, a tenth of a second each: {}){}.\nbaseline: a BinaryHeap + ChaCha8 loop doing the same deliveries. B/pending: \
         engine memory (queue with the messages in it, timers; allocated) per pending event, \
         shown for deep queues. Targets are informational.",
        report.scale.repeats.max(1),
        report.scale.repeats.max(1) * RAFT_KV_REPEAT_FACTOR,
        if report.scale.divisor > 1 {
            format!(", every count divided by {}", report.scale.divisor)
        } else {
            String::new()
        },
    );
    for r in &report.results {
        if let (Some(ops), Some(verdict), Some(secs)) =
            (r.ops_completed, &r.linearizability, r.check_secs)
        {
            let active = (r.simulated_secs - RAFT_WARMUP.as_secs_f64()).max(f64::MIN_POSITIVE);
            let _ = writeln!(
                out,
                "{}: {} client operations completed in the {active:.1} simulated s after the \
                 warm-up ({:.0} per s); linearizability check of the history: {verdict}, \
                 {secs:.3} s wall (not included above).",
                r.name,
                thousands(ops),
                ops as f64 / active,
            );
        }
    }
    out
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny scale: 10,000 deliveries, 1,000 pending in W3, 3.6 simulated seconds of W2.
    const TINY: Scale = Scale {
        divisor: 1_000,
        repeats: 1,
    };

    #[test]
    fn mesh_workloads_deliver_exactly_what_they_ask_for() {
        for w in [
            Workload::MeshSmall,
            Workload::MeshLarge,
            Workload::MeshFullTrace,
            Workload::DeepQueue,
        ] {
            let r = run_workload(w, TINY);
            let (nodes, per_node) = w.mesh_shape(TINY).expect("a mesh");
            assert_eq!(r.deliveries, 10_000, "{}", r.id);
            assert_eq!(
                r.events, r.deliveries,
                "{}: only deliveries after setup",
                r.id
            );
            assert_eq!(r.in_flight, u64::from(nodes) * per_node, "{}", r.id);
            // Every delivery was answered, so the depth never changed.
            assert_eq!(r.memory.in_flight as u64, r.in_flight, "{}", r.id);
            assert_eq!(r.memory.pending_events as u64, r.in_flight, "{}", r.id);
            assert!(r.ratio.is_some() && r.pass.is_some(), "{}", r.id);
        }
        assert_eq!(
            Workload::DeepQueue.mesh_shape(Scale::FULL),
            Some((100, 10_000)),
            "W3 keeps 1,000,000 pending at full scale"
        );
    }

    #[test]
    fn mesh_sends_one_message_per_delivery_and_keeps_the_trace_it_is_asked_to() {
        let mut sim = mesh(5, 1, 1_000, TraceLevel::Full);
        assert_eq!(sim.run(), sim_core::Outcome::EventLimit);
        let stats = sim.message_stats();
        assert_eq!(stats.delivered, 1_000);
        assert_eq!(stats.sent, 1_005);
        assert_eq!(stats.dropped_total(), 0);
        // Five starts, 1,005 sends, 1,000 deliveries.
        assert_eq!(sim.trace().events().len(), 2_010);
        assert_eq!(sim.trace().count(), 2_010);
    }

    #[test]
    fn heartbeat_workload_resets_timers_and_never_elects() {
        let r = run_workload(Workload::Heartbeat, TINY);
        // 3.6 s of 50 ms periods: 72 rounds of four heartbeats; the last round is sent at the
        // very end and arrives after it.
        assert_eq!(r.deliveries, 4 * 71, "{r:?}");
        assert!(r.pass.is_none() && r.ratio.is_none());

        let mut sim = heartbeat(TINY.heartbeat_run());
        assert_eq!(sim.run(), sim_core::Outcome::Completed);
        assert_eq!(sim.node_stats(NodeId(0)).timers, 72);
        assert_eq!(sim.message_stats().sent, 4 * 72);
        for f in 1..HEARTBEAT_NODES {
            assert_eq!(sim.node_stats(NodeId(f)).timers, 0, "no election fired");
            assert_eq!(sim.metrics().counter(NodeId(f), "elections"), 0);
        }
    }

    #[test]
    fn raft_kv_workload_serves_a_thousand_operations_per_second_linearizably() {
        let scale = Scale {
            divisor: 30,
            repeats: 1,
        };
        let r = run_workload(Workload::RaftKv, scale);
        // One warm-up second, then two.
        assert_eq!(r.simulated_secs, 3.0, "{r:?}");
        let ops = r.ops_completed.expect("W4 counts operations");
        assert!((1_800..=2_200).contains(&ops), "{ops} operations in 2 s");
        assert_eq!(r.linearizability.as_deref(), Some("linearizable"));
        assert!(r.check_secs.is_some() && r.real_time_ratio.is_some());
        assert!(r.pass.is_some());
        let sim = raft_kv(scale.raft_run());
        assert_eq!(sim.trace().level(), TraceLevel::Summary);
        assert_eq!(sim.node_count(), 9);
    }

    #[test]
    fn baseline_does_the_same_amount_of_work() {
        let b = baseline(5, 1, 1_000);
        assert_eq!(b.deliveries, 1_000);
        assert_eq!(b.checksum, baseline(5, 1, 1_000).checksum, "deterministic");
        assert!(below(&mut ChaCha8Rng::seed_from_u64(1), 7) < 7);
    }

    #[test]
    fn repeats_keep_the_same_run() {
        let once = run_workload(Workload::MeshSmall, TINY);
        let thrice = run_workload(Workload::MeshSmall, Scale { repeats: 3, ..TINY });
        assert_eq!(once.trace_hash, thrice.trace_hash);
        assert_eq!(once.events, thrice.events);
    }

    #[test]
    fn table_has_a_row_per_result() {
        let scale = Scale {
            divisor: 100_000,
            repeats: 1,
        };
        let results = [Workload::MeshSmall, Workload::Heartbeat, Workload::RaftKv]
            .iter()
            .map(|&w| run_workload(w, scale))
            .collect();
        let text = table(&Report { scale, results });
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("workload"), "{text}");
        assert!(lines[2].starts_with("W1 mesh N=5"), "{text}");
        assert!(lines[3].starts_with("W2 heartbeat"), "{text}");
        assert!(lines[4].starts_with("W4 raft-kv"), "{text}");
        assert!(lines[5].is_empty(), "{text}");
        assert!(
            text.contains("linearizability check of the history: linearizable"),
            "{text}"
        );
    }
}
