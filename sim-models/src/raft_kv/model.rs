//! The `raft-kv` model: a [`RaftNode`] per server running [`KvLock`], with the cluster's
//! invariant observer and the lock service's commit follower shared by its nodes' factories.
//! This is the one place that puts the Raft engine and its application together.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Deserialize;
use sim_core::{NodeFactory, NodeId};

use crate::model::{ConfigProblem, Model, NodeEnv, table_of};
use crate::raft::{CommitRule, RaftBugs, RaftConfig, RaftNode, RaftObserver, progress};
use crate::raft_kv::{KvLock, witness};
use crate::world::World;

/// The `raft-kv` model: its configuration and, for the run being built, the cluster's
/// invariant observer (shared by the factories of all its nodes).
#[derive(Debug)]
pub struct RaftKv {
    config: RaftConfig,
    observer: RefCell<Option<Rc<RefCell<RaftObserver<KvLock>>>>>,
}

impl RaftKv {
    /// The model for `config`.
    pub fn new(config: RaftConfig) -> Self {
        RaftKv {
            config,
            observer: RefCell::new(None),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RaftConfig {
        &self.config
    }

    /// The observer of the last build, shared by its nodes' factories (for tests and tools
    /// that inspect a finished run).
    pub fn observer(&self) -> Option<Rc<RefCell<RaftObserver<KvLock>>>> {
        self.observer.borrow().clone()
    }

    /// The observer of the cluster at `env` for this build (one per cluster and build, shared
    /// by its nodes' factories), remembered for [`RaftKv::observer`]. The lock service
    /// follows the committed log through it.
    fn observer_for(
        &self,
        env: &NodeEnv<'_>,
        names: &BTreeMap<NodeId, String>,
    ) -> Rc<RefCell<RaftObserver<KvLock>>> {
        let follower = witness::follower(env);
        let observer = env
            .ghosts
            .get_or_insert_with(&format!("raft-observer/{}", env.cluster), || {
                RaftObserver::new(names.clone(), Some(follower))
            });
        *self.observer.borrow_mut() = Some(Rc::clone(&observer));
        observer
    }
}

/// Parses a `raft-kv` cluster's configuration (the registry's entry point).
pub fn parse(de: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Model>, toml::de::Error> {
    let config: RaftConfig = Deserialize::deserialize(de)?;
    Ok(Box::new(RaftKv::new(config)))
}

impl Model for RaftKv {
    fn to_table(&self) -> toml::Table {
        table_of(&self.config)
    }

    fn check(&self, _: &BTreeMap<String, Vec<NodeId>>) -> Result<(), ConfigProblem> {
        self.config.check()
    }

    fn progress(
        &self,
        sim: &sim_core::Simulation<World>,
        nodes: &[NodeId],
    ) -> Option<Box<dyn crate::model::Progress>> {
        let cluster = nodes
            .first()
            .and_then(|&n| sim.node_info(n))
            .map(|i| i.cluster.clone())?;
        Some(Box::new(progress::RaftProgress::start(
            sim, &cluster, nodes,
        )))
    }

    fn min_nodes(&self) -> u32 {
        3
    }

    fn factory(&self, env: &NodeEnv<'_>) -> NodeFactory<World> {
        let members = env.clusters.get(env.cluster).cloned().unwrap_or_default();
        let names: BTreeMap<NodeId, String> = members
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, format!("{}{}", env.cluster, i + 1)))
            .collect();
        let observer = self.observer_for(env, &names);
        let names = Rc::new(names);
        let peers: Vec<NodeId> = members.into_iter().filter(|&n| n != env.id).collect();
        let me = env.id;
        let mut config = self.config.clone();
        config.bugs = RaftBugs::from(env.bugs);
        if config.bugs.commit_old_term {
            config.commit_rule = CommitRule::AnyTerm;
        }
        Box::new(move || {
            Box::new(RaftNode::<KvLock>::new(
                config.clone(),
                me,
                peers.clone(),
                Rc::clone(&names),
                Rc::clone(&observer),
            ))
        })
    }
}
