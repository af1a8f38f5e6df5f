//! Simulated durable storage: what a node keeps across a crash.
//!
//! Writes are volatile until [`Storage::sync`]; a crash rolls every unsynced write back, so a
//! restarted node sees exactly what it had synced. Values are typed (the protocol's `Durable`
//! type) rather than bytes, so models do not need a codec.

use std::collections::BTreeMap;

/// One node's durable key-value store with write-then-sync semantics.
#[derive(Clone, Debug)]
pub struct Storage<V> {
    current: BTreeMap<String, V>,
    /// Keys written since the last sync, with the value they had at that sync (None: absent).
    dirty: BTreeMap<String, Option<V>>,
    writes: u64,
    syncs: u64,
}

impl<V: Clone> Default for Storage<V> {
    fn default() -> Self {
        Storage {
            current: BTreeMap::new(),
            dirty: BTreeMap::new(),
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
        self.remember(key);
        self.current.insert(key.to_owned(), value);
        self.writes += 1;
    }

    /// Removes `key`; the removal is lost on a crash unless synced.
    pub fn delete(&mut self, key: &str) {
        self.remember(key);
        self.current.remove(key);
        self.writes += 1;
    }

    /// Makes every write so far durable (an `fsync`).
    pub fn sync(&mut self) {
        self.dirty.clear();
        self.syncs += 1;
    }

    /// Writes and syncs in one step.
    pub fn put_synced(&mut self, key: &str, value: V) {
        self.put(key, value);
        self.sync();
    }

    /// Iterates over the stored keys and values in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.current.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Whether there are writes that a crash would lose.
    pub fn has_unsynced(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Number of writes and syncs so far, for metrics.
    pub fn counts(&self) -> (u64, u64) {
        (self.writes, self.syncs)
    }

    /// What survives a crash: every unsynced write is undone.
    pub fn crash(&mut self) {
        for (key, synced) in std::mem::take(&mut self.dirty) {
            match synced {
                Some(v) => self.current.insert(key, v),
                None => self.current.remove(&key),
            };
        }
    }

    fn remember(&mut self, key: &str) {
        if !self.dirty.contains_key(key) {
            self.dirty
                .insert(key.to_owned(), self.current.get(key).cloned());
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
}
