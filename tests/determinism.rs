//! Same seed, same state: run twice, and on different thread counts.

use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;

fn digest(
    name: &str,
    seed: Option<u64>,
    threads: usize,
    ticks: u64,
) -> (u64, Vec<[u64; numasim::engine::types::NR_ZONE_STATS]>) {
    let mut m = Machine::boot_with_threads(Scenario::load(name).unwrap(), seed, threads).unwrap();
    m.run(ticks, |_| {}).unwrap();
    (m.digest().unwrap(), m.totals.clone())
}

#[test]
fn same_seed_same_digest_on_any_thread_count() {
    let (a, ta) = digest("small", None, 1, 600);
    let (b, tb) = digest("small", None, 2, 600);
    let (c, tc) = digest("small", None, 4, 600);
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(ta, tb);
    assert_eq!(ta, tc);
    let (d, _) = digest("small", None, 3, 600);
    assert_eq!(a, d, "run again");
}

#[test]
fn different_seed_different_digest() {
    let (a, _) = digest("small", Some(1), 2, 200);
    let (b, _) = digest("small", Some(2), 2, 200);
    assert_ne!(a, b);
}

#[test]
fn stress_scenario_is_deterministic_too() {
    let (a, _) = digest("stress-frag", None, 1, 800);
    let (b, _) = digest("stress-frag", None, 4, 800);
    assert_eq!(a, b);
}

#[test]
fn the_binary_prints_the_same_digest_twice() {
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_numasim"))
            .args(["run", "small", "--ticks", "150", "--quiet"])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let a = run();
    assert!(a.starts_with("digest ") && a.trim().len() == 7 + 16, "{a}");
    assert_eq!(a, run());
    let (d, _) = digest("small", None, 2, 150);
    assert_eq!(a.trim(), format!("digest {d:016x}"));
}
