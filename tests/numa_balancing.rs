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
