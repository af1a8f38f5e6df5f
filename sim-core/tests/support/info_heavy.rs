//! A generator of single-register histories in which many writes have an unknown outcome
//! (Jepsen `info`): the shape that used to make the checker run for minutes. Shared by the
//! regression tests (`tests/info_heavy.rs`) and the benchmark (`benches/histories.rs`).

use sim_core::lin::{Operation, RegisterOp};

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Seeds the generator; the same spec always gives the same history.
    pub seed: u64,
    /// Concurrent client slots. A client whose write times out is replaced by a new one (as
    /// Jepsen gives it a new process), so the number of unknown-outcome writes in flight grows
    /// without bound.
    pub clients: usize,
    /// Operations in all.
    pub ops: usize,
    /// Per mille of writes whose outcome is unknown.
    pub info_per_mille: u64,
    /// Per mille of unknown-outcome writes that did take effect (within their own interval);
    /// later reads may have seen them.
    pub effect_per_mille: u64,
    /// If set, the read at this per mille of the history returns a value that the register
    /// held only before a write that completed before the read began: not linearizable.
    pub stale_read_at_per_mille: Option<u64>,
}

/// SplitMix64: a tiny deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A history of `spec.ops` operations on one register that starts empty: reads and writes of
/// unique values by `spec.clients` concurrent clients, every read returning the value of an
/// actual sequential execution (so the history is linearizable unless a stale read is asked
/// for).
pub fn generate(spec: Spec) -> Vec<Operation<RegisterOp, Option<i64>>> {
    let mut rng = Rng(spec.seed);
    let mut free_at = vec![0u64; spec.clients.max(1)];
    let mut next_client = free_at.len() as u64;
    let mut client_of: Vec<u64> = (0..free_at.len() as u64).collect();
    let mut ops = Vec::with_capacity(spec.ops);
    // (linearization point, op index) of every operation that took effect.
    let mut effects: Vec<(u64, usize)> = Vec::new();
    let mut value = 0i64;
    for i in 0..spec.ops {
        let slot = (0..free_at.len())
            .min_by_key(|&s| (free_at[s], s))
            .unwrap_or(0);
        let call = free_at[slot] + rng.below(3);
        let dur = 1 + rng.below(30);
        let at = call + rng.below(dur + 1);
        let is_write = rng.below(2) == 0;
        let mut ret = Some(call + dur);
        let input = if is_write {
            value += 1;
            RegisterOp::Write(value)
        } else {
            RegisterOp::Read
        };
        let mut took_effect = true;
        if is_write && rng.below(1000) < spec.info_per_mille {
            ret = None;
            took_effect = rng.below(1000) < spec.effect_per_mille;
        }
        ops.push(Operation {
            client: client_of[slot],
            call,
            ret,
            input,
            output: None,
        });
        if took_effect {
            effects.push((at, i));
        }
        free_at[slot] = call + dur + 1;
        if ret.is_none() {
            client_of[slot] = next_client;
            next_client += 1;
        }
    }
    effects.sort_unstable();
    let mut state = None;
    for &(_, i) in &effects {
        match ops[i].input {
            RegisterOp::Write(v) => state = Some(v),
            RegisterOp::Read => ops[i].output = state,
            RegisterOp::Cas { .. } => {}
        }
    }
    if let Some(per_mille) = spec.stale_read_at_per_mille {
        let target = spec.ops * per_mille as usize / 1000;
        // The first read from there on that began after two completed writes w1 < w2 (w1
        // returned before w2 began, w2 returned before the read began) returns w1's value.
        let reads = (target..ops.len()).filter(|&i| ops[i].input == RegisterOp::Read);
        'reads: for r in reads {
            let call = ops[r].call;
            let done: Vec<usize> = (0..r)
                .filter(|&i| {
                    matches!(ops[i].input, RegisterOp::Write(_))
                        && ops[i].ret.is_some_and(|t| t < call)
                })
                .collect();
            for &w2 in done.iter().rev() {
                let Some(&w1) = done
                    .iter()
                    .rev()
                    .find(|&&w1| ops[w1].ret.is_some_and(|t| t < ops[w2].call))
                else {
                    continue;
                };
                if let RegisterOp::Write(v) = ops[w1].input {
                    ops[r].output = Some(v);
                    break 'reads;
                }
            }
        }
    }
    ops
}
