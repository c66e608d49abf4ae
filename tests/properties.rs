//! Property tests: random sequences of commands keep every invariant.

use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;
use numasim::procfs::shell::exec_line;
use proptest::prelude::*;

/// Three small nodes at unequal distances, ZONE_DMA32 and ZONE_MOVABLE on
/// node 0, so zone fallback, lowmem reserves and the movable zone all play.
const MACHINE: &str = r#"
distances = [[10, 20, 30], [20, 10, 20], [30, 20, 10]]
[[nodes]]
memory_mib = 48
cpus = 2
dma32_mib = 16
movable_mib = 8
[[nodes]]
memory_mib = 32
cpus = 1
[[nodes]]
memory_mib = 24
cpus = 0
[vm]
kswapd_mib_per_s = 256
"#;

fn command() -> impl Strategy<Value = String> {
    let workload = prop::sample::select(vec!["mixed", "fileserver", "thp", "kernel", "idle"]);
    let policy = prop::sample::select(vec![
        "local",
        "bind:0",
        "bind:1-2",
        "preferred:2",
        "interleave:0-2",
        "weighted:0,2",
    ]);
    prop_oneof![
        4 => (1u32..40).prop_map(|n| format!("tick {n}")),
        2 => (0u32..6, 0u32..3, workload, policy, 1u32..20).prop_map(|(id, cpu, w, p, s)| {
            format!("spawn t{id} cpu={cpu} workload={w} policy={p} scale={}", s as f64 / 100.0)
        }),
        1 => (0u32..6).prop_map(|id| format!("stop t{id}")),
        1 => (1u32..3000).prop_map(|v| format!("echo {v} > /proc/sys/vm/watermark_scale_factor")),
        1 => (128u32..20000).prop_map(|v| format!("echo {v} > /proc/sys/vm/min_free_kbytes")),
        1 => (0u32..3, 0u32..8).prop_map(|(n, w)| format!("echo {w} > /sys/kernel/mm/mempolicy/weighted_interleave/node{n}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_command_sequences_keep_every_invariant(seed in 0u64..1000, cmds in prop::collection::vec(command(), 1..25)) {
        let mut m = Machine::boot(Scenario::parse(MACHINE, "prop.toml").unwrap(), Some(seed)).unwrap();
        for c in &cmds {
            // Spawning a name that runs, or stopping one that does not, is
            // refused; that is part of the sequence too.
            let _ = exec_line(&mut m, c);
            if let Err(v) = m.check() {
                prop_assert!(false, "after `{}` in {:?}: {}", c, cmds, v);
            }
        }
    }
}
