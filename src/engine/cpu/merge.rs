//! Phase `merge` (twin of shaders/merge.wgsl): buddies that are both free
//! merge, order by order, inside each chunk, with `__free_one_page`'s rule
//! at pageblock order and above: two pageblocks of different types merge
//! only if both types are mergeable (Unmovable, Movable, Reclaimable), and
//! the buddy's pageblock then takes the merged block's type.

use super::chunk::{ChunkMut, Shared};
use crate::model::frame::*;

pub fn merge_chunk(_sh: &Shared, ch: ChunkMut) {
    if *ch.dirty == 0 {
        return;
    }
    *ch.dirty = 0;
    let n = ch.frames.len();
    for k in 0..MAX_PAGE_ORDER {
        let half = 1usize << k;
        let want = make_free(k);
        let mut a = 0usize;
        while a < n {
            let bb = a + half;
            if ch.frames[a] == want && ch.frames[bb] == want {
                let mut ok = true;
                if k >= PAGEBLOCK_ORDER {
                    let pa = a >> PAGEBLOCK_ORDER;
                    let pb = bb >> PAGEBLOCK_ORDER;
                    let (ma, mb) = (ch.pageblocks[pa], ch.pageblocks[pb]);
                    if ma != mb {
                        if !migratetype_is_mergeable(ma) || !migratetype_is_mergeable(mb) {
                            ok = false;
                        } else {
                            ch.pageblocks[pb] = ma;
                        }
                    }
                }
                if ok {
                    ch.frames[a] = make_free(k + 1);
                    ch.frames[bb] = 0;
                }
            }
            a += half << 1;
        }
    }
}
