//! Which links were cut, when: the partition state replayed from the trace's fault events.
//!
//! The engine records a partition as `{kv1,kv2} | {kv3,kv4}`, a one-way block as
//! `{a} -> {b} blocked`, an isolation as a fault about one node, and `heal` as the end of all
//! of them. Replaying those with the engine's semantics (a partition adds blocked edges between
//! its groups; heal removes every one) gives the cut intervals of every link and of every node,
//! for runs and for trace files alike.

use std::collections::BTreeSet;

/// A link that was cut for a while (either direction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkCut {
    /// The lower node id.
    pub a: u32,
    /// The higher node id.
    pub b: u32,
    /// When the cut began.
    pub start: u64,
    /// When it was healed (the run's end if never).
    pub end: u64,
    /// Whether only one direction was blocked.
    pub one_way: bool,
}

/// A stretch of time during which a node had at least one cut link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeCut {
    /// Start.
    pub start: u64,
    /// End (the run's end if never healed).
    pub end: u64,
    /// Which side of the partition the node was on (0 for isolations and blocks), for colour.
    pub side: u8,
}

/// Replays fault events into cut intervals.
#[derive(Debug)]
pub struct NetTracker {
    blocked: BTreeSet<(u32, u32)>,
    side: Vec<u8>,
    open_links: Vec<(u32, u32, u64, bool)>,
    open_nodes: Vec<Option<(u64, u8)>>,
    /// Closed link cuts.
    pub links: Vec<LinkCut>,
    /// Closed node cuts, per node.
    pub nodes: Vec<Vec<NodeCut>>,
}

impl NetTracker {
    /// A tracker for `n` nodes, nothing cut.
    pub fn new(n: usize) -> Self {
        NetTracker {
            blocked: BTreeSet::new(),
            side: vec![0; n],
            open_links: Vec::new(),
            open_nodes: vec![None; n],
            links: Vec::new(),
            nodes: vec![Vec::new(); n],
        }
    }

    /// Applies one fault event at `time`. `lookup` turns a node name into its id.
    pub fn fault(
        &mut self,
        time: u64,
        kind: &str,
        node: Option<u32>,
        detail: &str,
        lookup: &dyn Fn(&str) -> Option<u32>,
    ) {
        let n = self.side.len() as u32;
        match kind {
            "partition" => {
                let groups: Vec<Vec<u32>> = detail
                    .split(" | ")
                    .map(|g| names(g).filter_map(lookup).collect())
                    .collect();
                for (i, g) in groups.iter().enumerate() {
                    for &x in g {
                        if let Some(s) = self.side.get_mut(x as usize) {
                            *s = i.min(7) as u8;
                        }
                    }
                    for (j, h) in groups.iter().enumerate() {
                        if i != j {
                            for &a in g {
                                for &b in h {
                                    self.block(a, b);
                                }
                            }
                        }
                    }
                }
            }
            "isolate" => {
                if let Some(x) = node {
                    for other in 0..n {
                        self.block(x, other);
                        self.block(other, x);
                    }
                }
            }
            "block" => {
                let body = detail.trim_end_matches(" blocked");
                if let Some((from, to)) = body.split_once(" -> ") {
                    let from: Vec<u32> = names(from).filter_map(lookup).collect();
                    let to: Vec<u32> = names(to).filter_map(lookup).collect();
                    for &a in &from {
                        for &b in &to {
                            self.block(a, b);
                        }
                    }
                }
            }
            "heal" => {
                self.blocked.clear();
                self.side.iter_mut().for_each(|s| *s = 0);
            }
            _ => return,
        }
        self.refresh(time);
    }

    fn block(&mut self, a: u32, b: u32) {
        if a != b && (a as usize) < self.side.len() && (b as usize) < self.side.len() {
            self.blocked.insert((a, b));
        }
    }

    /// Closes and opens intervals so they match the blocked set at `time`.
    fn refresh(&mut self, time: u64) {
        let cut =
            |s: &BTreeSet<(u32, u32)>, a: u32, b: u32| (s.contains(&(a, b)), s.contains(&(b, a)));
        // Links: close those no longer cut, open new ones.
        let blocked = &self.blocked;
        let mut still = Vec::new();
        for &(a, b, start, one_way) in &self.open_links {
            let (x, y) = cut(blocked, a, b);
            if x || y {
                still.push((a, b, start, one_way));
            } else {
                self.links.push(LinkCut {
                    a,
                    b,
                    start,
                    end: time,
                    one_way,
                });
            }
        }
        let mut pairs: Vec<(u32, u32)> =
            blocked.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
        pairs.dedup();
        pairs.sort_unstable();
        pairs.dedup();
        for (a, b) in pairs {
            if !still.iter().any(|&(x, y, _, _)| (x, y) == (a, b)) {
                let (x, y) = cut(blocked, a, b);
                still.push((a, b, time, x != y));
            }
        }
        self.open_links = still;
        // Nodes: cut if any of their links is.
        let mut is_cut = vec![false; self.side.len()];
        for &(a, b) in blocked {
            is_cut[a as usize] = true;
            is_cut[b as usize] = true;
        }
        for (i, cut_now) in is_cut.into_iter().enumerate() {
            let side = self.side[i];
            match (self.open_nodes[i], cut_now) {
                (Some((start, s)), false) => {
                    self.nodes[i].push(NodeCut {
                        start,
                        end: time,
                        side: s,
                    });
                    self.open_nodes[i] = None;
                }
                (Some((start, s)), true) if s != side => {
                    self.nodes[i].push(NodeCut {
                        start,
                        end: time,
                        side: s,
                    });
                    self.open_nodes[i] = Some((time, side));
                }
                (None, true) => self.open_nodes[i] = Some((time, side)),
                _ => {}
            }
        }
    }

    /// Closes every open interval at `end` and returns (link cuts by start, node cuts).
    pub fn finish(mut self, end: u64) -> (Vec<LinkCut>, Vec<Vec<NodeCut>>) {
        for (a, b, start, one_way) in std::mem::take(&mut self.open_links) {
            self.links.push(LinkCut {
                a,
                b,
                start,
                end,
                one_way,
            });
        }
        for (i, open) in self.open_nodes.iter().enumerate() {
            if let Some((start, side)) = *open {
                self.nodes[i].push(NodeCut { start, end, side });
            }
        }
        self.links.sort_by_key(|l| (l.start, l.a, l.b));
        (self.links, self.nodes)
    }
}

/// The names in `{a,b,c}` (braces and spaces optional).
fn names(group: &str) -> impl Iterator<Item = &str> {
    group
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<u32> {
        ["kv1", "kv2", "kv3", "c1"]
            .iter()
            .position(|n| *n == name)
            .map(|i| i as u32)
    }

    #[test]
    fn partition_then_heal_gives_link_and_node_intervals() {
        let mut t = NetTracker::new(4);
        t.fault(10, "partition", None, "{kv1,c1} | {kv2,kv3}", &lookup);
        t.fault(20, "crash", Some(1), "crashed", &lookup);
        t.fault(30, "heal", None, "all links restored", &lookup);
        let (links, nodes) = t.finish(100);
        let pairs: Vec<(u32, u32)> = links.iter().map(|l| (l.a, l.b)).collect();
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 3), (2, 3)]);
        assert!(
            links
                .iter()
                .all(|l| l.start == 10 && l.end == 30 && !l.one_way)
        );
        assert_eq!(
            nodes[0],
            vec![NodeCut {
                start: 10,
                end: 30,
                side: 0
            }]
        );
        assert_eq!(
            nodes[1],
            vec![NodeCut {
                start: 10,
                end: 30,
                side: 1
            }]
        );
    }

    #[test]
    fn one_way_blocks_and_isolations_stay_open_to_the_end() {
        let mut t = NetTracker::new(4);
        t.fault(5, "block", None, "{kv1} -> {kv2,kv3} blocked", &lookup);
        t.fault(7, "isolate", Some(3), "c1 cut off", &lookup);
        let (links, nodes) = t.finish(50);
        assert_eq!(links.len(), 5);
        assert!(
            links
                .iter()
                .filter(|l| l.start == 5)
                .all(|l| l.one_way && l.end == 50)
        );
        assert!(links.iter().filter(|l| l.start == 7).all(|l| !l.one_way));
        assert_eq!(
            nodes[3],
            vec![NodeCut {
                start: 7,
                end: 50,
                side: 0
            }]
        );
        assert_eq!(nodes[0].len(), 1);
    }
}
