//! The simulated network: per-link latency, loss, duplication and FIFO order, partitions as
//! blocked directed edges, and temporary latency spikes and loss bursts.
//!
//! Links are described by [`LinkProfile`]s: one default, overridden per pair of zones. The
//! topology (nodes, zones, links) is a `petgraph` graph the GUI can draw. Every random draw
//! comes from the network's own stream, so node behaviour does not change the network's dice.

use std::collections::HashMap;

use petgraph::graph::UnGraph;

use crate::dist::DurationDist;
use crate::node::NodeId;
use crate::rng::SimRng;
use crate::time::{Duration, SimTime};
use crate::trace::DropReason;

/// Above this many nodes the topology graph holds nodes but no edges (every pair is linked
/// anyway; a million edges helps nobody draw anything).
pub const GRAPH_EDGE_LIMIT: usize = 1_000;

/// How one link behaves. Probabilities are per message.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkProfile {
    /// One-way latency of every message.
    pub latency: DurationDist,
    /// Probability in [0, 1] that a message is lost.
    pub loss: f64,
    /// Probability in [0, 1] that a delivered message arrives twice.
    pub duplicate: f64,
    /// Whether the link keeps messages in send order (TCP-like). Off: messages can reorder.
    pub fifo: bool,
}

impl Default for LinkProfile {
    /// 1 ms constant latency, no loss, no duplication, no ordering guarantee.
    fn default() -> Self {
        LinkProfile {
            latency: DurationDist::constant(Duration::from_millis(1)),
            loss: 0.0,
            duplicate: 0.0,
            fifo: false,
        }
    }
}

/// A profile for the links between two zones (both directions).
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneLink {
    /// One zone.
    pub a: String,
    /// The other zone (may equal `a`: links inside one zone).
    pub b: String,
    /// How those links behave.
    pub profile: LinkProfile,
}

/// The network's configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NetworkConfig {
    /// The profile of every link no zone override covers.
    pub default: LinkProfile,
    /// Overrides between zones; later entries win.
    pub zones: Vec<ZoneLink>,
}

/// A node as the topology graph shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's id.
    pub id: NodeId,
    /// Its name (e.g. `kv3`).
    pub name: String,
    /// The cluster it belongs to.
    pub cluster: String,
    /// The zone it is in.
    pub zone: String,
}

/// A link as the topology graph shows it: the index of its profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// Index into the network's profiles (0 is the default).
    pub profile: usize,
}

/// What the network decided for one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Lost, and why.
    Dropped(DropReason),
    /// Delivered at `at`, and a second time at `duplicate_at` if the network duplicated it.
    Deliver {
        /// Arrival time.
        at: SimTime,
        /// Arrival time of the duplicate, if any.
        duplicate_at: Option<SimTime>,
    },
}

/// The latency of every link when the network is as plain as it gets: one profile, no loss,
/// no duplication, no FIFO ordering, and constant or uniform latency.
#[derive(Clone, Copy, Debug)]
struct PlainLatency {
    /// The shortest latency.
    lo: u64,
    /// The number of values a uniform latency takes (`hi - lo + 1`); 0 for a constant one.
    span: u64,
}

/// The run-time network state.
#[derive(Debug)]
pub struct Network {
    /// Set while nothing (partition, spike, burst) disturbs a plain network: `route` then
    /// only draws the latency, exactly as the general path would.
    plain: Option<PlainLatency>,
    /// The plain latency of the configuration, whether or not a fault disturbs it now.
    plain_config: Option<PlainLatency>,
    nodes: usize,
    profiles: Vec<LinkProfile>,
    zone_of: Vec<u16>,
    zones: usize,
    zone_profile: Vec<u16>,
    blocked: Vec<u64>,
    blocked_links: usize,
    fifo_last: HashMap<(u32, u32), u64>,
    spike: Duration,
    /// Extra latency on single directed links: (from, to, nanoseconds); short, scanned.
    link_delays: Vec<(u32, u32, u64)>,
    burst_loss: f64,
    rng: SimRng,
    graph: UnGraph<NodeInfo, LinkInfo>,
}

impl Network {
    /// Builds the network for `nodes` (in id order) from `config`, drawing from `rng`.
    /// Zone overrides naming a zone no node is in are ignored here (the scenario layer rejects
    /// them with a located error).
    pub fn new(config: &NetworkConfig, nodes: &[NodeInfo], rng: SimRng) -> Network {
        let mut zone_names: Vec<&str> = Vec::new();
        let mut zone_of = Vec::with_capacity(nodes.len());
        for n in nodes {
            let z = match zone_names.iter().position(|z| *z == n.zone) {
                Some(z) => z,
                None => {
                    zone_names.push(&n.zone);
                    zone_names.len() - 1
                }
            };
            zone_of.push(z as u16);
        }
        let zones = zone_names.len().max(1);
        let mut profiles = vec![config.default.clone()];
        let mut zone_profile = vec![0u16; zones * zones];
        for link in &config.zones {
            let a = zone_names.iter().position(|z| *z == link.a);
            let b = zone_names.iter().position(|z| *z == link.b);
            if let (Some(a), Some(b)) = (a, b) {
                profiles.push(link.profile.clone());
                let p = (profiles.len() - 1) as u16;
                zone_profile[a * zones + b] = p;
                zone_profile[b * zones + a] = p;
            }
        }
        // One edge per pair is quadratic: above GRAPH_EDGE_LIMIT nodes the graph keeps the
        // nodes only (links are implicit: every pair is linked).
        let edges = if nodes.len() <= GRAPH_EDGE_LIMIT {
            nodes.len() * nodes.len() / 2
        } else {
            0
        };
        let mut graph = UnGraph::with_capacity(nodes.len(), edges);
        let idx: Vec<_> = nodes.iter().map(|n| graph.add_node(n.clone())).collect();
        if edges > 0 {
            for i in 0..nodes.len() {
                for j in i + 1..nodes.len() {
                    let profile = usize::from(
                        zone_profile[usize::from(zone_of[i]) * zones + usize::from(zone_of[j])],
                    );
                    graph.add_edge(idx[i], idx[j], LinkInfo { profile });
                }
            }
        }
        let p = &profiles[0];
        let plain_config = if profiles.len() == 1 && p.loss <= 0.0 && p.duplicate <= 0.0 && !p.fifo
        {
            match p.latency {
                DurationDist::Constant(d) => Some(PlainLatency { lo: d.0, span: 0 }),
                DurationDist::Uniform { lo, hi } => {
                    hi.0.saturating_sub(lo.0)
                        .checked_add(1)
                        .map(|span| PlainLatency { lo: lo.0, span })
                }
                _ => None,
            }
        } else {
            None
        };
        Network {
            plain: plain_config,
            plain_config,
            nodes: nodes.len(),
            profiles,
            zone_of,
            zones,
            zone_profile,
            blocked: vec![0; (nodes.len() * nodes.len()).div_ceil(64)],
            blocked_links: 0,
            fifo_last: HashMap::new(),
            spike: Duration::ZERO,
            link_delays: Vec::new(),
            burst_loss: 0.0,
            rng,
            graph,
        }
    }

    /// The topology: nodes with their cluster and zone, one edge per linked pair (no edges
    /// above [`GRAPH_EDGE_LIMIT`] nodes).
    pub fn graph(&self) -> &UnGraph<NodeInfo, LinkInfo> {
        &self.graph
    }

    /// The profile of the link from `from` to `to`.
    #[inline]
    pub fn profile(&self, from: NodeId, to: NodeId) -> &LinkProfile {
        let za = usize::from(self.zone_of[from.index()]);
        let zb = usize::from(self.zone_of[to.index()]);
        &self.profiles[usize::from(self.zone_profile[za * self.zones + zb])]
    }

    /// Decides the fate of a message sent now from `from` to `to`.
    #[inline]
    pub fn route(&mut self, now: SimTime, from: NodeId, to: NodeId) -> Route {
        if let Some(p) = self.plain {
            // The general path below with its no-op steps left out: nothing blocked, loss and
            // duplication 0 (which draw nothing), no spike, no FIFO; the latency is drawn the
            // way `DurationDist::sample` draws it.
            let latency = if p.span == 0 {
                p.lo
            } else {
                p.lo.saturating_add(self.rng.below(p.span))
            };
            return Route::Deliver {
                at: now + Duration(latency),
                duplicate_at: None,
            };
        }
        self.route_general(now, from, to)
    }

    /// [`route`](Self::route) for every configuration and fault state.
    fn route_general(&mut self, now: SimTime, from: NodeId, to: NodeId) -> Route {
        if self.is_blocked(from, to) {
            return Route::Dropped(DropReason::Partition);
        }
        let za = usize::from(self.zone_of[from.index()]);
        let zb = usize::from(self.zone_of[to.index()]);
        let profile = &self.profiles[usize::from(self.zone_profile[za * self.zones + zb])];
        let loss = if self.burst_loss > 0.0 {
            1.0 - (1.0 - profile.loss) * (1.0 - self.burst_loss)
        } else {
            profile.loss
        };
        if self.rng.chance(loss) {
            return Route::Dropped(DropReason::Loss);
        }
        let extra = self.spike + self.link_delay(from, to);
        let at = now + profile.latency.sample(&mut self.rng) + extra;
        let duplicate_at = if self.rng.chance(profile.duplicate) {
            Some(now + profile.latency.sample(&mut self.rng) + extra)
        } else {
            None
        };
        if profile.fifo {
            let last = self.fifo_last.entry((from.0, to.0)).or_insert(0);
            let at = SimTime(at.0.max(*last));
            let duplicate_at = duplicate_at.map(|d| SimTime(d.0.max(at.0)));
            *last = duplicate_at.unwrap_or(at).0;
            return Route::Deliver { at, duplicate_at };
        }
        Route::Deliver { at, duplicate_at }
    }

    /// Whether messages from `from` to `to` are blocked by a partition.
    #[inline]
    pub fn is_blocked(&self, from: NodeId, to: NodeId) -> bool {
        if self.blocked_links == 0 {
            return false;
        }
        let bit = from.index() * self.nodes + to.index();
        self.blocked[bit / 64] & (1 << (bit % 64)) != 0
    }

    /// Blocks messages from `from` to `to` (one direction).
    pub fn block(&mut self, from: NodeId, to: NodeId) {
        if from == to || from.index() >= self.nodes || to.index() >= self.nodes {
            return;
        }
        let bit = from.index() * self.nodes + to.index();
        if self.blocked[bit / 64] & (1 << (bit % 64)) == 0 {
            self.blocked[bit / 64] |= 1 << (bit % 64);
            self.blocked_links += 1;
        }
        self.refresh_plain();
    }

    /// Turns the plain fast path on or off after the fault state changed.
    fn refresh_plain(&mut self) {
        let undisturbed = self.blocked_links == 0
            && self.spike == Duration::ZERO
            && self.burst_loss <= 0.0
            && self.link_delays.is_empty();
        self.plain = self.plain_config.filter(|_| undisturbed);
    }

    /// Splits the listed groups from each other, in both directions. Nodes in no group keep
    /// their links.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        for (i, g) in groups.iter().enumerate() {
            for (j, h) in groups.iter().enumerate() {
                if i != j {
                    for &a in g {
                        for &b in h {
                            self.block(a, b);
                        }
                    }
                }
            }
        }
    }

    /// Cuts `node` off from every other node, both directions.
    pub fn isolate(&mut self, node: NodeId) {
        for other in 0..self.nodes as u32 {
            self.block(node, NodeId(other));
            self.block(NodeId(other), node);
        }
    }

    /// Removes every blocked edge.
    pub fn heal(&mut self) {
        self.blocked.iter_mut().for_each(|w| *w = 0);
        self.blocked_links = 0;
        self.refresh_plain();
    }

    /// Number of blocked directed links.
    pub fn blocked_links(&self) -> usize {
        self.blocked_links
    }

    /// Every blocked directed link, in (from, to) order.
    pub fn blocked_pairs(&self) -> Vec<(NodeId, NodeId)> {
        let mut out = Vec::with_capacity(self.blocked_links);
        for from in 0..self.nodes {
            for to in 0..self.nodes {
                if self.is_blocked(NodeId(from as u32), NodeId(to as u32)) {
                    out.push((NodeId(from as u32), NodeId(to as u32)));
                }
            }
        }
        out
    }

    /// Adds `extra` latency to every message sent until it is set back to zero.
    pub fn set_latency_spike(&mut self, extra: Duration) {
        self.spike = extra;
        self.refresh_plain();
    }

    /// Adds `extra` latency to messages from `from` to `to` (one direction); zero removes it.
    pub fn set_link_delay(&mut self, from: NodeId, to: NodeId, extra: Duration) {
        self.link_delays
            .retain(|&(a, b, _)| (a, b) != (from.0, to.0));
        if extra > Duration::ZERO && from != to {
            self.link_delays.push((from.0, to.0, extra.0));
        }
        self.refresh_plain();
    }

    /// The extra latency on the link from `from` to `to`.
    fn link_delay(&self, from: NodeId, to: NodeId) -> Duration {
        self.link_delays
            .iter()
            .find(|&&(a, b, _)| (a, b) == (from.0, to.0))
            .map_or(Duration::ZERO, |&(_, _, d)| Duration(d))
    }

    /// Adds a loss probability on top of every link's own until set back to zero.
    pub fn set_loss_burst(&mut self, loss: f64) {
        self.burst_loss = loss.clamp(0.0, 1.0);
        self.refresh_plain();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(zones: &[&str]) -> Vec<NodeInfo> {
        zones
            .iter()
            .enumerate()
            .map(|(i, z)| NodeInfo {
                id: NodeId(i as u32),
                name: format!("n{}", i + 1),
                cluster: "n".into(),
                zone: (*z).into(),
            })
            .collect()
    }

    fn net(config: &NetworkConfig, zones: &[&str]) -> Network {
        Network::new(
            config,
            &nodes(zones),
            SimRng::new(1, crate::rng::Stream::Network),
        )
    }

    #[test]
    fn a_link_delay_slows_one_direction_only() {
        let config = NetworkConfig {
            default: LinkProfile {
                latency: crate::dist::DurationDist::Constant(Duration(1_000)),
                ..LinkProfile::default()
            },
            zones: Vec::new(),
        };
        let mut n = net(&config, &["z"; 3]);
        let at = |n: &mut Network, a, b| match n.route(SimTime(0), NodeId(a), NodeId(b)) {
            Route::Deliver { at, .. } => at.0,
            Route::Dropped(r) => panic!("dropped: {r:?}"),
        };
        assert_eq!(at(&mut n, 0, 1), 1_000);
        n.set_link_delay(NodeId(0), NodeId(1), Duration(5_000));
        assert_eq!(at(&mut n, 0, 1), 6_000);
        assert_eq!(
            at(&mut n, 1, 0),
            1_000,
            "the other direction is not delayed"
        );
        assert_eq!(at(&mut n, 0, 2), 1_000);
        n.set_link_delay(NodeId(0), NodeId(1), Duration::ZERO);
        assert_eq!(at(&mut n, 0, 1), 1_000);
    }

    #[test]
    fn partitions_are_directed_and_heal() {
        let mut n = net(&NetworkConfig::default(), &["z"; 4]);
        n.block(NodeId(0), NodeId(1));
        assert!(n.is_blocked(NodeId(0), NodeId(1)));
        assert!(!n.is_blocked(NodeId(1), NodeId(0)));
        n.partition(&[vec![NodeId(0)], vec![NodeId(2), NodeId(3)]]);
        assert_eq!(n.blocked_links(), 5);
        assert_eq!(
            n.route(SimTime(0), NodeId(2), NodeId(0)),
            Route::Dropped(DropReason::Partition)
        );
        assert!(
            !n.is_blocked(NodeId(1), NodeId(2)),
            "unlisted nodes keep their links"
        );
        n.heal();
        assert_eq!(n.blocked_links(), 0);
        assert!(n.blocked_pairs().is_empty());
    }

    #[test]
    fn zone_overrides_apply_both_ways() {
        let mut config = NetworkConfig::default();
        let wan = LinkProfile {
            latency: DurationDist::constant(Duration::from_millis(80)),
            ..LinkProfile::default()
        };
        config.zones.push(ZoneLink {
            a: "eu".into(),
            b: "us".into(),
            profile: wan.clone(),
        });
        let mut n = net(&config, &["eu", "us", "eu"]);
        assert_eq!(n.profile(NodeId(1), NodeId(0)), &wan);
        assert_eq!(n.profile(NodeId(0), NodeId(2)), &LinkProfile::default());
        assert_eq!(
            n.route(SimTime(0), NodeId(0), NodeId(1)),
            Route::Deliver {
                at: SimTime(80_000_000),
                duplicate_at: None
            }
        );
        assert_eq!(n.graph().edge_count(), 3);
    }

    #[test]
    fn fifo_links_never_reorder() {
        let mut config = NetworkConfig::default();
        config.default.latency = "uniform(1ms, 50ms)".parse().expect("dist");
        config.default.fifo = true;
        config.default.duplicate = 0.2;
        let mut n = net(&config, &["z", "z"]);
        let mut last = 0;
        for t in 0..2_000u64 {
            if let Route::Deliver { at, duplicate_at } =
                n.route(SimTime(t * 100_000), NodeId(0), NodeId(1))
            {
                assert!(at.0 >= last);
                last = duplicate_at.unwrap_or(at).0;
                assert!(last >= at.0);
            }
        }
    }

    #[test]
    fn loss_rate_is_close_to_configured() {
        let mut config = NetworkConfig::default();
        config.default.loss = 0.1;
        let mut n = net(&config, &["z", "z"]);
        let lost = (0..100_000)
            .filter(|_| {
                matches!(
                    n.route(SimTime(0), NodeId(0), NodeId(1)),
                    Route::Dropped(DropReason::Loss)
                )
            })
            .count();
        assert!((9_400..=10_600).contains(&lost), "lost {lost}");
        n.set_loss_burst(1.0);
        assert_eq!(
            n.route(SimTime(0), NodeId(0), NodeId(1)),
            Route::Dropped(DropReason::Loss)
        );
    }

    #[test]
    fn latency_spike_adds_to_every_message() {
        let mut n = net(&NetworkConfig::default(), &["z", "z"]);
        n.set_latency_spike(Duration::from_millis(100));
        assert_eq!(
            n.route(SimTime(0), NodeId(0), NodeId(1)),
            Route::Deliver {
                at: SimTime(101_000_000),
                duplicate_at: None
            }
        );
    }
}
