//! Op `free_heads` (twin of shaders/ops/free_heads.wgsl): per chunk of a
//! range, its number of free blocks and the first `FREE_HEADS_MAX` of them
//! (offset, order, pageblock type), walking the chunk head by head. A
//! control path builds a zone's free lists from this instead of reading
//! the zone's frames.

use crate::engine::requests::*;
use crate::engine::types::HeadsParams;
use crate::model::frame::*;

pub fn free_heads(
    heads_params: &HeadsParams,
    frames: &[u32],
    pageblocks: &[u32],
    heads: &mut [u32],
) {
    for i in 0..heads_params.nr_chunks as usize {
        let base = (heads_params.first_chunk as usize + i) * CHUNK_FRAMES as usize;
        let out = &mut heads[i * FREE_HEADS_WORDS..(i + 1) * FREE_HEADS_WORDS];
        let mut n = 0usize;
        let mut p = 0usize;
        while p < CHUNK_FRAMES as usize {
            let s = frames[base + p];
            let o = order(s);
            if kind(s) == KIND_FREE {
                if n < FREE_HEADS_MAX {
                    let mt = pageblocks[(base + p) >> PAGEBLOCK_ORDER];
                    out[1 + n] = encode_free_head(p as u32, o, mt);
                }
                n += 1;
            }
            p += 1 << o;
        }
        out[0] = n as u32;
    }
}
