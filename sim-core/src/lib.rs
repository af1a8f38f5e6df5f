//! # sim-core: the dsim engine
//!
//! A deterministic discrete-event engine for distributed systems. One seed and one
//! configuration give exactly one run, bit for bit: time is virtual ([`SimTime`]), events pop
//! from a monotone queue in (time, insertion order), and every random draw comes from a
//! [`SimRng`] stream derived from the seed. Nodes are sans-IO state machines ([`Node`]) that act
//! only through the [`Ctx`] handed to them.
//!
//! A two-node example: a pinger and an echo server over a 5 ms network.
//!
//! ```
//! use sim_core::*;
//!
//! #[derive(Clone, Debug)]
//! enum Msg { Ping, Pong }
//! impl Labeled for Msg {
//!     fn label(&self) -> &'static str { match self { Msg::Ping => "ping", Msg::Pong => "pong" } }
//! }
//! #[derive(Clone, Debug)]
//! struct Tick;
//! impl Labeled for Tick { fn label(&self) -> &'static str { "tick" } }
//! struct P;
//! impl Protocol for P { type Msg = Msg; type Timer = Tick; type Durable = u64; }
//!
//! struct Echo;
//! impl Node<P> for Echo {
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, P>, from: NodeId, msg: Msg) {
//!         if let Msg::Ping = msg { ctx.send(from, Msg::Pong) }
//!     }
//! }
//! struct Pinger;
//! impl Node<P> for Pinger {
//!     fn on_start(&mut self, ctx: &mut Ctx<'_, P>) { ctx.set_timer(Duration::from_millis(100), Tick); }
//!     fn on_timer(&mut self, ctx: &mut Ctx<'_, P>, _: Tick) {
//!         ctx.send(NodeId(0), Msg::Ping);
//!         ctx.set_timer(Duration::from_millis(100), Tick);
//!     }
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, P>, _: NodeId, _: Msg) { ctx.count("pongs", 1) }
//! }
//!
//! let mut network = NetworkConfig::default();
//! network.default.latency = "5ms".parse().unwrap();
//! let mut sim = SimBuilder::<P>::new(7)
//!     .duration(Duration::from_secs(1))
//!     .network(network)
//!     .node("echo1", "echo", "z", Clock::new(0, 0.0), Box::new(|| Box::new(Echo)))
//!     .node("ping1", "ping", "z", Clock::new(0, 0.0), Box::new(|| Box::new(Pinger)))
//!     .build()
//!     .unwrap();
//! assert_eq!(sim.run(), Outcome::Completed);
//! assert_eq!(sim.metrics().try_counter(NodeId(1), "pongs"), Some(9));
//! println!("trace hash {}", sim.trace().hash());
//! ```
//!
//! To test one node's handlers rather than a whole run, [`testing::Harness`] feeds it one event
//! at a time and returns the exact list of effects it performed; [`testing`] also has the
//! strict readers tests use for counters, annotations and metrics.

pub mod chunked;
pub mod clock;
pub mod dist;
pub mod fault;
pub mod history;
pub mod invariant;
pub mod lin;
pub mod metrics;
pub mod network;
pub mod node;
pub mod queue;
pub mod rng;
pub mod sim;
pub mod storage;
pub mod testing;
pub mod time;
pub mod trace;
pub mod units;

pub use clock::{Clock, LocalTime, MonoTime};
pub use dist::{DurationDist, NumberDist};
pub use fault::{FaultAction, NemesisConfig, NemesisKind, ScheduledFault};
pub use history::{History, OpCall, OpCounts, OpId, Operation};
pub use invariant::Invariant;
pub use metrics::{Metrics, Percentiles};
pub use network::{LinkProfile, Network, NetworkConfig, NodeInfo, ZoneLink};
pub use node::{Ctx, Labeled, Node, NodeId, Protocol, TimerId};
pub use rng::{SimRng, Stream};
pub use sim::{
    BuildError, Limits, MemoryStats, MessageStats, NodeFactory, NodeStats, NodeStatus, Outcome,
    SimBuilder, Simulation, Violation,
};
pub use storage::Storage;
pub use time::{Duration, SimTime};
pub use trace::{DropReason, OpPhase, Trace, TraceEvent, TraceHash, TraceKind, TraceLevel};
