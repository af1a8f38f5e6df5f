//! The engine: a builder, the event loop, and the state every node acts on through `Ctx`.
//!
//! A run is single-threaded and deterministic: events pop in (time, insertion order) order
//! from a monotone queue; every random draw comes from a stream derived from the seed; every
//! effect is recorded in the trace.

use std::collections::{BTreeMap, VecDeque};

use crate::clock::{Clock, LocalTime, MonoTime};
use crate::fault::{FaultAction, NemesisConfig, NemesisKind, ScheduledFault};
use crate::history::{History, OpCall, OpId};
use crate::invariant::{Invariant, engine};
use crate::metrics::Metrics;
use crate::network::{Network, NetworkConfig, NodeInfo, Route};
use crate::node::{Ctx, Labeled, Node, NodeId, Protocol, TimerId};
use crate::queue::EventQueue;
use crate::rng::{SimRng, Stream};
use crate::storage::Storage;
use crate::testing::{Effect, Recorder};
use crate::time::{Duration, SimTime};
use crate::trace::{DropReason, OpPhase, ShortText, Trace, TraceKind, TraceLevel};

/// Builds a fresh node object: called at the start and at every restart.
pub type NodeFactory<P> = Box<dyn Fn() -> Box<dyn Node<P>>>;

/// Bounds on a run. Reaching one is a reported outcome, never a hang.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most events the loop handles before it stops (default 100,000,000).
    pub max_events: u64,
    /// Most messages in flight at once; further sends are dropped as `overflow` (default 1,000,000).
    pub max_in_flight: usize,
    /// Most timers pending at once; reaching it stops the run (default 1,000,000).
    pub max_timers: usize,
    /// Most arrivals queued at one paused node; further ones are dropped as `overflow`
    /// (default 100,000).
    pub max_held: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: 100_000_000,
            max_in_flight: 1_000_000,
            max_timers: 1_000_000,
            max_held: 100_000,
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Simulated time reached the scenario's duration.
    Completed,
    /// Nothing was left to happen before the duration.
    Quiescent,
    /// The event limit was reached.
    EventLimit,
    /// The pending-timer limit was reached.
    TimerLimit,
}

impl Outcome {
    /// Whether a bound cut the run short.
    pub fn hit_bound(self) -> bool {
        matches!(self, Outcome::EventLimit | Outcome::TimerLimit)
    }
}

/// Whether a node is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeStatus {
    /// Handling events.
    Up,
    /// Stalled: state kept, arrivals queued.
    Paused,
    /// Crashed: no state, arrivals dropped.
    Down,
}

/// Per-node tallies for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NodeStats {
    /// Messages the node sent.
    pub sent: u64,
    /// Messages delivered to the node.
    pub received: u64,
    /// Timers that fired at the node.
    pub timers: u64,
    /// Times it crashed.
    pub crashes: u64,
    /// Times it restarted.
    pub restarts: u64,
}

/// Message tallies for the whole run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MessageStats {
    /// Messages handed to the network (duplicates not counted).
    pub sent: u64,
    /// Messages handled by their receiver (duplicates included).
    pub delivered: u64,
    /// Copies the network added.
    pub duplicated: u64,
    /// Messages lost, by [`DropReason`] in [`DropReason::ALL`] order.
    pub dropped: [u64; 5],
}

impl MessageStats {
    /// Every dropped message, whatever the reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }

    /// Messages dropped for `reason`.
    pub fn dropped_for(&self, reason: DropReason) -> u64 {
        self.dropped[reason as usize]
    }
}

/// What the engine holds in memory for pending work: the event queue (messages in flight
/// travel inside their delivery events) and the timer slab. Sizes are allocated capacity, so
/// they include growth headroom.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MemoryStats {
    /// Events in the queue (including cancelled timers not yet skipped).
    pub pending_events: usize,
    /// Messages in flight (queued, or held at a paused node).
    pub in_flight: usize,
    /// Bytes of one queue entry (time, sequence number, event with its message).
    pub queue_entry_bytes: usize,
    /// Bytes the queue has allocated.
    pub queue_bytes: usize,
    /// Bytes the timer slab and its free list have allocated.
    pub timer_bytes: usize,
}

impl MemoryStats {
    /// All of it: queue and timers.
    pub fn total_bytes(&self) -> usize {
        self.queue_bytes + self.timer_bytes
    }

    /// Allocated bytes per pending event (0 when nothing is pending).
    pub fn bytes_per_pending(&self) -> f64 {
        if self.pending_events == 0 {
            0.0
        } else {
            self.total_bytes() as f64 / self.pending_events as f64
        }
    }
}

/// A broken invariant a model reported.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// When.
    pub time: SimTime,
    /// Which node noticed.
    pub node: NodeId,
    /// Which invariant broke.
    pub invariant: Invariant,
    /// What was seen, without the invariant's title (see [`Violation::text`]).
    pub detail: String,
}

impl Violation {
    /// The report as the trace records it: the invariant's title, a colon, the detail.
    pub fn text(&self) -> String {
        format!("{}: {}", self.invariant.title, self.detail)
    }
}

/// A queued event. A message travels inside its delivery event: the queue entry is all the
/// memory a message in flight takes, and delivering it reads nothing else.
#[derive(Clone, Debug)]
enum Event<M> {
    Start(u32),
    Deliver {
        from: u32,
        to: u32,
        msg: M,
    },
    /// A timer slot. A slot goes back to the free list only once its queue entry has popped, so
    /// the entry needs no generation to tell a cancelled timer from a later one in the slot.
    Timer(u32),
    Fault(u32),
    Nemesis,
}

struct TimerSlot<T> {
    generation: u32,
    node: u32,
    incarnation: u32,
    timer: Option<T>,
    /// True time the timer fires.
    due: u64,
    /// True time of the slot's one queue entry: `due`, or earlier if a reset moved `due` later
    /// (the entry then re-queues itself at `due` when it pops).
    queued: u64,
}

struct NodeState<P: Protocol> {
    info: NodeInfo,
    status: NodeStatus,
    incarnation: u32,
    clock: Clock,
    rng: SimRng,
    storage: Storage<P::Durable>,
    held: VecDeque<(Event<P::Msg>, u64)>,
    annotations: BTreeMap<&'static str, String>,
    stats: NodeStats,
}

/// Everything but the node objects: what a [`Ctx`] reaches.
pub struct Core<P: Protocol> {
    pub(crate) now: SimTime,
    queue: EventQueue<Event<P::Msg>>,
    /// Messages in flight (queued for delivery or held at a paused node).
    in_flight: usize,
    timers: Vec<TimerSlot<P::Timer>>,
    free_timers: Vec<u32>,
    pending_timers: usize,
    nodes: Vec<NodeState<P>>,
    network: Network,
    trace: Trace,
    pub(crate) metrics: Metrics,
    history: History,
    limits: Limits,
    msg_stats: MessageStats,
    faults: Vec<ScheduledFault>,
    faults_applied: u64,
    violations: Vec<Violation>,
    timer_limit_hit: bool,
    nemesis: Option<NemesisConfig>,
    fault_rng: SimRng,
    /// The effects of the node a test harness examines (see [`crate::testing`]); `None` in a
    /// normal run, where [`Ctx`] then copies nothing.
    recorder: Option<Box<Recorder<P>>>,
}

/// Configures a simulation. Every setter documents its default; `build` validates.
pub struct SimBuilder<P: Protocol> {
    seed: u64,
    duration: Duration,
    network: NetworkConfig,
    limits: Limits,
    trace_level: TraceLevel,
    nodes: Vec<(NodeInfo, Clock, NodeFactory<P>)>,
    faults: Vec<ScheduledFault>,
    nemesis: Option<NemesisConfig>,
}

/// An error in a simulation's configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    /// Two nodes share a name.
    #[error("two nodes are named \"{0}\"")]
    DuplicateNode(String),
    /// A fault names a node id that does not exist.
    #[error("fault at {at} names node #{node}, but there are only {count} nodes")]
    UnknownNode {
        /// When the fault happens.
        at: SimTime,
        /// The id given.
        node: u32,
        /// How many nodes there are.
        count: usize,
    },
    /// The run has no nodes.
    #[error("a simulation needs at least one node")]
    NoNodes,
}

impl<P: Protocol> SimBuilder<P> {
    /// A run with `seed`, 60 s long, a 1 ms lossless network, default limits, summary trace.
    pub fn new(seed: u64) -> Self {
        SimBuilder {
            seed,
            duration: Duration::from_secs(60),
            network: NetworkConfig::default(),
            limits: Limits::default(),
            trace_level: TraceLevel::Summary,
            nodes: Vec::new(),
            faults: Vec::new(),
            nemesis: None,
        }
    }

    /// How long the run lasts in simulated time (default 60 s).
    pub fn duration(mut self, d: Duration) -> Self {
        self.duration = d;
        self
    }

    /// The network (default: 1 ms constant latency, no loss, no duplication).
    pub fn network(mut self, config: NetworkConfig) -> Self {
        self.network = config;
        self
    }

    /// Bounds on the run (default [`Limits::default`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How much trace to keep (default summary). The hash is the same at every level.
    pub fn trace_level(mut self, level: TraceLevel) -> Self {
        self.trace_level = level;
        self
    }

    /// Adds a node; ids are given in the order nodes are added. `clock` is its initial clock.
    pub fn node(
        mut self,
        name: impl Into<String>,
        cluster: impl Into<String>,
        zone: impl Into<String>,
        clock: Clock,
        factory: NodeFactory<P>,
    ) -> Self {
        let id = NodeId(self.nodes.len() as u32);
        let info = NodeInfo {
            id,
            name: name.into(),
            cluster: cluster.into(),
            zone: zone.into(),
        };
        self.nodes.push((info, clock, factory));
        self
    }

    /// Schedules a fault (faults at the same time apply in the order given).
    pub fn fault(mut self, at: SimTime, action: FaultAction) -> Self {
        self.faults.push(ScheduledFault { at, action });
        self
    }

    /// Turns on the random nemesis (default off).
    pub fn nemesis(mut self, config: NemesisConfig) -> Self {
        self.nemesis = Some(config);
        self
    }

    /// Validates the configuration and builds the simulation.
    pub fn build(self) -> Result<Simulation<P>, BuildError> {
        if self.nodes.is_empty() {
            return Err(BuildError::NoNodes);
        }
        let mut names: Vec<&str> = self.nodes.iter().map(|(i, _, _)| i.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(BuildError::DuplicateNode(w[0].to_owned()));
        }
        let count = self.nodes.len();
        for f in &self.faults {
            let mut ids: Vec<NodeId> = Vec::new();
            match &f.action {
                FaultAction::Partition(groups) => ids.extend(groups.iter().flatten()),
                FaultAction::Block { from, to } => ids.extend(from.iter().chain(to)),
                other => ids.extend(other.node()),
            }
            if let Some(bad) = ids.iter().find(|n| n.index() >= count) {
                return Err(BuildError::UnknownNode {
                    at: f.at,
                    node: bad.0,
                    count,
                });
            }
        }
        let nemesis_targets = self.nemesis.iter().flat_map(|n| n.targets.iter());
        if let Some(bad) = nemesis_targets.clone().find(|n| n.index() >= count) {
            return Err(BuildError::UnknownNode {
                at: self.nemesis.as_ref().map_or(SimTime::ZERO, |n| n.start),
                node: bad.0,
                count,
            });
        }
        let infos: Vec<NodeInfo> = self.nodes.iter().map(|(i, _, _)| i.clone()).collect();
        let network = Network::new(
            &self.network,
            &infos,
            SimRng::new(self.seed, Stream::Network),
        );
        let mut factories = Vec::with_capacity(count);
        let mut states = Vec::with_capacity(count);
        for (info, clock, factory) in self.nodes {
            states.push(NodeState {
                rng: SimRng::new(self.seed, Stream::Node(info.id.0)),
                info,
                status: NodeStatus::Down,
                incarnation: 0,
                clock,
                storage: Storage::default(),
                held: VecDeque::new(),
                annotations: BTreeMap::new(),
                stats: NodeStats::default(),
            });
            factories.push(factory);
        }
        let mut queue = EventQueue::with_capacity(count * 4);
        for i in 0..count {
            queue.push(0, Event::Start(i as u32));
        }
        let end = SimTime::ZERO + self.duration;
        let faults = self.faults;
        for (i, f) in faults.iter().enumerate() {
            queue.push(f.at.0, Event::Fault(i as u32));
        }
        let mut fault_rng = SimRng::new(self.seed, Stream::Faults);
        if let Some(n) = self
            .nemesis
            .as_ref()
            .filter(|n| !n.kinds.is_empty() && !n.targets.is_empty())
        {
            let first = n.start + n.interval.sample(&mut fault_rng);
            queue.push(first.0, Event::Nemesis);
        }
        Ok(Simulation {
            seed: self.seed,
            end,
            nodes: (0..count).map(|_| None).collect(),
            factories,
            events: 0,
            outcome: None,
            applied_faults: Vec::new(),
            core: Core {
                now: SimTime::ZERO,
                queue,
                in_flight: 0,
                timers: Vec::new(),
                free_timers: Vec::new(),
                pending_timers: 0,
                nodes: states,
                network,
                trace: Trace::new(self.trace_level),
                metrics: Metrics::default(),
                history: History::default(),
                limits: self.limits,
                msg_stats: MessageStats::default(),
                faults,
                faults_applied: 0,
                violations: Vec::new(),
                timer_limit_hit: false,
                nemesis: self.nemesis,
                fault_rng,
                recorder: None,
            },
        })
    }
}

/// A configured run: step it, or run it to the end, then read its results.
pub struct Simulation<P: Protocol> {
    seed: u64,
    end: SimTime,
    nodes: Vec<Option<Box<dyn Node<P>>>>,
    factories: Vec<NodeFactory<P>>,
    events: u64,
    outcome: Option<Outcome>,
    core: Core<P>,
    /// Every fault applied, in order, with its time (scheduled, nemesis, automatic ends).
    applied_faults: Vec<ScheduledFault>,
}

impl<P: Protocol> Simulation<P> {
    /// Runs to the end (the duration, quiescence, or a bound) and returns how it ended.
    pub fn run(&mut self) -> Outcome {
        while self.step() {}
        self.outcome.unwrap_or(Outcome::Completed)
    }

    /// Runs every event up to and including true time `until` (to the end if `until` is at or
    /// past it). Returns false once the run has ended.
    pub fn run_until(&mut self, until: SimTime) -> bool {
        if until >= self.end {
            while self.step() {}
            return false;
        }
        while self.outcome.is_none() && self.core.queue.peek_time().is_some_and(|t| t <= until.0) {
            self.step();
        }
        if self.outcome.is_none() {
            self.core.now = self.core.now.max(until);
        }
        self.outcome.is_none()
    }

    /// Handles the next event. Returns false once the run has ended.
    pub fn step(&mut self) -> bool {
        if self.outcome.is_some() {
            return false;
        }
        if self.events >= self.core.limits.max_events {
            return self.finish(Outcome::EventLimit);
        }
        if self.core.timer_limit_hit {
            return self.finish(Outcome::TimerLimit);
        }
        let (time, seq, event) = match self.core.queue.pop_with_seq_until(self.end.0) {
            Ok(next) => next,
            Err(true) => {
                self.core.now = self.end;
                return self.finish(Outcome::Completed);
            }
            Err(false) => return self.finish(Outcome::Quiescent),
        };
        self.core.now = SimTime(time);
        self.events += 1;
        self.dispatch(event, seq);
        true
    }

    fn finish(&mut self, outcome: Outcome) -> bool {
        if outcome == Outcome::Completed {
            self.core.now = self.end;
        }
        self.outcome = Some(outcome);
        false
    }

    fn dispatch(&mut self, event: Event<P::Msg>, seq: u64) {
        match event {
            Event::Start(i) => self.start_node(NodeId(i)),
            Event::Deliver { from, to, msg } => self.deliver(NodeId(from), NodeId(to), msg, seq),
            Event::Timer(slot) => self.fire_timer(slot, seq),
            Event::Fault(i) => {
                if let Some(f) = self.core.faults.get(i as usize) {
                    let action = f.action.clone();
                    self.apply(action);
                }
            }
            Event::Nemesis => self.nemesis_strike(),
        }
    }

    fn start_node(&mut self, node: NodeId) {
        self.core.record(TraceKind::Start { node });
        self.boot(node);
    }

    fn boot(&mut self, node: NodeId) {
        let i = node.index();
        self.core.nodes[i].status = NodeStatus::Up;
        let mut object = (self.factories[i])();
        let mut ctx = Ctx {
            node,
            core: &mut self.core,
        };
        object.on_start(&mut ctx);
        self.nodes[i] = Some(object);
    }

    #[inline]
    fn deliver(&mut self, from: NodeId, to: NodeId, msg: P::Msg, msg_id: u64) {
        let core = &mut self.core;
        let Some(state) = core.nodes.get_mut(to.index()) else {
            return;
        };
        let reason = match state.status {
            NodeStatus::Up if !core.network.is_blocked(from, to) => None,
            NodeStatus::Up => Some(DropReason::Partition),
            NodeStatus::Down => Some(DropReason::NodeDown),
            NodeStatus::Paused => {
                let held = Event::Deliver {
                    from: from.0,
                    to: to.0,
                    msg,
                };
                core.hold(to, held, msg_id);
                return;
            }
        };
        if reason.is_none() {
            state.stats.received += 1;
        }
        core.in_flight -= 1;
        let label = msg.label();
        if let Some(reason) = reason {
            core.drop_message(msg_id, from, to, label, reason);
            return;
        }
        core.msg_stats.delivered += 1;
        core.record(TraceKind::Deliver {
            msg: msg_id,
            from,
            to,
            label,
        });
        if let Some(node) = self.nodes[to.index()].as_mut() {
            let mut ctx = Ctx { node: to, core };
            node.on_message(&mut ctx, from, msg);
        }
    }

    fn fire_timer(&mut self, slot: u32, seq: u64) {
        let core = &mut self.core;
        let Some(t) = core.timers.get(slot as usize) else {
            return;
        };
        if t.timer.is_none() {
            // Cancelled; this was the slot's last reference.
            core.free_timers.push(slot);
            return;
        }
        let node = NodeId(t.node);
        let state = &core.nodes[node.index()];
        if state.incarnation != t.incarnation || state.status == NodeStatus::Down {
            core.kill_timer(slot);
            core.free_timers.push(slot);
            return; // set by a previous incarnation
        }
        if t.due > core.now.0 {
            // Reset to a later time since this entry was queued: wait again, same slot.
            let due = t.due;
            core.timers[slot as usize].queued = due;
            core.queue.push(due, Event::Timer(slot));
            return;
        }
        if state.status == NodeStatus::Paused {
            core.hold(node, Event::Timer(slot), seq);
            return;
        }
        let Some(timer) = core.timers[slot as usize].timer.take() else {
            return;
        };
        core.kill_timer(slot);
        core.free_timers.push(slot);
        self.call_on_timer(node, timer);
    }

    /// Hands a fired timer to its node: counted, traced, then `on_timer`.
    #[inline]
    fn call_on_timer(&mut self, node: NodeId, timer: P::Timer) {
        let core = &mut self.core;
        core.nodes[node.index()].stats.timers += 1;
        core.record(TraceKind::Timer {
            node,
            label: timer.label(),
        });
        if let Some(object) = self.nodes[node.index()].as_mut() {
            let mut ctx = Ctx { node, core };
            object.on_timer(&mut ctx, timer);
        }
    }

    /// Applies a fault now, as if scheduled at the current time.
    pub fn apply(&mut self, action: FaultAction) {
        let now = self.core.now;
        let node = action.node();
        let name = |c: &Core<P>, n: NodeId| c.node_name(n).to_owned();
        let detail = match &action {
            FaultAction::Partition(groups) => {
                self.core.network.partition(groups);
                groups
                    .iter()
                    .map(|g| {
                        let names: Vec<String> = g.iter().map(|n| name(&self.core, *n)).collect();
                        format!("{{{}}}", names.join(","))
                    })
                    .collect::<Vec<_>>()
                    .join(" | ")
            }
            FaultAction::Isolate(n) => {
                self.core.network.isolate(*n);
                format!("{} cut off", name(&self.core, *n))
            }
            FaultAction::Block { from, to } => {
                for &a in from {
                    for &b in to {
                        self.core.network.block(a, b);
                    }
                }
                let list = |v: &[NodeId]| {
                    v.iter()
                        .map(|n| name(&self.core, *n))
                        .collect::<Vec<_>>()
                        .join(",")
                };
                format!("{{{}}} -> {{{}}} blocked", list(from), list(to))
            }
            FaultAction::Heal => {
                self.core.network.heal();
                "all links restored".to_owned()
            }
            FaultAction::Crash(n) => self.crash(*n),
            FaultAction::Restart(n) => self.restart(*n),
            FaultAction::Pause(n) => {
                let state = &mut self.core.nodes[n.index()];
                if state.status == NodeStatus::Up {
                    state.status = NodeStatus::Paused;
                    "stalled".to_owned()
                } else {
                    format!("no effect: node is {:?}", state.status).to_lowercase()
                }
            }
            FaultAction::Resume(n) => self.resume(*n),
            FaultAction::ClockJump { node, delta_ns } => {
                self.core.nodes[node.index()].clock.jump(now, *delta_ns);
                format!("wall clock stepped by {}", signed_nanos(*delta_ns))
            }
            FaultAction::Drift { node, ppm } => {
                self.core.nodes[node.index()].clock.set_drift(now, *ppm);
                format!("drift set to {ppm} ppm")
            }
            FaultAction::DriftEnd(node) => {
                let clock = &mut self.core.nodes[node.index()].clock;
                clock.end_drift(now);
                format!("drift back to {} ppm", clock.drift_ppm())
            }
            FaultAction::LatencySpike { extra, duration } => {
                self.core.network.set_latency_spike(*extra);
                self.core
                    .schedule_fault(now + *duration, FaultAction::LatencySpikeEnd);
                format!("+{extra} on every message for {duration}")
            }
            FaultAction::LossBurst { loss, duration } => {
                self.core.network.set_loss_burst(*loss);
                self.core
                    .schedule_fault(now + *duration, FaultAction::LossBurstEnd);
                format!("+{loss} loss on every link for {duration}")
            }
            FaultAction::LinkDelay {
                from,
                to,
                extra,
                duration,
            } => {
                for &a in from {
                    for &b in to {
                        self.core.network.set_link_delay(a, b, *extra);
                    }
                }
                let end = FaultAction::LinkDelayEnd {
                    from: from.clone(),
                    to: to.clone(),
                };
                self.core.schedule_fault(now + *duration, end);
                let names = |v: &[NodeId]| {
                    let v: Vec<&str> = v.iter().map(|n| self.core.node_name(*n)).collect();
                    v.join(",")
                };
                format!(
                    "{{{}}} -> {{{}}} +{extra} for {duration}",
                    names(from),
                    names(to)
                )
            }
            FaultAction::LinkDelayEnd { from, to } => {
                for &a in from {
                    for &b in to {
                        self.core.network.set_link_delay(a, b, Duration::ZERO);
                    }
                }
                "link latency back to normal".to_owned()
            }
            FaultAction::LatencySpikeEnd => {
                self.core.network.set_latency_spike(Duration::ZERO);
                "latency back to normal".to_owned()
            }
            FaultAction::LossBurstEnd => {
                self.core.network.set_loss_burst(0.0);
                "loss back to normal".to_owned()
            }
        };
        self.core.faults_applied += 1;
        self.applied_faults.push(ScheduledFault {
            at: now,
            action: action.clone(),
        });
        self.core.record(TraceKind::Fault {
            kind: action.kind(),
            node,
            detail,
        });
    }

    fn crash(&mut self, n: NodeId) -> String {
        let core = &mut self.core;
        let state = &mut core.nodes[n.index()];
        if state.status == NodeStatus::Down {
            return "no effect: already down".to_owned();
        }
        state.status = NodeStatus::Down;
        state.incarnation = state.incarnation.wrapping_add(1);
        state.stats.crashes += 1;
        state.annotations.clear();
        let lost = state.storage.has_unsynced();
        state.storage.crash();
        let held = std::mem::take(&mut state.held);
        self.nodes[n.index()] = None;
        for (event, seq) in held {
            match event {
                Event::Deliver { from, msg, .. } => {
                    core.in_flight -= 1;
                    core.drop_message(seq, NodeId(from), n, msg.label(), DropReason::NodeDown);
                }
                Event::Timer(slot) => {
                    core.kill_timer(slot);
                    core.free_timers.push(slot);
                }
                _ => {}
            }
        }
        core.record(TraceKind::Crash { node: n });
        if lost {
            "crashed; unsynced writes lost".to_owned()
        } else {
            "crashed".to_owned()
        }
    }

    fn restart(&mut self, n: NodeId) -> String {
        if self.core.nodes[n.index()].status != NodeStatus::Down {
            return "no effect: node is running".to_owned();
        }
        self.core.nodes[n.index()].stats.restarts += 1;
        self.core.record(TraceKind::Restart { node: n });
        self.boot(n);
        "rebuilt from synced storage".to_owned()
    }

    fn resume(&mut self, n: NodeId) -> String {
        let state = &mut self.core.nodes[n.index()];
        if state.status != NodeStatus::Paused {
            return "no effect: node is not paused".to_owned();
        }
        state.status = NodeStatus::Up;
        let held = std::mem::take(&mut state.held);
        let count = held.len();
        // The backlog is handled now, in arrival order, keeping each message's id.
        for (event, seq) in held {
            self.dispatch(event, seq);
        }
        format!("{count} queued arrivals handled")
    }

    fn nemesis_strike(&mut self) {
        let Some(cfg) = self.core.nemesis.clone() else {
            return;
        };
        let now = self.core.now;
        if now > cfg.stop || cfg.kinds.is_empty() || cfg.targets.is_empty() {
            return;
        }
        let rng = &mut self.core.fault_rng;
        let kind = cfg.kinds[rng.below(cfg.kinds.len() as u64) as usize];
        let target = cfg.targets[rng.below(cfg.targets.len() as u64) as usize];
        let lasts = cfg.duration.sample(rng);
        let until = (now + lasts).min(cfg.stop);
        let (action, undo) = match kind {
            NemesisKind::Crash => (
                FaultAction::Crash(target),
                Some(FaultAction::Restart(target)),
            ),
            NemesisKind::Pause => (
                FaultAction::Pause(target),
                Some(FaultAction::Resume(target)),
            ),
            NemesisKind::Isolate => (FaultAction::Isolate(target), Some(FaultAction::Heal)),
            NemesisKind::Partition => {
                let mut shuffled = cfg.targets.clone();
                for i in (1..shuffled.len()).rev() {
                    let j = rng.below(i as u64 + 1) as usize;
                    shuffled.swap(i, j);
                }
                let cut = 1 + rng.below(shuffled.len().saturating_sub(1).max(1) as u64) as usize;
                let rest = shuffled.split_off(cut.min(shuffled.len()));
                (
                    FaultAction::Partition(vec![shuffled, rest]),
                    Some(FaultAction::Heal),
                )
            }
            NemesisKind::ClockJump => {
                let max = cfg.clock_jump_max.0.min(i64::MAX as u64);
                let delta = rng.range_inclusive(0, max.saturating_mul(2)) as i64 - max as i64;
                (
                    FaultAction::ClockJump {
                        node: target,
                        delta_ns: delta,
                    },
                    Some(FaultAction::ClockJump {
                        node: target,
                        delta_ns: delta.saturating_neg(),
                    }),
                )
            }
            NemesisKind::LatencySpike => (
                FaultAction::LatencySpike {
                    extra: cfg.latency_spike,
                    duration: until - now,
                },
                None,
            ),
            NemesisKind::LossBurst => (
                FaultAction::LossBurst {
                    loss: cfg.loss_burst,
                    duration: until - now,
                },
                None,
            ),
        };
        self.apply(action);
        if let Some(undo) = undo {
            self.core.schedule_fault(until, undo);
        }
        let next = until + cfg.interval.sample(&mut self.core.fault_rng);
        if next <= cfg.stop {
            self.core.queue.push(next.0, Event::Nemesis);
        }
    }

    // ----- results -------------------------------------------------------------------------

    /// The seed this run was built with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The current true time.
    pub fn now(&self) -> SimTime {
        self.core.now
    }

    /// The configured end of the run.
    pub fn end(&self) -> SimTime {
        self.end
    }

    /// How the run ended, or None while it is still running.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    /// Events handled so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Events still queued (including cancelled timers not yet skipped).
    pub fn pending_events(&self) -> usize {
        self.core.queue.len()
    }

    /// Memory held for pending work right now (the queue, with the messages in it, and
    /// timers).
    pub fn memory_stats(&self) -> MemoryStats {
        use std::mem::size_of;
        let c = &self.core;
        MemoryStats {
            pending_events: c.queue.len(),
            in_flight: c.in_flight,
            queue_entry_bytes: EventQueue::<Event<P::Msg>>::entry_bytes(),
            queue_bytes: c.queue.allocated_bytes(),
            timer_bytes: c.timers.capacity() * size_of::<TimerSlot<P::Timer>>()
                + c.free_timers.capacity() * size_of::<u32>(),
        }
    }

    /// The trace so far.
    pub fn trace(&self) -> &Trace {
        &self.core.trace
    }

    /// Keep every message's contents in the trace from now on (see
    /// [`Trace::capture_payloads`]); the explorer's inspector shows them.
    pub fn capture_payloads(&mut self) {
        self.core.trace.capture_payloads();
    }

    /// The metrics so far.
    pub fn metrics(&self) -> &Metrics {
        &self.core.metrics
    }

    /// The client history so far.
    pub fn history(&self) -> &History {
        &self.core.history
    }

    /// Message tallies.
    pub fn message_stats(&self) -> MessageStats {
        self.core.msg_stats
    }

    /// Faults applied so far (scheduled, nemesis, and automatic ends of spikes and bursts).
    pub fn faults_applied(&self) -> u64 {
        self.core.faults_applied
    }

    /// Every fault applied so far with the true time it struck, in order: the scheduled ones,
    /// the nemesis's (and its undoing), and the automatic ends of spikes and bursts. A shrinker
    /// turns a nemesis's draws into a fixed schedule with it.
    pub fn applied_faults(&self) -> &[ScheduledFault] {
        &self.applied_faults
    }

    /// Invariant violations models reported.
    pub fn violations(&self) -> &[Violation] {
        &self.core.violations
    }

    /// The network (topology graph, partitions).
    pub fn network(&self) -> &Network {
        &self.core.network
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.core.nodes.len()
    }

    /// A node's name, cluster and zone.
    pub fn node_info(&self, node: NodeId) -> Option<&NodeInfo> {
        self.core.nodes.get(node.index()).map(|s| &s.info)
    }

    /// Every node's name, in id order.
    pub fn node_names(&self) -> Vec<String> {
        self.core
            .nodes
            .iter()
            .map(|s| s.info.name.clone())
            .collect()
    }

    /// Looks a node up by name.
    pub fn node_by_name(&self, name: &str) -> Option<NodeId> {
        self.core
            .nodes
            .iter()
            .position(|s| s.info.name == name)
            .map(|i| NodeId(i as u32))
    }

    /// A node's status.
    pub fn status(&self, node: NodeId) -> Option<NodeStatus> {
        self.core.nodes.get(node.index()).map(|s| s.status)
    }

    /// A node's tallies.
    pub fn node_stats(&self, node: NodeId) -> NodeStats {
        self.core
            .nodes
            .get(node.index())
            .map(|s| s.stats)
            .unwrap_or_default()
    }

    /// A node's latest annotations.
    pub fn annotations(&self, node: NodeId) -> Option<&BTreeMap<&'static str, String>> {
        self.core.nodes.get(node.index()).map(|s| &s.annotations)
    }

    /// A node's latest value of annotation `key` (`None` if it never set it, or if it crashed
    /// since: a crash clears a node's annotations). Tests read it strictly with
    /// [`expect_annotation`](crate::testing::expect_annotation).
    pub fn annotation(&self, node: NodeId, key: &str) -> Option<&str> {
        self.annotations(node)?.get(key).map(String::as_str)
    }

    /// A node's durable storage (what a restart would see, plus unsynced writes).
    pub fn storage(&self, node: NodeId) -> Option<&Storage<P::Durable>> {
        self.core.nodes.get(node.index()).map(|s| &s.storage)
    }

    /// A node's local clock reading now.
    pub fn local_time(&self, node: NodeId) -> LocalTime {
        self.core.local_time(node)
    }

    /// A node's clock offset from true time now, in nanoseconds.
    pub fn clock_offset(&self, node: NodeId) -> i64 {
        self.core
            .nodes
            .get(node.index())
            .map_or(0, |s| s.clock.offset_at(self.core.now))
    }

    /// Every node of cluster `cluster`, in id order.
    pub fn cluster_nodes(&self, cluster: &str) -> Vec<NodeId> {
        self.core.cluster_nodes(cluster)
    }
}

/// What [`crate::testing::Harness`] drives: one node's handlers called directly, timers
/// fired on request, with the engine's own semantics (timer slots, incarnations, crashes).
impl<P: Protocol> Simulation<P> {
    /// Turns effect recording on for `node`, boots every other node (the harness's
    /// placeholder peers) and leaves `node` down until [`Simulation::harness_start`].
    pub(crate) fn harness_setup(&mut self, node: NodeId) {
        self.core.recorder = Some(Box::new(Recorder::new(node)));
        self.core.nodes[node.index()].storage.start_journal();
        // A fresh build holds only the Start events, all at time 0.
        while let Ok((_, _, event)) = self.core.queue.pop_with_seq_until(0) {
            match event {
                Event::Start(i) if i != node.0 => self.start_node(NodeId(i)),
                _ => {}
            }
        }
    }

    /// Forgets storage writes made outside a handler (a test seeding storage), so the next
    /// recorded effects are the node's own.
    pub(crate) fn harness_begin(&mut self) {
        if let Some(recorder) = self.core.recorder.as_deref_mut() {
            let node = recorder.node;
            self.core.nodes[node.index()].storage.drain_journal();
            recorder.effects.clear();
        }
    }

    /// The effects recorded since [`Simulation::harness_begin`], in the order the node
    /// performed them.
    pub(crate) fn harness_end(&mut self) -> Vec<Effect<P>> {
        let Some(recorder) = self.core.recorder.as_deref_mut() else {
            return Vec::new();
        };
        let storage = &mut self.core.nodes[recorder.node.index()].storage;
        recorder.take_storage(storage);
        std::mem::take(&mut recorder.effects)
    }

    /// Starts `node` (builds it from its factory and calls `on_start`), as the engine does at
    /// time 0.
    pub(crate) fn harness_start(&mut self, node: NodeId) {
        self.start_node(node);
    }

    /// Calls `node`'s `on_message` with `msg` from `from`, now, bypassing the network.
    pub(crate) fn harness_deliver(&mut self, from: NodeId, node: NodeId, msg: P::Msg) {
        let core = &mut self.core;
        core.nodes[node.index()].stats.received += 1;
        if let Some(object) = self.nodes[node.index()].as_mut() {
            let mut ctx = Ctx { node, core };
            object.on_message(&mut ctx, from, msg);
        }
    }

    /// Fires `node`'s pending timer `id` now, moving true time forward to its due time if that
    /// is later. Returns false (and does nothing) if `id` is not a pending timer of the
    /// running `node`. The timer's queue entry is left to pop later as a cancelled one.
    pub(crate) fn harness_fire(&mut self, node: NodeId, id: TimerId) -> bool {
        let Some(due) = self.pending_due(node, id) else {
            return false;
        };
        self.core.now = self.core.now.max(SimTime(due));
        let Some(timer) = self.core.timers[id.slot as usize].timer.take() else {
            return false;
        };
        self.core.kill_timer(id.slot);
        self.call_on_timer(node, timer);
        true
    }

    /// When `id` is due, if it is a pending timer of the running `node`'s current incarnation.
    fn pending_due(&self, node: NodeId, id: TimerId) -> Option<u64> {
        let t = self.core.timers.get(id.slot as usize)?;
        let state = self.core.nodes.get(node.index())?;
        let live = t.generation == id.generation
            && t.node == node.0
            && t.timer.is_some()
            && t.incarnation == state.incarnation
            && state.status == NodeStatus::Up;
        live.then_some(t.due)
    }

    /// Handles the next queued event due at or before `until`, as the event loop would, except
    /// that messages in flight are dropped unseen (a harness records sends; the test decides
    /// what arrives). Time never moves back: an event due before now (a timer a test skipped
    /// over) happens now. Returns `None` when no event is due by `until`, otherwise whether a
    /// timer of `node` fired.
    pub(crate) fn harness_step(&mut self, node: NodeId, until: SimTime) -> Option<bool> {
        let (time, seq, event) = self.core.queue.pop_with_seq_until(until.0).ok()?;
        self.core.now = self.core.now.max(SimTime(time));
        self.events += 1;
        let before = self.core.nodes[node.index()].stats.timers;
        match event {
            Event::Deliver { .. } => self.core.in_flight -= 1,
            other => self.dispatch(other, seq),
        }
        Some(self.core.nodes[node.index()].stats.timers != before)
    }

    /// Moves true time forward to `at` (never back) without handling anything.
    pub(crate) fn harness_set_now(&mut self, at: SimTime) {
        self.core.now = self.core.now.max(at);
    }

    /// The pending timers of `node`'s current incarnation: id, true due time, payload; by due
    /// time, then id.
    pub(crate) fn harness_timers(&self, node: NodeId) -> Vec<(TimerId, SimTime, &P::Timer)> {
        let mut out: Vec<(TimerId, SimTime, &P::Timer)> = Vec::new();
        for (slot, t) in self.core.timers.iter().enumerate() {
            let id = TimerId {
                slot: slot as u32,
                generation: t.generation,
            };
            if let (Some(due), Some(timer)) = (self.pending_due(node, id), t.timer.as_ref()) {
                out.push((id, SimTime(due), timer));
            }
        }
        out.sort_by_key(|&(id, due, _)| (due, id));
        out
    }

    /// `node`'s storage, for a test to seed or inspect between handler calls.
    pub(crate) fn harness_storage_mut(&mut self, node: NodeId) -> &mut Storage<P::Durable> {
        &mut self.core.nodes[node.index()].storage
    }
}

impl<P: Protocol> Core<P> {
    #[inline]
    fn record(&mut self, kind: TraceKind) {
        self.trace.record(self.now, kind);
    }

    /// Whether a test harness records effects: false in a normal run, so every [`Ctx`] method
    /// pays one predictable branch for it.
    #[inline(always)]
    pub(crate) fn recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// Records the effect `make` builds (a copy of what the node handed over). Out of line, so
    /// that the copy costs the inlined `Ctx` methods nothing: a normal run never comes here.
    #[cold]
    #[inline(never)]
    pub(crate) fn record_with(&mut self, node: NodeId, make: impl FnOnce() -> Effect<P>) {
        self.record_effect(node, make());
    }

    /// Records the timer `node` just set as `id`, its payload read back from its slot.
    #[cold]
    #[inline(never)]
    pub(crate) fn record_set_timer(&mut self, node: NodeId, id: TimerId, after: Duration) {
        let set = self
            .timers
            .get(id.slot as usize)
            .and_then(|t| t.timer.clone());
        if let Some(timer) = set {
            self.record_effect(node, Effect::SetTimer { id, after, timer });
        }
    }

    /// Records the operation `node` just invoked as `op`, its call read back from the history.
    #[cold]
    #[inline(never)]
    pub(crate) fn record_invoke(&mut self, node: NodeId, op: OpId) {
        if let Some(call) = self.history.get(op).map(|o| o.call.clone()) {
            self.record_effect(node, Effect::Invoke { op, call });
        }
    }

    /// Records `effect` if `node` is the node a harness examines, after the storage writes it
    /// made before it (they wait in its storage's journal), so the list keeps the order in
    /// which the node acted.
    #[cold]
    pub(crate) fn record_effect(&mut self, node: NodeId, effect: Effect<P>) {
        let Some(recorder) = self.recorder.as_deref_mut() else {
            return;
        };
        if recorder.node != node {
            return;
        }
        let storage = &mut self.nodes[node.index()].storage;
        recorder.take_storage(storage);
        recorder.effects.push(effect);
    }

    pub(crate) fn node_name(&self, node: NodeId) -> &str {
        self.nodes
            .get(node.index())
            .map_or("?", |s| s.info.name.as_str())
    }

    #[inline]
    pub(crate) fn local_time(&self, node: NodeId) -> LocalTime {
        self.nodes
            .get(node.index())
            .map_or(LocalTime(0), |s| s.clock.local(self.now))
    }

    #[inline]
    pub(crate) fn monotonic_time(&self, node: NodeId) -> MonoTime {
        self.nodes
            .get(node.index())
            .map_or(MonoTime(0), |s| s.clock.monotonic(self.now))
    }

    pub(crate) fn cluster_nodes(&self, cluster: &str) -> Vec<NodeId> {
        self.nodes
            .iter()
            .filter(|s| s.info.cluster == cluster)
            .map(|s| s.info.id)
            .collect()
    }

    #[inline]
    pub(crate) fn node_rng(&mut self, node: NodeId) -> &mut SimRng {
        &mut self.nodes[node.index()].rng
    }

    pub(crate) fn storage(&mut self, node: NodeId) -> &mut Storage<P::Durable> {
        &mut self.nodes[node.index()].storage
    }

    #[inline]
    pub(crate) fn send(&mut self, from: NodeId, to: NodeId, msg: P::Msg) {
        if to.index() >= self.nodes.len() {
            self.violation(
                from,
                engine::SEND_TO_KNOWN_NODE,
                format!("sent {} to unknown node #{}", msg.label(), to.0),
            );
            return;
        }
        let label = msg.label();
        if self.trace.wants_payloads() {
            // The id the message is about to get (see below); only viewers ask for this.
            self.trace
                .payload(self.queue.next_seq(), format!("{msg:?}"));
        }
        self.msg_stats.sent += 1;
        self.nodes[from.index()].stats.sent += 1;
        // A message's id is the sequence number of its delivery event; a dropped message
        // takes the next sequence number without an event.
        match self.network.route(self.now, from, to) {
            Route::Dropped(reason) => {
                let id = self.queue.next_seq();
                self.queue.skip_seq();
                self.record(TraceKind::Send {
                    msg: id,
                    from,
                    to,
                    label,
                });
                self.drop_message(id, from, to, label, reason);
            }
            Route::Deliver { at, duplicate_at } => {
                let id = self.queue.next_seq();
                self.record(TraceKind::Send {
                    msg: id,
                    from,
                    to,
                    label,
                });
                match duplicate_at {
                    None => self.enqueue_message(id, at, from, to, msg, label),
                    Some(dup_at) => {
                        let copy = msg.clone();
                        self.enqueue_message(id, at, from, to, msg, label);
                        let dup_id = self.queue.next_seq();
                        self.msg_stats.duplicated += 1;
                        self.record(TraceKind::Duplicate {
                            msg: dup_id,
                            of: id,
                            from,
                            to,
                            label,
                        });
                        self.enqueue_message(dup_id, dup_at, from, to, copy, label);
                    }
                }
            }
        }
    }

    #[inline]
    fn enqueue_message(
        &mut self,
        id: u64,
        at: SimTime,
        from: NodeId,
        to: NodeId,
        msg: P::Msg,
        label: &'static str,
    ) {
        if self.in_flight >= self.limits.max_in_flight {
            self.queue.skip_seq();
            self.drop_message(id, from, to, label, DropReason::Overflow);
            return;
        }
        self.in_flight += 1;
        let event = Event::Deliver {
            from: from.0,
            to: to.0,
            msg,
        };
        self.queue.push(at.0, event);
    }

    fn drop_message(
        &mut self,
        msg: u64,
        from: NodeId,
        to: NodeId,
        label: &'static str,
        reason: DropReason,
    ) {
        self.msg_stats.dropped[reason as usize] += 1;
        self.record(TraceKind::Drop {
            msg,
            from,
            to,
            label,
            reason,
        });
    }

    fn hold(&mut self, node: NodeId, event: Event<P::Msg>, seq: u64) {
        let max = self.limits.max_held;
        let state = &mut self.nodes[node.index()];
        if state.held.len() < max {
            state.held.push_back((event, seq));
            return;
        }
        match event {
            Event::Deliver { from, msg, .. } => {
                self.in_flight -= 1;
                self.drop_message(seq, NodeId(from), node, msg.label(), DropReason::Overflow);
            }
            Event::Timer(slot) => {
                // The run stops at the timer bound; release the slot all the same.
                self.kill_timer(slot);
                self.free_timers.push(slot);
                self.timer_limit_hit = true;
            }
            _ => {}
        }
    }

    #[inline]
    pub(crate) fn set_timer(&mut self, node: NodeId, after: Duration, timer: P::Timer) -> TimerId {
        let state = &self.nodes[node.index()];
        let due = self.now + state.clock.true_duration(after);
        let incarnation = state.incarnation;
        if self.pending_timers >= self.limits.max_timers {
            self.timer_limit_hit = true;
        }
        let slot = match self.free_timers.pop() {
            Some(s) => s,
            None => {
                self.timers.push(TimerSlot {
                    generation: 0,
                    node: 0,
                    incarnation: 0,
                    timer: None,
                    due: 0,
                    queued: 0,
                });
                (self.timers.len() - 1) as u32
            }
        };
        let t = &mut self.timers[slot as usize];
        t.node = node.0;
        t.incarnation = incarnation;
        t.timer = Some(timer);
        t.due = due.0;
        t.queued = due.0;
        let id = TimerId {
            slot,
            generation: t.generation,
        };
        self.pending_timers += 1;
        self.queue.push(due.0, Event::Timer(slot));
        id
    }

    #[inline]
    pub(crate) fn cancel_timer(&mut self, node: NodeId, id: TimerId) {
        let live = self.timers.get(id.slot as usize).is_some_and(|t| {
            t.generation == id.generation && t.node == node.0 && t.timer.is_some()
        });
        if live {
            // The slot stays taken until its queue entry pops (see `Event::Timer`).
            self.kill_timer(id.slot);
        }
    }

    /// Moves a live timer of `node` to fire `after` (local time) from now, keeping its payload.
    /// Returns the id it has from now on, or `None` if it already fired or was cancelled.
    ///
    /// Moving it later costs no queue work: the slot's entry stays where it is and re-queues
    /// itself at the new time when it pops. Only a move earlier than that entry needs a new
    /// slot (and so a new id). Timeouts that are pushed back on every message (election
    /// timers, request deadlines) then cost one queue entry per timeout period instead of one
    /// per message.
    #[inline]
    pub(crate) fn reset_timer(
        &mut self,
        node: NodeId,
        id: TimerId,
        after: Duration,
    ) -> Option<TimerId> {
        let state = &self.nodes[node.index()];
        let due = (self.now + state.clock.true_duration(after)).0;
        let t = self.timers.get_mut(id.slot as usize)?;
        if t.generation != id.generation || t.node != node.0 || t.timer.is_none() {
            return None;
        }
        if due >= t.queued {
            t.due = due;
            return Some(id);
        }
        let timer = t.timer.take()?;
        self.kill_timer(id.slot);
        Some(self.set_timer(node, after, timer))
    }

    /// Ends a live timer (fired, cancelled, or orphaned by a restart): drops its payload,
    /// invalidates its `TimerId`, and stops counting it against the limit. The slot itself is
    /// freed only when its queue entry has popped (see `Event::Timer`).
    #[inline]
    fn kill_timer(&mut self, slot: u32) {
        if let Some(t) = self.timers.get_mut(slot as usize) {
            t.timer = None;
            t.generation = t.generation.wrapping_add(1);
            self.pending_timers = self.pending_timers.saturating_sub(1);
        }
    }

    fn schedule_fault(&mut self, at: SimTime, action: FaultAction) {
        self.faults.push(ScheduledFault { at, action });
        self.queue
            .push(at.0, Event::Fault((self.faults.len() - 1) as u32));
    }

    pub(crate) fn annotate(&mut self, node: NodeId, key: &'static str, value: ShortText) {
        let state = &mut self.nodes[node.index()];
        match state.annotations.get_mut(key) {
            Some(current) if *current == value => return,
            // Reuses the old value's buffer.
            Some(current) => {
                current.clear();
                current.push_str(&value);
            }
            None => {
                state.annotations.insert(key, value.to_string());
            }
        }
        self.record(TraceKind::Annotate { node, key, value });
    }

    pub(crate) fn invoke(&mut self, node: NodeId, call: OpCall) -> OpId {
        let detail = call.describe();
        let id = self.history.invoke(self.now, node, call);
        self.record(TraceKind::Op {
            node,
            op: id.0,
            phase: OpPhase::Invoke,
            detail,
        });
        id
    }

    pub(crate) fn complete(
        &mut self,
        node: NodeId,
        op: OpId,
        status: OpPhase,
        result: Option<i64>,
    ) {
        if !self.history.complete(self.now, node, op, status, result) {
            self.violation(
                node,
                engine::COMPLETE_OPEN_OPERATION,
                format!("completed operation {} it did not have open", op.0),
            );
            return;
        }
        let detail = match result {
            Some(v) => {
                let mut num = itoa::Buffer::new();
                let mut s = ShortText::const_new("-> ");
                s.push_str(num.format(v));
                s
            }
            None => ShortText::default(),
        };
        self.record(TraceKind::Op {
            node,
            op: op.0,
            phase: status,
            detail,
        });
    }

    pub(crate) fn violation(&mut self, node: NodeId, invariant: Invariant, detail: String) {
        let violation = Violation {
            time: self.now,
            node,
            invariant,
            detail,
        };
        if self.recording() {
            let detail = &violation.detail;
            self.record_with(node, || Effect::Violation {
                invariant,
                detail: detail.clone(),
            });
        }
        // The trace keeps the text a person reads (title and detail), as it always has, so
        // fingerprints do not depend on how invariants are named.
        let detail = violation.text();
        self.violations.push(violation);
        self.record(TraceKind::Violation { node, detail });
    }
}

fn signed_nanos(ns: i64) -> String {
    let magnitude = crate::time::format_nanos(ns.unsigned_abs());
    if ns < 0 {
        format!("-{magnitude}")
    } else {
        format!("+{magnitude}")
    }
}
