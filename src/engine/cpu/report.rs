//! Phase `report` (twin of shaders/tick/report.wgsl), one thread: the
//! reporting device's worker (mm/page_reporting.c) in simulated time.
//!
//! - `page_reporting_notify_free()` (raised by `merge` and by control
//!   paths) runs `__page_reporting_request()`: REQUESTED, and the delayed
//!   work queued `PAGE_REPORTING_DELAY` after an IDLE device.
//! - The work (`page_reporting_process()`) sets ACTIVE and walks every
//!   zone (`page_reporting_process_zone()`: skipped unless
//!   `zone_watermark_ok(zone, 0, low + (CAPACITY << order))`), every order
//!   from `page_reporting_order` up and every list but MIGRATE_ISOLATE
//!   (`page_reporting_cycle()`): unreported blocks from the head, each
//!   through `__isolate_free_page()` (refused, ending the list, unless the
//!   zone stays above `min + (1 << order)`), at most `budget =
//!   DIV_ROUND_UP(nr_free of the order, CAPACITY * 16)` full reports per
//!   list (the device goes back to REQUESTED when a list runs out of
//!   budget). A full scatterlist is reported; the zone lock is dropped and
//!   `report()` sleeps for the host's latency, after which the drain puts
//!   the blocks back, reported. The zone's leftover is reported before the
//!   next zone. At the end the device goes IDLE, or, if it was requested
//!   meanwhile, queues itself again after the delay.
//!
//! Time: a report returns at the first tick boundary at or after its
//! latency (at least one tick), and one tick isolates from one order of a
//! zone (the shader's ranks cover one order per tick): the walk resumes at
//! the next tick. The phase writes this tick's fill (`RZ_TAKE*`) and drain
//! (`RS_DRAIN_*`) for `report_scan` and `report_isolate` (which moves the
//! blocks and the zone's counts the plan reads).

use crate::engine::state::{CtlRef, TopoRef};
use crate::engine::types::*;
use crate::model::frame::*;

/// The host's time for a report of `pages`, in ticks (at least one).
pub fn latency_ticks(cfg: &[u32], pages: u32) -> u32 {
    let mib = pages >> 8;
    let ns = cfg[RC_LAT_BASE_NS] as u64 + cfg[RC_LAT_MIB_NS] as u64 * mib as u64;
    let tick = cfg[RC_TICK_NS].max(1) as u64;
    ns.div_ceil(tick).clamp(1, u32::MAX as u64) as u32
}

fn zr(z: usize) -> usize {
    RS_DEV_WORDS + z * RZ_WORDS
}

/// Whether the walk skips list `mt` (MIGRATE_ISOLATE always; CMA in the
/// v5 series).
pub fn skips_list(cfg: &[u32], mt: u32) -> bool {
    mt == MIGRATE_ISOLATE || (cfg[RC_V5] != 0 && mt == MIGRATE_CMA)
}

pub fn report(
    params: &TickParams,
    topo: &TopoRef,
    ctl: &CtlRef,
    report_cfg: &[u32],
    report_state: &mut [u32],
    _order: u32,
) {
    let cfg = report_cfg;
    let rs = report_state;
    let tick = params.tick;
    let nz = params.nr_zones as usize;
    rs[RS_DRAIN_ID] = 0;
    rs[RS_SKIP_ISOLATED_PB] = cfg[RC_SKIP_ISOLATED_PB];
    for z in 0..nz {
        rs[zr(z) + RZ_TAKE..zr(z) + RZ_TAKE + NR_PCP].fill(0);
        rs[zr(z) + RZ_TAKE_ORDER] = 0;
    }
    if cfg[RC_ENABLED] == 0 {
        // page_reporting_unregister(): cancel_delayed_work_sync() lets
        // the report in flight finish and drain; no pass starts again.
        rs[RS_NOTIFY] = 0;
        rs[RS_QUEUED] = 0;
        answer(rs, tick);
        if rs[RS_INFLIGHT] == 0 {
            rs[RS_PASS] = 0;
            rs[RS_LEFTOVER] = 0;
            rs[RS_STATE] = PAGE_REPORTING_IDLE;
        }
        return;
    }
    let cap = cfg[RC_CAPACITY].clamp(1, PAGE_REPORTING_CAPACITY);
    let thr = cfg[RC_ORDER];
    // __page_reporting_request()
    if rs[RS_NOTIFY] != 0 {
        rs[RS_NOTIFY] = 0;
        if rs[RS_STATE] != PAGE_REPORTING_REQUESTED {
            let old = rs[RS_STATE];
            rs[RS_STATE] = PAGE_REPORTING_REQUESTED;
            if old == PAGE_REPORTING_IDLE && rs[RS_QUEUED] == 0 {
                rs[RS_QUEUED] = 1;
                rs[RS_WAKE_TICK] = tick.saturating_add(cfg[RC_DELAY_TICKS]);
            }
        }
    }
    // The host answered: drain (the zone lock is taken again).
    let drained_pages = answer(rs, tick);
    if drained_pages != 0 && rs[RS_LEFTOVER] != 0 {
        rs[RS_LEFTOVER] = 0;
        next_zone(rs, thr);
    }
    // The delayed work runs.
    if rs[RS_PASS] == 0 && rs[RS_QUEUED] != 0 && tick >= rs[RS_WAKE_TICK] {
        rs[RS_QUEUED] = 0;
        rs[RS_PASS] = 1;
        rs[RS_STATE] = PAGE_REPORTING_ACTIVE;
        rs[RS_ZONE] = 0;
        rs[RS_ORDER] = thr;
        rs[RS_MT] = 0;
        rs[RS_ZONE_OK] = 0;
        rs[RS_LIST_STARTED] = 0;
        rs[RS_OFFSET] = cap;
        rs[RS_FILL_PAGES] = 0;
        rs[RS_BATCH] = next_batch(rs[RS_BATCH]);
    }
    if rs[RS_PASS] == 0 || rs[RS_INFLIGHT] != 0 {
        return;
    }
    let mut take_order = u32::MAX;
    // Pages this tick's fill took (one zone per tick).
    let mut taken_pages = 0u64;
    // Bounded: every step advances the walk or stops it for this tick.
    for _ in 0..(nz + 1) * (NR_PAGE_ORDERS + 1) * (MIGRATE_TYPES + 1) * 2 {
        let z = rs[RS_ZONE] as usize;
        if z >= nz {
            // page_reporting_process(): the pass is over.
            rs[RS_PASS] = 0;
            rs[RS_PASSES] = rs[RS_PASSES].wrapping_add(1);
            if rs[RS_STATE] == PAGE_REPORTING_REQUESTED {
                rs[RS_QUEUED] = 1;
                rs[RS_WAKE_TICK] = tick.saturating_add(cfg[RC_DELAY_TICKS]);
            } else {
                rs[RS_STATE] = PAGE_REPORTING_IDLE;
            }
            return;
        }
        let zd = topo.zones[z];
        let zs = &ctl.zone_state[z];
        let free = (zs.nr_free as u64
            + if rs[RS_DRAIN_ID] != 0 && rs[RS_DRAIN_ZONE] as usize == z {
                drained_pages as u64
            } else {
                0
            })
        .saturating_sub(taken_pages);
        if rs[RS_ZONE_OK] == 0 {
            rs[RS_ZONE_OK] = 1;
            let mark =
                zd.wmark_low as u64 + ((PAGE_REPORTING_CAPACITY as u64) << thr.min(MAX_PAGE_ORDER));
            if zd.managed == 0 || free <= mark {
                rs[zr(z) + RZ_WMARK_SKIPS] = rs[zr(z) + RZ_WMARK_SKIPS].wrapping_add(1);
                next_zone(rs, thr);
                continue;
            }
        }
        let o = rs[RS_ORDER];
        if o > MAX_PAGE_ORDER {
            // The zone's leftover, reported before the next zone.
            if rs[RS_OFFSET] < cap {
                send(rs, cfg, z, tick);
                rs[RS_LEFTOVER] = 1;
                return;
            }
            next_zone(rs, thr);
            continue;
        }
        let mt = rs[RS_MT];
        if mt as usize >= MIGRATE_TYPES {
            rs[RS_ORDER] = o + 1;
            rs[RS_MT] = 0;
            continue;
        }
        if skips_list(cfg, mt) || mt as usize >= NR_PCP {
            // The lists numasim never fills (HighAtomic, CMA) are empty.
            next_list(rs);
            continue;
        }
        let m = mt as usize;
        let ou = o as usize;
        let taken = rs[zr(z) + RZ_TAKE + m];
        let on_list = zs.free_area[ou][m].saturating_sub(taken);
        if rs[RS_LIST_STARTED] == 0 {
            if on_list == 0 {
                next_list(rs);
                continue;
            }
            rs[RS_LIST_STARTED] = 1;
            let nr_free: u32 = zs.free_area[ou].iter().sum::<u32>() - taken;
            rs[RS_BUDGET] = if cfg[RC_V5] != 0 {
                i32::MAX as u32
            } else {
                nr_free.div_ceil(PAGE_REPORTING_CAPACITY * 16)
            };
        }
        let reported = rs[zr(z) + RZ_REPORTED + ou * NR_PCP + m];
        let unreported = on_list.saturating_sub(reported);
        if unreported == 0 {
            next_list(rs);
            continue;
        }
        if (rs[RS_BUDGET] as i32) < 0 {
            rs[RS_STATE] = PAGE_REPORTING_REQUESTED;
            rs[zr(z) + RZ_BUDGET_STOPS] = rs[zr(z) + RZ_BUDGET_STOPS].wrapping_add(1);
            next_list(rs);
            continue;
        }
        if take_order != u32::MAX && take_order != o {
            // One order per tick: the walk goes on at the next tick.
            return;
        }
        // __isolate_free_page(): the zone must stay above min + 1 << order.
        let pages = 1u64 << o;
        let floor = zd.wmark_min as u64 + pages;
        let ok = if free > floor {
            ((free - floor - 1) / pages + 1).min(u32::MAX as u64) as u32
        } else {
            0
        };
        let want = rs[RS_OFFSET].min(unreported);
        let k = want.min(ok);
        if k > 0 {
            take_order = o;
            rs[RS_FILL_ID] = rs[RS_BATCH];
            rs[zr(z) + RZ_TAKE + m] += k;
            rs[zr(z) + RZ_TAKE_ORDER] = o;
            rs[RS_OFFSET] -= k;
            rs[RS_FILL_PAGES] += k << o;
            taken_pages += (k as u64) << o;
        }
        if k < want {
            // Refused: the walk of this list stops.
            rs[zr(z) + RZ_ISOLATE_FAILS] = rs[zr(z) + RZ_ISOLATE_FAILS].wrapping_add(1);
            next_list(rs);
            if rs[RS_OFFSET] == 0 {
                send(rs, cfg, z, tick);
                return;
            }
            continue;
        }
        if rs[RS_OFFSET] == 0 {
            send(rs, cfg, z, tick);
            rs[RS_BUDGET] = (rs[RS_BUDGET] as i32 - 1) as u32;
            return;
        }
    }
}

/// The host's answer to the report in flight, when it is due: the batch
/// becomes this tick's drain for `report_isolate`. Returns its pages (0:
/// nothing answered).
fn answer(rs: &mut [u32], tick: u32) -> u32 {
    if rs[RS_INFLIGHT] == 0 || tick < rs[RS_DONE_TICK] {
        return 0;
    }
    rs[RS_INFLIGHT] = 0;
    rs[RS_DRAIN_ID] = rs[RS_INFLIGHT_ID];
    rs[RS_DRAIN_ZONE] = rs[RS_INFLIGHT_ZONE];
    rs[RS_INFLIGHT_PAGES]
}

fn next_batch(b: u32) -> u32 {
    b % REPORT_BATCH_MASK + 1
}

fn next_list(rs: &mut [u32]) {
    rs[RS_MT] += 1;
    rs[RS_LIST_STARTED] = 0;
}

fn next_zone(rs: &mut [u32], thr: u32) {
    rs[RS_ZONE] += 1;
    rs[RS_ORDER] = thr;
    rs[RS_MT] = 0;
    rs[RS_ZONE_OK] = 0;
    rs[RS_LIST_STARTED] = 0;
}

/// `prdev->report()`: the filled scatterlist goes to the host.
fn send(rs: &mut [u32], cfg: &[u32], z: usize, tick: u32) {
    let cap = cfg[RC_CAPACITY].clamp(1, PAGE_REPORTING_CAPACITY);
    rs[RS_INFLIGHT] = 1;
    rs[RS_INFLIGHT_ID] = rs[RS_BATCH];
    rs[RS_INFLIGHT_ZONE] = z as u32;
    rs[RS_INFLIGHT_PAGES] = rs[RS_FILL_PAGES];
    rs[RS_DONE_TICK] = tick.saturating_add(latency_ticks(cfg, rs[RS_FILL_PAGES]));
    rs[RS_REPORTS] = rs[RS_REPORTS].wrapping_add(1);
    rs[zr(z) + RZ_REPORTS] = rs[zr(z) + RZ_REPORTS].wrapping_add(1);
    rs[RS_OFFSET] = cap;
    rs[RS_FILL_PAGES] = 0;
    rs[RS_BATCH] = next_batch(rs[RS_BATCH]);
}
