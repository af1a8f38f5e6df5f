//! `dsim list` and `dsim models`: what scenarios and models there are.

use crate::render::outln;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::ListArgs;
use crate::render;

#[derive(Serialize)]
struct Entry {
    name: String,
    description: String,
    file: String,
    error: Option<String>,
}

fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            scenario_files(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
    Ok(())
}

/// Lists every scenario under the directory; files that do not parse are listed with their
/// error rather than stopping the listing.
pub fn list(args: &ListArgs) -> Result<ExitCode, String> {
    let mut files = Vec::new();
    scenario_files(&args.dir, &mut files)
        .map_err(|e| format!("error: cannot list {}: {e}", args.dir.display()))?;
    let entries: Vec<Entry> = files
        .iter()
        .map(|f| match sim_models::Scenario::load(f) {
            Ok(s) => Entry {
                name: s.name().to_owned(),
                description: first_sentence(&s.spec.description),
                file: f.display().to_string(),
                error: None,
            },
            Err(e) => Entry {
                name: "(invalid)".into(),
                description: String::new(),
                file: f.display().to_string(),
                error: Some(e.to_string()),
            },
        })
        .collect();
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&entries).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        outln!("no scenarios under {}", args.dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = render::table(&["name", "description", "file"]);
    t.set_width(terminal_width());
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    for e in &entries {
        let text = e.error.clone().unwrap_or_else(|| e.description.clone());
        t.add_row(vec![e.name.clone(), text, e.file.clone()]);
    }
    render::print_table(&t);
    Ok(ExitCode::SUCCESS)
}

/// The description's first sentence on one line (the listing stays scannable; `--json` and
/// the file have the rest).
fn first_sentence(description: &str) -> String {
    let flat = description.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(i) => flat[..=i].to_owned(),
        None => flat,
    }
}

fn terminal_width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(120)
}

/// Lists the registered models: what each is, the protocol families it serves (what a
/// client's `target` may ask of it) and the invariants it reports by name.
pub fn models() -> Result<ExitCode, String> {
    let mut t = render::table(&["model", "serves", "what it is", "invariants"]);
    for m in sim_models::model::registry() {
        let serves: Vec<&str> = m.serves.iter().map(|f| f.name).collect();
        let invariants: Vec<&str> = m.invariants.iter().map(|i| i.name).collect();
        t.add_row(vec![
            m.name.to_owned(),
            if serves.is_empty() {
                "-".to_owned()
            } else {
                serves.join(", ")
            },
            m.description.to_owned(),
            invariants.join(", "),
        ]);
    }
    render::print_table(&t);
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct BugEntry {
    name: &'static str,
    caught_by: &'static str,
    description: &'static str,
}

/// Lists the bug catalog: each deliberate bug, the checker that catches it, what it breaks.
pub fn bugs(args: &crate::cli::BugsArgs) -> Result<ExitCode, String> {
    let entries: Vec<BugEntry> = sim_models::bugs::catalog()
        .into_iter()
        .map(|b| BugEntry {
            name: b.name,
            caught_by: b.caught_by,
            description: b.description,
        })
        .collect();
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&entries).map_err(|e| e.to_string())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = render::table(&["bug", "caught by", "what goes wrong"]);
    t.set_width(terminal_width());
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    for b in &entries {
        t.add_row(vec![b.name, b.caught_by, b.description]);
    }
    render::print_table(&t);
    outln!();
    outln!(
        "switch one on in a scenario: bugs = [\"raft.vote-not-persisted\"]; scenarios/bugs/ has one scenario per bug"
    );
    Ok(ExitCode::SUCCESS)
}
