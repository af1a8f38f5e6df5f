//! The one protocol every model shares: the enums of all messages, timers and durable values.
//!
//! A scenario can mix models (clients of one model talking to servers of another), so the
//! engine runs one message type per simulation. Each model owns a variant.

use sim_core::{Labeled, Protocol};

use sim_core::NodeId;

use crate::kv_client::{KvClientTimer, KvMsg};
use crate::lock::LockMsg;
use crate::lock::client::LockClientTimer;
use crate::ping;
use crate::raft::log::Entry;
use crate::raft::state_machine::Snapshot;
use crate::raft::{RaftMsg, RaftTimer};

/// The protocol all shipped models run on.
#[derive(Clone, Copy, Debug)]
pub struct World;

impl Protocol for World {
    type Msg = Msg;
    type Timer = Timer;
    type Durable = Durable;
}

/// Every message of every model.
#[derive(Clone, Debug, PartialEq)]
pub enum Msg {
    /// Ping/echo messages.
    Ping(ping::PingMsg),
    /// Raft messages between `raft-kv` servers (boxed, like `Kv`, so that every message — a
    /// ping's too — stays small inside its delivery event).
    Raft(Box<RaftMsg>),
    /// Key-value requests and replies between `kv-client`s and servers.
    Kv(Box<KvMsg>),
    /// Lock-service requests and replies, and writes to protected stores.
    Lock(Box<LockMsg>),
}

impl Labeled for Msg {
    fn label(&self) -> &'static str {
        match self {
            Msg::Ping(m) => m.label(),
            Msg::Raft(m) => m.label(),
            Msg::Kv(m) => m.label(),
            Msg::Lock(m) => m.label(),
        }
    }
}

/// Every timer of every model.
#[derive(Clone, Debug, PartialEq)]
pub enum Timer {
    /// Ping/echo timers.
    Ping(ping::PingTimer),
    /// `raft-kv` server timers.
    Raft(RaftTimer),
    /// `kv-client` timers.
    KvClient(KvClientTimer),
    /// `lock-client` timers.
    LockClient(LockClientTimer),
}

impl Labeled for Timer {
    fn label(&self) -> &'static str {
        match self {
            Timer::Ping(t) => t.label(),
            Timer::Raft(t) => t.label(),
            Timer::KvClient(t) => t.label(),
            Timer::LockClient(t) => t.label(),
        }
    }
}

/// Every value any model keeps in durable storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Durable {
    /// A counter (a ping count; a fenced store's highest accepted token).
    Count(u64),
    /// A Raft server's `currentTerm` and `votedFor` (key `meta`).
    RaftMeta {
        /// The latest term the server has seen.
        term: u64,
        /// The candidate it voted for in that term, if any.
        voted_for: Option<NodeId>,
    },
    /// One Raft log entry (key `log/{index:020}`).
    RaftEntry(Entry),
    /// A Raft server's latest snapshot (key `snapshot`).
    RaftSnapshot(Snapshot),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_stay_small() {
        // A message travels inside its delivery event: a big variant would make every pending
        // event of every model bigger. Box large payloads instead.
        assert!(
            std::mem::size_of::<Msg>() <= 24,
            "{}",
            std::mem::size_of::<Msg>()
        );
    }
}
