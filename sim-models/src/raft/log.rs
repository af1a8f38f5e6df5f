//! The replicated log: entries after the last snapshot, in memory and mirrored entry by entry
//! to the storage's append-only log, where an entry's position is its index.
//!
//! Every change goes through this type, which writes storage as it changes memory; the node
//! syncs once before it sends anything that depends on the change. Indexes start at 1; index 0
//! (term 0) is the empty prefix every log shares. After compaction the log starts just above
//! its snapshot's last index, and that index's term is still known.

use std::fmt::{self, Debug};

use sim_core::{NodeId, Storage};

use crate::raft::machine::{Registered, StateMachine};
use crate::world::Durable;

/// A server's `currentTerm` and `votedFor` (Figure 2's persistent state besides the log),
/// kept under one storage key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// The latest term the server has seen.
    pub term: u64,
    /// The candidate it voted for in that term, if any.
    pub voted_for: Option<NodeId>,
}

/// A client's command as it travels through the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCommand<C> {
    /// The client that asked.
    pub client: NodeId,
    /// The client's sequence number for it.
    pub seq: u64,
    /// The lowest sequence number the client still had open when it sent this.
    pub first_open: u64,
    /// The operation, for the state machine.
    pub op: C,
}

/// What an entry asks of the state machine.
#[derive(Clone, PartialEq, Eq)]
pub enum Command<S: StateMachine> {
    /// Nothing: a new leader's first entry, which lets it commit the entries of earlier terms
    /// (they commit only through an entry of the leader's own term; §5.4.2).
    Noop,
    /// A client's command.
    Client(ClientCommand<S::Command>),
    /// A command the state machine proposed itself on the leader (a lease expiry).
    Machine(S::Proposal),
}

/// A machine's proposal shows as itself (`LeaseExpire { .. }`): the machine names it.
impl<S: StateMachine> Debug for Command<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Noop => f.write_str("Noop"),
            Command::Client(c) => f.debug_tuple("Client").field(c).finish(),
            Command::Machine(p) => p.fmt(f),
        }
    }
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<S: StateMachine> {
    /// The term of the leader that created it.
    pub term: u64,
    /// Its position.
    pub index: u64,
    /// What it does.
    pub command: Command<S>,
}

/// The replicated log of one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftLog<S: StateMachine> {
    /// Last index covered by the snapshot (0: none).
    snapshot_index: u64,
    /// Term of that index.
    snapshot_term: u64,
    /// Entries `snapshot_index + 1 ..`, in order.
    entries: Vec<Entry<S>>,
}

/// How a follower's log changed when it took a leader's entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merge {
    /// The (index, term) of every entry removed because it conflicted with the leader's.
    pub removed: Vec<(u64, u64)>,
    /// The first index appended (entries `appended_from ..= last_index` are new).
    pub appended_from: Option<u64>,
}

impl<S: StateMachine> Default for RaftLog<S> {
    fn default() -> Self {
        RaftLog::starting_after(0, 0)
    }
}

impl<S: StateMachine> RaftLog<S> {
    /// An empty log whose snapshot ends at (`snapshot_index`, `snapshot_term`).
    pub fn starting_after(snapshot_index: u64, snapshot_term: u64) -> Self {
        RaftLog {
            snapshot_index,
            snapshot_term,
            entries: Vec::new(),
        }
    }

    /// The index of the last entry (the snapshot's last index if there are none; 0 if empty).
    pub fn last_index(&self) -> u64 {
        self.snapshot_index + self.entries.len() as u64
    }

    /// The term of the last entry (0 for an empty log).
    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.snapshot_term, |e| e.term)
    }

    /// The last index the snapshot covers (0: no snapshot).
    pub fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }

    /// The term of the snapshot's last index.
    pub fn snapshot_term(&self) -> u64 {
        self.snapshot_term
    }

    /// The term of the entry at `index`: known for the snapshot's last index and every entry
    /// after it; `None` below the snapshot or past the end.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.get(index).map(|e| e.term)
    }

    /// The entry at `index`, if the log holds it (not compacted, not past the end).
    pub fn get(&self, index: u64) -> Option<&Entry<S>> {
        let offset = index.checked_sub(self.snapshot_index + 1)?;
        self.entries.get(usize::try_from(offset).ok()?)
    }

    /// Up to `max` entries from `from` on (fewer at the end of the log; none if `from` is
    /// compacted).
    pub fn entries_from(&self, from: u64, max: usize) -> Vec<Entry<S>> {
        let tail = self.tail_from(from);
        tail[..max.min(tail.len())].to_vec()
    }

    /// The entries from `from` to the end, borrowed (empty if `from` is compacted or past the
    /// end).
    pub fn tail_from(&self, from: u64) -> &[Entry<S>] {
        let Some(offset) = from.checked_sub(self.snapshot_index + 1) else {
            return &[];
        };
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        self.entries.get(start..).unwrap_or(&[])
    }

    /// The first index of the run of entries with `term` that contains `index` (for a
    /// follower's conflict hint: the leader can skip the whole run).
    pub fn first_index_of_term_run(&self, index: u64) -> u64 {
        let Some(term) = self.term_at(index) else {
            return index;
        };
        let mut i = index;
        while i > self.snapshot_index + 1 && self.term_at(i - 1) == Some(term) {
            i -= 1;
        }
        i
    }

    /// The last index holding an entry of `term`, if the log has one (for a leader handling a
    /// conflict hint).
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        self.entries
            .iter()
            .rev()
            .skip_while(|e| e.term > term)
            .find(|e| e.term == term)
            .map(|e| e.index)
    }

    /// Whether a candidate's log, ending at (`last_index`, `last_term`), is at least as
    /// up-to-date as this one (§5.4.1: later last term wins; same term, longer log wins).
    pub fn candidate_up_to_date(&self, last_index: u64, last_term: u64) -> bool {
        (last_term, last_index) >= (self.last_term(), self.last_index())
    }
}

/// Changes, written to storage as they are made.
impl<S: Registered> RaftLog<S> {
    /// Rebuilds the log from storage: the entries above `snapshot_index` (whose term is
    /// `snapshot_term`). Returns the log, or the first index missing from the sequence.
    pub fn recover(
        storage: &Storage<Durable>,
        snapshot_index: u64,
        snapshot_term: u64,
    ) -> Result<Self, String> {
        let mut log = RaftLog::starting_after(snapshot_index, snapshot_term);
        for (pos, value) in storage.log_iter() {
            let Some(e) = S::stored_entry(value) else {
                return Err(format!("log position {pos} holds {value:?}, not an entry"));
            };
            if e.index != pos {
                return Err(format!(
                    "log position {pos} holds the entry of index {}",
                    e.index
                ));
            }
            if e.index <= snapshot_index {
                continue;
            }
            if e.index != log.last_index() + 1 {
                return Err(format!(
                    "the stored log jumps from index {} to {}",
                    log.last_index(),
                    e.index
                ));
            }
            log.entries.push(e.clone());
        }
        Ok(log)
    }

    /// Appends `entry` (a leader's new entry, whose index must be `last_index + 1`).
    pub fn append(&mut self, entry: Entry<S>, storage: &mut Storage<Durable>) {
        debug_assert_eq!(entry.index, self.last_index() + 1);
        debug_assert_eq!(entry.index, storage.log_end());
        storage.log_append(S::store_entry(entry.clone()));
        self.entries.push(entry);
    }

    /// Takes a leader's `entries` that follow `prev_index` (whose term the caller has checked):
    /// entries already present are kept, the first conflicting entry and everything after it
    /// are removed, and the rest are appended (Figure 2, AppendEntries rules 3 and 4). Entries
    /// at or below the snapshot are skipped: they are committed and so already match.
    pub fn merge(
        &mut self,
        prev_index: u64,
        entries: &[Entry<S>],
        storage: &mut Storage<Durable>,
    ) -> Merge {
        let mut out = Merge::default();
        for (k, e) in entries.iter().enumerate() {
            let index = prev_index + 1 + k as u64;
            if index <= self.snapshot_index {
                continue;
            }
            match self.term_at(index) {
                Some(t) if t == e.term => continue,
                Some(_) => {
                    out.removed = self
                        .entries_from(index, usize::MAX)
                        .iter()
                        .map(|e| (e.index, e.term))
                        .collect();
                    self.truncate_from(index, storage);
                }
                None => {}
            }
            out.appended_from.get_or_insert(index);
            self.append(Entry { index, ..e.clone() }, storage);
        }
        out
    }

    /// Removes the entries from `index` on.
    pub fn truncate_from(&mut self, index: u64, storage: &mut Storage<Durable>) {
        storage.log_truncate(index.max(self.snapshot_index + 1));
        let keep = index.saturating_sub(self.snapshot_index + 1);
        self.entries
            .truncate(usize::try_from(keep).unwrap_or(usize::MAX));
    }

    /// Drops the entries up to `index` (now covered by a snapshot whose last term is `term`).
    /// If the log does not hold `index` with `term`, everything goes: the snapshot replaces
    /// the whole log (§7: a follower discards a log the snapshot does not extend).
    pub fn compact(&mut self, index: u64, term: u64, storage: &mut Storage<Durable>) {
        if index <= self.snapshot_index {
            return;
        }
        if self.term_at(index) == Some(term) {
            let drop = usize::try_from(index - self.snapshot_index).unwrap_or(usize::MAX);
            self.entries.drain(..drop.min(self.entries.len()));
        } else {
            self.truncate_from(self.snapshot_index + 1, storage);
        }
        storage.log_discard_before(index + 1);
        self.snapshot_index = index;
        self.snapshot_term = term;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft_kv::KvLock;

    fn noop(term: u64, index: u64) -> Entry<KvLock> {
        Entry {
            term,
            index,
            command: Command::Noop,
        }
    }

    fn log_of(terms: &[u64], storage: &mut Storage<Durable>) -> RaftLog<KvLock> {
        let mut log = RaftLog::default();
        for (i, &t) in terms.iter().enumerate() {
            log.append(noop(t, i as u64 + 1), storage);
        }
        log
    }

    #[test]
    fn merge_keeps_matching_entries_and_truncates_at_the_first_conflict() {
        let mut s = Storage::default();
        let mut log = log_of(&[1, 1, 2, 2], &mut s);
        // The leader has [1, 1, 3]: index 3 conflicts.
        let m = log.merge(2, &[noop(3, 3)], &mut s);
        assert_eq!(
            m,
            Merge {
                removed: vec![(3, 2), (4, 2)],
                appended_from: Some(3)
            }
        );
        assert_eq!((log.last_index(), log.last_term()), (3, 3));
        assert_eq!(s.log_end(), 4, "truncated entries leave storage");
        // A stale, shorter copy of the same entries changes nothing (rule 3 only on conflict).
        let m = log.merge(0, &[noop(1, 1)], &mut s);
        assert_eq!(m, Merge::default());
        assert_eq!(log.last_index(), 3);
    }

    #[test]
    fn recovery_sees_only_synced_entries() {
        let mut s = Storage::default();
        let mut log = log_of(&[1, 1], &mut s);
        s.sync();
        log.append(noop(2, 3), &mut s);
        s.crash();
        let back = RaftLog::<KvLock>::recover(&s, 0, 0).expect("contiguous");
        assert_eq!((back.last_index(), back.last_term()), (2, 1));
    }

    #[test]
    fn compaction_keeps_the_suffix_and_the_boundary_term() {
        let mut s = Storage::default();
        let mut log = log_of(&[1, 2, 2, 3], &mut s);
        log.compact(2, 2, &mut s);
        assert_eq!(log.term_at(2), Some(2));
        assert_eq!(log.term_at(1), None);
        assert_eq!(log.get(3).map(|e| e.term), Some(2));
        assert_eq!(log.first_index_of_term_run(3), 3, "stops at the snapshot");
        let back = RaftLog::<KvLock>::recover(&s, 2, 2).expect("contiguous");
        assert_eq!(back, log);
        // A snapshot the log does not extend replaces it entirely.
        log.compact(6, 5, &mut s);
        assert_eq!((log.last_index(), log.last_term()), (6, 5));
        assert_eq!(RaftLog::<KvLock>::recover(&s, 6, 5).expect("empty"), log);
    }

    #[test]
    fn conflict_hints_skip_whole_terms() {
        let mut s = Storage::default();
        let log = log_of(&[1, 1, 2, 2, 2, 4], &mut s);
        assert_eq!(log.first_index_of_term_run(5), 3);
        assert_eq!(log.last_index_of_term(2), Some(5));
        assert_eq!(log.last_index_of_term(3), None);
        assert!(log.candidate_up_to_date(2, 5));
        assert!(!log.candidate_up_to_date(9, 3));
    }
}
