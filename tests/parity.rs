//! GPU backend against the CPU reference: byte-identical buffers, equal
//! counters, the same digest. Runs on whatever adapter is present (lavapipe
//! in CI). Without an adapter the tests say they were skipped, and fail when
//! NUMASIM_REQUIRE_GPU=1.

use numasim::engine::gpu::{device, GpuBackend};
use numasim::engine::parity::{compare, diagnose};
use numasim::kernel::boot::boot_buffers;
use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;

mod common;
use common::gpu;

/// Two machines on the same scenario and seed, one per backend.
fn pair(src: &str, name: &str, ctx: device::GpuContext) -> (Machine, Machine) {
    let s = Scenario::parse(src, name).unwrap();
    let cpu = Machine::boot(s.clone(), None).unwrap();
    let gpu = GpuBackend::new(ctx, boot_buffers(&s, s.seed)).unwrap();
    let gpu = Machine::with_backend(s.clone(), s.seed, Box::new(gpu)).unwrap();
    (cpu, gpu)
}

#[test]
fn phase_by_phase_parity_on_the_small_preset() {
    let Some(ctx) = gpu() else { return };
    let (mut cpu, mut gpu) = pair(include_str!("../assets/scenarios/small.toml"), "small", ctx);
    let m = diagnose(cpu.backend_mut(), gpu.backend_mut(), 0, 6, |_| {}).unwrap();
    assert!(m.is_none(), "{}", m.unwrap());
}

/// Runs both machines `ticks` ticks in batches and requires identical
/// buffers, counters and digests; names the first difference if not.
fn run_parity(src: &str, name: &str, ticks: u64) -> Machine {
    let Some(ctx) = gpu() else {
        return Machine::boot(Scenario::parse(src, name).unwrap(), None).unwrap();
    };
    let (mut cpu, mut gpu) = pair(src, name, ctx);
    let mut done = 0;
    while done < ticks {
        let k = (ticks - done).min(250);
        cpu.advance(k).unwrap();
        gpu.advance(k).unwrap();
        done += k;
        let (a, b) = (cpu.buffers().unwrap().clone(), gpu.buffers().unwrap());
        if let Some((buf, i, l, r)) = compare(&a, b) {
            panic!("{name}: after tick {done}: {buf}[{i}] is {l} on the CPU reference but {r} on the GPU");
        }
    }
    assert_eq!(cpu.digest().unwrap(), gpu.digest().unwrap());
    assert_eq!(cpu.totals, gpu.totals);
    cpu.check().unwrap();
    gpu.check().unwrap();
    cpu
}

fn reduced_default() -> String {
    include_str!("../assets/scenarios/default.toml")
        .replace("memory_mib = 8192", "memory_mib = 256")
        .replace("dma32_mib = 3072", "dma32_mib = 64")
}

fn reduced_cxl() -> String {
    include_str!("../assets/scenarios/cxl.toml")
        .replace("memory_mib = 16384", "memory_mib = 256")
        .replace("dma32_mib = 3072", "dma32_mib = 64")
}

#[test]
fn parity_small_through_reclaim() {
    let m = run_parity(
        include_str!("../assets/scenarios/small.toml"),
        "small",
        1500,
    );
    if gpu().is_some() {
        assert!(
            m.total(numasim::engine::types::ZS_PGSTEAL_KSWAPD, None) > 0,
            "the run reached kswapd reclaim"
        );
    }
}

#[test]
fn parity_stress_frag_through_fallback_and_claims() {
    let m = run_parity(
        include_str!("../assets/scenarios/stress-frag.toml"),
        "stress-frag",
        1500,
    );
    if gpu().is_some() {
        use numasim::engine::types::*;
        assert!(m.total(ZS_PAGEBLOCK_CLAIM, None) > 0 && m.total(ZS_PGSTEAL_KSWAPD, None) > 0);
    }
}

#[test]
fn parity_default_reduced_under_pressure() {
    let m = run_parity(&reduced_default(), "default-reduced", 400);
    if gpu().is_some() {
        use numasim::engine::types::*;
        // Tasks built for 8 GiB nodes on 256 MiB ones: stalls, direct
        // reclaim and cross-node fallback all happen.
        assert!(m.total(ZS_ALLOCSTALL_MOVABLE, None) + m.total(ZS_ALLOCSTALL_NORMAL, None) > 0);
        assert!(m.total(ZS_NUMA_MISS, None) > 0);
    }
}

#[test]
fn parity_cxl_reduced_with_interleave() {
    let m = run_parity(&reduced_cxl(), "cxl-reduced", 400);
    if gpu().is_some() {
        assert!(m.total(numasim::engine::types::ZS_NUMA_INTERLEAVE, None) > 0);
    }
}

#[test]
fn device_loss_replays_from_the_last_snapshot_and_continues_on_the_cpu() {
    let Some(ctx) = gpu() else { return };
    let (mut cpu, mut gpu) = pair(include_str!("../assets/scenarios/small.toml"), "small", ctx);
    let script = |m: &mut Machine| {
        m.advance(120).unwrap();
        m.checkpoint().unwrap();
        m.advance(30).unwrap();
        // After the snapshot: a pool write (a request batch) and a task
        // stop (configuration and a batch), then more ticks.
        numasim::procfs::write(m, "/proc/sys/vm/nr_hugepages", "6").unwrap();
        let name = m.tasks[0].name.clone();
        m.stop(&name).unwrap();
        m.advance(15).unwrap();
    };
    script(&mut gpu);
    script(&mut cpu);
    gpu.backend_mut()
        .as_gpu()
        .expect("on the GPU")
        .simulate_device_loss();
    let err = gpu.advance(10).unwrap_err().to_string();
    assert!(err.contains("device was lost"), "{err}");
    // The run resumes from the snapshot, replayed to where it was:
    // nothing is lost, counters included.
    assert_eq!(gpu.recover_on_cpu().unwrap(), 120);
    assert_eq!(gpu.tick, 165);
    assert!(gpu.backend_name().starts_with("cpu"));
    assert_eq!(gpu.digest().unwrap(), cpu.digest().unwrap());
    gpu.advance(35).unwrap();
    cpu.advance(35).unwrap();
    assert_eq!(gpu.digest().unwrap(), cpu.digest().unwrap());
    assert_eq!(gpu.totals, cpu.totals);
    assert_eq!(gpu.hugetlb.hstates[0].nr_huge_pages, 6);
}

#[test]
fn stats_ring_gives_the_newest_finished_sample_without_waiting() {
    let Some(ctx) = gpu() else { return };
    let (mut cpu, mut gpu) = pair(include_str!("../assets/scenarios/small.toml"), "small", ctx);
    // 48 ticks: three submissions of 16, each followed by a ring sample.
    gpu.backend_mut().run_ticks(48).unwrap();
    let mut seen = Vec::new();
    let mut newest = None;
    for _ in 0..2000 {
        if let Some(sample) = gpu.backend_mut().latest_stats() {
            seen.push(sample.tick);
            let done = sample.tick == 48;
            newest = Some(sample);
            if done {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(seen.last(), Some(&48), "samples seen: {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "samples only move forward: {seen:?}"
    );
    cpu.advance(48).unwrap();
    let newest = newest.unwrap();
    assert_eq!(newest.totals, cpu.totals);
    assert!(cpu.total(numasim::engine::types::ZS_ALLOCS, None) > 0);
    // An exact read after the sample was taken still sees tick 48.
    gpu.tick = 48;
    gpu.fold_stats().unwrap();
    assert_eq!(gpu.totals, cpu.totals);
}

/// Frame arrays split over several bindings (as on an adapter whose
/// largest binding is smaller than the machine) give the same results.
#[test]
fn parity_with_frame_arrays_split_into_parts() {
    let Some(ctx) = gpu() else { return };
    let src = include_str!("../assets/scenarios/small.toml");
    let s = Scenario::parse(src, "small").unwrap();
    let mut cpu = Machine::boot(s.clone(), None).unwrap();
    // 131072 frames in parts of 20480 frames: 7 parts, the last one short.
    let backend =
        GpuBackend::with_part_frames(ctx, boot_buffers(&s, s.seed), Some(20 * 1024)).unwrap();
    let mut gpu = Machine::with_backend(s.clone(), s.seed, Box::new(backend)).unwrap();
    let m = diagnose(cpu.backend_mut(), gpu.backend_mut(), 0, 3, |_| {}).unwrap();
    assert!(m.is_none(), "{}", m.unwrap());
    cpu.advance(400).unwrap();
    gpu.advance(400).unwrap();
    if let Some((buf, i, l, r)) = compare(cpu.buffers().unwrap(), gpu.buffers().unwrap()) {
        panic!("split frames: {buf}[{i}]: {l} vs {r}");
    }
    assert_eq!(cpu.digest().unwrap(), gpu.digest().unwrap());
}

/// A batch longer than the ring of statistics buffers (4 samples of 16
/// ticks) still reports its last tick without a blocking read: readers
/// such as the dashboard wait for exactly that sample.
#[test]
fn a_batch_longer_than_the_stats_ring_reports_its_last_tick() {
    let Some(ctx) = gpu() else { return };
    let s = Scenario::load("small").unwrap();
    let g = GpuBackend::new(ctx, boot_buffers(&s, s.seed)).unwrap();
    let mut m = Machine::with_backend(s.clone(), s.seed, Box::new(g)).unwrap();
    m.submit(100).unwrap();
    let t0 = std::time::Instant::now();
    let mut newest = 0;
    while newest < 100 && t0.elapsed() < std::time::Duration::from_secs(120) {
        if let Some(s) = m.poll_stats() {
            newest = newest.max(s.tick);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(newest, 100, "the batch's last sample never arrived");
    let mut cpu = Machine::boot(s, None).unwrap();
    cpu.advance(100).unwrap();
    assert_eq!(m.totals, cpu.totals);
}

/// kswapd failures (`pgdat->kswapd_failures`) count and stop kswapd the
/// same way on both backends: a node full of pinned pages goes
/// unreclaimable.
#[test]
fn parity_through_an_unreclaimable_node() {
    let m = run_parity(common::PINNED_FILL, "pinned-fill", 1500);
    if m.tick > 0 {
        let mut m = m;
        let b = m.state().unwrap();
        assert_eq!(b.node_state[0].kswapd_failures, 16);
    }
}

/// NUMA balancing on both backends: scans, hint faults from threads on
/// both nodes, the two-stage filter, base-page and THP migrations through
/// the plan and alloc_split, a task moved mid-run; phase by phase over
/// ticks full of migrations, then in batches.
#[test]
fn parity_through_numa_balancing() {
    let src = r#"
name = "numa"
distances = [[10, 20], [20, 10]]
[[nodes]]
memory_mib = 128
cpus = 2
[[nodes]]
memory_mib = 128
cpus = 2
[numa]
balancing = 1
scan_delay_ms = 50
scan_period_min_ms = 50
[[workloads]]
name = "heap"
classes = [ { class = "anon", rate_per_s = 8000, lifetime_ms = 3000 },
            { class = "thp", rate_per_s = 20, lifetime_ms = 3000 } ]
[[tasks]]
name = "mt"
cpu = 0
workload = "heap"
threads = 4
thread_cpus = "0,1,2,3"
[[tasks]]
name = "mover"
cpu = 1
workload = "heap"
moves = [{ at_ms = 300, cpus = "3" }]
[[tasks]]
name = "bg"
cpu = 2
workload = "mixed"
scale = 0.05
"#;
    let Some(ctx) = gpu() else { return };
    let (mut cpu, mut gpu) = pair(src, "numa", ctx);
    cpu.advance(330).unwrap();
    gpu.advance(330).unwrap();
    let m = diagnose(cpu.backend_mut(), gpu.backend_mut(), 330, 8, |_| {}).unwrap();
    assert!(m.is_none(), "{}", m.unwrap());
    let m = run_parity(src, "numa", 900);
    let vm = numasim::procfs::read(&mut { m }, "/proc/vmstat").unwrap();
    for key in [
        "numa_pages_migrated",
        "thp_migration_success",
        "numa_hint_faults",
    ] {
        assert!(common::vmstat_value(&vm, key) > 0, "{key} in\n{vm}");
    }
}
