#![allow(dead_code)]
use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;

/// One node of 8 MiB: one max-order block reserved (memmap), one free.
pub const ONE_BLOCK: &str = r#"
name = "one-block"
[[nodes]]
memory_mib = 8
cpus = 1
[[workloads]]
name = "one-page-per-tick"
classes = [ { class = "pinned", rate_per_s = 1000, lifetime_ms = 0 } ]
"#;

pub fn machine(src: &str) -> Machine {
    Machine::boot(Scenario::parse(src, "test.toml").unwrap(), None).unwrap()
}

pub fn cat(m: &mut Machine, path: &str) -> String {
    numasim::procfs::read(m, path).unwrap()
}

/// The value of `key` in a `key value` file (vmstat, numastat).
pub fn vmstat_value(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in\n{text}"))
}

/// The GPU to test on, or None after saying the test was skipped (past the
/// harness's capture, so a skip is never silent). Panics instead when
/// NUMASIM_REQUIRE_GPU=1, as CI sets it.
pub fn gpu() -> Option<numasim::engine::gpu::device::GpuContext> {
    match numasim::engine::gpu::device::open() {
        Ok(c) => Some(c),
        Err(e) => {
            if std::env::var("NUMASIM_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("NUMASIM_REQUIRE_GPU=1 but no GPU backend: {e}");
            }
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "SKIPPED: no GPU adapter ({e})");
            None
        }
    }
}

/// One node of 64 MiB that a task fills with pinned (unreclaimable) pages
/// until allocations fail: kswapd wakes, finds nothing to reclaim, and
/// after MAX_RECLAIM_RETRIES runs the node is unreclaimable.
pub const PINNED_FILL: &str = r#"
name = "pinned-fill"
[[nodes]]
memory_mib = 64
cpus = 1
[[workloads]]
name = "pin"
classes = [ { class = "pinned", rate_per_s = 40000, lifetime_ms = 0 } ]
[[tasks]]
name = "p"
cpu = 0
workload = "pin"
"#;
