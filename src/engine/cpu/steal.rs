//! Phase `steal` (twin of shaders/tick/steal.wgsl): converts the whole
//! free pageblocks the plan claimed for another migratetype (the
//! lowest-ranked pre-existing blocks of each list at order 10 and 9;
//! reported blocks rank after unreported ones and keep `PageReported` as
//! `move_freepages_block()` keeps it).

use super::chunk::{for_chunks, rows, rows_ref};
use crate::engine::state::PlanRef;
use crate::engine::types::*;
use crate::model::frame::*;

#[allow(clippy::too_many_arguments)]
pub fn steal(
    params: &TickParams,
    frames: &[u32],
    pageblocks: &mut [u32],
    chunk_zone: &[u32],
    chunk_counts: &mut [u32],
    chunk_prefix: &[u32],
    plan: &PlanRef,
    order: u32,
) {
    let k = order;
    let all = 0..params.nr_chunks as usize;
    let parts = (
        rows_ref(frames, &all, CHUNK_FRAMES as usize),
        rows(pageblocks, &all, PAGEBLOCKS_PER_CHUNK as usize),
        rows(chunk_counts, &all, CHUNK_COUNT_WORDS),
        rows_ref(chunk_prefix, &all, CHUNK_PREFIX_WORDS),
    );
    for_chunks(all, parts, |chunk, (frames, pageblocks, counts, prefix)| {
        let z = chunk_zone[chunk] as usize;
        let mut rank = [0u32; CHUNK_PREFIX_WORDS];
        let mut any = false;
        for (i, r) in rank.iter_mut().enumerate() {
            *r = prefix[i];
            let st = &plan.steals[steal_index(z, k as usize, i % NR_PCP)];
            if *r < st.to.iter().sum::<u32>() {
                any = true;
            }
        }
        if !any {
            return;
        }
        let step = 1usize << k;
        let mut p = 0usize;
        while p < frames.len() {
            if is_free_block(frames[p], k) {
                let f = pageblocks[p >> PAGEBLOCK_ORDER] as usize;
                if f < NR_PCP {
                    let reported = is_reported(frames[p]);
                    let ri = f + if reported { NR_PCP } else { 0 };
                    let r = rank[ri];
                    rank[ri] += 1;
                    let st = &plan.steals[steal_index(z, k as usize, f)];
                    let mut acc = 0;
                    for m in 0..NR_PCP {
                        acc += st.to[m];
                        if r < acc {
                            pageblocks[(p >> PAGEBLOCK_ORDER)..((p + step) >> PAGEBLOCK_ORDER)]
                                .fill(m as u32);
                            counts[CC_FREE + k as usize * NR_PCP + f] -= 1;
                            counts[CC_FREE + k as usize * NR_PCP + m] += 1;
                            if reported {
                                counts[CC_REPORTED + k as usize * NR_PCP + f] -= 1;
                                counts[CC_REPORTED + k as usize * NR_PCP + m] += 1;
                            }
                            break;
                        }
                    }
                }
            }
            p += step;
        }
    });
}
