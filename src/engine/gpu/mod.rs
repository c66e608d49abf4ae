//! The GPU backend: every row of the shader table as a wgpu compute
//! pipeline over device buffers made from the buffer table, many ticks per
//! submission.
//!
//! - `pipelines`: layouts, pipelines and bind groups from the tables.
//! - `record`: encoding the tick's phases (clears included) and a request
//!   batch (`recount`, `requests`, `recount`) at the head of a submission.
//! - `stats_ring`: counters back without waiting.
//! - `download`: the full, the small and the ranged downloads.
//! - `source`: the frames a control path reads, by chunk summaries and
//!   ranges (`FrameSource`).
//!
//! The host keeps two copies. `host` holds the configuration (the truth,
//! uploaded when changed) and the small state as of the last small sync;
//! it never holds frames. `snapshot` is a whole, consistent state of one
//! tick, replaced only by a full download that completed; everything the
//! device was given since (configuration uploads, request batches) is in
//! the `journal`, so a lost device is replayed on the CPU reference from
//! the snapshot to the tick it had reached, exactly. While no tick has run
//! since the snapshot (`fresh`), batches and configuration are applied to
//! the snapshot too, and it serves every read without a download (the
//! browser, which cannot wait for the device, relies on that).
//!
//! The small configuration and state arrays are packed into a few buffers
//! (`topo`, `ctl`, `plan`) so that no shader binds more than eight storage
//! buffers (the WebGPU default) while the per-frame arrays fit one binding
//! each. Larger machines split those arrays over several bindings
//! (`shaders::FrameLayout`), which needs an adapter allowing more storage
//! buffers per stage (native ones do).

pub mod device;
mod download;
mod frame_map;
mod pipelines;
mod record;
pub mod shaders;
mod source;
mod stats_ring;

use super::buffers::{Buf, Extra, Sync, BUFFERS};
use super::requests::{Batch, Config, JournalEntry, Request};
use super::state::SimBuffers;
use super::types::*;
use super::{Backend, EngineError, FrameSource, HostFrames, Phase, Recovery, StatsSample};
use crate::model::frame::CHUNK_FRAMES;
pub use device::GpuContext;
use pipelines::{Compiled, DevBufs};
pub(crate) use stats_ring::SlotState;
use stats_ring::StatsRing;
use std::sync::{Arc, Mutex};
use wgpu::util::DeviceExt;

/// Ticks recorded into one command buffer.
const TICKS_PER_SUBMIT: u32 = 16;

/// One recorded step of the tick.
struct Step {
    phase: Phase,
    bind_group: wgpu::BindGroup,
    /// None: indirect.
    groups: Option<(u32, u32)>,
}

/// What a submission records after the pending batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Work {
    /// Step `i` of the tick.
    Step(usize),
    /// A dispatch no device accepts (a test hook).
    InvalidDispatch,
}

/// A request batch waiting for the next submission.
struct Pending {
    batch: Batch,
    /// Already applied to the snapshot (which was current).
    mirrored: bool,
}

pub struct GpuBackend {
    ctx: GpuContext,
    /// Configuration (current) and small state (as of `small_fresh`).
    host: SimBuffers,
    small_fresh: bool,
    /// Whether the last `state`/`buffers` answered from `snapshot`.
    synced_snapshot: bool,
    /// The last whole, consistent state (see the module docs).
    snapshot: SimBuffers,
    /// No tick ran since the snapshot: it is the device's state.
    fresh: bool,
    /// What the device was given since the snapshot.
    journal: Vec<JournalEntry>,
    /// The host changed configuration that must be uploaded.
    config_dirty: bool,
    pending: Option<Pending>,
    /// The newest batch submitted (to trace a validation error to it).
    last_batch: Option<Batch>,
    bufs: DevBufs,
    layout: shaders::FrameLayout,
    compiled: Vec<Compiled>,
    steps: Vec<Step>,
    error: Arc<Mutex<Option<EngineError>>>,
    ring: StatsRing,
    /// A request batch reached the device after the ring's newest sample.
    ring_stale: bool,
    /// Ticks the device will have completed once submitted work is done.
    device_tick: u32,
    /// The frame map's buffers, made on first use.
    frame_map: Option<frame_map::FrameMapGpu>,
    /// A full download in flight.
    download: Option<download::PendingDownload>,
    /// Work was submitted after the download in flight began.
    submitted_since_download: bool,
    /// Full downloads begun so far (what a control path must not cost).
    full_downloads: u64,
}

/// The label of the pipeline, pass or buffer a wgpu message names
/// (`numasim.free`), if it names one.
fn label_of(msg: &str) -> String {
    msg.find("numasim.")
        .map(|i| {
            msg[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "._[]".contains(*c))
                .collect::<String>()
                .trim_end_matches(']')
                .to_string()
        })
        .unwrap_or_else(|| "unlabelled".into())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
        bufs: SimBuffers,
        part_frames: Option<u64>,
    ) -> Result<GpuBackend, EngineError> {
        let nf = bufs.frames.len() as u64;
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
        let layout = shaders::FrameLayout {
            parts: parts as u32,
            part_frames: if parts == 1 { u32::MAX } else { pf as u32 },
        };
        if bufs.zones.len() > MAX_ZONES || bufs.nodes.len() > crate::model::scenario::MAX_NODES {
            return Err(EngineError::Unavailable {
                backend: "gpu".into(),
                reason: "too many zones or nodes".into(),
            });
        }
        let d = &ctx.device;
        let error = Arc::new(Mutex::new(None::<EngineError>));
        {
            let e = error.clone();
            d.on_uncaptured_error(Arc::new(move |err: wgpu::Error| {
                let mut g = lock(&e);
                if g.is_none() {
                    *g = Some(match err {
                        wgpu::Error::Validation { description, .. } => EngineError::Validation {
                            label: label_of(&description),
                            message: description,
                        },
                        other => EngineError::DeviceLost(format!("GPU error: {other}")),
                    });
                }
            }));
            let e = error.clone();
            d.set_device_lost_callback(move |reason, msg| {
                let mut g = lock(&e);
                if g.is_none() {
                    *g = Some(EngineError::DeviceLost(format!("{reason:?}: {msg}")));
                }
            });
        }
        let mut dev = DevBufs::new();
        use wgpu::BufferUsages as U;
        for row in BUFFERS.iter().filter(|r| r.sync != Sync::Transient) {
            let mut usage = U::STORAGE | U::COPY_DST | U::COPY_SRC;
            match row.extra {
                Extra::Uniform => usage |= U::UNIFORM,
                Extra::Indirect => usage |= U::INDIRECT,
                Extra::None => {}
            }
            let bytes = (row.pack)(&bufs);
            let label = format!("numasim.{}", row.name);
            let list = if row.sync == Sync::Frame {
                bytes
                    .chunks(pf as usize * 4)
                    .enumerate()
                    .map(|(i, c)| {
                        d.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                            label: Some(&format!("{label}[{i}]")),
                            contents: c,
                            usage,
                        })
                    })
                    .collect()
            } else {
                let mut v = bytes.into_owned();
                v.resize((row.device_bytes)(&bufs) as usize, 0);
                vec![d.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(&label),
                    contents: &v,
                    usage,
                })]
            };
            dev.insert(row.id, list);
        }
        let compiled = pipelines::compile_all(&ctx, layout);
        let ring = StatsRing::new(d, bufs.zones.len());
        let mut host = bufs.small_clone();
        host.params = bufs.params;
        let mut me = GpuBackend {
            ctx,
            host,
            small_fresh: true,
            synced_snapshot: false,
            device_tick: bufs.params.tick,
            snapshot: bufs,
            fresh: true,
            journal: Vec::new(),
            config_dirty: false,
            pending: None,
            last_batch: None,
            bufs: dev,
            layout,
            compiled,
            steps: Vec::new(),
            error,
            ring,
            ring_stale: false,
            frame_map: None,
            download: None,
            submitted_since_download: false,
            full_downloads: 0,
        };
        me.build_steps();
        me.check_error()?;
        Ok(me)
    }

    /// The bind groups and grids of the tick's steps.
    fn build_steps(&mut self) {
        let nc = self.host.params.nr_chunks;
        let nz = self.host.zones.len() as u32;
        let bufs = &self.bufs;
        self.steps = super::tick_phases()
            .into_iter()
            .map(|phase| {
                let c = pipelines::find(&self.compiled, phase.def().name);
                Step {
                    phase,
                    bind_group: pipelines::bind_group(&self.ctx, c, self.layout, |b| bufs.parts(b)),
                    groups: phase.def().grid.groups(nc, nz),
                }
            })
            .collect();
    }

    fn compiled(&self, name: &str) -> &Compiled {
        pipelines::find(&self.compiled, name)
    }

    fn check_error(&self) -> Result<(), EngineError> {
        match lock(&self.error).as_ref() {
            None => Ok(()),
            Some(e) => Err(e.clone()),
        }
    }

    fn wait(&self) -> Result<(), EngineError> {
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| EngineError::DeviceLost(format!("waiting for the GPU: {e}")))?;
        self.check_error()
    }

    /// Uploads changed configuration (and the params it sizes), journaled
    /// or mirrored into the snapshot.
    fn upload_config(&mut self) {
        if !self.config_dirty {
            return;
        }
        let q = &self.ctx.queue;
        let h = &mut self.host;
        h.params.tick = self.device_tick;
        h.params.nr_tasks = h.tasks.len() as u32;
        for row in BUFFERS.iter().filter(|r| r.sync == Sync::Config) {
            q.write_buffer(self.bufs.one(row.id), 0, &(row.pack)(h));
        }
        // Only the configuration words of params: the tick is the device's.
        q.write_buffer(self.bufs.one(Buf::Params), 0, bytemuck::bytes_of(&h.params));
        let config = Config::of(h);
        if self.fresh {
            config.install(&mut self.snapshot);
        } else {
            self.journal.push(JournalEntry::Config {
                tick: self.device_tick,
                config,
            });
        }
        self.config_dirty = false;
    }

    /// Records pending configuration and requests, then `work`, into one
    /// submission. `ticks`: whether the work runs simulation phases (the
    /// snapshot stops being current). A validation error is traced to the
    /// step that caused it (`diagnose`).
    fn submit(&mut self, ticks: bool, work: &[Work]) -> Result<(), EngineError> {
        self.check_error()?;
        self.upload_config();
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("numasim.submission"),
            });
        let batch = self.pending.take();
        if let Some(p) = &batch {
            self.encode_batch(&mut enc, &p.batch);
        }
        for w in work {
            self.encode_work(&mut enc, w);
        }
        self.ctx.queue.submit([enc.finish()]);
        if let Some(p) = batch {
            if !p.mirrored {
                self.journal.push(JournalEntry::Batch {
                    tick: self.device_tick,
                    batch: p.batch.clone(),
                });
            }
            self.small_fresh = false;
            self.ring_stale = true;
            self.last_batch = Some(p.batch);
        }
        if ticks {
            self.fresh = false;
            self.small_fresh = false;
            self.submitted_since_download |= self.download.is_some();
        }
        match self.check_error() {
            Err(EngineError::Validation { .. }) => Err(self.diagnose(work)),
            r => r,
        }
    }

    fn encode_work(&self, enc: &mut wgpu::CommandEncoder, w: &Work) {
        match *w {
            Work::Step(i) => self.encode_step(enc, i),
            Work::InvalidDispatch => {
                let s = &self.steps[0];
                let c = self.compiled(s.phase.def().name);
                let x = self.ctx.limits.max_compute_workgroups_per_dimension + 1;
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("numasim.injected_invalid_dispatch"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(c.pipeline(s.phase.order()));
                pass.set_bind_group(0, &s.bind_group, &[]);
                pass.dispatch_workgroups(x, 1, 1);
            }
        }
    }

    /// After a submission failed validation (the device executed none of
    /// it): records each of its steps alone into an encoder of the step's
    /// label, inside an error scope, without submitting, and names the
    /// first one the device refuses (wgpu names only the encoder).
    fn diagnose(&self, work: &[Work]) -> EngineError {
        let original = lock(&self.error).clone();
        let mut seen = Vec::new();
        let mut items: Vec<(String, Option<&Work>)> = vec![("numasim.requests".into(), None)];
        for w in work {
            if seen.contains(w) {
                continue;
            }
            seen.push(*w);
            let label = match *w {
                Work::Step(i) => format!("numasim.{}", self.steps[i].phase.name()),
                Work::InvalidDispatch => "numasim.injected_invalid_dispatch".into(),
            };
            items.push((label, Some(w)));
        }
        for (label, w) in items {
            let scope = self
                .ctx
                .device
                .push_error_scope(wgpu::ErrorFilter::Validation);
            let mut enc = self
                .ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some(&label),
                });
            match w {
                Some(w) => self.encode_work(&mut enc, w),
                None => {
                    if let Some(b) = &self.last_batch {
                        self.encode_batch(&mut enc, b);
                    }
                }
            }
            drop(enc.finish());
            if let Some(e) = pollster::block_on(scope.pop()) {
                let named = EngineError::Validation {
                    label,
                    message: e.to_string(),
                };
                // Every later call reports the named error.
                *lock(&self.error) = Some(named.clone());
                return named;
            }
        }
        original.unwrap_or_else(|| EngineError::Validation {
            label: "numasim.submission".into(),
            message: "validation failed".into(),
        })
    }

    /// Applies pending configuration and requests now (no ticks).
    fn flush(&mut self) -> Result<(), EngineError> {
        if self.pending.is_some() || self.config_dirty {
            self.submit(false, &[])?;
        }
        Ok(())
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Full downloads of the state begun since the backend opened.
    pub fn full_downloads(&self) -> u64 {
        self.full_downloads
    }

    /// Bytes of device memory per simulated frame.
    pub fn device_bytes_per_frame(&self) -> f64 {
        let total: u64 = self.bufs.all().map(|b| b.size()).sum();
        total as f64 / self.snapshot.frames.len().max(1) as f64
    }

    /// Makes the device unusable as a lost device would be (tests of the
    /// device-loss path).
    pub fn simulate_device_loss(&mut self) {
        self.ctx.device.destroy();
        let mut g = lock(&self.error);
        if g.is_none() {
            *g = Some(EngineError::DeviceLost(
                "Destroyed: destroyed on request".into(),
            ));
        }
    }

    /// Records a dispatch no device accepts (more workgroups than any
    /// dimension allows): the test of how a validation error is reported.
    pub fn inject_invalid_dispatch(&mut self) -> Result<(), EngineError> {
        self.submit(false, &[Work::InvalidDispatch])
    }
}

impl Backend for GpuBackend {
    fn name(&self) -> String {
        format!("gpu: {}", self.ctx.describe())
    }
    fn config(&self) -> &SimBuffers {
        &self.host
    }
    fn config_mut(&mut self) -> &mut SimBuffers {
        self.config_dirty = true;
        &mut self.host
    }
    fn state(&mut self) -> Result<&SimBuffers, EngineError> {
        if self.fresh {
            self.flush()?;
            self.synced_snapshot = true;
            return Ok(&self.snapshot);
        }
        if !self.small_fresh || self.pending.is_some() || self.config_dirty {
            self.flush()?;
            self.download_small()?;
        }
        self.synced_snapshot = false;
        Ok(&self.host)
    }
    fn synced(&self) -> &SimBuffers {
        if self.synced_snapshot {
            &self.snapshot
        } else {
            &self.host
        }
    }
    fn buffers(&mut self) -> Result<&SimBuffers, EngineError> {
        self.flush()?;
        while !self.fresh {
            self.begin_download()?;
            self.wait_download()?;
        }
        self.synced_snapshot = true;
        Ok(&self.snapshot)
    }
    fn task_rss(&mut self, nr_tasks: usize) -> Result<Vec<u32>, EngineError> {
        self.flush()?;
        let nz = self.host.zones.len();
        if self.fresh {
            return Ok(super::rss_words(&self.snapshot.task_zone, nr_tasks, nz));
        }
        if cfg!(target_arch = "wasm32") {
            return Err(EngineError::Invalid(
                "the tasks' resident counts on the browser's GPU need the state downloaded first"
                    .into(),
            ));
        }
        // The tasks' rows come first: one copy of their words.
        let mut rows = vec![0u32; nr_tasks * nz * crate::engine::types::TZ_WORDS];
        self.read_into(
            self.bufs.one(Buf::TaskZone),
            bytemuck::cast_slice_mut(&mut rows),
        )?;
        Ok(super::rss_words(&rows, nr_tasks, nz))
    }
    fn numa_tasks(&mut self, words: usize) -> Result<Vec<u32>, EngineError> {
        self.flush()?;
        let words = words.min(self.snapshot.numa_tasks.len());
        if self.fresh {
            return Ok(self.snapshot.numa_tasks[..words].to_vec());
        }
        if cfg!(target_arch = "wasm32") {
            return Err(EngineError::Invalid(
                "the tasks' NUMA state on the browser's GPU needs the state downloaded first"
                    .into(),
            ));
        }
        let mut out = vec![0u32; words];
        self.read_into(
            self.bufs.one(Buf::NumaTasks),
            bytemuck::cast_slice_mut(&mut out),
        )?;
        Ok(out)
    }
    fn frames(&mut self) -> Result<Box<dyn FrameSource + '_>, EngineError> {
        self.flush()?;
        if self.fresh {
            return Ok(Box::new(HostFrames(&self.snapshot)));
        }
        if cfg!(target_arch = "wasm32") {
            return Err(EngineError::Invalid(
                "a control path on the browser's GPU needs the state downloaded first".into(),
            ));
        }
        if !self.small_fresh {
            self.download_small()?;
        }
        Ok(Box::new(source::DeviceFrames::new(self)))
    }
    fn enqueue(&mut self, requests: Vec<Request>) -> Result<(), EngineError> {
        if requests.is_empty() {
            return Ok(());
        }
        let batch = Batch::new(requests);
        // While the snapshot is the device's state, it takes the batch too
        // and stays so (the CPU twins apply it the way the shaders will).
        let mirrored = self.fresh && self.pending.as_ref().is_none_or(|p| p.mirrored);
        if mirrored {
            super::cpu::apply_batch_on(&mut self.snapshot, &batch);
        }
        match &mut self.pending {
            Some(p) => {
                p.batch.merge(batch.requests);
                p.mirrored &= mirrored;
            }
            None => self.pending = Some(Pending { batch, mirrored }),
        }
        self.small_fresh = false;
        Ok(())
    }
    fn run_phase(&mut self, phase: Phase) -> Result<(), EngineError> {
        let i = self
            .steps
            .iter()
            .position(|s| s.phase == phase)
            .ok_or_else(|| EngineError::Invalid(format!("no phase {}", phase.name())))?;
        self.submit(true, &[Work::Step(i)])?;
        if phase.def().name == "end_tick" {
            self.device_tick = self.device_tick.wrapping_add(1);
        }
        Ok(())
    }
    fn run_ticks(&mut self, n: u32) -> Result<(), EngineError> {
        let mut left = n;
        // Phases the configuration switches off are not recorded (the CPU
        // reference skips them the same way).
        let active: Vec<usize> = (0..self.steps.len())
            .filter(|&i| self.steps[i].phase.active(&self.host))
            .collect();
        while left > 0 {
            let k = left.min(TICKS_PER_SUBMIT);
            let work: Vec<Work> = (0..k)
                .flat_map(|_| active.iter().map(|&i| Work::Step(i)))
                .collect();
            self.submit(true, &work)?;
            left -= k;
            self.device_tick = self.device_tick.wrapping_add(k);
            // Samples inside a long batch are extras; one slot is kept for
            // the sample at the batch's end, which readers wait for.
            if left == 0 || self.ring.idle_slots() >= 2 {
                self.ring.record(&self.ctx, &self.bufs);
                self.ring_stale = false;
            }
        }
        Ok(())
    }
    fn read_stats(
        &mut self,
        totals: &mut [[u64; NR_ZONE_STATS]],
        last: &mut [ZoneStats],
    ) -> Result<(), EngineError> {
        // A current copy holds them: no wait.
        if self.fresh && self.pending.is_none() {
            self.snapshot.read_counters(totals, last);
            return Ok(());
        }
        if self.small_fresh && self.pending.is_none() {
            self.host.read_counters(totals, last);
            return Ok(());
        }
        self.flush()?;
        self.check_error()?;
        self.wait()?;
        self.ring.take_newest_ready();
        if self
            .ring
            .newest
            .as_ref()
            .is_none_or(|n| n.tick != self.device_tick)
            || self.ring_stale
        {
            // Every slot was busy when the last batch ended, nothing ran
            // since boot, or a request batch changed the counters since the
            // newest sample: sample now.
            self.ring.record(&self.ctx, &self.bufs);
            self.ring_stale = false;
            self.wait()?;
            self.ring.take_newest_ready();
        }
        let s = self
            .ring
            .newest
            .clone()
            .filter(|n| n.tick == self.device_tick)
            .ok_or_else(|| EngineError::DeviceLost("no statistics sample completed".into()))?;
        totals.copy_from_slice(&s.totals);
        last.copy_from_slice(&s.last);
        Ok(())
    }
    fn finish(&mut self) -> Result<(), EngineError> {
        self.flush()?;
        self.wait()
    }
    fn latest_stats(&mut self) -> Option<StatsSample> {
        let _ = self.ctx.device.poll(wgpu::PollType::Poll);
        self.ring.take_newest_ready();
        // The newest sample, once, even when `read_stats` took it off the
        // ring first (a blocking read between two polls).
        let n = self.ring.newest.as_ref()?;
        if self.ring.reported_tick == Some(n.tick) {
            return None;
        }
        self.ring.reported_tick = Some(n.tick);
        Some(n.clone())
    }
    fn begin_sync(&mut self) -> Result<bool, EngineError> {
        self.flush()?;
        if self.fresh {
            return Ok(true);
        }
        self.begin_download()?;
        Ok(false)
    }
    fn poll_sync(&mut self) -> Option<Result<(), EngineError>> {
        if self.fresh {
            return Some(Ok(()));
        }
        match self.poll_download() {
            Some(Ok(())) if !self.fresh => {
                // Ticks were submitted meanwhile: fetch again.
                self.begin_download().err().map(Err)
            }
            Some(r) => Some(r),
            None if self.download.is_none() => self.begin_download().err().map(Err),
            None => None,
        }
    }
    fn take_recovery(&mut self) -> Option<Recovery> {
        let mut journal = std::mem::take(&mut self.journal);
        if let Some(p) = self.pending.take() {
            if !p.mirrored {
                journal.push(JournalEntry::Batch {
                    tick: self.device_tick,
                    batch: p.batch,
                });
            }
        }
        let snapshot = std::mem::take(&mut self.snapshot);
        Some(Recovery {
            snapshot,
            journal,
            config: Config::of(&self.host),
        })
    }
    fn as_gpu(&mut self) -> Option<&mut GpuBackend> {
        Some(self)
    }
}
