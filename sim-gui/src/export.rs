//! Writing what is on screen: the scenario (with injected faults and the seed, so `dsim run`
//! reproduces the trace hash), the trace as CSV or JSON lines (the columns of
//! `dsim run --trace`), and a ShiViz log (events with vector clocks).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sim_core::trace::{TraceFormat, TraceRow};

use crate::data::{Kind, NO_NODE, RunData};
use crate::load::Loaded;

/// The path fields of the Files tab.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileForm {
    /// Where "Save scenario" writes.
    pub scenario: String,
    /// Where the trace exports write (extension replaced per format).
    pub trace: String,
    /// A trace file to open.
    pub open: String,
}

impl FileForm {
    /// Default paths next to `path`: `NAME-explored.toml`, `NAME.csv`.
    pub fn for_path(path: &Path) -> FileForm {
        let stem = path
            .file_stem()
            .map_or_else(|| "run".to_owned(), |s| s.to_string_lossy().into_owned());
        let dir = std::env::temp_dir();
        FileForm {
            scenario: dir
                .join(format!("{stem}-explored.toml"))
                .display()
                .to_string(),
            trace: dir.join(format!("{stem}.csv")).display().to_string(),
            open: String::new(),
        }
    }
}

/// An export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The trace writer failed.
    #[error("cannot write {}: {source}", path.display())]
    Trace {
        /// The file.
        path: PathBuf,
        /// Why.
        source: sim_core::trace::ExportError,
    },
    /// Nothing to save (a trace file has no scenario).
    #[error("this run came from a trace file: there is no scenario to save")]
    NoScenario,
}

fn create(path: &Path) -> Result<std::fs::File, ExportError> {
    std::fs::File::create(path).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the scenario `text` with `seed` as its seed to `path`.
pub fn save_scenario(text: &str, seed: u64, path: &Path) -> Result<(), ExportError> {
    let out = crate::edit::with_seed(text, seed);
    std::fs::write(path, out).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the trace of `run` to `path` in `format`: the engine's own export for runs made
/// here (byte for byte what `dsim run --trace` writes), rows rebuilt from the data layer for
/// trace files.
pub fn export_trace(run: &Loaded, format: TraceFormat, path: &Path) -> Result<(), ExportError> {
    let file = create(path)?;
    let err = |source| ExportError::Trace {
        path: path.to_path_buf(),
        source,
    };
    if !run.events.is_empty() {
        let names: Vec<String> = run.data.nodes.iter().map(|n| n.name.clone()).collect();
        return sim_core::trace::export(&run.events, &names, format, file).map_err(err);
    }
    let rows = rows(&run.data);
    let io = |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    };
    match format {
        TraceFormat::Csv => {
            let mut w = csv::Writer::from_writer(file);
            for r in rows {
                w.serialize(r).map_err(|e| err(e.into()))?;
            }
            w.flush().map_err(io)?;
        }
        TraceFormat::JsonLines => {
            let mut w = std::io::BufWriter::new(file);
            for r in rows {
                serde_json::to_writer(&mut w, &r).map_err(|e| err(e.into()))?;
                w.write_all(b"\n").map_err(io)?;
            }
            w.flush().map_err(io)?;
        }
    }
    Ok(())
}

/// The export rows of every event of `run`.
pub fn rows(run: &RunData) -> impl Iterator<Item = TraceRow> + '_ {
    run.events.iter().enumerate().map(|(i, e)| {
        let name = |n: u32| {
            if n == NO_NODE {
                String::new()
            } else {
                run.name(n).to_owned()
            }
        };
        let detail = match e.kind {
            Kind::Duplicate => format!("copy of {}", e.aux),
            _ => run.strings.get(e.detail).to_owned(),
        };
        let msg = matches!(
            e.kind,
            Kind::Send | Kind::Deliver | Kind::Drop | Kind::Duplicate | Kind::Op
        )
        .then_some(e.id);
        TraceRow {
            index: i as u64,
            time_ns: e.time,
            kind: e.kind.name().to_owned(),
            node: name(e.node),
            peer: name(e.peer),
            msg,
            label: run.strings.get(e.label).to_owned(),
            detail,
        }
    })
}

/// The regular expression ShiViz needs to read [`export_shiviz`]'s log (its default).
pub const SHIVIZ_REGEX: &str = r"(?<event>.*)\n(?<host>\S*) (?<clock>{.*})";

/// Writes a ShiViz log in the layout ShiViz's file upload reads: the parsing regular
/// expression on the first line, an empty line (one execution, no delimiter), then each event
/// as two lines, its description and `host {"host": n, ...}` with the host's vector clock.
/// Every logged event ticks its host by one; a delivery first merges the sender's clock at
/// the send. Timers are left out.
pub fn export_shiviz(run: &RunData, path: &Path) -> Result<(), ExportError> {
    let io = |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut w = std::io::BufWriter::new(create(path)?);
    write_shiviz(run, &mut w).map_err(io)?;
    w.flush().map_err(io)
}

/// Writes the ShiViz log of `run` to `w`.
pub fn write_shiviz(run: &RunData, w: &mut impl Write) -> std::io::Result<()> {
    let n = run.nodes.len();
    let mut clocks = vec![vec![0u64; n]; n];
    let mut in_flight: HashMap<u64, Vec<u64>> = HashMap::new();
    writeln!(w, "{SHIVIZ_REGEX}")?;
    writeln!(w)?;
    for (i, e) in run.events.iter().enumerate() {
        let node = e.node as usize;
        if e.node == NO_NODE || node >= n || e.kind == Kind::Timer {
            continue;
        }
        match e.kind {
            Kind::Deliver => {
                if let Some(sent) = in_flight.remove(&e.id) {
                    for (mine, theirs) in clocks[node].iter_mut().zip(sent) {
                        *mine = (*mine).max(theirs);
                    }
                }
                clocks[node][node] += 1;
            }
            Kind::Drop => {
                in_flight.remove(&e.id);
                clocks[node][node] += 1;
            }
            Kind::Send | Kind::Duplicate => {
                clocks[node][node] += 1;
                in_flight.insert(e.id, clocks[node].clone());
            }
            _ => clocks[node][node] += 1,
        }
        let clock: Vec<String> = clocks[node]
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(j, c)| format!("\"{}\":{c}", run.name(j as u32)))
            .collect();
        writeln!(w, "{}", run.describe(i))?;
        writeln!(w, "{} {{{}}}", run.name(e.node), clock.join(", "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Builder, NodeMeta, Raw};

    #[test]
    fn shiviz_clocks_follow_messages() {
        let nodes = ["a1", "b1"]
            .iter()
            .map(|n| NodeMeta {
                name: (*n).into(),
                cluster: "x".into(),
            })
            .collect();
        let mut b = Builder::new(nodes);
        b.push(
            0,
            Raw::Send {
                msg: 7,
                from: 0,
                to: 1,
                label: "ping",
            },
        );
        b.push(
            1,
            Raw::Timer {
                node: 1,
                label: "tick",
            },
        );
        b.push(
            2,
            Raw::Deliver {
                msg: 7,
                from: 0,
                to: 1,
                label: "ping",
            },
        );
        let run = b.finish(3);
        let mut out = Vec::new();
        write_shiviz(&run, &mut out).expect("write");
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<&str> = text.lines().skip(2).collect();
        assert!(
            text.starts_with("(?<event>.*)\\n(?<host>\\S*) (?<clock>{.*})\n\n"),
            "{text}"
        );
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[1], "a1 {\"a1\":1}");
        assert_eq!(lines[3], "b1 {\"a1\":1, \"b1\":1}");
        assert!(lines[2].contains("b1 receives ping #7 from a1"));
        let csv: Vec<TraceRow> = rows(&run).collect();
        assert_eq!(csv[2].kind, "deliver");
        assert_eq!((csv[2].node.as_str(), csv[2].peer.as_str()), ("b1", "a1"));
    }
}
