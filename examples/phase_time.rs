//! Wall time per phase of the tick on the CPU backend: `cargo run --release
//! --example phase_time -- SCENARIO WARMUP TICKS`.
use numasim::engine::cpu::{begin_tick, run_phase_on};
use numasim::engine::tick_phases;
use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;
use std::time::Instant;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let name = a.get(1).map(String::as_str).unwrap_or("default");
    let warm: u64 = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(500);
    let ticks: u64 = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(50);
    let mut m = Machine::boot(Scenario::load(name).expect("scenario"), None).expect("boot");
    m.run(warm, |_| {}).expect("warm-up");
    let phases = tick_phases();
    let mut t = vec![0f64; phases.len()];
    for _ in 0..ticks {
        let tick = m.tick as u32;
        let b = m.backend_mut().buffers_mut();
        b.params.tick = tick;
        begin_tick(b);
        for (i, &p) in phases.iter().enumerate() {
            let t0 = Instant::now();
            run_phase_on(b, p);
            t[i] += t0.elapsed().as_secs_f64();
        }
        m.fold_stats().expect("stats");
        m.tick += 1;
    }
    let total: f64 = t.iter().sum();
    println!(
        "{name}: {:.2} ms per tick after {warm} ticks",
        total * 1e3 / ticks as f64
    );
    for (p, s) in phases.iter().zip(&t) {
        if s / total > 0.01 {
            println!(
                "  {:<16} {:7.3} ms {:5.1}%",
                p.name(),
                s * 1e3 / ticks as f64,
                100.0 * s / total
            );
        }
    }
}
