//! `numasim bench --numa`: what a NUMA hint fault's PTE/PMD restore order
//! costs in TLB shootdowns (../shared/seeds/004). The scenario (default
//! `thp-numa-fault`) runs from the same seed once per restore order
//! (merged lazy, restore first, legacy THP): first with its first task's
//! threads as the scenario places them, then with 1, 4 and 32 threads
//! that start on the first 16 CPUs (node 0 on the preset), build the heap
//! there, and move to CPUs 16-31 (node 1) a quarter into the run, so the
//! heap follows them. The orders change no decision, only the flushes, so
//! the same pages migrate in every run and the differences are exactly
//! the flushes of each kind.
//! Printed per thread count: pages and THPs migrated, IPIs
//! (`nr_tlb_remote_flush_received`) per order, IPIs per migrated base page
//! and per THP, and the share of IPIs the lazy order saves.

use super::load;
use anyhow::{Context, Result};
use numasim::kernel::numa::tlb::RestoreOrder;
use numasim::kernel::Machine;
use numasim::procfs::{read, write};

const KEYS: [&str; 6] = [
    "numa_pages_migrated",
    "thp_migration_success",
    "nr_tlb_remote_flush",
    "nr_tlb_remote_flush_received",
    "nr_tlb_local_flush_one",
    "nr_tlb_local_flush_all",
];

#[derive(serde::Serialize)]
struct Row {
    threads: usize,
    cpus: u32,
    order: &'static str,
    numa_pages_migrated: u64,
    thp_migration_success: u64,
    nr_tlb_remote_flush: u64,
    nr_tlb_remote_flush_received: u64,
    nr_tlb_local_flush_one: u64,
    nr_tlb_local_flush_all: u64,
    wall_s: f64,
}

pub fn cmd_bench_numa(
    scenarios: Vec<String>,
    ticks: Option<u64>,
    json: Option<std::path::PathBuf>,
) -> Result<()> {
    let name = scenarios
        .first()
        .cloned()
        .unwrap_or_else(|| "thp-numa-fault".into());
    let base = load(&name)?;
    let ticks = ticks.unwrap_or(base.default_ticks);
    let Some(first) = base.tasks.first() else {
        anyhow::bail!("{name}: no task to give threads to");
    };
    let cpus = base.topology.nr_cpus();
    println!(
        "{name}: {ticks} ticks per run, CPU reference; task `{}`: its threads as the scenario has them, then 1, 4 and 32 threads on CPUs 0-15 moved to CPUs 16-31 at tick {}",
        first.name,
        ticks / 4
    );
    println!(
        "{:>7} {:>5} {:<20} {:>12} {:>6} {:>12} {:>14} {:>14} {:>9}",
        "threads",
        "cpus",
        "order",
        "pages migr.",
        "THPs",
        "shootdowns",
        "IPIs received",
        "local flushes",
        "wall s"
    );
    let mut rows = Vec::new();
    for threads in [0usize, 1, 4, 32] {
        let mut s = base.clone();
        let t = &mut s.tasks[0];
        let mut n = t
            .numa
            .clone()
            .unwrap_or_else(|| numasim::kernel::TaskNuma::single(t.cpu));
        if threads > 0 {
            // Thread 0 on the task's CPU, the others after it on the
            // first 16 CPUs; all moved 16 CPUs up.
            n.thread_cpus = (0..threads as u32)
                .map(|k| (t.cpu + k) % 16.min(cpus))
                .collect();
            let moved: Vec<u32> = n
                .thread_cpus
                .iter()
                .map(|&c| (c + 16).min(cpus - 1))
                .collect();
            t.cpu = n.thread_cpus[0];
            t.moves = vec![(ticks / 4, moved)];
        }
        let distinct = n.nr_cpus();
        let threads = n.thread_cpus.len();
        t.numa = Some(n);
        let mut got = Vec::new();
        for order in RestoreOrder::ALL {
            let t0 = std::time::Instant::now();
            let mut m = Machine::boot(s.clone(), None)?;
            if order != RestoreOrder::Lazy {
                write(
                    &mut m,
                    &format!("/sys/kernel/debug/numasim/variants/{}", order.name()),
                    "1",
                )?;
            }
            m.advance(ticks)?;
            let vm = read(&mut m, "/proc/vmstat")?;
            let v: Vec<u64> = KEYS
                .iter()
                .map(|k| {
                    vm.lines()
                        .find_map(|l| l.strip_prefix(k)?.strip_prefix(' ')?.parse().ok())
                        .unwrap_or(0)
                })
                .collect();
            let wall = t0.elapsed().as_secs_f64();
            println!(
                "{threads:>7} {distinct:>5} {:<20} {:>12} {:>6} {:>12} {:>14} {:>14} {wall:>9.1}",
                order.name(),
                v[0],
                v[1],
                v[2],
                v[3],
                v[4]
            );
            rows.push(Row {
                threads,
                cpus: distinct,
                order: order.name(),
                numa_pages_migrated: v[0],
                thp_migration_success: v[1],
                nr_tlb_remote_flush: v[2],
                nr_tlb_remote_flush_received: v[3],
                nr_tlb_local_flush_one: v[4],
                nr_tlb_local_flush_all: v[5],
                wall_s: wall,
            });
            got.push(v);
        }
        let (lazy, first, legacy) = (&got[0], &got[1], &got[2]);
        let thps = lazy[1];
        let base_pages = lazy[0].saturating_sub(512 * thps);
        let per = |d: u64, n: u64| {
            if n == 0 {
                "-".to_string()
            } else {
                format!("{:.2}", d as f64 / n as f64)
            }
        };
        println!(
            "{threads:>7} threads: IPIs per migrated base page: restore first {} vs lazy 0; per migrated THP: {} in both, legacy 0; IPIs per migrated page: restore first {}, lazy {}: {:.1}% fewer",
            per(first[3].saturating_sub(lazy[3]), base_pages),
            per(first[3].saturating_sub(legacy[3]), thps),
            per(first[3], lazy[0]),
            per(lazy[3], lazy[0]),
            if first[3] == 0 {
                0.0
            } else {
                100.0 * (1.0 - lazy[3] as f64 / first[3] as f64)
            }
        );
    }
    if let Some(p) = json {
        std::fs::write(&p, serde_json::to_string_pretty(&rows)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
