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
            let notify =
                freed && (d >> DIRTY_ORDER_SHIFT) >> thr.min(31) != 0 && thr <= MAX_PAGE_ORDER;
            let top = merge_chunk(frames, pageblocks);
            notify || freed && top > 0 && top >= thr
        },
        |a, b| a || b,
    );
    if notify {
        report_state[RS_NOTIFY] = 1;
    }
}

/// Merges every pair of free buddies of one chunk, order by order (the
/// shared loop of `merge` and `numa_merge`). Returns the highest order a
/// merge produced (0: none).
pub fn merge_chunk(frames: &mut [u32], pageblocks: &mut [u32]) -> u32 {
    let n = frames.len();
    let mut top = 0;
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
                    top = top.max(k + 1);
                }
            }
            a += half << 1;
        }
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two free order-9 buddies in one chunk, the first reported (and so
    /// unbacked), after a free into the chunk.
    fn chunk(second: u32) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
        let mut frames = vec![0u32; CHUNK_FRAMES as usize];
        frames[0] = make_free(9) | (FF_REPORTED | FF_UNBACKED) << FLAGS_SHIFT;
        frames[512] = second;
        let pageblocks = vec![MIGRATE_MOVABLE; PAGEBLOCKS_PER_CHUNK as usize];
        let dirty = vec![DIRTY_FREED | 1 << (DIRTY_ORDER_SHIFT + 9)];
        (frames, pageblocks, dirty)
    }

    fn run(frames: &mut [u32], pageblocks: &mut [u32], dirty: &mut [u32]) -> Vec<u32> {
        let params = TickParams {
            nr_chunks: 1,
            ..Default::default()
        };
        let mut cfg = vec![0u32; REPORT_CFG_WORDS];
        cfg[RC_ENABLED] = 1;
        cfg[RC_ORDER] = 9;
        let mut rs = vec![0u32; RS_DEV_WORDS + RZ_WORDS];
        merge(&params, frames, pageblocks, dirty, &cfg, &mut rs, 0);
        rs
    }

    #[test]
    fn a_merge_clears_page_reported_and_keeps_unbacked_only_where_both_halves_were() {
        // __free_one_page(): the merged block is new to the host
        // (PageReported cleared as del_page_from_free_list() clears it).
        let (mut f, mut pb, mut d) = chunk(make_free(9));
        let rs = run(&mut f, &mut pb, &mut d);
        assert_eq!(f[0], make_free(10), "merged, not reported, backed");
        assert_eq!(f[512], 0);
        // A free that reached page_reporting_order requests a pass.
        assert_eq!(rs[RS_NOTIFY], 1);
        let (mut f, mut pb, mut d) =
            chunk(make_free(9) | (FF_REPORTED | FF_UNBACKED) << FLAGS_SHIFT);
        run(&mut f, &mut pb, &mut d);
        assert_eq!(
            f[0],
            make_free(10) | FF_UNBACKED << FLAGS_SHIFT,
            "both halves were unbacked: still unbacked, no longer reported"
        );
    }

    #[test]
    fn a_drain_merge_does_not_request_another_pass() {
        // __putback_isolated_page() passes FPI_SKIP_REPORT_NOTIFY.
        let (mut f, mut pb, _) = chunk(make_free(9));
        let mut d = vec![DIRTY_DRAIN];
        let rs = run(&mut f, &mut pb, &mut d);
        assert_eq!(f[0], make_free(10));
        assert_eq!(rs[RS_NOTIFY], 0);
    }
}
