//! Simulated durable storage: what a node keeps across a crash.
//!
//! Writes are volatile until [`Storage::sync`]; a crash rolls every unsynced write back, so a
//! restarted node sees exactly what it had synced. Values are typed (the protocol's `Durable`
//! type) rather than bytes, so models do not need a codec.

use std::collections::HashMap;
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
    /// Writes since the last sync, in order: the key and the value it had before (None:
    /// absent).
    undo: Vec<(Rc<str>, Option<V>)>,
    writes: u64,
    syncs: u64,
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
            undo: Vec::new(),
            writes: 0,
            syncs: 0,
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
        self.undo.push(entry);
        self.writes += 1;
    }

    /// Removes `key`; the removal is lost on a crash unless synced.
    pub fn delete(&mut self, key: &str) {
        let entry = match self.current.remove_entry(key) {
            Some((k, old)) => (k, Some(old)),
            None => (Rc::from(key), None),
        };
        self.undo.push(entry);
        self.writes += 1;
    }

    /// Makes every write so far durable (an `fsync`).
    pub fn sync(&mut self) {
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

    /// What survives a crash: every unsynced write is undone, latest first.
    pub fn crash(&mut self) {
        while let Some((key, before)) = self.undo.pop() {
            match before {
                Some(v) => self.current.insert(key, v),
                None => self.current.remove(&key),
            };
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
