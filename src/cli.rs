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
