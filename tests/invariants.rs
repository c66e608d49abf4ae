//! Long runs keep every invariant, on every preset small enough to check.

use numasim::engine::types::*;
use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;

fn run_checked(name: &str, ticks: u64, every: u64) -> Machine {
    let s = Scenario::load(name).unwrap();
    let mut m = Machine::boot(s, None).unwrap();
    m.check().unwrap();
    for t in 0..ticks {
        m.step().unwrap();
        if (t + 1) % every == 0 {
            m.check().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    m
}

#[test]
fn small_preset_keeps_invariants_through_pressure() {
    let m = run_checked("small", 2000, 1);
    // The run must have reached the interesting states: memory filled to
    // the watermarks, kswapd reclaimed, and allocations fell back to the
    // other node.
    assert!(
        m.total(ZS_PGSTEAL_KSWAPD, None) > 0,
        "kswapd reclaimed nothing"
    );
    assert!(
        m.total(ZS_NUMA_MISS, None) > 0,
        "nothing fell back across nodes"
    );
    assert!(m.total(ZS_PGFREE, None) > 0);
}

#[test]
fn stress_frag_exercises_fallback_and_claims() {
    let m = run_checked("stress-frag", 3000, 10);
    assert!(
        m.total(ZS_ALLOC_FALLBACK, None) + m.total(ZS_PAGEBLOCK_CLAIM, None) > 0,
        "no migratetype fallback happened"
    );
    assert!(
        m.total(ZS_PAGEBLOCK_CLAIM, None) > 0,
        "no pageblock was claimed"
    );
}
