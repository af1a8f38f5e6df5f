//! Edits to scenario text: set the seed, append a fault to the schedule.
//!
//! The explorer keeps the scenario as text so that what it saves is exactly what it ran:
//! injecting a fault appends a `[[faults]]` table, and saving writes the text with the seed
//! on screen. Comments and layout of the original file survive.

use std::fmt::Write as _;

use crate::fmt;

/// A fault a person can inject from the explorer, with node names as the scenario writes them.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultEdit {
    /// Crash a node (or every node of a cluster).
    Crash(String),
    /// Restart a crashed node.
    Restart(String),
    /// Stall a node, GC-style.
    Pause(String),
    /// End a stall.
    Resume(String),
    /// Cut one node off from every other.
    Isolate(String),
    /// Split the groups from each other.
    Partition(Vec<Vec<String>>),
    /// Block messages from `from` to `to` only (one direction).
    Block {
        /// Senders.
        from: Vec<String>,
        /// Receivers that stop hearing them.
        to: Vec<String>,
    },
    /// Remove every partition and block.
    Heal,
    /// Step a node's wall clock by a signed number of nanoseconds.
    ClockJump {
        /// The node.
        node: String,
        /// How far, in nanoseconds (negative: backwards).
        by_ns: i64,
    },
    /// Add latency to the links from `from` to `to` (one direction) for a while.
    Delay {
        /// Senders.
        from: Vec<String>,
        /// Receivers.
        to: Vec<String>,
        /// Extra latency, nanoseconds.
        extra_ns: u64,
        /// How long, nanoseconds.
        for_ns: u64,
    },
    /// Add latency to every message for a while.
    LatencySpike {
        /// Extra one-way latency, nanoseconds.
        extra_ns: u64,
        /// How long, nanoseconds.
        for_ns: u64,
    },
}

/// A TOML string literal.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn list(names: &[String]) -> String {
    let items: Vec<String> = names.iter().map(|n| quoted(n)).collect();
    format!("[{}]", items.join(", "))
}

fn signed(ns: i64) -> String {
    if ns < 0 {
        format!("-{}", fmt::time(ns.unsigned_abs()))
    } else {
        fmt::time(ns.unsigned_abs())
    }
}

impl FaultEdit {
    /// The fault as a `[[faults]]` table at time `at` (nanoseconds).
    pub fn to_toml(&self, at: u64) -> String {
        let mut out = format!("\n[[faults]]\nat = {}\n", quoted(&fmt::time(at)));
        let line = match self {
            FaultEdit::Crash(n) => format!("crash = {}", quoted(n)),
            FaultEdit::Restart(n) => format!("restart = {}", quoted(n)),
            FaultEdit::Pause(n) => format!("pause = {}", quoted(n)),
            FaultEdit::Resume(n) => format!("resume = {}", quoted(n)),
            FaultEdit::Isolate(n) => format!("isolate = {}", quoted(n)),
            FaultEdit::Partition(groups) => {
                let g: Vec<String> = groups.iter().map(|g| list(g)).collect();
                format!("partition = [{}]", g.join(", "))
            }
            FaultEdit::Block { from, to } => {
                format!("block = {{ from = {}, to = {} }}", list(from), list(to))
            }
            FaultEdit::Heal => "heal = \"all\"".to_owned(),
            FaultEdit::ClockJump { node, by_ns } => format!(
                "clock_jump = {{ node = {}, by = {} }}",
                quoted(node),
                quoted(&signed(*by_ns))
            ),
            FaultEdit::Delay {
                from,
                to,
                extra_ns,
                for_ns,
            } => format!(
                "delay = {{ from = {}, to = {}, extra = {}, for = {} }}",
                list(from),
                list(to),
                quoted(&fmt::time(*extra_ns)),
                quoted(&fmt::time(*for_ns))
            ),
            FaultEdit::LatencySpike { extra_ns, for_ns } => format!(
                "latency_spike = {{ extra = {}, for = {} }}",
                quoted(&fmt::time(*extra_ns)),
                quoted(&fmt::time(*for_ns))
            ),
        };
        let _ = writeln!(out, "{line}");
        out
    }

    /// A short description for the what-if history (`crash kv1`).
    pub fn describe(&self) -> String {
        match self {
            FaultEdit::Crash(n) => format!("crash {n}"),
            FaultEdit::Restart(n) => format!("restart {n}"),
            FaultEdit::Pause(n) => format!("pause {n}"),
            FaultEdit::Resume(n) => format!("resume {n}"),
            FaultEdit::Isolate(n) => format!("isolate {n}"),
            FaultEdit::Partition(g) => {
                let g: Vec<String> = g.iter().map(|x| format!("{{{}}}", x.join(","))).collect();
                format!("partition {}", g.join(" | "))
            }
            FaultEdit::Block { from, to } => {
                format!("block {{{}}} -> {{{}}}", from.join(","), to.join(","))
            }
            FaultEdit::Heal => "heal".to_owned(),
            FaultEdit::ClockJump { node, by_ns } => {
                format!("clock jump {node} by {}", signed(*by_ns))
            }
            FaultEdit::Delay {
                from,
                to,
                extra_ns,
                for_ns,
            } => format!(
                "delay {{{}}} -> {{{}}} by {} for {}",
                from.join(","),
                to.join(","),
                fmt::time(*extra_ns),
                fmt::time(*for_ns)
            ),
            FaultEdit::LatencySpike { extra_ns, for_ns } => {
                format!(
                    "latency +{} for {}",
                    fmt::time(*extra_ns),
                    fmt::time(*for_ns)
                )
            }
        }
    }
}

/// Appends `fault` at time `at` to the scenario text.
pub fn append_fault(text: &str, fault: &FaultEdit, at: u64) -> String {
    let mut out = text.trim_end().to_owned();
    out.push('\n');
    out.push_str(&fault.to_toml(at));
    out
}

/// The scenario text with its top-level `seed` set to `seed` (replaced where it is written,
/// or added as the first line).
pub fn with_seed(text: &str, seed: u64) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut done = false;
    let mut top_level = true;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            top_level = false;
        }
        let is_seed = top_level
            && !done
            && trimmed
                .strip_prefix("seed")
                .is_some_and(|rest| rest.trim_start().starts_with('='));
        if is_seed {
            let newline = if line.ends_with('\n') { "\n" } else { "" };
            let _ = write!(out, "seed = {seed}{newline}");
            done = true;
        } else {
            out.push_str(line);
        }
    }
    if done {
        out
    } else {
        format!("seed = {seed}\n{out}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_is_replaced_at_top_level_only() {
        let text = "name = \"x\"\nseed = 3 # comment\n[nemesis]\nseed = 9\n";
        assert_eq!(
            with_seed(text, 7),
            "name = \"x\"\nseed = 7\n[nemesis]\nseed = 9\n"
        );
        assert_eq!(with_seed("name = \"x\"\n", 5), "seed = 5\nname = \"x\"\n");
    }

    #[test]
    fn faults_render_as_scenario_tables() {
        let f = FaultEdit::Partition(vec![vec!["kv1".into(), "c1".into()], vec!["kv2".into()]]);
        assert_eq!(
            f.to_toml(12_500_000_001),
            "\n[[faults]]\nat = \"12.500000001s\"\npartition = [[\"kv1\", \"c1\"], [\"kv2\"]]\n"
        );
        let j = FaultEdit::ClockJump {
            node: "kv1".into(),
            by_ns: -2_000_000_000,
        };
        assert!(
            j.to_toml(0)
                .contains("clock_jump = { node = \"kv1\", by = \"-2s\" }")
        );
        assert_eq!(
            append_fault("a = 1\n\n", &FaultEdit::Heal, 0),
            "a = 1\n\n[[faults]]\nat = \"0ns\"\nheal = \"all\"\n"
        );
    }
}
