//! Integration tests across crates, one binary (as ripgrep does). Contents:
//!
//! * `scenario_errors` — bad scenario files and the exact errors they give;
//! * `engine` — crash/restart semantics, partitions, pauses, clocks, bounds;
//! * `determinism` — every shipped scenario twice, different seeds, golden hashes;
//! * `lock` — the lock service: its scenarios' stories and their counterfactuals, fencing
//!   under random faults;
//! * `cli` — the `dsim` binary end to end;
//! * `raft_props` — the Raft property: invariants and linearizability under random fault
//!   schedules (`DSIM_PROPTEST_CASES` sets the number of cases);
//! * `strategies` — the proptest strategies behind it (fault schedules, network, clocks,
//!   whole raft-kv scenarios), for any property to reuse.

mod cli;
mod determinism;
mod engine;
mod lock;
mod raft_props;
mod scenario_errors;
mod strategies;
