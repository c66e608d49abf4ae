//! The engine's tables, request ring and control-path reads: the buffer
//! table packs and unpacks every row losslessly, a request batch applies
//! the same on both backends and leaves the counters a full recount would
//! give, control paths on the GPU never download the whole machine, and a
//! validation error names the pass and is never taken for a lost device.

use numasim::engine::buffers::{Sync, BUFFERS};
use numasim::engine::cpu::CpuBackend;
use numasim::engine::gpu::GpuBackend;
use numasim::engine::parity::compare;
use numasim::engine::requests::Request;
use numasim::engine::{Backend, EngineError, Phase};
use numasim::kernel::boot::boot_buffers;
use numasim::kernel::run::RunLoop;
use numasim::kernel::Machine;
use numasim::model::frame::*;
use numasim::model::scenario::Scenario;
use numasim::procfs;

mod common;
use common::gpu;

fn small() -> Scenario {
    Scenario::load("small").unwrap()
}

#[test]
fn every_buffer_row_packs_and_unpacks_losslessly() {
    let s = small();
    let mut m = Machine::boot(s.clone(), None).unwrap();
    m.advance(40).unwrap();
    let b = m.buffers().unwrap().clone();
    for row in BUFFERS
        .iter()
        .filter(|r| !matches!(r.sync, Sync::Transient | Sync::Config))
    {
        let image = (row.pack)(&b).into_owned();
        assert!(
            image.len() as u64 <= (row.device_bytes)(&b),
            "{}: the image fits the device buffer",
            row.name
        );
        // Into a zeroed copy, in two pieces (as a ranged download does).
        let mut z = boot_buffers(&s, 99);
        z.task_state = vec![Default::default(); b.task_state.len()];
        let cut = (image.len() / 2) & !3;
        (row.unpack)(&mut z, 0, &image[..cut]);
        (row.unpack)(&mut z, cut, &image[cut..]);
        assert!(
            (row.compare)(&b, &z).is_none(),
            "{}: {:?}",
            row.name,
            (row.compare)(&b, &z)
        );
    }
}

/// Random requests of every kind that leave a valid machine: whole chunks
/// retiled as free blocks of random orders (every frame written: heads and
/// zeroed tails), pageblock types, counter words.
fn random_requests(b: &numasim::engine::SimBuffers, seed: u32, chunks: usize) -> Vec<Request> {
    let mut x = seed | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let nc = b.chunk_zone.len() as u32;
    let mut v = Vec::new();
    let mut done = Vec::new();
    while done.len() < chunks {
        let c = next() % nc;
        let base = c * CHUNK_FRAMES as u32;
        // Only chunks of ordinary memory (no reserved or vmemmap frames).
        let plain = (0..CHUNK_FRAMES as u32).all(|i| {
            matches!(
                kind(b.frames[(base + i) as usize]),
                KIND_TAIL | KIND_FREE | KIND_ALLOC
            )
        });
        if !plain || done.contains(&c) {
            continue;
        }
        done.push(c);
        let mut p = 0u32;
        while p < CHUNK_FRAMES as u32 {
            let mut o = next() % (MAX_PAGE_ORDER + 1);
            while !p.is_multiple_of(1 << o) {
                o -= 1;
            }
            v.push(Request::set_frame(base + p, make_free(o), 0));
            for t in 1..(1u32 << o) {
                v.push(Request::set_frame(base + p + t, 0, 0));
            }
            p += 1 << o;
        }
        v.push(Request::set_pageblock(c * 2 + next() % 2, next() % 3));
        v.push(Request::set_total(next() % b.totals.len() as u32, next()));
    }
    v
}

#[test]
fn a_request_batch_leaves_the_counters_a_full_recount_gives() {
    let s = small();
    let mut m = Machine::boot(s, None).unwrap();
    m.advance(60).unwrap();
    let b0 = m.buffers().unwrap().clone();
    let reqs = random_requests(&b0, 7, 6);
    m.backend_mut().enqueue(reqs).unwrap();
    let after = m.buffers().unwrap().clone();
    // The same state recounted from scratch: every chunk, as a tick's
    // `count` does.
    let mut full = after.clone();
    for name in ["count_clear", "count"] {
        Phase::of(name, None).unwrap().run_cpu(&mut full);
    }
    assert_eq!(after.zone_state, full.zone_state);
    assert_ne!(
        b0.zone_state, after.zone_state,
        "the batch changed the counters"
    );
}

#[test]
fn a_request_batch_applies_the_same_on_both_backends() {
    let Some(ctx) = gpu() else { return };
    let s = small();
    let bufs = boot_buffers(&s, s.seed);
    let mut cpu: Box<dyn Backend> = Box::new(CpuBackend::new(bufs.clone()));
    let mut g: Box<dyn Backend> = Box::new(GpuBackend::new(ctx, bufs).unwrap());
    for round in 0..3 {
        cpu.run_ticks(25).unwrap();
        g.run_ticks(25).unwrap();
        let reqs = random_requests(cpu.buffers().unwrap(), 11 + round, 5);
        cpu.enqueue(reqs.clone()).unwrap();
        g.enqueue(reqs).unwrap();
    }
    let (a, b) = (cpu.buffers().unwrap().clone(), g.buffers().unwrap());
    if let Some((buf, i, l, r)) = compare(&a, b) {
        panic!("{buf}[{i}]: {l} on the CPU reference, {r} on the GPU");
    }
}

/// The commands of a session that change the machine between ticks.
const SESSION: &[&str] = &[
    "tick 30",
    "echo 1 > /proc/sys/vm/hugetlb_optimize_vmemmap",
    "echo 12 > /proc/sys/vm/nr_hugepages",
    "cat /proc/meminfo /proc/buddyinfo /proc/vmstat /proc/zoneinfo /proc/pagetypeinfo",
    "spawn x cpu=1 workload=mixed",
    "map heap task=x pages=4 private",
    "touch heap 3",
    "tick 10",
    "migrate x 1",
    "echo 200 > /proc/sys/vm/watermark_scale_factor",
    "stop a0",
    "unmap heap",
    "echo 2 > /proc/sys/vm/nr_hugepages",
    "tick 20",
    "cat /sys/devices/system/node/node0/meminfo /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages",
];

#[test]
fn control_paths_on_the_gpu_never_download_the_whole_machine() {
    let Some(ctx) = gpu() else { return };
    let s = small();
    let g = GpuBackend::new(ctx, boot_buffers(&s, s.seed)).unwrap();
    let mut m = Machine::with_backend(s.clone(), s.seed, Box::new(g)).unwrap();
    let mut cpu = Machine::boot(s, None).unwrap();
    for line in SESSION {
        let a = procfs::shell::exec_line(&mut m, line).unwrap();
        let b = procfs::shell::exec_line(&mut cpu, line).unwrap();
        assert_eq!(a, b, "`{line}` prints the same on both backends");
    }
    let downloads = m.backend_mut().as_gpu().unwrap().full_downloads();
    assert_eq!(
        downloads, 0,
        "pool writes, faults, migration, task start and stop and reads of /proc never download the frames"
    );
    assert_eq!(m.digest().unwrap(), cpu.digest().unwrap());
    // The digest needed the frames: one download, no more.
    assert_eq!(m.backend_mut().as_gpu().unwrap().full_downloads(), 1);
    m.check().unwrap();
}

#[test]
fn a_scheduled_task_stop_needs_no_download() {
    let Some(ctx) = gpu() else { return };
    let src = include_str!("../assets/scenarios/small.toml")
        .replace("name = \"a0\"", "name = \"a0\"\nstop_ms = 25");
    let s = Scenario::parse(&src, "small-stop").unwrap();
    let g = GpuBackend::new(ctx, boot_buffers(&s, s.seed)).unwrap();
    let mut m = Machine::with_backend(s.clone(), s.seed, Box::new(g)).unwrap();
    m.advance(60).unwrap();
    assert!(m.tasks.iter().any(|t| t.name == "a0" && t.stopped));
    assert_eq!(m.backend_mut().as_gpu().unwrap().full_downloads(), 0);
    let mut cpu = Machine::boot(s, None).unwrap();
    cpu.advance(60).unwrap();
    assert_eq!(m.digest().unwrap(), cpu.digest().unwrap());
}

#[test]
fn a_validation_error_names_the_pass_and_is_not_recovered_from() {
    let Some(ctx) = gpu() else { return };
    let s = small();
    let g = GpuBackend::new(ctx, boot_buffers(&s, s.seed)).unwrap();
    let mut m = Machine::with_backend(s, 7, Box::new(g)).unwrap();
    m.advance(3).unwrap();
    let e = m
        .backend_mut()
        .as_gpu()
        .unwrap()
        .inject_invalid_dispatch()
        .unwrap_err();
    match &e {
        EngineError::Validation { label, message } => {
            assert_eq!(label, "numasim.injected_invalid_dispatch");
            assert!(message.contains("65535"), "{message}");
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert!(!e.is_device_loss());
    // The run loop stops on it instead of falling back to the CPU.
    let err = RunLoop::every_ticks(10).advance(&mut m, 5).unwrap_err();
    assert!(
        err.to_string()
            .contains("numasim.injected_invalid_dispatch"),
        "{err}"
    );
    assert!(m.backend_name().starts_with("gpu"));
}

#[test]
fn the_smoke_run_fails_on_a_shader_error() {
    if gpu().is_none() {
        return;
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_numasim"))
        .args([
            "run",
            "small",
            "--ticks",
            "20",
            "--backend",
            "gpu",
            "--inject-fault",
            "invalid-dispatch",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a shader error must fail the run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("GPU validation error in `numasim.injected_invalid_dispatch`"),
        "{err}"
    );
}
