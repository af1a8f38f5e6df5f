//! # sim-models: the systems dsim simulates
//!
//! The models (sans-IO nodes over [`sim_core`]), the one protocol they share ([`world`]), the
//! registry that lets a scenario name a model, the scenario file format ([`scenario`]) and the
//! run summary ([`run`](mod@run)) that the CLI and GUI print.

pub mod bench;
pub mod bugs;
pub mod cluster_client;
pub mod config;
pub mod kit;
pub mod kv_client;
pub mod lock;
pub mod model;
pub mod ping;
pub mod protocols;
pub mod raft;
pub mod raft_kv;
pub mod run;
pub mod scenario;
pub mod shrink;
pub mod single_kv;
pub mod swarm;
pub mod sweep;
pub mod window;
pub mod world;

pub use run::{RunSummary, run, summarize};
pub use scenario::{LoadError, Overrides, Scenario, ScenarioError};
pub use world::World;
