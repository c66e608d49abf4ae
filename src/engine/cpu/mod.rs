//! The CPU reference backend: the CPU twin of every shader (one file each,
//! of the shader's name, taking the shader's bindings in `@binding` order),
//! run in parallel over chunks with rayon. It allocates nothing inside
//! the tick.

pub mod alloc_split;
pub mod chunk;
pub mod count;
pub mod count_clear;
pub mod end_tick;
pub mod frame_map;
pub mod free;
pub mod free_heads;
pub mod lock_stat;
pub mod merge;
pub mod numa;
pub mod numa_collect;
pub mod numa_list;
pub mod numa_merge;
pub mod numa_migrate;
pub mod numa_release;
pub mod numa_scan;
pub mod numa_task;
pub mod plan;
pub mod recount;
pub mod report;
pub mod report_isolate;
pub mod report_scan;
pub mod requests;
pub mod scan;
pub mod steal;
pub mod task_rss;

use super::requests::{Batch, Request};
use super::state::{CtlMut, SimBuffers};
use super::types::*;
use super::{tick_phases, Backend, EngineError, FrameSource, HostFrames, Phase, StatsSample};

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
            phases: tick_phases(),
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
            phases: tick_phases(),
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

    /// Applies a batch: the touched chunks' counts out, the requests, the
    /// counts back in (`recount`, `requests`, `recount`).
    pub fn apply_batch(&mut self, batch: &Batch) {
        self.install(|b| apply_batch_on(b, batch));
    }
}

/// Applies a batch of requests to host buffers with the ops' CPU twins,
/// as the GPU records it: `task_rss` and `recount` (subtract), `requests`,
/// `task_rss` and `recount` (add).
pub fn apply_batch_on(b: &mut SimBuffers, batch: &Batch) {
    if batch.is_empty() {
        return;
    }
    let listed = batch.chunks.len() as u32;
    let nr_zones = b.zones.len() as u32;
    for subtract in [1, 0] {
        if subtract == 0 {
            requests::requests(
                &ReqParams {
                    nr_requests: batch.requests.len() as u32,
                    _pad: [0; 3],
                },
                &mut b.frames,
                &mut b.owners,
                &mut b.pageblocks,
                &mut b.chunk_dirty,
                &batch.requests,
                &mut b.totals,
                &mut b.task_state,
                &mut b.report_state,
            );
        }
        let params = RecountParams {
            nr_listed: listed,
            subtract,
            nr_zones,
            _pad: 0,
        };
        task_rss::task_rss(
            &params,
            &b.frames,
            &b.owners,
            &b.chunk_zone,
            &batch.chunks,
            &mut b.task_zone,
        );
        recount::recount(
            &params,
            &b.frames,
            &b.pageblocks,
            &b.chunk_zone,
            &mut b.chunk_counts,
            &mut CtlMut {
                zone_state: &mut b.zone_state,
                node_state: &mut b.node_state,
                plan_hdr: &mut b.plan_hdr,
            },
            &batch.chunks,
            &mut b.report_state,
        );
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> String {
        if cfg!(feature = "parallel") {
            format!("cpu (reference, rayon, {} threads)", self.threads())
        } else {
            "cpu (reference, 1 thread)".to_string()
        }
    }
    fn config(&self) -> &SimBuffers {
        &self.bufs
    }
    fn config_mut(&mut self) -> &mut SimBuffers {
        &mut self.bufs
    }
    fn state(&mut self) -> Result<&SimBuffers, EngineError> {
        Ok(&self.bufs)
    }
    fn synced(&self) -> &SimBuffers {
        &self.bufs
    }
    fn buffers(&mut self) -> Result<&SimBuffers, EngineError> {
        Ok(&self.bufs)
    }
    fn frames(&mut self) -> Result<Box<dyn FrameSource + '_>, EngineError> {
        Ok(Box::new(HostFrames(&self.bufs)))
    }
    fn enqueue(&mut self, requests: Vec<Request>) -> Result<(), EngineError> {
        let batch = Batch::new(requests);
        self.apply_batch(&batch);
        Ok(())
    }
    fn run_phase(&mut self, phase: Phase) -> Result<(), EngineError> {
        self.install(|b| phase.run_cpu(b));
        Ok(())
    }
    fn run_ticks(&mut self, n: u32) -> Result<(), EngineError> {
        let phases = std::mem::take(&mut self.phases);
        self.install(|b| {
            for _ in 0..n {
                for p in &phases {
                    if p.active(b) {
                        p.run_cpu(b);
                    }
                }
            }
        });
        self.phases = phases;
        Ok(())
    }
    fn read_stats(
        &mut self,
        totals: &mut [[u64; NR_ZONE_STATS]],
        last: &mut [ZoneStats],
    ) -> Result<(), EngineError> {
        self.bufs.read_counters(totals, last);
        Ok(())
    }
    fn latest_stats(&mut self) -> Option<StatsSample> {
        // Always current: every call gets the state as it is (a control
        // path between ticks changes it too).
        let b = &self.bufs;
        Some(StatsSample {
            tick: b.params.tick,
            totals: (0..b.zones.len()).map(|z| b.zone_totals(z)).collect(),
            last: b.zone_stats.clone(),
            zones: b.zone_state.clone(),
            lock_stats: b.lock_stats.clone(),
            report_state: b.report_state.clone(),
            numa_state: b.numa_state.clone(),
            task_rss: super::rss_words(
                &b.task_zone,
                super::SAMPLED_TASKS.min(b.tasks.len()),
                b.zones.len(),
            ),
        })
    }
}
