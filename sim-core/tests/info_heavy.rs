//! Histories in which many writes have an unknown outcome (Jepsen `info`): the checker used to
//! spend minutes on them, its step budget notwithstanding. Each test asserts on verdicts and
//! step counts, never on time.

mod support;

use sim_core::lin::{self, CheckOptions, Model, Operation, Register, RegisterOp, Verdict};
use support::info_heavy::{Spec, generate};

/// 2,000 operations by 10 clients; 40% of the writes time out, half of those take effect.
fn spec(seed: u64, stale_read_at_per_mille: Option<u64>) -> Spec {
    Spec {
        seed,
        clients: 10,
        ops: 2_000,
        info_per_mille: 400,
        effect_per_mille: 500,
        stale_read_at_per_mille,
    }
}

/// A register that does not tell the checker which writes nobody observed
/// ([`Model::unobservable`]), so that every unknown-outcome write reaches the search.
struct OpaqueRegister;

impl Model for OpaqueRegister {
    type State = Option<i64>;
    type Input = RegisterOp;
    type Output = Option<i64>;

    fn init(&self) -> Option<i64> {
        None
    }

    fn step(
        &self,
        state: &Option<i64>,
        input: &RegisterOp,
        output: Option<&Option<i64>>,
    ) -> Option<Option<i64>> {
        Register::default().step(state, input, output)
    }

    fn is_read_only(&self, input: &RegisterOp) -> bool {
        *input == RegisterOp::Read
    }

    fn describe_operation(&self, input: &RegisterOp, output: Option<&Option<i64>>) -> String {
        Register::default().describe_operation(input, output)
    }

    fn describe_state(&self, state: &Option<i64>) -> String {
        Register::default().describe_state(state)
    }
}

fn unknown_writes(ops: &[Operation<RegisterOp, Option<i64>>]) -> usize {
    ops.iter().filter(|o| o.ret.is_none()).count()
}

#[test]
fn many_unknown_writes_linearizable() {
    for seed in [1, 2, 3] {
        let ops = generate(spec(seed, None));
        assert!(
            unknown_writes(&ops) > 300,
            "seed {seed}: an info-heavy history"
        );
        for explain in [false, true] {
            let options = CheckOptions {
                explain,
                ..CheckOptions::default()
            };
            let r = lin::check(&Register::default(), &ops, &options);
            assert_eq!(r.verdict, Verdict::Linearizable, "seed {seed}");
            // The checker used to give up (unknown) after 5,000,000 steps here.
            assert!(r.steps() < 400_000, "seed {seed}: {} steps", r.steps());
            // Every completed operation is placed; unknown writes only where needed.
            let placed = r.partitions[0].linearization.len();
            let completed = ops.iter().filter(|o| o.ret.is_some()).count();
            assert!(placed >= completed && placed < ops.len(), "seed {seed}");
        }
    }
}

#[test]
fn many_unknown_writes_with_a_stale_read() {
    for seed in [1, 2, 3] {
        let ops = generate(spec(seed, Some(900)));
        let r = lin::check(&Register::default(), &ops, &CheckOptions::default());
        assert_eq!(r.verdict, Verdict::NotLinearizable, "seed {seed}");
        assert!(r.steps() < 2_000_000, "seed {seed}: {} steps", r.steps());
        let cx = r.partitions[0].counterexample.as_ref().expect("explained");
        // The stale read, and the completed write that overwrote what it read before it began.
        assert!(cx.minimal, "seed {seed}");
        assert_eq!(cx.conflict.len(), 2, "seed {seed}: {:?}", cx.conflict);
        assert!(cx.conflict.contains(&cx.op));
        assert_eq!(ops[cx.op].input, RegisterOp::Read);
        // The explanation keeps to its own budget: too small a one leaves the set unproven.
        let options = CheckOptions {
            max_explain_steps: 1_000,
            ..CheckOptions::default()
        };
        let r = lin::check(&Register::default(), &ops, &options);
        assert_eq!(r.verdict, Verdict::NotLinearizable, "seed {seed}");
        let cx = r.partitions[0].counterexample.as_ref().expect("explained");
        assert!(!cx.minimal, "seed {seed}");
    }
}

#[test]
fn unknown_writes_need_no_help_from_the_model() {
    // Without `unobservable`, the search itself places an unknown write only right before an
    // operation that needs it. That costs more steps, each unknown write being tried in every
    // configuration, but smaller histories are still decided.
    for seed in [1, 2, 3] {
        let small = Spec {
            ops: 300,
            ..spec(seed, None)
        };
        let r = lin::check(&OpaqueRegister, &generate(small), &CheckOptions::default());
        assert_eq!(r.verdict, Verdict::Linearizable, "seed {seed}");
        assert!(r.steps() < 3_000_000, "seed {seed}: {} steps", r.steps());
        let stale = Spec {
            stale_read_at_per_mille: Some(500),
            ..small
        };
        let r = lin::check(&OpaqueRegister, &generate(stale), &CheckOptions::default());
        assert_eq!(r.verdict, Verdict::NotLinearizable, "seed {seed}");
        assert!(r.steps() < 3_000_000, "seed {seed}: {} steps", r.steps());
    }
}

#[test]
fn the_budget_bounds_every_search() {
    // Many more clients: too hard to decide in a small budget. The search stops at the budget
    // with `unknown`, never a guessed verdict.
    let ops = generate(Spec {
        clients: 60,
        ops: 5_000,
        ..spec(4, Some(900))
    });
    for all_partitions in [false, true] {
        let options = CheckOptions {
            max_steps: 20_000,
            all_partitions,
            ..CheckOptions::default()
        };
        let r = lin::check(&Register::default(), &ops, &options);
        assert_eq!(r.verdict, Verdict::Unknown);
        assert!(r.steps() <= 20_000, "{} steps", r.steps());
    }
}
