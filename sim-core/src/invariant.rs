//! Named invariants: what a model promises, so that a broken promise is reported by name.
//!
//! A node reports a breach with [`Ctx::violation`](crate::Ctx::violation), naming one of its
//! model's [`Invariant`] constants (`raft::ELECTION_SAFETY`). Sweeps group failures by the
//! invariant's [`name`](Invariant::name), the shrinker keeps a failure of the same name, and a
//! scenario's `[expect]` can pin `violations.<name>`. Nothing parses the human text.

use std::fmt;

/// A property a model promises, named so that tools can tell one broken promise from another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Invariant {
    /// The machine name, `<model>.<kebab-case>` and unique across models
    /// (`raft.election-safety`): what sweeps, the shrinker and `[expect]` use.
    pub name: &'static str,
    /// The human title that opens a report of the breach (`Election Safety`).
    pub title: &'static str,
}

impl Invariant {
    /// An invariant called `name` (machine) and `title` (human).
    pub const fn new(name: &'static str, title: &'static str) -> Self {
        Invariant { name, title }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The engine's own invariants: a node misused the API (a bug in a model, never in a run's
/// subject).
pub mod engine {
    use super::Invariant;

    /// A node sent a message to a node id the simulation does not have.
    pub const SEND_TO_KNOWN_NODE: Invariant = Invariant::new("engine.send-to-known-node", "engine");
    /// A client completed an operation it did not have open.
    pub const COMPLETE_OPEN_OPERATION: Invariant =
        Invariant::new("engine.complete-open-operation", "engine");

    /// Every engine invariant, for tools that list what a run can report.
    pub const ALL: &[Invariant] = &[SEND_TO_KNOWN_NODE, COMPLETE_OPEN_OPERATION];
}
