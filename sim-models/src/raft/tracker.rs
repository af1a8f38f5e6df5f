//! The leader's progress tracker: what it knows of each follower (Figure 2's `nextIndex[]` and
//! `matchIndex[]`, plus the rounds that batching and ReadIndex use), and the quorum questions
//! asked of it — the commit rule (§5.3, §5.4.2), the latest round a majority has answered
//! (§6.4), and whether a majority was heard from lately (CheckQuorum, §6.2).

use std::collections::BTreeMap;

use sim_core::NodeId;

use crate::raft::CommitRule;

/// What the leader knows of one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Next index to send (advanced optimistically as entries are sent).
    pub next: u64,
    /// Highest index known to match the leader's log.
    pub matched: u64,
    /// Highest round (see [`crate::raft::RaftNode`]'s round counter) the follower has
    /// answered in this term.
    pub round: u64,
    /// Round of the last message sent to it. While `round < sent` a message is on its way:
    /// new entries and reads wait for its reply and then go in one message (batching). The
    /// heartbeat sends regardless, so a lost message costs at most one heartbeat period.
    pub sent: u64,
    /// Whether it answered since the last CheckQuorum check.
    pub active: bool,
    /// Heartbeats to wait before sending another snapshot (one is on its way).
    pub snapshot_wait: u32,
}

impl Progress {
    /// Whether its latest message is answered, so what queued meanwhile may go now.
    pub fn idle(&self) -> bool {
        self.round >= self.sent
    }
}

/// The progress of every follower, by node id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tracker {
    followers: BTreeMap<NodeId, Progress>,
}

/// What the commit rule concludes from the servers' match indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitDecision {
    /// Nothing new is on a majority.
    Nothing,
    /// Commit up to this index (an entry of the current term is on a majority).
    Advance(u64),
    /// The index on a majority is from an earlier term: it must wait for an entry of the
    /// current term to cover it (§5.4.2, Figure 8).
    HeldOldTerm(u64),
}

impl Tracker {
    /// A new leader's view (Figure 2, "Volatile state on leaders"): every follower's next
    /// index just past the leader's last entry, nothing known to match.
    pub fn new(followers: &[NodeId], next: u64) -> Self {
        let fresh = Progress {
            next,
            matched: 0,
            round: 0,
            sent: 0,
            active: false,
            snapshot_wait: 0,
        };
        Tracker {
            followers: followers.iter().map(|&p| (p, fresh)).collect(),
        }
    }

    /// The progress of `follower`.
    pub fn get(&self, follower: NodeId) -> Option<&Progress> {
        self.followers.get(&follower)
    }

    /// The progress of `follower`, to update.
    pub fn get_mut(&mut self, follower: NodeId) -> Option<&mut Progress> {
        self.followers.get_mut(&follower)
    }

    /// A heartbeat period passed: snapshots on their way are one period older.
    pub fn heartbeat_passed(&mut self) {
        for p in self.followers.values_mut() {
            p.snapshot_wait = p.snapshot_wait.saturating_sub(1);
        }
    }

    /// CheckQuorum: how many servers (the leader included) were heard from since the last
    /// call, which starts the next period.
    pub fn take_heard(&mut self) -> usize {
        let heard = 1 + self.followers.values().filter(|p| p.active).count();
        for p in self.followers.values_mut() {
            p.active = false;
        }
        heard
    }

    /// The commit rule for a leader of `term` whose own log ends at `own_last`, given the
    /// commit index so far and the term of any index (`term_at`).
    pub fn commit_decision(
        &self,
        rule: CommitRule,
        own_last: u64,
        term: u64,
        commit: u64,
        term_at: impl FnOnce(u64) -> Option<u64>,
    ) -> CommitDecision {
        let mut small = [0u64; SMALL_CLUSTER];
        let mut large = Vec::new();
        let all = self.followers.values().map(|p| p.matched);
        let matched = gather(all, own_last, &mut small, &mut large);
        commit_decision(rule, matched, term, commit, term_at)
    }

    /// The latest round a majority of the servers has answered (the leader answers every
    /// round at once): a ReadIndex read waiting for a round at most this is confirmed.
    pub fn quorum_round(&self, majority: usize) -> u64 {
        let mut small = [0u64; SMALL_CLUSTER];
        let mut large = Vec::new();
        let all = self.followers.values().map(|p| p.round);
        let rounds = gather(all, u64::MAX, &mut small, &mut large);
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        rounds.get(majority - 1).copied().unwrap_or(0)
    }
}

/// Clusters up to this size count match indexes and rounds in stack arrays.
const SMALL_CLUSTER: usize = 16;

/// Collects `values` and then `last` into `small` when they fit, else into `large`: no
/// allocation for the usual cluster sizes.
fn gather<'a>(
    values: impl ExactSizeIterator<Item = u64>,
    last: u64,
    small: &'a mut [u64; SMALL_CLUSTER],
    large: &'a mut Vec<u64>,
) -> &'a mut [u64] {
    let n = values.len() + 1;
    if n <= SMALL_CLUSTER {
        for (slot, v) in small.iter_mut().zip(values.chain([last])) {
            *slot = v;
        }
        &mut small[..n]
    } else {
        large.extend(values.chain([last]));
        large
    }
}

/// The commit rule (Figure 2, "Rules for Servers", Leaders, last bullet): the highest index `N`
/// stored on a majority (`matched` holds every server's match index, the leader's own
/// included, in any order; it is sorted here) with `N > commit` and `log[N].term == term`.
/// [`CommitRule::AnyTerm`] drops the last condition (the Figure 8 bug).
pub fn commit_decision(
    rule: CommitRule,
    matched: &mut [u64],
    term: u64,
    commit: u64,
    term_at: impl FnOnce(u64) -> Option<u64>,
) -> CommitDecision {
    matched.sort_unstable_by(|a, b| b.cmp(a));
    let majority = matched.len() / 2 + 1;
    let Some(&n) = matched.get(majority - 1) else {
        return CommitDecision::Nothing;
    };
    if n <= commit {
        return CommitDecision::Nothing;
    }
    // Terms never decrease along a log, so if log[n] is older than `term` so is every entry
    // below it: there is no smaller N to fall back on.
    match (rule, term_at(n)) {
        (CommitRule::AnyTerm, _) => CommitDecision::Advance(n),
        (CommitRule::CurrentTerm, Some(t)) if t == term => CommitDecision::Advance(n),
        (CommitRule::CurrentTerm, Some(_) | None) => CommitDecision::HeldOldTerm(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The terms of Figure 8 (c): index 1 term 1, index 2 term 2, index 3 term 4.
    fn figure8_term(n: u64) -> Option<u64> {
        [None, Some(1), Some(2), Some(4)]
            .get(n as usize)
            .copied()
            .flatten()
    }

    #[test]
    fn old_term_entries_commit_only_through_a_current_term_entry() {
        // Figure 8 (c): the leader of term 4 has replicated index 2 (term 2) to a majority of
        // five; its own entry 3 (term 4) is only on itself.
        let rule = CommitRule::CurrentTerm;
        assert_eq!(
            commit_decision(rule, &mut [3, 2, 2, 1, 1], 4, 1, figure8_term),
            CommitDecision::HeldOldTerm(2)
        );
        assert_eq!(
            commit_decision(
                CommitRule::AnyTerm,
                &mut [3, 2, 2, 1, 1],
                4,
                1,
                figure8_term
            ),
            CommitDecision::Advance(2),
            "the broken rule commits it"
        );
        // Once entry 3 is on a majority, 2 and 3 commit together.
        assert_eq!(
            commit_decision(rule, &mut [1, 3, 1, 3, 3], 4, 1, figure8_term),
            CommitDecision::Advance(3)
        );
        assert_eq!(
            commit_decision(rule, &mut [3, 3, 3, 1, 1], 4, 3, figure8_term),
            CommitDecision::Nothing
        );
    }

    #[test]
    fn the_tracker_counts_the_leader_in_every_majority() {
        let followers = [NodeId(1), NodeId(2), NodeId(3), NodeId(4)];
        let mut t = Tracker::new(&followers, 6);
        assert_eq!(t.get(NodeId(2)).map(|p| (p.next, p.matched)), Some((6, 0)));
        for (id, matched) in [(1, 5), (2, 4)] {
            if let Some(p) = t.get_mut(NodeId(id)) {
                p.matched = matched;
            }
        }
        // Five servers: the leader (at 5) and two followers make three.
        assert_eq!(
            t.commit_decision(CommitRule::CurrentTerm, 5, 2, 0, |_| Some(2)),
            CommitDecision::Advance(4)
        );
        assert_eq!(
            t.commit_decision(CommitRule::CurrentTerm, 5, 3, 0, |_| Some(2)),
            CommitDecision::HeldOldTerm(4)
        );
    }

    #[test]
    fn a_round_counts_once_a_majority_has_answered_it() {
        let followers = [NodeId(1), NodeId(2), NodeId(3), NodeId(4)];
        let mut t = Tracker::new(&followers, 1);
        assert_eq!(t.quorum_round(3), 0, "no follower answered yet");
        for (id, round) in [(1, 9), (2, 7), (3, 3)] {
            if let Some(p) = t.get_mut(NodeId(id)) {
                p.round = round;
            }
        }
        assert_eq!(t.quorum_round(3), 7, "the leader, 9 and 7");
    }

    #[test]
    fn check_quorum_counts_followers_heard_since_the_last_check() {
        let followers = [NodeId(1), NodeId(2)];
        let mut t = Tracker::new(&followers, 1);
        if let Some(p) = t.get_mut(NodeId(2)) {
            p.active = true;
        }
        assert_eq!(t.take_heard(), 2);
        assert_eq!(t.take_heard(), 1, "a new period starts unheard");
    }

    #[test]
    fn a_large_cluster_needs_no_special_case() {
        let followers: Vec<NodeId> = (1..20).map(NodeId).collect();
        let mut t = Tracker::new(&followers, 1);
        for (i, &f) in followers.iter().enumerate() {
            if let Some(p) = t.get_mut(f) {
                p.matched = i as u64;
            }
        }
        // Twenty servers: eleven hold index 9 or more (followers 9..=18 and the leader).
        assert_eq!(
            t.commit_decision(CommitRule::AnyTerm, 100, 1, 0, |_| Some(1)),
            CommitDecision::Advance(9)
        );
    }
}
