//! Behaviour tests: small deterministic runs of the engine with scripted faults, often chosen
//! from the state the run reached (crash *the leader*, cut *a follower* off). They assert
//! outcomes — who leads, what is committed, what the history shows — never timings.

use std::path::Path;

use sim_core::{FaultAction, NodeId, NodeStatus, OpCall, OpPhase, SimTime, Simulation};

use super::log::{Command, Entry, Meta, RaftLog};
use crate::protocols::kv::KvOp;
use crate::raft_kv::{KvLock, KvLockCommand};
use crate::scenario::{Overrides, Scenario};
use crate::world::{Durable, World};

/// A run of `servers` raft-kv nodes (`kv1`…) with `raft` extra config lines, and `clients`
/// kv-clients (`c1`…) with `client` extra config lines.
fn sim(seed: u64, servers: u32, raft: &str, clients: u32, client: &str) -> Simulation<World> {
    let mut text = format!(
        "name = \"test\"\ndescription = \"test\"\nseed = {seed}\nduration = \"60s\"\n\
         [network]\nlatency = \"uniform(1ms, 3ms)\"\n\
         [[cluster]]\nname = \"kv\"\nmodel = \"raft-kv\"\nnodes = {servers}\n{raft}\n"
    );
    if clients > 0 {
        text.push_str(&format!(
            "[[cluster]]\nname = \"c\"\nmodel = \"kv-client\"\nnodes = {clients}\ntarget = \"kv\"\n{client}\n"
        ));
    }
    let scenario = Scenario::parse(Path::new("test.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    scenario.build(&Overrides::default()).expect("builds")
}

fn ms(n: u64) -> SimTime {
    SimTime(n * 1_000_000)
}

fn node(sim: &Simulation<World>, name: &str) -> NodeId {
    sim.node_by_name(name).expect("node exists")
}

fn servers(sim: &Simulation<World>) -> Vec<NodeId> {
    sim.cluster_nodes("kv")
}

/// Node `n`'s annotation `key`; panics, naming the known keys, if it has none (a renamed
/// annotation must fail the test, not read as empty).
fn ann(sim: &Simulation<World>, n: NodeId, key: &str) -> String {
    sim_core::testing::expect_annotation(sim, n, key).to_owned()
}

/// Node `n`'s numeric annotation `key`; panics if it is missing or not a number.
fn num(sim: &Simulation<World>, n: NodeId, key: &str) -> u64 {
    let text = ann(sim, n, key);
    text.parse()
        .unwrap_or_else(|_| panic!("annotation {key} of node {} is {text:?}, not a number", n.0))
}

fn is_up(sim: &Simulation<World>, n: NodeId) -> bool {
    sim.status(n) == Some(NodeStatus::Up)
}

/// The live server that believes it leads in the highest term.
fn leader(sim: &Simulation<World>) -> Option<NodeId> {
    servers(sim)
        .into_iter()
        .filter(|&n| is_up(sim, n) && ann(sim, n, "role") == "leader")
        .max_by_key(|&n| num(sim, n, "term"))
}

fn counter(sim: &Simulation<World>, nodes: &[NodeId], name: &'static str) -> u64 {
    nodes.iter().map(|&n| sim.metrics().counter(n, name)).sum()
}

fn no_violations(sim: &Simulation<World>) {
    assert!(sim.violations().is_empty(), "{:?}", sim.violations());
}

/// Steps until `done` holds (or the run ends); returns whether it held.
fn step_until(sim: &mut Simulation<World>, done: impl Fn(&Simulation<World>) -> bool) -> bool {
    while !done(sim) {
        if !sim.step() {
            return false;
        }
    }
    true
}

/// Values of the client writes held in `n`'s durable log.
fn logged_writes(sim: &Simulation<World>, n: NodeId) -> Vec<i64> {
    sim.storage(n)
        .map(|s| {
            s.log_iter()
                .filter_map(|(_, v)| match v {
                    Durable::RaftEntry(Entry {
                        command: Command::Client(c),
                        ..
                    }) => match c.op {
                        KvLockCommand::Kv(KvOp::Write { value, .. }) => Some(value),
                        KvLockCommand::Kv(KvOp::Read { .. } | KvOp::Cas { .. })
                        | KvLockCommand::Lock(_) => None,
                    },
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn one_leader_is_elected_and_every_server_follows_it() {
    let mut s = sim(1, 3, "", 0, "");
    s.run_until(ms(3_000));
    let l = leader(&s).expect("a leader");
    let name = s.node_info(l).expect("info").name.clone();
    for n in servers(&s) {
        assert_eq!(ann(&s, n, "leader"), name);
        assert_eq!(num(&s, n, "term"), num(&s, l, "term"));
        if n != l {
            assert_eq!(ann(&s, n, "role"), "follower");
        }
    }
    // The new leader's no-op is committed everywhere.
    for n in servers(&s) {
        assert_eq!(num(&s, n, "commit"), 1, "{n:?}");
    }
    no_violations(&s);
}

#[test]
fn split_votes_resolve_and_no_term_has_two_leaders() {
    // A narrow timeout range makes candidates collide; the observer checks that no term ever
    // has two leaders.
    let mut s = sim(
        4,
        5,
        "election_timeout = \"uniform(150ms, 152ms)\"\nheartbeat = \"20ms\"",
        0,
        "",
    );
    s.run_until(ms(20_000));
    let all = servers(&s);
    assert!(leader(&s).is_some());
    assert!(
        counter(&s, &all, "elections") > counter(&s, &all, "leaders_elected"),
        "some elections were split"
    );
    no_violations(&s);
}

#[test]
fn a_committed_write_survives_the_leader_crash() {
    let mut s = sim(
        2,
        3,
        "snapshot_every = 0",
        1,
        "read_fraction = 0\ncas_fraction = 0\nthink = \"20ms\"",
    );
    s.run_until(ms(2_000));
    let old = leader(&s).expect("a leader");
    let acked: Vec<i64> = s
        .history()
        .operations()
        .iter()
        .filter(|o| o.status == OpPhase::Ok)
        .filter_map(|o| match o.call {
            OpCall::Write { value, .. } => Some(value),
            _ => None,
        })
        .collect();
    assert!(
        acked.len() > 10,
        "writes were acknowledged before the crash"
    );
    s.apply(FaultAction::Crash(old));
    s.run_until(ms(5_000));
    let new = leader(&s).expect("a new leader");
    assert_ne!(new, old);
    let held = logged_writes(&s, new);
    for v in &acked {
        assert!(held.contains(v), "acknowledged write {v} lost");
    }
    // And the client carries on against the new leader.
    let after = s
        .history()
        .operations()
        .iter()
        .filter(|o| o.invoked > ms(3_000) && o.status == OpPhase::Ok)
        .count();
    assert!(after > 10);
    no_violations(&s);
}

#[test]
fn a_partitioned_minority_leader_commits_nothing() {
    let mut s = sim(3, 5, "", 2, "think = \"10ms\"");
    s.run_until(ms(2_000));
    let old = leader(&s).expect("a leader");
    let all = servers(&s);
    let follower = *all.iter().find(|&&n| n != old).expect("a follower");
    let (c1, c2) = (node(&s, "c1"), node(&s, "c2"));
    let majority: Vec<NodeId> = all
        .iter()
        .copied()
        .filter(|&n| n != old && n != follower)
        .chain([c2])
        .collect();
    let cut = s.now();
    s.apply(FaultAction::Partition(vec![
        vec![old, follower, c1],
        majority,
    ]));
    let commit_at_cut = num(&s, old, "commit");
    s.run_until(ms(6_000));
    // The old leader never hears from a majority: still leader (no CheckQuorum), nothing new
    // committed; the majority elected a leader of a later term that keeps committing.
    assert_eq!(ann(&s, old, "role"), "leader");
    assert_eq!(num(&s, old, "commit"), commit_at_cut);
    let new = leader(&s).expect("a leader");
    assert_ne!(new, old);
    assert!(num(&s, new, "term") > num(&s, old, "term"));
    assert!(
        num(&s, new, "commit") > commit_at_cut + 50,
        "{} {commit_at_cut} {:?}",
        num(&s, new, "commit"),
        s.metrics().counters().collect::<Vec<_>>()
    );
    // c1, stuck with the minority, completes nothing ok after the cut.
    let ok_after = |c: NodeId| {
        s.history()
            .operations()
            .iter()
            .filter(|o| o.client == c && o.invoked > cut && o.status == OpPhase::Ok)
            .count()
    };
    assert_eq!(ok_after(c1), 0);
    assert!(ok_after(c2) > 100);
    // Heal: the old leader steps down, drops its uncommitted entries and catches up.
    s.apply(FaultAction::Heal);
    s.run_until(ms(8_000));
    let l = leader(&s).expect("a leader");
    for n in all {
        assert_eq!(num(&s, n, "term"), num(&s, l, "term"));
        assert!(num(&s, n, "commit") + 20 >= num(&s, l, "commit"));
    }
    assert!(counter(&s, &[old], "truncations") >= 1);
    no_violations(&s);
}

#[test]
fn every_handler_syncs_before_it_returns() {
    // Handlers sync before sending, so between events no server has unsynced writes: a crash
    // at any moment loses nothing a message depended on.
    let mut s = sim(5, 3, "snapshot_every = 40", 2, "");
    let all = servers(&s);
    while s.now() < ms(3_000) && s.step() {
        for &n in &all {
            assert!(
                !s.storage(n).is_some_and(|st| st.has_unsynced()),
                "{n:?} has unsynced writes at {:?}",
                s.now()
            );
        }
    }
}

#[test]
fn a_restarted_server_recovers_term_vote_and_log_from_storage() {
    let mut s = sim(6, 3, "snapshot_every = 0", 1, "");
    s.run_until(ms(2_000));
    let l = leader(&s).expect("a leader");
    let f = *servers(&s).iter().find(|&&n| n != l).expect("a follower");
    s.apply(FaultAction::Crash(f));
    let (term, voted, last) = {
        let st = s.storage(f).expect("storage");
        let meta = match st.get("meta") {
            Some(Durable::RaftMeta(Meta { term, voted_for })) => (*term, *voted_for),
            other => panic!("meta holds {other:?}"),
        };
        let last = RaftLog::<KvLock>::recover(st, 0, 0)
            .expect("contiguous")
            .last_index();
        (meta.0, meta.1, last)
    };
    assert_eq!(
        voted,
        Some(l),
        "it voted for the leader (or the leader's vote is durable)"
    );
    s.run_until(ms(2_500));
    s.apply(FaultAction::Restart(f));
    // Right after restart, before any message: what storage held.
    assert_eq!(num(&s, f, "term"), term);
    assert_eq!(num(&s, f, "log"), last);
    assert_eq!(num(&s, f, "commit"), 0, "the commit index is volatile");
    s.run_until(ms(4_000));
    assert!(num(&s, f, "commit") + 20 >= num(&s, l, "commit"));
    assert!(num(&s, f, "commit") > last);
    no_violations(&s);
}

/// The paper's Figure 8, scripted: returns the run after the last step.
///
/// (a) A leads; partition {A, B, c1} from C, D, E, each alone: A appends client writes that
/// reach B only. (b) Let C, D, E elect a leader X and cut X off at once: its no-op stays on X.
/// (c) Join A, B with D, E: A or B (call it L) wins a later term and, sending one entry per
/// message, puts its old-term entry on D — now on a majority. Crash L right after it has seen
/// that. (d) Join X with D, E: X wins (its last term beats theirs) and overwrites that entry.
fn figure8(rule: &str) -> (Simulation<World>, u64) {
    let mut s = sim(
        8,
        5,
        &format!("max_entries_per_append = 1\nsnapshot_every = 0\ncommit_rule = \"{rule}\""),
        1,
        "read_fraction = 0\ncas_fraction = 0\ntimeout = \"300ms\"\nretry_every = \"50ms\"",
    );
    s.run_until(ms(2_000));
    let a = leader(&s).expect("a leader");
    let rest: Vec<NodeId> = servers(&s).into_iter().filter(|&n| n != a).collect();
    let (b, c, d, e) = (rest[0], rest[1], rest[2], rest[3]);
    let c1 = node(&s, "c1");
    s.apply(FaultAction::Partition(vec![
        vec![a, b, c1],
        vec![c],
        vec![d],
        vec![e],
    ]));
    s.run_until(ms(3_000));
    let contested = num(&s, a, "commit") + 1;
    assert!(
        num(&s, b, "log") >= contested,
        "B holds A's uncommitted entry"
    );
    // (b)
    s.apply(FaultAction::Heal);
    s.apply(FaultAction::Partition(vec![vec![a, b, c1], vec![c, d, e]]));
    assert!(step_until(&mut s, |s| [c, d, e]
        .iter()
        .any(|&n| ann(s, n, "role") == "leader")));
    let x = *[c, d, e]
        .iter()
        .find(|&&n| ann(&s, n, "role") == "leader")
        .expect("X");
    let (d, e) = match [c, d, e]
        .iter()
        .copied()
        .filter(|&n| n != x)
        .collect::<Vec<_>>()[..]
    {
        [p, q] => (p, q),
        _ => unreachable!("two others"),
    };
    s.apply(FaultAction::Heal);
    s.apply(FaultAction::Partition(vec![
        vec![a, b, c1],
        vec![x],
        vec![d, e],
    ]));
    assert_eq!(
        num(&s, x, "log"),
        contested,
        "X's no-op is at the contested index"
    );
    // (c)
    s.apply(FaultAction::Heal);
    s.apply(FaultAction::Partition(vec![vec![a, b, c1, d, e], vec![x]]));
    let x_term = num(&s, x, "term");
    assert!(step_until(&mut s, |s| [a, b]
        .iter()
        .any(
            |&n| ann(s, n, "role") == "leader" && num(s, n, "term") > x_term
        )));
    let l = *[a, b]
        .iter()
        .find(|&&n| ann(&s, n, "role") == "leader")
        .expect("L");
    let held = |s: &Simulation<World>| s.metrics().counter(l, "commit_held_old_term");
    assert!(step_until(&mut s, |s| held(s) > 0 || num(s, l, "commit") >= contested));
    s.apply(FaultAction::Crash(l));
    // (d)
    s.apply(FaultAction::Heal);
    let o = if l == a { b } else { a };
    s.apply(FaultAction::Partition(vec![vec![x, d, e], vec![o, c1]]));
    s.run_until(s.now() + sim_core::Duration::from_secs(3));
    assert_eq!(ann(&s, x, "role"), "leader", "X won with D and E");
    (s, contested)
}

#[test]
fn figure8_the_real_commit_rule_holds_back_the_old_entry() {
    let (s, _) = figure8("current-term");
    no_violations(&s);
}

#[test]
fn figure8_the_broken_commit_rule_is_caught_by_the_observer() {
    let (s, contested) = figure8("any-term");
    let v = s.violations();
    // X wins without the (wrongly) committed entry, then overwrites it on D and E.
    assert!(
        v[0].invariant == super::LEADER_COMPLETENESS
            && v[0].detail.contains(&format!("index {contested}")),
        "{v:?}"
    );
    assert!(
        v.iter().any(|v| v.invariant == super::STATE_MACHINE_SAFETY
            && v.detail.contains(&format!("removed index {contested}"))),
        "{v:?}"
    );
}

#[test]
fn resent_requests_apply_once() {
    // One client, one key, sequential: a read must return the last write acknowledged before
    // it or a write whose outcome it did not learn since. A resent old write applied twice
    // would bring back an older value. Duplication and loss force many resends.
    let text = "name = \"t\"\ndescription = \"t\"\nseed = 9\nduration = \"20s\"\n\
        [network]\nlatency = \"uniform(1ms, 20ms)\"\nloss = 0.1\nduplicate = 0.3\n\
        [[cluster]]\nname = \"kv\"\nmodel = \"raft-kv\"\nnodes = 3\nread_mode = \"log\"\n\
        [[cluster]]\nname = \"c\"\nmodel = \"kv-client\"\nnodes = 1\ntarget = \"kv\"\nkeys = 1\n\
        cas_fraction = 0\nretry_every = \"15ms\"\ntimeout = \"500ms\"\n";
    let scenario = Scenario::parse(Path::new("t.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    let mut s = scenario.build(&Overrides::default()).expect("builds");
    // Crash leaders now and then: a resend to the next leader can then reach the log twice.
    for t in [3_000, 7_000, 11_000] {
        s.run_until(ms(t));
        let l = leader(&s).expect("a leader");
        s.apply(FaultAction::Crash(l));
        s.run_until(ms(t + 500));
        s.apply(FaultAction::Restart(l));
    }
    s.run();
    no_violations(&s);
    let all = servers(&s);
    assert!(counter(&s, &[node(&s, "c1")], "resends") > 50);
    assert!(
        counter(&s, &all, "resends_deduplicated") > 0,
        "some resends were answered from the session"
    );
    let mut allowed: Vec<Option<i64>> = vec![None];
    let mut reads = 0;
    for op in s.history().operations() {
        match (&op.call, op.status) {
            (OpCall::Write { value, .. }, OpPhase::Ok) => allowed = vec![Some(*value)],
            (OpCall::Write { value, .. }, OpPhase::Info | OpPhase::Invoke) => {
                allowed.push(Some(*value));
            }
            (OpCall::Read { .. }, OpPhase::Ok) => {
                reads += 1;
                assert!(
                    allowed.contains(&op.result),
                    "read {:?} at {:?}: allowed {allowed:?}",
                    op.result,
                    op.invoked
                );
                allowed = vec![op.result];
            }
            _ => {}
        }
    }
    assert!(reads > 100);
}

#[test]
fn snapshots_bring_a_lagging_follower_up() {
    let mut s = sim(10, 3, "snapshot_every = 50", 2, "think = \"5ms\"");
    s.run_until(ms(1_000));
    let l = leader(&s).expect("a leader");
    let f = *servers(&s).iter().find(|&&n| n != l).expect("a follower");
    s.apply(FaultAction::Crash(f));
    s.run_until(ms(4_000));
    s.apply(FaultAction::Restart(f));
    s.run_until(ms(6_000));
    assert!(s.metrics().counter(f, "snapshots_installed") >= 1);
    assert!(s.metrics().counter(l, "snapshots_sent") >= 1);
    assert!(num(&s, f, "commit") + 20 >= num(&s, l, "commit"));
    let st = s.storage(f).expect("storage");
    assert!(matches!(st.get("snapshot"), Some(Durable::RaftSnapshot(_))));
    no_violations(&s);
}

/// Cuts one follower off from hearing anyone (it can still send) for 10 s; returns the
/// elections started after the cut and the ops that succeeded.
fn deaf_follower(flags: &str) -> (u64, usize) {
    let mut s = sim(11, 5, flags, 2, "");
    s.run_until(ms(2_000));
    let l = leader(&s).expect("a leader");
    let all = servers(&s);
    let deaf = *all.iter().find(|&&n| n != l).expect("a follower");
    let others: Vec<NodeId> = s
        .node_names()
        .iter()
        .map(|n| node(&s, n))
        .filter(|&n| n != deaf)
        .collect();
    let before = counter(&s, &all, "elections");
    s.apply(FaultAction::Block {
        from: others,
        to: vec![deaf],
    });
    s.run_until(ms(12_000));
    no_violations(&s);
    let ok = s
        .history()
        .operations()
        .iter()
        .filter(|o| o.invoked > ms(2_000) && o.status == OpPhase::Ok)
        .count();
    (counter(&s, &all, "elections") - before, ok)
}

#[test]
fn prevote_stops_a_deaf_follower_from_deposing_the_leader() {
    let (plain, ok_plain) = deaf_follower("");
    let (prevote, ok_prevote) = deaf_follower("pre_vote = true");
    assert!(
        plain >= 10,
        "without PreVote it campaigns again and again: {plain}"
    );
    assert_eq!(prevote, 0, "with PreVote it never bumps its term");
    assert!(ok_prevote > ok_plain);
}

/// A leader that can send but not receive, for 10 s; returns (check-quorum step-downs,
/// ops that succeeded after the cut).
fn deaf_leader(flags: &str) -> (u64, usize) {
    let mut s = sim(12, 5, flags, 2, "");
    s.run_until(ms(2_000));
    let l = leader(&s).expect("a leader");
    let others: Vec<NodeId> = s
        .node_names()
        .iter()
        .map(|n| node(&s, n))
        .filter(|&n| n != l)
        .collect();
    s.apply(FaultAction::Block {
        from: others,
        to: vec![l],
    });
    s.run_until(ms(12_000));
    no_violations(&s);
    let ok = s
        .history()
        .operations()
        .iter()
        .filter(|o| o.invoked > ms(3_000) && o.status == OpPhase::Ok)
        .count();
    (s.metrics().counter(l, "check_quorum_stepdowns"), ok)
}

#[test]
fn checkquorum_unseats_a_leader_that_cannot_hear_the_majority() {
    // Without CheckQuorum the deaf leader's heartbeats keep everyone following it, and nothing
    // commits. With it (and PreVote, so the deposed leader cannot disrupt), service resumes.
    let (down_plain, ok_plain) = deaf_leader("");
    let (down, ok) = deaf_leader("check_quorum = true\npre_vote = true");
    assert_eq!((down_plain, ok_plain), (0, 0));
    assert!(down >= 1);
    assert!(ok > 100, "{ok}");
}

/// Runs scenarios/raft/figure8.toml with its commit rule replaced by `rule`.
fn figure8_scenario(rule: &str) -> Simulation<World> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/raft/figure8.toml");
    let text = std::fs::read_to_string(&path).expect("figure8.toml");
    let text = text.replace(
        "commit_rule = \"current-term\"",
        &format!("commit_rule = \"{rule}\""),
    );
    assert!(text.contains(&format!("commit_rule = \"{rule}\"")));
    let scenario = Scenario::parse(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    let mut s = scenario.build(&Overrides::default()).expect("builds");
    s.run();
    s
}

#[test]
fn the_figure8_scenario_shows_the_bug_with_the_broken_rule() {
    // The paper's rule: kv4 holds back its term-1 entry 104 although a majority has it, and
    // nothing committed is lost when kv5 overwrites it.
    let s = figure8_scenario("current-term");
    no_violations(&s);
    assert_eq!(
        s.metrics().counter(node(&s, "kv4"), "commit_held_old_term"),
        1
    );
    // The broken rule commits entry 104 at once; kv5 wins without it and overwrites it.
    let s = figure8_scenario("any-term");
    let v = s.violations();
    assert!(
        v.first().is_some_and(|v| v.text().starts_with(
            "Leader Completeness: kv5 became leader of term 10 without the entry committed at index 104"
        )),
        "{v:?}"
    );
    assert!(
        v.iter().any(|v| v
            .text()
            .starts_with("State Machine Safety: kv2 removed index 104 term 1")),
        "{v:?}"
    );
}
