//! Validated configuration values that models share, so a model declares what a key must be
//! instead of checking ranges by hand.
//!
//! Each type checks itself when it is deserialised, so a bad value is an error at the value
//! (file, line, column and key) with what was expected. A reference to another cluster
//! ([`ClusterRef`]) can only be judged against the whole scenario: a model lists its
//! references ([`crate::model::Model::references`]) with the [`Family`] each needs, and the
//! scenario checks that the cluster exists and serves it.

use std::fmt;
use std::num::NonZeroU64;

use serde::{Deserialize, Deserializer, Serialize};
use sim_core::Duration;

use crate::protocols::Family;

/// A probability or a fraction: a number from 0 to 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Probability(f64);

impl Probability {
    /// `p` if it lies in [0, 1].
    pub fn new(p: f64) -> Option<Self> {
        (0.0..=1.0).contains(&p).then_some(Probability(p))
    }

    /// The number.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let p = f64::deserialize(de)?;
        Probability::new(p).ok_or_else(|| {
            serde::de::Error::custom(format!("expected a number from 0 to 1, got {p}"))
        })
    }
}

impl fmt::Display for Probability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A count of at least one (keys, a batch size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Count(NonZeroU64);

impl Count {
    /// One.
    pub const ONE: Count = Count(NonZeroU64::MIN);

    /// `n` if it is at least 1.
    pub const fn new(n: u64) -> Option<Self> {
        match NonZeroU64::new(n) {
            Some(n) => Some(Count(n)),
            None => None,
        }
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0.get()
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(de)?;
        u64::try_from(n).ok().and_then(Count::new).ok_or_else(|| {
            serde::de::Error::custom(format!("expected a whole number of at least 1, got {n}"))
        })
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A duration longer than zero (a timeout, a period).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NonZeroDuration(Duration);

impl NonZeroDuration {
    /// `d` if it is longer than zero.
    pub fn new(d: Duration) -> Option<Self> {
        (d > Duration::ZERO).then_some(NonZeroDuration(d))
    }

    /// `ms` milliseconds, for defaults written in code: use it in a `const` so that a zero
    /// fails the build rather than a run.
    pub const fn from_millis(ms: u64) -> Self {
        assert!(ms > 0, "a NonZeroDuration must be longer than 0");
        NonZeroDuration(Duration::from_millis(ms))
    }

    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl<'de> Deserialize<'de> for NonZeroDuration {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let d = Duration::deserialize(de)?;
        NonZeroDuration::new(d)
            .ok_or_else(|| serde::de::Error::custom("expected a duration longer than 0, got 0s"))
    }
}

impl fmt::Display for NonZeroDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The name of another cluster of the scenario. Whether it exists and serves what the
/// referring model needs is checked against the whole scenario (see [`Reference`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ClusterRef(String);

impl ClusterRef {
    /// A reference to the cluster called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        ClusterRef(name.into())
    }

    /// The cluster's name.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ClusterRef {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let name = String::deserialize(de)?;
        if name.is_empty() {
            return Err(serde::de::Error::custom(
                "expected the name of a cluster, got an empty string",
            ));
        }
        Ok(ClusterRef(name))
    }
}

impl fmt::Display for ClusterRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One reference a model's configuration makes to another cluster, and what it needs of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Where in the model's table the reference is: a key path such as `target`,
    /// `stores[1]` or `routes[2].upstream`.
    pub key: String,
    /// The cluster named.
    pub cluster: ClusterRef,
    /// The family the referenced cluster must serve.
    pub needs: Family,
}

impl Reference {
    /// A reference at `key` to `cluster`, which must serve `needs`.
    pub fn new(key: impl Into<String>, cluster: &ClusterRef, needs: Family) -> Self {
        Reference {
            key: key.into(),
            cluster: cluster.clone(),
            needs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct T {
        p: Option<Probability>,
        n: Option<Count>,
        d: Option<NonZeroDuration>,
        c: Option<ClusterRef>,
    }

    fn parse(text: &str) -> Result<T, String> {
        toml::from_str::<T>(text).map_err(|e| e.message().to_owned())
    }

    #[test]
    fn values_are_judged_where_they_are_written() {
        assert_eq!(parse("p = 0.25").expect("ok").p, Probability::new(0.25));
        assert_eq!(parse("p = 1").expect("ok").p, Probability::new(1.0));
        assert_eq!(
            parse("p = 1.5").expect_err("above 1"),
            "expected a number from 0 to 1, got 1.5"
        );
        assert!(parse("p = -0.1").is_err());
        assert_eq!(parse("n = 3").expect("ok").n.map(Count::get), Some(3));
        assert_eq!(
            parse("n = 0").expect_err("zero"),
            "expected a whole number of at least 1, got 0"
        );
        assert!(parse("n = -2").is_err());
        assert_eq!(
            parse("d = \"2s\"").expect("ok").d.map(NonZeroDuration::get),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse("d = \"0s\"").expect_err("zero"),
            "expected a duration longer than 0, got 0s"
        );
        assert_eq!(
            parse("c = \"kv\"").expect("ok").c.map(|c| c.0),
            Some("kv".to_owned())
        );
        assert!(parse("c = \"\"").is_err());
    }

    #[test]
    fn they_print_back_as_they_were_written() {
        #[derive(Serialize)]
        struct Out {
            p: Probability,
            d: NonZeroDuration,
            c: ClusterRef,
        }
        let out = Out {
            p: Probability(0.5),
            d: NonZeroDuration(Duration::from_millis(100)),
            c: ClusterRef::new("kv"),
        };
        let text = toml::to_string(&out).expect("serialises");
        assert_eq!(text, "p = 0.5\nd = \"100ms\"\nc = \"kv\"\n");
    }
}
