//! The harness on small protocols written for the purpose: each test feeds one event and
//! asserts the exact list of effects.

use super::*;
use crate::invariant::engine;
use crate::{Labeled, NodeFactory};

#[derive(Clone, Debug, PartialEq)]
enum Msg {
    Ping,
    /// Carries the sender's wall clock.
    Pong(i64),
    /// Move timer A to fire this many ms from now.
    Reset(u64),
    /// Cancel timer B.
    Cancel,
    /// Write this value (see `Store`).
    Write(u64),
    /// Draw a number from the node's stream and send it back.
    Draw,
    /// Send to a node that does not exist.
    ToNowhere,
    /// Complete this operation id.
    Finish(u64),
}

impl Labeled for Msg {
    fn label(&self) -> &'static str {
        match self {
            Msg::Ping => "ping",
            Msg::Pong(_) => "pong",
            Msg::Reset(_) => "reset",
            Msg::Cancel => "cancel",
            Msg::Write(_) => "write",
            Msg::Draw => "draw",
            Msg::ToNowhere => "to-nowhere",
            Msg::Finish(_) => "finish",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tm {
    A,
    B,
}

impl Labeled for Tm {
    fn label(&self) -> &'static str {
        match self {
            Tm::A => "a",
            Tm::B => "b",
        }
    }
}

struct P;

impl Protocol for P {
    type Msg = Msg;
    type Timer = Tm;
    type Durable = u64;
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn at_ms(n: u64) -> SimTime {
    SimTime(n * 1_000_000)
}

/// Answers a ping with a pong carrying its wall clock; draws on request; misbehaves on
/// request (sends to a node that does not exist, completes operations it never opened).
struct Echo;

impl Node<P> for Echo {
    fn on_message(&mut self, ctx: &mut Ctx<'_, P>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Ping => {
                let now = ctx.now().0;
                ctx.send(from, Msg::Pong(now));
            }
            Msg::Draw => {
                let n = ctx.rng().below(1_000_000);
                ctx.send(from, Msg::Write(n));
            }
            Msg::ToNowhere => ctx.send(NodeId(99), Msg::Ping),
            Msg::Finish(op) => ctx.complete(OpId(op), OpPhase::Ok, Some(1)),
            _ => {}
        }
    }
}

fn echo() -> Harness<P> {
    Harness::<P>::builder(7)
        .peer("c1", "clients")
        .node("e1", "echo", || Box::new(Echo))
        .peer("e2", "echo")
        .build()
        .expect("valid")
}

#[test]
fn a_delivered_message_gives_exactly_the_node_s_sends() {
    let mut h = echo();
    assert_eq!(h.id(), NodeId(1));
    let c1 = h.peer("c1");
    assert_eq!(h.start(), []);
    assert_eq!(
        h.deliver(c1, Msg::Ping),
        [Effect::Send {
            to: c1,
            msg: Msg::Pong(0)
        }]
    );
    // Messages to the node that it does not handle give nothing.
    assert_eq!(h.deliver(c1, Msg::Cancel), []);
    assert_eq!(h.sim().node_stats(h.id()).received, 2);
}

#[test]
fn names_and_clusters_answer_as_in_a_run() {
    struct Introspect;
    impl Node<P> for Introspect {
        fn on_start(&mut self, ctx: &mut Ctx<'_, P>) {
            ctx.annotate("name", ctx.name().to_owned());
            for peer in ctx.cluster_nodes("kv") {
                ctx.send(peer, Msg::Ping);
            }
        }
        fn on_message(&mut self, _: &mut Ctx<'_, P>, _: NodeId, _: Msg) {}
    }
    let mut h = Harness::<P>::builder(1)
        .node("kv1", "kv", || Box::new(Introspect))
        .peer("kv2", "kv")
        .peer("c1", "clients")
        .peer("kv3", "kv")
        .build()
        .expect("valid");
    let send = |to| Effect::Send { to, msg: Msg::Ping };
    assert_eq!(
        h.start(),
        [
            Effect::Annotate {
                key: "name",
                value: "kv1".into()
            },
            send(NodeId(0)),
            send(NodeId(1)),
            send(NodeId(3)),
        ]
    );
    assert_eq!(h.peer("kv3"), NodeId(3));
    assert_eq!(expect_annotation(h.sim(), h.id(), "name"), "kv1");
}

#[test]
fn the_clock_offset_and_drift_are_the_node_s() {
    let mut h = Harness::<P>::builder(1)
        .node("e1", "echo", || Box::new(Echo))
        .peer("c1", "clients")
        .clock(Clock::new(5_000_000, 0.0))
        .build()
        .expect("valid");
    let c1 = h.peer("c1");
    h.start();
    assert_eq!(h.local_time(), LocalTime(5_000_000));
    assert_eq!(
        h.deliver(c1, Msg::Ping).sends(),
        vec![(c1, &Msg::Pong(5_000_000))]
    );
    h.jump_clock(-1_000_000);
    h.advance(ms(10));
    assert_eq!(h.now(), at_ms(10));
    assert_eq!(
        h.deliver(c1, Msg::Ping).sends(),
        vec![(c1, &Msg::Pong(14_000_000))]
    );
    // 50% fast from now on: 10 ms of true time read as 15 ms.
    h.set_drift(500_000.0);
    h.advance(ms(10));
    assert_eq!(
        h.deliver(c1, Msg::Ping).sends(),
        vec![(c1, &Msg::Pong(29_000_000))]
    );
}

#[test]
fn the_node_draws_from_the_stream_the_engine_gives_it() {
    // The same node, seed and id in a real run draws the same numbers.
    let draws_in_harness = {
        let mut h = echo();
        let c1 = h.peer("c1");
        h.start();
        let mut out = Vec::new();
        for _ in 0..3 {
            out.extend(h.deliver(c1, Msg::Draw).into_vec());
        }
        out
    };
    let mut rng = crate::SimRng::new(7, crate::Stream::Node(1));
    let expected: Vec<Effect<P>> = (0..3)
        .map(|_| Effect::Send {
            to: NodeId(0),
            msg: Msg::Write(rng.below(1_000_000)),
        })
        .collect();
    assert_eq!(draws_in_harness, expected);
}

#[test]
fn engine_violations_are_effects_in_the_order_they_happen() {
    let mut h = echo();
    let c1 = h.peer("c1");
    h.start();
    assert_eq!(
        h.deliver(c1, Msg::ToNowhere),
        [
            Effect::Send {
                to: NodeId(99),
                msg: Msg::Ping
            },
            Effect::Violation {
                invariant: engine::SEND_TO_KNOWN_NODE,
                detail: "sent ping to unknown node #99".into()
            },
        ]
    );
    assert_eq!(
        h.deliver(c1, Msg::Finish(4)),
        [
            Effect::Complete {
                op: OpId(4),
                status: OpPhase::Ok,
                result: Some(1)
            },
            Effect::Violation {
                invariant: engine::COMPLETE_OPEN_OPERATION,
                detail: "completed operation 4 it did not have open".into()
            },
        ]
    );
    assert_eq!(h.sim().violations().len(), 2);
}

/// On start: timer A in 100 ms, timer B in 50 ms. A message moves A or cancels B; each timer
/// counts its firing and A sets itself again once.
struct Timers {
    a: Option<TimerId>,
    b: Option<TimerId>,
    rearmed: bool,
}

impl Node<P> for Timers {
    fn on_start(&mut self, ctx: &mut Ctx<'_, P>) {
        self.a = Some(ctx.set_timer(ms(100), Tm::A));
        self.b = Some(ctx.set_timer(ms(50), Tm::B));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, P>, _: NodeId, msg: Msg) {
        match msg {
            Msg::Reset(after) => {
                if let Some(a) = self.a {
                    self.a = ctx.reset_timer(a, ms(after));
                }
            }
            Msg::Cancel => {
                if let Some(b) = self.b.take() {
                    ctx.cancel_timer(b);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, P>, timer: Tm) {
        match timer {
            Tm::A => {
                ctx.count("a", 1);
                if !self.rearmed {
                    self.rearmed = true;
                    self.a = Some(ctx.set_timer(ms(30), Tm::A));
                }
            }
            Tm::B => ctx.count("b", 1),
        }
    }
}

fn timers() -> Harness<P> {
    Harness::<P>::builder(1)
        .node("t1", "t", || {
            Box::new(Timers {
                a: None,
                b: None,
                rearmed: false,
            })
        })
        .peer("c1", "c")
        .build()
        .expect("valid")
}

#[test]
fn timers_fire_in_due_order_and_move_time_to_their_due_time() {
    let mut h = timers();
    let fx = h.start();
    let (a, b) = (fx.timer_id(&Tm::A), fx.timer_id(&Tm::B));
    assert_eq!(
        fx,
        [
            Effect::SetTimer {
                id: a,
                after: ms(100),
                timer: Tm::A
            },
            Effect::SetTimer {
                id: b,
                after: ms(50),
                timer: Tm::B
            },
        ]
    );
    assert_eq!(
        h.timers(),
        vec![(b, at_ms(50), &Tm::B), (a, at_ms(100), &Tm::A)]
    );
    assert_eq!(h.fire_next(), [Effect::Count { name: "b", n: 1 }]);
    assert_eq!(h.now(), at_ms(50));
    let fx = h.fire_next();
    let again = fx.timer_id(&Tm::A);
    assert_eq!(
        fx,
        [
            Effect::Count { name: "a", n: 1 },
            Effect::SetTimer {
                id: again,
                after: ms(30),
                timer: Tm::A
            },
        ]
    );
    assert_eq!(h.now(), at_ms(100));
    assert_eq!(h.timers(), vec![(again, at_ms(130), &Tm::A)]);
    // Advancing fires what comes due on the way, and stops where it was asked to.
    assert_eq!(h.advance(ms(20)), []);
    assert_eq!(h.advance(ms(20)), [Effect::Count { name: "a", n: 1 }]);
    assert_eq!(h.now(), at_ms(140));
    assert!(h.timers().is_empty());
}

#[test]
fn a_timer_reset_later_keeps_its_id_and_fires_once_at_the_new_time() {
    let mut h = timers();
    let c1 = h.peer("c1");
    let a = h.start().timer_id(&Tm::A);
    h.advance(ms(60)); // B fires at 50
    let fx = h.deliver(c1, Msg::Reset(100));
    assert_eq!(
        fx,
        [Effect::ResetTimer {
            id: a,
            after: ms(100),
            new_id: Some(a)
        }]
    );
    // A's queue entry at 100 ms re-queues itself silently; A fires at 160 ms.
    assert_eq!(h.advance_to(at_ms(159)), []);
    assert_eq!(h.timers(), vec![(a, at_ms(160), &Tm::A)]);
    assert_eq!(
        h.fire_next().first(),
        Some(&Effect::Count { name: "a", n: 1 })
    );
    assert_eq!(h.now(), at_ms(160));
}

#[test]
fn a_timer_reset_earlier_gets_a_new_id_and_a_fired_one_cannot_be_reset() {
    let mut h = timers();
    let c1 = h.peer("c1");
    let a = h.start().timer_id(&Tm::A);
    let fx = h.deliver(c1, Msg::Reset(10));
    let Some(Effect::ResetTimer {
        new_id: Some(moved),
        ..
    }) = fx.first()
    else {
        panic!("a reset: {fx:?}");
    };
    let moved = *moved;
    assert_ne!(moved, a);
    assert_eq!(
        fx,
        [Effect::ResetTimer {
            id: a,
            after: ms(10),
            new_id: Some(moved)
        }]
    );
    let fx = h.fire_next();
    assert_eq!(h.now(), at_ms(10));
    let again = fx.timer_id(&Tm::A);
    assert_eq!(
        fx,
        [
            Effect::Count { name: "a", n: 1 },
            Effect::SetTimer {
                id: again,
                after: ms(30),
                timer: Tm::A
            },
        ]
    );
    // The node now holds `again`; a reset of the old id is refused and says so.
    h.fire(again);
    assert_eq!(
        h.deliver(c1, Msg::Reset(5)),
        [Effect::ResetTimer {
            id: again,
            after: ms(5),
            new_id: None
        }]
    );
}

#[test]
fn a_cancelled_timer_never_fires_and_fire_jumps_over_earlier_timers() {
    let mut h = timers();
    let c1 = h.peer("c1");
    let fx = h.start();
    let (a, b) = (fx.timer_id(&Tm::A), fx.timer_id(&Tm::B));
    assert_eq!(h.deliver(c1, Msg::Cancel), [Effect::CancelTimer { id: b }]);
    assert_eq!(h.timers(), vec![(a, at_ms(100), &Tm::A)]);
    // Firing A by id moves time to A's due time.
    let fx = h.fire(a);
    assert_eq!(fx.first(), Some(&Effect::Count { name: "a", n: 1 }));
    assert_eq!(h.now(), at_ms(100));
    assert_eq!(h.advance(ms(1_000)).len(), 1, "only the re-armed A");
    assert_eq!(expect_counter(h.sim(), h.id(), "a"), 2);
    assert_eq!(h.sim().metrics().try_counter(h.id(), "b"), None);

    // Fired out of order: B, due earlier, is overdue and fires at the current time.
    let mut h = timers();
    let a = h.start().timer_id(&Tm::A);
    h.fire(a);
    assert_eq!(h.fire_next(), [Effect::Count { name: "b", n: 1 }]);
    assert_eq!(h.now(), at_ms(100));
}

#[test]
#[should_panic(expected = "is not pending")]
fn firing_a_cancelled_timer_is_a_test_error() {
    let mut h = timers();
    let c1 = h.peer("c1");
    let b = h.start().timer_id(&Tm::B);
    h.deliver(c1, Msg::Cancel);
    h.fire(b);
}

#[test]
#[should_panic(expected = "no pending timer")]
fn fire_next_without_timers_is_a_test_error() {
    let mut h = echo();
    h.start();
    h.fire_next();
}

#[test]
#[should_panic(expected = "call start first")]
fn delivering_before_start_is_a_test_error() {
    let mut h = echo();
    let c1 = h.peer("c1");
    h.deliver(c1, Msg::Ping);
}

/// Recovers `count` from storage on start and annotates it; a `Write(v)` puts `count` (unsynced
/// unless `v` is even), appends `v` to the log, cuts the log's front and end, deletes a key, and
/// sets a timer; a timer recorded at start must not fire after a restart.
struct Store;

impl Node<P> for Store {
    fn on_start(&mut self, ctx: &mut Ctx<'_, P>) {
        let count = ctx.storage().get("count").copied().unwrap_or(0);
        ctx.annotate("recovered", count);
        ctx.set_timer(ms(10), Tm::B);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, P>, _: NodeId, msg: Msg) {
        let Msg::Write(v) = msg else { return };
        let storage = ctx.storage();
        let count = storage.get("count").copied().unwrap_or(0) + 1;
        storage.put("count", count);
        storage.log_append(v);
        if v % 2 == 0 {
            storage.sync();
        }
        ctx.gauge("count", count as f64);
        let storage = ctx.storage();
        storage.log_truncate(3);
        storage.log_discard_before(2);
        storage.delete("scratch");
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, P>, _: Tm) {
        ctx.observe("timer", 1);
    }
}

fn store() -> Harness<P> {
    Harness::<P>::builder(1)
        .node("s1", "s", || Box::new(Store))
        .peer("c1", "c")
        .build()
        .expect("valid")
}

#[test]
fn storage_writes_are_effects_in_order_among_the_others() {
    let mut h = store();
    let c1 = h.peer("c1");
    h.start();
    assert_eq!(
        h.deliver(c1, Msg::Write(4)),
        [
            Effect::Put {
                key: "count".into(),
                value: 1
            },
            Effect::LogAppend { pos: 1, value: 4 },
            Effect::Sync,
            Effect::Gauge {
                name: "count",
                value: 1.0
            },
            Effect::LogTruncate { from: 3 },
            Effect::LogDiscard { before: 2 },
            Effect::Delete {
                key: "scratch".into()
            },
        ]
    );
    assert_eq!(expect_gauge(h.sim(), h.id(), "count").last, 1.0);
}

#[test]
fn a_crash_keeps_only_synced_writes_and_kills_the_old_timers() {
    let mut h = store();
    let c1 = h.peer("c1");
    // Seeded storage: what a previous life synced.
    h.storage_mut().put_synced("count", 10);
    assert_eq!(
        h.start().without_telemetry().len(),
        1,
        "only the timer: seeding is not an effect"
    );
    assert_eq!(expect_annotation(h.sim(), h.id(), "recovered"), "10");
    h.deliver(c1, Msg::Write(2)); // 11, synced
    h.deliver(c1, Msg::Write(3)); // 12, lost
    assert_eq!(h.storage().get("count"), Some(&12));

    let fx = h.crash_and_restart();
    let timer = fx.timer_id(&Tm::B);
    assert_eq!(
        fx,
        [
            Effect::Annotate {
                key: "recovered",
                value: "11".into()
            },
            Effect::SetTimer {
                id: timer,
                after: ms(10),
                timer: Tm::B
            },
        ]
    );
    // The first life's timer died with it; only the new one fires.
    assert_eq!(h.timers().len(), 1);
    assert_eq!(
        h.advance(ms(100)),
        [Effect::Observe {
            name: "timer",
            value: 1
        }]
    );
    assert_eq!(h.sim().node_stats(h.id()).crashes, 1);
}

#[test]
fn time_passes_while_the_node_is_down_and_nothing_fires() {
    let mut h = store();
    h.start();
    h.crash();
    assert_eq!(h.advance(ms(100)), []);
    assert_eq!(h.now(), at_ms(100));
    assert!(h.timers().is_empty());
    let fx = h.restart();
    assert_eq!(fx.timers().len(), 1);
    assert_eq!(
        h.timers().first().map(|t| t.1),
        Some(at_ms(110)),
        "set at the restart"
    );
}

#[test]
#[should_panic(expected = "it crashed: restart it")]
fn delivering_to_a_crashed_node_is_a_test_error() {
    let mut h = store();
    let c1 = h.peer("c1");
    h.start();
    h.crash();
    h.deliver(c1, Msg::Write(1));
}

/// A client: invokes an operation on start and completes it on a pong.
struct Client {
    op: Option<OpId>,
}

impl Node<P> for Client {
    fn on_start(&mut self, ctx: &mut Ctx<'_, P>) {
        self.op = Some(ctx.invoke(OpCall::Read { key: 3 }));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, P>, _: NodeId, msg: Msg) {
        if let (Msg::Pong(v), Some(op)) = (msg, self.op.take()) {
            ctx.complete(op, OpPhase::Ok, Some(v));
        }
    }
}

#[test]
fn client_operations_are_effects_and_enter_the_history() {
    let mut h = Harness::<P>::builder(1)
        .peer("e1", "echo")
        .node("c1", "c", || Box::new(Client { op: None }))
        .build()
        .expect("valid");
    let e1 = h.peer("e1");
    let fx = h.start();
    let Some(Effect::Invoke { op, .. }) = fx.first() else {
        panic!("an invoke: {fx:?}");
    };
    let op = *op;
    assert_eq!(
        fx,
        [Effect::Invoke {
            op,
            call: OpCall::Read { key: 3 }
        }]
    );
    assert_eq!(
        h.deliver(e1, Msg::Pong(7)),
        [Effect::Complete {
            op,
            status: OpPhase::Ok,
            result: Some(7)
        }]
    );
    let ops = h.sim().history().operations();
    assert_eq!((ops.len(), ops[0].result), (1, Some(7)));
}

#[test]
fn a_harness_needs_exactly_one_node_under_test_and_distinct_names() {
    let factory = || -> NodeFactory<P> { Box::new(|| Box::new(Echo)) };
    let none = Harness::<P>::builder(1).peer("a", "c").build();
    assert_eq!(none.err(), Some(HarnessError::NoNode));
    let two = Harness::<P>::builder(1)
        .node("a", "c", factory())
        .node("b", "c", factory())
        .build();
    assert_eq!(
        two.err(),
        Some(HarnessError::TwoNodes("a".into(), "b".into()))
    );
    let dup = Harness::<P>::builder(1)
        .node("a", "c", factory())
        .peer("a", "c")
        .build();
    assert_eq!(
        dup.err(),
        Some(HarnessError::Build(BuildError::DuplicateNode("a".into())))
    );
}

// ----- strict reads ----------------------------------------------------------------------------

fn counted() -> Simulation<P> {
    struct Counts;
    impl Node<P> for Counts {
        fn on_start(&mut self, ctx: &mut Ctx<'_, P>) {
            ctx.count("elections", 1);
            ctx.count("declared", 0);
            ctx.annotate("role", "leader");
        }
        fn on_message(&mut self, _: &mut Ctx<'_, P>, _: NodeId, _: Msg) {}
    }
    let mut sim = SimBuilder::<P>::new(1)
        .node(
            "kv1",
            "kv",
            "z",
            Clock::new(0, 0.0),
            Box::new(|| Box::new(Counts)),
        )
        .node(
            "kv2",
            "kv",
            "z",
            Clock::new(0, 0.0),
            Box::new(|| Box::new(Echo)),
        )
        .build()
        .expect("valid");
    sim.run();
    sim
}

#[test]
fn strict_reads_return_what_is_there() {
    let sim = counted();
    assert_eq!(expect_counter(&sim, NodeId(0), "elections"), 1);
    assert_eq!(expect_counter(&sim, NodeId(0), "declared"), 0);
    assert_eq!(expect_annotation(&sim, NodeId(0), "role"), "leader");
    assert_eq!(sim.annotation(NodeId(0), "rol"), None);
    let table: BTreeMap<String, f64> = [("liveness.kv".to_owned(), 1.0)].into();
    assert_eq!(expect_metric(&table, "liveness.kv"), 1.0);
}

#[test]
#[should_panic(
    expected = r#"no counter "election" on node kv1 (#0); its counters: declared, elections"#
)]
fn a_misspelt_counter_names_itself_and_the_known_ones() {
    expect_counter(&counted(), NodeId(0), "election");
}

#[test]
#[should_panic(
    expected = r#"no counter "elections" on node kv2 (#1); its counters: none; nodes with a counter "elections": kv1 (#0)"#
)]
fn a_counter_read_on_the_wrong_node_points_at_the_right_one() {
    expect_counter(&counted(), NodeId(1), "elections");
}

#[test]
#[should_panic(expected = r#"no annotation "commit" on node kv1 (#0); its annotations: role"#)]
fn a_missing_annotation_names_itself_and_the_known_ones() {
    expect_annotation(&counted(), NodeId(0), "commit");
}

#[test]
#[should_panic(expected = "(the node is down: a crash clears its annotations)")]
fn a_missing_annotation_on_a_crashed_node_says_why() {
    let mut sim = counted();
    sim.apply(FaultAction::Crash(NodeId(0)));
    expect_annotation(&sim, NodeId(0), "role");
}

#[test]
#[should_panic(
    expected = r#"no metric "lost_lease.c9" in the table (3 metrics); similar: lost_lease.c1, lost_lease.c2"#
)]
fn a_missing_metric_lists_the_similar_ones() {
    let table: BTreeMap<String, f64> = [
        ("events".to_owned(), 10.0),
        ("lost_lease.c1".to_owned(), 1.0),
        ("lost_lease.c2".to_owned(), 0.0),
    ]
    .into();
    expect_metric(&table, "lost_lease.c9");
}

#[test]
#[should_panic(expected = r#"no metric "violation" in the table (1 metrics); known: violations"#)]
fn a_missing_metric_with_no_similar_one_lists_them_all() {
    let table: BTreeMap<String, f64> = [("violations".to_owned(), 0.0)].into();
    expect_metric(&table, "violation");
}
