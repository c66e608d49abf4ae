//! Phase `scan` (twin of shaders/scan.wgsl): the exclusive prefix, within
//! each zone, of every chunk's free blocks of one order per free list. A
//! block's rank among its zone's blocks is then its chunk's prefix plus its
//! rank inside the chunk.

use crate::engine::state::SimBuffers;
use crate::engine::types::{CHUNK_COUNT_WORDS, NR_PCP};

pub fn scan(b: &mut SimBuffers, order: usize) {
    for z in 0..b.zones.len() {
        let zd = b.zones[z];
        let mut run = [0u32; NR_PCP];
        for c in zd.start_chunk as usize..(zd.start_chunk + zd.nr_chunks) as usize {
            for (m, r) in run.iter_mut().enumerate() {
                b.chunk_prefix[c * NR_PCP + m] = *r;
                *r += b.chunk_counts[c * CHUNK_COUNT_WORDS + order * NR_PCP + m];
            }
        }
    }
}
