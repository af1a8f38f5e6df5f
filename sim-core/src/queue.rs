//! The engine's pending-event queue: a monotone radix heap keyed on (time, insertion sequence).
//!
//! A discrete-event simulator only ever schedules events at or after the current time, so
//! the queue can exploit monotonicity instead of paying for a general comparison heap.
//! Every push gets a fresh sequence number and the heap orders by the 128-bit key
//! `(time << 64) | seq`. Because keys are unique, events with equal times pop in push order,
//! which is what makes a run reproducible.
//!
//! Design (a radix heap): `last` is the key of the last popped event and every pending key is
//! greater. A pending key `k` lives in bucket `127 - leading_zeros(k ^ last)`, the index of the
//! highest bit in which it differs from `last`, so every key in a bucket is smaller than every
//! key in a higher bucket and the minimum is in the lowest non-empty bucket (found in O(1)
//! through a bitmask). Each bucket also tracks where its own minimum is. Popping removes that
//! minimum, makes it the new `last`, and moves the rest of the bucket into strictly lower
//! buckets; an entry moves down at most 128 times over its life, in practice a handful.
//!
//! Small queues skip the buckets: up to 48 pending entries (`SMALL_MAX`) live in one flat
//! vector whose minimum is found by a branch-free scan. That covers a small simulated cluster
//! (a five-node Raft group with its clients keeps 20-40 events pending): a scan of a few
//! contiguous cache lines beats moving entries between buckets, which the radix heap does on
//! many pops of each entry's life (W4 runs 3-5 % faster with 48 than with 16). The queue
//! switches to the radix heap when it outgrows that and back when it shrinks to 24
//! (`SMALL_MIN`; the gap keeps it from switching back and forth); the switch costs one pass
//! over the entries. Which layout holds the entries never changes the order they pop in.
//!
//! A binary heap between the two was tried: fewer instructions, but slower on the wall clock
//! (W4 by 8 %, W1 N=100 by 15 %): its sift is a chain of dependent, unpredictable comparisons,
//! where the flat scan and the radix heap's moves are independent. Measure queue changes by
//! time, not by instruction counts.
//!
//! Memory: a bucket stores its entries in fixed-size chunks drawn from a pool shared by every
//! bucket. A popped bucket hands its full chunks back to the pool, where the buckets its entries
//! moved to pick them up again, so the queue holds about one entry's worth of memory per pending
//! event (plus at most one partly filled chunk per bucket) instead of every bucket's high-water
//! mark, and after warm-up it does not allocate at all.

use std::hint::select_unpredictable;

/// Number of buckets: one for each bit position in which a key can first differ from `last`.
/// Buckets `0..64` hold keys with the same time as `last` (they differ in `seq` only),
/// buckets `64..128` keys with a later time.
const BUCKETS: usize = 128;

/// A pending event with its ordering data: two words plus the payload.
struct Entry<E> {
    time: u64,
    seq: u64,
    event: E,
}

/// The 128-bit ordering key of (`time`, `seq`).
#[inline(always)]
fn make_key(time: u64, seq: u64) -> u128 {
    (u128::from(time) << 64) | u128::from(seq)
}

/// The bucket of key (`time`, `seq`) relative to the last popped key (`last_time`,
/// `last_seq`): the index of the highest bit in which the two 128-bit keys differ.
///
/// Requires the keys to differ (the queue guarantees every pending key is greater).
#[inline(always)]
fn bucket_of(time: u64, seq: u64, last_time: u64, last_seq: u64) -> usize {
    let dt = time ^ last_time;
    let b = if dt != 0 {
        127 - dt.leading_zeros()
    } else {
        let ds = seq ^ last_seq;
        debug_assert!(ds != 0, "a pending key equals the last popped key");
        63 - ds.leading_zeros()
    };
    // The keys differ, so `b` is in 0..128; the mask only lets the compiler drop the bounds
    // check on the bucket array.
    b as usize & (BUCKETS - 1)
}

/// Most entries the queue keeps in its flat small-queue vector before switching to buckets.
const SMALL_MAX: usize = 48;
/// Pending entries at or below which the queue moves back from buckets to the flat vector.
const SMALL_MIN: usize = 24;

/// Entries per chunk of bucket storage.
const CHUNK: usize = 256;

/// A chunk: a vector of at most [`CHUNK`] entries whose capacity is never exceeded.
type Chunk<E> = Vec<Entry<E>>;

/// Where an entry sits in a bucket: chunk index (the tail is chunk `full.len()`) in the high
/// half, index in the chunk in the low half.
#[inline(always)]
fn pack_pos(chunk: usize, index: usize) -> u64 {
    ((chunk as u64) << 32) | index as u64
}

/// One radix-heap bucket: its entries (unordered, in chunks) and where its smallest key is.
struct Bucket<E> {
    /// The chunk being filled. Its allocation stays with the bucket when the bucket empties
    /// (capacity 0 only before first use).
    tail: Chunk<E>,
    /// Chunks that filled up before the tail; handed back to the pool when the bucket empties.
    full: Vec<Chunk<E>>,
    /// Smallest key in the bucket, `u128::MAX` when empty (no real key reaches it: that would
    /// take 2^64 - 1 pushes).
    min_key: u128,
    /// Position of the smallest key ([`pack_pos`]; meaningless when empty).
    min_pos: u64,
}

impl<E> Bucket<E> {
    /// An empty bucket that owns no allocation yet.
    const fn new() -> Self {
        Bucket {
            tail: Vec::new(),
            full: Vec::new(),
            min_key: u128::MAX,
            min_pos: 0,
        }
    }

    /// Appends `entry`, keeping the bucket minimum up to date. A full (or not yet allocated)
    /// tail is replaced by a chunk from `pool`.
    #[inline(always)]
    fn insert(&mut self, entry: Entry<E>, pool: &mut Vec<Chunk<E>>) {
        if self.tail.len() == self.tail.capacity() {
            self.new_tail(pool);
        }
        let key = make_key(entry.time, entry.seq);
        let pos = pack_pos(self.full.len(), self.tail.len());
        // Whether a new entry beats the minimum is data-dependent; a conditional move is
        // cheaper than the frequently mispredicted branch.
        let less = key < self.min_key;
        self.min_key = select_unpredictable(less, key, self.min_key);
        self.min_pos = select_unpredictable(less, pos, self.min_pos);
        self.tail.push(entry);
    }

    /// Retires a full tail into `full` (or drops an unallocated one) and takes a fresh chunk.
    #[cold]
    #[inline(never)]
    fn new_tail(&mut self, pool: &mut Vec<Chunk<E>>) {
        let chunk = pool.pop().unwrap_or_else(|| Vec::with_capacity(CHUNK));
        let old = std::mem::replace(&mut self.tail, chunk);
        if old.capacity() > 0 {
            self.full.push(old);
        }
    }

    /// Number of entries.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.tail.len() + self.full.iter().map(Vec::len).sum::<usize>()
    }

    /// Bytes of entry storage this bucket holds.
    fn capacity(&self) -> usize {
        self.tail.capacity() + self.full.iter().map(Vec::capacity).sum::<usize>()
    }
}

/// Monotone event queue: pops events in (time, insertion order) order.
///
/// Use it as the simulator's pending-event set: it is much faster than a comparison heap for
/// the "pop the next event, schedule a few later ones" pattern, and ties in time pop in the
/// order they were pushed (FIFO), so equal-time events are handled deterministically.
/// Times are plain nanoseconds; a push may never schedule before the last popped event (such
/// pushes are clamped, see [`EventQueue::push`]).
pub struct EventQueue<E> {
    /// Whether the entries are in the radix buckets (`true`) or in `small` (`false`).
    radix: bool,
    /// Small mode: every pending entry, unordered (empty in radix mode).
    small: Vec<Entry<E>>,
    /// Small mode: the smallest key in `small`, `u128::MAX` when empty.
    small_min_key: u128,
    /// Small mode: the index of that key in `small`.
    small_min_pos: usize,
    /// `buckets[i]` holds the pending entries whose key first differs from `last` at bit `i`.
    buckets: Box<[Bucket<E>; BUCKETS]>,
    /// Empty chunks (each with capacity for [`CHUNK`] entries), shared by every bucket.
    pool: Vec<Chunk<E>>,
    /// Bit `i % 64` of word `i / 64` is set iff `buckets[i]` is non-empty.
    mask: [u64; 2],
    /// Time of the last popped entry (0 before the first pop).
    last_time: u64,
    /// Sequence number of the last popped entry (0 before the first pop). Together with
    /// `last_time` this is the radix heap's `last` key; every pending key is greater.
    last_seq: u64,
    /// Internal sequence number of the next push. Starts at 1 so that no key ever equals the
    /// initial `last` of (0, 0); the public numbers ([`Self::next_seq`]) are one less.
    /// 2^64 pushes are out of reach, so it never wraps.
    next_seq: u64,
    /// Number of pending entries.
    len: usize,
}

impl<E> EventQueue<E> {
    /// Creates an empty queue. Allocates only the bucket table; buckets allocate on first use.
    #[must_use]
    pub fn new() -> Self {
        EventQueue {
            radix: false,
            small: Vec::new(),
            small_min_key: u128::MAX,
            small_min_pos: 0,
            buckets: Box::new([const { Bucket::new() }; BUCKETS]),
            pool: Vec::new(),
            mask: [0; 2],
            last_time: 0,
            last_seq: 0,
            next_seq: 1,
            len: 0,
        }
    }

    /// Creates an empty queue expecting about `n` pending events.
    ///
    /// Only a hint: which internal bucket an event lands in depends on its time, so the
    /// capacity cannot be placed up front. Storage grows a chunk at a time and is recycled, so
    /// after warm-up the queue does not allocate either way.
    #[must_use]
    pub fn with_capacity(n: usize) -> Self {
        let mut q = Self::new();
        q.small.reserve(n.min(SMALL_MAX));
        q
    }

    /// Index of the lowest non-empty bucket, `None` if the queue is empty.
    #[inline(always)]
    fn lowest_bucket(&self) -> Option<usize> {
        let [lo, hi] = self.mask;
        if lo != 0 {
            Some(lo.trailing_zeros() as usize)
        } else if hi != 0 {
            Some(64 + hi.trailing_zeros() as usize)
        } else {
            None
        }
    }

    /// Schedules `event` at `time` (nanoseconds).
    ///
    /// `time` must be >= [`last_popped_time`](Self::last_popped_time). An earlier time is
    /// clamped up to the last popped time (the event is then ordered after every event already
    /// pushed for that time), so the queue never breaks monotonicity and never hands out an
    /// event in the past. Equal times pop in push order.
    #[inline]
    pub fn push(&mut self, time: u64, event: E) {
        let time = time.max(self.last_time);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        let entry = Entry { time, seq, event };
        if !self.radix && self.small.len() < SMALL_MAX {
            let key = make_key(time, seq);
            let less = key < self.small_min_key;
            self.small_min_key = select_unpredictable(less, key, self.small_min_key);
            self.small_min_pos = select_unpredictable(less, self.small.len(), self.small_min_pos);
            self.small.push(entry);
            return;
        }
        self.push_radix(entry);
    }

    /// [`push`](Self::push) in radix mode, switching to it first if the flat vector is full.
    #[inline(never)]
    fn push_radix(&mut self, entry: Entry<E>) {
        if !self.radix {
            self.switch_to_radix();
        }
        self.radix_insert(entry);
    }

    /// Puts `entry` in its bucket (radix mode; `len` is the caller's business).
    #[inline(always)]
    fn radix_insert(&mut self, entry: Entry<E>) {
        let b = bucket_of(entry.time, entry.seq, self.last_time, self.last_seq);
        self.buckets[b].insert(entry, &mut self.pool);
        self.mask[b >> 6] |= 1 << (b & 63);
    }

    /// Moves every entry from the flat vector into the buckets.
    #[cold]
    #[inline(never)]
    fn switch_to_radix(&mut self) {
        self.radix = true;
        let mut small = std::mem::take(&mut self.small);
        for e in small.drain(..) {
            self.radix_insert(e);
        }
        self.small = small; // keep the allocation for the way back
        self.small_min_key = u128::MAX;
    }

    /// Moves every entry from the buckets into the flat vector.
    #[cold]
    #[inline(never)]
    fn switch_to_small(&mut self) {
        self.radix = false;
        let pool = &mut self.pool;
        let small = &mut self.small;
        for (i, b) in self.buckets.iter_mut().enumerate() {
            if self.mask[i >> 6] & (1 << (i & 63)) == 0 {
                continue;
            }
            small.append(&mut b.tail);
            for mut c in b.full.drain(..) {
                small.append(&mut c);
                pool.push(c);
            }
            b.min_key = u128::MAX;
        }
        self.mask = [0; 2];
        self.rescan_small();
    }

    /// Finds the smallest key in the flat vector.
    #[inline(always)]
    fn rescan_small(&mut self) {
        // Earliest time first (a chain of one compare and a conditional move per entry: which
        // entry wins is unpredictable, so no branches), then whether another entry shares that
        // time (a branch-free count); only then are sequence numbers compared.
        let mut time = u64::MAX;
        let mut pos = 0;
        for (i, e) in self.small.iter().enumerate() {
            let less = e.time < time;
            time = select_unpredictable(less, e.time, time);
            pos = select_unpredictable(less, i, pos);
        }
        let ties: usize = self.small.iter().map(|e| usize::from(e.time == time)).sum();
        if ties > 1 {
            pos = self.earliest_of_time(time);
        }
        let seq = self.small.get(pos).map_or(u64::MAX, |e| e.seq);
        self.small_min_key = make_key(time, seq);
        self.small_min_pos = pos;
    }

    /// Index of the entry with the smallest sequence number among those at `time`.
    #[cold]
    #[inline(never)]
    fn earliest_of_time(&self, time: u64) -> usize {
        let mut best = (u64::MAX, 0);
        for (i, e) in self.small.iter().enumerate() {
            if e.time == time && e.seq < best.0 {
                best = (e.seq, i);
            }
        }
        best.1
    }

    /// Removes and returns the earliest event with its time; ties pop in push order (FIFO).
    ///
    /// Returns `None` when the queue is empty. Afterwards
    /// [`last_popped_time`](Self::last_popped_time) is the returned time.
    #[inline]
    pub fn pop(&mut self) -> Option<(u64, E)> {
        let e = self.pop_entry()?;
        Some((e.time, e.event))
    }

    /// Like [`pop`](Self::pop), but also returns the event's sequence number (the value
    /// [`next_seq`](Self::next_seq) had just before it was pushed), as `(time, seq, event)`.
    ///
    /// The engine uses the sequence number as a stable, deterministic id for the event.
    #[inline]
    pub fn pop_with_seq(&mut self) -> Option<(u64, u64, E)> {
        let e = self.pop_entry()?;
        // Internal sequence numbers are one above the public ones (see `next_seq` field).
        Some((e.time, e.seq - 1, e.event))
    }

    /// Pops the earliest event like [`pop_with_seq`](Self::pop_with_seq), but only if its time
    /// is at most `limit`: `Err(true)` if the earliest event is later than `limit` (nothing is
    /// removed), `Err(false)` if the queue is empty. One lookup instead of a peek and a pop.
    #[inline]
    pub fn pop_with_seq_until(&mut self, limit: u64) -> Result<(u64, u64, E), bool> {
        let min_key = if self.radix {
            match self.lowest_bucket() {
                Some(b) => self.buckets[b].min_key,
                None => return Err(false),
            }
        } else if self.small.is_empty() {
            return Err(false);
        } else {
            self.small_min_key
        };
        if (min_key >> 64) as u64 > limit {
            return Err(true);
        }
        let e = self.pop_min();
        Ok((e.time, e.seq - 1, e.event))
    }

    /// Sequence number the next [`push`](Self::push) will be given: 0 for the first push,
    /// then one more for every push and every [`skip_seq`](Self::skip_seq).
    ///
    /// Lets the engine learn an event's id before scheduling it (e.g. to trace a send).
    #[inline]
    #[must_use]
    pub fn next_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Uses up one sequence number without scheduling anything.
    ///
    /// For ids that must be allocated from the same counter as events but never get an event
    /// (e.g. a message dropped on send). Ordering is unaffected: later pushes still pop after
    /// earlier ones at equal times.
    #[inline]
    pub fn skip_seq(&mut self) {
        self.next_seq += 1;
    }

    /// Removes the minimum entry and makes it the new `last`, moving the rest of its bucket
    /// down. The shared core of [`pop`](Self::pop) and [`pop_with_seq`](Self::pop_with_seq).
    #[inline(always)]
    fn pop_entry(&mut self) -> Option<Entry<E>> {
        if self.len == 0 {
            None
        } else {
            Some(self.pop_min())
        }
    }

    /// Removes the minimum entry of a non-empty queue and makes it the new `last`.
    #[inline(always)]
    fn pop_min(&mut self) -> Entry<E> {
        if !self.radix {
            let e = self.small.swap_remove(self.small_min_pos);
            self.last_time = e.time;
            self.last_seq = e.seq;
            self.len -= 1;
            self.rescan_small();
            return e;
        }
        self.pop_radix()
    }

    /// [`pop_min`](Self::pop_min) in radix mode.
    #[inline(never)]
    fn pop_radix(&mut self) -> Entry<E> {
        // The lowest non-empty bucket holds the smallest keys; its minimum is the answer.
        let b = self.lowest_bucket().unwrap_or(0);
        let e = self.pop_bucket(b);
        if self.len <= SMALL_MIN {
            self.switch_to_small();
        }
        e
    }

    /// Removes the minimum of bucket `b`, which must be the lowest non-empty bucket.
    #[inline(always)]
    fn pop_bucket(&mut self, b: usize) -> Entry<E> {
        let b = b & (BUCKETS - 1);
        let (lower, upper) = self.buckets.split_at_mut(b);
        let bucket = &mut upper[0];
        bucket.min_key = u128::MAX;
        self.len -= 1;
        // `b` is the lowest set bit of its mask word, and the bucket is about to be emptied.
        let w = &mut self.mask[b >> 6];
        *w &= *w - 1;
        if bucket.full.is_empty() && bucket.tail.len() == 1 {
            // Common fast path: nothing to redistribute.
            if let Some(min) = bucket.tail.pop() {
                self.last_time = min.time;
                self.last_seq = min.seq;
                return min;
            }
        }
        let chunk = (bucket.min_pos >> 32) as usize;
        let index = bucket.min_pos as u32 as usize;
        let min = match bucket.full.get_mut(chunk) {
            Some(c) => c.swap_remove(index),
            None => bucket.tail.swap_remove(index),
        };
        let (last_time, last_seq) = (min.time, min.seq);
        self.last_time = last_time;
        self.last_seq = last_seq;
        // Everything else in bucket `b` agrees with `min` on bits >= b and so moves strictly
        // lower; higher buckets keep their index since `min` agrees with the old `last` there.
        let pool = &mut self.pool;
        let mask = &mut self.mask;
        let mut spread = |e: Entry<E>, pool: &mut Vec<Chunk<E>>| {
            let nb = bucket_of(e.time, e.seq, last_time, last_seq);
            lower[nb].insert(e, pool);
            mask[nb >> 6] |= 1 << (nb & 63);
        };
        while let Some(e) = bucket.tail.pop() {
            spread(e, pool);
        }
        while let Some(mut c) = bucket.full.pop() {
            while let Some(e) = c.pop() {
                spread(e, pool);
            }
            pool.push(c);
        }
        min
    }

    /// Time of the earliest pending event, `None` if the queue is empty.
    ///
    /// O(1) and side-effect free today; it takes `&mut self` so the queue stays free to
    /// reorganise itself lazily here without an API change.
    #[inline]
    pub fn peek_time(&mut self) -> Option<u64> {
        if !self.radix {
            return (!self.small.is_empty()).then_some((self.small_min_key >> 64) as u64);
        }
        let b = self.lowest_bucket()?;
        Some((self.buckets[b].min_key >> 64) as u64)
    }

    /// Number of pending events.
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no event is pending.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Time of the most recently popped event: the floor for future pushes (0 before the first
    /// pop and after [`clear`](Self::clear)).
    #[inline]
    #[must_use]
    pub fn last_popped_time(&self) -> u64 {
        self.last_time
    }

    /// Size in bytes of one pending entry (ordering data plus the event).
    #[must_use]
    pub const fn entry_bytes() -> usize {
        std::mem::size_of::<Entry<E>>()
    }

    /// Bytes the queue holds on the heap for entries (allocated capacity, not just the pending
    /// ones), plus its bucket table.
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        let entries: usize = self.buckets.iter().map(Bucket::capacity).sum::<usize>()
            + self.pool.iter().map(Vec::capacity).sum::<usize>();
        let chunk_lists: usize = self
            .buckets
            .iter()
            .map(|b| b.full.capacity())
            .sum::<usize>()
            + self.pool.capacity();
        (entries + self.small.capacity()) * Self::entry_bytes()
            + chunk_lists * std::mem::size_of::<Chunk<E>>()
            + std::mem::size_of::<[Bucket<E>; BUCKETS]>()
    }

    /// Drops every pending event and resets the queue to its freshly created state
    /// (`last_popped_time` and `next_seq` back to 0), keeping allocated capacity for reuse.
    pub fn clear(&mut self) {
        for b in self.buckets.iter_mut() {
            b.tail.clear();
            for mut c in b.full.drain(..) {
                c.clear();
                self.pool.push(c);
            }
            b.min_key = u128::MAX;
        }
        self.mask = [0; 2];
        self.small.clear();
        self.small_min_key = u128::MAX;
        self.radix = false;
        self.last_time = 0;
        self.last_seq = 0;
        self.next_seq = 1;
        self.len = 0;
    }
}

impl<E> Default for EventQueue<E> {
    /// An empty queue, same as [`EventQueue::new`].
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Small deterministic generator (xorshift64*) so the tests need no extra crates.
    struct XorShift(u64);

    impl XorShift {
        fn new(seed: u64) -> Self {
            XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        /// Uniform-ish in `0..n` (`n > 0`).
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Reference model: a plain vector searched for the smallest (time, seq).
    #[derive(Default)]
    struct Model {
        pending: Vec<(u64, u64, u64)>, // (time, seq, id)
        next_seq: u64,
        last: u64,
    }

    impl Model {
        fn push(&mut self, time: u64, id: u64) {
            let time = time.max(self.last);
            self.pending.push((time, self.next_seq, id));
            self.next_seq += 1;
        }
        fn min_index(&self) -> Option<usize> {
            (0..self.pending.len()).min_by_key(|&i| (self.pending[i].0, self.pending[i].1))
        }
        fn peek_time(&self) -> Option<u64> {
            self.min_index().map(|i| self.pending[i].0)
        }
        fn pop(&mut self) -> Option<(u64, u64)> {
            let i = self.min_index()?;
            let (t, _, id) = self.pending.swap_remove(i);
            self.last = t;
            Some((t, id))
        }
    }

    /// A time to push given the last popped time, drawn from a mix that stresses equal
    /// times, clamping, bit boundaries and the top of the range.
    fn draw_time(rng: &mut XorShift, last: u64, style: u64) -> u64 {
        let room = u64::MAX - last;
        match (style, rng.below(100)) {
            // Dense: mostly equal times.
            (0, _) => last + rng.below(3).min(room),
            // Simulator-like: 1 ms to 10 ms ahead.
            (1, _) => last.saturating_add(1_000_000 + rng.below(9_000_000)),
            // Near the top of the range, now and then u64::MAX itself. (Once u64::MAX is
            // popped every later push is clamped to it, so it must stay rare.)
            (2, 0) if rng.below(10) == 0 => u64::MAX,
            (2, 0..=49) => (u64::MAX - (1 << 24))
                .max(last)
                .saturating_add(rng.below(1 << 20)),
            (2, _) => last + rng.below(room.min(1 << 20) + 1).min(room),
            // Mixed bag.
            (_, 0) if rng.below(30) == 0 => u64::MAX,
            (_, 1..=10) => last,
            (_, 11..=15) => 0, // clamped up to `last`
            (_, 16..=20) => last.saturating_sub(1 + rng.below(1000)), // clamped up to `last`
            (_, 21..=25) => last + rng.below(room.saturating_add(1)).min(room),
            (_, 26..=40) => last.saturating_add(1 << rng.below(40)),
            (_, 41..=55) => last.saturating_add((1 << rng.below(40)) - 1),
            _ => last.saturating_add(rng.below(100)),
        }
    }

    /// Runs a random interleaving of pushes, peeks and pops against the model.
    fn check_against_model(seed: u64, style: u64, ops: usize) {
        let mut rng = XorShift::new(seed);
        let mut q: EventQueue<u64> = EventQueue::new();
        let mut model = Model::default();
        let mut id = 0;
        // Bias towards pushing or popping in phases so the queue grows and drains.
        let mut push_bias = 2 + rng.below(7);
        for step in 0..ops {
            if step % 97 == 0 {
                push_bias = 1 + rng.below(9);
            }
            match rng.below(10) {
                r if r < push_bias => {
                    let t = draw_time(&mut rng, model.last, style);
                    q.push(t, id);
                    model.push(t, id);
                    id += 1;
                }
                r if r == push_bias => {
                    assert_eq!(q.peek_time(), model.peek_time(), "seed {seed} step {step}");
                }
                _ => {
                    let expected = model.pop();
                    assert_eq!(q.pop(), expected, "seed {seed} step {step}");
                    assert_eq!(q.last_popped_time(), model.last, "seed {seed} step {step}");
                }
            }
            assert_eq!(q.len(), model.pending.len());
            assert_eq!(q.is_empty(), model.pending.is_empty());
        }
        // Drain and check the tail too.
        loop {
            assert_eq!(q.peek_time(), model.peek_time(), "seed {seed} drain");
            let expected = model.pop();
            assert_eq!(q.pop(), expected, "seed {seed} drain");
            if expected.is_none() {
                break;
            }
        }
        assert!(q.is_empty());
    }

    #[test]
    fn matches_model_dense_equal_times() {
        for seed in 0..60 {
            check_against_model(seed, 0, 1500);
        }
    }

    #[test]
    fn matches_model_simulator_like_times() {
        for seed in 100..160 {
            check_against_model(seed, 1, 1500);
        }
    }

    #[test]
    fn matches_model_near_u64_max() {
        for seed in 200..260 {
            check_against_model(seed, 2, 1500);
        }
    }

    #[test]
    fn matches_model_mixed_times() {
        for seed in 300..400 {
            check_against_model(seed, 3, 1500);
        }
    }

    #[test]
    fn steady_state_pop_push_matches_binary_heap() {
        // The engine's pattern: pop one, push one 1-10 ms later, with many pending. The
        // reference is std's heap on (time, seq); ids are handed out in push order, so the
        // id doubles as the sequence number.
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        for pending in [1u64, 5, 100, 3000, 20_000] {
            let mut rng = XorShift::new(pending);
            let mut q = EventQueue::new();
            let mut reference = BinaryHeap::new();
            let mut next_id = 0u64;
            for _ in 0..pending {
                let t = 1_000_000 + rng.below(9_000_000);
                q.push(t, next_id);
                reference.push(Reverse((t, next_id)));
                next_id += 1;
            }
            for _ in 0..30_000 {
                let Some(Reverse(expected)) = reference.pop() else {
                    panic!("reference ran dry")
                };
                assert_eq!(q.pop(), Some(expected));
                let t = expected.0 + 1_000_000 + rng.below(9_000_000);
                q.push(t, next_id);
                reference.push(Reverse((t, next_id)));
                next_id += 1;
            }
            assert_eq!(q.len(), reference.len());
        }
    }

    #[test]
    fn equal_times_pop_in_push_order() {
        let mut q = EventQueue::new();
        // Interleave three times so equal-time events are not pushed contiguously.
        for i in 0..300u32 {
            q.push(u64::from(i % 3) * 10 + 5, i);
        }
        let popped: Vec<(u64, u32)> = std::iter::from_fn(|| q.pop()).collect();
        let mut expected: Vec<(u64, u32)> =
            (0..300).map(|i| (u64::from(i % 3) * 10 + 5, i)).collect();
        expected.sort_by_key(|&(t, i)| (t, i)); // ids increase with push order
        assert_eq!(popped, expected);

        // Same after time has advanced, and for events pushed between pops.
        q.push(100, 0);
        q.push(100, 1);
        assert_eq!(q.pop(), Some((100, 0)));
        q.push(100, 2);
        q.push(100, 3);
        assert_eq!(q.pop(), Some((100, 1)));
        assert_eq!(q.pop(), Some((100, 2)));
        assert_eq!(q.pop(), Some((100, 3)));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn push_before_last_popped_is_clamped() {
        let mut q = EventQueue::new();
        q.push(100, "a");
        q.push(100, "b");
        q.push(101, "c");
        assert_eq!(q.pop(), Some((100, "a")));
        assert_eq!(q.last_popped_time(), 100);
        q.push(50, "late"); // clamped to 100, after "b" (pushed earlier at 100)
        q.push(0, "later"); // clamped to 100, after "late"
        assert_eq!(q.peek_time(), Some(100));
        assert_eq!(q.pop(), Some((100, "b")));
        assert_eq!(q.pop(), Some((100, "late")));
        assert_eq!(q.pop(), Some((100, "later")));
        assert_eq!(q.pop(), Some((101, "c")));
        assert_eq!(q.last_popped_time(), 101);
        assert_eq!(q.pop(), None);
        // An empty queue keeps the floor: a push into the past still comes out at it.
        q.push(3, "past");
        assert_eq!(q.pop(), Some((101, "past")));
    }

    #[test]
    fn peek_then_push_earlier_than_peeked() {
        let mut q = EventQueue::new();
        q.push(10, 1);
        assert_eq!(q.pop(), Some((10, 1)));
        q.push(1_000, 2);
        q.push(5_000, 3);
        assert_eq!(q.peek_time(), Some(1_000));
        // Still legal (>= last popped 10) and earlier than the peeked minimum.
        q.push(20, 4);
        assert_eq!(q.peek_time(), Some(20));
        q.push(10, 5); // equal to the last popped time
        assert_eq!(q.peek_time(), Some(10));
        assert_eq!(q.pop(), Some((10, 5)));
        assert_eq!(q.pop(), Some((20, 4)));
        assert_eq!(q.peek_time(), Some(1_000));
        assert_eq!(q.pop(), Some((1_000, 2)));
        assert_eq!(q.pop(), Some((5_000, 3)));
        assert_eq!(q.peek_time(), None);
    }

    #[test]
    fn extremes_time_zero_and_u64_max() {
        let mut q = EventQueue::new();
        q.push(u64::MAX, 'z');
        q.push(0, 'a');
        q.push(u64::MAX, 'y');
        q.push(u64::MAX - 1, 'x');
        q.push(0, 'b');
        assert_eq!(q.pop(), Some((0, 'a')));
        assert_eq!(q.pop(), Some((0, 'b')));
        assert_eq!(q.last_popped_time(), 0);
        assert_eq!(q.pop(), Some((u64::MAX - 1, 'x')));
        assert_eq!(q.pop(), Some((u64::MAX, 'z')));
        q.push(5, 'w'); // clamped to u64::MAX, after 'y'
        assert_eq!(q.pop(), Some((u64::MAX, 'y')));
        assert_eq!(q.pop(), Some((u64::MAX, 'w')));
        assert_eq!(q.last_popped_time(), u64::MAX);
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn len_is_empty_peek_and_clear() {
        let mut q: EventQueue<u32> = EventQueue::default();
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
        assert_eq!(q.peek_time(), None);
        assert_eq!(q.pop(), None);
        assert_eq!(q.last_popped_time(), 0);

        for i in 0..10 {
            q.push(1_000 - u64::from(i) * 10, i);
        }
        assert_eq!(q.len(), 10);
        assert!(!q.is_empty());
        assert_eq!(q.peek_time(), Some(910));
        assert_eq!(q.peek_time(), Some(910), "peeking twice changes nothing");
        assert_eq!(q.len(), 10, "peeking does not remove");
        assert_eq!(q.pop(), Some((910, 9)));
        assert_eq!(q.len(), 9);
        assert_eq!(q.last_popped_time(), 910);

        q.clear();
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
        assert_eq!(q.peek_time(), None);
        assert_eq!(q.pop(), None);
        assert_eq!(q.last_popped_time(), 0, "clear resets the time floor");

        // Usable again from time 0 after a clear.
        q.push(0, 1);
        q.push(5, 2);
        q.push(0, 3);
        assert_eq!(q.len(), 3);
        assert_eq!(q.pop(), Some((0, 1)));
        assert_eq!(q.pop(), Some((0, 3)));
        assert_eq!(q.pop(), Some((5, 2)));
        assert!(q.is_empty());

        let mut hinted: EventQueue<u32> = EventQueue::with_capacity(1_000);
        assert!(hinted.is_empty());
        hinted.push(7, 7);
        assert_eq!(hinted.pop(), Some((7, 7)));
    }

    #[test]
    fn clear_and_drop_release_events() {
        let counter = Rc::new(Cell::new(0u32));
        struct Tracked(Rc<Cell<u32>>);
        impl Drop for Tracked {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        let mut q = EventQueue::new();
        for i in 0..100u64 {
            q.push(i * 7 % 13, Tracked(Rc::clone(&counter)));
        }
        // Pops move some entries between buckets; none may be dropped or duplicated.
        for _ in 0..10 {
            let popped = q.pop();
            assert!(popped.is_some());
        }
        assert_eq!(counter.get(), 10);
        q.clear();
        assert_eq!(counter.get(), 100);
        for i in 0..50u64 {
            q.push(i, Tracked(Rc::clone(&counter)));
        }
        drop(q);
        assert_eq!(counter.get(), 150);
        assert_eq!(Rc::strong_count(&counter), 1);
    }

    #[test]
    fn sequence_numbers() {
        let mut q = EventQueue::new();
        assert_eq!(q.next_seq(), 0);
        q.push(10, 'a'); // seq 0
        q.skip_seq(); // seq 1 used without an event
        assert_eq!(q.next_seq(), 2);
        q.push(5, 'b'); // seq 2
        q.push(10, 'c'); // seq 3
        q.skip_seq();
        q.skip_seq();
        q.push(10, 'd'); // seq 6
        assert_eq!(q.next_seq(), 7);
        assert_eq!(q.len(), 4, "skipping schedules nothing");
        assert_eq!(q.pop_with_seq(), Some((5, 2, 'b')));
        assert_eq!(q.pop_with_seq(), Some((10, 0, 'a')));
        assert_eq!(q.pop(), Some((10, 'c')));
        q.push(0, 'e'); // clamped to 10, seq 7
        assert_eq!(q.pop_with_seq(), Some((10, 6, 'd')));
        assert_eq!(q.pop_with_seq(), Some((10, 7, 'e')));
        assert_eq!(q.pop_with_seq(), None);
        q.clear();
        assert_eq!(q.next_seq(), 0, "clear restarts the numbering");
        q.push(1, 'f');
        assert_eq!(q.pop_with_seq(), Some((1, 0, 'f')));
    }

    #[test]
    fn pop_with_seq_returns_push_time_id() {
        // Ids taken from `next_seq` right before each push come back with their events, in
        // (time, id) order, even with skips mixed in.
        let mut rng = XorShift::new(99);
        let mut q = EventQueue::new();
        let mut expected = Vec::new();
        for _ in 0..2000 {
            if rng.below(4) == 0 {
                q.skip_seq();
            }
            let t = rng.below(50);
            let id = q.next_seq();
            q.push(t, id);
            expected.push((t, id, id));
        }
        expected.sort_unstable();
        let popped: Vec<(u64, u64, u64)> = std::iter::from_fn(|| q.pop_with_seq()).collect();
        assert_eq!(popped, expected);
    }

    #[test]
    fn memory_follows_the_pending_count_not_the_high_water_marks() {
        // A deep steady state (the engine's W3 pattern): pop one, push one 1-10 ms later.
        let mut rng = XorShift::new(5);
        let mut q = EventQueue::new();
        let pending = 50_000u64;
        for i in 0..pending {
            q.push(1_000_000 + rng.below(9_000_001), i);
        }
        for i in 0..400_000u64 {
            let (t, _) = q.pop().expect("pending");
            q.push(t + 1_000_000 + rng.below(9_000_001), i);
            if i % 50_000 == 0 {
                let stored: usize = q.buckets.iter().map(Bucket::len).sum();
                assert_eq!(stored, q.len());
            }
        }
        let entries = q.allocated_bytes() / EventQueue::<u64>::entry_bytes();
        // Every pending entry, at most one partly filled chunk per bucket, and the chunks a
        // redistribution has in hand.
        let bound = pending as usize + 2 * BUCKETS * CHUNK;
        assert!(
            entries <= bound,
            "{entries} entries of storage for {pending} pending"
        );
    }

    #[test]
    fn switching_between_flat_and_bucket_layouts_keeps_the_order() {
        // Grow well past the flat vector's limit and drain back below the switch-back point,
        // several times, with pops in between, against the model.
        let mut rng = XorShift::new(77);
        let mut q: EventQueue<u64> = EventQueue::new();
        let mut model = Model::default();
        let mut id = 0;
        let mut switches = 0;
        let mut was_radix = q.radix;
        for round in 0..6u64 {
            let target = [60usize, 200, 50, 2_000, 9, 600][round as usize];
            while q.len() < target {
                let t = draw_time(&mut rng, model.last, round % 4);
                q.push(t, id);
                model.push(t, id);
                id += 1;
                if rng.below(3) == 0 {
                    assert_eq!(q.pop(), model.pop(), "round {round}");
                }
                switches += usize::from(q.radix != was_radix);
                was_radix = q.radix;
            }
            while q.len() > 2 {
                assert_eq!(q.peek_time(), model.peek_time(), "round {round}");
                assert_eq!(q.pop(), model.pop(), "round {round}");
                switches += usize::from(q.radix != was_radix);
                was_radix = q.radix;
            }
        }
        assert!(switches >= 8, "only {switches} layout switches");
        while let Some(x) = model.pop() {
            assert_eq!(q.pop(), Some(x));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn pop_until_stops_at_the_limit_without_removing() {
        for n in [3u64, 100] {
            let mut q = EventQueue::new();
            assert_eq!(q.pop_with_seq_until(u64::MAX), Err(false), "empty");
            for i in 0..n {
                q.push(10 + i, i);
            }
            assert_eq!(q.pop_with_seq_until(9), Err(true));
            assert_eq!(q.len() as u64, n, "nothing removed");
            assert_eq!(q.pop_with_seq_until(10), Ok((10, 0, 0)));
            assert_eq!(q.pop_with_seq_until(10), Err(true));
            for i in 1..n {
                assert_eq!(q.pop_with_seq_until(u64::MAX), Ok((10 + i, i, i)));
            }
            assert_eq!(q.pop_with_seq_until(u64::MAX), Err(false));
        }
    }

    #[test]
    fn entry_is_compact() {
        assert!(std::mem::size_of::<Entry<[u8; 12]>>() <= 32);
        assert!(std::mem::size_of::<Entry<(u32, u32, u32)>>() <= 32);
        assert!(std::mem::size_of::<Entry<u32>>() <= 24);
    }
}
