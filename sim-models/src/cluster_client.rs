//! The request path that `kv-client` and `lock-client` share: talking to a replicated cluster
//! (such as `raft-kv`) whose leader may move.
//!
//! A [`ClusterClient`] keeps a client's open requests, by sequence number, and routes them:
//!
//! * **The leader guess.** A request goes to the server the client believes leads. A server
//!   that does not lead answers `NotLeader` with its best guess; the client follows the hint at
//!   once (at most [`MAX_REDIRECTS_PER_RETRY`] times per retry) or, without one, moves on from
//!   that server and waits for the retry. A server that answers becomes the guess.
//! * **Resends.** Every `retry_every` without an answer the same request (same sequence number)
//!   goes to the next server. The server's state machine applies each (client, seq) once, so a
//!   resend never applies twice. Each request also carries the lowest sequence number the client
//!   still has open, so the server can forget results the client no longer needs (Raft
//!   dissertation §6.3).
//! * **Giving up.** A request with no answer within `timeout` is handed back to the client,
//!   which records it as `info` (it may or may not have taken effect) and never resends it.
//! * **One timer.** Retries and timeouts of all open requests share one deadline timer, on the
//!   node's monotonic clock, pointed at the earliest of them and moved with `Ctx::reset_timer`
//!   as requests open and close — not two timers per request.
//!
//! Counters: `redirects` (hints followed), `resends` (retries sent), `late` (answers to a
//! request no longer open).
//!
//! The client keeps what is its own: which requests to make, their sequence numbers, the
//! history records ([`Ctx::invoke`] before [`ClusterClient::open`], [`Ctx::complete`] after
//! [`ClusterClient::close`] or a timeout), and what an answer means.

use sim_core::{Ctx, Duration, MonoTime, NodeId, OpId};

use crate::kit::request_table::{DeadlinePass, Due, Pending, RequestTable};
use crate::kit::retry::RetryPolicy;
use crate::world::{Msg, Timer, World};

/// The most times one request follows a `NotLeader` hint at once before waiting for its
/// retry (hints can be stale; this stops two stale servers bouncing a request).
pub const MAX_REDIRECTS_PER_RETRY: u32 = 3;

/// A request a client can send, and send again, to a cluster.
pub trait Request {
    /// The message that carries this request with sequence number `seq`; `first_open` is the
    /// lowest sequence number the client still has open.
    fn message(&self, seq: u64, first_open: u64) -> Msg;
}

/// A request that was open, handed back when it is answered or gives up.
#[derive(Debug)]
pub struct OpenRequest<R> {
    /// Its operation in the client's history.
    pub id: OpId,
    /// What was asked.
    pub request: R,
    /// When it was first sent, on the monotonic clock (latency and the timeout count from
    /// here).
    pub started: MonoTime,
}

/// What the request table keeps per request: the request and the hints followed since its
/// last retry.
#[derive(Debug)]
struct Routed<R> {
    request: R,
    redirects: u32,
}

impl<R> From<Pending<Routed<R>>> for OpenRequest<R> {
    fn from(p: Pending<Routed<R>>) -> Self {
        OpenRequest {
            id: p.id,
            request: p.request.request,
            started: p.started,
        }
    }
}

/// A client's open requests to one cluster (a [`RequestTable`]: retries and timeouts on one
/// deadline timer) and the server it believes leads.
#[derive(Debug)]
pub struct ClusterClient<R> {
    servers: Vec<NodeId>,
    /// Index into `servers` of the server to ask next.
    guess: usize,
    table: RequestTable<Routed<R>, Timer>,
}

impl<R: Request> ClusterClient<R> {
    /// A client of `servers` that first asks the `index`-th (modulo their number), resends on
    /// the schedule of `retry` (each resend to the next server), gives up after `timeout`, and
    /// arms `deadline_timer` (which the client hands to [`ClusterClient::on_deadline`] when it
    /// fires).
    pub fn new(
        servers: Vec<NodeId>,
        index: usize,
        retry: RetryPolicy,
        timeout: Duration,
        deadline_timer: Timer,
    ) -> Self {
        let guess = if servers.is_empty() {
            0
        } else {
            index % servers.len()
        };
        ClusterClient {
            servers,
            guess,
            table: RequestTable::new(retry, timeout, deadline_timer),
        }
    }

    /// Whether there is any server to ask.
    pub fn has_servers(&self) -> bool {
        !self.servers.is_empty()
    }

    /// Whether no request is open.
    pub fn is_idle(&self) -> bool {
        self.table.is_empty()
    }

    /// The open requests, in sequence-number order.
    pub fn requests(&self) -> impl Iterator<Item = &R> {
        self.table.iter().map(|(_, p)| &p.request.request)
    }

    /// Starts the `redirects`, `resends` and `late` counters at zero, so they show even when
    /// nothing happens.
    pub fn zero_counters(&self, ctx: &mut Ctx<'_, World>) {
        ctx.count("redirects", 0);
        ctx.count("resends", 0);
        ctx.count("late", 0);
    }

    /// Opens request `seq` (recorded in the history as `id`), sends it to the guessed leader
    /// and arms the deadline. The client never reuses a sequence number.
    #[inline]
    pub fn open(&mut self, ctx: &mut Ctx<'_, World>, seq: u64, id: OpId, request: R) {
        // Sent before the table arms its deadline: the message leaves first, as it would from
        // a real client, and message ids stay in that order.
        let first_open = self.table.first_seq().map_or(seq, |f| f.min(seq));
        ctx.send(self.servers[self.guess], request.message(seq, first_open));
        let routed = Routed {
            request,
            redirects: 0,
        };
        self.table.insert(ctx, seq, id, routed);
    }

    /// `from` answered request `seq` with `NotLeader`, naming `leader` if it knows one: follow
    /// the hint at once (a bounded number of times per retry), or move on from `from` and let
    /// the retry resend.
    pub fn not_leader(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        from: NodeId,
        seq: u64,
        leader: Option<NodeId>,
    ) {
        if !self.is_open(ctx, seq) {
            return;
        }
        let hinted = leader
            .filter(|&l| l != from)
            .and_then(|l| self.servers.iter().position(|&s| s == l));
        match hinted {
            Some(s) => {
                self.guess = s;
                let Some(open) = self.table.get_mut(seq) else {
                    return;
                };
                if open.request.redirects < MAX_REDIRECTS_PER_RETRY {
                    open.request.redirects += 1;
                    ctx.count("redirects", 1);
                    self.send(ctx, seq);
                }
            }
            None => {
                if self.servers[self.guess] == from {
                    self.guess = (self.guess + 1) % self.servers.len();
                }
            }
        }
    }

    /// `from` answered request `seq` (other than with `NotLeader`): it becomes the leader
    /// guess. Returns the request if it is still open — the client then judges the answer and
    /// [`close`](ClusterClient::close)s it — or `None` for a late answer.
    #[inline]
    pub fn answered(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, seq: u64) -> Option<&R> {
        if !self.is_open(ctx, seq) {
            return None;
        }
        if let Some(s) = self.servers.iter().position(|&s| s == from) {
            self.guess = s;
        }
        self.table.get(seq).map(|p| &p.request.request)
    }

    /// Closes request `seq` (answered) and re-arms the deadline; returns it, or `None` if it
    /// was not open.
    #[inline]
    pub fn close(&mut self, ctx: &mut Ctx<'_, World>, seq: u64) -> Option<OpenRequest<R>> {
        self.table.remove(ctx, seq).map(OpenRequest::from)
    }

    /// The deadline timer fired. Returns the pass that [`next_timed_out`] then walks; the
    /// client must call it until it returns `None`.
    ///
    /// [`next_timed_out`]: ClusterClient::next_timed_out
    pub fn on_deadline(&mut self, ctx: &Ctx<'_, World>) -> DeadlinePass {
        self.table.on_deadline(ctx)
    }

    /// Walks the open requests in sequence-number order from where `pass` stopped: resends
    /// each that is due a retry (to the next server), and stops at the first that ran out of
    /// time, returning it for the client to record as `info` (and maybe ask again). Returns
    /// `None` when the pass is over, with the deadline re-armed.
    pub fn next_timed_out(
        &mut self,
        ctx: &mut Ctx<'_, World>,
        pass: &mut DeadlinePass,
    ) -> Option<(u64, OpenRequest<R>)> {
        loop {
            match self.table.next_due(ctx, pass)? {
                Due::TimedOut(seq, pending) => return Some((seq, pending.into())),
                Due::Retry(seq) => {
                    if let Some(open) = self.table.get_mut(seq) {
                        open.request.redirects = 0;
                    }
                    self.guess = (self.guess + 1) % self.servers.len();
                    ctx.count("resends", 1);
                    self.send(ctx, seq);
                }
            }
        }
    }

    /// Whether request `seq` is open; counts an answer to one that is not as `late`.
    fn is_open(&self, ctx: &mut Ctx<'_, World>, seq: u64) -> bool {
        let open = self.table.get(seq).is_some();
        if !open {
            ctx.count("late", 1);
        }
        open
    }

    /// Sends open request `seq` to the guessed leader.
    fn send(&self, ctx: &mut Ctx<'_, World>, seq: u64) {
        let (Some(open), Some(first_open)) = (self.table.get(seq), self.table.first_seq()) else {
            return;
        };
        let msg = open.request.request.message(seq, first_open);
        ctx.send(self.servers[self.guess], msg);
    }
}

/// The liveness check of a cluster's clients: by the deadline, every client has had an
/// operation invoked in the quiet phase complete `ok`, so the service answers again. `what`
/// names the operations in the report (`no operation served`, `no request served`).
pub struct ClientsServed {
    /// What the clients' operations are called in the summary.
    pub what: &'static str,
}

impl crate::model::Progress for ClientsServed {
    fn judge(
        &self,
        sim: &sim_core::Simulation<World>,
        nodes: &[NodeId],
        since: sim_core::SimTime,
    ) -> crate::model::Verdict {
        let served = |n: NodeId| {
            sim.history()
                .operations()
                .iter()
                .any(|o| o.client == n && o.invoked >= since && o.status == sim_core::OpPhase::Ok)
        };
        let name = |n: NodeId| {
            sim.node_info(n)
                .map_or_else(String::new, |i| i.name.clone())
        };
        let cluster = nodes
            .first()
            .and_then(|&n| sim.node_info(n))
            .map_or_else(String::new, |i| i.cluster.clone());
        let starved: Vec<String> = nodes
            .iter()
            .copied()
            .filter(|&n| !served(n))
            .map(name)
            .collect();
        let holds = starved.is_empty();
        let summary = if holds {
            format!("every client of {cluster} was served in the quiet phase (from {since})")
        } else {
            format!(
                "{} had no {} served between {since} and {}",
                starved.join(", "),
                self.what,
                sim.now()
            )
        };
        crate::model::Verdict {
            check: format!("progress of {cluster}"),
            holds,
            summary,
            metrics: [(format!("liveness.{cluster}"), f64::from(u8::from(holds)))].into(),
            report: String::new(),
            broken_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use sim_core::{Clock, Node, OpCall, OpPhase, SimBuilder};

    use super::*;
    use crate::kit::retry::RetryPolicy;
    use crate::kv_client::KvClientTimer;
    use crate::protocols::kv::{KvMsg, KvOp, KvOutcome, KvResult};

    /// What happened, in order: (true milliseconds, what).
    type Log = Rc<RefCell<Vec<(i64, String)>>>;

    fn note(log: &Log, ctx: &Ctx<'_, World>, what: String) {
        // Every clock here is exact, so the monotonic clock reads true time.
        log.borrow_mut().push((ctx.monotonic().0 / 1_000_000, what));
    }

    /// How a scripted server treats every request.
    #[derive(Clone, Copy)]
    enum Script {
        /// Never answers.
        Silent,
        /// Answers `NotLeader` with this hint.
        Redirect(Option<NodeId>),
        /// Answers `Done` this many milliseconds after the request arrives.
        Answer(u64),
    }

    struct Server {
        script: Script,
        log: Log,
        /// Requests to answer, oldest first.
        waiting: Vec<(NodeId, u64)>,
    }

    fn reply(seq: u64, outcome: KvOutcome) -> Msg {
        KvMsg::Reply { seq, outcome }.into()
    }

    impl Node<World> for Server {
        fn on_start(&mut self, _: &mut Ctx<'_, World>) {}

        fn on_message(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: Msg) {
            let Ok(KvMsg::Request {
                seq, first_open, ..
            }) = KvMsg::try_from(msg)
            else {
                return;
            };
            let what = format!("{} got {seq} (first open {first_open})", ctx.name());
            note(&self.log, ctx, what);
            match self.script {
                Script::Silent => {}
                Script::Redirect(leader) => {
                    ctx.send(from, reply(seq, KvOutcome::NotLeader { leader }));
                }
                Script::Answer(after) => {
                    self.waiting.push((from, seq));
                    ctx.set_timer(Duration::from_millis(after), KvClientTimer::Next.into());
                }
            }
        }

        fn on_timer(&mut self, ctx: &mut Ctx<'_, World>, _: Timer) {
            let (to, seq) = self.waiting.remove(0);
            ctx.send(to, reply(seq, KvOutcome::Done(KvResult::Value(None))));
        }
    }

    /// Opens a read at each of `issue_at` (milliseconds) and notes how each ends.
    struct Client {
        requests: ClusterClient<KvOp>,
        issue_at: Vec<u64>,
        seq: u64,
        log: Log,
    }

    impl Node<World> for Client {
        fn on_start(&mut self, ctx: &mut Ctx<'_, World>) {
            self.requests.zero_counters(ctx);
            for &at in &self.issue_at {
                ctx.set_timer(Duration::from_millis(at), KvClientTimer::Next.into());
            }
        }

        fn on_message(&mut self, ctx: &mut Ctx<'_, World>, from: NodeId, msg: Msg) {
            let Ok(KvMsg::Reply { seq, outcome }) = KvMsg::try_from(msg) else {
                return;
            };
            match outcome {
                KvOutcome::NotLeader { leader } => {
                    self.requests.not_leader(ctx, from, seq, leader);
                }
                KvOutcome::Done(_) => {
                    if self.requests.answered(ctx, from, seq).is_none() {
                        return;
                    }
                    let open = self.requests.close(ctx, seq).expect("open");
                    ctx.complete(open.id, OpPhase::Ok, None);
                    note(&self.log, ctx, format!("{seq} answered by s{}", from.0));
                }
            }
        }

        fn on_timer(&mut self, ctx: &mut Ctx<'_, World>, timer: Timer) {
            let Ok(timer) = KvClientTimer::try_from(timer) else {
                return;
            };
            match timer {
                KvClientTimer::Next => {
                    self.seq += 1;
                    let id = ctx.invoke(OpCall::Read { key: 0 });
                    let read = KvOp::Read { key: 0 };
                    self.requests.open(ctx, self.seq, id, read);
                }
                KvClientTimer::Deadline => {
                    let mut pass = self.requests.on_deadline(ctx);
                    while let Some((seq, open)) = self.requests.next_timed_out(ctx, &mut pass) {
                        ctx.complete(open.id, OpPhase::Info, None);
                        note(&self.log, ctx, format!("{seq} timed out"));
                    }
                }
            }
        }
    }

    /// Runs servers `s0`, `s1`, `s2` (nodes 0 to 2) with these scripts and a client (node 3)
    /// that first asks s0, resends every 100 ms and gives up after 350 ms; links take 1 ms.
    /// Returns the log and the client's counters `redirects`, `resends`, `late`.
    fn run(scripts: [Script; 3], issue_at: &[u64]) -> (Vec<(i64, String)>, [u64; 3]) {
        let log: Log = Rc::default();
        let mut b = SimBuilder::<World>::new(1).duration(Duration::from_secs(2));
        for (i, script) in scripts.into_iter().enumerate() {
            let log = Rc::clone(&log);
            b = b.node(
                format!("s{i}"),
                "s",
                "default",
                Clock::new(0, 0.0),
                Box::new(move || {
                    Box::new(Server {
                        script,
                        log: Rc::clone(&log),
                        waiting: Vec::new(),
                    })
                }),
            );
        }
        let (l, issue_at) = (Rc::clone(&log), issue_at.to_vec());
        b = b.node(
            "c",
            "c",
            "default",
            Clock::new(0, 0.0),
            Box::new(move || {
                Box::new(Client {
                    requests: ClusterClient::new(
                        vec![NodeId(0), NodeId(1), NodeId(2)],
                        0,
                        RetryPolicy::fixed(Duration::from_millis(100)),
                        Duration::from_millis(350),
                        KvClientTimer::Deadline.into(),
                    ),
                    issue_at: issue_at.clone(),
                    seq: 0,
                    log: Rc::clone(&l),
                })
            }),
        );
        let mut sim = b.build().expect("builds");
        sim.run();
        assert!(sim.violations().is_empty(), "{:?}", sim.violations());
        let counters = ["redirects", "resends", "late"]
            .map(|c| sim_core::testing::expect_counter(&sim, NodeId(3), c));
        let got = log.borrow().clone();
        (got, counters)
    }

    fn expect(lines: &[(i64, &str)]) -> Vec<(i64, String)> {
        lines.iter().map(|&(t, s)| (t, s.to_owned())).collect()
    }

    #[test]
    fn unanswered_requests_go_round_the_servers_each_retry_until_their_timeout() {
        // Request 1 is open from 0 ms, request 2 from 50 ms. At 350 ms request 1 times out
        // and request 2 is due a retry in the same pass: the resend no longer counts 1 open.
        let (log, [redirects, resends, late]) = run([Script::Silent; 3], &[0, 50]);
        assert_eq!(
            log,
            expect(&[
                (1, "s0 got 1 (first open 1)"),
                (51, "s0 got 2 (first open 1)"),
                (101, "s1 got 1 (first open 1)"),
                (151, "s2 got 2 (first open 1)"),
                (201, "s0 got 1 (first open 1)"),
                (251, "s1 got 2 (first open 1)"),
                (301, "s2 got 1 (first open 1)"),
                (350, "1 timed out"),
                (351, "s0 got 2 (first open 2)"),
                (400, "2 timed out"),
            ])
        );
        assert_eq!((redirects, resends, late), (0, 6, 0));
    }

    #[test]
    fn not_leader_hints_are_followed_a_bounded_number_of_times_per_retry() {
        // s0 and s1 each name the other: the request bounces three times, then waits for its
        // retry, which goes to the server after the one the last hint named: s1 at 100 ms
        // (the hint named s0), then the same again, and s2 at 200 ms (the hint named s1). s2
        // answers and becomes the guess: the next request goes straight to it.
        let scripts = [
            Script::Redirect(Some(NodeId(1))),
            Script::Redirect(Some(NodeId(0))),
            Script::Answer(1),
        ];
        let (log, [redirects, resends, late]) = run(scripts, &[0, 300]);
        assert_eq!(
            log,
            expect(&[
                (1, "s0 got 1 (first open 1)"),
                (3, "s1 got 1 (first open 1)"),
                (5, "s0 got 1 (first open 1)"),
                (7, "s1 got 1 (first open 1)"),
                (101, "s1 got 1 (first open 1)"),
                (103, "s0 got 1 (first open 1)"),
                (105, "s1 got 1 (first open 1)"),
                (107, "s0 got 1 (first open 1)"),
                (201, "s2 got 1 (first open 1)"),
                (203, "1 answered by s2"),
                (301, "s2 got 2 (first open 2)"),
                (303, "2 answered by s2"),
            ])
        );
        assert_eq!((redirects, resends, late), (6, 2, 0));
    }

    #[test]
    fn the_first_answer_closes_a_request_and_a_later_one_is_late() {
        // s0 is slow: the resend to s1 is answered first, and s0's answer comes too late.
        let scripts = [Script::Answer(150), Script::Answer(1), Script::Silent];
        let (log, [_, resends, late]) = run(scripts, &[0]);
        assert_eq!(
            log,
            expect(&[
                (1, "s0 got 1 (first open 1)"),
                (101, "s1 got 1 (first open 1)"),
                (103, "1 answered by s1"),
            ])
        );
        assert_eq!((resends, late), (1, 1));
    }
}
