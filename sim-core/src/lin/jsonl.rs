//! The project's JSON-lines history format (`shared/data/histories/SPEC.md`): one event object
//! per line, in real-time order, e.g.
//! `{"process":4,"type":"info","f":"write","key":null,"value":1,"time":60,"error":"timed-out"}`.
//!
//! Fields used: `process` (an integer; any other value marks a non-client event, which is
//! skipped), `type` (`invoke`, `ok`, `fail`, `info`), `f` (`read`, `write`, `cas`, `get`, `put`,
//! `append`; also `txn`, `acquire`, `release` as in EDN), `key` (optional; `null` for a single
//! register) and `value`. Other fields (`time`, `error`, `orig_time`, `line`, `src_index`) are
//! ignored: a line's position is its time. Blank lines are skipped.

use super::History;
use super::edn::Value;
use super::external::{Event, Kind, ParseError, Pos, build};

fn to_value(v: &serde_json::Value, pos: Pos) -> Result<Value, ParseError> {
    Ok(match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => {
                return Err(ParseError::at(
                    pos,
                    format!("number {n} is not a 64-bit integer"),
                ));
            }
        },
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(items) => Value::List(
            items
                .iter()
                .map(|i| to_value(i, pos))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| Ok((Value::Keyword(k.clone()), to_value(v, pos)?)))
                .collect::<Result<_, ParseError>>()?,
        ),
    })
}

fn string_field<'v>(
    obj: &'v serde_json::Map<String, serde_json::Value>,
    name: &str,
    pos: Pos,
) -> Result<&'v str, ParseError> {
    match obj.get(name) {
        Some(serde_json::Value::String(s)) => Ok(s),
        Some(other) => Err(ParseError::at(
            pos,
            format!("\"{name}\" should be a string, found {other}"),
        )),
        None => Err(ParseError::at(pos, format!("missing \"{name}\""))),
    }
}

/// Reads a JSON-lines history (see the module documentation). Errors name the line.
pub fn read(text: &str) -> Result<History, ParseError> {
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let pos = Pos {
            line: index + 1,
            column: None,
        };
        if line.trim().is_empty() {
            continue;
        }
        let json: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            // serde_json's message ends in " at line 1 column N"; keep only the column.
            let full = e.to_string();
            let message = full
                .rfind(" at line ")
                .map_or(full.as_str(), |at| &full[..at])
                .to_string();
            ParseError {
                line: index + 1,
                column: Some(e.column()),
                message: format!("invalid JSON: {message}"),
            }
        })?;
        let serde_json::Value::Object(obj) = &json else {
            return Err(ParseError::at(
                pos,
                format!("expected an event object, found {json}"),
            ));
        };
        let process = match obj.get("process") {
            Some(serde_json::Value::Number(n)) => match n.as_u64() {
                Some(p) => Some(p),
                None => {
                    return Err(ParseError::at(
                        pos,
                        format!("\"process\" should be a non-negative integer, found {n}"),
                    ));
                }
            },
            Some(_) => None,
            None => return Err(ParseError::at(pos, "missing \"process\"")),
        };
        let type_name = string_field(obj, "type", pos)?;
        let Some(kind) = Kind::parse(type_name) else {
            return Err(ParseError::at(
                pos,
                format!(
                    "unknown \"type\" {type_name:?} (expected \"invoke\", \"ok\", \"fail\" or \"info\")"
                ),
            ));
        };
        let f = string_field(obj, "f", pos)?.to_string();
        let field = |name: &str| match obj.get(name) {
            Some(v) => to_value(v, pos),
            None => Ok(Value::Nil),
        };
        events.push(Event {
            pos,
            process,
            kind,
            f,
            key: field("key")?,
            value: field("value")?,
        });
    }
    build(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lin::{CheckOptions, Ops, RegisterOp, Verdict};

    #[test]
    fn reads_every_shape_of_the_spec() {
        let text = r#"{"process":0,"type":"invoke","f":"write","key":null,"value":1,"time":0,"line":1}
{"process":1,"type":"invoke","f":"cas","key":null,"value":[1,2],"time":1}
{"process":0,"type":"ok","f":"write","key":null,"value":1,"time":2}
{"process":1,"type":"info","f":"cas","key":null,"value":[1,2],"time":3,"error":"timed-out"}

{"process":2,"type":"invoke","f":"read","key":null,"value":null,"time":4}
{"process":2,"type":"fail","f":"read","key":null,"value":null,"time":5,"error":"timed-out"}
{"process":3,"type":"invoke","f":"read","key":null,"value":5,"time":6}
{"process":3,"type":"ok","f":"read","key":null,"value":2,"time":7}
{"process":4,"type":"invoke","f":"write","key":null,"value":7,"time":8}
"#;
        let h = read(text).expect("reads");
        let Ops::Register(ops) = &h.ops else {
            panic!("a register history")
        };
        assert_eq!(h.failed, 1);
        assert_eq!(ops.len(), 4);
        assert_eq!(ops[1].input, RegisterOp::Cas { from: 1, to: 2 });
        assert_eq!(ops[1].ret, None, "info: unknown outcome");
        assert_eq!(
            ops[2].input,
            RegisterOp::Read,
            "the invoke value of a read is ignored"
        );
        assert_eq!((ops[2].ret, ops[2].output), (Some(7), Some(2)));
        assert_eq!(ops[3].ret, None, "never completed: unknown outcome");
        assert_eq!(h.origins[2].invoke_line, 8);
        assert_eq!(h.origins[2].complete_line, Some(9));
        // The read of 2 needs the timed-out cas to have happened.
        let r = h.check(&CheckOptions::default());
        assert_eq!(r.verdict, Verdict::Linearizable);
        assert_eq!(r.partitions[0].linearization, vec![0, 1, 2]);
    }

    #[test]
    fn line_numbered_errors() {
        let e = read(
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n{\"process\": 0,,}",
        )
        .expect_err("bad json");
        assert_eq!(e.line, 2);
        assert!(
            e.to_string()
                .starts_with("line 2, column 15: invalid JSON: key must be a string"),
            "{e}"
        );
        let e = read("{\"process\":0,\"type\":\"begin\",\"f\":\"read\"}").expect_err("type");
        assert_eq!(
            e.to_string(),
            "line 1: unknown \"type\" \"begin\" (expected \"invoke\", \"ok\", \"fail\" or \"info\")"
        );
        let e = read("\n{\"process\":0,\"type\":\"invoke\",\"f\":\"scan\"}").expect_err("f");
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("unknown operation \"scan\""), "{e}");
        let e = read("[1]").expect_err("not an object");
        assert!(e.message.contains("expected an event object"));
        let e =
            read("{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1}").expect_err("orphan");
        assert!(e.message.contains("no open invocation"), "{e}");
        let e = read(
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}",
        )
        .expect_err("double invoke");
        assert!(e.message.contains("still open"), "{e}");
        let e = read("{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":\"x\"}")
            .expect_err("bad value");
        assert!(
            e.message.contains("write value: expected an integer"),
            "{e}"
        );
        let e = read(
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n{\"process\":1,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"a\"}",
        )
        .expect_err("mixed");
        assert!(e.message.contains("in a register"), "{e}");
        let e = read("{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1.5}")
            .expect_err("float");
        assert!(e.message.contains("not a 64-bit integer"), "{e}");
    }

    #[test]
    fn keyed_registers_and_kv() {
        let h = read(
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"a\",\"value\":1}\n\
             {\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"key\":\"a\",\"value\":1}\n\
             {\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"b\",\"value\":null}\n\
             {\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"key\":\"b\",\"value\":null}",
        )
        .expect("reads");
        assert_eq!(h.kind(), "registers");
        let r = h.check(&CheckOptions::default());
        assert!(r.is_linearizable());
        assert_eq!(r.partitions.len(), 2);

        let h = read(
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"append\",\"key\":\"k\",\"value\":\"x\"}\n\
             {\"process\":0,\"type\":\"ok\",\"f\":\"append\",\"key\":\"k\",\"value\":\"x\"}\n\
             {\"process\":1,\"type\":\"invoke\",\"f\":\"get\",\"key\":\"k\",\"value\":null}\n\
             {\"process\":1,\"type\":\"ok\",\"f\":\"get\",\"key\":\"k\",\"value\":\"\"}",
        )
        .expect("reads");
        assert_eq!(h.kind(), "kv");
        let r = h.check(&CheckOptions::default());
        assert_eq!(r.verdict, Verdict::NotLinearizable, "a stale get");
    }
}
