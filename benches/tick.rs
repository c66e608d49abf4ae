//! Criterion benchmark of whole ticks on each backend. `cargo bench`
//! measures the small and default presets after a warm-up that fills
//! memory; throughput is reported in frame-ticks. The GPU group runs on the
//! best adapter present and is left out, with a note, when there is none.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use numasim::engine::gpu::{device, GpuBackend};
use numasim::kernel::boot::boot_buffers;
use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;

fn ticks(c: &mut Criterion) {
    let mut g = c.benchmark_group("tick/cpu");
    g.sample_size(10);
    for (name, warmup) in [("small", 1000u64), ("default", 200)] {
        let s = Scenario::load(name).expect("preset");
        let frames = s.topology.total_frames();
        let mut m = Machine::boot(s, None).expect("boot");
        m.advance(warmup).expect("warm-up");
        g.throughput(Throughput::Elements(frames));
        g.bench_with_input(BenchmarkId::from_parameter(name), &frames, |b, _| {
            b.iter(|| m.step().expect("tick"))
        });
    }
    g.finish();

    let ctx = match device::open() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("tick/gpu: not measured: {e}");
            return;
        }
    };
    let mut g = c.benchmark_group(format!("tick/gpu/{}", ctx.info.name));
    g.sample_size(10);
    // One preset: a software adapter (lavapipe in CI) takes about a second
    // per tick at the default preset's size.
    let s = Scenario::load("small").expect("preset");
    let frames = s.topology.total_frames();
    let backend = GpuBackend::new(ctx.clone(), boot_buffers(&s, s.seed)).expect("gpu backend");
    let mut m = Machine::with_backend(s.clone(), s.seed, Box::new(backend)).expect("boot");
    m.advance(200).expect("warm-up");
    // 16 ticks per iteration: one submission, as `run` records them.
    g.throughput(Throughput::Elements(frames * 16));
    g.bench_with_input(BenchmarkId::from_parameter("small"), &frames, |b, _| {
        b.iter(|| m.advance(16).expect("ticks"))
    });
    g.finish();
}

criterion_group!(benches, ticks);
criterion_main!(benches);
