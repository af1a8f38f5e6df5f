//! The command line: every subcommand and flag, with help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sim_core::{Duration, TraceLevel};

/// A deterministic distributed-systems simulator: one seed and one scenario give exactly one run.
#[derive(Debug, Parser)]
#[command(name = "dsim", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario once and print a summary (exit 1 if an expectation or invariant fails).
    Run(RunArgs),
    /// Check scenario files without running them.
    Validate(ValidateArgs),
    /// List the scenarios under a directory with their descriptions.
    List(ListArgs),
    /// Run a scenario twice with one seed and report the first event where the runs differ.
    CheckDeterminism(DeterminismArgs),
    /// List the models a scenario can name.
    Models,
    /// Measure the engine on this machine: the W1/W2/W3 workloads against a hand-written
    /// baseline loop, and W4, a raft-kv cluster at 1,000 operations per simulated second, as a
    /// real-time ratio (under a minute; `--quick` takes a second).
    Bench(BenchArgs),
    /// Check a recorded history (dsim JSON lines or Jepsen EDN) for linearizability.
    Check(CheckArgs),
    /// Run one scenario over many seeds in parallel and report the failures by kind
    /// (`dsim sweep merge` joins the results of shards).
    Sweep(SweepArgs),
    /// Cut a failing seed's scenario down to a small one that fails the same way on its own.
    Shrink(ShrinkArgs),
    /// List the catalog of deliberate bugs a scenario can switch on with `bugs = [...]`.
    Bugs(BugsArgs),
    /// Open the desktop explorer: the scenario picker, or the given scenario run with its
    /// message timeline, node states, plots, verdicts and what-if faults.
    Gui(GuiArgs),
}

/// A range of seeds, `A..B` (B excluded) or a single seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// The first seed.
    pub from: u64,
    /// One past the last seed.
    pub to: u64,
}

fn parse_seeds(s: &str) -> Result<SeedRange, String> {
    let bad = || format!("expected seeds as A..B (B excluded), e.g. 0..1000, got {s:?}");
    let (from, to) = match s.split_once("..") {
        Some((a, b)) => (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        ),
        None => {
            let one: u64 = s.trim().parse().map_err(|_| bad())?;
            (one, one.saturating_add(1))
        }
    };
    if from >= to {
        return Err(format!(
            "the seed range {s} is empty: write A..B with A < B"
        ));
    }
    Ok(SeedRange { from, to })
}

/// A shard `I/N`: the I-th (from 1) of N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, from 1.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    let bad = || format!("expected a shard as I/N with 1 <= I <= N, e.g. 2/8, got {s:?}");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let index: u64 = i.trim().parse().map_err(|_| bad())?;
    let count: u64 = n.trim().parse().map_err(|_| bad())?;
    if index == 0 || index > count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// `dsim sweep`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    /// `merge`: join shard results instead of running.
    #[command(subcommand)]
    pub merge: Option<SweepCommand>,
    /// The scenario file.
    pub scenario: Option<PathBuf>,
    /// Seeds to run: A..B (B excluded).
    #[arg(long, value_parser = parse_seeds, default_value = "0..1000")]
    pub seeds: SeedRange,
    /// Runs at once (default: one per core).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Run only shard I of N: every N-th seed of the range, starting at the I-th.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Write one JSON line per finished seed to FILE (flushed as it goes).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Each seed also draws its fault mix and network within the scenario's `[swarm]` bounds.
    #[arg(long)]
    pub swarm: bool,
    /// Shrink the first failing seed of each kind and write the reproducers next to `--out`
    /// (or into the current directory).
    #[arg(long)]
    pub shrink: bool,
    /// Stop at the first failing seed (the report still counts the seeds run).
    #[arg(long)]
    pub stop_on_failure: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `dsim sweep merge`.
#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Join the `--out` files of shards into one report.
    Merge(MergeArgs),
}

/// `dsim sweep merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The JSON-lines files the shards wrote.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `dsim shrink`.
#[derive(Debug, Args)]
pub struct ShrinkArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// The failing seed.
    #[arg(long)]
    pub seed: u64,
    /// Draw the seed's swarm parameters first (as `dsim sweep --swarm` did).
    #[arg(long)]
    pub swarm: bool,
    /// The failure kind to keep (default: the seed's first), e.g. "invariant: raft.election-safety".
    #[arg(long)]
    pub kind: Option<String>,
    /// Most runs to spend.
    #[arg(long, default_value_t = 3000)]
    pub max_runs: usize,
    /// Other seeds to try a smaller candidate with when the seed no longer fails with it
    /// (0 keeps the seed; the reproducer records the seed it fails with).
    #[arg(long, default_value_t = 16)]
    pub reseed: u32,
    /// Write the shrunk scenario to FILE (default: print it).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `dsim bugs`.
#[derive(Debug, Args)]
pub struct BugsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Trace levels as command-line values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TraceLevelArg {
    /// Keep nothing (the hash is still computed).
    Off,
    /// Keep faults, crashes, annotations, operations and drops.
    Summary,
    /// Keep every event.
    Full,
}

impl From<TraceLevelArg> for TraceLevel {
    fn from(t: TraceLevelArg) -> TraceLevel {
        match t {
            TraceLevelArg::Off => TraceLevel::Off,
            TraceLevelArg::Summary => TraceLevel::Summary,
            TraceLevelArg::Full => TraceLevel::Full,
        }
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    sim_core::units::parse_duration(s).map_err(|e| e.to_string())
}

/// `dsim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Seed for this run (overrides the file's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated duration (overrides the file's `duration`), e.g. `30s`.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Write the trace to FILE: `.csv` or `.jsonl` (implies `--trace-level full` unless given).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// How much trace to keep in memory.
    #[arg(long, value_enum)]
    pub trace_level: Option<TraceLevelArg>,
    /// Print the summary as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Print the effective scenario (every default filled in) and exit without running.
    #[arg(long)]
    pub print_config: bool,
    /// Also print per-node metrics (the default table shows run- and cluster-level ones).
    #[arg(long, short)]
    pub verbose: bool,
    /// Draw the seed's fault mix and network from the scenario's `[swarm]` table first, as
    /// `dsim sweep --swarm` does.
    #[arg(long)]
    pub swarm: bool,
}

/// `dsim validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files to check.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
}

/// `dsim list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Directory to search for `.toml` scenarios (recursively).
    #[arg(default_value = "scenarios")]
    pub dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `dsim check-determinism`.
#[derive(Debug, Args)]
pub struct DeterminismArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Seed (overrides the file's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated duration (overrides the file's).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `dsim bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// 100 times less work, measured once instead of best of five: a smoke test whose
    /// figures are only indicative.
    #[arg(long)]
    pub quick: bool,
    /// Measure sweep throughput instead: seeds per second of SCENARIO (default
    /// scenarios/cap/raft-partition.toml) with one job and with two, and the speed-up.
    #[arg(long, value_name = "SCENARIO", num_args = 0..=1,
          default_missing_value = "scenarios/cap/raft-partition.toml")]
    pub sweep: Option<PathBuf>,
    /// Seeds per measurement of `--sweep`.
    #[arg(long, default_value_t = 200)]
    pub seeds: u64,
}

/// The consistency model `dsim check` judges a history against.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum HistoryModel {
    /// Whatever the history's operations imply (read/write/cas: register; get/put/append: kv).
    Auto,
    /// Compare-and-set registers (one, or one per key), starting empty.
    Register,
    /// A key-value store of strings with get / put / append, every key starting as "".
    Kv,
    /// A mutex with acquire / release.
    Mutex,
    /// Multi-register transactions.
    MultiRegister,
}

impl HistoryModel {
    /// The name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            HistoryModel::Auto => "auto",
            HistoryModel::Register => "register",
            HistoryModel::Kv => "kv",
            HistoryModel::Mutex => "mutex",
            HistoryModel::MultiRegister => "multi-register",
        }
    }
}

/// `dsim check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The history: JSON lines (`.jsonl`, the format of docs/history-format) or Jepsen EDN (`.edn`).
    pub history: PathBuf,
    /// The model to check against.
    #[arg(long, value_enum, default_value = "auto")]
    pub model: HistoryModel,
    /// Search every key to the end instead of stopping at the first one that fails.
    #[arg(long)]
    pub all_partitions: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `dsim gui`.
#[derive(Debug, Args)]
pub struct GuiArgs {
    /// The scenario to open (default: the scenario picker).
    pub scenario: Option<PathBuf>,
    /// Seed for the run (overrides the file's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The catalog the picker lists.
    #[arg(long, default_value = "scenarios")]
    pub catalog: PathBuf,
}
