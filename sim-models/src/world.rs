//! The one protocol every model shares: the enums of all messages, timers and durable values.
//!
//! A scenario can mix models (clients of one model talking to servers of another), so the
//! engine runs one message type per simulation. Each model owns a variant.

use sim_core::{Labeled, Protocol};

use crate::ping;

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
}

impl Labeled for Msg {
    fn label(&self) -> &'static str {
        match self {
            Msg::Ping(m) => m.label(),
        }
    }
}

/// Every timer of every model.
#[derive(Clone, Debug, PartialEq)]
pub enum Timer {
    /// Ping/echo timers.
    Ping(ping::PingTimer),
}

impl Labeled for Timer {
    fn label(&self) -> &'static str {
        match self {
            Timer::Ping(t) => t.label(),
        }
    }
}

/// Every value any model keeps in durable storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Durable {
    /// A counter.
    Count(u64),
}
