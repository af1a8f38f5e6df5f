//! The `store` family: writes to a protected resource under a lock, each carrying the
//! writer's fencing token (Kleppmann, "How to do distributed locking", 2016). Served by
//! `fenced-store`; called by `lock-client` (its `stores`).

use sim_core::Labeled;

use super::Family;

/// The protected-store family.
pub const FAMILY: Family = Family {
    name: "store",
    description: "writes to a protected store, each carrying the writer's fencing token",
};

/// A protected store's answer to a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The write was applied.
    Accepted,
    /// The write's token is below the highest the store has accepted: it was refused.
    RejectedStale {
        /// The highest token the store has accepted.
        highest: u64,
    },
}

/// Messages between a lock client and a protected store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreMsg {
    /// A client writes `value` under the lock it holds with `token`.
    Write {
        /// The client's sequence number for this write.
        seq: u64,
        /// The fencing token of the client's lock.
        token: u64,
        /// The value, unique per client and write.
        value: u64,
    },
    /// The store's answer to a write.
    WriteReply {
        /// The write's sequence number.
        seq: u64,
        /// Accepted or rejected.
        outcome: WriteOutcome,
    },
}

impl Labeled for StoreMsg {
    fn label(&self) -> &'static str {
        match self {
            StoreMsg::Write { .. } => "Write",
            StoreMsg::WriteReply { .. } => "WriteReply",
        }
    }
}
