//! Protocol families: the wire types of a kind of service, apart from any model.
//!
//! A family is what one model serves and another calls: `raft-kv` serves [`kv`] and [`lock`],
//! `kv-client` calls [`kv`]. Models name the families they serve in their registry entry
//! ([`crate::model::ModelSpec::serves`]), and a reference to another cluster (a client's
//! `target`) names the family it needs, so a scenario that points a `kv-client` at an `echo`
//! cluster is an error at the key, naming what the cluster serves. The simulation's message
//! enum ([`crate::world::Msg`]) has one variant per message type, generated from the registry
//! in [`crate::world`].

pub mod kv;
pub mod lock;
pub mod ping;
pub mod store;

/// A kind of service: what a cluster can be asked to do over the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Family {
    /// The family's name, as errors and `dsim list` show it (`kv`).
    pub name: &'static str,
    /// One line on what its requests do.
    pub description: &'static str,
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}
