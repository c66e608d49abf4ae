//! Phase `merge` (twin of shaders/tick/merge.wgsl): buddies that are both
//! free merge, order by order, inside each chunk freed into since the last
//! merge, with `__free_one_page`'s rule at pageblock order and above
//! (`buddies_merge`). A merge clears `PageReported` (the merged block is
//! new to the host; it is unbacked only where both halves were), and a
//! free that lands at `page_reporting_order` or above, merged or not,
//! calls `page_reporting_notify_free()` (merges of drained reports do
//! not: `__putback_isolated_page()` passes `FPI_SKIP_REPORT_NOTIFY`).

use super::chunk::{fold_chunks, rows};
use crate::engine::types::*;
use crate::model::frame::*;

/// The state of the block two free buddies of order `k` merge into.
#[inline]
pub fn merged(a: u32, b: u32, k: u32) -> u32 {
    let unbacked = flags(a) & flags(b) & FF_UNBACKED;
    make_free(k + 1) | unbacked << FLAGS_SHIFT
}

pub fn merge(
    params: &TickParams,
    frames: &mut [u32],
    pageblocks: &mut [u32],
    chunk_dirty: &mut [u32],
    report_cfg: &[u32],
    report_state: &mut [u32],
    _order: u32,
) {
    let all = 0..params.nr_chunks as usize;
    let parts = (
        rows(frames, &all, CHUNK_FRAMES as usize),
        rows(pageblocks, &all, PAGEBLOCKS_PER_CHUNK as usize),
        rows(chunk_dirty, &all, 1),
    );
    let thr = if report_cfg[RC_ENABLED] != 0 {
        report_cfg[RC_ORDER]
    } else {
        u32::MAX
    };
    let notify = fold_chunks(
        all,
        parts,
        |_, (frames, pageblocks, dirty)| {
            let d = dirty[0];
            if d == 0 {
                return false;
            }
            dirty[0] = 0;
            let freed = d & DIRTY_FREED != 0;
            let mut notify =
                freed && (d >> DIRTY_ORDER_SHIFT) >> thr.min(31) != 0 && thr <= MAX_PAGE_ORDER;
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
                            frames[a] = merged(frames[a], frames[bb], k);
                            frames[bb] = 0;
                            notify |= freed && k + 1 >= thr;
                        }
                    }
                    a += half << 1;
                }
            }
            notify
        },
        |a, b| a || b,
    );
    if notify {
        report_state[RS_NOTIFY] = 1;
    }
}
