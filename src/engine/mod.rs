//! The tick: a fixed list of phases run by a backend over `SimBuffers`.
//!
//! The phase list is data (`tick_phases`), kept apart from the executors,
//! so every backend runs the same list and a diagnostic can compare two
//! backends after any phase.

pub mod cpu;
pub mod frame_map;
pub mod gpu;
pub mod parity;
pub mod state;
pub mod types;

pub use state::SimBuffers;

use crate::model::frame::MAX_PAGE_ORDER;

/// One phase of the tick. Each has a CPU twin in `engine::cpu` and, on the
/// GPU, one compute entry point of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Allocated blocks whose lifetime ended, whose task stopped, or that
    /// reclaim picked become free.
    Free,
    /// Free buddies merge, order by order.
    Merge,
    /// Free blocks and allocated pages are recounted per chunk and zone.
    Count,
    /// Requests are generated and planned over the counts (one thread).
    Plan,
    /// Prefix of per-chunk counts of one order within each zone.
    Scan(u32),
    /// Claimed pageblocks of one order change migratetype.
    Steal(u32),
    /// Free blocks of one order are split or handed out by rank.
    AllocSplit(u32),
    /// The tick's counters are added to the totals; the tick number advances.
    EndTick,
}

impl Phase {
    pub fn name(&self) -> String {
        match self {
            Phase::Free => "free".into(),
            Phase::Merge => "merge".into(),
            Phase::Count => "count".into(),
            Phase::Plan => "plan".into(),
            Phase::Scan(o) => format!("scan[{o}]"),
            Phase::Steal(o) => format!("steal[{o}]"),
            Phase::AllocSplit(o) => format!("alloc_split[{o}]"),
            Phase::EndTick => "end_tick".into(),
        }
    }
}

/// The phases of one tick, in order.
pub fn tick_phases() -> Vec<Phase> {
    let mut v = vec![Phase::Free, Phase::Merge, Phase::Count, Phase::Plan];
    for k in [MAX_PAGE_ORDER, MAX_PAGE_ORDER - 1] {
        v.push(Phase::Scan(k));
        v.push(Phase::Steal(k));
    }
    for o in (0..=MAX_PAGE_ORDER).rev() {
        v.push(Phase::Scan(o));
        v.push(Phase::AllocSplit(o));
    }
    v.push(Phase::EndTick);
    v
}

/// A sample of the counters as a backend had them after some tick.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsSample {
    /// Ticks completed when the sample was taken.
    pub tick: u32,
    pub totals: Vec<[u64; types::NR_ZONE_STATS]>,
    pub last: Vec<types::ZoneStats>,
    /// Per-zone state after that tick (free areas, pages per class).
    pub zones: Vec<types::ZoneState>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("backend `{backend}` is not available: {reason}")]
    Unavailable { backend: String, reason: String },
    #[error("the device was lost: {0}")]
    DeviceLost(String),
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// A backend owns the simulation buffers and runs phases over them.
pub trait Backend: Send {
    /// A human-readable name (`cpu (rayon, 2 threads)`).
    fn name(&self) -> String;
    /// The buffers as the host sees them (a GPU backend downloads first).
    fn buffers(&mut self) -> Result<&SimBuffers, EngineError>;
    /// Host-side writes to configuration buffers (zones, tasks, nodes).
    fn buffers_mut(&mut self) -> &mut SimBuffers;
    /// Runs one phase of the current tick.
    fn run_phase(&mut self, phase: Phase) -> Result<(), EngineError>;
    /// Runs a whole tick: resets the per-tick stats and runs every phase.
    fn run_tick(&mut self) -> Result<(), EngineError>;
    /// Runs `n` whole ticks (a GPU backend records them without waiting).
    fn run_ticks(&mut self, n: u32) -> Result<(), EngineError> {
        for _ in 0..n {
            self.run_tick()?;
        }
        Ok(())
    }
    /// The last host copy of the buffers that is a consistent snapshot of
    /// one tick (after a device loss, the state to continue from).
    fn snapshot(&self) -> Option<&SimBuffers> {
        None
    }
    /// The newest finished counters without waiting (a GPU backend takes
    /// them from its ring of mapped buffers; None until one has finished).
    fn latest_stats(&mut self) -> Option<StatsSample> {
        let b = self.buffers().ok()?;
        Some(StatsSample {
            tick: b.params.tick,
            totals: (0..b.zones.len()).map(|z| b.zone_totals(z)).collect(),
            last: b.zone_stats.clone(),
            zones: b.zone_state.clone(),
        })
    }
    /// Waits until all submitted work has finished (GPU backends), so a
    /// phase can be timed on its own.
    fn finish(&mut self) -> Result<(), EngineError> {
        Ok(())
    }
    /// The host copy of the buffers without synchronizing: the
    /// configuration arrays (zones, nodes, tasks, zonelists) are current;
    /// the state arrays are as of the last download (a GPU backend).
    fn host(&self) -> &SimBuffers;
    /// Renders the frame map (see `frame_map`) and returns its words:
    /// the pixels, then the probe. Blocking.
    fn frame_map(&mut self, p: &frame_map::FrameMapParams) -> Result<Vec<u32>, EngineError> {
        let b = self.buffers()?;
        let mut out = vec![0u32; p.out_words()];
        frame_map::render(b, p, &mut out).map_err(EngineError::Invalid)?;
        Ok(out)
    }
    /// Starts making the host copy current without waiting (a GPU backend
    /// begins a download); true when it already is.
    fn begin_sync(&mut self) -> Result<bool, EngineError> {
        Ok(true)
    }
    /// After `begin_sync`: `Some(Ok)` once the host copy is current (then
    /// `buffers` and `read_stats` return at once), None while it is on its
    /// way. Never waits.
    fn poll_sync(&mut self) -> Option<Result<(), EngineError>> {
        Some(Ok(()))
    }
    /// The GPU backend behind this trait object, for work that needs its
    /// device (drawing the frame map into a texture).
    fn as_gpu(&mut self) -> Option<&mut gpu::GpuBackend> {
        None
    }
    /// Bytes of device memory per simulated frame (GPU backends).
    fn device_bytes_per_frame(&self) -> Option<f64> {
        None
    }
    /// Makes the device unusable as a lost device would be (tests of the
    /// device-loss path); backends without a device ignore it.
    fn simulate_device_loss(&mut self) {}
    /// Applies the frame-array writes of a control path (`hugetlb_apply`)
    /// between ticks, then recounts the zones (`count`).
    fn apply_ops(&mut self, ops: &[types::FrameOp]) -> Result<(), EngineError>;
    /// The cumulative per-zone counters and the newest tick's counters.
    fn read_stats(
        &mut self,
        totals: &mut [[u64; types::NR_ZONE_STATS]],
        last: &mut [types::ZoneStats],
    ) -> Result<(), EngineError> {
        self.buffers()?.read_counters(totals, last);
        Ok(())
    }
}
