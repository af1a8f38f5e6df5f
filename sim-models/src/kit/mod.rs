//! # The kit: small sans-IO parts that client and service models are built from
//!
//! Each part is a pure state machine that copies the published semantics of a well-known
//! implementation, so a reader's expectations carry over and the part can be tested against the
//! source's own figures (see `docs/validation.md`):
//!
//! - [`retry`]: backoff with Brooker's jitter variants and a retry budget;
//! - [`breaker`]: a circuit breaker with resilience4j's state machine and defaults;
//! - [`balancer`]: round robin, nginx's smooth weighted round robin, least outstanding
//!   requests, power of two choices, random and a consistent-hash ring;
//! - [`rate`]: a token bucket and Kong's fixed and sliding window counters.
//!
//! No part performs I/O, reads a clock or owns randomness. The caller passes the current time
//! as the node's monotonic clock ([`MonoTime`], what models measure timeouts on), spans as
//! [`sim_core::Duration`], and a `&mut` [`sim_core::SimRng`] to the one call that needs to draw,
//! so a run stays reproducible from its seed. Time is integer nanoseconds throughout; floats
//! appear only where a source defines a ratio or a percentage.
//!
//! Every part has a serde configuration struct (unknown keys rejected, defaults documented)
//! so a scenario file can configure it, and a constructor or `validate` that reports a bad
//! configuration as a [`ConfigError`] naming the field rather than panicking.

use sim_core::MonoTime;

pub mod balancer;
pub mod breaker;
pub mod rate;
pub mod request_table;
pub mod retry;

/// A configuration value a part cannot work with: which field, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// The configuration key at fault, as written in a scenario file.
    pub field: &'static str,
    /// What is wrong and what was expected.
    pub message: String,
}

impl ConfigError {
    /// An error about `field`.
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        ConfigError {
            field,
            message: message.into(),
        }
    }
}

/// Nanoseconds from `earlier` to `now`, zero if `now` is earlier: a monotonic clock never goes
/// back, and a caller that passes an older reading must not make a part refund time.
pub(crate) fn nanos_since(now: MonoTime, earlier: MonoTime) -> u64 {
    u64::try_from(now.nanos_since(earlier)).unwrap_or(0)
}

/// Asserts that `value` is written to TOML and read back unchanged, as `--print-config` needs.
#[cfg(test)]
pub(crate) fn assert_toml_round_trip<T>(value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = toml::to_string(value).expect("serialises");
    let back: T = toml::from_str(&text).expect("reads back");
    assert_eq!(&back, value, "through {text:?}");
}
