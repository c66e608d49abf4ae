//! Phase `merge` (twin of shaders/tick/merge.wgsl): buddies that are both
//! free merge, order by order, inside each chunk freed into since the last
//! merge, with `__free_one_page`'s rule at pageblock order and above
//! (`buddies_merge`).

use super::chunk::{for_chunks, rows};
use crate::engine::types::TickParams;
use crate::model::frame::*;

pub fn merge(
    params: &TickParams,
    frames: &mut [u32],
    pageblocks: &mut [u32],
    chunk_dirty: &mut [u32],
    _order: u32,
) {
    let all = 0..params.nr_chunks as usize;
    let parts = (
        rows(frames, &all, CHUNK_FRAMES as usize),
        rows(pageblocks, &all, PAGEBLOCKS_PER_CHUNK as usize),
        rows(chunk_dirty, &all, 1),
    );
    for_chunks(all, parts, |_, (frames, pageblocks, dirty)| {
        if dirty[0] == 0 {
            return;
        }
        dirty[0] = 0;
        let n = frames.len();
        for k in 0..MAX_PAGE_ORDER {
            let half = 1usize << k;
            let mut a = 0usize;
            while a < n {
                let bb = a + half;
                if is_free_block(frames[a], k) && is_free_block(frames[bb], k) {
                    let mut ok = true;
                    if k >= PAGEBLOCK_ORDER {
                        let ma = pageblocks[a >> PAGEBLOCK_ORDER];
                        ok = buddies_merge(ma, pageblocks[bb >> PAGEBLOCK_ORDER]);
                        if ok {
                            pageblocks[bb >> PAGEBLOCK_ORDER] = ma;
                        }
                    }
                    if ok {
                        frames[a] = make_free(k + 1);
                        frames[bb] = 0;
                    }
                }
                a += half << 1;
            }
        }
    });
}
