//! The Wing–Gong / Lowe search over one partition, and the minimisation behind
//! [`Counterexample::conflict`].
//!
//! Each operation of the search has one of three kinds:
//! * completed (a call and a return entry): it must be placed, between its call and return;
//! * unknown outcome (a call entry only, "return at +infinity"): it may be placed once, at any
//!   point after its call, or not at all;
//! * optional (a call and a return entry that does not block): it may be placed once, between
//!   its call and return, or not at all. Only the minimisation uses it, to relax completed
//!   operations: relaxing only widens what a history allows, so a relaxed history that is
//!   still not linearizable proves the original is not either.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::{CheckOptions, Counterexample, Model, Operation, Partition, PartitionResult, Verdict};

/// One operation as the search sees it.
struct Item<'a, I, O> {
    /// Index in the caller's history.
    id: usize,
    call: u64,
    ret: Option<u64>,
    input: &'a I,
    output: Option<&'a O>,
    /// May be left out (see the module documentation). Always true in effect when `ret` is
    /// `None`.
    optional: bool,
}

impl<I, O> Clone for Item<'_, I, O> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<I, O> Copy for Item<'_, I, O> {}

/// Where the search got furthest in real time: the stuck return entry with the latest time.
struct Frontier<S> {
    /// The time of the return entry no configuration got past.
    time: u64,
    /// The item whose return that is.
    op: usize,
    /// The items placed when the search first got stuck there, in order.
    prefix: Vec<usize>,
    /// The model state after `prefix`.
    state: S,
}

enum Outcome<S> {
    /// Every completed operation was placed; the items in placement order.
    Linearizable(Vec<usize>),
    /// Every configuration was explored and none placed every completed operation.
    Refuted(Option<Frontier<S>>),
    /// The step budget ran out.
    OutOfBudget,
}

/// A small, fast, deterministic hasher (the FxHash mixing step) for model states.
#[derive(Default)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    fn write_u8(&mut self, v: u8) {
        self.add(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.add(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
    fn write_i64(&mut self, v: i64) {
        self.add(v as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.add(v as u64);
    }
    fn write_isize(&mut self, v: isize) {
        self.add(v as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// For maps keyed by an already well-mixed 64-bit hash.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The SplitMix64 finaliser: a bijective 64-bit mixer.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn state_hash<S: Hash>(s: &S) -> u64 {
    let mut h = FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

const NONE: u32 = u32::MAX;

/// The configurations already explored, each a set of placed operations, a model state and
/// `now` (the lower bound on the next linearization point, see `search`).
///
/// A new configuration is not worth exploring if an explored one dominates it: the same
/// placed mandatory operations and state, a `now` no later, and a subset of its optional
/// operations (unknown outcome, or relaxed) placed. Using fewer optional operations only
/// leaves more choices, so if the dominating one failed, so does this one. Optional
/// operations that have expired (returned before `now`) can no longer be placed, so they
/// count as placed.
///
/// Configurations with the same hash are chained; the search pays for every configuration
/// compared (see [`search_kept`]), so a long chain cannot make it slow without running out of
/// budget.
///
/// The hash map is only ever asked for the configurations with a given hash; it is never
/// iterated, so its order cannot influence the search, whose result is deterministic.
struct Memo<S> {
    /// Hash of (mandatory set, state) -> index of the newest configuration with that hash.
    heads: HashMap<u64, u32, BuildHasherDefault<IdHasher>>,
    words: usize,
    /// Which items are mandatory (completed and not relaxed).
    mandatory_mask: Vec<u64>,
    /// Per item: the return time of a relaxed operation (it expires once `now` is later),
    /// `u64::MAX` for the others (they never expire).
    expires: Vec<u64>,
    /// Per configuration: its placed operations (`words` words).
    placed: Vec<u64>,
    states: Vec<S>,
    nows: Vec<u64>,
    /// The previous configuration with the same hash, or NONE.
    chain: Vec<u32>,
}

impl<S: Eq + Clone> Memo<S> {
    fn new(mandatory: &[bool], rets: impl Iterator<Item = Option<u64>>) -> Self {
        let words = mandatory.len().div_ceil(64);
        let mut mandatory_mask = vec![0u64; words];
        for (i, _) in mandatory.iter().enumerate().filter(|(_, m)| **m) {
            mandatory_mask[i / 64] |= 1 << (i % 64);
        }
        let expires = rets
            .zip(mandatory)
            .map(|(r, &m)| r.filter(|_| !m).unwrap_or(u64::MAX))
            .collect();
        Memo {
            heads: HashMap::default(),
            words,
            mandatory_mask,
            expires,
            placed: Vec::new(),
            states: Vec::new(),
            nows: Vec::new(),
            chain: Vec::new(),
        }
    }

    /// Whether the explored configuration `at` dominates the configuration (`placed`,
    /// `state`, `now`), whose hash is the same.
    fn dominates(&self, at: usize, placed: &[u64], state: &S, now: u64) -> bool {
        if self.nows[at] > now || self.states[at] != *state {
            return false;
        }
        let old = &self.placed[at * self.words..(at + 1) * self.words];
        for (k, (&old, &new)) in old.iter().zip(placed).enumerate() {
            let mask = self.mandatory_mask[k];
            if (old ^ new) & mask != 0 {
                return false;
            }
            // Optional operations placed there but not here must have expired by `now`.
            let mut extra = old & !new & !mask;
            while extra != 0 {
                let i = k * 64 + extra.trailing_zeros() as usize;
                if self.expires[i] >= now {
                    return false;
                }
                extra &= extra - 1;
            }
        }
        true
    }

    /// Whether an explored configuration dominates (`placed`, `state`, `now`), and how many
    /// configurations were compared. `hash` must depend only on the placed mandatory
    /// operations and the state. Gives up after comparing `limit` configurations, returning
    /// `limit + 1` compared.
    fn dominated(&self, hash: u64, placed: &[u64], state: &S, now: u64, limit: u64) -> (bool, u64) {
        let mut compared = 0;
        let mut k = self.heads.get(&hash).copied().unwrap_or(NONE);
        while k != NONE {
            compared += 1;
            if compared > limit {
                return (false, compared);
            }
            if self.dominates(k as usize, placed, state, now) {
                return (true, compared);
            }
            k = self.chain[k as usize];
        }
        (false, compared)
    }

    /// Adds a configuration unless an explored one dominates it (see [`Memo::dominated`]):
    /// whether it was added, and how many configurations were compared.
    fn insert(
        &mut self,
        hash: u64,
        placed: &[u64],
        state: &S,
        now: u64,
        limit: u64,
    ) -> (bool, u64) {
        let (dominated, compared) = self.dominated(hash, placed, state, now, limit);
        if dominated || compared > limit {
            return (false, compared);
        }
        let head = self.heads.get(&hash).copied().unwrap_or(NONE);
        let index = self.states.len() as u32;
        self.placed.extend_from_slice(placed);
        self.states.push(state.clone());
        self.nows.push(now);
        self.chain.push(head);
        self.heads.insert(hash, index);
        (true, compared)
    }
}

/// The doubly linked list of call and return entries, in real-time order, with sentinels:
/// entry 0 is the head and entry `len + 1` the tail.
struct Entries {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// The item of each entry.
    item: Vec<u32>,
    /// Whether an entry is a return (else a call, or a sentinel).
    is_return: Vec<bool>,
    time: Vec<u64>,
    /// The return entry of each item, or 0 if it has none.
    return_of: Vec<u32>,
    tail: u32,
}

impl Entries {
    fn new<I, O>(items: &[Item<'_, I, O>]) -> Self {
        // (time, call before return, item): calls before returns at equal times, so that
        // intervals are closed.
        let mut events: Vec<(u64, bool, u32)> = Vec::with_capacity(items.len() * 2);
        for (i, it) in items.iter().enumerate() {
            events.push((it.call, false, i as u32));
            if let Some(r) = it.ret {
                events.push((r.max(it.call), true, i as u32));
            }
        }
        events.sort_unstable();
        let len = events.len();
        let mut e = Entries {
            next: (1..=len as u32 + 1).chain([NONE]).collect(),
            prev: [NONE].into_iter().chain(0..=len as u32).collect(),
            item: Vec::with_capacity(len + 2),
            is_return: Vec::with_capacity(len + 2),
            time: Vec::with_capacity(len + 2),
            return_of: vec![0; items.len()],
            tail: len as u32 + 1,
        };
        e.item.push(NONE);
        e.is_return.push(false);
        e.time.push(0);
        for (k, &(t, is_ret, i)) in events.iter().enumerate() {
            e.item.push(i);
            e.is_return.push(is_ret);
            e.time.push(t);
            if is_ret {
                e.return_of[i as usize] = k as u32 + 1;
            }
        }
        e.item.push(NONE);
        e.is_return.push(false);
        e.time.push(u64::MAX);
        e
    }

    fn unlink(&mut self, k: u32) {
        let (p, n) = (self.prev[k as usize], self.next[k as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    fn relink(&mut self, k: u32) {
        let (p, n) = (self.prev[k as usize], self.next[k as usize]);
        self.next[p as usize] = k;
        self.prev[n as usize] = k;
    }

    /// Takes a placed operation's call (and return) entry out of the list.
    fn lift(&mut self, call: u32) {
        self.unlink(call);
        let r = self.return_of[self.item[call as usize] as usize];
        if r != 0 {
            self.unlink(r);
        }
    }

    /// Undoes [`Entries::lift`]; lifts must be undone in reverse order.
    fn unlift(&mut self, call: u32) {
        let r = self.return_of[self.item[call as usize] as usize];
        if r != 0 {
            self.relink(r);
        }
        self.relink(call);
    }
}

/// The hash of a configuration's mandatory set (by its Zobrist hash) and state.
fn config_hash(mandatory_hash: u64, state_hash: u64) -> u64 {
    mix(mandatory_hash ^ state_hash)
}

/// The result of one search and the steps it took.
struct Run<S> {
    outcome: Outcome<S>,
    steps: u64,
}

/// One placement on the search's stack.
struct Frame<S> {
    /// The call entry of the placed item.
    entry: u32,
    /// The model state before it.
    before: S,
    /// Placed because it had to be (see [`search_kept`]): when it is undone, the configuration
    /// it was placed in has failed as a whole.
    forced: bool,
    /// The `now` of the configuration it was placed in.
    now: u64,
    /// The `boundary` of the configuration it was placed in.
    boundary: u32,
    /// The `saw_optional` of the configuration it was placed in.
    saw_optional: bool,
}

/// Searches for a linearization of `items`, taking at most `budget` steps (see
/// [`search_kept`]). Optional operations that nothing could need are left out first: the
/// read-only ones, and those the model finds unobservable ([`Model::unobservable`]).
fn search<M: Model>(
    model: &M,
    items: &[Item<'_, M::Input, M::Output>],
    budget: u64,
) -> Run<M::State> {
    let optional = |it: &Item<'_, M::Input, M::Output>| it.ret.is_none() || it.optional;
    if items.iter().all(optional) {
        return Run {
            outcome: Outcome::Linearizable(Vec::new()),
            steps: 0,
        };
    }
    let ops: Vec<(&M::Input, Option<&M::Output>)> =
        items.iter().map(|it| (it.input, it.output)).collect();
    let unobservable = model.unobservable(&ops);
    let kept: Vec<usize> = (0..items.len())
        .filter(|&i| {
            !optional(&items[i])
                || !(model.is_read_only(items[i].input)
                    || unobservable.get(i).copied().unwrap_or(false))
        })
        .collect();
    let sub: Vec<Item<'_, M::Input, M::Output>> = kept.iter().map(|&i| items[i]).collect();
    let run = search_kept(model, &sub, budget, items.len() as u64);
    let back = |order: Vec<usize>| order.into_iter().map(|k| kept[k]).collect();
    Run {
        outcome: match run.outcome {
            Outcome::Linearizable(order) => Outcome::Linearizable(back(order)),
            Outcome::Refuted(frontier) => Outcome::Refuted(frontier.map(|f| Frontier {
                op: kept[f.op],
                prefix: back(f.prefix),
                ..f
            })),
            Outcome::OutOfBudget => Outcome::OutOfBudget,
        },
        steps: run.steps,
    }
}

/// Searches for a linearization of `items` (none of them left out), taking at most `budget`
/// steps, of which `setup` to set up (one per item before any was left out).
///
/// Every piece of work counts: a step is one model step, or one remembered configuration
/// compared or stored (a few for partitions of thousands of operations), or setting up one
/// item; looking at one entry of the list, or copying one placed operation into a report,
/// costs an eighth of a step ([`TICKS`]). So the time a search takes is bounded by its
/// budget, whatever the history.
///
/// Optional operations (unknown outcome, or relaxed) are placed only where they matter: right
/// after one is placed, the next operation must be one that *needs* it, i.e. that placed in
/// the state before it would fail or lead to another state. This loses no linearization:
/// in any linearization, an optional operation followed by one that does not need it (or by
/// nothing) can be left out, and what follows stays valid, so leaving out such operations one
/// at a time gives a linearization in which every optional operation is needed by the next.
/// Without the rule, a history with many unknown-outcome writes makes the search try them in
/// every order and combination, although a later write overwrites each of them.
fn search_kept<M: Model>(
    model: &M,
    items: &[Item<'_, M::Input, M::Output>],
    budget: u64,
    setup: u64,
) -> Run<M::State> {
    let mandatory: Vec<bool> = items
        .iter()
        .map(|it| it.ret.is_some() && !it.optional)
        .collect();
    let required = mandatory.iter().filter(|&&m| m).count();
    // Work is counted in ticks, `TICKS` to a step; setting up costs `setup` steps.
    let limit = budget.saturating_mul(TICKS);
    let mut ticks = 0u64;
    // Charges `n` ticks, or gives up if that exceeds the budget.
    macro_rules! spend {
        ($n:expr) => {
            ticks = ticks.saturating_add($n);
            if ticks > limit {
                return Run {
                    outcome: Outcome::OutOfBudget,
                    steps: budget,
                };
            }
        };
    }
    // The steps taken so far.
    macro_rules! steps {
        () => {
            ticks.div_ceil(TICKS)
        };
    }
    spend!(setup.saturating_mul(TICKS));
    // A read-only operation that fits the current state, and whose call comes before every
    // pending return, is placed before anything else, and alone: moving such an operation
    // earlier, to a point where it already fits, breaks no real-time constraint and changes
    // no state, so if any extension of a configuration succeeds, the one that places it now
    // does too. A frame placed that way is "forced": when it is undone, its configuration has
    // failed as a whole. (Read-only operations in the list are mandatory: the optional ones
    // are left out.)
    let read_only: Vec<bool> = items
        .iter()
        .map(|it| model.is_read_only(it.input))
        .collect();
    let mut entries = Entries::new(items);
    let words = items.len().div_ceil(64);
    // Zobrist hashing of the placed mandatory operations (optional ones do not count).
    let zobrist: Vec<u64> = (0..items.len() as u64)
        .zip(&mandatory)
        .map(|(i, &m)| {
            if m {
                mix(i.wrapping_add(0x9e37_79b9_7f4a_7c15))
            } else {
                0
            }
        })
        .collect();
    let mut bits = vec![0u64; words];
    let mut zob = 0u64;
    let mut state = model.init();
    let mut memo = Memo::new(&mandatory, items.iter().map(|it| it.ret));
    memo.insert(config_hash(zob, state_hash(&state)), &bits, &state, 0, 0);
    // Comparing or storing a remembered configuration costs a step per 2,048 items (32
    // words of its set of placed items), and at least one.
    let memo_cost = (1 + words as u64 / 32) * TICKS;

    let mut stack: Vec<Frame<M::State>> = Vec::new();
    // The latest call among the placed operations: nothing can be placed at an earlier
    // point, so an optional operation that returned before it can no longer be placed.
    let mut now = 0u64;
    let mut placed = 0usize;
    let mut frontier: Option<Frontier<M::State>> = None;
    let mut cur = 0u32;
    // Where the read-only scan on entering the current configuration stopped (the first
    // pending return of any kind): read-only operations before it have been tried.
    let mut boundary = 0u32;
    // Candidates are tried in two passes over the list: mandatory operations first, then
    // the optional ones (unknown outcome, or relaxed), so that configurations that leave
    // optional operations out are explored before those that use them. Right after an
    // optional operation, where few candidates need it, a single pass tries them all.
    let mut optional_pass = false;
    // Whether the mandatory pass met an optional operation: if not, the optional pass is
    // skipped.
    let mut saw_optional = false;
    // Whether the last placed operation is optional, so that the next must need it.
    let mut after_optional = false;
    let mut entering = true;
    loop {
        if entering {
            entering = false;
            optional_pass = false;
            saw_optional = false;
            cur = entries.next[0];
            // Right after an optional operation there is no scan: the single pass tries
            // every candidate.
            let mut k = if after_optional { entries.tail } else { cur };
            let mut fits = None;
            while k != entries.tail && !entries.is_return[k as usize] {
                spend!(1);
                let i = entries.item[k as usize] as usize;
                if read_only[i] {
                    spend!(TICKS);
                    if let Some(next_state) = model.step(&state, items[i].input, items[i].output) {
                        fits = Some((k, i, next_state));
                        break;
                    }
                }
                k = entries.next[k as usize];
            }
            boundary = if after_optional { cur } else { k };
            if let Some((k, i, next_state)) = fits {
                bits[i / 64] |= 1 << (i % 64);
                zob ^= zobrist[i];
                let next_now = now.max(items[i].call);
                let hash = config_hash(zob, state_hash(&next_state));
                let most = (limit - ticks) / memo_cost;
                let (fresh, compared) = memo.insert(hash, &bits, &next_state, next_now, most);
                spend!((compared + u64::from(fresh)) * memo_cost);
                if fresh {
                    let before = std::mem::replace(&mut state, next_state);
                    stack.push(Frame {
                        entry: k,
                        before,
                        forced: true,
                        now,
                        boundary,
                        saw_optional,
                    });
                    now = next_now;
                    entries.lift(k);
                    after_optional = false;
                    placed += 1;
                    if placed == required {
                        return Run {
                            outcome: Outcome::Linearizable(placed_items(&stack, &entries)),
                            steps: steps!(),
                        };
                    }
                    entering = true;
                    continue;
                }
                // Explored before, and failed: so does this configuration.
                bits[i / 64] &= !(1 << (i % 64));
                zob ^= zobrist[i];
                optional_pass = true;
                cur = entries.tail;
            }
        }
        let blocked = cur == entries.tail
            || (entries.is_return[cur as usize] && mandatory[entries.item[cur as usize] as usize]);
        if blocked && !optional_pass {
            optional_pass = true;
            if saw_optional && !after_optional {
                cur = entries.next[0];
            }
            continue;
        }
        if !blocked {
            spend!(1);
            let i = entries.item[cur as usize] as usize;
            let it = &items[i];
            saw_optional |= !mandatory[i] && !entries.is_return[cur as usize];
            // Return entries of optional operations do not block; read-only operations before
            // the boundary do not fit, or they would have been placed on entering; an
            // optional operation that returned before `now` can no longer be placed.
            if entries.is_return[cur as usize]
                || (mandatory[i] == optional_pass && !after_optional)
                || (read_only[i] && cur < boundary)
                || it.ret.is_some_and(|r| r < now)
            {
                cur = entries.next[cur as usize];
                continue;
            }
            // A call entry: try to place its operation next.
            spend!(TICKS);
            if let Some(next_state) = model.step(&state, it.input, it.output) {
                if after_optional {
                    spend!(TICKS);
                }
                // An optional operation that leaves the state as it was is needed by nothing.
                if (mandatory[i] || next_state != state)
                    && needs(model, &stack, after_optional, it, &next_state)
                {
                    bits[i / 64] |= 1 << (i % 64);
                    zob ^= zobrist[i];
                    let next_now = now.max(it.call);
                    let hash = config_hash(zob, state_hash(&next_state));
                    let most = (limit - ticks) / memo_cost;
                    // Only configurations whose last placed operation is mandatory are
                    // remembered: the others are explored only in part (what comes next must
                    // need that operation), so they cannot stand for others.
                    let (fresh, compared) = if mandatory[i] {
                        memo.insert(hash, &bits, &next_state, next_now, most)
                    } else {
                        let (dominated, compared) =
                            memo.dominated(hash, &bits, &next_state, next_now, most);
                        (!dominated, compared)
                    };
                    spend!((compared + u64::from(fresh && mandatory[i])) * memo_cost);
                    if fresh {
                        let before = std::mem::replace(&mut state, next_state);
                        stack.push(Frame {
                            entry: cur,
                            before,
                            forced: false,
                            now,
                            boundary,
                            saw_optional,
                        });
                        now = next_now;
                        entries.lift(cur);
                        after_optional = !mandatory[i];
                        if mandatory[i] {
                            placed += 1;
                            if placed == required {
                                return Run {
                                    outcome: Outcome::Linearizable(placed_items(&stack, &entries)),
                                    steps: steps!(),
                                };
                            }
                        }
                        entering = true;
                        continue;
                    }
                    bits[i / 64] &= !(1 << (i % 64));
                    zob ^= zobrist[i];
                }
            }
            cur = entries.next[cur as usize];
        } else {
            // The first pending mandatory return (or the end): no candidate before it can
            // go next. A configuration right after an optional operation has the same
            // pending returns as the one before it, which records them.
            if cur != entries.tail && !after_optional {
                let t = entries.time[cur as usize];
                if frontier.as_ref().is_none_or(|f| t > f.time) {
                    spend!(stack.len() as u64);
                    frontier = Some(Frontier {
                        time: t,
                        op: entries.item[cur as usize] as usize,
                        prefix: placed_items(&stack, &entries),
                        state: state.clone(),
                    });
                }
            }
            // Undo the last placement; if it was forced, its configuration failed too.
            loop {
                let Some(frame) = stack.pop() else {
                    return Run {
                        outcome: Outcome::Refuted(frontier),
                        steps: steps!(),
                    };
                };
                state = frame.before;
                now = frame.now;
                boundary = frame.boundary;
                saw_optional = frame.saw_optional;
                let i = entries.item[frame.entry as usize] as usize;
                bits[i / 64] &= !(1 << (i % 64));
                zob ^= zobrist[i];
                entries.unlift(frame.entry);
                if mandatory[i] {
                    placed -= 1;
                }
                after_optional = stack
                    .last()
                    .is_some_and(|f| !mandatory[entries.item[f.entry as usize] as usize]);
                if !frame.forced {
                    optional_pass = !mandatory[i] && !after_optional;
                    cur = entries.next[frame.entry as usize];
                    break;
                }
            }
        }
    }
}

/// Whether `it`, which leads to `next_state` from the current state, may be placed next: after
/// an optional operation (`after_optional`, the top of `stack`), only if it needs it, i.e. if
/// from the state before that operation it would fail or lead elsewhere (one model step).
fn needs<M: Model>(
    model: &M,
    stack: &[Frame<M::State>],
    after_optional: bool,
    it: &Item<'_, M::Input, M::Output>,
    next_state: &M::State,
) -> bool {
    match stack.last() {
        Some(top) if after_optional => {
            model.step(&top.before, it.input, it.output).as_ref() != Some(next_state)
        }
        _ => true,
    }
}

/// The items on the stack, in placement order.
fn placed_items<S>(stack: &[Frame<S>], entries: &Entries) -> Vec<usize> {
    stack
        .iter()
        .map(|f| entries.item[f.entry as usize] as usize)
        .collect()
}

/// The units of work ("ticks") a step is made of: looking at a list entry costs one, a model
/// step or a remembered configuration compared costs a whole step (see [`search_kept`]).
const TICKS: u64 = 8;

/// The first round's step budget per partition when partitions are searched in rounds.
const FIRST_ROUND_STEPS: u64 = 20_000;

/// The least step budget of each search of the minimisation (see [`minimise`]).
const MIN_STEPS_PER_TRY: u64 = 50_000;

/// Searches the partitions of a history and explains the failures.
///
/// With [`CheckOptions::all_partitions`] each partition is searched to the end (or to
/// `max_steps`). Otherwise the partitions are searched in rounds, in order, with a step budget
/// that starts small and grows eightfold per round up to `max_steps`; after the first round in
/// which some partition is refuted, the undecided ones are left (`stopped_early`). The result
/// never depends on timing.
pub(super) fn check_partitions<M: Model>(
    model: &M,
    history: &[Operation<M::Input, M::Output>],
    partitions: Vec<Partition>,
    options: &CheckOptions,
) -> Vec<PartitionResult> {
    let prepared: Vec<Vec<Item<'_, M::Input, M::Output>>> = partitions
        .iter()
        .map(|p| {
            p.ops
                .iter()
                .filter_map(|&id| {
                    let op = history.get(id)?;
                    // An unknown-outcome operation that cannot change the state says nothing.
                    if op.ret.is_none() && model.is_read_only(&op.input) {
                        return None;
                    }
                    Some(Item {
                        id,
                        call: op.call,
                        ret: op.ret,
                        input: &op.input,
                        output: op.ret.map(|_| &op.output),
                        optional: false,
                    })
                })
                .collect()
        })
        .collect();

    let mut runs: Vec<Option<Outcome<M::State>>> = prepared.iter().map(|_| None).collect();
    let mut spent = vec![0u64; prepared.len()];
    let mut budget = if options.all_partitions {
        options.max_steps
    } else {
        FIRST_ROUND_STEPS.min(options.max_steps)
    };
    loop {
        for (k, items) in prepared.iter().enumerate() {
            if runs[k].is_some() {
                continue;
            }
            let run = search(model, items, budget);
            spent[k] += run.steps;
            if !matches!(run.outcome, Outcome::OutOfBudget) {
                runs[k] = Some(run.outcome);
            }
        }
        let refuted = runs.iter().any(|r| matches!(r, Some(Outcome::Refuted(_))));
        let undecided = runs.iter().any(Option::is_none);
        if !undecided || refuted || budget >= options.max_steps {
            break;
        }
        budget = budget.saturating_mul(8).min(options.max_steps);
    }

    let exhausted = budget >= options.max_steps;
    let mut explain_budget = options.max_explain_steps;
    partitions
        .into_iter()
        .zip(prepared.iter())
        .zip(runs)
        .zip(spent)
        .map(|(((partition, items), run), steps)| {
            let mut result = PartitionResult {
                label: partition.label,
                ops: partition.ops,
                verdict: Verdict::Unknown,
                steps,
                stopped_early: false,
                linearization: Vec::new(),
                counterexample: None,
            };
            match run {
                None => result.stopped_early = !exhausted,
                Some(Outcome::OutOfBudget) => {}
                Some(Outcome::Linearizable(order)) => {
                    result.verdict = Verdict::Linearizable;
                    result.linearization = order.into_iter().map(|i| items[i].id).collect();
                }
                Some(Outcome::Refuted(frontier)) => {
                    result.verdict = Verdict::NotLinearizable;
                    result.counterexample = frontier
                        .map(|f| explain(model, items, f, steps, options, &mut explain_budget));
                }
            }
            result
        })
        .collect()
}

/// Builds the counterexample of a refuted partition from where its search got furthest.
fn explain<M: Model>(
    model: &M,
    items: &[Item<'_, M::Input, M::Output>],
    f: Frontier<M::State>,
    search_steps: u64,
    options: &CheckOptions,
    budget: &mut u64,
) -> Counterexample {
    let (conflict, minimal) = if options.explain {
        let per_try = search_steps.saturating_mul(4).max(MIN_STEPS_PER_TRY);
        let (conflict, minimal, spent) = minimise(model, items, f.time, f.op, *budget, per_try);
        *budget = budget.saturating_sub(spent);
        (conflict, minimal)
    } else {
        let cut = truncate(items, f.time, model);
        (
            cut.into_iter()
                .filter(|&i| items[i].ret.is_some_and(|r| r <= f.time))
                .collect(),
            false,
        )
    };
    // With several operations returning at the frontier time, any of them is "first"; name
    // one the conflicting set contains.
    let op = if conflict.contains(&f.op) {
        f.op
    } else {
        conflict
            .iter()
            .copied()
            .filter(|&i| items[i].ret == Some(f.time))
            .min()
            .unwrap_or(f.op)
    };
    let mut conflict: Vec<usize> = conflict.iter().map(|&i| items[i].id).collect();
    conflict.sort_unstable();
    Counterexample {
        op: items[op].id,
        prefix: f.prefix.iter().map(|&i| items[i].id).collect(),
        state: model.describe_state(&f.state),
        conflict,
        minimal,
    }
}

/// The items of the history cut at time `t`: those invoked by `t`, where those that returned
/// later count as unknown-outcome. If the search got stuck first at a return at `t`, this
/// history is already not linearizable, and everything that returned before `t` is.
fn truncate<M: Model>(items: &[Item<'_, M::Input, M::Output>], t: u64, model: &M) -> Vec<usize> {
    (0..items.len())
        .filter(|&i| {
            let it = &items[i];
            it.call <= t && (it.ret.is_some_and(|r| r <= t) || !model.is_read_only(it.input))
        })
        .collect()
}

/// Finds a small set of completed operations that cannot be ordered, from the history cut
/// at the frontier time `t` (see [`truncate`]), whose first unplaceable operation is `stuck`.
///
/// Relaxing a completed operation drops it if it is read-only and otherwise makes it optional:
/// it may then take effect or not, within its interval. Operations with unknown outcome are
/// optional already. Relaxing only widens what the history allows, so a relaxed history that
/// is still refuted proves the operations that stayed strict cannot be ordered. First the
/// strict set is the 1, 2, 4, ... latest-returning operations (the stuck one first), until
/// that alone is refuted; then each member in turn (read-only ones first) is relaxed for
/// good if the rest is still refuted.
///
/// Each search may take `per_try` steps and all of them `budget`; a search that runs out
/// counts as "not refuted", and the set is then not proven minimal. Returns item indices,
/// whether the set is minimal, and the steps spent.
fn minimise<M: Model>(
    model: &M,
    items: &[Item<'_, M::Input, M::Output>],
    t: u64,
    stuck: usize,
    budget: u64,
    per_try: u64,
) -> (Vec<usize>, bool, u64) {
    let base_ids = truncate(items, t, model);
    let base: Vec<Item<'_, M::Input, M::Output>> = base_ids
        .iter()
        .map(|&i| {
            let mut it = items[i];
            if it.ret.is_some_and(|r| r > t) {
                it.ret = None;
                it.output = None;
            }
            it
        })
        .collect();
    let mut spent = 0u64;
    let mut proven = true;
    // Some(true): refuted; Some(false): not refuted (or out of per-try budget); None: the
    // whole budget is spent.
    let mut refuted = |relaxed: &[bool]| -> Option<bool> {
        let left = budget.saturating_sub(spent);
        if left == 0 {
            return None;
        }
        let sub: Vec<Item<'_, M::Input, M::Output>> = base
            .iter()
            .zip(relaxed)
            .filter(|(it, relax)| !(**relax && model.is_read_only(it.input)))
            .map(|(it, &relax)| Item {
                optional: relax,
                ..*it
            })
            .collect();
        let run = search(model, &sub, per_try.min(left));
        spent += run.steps;
        match run.outcome {
            Outcome::Refuted(_) => Some(true),
            Outcome::Linearizable(_) => Some(false),
            Outcome::OutOfBudget => {
                proven = false;
                Some(false)
            }
        }
    };

    // Completed operations, latest return first, the stuck one before all.
    let mut ranked: Vec<usize> = (0..base.len()).filter(|&k| base[k].ret.is_some()).collect();
    ranked.sort_by_key(|&k| (base_ids[k] != stuck, std::cmp::Reverse(base[k].ret), k));
    let mut relaxed = vec![false; base.len()];
    let mut window = 1usize;
    while window < ranked.len() {
        for (rank, &k) in ranked.iter().enumerate() {
            relaxed[k] = rank >= window;
        }
        match refuted(&relaxed) {
            Some(true) => break,
            Some(false) => window *= 2,
            None => return (ranked.iter().map(|&k| base_ids[k]).collect(), false, budget),
        }
    }
    if window >= ranked.len() {
        relaxed.iter_mut().for_each(|r| *r = false);
    }

    let mut order: Vec<usize> = ranked.iter().copied().filter(|&k| !relaxed[k]).collect();
    order.sort_by_key(|&k| (!model.is_read_only(base[k].input), k));
    let mut complete = true;
    for k in order {
        relaxed[k] = true;
        match refuted(&relaxed) {
            Some(true) => {}
            Some(false) => relaxed[k] = false,
            None => {
                relaxed[k] = false;
                complete = false;
                break;
            }
        }
    }
    let conflict = ranked
        .iter()
        .filter(|&&k| !relaxed[k])
        .map(|&k| base_ids[k])
        .collect();
    (conflict, complete && proven, spent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lin::{KeyValue, KvInput, KvOp, Register, RegisterOp, check};

    fn op(
        call: u64,
        ret: Option<u64>,
        input: RegisterOp,
        output: Option<i64>,
    ) -> Operation<RegisterOp, Option<i64>> {
        Operation {
            client: 0,
            call,
            ret,
            input,
            output,
        }
    }

    #[test]
    fn lift_and_unlift_restore_the_list() {
        let ops = [
            op(0, Some(3), RegisterOp::Write(1), None),
            op(1, Some(2), RegisterOp::Read, Some(1)),
            op(4, None, RegisterOp::Write(2), None),
        ];
        let items: Vec<_> = ops
            .iter()
            .enumerate()
            .map(|(id, o)| Item {
                id,
                call: o.call,
                ret: o.ret,
                input: &o.input,
                output: o.ret.map(|_| &o.output),
                optional: false,
            })
            .collect();
        let mut e = Entries::new(&items);
        let walk = |e: &Entries| {
            let mut v = Vec::new();
            let mut k = e.next[0];
            while k != e.tail {
                v.push((e.item[k as usize], e.is_return[k as usize]));
                k = e.next[k as usize];
            }
            v
        };
        let before = walk(&e);
        assert_eq!(
            before,
            vec![(0, false), (1, false), (1, true), (0, true), (2, false)]
        );
        let call1 = e.next[e.next[0] as usize];
        e.lift(call1);
        let call0 = e.next[0];
        e.lift(call0);
        assert_eq!(walk(&e), vec![(2, false)]);
        e.unlift(call0);
        e.unlift(call1);
        assert_eq!(walk(&e), before);
    }

    #[test]
    fn tied_returns_name_an_operation_of_the_conflict() {
        // Both reads return at 11 and neither fits; the one named must be in the conflict.
        let ops = [
            op(0, Some(0), RegisterOp::Write(0), None),
            op(10, Some(11), RegisterOp::Read, None),
            op(9, Some(11), RegisterOp::Read, Some(1)),
        ];
        let r = check(&Register::default(), &ops, &CheckOptions::default());
        let cx = r.partitions[0]
            .counterexample
            .as_ref()
            .expect("counterexample");
        assert!(cx.conflict.contains(&cx.op), "{cx:?}");
        assert_eq!(cx.conflict, vec![2], "nothing ever wrote 1");
    }

    #[test]
    fn budget_gives_unknown() {
        // Many concurrent writes and a read that matches none: exhaustive search needed.
        let mut ops: Vec<_> = (0..12)
            .map(|v| op(0, Some(100), RegisterOp::Write(v), None))
            .collect();
        ops.push(op(0, Some(100), RegisterOp::Read, Some(99)));
        let options = CheckOptions {
            max_steps: 50,
            ..CheckOptions::default()
        };
        let r = check(&Register::default(), &ops, &options);
        assert_eq!(r.verdict, Verdict::Unknown);
        assert!(r.partitions[0].counterexample.is_none());
        let r = check(&Register::default(), &ops, &CheckOptions::default());
        assert_eq!(r.verdict, Verdict::NotLinearizable);
        let cx = r.partitions[0]
            .counterexample
            .as_ref()
            .expect("counterexample");
        assert_eq!(
            cx.conflict,
            vec![12],
            "the read of a value never written, alone"
        );
        assert!(cx.minimal);
    }

    /// An exhaustive, unoptimised reference: tries every order. `optional[i]` makes a
    /// completed operation optional within its interval; unknown-outcome ones are optional.
    fn brute<M: Model>(
        model: &M,
        ops: &[Operation<M::Input, M::Output>],
        optional: &[bool],
    ) -> bool {
        fn go<M: Model>(
            m: &M,
            ops: &[Operation<M::Input, M::Output>],
            optional: &[bool],
            placed: &mut Vec<bool>,
            state: M::State,
            now: u64,
        ) -> bool {
            if (0..ops.len()).all(|i| placed[i] || optional[i] || ops[i].ret.is_none()) {
                return true;
            }
            for x in 0..ops.len() {
                if placed[x] || ops[x].ret.is_some_and(|r| r < now) {
                    continue;
                }
                // Every mandatory operation that returned before x was called must be placed.
                let blocked = (0..ops.len()).any(|y| {
                    !placed[y] && !optional[y] && ops[y].ret.is_some_and(|r| r < ops[x].call)
                });
                if blocked {
                    continue;
                }
                let out = ops[x].ret.map(|_| &ops[x].output);
                if let Some(next) = m.step(&state, &ops[x].input, out) {
                    placed[x] = true;
                    let ok = go(m, ops, optional, placed, next, now.max(ops[x].call));
                    placed[x] = false;
                    if ok {
                        return true;
                    }
                }
            }
            false
        }
        go(
            model,
            ops,
            optional,
            &mut vec![false; ops.len()],
            model.init(),
            0,
        )
    }

    /// Checks one history of one partition against [`brute`]: the verdict, the conflict (not
    /// linearizable alone, and minimal when it says so), the prefix, the linearization.
    fn agrees_with_brute<M: Model>(
        m: &M,
        ops: &[Operation<M::Input, M::Output>],
    ) -> Result<(), proptest::test_runner::TestCaseError>
    where
        M::Input: Clone,
        M::Output: Clone,
    {
        let none = vec![false; ops.len()];
        let expected = brute(m, ops, &none);
        let r = check(m, ops, &CheckOptions::default());
        proptest::prop_assert_eq!(r.verdict == Verdict::Linearizable, expected);
        proptest::prop_assert_ne!(r.verdict, Verdict::Unknown);
        if let Some(cx) = r.partitions[0].counterexample.as_ref() {
            proptest::prop_assert!(cx.conflict.contains(&cx.op));
            // The conflict set alone, every other operation optional (read-only ones
            // dropped), is still not linearizable...
            let relaxed = |keep: &dyn Fn(usize) -> bool| {
                let sub: Vec<_> = (0..ops.len())
                    .filter(|&i| keep(i) || !m.is_read_only(&ops[i].input))
                    .collect();
                let sub_ops: Vec<_> = sub.iter().map(|&i| ops[i].clone()).collect();
                let optional: Vec<bool> = sub.iter().map(|&i| !keep(i)).collect();
                brute(m, &sub_ops, &optional)
            };
            proptest::prop_assert!(!relaxed(&|i| cx.conflict.contains(&i)));
            // ...and relaxing any one member makes it linearizable.
            if cx.minimal {
                for &c in &cx.conflict {
                    proptest::prop_assert!(relaxed(&|i| i != c && cx.conflict.contains(&i)));
                }
            }
            // The prefix is a valid sequence: each step fits the model.
            let mut state = m.init();
            for &i in &cx.prefix {
                let out = ops[i].ret.map(|_| &ops[i].output);
                let next = m.step(&state, &ops[i].input, out);
                proptest::prop_assert!(next.is_some());
                state = next.unwrap_or_else(|| m.init());
            }
        } else {
            // A reported linearization is valid: real-time order and model.
            let lin = &r.partitions[0].linearization;
            let mut state = m.init();
            for (k, &i) in lin.iter().enumerate() {
                let out = ops[i].ret.map(|_| &ops[i].output);
                let next = m.step(&state, &ops[i].input, out);
                proptest::prop_assert!(next.is_some());
                state = next.unwrap_or_else(|| m.init());
                for &j in &lin[k + 1..] {
                    proptest::prop_assert!(ops[j].ret.is_none_or(|r| r >= ops[i].call));
                }
            }
            for (i, o) in ops.iter().enumerate() {
                proptest::prop_assert!(o.ret.is_none() || lin.contains(&i));
            }
        }
        Ok(())
    }

    fn arb_history()
    -> impl proptest::strategy::Strategy<Value = Vec<Operation<RegisterOp, Option<i64>>>> {
        use proptest::prelude::*;
        let op = (0u64..12, 0u64..6, 0u8..10, 0i64..3, 0i64..3, 0u8..4).prop_map(
            |(call, len, kind, a, b, out)| {
                let input = match kind {
                    0..=3 => RegisterOp::Read,
                    4..=7 => RegisterOp::Write(a),
                    _ => RegisterOp::Cas { from: a, to: b },
                };
                let ret = if out == 3 && input != RegisterOp::Read {
                    None
                } else {
                    Some(call + len)
                };
                let output = if out == 0 {
                    None
                } else {
                    Some(i64::from(out) - 1)
                };
                Operation {
                    client: 0,
                    call,
                    ret,
                    input,
                    output,
                }
            },
        );
        proptest::collection::vec(op, 1..8)
    }

    /// Key-value histories on one key: appends do not overwrite, so no operation is
    /// unobservable and every optional one may be needed by any later write.
    fn arb_kv_history() -> impl proptest::strategy::Strategy<Value = Vec<Operation<KvInput, String>>>
    {
        use proptest::prelude::*;
        let op = (0u64..12, 0u64..6, 0u8..10, 0u8..3, 0u8..6, 0u8..4).prop_map(
            |(call, len, kind, arg, out, info)| {
                let word = ["x", "y", "xy"][usize::from(arg)];
                let op = match kind {
                    0..=3 => KvOp::Get,
                    4..=5 => KvOp::Put(word.to_string()),
                    _ => KvOp::Append(word.to_string()),
                };
                let ret = if info == 3 && op != KvOp::Get {
                    None
                } else {
                    Some(call + len)
                };
                let output = ["", "x", "y", "xy", "yx", "xx"][usize::from(out)].to_string();
                Operation {
                    client: 0,
                    call,
                    ret,
                    input: KvInput {
                        key: String::from("k"),
                        op,
                    },
                    output,
                }
            },
        );
        proptest::collection::vec(op, 1..8)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(600))]

        #[test]
        fn agrees_with_brute_force_and_conflicts_hold(ops in arb_history()) {
            agrees_with_brute(&Register::default(), &ops)?;
        }

        #[test]
        fn kv_agrees_with_brute_force(ops in arb_kv_history()) {
            agrees_with_brute(&KeyValue, &ops)?;
        }
    }
}
