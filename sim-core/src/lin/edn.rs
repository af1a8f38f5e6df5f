//! Jepsen/Knossos EDN histories: a small EDN reader for the subset those files use, and the
//! conversion of their event maps into a [`History`].
//!
//! A history file is one vector (or list) of event maps, or a sequence of top-level event maps
//! (one per line, as in Porcupine's kv data), e.g.
//! `{:process 0, :type :invoke, :f :write, :value 3}`. Events whose `:process` is not an integer
//! (`:nemesis`) are skipped; `:time`, `:index`, `:error` and other keys are ignored: the order of
//! the events is their real-time order, as in Knossos.
//!
//! The reader supports maps, vectors, lists, sets, keywords, symbols, strings, characters,
//! integers (with an optional `N`), floats, `nil`, `true`/`false`, tagged values (`#inst "..."`,
//! kept as a tag and a value), `#_` discards, `;` comments and commas as whitespace. Errors carry
//! the line and column; no input makes it panic (nesting deeper than 256 is an error).

use std::fmt;

use super::History;
use super::external::{Event, Kind, ParseError, Pos, build};

/// An EDN value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `nil`.
    Nil,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A character such as `\a`.
    Char(char),
    /// A keyword, without its colon: `:write` is `Keyword("write")`.
    Keyword(String),
    /// A symbol.
    Symbol(String),
    /// A vector, list or set, in order.
    List(Vec<Value>),
    /// A map, in the order written.
    Map(Vec<(Value, Value)>),
    /// A tagged value such as `#inst "2015-01-01"`: the tag (without `#`) and the value.
    Tagged(String, Box<Value>),
}

impl Value {
    /// The value under keyword `key` if this is a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Value::Keyword(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Char(c) => write!(f, "\\{c}"),
            Value::Keyword(k) => write!(f, ":{k}"),
            Value::Symbol(s) => f.write_str(s),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} {v}")?;
                }
                f.write_str("}")
            }
            Value::Tagged(tag, v) => write!(f, "#{tag} {v}"),
        }
    }
}

const MAX_DEPTH: usize = 256;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    /// Byte offsets where lines start.
    line_starts: Vec<usize>,
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b',' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'"' | b';'
        )
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        Parser {
            text,
            bytes: text.as_bytes(),
            at: 0,
            line_starts,
        }
    }

    fn pos_of(&self, offset: usize) -> Pos {
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        Pos {
            line,
            column: Some(column),
        }
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError::at(self.pos_of(offset), message)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Skips whitespace, commas and comments.
    fn skip_space(&mut self) {
        while let Some(b) = self.peek() {
            if b.is_ascii_whitespace() || b == b',' {
                self.at += 1;
            } else if b == b';' {
                while let Some(c) = self.peek() {
                    if c == b'\n' {
                        break;
                    }
                    self.at += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Skips space and `#_ form` discards.
    fn skip_space_and_discards(&mut self, depth: usize) -> Result<(), ParseError> {
        loop {
            self.skip_space();
            if self.bytes.get(self.at..self.at + 2) == Some(b"#_") {
                self.at += 2;
                self.value(depth + 1)?;
            } else {
                return Ok(());
            }
        }
    }

    /// The next token (up to a delimiter), as text.
    fn token(&mut self) -> &'a str {
        let start = self.at;
        while let Some(b) = self.peek() {
            if is_delimiter(b) {
                break;
            }
            // Skip whole UTF-8 sequences so slicing stays on character boundaries.
            self.at += 1;
            while self.peek().is_some_and(|c| (c & 0xC0) == 0x80) {
                self.at += 1;
            }
        }
        self.text.get(start..self.at).unwrap_or("")
    }

    /// Parses one value (after skipping space); `depth` guards against deep nesting.
    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error(self.at, format!("nested deeper than {MAX_DEPTH} levels")));
        }
        self.skip_space_and_discards(depth)?;
        let start = self.at;
        let Some(b) = self.peek() else {
            return Err(self.error(start, "unexpected end of input, expected a value"));
        };
        match b {
            b'[' | b'(' => {
                self.at += 1;
                let close = if b == b'[' { b']' } else { b')' };
                Ok(Value::List(self.sequence(close, start, depth)?))
            }
            b'{' => {
                self.at += 1;
                let items = self.sequence(b'}', start, depth)?;
                if items.len() % 2 != 0 {
                    return Err(self.error(start, "a map needs an even number of forms"));
                }
                let mut entries = Vec::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    entries.push((k, v));
                }
                Ok(Value::Map(entries))
            }
            b')' | b']' | b'}' => Err(self.error(start, format!("unexpected '{}'", b as char))),
            b'"' => self.string(),
            b'\\' => {
                self.at += 1;
                let tok = self.token();
                let c = match tok {
                    "newline" => '\n',
                    "space" => ' ',
                    "tab" => '\t',
                    "return" => '\r',
                    _ => {
                        let mut chars = tok.chars();
                        match (chars.next(), chars.next()) {
                            (Some(c), None) => c,
                            _ => {
                                // A delimiter right after the backslash is the character.
                                match self.peek() {
                                    Some(d) if tok.is_empty() && d.is_ascii() => {
                                        self.at += 1;
                                        d as char
                                    }
                                    _ => {
                                        return Err(
                                            self.error(start, format!("unknown character \\{tok}"))
                                        );
                                    }
                                }
                            }
                        }
                    }
                };
                Ok(Value::Char(c))
            }
            b'#' => {
                self.at += 1;
                match self.peek() {
                    Some(b'{') => {
                        self.at += 1;
                        Ok(Value::List(self.sequence(b'}', start, depth)?))
                    }
                    Some(c) if !is_delimiter(c) && c != b'#' => {
                        let tag = self.token().to_string();
                        let v = self.value(depth + 1)?;
                        Ok(Value::Tagged(tag, Box::new(v)))
                    }
                    _ => Err(self.error(start, "unsupported '#' form")),
                }
            }
            b':' => {
                self.at += 1;
                let name = self.token();
                if name.is_empty() {
                    return Err(self.error(start, "a keyword needs a name"));
                }
                Ok(Value::Keyword(name.to_string()))
            }
            _ => {
                let tok = self.token();
                if tok.is_empty() {
                    return Err(self.error(start, format!("unexpected character {:?}", b as char)));
                }
                self.atom(tok, start)
            }
        }
    }

    /// Parses forms up to `close`; `open` is where the collection started.
    fn sequence(&mut self, close: u8, open: usize, depth: usize) -> Result<Vec<Value>, ParseError> {
        let mut items = Vec::new();
        loop {
            self.skip_space_and_discards(depth)?;
            match self.peek() {
                None => {
                    return Err(self.error(
                        open,
                        format!(
                            "unclosed collection: expected '{}' before the end of input",
                            close as char
                        ),
                    ));
                }
                Some(c) if c == close => {
                    self.at += 1;
                    return Ok(items);
                }
                Some(c @ (b')' | b']' | b'}')) => {
                    return Err(self.error(
                        self.at,
                        format!("expected '{}', found '{}'", close as char, c as char),
                    ));
                }
                Some(_) => items.push(self.value(depth + 1)?),
            }
        }
    }

    fn string(&mut self) -> Result<Value, ParseError> {
        let start = self.at;
        self.at += 1;
        let mut out = String::new();
        let mut run = self.at;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.error(start, "unterminated string"));
            };
            match b {
                b'"' => {
                    out.push_str(self.text.get(run..self.at).unwrap_or(""));
                    self.at += 1;
                    return Ok(Value::Str(out));
                }
                b'\\' => {
                    out.push_str(self.text.get(run..self.at).unwrap_or(""));
                    let esc_at = self.at;
                    self.at += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.error(start, "unterminated string"));
                    };
                    self.at += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'u' => {
                            let hex = self.text.get(self.at..self.at + 4).unwrap_or("");
                            let c = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                            match c {
                                Some(c) if hex.len() == 4 => {
                                    out.push(c);
                                    self.at += 4;
                                }
                                _ => return Err(self.error(esc_at, "bad \\u escape in string")),
                            }
                        }
                        _ => {
                            return Err(self.error(esc_at, "unknown escape in string"));
                        }
                    }
                    run = self.at;
                }
                _ => self.at += 1,
            }
        }
    }

    fn atom(&self, tok: &str, start: usize) -> Result<Value, ParseError> {
        match tok {
            "nil" => return Ok(Value::Nil),
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            _ => {}
        }
        let bytes = tok.as_bytes();
        let numeric = match bytes {
            [b'+' | b'-', d, ..] => d.is_ascii_digit(),
            [d, ..] => d.is_ascii_digit(),
            [] => false,
        };
        if !numeric {
            return Ok(Value::Symbol(tok.to_string()));
        }
        let digits = tok.strip_suffix('N').unwrap_or(tok);
        if let Ok(i) = digits.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        if digits.bytes().skip(1).all(|b| b.is_ascii_digit()) {
            return Err(self.error(start, format!("integer {tok} does not fit in 64 bits")));
        }
        let float = tok.strip_suffix('M').unwrap_or(tok);
        float
            .parse::<f64>()
            .map(Value::Float)
            .map_err(|_| self.error(start, format!("malformed number {tok:?}")))
    }
}

/// Parses EDN text into its top-level forms, each with the position where it starts.
fn forms(text: &str) -> Result<Vec<(Pos, Value)>, ParseError> {
    let mut p = Parser::new(text);
    let mut out = Vec::new();
    loop {
        p.skip_space_and_discards(0)?;
        if p.peek().is_none() {
            return Ok(out);
        }
        let pos = p.pos_of(p.at);
        out.push((pos, p.value(0)?));
    }
}

/// Parses EDN text into its top-level forms.
pub fn parse(text: &str) -> Result<Vec<Value>, ParseError> {
    Ok(forms(text)?.into_iter().map(|(_, v)| v).collect())
}

/// The event maps of a history file, each with its position: the elements of a single
/// top-level vector or list, or else every top-level form.
fn event_maps(text: &str) -> Result<Vec<(Pos, Value)>, ParseError> {
    let top = forms(text)?;
    if let [(_, Value::List(_))] = top.as_slice() {
        // Parse the outer collection's elements one by one to know where each starts.
        let mut p = Parser::new(text);
        p.skip_space_and_discards(0)?;
        let open = p.at;
        let close = match p.peek() {
            Some(b'[') => b']',
            _ => b')',
        };
        p.at += 1;
        let mut out = Vec::new();
        loop {
            p.skip_space_and_discards(1)?;
            match p.peek() {
                Some(c) if c == close => return Ok(out),
                None => return Err(p.error(open, "unclosed collection")),
                Some(_) => {
                    let pos = p.pos_of(p.at);
                    out.push((pos, p.value(1)?));
                }
            }
        }
    }
    Ok(top)
}

fn keyword_field<'v>(map: &'v Value, key: &str, pos: Pos) -> Result<&'v str, ParseError> {
    match map.get(key) {
        Some(Value::Keyword(s) | Value::Str(s)) => Ok(s),
        Some(other) => Err(ParseError::at(
            pos,
            format!(":{key} should be a keyword, found {other}"),
        )),
        None => Err(ParseError::at(pos, format!("event without :{key}: {map}"))),
    }
}

/// Reads a Jepsen/Knossos EDN history (see the module documentation).
pub fn read(text: &str) -> Result<History, ParseError> {
    let mut events = Vec::new();
    for (pos, map) in event_maps(text)? {
        if !matches!(map, Value::Map(_)) {
            return Err(ParseError::at(
                pos,
                format!("expected an event map, found {map}"),
            ));
        }
        let process = match map.get("process") {
            Some(Value::Int(p)) => Some(
                u64::try_from(*p)
                    .map_err(|_| ParseError::at(pos, format!("negative :process {p}")))?,
            ),
            Some(_) => None,
            None => {
                return Err(ParseError::at(
                    pos,
                    format!("event without :process: {map}"),
                ));
            }
        };
        let type_name = keyword_field(&map, "type", pos)?;
        let Some(kind) = Kind::parse(type_name) else {
            return Err(ParseError::at(
                pos,
                format!("unknown :type :{type_name} (expected :invoke, :ok, :fail or :info)"),
            ));
        };
        let f = keyword_field(&map, "f", pos)?.to_string();
        events.push(Event {
            pos,
            process,
            kind,
            f,
            key: map.get("key").cloned().unwrap_or(Value::Nil),
            value: map.get("value").cloned().unwrap_or(Value::Nil),
        });
    }
    build(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_subset() {
        let v = parse(
            "; comment\n[{:a 1, :b \"x\\\"y\" :c nil} (1 -2 3N) #{:s} true false sym \\a 1.5 #inst \"t\" #_ ignored :k]",
        )
        .expect("parses");
        assert_eq!(v.len(), 1);
        let Value::List(items) = &v[0] else {
            panic!("a vector")
        };
        assert_eq!(items[0].get("a"), Some(&Value::Int(1)));
        assert_eq!(items[0].get("b"), Some(&Value::Str("x\"y".into())));
        assert_eq!(items[0].get("c"), Some(&Value::Nil));
        assert_eq!(
            items[1],
            Value::List(vec![Value::Int(1), Value::Int(-2), Value::Int(3)])
        );
        assert_eq!(items[2], Value::List(vec![Value::Keyword("s".into())]));
        assert_eq!(
            items[3..6],
            [
                Value::Bool(true),
                Value::Bool(false),
                Value::Symbol("sym".into())
            ]
        );
        assert_eq!(items[6], Value::Char('a'));
        assert_eq!(items[7], Value::Float(1.5));
        assert_eq!(
            items[8],
            Value::Tagged("inst".into(), Box::new(Value::Str("t".into())))
        );
        assert_eq!(items[9], Value::Keyword("k".into()));
        assert_eq!(items.len(), 10);
    }

    #[test]
    fn errors_have_positions_and_never_panic() {
        let e = parse("[{:a 1}\n {:b 2 ]").expect_err("mismatched");
        assert_eq!((e.line, e.column), (2, Some(8)));
        assert!(e.message.contains("expected '}'"), "{e}");
        let e = parse("{:a}").expect_err("odd map");
        assert!(
            e.to_string().starts_with("line 1, column 1: a map needs"),
            "{e}"
        );
        let e = parse("\"abc").expect_err("unterminated");
        assert!(e.message.contains("unterminated string"));
        let e = parse("99999999999999999999").expect_err("too big");
        assert!(e.message.contains("64 bits"));
        let deep = "[".repeat(10_000);
        assert!(
            parse(&deep)
                .expect_err("too deep")
                .message
                .contains("nested deeper")
        );
        // Arbitrary junk, including multi-byte characters and lone delimiters.
        for junk in [
            "",
            "]",
            "#",
            "#_",
            ":",
            "\\",
            "\"\\u12\"",
            "é",
            "[é ü]",
            "{:a #{}}",
            "(",
            "#!",
            "1e",
            "-",
            "+1",
            "\\é",
            "#_#_",
        ] {
            let _ = parse(junk);
            let _ = read(junk);
        }
    }

    #[test]
    fn reads_events_and_skips_the_nemesis() {
        let h = read(
            "[{:process 0, :type :invoke, :f :write, :value 3}\n\
             {:process :nemesis, :type :info, :f :start, :value nil}\n\
             {:process 0, :type :ok, :f :write, :value 3}\n\
             {:process 1, :type :invoke, :f :read, :value nil}\n\
             {:process 1, :type :ok, :f :read, :value 3}]",
        )
        .expect("reads");
        assert_eq!(h.len(), 2);
        assert_eq!(h.skipped, 1);
        assert_eq!(h.origins[1].invoke_line, 4);
        assert!(
            h.check(&crate::lin::CheckOptions::default())
                .is_linearizable()
        );
    }

    #[test]
    fn event_errors() {
        let e = read("[{:process 0, :type :begin, :f :read}]").expect_err("bad type");
        assert!(e.message.contains("unknown :type :begin"), "{e}");
        assert_eq!((e.line, e.column), (1, Some(2)));
        let e = read("{:process 0, :type :invoke, :f :frobnicate}").expect_err("bad f");
        assert!(
            e.message.contains("unknown operation \"frobnicate\""),
            "{e}"
        );
        let e = read("[1 2]").expect_err("not maps");
        assert!(e.message.contains("expected an event map"), "{e}");
        let e = read("[{:type :invoke, :f :read}]").expect_err("no process");
        assert!(e.message.contains("without :process"), "{e}");
    }
}
