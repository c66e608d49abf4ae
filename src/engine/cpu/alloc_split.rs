//! Phase `alloc_split` (twin of shaders/alloc_split.wgsl), run once per
//! order from high to low: each free block of the order finds its rank in
//! its zone's list; the first `split` ranks split into two buddies of the
//! order below, the next `alloc` ranks are handed out to the owners of the
//! plan's segments, the rest stay free.

use super::chunk::{ChunkMut, Shared};
use crate::engine::types::{cell_index, NR_PCP};
use crate::model::frame::*;

pub fn alloc_split_chunk(sh: &Shared, ch: ChunkMut, j: u32) {
    let z = sh.chunk_zone[ch.chunk] as usize;
    let mut rank = [0u32; NR_PCP];
    let mut any = false;
    for (m, r) in rank.iter_mut().enumerate() {
        *r = ch.prefix[m];
        let cell = &sh.cells[cell_index(z, j as usize, m)];
        if *r < cell.split + cell.alloc {
            any = true;
        }
    }
    if !any {
        return;
    }
    let step = 1usize << j;
    let want = make_free(j);
    let mut p = 0usize;
    while p < ch.frames.len() {
        if ch.frames[p] == want {
            let m = ch.pageblocks[p >> PAGEBLOCK_ORDER] as usize;
            if m < NR_PCP {
                let r = rank[m];
                rank[m] += 1;
                let cell = &sh.cells[cell_index(z, j as usize, m)];
                if r < cell.split {
                    let half = step >> 1;
                    ch.frames[p] = make_free(j - 1);
                    ch.frames[p + half] = make_free(j - 1);
                    let lo = (j as usize - 1) * NR_PCP;
                    ch.counts[lo + m] += 1;
                    ch.counts[lo + ch.pageblocks[(p + half) >> PAGEBLOCK_ORDER] as usize] += 1;
                } else if r < cell.split + cell.alloc {
                    let q = r - cell.split;
                    // Segments of a cell are few; find the one holding rank q.
                    let segs = &sh.segs
                        [cell.seg_start as usize..(cell.seg_start + cell.seg_count) as usize];
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
                    ch.frames[p] = make_alloc(j, g.class_mt >> 8, g.class_mt & 0xff);
                    ch.owners[p] = g.owner;
                }
            }
        }
        p += step;
    }
}
