//! Buddy allocator semantics against what mm/page_alloc.c would do.

mod common;
use common::*;
use numasim::engine::types::*;
use numasim::model::frame::*;
use numasim::model::workload::Mempolicy;

fn buddyinfo_counts(m: &mut numasim::kernel::Machine) -> Vec<Vec<u64>> {
    cat(m, "/proc/buddyinfo")
        .lines()
        .map(|l| {
            l.split_whitespace()
                .skip(4)
                .map(|x| x.parse().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn one_page_splits_a_max_order_block_like_expand() {
    // expand(): taking one order-0 page from an order-10 block leaves one
    // free block at each order 0..=9.
    let mut m = machine(ONE_BLOCK);
    assert_eq!(
        buddyinfo_counts(&mut m),
        vec![vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]]
    );
    m.spawn("t", 0, "one-page-per-tick", Mempolicy::Local, 1.0, 0, None)
        .unwrap();
    m.step().unwrap();
    assert_eq!(cat(&mut m, "/proc/buddyinfo"), "Node 0, zone   Normal      1      1      1      1      1      1      1      1      1      1      0 \n");
    // The page handed out is the lowest of the block, as expand() keeps the
    // low half and frees the high halves.
    let b = m.buffers().unwrap();
    assert_eq!(kind(b.frames[0]), KIND_ALLOC);
    assert_eq!(order(b.frames[0]), 0);
    // Three pages: 1021 = 0b1111111101 pages stay free.
    m.step().unwrap();
    m.step().unwrap();
    assert_eq!(
        buddyinfo_counts(&mut m),
        vec![vec![1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0]]
    );
    m.check().unwrap();
}

#[test]
fn freeing_everything_restores_max_order_blocks() {
    let mut m = machine(include_str!("../assets/scenarios/small.toml"));
    m.run(800, |_| {}).unwrap();
    let before = buddyinfo_counts(&mut m);
    assert!(
        before.iter().any(|z| z[..10].iter().any(|&n| n > 0)),
        "the run should have fragmented memory"
    );
    let names: Vec<String> = m.tasks.iter().map(|t| t.name.clone()).collect();
    for n in names {
        m.stop(&n).unwrap();
    }
    m.step().unwrap();
    m.check().unwrap();
    let b = m.buffers().unwrap();
    for (z, zd) in b.zones.iter().enumerate() {
        let free = &b.zone_state[z];
        let blocks: u32 = free.free_area[10].iter().sum();
        assert_eq!(
            blocks as u64 * 1024,
            zd.managed as u64,
            "zone {z} is whole again"
        );
        assert_eq!(free.nr_free, zd.managed);
    }
    for z in buddyinfo_counts(&mut m) {
        assert!(z[..10].iter().all(|&n| n == 0), "{z:?}");
    }
}

#[test]
fn fallback_across_nodes_follows_distance() {
    // Node 0 is 10 away from node 2 and 30 from node 1: once node 0 is at
    // its low watermark, allocations go to node 2 and only then to node 1.
    let src = r#"
distances = [[10, 30, 12], [30, 10, 30], [12, 30, 10]]
[[nodes]]
memory_mib = 32
cpus = 1
[[nodes]]
memory_mib = 32
cpus = 1
[[nodes]]
memory_mib = 32
cpus = 1
[[workloads]]
name = "hog"
classes = [ { class = "pinned", rate_per_s = 20000, lifetime_ms = 0 } ]
"#;
    let mut m = machine(src);
    m.spawn("hog", 0, "hog", Mempolicy::Local, 1.0, 0, None)
        .unwrap();
    let used = |m: &mut numasim::kernel::Machine, node: usize| -> u64 {
        let b = m.buffers().unwrap();
        b.zone_state[node]
            .class_pages
            .iter()
            .map(|&x| x as u64)
            .sum()
    };
    // 20 pages per tick; each node has 6144 managed pages.
    m.run(400, |_| {}).unwrap();
    assert!(used(&mut m, 0) > 5000, "node 0 fills first");
    assert!(used(&mut m, 2) > 0, "then node 2, the nearer one");
    assert_eq!(
        used(&mut m, 1),
        0,
        "node 1 is untouched while node 2 has room"
    );
    m.run(400, |_| {}).unwrap();
    assert!(used(&mut m, 1) > 0, "node 1 last");
    m.check().unwrap();
    assert!(m.total(ZS_NUMA_MISS, Some(2)) > 0 && m.total(ZS_NUMA_FOREIGN, Some(0)) > 0);
}

#[test]
fn allocations_never_take_a_zone_below_its_min_watermark() {
    let mut m = machine(include_str!("../assets/scenarios/stress-frag.toml"));
    for _ in 0..1500 {
        m.step().unwrap();
        let b = m.buffers().unwrap();
        for (z, zd) in b.zones.iter().enumerate() {
            // Frees only add; allocation stops at min (+ lowmem reserve).
            assert!(
                b.zone_state[z].nr_free >= zd.wmark_min,
                "zone {z}: free {} < min {} at tick {}",
                b.zone_state[z].nr_free,
                zd.wmark_min,
                b.params.tick
            );
        }
    }
    assert!(
        m.total(ZS_PGSTEAL_KSWAPD, None) > 0,
        "the run reached reclaim"
    );
}

#[test]
fn stopping_a_task_frees_its_memory_next_tick() {
    let mut m = machine(ONE_BLOCK);
    m.spawn("t", 0, "one-page-per-tick", Mempolicy::Local, 1.0, 0, None)
        .unwrap();
    m.run(10, |_| {}).unwrap();
    assert_eq!(
        m.buffers().unwrap().zone_state[0]
            .class_pages
            .iter()
            .sum::<u32>(),
        10
    );
    m.stop("t").unwrap();
    m.step().unwrap();
    assert_eq!(
        m.buffers().unwrap().zone_state[0]
            .class_pages
            .iter()
            .sum::<u32>(),
        0
    );
    assert_eq!(
        buddyinfo_counts(&mut m),
        vec![vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]]
    );
    assert_eq!(m.total(ZS_PGFREE, None), 10);
}

#[test]
fn interleave_spreads_pages_round_robin() {
    let src = r#"
distances = [[10, 20], [20, 10]]
[[nodes]]
memory_mib = 64
cpus = 1
[[nodes]]
memory_mib = 64
cpus = 1
[[workloads]]
name = "three-per-tick"
classes = [ { class = "pinned", rate_per_s = 3000, lifetime_ms = 0 } ]
"#;
    let mut m = machine(src);
    m.spawn(
        "il",
        0,
        "three-per-tick",
        Mempolicy::Interleave(vec![0, 1]),
        1.0,
        0,
        None,
    )
    .unwrap();
    m.run(10, |_| {}).unwrap();
    // 30 pages alternate 0,1,0,1,...: 15 each, all interleave hits.
    let b = m.buffers().unwrap();
    assert_eq!(b.zone_state[0].class_pages[9], 15);
    assert_eq!(b.zone_state[1].class_pages[9], 15);
    assert_eq!(m.total(ZS_NUMA_INTERLEAVE, None), 30);
    assert_eq!(
        m.total(ZS_NUMA_OTHER, None),
        15,
        "pages on node 1 are remote to cpu 0"
    );
}
