//! Integration tests across crates, one binary (as ripgrep does). Contents:
//!
//! * `scenario_errors` — bad scenario files and the exact errors they give;
//! * `bugs` — the bug catalog: sweeps find each bug within a stated number of seeds, the
//!   scenario passes without it, and the shrunk reproducer is small and fails on its own;
//! * `sweep` — `dsim sweep`, `sweep merge`, shards, an interrupted sweep, `dsim shrink`,
//!   swarm draws and the quiet liveness phase;
//! * `engine` — crash/restart semantics, partitions, pauses, clocks, bounds;
//! * `determinism` — every shipped scenario twice, different seeds, golden hashes;
//! * `harness` — the handler-level harness (`sim_core::testing`) on the shipped `echo` and
//!   `pinger` models: one event in, the exact list of effects out;
//! * `lock` — the lock service: its scenarios' stories and their counterfactuals, fencing
//!   under random faults;
//! * `cli` — the `dsim` binary end to end;
//! * `raft_props` — the Raft property: invariants and linearizability under random fault
//!   schedules (`DSIM_PROPTEST_CASES` sets the number of cases);
//! * `props` — properties over generated cases: the engine is deterministic for any input,
//!   fencing keeps mutual exclusion under any schedule, the network keeps its bounds (loss
//!   rate, no delivery across a partition, FIFO order);
//! * `strategies` — the proptest strategies behind it (fault schedules, network, clocks,
//!   whole raft-kv scenarios), for any property to reuse.

mod bugs;
mod cli;
mod determinism;
mod engine;
mod harness;
mod lock;
mod props;
mod raft_props;
mod scenario_errors;
mod strategies;
mod sweep;
