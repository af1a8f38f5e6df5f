//! The mutual-exclusion checker of a protected resource.
//!
//! Its input is what one store accepted, in the order the store applied it. Two checks:
//!
//! * **Mutual exclusion** (from the store's order alone): tokens are log indexes of the grants
//!   of one lock, so a later holder always has a higher token. A write accepted *after* a
//!   write with a higher token therefore comes from a client whose lock had already passed to
//!   someone who wrote: two clients wrote under one lock, interleaved. This is what fencing
//!   prevents, and it is the verdict `mutual_exclusion.<store>`.
//! * **Writes by a non-holder** (ghost check, `stale_writes.<store>`): each accepted write's
//!   token is compared, at the moment the store accepts it, with the lock's holder as
//!   committed in the lock service ([`crate::lock::witness`]). A write from a token that no
//!   longer holds the lock is counted even when no newer holder has written yet — fencing
//!   cannot catch that one, and need not: in the store's order it comes before every write of
//!   the next holder, so the store's history is still one holder after another.

use sim_core::NodeId;

/// One write a protected store accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptedWrite {
    /// The client that wrote.
    pub client: NodeId,
    /// The fencing token it wrote with.
    pub token: u64,
    /// The value it wrote (unique per client and write).
    pub value: u64,
    /// Whether `token` held the lock, as committed, when the store accepted the write.
    pub by_holder: bool,
}

/// Two writers: `later` was accepted after `earlier`, with a lower token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overlap {
    /// Position (in the store's order) of the first write with the highest token accepted
    /// before `later`.
    pub earlier: usize,
    /// Position of the write whose token went back.
    pub later: usize,
}

/// The checker's findings on one store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Judgement {
    /// Writes judged.
    pub writes: usize,
    /// Every write accepted after a write with a higher token.
    pub overlaps: Vec<Overlap>,
    /// Positions of writes accepted from a token that did not hold the lock at the time.
    pub stale: Vec<usize>,
}

impl Judgement {
    /// Whether mutual exclusion held: the accepted tokens never went back.
    pub fn mutual_exclusion(&self) -> bool {
        self.overlaps.is_empty()
    }

    /// A human-readable account, naming the writes with `describe`.
    pub fn report(
        &self,
        writes: &[AcceptedWrite],
        describe: impl Fn(&AcceptedWrite) -> String,
    ) -> String {
        let mut out = String::new();
        let at = |i: usize| {
            writes
                .get(i)
                .map_or_else(|| format!("write #{i}"), &describe)
        };
        if let Some(first) = self.overlaps.first() {
            out.push_str(&format!(
                "two writers: a write with token {} was accepted after one with token {}\n",
                writes.get(first.later).map_or(0, |w| w.token),
                writes.get(first.earlier).map_or(0, |w| w.token),
            ));
            out.push_str(&format!("  earlier: {}\n", at(first.earlier)));
            out.push_str(&format!("  later:   {}\n", at(first.later)));
            if self.overlaps.len() > 1 {
                out.push_str(&format!(
                    "  ({} writes in all went back to an older token)\n",
                    self.overlaps.len()
                ));
            }
        }
        if let Some(&first) = self.stale.first() {
            let which = if self.overlaps.first().is_some_and(|o| o.later == first) {
                "the later write above".to_owned()
            } else {
                at(first)
            };
            out.push_str(&format!(
                "{} of {} accepted writes came from a token that no longer held the lock; the first: {which}\n",
                self.stale.len(),
                self.writes,
            ));
        }
        out
    }
}

/// Judges the writes one store accepted, in the order it applied them.
pub fn judge(writes: &[AcceptedWrite]) -> Judgement {
    let mut j = Judgement {
        writes: writes.len(),
        ..Judgement::default()
    };
    // The first write with the highest token so far.
    let mut top: Option<usize> = None;
    for (i, w) in writes.iter().enumerate() {
        match top {
            Some(t) if w.token < writes[t].token => j.overlaps.push(Overlap {
                earlier: t,
                later: i,
            }),
            Some(t) if w.token == writes[t].token => {}
            Some(_) | None => top = Some(i),
        }
        if !w.by_holder {
            j.stale.push(i);
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(client: u32, token: u64, by_holder: bool) -> AcceptedWrite {
        AcceptedWrite {
            client: NodeId(client),
            token,
            value: 0,
            by_holder,
        }
    }

    #[test]
    fn one_holder_after_another_passes() {
        for writes in [
            vec![],
            vec![w(1, 3, true)],
            vec![w(1, 3, true), w(1, 3, true), w(2, 8, true), w(1, 12, true)],
        ] {
            let j = judge(&writes);
            assert!(j.mutual_exclusion(), "{writes:?}");
            assert!(j.stale.is_empty());
            assert_eq!(j.report(&writes, |_| String::new()), "");
        }
    }

    #[test]
    fn an_old_token_after_a_newer_one_is_two_writers() {
        // c1 holds token 3, pauses; c2 gets token 8 and writes; c1 wakes up and writes.
        let writes = [w(1, 3, true), w(2, 8, true), w(2, 8, true), w(1, 3, false)];
        let j = judge(&writes);
        assert!(!j.mutual_exclusion());
        assert_eq!(
            j.overlaps,
            vec![Overlap {
                earlier: 1,
                later: 3
            }]
        );
        assert_eq!(j.stale, vec![3]);
        let report = j.report(&writes, |w| format!("c{} token {}", w.client.0, w.token));
        assert!(
            report.starts_with(
                "two writers: a write with token 3 was accepted after one with token 8\n  earlier: c2 token 8\n  later:   c1 token 3\n"
            ),
            "{report}"
        );
        assert!(report.ends_with("1 of 4 accepted writes came from a token that no longer held the lock; the first: the later write above\n"), "{report}");
        let late = [w(1, 3, true), w(1, 3, false)];
        assert!(
            judge(&late)
                .report(&late, |w| format!("c{} token {}", w.client.0, w.token))
                .contains("the first: c1 token 3")
        );
    }

    #[test]
    fn every_write_that_goes_back_is_counted_against_the_highest_before_it() {
        let writes = [w(1, 5, true), w(2, 9, true), w(1, 5, false), w(3, 7, false)];
        let j = judge(&writes);
        assert_eq!(
            j.overlaps,
            vec![
                Overlap {
                    earlier: 1,
                    later: 2
                },
                Overlap {
                    earlier: 1,
                    later: 3
                }
            ]
        );
        assert!(
            j.report(&writes, |_| String::new())
                .contains("(2 writes in all went back to an older token)")
        );
    }

    #[test]
    fn a_late_write_before_the_next_holder_writes_keeps_the_order_but_is_stale() {
        // c1's lease expired and c2 was granted token 8, but c1's write reached the store
        // before any of c2's: the store's order is still one holder after another.
        let writes = [w(1, 3, true), w(1, 3, false), w(2, 8, true)];
        let j = judge(&writes);
        assert!(j.mutual_exclusion());
        assert_eq!(j.stale, vec![1]);
    }
}
