//! NUMA balancing's control surface against Debian's 6.1
//! (linux-image-6.1.0-57-amd64, 6.1.192) booted in a 2-node QEMU guest
//! with ../shared/realkernel: every value below was written there with
//! one write() of the value and "\n" (what `echo` writes), and the file
//! read back. numasim must accept what 6.1 accepts, store what 6.1
//! stores, refuse with 6.1's errno and keep the old value on a refusal.

use numasim::procfs::{read, write, Errno};

mod common;

const SYSCTL: &str = "/proc/sys/kernel/numa_balancing";
const DBG: &str = "/sys/kernel/debug/sched/numa_balancing/";

/// A two-node machine (as the guest was).
const TWO_NODES: &str = r#"
name = "two"
distances = [[10, 20], [20, 10]]
[[nodes]]
memory_mib = 64
cpus = 1
[[nodes]]
memory_mib = 64
cpus = 1
"#;

/// (written, Ok(read back) | Err(errno)), in the order the guest wrote
/// them.
const SYSCTL_SEEN: &[(&str, Result<u32, Errno>)] = &[
    ("0", Ok(0)),
    ("1", Ok(1)),
    ("2", Ok(2)),
    ("3", Ok(3)),
    ("4", Ok(4)),
    ("5", Err(Errno::EINVAL)),
    ("-1", Err(Errno::EINVAL)),
    ("-0", Ok(0)),
    ("0x1", Ok(1)),
    ("01", Ok(1)),
    ("08", Err(Errno::EINVAL)),
    ("1x", Err(Errno::EINVAL)),
    ("", Err(Errno::EINVAL)),
    (" 1", Ok(1)),
    ("1 7", Ok(1)),
    ("+1", Err(Errno::EINVAL)),
    ("0x+5", Err(Errno::EINVAL)),
    ("99999999999", Err(Errno::EINVAL)),
    ("1\t", Ok(1)),
    ("0x", Err(Errno::EINVAL)),
];

/// scan_delay_ms, as the guest wrote it. 6.1 also refuses " 5" (EINVAL:
/// kstrtoull skips no leading space); numasim trims every value it is
/// given, so it is left out here.
const DEBUGFS_SEEN: &[(&str, Result<u32, Errno>)] = &[
    ("1000", Ok(1000)),
    ("+5", Ok(5)),
    ("0x10", Ok(16)),
    ("010", Ok(8)),
    ("-1", Err(Errno::EINVAL)),
    ("-0", Err(Errno::EINVAL)),
    ("18446744073709551615", Ok(4294967295)),
    ("18446744073709551616", Err(Errno::ERANGE)),
    ("4294967296", Ok(0)),
    ("4294967297", Ok(1)),
    ("abc", Err(Errno::EINVAL)),
    ("", Err(Errno::EINVAL)),
    ("1 2", Err(Errno::EINVAL)),
    ("5x", Err(Errno::EINVAL)),
    ("0x", Err(Errno::EINVAL)),
    ("++5", Err(Errno::EINVAL)),
];

fn replay(m: &mut numasim::kernel::Machine, path: &str, seen: &[(&str, Result<u32, Errno>)]) {
    let mut now: u32 = read(m, path).unwrap().trim().parse().unwrap();
    for (v, want) in seen {
        let got = write(m, path, v).map_err(|e| e.errno);
        match want {
            Ok(x) => {
                assert!(got.is_ok(), "{path} <- {v:?}: {got:?}, 6.1 took it");
                now = *x;
            }
            Err(e) => assert_eq!(got, Err(*e), "{path} <- {v:?}"),
        }
        let back: u32 = read(m, path).unwrap().trim().parse().unwrap();
        assert_eq!(back, now, "{path} after {v:?}");
    }
}

#[test]
fn the_sysctl_takes_and_refuses_what_6_1_does() {
    let mut m = common::machine(TWO_NODES);
    // numasim boots with balancing off (6.1 turns it on at boot on a
    // multi-node machine: `check_numabalancing_enable()`); a scenario
    // turns it on with a write.
    assert_eq!(read(&mut m, SYSCTL).unwrap(), "0\n");
    replay(&mut m, SYSCTL, SYSCTL_SEEN);
}

#[test]
fn the_debugfs_tunables_take_and_refuse_what_6_1_does() {
    let mut m = common::machine(TWO_NODES);
    // 6.1's defaults, as the guest read them.
    for (f, v) in [
        ("hot_threshold_ms", 1000),
        ("scan_delay_ms", 1000),
        ("scan_period_max_ms", 60000),
        ("scan_period_min_ms", 1000),
        ("scan_size_mb", 256),
    ] {
        assert_eq!(
            read(&mut m, &format!("{DBG}{f}")).unwrap(),
            format!("{v}\n")
        );
    }
    assert_eq!(
        numasim::procfs::list_dir(&m, DBG).unwrap(),
        [
            "hot_threshold_ms",
            "scan_delay_ms",
            "scan_period_max_ms",
            "scan_period_min_ms",
            "scan_size_mb"
        ]
    );
    // `ls -l` in the guest: -rw-r--r-- for each, and for the sysctl.
    for f in numasim::kernel::numa::DEBUGFS_FILES {
        assert_eq!(numasim::procfs::file_mode(&format!("{DBG}{f}")), 0o644);
    }
    assert_eq!(numasim::procfs::file_mode(SYSCTL), 0o644);
    replay(&mut m, &format!("{DBG}scan_delay_ms"), DEBUGFS_SEEN);
    // No cross-check between the files: 6.1 took a minimum above the
    // maximum, a maximum of 0 and a scan size of 0x100. (It also took a
    // scan size of 0, and oopsed with a divide error in
    // task_scan_start() at the next task tick; numasim takes it too and
    // counts one window.)
    for (f, v, back) in [
        ("scan_period_min_ms", "70000", 70000),
        ("scan_size_mb", "0x100", 256),
        ("scan_period_max_ms", "0", 0),
    ] {
        let p = format!("{DBG}{f}");
        write(&mut m, &p, v).unwrap();
        assert_eq!(read(&mut m, &p).unwrap(), format!("{back}\n"));
    }
    assert_eq!(m.numa.settings.scan_period_min_ms, 70000);
    assert_eq!(m.numa.settings.scan_period_max_ms, 0);
    assert_eq!(m.numa.settings.scan_size_mb, 256);
}

#[test]
fn one_restore_order_is_always_selected() {
    let mut m = common::machine(TWO_NODES);
    let v = "/sys/kernel/debug/numasim/variants/";
    let sel = |m: &mut numasim::kernel::Machine| -> Vec<String> {
        ["numa_restore_first", "numa_thp_legacy"]
            .iter()
            .filter(|n| read(m, &format!("{v}{n}")).unwrap() == "1\n")
            .map(|n| n.to_string())
            .collect()
    };
    let none: [&str; 0] = [];
    assert_eq!(sel(&mut m), none, "the merged (lazy) order by default");
    write(&mut m, &format!("{v}numa_restore_first"), "1").unwrap();
    assert_eq!(sel(&mut m), ["numa_restore_first"]);
    write(&mut m, &format!("{v}numa_thp_legacy"), "y").unwrap();
    assert_eq!(sel(&mut m), ["numa_thp_legacy"]);
    // 0 to an order not selected changes nothing; to the selected one,
    // back to the merged (lazy) order.
    write(&mut m, &format!("{v}numa_restore_first"), "0").unwrap();
    assert_eq!(sel(&mut m), ["numa_thp_legacy"]);
    write(&mut m, &format!("{v}numa_thp_legacy"), "0").unwrap();
    assert_eq!(sel(&mut m), none);
    assert_eq!(
        m.numa.restore,
        numasim::kernel::numa::tlb::RestoreOrder::Lazy
    );
    assert!(
        read(&mut m, &format!("{v}numa_restore_lazy")).is_err(),
        "no file for the default"
    );
    assert_eq!(
        write(&mut m, &format!("{v}numa_restore_first"), "maybe")
            .unwrap_err()
            .errno,
        Errno::EINVAL
    );
}

/// The cost table's rows, per (order, page, threads): the base-page
/// shape of the 5.13 change (lazy restore: no flush where restore-first
/// flushes once and sends an IPI to every other CPU of the mm) and the
/// THP shape of 6.1's generic migration (one flush in either order).
#[test]
fn the_tlb_cost_table_shows_each_order_per_thread_count() {
    let mut m = common::machine(&TWO_NODES.replace("cpus = 1", "cpus = 16"));
    let t = read(&mut m, "/sys/kernel/debug/numasim/numa_tlb_cost").unwrap();
    let row = |order: &str, page: &str, threads: u64| -> Vec<u64> {
        t.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|w| {
                w.len() == 7
                    && w[0].trim_end_matches('*') == order
                    && w[1] == page
                    && w[2] == threads.to_string()
            })
            .unwrap_or_else(|| panic!("no {order} {page} {threads} in\n{t}"))[3..]
            .iter()
            .map(|x| x.parse().unwrap())
            .collect()
    };
    assert!(
        t.starts_with("# per migrating hint fault, 32 CPUs; restore order: numa_restore_lazy\n"),
        "{t}"
    );
    for threads in [1, 4, 32] {
        assert_eq!(row("numa_restore_lazy", "4k", threads), [0, 0, 0, 0]);
        let others = threads - 1;
        assert_eq!(
            row("numa_restore_first", "4k", threads),
            [(others > 0) as u64, others, 1, 0]
        );
        assert_eq!(
            row("numa_restore_lazy", "thp", threads),
            row("numa_restore_first", "thp", threads)
        );
        assert_eq!(row("numa_thp_legacy", "thp", threads), [0, 0, 0, 0]);
    }
    assert!(t.contains("numa_restore_lazy*"), "{t}");
    write(
        &mut m,
        "/sys/kernel/debug/numasim/variants/numa_restore_first",
        "1",
    )
    .unwrap();
    let t = read(&mut m, "/sys/kernel/debug/numasim/numa_tlb_cost").unwrap();
    assert!(
        t.contains("numa_restore_first*") && !t.contains("numa_restore_lazy*"),
        "{t}"
    );
}

/// Two 384 MiB nodes (memory blocks 0-2 on node 0, its memmap at the top
/// of block 2); task `a` on node 0 keeps base pages and THPs for seconds
/// (in block 0: the lowest free blocks go first).
const RESIDENT: &str = r#"
name = "resident"
distances = [[10, 20], [20, 10]]
[[nodes]]
memory_mib = 384
cpus = 1
[[nodes]]
memory_mib = 384
cpus = 1
[[workloads]]
name = "keep"
classes = [ { class = "anon", rate_per_s = 200000, lifetime_ms = 5000 },
            { class = "thp", rate_per_s = 400, lifetime_ms = 5000 } ]
[[tasks]]
name = "a"
cpu = 0
workload = "keep"
[[tasks]]
name = "b"
cpu = 1
workload = "keep"
stop_ms = 60
"#;

/// Each task's resident pages per node follow its grants, its frees (its
/// own, reclaim's, and all of them once it stops) and a control path
/// that moves its blocks (offlining the memory block holding them
/// migrates them), on both backends; the invariant checker recounts them
/// from the frames.
fn resident_run(m: &mut numasim::kernel::Machine) -> Vec<Vec<Vec<u64>>> {
    let mut seen = vec![];
    use numasim::procfs::shell::exec_line;
    exec_line(m, "tick 40").unwrap();
    m.check().unwrap();
    seen.push(m.task_rss_by_node().unwrap());
    // Task b stopped at 60 ms: its memory is freed the tick after.
    exec_line(m, "tick 30").unwrap();
    m.check().unwrap();
    seen.push(m.task_rss_by_node().unwrap());
    // Task a's pages fill block 0 (the lowest free blocks go first).
    let before = common::vmstat_value(&read(m, "/proc/vmstat").unwrap(), "pgmigrate_success");
    write(m, "/sys/devices/system/memory/memory0/state", "offline").unwrap();
    let after = common::vmstat_value(&read(m, "/proc/vmstat").unwrap(), "pgmigrate_success");
    assert!(
        after > before + 10_000,
        "offlining migrated {} pages",
        after - before
    );
    m.check().unwrap();
    seen.push(m.task_rss_by_node().unwrap());
    exec_line(m, "tick 5").unwrap();
    m.check().unwrap();
    seen.push(m.task_rss_by_node().unwrap());
    seen
}

#[test]
fn resident_pages_per_node_follow_grants_frees_and_migration() {
    let s = numasim::model::scenario::Scenario::parse(RESIDENT, "resident.toml").unwrap();
    let mut m = numasim::kernel::Machine::boot(s.clone(), Some(7)).unwrap();
    let seen = resident_run(&mut m);
    let (a, b) = (0, 1);
    // At 40 ms both tasks hold memory on their own node only.
    assert!(
        seen[0][a][0] > 10_000 && seen[0][a][1] == 0,
        "{:?}",
        seen[0]
    );
    assert!(
        seen[0][b][1] > 10_000 && seen[0][b][0] == 0,
        "{:?}",
        seen[0]
    );
    // b stopped: nothing left.
    assert_eq!(seen[1][b], [0, 0]);
    assert!(seen[1][a][0] > seen[0][a][0]);
    // Offlining block 0 migrated a's pages out of it (within node 0, or
    // to node 1 where node 0 was short), none lost: the checker recounts
    // them from the frames after every step.
    assert_eq!(
        seen[2][a].iter().sum::<u64>(),
        seen[1][a].iter().sum::<u64>()
    );
    // meminfo's AnonPages-like total is the same memory seen per zone.
    let Some(ctx) = common::gpu() else { return };
    let g = numasim::engine::gpu::GpuBackend::new(ctx, numasim::kernel::boot::boot_buffers(&s, 7))
        .unwrap();
    let mut gm = numasim::kernel::Machine::with_backend(s, 7, Box::new(g)).unwrap();
    assert_eq!(resident_run(&mut gm), seen, "the GPU backend's counts");
    assert_eq!(gm.digest().unwrap(), m.digest().unwrap());
}

// ----- NUMA balancing in the tick -----

use numasim::engine::types::*;
use numasim::kernel::Machine;
use numasim::procfs::shell::exec_line;

/// Two 256 MiB nodes, two CPUs each. Task `db` (pid 1000) builds a heap
/// of base pages and THPs that live until it stops; `{extra}` adds keys
/// to it and `{numa}` to `[numa]`.
fn two_nodes(extra: &str, numa: &str) -> String {
    format!(
        r#"
name = "two"
distances = [[10, 20], [20, 10]]
[[nodes]]
memory_mib = 256
cpus = 2
[[nodes]]
memory_mib = 256
cpus = 2
[numa]
balancing = 1
{numa}
[[workloads]]
name = "heap"
classes = [ {{ class = "anon", rate_per_s = 4000, lifetime_ms = 0 }},
            {{ class = "thp", rate_per_s = 6, lifetime_ms = 0 }} ]
[[tasks]]
name = "db"
cpu = 0
workload = "heap"
{extra}
"#
    )
}

fn vm(m: &mut Machine, key: &str) -> u64 {
    common::vmstat_value(&read(m, "/proc/vmstat").unwrap(), key)
}

/// The task's pages per node, from /proc/1000/numa_maps (`N<n>=`).
fn numa_maps_nodes(m: &mut Machine) -> Vec<u64> {
    let line = read(m, "/proc/1000/numa_maps").unwrap();
    let mut v = vec![0; 2];
    for f in line.split_whitespace() {
        if let Some((n, p)) = f.strip_prefix('N').and_then(|r| r.split_once('=')) {
            v[n.parse::<usize>().unwrap()] = p.parse().unwrap();
        }
    }
    v
}

/// do_numa_page() and migrate_misplaced_page(): a task moved to node 1
/// takes hint faults from node 1 on its heap on node 0, finds it
/// misplaced, and the heap follows it; the counters keep their
/// identities (local <= faults, numa_pages_migrated <= pgmigrate_success,
/// a THP 512 base pages).
#[test]
fn a_moved_tasks_heap_follows_it() {
    let src = two_nodes(
        r#"moves = [{ at_ms = 500, cpus = "2" }]"#,
        "scan_delay_ms = 100\nscan_period_min_ms = 100",
    );
    let mut m = common::machine(&src);
    exec_line(&mut m, "tick 500").unwrap();
    let before = numa_maps_nodes(&mut m);
    assert!(before[0] > 2000 && before[1] == 0, "{before:?}");
    exec_line(&mut m, "tick 2500").unwrap();
    m.check().unwrap();
    let after = numa_maps_nodes(&mut m);
    // Everything allocated since the move is on node 1 anyway; of the
    // heap built before it, at most a fifth is left behind after 2.5 s
    // (pages faulted from node 0 last wait for a second fault from node
    // 1: the two-stage filter), a twentieth after 5 s.
    assert!(after[0] * 5 < before[0], "{before:?} -> {after:?}");
    exec_line(&mut m, "tick 2500").unwrap();
    let later = numa_maps_nodes(&mut m);
    assert!(
        later[0] * 20 < before[0],
        "{before:?} -> {after:?} -> {later:?}"
    );
    let after = later;
    let migrated = vm(&mut m, "numa_pages_migrated");
    assert!(
        migrated * 20 >= before[0] * 19,
        "{migrated} of {}",
        before[0]
    );
    let faults = vm(&mut m, "numa_hint_faults");
    assert!(vm(&mut m, "numa_hint_faults_local") <= faults);
    assert!(migrated <= vm(&mut m, "pgmigrate_success"));
    let thp = vm(&mut m, "thp_migration_success");
    assert!(thp > 0, "THPs migrated whole");
    assert_eq!(vm(&mut m, "pgmigrate_fail"), 0);
    // Only base pages and whole THPs moved: migrated - 512 * thp base
    // pages, each one a fault of its own.
    assert!(migrated >= 512 * thp);
    assert!(faults >= thp + (migrated - 512 * thp));
    // numa_maps: anon= is the sum of the nodes, every page dirty.
    let line = read(&mut m, "/proc/1000/numa_maps").unwrap();
    let anon: u64 = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("anon=")?.parse().ok())
        .unwrap();
    assert_eq!(anon, after.iter().sum::<u64>());
    assert!(line.starts_with("7f0000000000 default anon="), "{line}");
    assert!(line.contains(&format!(" dirty={anon} ")) && line.ends_with(" kernelpagesize_kB=4\n"));
    // /proc/1000/sched: its pages migrated, its node.
    let sched = read(&mut m, "/proc/1000/sched").unwrap();
    assert!(sched.starts_with("db (1000, #threads: 1)\n"), "{sched}");
    assert!(
        sched.contains(&format!(
            "numa_pages_migrated                          :{migrated:>21}\n"
        )),
        "{sched}"
    );
    assert!(
        sched.contains("current_node=1, numa_group_id=0\n"),
        "{sched}"
    );
}

/// change_pte_range(): a single-threaded task's base pages already on its
/// node are skipped (`target_node == nid`), a PMD is not; a THP counts 512
/// in numa_pte_updates and 1 in numa_huge_pte_updates. The first scan
/// comes once the task has run more than scan_delay (1000 ms is not more:
/// the 1004 ms scheduler tick, HZ=250), as task_tick_numa() schedules it
/// from init_numa_balancing().
#[test]
fn the_first_scan_skips_local_base_pages_and_marks_thps() {
    let mut m = common::machine(&two_nodes("", ""));
    exec_line(&mut m, "tick 1003").unwrap();
    assert_eq!(vm(&mut m, "numa_pte_updates"), 0);
    exec_line(&mut m, "tick 1").unwrap();
    let ptes = vm(&mut m, "numa_pte_updates");
    let huge = vm(&mut m, "numa_huge_pte_updates");
    assert!(huge > 0, "the THPs were marked");
    assert_eq!(ptes, 512 * huge, "and no local base page");
    // Later scans mark nothing new until pages are touched and restored:
    // nothing is misplaced, so nothing migrates.
    exec_line(&mut m, "tick 2000").unwrap();
    assert_eq!(vm(&mut m, "numa_pages_migrated"), 0);
    assert_eq!(
        vm(&mut m, "numa_hint_faults"),
        vm(&mut m, "numa_hint_faults_local")
    );
    m.check().unwrap();
}

/// numamigrate_isolate_page() refuses a target node without room above
/// its high watermark plus the folio: no migration runs (no
/// pgmigrate_fail, no numa_pages_migrated) however often the task
/// faults from there.
#[test]
fn a_full_target_node_refuses_migration() {
    let src = two_nodes(
        r#"moves = [{ at_ms = 1000, cpus = "2" }]
[[workloads]]
name = "pin"
classes = [ { class = "pinned", rate_per_s = 100000, lifetime_ms = 0 } ]
[[tasks]]
name = "hog"
cpu = 3
workload = "pin"
policy = "bind:1""#,
        "scan_delay_ms = 100\nscan_period_min_ms = 100",
    );
    let mut m = common::machine(&src);
    exec_line(&mut m, "tick 3000").unwrap();
    m.check().unwrap();
    let d = read(&mut m, "/sys/kernel/debug/numasim/numa_balancing").unwrap();
    let refused: u64 = d
        .lines()
        .find_map(|l| l.strip_prefix("migrations refused (target short of room) "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(refused > 100, "{d}");
    assert_eq!(vm(&mut m, "numa_pages_migrated"), 0, "{d}");
    assert_eq!(vm(&mut m, "pgmigrate_fail"), 0);
    assert!(vm(&mut m, "numa_hint_faults") >= refused);
}

/// The restore order decides TLB flushes only: the same faults and
/// migrations happen in every order (the frames end the same), and the
/// counts differ by exactly what arch/x86/mm/tlb.c would count: a base
/// page migrated after restoring its PTE costs one flush and an IPI to
/// each other CPU of the mm; the legacy THP path saves the PMD's flush.
#[test]
fn restore_orders_differ_in_tlb_flushes_only() {
    // Four threads on four CPUs of both nodes, the heap on node 0.
    let src = two_nodes(
        r#"threads = 4
thread_cpus = "0,1,2,3"
private_fraction = 0.9"#,
        "scan_delay_ms = 100\nscan_period_min_ms = 100",
    );
    let run = |variant: Option<&str>| {
        let mut m = common::machine(&src);
        if let Some(v) = variant {
            write(
                &mut m,
                &format!("/sys/kernel/debug/numasim/variants/{v}"),
                "1",
            )
            .unwrap();
        }
        exec_line(&mut m, "tick 2000").unwrap();
        m.check().unwrap();
        let c: Vec<u64> = [
            "numa_pages_migrated",
            "thp_migration_success",
            "nr_tlb_remote_flush",
            "nr_tlb_remote_flush_received",
            "nr_tlb_local_flush_one",
            "nr_tlb_local_flush_all",
        ]
        .iter()
        .map(|k| vm(&mut m, k))
        .collect();
        let frames = m.buffers().unwrap().frames.clone();
        (c, frames)
    };
    let (lazy, f0) = run(None);
    let (first, f1) = run(Some("numa_restore_first"));
    let (legacy, f2) = run(Some("numa_thp_legacy"));
    assert!(f0 == f1 && f1 == f2, "the orders changed the simulation");
    let (migrated, thp) = (lazy[0], lazy[1]);
    assert!(thp > 0 && migrated > 512 * thp, "{lazy:?}");
    assert_eq!((first[0], first[1]), (migrated, thp));
    let base = migrated - 512 * thp;
    let others = 3; // four CPUs in the mm's cpumask
    assert_eq!(first[2] - lazy[2], base, "one shootdown per base page");
    assert_eq!(first[3] - lazy[3], others * base, "IPIs");
    assert_eq!(first[4] - lazy[4], base);
    assert_eq!(first[5], lazy[5], "scans flush the same");
    // Legacy: base pages as restore-first, THPs without the PMD flush.
    assert_eq!(first[3] - legacy[3], others * thp);
    assert_eq!(first[2] - legacy[2], thp);
    // In the merged order every remote flush is a scan's or a THP's.
    assert!(lazy[3] >= others * thp);
}

/// With kernel.numa_balancing 0 the NUMA phases do not run: the state is
/// what a machine without the setting has; switching balancing on and
/// off again leaves no migration in flight.
#[test]
fn balancing_off_leaves_the_tick_as_it_was() {
    let off = two_nodes("", "").replace("balancing = 1", "balancing = 0");
    let none = off.replace("[numa]\nbalancing = 0\n", "");
    let mut a = common::machine(&off);
    let mut b = common::machine(&none);
    exec_line(&mut a, "tick 1500").unwrap();
    exec_line(&mut b, "tick 1500").unwrap();
    assert_eq!(a.digest().unwrap(), b.digest().unwrap());
    assert!(a.buffers().unwrap().numa_state.iter().all(|&w| w == 0));
    write(&mut a, "/proc/sys/kernel/numa_balancing", "1").unwrap();
    exec_line(&mut a, "tick 1200").unwrap();
    assert!(vm(&mut a, "numa_pte_updates") > 0);
    write(&mut a, "/proc/sys/kernel/numa_balancing", "0").unwrap();
    let before = vm(&mut a, "numa_pte_updates");
    exec_line(&mut a, "tick 500").unwrap();
    assert_eq!(vm(&mut a, "numa_pte_updates"), before);
    a.check().unwrap();
}

/// The checker names a migration left in flight between ticks (a block
/// is migrated within one tick, in exactly one list entry).
#[test]
fn the_checker_names_a_migration_in_flight() {
    let mut m = common::machine(&two_nodes("", ""));
    exec_line(&mut m, "tick 50").unwrap();
    m.check().unwrap();
    let mut b = m.buffers().unwrap().clone();
    let pfn = (0..b.frames.len())
        .find(|&i| numasim::model::frame::kind(b.frames[i]) == numasim::model::frame::KIND_ALLOC)
        .unwrap();
    b.owners[pfn] |= OWNER_MIGRATING;
    let e =
        numasim::kernel::invariants::check(&b, &m.totals, &m.mm.contig_taken, m.tick).unwrap_err();
    assert_eq!(e.name, "migration-in-flight", "{e}");
}

/// /proc/<pid> exists for running tasks only.
#[test]
fn proc_pid_files_exist_for_running_tasks() {
    let mut m = common::machine(&two_nodes("stop_ms = 20", ""));
    assert!(read(&mut m, "/proc/1000/numa_maps").is_ok());
    assert_eq!(
        read(&mut m, "/proc/1001/numa_maps").unwrap_err().errno,
        Errno::ENOENT
    );
    // A task without pages prints its policy only.
    assert_eq!(
        read(&mut m, "/proc/1000/numa_maps").unwrap(),
        "7f0000000000 default\n"
    );
    exec_line(&mut m, "tick 30").unwrap();
    assert_eq!(
        read(&mut m, "/proc/1000/sched").unwrap_err().errno,
        Errno::ENOENT
    );
}

/// `[numa] load_balance_ms`: the busiest node gives its newest task to
/// the quietest one while they differ by two or more tasks; NUMA
/// balancing then brings that task's memory after it.
#[test]
fn the_load_balancer_moves_a_task_and_balancing_its_memory() {
    let src = two_nodes(
        r#"[[tasks]]
name = "b"
cpu = 1
workload = "heap"
[[tasks]]
name = "c"
cpu = 0
workload = "heap""#,
        "scan_delay_ms = 100\nscan_period_min_ms = 100\nload_balance_ms = 500",
    );
    let mut m = common::machine(&src);
    // It runs as tick 500 starts.
    exec_line(&mut m, "tick 500").unwrap();
    assert!(m.tasks.iter().all(|t| t.node == 0));
    exec_line(&mut m, "tick 1").unwrap();
    let nodes: Vec<u32> = m.tasks.iter().map(|t| t.node).collect();
    assert_eq!(nodes, [0, 0, 1], "the newest task on node 0 moved");
    exec_line(&mut m, "tick 2500").unwrap();
    let nodes: Vec<u32> = m.tasks.iter().map(|t| t.node).collect();
    assert_eq!(nodes, [0, 0, 1], "2 against 1: balanced enough");
    // Task c (pid 1200) followed by its memory.
    let maps = read(&mut m, "/proc/1200/numa_maps").unwrap();
    let n = |k: &str| -> u64 {
        maps.split_whitespace()
            .find_map(|f| f.strip_prefix(k)?.parse().ok())
            .unwrap_or(0)
    };
    assert!(n("N1=") > 10 * n("N0="), "{maps}");
    m.check().unwrap();
}

/// The shape Debian's 6.1 showed in ../shared/realkernel
/// (tools/realkernel/numa_mover.c, 2 nodes x 1 GiB, one CPU each): a
/// single-threaded task's 32 MiB of base pages on node 0 are never made
/// PROT_NONE while it runs there (6.1: 1 PTE updated in 3 s); once it is
/// moved to node 1 the next scan marks them all and every hint fault is
/// remote and migrates its page (6.1: 8217 updates, 8216 faults, 0 local,
/// 8216 migrated, all of it on node 1 within 0.9 s); then nothing more.
#[test]
fn a_moved_task_follows_as_the_6_1_guest_showed() {
    let src = include_str!("../tools/realkernel/numa_mover.toml");
    let mut m = Machine::boot(
        numasim::model::scenario::Scenario::parse(src, "numa_mover.toml").unwrap(),
        None,
    )
    .unwrap();
    exec_line(&mut m, "tick 3000").unwrap();
    assert_eq!(vm(&mut m, "numa_pte_updates"), 0);
    let line = read(&mut m, "/proc/1000/numa_maps").unwrap();
    let pages: u64 = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("N0=")?.parse().ok())
        .unwrap();
    exec_line(&mut m, "tick 1000").unwrap();
    let line = read(&mut m, "/proc/1000/numa_maps").unwrap();
    assert!(!line.contains(" N0="), "{line}");
    let (ptes, faults) = (
        vm(&mut m, "numa_pte_updates"),
        vm(&mut m, "numa_hint_faults"),
    );
    assert_eq!(ptes, pages);
    assert_eq!(faults, pages);
    assert_eq!(vm(&mut m, "numa_hint_faults_local"), 0);
    assert_eq!(vm(&mut m, "numa_pages_migrated"), pages);
    exec_line(&mut m, "tick 2000").unwrap();
    assert_eq!(vm(&mut m, "numa_pte_updates"), ptes, "local now: skipped");
}
