//! The lock validator over the machine's real paths, and zone->lock in
//! simulated time (kernel/locking/lockdep.c, lockdep_proc.c; the seeds
//! ../shared/seeds/002 and 003 for the variants).

mod common;

use common::{cat, gpu};
use numasim::engine::gpu::GpuBackend;
use numasim::kernel::boot::boot_buffers;
use numasim::kernel::lockdep::order::documented_before;
use numasim::kernel::lockdep::ReportKind;
use numasim::kernel::path::LockClass;
use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;
use numasim::procfs::{self, shell::exec_line};

fn small() -> Machine {
    Machine::boot(Scenario::load("small").unwrap(), None).unwrap()
}

fn run(m: &mut Machine, script: &str) {
    for line in script.lines() {
        exec_line(m, line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
}

/// Every path kind the machine has: resizes with HVO, reservations,
/// faults, migration, unmap, hotplug, watermark writes, task start and
/// stop, NUMA hint faults (base and THP, in both restore orders).
const EVERY_PATH: &str = "\
echo 1 > /proc/sys/kernel/numa_balancing
echo 1 > /sys/kernel/debug/numasim/variants/numa_restore_first
echo 0 > /sys/kernel/debug/numasim/variants/numa_restore_first
echo 1 > /proc/sys/vm/hugetlb_optimize_vmemmap
echo 4 > /sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages
echo 4 > /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages
spawn x cpu=0 workload=mixed
map heap task=x pages=2 private
map shm task=x pages=2 shared
touch heap
touch shm
tick 1500
migrate x 1
unmap heap
unmap shm
echo 0 > /proc/sys/vm/nr_hugepages
echo 50 > /proc/sys/vm/watermark_scale_factor
stop x
tick 10
";

#[test]
fn the_default_kernel_is_clean_and_keeps_the_documented_order() {
    let mut m = small();
    run(&mut m, EVERY_PATH);
    assert!(
        m.lockdep.reports.is_empty(),
        "{}",
        m.lockdep
            .reports
            .iter()
            .map(|r| r.text.clone())
            .collect::<String>()
    );
    assert!(m.lockdep.debug_locks);
    assert!(cat(&mut m, "/dev/kmsg").is_empty());
    // The graph came from the paths: the hugetlb fault's order, the
    // migration's rmap walk, the resize's mutex before hugetlb_lock.
    let has = |a: LockClass, b: LockClass| m.lockdep.edges.contains_key(&((a, 0), (b, 0)));
    assert!(has(LockClass::MmapLock, LockClass::HugetlbFaultMutex));
    assert!(has(LockClass::HugetlbFaultMutex, LockClass::HugetlbLock));
    assert!(has(LockClass::HugetlbFaultMutex, LockClass::HugetlbVmaLock));
    assert!(has(LockClass::HugetlbResizeLock, LockClass::HugetlbLock));
    assert!(has(LockClass::FolioLock, LockClass::AnonVmaRwsem));
    assert!(has(LockClass::AnonVmaRwsem, LockClass::PtlPte));
    // The THP hint fault's page-table lock under mmap_lock, its isolation
    // under the LRU lock, its target's zone->lock before the folio locks.
    assert!(has(LockClass::MmapLock, LockClass::PtlPmd));
    assert!(has(LockClass::AnonVmaRwsem, LockClass::PtlPmd));
    // Every recorded dependency agrees with mm/rmap.c and mm/filemap.c.
    for &((a, _), (b, _)) in m.lockdep.edges.keys() {
        assert!(
            documented_before(b, a).is_none(),
            "{} taken under {}, against {}",
            b.name(),
            a.name(),
            documented_before(b, a).unwrap()
        );
    }
    // The shared mapping's i_mmap_rwsem was only tried under the folio
    // lock (hugetlb_folio_mapping_lock_write), so it orders nothing.
    assert!(!has(LockClass::FolioLock, LockClass::HugetlbfsIMmapRwsem));
    let l = cat(&mut m, "/proc/lockdep");
    assert!(l.contains(": &h->resize_lock\n"));
    assert!(l.contains("] hugetlb_lock\n"));
    assert!(cat(&mut m, "/proc/lockdep_stats")
        .ends_with(" debug_locks:                             1\n"));
}

#[test]
fn the_vmemmap_variant_is_a_sleep_under_hugetlb_lock() {
    let mut m = small();
    run(
        &mut m,
        "echo 1 > /proc/sys/vm/hugetlb_optimize_vmemmap\n\
         echo 1 > /sys/kernel/debug/numasim/variants/vmemmap_alloc_under_hugetlb_lock\n\
         echo 4 > /proc/sys/vm/nr_hugepages",
    );
    assert!(m.lockdep.reports.is_empty(), "growing restores no vmemmap");
    run(&mut m, "echo 0 > /proc/sys/vm/nr_hugepages");
    assert_eq!(
        m.lockdep.reports.len(),
        1,
        "once: __might_resched() rate limit"
    );
    let r = &m.lockdep.reports[0];
    assert_eq!(r.kind, ReportKind::SleepInAtomic);
    assert_eq!(r.classes, vec![LockClass::HugetlbLock]);
    assert_eq!(r.paths, vec!["set_max_huge_pages"]);
    let d = exec_line(&mut m, "dmesg").unwrap();
    assert!(d.contains(
        "] BUG: sleeping function called from invalid context at alloc_vmemmap_page_list\n"
    ));
    assert!(d.contains("] in_atomic(): 1, irqs_disabled(): 1, non_block: 0, pid: 1, name: sh\n"));
    assert!(d.contains("(hugetlb_lock){....}-{3:3}, at: set_max_huge_pages+0x"));
    // /dev/kmsg: level 3 (KERN_ERR), sequence, microseconds.
    let k = cat(&mut m, "/dev/kmsg");
    assert!(
        k.starts_with("3,0,0,-;BUG: sleeping function called"),
        "{k}"
    );
    exec_line(&mut m, "dmesg -C").unwrap();
    assert_eq!(exec_line(&mut m, "dmesg").unwrap(), "");
}

#[test]
fn the_deferred_target_variant_locks_a_folio_under_a_folio() {
    let setup = "\
echo 4 > /sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages
echo 4 > /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages
spawn x cpu=0 workload=mixed
map heap task=x pages=2 private
touch heap
tick 1500
";
    // Mainline: the target first, then the source's lock. Clean.
    let mut m = small();
    run(&mut m, setup);
    run(&mut m, "migrate x 1");
    assert!(m.lockdep.reports.is_empty());
    // The 2020 RFC's order: the source locked, then the target allocated;
    // node 1 is below its low watermark, so the allocation reclaims, and
    // reclaim's migration locks another folio.
    let mut m = small();
    run(&mut m, setup);
    run(
        &mut m,
        "echo 1 > /sys/kernel/debug/numasim/variants/migrate_target_under_folio_lock\nmigrate x 1",
    );
    assert_eq!(m.lockdep.reports.len(), 1);
    let r = &m.lockdep.reports[0];
    assert_eq!(r.kind, ReportKind::Recursive);
    assert_eq!(r.classes, vec![LockClass::FolioLock]);
    assert_eq!(r.paths, vec!["migrate_pages"]);
    assert!(r
        .text
        .contains("WARNING: possible recursive locking detected"));
    assert!(r.text.contains("x/104 is trying to acquire lock:"));
    assert!(r.text.contains(" #1: ") && r.text.contains("(fs_reclaim)"));
    assert!(r
        .text
        .contains("       CPU0\n       ----\n  lock(PG_locked);\n  lock(PG_locked);\n"));
    // lockdep turned itself off, as after any splat.
    assert!(!m.lockdep.debug_locks);
    assert!(cat(&mut m, "/proc/lock_stat")
        .contains("*WARNING* lock debugging disabled!! - possibly due to a lockdep warning\n"));
    assert!(cat(&mut m, "/proc/lockdep_stats")
        .ends_with(" debug_locks:                             0\n"));
}

#[test]
fn lock_stat_counts_zone_lock_waits_and_clears_on_zero() {
    let mut m = Machine::boot(Scenario::load("default").unwrap(), None).unwrap();
    m.advance(300).unwrap();
    let f = cat(&mut m, "/proc/lock_stat");
    let lines: Vec<&str> = f.lines().collect();
    assert_eq!(lines[0], "lock_stat version 0.4");
    assert_eq!(lines[1], "-".repeat(221));
    let zl = lines
        .iter()
        .find(|l| l.starts_with(&format!("{:>40}:", "&zone->lock")))
        .expect("a zone->lock line");
    let cols: Vec<&str> = zl.split_whitespace().collect();
    // name, con-bounces, contentions, wait min/max/total/avg, acq-bounces,
    // acquisitions, hold min/max/total/avg.
    assert_eq!(cols.len(), 13, "{zl}");
    let contentions: u64 = cols[2].parse().unwrap();
    let acquisitions: u64 = cols[8].parse().unwrap();
    assert!(contentions > 0 && contentions < acquisitions, "{zl}");
    assert!(f.contains("] rmqueue_bulk\n"));
    // The per-zone split adds up to the class line.
    let zones = m.zone_lock_stats().unwrap();
    let sum: u64 = zones.iter().flatten().map(|s| s.write_hold.nr).sum();
    let paths = m
        .lockdep
        .stats
        .per
        .get(&(LockClass::ZoneLock, 0))
        .map(|s| s.write_hold.nr)
        .unwrap_or(0);
    assert_eq!(sum + paths, acquisitions);
    // echo 0 clears every class at once; the tick's counts start again.
    procfs::write(&mut m, "/proc/lock_stat", "0").unwrap();
    assert!(!cat(&mut m, "/proc/lock_stat").contains("&zone->lock:"));
    m.advance(5).unwrap();
    let after: u64 = m
        .zone_lock_stats()
        .unwrap()
        .iter()
        .flatten()
        .map(|s| s.write_hold.nr)
        .sum();
    assert!(
        after > 0 && after < sum,
        "{after} after the clear, {sum} before"
    );
    // Any other value is accepted and ignored (lock_stat_write()).
    procfs::write(&mut m, "/proc/lock_stat", "1").unwrap();
    assert!(cat(&mut m, "/proc/lock_stat").contains("&zone->lock:"));
}

#[test]
fn more_allocations_per_cpu_mean_more_zone_lock_contention() {
    let contended = |scale: f64| {
        let mut s = Scenario::load("small").unwrap();
        for t in &mut s.tasks {
            t.scale *= scale;
        }
        let mut m = Machine::boot(s, None).unwrap();
        m.advance(200).unwrap();
        let z = m.zone_lock_stats().unwrap();
        let acq: u64 = z.iter().flatten().map(|s| s.write_hold.nr).sum();
        let con: u64 = z.iter().flatten().map(|s| s.write_wait.nr).sum();
        (acq, con)
    };
    let (a1, c1) = contended(1.0);
    let (a8, c8) = contended(8.0);
    assert!(a8 > 4 * a1, "acquisitions {a1} -> {a8}");
    assert!(
        c8 * a1 > c1 * a8,
        "the contended fraction grows: {c1}/{a1} -> {c8}/{a8}"
    );
}

#[test]
fn zone_lock_figures_are_the_same_on_both_backends() {
    let Some(ctx) = gpu() else { return };
    let s = Scenario::load("small").unwrap();
    let mut cpu = Machine::boot(s.clone(), None).unwrap();
    let g = GpuBackend::new(ctx, boot_buffers(&s, s.seed)).unwrap();
    let mut gpu = Machine::with_backend(s.clone(), s.seed, Box::new(g)).unwrap();
    for m in [&mut cpu, &mut gpu] {
        m.advance(150).unwrap();
        procfs::write(m, "/proc/lock_stat", "0").unwrap();
        m.advance(100).unwrap();
    }
    let a = cpu.zone_lock_stats().unwrap();
    let b = gpu.zone_lock_stats().unwrap();
    assert_eq!(a, b);
    assert!(a.iter().flatten().any(|s| s.write_wait.nr > 0), "{a:?}");
    assert_eq!(
        cat(&mut cpu, "/proc/lock_stat"),
        cat(&mut gpu, "/proc/lock_stat")
    );
}

#[test]
fn lockdep_files_refuse_writes_and_variants_take_kstrtobool() {
    let mut m = small();
    for f in [
        "/proc/lockdep",
        "/proc/lockdep_chains",
        "/proc/lockdep_stats",
    ] {
        let e = procfs::write(&mut m, f, "1").unwrap_err();
        assert_eq!(e.errno, procfs::Errno::EACCES, "{f}");
    }
    let v = "/sys/kernel/debug/numasim/variants/migrate_target_under_folio_lock";
    let e = procfs::write(&mut m, v, "maybe").unwrap_err();
    assert_eq!(e.errno, procfs::Errno::EINVAL);
    assert!(e.to_string().contains("`maybe`"));
    assert_eq!(cat(&mut m, v), "0\n");
    procfs::write(&mut m, v, "on").unwrap();
    assert_eq!(cat(&mut m, v), "1\n");
    procfs::write(&mut m, v, "N").unwrap();
    assert_eq!(cat(&mut m, v), "0\n");
    let ls = procfs::list_dir(&m, "/sys/kernel/debug/numasim/variants").unwrap();
    assert!(ls.contains(&"vmemmap_alloc_under_hugetlb_lock".to_string()));
}

#[test]
fn a_lock_cost_out_of_range_is_refused_with_its_name() {
    let src = format!(
        "{}\n[locks]\nzone_lock_page_ns = 5000000\n",
        common::ONE_BLOCK
    );
    let e = Scenario::parse(&src, "costs.toml").unwrap_err().to_string();
    assert!(
        e.contains("[locks] zone_lock_page_ns = 5000000: expected 0..=1000000"),
        "{e}"
    );
    let src = format!("{}\n[locks]\nzone_lock_pages_ns = 5\n", common::ONE_BLOCK);
    let e = Scenario::parse(&src, "costs.toml").unwrap_err().to_string();
    assert!(e.contains("zone_lock_pages_ns"), "{e}");
    let src = format!("{}\n[locks]\nzone_lock_base_ns = 0\n", common::ONE_BLOCK);
    let s = Scenario::parse(&src, "costs.toml").unwrap();
    assert_eq!(s.locks.zone_lock_base_ns, 0);
}

#[test]
fn the_lock_model_invariants_hold_and_can_fail() {
    use numasim::engine::types::{LS_CON, TZ_PCP_COUNT};
    use numasim::kernel::lockdep::zone_lock::check;
    let mut m = small();
    m.advance(300).unwrap();
    m.check().unwrap();
    let b = m.buffers().unwrap().clone();
    check(&b).unwrap();
    // More contentions than acquisitions.
    let mut bad = b.clone();
    bad.lock_stats[LS_CON] = u32::MAX;
    bad.lock_stats[LS_CON + 1] = u32::MAX;
    assert_eq!(check(&bad).unwrap_err().0, "zone_lock_stats");
    // A per-CPU list far above pcp->high.
    let mut bad = b.clone();
    bad.task_zone[TZ_PCP_COUNT] = 1 << 30;
    let (name, detail) = check(&bad).unwrap_err();
    assert_eq!(name, "pcp_count");
    assert!(detail.contains("zone 0 agent 0"), "{detail}");
}

/// `setup_per_zone_wmarks()` updates `pcp->high` at once
/// (`zone_pcp_update()`), but a list above a lowered high only drains at
/// its next free: between the write and the next tick it may stand above
/// the new high. (Found by tests/properties.rs.)
#[test]
fn a_lowered_pcp_high_drains_at_the_next_tick() {
    let src = r#"
distances = [[10, 20], [20, 10]]
[[nodes]]
memory_mib = 48
cpus = 2
[[nodes]]
memory_mib = 32
cpus = 1
"#;
    let mut m = Machine::boot(Scenario::parse(src, "pcp.toml").unwrap(), Some(140)).unwrap();
    run(
        &mut m,
        "spawn t1 cpu=0 workload=thp policy=bind:1 scale=0.08\n\
         echo 2138 > /proc/sys/vm/watermark_scale_factor\n\
         tick 29\n\
         stop t1\n\
         tick 1",
    );
    let high_before = m.config().lock_cfg[numasim::engine::types::LC_ZONE + 1];
    run(&mut m, "echo 1 > /proc/sys/vm/watermark_scale_factor");
    let high_after = m.config().lock_cfg[numasim::engine::types::LC_ZONE + 1];
    assert!(high_after < high_before, "{high_before} -> {high_after}");
    m.check().unwrap();
    run(&mut m, "tick 1");
    m.check().unwrap();
}
