//! Criterion benchmark of whole ticks on the CPU reference backend.
//! `cargo bench` measures the small and default presets after a warm-up
//! that fills memory; throughput is reported in frame-ticks.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;

fn ticks(c: &mut Criterion) {
    let mut g = c.benchmark_group("tick/cpu");
    g.sample_size(10);
    for (name, warmup) in [("small", 1000u64), ("default", 200)] {
        let s = Scenario::load(name).expect("preset");
        let frames = s.topology.total_frames();
        let mut m = Machine::boot(s, None).expect("boot");
        m.run(warmup, |_| {}).expect("warm-up");
        g.throughput(Throughput::Elements(frames));
        g.bench_with_input(BenchmarkId::from_parameter(name), &frames, |b, _| {
            b.iter(|| m.step().expect("tick"))
        });
    }
    g.finish();
}

criterion_group!(benches, ticks);
criterion_main!(benches);
