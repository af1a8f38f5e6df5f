//! The handler-level harness (`sim_core::testing`) on the shipped `echo` and `pinger` models:
//! each node is built by its model's factory, fed one event, and the exact list of its
//! effects asserted.

use sim_models::config::{ClusterRef, Count, NonZeroDuration};
use std::collections::BTreeMap;

use sim_core::testing::{Effect, Harness, expect_annotation, expect_counter};
use sim_core::{Clock, Duration, DurationDist, LocalTime, NodeFactory, NodeId, OpCall, OpPhase};
use sim_models::bugs::Bugs;
use sim_models::model::{Ghosts, Model, NodeEnv};
use sim_models::ping::{EchoConfig, Pick, PingTimer, PingerConfig};
use sim_models::protocols::ping::PingMsg;
use sim_models::world::{Durable, Msg, Timer, World};

/// The factory `model` gives the node `id`, first of its cluster, in a run whose clusters are
/// `clusters`, as `Scenario::build` would call it.
fn factory(
    model: &dyn Model,
    id: NodeId,
    cluster: &str,
    clusters: &[(&str, &[u32])],
) -> NodeFactory<World> {
    let clusters: BTreeMap<String, Vec<NodeId>> = clusters
        .iter()
        .map(|&(name, ids)| (name.to_owned(), ids.iter().map(|&i| NodeId(i)).collect()))
        .collect();
    let env = NodeEnv {
        id,
        index: 0,
        cluster,
        clusters: &clusters,
        ghosts: &Ghosts::default(),
        bugs: &Bugs::default(),
    };
    model.factory(&env)
}

/// An echo server `srv1` (node 0, its wall clock 3 ms ahead) and a placeholder client `c1`.
fn echo(sync_every: u64) -> Harness<World> {
    let config = EchoConfig {
        sync_every: Count::new(sync_every).expect("at least 1"),
    };
    let clusters: &[(&str, &[u32])] = &[("srv", &[0]), ("c", &[1])];
    Harness::builder(1)
        .node("srv1", "srv", factory(&config, NodeId(0), "srv", clusters))
        .peer("c1", "c")
        .clock(Clock::new(3_000_000, 0.0))
        .build()
        .expect("valid")
}

fn ping(seq: u64) -> Msg {
    PingMsg::Ping { seq }.into()
}

#[test]
fn an_echo_server_counts_persists_syncs_and_answers_with_its_clock() {
    let mut h = echo(1);
    let c1 = h.peer("c1");
    assert_eq!(
        h.start(),
        [Effect::Annotate {
            key: "recovered",
            value: "0".into()
        }]
    );
    assert_eq!(
        h.deliver(c1, ping(5)),
        [
            Effect::Count {
                name: "pings",
                n: 1
            },
            Effect::Put {
                key: "served".into(),
                value: Durable::Count(1)
            },
            Effect::Sync,
            Effect::Send {
                to: c1,
                msg: PingMsg::Pong {
                    seq: 5,
                    server_time: LocalTime(3_000_000)
                }
                .into()
            },
        ]
    );
    assert_eq!(expect_counter(h.sim(), h.id(), "pings"), 1);
}

#[test]
fn an_echo_server_recovers_the_count_it_synced() {
    // Synced every second ping: a crash after the third loses one.
    let mut h = echo(2);
    let c1 = h.peer("c1");
    h.start();
    for seq in 1..=3 {
        let synced = h.deliver(c1, ping(seq)).contains(&Effect::Sync);
        assert_eq!(synced, seq == 2, "ping {seq}");
    }
    assert_eq!(
        h.crash_and_restart(),
        [Effect::Annotate {
            key: "recovered",
            value: "2".into()
        }]
    );
    assert_eq!(expect_annotation(h.sim(), h.id(), "recovered"), "2");
    // And it counts on from there.
    let fx = h.deliver(c1, ping(4));
    assert!(
        fx.contains(&Effect::Put {
            key: "served".into(),
            value: Durable::Count(3)
        }),
        "{fx:?}"
    );
}

/// A pinger `c1` (node 1) aimed at the cluster `srv` of one placeholder server `srv1`: a ping
/// every 100 ms, a 1 s timeout.
fn pinger() -> Harness<World> {
    let config = PingerConfig {
        target: ClusterRef::new("srv"),
        interval: DurationDist::constant(Duration::from_millis(100)),
        timeout: NonZeroDuration::from_millis(1000),
        pick: Pick::RoundRobin,
    };
    let clusters: &[(&str, &[u32])] = &[("srv", &[0]), ("c", &[1])];
    Harness::builder(1)
        .peer("srv1", "srv")
        .node("c1", "c", factory(&config, NodeId(1), "c", clusters))
        .build()
        .expect("valid")
}

fn tick() -> Timer {
    PingTimer::Tick.into()
}

fn timeout(seq: u64) -> Timer {
    PingTimer::Timeout { seq }.into()
}

#[test]
fn a_pinger_pings_on_its_tick_and_completes_on_the_pong() {
    let mut h = pinger();
    let srv1 = h.peer("srv1");
    let fx = h.start();
    assert_eq!(
        fx,
        [Effect::SetTimer {
            id: fx.timer_id(&tick()),
            after: Duration::from_millis(100),
            timer: tick()
        }]
    );

    let fx = h.fire_next();
    assert_eq!(h.now(), sim_core::SimTime(100_000_000));
    let Some(&Effect::Invoke { op, .. }) = fx.first() else {
        panic!("an operation first: {fx:?}");
    };
    let deadline = fx.timer_id(&timeout(1));
    assert_eq!(
        fx,
        [
            Effect::Invoke {
                op,
                call: OpCall::Other {
                    name: "ping",
                    key: 0
                }
            },
            Effect::SetTimer {
                id: deadline,
                after: Duration::from_secs(1),
                timer: timeout(1)
            },
            Effect::Send {
                to: srv1,
                msg: ping(1)
            },
            Effect::SetTimer {
                id: fx.timer_id(&tick()),
                after: Duration::from_millis(100),
                timer: tick()
            },
        ]
    );

    // The pong comes back 5 ms later from a server whose clock is 10 ms ahead: the round trip
    // is 5 ms, and the NTP estimate of its offset (server time minus the midpoint) 7.5 ms.
    h.advance(Duration::from_millis(5));
    let pong = PingMsg::Pong {
        seq: 1,
        server_time: LocalTime(110_000_000),
    };
    assert_eq!(
        h.deliver(srv1, pong.into()),
        [
            Effect::CancelTimer { id: deadline },
            Effect::Complete {
                op,
                status: OpPhase::Ok,
                result: None
            },
            Effect::Observe {
                name: "rtt",
                value: 5_000_000
            },
            Effect::Gauge {
                name: "skew_ms",
                value: 7.5
            },
        ]
    );
}

#[test]
fn a_pinger_records_an_unanswered_ping_as_info_at_its_timeout() {
    let mut h = pinger();
    h.start();
    let fx = h.fire_next();
    let Some(&Effect::Invoke { op, .. }) = fx.first() else {
        panic!("an operation first: {fx:?}");
    };
    // Straight to the deadline, past the ticks due before it (they stay pending).
    let fx = h.fire(fx.timer_id(&timeout(1)));
    assert_eq!(h.now(), sim_core::SimTime(1_100_000_000));
    assert_eq!(
        fx,
        [
            Effect::Count {
                name: "timeouts",
                n: 1
            },
            Effect::Complete {
                op,
                status: OpPhase::Info,
                result: None
            },
        ]
    );
    // A pong after the timeout is late: counted, nothing else.
    let late = PingMsg::Pong {
        seq: 1,
        server_time: LocalTime(0),
    };
    let srv1 = h.peer("srv1");
    assert_eq!(
        h.deliver(srv1, late.into()),
        [Effect::Count { name: "late", n: 1 }]
    );
}
