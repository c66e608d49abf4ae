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
