//! Choosing and opening a backend: one enum, one rule for `auto`, used by
//! the command line, the dashboard and the browser build.

use super::cpu::CpuBackend;
use super::gpu::{device, GpuBackend, GpuContext};
use super::{Backend, EngineError, SimBuffers};

/// Which backend to run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// The CPU reference backend.
    Cpu,
    /// The GPU backend; an error if it cannot start.
    Gpu,
    /// The GPU when `auto_uses_gpu` says so and the adapter can hold the
    /// scenario; otherwise the CPU reference.
    Auto,
}

impl BackendChoice {
    pub const NAMES: [&'static str; 3] = ["cpu", "gpu", "auto"];
}

impl std::str::FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(BackendChoice::Cpu),
            "gpu" => Ok(BackendChoice::Gpu),
            "auto" => Ok(BackendChoice::Auto),
            _ => Err(format!(
                "`{s}` is not a backend (expected cpu, gpu or auto)"
            )),
        }
    }
}

impl std::fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackendChoice::Cpu => "cpu",
            BackendChoice::Gpu => "gpu",
            BackendChoice::Auto => "auto",
        })
    }
}

/// The `auto` rule: a hardware adapter (discrete, integrated or virtual
/// GPU) runs the simulation; a software one (lavapipe, SwiftShader) does
/// not, because the CPU reference on the same cores is tens of times
/// faster (BENCHMARKS.md). In a browser any WebGPU adapter does: the CPU
/// reference there has one thread.
pub fn auto_uses_gpu(c: &GpuContext) -> bool {
    if cfg!(target_arch = "wasm32") {
        return c.info.backend == wgpu::Backend::BrowserWebGpu;
    }
    matches!(
        c.info.device_type,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
}

/// An open backend and why it was chosen.
pub struct Opened {
    pub backend: Box<dyn Backend>,
    pub why: String,
}

/// Opens `choice` on `bufs`. `ctx` is a device to use (the dashboard's own,
/// shared with eframe); without one, the best adapter is opened when a GPU
/// is wanted.
pub fn open(
    choice: BackendChoice,
    bufs: SimBuffers,
    ctx: Option<GpuContext>,
) -> Result<Opened, EngineError> {
    let cpu = |bufs: SimBuffers, why: String| Opened {
        backend: Box::new(CpuBackend::new(bufs)),
        why,
    };
    if choice == BackendChoice::Cpu {
        return Ok(cpu(bufs, "the CPU reference, as chosen".into()));
    }
    let ctx = match ctx.map(Ok).unwrap_or_else(device::open) {
        Ok(c) => c,
        Err(e) if choice == BackendChoice::Auto => {
            return Ok(cpu(bufs, format!("auto: the CPU reference, because {e}")))
        }
        Err(e) => return Err(e),
    };
    let desc = ctx.describe();
    if choice == BackendChoice::Auto && !auto_uses_gpu(&ctx) {
        return Ok(cpu(
            bufs,
            format!("auto: the CPU reference, because the best adapter, {desc}, is a software one (slower than the CPU reference on the same cores)"),
        ));
    }
    if choice == BackendChoice::Auto && bufs.frames.len() as u64 > GpuBackend::max_frames(&ctx) {
        return Ok(cpu(
            bufs,
            format!(
                "auto: the CPU reference, because {desc} holds at most {} frames",
                GpuBackend::max_frames(&ctx)
            ),
        ));
    }
    let why = match choice {
        BackendChoice::Auto => format!("auto: {desc}, a hardware adapter that holds the scenario"),
        _ => format!("the GPU, as chosen: {desc}"),
    };
    Ok(Opened {
        backend: Box::new(GpuBackend::new(ctx, bufs)?),
        why,
    })
}
