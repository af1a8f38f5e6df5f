//! The replicated state: the state machine with its client sessions, what every server applies
//! the committed log to and what a snapshot carries (§7).

use sim_core::NodeId;

use crate::raft::log::ClientCommand;
use crate::raft::machine::StateMachine;
use crate::raft::sessions::{Applied, Sessions};

/// A state machine and the sessions of its clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica<S: StateMachine> {
    /// The machine as of the last applied entry.
    pub machine: S,
    /// The clients' sessions as of the same entry.
    pub sessions: Sessions<S::Output>,
}

impl<S: StateMachine> Default for Replica<S> {
    fn default() -> Self {
        Replica {
            machine: S::default(),
            sessions: Sessions::default(),
        }
    }
}

impl<S: StateMachine> Replica<S> {
    /// Applies a client's command committed at `index`, once per (client, seq).
    pub fn apply(&mut self, index: u64, command: &ClientCommand<S::Command>) -> Applied<S::Output> {
        let machine = &mut self.machine;
        self.sessions
            .apply_once(command.client, command.seq, command.first_open, || {
                machine.apply(index, command.client, &command.op)
            })
    }

    /// The remembered output of (client, seq), if it was applied and is still remembered.
    pub fn remembered(&self, client: NodeId, seq: u64) -> Option<S::Output> {
        self.sessions.remembered(client, seq)
    }
}

/// A snapshot: the replicated state as of `last_index`, and that entry's term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot<S: StateMachine> {
    /// The last log index applied to `state`.
    pub last_index: u64,
    /// Its term.
    pub last_term: u64,
    /// The state machine with its sessions.
    pub state: Replica<S>,
}
