//! Phase `scan` (twin of shaders/tick/scan.wgsl): the exclusive prefix,
//! within each zone, of every chunk's free blocks of one order per free
//! list. A block's rank among its zone's blocks is then its chunk's prefix
//! plus its rank inside the chunk. It also records, per zone, how many
//! chunks (from the zone's first) have blocks the plan hands out or splits
//! at this order, so `alloc_split` visits only those. (`dispatch` is
//! cleared before the phase: the row's `clears`.)

use crate::engine::state::{PlanRef, TopoRef};
use crate::engine::types::*;

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
    for z in 0..params.nr_zones as usize {
        let zd = topo.zones[z];
        let need: [u32; NR_PCP] = std::array::from_fn(|m| {
            let c = &plan.cells[cell_index(z, order, m)];
            c.split + c.alloc
        });
        let mut run = [0u32; NR_PCP];
        let mut active = 0u32;
        for c in zd.start_chunk as usize..(zd.start_chunk + zd.nr_chunks) as usize {
            let mut has_work = false;
            for (m, r) in run.iter_mut().enumerate() {
                chunk_prefix[c * NR_PCP + m] = *r;
                has_work |= *r < need[m];
                *r += chunk_counts[c * CHUNK_COUNT_WORDS + order * NR_PCP + m];
            }
            active += u32::from(has_work);
        }
        dispatch[DISPATCH_FIRST + z] = zd.start_chunk;
        dispatch[DISPATCH_COUNT + z] = active;
        dispatch[0] = dispatch[0].max(active.min(MAX_DISPATCH_X));
    }
    dispatch[1] = params.nr_zones;
    dispatch[2] = 1;
}
