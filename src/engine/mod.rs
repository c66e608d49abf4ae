//! The engine: the simulation's buffers (`buffers`: one row per buffer),
//! the tick as rows of the shader table (`phases`), the request ring
//! through which control paths write (`requests`), and the two executors
//! that run the same rows: the CPU reference (`cpu`, one twin per shader)
//! and the GPU backend (`gpu`). See ARCHITECTURE.md.

pub mod buffers;
pub mod cpu;
pub mod frame_map;
pub mod gpu;
pub mod header;
pub mod open;
pub mod parity;
pub mod phases;
pub mod requests;
pub mod state;
pub mod types;

pub use open::{open, BackendChoice, Opened};
pub use phases::{tick_phases, Phase};
pub use requests::{Batch, JournalEntry, Request};
pub use state::SimBuffers;

/// A sample of the counters as a backend had them after some tick.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsSample {
    /// Ticks completed when the sample was taken.
    pub tick: u32,
    pub totals: Vec<[u64; types::NR_ZONE_STATS]>,
    pub last: Vec<types::ZoneStats>,
    /// Per-zone state after that tick (free areas, pages per class).
    pub zones: Vec<types::ZoneState>,
    /// Per-zone zone->lock statistics (`types::LS_*` words).
    pub lock_stats: Vec<u32>,
    /// The reporting device's state and per-zone counts (`types::RS_*`).
    pub report_state: Vec<u32>,
    /// NUMA balancing's events and room (`types::NE_*`, `NSG_*`).
    pub numa_state: Vec<u32>,
    /// The resident user pages (`TZ_RSS`) of the first
    /// `SAMPLED_TASKS` tasks, per (task, zone).
    pub task_rss: Vec<u32>,
}

/// Tasks whose resident pages per zone every statistics sample carries
/// (the dashboard's locality table).
pub const SAMPLED_TASKS: usize = 64;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("backend `{backend}` is not available: {reason}")]
    Unavailable { backend: String, reason: String },
    /// The device is gone (lost, reset, destroyed): the run can continue
    /// elsewhere from the last snapshot.
    #[error("the device was lost: {0}")]
    DeviceLost(String),
    /// The device refused work: a bug in a shader or in how it was
    /// dispatched, never to be papered over by a fallback. `label` names
    /// the pipeline or pass (`numasim.free`).
    #[error("GPU validation error in `{label}`: {message}")]
    Validation { label: String, message: String },
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl EngineError {
    /// Whether continuing on the CPU reference from the last snapshot is
    /// the right answer (a lost device), rather than stopping (a bug).
    pub fn is_device_loss(&self) -> bool {
        matches!(self, EngineError::DeviceLost(_))
    }
}

/// Frames as a control path reads them between ticks: the small state in
/// full, the per-frame arrays by need (on a GPU backend, a chunk summary
/// or a ranged download; on the CPU reference, the arrays themselves).
pub trait FrameSource {
    /// The small state: params, zones, zone state, pageblocks, totals,
    /// the chunk-to-zone map (current).
    fn small(&self) -> &SimBuffers;
    fn state(&self, pfn: u32) -> u32;
    fn owner(&self, pfn: u32) -> u32;
    /// Whether a free block of order `k` heads at `pfn` (answered from a
    /// chunk summary when one is at hand).
    fn is_free_block(&self, pfn: u32, k: u32) -> bool {
        crate::model::frame::is_free_block(self.state(pfn), k)
    }
    /// The free blocks of zone `z` as (head pfn, order), ascending.
    fn free_blocks(&self, z: usize) -> Vec<(u32, u32)>;
    /// Chunks about to be read (a hint: a GPU backend reads them at once).
    fn prefetch(&self, _chunks: std::ops::Range<u32>) {}
    /// The first error a read met; a path that saw one must fail.
    fn error(&self) -> Option<EngineError> {
        None
    }
    /// Bytes read from a device so far.
    fn bytes_read(&self) -> u64 {
        0
    }
}

/// The host's own arrays as a frame source (the CPU reference, or a GPU
/// backend's current snapshot).
pub struct HostFrames<'a>(pub &'a SimBuffers);

impl FrameSource for HostFrames<'_> {
    fn small(&self) -> &SimBuffers {
        self.0
    }
    fn state(&self, pfn: u32) -> u32 {
        self.0.frames[pfn as usize]
    }
    fn owner(&self, pfn: u32) -> u32 {
        self.0.owners[pfn as usize]
    }
    fn free_blocks(&self, z: usize) -> Vec<(u32, u32)> {
        use crate::model::frame::*;
        let zd = self.0.zones[z];
        let mut v = Vec::new();
        let mut p = zd.start_pfn;
        let end = zd.start_pfn + zd.nr_frames;
        while p < end {
            let s = self.0.frames[p as usize];
            if kind(s) == KIND_FREE {
                v.push((p, order(s)));
            }
            p += 1 << order(s);
        }
        v
    }
}

/// What a failed backend leaves to continue from: its last consistent
/// snapshot and everything applied to the device since, in order (see
/// `replay`).
pub struct Recovery {
    pub snapshot: SimBuffers,
    pub journal: Vec<JournalEntry>,
    /// The configuration as the host has it now (changes not uploaded
    /// yet included).
    pub config: requests::Config,
}

/// A backend owns the simulation buffers and runs the shader table over
/// them.
/// The `TZ_RSS` words of the first `nr_tasks` tasks' rows of `task_zone`
/// (rows are (task, zone), `TZ_WORDS` each, tasks first).
pub fn rss_words(task_zone: &[u32], nr_tasks: usize, nr_zones: usize) -> Vec<u32> {
    task_zone
        .chunks_exact(types::TZ_WORDS)
        .take(nr_tasks * nr_zones)
        .map(|row| row[types::TZ_RSS])
        .collect()
}

pub trait Backend: Send {
    /// A human-readable name (`cpu (reference, rayon, 2 threads)`).
    fn name(&self) -> String;
    /// The host copy without synchronizing: the configuration (zones,
    /// nodes, zonelists, tasks) is current; on a GPU backend the state is
    /// as of the last sync and the per-frame arrays may be absent.
    fn config(&self) -> &SimBuffers;
    /// The configuration, to change; uploaded before the next submission.
    /// Only configuration may be written here: device state changes go
    /// through `enqueue`.
    fn config_mut(&mut self) -> &mut SimBuffers;
    /// The small state made current (everything but the per-chunk and
    /// per-frame arrays): what /proc and /sys read. A GPU backend
    /// downloads a few kilobytes; never the frames.
    fn state(&mut self) -> Result<&SimBuffers, EngineError>;
    /// What the last `state` (or `buffers`) call returned, without
    /// syncing: for a reader that needs the machine beside it.
    fn synced(&self) -> &SimBuffers;
    /// Everything made current, scratch included (a GPU backend downloads
    /// it all): digests, the invariant checker, parity.
    fn buffers(&mut self) -> Result<&SimBuffers, EngineError>;
    /// Each task's resident pages per zone (`TZ_RSS` of `task_zone`, task
    /// by task, zones in order), for the first `nr_tasks` tasks: a GPU
    /// backend reads just those words' rows, never the frames.
    fn task_rss(&mut self, nr_tasks: usize) -> Result<Vec<u32>, EngineError> {
        let b = self.buffers()?;
        Ok(rss_words(&b.task_zone, nr_tasks, b.zones.len()))
    }
    /// The first `words` words of `numa_tasks` (the first tasks' NUMA
    /// balancing state): a GPU backend reads just those, never the frames.
    fn numa_tasks(&mut self, words: usize) -> Result<Vec<u32>, EngineError> {
        let b = self.buffers()?;
        Ok(b.numa_tasks[..words.min(b.numa_tasks.len())].to_vec())
    }
    /// The frames for a control path (pending requests applied first).
    fn frames(&mut self) -> Result<Box<dyn FrameSource + '_>, EngineError>;
    /// Applies a control path's requests as one batch between ticks (a
    /// GPU backend records it at the head of its next submission).
    fn enqueue(&mut self, requests: Vec<Request>) -> Result<(), EngineError>;
    /// Runs one phase of the current tick.
    fn run_phase(&mut self, phase: Phase) -> Result<(), EngineError>;
    /// Runs `n` whole ticks (a GPU backend records them without waiting).
    fn run_ticks(&mut self, n: u32) -> Result<(), EngineError>;
    /// The cumulative per-zone counters and the newest tick's counters.
    fn read_stats(
        &mut self,
        totals: &mut [[u64; types::NR_ZONE_STATS]],
        last: &mut [types::ZoneStats],
    ) -> Result<(), EngineError>;
    /// The newest finished counters without waiting (a GPU backend takes
    /// them from its ring of mapped buffers; None until one has finished,
    /// and each sample once).
    fn latest_stats(&mut self) -> Option<StatsSample>;
    /// Waits until all submitted work has finished (GPU backends), so a
    /// phase can be timed on its own.
    fn finish(&mut self) -> Result<(), EngineError> {
        Ok(())
    }
    /// Starts making the host copy current without waiting (a GPU backend
    /// begins a full download); true when it already is.
    fn begin_sync(&mut self) -> Result<bool, EngineError> {
        Ok(true)
    }
    /// After `begin_sync`: `Some(Ok)` once the host copy is current (then
    /// `buffers` returns at once), None while it is on its way.
    fn poll_sync(&mut self) -> Option<Result<(), EngineError>> {
        Some(Ok(()))
    }
    /// The snapshot and journal to continue from after a failure (GPU).
    fn take_recovery(&mut self) -> Option<Recovery> {
        None
    }
    /// The GPU backend behind this trait object, for work that needs its
    /// device (drawing the frame map into a texture, checkpoints, tests).
    fn as_gpu(&mut self) -> Option<&mut gpu::GpuBackend> {
        None
    }
}

/// Brings a CPU reference backend from a snapshot to tick `to_tick` by
/// running the ticks between and applying the journal's configuration
/// and batches at the ticks they reached the device, then the current
/// configuration: the state the device would have had, exactly (the tick
/// is deterministic).
pub fn replay(
    cpu: &mut cpu::CpuBackend,
    journal: &[JournalEntry],
    config: &requests::Config,
    to_tick: u32,
) -> Result<(), EngineError> {
    for e in journal {
        let at = cpu.config().params.tick;
        if e.tick() > at {
            cpu.run_ticks(e.tick() - at)?;
        }
        match e {
            JournalEntry::Config { config, .. } => config.install(cpu.config_mut()),
            JournalEntry::Batch { batch, .. } => cpu.apply_batch(batch),
        }
    }
    config.install(cpu.config_mut());
    let at = cpu.config().params.tick;
    if to_tick > at {
        cpu.run_ticks(to_tick - at)?;
    }
    Ok(())
}
