//! Window queries: what falls inside a visible stretch of time, found by binary search so
//! that a frame costs what is on screen, not what is in the trace.

use std::ops::Range;

use super::intern::Sym;
use super::{Fate, Kind, RunData};

impl RunData {
    /// Indices of the events with `t0 <= time <= t1`.
    pub fn event_range(&self, t0: u64, t1: u64) -> Range<usize> {
        let a = self.events.partition_point(|e| e.time < t0);
        let b = self.events.partition_point(|e| e.time <= t1);
        a..b.max(a)
    }

    /// Indices of the messages whose arrow crosses `[t0, t1]` (sent before `t1`, ended after
    /// `t0`), in send order for the short ones, then the long ones.
    pub fn visible_messages(&self, t0: u64, t1: u64) -> impl Iterator<Item = usize> + '_ {
        let from = t0.saturating_sub(self.short_span);
        let a = self.messages.partition_point(|m| m.sent < from);
        let b = self.messages.partition_point(|m| m.sent <= t1);
        let long = &self.long_messages;
        (a..b.max(a))
            .filter(move |&i| {
                let m = &self.messages[i];
                m.end >= t0 && long.binary_search(&(i as u32)).is_err()
            })
            .chain(long.iter().map(|&i| i as usize).filter(move |&i| {
                let m = &self.messages[i];
                m.sent <= t1 && m.end >= t0
            }))
    }

    /// An upper bound on [`Self::visible_messages`]'s count, in O(log n): how many arrows a
    /// frame would draw, to decide whether to aggregate instead.
    pub fn visible_message_bound(&self, t0: u64, t1: u64) -> usize {
        let from = t0.saturating_sub(self.short_span);
        let a = self.messages.partition_point(|m| m.sent < from);
        let b = self.messages.partition_point(|m| m.sent <= t1);
        b.saturating_sub(a) + self.long_messages.len()
    }

    /// Messages in flight at `t`: sent at or before `t`, not yet delivered or dropped.
    pub fn in_flight_at(&self, t: u64) -> Vec<usize> {
        self.visible_messages(t, t)
            .filter(|&i| {
                let m = &self.messages[i];
                m.sent <= t && (m.end > t || m.fate == Fate::InFlight)
            })
            .collect()
    }

    /// How many messages `node` sent in `[t0, t1)`.
    pub fn sends_in(&self, node: u32, t0: u64, t1: u64) -> usize {
        let Some(times) = self.sends_by_node.get(node as usize) else {
            return 0;
        };
        let a = times.partition_point(|&t| t < t0);
        let b = times.partition_point(|&t| t < t1);
        b.saturating_sub(a)
    }

    /// The first event at or after `t`.
    pub fn first_event_from(&self, t: u64) -> Option<usize> {
        let i = self.events.partition_point(|e| e.time < t);
        (i < self.events.len()).then_some(i)
    }

    /// The last event strictly before `t`.
    pub fn prev_event_before(&self, t: u64) -> Option<usize> {
        self.events.partition_point(|e| e.time < t).checked_sub(1)
    }

    /// The first message sent strictly after `t` with label `label` (any label if `None`).
    pub fn next_message_after(&self, t: u64, label: Option<Sym>) -> Option<usize> {
        let start = self.messages.partition_point(|m| m.sent <= t);
        (start..self.messages.len()).find(|&i| label.is_none_or(|l| self.messages[i].label == l))
    }

    /// The message with id `id`, if the trace has it.
    pub fn message_by_id(&self, id: u64) -> Option<usize> {
        self.messages.iter().position(|m| m.id == id)
    }

    /// Events of `kind` (marker kinds: fault, crash, restart, violation) with `t0 <= time <= t1`.
    pub fn markers_in(&self, t0: u64, t1: u64) -> impl Iterator<Item = usize> + '_ {
        let ev = &self.events;
        let a = self.markers.partition_point(|&i| ev[i as usize].time < t0);
        let b = self.markers.partition_point(|&i| ev[i as usize].time <= t1);
        self.markers[a..b.max(a)].iter().map(|&i| i as usize)
    }

    /// Number of events of `kind`.
    pub fn count_kind(&self, kind: Kind) -> usize {
        self.events.iter().filter(|e| e.kind == kind).count()
    }
}
