//! Phase `free` (twin of shaders/free.wgsl): every allocated block decides
//! on its own whether it is freed this tick: its task stopped, its lifetime
//! ended (a geometric draw), or reclaim picked it.

use super::chunk::{ChunkMut, Shared};
use crate::model::frame::*;
use crate::model::hash::{hash_at, hash_prefix, STREAM_FREE, STREAM_RECLAIM};
use crate::model::workload::CLASSES;

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

pub fn free_chunk(sh: &Shared, ch: ChunkMut) -> FreeStats {
    let p = sh.params;
    let zone = sh.chunk_zone[ch.chunk] as usize;
    let kp16 = sh.zone_state[zone].kswapd_p16;
    let dp16 = sh.zone_state[zone].direct_p16;
    let base_pfn = (ch.chunk as u64 * CHUNK_FRAMES) as u32;
    let free_prefix = hash_prefix(p.seed, p.tick, STREAM_FREE);
    let reclaim_prefix = hash_prefix(p.seed, p.tick, STREAM_RECLAIM);
    let mut st = FreeStats::default();
    let mut i = 0usize;
    while i < ch.frames.len() {
        let s = ch.frames[i];
        let o = order(s);
        if kind(s) == KIND_ALLOC {
            let pfn = base_pfn + i as u32;
            let task = &sh.tasks[(ch.owners[i] - OWNER_TASK_BASE) as usize];
            let cls = class(s) as usize;
            let mut free = task.alive == 0 || hash_at(free_prefix, pfn) < task.free_thresh[cls];
            if !free && CLASSES[cls].reclaimable && (kp16 | dp16) != 0 {
                let r = hash_at(reclaim_prefix, pfn) >> 16;
                if r < kp16 {
                    free = true;
                    st.steal_kswapd += 1 << o;
                } else if r < kp16 + dp16 {
                    free = true;
                    st.steal_direct += 1 << o;
                }
            }
            if free {
                ch.frames[i] = make_free(o);
                ch.owners[i] = OWNER_NONE;
                st.pgfree += 1 << o;
                st.frees += 1;
                *ch.dirty = 1;
            }
        }
        i += 1 << o;
    }
    st
}
