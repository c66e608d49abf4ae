//! The GPU backend: every phase of the tick as a wgpu compute shader over
//! the same buffers as the CPU reference, many ticks per submission.
//!
//! Buffers mirror `SimBuffers`; the small configuration and state arrays are
//! packed into a few buffers (`topo`, `ctl`, `plan`) so that no shader
//! binds more than eight storage buffers (the WebGPU default) while the
//! per-frame arrays fit one binding each. Larger machines split those
//! arrays over several bindings (`shaders::FrameLayout`), which needs an
//! adapter allowing more storage buffers per stage (native ones do).
//!
//! The host copy (`SimBuffers`) is replaced only by a full download that
//! completed (it downloads into a new copy first), so it is always the
//! consistent state of one tick: the snapshot to continue from on the CPU
//! after a device loss. Counters are read separately, through a ring of
//! mapped buffers.

mod apply;
pub mod device;
mod download;
mod frame_map;
pub mod shaders;

use super::frame_map::FrameMapParams;
use super::state::SimBuffers;
use super::types::*;
use super::{tick_phases, Backend, EngineError, Phase, StatsSample};
use crate::model::frame::NR_PAGE_ORDERS;
use crate::model::scenario::{MAX_NODES, MAX_TASKS};
pub use device::GpuContext;
use std::sync::{Arc, Mutex};
use wgpu::util::DeviceExt;

const CHUNK_FRAMES: u64 = crate::model::frame::CHUNK_FRAMES;
/// Ticks recorded into one command buffer.
const TICKS_PER_SUBMIT: u32 = 16;

struct Bufs {
    params: wgpu::Buffer,
    /// Per-frame arrays, split into parts (see `shaders::FrameLayout`).
    frames: Vec<wgpu::Buffer>,
    owners: Vec<wgpu::Buffer>,
    pageblocks: wgpu::Buffer,
    chunk_zone: wgpu::Buffer,
    chunk_counts: wgpu::Buffer,
    chunk_prefix: wgpu::Buffer,
    chunk_dirty: wgpu::Buffer,
    topo: wgpu::Buffer,
    ctl: wgpu::Buffer,
    zone_stats: wgpu::Buffer,
    tasks: wgpu::Buffer,
    task_state: wgpu::Buffer,
    plan: wgpu::Buffer,
    grants: wgpu::Buffer,
    segs: wgpu::Buffer,
    totals: wgpu::Buffer,
    /// Indirect arguments and per-zone ranges for `alloc_split`.
    dispatch: wgpu::Buffer,
}

impl Bufs {
    /// Bind group entries for every part of the frame and owner arrays,
    /// at `shaders::FRAMES_BINDING..` and `shaders::OWNERS_BINDING..`.
    fn frame_part_entries(&self) -> Vec<wgpu::BindGroupEntry<'_>> {
        let mut v = Vec::new();
        for (first, parts) in [
            (shaders::FRAMES_BINDING, &self.frames),
            (shaders::OWNERS_BINDING, &self.owners),
        ] {
            for (p, buf) in parts.iter().enumerate() {
                v.push(wgpu::BindGroupEntry {
                    binding: first + p as u32,
                    resource: buf.as_entire_binding(),
                });
            }
        }
        v
    }
}

/// Slots in the ring of statistics buffers.
const STATS_RING: usize = 4;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SlotState {
    Idle,
    Pending,
    Ready,
    Failed,
}

/// One mappable buffer holding params, totals and the last tick's zone
/// counters, copied at the end of a submission.
struct StatsSlot {
    buf: wgpu::Buffer,
    state: Arc<Mutex<SlotState>>,
    /// Order in which slots were filled.
    seq: u64,
}

enum Bind<'a> {
    B(&'a wgpu::Buffer),
    Frames,
    Owners,
    /// A binding number the shader does not use.
    Skip,
}
use Bind::B;

struct Step {
    label: String,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    groups: (u32, u32),
}

pub struct GpuBackend {
    ctx: GpuContext,
    host: SimBuffers,
    /// The host copy matches the device (no work submitted since the
    /// last full download).
    host_fresh: bool,
    /// The host changed configuration that must be uploaded.
    dirty: bool,
    bufs: Bufs,
    layout: shaders::FrameLayout,
    /// Steps per phase, in `tick_phases()` order.
    phases: Vec<(Phase, Vec<Step>)>,
    error: Arc<Mutex<Option<String>>>,
    ring: Vec<StatsSlot>,
    ring_seq: u64,
    /// Ticks the device will have completed once submitted work is done.
    device_tick: u32,
    /// The newest sample taken off the ring.
    newest: Option<StatsSample>,
    /// The tick of the newest sample `latest_stats` returned.
    reported_tick: Option<u32>,
    /// The frame map's pipeline and buffers, made on first use.
    frame_map: Option<frame_map::FrameMapGpu>,
    /// A whole-state download in flight.
    download: Option<download::PendingDownload>,
    /// `hugetlb_apply`'s pipeline and buffers, made on first use.
    apply: Option<apply::ApplyGpu>,
    /// Work was submitted after the download in flight began.
    submitted_since_download: bool,
}

fn topo_bytes(b: &SimBuffers) -> Vec<u8> {
    let mut zones = b.zones.clone();
    zones.resize(MAX_ZONES, ZoneDesc::default());
    let mut nodes = b.nodes.clone();
    nodes.resize(MAX_NODES, NodeDesc::default());
    let mut zl = b.zonelists.clone();
    zl.resize(MAX_NODES * ZONELIST_STRIDE, ZONE_NONE);
    let mut v = Vec::new();
    v.extend_from_slice(bytemuck::cast_slice(&zones));
    v.extend_from_slice(bytemuck::cast_slice(&nodes));
    v.extend_from_slice(bytemuck::cast_slice(&zl));
    v
}

fn ctl_bytes(b: &SimBuffers) -> Vec<u8> {
    let mut zs = b.zone_state.clone();
    zs.resize(MAX_ZONES, ZoneState::default());
    let mut ns = b.node_state.clone();
    ns.resize(MAX_NODES, NodeState::default());
    let mut v = Vec::new();
    v.extend_from_slice(bytemuck::cast_slice(&zs));
    v.extend_from_slice(bytemuck::cast_slice(&ns));
    v.extend_from_slice(bytemuck::bytes_of(&b.plan_hdr));
    v
}

fn plan_bytes(b: &SimBuffers) -> Vec<u8> {
    let mut cells = b.cells.clone();
    cells.resize(MAX_ZONES * NR_PAGE_ORDERS * NR_PCP, PlanCell::default());
    let mut steals = b.steals.clone();
    steals.resize(MAX_ZONES * 2 * NR_PCP, StealCell::default());
    let mut v = Vec::new();
    v.extend_from_slice(bytemuck::cast_slice(&cells));
    v.extend_from_slice(bytemuck::cast_slice(&steals));
    v
}

fn padded<T: bytemuck::Pod + Default>(v: &[T], n: usize) -> Vec<u8> {
    let mut w = v.to_vec();
    w.resize(n.max(v.len()), T::default());
    bytemuck::cast_slice(&w).to_vec()
}

/// Marks a step dispatched with the arguments in the `dispatch` buffer.
const INDIRECT: (u32, u32) = (0, 0);

/// Workgroup grid for one workgroup per item, at most 32768 wide.
fn grid(n: u32) -> (u32, u32) {
    let x = n.clamp(1, 32768);
    (x, n.div_ceil(x).max(1))
}

impl GpuBackend {
    /// Frames per part: the most one binding can hold, in whole chunks.
    fn part_frames_max(ctx: &GpuContext) -> u64 {
        let bytes = ctx
            .limits
            .max_storage_buffer_binding_size
            .min(ctx.limits.max_buffer_size);
        (bytes / 4) / CHUNK_FRAMES * CHUNK_FRAMES
    }

    /// Parts per frame array the device can bind at once: `alloc_split`
    /// binds both split arrays beside six other storage buffers.
    fn parts_max(ctx: &GpuContext) -> u64 {
        ((ctx.limits.max_storage_buffers_per_shader_stage as u64).saturating_sub(6) / 2)
            .min(shaders::MAX_PARTS as u64)
    }

    /// The largest number of frames a scenario may have on this device.
    pub fn max_frames(ctx: &GpuContext) -> u64 {
        Self::part_frames_max(ctx) * Self::parts_max(ctx)
    }

    /// Uploads `host` to a new set of device buffers and builds pipelines.
    pub fn new(ctx: GpuContext, host: SimBuffers) -> Result<GpuBackend, EngineError> {
        Self::with_part_frames(ctx, host, None)
    }

    /// As `new`, with the per-frame arrays split into parts of at most
    /// `part_frames` frames (a multiple of 1024) even where the device
    /// could bind more: the split path, testable on any device.
    pub fn with_part_frames(
        ctx: GpuContext,
        host: SimBuffers,
        part_frames: Option<u64>,
    ) -> Result<GpuBackend, EngineError> {
        let nf = host.frames.len() as u64;
        let max = Self::max_frames(&ctx);
        if nf > max {
            return Err(EngineError::Unavailable {
                backend: format!("gpu ({})", ctx.describe()),
                reason: format!(
                    "the scenario has {nf} frames but this adapter can bind at most {} parts of {} MiB per frame array: the largest scenario it can hold is {max} frames ({} GiB)",
                    Self::parts_max(&ctx),
                    (Self::part_frames_max(&ctx) * 4) >> 20,
                    (max * 4096) >> 30
                ),
            });
        }
        let mut pf = Self::part_frames_max(&ctx)
            .min(nf.div_ceil(CHUNK_FRAMES) * CHUNK_FRAMES)
            .max(CHUNK_FRAMES);
        if let Some(f) = part_frames {
            pf = pf.min(f.max(CHUNK_FRAMES) / CHUNK_FRAMES * CHUNK_FRAMES);
        }
        let parts = nf.div_ceil(pf).max(1);
        if parts > Self::parts_max(&ctx) {
            return Err(EngineError::Unavailable {
                backend: "gpu".into(),
                reason: format!(
                    "{parts} parts of {pf} frames exceed the {} the adapter can bind",
                    Self::parts_max(&ctx)
                ),
            });
        }
        let layout = shaders::FrameLayout {
            parts: parts as u32,
            part_frames: if parts == 1 { u32::MAX } else { pf as u32 },
        };
        if host.zones.len() > MAX_ZONES || host.nodes.len() > MAX_NODES {
            return Err(EngineError::Unavailable {
                backend: "gpu".into(),
                reason: "too many zones or nodes".into(),
            });
        }
        let d = &ctx.device;
        let error = Arc::new(Mutex::new(None));
        {
            let e = error.clone();
            d.on_uncaptured_error(Arc::new(move |err: wgpu::Error| {
                let mut g = e.lock().unwrap_or_else(|p| p.into_inner());
                if g.is_none() {
                    *g = Some(err.to_string());
                }
            }));
            let e = error.clone();
            d.set_device_lost_callback(move |reason, msg| {
                let mut g = e.lock().unwrap_or_else(|p| p.into_inner());
                if g.is_none() {
                    *g = Some(format!("device lost ({reason:?}): {msg}"));
                }
            });
        }
        use wgpu::BufferUsages as U;
        let st = U::STORAGE | U::COPY_DST | U::COPY_SRC;
        let mk = |label: &str, bytes: &[u8], usage: U| {
            d.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytes,
                usage,
            })
        };
        let bufs = Bufs {
            params: mk(
                "numasim.params",
                bytemuck::bytes_of(&host.params),
                st | U::UNIFORM,
            ),
            frames: host
                .frames
                .chunks(pf as usize)
                .enumerate()
                .map(|(i, c)| mk(&format!("numasim.frames[{i}]"), bytemuck::cast_slice(c), st))
                .collect(),
            owners: host
                .owners
                .chunks(pf as usize)
                .enumerate()
                .map(|(i, c)| mk(&format!("numasim.owners[{i}]"), bytemuck::cast_slice(c), st))
                .collect(),
            pageblocks: mk(
                "numasim.pageblocks",
                bytemuck::cast_slice(&host.pageblocks),
                st,
            ),
            chunk_zone: mk(
                "numasim.chunk_zone",
                bytemuck::cast_slice(&host.chunk_zone),
                st,
            ),
            chunk_counts: mk(
                "numasim.chunk_counts",
                bytemuck::cast_slice(&host.chunk_counts),
                st,
            ),
            chunk_prefix: mk(
                "numasim.chunk_prefix",
                bytemuck::cast_slice(&host.chunk_prefix),
                st,
            ),
            chunk_dirty: mk(
                "numasim.chunk_dirty",
                bytemuck::cast_slice(&host.chunk_dirty),
                st,
            ),
            dispatch: mk(
                "numasim.dispatch",
                bytemuck::cast_slice(&host.dispatch),
                st | U::INDIRECT,
            ),
            topo: mk("numasim.topo", &topo_bytes(&host), st),
            ctl: mk("numasim.ctl", &ctl_bytes(&host), st),
            zone_stats: mk(
                "numasim.zone_stats",
                bytemuck::cast_slice(&host.zone_stats),
                st,
            ),
            tasks: mk("numasim.tasks", &padded(&host.tasks, MAX_TASKS), st),
            task_state: mk(
                "numasim.task_state",
                &padded(&host.task_state, MAX_TASKS),
                st,
            ),
            plan: mk("numasim.plan", &plan_bytes(&host), st),
            grants: mk("numasim.grants", bytemuck::cast_slice(&host.grants), st),
            segs: mk("numasim.segs", bytemuck::cast_slice(&host.segs), st),
            totals: mk("numasim.totals", bytemuck::cast_slice(&host.totals), st),
        };
        let stats_bytes = 32
            + host.totals.len() as u64 * 4
            + std::mem::size_of_val(host.zone_stats.as_slice()) as u64
            + std::mem::size_of_val(host.zone_state.as_slice()) as u64;
        let ring = (0..STATS_RING)
            .map(|i| StatsSlot {
                buf: d.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&format!("numasim.stats_ring[{i}]")),
                    size: stats_bytes,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                state: Arc::new(Mutex::new(SlotState::Idle)),
                seq: 0,
            })
            .collect();
        let mut me = GpuBackend {
            ctx,
            host,
            host_fresh: true,
            dirty: false,
            bufs,
            layout,
            phases: Vec::new(),
            error,
            ring,
            ring_seq: 0,
            device_tick: 0,
            newest: None,
            reported_tick: None,
            frame_map: None,
            download: None,
            apply: None,
            submitted_since_download: false,
        };
        me.device_tick = me.host.params.tick;
        me.build_pipelines();
        me.check_error()?;
        Ok(me)
    }

    /// The shader `name` (shaders/NAME.wgsl) for this backend's frame layout.
    fn shader_module(&self, name: &str) -> wgpu::ShaderModule {
        let src = shaders::source_for(name, self.layout).expect("shader exists");
        self.ctx
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(&format!("numasim.{name}")),
                source: wgpu::ShaderSource::Wgsl(src.into()),
            })
    }

    /// The compute pipeline of shader `name` with no overrides, its bind
    /// group layout derived from the shader.
    fn compute_pipeline(&self, name: &str) -> wgpu::ComputePipeline {
        let module = self.shader_module(name);
        self.ctx
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&format!("numasim.{name}")),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            })
    }

    fn build_pipelines(&mut self) {
        let d = &self.ctx.device;
        let b = &self.bufs;
        let nc = self.host.nr_chunks() as u32;
        let nz = self.host.zones.len() as u32;
        let module = |name: &str| self.shader_module(name);
        let step =
            |name: &str, order: Option<u32>, bindings: &[Bind], groups: (u32, u32)| -> Step {
                let m = module(name);
                let label = match order {
                    Some(o) => format!("numasim.{name}[{o}]"),
                    None => format!("numasim.{name}"),
                };
                let constants: Vec<(&str, f64)> =
                    order.map(|o| vec![("ORDER", o as f64)]).unwrap_or_default();
                let pipeline = d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&label),
                    layout: None,
                    module: &m,
                    entry_point: Some("main"),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &constants,
                        zero_initialize_workgroup_memory: true,
                    },
                    cache: None,
                });
                let mut entries: Vec<wgpu::BindGroupEntry> = Vec::new();
                for (i, bind) in bindings.iter().enumerate() {
                    let (parts, first) = match bind {
                        Bind::B(buf) => {
                            entries.push(wgpu::BindGroupEntry {
                                binding: i as u32,
                                resource: buf.as_entire_binding(),
                            });
                            continue;
                        }
                        Bind::Skip => continue,
                        Bind::Frames => (&b.frames, shaders::FRAMES_BINDING),
                        Bind::Owners => (&b.owners, shaders::OWNERS_BINDING),
                    };
                    for (p, buf) in parts.iter().enumerate() {
                        entries.push(wgpu::BindGroupEntry {
                            binding: first + p as u32,
                            resource: buf.as_entire_binding(),
                        });
                    }
                }
                let bind_group = d.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(&label),
                    layout: &pipeline.get_bind_group_layout(0),
                    entries: &entries,
                });
                Step {
                    label,
                    pipeline,
                    bind_group,
                    groups,
                }
            };
        let chunks = grid(nc);
        let mut phases = Vec::new();
        for p in tick_phases() {
            let steps = match p {
                Phase::Free => vec![step(
                    "free",
                    None,
                    &[
                        B(&b.params),
                        Bind::Frames,
                        Bind::Owners,
                        B(&b.chunk_zone),
                        B(&b.ctl),
                        B(&b.tasks),
                        B(&b.zone_stats),
                        B(&b.chunk_dirty),
                    ],
                    chunks,
                )],
                Phase::Merge => vec![step(
                    "merge",
                    None,
                    &[
                        B(&b.params),
                        Bind::Frames,
                        B(&b.pageblocks),
                        B(&b.chunk_dirty),
                    ],
                    chunks,
                )],
                Phase::Count => vec![
                    step(
                        "count_clear",
                        None,
                        &[B(&b.params), B(&b.ctl)],
                        (nz.div_ceil(128), 1),
                    ),
                    step(
                        "count",
                        None,
                        &[
                            B(&b.params),
                            Bind::Frames,
                            B(&b.pageblocks),
                            B(&b.chunk_zone),
                            B(&b.chunk_counts),
                            B(&b.ctl),
                        ],
                        chunks,
                    ),
                ],
                Phase::Plan => vec![step(
                    "plan",
                    None,
                    &[
                        B(&b.params),
                        B(&b.topo),
                        B(&b.ctl),
                        B(&b.zone_stats),
                        B(&b.tasks),
                        B(&b.task_state),
                        B(&b.plan),
                        B(&b.grants),
                        B(&b.segs),
                    ],
                    (1, 1),
                )],
                Phase::Scan(o) => vec![step(
                    "scan",
                    Some(o),
                    &[
                        B(&b.params),
                        B(&b.topo),
                        B(&b.chunk_counts),
                        B(&b.chunk_prefix),
                        B(&b.plan),
                        B(&b.dispatch),
                    ],
                    (nz, 1),
                )],
                Phase::Steal(o) => vec![step(
                    "steal",
                    Some(o),
                    &[
                        B(&b.params),
                        Bind::Frames,
                        B(&b.pageblocks),
                        B(&b.chunk_zone),
                        B(&b.chunk_counts),
                        B(&b.chunk_prefix),
                        B(&b.plan),
                    ],
                    grid(nc.div_ceil(64)),
                )],
                Phase::AllocSplit(o) => vec![step(
                    "alloc_split",
                    Some(o),
                    &[
                        Bind::Skip,
                        Bind::Frames,
                        Bind::Owners,
                        B(&b.pageblocks),
                        B(&b.dispatch),
                        B(&b.chunk_counts),
                        B(&b.chunk_prefix),
                        B(&b.plan),
                        B(&b.segs),
                    ],
                    INDIRECT,
                )],
                Phase::EndTick => vec![step(
                    "end_tick",
                    None,
                    &[B(&b.params), B(&b.zone_stats), B(&b.totals)],
                    ((nz * NR_ZONE_STATS as u32).div_ceil(256), 1),
                )],
            };
            phases.push((p, steps));
        }
        debug_assert_eq!(phases.len(), tick_phases().len());
        self.phases = phases;
    }

    fn check_error(&self) -> Result<(), EngineError> {
        let g = self.error.lock().unwrap_or_else(|p| p.into_inner());
        match g.as_ref() {
            None => Ok(()),
            Some(msg) if msg.starts_with("device lost") => {
                Err(EngineError::DeviceLost(msg.clone()))
            }
            Some(msg) => Err(EngineError::DeviceLost(format!("GPU error: {msg}"))),
        }
    }

    /// Uploads what the host changed.
    fn upload(&mut self) {
        if !self.dirty {
            return;
        }
        let q = &self.ctx.queue;
        let b = &self.bufs;
        q.write_buffer(&b.params, 0, bytemuck::bytes_of(&self.host.params));
        self.device_tick = self.host.params.tick;
        q.write_buffer(&b.topo, 0, &topo_bytes(&self.host));
        q.write_buffer(&b.ctl, 0, &ctl_bytes(&self.host));
        if !self.host.tasks.is_empty() {
            q.write_buffer(&b.tasks, 0, bytemuck::cast_slice(&self.host.tasks));
            q.write_buffer(
                &b.task_state,
                0,
                bytemuck::cast_slice(&self.host.task_state),
            );
        }
        self.dirty = false;
    }

    fn encode_phase(&self, enc: &mut wgpu::CommandEncoder, i: usize) {
        let (phase, steps) = &self.phases[i];
        match phase {
            Phase::Free => enc.clear_buffer(&self.bufs.zone_stats, 0, None),
            Phase::Scan(_) => enc.clear_buffer(&self.bufs.dispatch, 0, None),
            _ => {}
        }
        for s in steps {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(&s.label),
                timestamp_writes: None,
            });
            pass.set_pipeline(&s.pipeline);
            pass.set_bind_group(0, &s.bind_group, &[]);
            if s.groups == INDIRECT {
                pass.dispatch_workgroups_indirect(&self.bufs.dispatch, 0);
            } else {
                pass.dispatch_workgroups(s.groups.0, s.groups.1, 1);
            }
        }
    }

    fn submit(
        &mut self,
        f: impl FnOnce(&Self, &mut wgpu::CommandEncoder),
    ) -> Result<(), EngineError> {
        self.check_error()?;
        self.upload();
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("numasim.ticks"),
            });
        f(self, &mut enc);
        self.ctx.queue.submit([enc.finish()]);
        self.host_fresh = false;
        self.submitted_since_download |= self.download.is_some();
        self.check_error()
    }

    /// Copies a device buffer back into `dst` (blocking).
    fn read_into(&self, src: &wgpu::Buffer, dst: &mut [u8]) -> Result<(), EngineError> {
        if dst.is_empty() {
            return Ok(());
        }
        let size = dst.len() as u64;
        let staging = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("numasim.readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("numasim.readback"),
            });
        enc.copy_buffer_to_buffer(src, 0, &staging, 0, size);
        self.ctx.queue.submit([enc.finish()]);
        let slice = staging.slice(..);
        let done = Arc::new(Mutex::new(None));
        let d2 = done.clone();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            *d2.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
        });
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| EngineError::DeviceLost(format!("waiting for the GPU: {e}")))?;
        self.check_error()?;
        match done.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                return Err(EngineError::DeviceLost(format!(
                    "mapping a readback buffer: {e}"
                )))
            }
            None => return Err(EngineError::DeviceLost("a readback never completed".into())),
        }
        {
            let view = slice
                .get_mapped_range()
                .map_err(|e| EngineError::DeviceLost(format!("reading back: {e:?}")))?;
            dst.copy_from_slice(&view);
        }
        staging.unmap();
        Ok(())
    }

    /// Brings the whole host copy up to date, scratch buffers included
    /// (blocking). The download goes into a new copy that replaces the
    /// host's only when it completed: a download that fails half way (a
    /// device lost during a checkpoint) leaves the previous snapshot intact.
    fn sync_all(&mut self) -> Result<(), EngineError> {
        while !self.host_fresh {
            self.begin_download()?;
            self.wait_download()?;
        }
        Ok(())
    }

    fn slot_state(&self, i: usize) -> SlotState {
        *self.ring[i].state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Copies the counters into an idle ring slot and maps it
    /// asynchronously. Never waits: with no idle slot, no sample is taken.
    fn record_stats(&mut self) {
        let Some(i) = (0..self.ring.len()).find(|&i| self.slot_state(i) == SlotState::Idle) else {
            return;
        };
        let tot = self.host.totals.len() as u64 * 4;
        let zs = std::mem::size_of_val(self.host.zone_stats.as_slice()) as u64;
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("numasim.stats_ring"),
            });
        enc.copy_buffer_to_buffer(&self.bufs.params, 0, &self.ring[i].buf, 0, 32);
        enc.copy_buffer_to_buffer(&self.bufs.totals, 0, &self.ring[i].buf, 32, tot);
        enc.copy_buffer_to_buffer(&self.bufs.zone_stats, 0, &self.ring[i].buf, 32 + tot, zs);
        // ZoneState sits first in `ctl` (see ctl_bytes).
        let zst = std::mem::size_of_val(self.host.zone_state.as_slice()) as u64;
        enc.copy_buffer_to_buffer(&self.bufs.ctl, 0, &self.ring[i].buf, 32 + tot + zs, zst);
        self.ctx.queue.submit([enc.finish()]);
        *self.ring[i].state.lock().unwrap_or_else(|p| p.into_inner()) = SlotState::Pending;
        let st = self.ring[i].state.clone();
        self.ring[i]
            .buf
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |r| {
                *st.lock().unwrap_or_else(|p| p.into_inner()) = if r.is_ok() {
                    SlotState::Ready
                } else {
                    SlotState::Failed
                };
            });
        self.ring_seq += 1;
        self.ring[i].seq = self.ring_seq;
    }

    fn take_newest_ready(&mut self) -> Option<StatsSample> {
        let done: Vec<usize> = (0..self.ring.len())
            .filter(|&i| matches!(self.slot_state(i), SlotState::Ready | SlotState::Failed))
            .collect();
        let newest = done
            .iter()
            .copied()
            .filter(|&i| self.slot_state(i) == SlotState::Ready)
            .max_by_key(|&i| self.ring[i].seq);
        let nz = self.host.zones.len();
        let sample = newest.and_then(|i| {
            let view = self.ring[i].buf.slice(..).get_mapped_range().ok()?;
            let words: &[u32] = bytemuck::cast_slice(&view);
            let tick = words[2];
            let t = &words[8..8 + nz * NR_ZONE_STATS * 2];
            let totals = (0..nz)
                .map(|z| {
                    std::array::from_fn(|s| {
                        let w = (z * NR_ZONE_STATS + s) * 2;
                        t[w] as u64 | (t[w + 1] as u64) << 32
                    })
                })
                .collect();
            let l = &words[8 + nz * NR_ZONE_STATS * 2..];
            let last = (0..nz)
                .map(|z| ZoneStats {
                    v: std::array::from_fn(|s| l[z * NR_ZONE_STATS + s]),
                })
                .collect();
            let zw = &l[nz * NR_ZONE_STATS..];
            let zones: Vec<ZoneState> =
                bytemuck::cast_slice(&zw[..nz * std::mem::size_of::<ZoneState>() / 4]).to_vec();
            Some(StatsSample {
                tick,
                totals,
                last,
                zones,
            })
        });
        for i in done {
            if self.slot_state(i) == SlotState::Ready {
                self.ring[i].buf.unmap();
            }
            *self.ring[i].state.lock().unwrap_or_else(|p| p.into_inner()) = SlotState::Idle;
        }
        if let Some(s) = &sample {
            if self.newest.as_ref().is_none_or(|n| s.tick >= n.tick) {
                self.newest = Some(s.clone());
            }
        }
        sample
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }
}

impl Backend for GpuBackend {
    fn name(&self) -> String {
        format!("gpu: {}", self.ctx.describe())
    }
    fn buffers(&mut self) -> Result<&SimBuffers, EngineError> {
        self.sync_all()?;
        Ok(&self.host)
    }
    fn buffers_mut(&mut self) -> &mut SimBuffers {
        // The host is about to change configuration: its copy of the state
        // the upload rewrites must be current first (a whole, consistent
        // snapshot: control writes are rare, so a full download is fine).
        if let Err(e) = self.sync_all() {
            let mut g = self.error.lock().unwrap_or_else(|p| p.into_inner());
            if g.is_none() {
                *g = Some(format!("device lost (sync): {e}"));
            }
        }
        self.dirty = true;
        &mut self.host
    }
    fn run_phase(&mut self, phase: Phase) -> Result<(), EngineError> {
        let i = self
            .phases
            .iter()
            .position(|(p, _)| *p == phase)
            .ok_or_else(|| EngineError::DeviceLost(format!("no phase {}", phase.name())))?;
        self.submit(|me, enc| me.encode_phase(enc, i))?;
        if phase == Phase::EndTick {
            self.device_tick = self.device_tick.wrapping_add(1);
        }
        Ok(())
    }
    fn run_tick(&mut self) -> Result<(), EngineError> {
        self.run_ticks(1)
    }
    fn apply_ops(&mut self, ops: &[FrameOp]) -> Result<(), EngineError> {
        self.apply_ops_gpu(ops)
    }
    fn run_ticks(&mut self, n: u32) -> Result<(), EngineError> {
        let mut left = n;
        while left > 0 {
            let k = left.min(TICKS_PER_SUBMIT);
            self.submit(|me, enc| {
                for _ in 0..k {
                    for i in 0..me.phases.len() {
                        me.encode_phase(enc, i);
                    }
                }
            })?;
            left -= k;
            self.device_tick = self.device_tick.wrapping_add(k);
            // Samples inside a long batch are extras; one slot is kept for
            // the sample at the batch's end, which readers wait for.
            let idle = (0..self.ring.len())
                .filter(|&i| self.slot_state(i) == SlotState::Idle)
                .count();
            if left == 0 || idle >= 2 {
                self.record_stats();
            }
        }
        Ok(())
    }
    fn read_stats(
        &mut self,
        totals: &mut [[u64; NR_ZONE_STATS]],
        last: &mut [ZoneStats],
    ) -> Result<(), EngineError> {
        // A current host copy holds them (after a download): no wait.
        if self.host_fresh {
            self.host.read_counters(totals, last);
            return Ok(());
        }
        // Counters only, through the ring: the host copy of the state
        // stays a consistent snapshot of one tick.
        self.check_error()?;
        let wait = |me: &Self| {
            me.ctx
                .device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| EngineError::DeviceLost(format!("waiting for the GPU: {e}")))
        };
        wait(self)?;
        self.check_error()?;
        self.take_newest_ready();
        if self
            .newest
            .as_ref()
            .is_none_or(|n| n.tick != self.device_tick)
        {
            // Every slot was busy when the last batch ended, or nothing ran
            // since boot: sample now.
            self.record_stats();
            wait(self)?;
            self.take_newest_ready();
        }
        let s = self
            .newest
            .clone()
            .filter(|n| n.tick == self.device_tick)
            .ok_or_else(|| EngineError::DeviceLost("no statistics sample completed".into()))?;
        totals.copy_from_slice(&s.totals);
        last.copy_from_slice(&s.last);
        Ok(())
    }
    fn snapshot(&self) -> Option<&SimBuffers> {
        // Replaced only by complete downloads: always one tick's state.
        Some(&self.host)
    }
    fn finish(&mut self) -> Result<(), EngineError> {
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| EngineError::DeviceLost(format!("waiting for the GPU: {e}")))?;
        self.check_error()
    }
    fn latest_stats(&mut self) -> Option<StatsSample> {
        let _ = self.ctx.device.poll(wgpu::PollType::Poll);
        self.take_newest_ready();
        // The newest sample, once, even when `read_stats` took it off the
        // ring first (a blocking read between two polls).
        let n = self.newest.as_ref()?;
        if self.reported_tick == Some(n.tick) {
            return None;
        }
        self.reported_tick = Some(n.tick);
        Some(n.clone())
    }
    fn host(&self) -> &SimBuffers {
        &self.host
    }
    fn begin_sync(&mut self) -> Result<bool, EngineError> {
        if self.host_fresh {
            return Ok(true);
        }
        self.begin_download()?;
        Ok(false)
    }
    fn poll_sync(&mut self) -> Option<Result<(), EngineError>> {
        if self.host_fresh {
            return Some(Ok(()));
        }
        match self.poll_download() {
            Some(Ok(())) if !self.host_fresh => {
                // Ticks were submitted meanwhile: fetch again.
                self.begin_download().err().map(Err)
            }
            Some(r) => Some(r),
            None if self.download.is_none() => self.begin_download().err().map(Err),
            None => None,
        }
    }
    fn frame_map(&mut self, p: &FrameMapParams) -> Result<Vec<u32>, EngineError> {
        self.frame_map_words(p)
    }
    fn as_gpu(&mut self) -> Option<&mut GpuBackend> {
        Some(self)
    }
    fn device_bytes_per_frame(&self) -> Option<f64> {
        let b = &self.bufs;
        let parts: u64 = b
            .frames
            .iter()
            .chain(b.owners.iter())
            .map(|x| x.size())
            .sum();
        let total: u64 = parts
            + [
                &b.params,
                &b.pageblocks,
                &b.chunk_zone,
                &b.chunk_counts,
                &b.chunk_prefix,
                &b.chunk_dirty,
                &b.dispatch,
                &b.topo,
                &b.ctl,
                &b.zone_stats,
                &b.tasks,
                &b.task_state,
                &b.plan,
                &b.grants,
                &b.segs,
                &b.totals,
            ]
            .iter()
            .map(|x| x.size())
            .sum::<u64>();
        Some(total as f64 / self.host.frames.len().max(1) as f64)
    }
    fn simulate_device_loss(&mut self) {
        self.ctx.device.destroy();
        let mut g = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            *g = Some("device lost (Destroyed): destroyed on request".into());
        }
    }
}
