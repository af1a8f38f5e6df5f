//! Scenario errors that point at the file, line, column and key they are about.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// An error in a scenario file, located in its source.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{}:{}: {}{}", .file.display(), .line, .column, key_prefix(.key), .message)]
pub struct ScenarioError {
    /// The file the scenario came from.
    pub file: PathBuf,
    /// The whole source text, so a renderer can show the offending line.
    pub source_text: Arc<str>,
    /// Byte range of the offending text (empty at the end of the file for missing keys).
    pub span: Range<usize>,
    /// 1-based line of the span's start.
    pub line: usize,
    /// 1-based column (in characters) of the span's start.
    pub column: usize,
    /// Dotted path of the key the error is about (`faults[2].partition`), empty for the root.
    pub key: String,
    /// What is wrong and what was expected, lower-case.
    pub message: String,
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{key}: ")
    }
}

/// Builds located errors for one source file.
#[derive(Clone, Debug)]
pub struct Locator<'a> {
    file: &'a Path,
    text: &'a str,
    root: Option<Spanned<DeTable<'a>>>,
}

impl<'a> Locator<'a> {
    /// A locator for `text` read from `file`; `root` is its parsed tree, used to name keys.
    pub fn new(file: &'a Path, text: &'a str, root: Option<Spanned<DeTable<'a>>>) -> Self {
        Locator { file, text, root }
    }

    /// An error at `span`; the key is found from the tree unless given.
    pub fn at(
        &self,
        span: Range<usize>,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> ScenarioError {
        let start = span.start.min(self.text.len());
        let (line, column) = line_column(self.text, start);
        let key = match key {
            Some(k) => k.to_owned(),
            None => self.key_at(start),
        };
        ScenarioError {
            file: self.file.to_path_buf(),
            source_text: Arc::from(self.text),
            span: start..span.end.clamp(start, self.text.len()),
            line,
            column,
            key,
            message: message.into(),
        }
    }

    /// An error about the file as a whole (e.g. a missing top-level key), pointing at its start.
    pub fn whole(&self, key: &str, message: impl Into<String>) -> ScenarioError {
        self.at(0..0, Some(key), message)
    }

    /// Converts a `toml` error (syntax or deserialization) into a located error.
    pub fn from_toml(&self, e: &toml::de::Error) -> ScenarioError {
        let span = e.span().unwrap_or(0..0);
        let message = tidy_message(e.message());
        // A missing key is reported at its table: name the key that is missing.
        if let Some(missing) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            let whole_file = self.root.as_ref().is_some_and(|r| r.span() == span)
                || span == (0..self.text.len());
            let table = if whole_file {
                String::new()
            } else {
                self.key_at(span.start)
            };
            let key = if table.is_empty() {
                missing.to_owned()
            } else {
                format!("{table}.{missing}")
            };
            return self.at(span, Some(&key), message);
        }
        self.at(span, None, message)
    }

    /// The dotted key path of the innermost key or value containing byte `offset`.
    pub fn key_at(&self, offset: usize) -> String {
        let mut path = String::new();
        if let Some(root) = &self.root {
            walk_table(root.get_ref(), offset, &mut path);
        }
        path
    }
}

fn walk_table(table: &DeTable<'_>, offset: usize, path: &mut String) {
    for (k, v) in table.iter() {
        let in_key = k.span().contains(&offset);
        let in_value =
            v.span().contains(&offset) || (v.span().end == offset && offset > v.span().start);
        if in_key || in_value {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k.get_ref());
            if in_value {
                walk_value(v.get_ref(), offset, path);
            }
            return;
        }
    }
    // Tables written with headers have spans covering only their keys; search inside anyway.
    for (k, v) in table.iter() {
        if let DeValue::Table(_) | DeValue::Array(_) = v.get_ref() {
            let mut sub = String::new();
            walk_value(v.get_ref(), offset, &mut sub);
            if !sub.is_empty() {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k.get_ref());
                if !sub.starts_with('[') {
                    path.push('.');
                }
                path.push_str(&sub);
                return;
            }
        }
    }
}

fn walk_value(value: &DeValue<'_>, offset: usize, path: &mut String) {
    match value {
        DeValue::Table(t) => walk_table(t, offset, path),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let inside =
                    item.span().contains(&offset) || subtree_contains(item.get_ref(), offset);
                if inside {
                    path.push_str(&format!("[{i}]"));
                    let mut sub = String::new();
                    walk_value(item.get_ref(), offset, &mut sub);
                    if !sub.is_empty() {
                        if !sub.starts_with('[') {
                            path.push('.');
                        }
                        path.push_str(&sub);
                    }
                    return;
                }
            }
        }
        _ => {}
    }
}

fn subtree_contains(value: &DeValue<'_>, offset: usize) -> bool {
    match value {
        DeValue::Table(t) => t.iter().any(|(k, v)| {
            k.span().contains(&offset)
                || v.span().contains(&offset)
                || subtree_contains(v.get_ref(), offset)
        }),
        DeValue::Array(items) => items
            .iter()
            .any(|v| v.span().contains(&offset) || subtree_contains(v.get_ref(), offset)),
        _ => false,
    }
}

/// 1-based line and character column of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Makes serde's and toml's messages read like ours (lower-case start, no trailing newline).
fn tidy_message(message: &str) -> String {
    let m = message.trim().trim_end_matches('.');
    let mut chars = m.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().collect::<String>() + chars.as_str(),
        None => "invalid scenario".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 9), (2, 3));
        assert_eq!(line_column(text, 999), (3, 1));
    }
}
