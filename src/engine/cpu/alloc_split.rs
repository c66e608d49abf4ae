//! Phase `alloc_split` (twin of shaders/tick/alloc_split.wgsl), run once
//! per order from high to low, over the chunks the scan found work in (a
//! prefix of each zone): each free block of the order finds its rank in its
//! zone's list; the first `split` ranks split into two buddies of the order
//! below, the next `alloc` ranks are handed out to the owners of the plan's
//! segments, the rest stay free. Unreported blocks rank first (reported
//! ones sit at the list's tail); the halves of a split keep the host's
//! state (unbacked halves of a reported block), and an allocation of an
//! unbacked block refaults on the host (counted in the chunk's
//! `CC_REFAULT_*` words for the next `count`).

use super::chunk::{for_chunks, rows, rows_ref};
use crate::engine::state::PlanRef;
use crate::engine::types::*;
use crate::model::frame::*;
use crate::model::hash::{hash_at, hash_prefix, STREAM_NUMA_HOT};

#[allow(clippy::too_many_arguments)]
pub fn alloc_split(
    params: &TickParams,
    frames: &mut [u32],
    owners: &mut [u32],
    pageblocks: &[u32],
    dispatch: &[u32],
    chunk_counts: &mut [u32],
    chunk_prefix: &[u32],
    plan: &PlanRef,
    segs: &[Grant],
    order: u32,
) {
    let j = order;
    let cf = CHUNK_FRAMES as usize;
    let hot_prefix = hash_prefix(params.seed, params.tick, STREAM_NUMA_HOT);
    for z in 0..params.nr_zones as usize {
        let first = dispatch[DISPATCH_FIRST + z] as usize;
        let n = dispatch[DISPATCH_COUNT + z] as usize;
        let r = first..first + n;
        let parts = (
            rows(frames, &r, cf),
            rows(owners, &r, cf),
            rows_ref(pageblocks, &r, PAGEBLOCKS_PER_CHUNK as usize),
            rows(chunk_counts, &r, CHUNK_COUNT_WORDS),
            rows_ref(chunk_prefix, &r, CHUNK_PREFIX_WORDS),
        );
        for_chunks(
            r,
            parts,
            |chunk, (frames, owners, pageblocks, counts, prefix)| {
                // Ranks of unreported blocks, then of reported ones.
                let mut rank = [0u32; CHUNK_PREFIX_WORDS];
                let mut any = false;
                for (i, r) in rank.iter_mut().enumerate() {
                    *r = prefix[i];
                    let cell = &plan.cells[cell_index(z, j as usize, i % NR_PCP)];
                    if *r < cell.split + cell.alloc {
                        any = true;
                    }
                }
                if !any {
                    return;
                }
                let step = 1usize << j;
                let mut p = 0usize;
                while p < frames.len() {
                    let s = frames[p];
                    if is_free_block(s, j) {
                        let m = pageblocks[p >> PAGEBLOCK_ORDER] as usize;
                        if m < NR_PCP {
                            let ri = m + if is_reported(s) { NR_PCP } else { 0 };
                            let r = rank[ri];
                            rank[ri] += 1;
                            let cell = &plan.cells[cell_index(z, j as usize, m)];
                            if r < cell.split {
                                let half = step >> 1;
                                let h = make_free(j - 1) | (flags(s) & FF_UNBACKED) << FLAGS_SHIFT;
                                frames[p] = h;
                                frames[p + half] = h;
                                let lo = CC_FREE + (j as usize - 1) * NR_PCP;
                                counts[lo + m] += 1;
                                counts[lo + pageblocks[(p + half) >> PAGEBLOCK_ORDER] as usize] +=
                                    1;
                            } else if r < cell.split + cell.alloc {
                                let q = r - cell.split;
                                // Segments of a cell are few; find the one holding rank q.
                                let segs = &segs[cell.seg_start as usize
                                    ..(cell.seg_start + cell.seg_count) as usize];
                                let mut lo = 0usize;
                                let mut hi = segs.len();
                                while hi - lo > 1 {
                                    let mid = (lo + hi) / 2;
                                    if segs[mid].start <= q {
                                        lo = mid;
                                    } else {
                                        hi = mid;
                                    }
                                }
                                let g = &segs[lo];
                                // The grant's flags (a migration target's
                                // are its source's), and a user page's
                                // place in the hot set.
                                let mut f = g.flags;
                                let pfn = (chunk * cf + p) as u32;
                                if g.hot16 != 0 && hash_at(hot_prefix, pfn) >> 16 < g.hot16 {
                                    f |= AF_HOT;
                                }
                                frames[p] = make_alloc(j, g.class_mt >> 8, g.class_mt & 0xff)
                                    | f << FLAGS_SHIFT;
                                owners[p] = g.owner;
                                if is_unbacked(s) {
                                    counts[CC_REFAULT_PAGES] += 1 << j;
                                    counts[CC_REFAULT_ALLOCS] += 1;
                                }
                            }
                        }
                    }
                    p += step;
                }
            },
        );
    }
}
