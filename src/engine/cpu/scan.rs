//! Phase `scan` (twin of shaders/scan.wgsl): the exclusive prefix, within
//! each zone, of every chunk's free blocks of one order per free list. A
//! block's rank among its zone's blocks is then its chunk's prefix plus its
//! rank inside the chunk. It also records, per zone, how many chunks (from
//! the zone's first) have blocks the plan hands out or splits at this
//! order, so `alloc_split` visits only those.

use crate::engine::state::SimBuffers;
use crate::engine::types::*;

pub fn scan(b: &mut SimBuffers, order: usize) {
    b.dispatch.fill(0);
    for z in 0..b.zones.len() {
        let zd = b.zones[z];
        let need: [u32; NR_PCP] = std::array::from_fn(|m| {
            let c = &b.cells[cell_index(z, order, m)];
            c.split + c.alloc
        });
        let mut run = [0u32; NR_PCP];
        let mut active = 0u32;
        for c in zd.start_chunk as usize..(zd.start_chunk + zd.nr_chunks) as usize {
            let mut has_work = false;
            for (m, r) in run.iter_mut().enumerate() {
                b.chunk_prefix[c * NR_PCP + m] = *r;
                has_work |= *r < need[m];
                *r += b.chunk_counts[c * CHUNK_COUNT_WORDS + order * NR_PCP + m];
            }
            active += u32::from(has_work);
        }
        b.dispatch[DISPATCH_FIRST + z] = zd.start_chunk;
        b.dispatch[DISPATCH_COUNT + z] = active;
        b.dispatch[0] = b.dispatch[0].max(active.min(MAX_DISPATCH_X));
    }
    b.dispatch[1] = b.zones.len() as u32;
    b.dispatch[2] = 1;
}
