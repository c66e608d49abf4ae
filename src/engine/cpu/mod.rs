//! The CPU reference backend: the CPU twin of every shader, run in
//! parallel over chunks with rayon. It allocates nothing inside the tick.

pub mod alloc_split;
pub mod chunk;
pub mod count;
pub mod free;
pub mod hugetlb_apply;
pub mod merge;
pub mod plan;
pub mod scan;
pub mod steal;

use super::state::SimBuffers;
use super::types::*;
use super::{Backend, EngineError, Phase};
use crate::model::frame::MAX_PAGE_ORDER;
use chunk::fold_chunks;

pub struct CpuBackend {
    bufs: SimBuffers,
    phases: Vec<Phase>,
    #[cfg(feature = "parallel")]
    pool: Option<rayon::ThreadPool>,
}

impl CpuBackend {
    /// A backend on the global rayon pool.
    pub fn new(bufs: SimBuffers) -> Self {
        CpuBackend {
            bufs,
            phases: super::tick_phases(),
            #[cfg(feature = "parallel")]
            pool: None,
        }
    }

    /// A backend on its own pool of `threads` threads (determinism tests).
    /// Without the `parallel` feature (the browser build) it has one.
    pub fn with_threads(bufs: SimBuffers, threads: usize) -> Self {
        #[cfg(feature = "parallel")]
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .ok();
        #[cfg(not(feature = "parallel"))]
        let _ = threads;
        CpuBackend {
            bufs,
            phases: super::tick_phases(),
            #[cfg(feature = "parallel")]
            pool,
        }
    }

    fn threads(&self) -> usize {
        #[cfg(feature = "parallel")]
        {
            self.pool
                .as_ref()
                .map(|p| p.current_num_threads())
                .unwrap_or_else(rayon::current_num_threads)
        }
        #[cfg(not(feature = "parallel"))]
        {
            1
        }
    }

    fn install<R: Send>(&mut self, f: impl FnOnce(&mut SimBuffers) -> R + Send) -> R {
        #[cfg(feature = "parallel")]
        if let Some(pool) = &self.pool {
            let bufs = &mut self.bufs;
            return pool.install(move || f(bufs));
        }
        f(&mut self.bufs)
    }

    pub fn into_buffers(self) -> SimBuffers {
        self.bufs
    }
}

/// Runs one phase on the CPU.
pub fn run_phase_on(b: &mut SimBuffers, phase: Phase) {
    let all = 0..b.nr_chunks();
    match phase {
        Phase::Free => {
            for z in 0..b.zones.len() {
                let zd = b.zones[z];
                let range = zd.start_chunk as usize..(zd.start_chunk + zd.nr_chunks) as usize;
                let st = fold_chunks(b, range, free::free_chunk, |a, c| a + c);
                let s = &mut b.zone_stats[z].v;
                s[ZS_PGFREE] += st.pgfree;
                s[ZS_FREES] += st.frees;
                s[ZS_PGSTEAL_KSWAPD] += st.steal_kswapd;
                s[ZS_PGSTEAL_DIRECT] += st.steal_direct;
            }
        }
        Phase::Merge => fold_chunks(b, all, merge::merge_chunk, |_, _| ()),
        Phase::Count => {
            for z in 0..b.zones.len() {
                let zd = b.zones[z];
                let range = zd.start_chunk as usize..(zd.start_chunk + zd.nr_chunks) as usize;
                let zc = fold_chunks(b, range, count::count_chunk, |a, c| a + c);
                let zs = &mut b.zone_state[z];
                zs.free_area = zc.free_area;
                zs.nr_free = zc.nr_free;
                zs.class_pages = zc.class_pages;
                [
                    zs.huge_frames,
                    zs.huge_inuse_frames,
                    zs.vmemmap_boot_frames,
                    zs.vmemmap_runtime_frames,
                ] = zc.hugetlb;
            }
        }
        Phase::Plan => plan::plan(b),
        Phase::Scan(o) => scan::scan(b, o as usize),
        Phase::Steal(k) => fold_chunks(b, all, |sh, ch| steal::steal_chunk(sh, ch, k), |_, _| ()),
        Phase::AllocSplit(j) => {
            // Only the chunks the scan found work in (a prefix of each zone).
            for z in 0..b.zones.len() {
                let first = b.dispatch[DISPATCH_FIRST + z] as usize;
                let n = b.dispatch[DISPATCH_COUNT + z] as usize;
                fold_chunks(
                    b,
                    first..first + n,
                    |sh, ch| alloc_split::alloc_split_chunk(sh, ch, j),
                    |_, _| (),
                );
            }
        }
        Phase::EndTick => end_tick(b),
    }
}

/// Phase `end_tick` (twin of shaders/end_tick.wgsl): adds the tick's
/// counters to the 64-bit totals and advances the tick number.
pub fn end_tick(b: &mut SimBuffers) {
    for (z, s) in b.zone_stats.iter().enumerate() {
        for (i, &v) in s.v.iter().enumerate() {
            let w = (z * NR_ZONE_STATS + i) * 2;
            let (lo, carry) = b.totals[w].overflowing_add(v);
            b.totals[w] = lo;
            b.totals[w + 1] = b.totals[w + 1].wrapping_add(carry as u32);
        }
    }
    b.params.tick = b.params.tick.wrapping_add(1);
}

/// Resets what a tick accumulates afresh.
pub fn begin_tick(b: &mut SimBuffers) {
    for s in b.zone_stats.iter_mut() {
        *s = ZoneStats::default();
    }
}

/// Applies control-path ops and recounts (see `Backend::apply_ops`).
pub fn apply_ops_on(b: &mut SimBuffers, ops: &[FrameOp]) {
    hugetlb_apply::hugetlb_apply(b, ops);
    run_phase_on(b, Phase::Count);
}

impl Backend for CpuBackend {
    fn apply_ops(&mut self, ops: &[FrameOp]) -> Result<(), EngineError> {
        self.install(|b| apply_ops_on(b, ops));
        Ok(())
    }
    fn name(&self) -> String {
        if cfg!(feature = "parallel") {
            format!("cpu (reference, rayon, {} threads)", self.threads())
        } else {
            "cpu (reference, 1 thread)".to_string()
        }
    }
    fn buffers(&mut self) -> Result<&SimBuffers, EngineError> {
        Ok(&self.bufs)
    }
    fn buffers_mut(&mut self) -> &mut SimBuffers {
        &mut self.bufs
    }
    fn snapshot(&self) -> Option<&SimBuffers> {
        Some(&self.bufs)
    }
    fn host(&self) -> &SimBuffers {
        &self.bufs
    }
    fn run_phase(&mut self, phase: Phase) -> Result<(), EngineError> {
        if phase == Phase::Free {
            begin_tick(&mut self.bufs);
        }
        self.install(|b| run_phase_on(b, phase));
        Ok(())
    }
    fn run_tick(&mut self) -> Result<(), EngineError> {
        let phases = std::mem::take(&mut self.phases);
        self.install(|b| {
            begin_tick(b);
            for &p in &phases {
                run_phase_on(b, p);
            }
        });
        self.phases = phases;
        debug_assert!(self.phases.len() == 4 + 4 + 2 * (MAX_PAGE_ORDER as usize + 1) + 1);
        Ok(())
    }
}
