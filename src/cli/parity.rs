//! `numasim parity`: the CPU reference against the GPU backend, phase by
//! phase, naming the first difference.

use super::{load, Progress};
use anyhow::{bail, Result};
use numasim::kernel::Machine;

pub fn cmd_parity(scenario: &str, ticks: u64, seed: Option<u64>, skip: u64) -> Result<()> {
    use numasim::engine::cpu::CpuBackend;
    use numasim::engine::gpu::{device, GpuBackend};
    use numasim::kernel::boot::boot_buffers;
    let s = load(scenario)?;
    let seed = seed.unwrap_or(s.seed);
    let ctx = device::open()?;
    println!(
        "parity: `{}` seed {seed}: CPU reference against {}",
        s.name,
        ctx.describe()
    );
    let mut cpu = Machine::with_backend(
        s.clone(),
        seed,
        Box::new(CpuBackend::new(boot_buffers(&s, seed))),
    )?;
    let mut gpu = Machine::with_backend(
        s.clone(),
        seed,
        Box::new(GpuBackend::new(ctx, boot_buffers(&s, seed))?),
    )?;
    if skip > 0 {
        cpu.advance(skip)?;
        gpu.advance(skip)?;
    }
    let mut progress = Progress::new(ticks);
    let r = numasim::engine::parity::diagnose(
        cpu.backend_mut(),
        gpu.backend_mut(),
        skip,
        ticks,
        |t| progress.update(t),
    )?;
    match r {
        None => {
            println!(
                "parity: identical after every phase of ticks {skip}..{}",
                skip + ticks
            );
            Ok(())
        }
        Some(mm) => bail!("parity: {mm}"),
    }
}
