//! Simulated durable storage: what a node keeps across a crash.
//!
//! Two parts: a key-value map, and an append-only log (a write-ahead log) of numbered
//! positions for data that grows at one end and is cut at either end, such as a replicated
//! log. Writes to either are volatile until [`Storage::sync`]; a crash rolls every unsynced
//! write back, so a restarted node sees exactly what it had synced. Values are typed (the
//! protocol's `Durable` type) rather than bytes, so models do not need a codec.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// One node's durable key-value store with write-then-sync semantics.
///
/// Writes go straight to the current map; each also appends the key and the value it replaced
/// to an undo log, which a sync empties and a crash replays backwards. A key's text is stored
/// once, shared by the map and the log. The map is hashed (with a fixed hash function) for
/// fast lookups and is never iterated in its own order: [`Storage::iter`] sorts by key.
#[derive(Clone)]
pub struct Storage<V> {
    current: HashMap<Rc<str>, V, BuildHasherDefault<KeyHasher>>,
    /// The log: `log[i]` is position `log_start + i`.
    log: VecDeque<V>,
    log_start: u64,
    /// Writes since the last sync, in order, with what each replaced.
    undo: Vec<Undo<V>>,
    writes: u64,
    syncs: u64,
    /// Every write and sync in order, kept only while a test harness records this node's
    /// effects (`None` in a normal run: one predictable branch per write).
    journal: Option<Vec<StorageOp<V>>>,
}

/// One call that changed a [`Storage`] (or made it durable), as a journal records it for the
/// test harness ([`crate::testing`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StorageOp<V> {
    /// [`Storage::put`].
    Put { key: String, value: V },
    /// [`Storage::delete`].
    Delete { key: String },
    /// [`Storage::log_append`] at position `pos`.
    LogAppend { pos: u64, value: V },
    /// [`Storage::log_truncate`].
    LogTruncate { from: u64 },
    /// [`Storage::log_discard_before`].
    LogDiscard { before: u64 },
    /// [`Storage::sync`].
    Sync,
}

/// How to take back one unsynced write.
#[derive(Clone, Debug)]
enum Undo<V> {
    /// `key` had this value before (None: absent).
    Key(Rc<str>, Option<V>),
    /// One value was appended to the log.
    Appended,
    /// These values were cut from the log's end.
    Truncated(Vec<V>),
    /// These values were cut from the log's front, which started at `start`.
    Discarded { start: u64, values: Vec<V> },
}

/// FxHash over the key's bytes, a word at a time: fast and the same on every run.
#[derive(Default)]
struct KeyHasher(u64);

impl KeyHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
    }

    #[inline]
    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl<V: fmt::Debug> fmt::Debug for Storage<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<&Rc<str>> = self.current.keys().collect();
        keys.sort_unstable();
        f.debug_struct("Storage")
            .field(
                "current",
                &keys
                    .into_iter()
                    .map(|k| (&**k, &self.current[k]))
                    .collect::<Vec<_>>(),
            )
            .field("log_start", &self.log_start)
            .field("log", &self.log)
            .field("undo", &self.undo)
            .field("writes", &self.writes)
            .field("syncs", &self.syncs)
            .finish()
    }
}

impl<V: Clone> Default for Storage<V> {
    fn default() -> Self {
        Storage {
            current: HashMap::default(),
            log: VecDeque::new(),
            log_start: 1,
            undo: Vec::new(),
            writes: 0,
            syncs: 0,
            journal: None,
        }
    }
}

impl<V: Clone> Storage<V> {
    /// The value stored under `key`, including writes not yet synced.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.current.get(key)
    }

    /// Writes `value` under `key`; lost on a crash unless [`Storage::sync`] follows.
    pub fn put(&mut self, key: &str, value: V) {
        if let Some(j) = &mut self.journal {
            j.push(StorageOp::Put {
                key: key.to_owned(),
                value: value.clone(),
            });
        }
        let entry = match self.current.get_mut(key) {
            Some(slot) => {
                let old = std::mem::replace(slot, value);
                let k = self
                    .current
                    .get_key_value(key)
                    .map_or_else(|| Rc::from(key), |(k, _)| Rc::clone(k));
                (k, Some(old))
            }
            None => {
                let k: Rc<str> = Rc::from(key);
                self.current.insert(Rc::clone(&k), value);
                (k, None)
            }
        };
        self.undo.push(Undo::Key(entry.0, entry.1));
        self.writes += 1;
    }

    /// Removes `key`; the removal is lost on a crash unless synced.
    pub fn delete(&mut self, key: &str) {
        if let Some(j) = &mut self.journal {
            j.push(StorageOp::Delete {
                key: key.to_owned(),
            });
        }
        let (k, old) = match self.current.remove_entry(key) {
            Some((k, old)) => (k, Some(old)),
            None => (Rc::from(key), None),
        };
        self.undo.push(Undo::Key(k, old));
        self.writes += 1;
    }

    /// Appends `value` to the log at position [`log_end`](Self::log_end); lost on a crash
    /// unless synced.
    pub fn log_append(&mut self, value: V) {
        if let Some(j) = &mut self.journal {
            j.push(StorageOp::LogAppend {
                pos: self.log_start + self.log.len() as u64,
                value: value.clone(),
            });
        }
        self.log.push_back(value);
        self.undo.push(Undo::Appended);
        self.writes += 1;
    }

    /// Cuts the log's end: removes every position from `from` on.
    pub fn log_truncate(&mut self, from: u64) {
        if let Some(j) = &mut self.journal {
            j.push(StorageOp::LogTruncate { from });
        }
        let keep = usize::try_from(from.saturating_sub(self.log_start)).unwrap_or(usize::MAX);
        if keep >= self.log.len() {
            return;
        }
        let removed: Vec<V> = self.log.drain(keep..).collect();
        self.undo.push(Undo::Truncated(removed));
        self.writes += 1;
    }

    /// Cuts the log's front: removes every position below `before`. If that is past the end,
    /// the log is left empty and the next append goes to `before`.
    pub fn log_discard_before(&mut self, before: u64) {
        if let Some(j) = &mut self.journal {
            j.push(StorageOp::LogDiscard { before });
        }
        if before <= self.log_start {
            return;
        }
        let drop = usize::try_from(before - self.log_start).unwrap_or(usize::MAX);
        let values: Vec<V> = self.log.drain(..drop.min(self.log.len())).collect();
        self.undo.push(Undo::Discarded {
            start: self.log_start,
            values,
        });
        self.log_start = before;
        self.writes += 1;
    }

    /// The first position the log holds (where it starts even when empty).
    pub fn log_start(&self) -> u64 {
        self.log_start
    }

    /// The position the next append goes to.
    pub fn log_end(&self) -> u64 {
        self.log_start + self.log.len() as u64
    }

    /// The value at log position `pos`, if the log holds it.
    pub fn log_get(&self, pos: u64) -> Option<&V> {
        let i = usize::try_from(pos.checked_sub(self.log_start)?).ok()?;
        self.log.get(i)
    }

    /// The log's values with their positions, in order.
    pub fn log_iter(&self) -> impl Iterator<Item = (u64, &V)> {
        (self.log_start..).zip(self.log.iter())
    }

    /// Makes every write so far durable (an `fsync`).
    pub fn sync(&mut self) {
        if let Some(j) = &mut self.journal {
            j.push(StorageOp::Sync);
        }
        self.undo.clear();
        self.syncs += 1;
    }

    /// Writes and syncs in one step.
    pub fn put_synced(&mut self, key: &str, value: V) {
        self.put(key, value);
        self.sync();
    }

    /// Iterates over the stored keys and values in key order (sorting them: meant for
    /// recovery, not for every event).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        let mut all: Vec<(&str, &V)> = self.current.iter().map(|(k, v)| (&**k, v)).collect();
        all.sort_unstable_by_key(|(k, _)| *k);
        all.into_iter()
    }

    /// Whether there are writes that a crash would lose.
    pub fn has_unsynced(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Number of writes and syncs so far, for metrics.
    pub fn counts(&self) -> (u64, u64) {
        (self.writes, self.syncs)
    }

    /// Starts keeping a journal of every write and sync (the test harness turns it on for the
    /// node under test).
    pub(crate) fn start_journal(&mut self) {
        self.journal.get_or_insert_with(Vec::new);
    }

    /// The journal's entries since the last call, oldest first (empty when no journal is
    /// kept).
    pub(crate) fn drain_journal(&mut self) -> Vec<StorageOp<V>> {
        self.journal
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// What survives a crash: every unsynced write is undone, latest first.
    pub fn crash(&mut self) {
        while let Some(undo) = self.undo.pop() {
            match undo {
                Undo::Key(key, Some(v)) => {
                    self.current.insert(key, v);
                }
                Undo::Key(key, None) => {
                    self.current.remove(&key);
                }
                Undo::Appended => {
                    self.log.pop_back();
                }
                Undo::Truncated(values) => self.log.extend(values),
                Undo::Discarded { start, values } => {
                    for v in values.into_iter().rev() {
                        self.log.push_front(v);
                    }
                    self.log_start = start;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_keeps_only_synced_writes() {
        let mut s = Storage::<u64>::default();
        s.put("term", 1);
        s.sync();
        s.put("term", 2);
        s.put("vote", 9);
        s.delete("term");
        assert_eq!(s.get("term"), None);
        assert!(s.has_unsynced());
        s.crash();
        assert_eq!(s.get("term"), Some(&1));
        assert_eq!(s.get("vote"), None);
        assert!(!s.has_unsynced());
    }

    #[test]
    fn the_log_keeps_positions_and_a_crash_undoes_unsynced_cuts() {
        let mut s = Storage::<u64>::default();
        for v in [10, 11, 12, 13] {
            s.log_append(v);
        }
        s.sync();
        assert_eq!((s.log_start(), s.log_end()), (1, 5));
        s.log_truncate(3);
        s.log_append(99);
        s.log_discard_before(2);
        assert_eq!(s.log_iter().collect::<Vec<_>>(), vec![(2, &11), (3, &99)]);
        s.crash();
        assert_eq!(
            s.log_iter().collect::<Vec<_>>(),
            vec![(1, &10), (2, &11), (3, &12), (4, &13)]
        );
        // Discarding past the end empties the log and moves where it starts.
        s.log_discard_before(9);
        s.sync();
        assert_eq!((s.log_start(), s.log_end(), s.log_get(4)), (9, 9, None));
        s.log_append(7);
        assert_eq!(s.log_get(9), Some(&7));
        s.crash();
        assert_eq!(s.log_end(), 9);
    }

    #[test]
    fn synced_delete_survives() {
        let mut s = Storage::<u64>::default();
        s.put_synced("a", 1);
        s.delete("a");
        s.sync();
        s.crash();
        assert_eq!(s.get("a"), None);
        assert_eq!(s.counts(), (2, 2));
    }

    #[test]
    fn a_crash_undoes_many_writes_to_one_key_back_to_the_synced_value() {
        let mut s = Storage::<u64>::default();
        s.put("a", 1);
        s.put("b", 1);
        s.sync();
        for v in 2..6 {
            s.put("a", v);
        }
        s.delete("b");
        s.put("b", 7);
        s.delete("c");
        s.put("c", 8);
        assert_eq!(s.iter().count(), 3);
        s.crash();
        let left: Vec<(&str, &u64)> = s.iter().collect();
        assert_eq!(left, vec![("a", &1), ("b", &1)]);
        assert!(!s.has_unsynced());
        // Writes after the crash start a fresh undo log.
        s.put("a", 9);
        s.crash();
        assert_eq!(s.get("a"), Some(&1));
    }
}
