//! Phase `steal` (twin of shaders/steal.wgsl): converts the whole free
//! pageblocks the plan claimed for another migratetype (the lowest-ranked
//! pre-existing blocks of each list at order 10 and 9).

use super::chunk::{ChunkMut, Shared};
use crate::engine::types::{steal_index, NR_PCP};
use crate::model::frame::*;

pub fn steal_chunk(sh: &Shared, ch: ChunkMut, k: u32) {
    let z = sh.chunk_zone[ch.chunk] as usize;
    let mut rank = [0u32; NR_PCP];
    let mut any = false;
    for (f, r) in rank.iter_mut().enumerate() {
        *r = ch.prefix[f];
        let st = &sh.steals[steal_index(z, k as usize, f)];
        if *r < st.to.iter().sum::<u32>() {
            any = true;
        }
    }
    if !any {
        return;
    }
    let step = 1usize << k;
    let mut p = 0usize;
    while p < ch.frames.len() {
        if ch.frames[p] == make_free(k) {
            let f = ch.pageblocks[p >> PAGEBLOCK_ORDER] as usize;
            if f < NR_PCP {
                let r = rank[f];
                rank[f] += 1;
                let st = &sh.steals[steal_index(z, k as usize, f)];
                let mut acc = 0;
                for m in 0..NR_PCP {
                    acc += st.to[m];
                    if r < acc {
                        for pb in (p >> PAGEBLOCK_ORDER)..((p + step) >> PAGEBLOCK_ORDER) {
                            ch.pageblocks[pb] = m as u32;
                        }
                        ch.counts[k as usize * NR_PCP + f] -= 1;
                        ch.counts[k as usize * NR_PCP + m] += 1;
                        break;
                    }
                }
            }
        }
        p += step;
    }
}
