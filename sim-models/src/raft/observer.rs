//! The invariant checker: ghost state shared by the servers of one Raft cluster.
//!
//! Servers report facts as they happen — "I became leader of term T", "I appended these
//! entries after an entry of term P", "I removed my entries from index I on", "I committed
//! these entries", "I applied entry I", "I installed a snapshot ending at I" — and the observer
//! checks Raft's five safety properties (Figure 3 of the paper) against everything reported so
//! far in the run. It is a checker, not part of the algorithm: servers never read from it, and
//! it lives outside every server (shared through an `Rc<RefCell<…>>` captured by the node
//! factories), so it survives crashes and remembers what crashed servers did. A breach is
//! returned as a message naming the nodes, terms and indexes; the reporting server turns it
//! into a `violation` trace event, which fails the run.
//!
//! What it keeps, and why that is enough:
//!
//! * **Election Safety** (at most one leader per term): the leader of each term.
//! * **Leader Append-Only** (a leader never overwrites or deletes its entries): a server that
//!   removes entries while it is the recorded leader of its current term breaks it.
//! * **Log Matching** (two logs with an entry of the same index and term are identical up to
//!   it): for every (index, term) ever appended anywhere, the entry's command and the term of
//!   the entry before it. If every server that appends (index, term) agrees on both, then by
//!   induction on the index any two logs sharing (index, term) share their whole prefix. The
//!   terms along one log must also never decrease.
//! * **Leader Completeness** (a leader holds every entry committed in an earlier term): the
//!   committed prefix as (term, command) per index, with the term in which each index was
//!   first reported committed (the committing leader's term); a new leader of term `T` must
//!   hold the last index committed in a term before `T` (Log Matching then gives the prefix
//!   below it). Entries committed in `T` or later say nothing about a leader of `T`: a
//!   candidate can win an old term after a newer one has committed entries (its vote replies
//!   were delayed), and its log then lacks them — safely, since it can no longer commit.
//! * **State Machine Safety** (no two servers apply different entries at one index): every
//!   commit and every apply is compared with the committed prefix, and a snapshot's last
//!   (index, term) with the entry committed there.
//!
//! Memory is one small record per log index (plus one per term); nothing is per message. After
//! [`MAX_REPORTED`] breaches it stops reporting (one bug tends to cascade), counting the rest.
//!
//! **Following the committed log.** Checkers of the application (the lock service's witness)
//! may need the committed entries too: a [`CommitFollower`] handed to the observer is told of
//! each entry the moment it is first known committed, in index order — the order every replica
//! will apply them in.

use std::collections::BTreeMap;
use std::fmt::Debug;

use sim_core::chunked::ChunkedVec;
use sim_core::{Invariant, NodeId};

use crate::raft::log::{Command, Entry, RaftLog};
use crate::raft::machine::StateMachine;
use crate::raft::{
    ELECTION_SAFETY, LEADER_APPEND_ONLY, LEADER_COMPLETENESS, LOG_MATCHING, STATE_MACHINE_SAFETY,
};

/// Breaches reported before the observer falls silent.
pub const MAX_REPORTED: usize = 20;

/// Ghost state of an application that follows the committed log (see the module doc).
pub trait CommitFollower<S: StateMachine>: Debug {
    /// `entry` is committed: it is the entry at its index on every replica from now on.
    fn committed(&mut self, entry: &Entry<S>);
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Appended<S: StateMachine> {
    command: Command<S>,
    prev_term: u64,
    node: NodeId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Committed<S: StateMachine> {
    /// The entry's term.
    term: u64,
    command: Command<S>,
    /// The node that first reported it committed.
    node: NodeId,
    /// That node's current term then: the term the entry was committed in.
    in_term: u64,
}

/// Ghost state of one Raft cluster replicating `S`.
#[derive(Debug)]
pub struct RaftObserver<S: StateMachine> {
    names: BTreeMap<NodeId, String>,
    /// Told of every newly committed entry, if the application needs it.
    follower: Option<Box<dyn CommitFollower<S>>>,
    leaders: BTreeMap<u64, NodeId>,
    /// Every (index, term) ever appended anywhere: `appended[i - 1]` is the first term seen
    /// at index `i` (an array lookup, no allocation per entry); `appended_later` holds the
    /// rare other terms at the same index (entries that were overwritten).
    appended: ChunkedVec<Option<(u64, Appended<S>)>>,
    appended_later: BTreeMap<(u64, u64), Appended<S>>,
    /// `committed[i - 1]` is the entry committed at index `i`.
    committed: ChunkedVec<Committed<S>>,
    reported: usize,
    suppressed: usize,
}

/// A broken Raft safety property: which one, and what was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    /// The property.
    pub invariant: Invariant,
    /// What was seen (nodes, terms, indexes).
    pub detail: String,
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.invariant.title, self.detail)
    }
}

/// The result of reporting a fact: `Err` describes the breach.
pub type Check = Result<(), Breach>;

impl<S: StateMachine> RaftObserver<S> {
    /// An observer of a cluster whose nodes are named by `names`, telling `follower` of each
    /// newly committed entry.
    pub fn new(
        names: BTreeMap<NodeId, String>,
        follower: Option<Box<dyn CommitFollower<S>>>,
    ) -> Self {
        RaftObserver {
            names,
            follower,
            leaders: BTreeMap::new(),
            appended: ChunkedVec::default(),
            appended_later: BTreeMap::new(),
            committed: ChunkedVec::default(),
            reported: 0,
            suppressed: 0,
        }
    }

    /// Breaches not reported because [`MAX_REPORTED`] were already.
    pub fn suppressed(&self) -> usize {
        self.suppressed
    }

    /// Entries known committed (the length of the committed prefix).
    pub fn committed_len(&self) -> u64 {
        self.committed.len() as u64
    }

    fn name(&self, node: NodeId) -> String {
        self.names
            .get(&node)
            .cloned()
            .unwrap_or_else(|| format!("#{}", node.0))
    }

    fn breach(&mut self, invariant: Invariant, detail: String) -> Check {
        if self.reported >= MAX_REPORTED {
            self.suppressed += 1;
            return Ok(());
        }
        self.reported += 1;
        Err(Breach { invariant, detail })
    }

    /// `node` won the election of `term` holding `log`.
    pub fn became_leader(&mut self, node: NodeId, term: u64, log: &RaftLog<S>) -> Check {
        if let Some(&other) = self.leaders.get(&term)
            && other != node
        {
            let msg = format!(
                "{} and {} were both elected leader of term {term}",
                self.name(other),
                self.name(node)
            );
            return self.breach(ELECTION_SAFETY, msg);
        }
        self.leaders.insert(term, node);
        // The last index committed in an earlier term: the leader must hold it.
        let Some(at) = self.committed.iter().rposition(|c| c.in_term < term) else {
            return Ok(());
        };
        let last = &self.committed[at];
        let index = at as u64 + 1;
        if index < log.snapshot_index() {
            // The leader's snapshot covers it.
            return Ok(());
        }
        // At the snapshot's boundary only the term is known; the snapshot holds the rest.
        let holds = match log.get(index) {
            Some(e) => e.term == last.term && e.command == last.command,
            None => index == log.snapshot_index() && log.snapshot_term() == last.term,
        };
        if !holds {
            let msg = format!(
                "{} became leader of term {term} without the entry committed at index {index} (term {}, committed by {} in term {}); its log ends at index {} term {}",
                self.name(node),
                last.term,
                self.name(last.node),
                last.in_term,
                log.last_index(),
                log.last_term()
            );
            return self.breach(LEADER_COMPLETENESS, msg);
        }
        Ok(())
    }

    /// `node` appended `entries` (consecutive) after an entry of term `prev_term`.
    pub fn appended(&mut self, node: NodeId, prev_term: u64, entries: &[Entry<S>]) -> Check {
        let mut prev_term = prev_term;
        for e in entries {
            if e.term < prev_term {
                let msg = format!(
                    "{} appended index {} of term {} after an entry of term {prev_term}: terms in a log never decrease",
                    self.name(node),
                    e.index,
                    e.term
                );
                return self.breach(LOG_MATCHING, msg);
            }
            let Some(slot) = usize::try_from(e.index).ok().and_then(|i| i.checked_sub(1)) else {
                return self.breach(
                    LOG_MATCHING,
                    format!("{} appended an entry at index {}", self.name(node), e.index),
                );
            };
            while self.appended.len() <= slot {
                self.appended.push(None);
            }
            let seen = match &self.appended[slot] {
                Some((t, a)) if *t == e.term => Some(a),
                Some(_) => self.appended_later.get(&(e.index, e.term)),
                None => None,
            };
            let Some(seen) = seen else {
                let fact = Appended {
                    command: e.command.clone(),
                    prev_term,
                    node,
                };
                match &mut self.appended[slot] {
                    first @ None => *first = Some((e.term, fact)),
                    Some(_) => {
                        self.appended_later.insert((e.index, e.term), fact);
                    }
                }
                prev_term = e.term;
                continue;
            };
            let same_command = seen.command == e.command;
            if !same_command || seen.prev_term != prev_term {
                let (seen_node, seen_prev_term) = (seen.node, seen.prev_term);
                {
                    let msg = if same_command {
                        format!(
                            "{} holds index {} term {} after an entry of term {prev_term}, where {} has term {}",
                            self.name(node),
                            e.index,
                            e.term,
                            self.name(seen_node),
                            seen_prev_term
                        )
                    } else {
                        format!(
                            "{} and {} hold different entries at index {} term {} ({:?})",
                            self.name(seen_node),
                            self.name(node),
                            e.index,
                            e.term,
                            e.command
                        )
                    };
                    return self.breach(LOG_MATCHING, msg);
                }
            }
            prev_term = e.term;
        }
        Ok(())
    }

    /// `node`, in `term`, removed entries from its log; `removed` lists their (index, term).
    pub fn truncated(&mut self, node: NodeId, term: u64, removed: &[(u64, u64)]) -> Check {
        let Some(&(from, _)) = removed.first() else {
            return Ok(());
        };
        if self.leaders.get(&term) == Some(&node) {
            let msg = format!(
                "{} removed its entries from index {from} on while leader of term {term}",
                self.name(node)
            );
            return self.breach(LEADER_APPEND_ONLY, msg);
        }
        for &(index, t) in removed {
            match self.committed.get((index as usize).wrapping_sub(1)) {
                Some(c) if c.term == t => {
                    let msg = format!(
                        "{} removed index {index} term {t}, committed by {}",
                        self.name(node),
                        self.name(c.node)
                    );
                    return self.breach(STATE_MACHINE_SAFETY, msg);
                }
                Some(_) => {}
                None => break,
            }
        }
        Ok(())
    }

    /// `node`, whose current term is `term`, committed `entry` (reported in index order).
    pub fn committed(&mut self, node: NodeId, term: u64, entry: &Entry<S>) -> Check {
        self.agree_and_follow(node, term, entry, "committed")
    }

    /// `node`, whose current term is `term`, applied `entry` to its state machine.
    pub fn applied(&mut self, node: NodeId, term: u64, entry: &Entry<S>) -> Check {
        self.agree_and_follow(node, term, entry, "applied")
    }

    /// Checks `entry` against the committed prefix; if it extends the prefix, tells the
    /// follower.
    fn agree_and_follow(&mut self, node: NodeId, term: u64, entry: &Entry<S>, verb: &str) -> Check {
        let before = self.committed.len();
        self.agree(node, term, entry, verb)?;
        if self.committed.len() > before
            && let Some(f) = self.follower.as_mut()
        {
            f.committed(entry);
        }
        Ok(())
    }

    /// `node` installed a snapshot ending at (`index`, `term`).
    pub fn snapshot_installed(&mut self, node: NodeId, index: u64, term: u64) -> Check {
        match self.committed.get((index as usize).wrapping_sub(1)) {
            Some(c) if c.term != term => {
                let msg = format!(
                    "{} installed a snapshot ending at index {index} term {term}, but {} committed term {} there",
                    self.name(node),
                    self.name(c.node),
                    c.term
                );
                self.breach(STATE_MACHINE_SAFETY, msg)
            }
            Some(_) => Ok(()),
            None if index == 0 => Ok(()),
            None => {
                let msg = format!(
                    "{} installed a snapshot ending at index {index}, past every commit reported (up to {})",
                    self.name(node),
                    self.committed.len()
                );
                self.breach(STATE_MACHINE_SAFETY, msg)
            }
        }
    }

    fn agree(&mut self, node: NodeId, in_term: u64, entry: &Entry<S>, verb: &str) -> Check {
        let (index, term) = (entry.index, entry.term);
        let len = self.committed.len() as u64;
        if index == 0 {
            return Ok(());
        }
        if index <= len {
            let c = &self.committed[index as usize - 1];
            if c.term != term || c.command != entry.command {
                let (c_node, c_term) = (c.node, c.term);
                let msg = format!(
                    "{} {verb} index {index} term {term}, but {} committed index {index} term {}{}",
                    self.name(node),
                    self.name(c_node),
                    c_term,
                    if c_term == term {
                        " with different contents"
                    } else {
                        ""
                    }
                );
                return self.breach(STATE_MACHINE_SAFETY, msg);
            }
            return Ok(());
        }
        if index == len + 1 {
            self.committed.push(Committed {
                term,
                command: entry.command.clone(),
                node,
                in_term,
            });
            return Ok(());
        }
        let msg = format!(
            "{} {verb} index {index} before index {} was known committed",
            self.name(node),
            len + 1
        );
        self.breach(STATE_MACHINE_SAFETY, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::log::Command;
    use crate::raft_kv::KvLock;
    use sim_core::Storage;

    fn e(term: u64, index: u64) -> Entry<KvLock> {
        Entry {
            term,
            index,
            command: Command::Noop,
        }
    }

    fn observer() -> RaftObserver<KvLock> {
        RaftObserver::new(
            (0..3)
                .map(|i| (NodeId(i), format!("kv{}", i + 1)))
                .collect(),
            None,
        )
    }

    #[test]
    fn two_leaders_in_one_term_break_election_safety() {
        let mut o = observer();
        let log = RaftLog::<KvLock>::default();
        assert_eq!(o.became_leader(NodeId(0), 2, &log), Ok(()));
        assert_eq!(
            o.became_leader(NodeId(0), 2, &log),
            Ok(()),
            "same node again"
        );
        let err = o
            .became_leader(NodeId(1), 2, &log)
            .expect_err("breach")
            .to_string();
        assert_eq!(
            err,
            "Election Safety: kv1 and kv2 were both elected leader of term 2"
        );
    }

    #[test]
    fn different_entries_at_one_index_and_term_break_log_matching() {
        let mut o = observer();
        assert_eq!(o.appended(NodeId(0), 0, &[e(1, 1), e(1, 2)]), Ok(()));
        assert_eq!(o.appended(NodeId(1), 0, &[e(1, 1)]), Ok(()));
        // kv3 claims (2, term 1) follows an entry of term 0.
        let err = o
            .appended(NodeId(2), 0, &[e(1, 2)])
            .expect_err("breach")
            .to_string();
        assert!(err.starts_with("Log Matching: kv3 holds index 2 term 1 after an entry of term 0, where kv1 has term 1"), "{err}");
        let err = o
            .appended(NodeId(2), 3, &[e(2, 4)])
            .expect_err("breach")
            .to_string();
        assert!(err.contains("terms in a log never decrease"), "{err}");
    }

    #[test]
    fn a_leader_without_a_committed_entry_breaks_leader_completeness() {
        let mut o = observer();
        let mut storage = Storage::default();
        let mut log = RaftLog::<KvLock>::default();
        log.append(e(1, 1), &mut storage);
        assert_eq!(o.committed(NodeId(0), 1, &e(1, 1)), Ok(()));
        assert_eq!(o.committed(NodeId(0), 1, &e(1, 2)), Ok(()));
        let err = o
            .became_leader(NodeId(1), 3, &log)
            .expect_err("breach")
            .to_string();
        assert!(
            err.starts_with(
                "Leader Completeness: kv2 became leader of term 3 without the entry committed at index 2"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_leader_of_an_older_term_need_not_hold_entries_committed_in_a_newer_one() {
        // Found by the Raft property: kv1 campaigns in term 1 and stalls (a pause) with its
        // votes on the way; kv2 wins term 2 and commits its no-op; kv1 resumes, counts its
        // term-1 votes and leads term 1 — without the entry, which is fine: a leader of term
        // 1 need only hold entries committed before term 1.
        let mut o = observer();
        o.became_leader(NodeId(1), 2, &RaftLog::<KvLock>::default())
            .expect("kv2 leads term 2");
        o.committed(NodeId(1), 2, &e(2, 1)).expect("kv2 commits");
        assert_eq!(
            o.became_leader(NodeId(0), 1, &RaftLog::<KvLock>::default()),
            Ok(())
        );
        // A leader of a later term must hold it.
        let err = o
            .became_leader(NodeId(2), 3, &RaftLog::<KvLock>::default())
            .expect_err("breach")
            .to_string();
        assert!(
            err.starts_with("Leader Completeness: kv3 became leader of term 3 without the entry committed at index 1 (term 2, committed by kv2 in term 2)"),
            "{err}"
        );
        // With the entry it may lead.
        let mut storage = Storage::default();
        let mut log = RaftLog::<KvLock>::default();
        log.append(e(2, 1), &mut storage);
        assert_eq!(o.became_leader(NodeId(2), 4, &log), Ok(()));
    }

    #[test]
    fn a_leader_must_hold_what_was_committed_before_its_term_even_if_more_came_later() {
        let mut o = observer();
        let mut storage = Storage::default();
        let mut log = RaftLog::<KvLock>::default();
        log.append(e(1, 1), &mut storage);
        o.committed(NodeId(0), 1, &e(1, 1))
            .expect("index 1 in term 1");
        o.committed(NodeId(1), 3, &e(3, 2))
            .expect("index 2 in term 3");
        // A leader of term 2 needs index 1 (committed in term 1), not index 2.
        assert_eq!(o.became_leader(NodeId(2), 2, &log), Ok(()));
        let err = o
            .became_leader(NodeId(0), 4, &RaftLog::<KvLock>::default())
            .expect_err("term 4 needs index 2, and index 1 under it")
            .to_string();
        assert!(err.contains("committed at index 2"), "{err}");
        let err = o
            .became_leader(NodeId(1), 5, &log)
            .expect_err("term 5 needs index 2")
            .to_string();
        assert!(err.contains("committed at index 2"), "{err}");
    }

    #[test]
    fn applying_a_different_entry_breaks_state_machine_safety() {
        let mut o = observer();
        assert_eq!(o.committed(NodeId(0), 2, &e(2, 1)), Ok(()));
        assert_eq!(o.applied(NodeId(1), 2, &e(2, 1)), Ok(()));
        let err = o
            .applied(NodeId(2), 3, &e(3, 1))
            .expect_err("breach")
            .to_string();
        assert_eq!(
            err,
            "State Machine Safety: kv3 applied index 1 term 3, but kv1 committed index 1 term 2"
        );
        assert!(o.snapshot_installed(NodeId(2), 1, 3).is_err());
        assert!(
            o.truncated(NodeId(2), 4, &[(1, 2)]).is_err(),
            "removing the committed entry"
        );
        assert_eq!(
            o.truncated(NodeId(2), 4, &[(1, 3)]),
            Ok(()),
            "removing a stale entry where another was committed"
        );
    }

    #[test]
    fn a_leader_that_truncates_breaks_leader_append_only() {
        let mut o = observer();
        o.became_leader(NodeId(0), 5, &RaftLog::<KvLock>::default())
            .expect("first leader");
        let err = o
            .truncated(NodeId(0), 5, &[(9, 5)])
            .expect_err("breach")
            .to_string();
        assert!(err.starts_with("Leader Append-Only: kv1"), "{err}");
        assert_eq!(
            o.truncated(NodeId(1), 5, &[(9, 4)]),
            Ok(()),
            "a follower may"
        );
    }

    #[test]
    fn the_observer_falls_silent_after_enough_breaches() {
        let mut o = observer();
        o.committed(NodeId(0), 1, &e(1, 1)).expect("first");
        for _ in 0..MAX_REPORTED {
            assert!(o.applied(NodeId(1), 2, &e(2, 1)).is_err());
        }
        assert_eq!(o.applied(NodeId(1), 2, &e(2, 1)), Ok(()));
        assert_eq!(o.suppressed(), 1);
    }
}
