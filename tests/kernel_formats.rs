//! Kernel-format outputs against worked examples (mm/vmstat.c,
//! fs/proc/meminfo.c, drivers/base/node.c).

mod common;
use common::*;
use numasim::kernel::Machine;
use numasim::procfs::format::{fill_contig_page_info, fragmentation_index, unusable_free_index};

#[test]
fn fragmentation_index_worked_examples() {
    // __fragmentation_index(): ten free order-0 pages and nothing else.
    let mut nr = [0u64; 11];
    nr[0] = 10;
    // Order 0 would succeed: -1000.
    assert_eq!(
        fragmentation_index(0, &fill_contig_page_info(&nr, 0)),
        -1000
    );
    // Order 1: 1000 - (1000 + 10*1000/2) / 10 = 400.
    assert_eq!(fragmentation_index(1, &fill_contig_page_info(&nr, 1)), 400);
    // Order 3: 1000 - (1000 + 10000/8) / 10 = 775.
    assert_eq!(fragmentation_index(3, &fill_contig_page_info(&nr, 3)), 775);
    // No free memory at all: 0.
    assert_eq!(
        fragmentation_index(3, &fill_contig_page_info(&[0; 11], 3)),
        0
    );
}

#[test]
fn unusable_index_worked_examples() {
    // unusable_free_index(): 4 order-0 pages and 1 order-2 block (8 free).
    let mut nr = [0u64; 11];
    nr[0] = 4;
    nr[2] = 1;
    assert_eq!(unusable_free_index(0, &fill_contig_page_info(&nr, 0)), 0);
    // Order 1: suitable blocks = 1 << (2-1) = 2 -> (8 - 4) * 1000 / 8.
    assert_eq!(unusable_free_index(1, &fill_contig_page_info(&nr, 1)), 500);
    assert_eq!(unusable_free_index(3, &fill_contig_page_info(&nr, 3)), 1000);
    assert_eq!(
        unusable_free_index(3, &fill_contig_page_info(&[0; 11], 3)),
        1000
    );
}

fn machine_with_free_area(free: &[(usize, u32)]) -> numasim::kernel::Machine {
    let mut m = machine(ONE_BLOCK);
    // The CPU reference hands out its whole buffers (a test may set state).
    let b = m.backend_mut().config_mut();
    b.zone_state[0].free_area = [[0; 6]; 11];
    for &(o, n) in free {
        b.zone_state[0].free_area[o][1] = n;
    }
    m
}

#[test]
fn debugfs_extfrag_files_print_as_the_kernel_does() {
    let mut m = machine_with_free_area(&[(0, 10)]);
    // extfrag_show_print(): "%2d.%03d ", -1000 prints as -1.000. With ten
    // order-0 pages, order k > 0 gives 1000 - (1000 + 10000 / 2^k) / 10 in
    // integer arithmetic: 400, 650, 775, 838, 869, 885, 893, 897, 899, 900.
    assert_eq!(
        cat(&mut m, "/sys/kernel/debug/extfrag/extfrag_index"),
        "Node 0, zone   Normal -1.000  0.400  0.650  0.775  0.838  0.869  0.885  0.893  0.897  0.899  0.900 \n"
    );
    // unusable_show_print(): "%d.%03d ".
    assert_eq!(
        cat(&mut m, "/sys/kernel/debug/extfrag/unusable_index"),
        "Node 0, zone   Normal 0.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 \n"
    );
}

#[test]
fn buddyinfo_line_format() {
    let mut m = machine_with_free_area(&[(0, 123456), (3, 7), (10, 1)]);
    // frag_show_print(): "Node %d, zone %8s " then "%6lu " per order.
    assert_eq!(cat(&mut m, "/proc/buddyinfo"), "Node 0, zone   Normal 123456      0      0      7      0      0      0      0      0      0      1 \n");
}

#[test]
fn pagetypeinfo_layout() {
    let mut m = machine_with_free_area(&[(2, 5), (4, 100001)]);
    let s = cat(&mut m, "/proc/pagetypeinfo");
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0], "Page block order: 9");
    assert_eq!(lines[1], "Pages per block:  512");
    assert_eq!(lines[2], "");
    assert_eq!(lines[3], "Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 ");
    assert_eq!(lines[4], "Node    0, zone   Normal, type    Unmovable      0      0      0      0      0      0      0      0      0      0      0 ");
    // Counts at or over 100000 print as ">100000".
    assert_eq!(lines[5], "Node    0, zone   Normal, type      Movable      0      0      5      0 >100000      0      0      0      0      0      0 ");
    assert_eq!(lines[10], "");
    assert_eq!(lines[11], "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate ");
    // Both pageblocks of the 8 MiB node start movable (memmap_init_range).
    assert_eq!(lines[12], "Node 0, zone   Normal            0            4            0            0            0            0 ");
}

#[test]
fn meminfo_lines_have_the_kernel_width() {
    let mut m = machine(ONE_BLOCK);
    let s = cat(&mut m, "/proc/meminfo");
    // show_val_kb(): 16-column label, %8lu, " kB".
    assert!(
        s.starts_with("MemTotal:           4096 kB\nMemFree:            4096 kB\n"),
        "{s}"
    );
    for l in s.lines().filter(|l| !l.starts_with("HugePages_")) {
        assert_eq!(l.len(), 27, "`{l}`");
        assert!(l.ends_with(" kB"));
    }
    // hugetlb_report_meminfo(): "HugePages_Total:   %5lu" and friends.
    for l in s.lines().filter(|l| l.starts_with("HugePages_")) {
        assert_eq!(l.len(), 24, "`{l}`");
    }
    assert!(
        s.ends_with(
            "Hugepagesize:       2048 kB
Hugetlb:               0 kB
"
        ),
        "{s}"
    );
    let n = cat(&mut m, "/sys/devices/system/node/node0/meminfo");
    assert!(n.starts_with("Node 0 MemTotal:           4096 kB\n"), "{n}");
}

#[test]
fn node_files() {
    let mut m = machine(include_str!("../assets/scenarios/cxl.toml"));
    assert_eq!(cat(&mut m, "/sys/devices/system/node/online"), "0-3\n");
    assert_eq!(cat(&mut m, "/sys/devices/system/node/has_cpu"), "0-1\n");
    assert_eq!(cat(&mut m, "/sys/devices/system/node/has_memory"), "0-3\n");
    assert_eq!(
        cat(&mut m, "/sys/devices/system/node/node2/distance"),
        "14 24 10 26\n"
    );
    assert_eq!(
        cat(&mut m, "/sys/devices/system/node/node1/cpulist"),
        "16-31\n"
    );
    assert_eq!(cat(&mut m, "/sys/devices/system/node/node3/cpulist"), "\n");
    // node_read_cpumap(): "%*pb" over nr_cpu_ids (32 here) bits.
    assert_eq!(
        cat(&mut m, "/sys/devices/system/node/node0/cpumap"),
        "0000ffff\n"
    );
    assert_eq!(
        cat(&mut m, "/sys/devices/system/node/node1/cpumap"),
        "ffff0000\n"
    );
    assert_eq!(
        cat(&mut m, "/sys/devices/system/node/node3/cpumap"),
        "00000000\n"
    );
    m.run(50, |_| {}).unwrap();
    let ns = cat(&mut m, "/sys/devices/system/node/node0/numastat");
    let keys: Vec<&str> = ns.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "numa_hit",
            "numa_miss",
            "numa_foreign",
            "interleave_hit",
            "local_node",
            "other_node"
        ]
    );
}

#[test]
fn vmstat_and_zoneinfo_agree_with_the_counters() {
    let mut m = machine(include_str!("../assets/scenarios/small.toml"));
    m.run(300, |_| {}).unwrap();
    let v = cat(&mut m, "/proc/vmstat");
    let get = |k: &str| -> u64 {
        v.lines()
            .find_map(|l| l.strip_prefix(&format!("{k} ")))
            .unwrap_or_else(|| panic!("{k} missing"))
            .parse()
            .unwrap()
    };
    assert_eq!(
        get("numa_hit") + get("numa_miss"),
        m.total(numasim::engine::types::ZS_ALLOCS, None)
    );
    let free: u64 = m
        .buffers()
        .unwrap()
        .zone_state
        .iter()
        .map(|z| z.nr_free as u64)
        .sum();
    assert_eq!(get("nr_free_pages"), free);
    assert!(v.ends_with("nr_unstable 0\n"));
    let z = cat(&mut m, "/proc/zoneinfo");
    assert!(
        z.starts_with("Node 0, zone    DMA32\n  pages free     0\n"),
        "{}",
        &z[..200]
    );
    assert!(z.contains("Node 0, zone   Normal\n  per-node stats\n      nr_inactive_anon"));
    assert!(z.contains("\n      nr_slab_reclaimable "));
    assert!(z.contains("\n  node_unreclaimable:  0\n  start_pfn:  "));
    assert!(z.contains(
        "Node 1, zone  Movable\n  pages free     0\n        boost    0\n        min      32\n"
    ));
    assert!(z.contains("\n        protection: (0, 0, "));
}

#[test]
fn watermark_knobs_have_the_kernels_effect() {
    let mut m = machine(include_str!("../assets/scenarios/small.toml"));
    let low_before = m.buffers().unwrap().zones[0].wmark_low;
    numasim::procfs::write(&mut m, "/proc/sys/vm/watermark_scale_factor", "1000").unwrap();
    let z = m.buffers().unwrap().zones[0];
    // gap = managed * 1000 / 10000.
    assert_eq!(z.wmark_low - z.wmark_min, z.managed / 10);
    assert!(z.wmark_low > low_before);
    numasim::procfs::write(&mut m, "/proc/sys/vm/min_free_kbytes", "65536").unwrap();
    let zs: Vec<_> = m.buffers().unwrap().zones.clone();
    let total_min: u32 = zs.iter().map(|z| z.wmark_min).sum();
    // pages_min = 65536 kB / 4, split by managed share (rounding down).
    assert!(
        (16384 - zs.len() as u32..=16384).contains(&total_min),
        "{total_min}"
    );
    assert_eq!(cat(&mut m, "/proc/sys/vm/min_free_kbytes"), "65536\n");
    assert!(
        cat(&mut m, "/proc/zoneinfo").contains(&format!("        min      {}\n", zs[0].wmark_min))
    );
}

#[test]
fn cpumap_chunks_as_bitmap_string() {
    use numasim::procfs::format::cpumap;
    // bitmap_string(): leading chunk sized by nr_bits % 32, then 8 digits.
    assert_eq!(cpumap(&[0, 1], 4), "3\n");
    assert_eq!(cpumap(&[0, 1], 6), "03\n");
    assert_eq!(cpumap(&[33, 0], 40), "02,00000001\n");
    assert_eq!(cpumap(&[63], 64), "80000000,00000000\n");
    assert_eq!(cpumap(&[], 64), "00000000,00000000\n");
}

/// /proc/stat (show_stat()), /proc/uptime (uptime_proc_show()) and
/// /proc/cpuinfo (show_cpuinfo()) on the `cxl` preset: 32 CPUs on two
/// packages.
#[test]
fn proc_stat_uptime_and_cpuinfo() {
    let mut m = machine(include_str!("../assets/scenarios/cxl.toml"));
    m.run(250, |_| {}).unwrap();
    let stat = cat(&mut m, "/proc/stat");
    let lines: Vec<&str> = stat.lines().collect();
    // "cpu  " (two spaces), then cpu0..cpu31, each with ten fields.
    assert!(lines[0].starts_with("cpu  "), "{stat}");
    let per_cpu: Vec<Vec<u64>> = lines[1..33]
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (name, rest) = l.split_once(' ').unwrap();
            assert_eq!(name, format!("cpu{i}"));
            rest.split(' ').map(|x| x.parse().unwrap()).collect()
        })
        .collect();
    assert!(!lines[33].starts_with("cpu"), "one line per CPU: {stat}");
    let sum: Vec<u64> = lines[0][5..]
        .split(' ')
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(sum.len(), 10);
    for f in 0..10 {
        assert_eq!(
            sum[f],
            per_cpu.iter().map(|c| c[f]).sum::<u64>(),
            "field {f}"
        );
    }
    // USER_HZ ticks of simulated time: user + idle is the uptime per CPU.
    let ticks = m.now_ns() / 10_000_000;
    assert!(ticks > 0);
    for c in &per_cpu {
        assert_eq!(c[0] + c[3], ticks, "{c:?}");
    }
    assert!(sum[0] > 0, "tasks ran: some user time");
    for key in [
        "intr ",
        "ctxt ",
        "btime 1767225600",
        "processes ",
        "procs_running ",
        "procs_blocked ",
        "softirq ",
    ] {
        assert!(lines.iter().any(|l| l.starts_with(key)), "{key} in {stat}");
    }
    let up = cat(&mut m, "/proc/uptime");
    let (a, b) = up.trim_end().split_once(' ').unwrap();
    assert_eq!(a, format!("{}.{:02}", ticks / 100, ticks % 100));
    assert_eq!(b, format!("{}.{:02}", sum[3] / 100, sum[3] % 100));

    let info = cat(&mut m, "/proc/cpuinfo");
    let blocks: Vec<&str> = info.split("\n\n").filter(|b| !b.is_empty()).collect();
    assert_eq!(blocks.len(), 32);
    let field = |b: &str, k: &str| -> String {
        b.lines()
            .find(|l| l.split('\t').next() == Some(k))
            .unwrap_or_else(|| panic!("{k} in {b}"))
            .split_once(": ")
            .unwrap()
            .1
            .to_string()
    };
    assert_eq!(field(blocks[17], "processor"), "17");
    assert_eq!(field(blocks[17], "physical id"), "1");
    assert_eq!(field(blocks[17], "core id"), "1");
    assert_eq!(field(blocks[17], "siblings"), "16");
}

/// drivers/base/topology.c's files and the CPU masks, as on a 6.1 x86
/// machine with one thread per core.
#[test]
fn cpu_topology_files() {
    let mut m = machine(include_str!("../assets/scenarios/cxl.toml"));
    let t = |m: &mut numasim::kernel::Machine, f: &str| {
        cat(m, &format!("/sys/devices/system/cpu/cpu18/topology/{f}"))
    };
    assert_eq!(t(&mut m, "physical_package_id"), "1\n");
    assert_eq!(t(&mut m, "core_id"), "2\n");
    assert_eq!(t(&mut m, "die_id"), "0\n");
    assert_eq!(t(&mut m, "thread_siblings_list"), "18\n");
    assert_eq!(t(&mut m, "thread_siblings"), "00040000\n");
    assert_eq!(t(&mut m, "cluster_cpus_list"), "18\n");
    assert_eq!(t(&mut m, "core_siblings_list"), "16-31\n");
    assert_eq!(t(&mut m, "package_cpus"), "ffff0000\n");
    assert_eq!(cat(&mut m, "/sys/devices/system/cpu/online"), "0-31\n");
    assert_eq!(cat(&mut m, "/sys/devices/system/cpu/kernel_max"), "8191\n");
    let e = numasim::procfs::read(&mut m, "/sys/devices/system/cpu/cpu40/topology/core_id");
    assert!(e.is_err(), "no CPU 40");
}

/// The modes and sizes `stat` shows (the mount serves them).
#[test]
fn file_modes_and_sizes() {
    use numasim::procfs::{file_mode, file_size};
    assert_eq!(file_mode("/proc/meminfo"), 0o444);
    assert_eq!(file_mode("/proc/zoneinfo"), 0o400);
    assert_eq!(file_mode("/proc/pagetypeinfo"), 0o400);
    assert_eq!(file_mode("/proc/sys/vm/min_free_kbytes"), 0o644);
    assert_eq!(
        file_mode("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"),
        0o644
    );
    assert_eq!(
        file_mode("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"),
        0o444
    );
    assert_eq!(
        file_mode("/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages"),
        0o644
    );
    assert_eq!(file_mode("/sys/devices/system/node/node1/meminfo"), 0o444);
    assert_eq!(file_size("/proc/meminfo"), 0);
    assert_eq!(file_size("/sys/devices/system/node/node1/meminfo"), 4096);
    assert_eq!(file_size("/sys/devices/system/node/node1/cpulist"), 28672);
    assert_eq!(
        file_size("/sys/devices/system/cpu/cpu3/topology/core_siblings_list"),
        28672
    );
    assert_eq!(
        file_size("/sys/devices/system/cpu/cpu3/topology/core_siblings"),
        4096
    );
}

/// si_mem_available() from the files it reads: MemFree, minus
/// totalreserve_pages (per zone, min(max protection + high, managed)),
/// plus page cache and reclaimable slab each less min(half, the low
/// watermarks of every zone, empty ones included), as zoneinfo prints
/// them. On `small` the two empty Movable zones hold 32 pages each.
#[test]
fn mem_available_counts_every_zones_low_watermark() {
    let mut m = machine(include_str!("../assets/scenarios/small.toml"));
    m.run(300, |_| {}).unwrap();
    let zi = cat(&mut m, "/proc/zoneinfo");
    let (mut low, mut reserve, mut empty_low) = (0u64, 0u64, 0u64);
    for zone in zi.split("Node ").skip(1) {
        let get = |k: &str| -> u64 {
            zone.lines()
                .find_map(|l| {
                    l.trim_start()
                        .strip_prefix(k)
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or_else(|| panic!("{k} in {zone}"))
        };
        let prot: u64 = zone
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("protection: ("))
            .unwrap()
            .trim_end_matches(')')
            .split(", ")
            .map(|x| x.parse::<u64>().unwrap())
            .max()
            .unwrap();
        low += get("low ");
        if get("managed ") == 0 {
            empty_low += get("low ");
        }
        reserve += (prot + get("high ")).min(get("managed "));
    }
    assert_eq!(empty_low, 64, "two empty Movable zones at 32 pages");
    let mi = cat(&mut m, "/proc/meminfo");
    let f = |k: &str| -> u64 {
        mi.lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap()
            .trim()
            .trim_end_matches(" kB")
            .trim()
            .parse::<u64>()
            .unwrap()
            / 4
    };
    let (cache, srec) = (f("Cached:"), f("SReclaimable:"));
    assert!(
        cache / 2 > low,
        "the low watermarks decide here: {cache} {low}"
    );
    let want =
        f("MemFree:") - reserve + (cache - (cache / 2).min(low)) + (srec - (srec / 2).min(low));
    assert_eq!(f("MemAvailable:"), want);
}

/// zoneinfo's `node_unreclaimable:` (zoneinfo_show_print(): pgdat->
/// kswapd_failures >= MAX_RECLAIM_RETRIES): a node full of pinned pages
/// makes kswapd fail 16 runs in a row, then wakeup_kswapd() leaves it
/// asleep, so pageoutrun stops growing.
#[test]
fn a_node_kswapd_cannot_reclaim_becomes_unreclaimable() {
    use common::PINNED_FILL;
    let mut m = common::machine(PINNED_FILL);
    let zi = cat(&mut m, "/proc/zoneinfo");
    assert!(zi.contains("\n  node_unreclaimable:  0\n"), "{zi}");
    let runs = |m: &mut Machine| -> u64 { vmstat_value(&cat(m, "/proc/vmstat"), "pageoutrun") };
    let mut first_run = None;
    for t in 0..4000u64 {
        m.advance(1).unwrap();
        if first_run.is_none() && runs(&mut m) > 0 {
            first_run = Some(t);
        }
        if cat(&mut m, "/proc/zoneinfo").contains("node_unreclaimable:  1") {
            break;
        }
    }
    assert!(first_run.is_some(), "kswapd never ran");
    let zi = cat(&mut m, "/proc/zoneinfo");
    assert!(zi.contains("\n  node_unreclaimable:  1\n"), "{zi}");
    let b = m.state().unwrap();
    assert_eq!(b.node_state[0].kswapd_failures, 16);
    // Asleep from now on, though the node stays below its watermarks.
    let before = runs(&mut m);
    m.advance(200).unwrap();
    assert_eq!(
        runs(&mut m),
        before,
        "an unreclaimable node's kswapd is not woken"
    );
    assert!(cat(&mut m, "/proc/zoneinfo").contains("node_unreclaimable:  1"));
}

/// node vmstat (node_read_vmstat()): the zone stats summed over the node,
/// then the NUMA events, then the node stats; no nr_memmap_* (global only
/// since 6.11); nr_hugetlb counts the hugetlb pages faults took, in base
/// pages (alloc_hugetlb_folio()/free_huge_folio()).
#[test]
fn node_vmstat_has_zone_stats_and_nr_hugetlb_but_no_memmap() {
    let mut m = common::machine(include_str!("../assets/scenarios/small.toml"));
    m.advance(100).unwrap();
    let v = cat(&mut m, "/sys/devices/system/node/node0/vmstat");
    let keys: Vec<&str> = v.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(keys[0], "nr_free_pages");
    assert_eq!(keys[1], "nr_zone_inactive_anon");
    assert!(
        keys.iter().position(|k| *k == "nr_free_cma") < keys.iter().position(|k| *k == "numa_hit")
    );
    assert!(
        keys.iter().position(|k| *k == "numa_other")
            < keys.iter().position(|k| *k == "nr_inactive_anon")
    );
    assert!(!v.contains("nr_memmap"), "{v}");
    let g = cat(&mut m, "/proc/vmstat");
    assert!(g.contains("nr_memmap_pages "), "global: {g}");
    // Zone LRU counts add up to the node's.
    assert_eq!(
        vmstat_value(&v, "nr_zone_inactive_anon"),
        vmstat_value(&v, "nr_inactive_anon")
    );
    assert_eq!(
        vmstat_value(&v, "nr_zone_inactive_file"),
        vmstat_value(&v, "nr_inactive_file")
    );
    assert_eq!(vmstat_value(&v, "nr_hugetlb"), 0);
    // Pool pages are not in use until a fault takes one.
    numasim::procfs::write(
        &mut m,
        "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages",
        "4",
    )
    .unwrap();
    let v = cat(&mut m, "/sys/devices/system/node/node0/vmstat");
    assert_eq!(vmstat_value(&v, "nr_hugetlb"), 0);
    numasim::procfs::shell::exec_line(&mut m, "map db task=a0 pages=3").unwrap();
    numasim::procfs::shell::exec_line(&mut m, "touch db 3").unwrap();
    let v = cat(&mut m, "/sys/devices/system/node/node0/vmstat");
    assert_eq!(vmstat_value(&v, "nr_hugetlb"), 3 * 512);
    assert_eq!(
        vmstat_value(&cat(&mut m, "/proc/vmstat"), "nr_hugetlb"),
        3 * 512
    );
}

/// rmqueue() -> zone_statistics(): a hugetlb pool allocation from the
/// buddy allocator is one numa_hit (it is __GFP_THISNODE), local to the
/// writer's CPU or not, and one htlb_buddy_alloc_success
/// (alloc_buddy_hugetlb_folio()); a hugetlb migration counts 512
/// pgmigrate_success.
#[test]
fn hugetlb_allocations_and_migrations_count_their_events() {
    let mut m = common::machine(include_str!("../assets/scenarios/small.toml"));
    m.advance(10).unwrap();
    let ev = |m: &mut Machine, k: &str| vmstat_value(&cat(m, "/proc/vmstat"), k);
    let numa = |m: &mut Machine, n: u32, k: &str| {
        vmstat_value(
            &cat(m, &format!("/sys/devices/system/node/node{n}/numastat")),
            k,
        )
    };
    // Stop the tasks' own allocations from moving the counters.
    for t in ["a0", "f0", "a1", "f1"] {
        let _ = numasim::procfs::shell::exec_line(&mut m, &format!("stop {t}"));
    }
    m.advance(1).unwrap();
    let (hit1, other1) = (numa(&mut m, 1, "numa_hit"), numa(&mut m, 1, "other_node"));
    let ok0 = ev(&mut m, "htlb_buddy_alloc_success");
    numasim::procfs::write(
        &mut m,
        "/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages",
        "5",
    )
    .unwrap();
    assert_eq!(ev(&mut m, "htlb_buddy_alloc_success") - ok0, 5);
    // The shell runs on CPU 0 (node 0): five hits on node 1, all "other".
    assert_eq!(numa(&mut m, 1, "numa_hit") - hit1, 5);
    assert_eq!(numa(&mut m, 1, "other_node") - other1, 5);
    // A pool that cannot grow counts failures.
    let fail0 = ev(&mut m, "htlb_buddy_alloc_fail");
    numasim::procfs::write(
        &mut m,
        "/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages",
        "1000",
    )
    .unwrap();
    assert!(ev(&mut m, "htlb_buddy_alloc_fail") > fail0);
    m.check().unwrap();
}

/// vm.lowmem_reserve_ratio (lowmem_reserve_ratio_sysctl_handler ->
/// setup_per_zone_lowmem_reserve()): DMA32's protection against a
/// Normal-zone request is Normal's managed pages / ratio[DMA32]; a ratio
/// below 1 disables it.
#[test]
fn lowmem_reserve_ratio_sets_the_protection() {
    let src = r#"
name = "two-zones"
[[nodes]]
memory_mib = 512
dma32_mib = 128
cpus = 1
"#;
    let mut m = machine(src);
    let f = "/proc/sys/vm/lowmem_reserve_ratio";
    assert_eq!(cat(&mut m, f), "256\t32\t0\n");
    let protection = |m: &mut Machine| -> String {
        let z = cat(m, "/proc/zoneinfo");
        let sec = z.split("Node 0, zone    DMA32").nth(1).unwrap().to_string();
        sec.lines()
            .find(|l| l.contains("protection:"))
            .unwrap()
            .trim()
            .to_string()
    };
    let normal_managed = m.state().unwrap().zones[1].managed as u64;
    assert_eq!(
        protection(&mut m),
        format!("protection: (0, {0}, {0})", normal_managed / 256)
    );
    numasim::procfs::write(&mut m, f, "128").unwrap();
    assert_eq!(cat(&mut m, f), "128\t32\t0\n");
    assert_eq!(
        protection(&mut m),
        format!("protection: (0, {0}, {0})", normal_managed / 128)
    );
    numasim::procfs::write(&mut m, f, "-5 32 0").unwrap();
    assert_eq!(cat(&mut m, f), "0\t32\t0\n");
    assert_eq!(protection(&mut m), "protection: (0, 0, 0)");
    // The handler ignores proc_dointvec_minmax()'s errors (as measured in
    // ../shared/realkernel: `echo x`, `echo ''` and six values for five
    // zones all succeed): values up to the first bad one are taken, extra
    // ones dropped.
    for (w, after) in [
        ("x", "0\t32\t0\n"),
        ("", "0\t32\t0\n"),
        ("7 x 9", "7\t32\t0\n"),
        ("1 2 3 4", "1\t2\t3\n"),
    ] {
        numasim::procfs::write(&mut m, f, w).unwrap();
        assert_eq!(cat(&mut m, f), after, "after {w:?}");
    }
}
