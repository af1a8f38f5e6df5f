//! The model registry: every model a scenario can name with `model = "…"`.
//!
//! A model has a typed configuration (serde, unknown keys rejected) parsed from the rest of its
//! `[[cluster]]` table, a cross-check against the other clusters, a factory per node, and
//! optionally verdicts of its own checkers on a finished run.

use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::rc::Rc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sim_core::{Invariant, NodeFactory, NodeId, SimTime, Simulation};

use crate::bugs::{BugSpec, Bugs};
use crate::config::Reference;
use crate::ping;
use crate::protocols::{self, Family};
use crate::world::World;
use crate::{kv_client, lock, raft, raft_kv, single_kv};

/// Where a node sits, handed to its model's factory.
#[derive(Clone, Debug)]
pub struct NodeEnv<'a> {
    /// The node's id.
    pub id: NodeId,
    /// Its 0-based index inside its cluster.
    pub index: usize,
    /// Its cluster's name.
    pub cluster: &'a str,
    /// Every cluster's nodes, by cluster name.
    pub clusters: &'a BTreeMap<String, Vec<NodeId>>,
    /// Ghost state shared by the checkers of this build.
    pub ghosts: &'a Ghosts,
    /// The catalog bugs the scenario switches on (see [`crate::bugs`]).
    pub bugs: &'a Bugs,
}

/// Ghost state shared by the models of one build of a scenario: checkers' bookkeeping that
/// nodes report facts to (as Raft servers report to their cluster's observer) and that may
/// span clusters (a lock service and the stores it protects). Factories capture the handles,
/// so the state outlives crashes; nodes never read it to decide anything. Each build gets a
/// fresh set, so a scenario built twice never mixes two runs.
#[derive(Default)]
pub struct Ghosts {
    slots: RefCell<BTreeMap<String, Rc<dyn Any>>>,
}

impl Debug for Ghosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ghosts")
            .field("slots", &self.slots.borrow().keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Ghosts {
    /// The ghost state named `key`, made by `make` the first time it is asked for. A key is
    /// meant for one type; asking for it with another replaces it rather than panicking.
    pub fn get_or_insert_with<T: 'static>(
        &self,
        key: &str,
        make: impl FnOnce() -> T,
    ) -> Rc<RefCell<T>> {
        let mut slots = self.slots.borrow_mut();
        if let Some(found) = slots
            .get(key)
            .and_then(|slot| Rc::clone(slot).downcast::<RefCell<T>>().ok())
        {
            return found;
        }
        let fresh = Rc::new(RefCell::new(make()));
        slots.insert(key.to_owned(), Rc::clone(&fresh) as Rc<dyn Any>);
        fresh
    }
}

/// A model's checker's verdict on a finished run, reported next to the linearizability check:
/// named metrics for the metric table (`[expect]` can pin them) and a human-readable account.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// What was checked (`mutual exclusion on plain`).
    pub check: String,
    /// Whether the property held.
    pub holds: bool,
    /// One line on what was checked and found.
    pub summary: String,
    /// Metrics to merge into the run's table, by full name (`mutual_exclusion.plain`).
    pub metrics: BTreeMap<String, f64>,
    /// The account: when the property fails, the events that prove it.
    pub report: String,
    /// When the property was first seen broken, if the checker knows (true time). A
    /// shrinker ends a candidate run soon after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<SimTime>,
}

/// A problem a model finds with its configuration in context, tied to one of its keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Where in the model's table the problem is: a key path such as `keys`, `stores[1]` or
    /// `routes[2].upstream` (the error points at that value).
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl ConfigProblem {
    /// A problem at the key path `key`.
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A parsed model configuration: what a cluster runs.
pub trait Model: Debug {
    /// The effective configuration with every default filled in (for `--print-config`).
    fn to_table(&self) -> toml::Table;
    /// The clusters this configuration refers to (a client's `target`), each with the family
    /// it must serve; the scenario checks that each exists and serves it, with the error at
    /// the key. None by default.
    fn references(&self) -> Vec<Reference> {
        Vec::new()
    }
    /// Checks what the values' own types cannot: combinations of keys, and facts about the
    /// other clusters (`clusters` maps every cluster's name to its nodes). References are
    /// checked before this is called. Fine by default.
    fn check(&self, clusters: &BTreeMap<String, Vec<NodeId>>) -> Result<(), ConfigProblem> {
        let _ = clusters;
        Ok(())
    }
    /// Whether this model's nodes are clients (they record operations; nemesis skips them).
    fn is_client(&self) -> bool {
        false
    }
    /// The factory that builds (and rebuilds, after a crash) the node at `env`.
    fn factory(&self, env: &NodeEnv<'_>) -> NodeFactory<World>;
    /// The verdicts of this model's checkers on `sim`, a finished run of the last build (none
    /// by default).
    fn verdicts(&self, sim: &Simulation<World>) -> Vec<Verdict> {
        let _ = sim;
        Vec::new()
    }
    /// The liveness check of this cluster's `nodes` for a quiet phase (faults off, network
    /// healed) that starts now: what to remember of the state now, judged at the deadline by
    /// [`Progress::judge`]. `None` (the default): the model has no progress to show.
    fn progress(&self, sim: &Simulation<World>, nodes: &[NodeId]) -> Option<Box<dyn Progress>> {
        let _ = (sim, nodes);
        None
    }
    /// The fewest nodes a cluster of this model may be shrunk to (default 1).
    fn min_nodes(&self) -> u32 {
        1
    }
    /// Smaller variants of this configuration for the shrinker to try, each a replacement
    /// for the model's keys of the cluster table (none by default). Fewer operations, fewer
    /// keys: whatever makes a failing run simpler while the model stays valid.
    fn reductions(&self) -> Vec<toml::Table> {
        Vec::new()
    }
}

/// A liveness check started when a quiet phase begins ([`Model::progress`]).
pub trait Progress {
    /// Whether the system made progress between `since` (the start of the quiet phase) and
    /// now (the deadline): a verdict whose metrics include `liveness.<cluster>` (1 or 0).
    fn judge(&self, sim: &Simulation<World>, nodes: &[NodeId], since: SimTime) -> Verdict;
}

/// Parses a model's configuration from the keys of its cluster table.
pub type ParseFn = fn(toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Model>, toml::de::Error>;

/// A registered model.
#[derive(Clone, Copy, Debug)]
pub struct ModelSpec {
    /// The name scenarios use.
    pub name: &'static str,
    /// One line on what it is.
    pub description: &'static str,
    /// Its configuration parser.
    pub parse: ParseFn,
    /// The protocol families its nodes serve (what a reference to its cluster may ask of it).
    pub serves: &'static [Family],
    /// The invariants its nodes report when broken (`[expect]` can pin
    /// `violations.<name>` for each).
    pub invariants: &'static [Invariant],
    /// The broken variants of it a scenario can switch on (see [`crate::bugs`]).
    pub bugs: &'static [BugSpec],
}

/// Parses a configuration type `C` with serde (unknown keys are errors in `C` itself).
pub fn parse_with<C>(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Model>, toml::de::Error>
where
    C: DeserializeOwned + Model + 'static,
{
    let config: C = serde::Deserialize::deserialize(de)?;
    Ok(Box::new(config))
}

/// Serializes a configuration to a TOML table (for `to_table`).
pub fn table_of<C: Serialize>(config: &C) -> toml::Table {
    toml::Table::try_from(config).unwrap_or_default()
}

/// Every model, in catalog order.
pub fn registry() -> &'static [ModelSpec] {
    &[
        ModelSpec {
            name: "echo",
            description: "answers every ping with a pong carrying its local clock; counts pings durably",
            parse: parse_with::<ping::EchoConfig>,
            serves: &[protocols::ping::FAMILY],
            invariants: &[],
            bugs: &[],
        },
        ModelSpec {
            name: "pinger",
            description: "a client that pings a target cluster, times out, and estimates clock skew",
            parse: parse_with::<ping::PingerConfig>,
            serves: &[],
            invariants: &[],
            bugs: &[],
        },
        ModelSpec {
            name: "raft-kv",
            description: "a key-value store replicated with Raft: elections, replication, snapshots, PreVote, CheckQuorum, ReadIndex",
            parse: raft_kv::parse,
            serves: &[protocols::kv::FAMILY, protocols::lock::FAMILY],
            invariants: raft::INVARIANTS,
            bugs: raft::BUGS,
        },
        ModelSpec {
            name: "single-kv",
            description: "a key-value store on one node, not replicated: consistent, and down whenever that node is",
            parse: parse_with::<single_kv::SingleKvConfig>,
            serves: &[protocols::kv::FAMILY],
            invariants: &[],
            bugs: &[],
        },
        ModelSpec {
            name: "kv-client",
            description: "a client issuing reads, writes and compare-and-sets to a key-value cluster, following leader redirects",
            parse: parse_with::<kv_client::KvClientConfig>,
            serves: &[],
            invariants: &[kv_client::REPLY_MATCHES_REQUEST],
            bugs: &[],
        },
        ModelSpec {
            name: "lock-client",
            description: "a client of the lock service on raft-kv: a session with a lease, acquire, writes to protected stores, release",
            parse: parse_with::<lock::client::LockClientConfig>,
            serves: &[],
            invariants: &[lock::client::REPLY_MATCHES_REQUEST],
            bugs: lock::client::BUGS,
        },
        ModelSpec {
            name: "fenced-store",
            description: "a store protected by a lock; with fencing it rejects writes with a token below the highest it has seen",
            parse: lock::store::parse,
            serves: &[protocols::store::FAMILY],
            invariants: &[],
            bugs: lock::store::BUGS,
        },
    ]
}

/// Looks up a model by name.
pub fn find(name: &str) -> Option<&'static ModelSpec> {
    registry().iter().find(|m| m.name == name)
}
