//! Client sessions (dissertation §6.3): each client's request applies once, however often it
//! is resent or appended.
//!
//! A session remembers, per client, the outputs of the requests it applied that the client may
//! still ask about. A request applied again (the client resent it, or a duplicate message was
//! appended twice) gets the remembered output instead of applying twice — a resent lease grant
//! does not open a second lease. Each request carries the lowest sequence number its client
//! still has open; outputs below it are forgotten, and a request below it is stale (the client
//! has given up on it) and is skipped. Sessions are replicated state: they are applied from
//! the log and carried by snapshots, so every replica agrees.

use std::collections::VecDeque;

use sim_core::NodeId;

/// What applying a client's request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied<O> {
    /// Applied now, with this output.
    Fresh(O),
    /// Applied before: this is the remembered output.
    Duplicate(O),
    /// Below the client's floor: skipped, nobody waits for it.
    Stale,
}

impl<O: Copy> Applied<O> {
    /// The output to send the client, if any.
    pub fn output(self) -> Option<O> {
        match self {
            Applied::Fresh(o) | Applied::Duplicate(o) => Some(o),
            Applied::Stale => None,
        }
    }
}

/// One client's session.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Session<O> {
    /// Requests below this sequence number are finished for the client.
    floor: u64,
    /// Outputs of applied requests at or above `floor`, by sequence number (ascending). A
    /// client has a handful open at once and numbers them in order, so a sorted ring beats a
    /// tree: trimming pops the front and a new output usually goes at the back.
    outputs: VecDeque<(u64, O)>,
}

impl<O: Copy> Session<O> {
    fn output(&self, seq: u64) -> Option<O> {
        // A new request is above every remembered one: settle that without a search.
        if self.outputs.back().is_none_or(|&(s, _)| s < seq) {
            return None;
        }
        let i = self.outputs.partition_point(|&(s, _)| s < seq);
        self.outputs
            .get(i)
            .filter(|&&(s, _)| s == seq)
            .map(|&(_, o)| o)
    }

    fn remember(&mut self, seq: u64, output: O) {
        if self.outputs.back().is_none_or(|&(s, _)| s < seq) {
            self.outputs.push_back((seq, output));
            return;
        }
        let i = self.outputs.partition_point(|&(s, _)| s < seq);
        self.outputs.insert(i, (seq, output));
    }

    /// Raises the floor to `first_open`, forgetting the outputs below it.
    fn raise_floor(&mut self, first_open: u64) {
        if first_open > self.floor {
            self.floor = first_open;
            while self.outputs.front().is_some_and(|&(s, _)| s < first_open) {
                self.outputs.pop_front();
            }
        }
    }
}

/// Every client's session, with outputs of type `O`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sessions<O> {
    /// Per client, sorted by client id (few clients: a binary search beats a tree).
    by_client: Vec<(NodeId, Session<O>)>,
}

impl<O> Default for Sessions<O> {
    fn default() -> Self {
        Sessions {
            by_client: Vec::new(),
        }
    }
}

impl<O: Copy> Sessions<O> {
    /// The remembered output of (client, seq), if it was applied and is still remembered.
    pub fn remembered(&self, client: NodeId, seq: u64) -> Option<O> {
        let i = self
            .by_client
            .binary_search_by_key(&client, |(c, _)| *c)
            .ok()?;
        self.by_client[i].1.output(seq)
    }

    /// Request `seq` of `client`, sent while its lowest open request was `first_open`,
    /// committed: runs `apply` unless it applied before or is stale, and remembers its output.
    pub fn apply_once(
        &mut self,
        client: NodeId,
        seq: u64,
        first_open: u64,
        apply: impl FnOnce() -> O,
    ) -> Applied<O> {
        let at = match self.by_client.binary_search_by_key(&client, |(c, _)| *c) {
            Ok(i) => i,
            Err(i) => {
                let fresh = Session {
                    floor: 0,
                    outputs: VecDeque::new(),
                };
                self.by_client.insert(i, (client, fresh));
                i
            }
        };
        let session = &mut self.by_client[at].1;
        session.raise_floor(first_open);
        if seq < session.floor {
            return Applied::Stale;
        }
        if let Some(o) = session.output(seq) {
            return Applied::Duplicate(o);
        }
        let output = apply();
        session.remember(seq, output);
        Applied::Fresh(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: NodeId = NodeId(7);

    /// Applies request `seq` (with `first_open`) of CLIENT, whose output is `out`.
    fn apply(s: &mut Sessions<u64>, seq: u64, first_open: u64, out: u64) -> Applied<u64> {
        s.apply_once(CLIENT, seq, first_open, || out)
    }

    #[test]
    fn a_request_applied_again_gets_its_first_output() {
        let mut s = Sessions::default();
        assert_eq!(apply(&mut s, 1, 1, 10), Applied::Fresh(10));
        assert_eq!(apply(&mut s, 2, 1, 20), Applied::Fresh(20));
        // Seq 2 again (a resend appended twice): remembered, not re-evaluated.
        assert_eq!(apply(&mut s, 2, 1, 99), Applied::Duplicate(20));
        assert_eq!(s.remembered(CLIENT, 2), Some(20));
        assert_eq!(s.remembered(NodeId(8), 2), None, "sessions are per client");
    }

    #[test]
    fn outputs_below_the_floor_are_forgotten_and_stale_requests_skipped() {
        let mut s = Sessions::default();
        apply(&mut s, 1, 1, 5);
        apply(&mut s, 3, 3, 6);
        assert_eq!(s.remembered(CLIENT, 1), None);
        assert_eq!(s.remembered(CLIENT, 3), Some(6));
        // A late copy of seq 2 (the client gave up on it): skipped, `apply` never runs.
        let skipped = s.apply_once(CLIENT, 2, 2, || panic!("a stale request applied"));
        assert_eq!(skipped, Applied::Stale);
        assert_eq!(skipped.output(), None);
    }

    #[test]
    fn outputs_arriving_out_of_order_are_found() {
        let mut s = Sessions::default();
        apply(&mut s, 4, 1, 40);
        apply(&mut s, 2, 1, 20);
        apply(&mut s, 3, 1, 30);
        assert_eq!(
            (1..=4).map(|q| s.remembered(CLIENT, q)).collect::<Vec<_>>(),
            [None, Some(20), Some(30), Some(40)]
        );
    }
}
