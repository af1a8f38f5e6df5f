//! The `ping` family: a request and an answer carrying the server's wall clock. Served by
//! `echo`; called by `pinger`.

use sim_core::{Labeled, LocalTime};

use super::Family;

/// The ping family.
pub const FAMILY: Family = Family {
    name: "ping",
    description: "ping requests answered with a pong carrying the server's wall clock",
};

/// Messages of the ping model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingMsg {
    /// A request, numbered by the client.
    Ping {
        /// Client-local sequence number.
        seq: u64,
    },
    /// The answer, with the server's wall clock when it answered.
    Pong {
        /// The request's sequence number.
        seq: u64,
        /// The server's local clock reading.
        server_time: LocalTime,
    },
}

impl Labeled for PingMsg {
    fn label(&self) -> &'static str {
        match self {
            PingMsg::Ping { .. } => "ping",
            PingMsg::Pong { .. } => "pong",
        }
    }
}
