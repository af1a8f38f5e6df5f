//! The model registry: every model a scenario can name with `model = "…"`.
//!
//! A model has a typed configuration (serde, unknown keys rejected) parsed from the rest of its
//! `[[cluster]]` table, a cross-check against the other clusters, and a factory per node.

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sim_core::{NodeFactory, NodeId};

use crate::ping;
use crate::world::World;
use crate::{kv_client, raft};

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
}

/// A problem a model finds with its configuration in context, tied to one of its keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key of the model's table the problem is about.
    pub key: &'static str,
    /// What is wrong and what was expected.
    pub message: String,
}

/// A parsed model configuration: what a cluster runs.
pub trait Model: Debug {
    /// The effective configuration with every default filled in (for `--print-config`).
    fn to_table(&self) -> toml::Table;
    /// Checks references to other clusters (e.g. a client's target).
    fn check(&self, clusters: &BTreeMap<String, Vec<NodeId>>) -> Result<(), ConfigProblem>;
    /// Whether this model's nodes are clients (they record operations; nemesis skips them).
    fn is_client(&self) -> bool {
        false
    }
    /// The factory that builds (and rebuilds, after a crash) the node at `env`.
    fn factory(&self, env: &NodeEnv<'_>) -> NodeFactory<World>;
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
        },
        ModelSpec {
            name: "pinger",
            description: "a client that pings a target cluster, times out, and estimates clock skew",
            parse: parse_with::<ping::PingerConfig>,
        },
        ModelSpec {
            name: "raft-kv",
            description: "a key-value store replicated with Raft: elections, replication, snapshots, PreVote, CheckQuorum, ReadIndex",
            parse: raft::parse,
        },
        ModelSpec {
            name: "kv-client",
            description: "a client issuing reads, writes and compare-and-sets to a key-value cluster, following leader redirects",
            parse: parse_with::<kv_client::KvClientConfig>,
        },
    ]
}

/// Looks up a model by name.
pub fn find(name: &str) -> Option<&'static ModelSpec> {
    registry().iter().find(|m| m.name == name)
}
