//! A client's open requests, with their retries and timeouts on **one deadline timer per
//! node**.
//!
//! A client keeps a handful of requests open at once, each named by the client's sequence
//! number. Every request is given up after `timeout` (the client records it as `info`: it may
//! or may not have taken effect), and before that it is retried on the schedule of a
//! [`RetryPolicy`] (a [`Backoff`] per request). Retries and timeouts of all open requests share
//! one timer, on the node's monotonic clock, pointed at the earliest of them and moved with
//! `Ctx::reset_timer` as requests open and close — not two timers per request, which would
//! cost a queue entry per request and a dead one per answer.
//!
//! When the timer fires, the owner walks the requests that are due with
//! [`RequestTable::next_due`]: a [`Due::Retry`] (the table has already scheduled the next
//! one; the owner resends) or a [`Due::TimedOut`] (removed; the owner records it). What a retry
//! sends, and where, is the owner's business: this table only keeps time.

use sim_core::{Ctx, Duration, MonoTime, OpId, Protocol, TimerId};

use super::retry::{Backoff, RetryPolicy};

/// A request awaiting its answer.
#[derive(Debug)]
pub struct Pending<R> {
    /// Its operation in the client's history.
    pub id: OpId,
    /// What was asked.
    pub request: R,
    /// When it was first sent, on the monotonic clock (latency and the timeout count from
    /// here).
    pub started: MonoTime,
    /// When to retry if no answer came; `None` once the policy allows no more attempts.
    retry_at: Option<MonoTime>,
    /// The request's retry schedule (it draws each delay when the attempt before it is made).
    backoff: Backoff,
    /// Attempts made so far, the first included.
    attempts: u32,
}

impl<R> Pending<R> {
    /// When it will be given up.
    fn gives_up_at(&self, timeout: Duration) -> MonoTime {
        self.started.after(timeout)
    }

    /// Attempts made so far, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// What the deadline timer found due, in sequence-number order.
#[derive(Debug)]
pub enum Due<R> {
    /// Request `seq` is due a retry: resend it (its next retry is already scheduled).
    Retry(u64),
    /// Request `seq` ran out of time and was removed from the table.
    TimedOut(u64, Pending<R>),
}

/// One walk over the due requests when the deadline timer fires (see
/// [`RequestTable::next_due`]).
#[derive(Debug)]
pub struct DeadlinePass {
    now: MonoTime,
    /// The lowest sequence number not yet looked at.
    next_seq: u64,
}

/// Open requests by sequence number, their retry schedules and timeouts, and the one timer
/// that serves them all. `T` is the timer payload the owner wants back when it fires.
#[derive(Debug)]
pub struct RequestTable<R, T> {
    /// In sequence-number order: a sorted vector beats a tree for a handful of entries.
    open: Vec<(u64, Pending<R>)>,
    policy: RetryPolicy,
    timeout: Duration,
    /// The deadline timer, armed while requests are open.
    deadline: Option<TimerId>,
    /// The payload the deadline timer is set with.
    timer: T,
}

impl<R, T: Clone> RequestTable<R, T> {
    /// A table that retries on `policy`, gives up after `timeout`, and sets `timer` as its
    /// deadline (hand it to [`on_deadline`](Self::on_deadline) when it fires).
    pub fn new(policy: RetryPolicy, timeout: Duration, timer: T) -> Self {
        RequestTable {
            open: Vec::new(),
            policy,
            timeout,
            deadline: None,
            timer,
        }
    }

    /// Whether no request is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// The open requests in sequence-number order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Pending<R>)> {
        self.open.iter().map(|(s, p)| (*s, p))
    }

    /// The lowest open sequence number (what a server may forget results below).
    pub fn first_seq(&self) -> Option<u64> {
        self.open.first().map(|(s, _)| *s)
    }

    /// Request `seq`, if it is open.
    pub fn get(&self, seq: u64) -> Option<&Pending<R>> {
        self.position(seq).ok().map(|i| &self.open[i].1)
    }

    /// Request `seq` to change, if it is open.
    pub fn get_mut(&mut self, seq: u64) -> Option<&mut Pending<R>> {
        self.position(seq).ok().map(|i| &mut self.open[i].1)
    }

    /// Opens request `seq` (recorded in the history as `id`), whose first attempt the caller
    /// makes now, and arms the deadline. A client never reuses a sequence number.
    pub fn insert<P: Protocol<Timer = T>>(
        &mut self,
        ctx: &mut Ctx<'_, P>,
        seq: u64,
        id: OpId,
        request: R,
    ) {
        let started = ctx.monotonic();
        let mut backoff = Backoff::new(&self.policy);
        let retry_at = backoff.next_delay(ctx.rng()).map(|d| started.after(d));
        let pending = Pending {
            id,
            request,
            started,
            retry_at,
            backoff,
            attempts: 1,
        };
        let i = self.open.partition_point(|(s, _)| *s < seq);
        self.open.insert(i, (seq, pending));
        self.arm(ctx, started);
    }

    /// Closes request `seq` (answered) and re-arms the deadline; returns it, or `None` if it
    /// was not open.
    pub fn remove<P: Protocol<Timer = T>>(
        &mut self,
        ctx: &mut Ctx<'_, P>,
        seq: u64,
    ) -> Option<Pending<R>> {
        let i = self.position(seq).ok()?;
        let (_, pending) = self.open.remove(i);
        let now = ctx.monotonic();
        self.arm(ctx, now);
        Some(pending)
    }

    /// The deadline timer fired. Returns the pass that [`next_due`](Self::next_due) then
    /// walks; the owner must call it until it returns `None`.
    pub fn on_deadline<P: Protocol<Timer = T>>(&mut self, ctx: &Ctx<'_, P>) -> DeadlinePass {
        self.deadline = None;
        DeadlinePass {
            now: ctx.monotonic(),
            next_seq: 0,
        }
    }

    /// The next request due, in sequence-number order from where `pass` stopped: one that ran
    /// out of time (removed and handed back) or one due a retry (its next retry scheduled on
    /// the policy). `None` when the pass is over, with the deadline re-armed.
    pub fn next_due<P: Protocol<Timer = T>>(
        &mut self,
        ctx: &mut Ctx<'_, P>,
        pass: &mut DeadlinePass,
    ) -> Option<Due<R>> {
        let mut i = match self.position(pass.next_seq) {
            Ok(i) | Err(i) => i,
        };
        while let Some((seq, pending)) = self.open.get_mut(i) {
            let seq = *seq;
            pass.next_seq = seq + 1;
            if pending.gives_up_at(self.timeout) <= pass.now {
                let (_, pending) = self.open.remove(i);
                self.arm(ctx, pass.now);
                return Some(Due::TimedOut(seq, pending));
            }
            if pending.retry_at.is_some_and(|at| at <= pass.now) {
                pending.attempts += 1;
                pending.retry_at = pending
                    .backoff
                    .next_delay(ctx.rng())
                    .map(|d| pass.now.after(d));
                return Some(Due::Retry(seq));
            }
            i += 1;
        }
        self.arm(ctx, pass.now);
        None
    }

    fn position(&self, seq: u64) -> Result<usize, usize> {
        self.open.binary_search_by_key(&seq, |(s, _)| *s)
    }

    /// Points the deadline timer at the earliest retry or timeout of the open requests
    /// (cancelling it when none is open); `now` is the monotonic clock's reading.
    fn arm<P: Protocol<Timer = T>>(&mut self, ctx: &mut Ctx<'_, P>, now: MonoTime) {
        let timeout = self.timeout;
        let next = self
            .open
            .iter()
            .map(|(_, p)| {
                let gives_up = p.gives_up_at(timeout);
                p.retry_at.map_or(gives_up, |r| r.min(gives_up))
            })
            .min();
        let Some(next) = next else {
            if let Some(t) = self.deadline.take() {
                ctx.cancel_timer(t);
            }
            return;
        };
        let after = now.until(next);
        let moved = self.deadline.take().and_then(|t| ctx.reset_timer(t, after));
        self.deadline = Some(moved.unwrap_or_else(|| ctx.set_timer(after, self.timer.clone())));
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use sim_core::{Clock, Labeled, Node, NodeId, OpCall, OpPhase, Outcome, SimBuilder, TimerId};

    use super::*;
    use crate::kit::retry::{BackoffKind, Jitter};

    #[derive(Clone, Debug)]
    struct Nothing;
    impl Labeled for Nothing {
        fn label(&self) -> &'static str {
            "nothing"
        }
    }

    #[derive(Clone, Debug)]
    enum Tick {
        Open(u64),
        Deadline,
    }
    impl Labeled for Tick {
        fn label(&self) -> &'static str {
            match self {
                Tick::Open(_) => "open",
                Tick::Deadline => "deadline",
            }
        }
    }

    struct P;
    impl Protocol for P {
        type Msg = Nothing;
        type Timer = Tick;
        type Durable = u64;
    }

    type Log = Rc<RefCell<Vec<(u64, String)>>>;

    /// Opens request `seq` at each of `open_at` (ms), and logs every due event and how many
    /// timers are pending in the engine at each deadline.
    struct Client {
        table: RequestTable<(), Tick>,
        open_at: Vec<u64>,
        log: Log,
    }

    impl Node<P> for Client {
        fn on_start(&mut self, ctx: &mut Ctx<'_, P>) {
            for (i, &at) in self.open_at.iter().enumerate() {
                let _: TimerId = ctx.set_timer(Duration::from_millis(at), Tick::Open(i as u64 + 1));
            }
        }

        fn on_message(&mut self, _: &mut Ctx<'_, P>, _: NodeId, _: Nothing) {}

        fn on_timer(&mut self, ctx: &mut Ctx<'_, P>, timer: Tick) {
            let ms = |ctx: &Ctx<'_, P>| (ctx.monotonic().0 / 1_000_000) as u64;
            match timer {
                Tick::Open(seq) => {
                    let id = ctx.invoke(OpCall::Read { key: seq });
                    self.table.insert(ctx, seq, id, ());
                }
                Tick::Deadline => {
                    let mut pass = self.table.on_deadline(ctx);
                    while let Some(due) = self.table.next_due(ctx, &mut pass) {
                        let what = match due {
                            Due::Retry(seq) => {
                                let n = self.table.get(seq).map_or(0, Pending::attempts);
                                format!("retry {seq} (attempt {n})")
                            }
                            Due::TimedOut(seq, p) => {
                                ctx.complete(p.id, OpPhase::Info, None);
                                format!("give up {seq} after {} attempts", p.attempts())
                            }
                        };
                        self.log.borrow_mut().push((ms(ctx), what));
                    }
                }
            }
        }
    }

    fn run(policy: RetryPolicy, timeout_ms: u64, open_at: &[u64]) -> Vec<(u64, String)> {
        let log: Log = Rc::default();
        let (l, open_at) = (Rc::clone(&log), open_at.to_vec());
        let mut sim = SimBuilder::<P>::new(3)
            .duration(Duration::from_secs(5))
            .node(
                "c1",
                "c",
                "z",
                Clock::new(0, 0.0),
                Box::new(move || {
                    Box::new(Client {
                        table: RequestTable::new(
                            policy,
                            Duration::from_millis(timeout_ms),
                            Tick::Deadline,
                        ),
                        open_at: open_at.clone(),
                        log: Rc::clone(&l),
                    })
                }),
            )
            .build()
            .expect("builds");
        // Nothing is left pending once every request has gone: the deadline timer is cancelled,
        // not left to fire for nothing.
        assert_eq!(sim.run(), Outcome::Quiescent);
        log.take()
    }

    fn owned(rows: &[(u64, &str)]) -> Vec<(u64, String)> {
        rows.iter().map(|&(t, s)| (t, s.to_owned())).collect()
    }

    #[test]
    fn a_fixed_policy_retries_every_interval_until_the_timeout() {
        let log = run(RetryPolicy::fixed(Duration::from_millis(100)), 350, &[0]);
        assert_eq!(
            log,
            owned(&[
                (100, "retry 1 (attempt 2)"),
                (200, "retry 1 (attempt 3)"),
                (300, "retry 1 (attempt 4)"),
                (350, "give up 1 after 4 attempts"),
            ])
        );
    }

    #[test]
    fn exponential_backoff_stops_at_max_attempts_and_waits_for_the_timeout() {
        // base 10 ms doubling to a cap of 40 ms, 4 attempts: retries at 10, 10+20, 30+40 ms.
        let policy = RetryPolicy {
            max_attempts: 4,
            backoff: BackoffKind::Exponential,
            base: Duration::from_millis(10),
            cap: Duration::from_millis(40),
            jitter: Jitter::None,
        };
        let log = run(policy, 500, &[0]);
        assert_eq!(
            log,
            owned(&[
                (10, "retry 1 (attempt 2)"),
                (30, "retry 1 (attempt 3)"),
                (70, "retry 1 (attempt 4)"),
                (500, "give up 1 after 4 attempts"),
            ])
        );
    }

    #[test]
    fn requests_are_walked_in_sequence_order_on_one_timer() {
        // Two requests 50 ms apart share the deadline timer; each pass handles what is due,
        // lowest sequence number first.
        let log = run(
            RetryPolicy::fixed(Duration::from_millis(100)),
            250,
            &[0, 50],
        );
        assert_eq!(
            log,
            owned(&[
                (100, "retry 1 (attempt 2)"),
                (150, "retry 2 (attempt 2)"),
                (200, "retry 1 (attempt 3)"),
                (250, "give up 1 after 3 attempts"),
                (250, "retry 2 (attempt 3)"),
                (300, "give up 2 after 3 attempts"),
            ])
        );
    }
}
