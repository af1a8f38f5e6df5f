//! Output for humans: compiler-style diagnostics for scenario errors, aligned tables, numbers.

use std::fmt::Display;
use std::io::{IsTerminal, Write};

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use comfy_table::{Table, presets};
use sim_models::{LoadError, ScenarioError};

/// Writes to standard output. A closed pipe (`dsim list | head`) ends the program quietly
/// instead of panicking; any other write error ends it with exit status 2.
pub fn emit(text: impl Display, newline: bool) {
    let mut out = std::io::stdout().lock();
    let result = if newline {
        writeln!(out, "{text}")
    } else {
        write!(out, "{text}")
    };
    if let Err(e) = result.and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(2);
    }
}

/// `println!` through [`emit`].
macro_rules! outln {
    () => {
        $crate::render::emit("", true)
    };
    ($($arg:tt)*) => {
        $crate::render::emit(format_args!($($arg)*), true)
    };
}
pub(crate) use outln;

/// Renders a scenario error like a compiler diagnostic: message, file:line:column, the line
/// with the offending text underlined, and the key.
pub fn diagnostic(e: &ScenarioError) -> String {
    let path = e.file.display().to_string();
    let title = e.message.clone();
    let mut span = e.span.clone();
    if span.is_empty() {
        // Point at one character (or the end of the file) so the caret shows.
        let end = e.source_text.len();
        span = span.start.min(end)..(span.start + 1).min(end);
        while span.end < end && !e.source_text.is_char_boundary(span.end) {
            span.end += 1;
        }
    }
    let label = if e.key.is_empty() {
        String::new()
    } else {
        format!("in `{}`", e.key)
    };
    let report = &[
        Level::ERROR.primary_title(&title).element(
            Snippet::source(&*e.source_text)
                .path(&path)
                .annotation(AnnotationKind::Primary.span(span).label(&label)),
        ),
        Group::with_title(Level::NOTE.secondary_title(format!(
            "{}:{}:{}: key `{}`",
            path,
            e.line,
            e.column,
            if e.key.is_empty() {
                "(top level)"
            } else {
                &e.key
            }
        ))),
    ];
    let renderer = if std::io::stderr().is_terminal() {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    renderer.render(report).to_string()
}

/// Renders a load error: I/O errors as one line, scenario errors as diagnostics.
pub fn load_error(e: &LoadError) -> String {
    match e {
        LoadError::Io { .. } => format!("error: {e}"),
        LoadError::Invalid(s) => diagnostic(s),
    }
}

/// A borderless, aligned table with a header row.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    t.set_header(header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    t
}

/// Prints a table with its header underlined, trimming trailing spaces.
pub fn print_table(t: &Table) {
    let mut lines = t.lines();
    if let Some(header) = lines.next() {
        let header = header.trim_end().to_owned();
        outln!("{header}");
        outln!("{}", "-".repeat(header.chars().count()));
    }
    for l in lines {
        outln!("{}", l.trim_end());
    }
}

/// Formats an integer with thousands separators.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats a metric value: integers grouped without decimals, others with four places.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let digits = thousands(v.abs() as u64);
        if v < 0.0 {
            format!("-{digits}")
        } else {
            digits
        }
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(-1500.0), "-1,500");
        assert_eq!(number(0.25), "0.2500");
    }
}
