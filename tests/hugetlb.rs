//! Hugetlb pools, reservations, surplus, migration, offlining and HVO
//! vmemmap states, against Documentation/admin-guide/mm/hugetlbpage.rst,
//! mm/hugetlb.c and mm/hugetlb_vmemmap.c; parity on the GPU backend.

use numasim::engine::gpu::GpuBackend;
use numasim::engine::parity::compare;
use numasim::kernel::boot::boot_buffers;
use numasim::kernel::hugetlb::*;
use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;
use numasim::procfs::shell::{exec_line, run_setup};
use numasim::procfs::{read, write, Errno};

mod common;
use common::gpu;

/// Two nodes of 64 MiB at distance 20, idle tasks on each, one bound.
const TWO: &str = r#"
name = "two"
distances = [[10, 20], [20, 10]]
[[nodes]]
memory_mib = 64
cpus = 1
[[nodes]]
memory_mib = 64
cpus = 1
[[workloads]]
name = "idle"
classes = []
[[workloads]]
name = "anon"
classes = [ { class = "anon", rate_per_s = 20000, lifetime_ms = 0 } ]
[[tasks]]
name = "a"
cpu = 0
workload = "idle"
[[tasks]]
name = "b"
cpu = 1
workload = "idle"
policy = "bind:1"
"#;

/// The same scenario and seed on the CPU reference and on the GPU backend.
fn pair(
    s: &Scenario,
    seed: u64,
    ctx: numasim::engine::gpu::device::GpuContext,
) -> (Machine, Machine) {
    let cpu = Machine::boot(s.clone(), Some(seed)).unwrap();
    let g = GpuBackend::new(ctx, boot_buffers(s, seed)).unwrap();
    let gpu = Machine::with_backend(s.clone(), seed, Box::new(g)).unwrap();
    (cpu, gpu)
}

/// Both machines hold byte-identical buffers, or the first difference is
/// named after `when`.
fn assert_same_buffers(cpu: &mut Machine, gpu: &mut Machine, when: &str) {
    let (x, y) = (cpu.buffers().unwrap().clone(), gpu.buffers().unwrap());
    if let Some((buf, i, l, r)) = compare(&x, y) {
        panic!("{when}: {buf}[{i}] is {l} on the CPU reference but {r} on the GPU");
    }
}

fn boot(src: &str) -> Machine {
    Machine::boot(Scenario::parse(src, "test.toml").unwrap(), None).unwrap()
}

fn sh(m: &mut Machine, line: &str) -> String {
    exec_line(m, line).unwrap_or_else(|e| panic!("`{line}`: {e}"))
}

fn num(m: &mut Machine, path: &str) -> u64 {
    read(m, path).unwrap().trim().parse().unwrap()
}

const PROC_NR: &str = "/proc/sys/vm/nr_hugepages";
const SYS_2M: &str = "/sys/kernel/mm/hugepages/hugepages-2048kB";
const SYS_1G: &str = "/sys/kernel/mm/hugepages/hugepages-1048576kB";

fn node_file(n: u32, f: &str) -> String {
    format!("/sys/devices/system/node/node{n}/hugepages/hugepages-2048kB/{f}")
}

fn meminfo_field(m: &mut Machine, field: &str) -> u64 {
    let s = read(m, "/proc/meminfo").unwrap();
    let l = s.lines().find(|l| l.starts_with(field)).unwrap();
    l.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// hugetlbpage.rst: growing allocates interleaved over the allowed nodes;
/// shrinking frees only free, unreserved pages and turns what cannot be
/// freed into surplus, even beyond nr_overcommit_hugepages;
/// /proc/sys/vm/nr_hugepages shows persistent pages, HugePages_Total and
/// the sysfs nr_hugepages include surplus; growing again first turns
/// surplus into persistent pages (set_max_huge_pages()).
#[test]
fn resize_semantics() {
    let mut m = boot(TWO);
    sh(&mut m, "echo 10 > /proc/sys/vm/nr_hugepages");
    assert_eq!(num(&mut m, PROC_NR), 10);
    assert_eq!(num(&mut m, &node_file(0, "nr_hugepages")), 5);
    assert_eq!(num(&mut m, &node_file(1, "nr_hugepages")), 5);
    sh(&mut m, "map used task=a pages=4");
    sh(&mut m, "touch used");
    sh(&mut m, "map held task=a pages=2");
    assert_eq!(num(&mut m, &format!("{SYS_2M}/resv_hugepages")), 2);
    assert_eq!(meminfo_field(&mut m, "HugePages_Free:"), 6);
    sh(&mut m, "echo 0 > /proc/sys/vm/nr_hugepages");
    // 4 in use + 2 reserved stay; the 4 free unreserved ones are freed.
    assert_eq!(num(&mut m, PROC_NR), 0, "persistent pages");
    assert_eq!(num(&mut m, &format!("{SYS_2M}/nr_hugepages")), 6);
    assert_eq!(meminfo_field(&mut m, "HugePages_Total:"), 6);
    assert_eq!(meminfo_field(&mut m, "HugePages_Surp:"), 6);
    assert_eq!(num(&mut m, "/proc/sys/vm/nr_overcommit_hugepages"), 0);
    m.check().unwrap();
    // Growing: the 6 surplus pages become persistent, then 2 fresh ones.
    sh(&mut m, "echo 8 > /proc/sys/vm/nr_hugepages");
    assert_eq!(num(&mut m, PROC_NR), 8);
    assert_eq!(meminfo_field(&mut m, "HugePages_Surp:"), 0);
    assert_eq!(meminfo_field(&mut m, "HugePages_Total:"), 8);
    // A per-node write is a global target: node 1 to 1 page.
    let n0 = num(&mut m, &node_file(0, "nr_hugepages"));
    let n1 = num(&mut m, &node_file(1, "nr_hugepages"));
    sh(
        &mut m,
        &format!("echo 1 > {}", node_file(1, "nr_hugepages")),
    );
    assert_eq!(num(&mut m, &node_file(0, "nr_hugepages")), n0);
    let n1_after = num(&mut m, &node_file(1, "nr_hugepages"));
    // Node 1 frees its free pages down to what is in use or reserved there.
    assert!(n1_after < n1 && n1_after >= 1, "{n1} -> {n1_after}");
    assert_eq!(
        num(&mut m, PROC_NR),
        n0 + n1_after - num(&mut m, &node_file(1, "surplus_hugepages"))
    );
    sh(&mut m, "unmap used");
    sh(&mut m, "unmap held");
    m.check().unwrap();
    // Allocation falls short when memory is short: ask for more than fits.
    sh(&mut m, "echo 100 > /proc/sys/vm/nr_hugepages");
    let got = num(&mut m, PROC_NR);
    assert!(got > 40 && got < 64, "{got} pages of 2 MiB in 128 MiB");
    m.check().unwrap();
}

/// Writes the kernel refuses: EINVAL for non-numeric and negative values
/// (kstrtoul), for overcommitting gigantic pages
/// (nr_overcommit_hugepages_store()), EACCES for read-only attributes,
/// ENOMEM for a reservation that cannot be met (hugetlb_acct_memory());
/// none changes anything.
#[test]
fn refused_writes_change_nothing() {
    let mut m = boot(TWO);
    sh(&mut m, "echo 4 > /proc/sys/vm/nr_hugepages");
    let digest = m.digest().unwrap();
    let table = read(&mut m, "/sys/kernel/debug/numasim/hugetlb").unwrap();
    for (path, v, errno) in [
        (PROC_NR.to_string(), "four", Errno::EINVAL),
        (PROC_NR.to_string(), "-1", Errno::EINVAL),
        (format!("{SYS_2M}/nr_hugepages"), "1x", Errno::EINVAL),
        (
            format!("{SYS_1G}/nr_overcommit_hugepages"),
            "1",
            Errno::EINVAL,
        ),
        (format!("{SYS_2M}/free_hugepages"), "1", Errno::EACCES),
        (format!("{SYS_2M}/resv_hugepages"), "1", Errno::EACCES),
        (node_file(0, "surplus_hugepages"), "1", Errno::EACCES),
        (
            "/proc/sys/vm/hugetlb_optimize_vmemmap".to_string(),
            "yes",
            Errno::EINVAL,
        ),
    ] {
        let e = write(&mut m, &path, v).unwrap_err();
        assert_eq!(e.errno, errno, "{path} <- {v}: {e}");
        assert!(e.to_string().contains(&path), "{e}");
    }
    let e = exec_line(&mut m, "map big task=a pages=5").unwrap_err();
    assert!(
        e.contains("ENOMEM") && e.contains("cannot reserve 5"),
        "{e}"
    );
    let e = exec_line(&mut m, "map g task=a pages=1 size=1G").unwrap_err();
    assert!(e.contains("ENOMEM") && e.contains("gigantic"), "{e}");
    assert_eq!(m.digest().unwrap(), digest);
    assert_eq!(
        read(&mut m, "/sys/kernel/debug/numasim/hugetlb").unwrap(),
        table
    );
    assert!(m.hugetlb.mappings.is_empty());
    m.check().unwrap();
}

/// Reservations at map time (shared and private), consumed by faults;
/// MAP_NORESERVE takes only unreserved pages, then surplus pages; unmap
/// frees to the pool, or to the buddy allocator where the node has
/// surplus, and returns unused reservations and unused surplus pages.
#[test]
fn mappings_reserve_fault_and_unmap() {
    let mut m = boot(TWO);
    sh(&mut m, "echo 4 > /proc/sys/vm/nr_hugepages");
    sh(&mut m, "echo 2 > /proc/sys/vm/nr_overcommit_hugepages");
    // 6 reserved: 4 free pages, 2 surplus pages gathered.
    sh(&mut m, "map s task=a pages=6 shared");
    assert_eq!(meminfo_field(&mut m, "HugePages_Rsvd:"), 6);
    assert_eq!(meminfo_field(&mut m, "HugePages_Surp:"), 2);
    assert_eq!(meminfo_field(&mut m, "HugePages_Total:"), 6);
    sh(&mut m, "touch s 3");
    assert_eq!(meminfo_field(&mut m, "HugePages_Rsvd:"), 3);
    assert_eq!(meminfo_field(&mut m, "HugePages_Free:"), 3);
    // Nothing is available: a MAP_NORESERVE fault finds no page.
    sh(&mut m, "map n task=a pages=1 noreserve");
    let e = exec_line(&mut m, "touch n").unwrap_err();
    assert!(e.contains("SIGBUS"), "{e}");
    m.check().unwrap();
    // Unmap: 3 used pages are freed (2 of them to the buddy allocator,
    // as the nodes have surplus), 3 reservations are returned.
    sh(&mut m, "unmap s");
    assert_eq!(meminfo_field(&mut m, "HugePages_Rsvd:"), 0);
    assert_eq!(meminfo_field(&mut m, "HugePages_Surp:"), 0);
    assert_eq!(meminfo_field(&mut m, "HugePages_Total:"), 4);
    assert_eq!(meminfo_field(&mut m, "HugePages_Free:"), 4);
    // Now a MAP_NORESERVE fault takes an unreserved page.
    sh(&mut m, "touch n");
    assert_eq!(meminfo_field(&mut m, "HugePages_Free:"), 3);
    m.check().unwrap();
    // Faults follow the mempolicy: b is bound to node 1.
    sh(&mut m, "map p task=b pages=2 private");
    sh(&mut m, "touch p");
    let mp = &m.hugetlb.mappings[m.hugetlb.mapping("p").unwrap()];
    for p in mp.pages.values() {
        assert_eq!(m.hugetlb.pages[p].node, 1);
    }
    m.check().unwrap();
}

/// The migration scenario: db's four surplus pages move into node 1,
/// whose pool is fully used: four temporary pages appear and are gone
/// afterwards, the surplus moves to node 1 (move_hugetlb_state()), and the
/// counters agree at every step; with the flaw variant the checker names
/// the broken invariant and the tick.
#[test]
fn migration_into_a_full_pool() {
    let s = Scenario::load("hugetlb-migrate").unwrap();
    for flaw in [false, true] {
        let mut m = Machine::boot(s.clone(), None).unwrap();
        run_setup(&mut m, &mut std::io::sink()).unwrap();
        assert_eq!(m.hugetlb.hstates[HS_2M].surplus_huge_pages_node, vec![4, 0]);
        assert_eq!(m.hugetlb.hstates[HS_2M].free_huge_pages_node, vec![0, 0]);
        m.check().unwrap();
        if flaw {
            sh(
                &mut m,
                "echo 1 > /sys/kernel/debug/numasim/variants/hugetlb_temporary_surplus_flaw",
            );
        }
        let out = sh(&mut m, "migrate db 1");
        assert_eq!(out, "migrated 4 huge pages to node 1, 0 failed\n");
        assert_eq!(m.hugetlb.node_stats[1].temporary_allocs, 4);
        assert_eq!(m.hugetlb.temporary_on(0) + m.hugetlb.temporary_on(1), 0);
        assert_eq!(m.hugetlb.hstates[HS_2M].nr_huge_pages_node, vec![0, 12]);
        if flaw {
            let e = m.check().unwrap_err();
            assert_eq!(e.name, "hugetlb-surplus-sum");
            assert_eq!(e.tick, 10);
            assert!(e.detail.contains("sum of per-node surplus"), "{e}");
        } else {
            assert_eq!(m.hugetlb.hstates[HS_2M].surplus_huge_pages_node, vec![0, 4]);
            m.check().unwrap();
            // Unmapping frees the surplus pages to the buddy allocator.
            sh(&mut m, "unmap heap");
            assert_eq!(m.hugetlb.hstates[HS_2M].nr_huge_pages, 8);
            sh(&mut m, "tick 5");
            m.check().unwrap();
        }
    }
}

/// The shrink scenario: every vmemmap restore fails under pressure, the
/// pages stay as surplus, the persistent count reads 0; a later use and
/// free of the pages, with memory back, empties the pool.
#[test]
fn shrink_under_pressure() {
    let s = Scenario::load("hugetlb-shrink-pressure").unwrap();
    let mut m = Machine::boot(s, None).unwrap();
    run_setup(&mut m, &mut std::io::sink()).unwrap();
    assert_eq!(num(&mut m, PROC_NR), 0);
    assert_eq!(meminfo_field(&mut m, "HugePages_Total:"), 20);
    assert_eq!(meminfo_field(&mut m, "HugePages_Surp:"), 20);
    assert_eq!(m.hugetlb.node_stats[0].restore_failures, 20);
    assert_eq!(m.hugetlb.node_stats[0].vmemmap_saved, 140);
    m.check().unwrap();
    sh(&mut m, "echo 0 > /proc/sys/vm/nr_hugepages");
    assert_eq!(
        meminfo_field(&mut m, "HugePages_Total:"),
        20,
        "nothing retries on its own"
    );
    sh(&mut m, "stop filler");
    sh(&mut m, "tick 2");
    sh(&mut m, "map again task=user pages=20");
    sh(&mut m, "touch again");
    sh(&mut m, "unmap again");
    assert_eq!(meminfo_field(&mut m, "HugePages_Total:"), 0);
    assert_eq!(m.hugetlb.node_stats[0].vmemmap_saved, 0);
    m.check().unwrap();
}

/// 1 GiB pages come from a contiguous range: movable allocations in it
/// migrate out; a range with unmovable allocations is skipped; no
/// overcommit for gigantic pages.
#[test]
fn gigantic_pages_from_a_contiguous_range() {
    let src = r#"
name = "giga"
[[nodes]]
memory_mib = 2560
cpus = 1
[[workloads]]
name = "anon"
classes = [ { class = "anon", rate_per_s = 200000, lifetime_ms = 0 } ]
[[workloads]]
name = "slab"
classes = [ { class = "slab", rate_per_s = 200000, lifetime_ms = 0 } ]
[[tasks]]
name = "a"
cpu = 0
workload = "anon"
"#;
    let mut m = boot(src);
    sh(&mut m, "tick 40");
    let anon_before = m.buffers().unwrap().class_pages_total()[0];
    assert!(anon_before > 5000);
    sh(&mut m, &format!("echo 2 > {SYS_1G}/nr_hugepages"));
    // 2.5 GiB minus the memmap: two aligned 1 GiB ranges, the first holds
    // the anon pages, which move.
    assert_eq!(num(&mut m, &format!("{SYS_1G}/nr_hugepages")), 2);
    assert_eq!(m.buffers().unwrap().class_pages_total()[0], anon_before);
    assert_eq!(meminfo_field(&mut m, "Hugetlb:"), 2 * 1048576);
    m.check().unwrap();
    sh(&mut m, "tick 5");
    m.check().unwrap();
    sh(&mut m, &format!("echo 0 > {SYS_1G}/nr_hugepages"));
    assert_eq!(num(&mut m, &format!("{SYS_1G}/nr_hugepages")), 0);
    m.check().unwrap();
    // Unmovable allocations in the first range: it fails, the page
    // comes from the second one, and a second page cannot be had.
    let mut u = boot(&src.replace("workload = \"anon\"", "workload = \"slab\""));
    sh(&mut u, "tick 40");
    sh(&mut u, &format!("echo 2 > {SYS_1G}/nr_hugepages"));
    assert_eq!(num(&mut u, &format!("{SYS_1G}/nr_hugepages")), 1);
    assert_eq!(
        u.hugetlb.pages.keys().copied().collect::<Vec<_>>(),
        vec![1 << 18]
    );
    u.check().unwrap();
}

/// Offlining a memory block migrates the huge pages in use out of it
/// (to the other node first) and dissolves the free ones; onlining gives
/// the memory back.
#[test]
fn offline_and_online_a_memory_block() {
    let mut m = boot(TWO);
    sh(&mut m, "echo 1 > /proc/sys/vm/hugetlb_optimize_vmemmap");
    sh(
        &mut m,
        &format!("echo 20 > {}", node_file(0, "nr_hugepages")),
    );
    sh(&mut m, "map x task=a pages=10");
    sh(&mut m, "touch x");
    let total0 = meminfo_field(&mut m, "MemTotal:");
    assert_eq!(
        read(&mut m, "/sys/devices/system/memory/block_size_bytes").unwrap(),
        "8000000\n"
    );
    // Node 0 is one 64 MiB zone: half a block. Use 384 MiB nodes
    // (blocks 0-2 on node 0; its memmap is at the top of block 2).
    let e = write(
        &mut m,
        "/sys/devices/system/memory/memory0/state",
        "offline",
    )
    .unwrap_err();
    assert_eq!(e.errno, Errno::EINVAL, "{e}");
    let mut big = boot(&TWO.replace("memory_mib = 64", "memory_mib = 384"));
    sh(&mut big, "echo 1 > /proc/sys/vm/hugetlb_optimize_vmemmap");
    sh(
        &mut big,
        &format!("echo 100 > {}", node_file(0, "nr_hugepages")),
    );
    sh(&mut big, "map x task=a pages=80");
    sh(&mut big, "touch x");
    let before = big.hugetlb.hstates[HS_2M].nr_huge_pages_node.clone();
    sh(
        &mut big,
        "echo offline > /sys/devices/system/memory/memory1/state",
    );
    assert_eq!(
        read(&mut big, "/sys/devices/system/memory/memory1/state").unwrap(),
        "offline\n"
    );
    let after = big.hugetlb.hstates[HS_2M].nr_huge_pages_node.clone();
    assert!(after[0] < before[0], "{before:?} -> {after:?}");
    assert!(big.hugetlb.node_stats[1].migrated_in > 0);
    big.check().unwrap();
    sh(&mut big, "tick 5");
    big.check().unwrap();
    let t_off = meminfo_field(&mut big, "MemTotal:");
    sh(
        &mut big,
        "echo online > /sys/devices/system/memory/memory1/state",
    );
    assert_eq!(meminfo_field(&mut big, "MemTotal:"), t_off + 128 * 1024);
    big.check().unwrap();
    // Block 0 holds the vmemmap PTE table HVO allocated, block 2 the
    // memmap: neither can be migrated, EBUSY, and nothing changes.
    let d = big.digest().unwrap();
    for b in [0, 2] {
        let e = write(
            &mut big,
            &format!("/sys/devices/system/memory/memory{b}/state"),
            "offline",
        )
        .unwrap_err();
        assert_eq!(e.errno, Errno::EBUSY, "{e}");
    }
    assert_eq!(big.digest().unwrap(), d);
    big.check().unwrap();
    assert!(total0 > 0);
}

/// HVO frees 7 of 8 vmemmap pages per 2 MiB page (6 with the 2021
/// variant), splits one PMD per 64 pages, and turning the sysctl off
/// affects only pages allocated afterwards.
#[test]
fn hvo_counts_and_the_sysctl() {
    for keep_two in [false, true] {
        let mut m = boot(TWO);
        if keep_two {
            sh(
                &mut m,
                "echo 1 > /sys/kernel/debug/numasim/variants/hvo_keep_two",
            );
        }
        sh(&mut m, "echo 1 > /proc/sys/vm/hugetlb_optimize_vmemmap");
        let total = meminfo_field(&mut m, "MemTotal:");
        sh(&mut m, "echo 10 > /proc/sys/vm/nr_hugepages");
        let per = if keep_two { 6 } else { 7 };
        let saved: u64 = m.hugetlb.node_stats.iter().map(|s| s.vmemmap_saved).sum();
        assert_eq!(saved, 10 * per);
        // All 10 pages' struct pages sit under the first vmemmap PMD
        // (512 vmemmap pages: 128 MiB of memory).
        assert_eq!(
            m.hugetlb
                .node_stats
                .iter()
                .map(|s| s.pmd_splits)
                .sum::<u64>(),
            1
        );
        // Boot memmap pages given back join MemTotal; the PTE tables are
        // allocated from it.
        assert_eq!(meminfo_field(&mut m, "MemTotal:"), total + 4 * 10 * per);
        sh(&mut m, "echo 0 > /proc/sys/vm/hugetlb_optimize_vmemmap");
        sh(&mut m, "echo 14 > /proc/sys/vm/nr_hugepages");
        let saved2: u64 = m.hugetlb.node_stats.iter().map(|s| s.vmemmap_saved).sum();
        assert_eq!(
            saved2, saved,
            "pages allocated with HVO off keep their vmemmap"
        );
        m.check().unwrap();
        sh(&mut m, "echo 0 > /proc/sys/vm/nr_hugepages");
        let saved3: u64 = m.hugetlb.node_stats.iter().map(|s| s.vmemmap_saved).sum();
        assert_eq!(saved3, 0);
        // Split PMDs are not coalesced again.
        assert_eq!(
            m.hugetlb
                .node_stats
                .iter()
                .map(|s| s.pmd_splits)
                .sum::<u64>(),
            1
        );
        m.check().unwrap();
    }
}

/// `pgalloc` (summed over the `pgalloc_*` zone types) and `pgfree` from
/// one read of /proc/vmstat.
fn alloc_free(m: &mut Machine) -> (u64, u64) {
    let text = read(m, "/proc/vmstat").unwrap();
    let (mut alloc, mut free) = (0, 0);
    for (k, v) in text.lines().filter_map(|l| l.split_once(' ')) {
        let v: u64 = v.parse().unwrap();
        if k.starts_with("pgalloc_") {
            alloc += v;
        } else if k == "pgfree" {
            free += v;
        }
    }
    (alloc, free)
}

/// Pool pages come from the buddy allocator and go back to it, so
/// /proc/vmstat counts them: `alloc_buddy_hugetlb_folio()` counts 512
/// pgalloc per 2 MiB page (rmqueue()), `__free_pages()` 512 pgfree; the
/// vmemmap restore allocates order-0 pages (`alloc_vmemmap_page_list()`)
/// and HVO's PTE tables are allocated too (`pte_alloc_one_kernel()`).
/// Boot memmap pages given back by HVO enter the allocator like boot
/// memory, uncounted. 1 GiB pages come from `alloc_contig_range()`, which
/// isolates without counting pgalloc; `free_contig_range()` counts pgfree.
#[test]
fn vmstat_counts_pool_pages_allocated_and_freed() {
    let mut m = boot(TWO);
    let (a0, f0) = alloc_free(&mut m);
    sh(&mut m, "echo 1 > /proc/sys/vm/hugetlb_optimize_vmemmap");
    sh(&mut m, "echo 10 > /proc/sys/vm/nr_hugepages");
    let splits: u64 = m.hugetlb.node_stats.iter().map(|s| s.pmd_splits).sum();
    assert_eq!(splits, 1);
    let (a1, f1) = alloc_free(&mut m);
    assert_eq!(a1 - a0, 10 * 512 + splits, "pages and one PTE table");
    assert_eq!(f1 - f0, 0, "boot memmap pages given back count no pgfree");
    m.check().unwrap();
    sh(&mut m, "echo 0 > /proc/sys/vm/nr_hugepages");
    let (a2, f2) = alloc_free(&mut m);
    assert_eq!(a2 - a1, 10 * 7, "7 vmemmap pages restored per page");
    assert_eq!(f2 - f1, 10 * 512);
    m.check().unwrap();
    // Optimizing the same pages again frees the restored (runtime)
    // vmemmap pages: those count pgfree.
    sh(&mut m, "echo 10 > /proc/sys/vm/nr_hugepages");
    let (a3, f3) = alloc_free(&mut m);
    let runtime_before = 10 * 7;
    let runtime_now: u64 = m
        .buffers()
        .unwrap()
        .zone_state
        .iter()
        .map(|z| z.vmemmap_runtime_frames as u64)
        .sum::<u64>()
        - splits;
    assert_eq!(a3 - a2, 10 * 512);
    assert_eq!(f3 - f2, runtime_before - runtime_now);
    m.check().unwrap();

    // A gigantic page: no pgalloc for the range, pgfree for all of it.
    let src = r#"
name = "giga"
[[nodes]]
memory_mib = 2560
cpus = 1
"#;
    let mut g = boot(src);
    let (a0, f0) = alloc_free(&mut g);
    sh(&mut g, &format!("echo 1 > {SYS_1G}/nr_hugepages"));
    assert_eq!(num(&mut g, &format!("{SYS_1G}/nr_hugepages")), 1);
    assert_eq!(alloc_free(&mut g).0, a0);
    g.check().unwrap();
    sh(&mut g, &format!("echo 0 > {SYS_1G}/nr_hugepages"));
    assert_eq!(alloc_free(&mut g).1 - f0, 1 << 18);
    g.check().unwrap();
}

/// The 1 TiB scenario: 480,000 2 MiB pages, vmemmap saved is exactly
/// 7 (or 6) per page, one PMD split per 64 pages of each node.
#[test]
fn one_tib_vmemmap_saved_is_the_kernels_figure() {
    let s = Scenario::load("assets/scenarios/hugetlb-1tib-hvo.toml").unwrap();
    for keep_two in [false, true] {
        let mut m = Machine::boot(s.clone(), None).unwrap();
        if keep_two {
            sh(
                &mut m,
                "echo 1 > /sys/kernel/debug/numasim/variants/hvo_keep_two",
            );
        }
        run_setup(&mut m, &mut std::io::sink()).unwrap();
        assert_eq!(num(&mut m, PROC_NR), 480_000);
        let per = if keep_two { 6 } else { 7 };
        for n in 0..8 {
            assert_eq!(m.hugetlb.hstates[HS_2M].nr_huge_pages_node[n], 60_000);
            assert_eq!(m.hugetlb.node_stats[n].vmemmap_saved, 60_000 * per);
            assert_eq!(m.hugetlb.node_stats[n].pmd_splits, 60_000u64.div_ceil(64));
        }
        let vm = read(&mut m, "/proc/vmstat").unwrap();
        let field = |name: &str| -> u64 {
            vm.lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .unwrap()
                .parse()
                .unwrap()
        };
        // nr_memmap_boot_pages: the memmap (2^28 frames / 64) less what
        // HVO gave back.
        assert_eq!(
            field("nr_memmap_boot_pages"),
            (1 << 28) / 64 - 480_000 * per
        );
        m.check().unwrap();
    }
}

/// The same hugetlb commands on the CPU reference and on the GPU backend
/// leave byte-identical buffers (the writes go through hugetlb_apply on
/// the device), equal digests, and both machines pass the checker.
#[test]
fn gpu_parity_through_hugetlb_paths() {
    let Some(ctx) = gpu() else { return };
    let src = TWO.replace("memory_mib = 64", "memory_mib = 1152").replace(
        "name = \"b\"\ncpu = 1\nworkload = \"idle\"",
        "name = \"b\"\ncpu = 1\nworkload = \"anon\"",
    );
    let s = Scenario::parse(&src, "two-big").unwrap();
    let (mut cpu, mut gpu) = pair(&s, s.seed, ctx);
    let script = [
        "echo 1 > /proc/sys/vm/hugetlb_optimize_vmemmap",
        "tick 20",
        "echo 40 > /proc/sys/vm/nr_hugepages",
        "echo 1 > /sys/devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages",
        "map x task=a pages=12 shared",
        "touch x 8",
        "tick 10",
        "echo 4 > /proc/sys/vm/nr_overcommit_hugepages",
        "map y task=b pages=3 noreserve",
        "touch y",
        "migrate a 1",
        "tick 10",
        "echo 2 > /proc/sys/vm/nr_hugepages",
        "unmap x",
        "echo offline > /sys/devices/system/memory/memory2/state",
        "echo 0 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages",
        "tick 10",
    ];
    for line in script {
        let a = exec_line(&mut cpu, line);
        let b = exec_line(&mut gpu, line);
        assert_eq!(a, b, "`{line}`");
        assert_same_buffers(&mut cpu, &mut gpu, &format!("after `{line}`"));
    }
    assert!(cpu.hugetlb.hstates[HS_1G].nr_huge_pages_node[1] <= 1);
    assert!(
        cpu.hugetlb
            .node_stats
            .iter()
            .map(|s| s.vmemmap_saved)
            .sum::<u64>()
            > 0
    );
    assert_eq!(cpu.digest().unwrap(), gpu.digest().unwrap());
    assert_eq!(cpu.totals, gpu.totals);
    cpu.check().unwrap();
    gpu.check().unwrap();
}

/// Hugetlb and vmemmap frames have their own colors on the frame map, the
/// same from the shader and from its CPU twin.
#[test]
fn frame_map_colors_for_huge_pages_and_vmemmap() {
    use numasim::engine::frame_map::*;
    let mut m = Machine::boot(Scenario::load("hugetlb-migrate").unwrap(), None).unwrap();
    run_setup(&mut m, &mut std::io::sink()).unwrap();
    let b = m.buffers().unwrap().clone();
    let n = b.frames.len() as u32;
    let p = FrameMapParams {
        first_pfn: 0,
        frames_per_pixel: 1,
        width: 1024,
        height: n / 1024,
        nr_frames: n,
        probe_pfn: NO_PROBE,
        _pad: [0; 2],
    };
    let mut out = vec![0; p.out_words()];
    render(&b, &p, &mut out).unwrap();
    let pixels = &out[..n as usize];
    for cat in [CAT_HUGE_USED, CAT_VMEMMAP, CAT_VMEMMAP_PTE] {
        let c = PALETTE[cat as usize];
        assert!(pixels.contains(&c), "{} missing", category_name(cat));
    }
    // A used 2 MiB page's 512 frames are all its color.
    let (&pfn, _) = m
        .hugetlb
        .pages
        .iter()
        .find(|(_, p)| p.user.is_some())
        .unwrap();
    assert!(pixels[pfn as usize..pfn as usize + 512]
        .iter()
        .all(|&x| x == PALETTE[CAT_HUGE_USED as usize]));
    let Some(ctx) = gpu() else { return };
    let mut g = GpuBackend::new(ctx, b.clone()).unwrap();
    let words = g.frame_map(&p).unwrap();
    assert_eq!(words, out);
}

/// A command from a small alphabet of hugetlb operations.
fn random_command(r: &mut u64) -> String {
    let mut next = |n: u64| {
        *r = r
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*r >> 33) % n
    };
    let name = ["m0", "m1", "m2"][next(3) as usize];
    let task = ["a", "b"][next(2) as usize];
    match next(11) {
        0 => format!("echo {} > /proc/sys/vm/nr_hugepages", next(40)),
        1 => format!(
            "echo {} > /sys/devices/system/node/node{}/hugepages/hugepages-2048kB/nr_hugepages",
            next(20),
            next(2)
        ),
        2 => format!("echo {} > /proc/sys/vm/nr_overcommit_hugepages", next(8)),
        3 => format!(
            "map {name} task={task} pages={} {} {}",
            1 + next(8),
            ["shared", "private"][next(2) as usize],
            ["", "noreserve"][next(2) as usize]
        ),
        4 | 5 => format!("touch {name} {}", 1 + next(4)),
        6 => format!("unmap {name}"),
        7 => format!("migrate {task} {}", next(2)),
        8 => format!("echo {} > /proc/sys/vm/hugetlb_optimize_vmemmap", next(2)),
        9 => format!(
            "echo {} > /sys/kernel/debug/numasim/variants/hvo_keep_two",
            next(2)
        ),
        _ => format!("tick {}", 1 + next(5)),
    }
}

fn busy_two() -> Scenario {
    let src = TWO.replace(
        "name = \"b\"\ncpu = 1\nworkload = \"idle\"",
        "name = \"b\"\ncpu = 1\nworkload = \"anon\"",
    );
    Scenario::parse(&src, "busy-two").unwrap()
}

/// Property: any sequence of resizes, maps, touches, unmaps, migrations
/// and ticks keeps every invariant after every command (failed commands
/// included: they change nothing).
#[test]
fn random_sequences_keep_every_invariant_on_the_cpu() {
    let s = busy_two();
    for seed in 1..=12u64 {
        let mut m = Machine::boot(s.clone(), Some(seed)).unwrap();
        let mut r = seed;
        for i in 0..40 {
            let cmd = random_command(&mut r);
            let _ = exec_line(&mut m, &cmd);
            if let Err(e) = m.check() {
                panic!("seed {seed}, command {i} `{cmd}`: {e}");
            }
        }
    }
}

/// The same property on the GPU backend, with the CPU reference alongside:
/// both give the same answers and byte-identical buffers.
#[test]
fn random_sequences_agree_on_the_gpu() {
    let Some(ctx) = gpu() else { return };
    let s = busy_two();
    for seed in 1..=3u64 {
        let (mut cpu, mut gpu) = pair(&s, seed, ctx.clone());
        let mut r = seed;
        for i in 0..25 {
            let cmd = random_command(&mut r);
            let a = exec_line(&mut cpu, &cmd);
            let b = exec_line(&mut gpu, &cmd);
            assert_eq!(a, b, "seed {seed}, command {i} `{cmd}`");
            gpu.check()
                .unwrap_or_else(|e| panic!("seed {seed}, command {i} `{cmd}`: {e}"));
        }
        assert_same_buffers(&mut cpu, &mut gpu, &format!("seed {seed}"));
        assert_eq!(cpu.digest().unwrap(), gpu.digest().unwrap());
    }
}

/// hugetlb_acct_memory() checks a reservation against allowed_mems_nr():
/// the free huge pages on the nodes the task may allocate from (its
/// MPOL_BIND nodes since 6.0). A task bound to node 1 cannot reserve the
/// pages of a pool on node 0: mmap() fails with ENOMEM and changes
/// nothing, instead of succeeding and SIGBUSing at the fault.
#[test]
fn mpol_bind_reservation_needs_pages_on_the_bound_nodes() {
    let mut m = boot(TWO);
    write(&mut m, &node_file(0, "nr_hugepages"), "4").unwrap();
    assert_eq!(num(&mut m, &node_file(0, "free_hugepages")), 4);
    assert_eq!(num(&mut m, &node_file(1, "free_hugepages")), 0);
    let digest = m.digest().unwrap();
    let e = exec_line(&mut m, "map p task=b pages=2").unwrap_err();
    assert!(
        e.contains("ENOMEM") && e.contains("allowed_mems_nr") && e.contains("nodes 1 have 0 free"),
        "{e}"
    );
    assert_eq!(meminfo_field(&mut m, "HugePages_Rsvd:"), 0);
    assert_eq!(
        m.digest().unwrap(),
        digest,
        "a refused mmap changes nothing"
    );
    m.check().unwrap();
    // Task a (default policy) may use node 0's pages.
    sh(&mut m, "map q task=a pages=2");
    assert_eq!(meminfo_field(&mut m, "HugePages_Rsvd:"), 2);
    sh(&mut m, "unmap q");
    // Overcommit does not help: gather_surplus_pages() allocates only
    // when the free pages of all nodes fall short of the reservations (4
    // free cover 2), so allowed_mems_nr() still sees 0 on node 1.
    write(&mut m, &format!("{SYS_2M}/nr_overcommit_hugepages"), "2").unwrap();
    let e = exec_line(&mut m, "map p task=b pages=2").unwrap_err();
    assert!(e.contains("ENOMEM"), "{e}");
    assert_eq!(num(&mut m, &format!("{SYS_2M}/surplus_hugepages")), 0);
    m.check().unwrap();
    // Pages in node 1's pool: b reserves them and faults there.
    write(&mut m, &node_file(1, "nr_hugepages"), "2").unwrap();
    sh(&mut m, "map p task=b pages=2");
    assert_eq!(meminfo_field(&mut m, "HugePages_Rsvd:"), 2);
    sh(&mut m, "touch p");
    let mp = &m.hugetlb.mappings[m.hugetlb.mapping("p").unwrap()];
    assert_eq!(mp.pages.len(), 2);
    for p in mp.pages.values() {
        assert_eq!(m.hugetlb.pages[p].node, 1);
    }
    m.check().unwrap();
}

/// What offlining leaves in the files (mm/memory_hotplug.c
/// offline_pages()): present pages lowered, the span shrunk when the
/// block is at the zone's end (shrink_zone_span()), the watermarks
/// recomputed from the managed pages left (init_per_zone_wmark_min()),
/// pagetypeinfo's block counts without offline pageblocks
/// (pfn_to_online_page()), valid_zones listing the zones the block could
/// be onlined to, and pgmigrate_success for the huge pages moved out.
#[test]
fn offlining_updates_zoneinfo_pagetypeinfo_and_valid_zones() {
    let mut m = boot(&TWO.replace("memory_mib = 64", "memory_mib = 384"));
    sh(
        &mut m,
        &format!("echo 100 > {}", node_file(0, "nr_hugepages")),
    );
    sh(&mut m, "map x task=a pages=80");
    sh(&mut m, "touch x");
    let zone_field = |m: &mut Machine, node: u32, key: &str| -> u64 {
        let zi = read(m, "/proc/zoneinfo").unwrap();
        let sec = zi
            .split("Node ")
            .find(|s| s.starts_with(&format!("{node}, zone   Normal")))
            .unwrap()
            .to_string();
        sec.lines()
            .find_map(|l| l.trim().strip_prefix(key)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{key} in {sec}"))
    };
    let blocks_of = |m: &mut Machine| -> u64 {
        let p = read(m, "/proc/pagetypeinfo").unwrap();
        let l = p
            .lines()
            .find(|l| l.starts_with("Node 0, zone   Normal ") && !l.contains("type"))
            .unwrap()
            .to_string();
        l.split_whitespace()
            .skip(4)
            .map(|x| x.parse::<u64>().unwrap())
            .sum()
    };
    let present0 = zone_field(&mut m, 0, "present");
    let spanned0 = zone_field(&mut m, 0, "spanned");
    let min0 = zone_field(&mut m, 0, "min");
    let blocks0 = blocks_of(&mut m);
    let mig0 = vmstat(&mut m, "pgmigrate_success");
    assert_eq!(
        read(&mut m, "/sys/devices/system/memory/memory1/valid_zones").unwrap(),
        "Normal\n"
    );
    sh(
        &mut m,
        "echo offline > /sys/devices/system/memory/memory1/state",
    );
    let block = 32768u64;
    assert_eq!(zone_field(&mut m, 0, "present"), present0 - block);
    // Block 1 is in the middle of node 0's zone: the span stays.
    assert_eq!(zone_field(&mut m, 0, "spanned"), spanned0);
    assert!(
        zone_field(&mut m, 0, "min") < min0,
        "watermarks follow the managed pages"
    );
    assert_eq!(blocks_of(&mut m), blocks0 - block / 512);
    assert_eq!(
        read(&mut m, "/sys/devices/system/memory/memory1/valid_zones").unwrap(),
        "Normal Movable\n"
    );
    // state_store(): a block already offline is EINVAL (Debian's 6.1
    // answers an `online` of an online block the same way).
    let e = write(
        &mut m,
        "/sys/devices/system/memory/memory1/state",
        "offline",
    )
    .unwrap_err();
    assert_eq!(e.errno, Errno::EINVAL, "{e}");
    let moved = vmstat(&mut m, "pgmigrate_success") - mig0;
    assert!(moved > 0 && moved.is_multiple_of(512), "{moved}");
    m.check().unwrap();
    sh(
        &mut m,
        "echo online > /sys/devices/system/memory/memory1/state",
    );
    let e = write(&mut m, "/sys/devices/system/memory/memory1/state", "online").unwrap_err();
    assert_eq!(e.errno, Errno::EINVAL, "{e}");
    assert_eq!(zone_field(&mut m, 0, "present"), present0);
    assert_eq!(zone_field(&mut m, 0, "min"), min0);
    assert_eq!(blocks_of(&mut m), blocks0);
}

fn vmstat(m: &mut Machine, key: &str) -> u64 {
    common::vmstat_value(&read(m, "/proc/vmstat").unwrap(), key)
}
