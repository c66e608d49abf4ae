//! Phase `report_isolate` (twin of shaders/tick/report_isolate.wgsl), per
//! chunk of the zones `report` named: the drain of the batch the host
//! answered (`page_reporting_drain()`: each block back on the free list of
//! its pageblock's type now, `__putback_isolated_page()`, with
//! `PageReported` set and its memory gone from the host; it merges at the
//! next `merge`, which then clears the flag), and this tick's fill (the
//! first `RZ_TAKE` unreported blocks of each list, from the head:
//! `__isolate_free_page()` takes them off the lists, and, at order
//! `pageblock_order` or above, turns their mergeable pageblocks MOVABLE;
//! the kernel does so from `pageblock_order - 1`, where numasim, whose
//! free lists follow the pageblock type, leaves the type alone). Both
//! move the zone's counts the plan reads.

use crate::engine::state::CtlMut;
use crate::engine::types::*;
use crate::model::frame::*;

#[allow(clippy::too_many_arguments)]
pub fn report_isolate(
    params: &TickParams,
    frames: &mut [u32],
    pageblocks: &mut [u32],
    chunk_zone: &[u32],
    chunk_counts: &mut [u32],
    chunk_prefix: &[u32],
    chunk_dirty: &mut [u32],
    report_state: &mut [u32],
    ctl: &mut CtlMut,
    _order: u32,
) {
    let rs = report_state;
    let cf = CHUNK_FRAMES as usize;
    for c in 0..params.nr_chunks as usize {
        let z = chunk_zone[c] as usize;
        let row = RS_DEV_WORDS + z * RZ_WORDS;
        let drain = rs[RS_DRAIN_ID] != 0 && rs[RS_DRAIN_ZONE] as usize == z;
        let take: [u32; NR_PCP] = std::array::from_fn(|m| rs[row + RZ_TAKE + m]);
        let fill = (0..NR_PCP).any(|m| chunk_prefix[c * CHUNK_PREFIX_WORDS + m] < take[m]);
        if !drain && !fill {
            continue;
        }
        let base = c * cf;
        let zs = &mut ctl.zone_state[z];
        if drain {
            let id = rs[RS_DRAIN_ID];
            let mut i = 0usize;
            let mut any = false;
            while i < cf {
                let s = frames[base + i];
                let o = order(s);
                if kind(s) == KIND_REPORTING && flags(s) == id {
                    frames[base + i] = make_free(o) | (FF_REPORTED | FF_UNBACKED) << FLAGS_SHIFT;
                    let mt = pageblocks[(base + i) >> PAGEBLOCK_ORDER] as usize;
                    zs.free_area[o as usize][mt] += 1;
                    zs.nr_free += 1 << o;
                    if mt < NR_PCP {
                        chunk_counts[c * CHUNK_COUNT_WORDS + CC_FREE + o as usize * NR_PCP + mt] +=
                            1;
                        chunk_counts
                            [c * CHUNK_COUNT_WORDS + CC_REPORTED + o as usize * NR_PCP + mt] += 1;
                    }
                    rs[row + RZ_REPORTED_PAGES] = rs[row + RZ_REPORTED_PAGES].wrapping_add(1 << o);
                    rs[row + RZ_REPORTED_BLOCKS] = rs[row + RZ_REPORTED_BLOCKS].wrapping_add(1);
                    any = true;
                }
                i += 1 << o;
            }
            if any {
                chunk_dirty[c] |= DIRTY_DRAIN;
            }
        }
        if fill {
            let o = rs[row + RZ_TAKE_ORDER];
            let id = rs[RS_FILL_ID];
            let step = 1usize << o;
            let mut rank: [u32; NR_PCP] =
                std::array::from_fn(|m| chunk_prefix[c * CHUNK_PREFIX_WORDS + m]);
            let mut p = 0usize;
            while p < cf {
                let pfn = base + p;
                let s = frames[pfn];
                if is_free_block(s, o) && !is_reported(s) {
                    let m = pageblocks[pfn >> PAGEBLOCK_ORDER] as usize;
                    if m < NR_PCP {
                        let r = rank[m];
                        rank[m] += 1;
                        if r < take[m] {
                            let pb0 = pfn >> PAGEBLOCK_ORDER;
                            let npb = (step >> PAGEBLOCK_ORDER).max(1);
                            let isolated =
                                (pb0..pb0 + npb).any(|pb| pageblocks[pb] == MIGRATE_ISOLATE);
                            if rs[RS_SKIP_ISOLATED_PB] != 0 && isolated {
                                rs[row + RZ_SKIPPED_ISOLATED] =
                                    rs[row + RZ_SKIPPED_ISOLATED].wrapping_add(1);
                            } else {
                                frames[pfn] = make_reporting(o, id);
                                zs.free_area[o as usize][m] -= 1;
                                zs.nr_free -= 1 << o;
                                chunk_counts
                                    [c * CHUNK_COUNT_WORDS + CC_FREE + o as usize * NR_PCP + m] -=
                                    1;
                                if o >= PAGEBLOCK_ORDER {
                                    for t in &mut pageblocks[pb0..pb0 + npb] {
                                        if migratetype_is_mergeable(*t) {
                                            *t = MIGRATE_MOVABLE;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p += step;
            }
        }
    }
}
