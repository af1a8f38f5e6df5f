//! Figure 2, rule by rule, one handler call at a time: a server `kv1` in a cluster of three
//! (its peers `kv2` and `kv3` are placeholders) is fed one message or timer by the harness
//! ([`sim_core::testing::Harness`]) and the exact list of its effects is asserted — what it
//! writes, that it syncs before it sends, and what it sends.
//!
//! Election timeouts are random draws; a test reads the drawn delay from the effects (checking
//! it is in range) and asserts everything else exactly.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use sim_core::testing::{Effect, Effects, Harness};
use sim_core::{Duration, NodeId, TimerId};

use crate::protocols::kv::{KvMsg, KvOp, KvOutcome, KvResult};
use crate::protocols::lock::{LockMsg, LockOp, LockOutcome};
use crate::raft::replica::Replica;
use crate::raft::{
    AppendEntries, AppendEntriesReply, ClientCommand, Command, Entry, Meta, RaftConfig, RaftMsg,
    RaftNode, RaftObserver, RaftTimer, RequestVote, RequestVoteReply, Snapshot,
};
use crate::raft_kv::lessor::LeaseExpire;
use crate::raft_kv::{KvLock, KvLockCommand};
use crate::world::{Durable, Msg, Timer, World};

const KV1: NodeId = NodeId(0);
const KV2: NodeId = NodeId(1);
const KV3: NodeId = NodeId(2);
const C1: NodeId = NodeId(3);

/// `kv1` under test with `config` (TOML keys of a `raft-kv` cluster), `kv2` and `kv3` its
/// peers, `c1` a client.
fn harness(config: &str) -> Harness<World> {
    harness_with(toml::from_str(config).expect("a valid raft-kv config"))
}

/// [`harness`] with a configuration as built (catalog bugs included).
fn harness_with(config: RaftConfig) -> Harness<World> {
    let names: BTreeMap<NodeId, String> = [(KV1, "kv1"), (KV2, "kv2"), (KV3, "kv3")]
        .into_iter()
        .map(|(id, name)| (id, name.to_owned()))
        .collect();
    let observer = Rc::new(RefCell::new(RaftObserver::<KvLock>::new(
        names.clone(),
        None,
    )));
    let names = Rc::new(names);
    Harness::builder(1)
        .node("kv1", "kv", move || {
            Box::new(RaftNode::new(
                config.clone(),
                KV1,
                vec![KV2, KV3],
                Rc::clone(&names),
                Rc::clone(&observer),
            ))
        })
        .peer("kv2", "kv")
        .peer("kv3", "kv")
        .peer("c1", "c")
        .build()
        .expect("a valid harness")
}

/// Seeds `h`'s storage, before it starts, with `currentTerm = term` and entries of `terms`.
fn seed_log(h: &mut Harness<World>, term: u64, terms: &[u64]) {
    let storage = h.storage_mut();
    storage.put("meta", meta_value(term, None));
    for (i, &t) in terms.iter().enumerate() {
        storage.log_append(noop(t, i as u64 + 1).into());
    }
    storage.sync();
}

fn noop(term: u64, index: u64) -> Entry<KvLock> {
    Entry {
        term,
        index,
        command: Command::Noop,
    }
}

fn meta_value(term: u64, voted_for: Option<NodeId>) -> Durable {
    Meta { term, voted_for }.into()
}

fn put_meta(term: u64, voted_for: Option<NodeId>) -> Effect<World> {
    Effect::Put {
        key: "meta".into(),
        value: meta_value(term, voted_for),
    }
}

fn raft(m: impl Into<RaftMsg<KvLock>>) -> Msg {
    m.into().into()
}

fn send(to: NodeId, m: impl Into<RaftMsg<KvLock>>) -> Effect<World> {
    Effect::Send { to, msg: raft(m) }
}

fn annotate(key: &'static str, value: impl ToString) -> Effect<World> {
    Effect::Annotate {
        key,
        value: value.to_string(),
    }
}

fn count(name: &'static str, n: u64) -> Effect<World> {
    Effect::Count { name, n }
}

fn timer(t: RaftTimer) -> Timer {
    t.into()
}

/// The election timeout `fx` moved (the one `ResetTimer`), checked to be a draw from the
/// default range, 150 to 300 ms.
fn election_reset(fx: &Effects<World>) -> Effect<World> {
    let resets: Vec<&Effect<World>> = fx
        .iter()
        .filter(|e| matches!(e, Effect::ResetTimer { .. }))
        .collect();
    let [reset @ Effect::ResetTimer { after, .. }] = resets[..] else {
        panic!("one timer moved, the election timer: {fx:?}");
    };
    assert!(
        (Duration::from_millis(150)..=Duration::from_millis(300)).contains(after),
        "{after:?}"
    );
    reset.clone()
}

/// The election timer `fx` set (the one `SetTimer` of an election timer).
fn election_set(fx: &Effects<World>) -> (TimerId, Effect<World>) {
    let id = fx.timer_id(&timer(RaftTimer::Election));
    let (_, after, _) = fx
        .timers()
        .into_iter()
        .find(|(i, _, _)| *i == id)
        .expect("set");
    assert!((Duration::from_millis(150)..=Duration::from_millis(300)).contains(&after));
    let set = Effect::SetTimer {
        id,
        after,
        timer: timer(RaftTimer::Election),
    };
    (id, set)
}

/// Starts `h` and lets its election timer fire: it campaigns in its next term.
fn campaign(h: &mut Harness<World>) -> Effects<World> {
    let started = h.start();
    let (id, _) = election_set(&started);
    h.fire(id)
}

fn vote_request(term: u64, last_index: u64, last_term: u64) -> Msg {
    raft(RequestVote {
        term,
        last_index,
        last_term,
        pre_vote: false,
    })
}

fn vote(term: u64, granted: bool) -> RequestVoteReply {
    RequestVoteReply {
        term,
        granted,
        pre_vote: false,
    }
}

#[test]
fn a_server_recovers_term_and_log_and_waits_for_a_leader() {
    let mut h = harness("");
    seed_log(&mut h, 4, &[1, 2]);
    let fx = h.start();
    let (_, election) = election_set(&fx);
    assert_eq!(
        fx,
        [
            annotate("role", "follower"),
            annotate("term", 4),
            annotate("commit", 0),
            annotate("log", 2),
            annotate("leader", "none"),
            count("elections", 0),
            count("leaderless_ms", 0),
            count("leaders_elected", 0),
            election,
        ]
    );
}

#[test]
fn a_voter_grants_one_vote_per_term_and_persists_it_before_replying() {
    let mut h = harness("");
    h.start();
    // RequestVote, receiver rule 2: votedFor is null and the candidate's log is as
    // up-to-date: granted. The term (All Servers rule) and the vote are synced first.
    let fx = h.deliver(KV2, vote_request(1, 0, 0));
    assert_eq!(
        fx,
        [
            put_meta(1, None),
            annotate("term", 1),
            put_meta(1, Some(KV2)),
            election_reset(&fx),
            Effect::Sync,
            send(KV2, vote(1, true)),
        ]
    );
    // Another candidate of the same term: votedFor is kv2, so no.
    assert_eq!(
        h.deliver(KV3, vote_request(1, 0, 0)),
        [send(KV3, vote(1, false))]
    );
    // The vote survives a crash: after a restart it still refuses kv3.
    h.crash_and_restart();
    assert_eq!(
        h.deliver(KV3, vote_request(1, 0, 0)),
        [send(KV3, vote(1, false))]
    );
}

#[test]
fn a_voter_refuses_a_candidate_with_a_stale_log_and_a_stale_term() {
    let mut h = harness("");
    seed_log(&mut h, 2, &[1, 2]);
    h.start();
    // §5.4.1: the candidate's last term (1) is older than ours (2). The term is adopted all
    // the same.
    assert_eq!(
        h.deliver(KV2, vote_request(3, 5, 1)),
        [
            put_meta(3, None),
            annotate("term", 3),
            Effect::Sync,
            send(KV2, vote(3, false)),
        ]
    );
    // RequestVote, receiver rule 1: a term below ours is refused with our term.
    assert_eq!(
        h.deliver(KV3, vote_request(2, 9, 9)),
        [send(KV3, vote(3, false))]
    );
}

#[test]
fn with_the_catalog_bug_the_vote_is_not_persisted() {
    // The catalog's switches ride on the config (they are not keys of the table).
    let mut config: RaftConfig = toml::from_str("").expect("defaults");
    config.bugs.vote_not_persisted = true;
    let mut h_bug = harness_with(config);
    h_bug.start();
    let fx = h_bug.deliver(KV2, vote_request(1, 0, 0));
    assert!(fx.contains(&put_meta(1, None)));
    assert!(!fx.contains(&put_meta(1, Some(KV2))), "{fx:?}");
    h_bug.crash_and_restart();
    // After a restart it votes again in the same term: two leaders become possible.
    assert!(
        h_bug
            .deliver(KV3, vote_request(1, 0, 0))
            .contains(&send(KV3, vote(1, true)))
    );
}

#[test]
fn a_follower_whose_election_timer_fires_becomes_a_candidate() {
    let mut h = harness("");
    let started = h.start();
    let (id, _) = election_set(&started);
    let fx = h.fire(id);
    let (_, election) = election_set(&fx);
    let leaderless = h.now().0 / 1_000_000;
    let ask = RequestVote {
        term: 1,
        last_index: 0,
        last_term: 0,
        pre_vote: false,
    };
    // Candidates: increment currentTerm, vote for self, reset the election timer, send
    // RequestVote to all other servers — after the term and vote are durable.
    assert_eq!(
        fx,
        [
            count("leaderless_ms", leaderless),
            put_meta(1, Some(KV1)),
            annotate("term", 1),
            annotate("role", "candidate"),
            count("elections", 1),
            election,
            Effect::Sync,
            send(KV2, ask.clone()),
            send(KV3, ask),
        ]
    );
}

#[test]
fn a_candidate_with_a_majority_becomes_leader_and_sends_heartbeats() {
    let mut h = harness("");
    let fx = campaign(&mut h);
    let (election, _) = election_set(&fx);
    let fx = h.deliver(KV2, raft(vote(1, true)));
    let heartbeat = fx.timer_id(&timer(RaftTimer::Heartbeat));
    let append = |round| AppendEntries {
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries: vec![noop(1, 1)],
        commit: 0,
        round,
    };
    // Leaders: upon election, a no-op of the new term goes in the log (§8), and every
    // follower is sent AppendEntries carrying it.
    assert_eq!(
        fx,
        [
            annotate("role", "leader"),
            annotate("leader", "kv1"),
            count("leaderless_ms", 0),
            count("leaders_elected", 1),
            Effect::LogAppend {
                pos: 1,
                value: noop(1, 1).into()
            },
            annotate("log", 1),
            Effect::CancelTimer { id: election },
            Effect::SetTimer {
                id: heartbeat,
                after: Duration::from_millis(50),
                timer: timer(RaftTimer::Heartbeat)
            },
            Effect::Sync,
            send(KV2, append(1)),
            send(KV3, append(2)),
        ]
    );
    // A late vote changes nothing.
    assert_eq!(h.deliver(KV3, raft(vote(1, true))), []);
}

/// `kv1` leads term 3 over a log of terms `[1, 1, 2, 2]` and its no-op (index 5).
fn leader_of_term_3() -> Harness<World> {
    let mut h = harness("");
    seed_log(&mut h, 2, &[1, 1, 2, 2]);
    campaign(&mut h);
    let fx = h.deliver(KV2, raft(vote(3, true)));
    assert!(fx.contains(&annotate("role", "leader")), "{fx:?}");
    h
}

/// A follower's answer to the leader's `round`: success up to `match_index`.
fn ack(match_index: u64, round: u64) -> Msg {
    raft(AppendEntriesReply {
        term: 3,
        success: true,
        match_index,
        conflict_term: None,
        conflict_index: 0,
        round,
    })
}

/// A follower's refusal of the leader's first round, with its conflict hint.
fn refusal(conflict_term: Option<u64>, conflict_index: u64) -> Msg {
    raft(AppendEntriesReply {
        term: 3,
        success: false,
        match_index: 0,
        conflict_term,
        conflict_index,
        round: 1,
    })
}

#[test]
fn a_refused_leader_skips_the_followers_whole_conflicting_term() {
    let mut h = leader_of_term_3();
    // kv2 holds term 1 at index 4 (the entry before kv1's no-op), a run starting at index 3:
    // kv1's last entry of term 1 is index 2, so it retries from index 3 at once.
    let fx = h.deliver(KV2, refusal(Some(1), 3));
    let entries: Vec<Entry<KvLock>> = [(2, 3), (2, 4), (3, 5)]
        .iter()
        .map(|&(t, i)| noop(t, i))
        .collect();
    assert_eq!(
        fx,
        [send(
            KV2,
            AppendEntries {
                term: 3,
                prev_index: 2,
                prev_term: 1,
                entries,
                commit: 0,
                round: 3,
            }
        )]
    );
}

#[test]
fn a_leader_commits_an_old_term_entry_only_with_one_of_its_own() {
    let mut h = leader_of_term_3();
    // kv2 holds up to index 4 (term 2): on a majority with kv1, but of an earlier term. (The
    // no-op at index 5 is on its way to kv2 already.)
    assert_eq!(
        h.deliver(KV2, ack(4, 1)),
        [count("commit_held_old_term", 1)]
    );
    // Index 5 (term 3) on a majority commits it and everything before it.
    let fx = h.deliver(KV2, ack(5, 1));
    let latency = fx
        .iter()
        .find_map(|e| match e {
            Effect::Observe {
                name: "commit_latency",
                value,
            } => Some(*value),
            _ => None,
        })
        .expect("the no-op's commit latency");
    assert_eq!(
        fx,
        [
            annotate("commit", 5),
            Effect::Observe {
                name: "commit_latency",
                value: latency
            },
        ]
    );
}

#[test]
fn a_leader_serves_a_read_once_applied_and_confirmed_by_a_later_round() {
    let mut h = leader_of_term_3();
    let read = KvMsg::Request {
        seq: 1,
        first_open: 1,
        op: KvOp::Read { key: 7 },
    };
    // ReadIndex (§6.4): nothing goes in the log. Both followers have a message on its way,
    // so the round that will confirm the read goes out with their answers.
    assert_eq!(h.deliver(C1, read.into()), []);
    // kv2 answers round 1: the no-op commits, but round 1 was sent before the read came.
    let fx = h.deliver(KV2, ack(5, 1));
    let confirm = AppendEntries {
        term: 3,
        prev_index: 5,
        prev_term: 3,
        entries: Vec::new(),
        commit: 0,
        round: 3,
    };
    assert_eq!(
        fx.without_telemetry(),
        [send(KV2, confirm)],
        "a new round for the read"
    );
    // kv2 answers round 3: with kv1, a majority followed kv1 after the read arrived.
    assert_eq!(
        h.deliver(KV2, ack(5, 3)),
        [Effect::Send {
            to: C1,
            msg: KvMsg::Reply {
                seq: 1,
                outcome: KvOutcome::Done(KvResult::Value(None))
            }
            .into()
        }]
    );
}

#[test]
fn a_follower_refuses_entries_after_a_mismatched_entry_with_a_conflict_hint() {
    let mut h = harness("");
    seed_log(&mut h, 2, &[1, 1, 2]);
    h.start();
    let append = |prev_index, prev_term| {
        raft(AppendEntries {
            term: 3,
            prev_index,
            prev_term,
            entries: vec![noop(3, prev_index + 1)],
            commit: 0,
            round: 7,
        })
    };
    // AppendEntries, receiver rule 2: kv1 has term 2 at index 3, not 3. It follows kv2 in
    // term 3 all the same, and names its conflicting term and where that term starts.
    let fx = h.deliver(KV2, append(3, 3));
    let refusal = |conflict_term, conflict_index| {
        send(
            KV2,
            AppendEntriesReply {
                term: 3,
                success: false,
                match_index: 0,
                conflict_term,
                conflict_index,
                round: 7,
            },
        )
    };
    assert_eq!(
        fx,
        [
            put_meta(3, None),
            annotate("term", 3),
            annotate("leader", "kv2"),
            count("leaderless_ms", 0),
            election_reset(&fx),
            Effect::Sync,
            refusal(Some(2), 3),
        ]
    );
    // A log too short: no term, and its end.
    let fx = h.deliver(KV2, append(6, 3));
    assert_eq!(fx, [election_reset(&fx), refusal(None, 4)]);
}

#[test]
fn a_follower_replaces_a_conflicting_suffix_and_learns_the_commit_index() {
    let mut h = harness("");
    seed_log(&mut h, 2, &[1, 1, 2]);
    h.start();
    // Rules 3 to 5: index 3 conflicts (term 2 here, 3 at the leader): it and what follows
    // go; the leader's entries are appended; the commit index follows the leader's.
    let fx = h.deliver(
        KV2,
        raft(AppendEntries {
            term: 3,
            prev_index: 2,
            prev_term: 1,
            entries: vec![noop(3, 3), noop(3, 4)],
            commit: 3,
            round: 7,
        }),
    );
    assert_eq!(
        fx,
        [
            put_meta(3, None),
            annotate("term", 3),
            annotate("leader", "kv2"),
            count("leaderless_ms", 0),
            election_reset(&fx),
            Effect::LogTruncate { from: 3 },
            Effect::LogAppend {
                pos: 3,
                value: noop(3, 3).into()
            },
            Effect::LogAppend {
                pos: 4,
                value: noop(3, 4).into()
            },
            count("truncations", 1),
            annotate("log", 4),
            annotate("commit", 3),
            Effect::Sync,
            send(
                KV2,
                AppendEntriesReply {
                    term: 3,
                    success: true,
                    match_index: 4,
                    conflict_term: None,
                    conflict_index: 0,
                    round: 7,
                }
            ),
        ]
    );
}

#[test]
fn a_server_that_does_not_lead_redirects_clients_in_their_family() {
    let mut h = harness("");
    h.start();
    let kv = KvMsg::Request {
        seq: 4,
        first_open: 4,
        op: KvOp::Read { key: 1 },
    };
    assert_eq!(
        h.deliver(C1, kv.into()),
        [Effect::Send {
            to: C1,
            msg: KvMsg::Reply {
                seq: 4,
                outcome: KvOutcome::NotLeader { leader: None }
            }
            .into()
        }]
    );
    let lock = LockMsg::Request {
        seq: 2,
        first_open: 1,
        op: LockOp::LeaseKeepAlive { lease: 1 },
    };
    assert_eq!(
        h.deliver(C1, lock.into()),
        [Effect::Send {
            to: C1,
            msg: LockMsg::Reply {
                seq: 2,
                outcome: LockOutcome::NotLeader { leader: None }
            }
            .into()
        }]
    );
}

#[test]
fn a_leader_expires_a_lease_through_the_log_at_a_heartbeat_past_its_ttl() {
    let mut h = harness("");
    // A snapshot at index 1 (term 1) holding a lease of 120 ms, granted by that entry.
    let mut state = Replica::<KvLock>::default();
    let grant = ClientCommand {
        client: C1,
        seq: 1,
        first_open: 1,
        op: KvLockCommand::Lock(LockOp::LeaseGrant {
            ttl: Duration::from_millis(120),
        }),
    };
    state.apply(1, &grant);
    let snapshot = Snapshot {
        last_index: 1,
        last_term: 1,
        state,
    };
    h.storage_mut().put("meta", meta_value(1, None));
    h.storage_mut().put("snapshot", snapshot.into());
    h.storage_mut().log_discard_before(2);
    h.storage_mut().sync();
    campaign(&mut h);
    h.deliver(KV2, raft(vote(2, true)));
    // On taking office the lease gets 120 ms from now: the heartbeats at 50 and 100 ms
    // propose nothing, the one at 150 ms its expiry.
    let quiet = |fx: &Effects<World>| !fx.iter().any(|e| matches!(e, Effect::LogAppend { .. }));
    assert!(quiet(&h.fire_next()));
    assert!(quiet(&h.fire_next()));
    let fx = h.fire_next();
    let expiry = Entry {
        term: 2,
        index: 3,
        command: Command::Machine(LeaseExpire {
            lease: 1,
            renewed_at: 1,
        }),
    };
    assert_eq!(
        fx.iter()
            .filter(|e| !matches!(e, Effect::Send { .. } | Effect::SetTimer { .. }))
            .cloned()
            .collect::<Vec<_>>(),
        [
            count("lease_expiries", 1),
            Effect::LogAppend {
                pos: 3,
                value: expiry.into()
            },
            annotate("log", 3),
            Effect::Sync,
        ]
    );
}
