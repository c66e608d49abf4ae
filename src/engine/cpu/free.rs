//! Phase `free` (twin of shaders/tick/free.wgsl): every allocated block
//! decides on its own whether it is freed this tick: its task stopped, its
//! lifetime ended (a geometric draw), or reclaim picked it.

use super::chunk::{fold_chunks, rows, zone_runs};
use crate::engine::state::CtlRef;
use crate::engine::types::*;
use crate::model::frame::*;
use crate::model::hash::{hash_at, hash_prefix, STREAM_FREE, STREAM_RECLAIM};
use crate::model::workload::{CLASSES, USER_ANON_CLASS_MASK};

#[derive(Default, Clone, Copy)]
pub struct FreeStats {
    pub pgfree: u32,
    pub frees: u32,
    pub steal_kswapd: u32,
    pub steal_direct: u32,
}

impl std::ops::Add for FreeStats {
    type Output = FreeStats;
    fn add(self, o: FreeStats) -> FreeStats {
        FreeStats {
            pgfree: self.pgfree + o.pgfree,
            frees: self.frees + o.frees,
            steal_kswapd: self.steal_kswapd + o.steal_kswapd,
            steal_direct: self.steal_direct + o.steal_direct,
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn free(
    params: &TickParams,
    frames: &mut [u32],
    owners: &mut [u32],
    chunk_zone: &[u32],
    ctl: &CtlRef,
    tasks: &[TaskDesc],
    zone_stats: &mut [ZoneStats],
    chunk_dirty: &mut [u32],
    task_zone: &mut [u32],
    _order: u32,
) {
    // Chunks free in parallel into one per-task array, as the shader's
    // atomics do (sums: the order does not matter).
    // SAFETY: AtomicU32 has the layout of u32, and `task_zone` is borrowed
    // uniquely for the whole phase.
    let task_zone: &[std::sync::atomic::AtomicU32] =
        unsafe { &*(task_zone as *mut [u32] as *const [std::sync::atomic::AtomicU32]) };
    let nz = params.nr_zones as usize;
    let cf = CHUNK_FRAMES as usize;
    let free_prefix = hash_prefix(params.seed, params.tick, STREAM_FREE);
    let reclaim_prefix = hash_prefix(params.seed, params.tick, STREAM_RECLAIM);
    for (zone, chunks) in zone_runs(chunk_zone) {
        let kp16 = ctl.zone_state[zone].kswapd_p16;
        let dp16 = ctl.zone_state[zone].direct_p16;
        let parts = (
            rows(frames, &chunks, cf),
            rows(owners, &chunks, cf),
            rows(chunk_dirty, &chunks, 1),
        );
        let st = fold_chunks(
            chunks,
            parts,
            |chunk, (frames, owners, dirty)| {
                let base_pfn = (chunk as u64 * CHUNK_FRAMES) as u32;
                let mut st = FreeStats::default();
                let mut i = 0usize;
                while i < frames.len() {
                    let s = frames[i];
                    let o = order(s);
                    if kind(s) == KIND_ALLOC {
                        let pfn = base_pfn + i as u32;
                        let task = &tasks[(owners[i] - OWNER_TASK_BASE) as usize];
                        let cls = class(s) as usize;
                        let ti = (owners[i] - OWNER_TASK_BASE) as usize;
                        let mut free =
                            task.alive == 0 || hash_at(free_prefix, pfn) < task.free_thresh[cls];
                        let mut by_kswapd = false;
                        if !free && CLASSES[cls].reclaimable && (kp16 | dp16) != 0 {
                            let r = hash_at(reclaim_prefix, pfn) >> 16;
                            if r < kp16 {
                                free = true;
                                by_kswapd = true;
                                st.steal_kswapd += 1 << o;
                            } else if r < kp16 + dp16 {
                                free = true;
                                st.steal_direct += 1 << o;
                            }
                        }
                        if free {
                            frames[i] = make_free(o);
                            owners[i] = OWNER_NONE;
                            st.pgfree += 1 << o;
                            st.frees += 1;
                            dirty[0] |= DIRTY_FREED | 1 << (DIRTY_ORDER_SHIFT + o);
                            use std::sync::atomic::Ordering::Relaxed;
                            let t = (ti * nz + zone) * TZ_WORDS;
                            if USER_ANON_CLASS_MASK >> cls & 1 != 0 {
                                task_zone[t + TZ_RSS].fetch_sub(1 << o, Relaxed);
                            }
                            if !by_kswapd {
                                if o <= PAGE_ALLOC_COSTLY_ORDER {
                                    task_zone[t + TZ_FREE_PCP].fetch_add(1 << o, Relaxed);
                                } else if o == PAGEBLOCK_ORDER {
                                    task_zone[t + TZ_FREE_THP].fetch_add(1, Relaxed);
                                } else {
                                    task_zone[t + TZ_FREE_BLOCKS].fetch_add(1, Relaxed);
                                }
                            }
                        }
                    }
                    i += 1 << o;
                }
                st
            },
            |a, c| a + c,
        );
        let s = &mut zone_stats[zone].v;
        s[ZS_PGFREE] += st.pgfree;
        s[ZS_FREES] += st.frees;
        s[ZS_PGSTEAL_KSWAPD] += st.steal_kswapd;
        s[ZS_PGSTEAL_DIRECT] += st.steal_direct;
    }
}
