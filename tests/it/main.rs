//! Integration tests across crates, one binary (as ripgrep does). Contents:
//!
//! * `scenario_errors` — bad scenario files and the exact errors they give;
//! * `engine` — crash/restart semantics, partitions, pauses, clocks, bounds;
//! * `determinism` — every shipped scenario twice, different seeds, golden hashes;
//! * `lock` — the lock service: its scenarios' stories and their counterfactuals, fencing
//!   under random faults;
//! * `cli` — the `dsim` binary end to end.

mod cli;
mod determinism;
mod engine;
mod lock;
mod scenario_errors;
