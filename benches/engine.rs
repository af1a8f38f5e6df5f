//! `cargo bench`: the engine benchmarks (W1 mesh, W2 heartbeats, W3 deep queue) against a
//! hand-written baseline loop, and W4 — a five-node raft-kv cluster serving 1,000 client
//! operations per simulated second, as a real-time ratio with the linearizability check timed
//! apart — printed as a table. No timing is asserted.
//!
//! `DSIM_BENCH_QUICK=1 cargo bench` runs 100× less work, once; `cargo bench -- --json`
//! prints JSON. The same workloads run from the installed binary as `dsim bench`.

use sim_models::bench::{self, Scale};

/// The allocator `dsim` itself uses, so the figures match `dsim bench`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let quick = std::env::var_os("DSIM_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0");
    let json = std::env::args().any(|a| a == "--json");
    let scale = if quick { Scale::QUICK } else { Scale::FULL };
    let report = bench::run_all(scale, |w| eprintln!("running {} ({})", w.name(), w.id()));
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: {e}"),
        }
    } else {
        print!("{}", bench::table(&report));
    }
}
