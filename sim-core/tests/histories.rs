//! The linearizability checker against recorded Jepsen/Porcupine/Knossos histories with known
//! verdicts (`shared/data/histories`), against Knossos's own analyses of some of them, and on
//! small hand-written histories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sim_core::lin::{
    self, CheckOptions, CheckResult, Counterexample, History, KeyValue, KvInput, KvOp,
    MultiRegister, Operation, Ops, Register, RegisterOp, Verdict,
};

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/histories"
    ));
    if dir.join("manifest.json").is_file() {
        Some(dir.to_path_buf())
    } else {
        println!(
            "NOTICE: {} not found; the recorded-history tests are skipped (a bare clone has no shared/ data)",
            dir.display()
        );
        None
    }
}

fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The manifest's files with a known verdict: path -> (verdict, source path under raw/).
fn manifest(dir: &Path) -> BTreeMap<String, (bool, String)> {
    let m: serde_json::Value =
        serde_json::from_str(&read_text(&dir.join("manifest.json"))).expect("manifest parses");
    let files = m["files"].as_object().expect("files");
    files
        .iter()
        .filter_map(|(name, entry)| {
            let verdict = entry["linearizable"].as_bool()?;
            let source = entry["source"].as_str().unwrap_or_default().to_string();
            Some((name.clone(), (verdict, source)))
        })
        .collect()
}

fn jsonl(dir: &Path, name: &str) -> History {
    lin::jsonl::read(&read_text(&dir.join(name))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn edn(path: &Path) -> History {
    lin::edn::read(&read_text(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn failure(result: &CheckResult) -> &Counterexample {
    result
        .failures()
        .next()
        .and_then(|p| p.counterexample.as_ref())
        .expect("a counterexample")
}

#[test]
fn every_manifest_history_agrees_with_its_known_verdict() {
    let Some(dir) = data_dir() else { return };
    let files = manifest(&dir);
    assert_eq!(
        files.len(),
        228,
        "the manifest lists 228 histories with a verdict"
    );
    let mut disagree = Vec::new();
    for (name, (expected, _)) in &files {
        let history = jsonl(&dir, name);
        let result = history.check(&CheckOptions::default());
        let got = match result.verdict {
            Verdict::Linearizable => Some(true),
            Verdict::NotLinearizable => Some(false),
            Verdict::Unknown => None,
        };
        if got != Some(*expected) {
            disagree.push(format!(
                "{name}: expected {expected}, got {}",
                result.verdict
            ));
        }
        if let Some(cx) = result.failures().find_map(|p| p.counterexample.as_ref()) {
            assert!(
                cx.conflict.contains(&cx.op),
                "{name}: the stuck op is in the conflict"
            );
            assert!(
                !cx.prefix.contains(&cx.op),
                "{name}: the stuck op is not in the prefix"
            );
        }
    }
    assert!(
        disagree.is_empty(),
        "disagreements:\n{}",
        disagree.join("\n")
    );
}

#[test]
fn every_partition_searched_to_the_end_still_agrees() {
    let Some(dir) = data_dir() else { return };
    // The kv files are the only partitioned ones; c50-bad's partitions are costly to refute
    // one by one, so only the smaller ones are searched exhaustively here.
    let options = CheckOptions {
        all_partitions: true,
        explain: false,
        ..CheckOptions::default()
    };
    for name in ["c01-ok", "c01-bad", "c10-ok", "c10-bad", "c50-ok"] {
        let path = format!("porcupine-kv/{name}.jsonl");
        let result = jsonl(&dir, &path).check(&options);
        let expected = name.ends_with("ok");
        assert_eq!(result.is_linearizable(), expected, "{path}");
        assert!(result.partitions.iter().all(|p| !p.stopped_early), "{path}");
        assert!(
            result
                .partitions
                .iter()
                .all(|p| p.verdict != Verdict::Unknown),
            "{path}"
        );
    }
}

#[test]
fn raw_edn_files_agree_with_the_converted_ones() {
    let Some(dir) = data_dir() else { return };
    let files = manifest(&dir);
    let mut checked = 0;
    for (name, (expected, source)) in &files {
        // Knossos EDN vectors, and Porcupine's kv logs (one EDN map per line).
        let raw = dir.join("raw").join(source);
        if !(source.starts_with("knossos/") || source.starts_with("porcupine/kv/")) {
            continue;
        }
        let from_edn = edn(&raw);
        let converted = jsonl(&dir, name);
        // The same operations in the same order (times differ: EDN positions count the
        // skipped nemesis events).
        assert_eq!(
            summary(&from_edn),
            summary(&converted),
            "{source}: same operations"
        );
        let result = from_edn.check(&CheckOptions::default());
        assert_eq!(result.is_linearizable(), *expected, "{source}");
        checked += 1;
    }
    assert_eq!(checked, 126, "120 Knossos cas-register files and 6 kv logs");
}

/// Each operation as (client, what was asked and answered, completed?).
fn summary(h: &History) -> Vec<String> {
    fn each<I: std::fmt::Debug, O: std::fmt::Debug>(ops: &[Operation<I, O>]) -> Vec<String> {
        ops.iter()
            .map(|o| {
                format!(
                    "{} {:?} {:?} {}",
                    o.client,
                    o.input,
                    o.output,
                    o.ret.is_some()
                )
            })
            .collect()
    }
    match &h.ops {
        Ops::Register(ops) => each(ops),
        Ops::Registers(ops) => each(ops),
        Ops::Kv(ops) => each(ops),
        Ops::MultiRegister(ops) => each(ops),
        Ops::Mutex(ops) => each(ops),
    }
}

#[test]
fn knossos_multi_register_and_mutex_examples() {
    let Some(dir) = data_dir() else { return };
    // Knossos checks this one with (multi-register {:x 0 :y 0}): valid.
    let h = edn(&dir.join("raw/knossos/multi-register/good/multi-register.edn"));
    assert_eq!(h.kind(), "multi-register");
    let Ops::MultiRegister(ops) = &h.ops else {
        panic!("multi-register ops")
    };
    let model = MultiRegister {
        initial: [("x".to_string(), 0), ("y".to_string(), 0)]
            .into_iter()
            .collect(),
    };
    assert!(lin::check(&model, ops, &CheckOptions::default()).is_linearizable());
    // From empty registers the first read of x = 0 cannot be explained.
    assert_eq!(
        h.check(&CheckOptions::default()).verdict,
        Verdict::NotLinearizable
    );

    // A lock that etcd handed to two clients at once: in Knossos's mutex/bad.
    let h = edn(&dir.join("raw/knossos/mutex/bad/etcd.edn"));
    assert_eq!(h.kind(), "mutex");
    assert_eq!(h.skipped, 12, "the nemesis events are skipped");
    let result = h.check(&CheckOptions::default());
    assert_eq!(result.verdict, Verdict::NotLinearizable);
    let cx = failure(&result);
    assert!(cx.minimal);
}

/// The operation Knossos's tests name as the one that cannot be linearized (by its `:index`,
/// its position in the EDN vector) is the one we report.
#[test]
fn stuck_operation_matches_knossos_analyses() {
    let Some(dir) = data_dir() else { return };
    for (file, process, index, value) in [
        ("bad/bad-analysis", 21, 14, 2),
        ("bad/cas-failure", 70, 491, 0),
        ("bad/rethink-fail-minimal", 1, 4, 3),
        ("bad/rethink-fail-smaller", 12, 217, 3),
    ] {
        let name = format!("knossos-cas-register/{file}.jsonl");
        let text = read_text(&dir.join(&name));
        let history = lin::jsonl::read(&text).expect("reads");
        let result = history.check(&CheckOptions::default());
        let cx = failure(&result);
        let origin = history.origins[cx.op];
        assert_eq!(origin.process, process, "{name}");
        let line = text
            .lines()
            .nth(origin.complete_line.expect("completed") - 1)
            .expect("line");
        let event: serde_json::Value = serde_json::from_str(line).expect("json");
        assert_eq!(event["src_index"], index, "{name}");
        assert_eq!(event["value"], value, "{name}");
        assert!(cx.minimal, "{name}");
    }

    // Knossos: "the value is 0, then concurrent reads of 0 and a write of 2 by process 76,
    // followed by another read of 0 by process 70". Those two are the conflict.
    let history = jsonl(&dir, "knossos-cas-register/bad/cas-failure.jsonl");
    let result = history.check(&CheckOptions::default());
    let cx = failure(&result);
    let named: Vec<(u64, String)> = cx
        .conflict
        .iter()
        .map(|&i| {
            let Ops::Register(ops) = &history.ops else {
                panic!("register")
            };
            (
                history.origins[i].process,
                format!("{:?} {:?}", ops[i].input, ops[i].output),
            )
        })
        .collect();
    assert_eq!(
        named,
        vec![
            (76, "Write(2) None".to_string()),
            (70, "Read Some(0)".to_string())
        ]
    );
    // The bad-analysis conflict is Knossos's :op and :previous-ok: a read of 0 (index 11)
    // that completed before a read of 2 began, with no write of 2 possible in between.
    let history = jsonl(&dir, "knossos-cas-register/bad/bad-analysis.jsonl");
    let cx = failure(&history.check(&CheckOptions::default())).clone();
    let processes: Vec<u64> = cx
        .conflict
        .iter()
        .map(|&i| history.origins[i].process)
        .collect();
    assert_eq!(processes, vec![19, 21]);
    let report = history
        .check(&CheckOptions::default())
        .report(|i| history.describe_op(i));
    assert!(
        report.contains("cannot place: #8 process 21 read -> 2 (lines 14-15)"),
        "{report}"
    );
}

#[test]
fn counterexamples_are_deterministic() {
    let Some(dir) = data_dir() else { return };
    for name in [
        "porcupine-etcd/etcd_099.jsonl",
        "porcupine-kv/c10-bad.jsonl",
        "knossos-cas-register/bad/rethink-fail.jsonl",
    ] {
        let h = jsonl(&dir, name);
        let a = h.check(&CheckOptions::default());
        let b = h.check(&CheckOptions::default());
        assert_eq!(a, b, "{name}");
    }
}

// ---- hand-written histories ----

fn op(
    client: u64,
    call: u64,
    ret: Option<u64>,
    input: RegisterOp,
    output: Option<i64>,
) -> Operation<RegisterOp, Option<i64>> {
    Operation {
        client,
        call,
        ret,
        input,
        output,
    }
}

fn w(call: u64, ret: u64, v: i64) -> Operation<RegisterOp, Option<i64>> {
    op(0, call, Some(ret), RegisterOp::Write(v), None)
}

fn r(call: u64, ret: u64, v: Option<i64>) -> Operation<RegisterOp, Option<i64>> {
    op(1, call, Some(ret), RegisterOp::Read, v)
}

fn cas(call: u64, ret: Option<u64>, from: i64, to: i64) -> Operation<RegisterOp, Option<i64>> {
    op(2, call, ret, RegisterOp::Cas { from, to }, None)
}

fn check_register(ops: &[Operation<RegisterOp, Option<i64>>]) -> CheckResult {
    lin::check(&Register::default(), ops, &CheckOptions::default())
}

#[test]
fn overlapping_write_and_reads() {
    // A read overlapping a write may see the old or the new value...
    let ops = [w(0, 1, 1), w(2, 6, 2), r(3, 4, Some(2)), r(3, 5, Some(1))];
    assert!(check_register(&ops).is_linearizable());
    // ...but once one read saw the new value, a later read cannot see the old one.
    let ops = [w(0, 1, 1), w(2, 9, 2), r(3, 4, Some(2)), r(5, 6, Some(1))];
    let result = check_register(&ops);
    assert_eq!(result.verdict, Verdict::NotLinearizable);
    let cx = failure(&result);
    assert_eq!(cx.op, 3);
    // The read of 2, then the read of 1: the only write of 1 completed before either began.
    assert_eq!(cx.conflict, vec![2, 3]);
    assert!(cx.minimal);
    // The linearization of what completed before the stale read ends in 2.
    assert_eq!(cx.state, "2");
}

#[test]
fn stale_read() {
    let ops = [w(0, 1, 1), w(2, 3, 2), r(4, 5, Some(1))];
    let result = check_register(&ops);
    assert_eq!(result.verdict, Verdict::NotLinearizable);
    let cx = failure(&result);
    assert_eq!(cx.op, 2);
    assert_eq!(cx.prefix, vec![0, 1]);
    assert_eq!(
        cx.conflict,
        vec![1, 2],
        "write 2 completed before the read of 1 began"
    );
    // A read of the initial empty value after a write is stale too.
    let result = check_register(&[w(0, 1, 5), r(2, 3, None)]);
    assert_eq!(failure(&result).conflict, vec![0, 1]);
}

#[test]
fn info_write_that_must_have_happened() {
    // The write of 2 timed out, yet a later read saw 2: it took effect.
    let ops = [
        w(0, 1, 1),
        op(0, 2, None, RegisterOp::Write(2), None),
        r(5, 6, Some(2)),
        r(7, 8, Some(2)),
    ];
    let result = check_register(&ops);
    assert!(result.is_linearizable());
    assert_eq!(result.partitions[0].linearization, vec![0, 1, 2, 3]);
    // It cannot have taken effect before it was invoked.
    let ops = [r(0, 1, Some(2)), op(0, 2, None, RegisterOp::Write(2), None)];
    assert_eq!(check_register(&ops).verdict, Verdict::NotLinearizable);
}

#[test]
fn info_write_that_must_not_have_happened() {
    // The write of 9 timed out and no read ever saw it: it never took effect (or did so
    // after everything), which is allowed.
    let ops = [
        w(0, 1, 1),
        op(0, 2, None, RegisterOp::Write(9), None),
        r(3, 4, Some(1)),
        r(5, 6, Some(1)),
    ];
    let result = check_register(&ops);
    assert!(result.is_linearizable());
    assert_eq!(result.partitions[0].linearization, vec![0, 2, 3]);
    // An unknown write may take effect at most once: 9, then 1, then 9 again is impossible.
    let ops = [
        op(0, 0, None, RegisterOp::Write(9), None),
        r(1, 2, Some(9)),
        w(3, 4, 1),
        r(5, 6, Some(9)),
    ];
    assert_eq!(check_register(&ops).verdict, Verdict::NotLinearizable);
}

#[test]
fn cas_chains() {
    // 0 -> 1 -> 2 -> 3, with the middle cas timed out: it must have happened.
    let ops = [
        w(0, 1, 0),
        cas(2, Some(3), 0, 1),
        cas(4, None, 1, 2),
        cas(6, Some(7), 2, 3),
        r(8, 9, Some(3)),
    ];
    assert!(check_register(&ops).is_linearizable());
    // Two concurrent cas from the same value cannot both succeed.
    let ops = [w(0, 1, 0), cas(2, Some(5), 0, 1), cas(2, Some(5), 0, 2)];
    let result = check_register(&ops);
    assert_eq!(result.verdict, Verdict::NotLinearizable);
    // Neither write of 0 nor the other cas is needed to see it: each cas needs the one
    // write of 0 just before it.
    assert_eq!(failure(&result).conflict, vec![1, 2]);
    // A cas whose expected value never held.
    let ops = [w(0, 1, 0), cas(2, Some(3), 7, 1)];
    let result = check_register(&ops);
    assert_eq!(failure(&result).conflict, vec![1]);
}

#[test]
fn kv_keys_are_independent() {
    let kv = |client: u64, call: u64, ret: u64, key: &str, op: KvOp, out: &str| Operation {
        client,
        call,
        ret: Some(ret),
        input: KvInput {
            key: key.to_string(),
            op,
        },
        output: out.to_string(),
    };
    let ops = vec![
        kv(0, 0, 1, "a", KvOp::Put("x".into()), ""),
        kv(1, 0, 1, "b", KvOp::Append("y".into()), ""),
        kv(0, 2, 3, "a", KvOp::Append("z".into()), ""),
        kv(1, 2, 5, "b", KvOp::Get, "y"),
        kv(2, 4, 5, "a", KvOp::Get, "xz"),
    ];
    let result = lin::check(&KeyValue, &ops, &CheckOptions::default());
    assert!(result.is_linearizable());
    assert_eq!(result.partitions.len(), 2);

    // A stale get on key "b" fails that key only; key "a" is still linearizable.
    let mut bad = ops.clone();
    bad.push(kv(3, 6, 7, "b", KvOp::Get, ""));
    let options = CheckOptions {
        all_partitions: true,
        ..CheckOptions::default()
    };
    let result = lin::check(&KeyValue, &bad, &options);
    assert_eq!(result.verdict, Verdict::NotLinearizable);
    let verdicts: Vec<(&str, Verdict)> = result
        .partitions
        .iter()
        .map(|p| (p.label.as_str(), p.verdict))
        .collect();
    assert_eq!(
        verdicts,
        vec![
            ("key \"a\"", Verdict::Linearizable),
            ("key \"b\"", Verdict::NotLinearizable)
        ]
    );
    let cx = failure(&result);
    assert_eq!(cx.op, 5);
    // A get saw "y", a later get saw "": the append of y cannot be undone.
    assert_eq!(cx.conflict, vec![3, 5]);
}

#[test]
fn parser_errors_are_line_numbered() {
    let e = lin::jsonl::read(
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\nnot json",
    )
    .expect_err("bad line");
    assert_eq!(e.line, 2);
    assert!(
        e.to_string().starts_with("line 2, column 2: invalid JSON"),
        "{e}"
    );
    let e =
        lin::jsonl::read("{\"process\":0,\"type\":\"started\",\"f\":\"read\"}").expect_err("type");
    assert!(
        e.to_string().contains("unknown \"type\" \"started\""),
        "{e}"
    );
    let e =
        lin::jsonl::read("{\"process\":0,\"type\":\"invoke\",\"f\":\"increment\"}").expect_err("f");
    assert!(
        e.to_string().contains("unknown operation \"increment\""),
        "{e}"
    );
    let e =
        lin::edn::read("[{:process 0, :type :invoke, :f :read, :value nil}\n {:process 0 :type}]")
            .expect_err("odd map");
    assert_eq!((e.line, e.column), (2, Some(2)));
    assert!(e.message.contains("even number of forms"), "{e}");
    let e =
        lin::edn::read("[{:process 0, :type :invoke, :f :read, :value nil}").expect_err("unclosed");
    assert!(e.message.contains("unclosed"), "{e}");
    let e =
        lin::edn::read("[{:process 0, :type :invoke, :f :read, :value \"x}]").expect_err("string");
    assert!(e.message.contains("unterminated string"), "{e}");
}
