//! Making a run to explore: running a scenario (with the full trace kept) or reading a trace
//! file written by `dsim run --trace`, into the data layer plus what the panels need beside it
//! (summary, checker verdicts, topology).

use std::path::{Path, PathBuf};

use petgraph::graph::UnGraph;
use sim_core::{NodeId, TraceEvent, TraceLevel};
use sim_models::{Overrides, RunSummary, Scenario, ScenarioError};

use crate::data::{Builder, NodeMeta, Raw, RunData, cluster_of_name};
use crate::linview::LinView;

/// Where a loaded run came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A scenario run by the explorer: its file, its text (with any injected faults) and seed.
    Scenario {
        /// The file it was read from (or will be saved to).
        path: PathBuf,
        /// The scenario text that was run.
        text: String,
        /// The seed used.
        seed: u64,
    },
    /// A trace file read without running anything.
    TraceFile {
        /// The file.
        path: PathBuf,
    },
}

/// A run ready to explore.
pub struct Loaded {
    /// The events and their indexes.
    pub data: RunData,
    /// Where it came from.
    pub origin: Origin,
    /// The run summary (scenario runs only).
    pub summary: Option<RunSummary>,
    /// The engine's events, kept for divergence and exports (scenario runs only).
    pub events: Vec<TraceEvent>,
    /// The per-key linearizability view (runs whose clients did reads / writes / cas).
    pub lin: Option<LinView>,
    /// Nodes (weights: node ids) and links.
    pub topology: UnGraph<u32, ()>,
    /// Message contents by id, ascending (scenario runs only).
    pub payloads: Vec<(u64, String)>,
}

impl Loaded {
    /// The trace hash, when the run was made here.
    pub fn hash(&self) -> Option<&str> {
        self.summary.as_ref().map(|s| s.trace_hash.as_str())
    }

    /// The contents of message `id`, if they were kept.
    pub fn payload(&self, id: u64) -> Option<&str> {
        let i = self.payloads.binary_search_by_key(&id, |(m, _)| *m).ok()?;
        Some(self.payloads[i].1.as_str())
    }
}

/// Why a scenario could not be run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The scenario text is invalid (located: line and column).
    #[error("{0}")]
    Invalid(Box<ScenarioError>),
    /// The scenario parsed but the simulation could not be built.
    #[error("{}: {source}", path.display())]
    Build {
        /// The file.
        path: PathBuf,
        /// Why.
        source: sim_core::BuildError,
    },
}

/// Reads the scenario at `path` and runs it with `seed` (the file's if `None`).
pub fn run_file(path: &Path, seed: Option<u64>) -> Result<Loaded, RunError> {
    let text = std::fs::read_to_string(path).map_err(|source| RunError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    run_text(path, &text, seed)
}

/// Runs scenario `text` (read from `path`) with `seed` (the file's if `None`), keeping the
/// full trace.
pub fn run_text(path: &Path, text: &str, seed: Option<u64>) -> Result<Loaded, RunError> {
    run_text_for(path, text, seed, None)
}

/// [`run_text`] with the scenario's duration replaced (the benchmark makes long runs).
pub fn run_text_for(
    path: &Path,
    text: &str,
    seed: Option<u64>,
    duration: Option<sim_core::Duration>,
) -> Result<Loaded, RunError> {
    let scenario = Scenario::parse(path, text).map_err(|e| RunError::Invalid(Box::new(e)))?;
    let overrides = Overrides {
        seed,
        duration,
        trace: Some(TraceLevel::Full),
    };
    let mut sim = scenario
        .build(&overrides)
        .map_err(|source| RunError::Build {
            path: path.to_path_buf(),
            source,
        })?;
    // Message contents for the inspector; not hashed, so the run is the one `dsim run` makes.
    sim.capture_payloads();
    sim.run();
    let summary = sim_models::summarize(&scenario, &sim);
    let nodes: Vec<NodeMeta> = (0..sim.node_count())
        .map(|i| {
            let info = sim.node_info(NodeId(i as u32));
            NodeMeta {
                name: info.map(|x| x.name.clone()).unwrap_or_default(),
                cluster: info.map(|x| x.cluster.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let mut b = Builder::new(nodes);
    for e in sim.trace().events() {
        b.push(e.time.0, Raw::of(&e.kind));
    }
    let data = b.finish(sim.now().0);
    let graph = sim.network().graph();
    let topology = graph.map(|_, n| n.id.0, |_, _| ());
    let lin = LinView::of(&sim, &data);
    Ok(Loaded {
        data,
        origin: Origin::Scenario {
            path: path.to_path_buf(),
            text: text.to_owned(),
            seed: summary.seed,
        },
        events: sim.trace().events().to_vec(),
        payloads: sim.trace().payloads().to_vec(),
        summary: Some(summary),
        lin,
        topology,
    })
}

/// Why a trace file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceFileError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Neither `.csv` nor `.jsonl`.
    #[error("{}: unknown trace format; open a .csv or .jsonl file written by `dsim run --trace`", .0.display())]
    Format(PathBuf),
    /// A row is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Row {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Rows go back in time.
    #[error("{}:{line}: time goes backwards ({time_ns} ns after {previous_ns} ns)", path.display())]
    Order {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The row's time.
        time_ns: u64,
        /// The time before it.
        previous_ns: u64,
    },
}

/// Reads a trace written by `dsim run --trace FILE` (CSV or JSON lines).
pub fn open_trace(path: &Path) -> Result<Loaded, TraceFileError> {
    let format = sim_core::trace::TraceFormat::from_path(path)
        .ok_or_else(|| TraceFileError::Format(path.to_path_buf()))?;
    let text = std::fs::read_to_string(path).map_err(|source| TraceFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let row_error = |line: usize, message: String| TraceFileError::Row {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut rows: Vec<(usize, sim_core::trace::TraceRow)> = Vec::new();
    match format {
        sim_core::trace::TraceFormat::Csv => {
            let mut r = csv::Reader::from_reader(text.as_bytes());
            for (i, row) in r.deserialize().enumerate() {
                let row = row.map_err(|e| row_error(i + 2, e.to_string()))?;
                rows.push((i + 2, row));
            }
        }
        sim_core::trace::TraceFormat::JsonLines => {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let row =
                    serde_json::from_str(line).map_err(|e| row_error(i + 1, e.to_string()))?;
                rows.push((i + 1, row));
            }
        }
    }
    // Nodes in order of first mention; clusters from their names.
    let mut names: Vec<String> = Vec::new();
    for (_, r) in &rows {
        for n in [&r.node, &r.peer] {
            if !n.is_empty() && !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    let id = |n: &str| {
        names
            .iter()
            .position(|x| x == n)
            .map_or(u32::MAX, |i| i as u32)
    };
    let nodes = names
        .iter()
        .map(|n| NodeMeta {
            name: n.clone(),
            cluster: cluster_of_name(n),
        })
        .collect();
    let mut b = Builder::new(nodes);
    let mut previous = 0;
    for (line, r) in &rows {
        if r.time_ns < previous {
            return Err(TraceFileError::Order {
                path: path.to_path_buf(),
                line: *line,
                time_ns: r.time_ns,
                previous_ns: previous,
            });
        }
        previous = r.time_ns;
        let msg = r.msg.unwrap_or(0);
        let (node, peer) = (id(&r.node), id(&r.peer));
        let raw = match r.kind.as_str() {
            "send" => Raw::Send {
                msg,
                from: node,
                to: peer,
                label: &r.label,
            },
            "deliver" => Raw::Deliver {
                msg,
                from: peer,
                to: node,
                label: &r.label,
            },
            "drop" => Raw::Drop {
                msg,
                from: node,
                to: peer,
                label: &r.label,
                reason: &r.detail,
            },
            "duplicate" => Raw::Duplicate {
                msg,
                of: r.detail.trim_start_matches("copy of ").parse().unwrap_or(0),
                from: node,
                to: peer,
                label: &r.label,
            },
            "timer" => Raw::Timer {
                node,
                label: &r.label,
            },
            "start" => Raw::Start { node },
            "crash" => Raw::Crash { node },
            "restart" => Raw::Restart { node },
            "fault" => Raw::Fault {
                kind: &r.label,
                node: (node != u32::MAX).then_some(node),
                detail: &r.detail,
            },
            "annotate" => Raw::Annotate {
                node,
                key: &r.label,
                value: &r.detail,
            },
            "op" => Raw::Op {
                node,
                op: msg,
                phase: &r.label,
                detail: &r.detail,
            },
            "violation" => Raw::Violation {
                node,
                detail: &r.detail,
            },
            other => {
                return Err(row_error(*line, format!("unknown event kind \"{other}\"")));
            }
        };
        b.push(r.time_ns, raw);
    }
    let n = b.node_count();
    let data = b.finish(previous);
    let mut topology = UnGraph::with_capacity(n, n * n.saturating_sub(1) / 2);
    let ix: Vec<_> = (0..n as u32).map(|i| topology.add_node(i)).collect();
    for a in 0..n {
        for b in a + 1..n {
            topology.add_edge(ix[a], ix[b], ());
        }
    }
    Ok(Loaded {
        data,
        origin: Origin::TraceFile {
            path: path.to_path_buf(),
        },
        summary: None,
        events: Vec::new(),
        payloads: Vec::new(),
        lin: None,
        topology,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dsim-gui-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn bad_trace_files_are_errors_with_a_line_not_panics() {
        let empty = open_trace(&file("empty.jsonl", "")).expect("an empty trace opens");
        assert!(empty.data.events.is_empty() && empty.data.nodes.is_empty());
        let row = |kind: &str, t: u64| {
            format!(
                "{{\"index\":0,\"time_ns\":{t},\"kind\":\"{kind}\",\"node\":\"a1\",\"peer\":\"\",\"msg\":null,\"label\":\"\",\"detail\":\"\"}}\n"
            )
        };
        let garbage = file("garbage.jsonl", &format!("{}not json\n", row("start", 0)));
        assert!(matches!(
            open_trace(&garbage),
            Err(TraceFileError::Row { line: 2, .. })
        ));
        let unknown = file("unknown.jsonl", &row("teleport", 0));
        let e = open_trace(&unknown).err().expect("unknown kind");
        assert!(
            e.to_string()
                .contains(":1: unknown event kind \"teleport\""),
            "{e}"
        );
        let backwards = file(
            "backwards.jsonl",
            &format!("{}{}", row("start", 5), row("crash", 4)),
        );
        assert!(matches!(
            open_trace(&backwards),
            Err(TraceFileError::Order { line: 2, .. })
        ));
        let csv = file("bad.csv", "index,time_ns\n1,2\n");
        assert!(matches!(
            open_trace(&csv),
            Err(TraceFileError::Row { line: 2, .. })
        ));
        assert!(matches!(
            open_trace(Path::new("x.txt")),
            Err(TraceFileError::Format(_))
        ));
        assert!(matches!(
            open_trace(Path::new("no/such.csv")),
            Err(TraceFileError::Io { .. })
        ));
    }
}
