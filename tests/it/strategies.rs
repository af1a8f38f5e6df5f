//! Proptest strategies shared by the property tests: fault schedules, network and clock
//! parameters, and whole raft-kv scenarios.
//!
//! Every generated case is rendered to scenario TOML and parsed by the project's own parser,
//! so properties exercise the real format, and a failing case is a file `dsim run` accepts.
//!
//! The pieces compose: a [`Schedule`] renders its `[[faults]]` against any [`Topology`] (a
//! server cluster and a client cluster), so a property about another model reuses the same
//! schedules. Node references are small indexes taken modulo the topology's size, so a case
//! stays valid while proptest shrinks the number of clients under it; fault times are
//! fractions of the fault window, so they stay inside it while the duration shrinks.
//!
//! Shrinking works on the structure: the schedule is a `Vec` proptest shortens element by
//! element (a shrunk case has fewer faults), and each fault, network parameter and knob
//! shrinks toward its mildest value (no loss, short outages, small jumps). The seed does not
//! shrink: another seed is another run, not a simpler one.

use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::sample::select;

/// Nodes a fault can name (servers first, then clients). Indexes wrap modulo the actual
/// number of nodes, so every index is valid for every topology.
pub const MAX_NODES: usize = 8;

/// A named group of nodes, `NAME1` … `NAMEn`, as a `[[cluster]]` creates them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The cluster name.
    pub name: String,
    /// How many nodes (at least one).
    pub nodes: usize,
}

impl Group {
    /// The `i`-th node's name (from 0).
    pub fn node(&self, i: usize) -> String {
        format!("{}{}", self.name, i + 1)
    }
}

/// The nodes a schedule is rendered against: servers (which may crash or pause) and clients
/// (which may only be cut off or have their clocks disturbed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// The server cluster.
    pub servers: Group,
    /// The client cluster.
    pub clients: Group,
}

impl Topology {
    /// Servers and clients together.
    pub fn size(&self) -> usize {
        self.servers.nodes + self.clients.nodes
    }

    /// The name of node `i` modulo [`Topology::size`]: servers first, then clients.
    pub fn node(&self, i: u8) -> String {
        let i = usize::from(i) % self.size();
        if i < self.servers.nodes {
            self.servers.node(i)
        } else {
            self.clients.node(i - self.servers.nodes)
        }
    }

    /// The name of server `i` modulo the number of servers.
    pub fn server(&self, i: u8) -> String {
        self.servers.node(usize::from(i) % self.servers.nodes)
    }
}

/// One fault. Targets are indexes into a [`Topology`] (wrapped modulo its size).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Splits every node, clients included, into groups: `groups[i]` is node `i`'s group.
    /// Fewer than two non-empty groups means no partition (the fault is left out).
    Partition {
        /// The group of each node.
        groups: [u8; MAX_NODES],
    },
    /// Cuts one node off, both directions.
    Isolate {
        /// The node.
        node: u8,
    },
    /// A one-way cut: messages from the nodes with side 1 to the nodes with side 2 are
    /// dropped (side 0: untouched). Left out if either side is empty.
    Block {
        /// The side of each node.
        sides: [u8; MAX_NODES],
    },
    /// Removes every partition and block.
    Heal,
    /// Crashes a server and restarts it `down_ms` later (or at the final recovery).
    CrashRestart {
        /// The server.
        server: u8,
        /// How long it stays down.
        down_ms: u32,
    },
    /// Stalls a server for `for_ms` (a GC pause), then resumes it.
    Pause {
        /// The server.
        server: u8,
        /// How long it stalls.
        for_ms: u32,
    },
    /// Steps a node's wall clock.
    ClockJump {
        /// The node.
        node: u8,
        /// By how much (negative: backwards).
        by_ms: i32,
    },
    /// Sets a node's clock drift from now on.
    Drift {
        /// The node.
        node: u8,
        /// The new drift.
        ppm: i32,
    },
    /// Adds latency to every message for a while.
    LatencySpike {
        /// The extra latency.
        extra_ms: u32,
        /// How long.
        for_ms: u32,
    },
    /// Adds loss to every link for a while.
    LossBurst {
        /// The extra loss, in percent.
        loss_pct: u8,
        /// How long.
        for_ms: u32,
    },
}

/// A fault and when it strikes, as a fraction of the fault window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed {
    /// Position in the fault window, in thousandths (0 = its start, 999 = near its end).
    pub at_permille: u16,
    /// What happens.
    pub fault: Fault,
}

/// A fault schedule: faults at random times in a window, then a final recovery.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    /// The faults, in no particular order (rendering sorts them by time).
    pub faults: Vec<Timed>,
}

/// How long a timed outage (crash, pause, spike, burst) may last, in milliseconds.
const OUTAGE_MS: std::ops::RangeInclusive<u32> = 20..=4_000;

/// A node index, taken modulo the topology's size (or its number of servers).
fn node_index() -> impl Strategy<Value = u8> {
    any::<u8>()
}

/// Any single fault.
pub fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        3 => prop::array::uniform8(0u8..3).prop_map(|groups| Fault::Partition { groups }),
        2 => node_index().prop_map(|node| Fault::Isolate { node }),
        2 => prop::array::uniform8(0u8..3).prop_map(|sides| Fault::Block { sides }),
        2 => Just(Fault::Heal),
        3 => (node_index(), OUTAGE_MS)
            .prop_map(|(server, down_ms)| Fault::CrashRestart { server, down_ms }),
        2 => (node_index(), OUTAGE_MS).prop_map(|(server, for_ms)| Fault::Pause { server, for_ms }),
        2 => (node_index(), -10_000i32..=10_000)
            .prop_map(|(node, by_ms)| Fault::ClockJump { node, by_ms }),
        1 => (node_index(), -400_000i32..=400_000)
            .prop_map(|(node, ppm)| Fault::Drift { node, ppm }),
        1 => (1u32..=500, OUTAGE_MS)
            .prop_map(|(extra_ms, for_ms)| Fault::LatencySpike { extra_ms, for_ms }),
        2 => (1u8..=100, OUTAGE_MS)
            .prop_map(|(loss_pct, for_ms)| Fault::LossBurst { loss_pct, for_ms }),
    ]
}

/// A schedule of up to `max_faults` faults at random times.
pub fn schedule(max_faults: usize) -> impl Strategy<Value = Schedule> {
    prop::collection::vec(
        (0u16..1000, fault()).prop_map(|(at_permille, fault)| Timed { at_permille, fault }),
        0..=max_faults,
    )
    .prop_map(|faults| Schedule { faults })
}

/// Writes one `[[faults]]` table.
fn fault_table(out: &mut String, at_ms: u64, action: &str) {
    let _ = writeln!(out, "[[faults]]\nat = \"{at_ms}ms\"\n{action}\n");
}

/// A TOML array of quoted names.
fn names(list: &[String]) -> String {
    let quoted: Vec<String> = list.iter().map(|n| format!("\"{n}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

impl Schedule {
    /// The schedule as `[[faults]]` tables against `topology`: each fault at its place in the
    /// window `start_ms .. end_ms`, restarts and resumes of timed outages that end inside the
    /// window, and at `end_ms` the recovery — heal everything, resume and restart every server
    /// — after which the system runs undisturbed (no-ops where nothing needs undoing).
    pub fn render(&self, topology: &Topology, start_ms: u64, end_ms: u64) -> String {
        let span = end_ms.saturating_sub(start_ms);
        let mut entries: Vec<(u64, String)> = Vec::new();
        for t in &self.faults {
            let at = start_ms + span * u64::from(t.at_permille.min(999)) / 1000;
            let mut timed_outage = |start: &str, end: &str, node: String, ms: u32| {
                entries.push((at, format!("{start} = \"{node}\"")));
                let back = at + u64::from(ms);
                if back < end_ms {
                    entries.push((back, format!("{end} = \"{node}\"")));
                }
            };
            match &t.fault {
                Fault::Partition { groups } => {
                    let mut split: Vec<Vec<String>> = vec![Vec::new(); 3];
                    for i in 0..topology.size() {
                        split[usize::from(groups[i % MAX_NODES] % 3)].push(topology.node(i as u8));
                    }
                    split.retain(|g| !g.is_empty());
                    if split.len() >= 2 {
                        let groups: Vec<String> = split.iter().map(|g| names(g)).collect();
                        entries.push((at, format!("partition = [{}]", groups.join(", "))));
                    }
                }
                Fault::Isolate { node } => {
                    entries.push((at, format!("isolate = \"{}\"", topology.node(*node))));
                }
                Fault::Block { sides } => {
                    let side = |s: u8| -> Vec<String> {
                        (0..topology.size())
                            .filter(|&i| sides[i % MAX_NODES] % 3 == s)
                            .map(|i| topology.node(i as u8))
                            .collect()
                    };
                    let (from, to) = (side(1), side(2));
                    if !from.is_empty() && !to.is_empty() {
                        entries.push((
                            at,
                            format!("block = {{ from = {}, to = {} }}", names(&from), names(&to)),
                        ));
                    }
                }
                Fault::Heal => entries.push((at, "heal = \"all\"".to_owned())),
                Fault::CrashRestart { server, down_ms } => {
                    timed_outage("crash", "restart", topology.server(*server), *down_ms);
                }
                Fault::Pause { server, for_ms } => {
                    timed_outage("pause", "resume", topology.server(*server), *for_ms);
                }
                Fault::ClockJump { node, by_ms } => entries.push((
                    at,
                    format!(
                        "clock_jump = {{ node = \"{}\", by = \"{by_ms}ms\" }}",
                        topology.node(*node)
                    ),
                )),
                Fault::Drift { node, ppm } => entries.push((
                    at,
                    format!(
                        "drift = {{ node = \"{}\", ppm = {ppm} }}",
                        topology.node(*node)
                    ),
                )),
                Fault::LatencySpike { extra_ms, for_ms } => entries.push((
                    at,
                    format!("latency_spike = {{ extra = \"{extra_ms}ms\", for = \"{for_ms}ms\" }}"),
                )),
                Fault::LossBurst { loss_pct, for_ms } => entries.push((
                    at,
                    format!(
                        "loss_burst = {{ loss = {}, for = \"{for_ms}ms\" }}",
                        f64::from(*loss_pct) / 100.0
                    ),
                )),
            }
        }
        // Stable: faults at the same time keep their order in the schedule.
        entries.sort_by_key(|(at, _)| *at);
        let servers = &topology.servers.name;
        entries.push((end_ms, "heal = \"all\"".to_owned()));
        entries.push((end_ms, format!("resume = \"{servers}\"")));
        entries.push((end_ms, format!("restart = \"{servers}\"")));
        let mut out = String::new();
        for (at, action) in &entries {
            fault_table(&mut out, *at, action);
        }
        out
    }
}

/// A latency distribution, in microseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Latency {
    /// `uniform(lo, lo + spread)`.
    Uniform {
        /// Lower bound.
        lo_us: u32,
        /// Width.
        spread_us: u32,
    },
    /// `exponential(mean)`: a long tail, so messages overtake each other.
    Exponential {
        /// The mean.
        mean_us: u32,
    },
    /// `normal(mean, sd)`, truncated at zero.
    Normal {
        /// The mean.
        mean_us: u32,
        /// The standard deviation.
        sd_us: u32,
    },
    /// `lognormal(median, sigma)`.
    LogNormal {
        /// The median.
        median_us: u32,
        /// Sigma, in hundredths.
        sigma_centi: u32,
    },
}

impl Latency {
    /// The distribution in the scenario grammar.
    pub fn render(&self) -> String {
        match *self {
            Latency::Uniform { lo_us, spread_us } => {
                format!("uniform({lo_us}us, {}us)", lo_us + spread_us)
            }
            Latency::Exponential { mean_us } => format!("exponential({mean_us}us)"),
            Latency::Normal { mean_us, sd_us } => format!("normal({mean_us}us, {sd_us}us)"),
            Latency::LogNormal {
                median_us,
                sigma_centi,
            } => format!(
                "lognormal({median_us}us, {})",
                f64::from(sigma_centi) / 100.0
            ),
        }
    }
}

/// Latency distributions from sub-millisecond LAN links to slow, jittery ones.
pub fn latency() -> impl Strategy<Value = Latency> {
    prop_oneof![
        3 => (100u32..=5_000, 0u32..=20_000)
            .prop_map(|(lo_us, spread_us)| Latency::Uniform { lo_us, spread_us }),
        1 => (500u32..=8_000).prop_map(|mean_us| Latency::Exponential { mean_us }),
        1 => (500u32..=10_000, 0u32..=5_000)
            .prop_map(|(mean_us, sd_us)| Latency::Normal { mean_us, sd_us }),
        1 => (500u32..=5_000, 10u32..=100).prop_map(|(median_us, sigma_centi)| {
            Latency::LogNormal {
                median_us,
                sigma_centi,
            }
        }),
    ]
}

/// Link parameters: the default link, and optionally different links between two zones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// Latency of every link.
    pub latency: Latency,
    /// Loss probability, in thousandths.
    pub loss_permille: u16,
    /// Duplication probability, in thousandths.
    pub duplicate_permille: u16,
    /// Per-link FIFO order.
    pub fifo: bool,
    /// Nodes alternate between zones `a` and `b`, whose links have their own latency and loss.
    pub cross_zone: Option<(Latency, u16)>,
}

/// Network parameters: up to 10% loss and duplication, any latency shape.
pub fn network() -> impl Strategy<Value = Network> {
    (
        latency(),
        0u16..=100,
        0u16..=100,
        any::<bool>(),
        prop::option::weighted(0.25, (latency(), 0u16..=200)),
    )
        .prop_map(
            |(latency, loss_permille, duplicate_permille, fifo, cross_zone)| Network {
                latency,
                loss_permille,
                duplicate_permille,
                fifo,
                cross_zone,
            },
        )
}

impl Network {
    /// The `[network]` section (and its zone override).
    pub fn render(&self) -> String {
        let mut out = format!(
            "[network]\nlatency = \"{}\"\nloss = {}\nduplicate = {}\nfifo = {}\n\n",
            self.latency.render(),
            f64::from(self.loss_permille) / 1000.0,
            f64::from(self.duplicate_permille) / 1000.0,
            self.fifo
        );
        if let Some((latency, loss)) = &self.cross_zone {
            let _ = writeln!(
                out,
                "[[network.zones]]\nbetween = [\"a\", \"b\"]\nlatency = \"{}\"\nloss = {}\n",
                latency.render(),
                f64::from(*loss) / 1000.0
            );
        }
        out
    }

    /// The `zones = …` line for a cluster (empty without zones).
    pub fn zones_line(&self) -> &'static str {
        if self.cross_zone.is_some() {
            "zones = [\"a\", \"b\"]\n"
        } else {
            ""
        }
    }
}

/// Initial clock disagreement: offsets within ±`offset_ms`, drifts within ±`drift_ppm`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clocks {
    /// Largest initial offset.
    pub offset_ms: u32,
    /// Largest initial drift.
    pub drift_ppm: u32,
}

/// Clock parameters: offsets up to a second, drifts up to 0.1%.
pub fn clocks() -> impl Strategy<Value = Clocks> {
    (0u32..=1_000, 0u32..=1_000).prop_map(|(offset_ms, drift_ppm)| Clocks {
        offset_ms,
        drift_ppm,
    })
}

impl Clocks {
    /// The `[clocks]` section.
    pub fn render(&self) -> String {
        let offset = match self.offset_ms {
            0 => "0ms".to_owned(),
            ms => format!("uniform(-{ms}ms, {ms}ms)"),
        };
        let drift = match self.drift_ppm {
            0 => "0".to_owned(),
            ppm => format!("uniform(-{ppm}, {ppm})"),
        };
        format!("[clocks]\noffset = \"{offset}\"\ndrift_ppm = \"{drift}\"\n\n")
    }
}

/// The raft-kv options a case draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftKnobs {
    /// Shortest election timeout.
    pub election_lo_ms: u32,
    /// Width of the election timeout range (narrow: split votes).
    pub election_spread_ms: u32,
    /// Heartbeat period.
    pub heartbeat_ms: u32,
    /// PreVote.
    pub pre_vote: bool,
    /// CheckQuorum.
    pub check_quorum: bool,
    /// Reads through the log instead of ReadIndex.
    pub log_reads: bool,
    /// Snapshot every this many applied entries (0: never).
    pub snapshot_every: u32,
    /// Most entries per AppendEntries.
    pub max_entries_per_append: u32,
}

/// Raft options, small snapshot intervals and append sizes included (they exercise
/// InstallSnapshot and slow catch-up).
pub fn raft_knobs() -> impl Strategy<Value = RaftKnobs> {
    (
        100u32..=300,
        5u32..=300,
        20u32..=50,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        select(vec![1000u32, 0, 5, 20, 100]),
        select(vec![64u32, 1, 3, 8]),
    )
        .prop_map(
            |(
                election_lo_ms,
                election_spread_ms,
                heartbeat_ms,
                pre_vote,
                check_quorum,
                log_reads,
                snapshot_every,
                max_entries_per_append,
            )| RaftKnobs {
                election_lo_ms,
                election_spread_ms,
                heartbeat_ms,
                pre_vote,
                check_quorum,
                log_reads,
                snapshot_every,
                max_entries_per_append,
            },
        )
}

/// How clients load the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Load {
    /// Open loop, this many operations per second per client.
    Rate(u32),
    /// Closed loop, waiting this long between operations.
    ThinkMs(u32),
}

/// The kv-client options a case draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientKnobs {
    /// How many clients.
    pub count: usize,
    /// Their load.
    pub load: Load,
    /// Keys (fewer: more contention).
    pub keys: u32,
    /// Share of reads, in thousandths.
    pub read_permille: u32,
    /// Share of compare-and-sets, in thousandths.
    pub cas_permille: u32,
    /// Operation timeout.
    pub timeout_ms: u32,
    /// Resend period.
    pub retry_ms: u32,
    /// The open-loop breaker.
    pub breaker: bool,
}

/// Client options: 2–3 clients over 2–5 keys, closed loop (20–100 ms think time) or open loop
/// (2–15 operations a second), timeouts up to 600 ms: at most nine operations open per client.
///
/// The bounds keep the histories within what the linearizability checker decides in its
/// budget. An open-loop client keeps up to `rate × timeout` operations open while no leader
/// answers, and they all complete in a burst once one does; with many such operations
/// concurrent on one key the checker's search is exponential, and the verdict becomes
/// `unknown` (tests/it/repro/checker-burst.toml is one such history: linearizable, but it
/// takes the search some 260 million steps to show it).
pub fn client_knobs() -> impl Strategy<Value = ClientKnobs> {
    (
        2usize..=3,
        prop_oneof![
            (2u32..=15).prop_map(Load::Rate),
            (20u32..=100).prop_map(Load::ThinkMs)
        ],
        2u32..=5,
        200u32..=600,
        0u32..=300,
        150u32..=600,
        30u32..=300,
        any::<bool>(),
    )
        .prop_map(
            |(count, load, keys, read_permille, cas_permille, timeout_ms, retry_ms, breaker)| {
                ClientKnobs {
                    count,
                    load,
                    keys,
                    read_permille,
                    cas_permille,
                    timeout_ms,
                    retry_ms,
                    breaker,
                }
            },
        )
}

/// Replicas in a generated raft-kv case.
pub const REPLICAS: usize = 5;
/// The undisturbed time at the end of a case, after the final recovery.
pub const QUIET_MS: u64 = 2_000;

/// One raft-kv scenario: five replicas, a few clients, a fault schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftCase {
    /// The run's seed.
    pub seed: u64,
    /// Simulated length.
    pub duration_ms: u64,
    /// Links.
    pub network: Network,
    /// Clocks.
    pub clocks: Clocks,
    /// Raft options.
    pub raft: RaftKnobs,
    /// Clients.
    pub clients: ClientKnobs,
    /// Faults during the first `duration_ms - QUIET_MS`.
    pub schedule: Schedule,
}

/// A raft-kv case lasting 8–12 simulated seconds with up to `max_faults` faults.
pub fn raft_case(max_faults: usize) -> impl Strategy<Value = RaftCase> {
    (
        any::<u64>().no_shrink(),
        8_000u64..=12_000,
        network(),
        clocks(),
        raft_knobs(),
        client_knobs(),
        schedule(max_faults),
    )
        .prop_map(
            |(seed, duration_ms, network, clocks, raft, clients, schedule)| RaftCase {
                seed,
                duration_ms,
                network,
                clocks,
                raft,
                clients,
                schedule,
            },
        )
}

impl RaftCase {
    /// The nodes: replicas `kv1`…`kv5`, clients `c1`….
    pub fn topology(&self) -> Topology {
        Topology {
            servers: Group {
                name: "kv".to_owned(),
                nodes: REPLICAS,
            },
            clients: Group {
                name: "c".to_owned(),
                nodes: self.clients.count,
            },
        }
    }

    /// The case as a scenario file. Its `[expect]` asks for no invariant violation and a
    /// linearizable history, so `dsim run` on it fails exactly when the property does.
    pub fn to_toml(&self) -> String {
        let topology = self.topology();
        let r = &self.raft;
        let c = &self.clients;
        let zones = self.network.zones_line();
        let load = match c.load {
            Load::Rate(rate) => format!("rate = {rate}"),
            Load::ThinkMs(ms) => format!("think = \"{ms}ms\""),
        };
        let mut out = format!(
            "name = \"props/raft\"\n\
             description = \"A generated fault schedule against raft-kv (tests/it/raft_props.rs).\"\n\
             seed = {}\n\
             duration = \"{}ms\"\n\n",
            self.seed, self.duration_ms
        );
        out.push_str(&self.network.render());
        out.push_str(&self.clocks.render());
        let _ = writeln!(
            out,
            "[[cluster]]\nname = \"{}\"\nmodel = \"raft-kv\"\nnodes = {REPLICAS}\n{zones}\
             election_timeout = \"uniform({}ms, {}ms)\"\nheartbeat = \"{}ms\"\n\
             pre_vote = {}\ncheck_quorum = {}\nread_mode = \"{}\"\nsnapshot_every = {}\n\
             max_entries_per_append = {}\n",
            topology.servers.name,
            r.election_lo_ms,
            r.election_lo_ms + r.election_spread_ms,
            r.heartbeat_ms,
            r.pre_vote,
            r.check_quorum,
            if r.log_reads { "log" } else { "read-index" },
            r.snapshot_every,
            r.max_entries_per_append,
        );
        let _ = writeln!(
            out,
            "[[cluster]]\nname = \"{}\"\nmodel = \"kv-client\"\nnodes = {}\n{zones}\
             target = \"{}\"\nkeys = {}\nread_fraction = {}\ncas_fraction = {}\n{load}\n\
             timeout = \"{}ms\"\nretry_every = \"{}ms\"\nbreaker = {}\n",
            topology.clients.name,
            c.count,
            topology.servers.name,
            c.keys,
            f64::from(c.read_permille) / 1000.0,
            f64::from(c.cas_permille) / 1000.0,
            c.timeout_ms,
            c.retry_ms,
            c.breaker,
        );
        let end = self.duration_ms.saturating_sub(QUIET_MS);
        out.push_str(&self.schedule.render(&topology, 0, end));
        out.push_str("[expect]\nviolations = 0\nlinearizable = true\n");
        out
    }
}

/// Case counts for the properties built on these strategies: `default` per `cargo test`
/// (small enough for CI), or `DSIM_PROPTEST_CASES` when set, to run many more locally.
pub fn cases(default: u32) -> u32 {
    match std::env::var("DSIM_PROPTEST_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("DSIM_PROPTEST_CASES={v:?}: expected a number of cases")),
        Err(_) => default,
    }
}

/// A lock service case: three raft-kv replicas serving lock clients that write to a fencing
/// store and an unfenced one, under a fault schedule against replicas and clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockCase {
    /// The run's seed.
    pub seed: u64,
    /// Links.
    pub network: Network,
    /// Clocks.
    pub clocks: Clocks,
    /// Lock clients (2 or 3).
    pub clients: usize,
    /// Lease time to live, in milliseconds.
    pub ttl_ms: u32,
    /// Faults during the first 12 s of 15.
    pub schedule: Schedule,
}

/// A lock case with up to `max_faults` faults.
pub fn lock_case(max_faults: usize) -> impl Strategy<Value = LockCase> {
    (
        any::<u64>().no_shrink(),
        network(),
        clocks(),
        2usize..=3,
        500u32..=3_000,
        schedule(max_faults),
    )
        .prop_map(
            |(seed, network, clocks, clients, ttl_ms, schedule)| LockCase {
                seed,
                network,
                clocks,
                clients,
                ttl_ms,
                schedule,
            },
        )
}

impl LockCase {
    /// Replicas `kv1`…`kv3`, clients `c1`….
    pub fn topology(&self) -> Topology {
        Topology {
            servers: Group {
                name: "kv".to_owned(),
                nodes: 3,
            },
            clients: Group {
                name: "c".to_owned(),
                nodes: self.clients,
            },
        }
    }

    /// The case as a scenario: `[expect]` asks for no violation and mutual exclusion on the
    /// fencing store, so `dsim run` on it fails exactly when the property does.
    pub fn to_toml(&self) -> String {
        let zones = self.network.zones_line();
        let mut out = format!(
            "name = \"props/lock\"\n\
             description = \"A generated fault schedule against the lock service (tests/it/props.rs).\"\n\
             seed = {}\nduration = \"15s\"\n\n",
            self.seed
        );
        out.push_str(&self.network.render());
        out.push_str(&self.clocks.render());
        let _ = writeln!(
            out,
            "[[cluster]]\nname = \"kv\"\nmodel = \"raft-kv\"\nnodes = 3\n{zones}\n\
             [[cluster]]\nname = \"fenced\"\nmodel = \"fenced-store\"\n{zones}\n\
             [[cluster]]\nname = \"plain\"\nmodel = \"fenced-store\"\nfencing = false\n{zones}\n\
             [[cluster]]\nname = \"c\"\nmodel = \"lock-client\"\nnodes = {}\n{zones}\
             target = \"kv\"\nstores = [\"fenced\", \"plain\"]\nttl = \"{}ms\"\nhold = \"1s\"\n\
             work = \"50ms\"\nidle = \"200ms\"\n",
            self.clients, self.ttl_ms
        );
        out.push_str(&self.schedule.render(&self.topology(), 0, 12_000));
        out.push_str("[expect]\nviolations = 0\n\"mutual_exclusion.fenced\" = true\n");
        out
    }
}

/// A network case for the network model's bounds: echo servers and pingers (every pinger
/// pings every 2 ms) on links of any latency shape and loss, with partitions and heals at
/// random times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetCase {
    /// The run's seed.
    pub seed: u64,
    /// Latency of every link.
    pub latency: Latency,
    /// Loss probability, in thousandths (up to a half).
    pub loss_permille: u16,
    /// Per-link FIFO order.
    pub fifo: bool,
    /// Partitions and heals during the first 4 s of 5.
    pub cuts: Schedule,
}

/// A schedule of partitions of any shape and heals, up to `max` of them.
pub fn cuts(max: usize) -> impl Strategy<Value = Schedule> {
    prop::collection::vec(
        (
            0u16..1000,
            prop_oneof![
                3 => prop::array::uniform8(0u8..3).prop_map(|groups| Fault::Partition { groups }),
                1 => Just(Fault::Heal),
            ],
        )
            .prop_map(|(at_permille, fault)| Timed { at_permille, fault }),
        0..=max,
    )
    .prop_map(|faults| Schedule { faults })
}

/// A network case with up to `max_cuts` partitions and heals.
pub fn net_case(max_cuts: usize) -> impl Strategy<Value = NetCase> {
    (
        any::<u64>().no_shrink(),
        latency(),
        0u16..=500,
        any::<bool>(),
        cuts(max_cuts),
    )
        .prop_map(|(seed, latency, loss_permille, fifo, cuts)| NetCase {
            seed,
            latency,
            loss_permille,
            fifo,
            cuts,
        })
}

impl NetCase {
    /// Echo servers `srv1`…`srv3`, pingers `c1`…`c3`.
    pub fn topology(&self) -> Topology {
        Topology {
            servers: Group {
                name: "srv".to_owned(),
                nodes: 3,
            },
            clients: Group {
                name: "c".to_owned(),
                nodes: 3,
            },
        }
    }

    /// The case as a scenario (full trace: the properties read every delivery).
    pub fn to_toml(&self) -> String {
        let mut out = format!(
            "name = \"props/network\"\n\
             description = \"Generated links and partitions (tests/it/props.rs).\"\n\
             seed = {}\nduration = \"5s\"\ntrace = \"full\"\n\n\
             [network]\nlatency = \"{}\"\nloss = {}\nfifo = {}\n\n\
             [[cluster]]\nname = \"srv\"\nmodel = \"echo\"\nnodes = 3\n\n\
             [[cluster]]\nname = \"c\"\nmodel = \"pinger\"\nnodes = 3\ntarget = \"srv\"\n\
             interval = \"2ms\"\npick = \"random\"\n\n",
            self.seed,
            self.latency.render(),
            f64::from(self.loss_permille) / 1000.0,
            self.fifo
        );
        out.push_str(&self.cuts.render(&self.topology(), 0, 4_000));
        out.push_str("[expect]\nviolations = 0\n");
        out
    }
}
