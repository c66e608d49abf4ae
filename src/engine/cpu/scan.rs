//! Phase `scan` (twin of shaders/tick/scan.wgsl): the exclusive prefix,
//! within each zone, of every chunk's free blocks of one order per free
//! list. A block's rank among its zone's blocks is then its chunk's prefix
//! plus its rank inside the chunk. Reported blocks rank after every
//! unreported block of their list (`page_reporting_drain()` puts them back
//! at the tail, and allocation takes from the head): the first prefix
//! counts unreported blocks, the second starts at the zone's unreported
//! total and counts reported ones; it is computed only when the plan
//! reaches past the unreported blocks (else every reported rank is the
//! total, which nothing reaches). It also records, per zone, how many
//! chunks (from the zone's first) have blocks the plan hands out or splits
//! at this order, so `alloc_split` visits only those. (`dispatch` is
//! cleared before the phase: the row's `clears`.)

use crate::engine::state::{PlanRef, TopoRef};
use crate::engine::types::*;
use crate::model::frame::PAGEBLOCK_ORDER;

/// What the plan takes from zone `z`'s lists at `order`: splits and
/// allocations, and (for `needs_reported`) the pageblock claims.
pub fn plan_need(plan: &PlanRef, z: usize, order: usize) -> ([u32; NR_PCP], [u32; NR_PCP]) {
    let cells: [u32; NR_PCP] = std::array::from_fn(|m| {
        let c = &plan.cells[cell_index(z, order, m)];
        c.split + c.alloc
    });
    let all = std::array::from_fn(|m| {
        let steal = if order >= PAGEBLOCK_ORDER as usize {
            plan.steals[steal_index(z, order, m)].to.iter().sum::<u32>()
        } else {
            0
        };
        cells[m].max(steal)
    });
    (cells, all)
}

/// The exclusive prefix over `chunks` of their unreported free blocks of
/// `order` per pcp list, into the first `NR_PCP` words of each chunk's
/// `chunk_prefix` row; returns the zone's totals and how many chunks start
/// below `need` on some list.
pub fn unreported_prefix(
    chunk_counts: &[u32],
    chunk_prefix: &mut [u32],
    chunks: std::ops::Range<usize>,
    order: usize,
    need: &[u32; NR_PCP],
) -> ([u32; NR_PCP], u32) {
    let mut run = [0u32; NR_PCP];
    let mut active = 0u32;
    for c in chunks {
        let mut has_work = false;
        for (m, r) in run.iter_mut().enumerate() {
            chunk_prefix[c * CHUNK_PREFIX_WORDS + m] = *r;
            has_work |= *r < need[m];
            let cc = c * CHUNK_COUNT_WORDS + order * NR_PCP + m;
            *r += chunk_counts[CC_FREE + cc] - chunk_counts[CC_REPORTED + cc];
        }
        active += u32::from(has_work);
    }
    (run, active)
}

pub fn scan(
    params: &TickParams,
    topo: &TopoRef,
    chunk_counts: &[u32],
    chunk_prefix: &mut [u32],
    plan: &PlanRef,
    dispatch: &mut [u32],
    order: u32,
) {
    let order = order as usize;
    let w = CHUNK_PREFIX_WORDS;
    for z in 0..params.nr_zones as usize {
        let zd = topo.zones[z];
        let chunks = zd.start_chunk as usize..(zd.start_chunk + zd.nr_chunks) as usize;
        let (need, need_all) = plan_need(plan, z, order);
        let (total, mut active) =
            unreported_prefix(chunk_counts, chunk_prefix, chunks.clone(), order, &need);
        let mut run = total;
        if (0..NR_PCP).any(|m| need_all[m] > total[m]) {
            let mut active_r = 0u32;
            for c in chunks {
                let mut has_work = false;
                for (m, r) in run.iter_mut().enumerate() {
                    chunk_prefix[c * w + NR_PCP + m] = *r;
                    has_work |= *r < need[m];
                    *r += chunk_counts[c * CHUNK_COUNT_WORDS + CC_REPORTED + order * NR_PCP + m];
                }
                active_r += u32::from(has_work);
            }
            active = active.max(active_r);
        } else {
            for c in chunks {
                chunk_prefix[c * w + NR_PCP..c * w + 2 * NR_PCP].copy_from_slice(&total);
            }
        }
        dispatch[DISPATCH_FIRST + z] = zd.start_chunk;
        dispatch[DISPATCH_COUNT + z] = active;
        dispatch[0] = dispatch[0].max(active.min(MAX_DISPATCH_X));
    }
    dispatch[1] = params.nr_zones;
    dispatch[2] = 1;
}
