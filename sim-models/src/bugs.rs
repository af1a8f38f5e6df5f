//! The bug catalog: deliberately broken variants of the models, off by default and switched on
//! by name in a scenario (`bugs = ["raft.vote-not-persisted"]`).
//!
//! Each is a mistake real systems have shipped. They exist so that the checkers, the sweeps
//! and the shrinker can be seen finding them (`scenarios/bugs/`). A model declares its bugs in
//! its registry entry ([`crate::model::ModelSpec::bugs`]) and reads the switches from the
//! [`Bugs`] its factories get in [`crate::model::NodeEnv`]; nothing here knows any model.

use std::collections::BTreeSet;

use crate::model;

/// One broken variant a scenario can switch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BugSpec {
    /// The name scenarios use: `<model family>.<what breaks>`.
    pub name: &'static str,
    /// One line on what the variant gets wrong.
    pub description: &'static str,
    /// The checker expected to catch it.
    pub caught_by: &'static str,
}

/// Every bug of every registered model, in registry order, without duplicates (a bug shared
/// by two models, as the lock service's are, is listed once).
pub fn catalog() -> Vec<BugSpec> {
    let mut out: Vec<BugSpec> = Vec::new();
    for m in model::registry() {
        for b in m.bugs {
            if !out.iter().any(|o| o.name == b.name) {
                out.push(*b);
            }
        }
    }
    out
}

/// Looks a bug up by name.
pub fn find(name: &str) -> Option<BugSpec> {
    catalog().into_iter().find(|b| b.name == name)
}

/// The bugs switched on in one scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    on: BTreeSet<&'static str>,
}

impl Bugs {
    /// The set of catalog bugs named in `names`; unknown names are left out (the scenario
    /// parser rejects them first, with the list of valid ones).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let on = names
            .into_iter()
            .filter_map(|n| find(n).map(|b| b.name))
            .collect();
        Bugs { on }
    }

    /// Whether `bug` (a model's constant, such as `raft::VOTE_NOT_PERSISTED`) is switched on.
    pub fn has(&self, bug: &BugSpec) -> bool {
        self.on.contains(bug.name)
    }

    /// Whether no bug is switched on.
    pub fn is_empty(&self) -> bool {
        self.on.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_names_are_unique_and_namespaced() {
        let all = catalog();
        assert!(all.len() >= 6, "{all:?}");
        for b in &all {
            assert!(b.name.contains('.'), "{}", b.name);
            assert!(!b.description.is_empty() && !b.caught_by.is_empty());
        }
        let bugs = Bugs::from_names(["raft.vote-not-persisted", "no.such-bug"]);
        assert!(bugs.has(&crate::raft::VOTE_NOT_PERSISTED));
        assert!(!bugs.has(&crate::raft::COMMIT_OLD_TERM));
        assert_eq!(bugs.on.len(), 1, "unknown names are left out");
    }
}
