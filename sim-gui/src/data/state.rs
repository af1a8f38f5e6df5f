//! Node state over time: every annotation key of every node as a step function of time.
//!
//! A node's `role` is `follower` from 0.2 s, `candidate` from 1.1 s, … ; the value at time `t`
//! is the last change at or before `t`, found by binary search. A crash clears every key (the
//! engine drops a crashed node's annotations), recorded as a change to "no value".

use super::intern::{Interner, NONE, Sym};

/// One key's changes at one node, in time order.
#[derive(Clone, Debug, Default)]
pub struct KeySeries {
    /// The annotation key.
    pub key: Sym,
    /// `(time, value)` changes, ascending in time; a value of [`NONE`] means cleared.
    pub points: Vec<(u64, Sym)>,
}

impl KeySeries {
    /// The value at `t`: the last change at or before `t` ([`NONE`] before the first).
    pub fn at(&self, t: u64) -> Sym {
        let i = self.points.partition_point(|&(pt, _)| pt <= t);
        if i == 0 { NONE } else { self.points[i - 1].1 }
    }

    /// Index of the first change strictly after `t` (for walking the visible window).
    pub fn first_after(&self, t: u64) -> usize {
        self.points.partition_point(|&(pt, _)| pt <= t)
    }
}

/// Every node's annotation series.
#[derive(Clone, Debug, Default)]
pub struct StateIndex {
    /// Per node (by id), its keys in first-annotated order.
    pub nodes: Vec<Vec<KeySeries>>,
}

impl StateIndex {
    /// An index for `n` nodes with no annotations yet.
    pub fn new(n: usize) -> Self {
        StateIndex {
            nodes: vec![Vec::new(); n],
        }
    }

    /// Records `node` setting `key` to `value` at `time` (events arrive in time order).
    pub fn annotate(&mut self, node: u32, time: u64, key: Sym, value: Sym) {
        let Some(keys) = self.nodes.get_mut(node as usize) else {
            return;
        };
        let series = match keys.iter().position(|s| s.key == key) {
            Some(i) => &mut keys[i],
            None => {
                keys.push(KeySeries {
                    key,
                    points: Vec::new(),
                });
                let last = keys.len() - 1;
                &mut keys[last]
            }
        };
        if series.points.last().is_some_and(|&(_, v)| v == value) {
            return;
        }
        series.points.push((time, value));
    }

    /// Records a crash of `node` at `time`: every key loses its value.
    pub fn clear(&mut self, node: u32, time: u64) {
        if let Some(keys) = self.nodes.get_mut(node as usize) {
            for s in keys.iter_mut() {
                if s.points.last().is_some_and(|&(_, v)| v != NONE) {
                    s.points.push((time, NONE));
                }
            }
        }
    }

    /// `node`'s state at `t`: every key with a value, in the node's key order.
    pub fn at(&self, node: u32, t: u64) -> Vec<(Sym, Sym)> {
        self.nodes
            .get(node as usize)
            .map(|keys| {
                keys.iter()
                    .map(|s| (s.key, s.at(t)))
                    .filter(|&(_, v)| v != NONE)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The series of `key` at `node`, if the node ever set it.
    pub fn series(&self, node: u32, key: Sym) -> Option<&KeySeries> {
        self.nodes.get(node as usize)?.iter().find(|s| s.key == key)
    }

    /// The key a lane's band shows for `node`: the first of `preferred` the node annotates,
    /// else its first key.
    pub fn band_key(&self, node: u32, strings: &Interner, preferred: &[&str]) -> Option<Sym> {
        let keys = self.nodes.get(node as usize)?;
        preferred
            .iter()
            .filter_map(|p| strings.find(p))
            .find(|k| keys.iter().any(|s| s.key == *k))
            .or_else(|| keys.first().map(|s| s.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_at_a_time_is_the_last_change_before_it() {
        let mut s = Interner::default();
        let (role, term) = (s.intern("role"), s.intern("term"));
        let (f, c, l, one, two) = (
            s.intern("follower"),
            s.intern("candidate"),
            s.intern("leader"),
            s.intern("1"),
            s.intern("2"),
        );
        let mut idx = StateIndex::new(2);
        idx.annotate(0, 10, role, f);
        idx.annotate(0, 10, term, one);
        idx.annotate(0, 50, role, c);
        idx.annotate(0, 50, term, two);
        idx.annotate(0, 60, role, l);
        idx.annotate(0, 70, role, l); // no change: not a new point
        assert_eq!(idx.at(0, 5), vec![]);
        assert_eq!(idx.at(0, 10), vec![(role, f), (term, one)]);
        assert_eq!(idx.at(0, 55), vec![(role, c), (term, two)]);
        assert_eq!(idx.at(0, 1000), vec![(role, l), (term, two)]);
        assert_eq!(idx.series(0, role).map(|x| x.points.len()), Some(3));
        idx.clear(0, 80);
        assert_eq!(idx.at(0, 80), vec![]);
        assert_eq!(idx.at(0, 79), vec![(role, l), (term, two)]);
        assert_eq!(idx.at(1, 79), vec![]);
        assert_eq!(idx.band_key(0, &s, &["state", "role"]), Some(role));
        assert_eq!(idx.band_key(1, &s, &["role"]), None);
    }
}
