//! Engine semantics through the public API, with a tiny probe protocol.

use std::cell::RefCell;
use std::rc::Rc;

use sim_core::*;

#[derive(Clone, Debug, PartialEq)]
enum Msg {
    Hello(u64),
}

impl Labeled for Msg {
    fn label(&self) -> &'static str {
        "hello"
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tm {
    Tick,
    Spin,
}

impl Labeled for Tm {
    fn label(&self) -> &'static str {
        match self {
            Tm::Tick => "tick",
            Tm::Spin => "spin",
        }
    }
}

struct P;
impl Protocol for P {
    type Msg = Msg;
    type Timer = Tm;
    type Durable = u64;
}

/// What probes saw, shared with the test (the test owns it; nodes only append).
#[derive(Default, Debug)]
struct Log {
    received: Vec<(u32, u64, LocalTime)>,
    started: Vec<(u32, Option<u64>, u64)>,
    ticks: Vec<(u32, LocalTime)>,
}

/// On start: records what storage holds, writes `volatile` unsynced and `synced` synced.
/// Every message is logged. Node 0 sends `Hello(n)` to node 1 every 10 ms.
struct Probe {
    log: Rc<RefCell<Log>>,
    volatile_counter: u64,
    spin: bool,
}

impl Node<P> for Probe {
    fn on_start(&mut self, ctx: &mut Ctx<'_, P>) {
        let synced = ctx.storage().get("synced").copied();
        let volatile = ctx.storage().get("volatile").copied();
        self.log
            .borrow_mut()
            .started
            .push((ctx.id().0, synced, volatile.unwrap_or(0)));
        let restarts = synced.unwrap_or(0) + 1;
        ctx.storage().put_synced("synced", restarts);
        ctx.storage().put("volatile", 99);
        if ctx.id() == NodeId(0) {
            ctx.set_timer(Duration::from_millis(10), Tm::Tick);
        }
        if self.spin {
            ctx.set_timer(Duration::ZERO, Tm::Spin);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, P>, _from: NodeId, msg: Msg) {
        let Msg::Hello(n) = msg;
        self.volatile_counter += 1;
        self.log
            .borrow_mut()
            .received
            .push((ctx.id().0, n, ctx.now()));
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, P>, timer: Tm) {
        match timer {
            Tm::Tick => {
                self.volatile_counter += 1;
                let now = ctx.now();
                self.log.borrow_mut().ticks.push((ctx.id().0, now));
                ctx.send(NodeId(1), Msg::Hello(self.volatile_counter));
                ctx.set_timer(Duration::from_millis(10), Tm::Tick);
            }
            Tm::Spin => {
                ctx.set_timer(Duration::ZERO, Tm::Spin);
            }
        }
    }
}

fn probe(log: &Rc<RefCell<Log>>, spin: bool) -> NodeFactory<P> {
    let log = log.clone();
    Box::new(move || {
        Box::new(Probe {
            log: log.clone(),
            volatile_counter: 0,
            spin,
        })
    })
}

fn two_nodes(log: &Rc<RefCell<Log>>, latency_ms: u64) -> SimBuilder<P> {
    let mut net = NetworkConfig::default();
    net.default.latency = DurationDist::constant(Duration::from_millis(latency_ms));
    SimBuilder::<P>::new(1)
        .duration(Duration::from_millis(200))
        .network(net)
        .trace_level(TraceLevel::Full)
        .node("a1", "a", "z", Clock::new(0, 0.0), probe(log, false))
        .node("b1", "b", "z", Clock::new(0, 0.0), probe(log, false))
}

#[test]
fn crash_loses_volatile_state_and_unsynced_writes_but_keeps_synced_ones() {
    let log = Rc::new(RefCell::new(Log::default()));
    let mut sim = two_nodes(&log, 1)
        .fault(SimTime(50_000_000), FaultAction::Crash(NodeId(0)))
        .fault(SimTime(100_000_000), FaultAction::Restart(NodeId(0)))
        .build()
        .expect("valid");
    assert_eq!(sim.run(), Outcome::Completed);
    let log = log.borrow();
    // Node 0 started twice: the second time it saw its synced counter (1) but not the
    // unsynced `volatile` write (rolled back to absent, read as 0).
    let starts: Vec<_> = log.started.iter().filter(|s| s.0 == 0).collect();
    assert_eq!(starts, vec![&(0, None, 0), &(0, Some(1), 0)]);
    // Its in-memory counter restarted from zero: the first hello after the restart carries 1.
    let after: Vec<u64> = log
        .received
        .iter()
        .filter(|r| r.2.0 > 100_000_000)
        .map(|r| r.1)
        .collect();
    assert_eq!(
        after.first(),
        Some(&1),
        "volatile counter must restart: {after:?}"
    );
    // No tick fired while it was down (its timers died with it).
    assert!(
        log.ticks
            .iter()
            .all(|t| !(50_000_000..100_000_000).contains(&t.1.0))
    );
    assert_eq!(sim.node_stats(NodeId(0)).crashes, 1);
    assert_eq!(sim.node_stats(NodeId(0)).restarts, 1);
    assert_eq!(
        sim.storage(NodeId(0)).and_then(|s| s.get("synced")),
        Some(&2)
    );
}

#[test]
fn messages_to_a_crashed_node_are_dropped() {
    let log = Rc::new(RefCell::new(Log::default()));
    let mut sim = two_nodes(&log, 1)
        .fault(SimTime(50_000_000), FaultAction::Crash(NodeId(1)))
        .build()
        .expect("valid");
    sim.run();
    let dropped = sim.message_stats().dropped_for(DropReason::NodeDown);
    assert!((14..=16).contains(&dropped), "dropped {dropped}");
    assert!(log.borrow().received.iter().all(|r| r.2.0 <= 50_000_000));
}

#[test]
fn a_paused_node_keeps_state_and_handles_its_backlog_in_order_on_resume() {
    let log = Rc::new(RefCell::new(Log::default()));
    let mut sim = two_nodes(&log, 1)
        .fault(SimTime(50_000_000), FaultAction::Pause(NodeId(1)))
        .fault(SimTime(100_000_000), FaultAction::Resume(NodeId(1)))
        .build()
        .expect("valid");
    sim.run();
    let log = log.borrow();
    let seq: Vec<u64> = log.received.iter().map(|r| r.1).collect();
    let mut sorted = seq.clone();
    sorted.sort_unstable();
    assert_eq!(seq, sorted, "backlog handled in order");
    assert_eq!(seq.len(), 19, "nothing lost: {seq:?}");
    let at_resume = log.received.iter().filter(|r| r.2.0 == 100_000_000).count();
    assert_eq!(at_resume, 5, "five hellos queued during the pause");
    assert_eq!(sim.message_stats().dropped_total(), 0);
}

#[test]
fn partitions_block_one_or_both_directions_until_healed() {
    let log = Rc::new(RefCell::new(Log::default()));
    let mut sim = two_nodes(&log, 1)
        .fault(
            SimTime(50_000_000),
            FaultAction::Block {
                from: vec![NodeId(0)],
                to: vec![NodeId(1)],
            },
        )
        .fault(SimTime(100_000_000), FaultAction::Heal)
        .build()
        .expect("valid");
    sim.run();
    let partitioned = sim.message_stats().dropped_for(DropReason::Partition);
    assert_eq!(partitioned, 5);
    let received_during = log
        .borrow()
        .received
        .iter()
        .filter(|r| (51_000_000..100_000_000).contains(&r.2.0))
        .count();
    assert_eq!(received_during, 0);
}

#[test]
fn local_clocks_show_offset_and_drift_and_timers_follow_the_oscillator() {
    let log = Rc::new(RefCell::new(Log::default()));
    let mut sim = SimBuilder::<P>::new(1)
        .duration(Duration::from_millis(100))
        .node(
            "a1",
            "a",
            "z",
            Clock::new(5_000_000, 500_000.0),
            probe(&log, false),
        )
        .node("b1", "b", "z", Clock::new(0, 0.0), probe(&log, false))
        .build()
        .expect("valid");
    sim.run();
    let log = log.borrow();
    // 50% fast: a 10 ms local timer fires every 6.67 ms of true time, i.e. 15 ticks in 100 ms.
    assert_eq!(log.ticks.len(), 14);
    // The first tick reads 5 ms offset + 10 ms local.
    let first = log.ticks[0].1.0;
    assert!((15_000_000..=15_000_002).contains(&first), "{first}");
}

#[test]
fn runaway_runs_stop_at_the_event_limit() {
    let log = Rc::new(RefCell::new(Log::default()));
    let mut sim = SimBuilder::<P>::new(1)
        .limits(Limits {
            max_events: 10_000,
            ..Limits::default()
        })
        .node("a1", "a", "z", Clock::new(0, 0.0), probe(&log, true))
        .build()
        .expect("valid");
    assert_eq!(sim.run(), Outcome::EventLimit);
    assert_eq!(sim.events(), 10_000);
    assert_eq!(
        sim.now(),
        SimTime(0),
        "zero-delay timers never advance time"
    );
}

#[test]
fn in_flight_bound_drops_as_overflow() {
    let log = Rc::new(RefCell::new(Log::default()));
    let mut sim = two_nodes(&log, 1_000)
        .limits(Limits {
            max_in_flight: 3,
            ..Limits::default()
        })
        .build()
        .expect("valid");
    sim.run();
    // Twenty hellos (every 10 ms from 10 ms to 200 ms), none delivered in time: 3 fit.
    assert_eq!(sim.message_stats().dropped_for(DropReason::Overflow), 17);
}

#[test]
fn builder_rejects_bad_configurations() {
    let log = Rc::new(RefCell::new(Log::default()));
    let dup = SimBuilder::<P>::new(1)
        .node("a1", "a", "z", Clock::new(0, 0.0), probe(&log, false))
        .node("a1", "a", "z", Clock::new(0, 0.0), probe(&log, false))
        .build();
    assert_eq!(dup.err(), Some(BuildError::DuplicateNode("a1".into())));
    let unknown = two_nodes(&log, 1)
        .fault(SimTime(1), FaultAction::Crash(NodeId(9)))
        .build();
    assert!(matches!(
        unknown.err(),
        Some(BuildError::UnknownNode { node: 9, .. })
    ));
    assert_eq!(
        SimBuilder::<P>::new(1).build().err(),
        Some(BuildError::NoNodes)
    );
}

#[test]
fn adding_a_node_does_not_change_the_network_dice_of_others() {
    // The latency a1→b1 sees depends only on the network stream, not on how many nodes exist.
    let run = |extra: bool| {
        let log = Rc::new(RefCell::new(Log::default()));
        let mut net = NetworkConfig::default();
        net.default.latency = "uniform(1ms, 9ms)".parse().expect("dist");
        let mut b = SimBuilder::<P>::new(5)
            .duration(Duration::from_millis(100))
            .network(net)
            .node("a1", "a", "z", Clock::new(0, 0.0), probe(&log, false))
            .node("b1", "b", "z", Clock::new(0, 0.0), probe(&log, false));
        if extra {
            b = b.node("idle1", "idle", "z", Clock::new(0, 0.0), probe(&log, false));
        }
        b.build().expect("valid").run();
        let received: Vec<_> = log.borrow().received.iter().map(|r| r.2).collect();
        received
    };
    assert_eq!(run(false), run(true));
}

#[test]
fn the_nemesis_injects_and_undoes_faults_from_its_own_stream() {
    let run = |with_nemesis: bool| {
        let log = Rc::new(RefCell::new(Log::default()));
        let mut b = two_nodes(&log, 1).duration(Duration::from_secs(10));
        if with_nemesis {
            b = b.nemesis(NemesisConfig {
                kinds: vec![NemesisKind::Crash, NemesisKind::Pause, NemesisKind::Isolate],
                interval: "uniform(200ms, 400ms)".parse().expect("dist"),
                duration: "100ms".parse().expect("dist"),
                targets: vec![NodeId(1)],
                start: SimTime::ZERO,
                stop: SimTime(8_000_000_000),
                clock_jump_max: Duration::from_secs(1),
                latency_spike: Duration::from_millis(100),
                loss_burst: 0.5,
            });
        }
        let mut sim = b.build().expect("valid");
        sim.run();
        let faults: Vec<(u64, &'static str)> = sim
            .trace()
            .events()
            .iter()
            .filter_map(|e| match &e.kind {
                TraceKind::Fault { kind, .. } => Some((e.time.0, *kind)),
                _ => None,
            })
            .collect();
        let first_tick = log.borrow().ticks.first().map(|t| t.1);
        (faults, sim.status(NodeId(1)), first_tick)
    };
    let (faults, status, tick) = run(true);
    // Roughly one fault per 400 ms over 8 s, each undone (restart, resume or heal).
    assert!(faults.len() >= 30, "{} faults", faults.len());
    let injected = faults
        .iter()
        .filter(|f| matches!(f.1, "crash" | "pause" | "isolate"))
        .count();
    let undone = faults
        .iter()
        .filter(|f| matches!(f.1, "restart" | "resume" | "heal"))
        .count();
    assert_eq!(
        injected, undone,
        "every fault is undone by stop: {faults:?}"
    );
    assert!(faults.iter().all(|f| f.0 <= 8_000_000_000));
    assert_eq!(status, Some(NodeStatus::Up));
    // The nemesis draws from its own stream: node 0's first tick is unchanged by it.
    assert_eq!(tick, run(false).2);
}

/// A watchdog: one `Fire` timer set at start, pushed back or pulled in by `Tick`s.
struct Watchdog {
    fire: Option<TimerId>,
    /// (tick time in ms, new timeout in ms) for each tick, in order.
    plan: Vec<(u64, u64)>,
    seen: Rc<RefCell<Vec<String>>>,
}

impl Node<P> for Watchdog {
    fn on_start(&mut self, ctx: &mut Ctx<'_, P>) {
        self.fire = Some(ctx.set_timer(Duration::from_millis(100), Tm::Spin));
        for &(at, _) in &self.plan {
            ctx.set_timer(Duration::from_millis(at), Tm::Tick);
        }
    }

    fn on_message(&mut self, _ctx: &mut Ctx<'_, P>, _from: NodeId, _msg: Msg) {}

    fn on_timer(&mut self, ctx: &mut Ctx<'_, P>, timer: Tm) {
        let now_ms = ctx.now().0 / 1_000_000;
        match timer {
            Tm::Spin => {
                self.seen.borrow_mut().push(format!("fired at {now_ms}"));
                let old = self.fire.take().expect("armed");
                // A fired timer cannot be reset.
                let again = ctx.reset_timer(old, Duration::from_millis(5));
                self.seen
                    .borrow_mut()
                    .push(format!("reset after firing: {again:?}"));
            }
            Tm::Tick => {
                let (_, after) = self.plan.remove(0);
                let old = self.fire.take().expect("armed");
                let new = ctx
                    .reset_timer(old, Duration::from_millis(after))
                    .expect("still pending");
                self.fire = Some(new);
                let same = if new == old { "same id" } else { "new id" };
                self.seen
                    .borrow_mut()
                    .push(format!("at {now_ms} reset to +{after}: {same}"));
            }
        }
    }
}

#[test]
fn reset_timers_fire_once_at_their_latest_deadline() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let mut sim = SimBuilder::<P>::new(1)
        .duration(Duration::from_millis(300))
        .trace_level(TraceLevel::Full)
        .node(
            "w1",
            "w",
            "z",
            Clock::new(0, 0.0),
            Box::new(move || {
                Box::new(Watchdog {
                    fire: None,
                    // Later twice (no queue work), then earlier than its queue entry (a new
                    // id), then later again.
                    plan: vec![(30, 100), (60, 100), (90, 5), (93, 50)],
                    seen: s.clone(),
                })
            }),
        )
        .build()
        .expect("valid");
    // Nothing is left to do once the watchdog has fired.
    assert_eq!(sim.run(), Outcome::Quiescent);
    assert_eq!(
        *seen.borrow(),
        vec![
            "at 30 reset to +100: same id",
            "at 60 reset to +100: same id",
            "at 90 reset to +5: new id",
            "at 93 reset to +50: same id",
            "fired at 143",
            "reset after firing: None",
        ]
    );
    // The trace shows one firing of the watchdog timer and nothing for the moved entries.
    let fired = sim
        .trace()
        .events()
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Timer { label: "spin", .. }))
        .count();
    assert_eq!(fired, 1);
}
