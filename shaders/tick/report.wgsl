// Phase `report`: twin of src/engine/cpu/report.rs (read it for the
// kernel functions each step models), run by a single thread: the
// reporting device's worker in simulated time. It writes this tick's fill
// (RZ_TAKE*) and drain (RS_DRAIN_*) for report_scan and report_isolate.

@group(0) @binding(0) var<uniform> params: TickParams;
@group(0) @binding(1) var<storage, read> topo: Topo;
@group(0) @binding(2) var<storage, read> ctl: Ctl;
@group(0) @binding(3) var<storage, read> report_cfg: array<u32>;
@group(0) @binding(4) var<storage, read_write> report_state: array<u32>;

fn zr(z: u32) -> u32 {
    return RS_DEV_WORDS + z * RZ_WORDS;
}

// The host's time for a report of `pages`, in ticks (at least one). The
// scenario bounds the costs (base at most 100 ms, 1 ms per MiB, 128 MiB
// per report), so the sum fits in 32 bits.
fn latency_ticks(pages: u32) -> u32 {
    let ns = report_cfg[RC_LAT_BASE_NS] + report_cfg[RC_LAT_MIB_NS] * (pages >> 8u);
    let tick = max(report_cfg[RC_TICK_NS], 1u);
    return max((ns + tick - 1u) / tick, 1u);
}

// The host's answer to the report in flight, when due: the batch becomes
// this tick's drain. Returns its pages (0: nothing answered).
fn answer(tick: u32) -> u32 {
    if (report_state[RS_INFLIGHT] == 0u || tick < report_state[RS_DONE_TICK]) {
        return 0u;
    }
    report_state[RS_INFLIGHT] = 0u;
    report_state[RS_DRAIN_ID] = report_state[RS_INFLIGHT_ID];
    report_state[RS_DRAIN_ZONE] = report_state[RS_INFLIGHT_ZONE];
    return report_state[RS_INFLIGHT_PAGES];
}

fn next_batch(b: u32) -> u32 {
    return b % REPORT_BATCH_MASK + 1u;
}

fn next_list() {
    report_state[RS_MT] += 1u;
    report_state[RS_LIST_STARTED] = 0u;
}

fn next_zone(thr: u32) {
    report_state[RS_ZONE] += 1u;
    report_state[RS_ORDER] = thr;
    report_state[RS_MT] = 0u;
    report_state[RS_ZONE_OK] = 0u;
    report_state[RS_LIST_STARTED] = 0u;
}

fn send(z: u32, tick: u32, cap: u32) {
    report_state[RS_INFLIGHT] = 1u;
    report_state[RS_INFLIGHT_ID] = report_state[RS_BATCH];
    report_state[RS_INFLIGHT_ZONE] = z;
    report_state[RS_INFLIGHT_PAGES] = report_state[RS_FILL_PAGES];
    let lt = latency_ticks(report_state[RS_FILL_PAGES]);
    report_state[RS_DONE_TICK] = select(tick + lt, U32_MAX, tick + lt < tick);
    report_state[RS_REPORTS] += 1u;
    report_state[zr(z) + RZ_REPORTS] += 1u;
    report_state[RS_OFFSET] = cap;
    report_state[RS_FILL_PAGES] = 0u;
    report_state[RS_BATCH] = next_batch(report_state[RS_BATCH]);
}

fn skips_list(mt: u32) -> bool {
    return mt == MIGRATE_ISOLATE || (report_cfg[RC_V5] != 0u && mt == MIGRATE_CMA);
}

fn sat_add(a: u32, b: u32) -> u32 {
    return select(a + b, U32_MAX, a + b < a);
}

@compute @workgroup_size(1)
fn main() {
    let tick = params.tick;
    let nz = params.nr_zones;
    report_state[RS_DRAIN_ID] = 0u;
    report_state[RS_SKIP_ISOLATED_PB] = report_cfg[RC_SKIP_ISOLATED_PB];
    for (var z = 0u; z < nz; z++) {
        for (var m = 0u; m < NR_PCP; m++) {
            report_state[zr(z) + RZ_TAKE + m] = 0u;
        }
        report_state[zr(z) + RZ_TAKE_ORDER] = 0u;
    }
    if (report_cfg[RC_ENABLED] == 0u) {
        // page_reporting_unregister(): the report in flight finishes and
        // drains; no pass starts again.
        report_state[RS_NOTIFY] = 0u;
        report_state[RS_QUEUED] = 0u;
        answer(tick);
        if (report_state[RS_INFLIGHT] == 0u) {
            report_state[RS_PASS] = 0u;
            report_state[RS_LEFTOVER] = 0u;
            report_state[RS_STATE] = PAGE_REPORTING_IDLE;
        }
        return;
    }
    let cap = clamp(report_cfg[RC_CAPACITY], 1u, PAGE_REPORTING_CAPACITY);
    let thr = report_cfg[RC_ORDER];
    if (report_state[RS_NOTIFY] != 0u) {
        report_state[RS_NOTIFY] = 0u;
        if (report_state[RS_STATE] != PAGE_REPORTING_REQUESTED) {
            let old = report_state[RS_STATE];
            report_state[RS_STATE] = PAGE_REPORTING_REQUESTED;
            if (old == PAGE_REPORTING_IDLE && report_state[RS_QUEUED] == 0u) {
                report_state[RS_QUEUED] = 1u;
                report_state[RS_WAKE_TICK] = sat_add(tick, report_cfg[RC_DELAY_TICKS]);
            }
        }
    }
    let drained_pages = answer(tick);
    if (drained_pages != 0u && report_state[RS_LEFTOVER] != 0u) {
        report_state[RS_LEFTOVER] = 0u;
        next_zone(thr);
    }
    if (report_state[RS_PASS] == 0u && report_state[RS_QUEUED] != 0u && tick >= report_state[RS_WAKE_TICK]) {
        report_state[RS_QUEUED] = 0u;
        report_state[RS_PASS] = 1u;
        report_state[RS_STATE] = PAGE_REPORTING_ACTIVE;
        report_state[RS_ZONE] = 0u;
        report_state[RS_ORDER] = thr;
        report_state[RS_MT] = 0u;
        report_state[RS_ZONE_OK] = 0u;
        report_state[RS_LIST_STARTED] = 0u;
        report_state[RS_OFFSET] = cap;
        report_state[RS_FILL_PAGES] = 0u;
        report_state[RS_BATCH] = next_batch(report_state[RS_BATCH]);
    }
    if (report_state[RS_PASS] == 0u || report_state[RS_INFLIGHT] != 0u) {
        return;
    }
    var take_order = U32_MAX;
    var taken_pages = 0u;
    let steps = (nz + 1u) * (NR_PAGE_ORDERS + 1u) * (MIGRATE_TYPES + 1u) * 2u;
    for (var step = 0u; step < steps; step++) {
        let z = report_state[RS_ZONE];
        if (z >= nz) {
            report_state[RS_PASS] = 0u;
            report_state[RS_PASSES] += 1u;
            if (report_state[RS_STATE] == PAGE_REPORTING_REQUESTED) {
                report_state[RS_QUEUED] = 1u;
                report_state[RS_WAKE_TICK] = sat_add(tick, report_cfg[RC_DELAY_TICKS]);
            } else {
                report_state[RS_STATE] = PAGE_REPORTING_IDLE;
            }
            return;
        }
        let zd = topo.zones[z];
        var free = ctl.zone_state[z].nr_free;
        if (report_state[RS_DRAIN_ID] != 0u && report_state[RS_DRAIN_ZONE] == z) {
            free += drained_pages;
        }
        free -= min(free, taken_pages);
        if (report_state[RS_ZONE_OK] == 0u) {
            report_state[RS_ZONE_OK] = 1u;
            let mark = zd.wmark_low + (PAGE_REPORTING_CAPACITY << min(thr, MAX_PAGE_ORDER));
            if (zd.managed == 0u || free <= mark) {
                report_state[zr(z) + RZ_WMARK_SKIPS] += 1u;
                next_zone(thr);
                continue;
            }
        }
        let o = report_state[RS_ORDER];
        if (o > MAX_PAGE_ORDER) {
            if (report_state[RS_OFFSET] < cap) {
                send(z, tick, cap);
                report_state[RS_LEFTOVER] = 1u;
                return;
            }
            next_zone(thr);
            continue;
        }
        let mt = report_state[RS_MT];
        if (mt >= MIGRATE_TYPES) {
            report_state[RS_ORDER] = o + 1u;
            report_state[RS_MT] = 0u;
            continue;
        }
        if (skips_list(mt) || mt >= NR_PCP) {
            next_list();
            continue;
        }
        let taken = report_state[zr(z) + RZ_TAKE + mt];
        let on_list = ctl.zone_state[z].free_area[o][mt] - min(ctl.zone_state[z].free_area[o][mt], taken);
        if (report_state[RS_LIST_STARTED] == 0u) {
            if (on_list == 0u) {
                next_list();
                continue;
            }
            report_state[RS_LIST_STARTED] = 1u;
            var nr_free = 0u;
            for (var f = 0u; f < MIGRATE_TYPES; f++) {
                nr_free += ctl.zone_state[z].free_area[o][f];
            }
            nr_free -= taken;
            if (report_cfg[RC_V5] != 0u) {
                report_state[RS_BUDGET] = 0x7fffffffu; // literal: i32::MAX, no budget
            } else {
                report_state[RS_BUDGET] = (nr_free + PAGE_REPORTING_CAPACITY * 16u - 1u) / (PAGE_REPORTING_CAPACITY * 16u);
            }
        }
        let reported = report_state[zr(z) + RZ_REPORTED + o * NR_PCP + mt];
        let unreported = on_list - min(on_list, reported);
        if (unreported == 0u) {
            next_list();
            continue;
        }
        if (bitcast<i32>(report_state[RS_BUDGET]) < 0i) {
            report_state[RS_STATE] = PAGE_REPORTING_REQUESTED;
            report_state[zr(z) + RZ_BUDGET_STOPS] += 1u;
            next_list();
            continue;
        }
        if (take_order != U32_MAX && take_order != o) {
            return;
        }
        let pages = 1u << o;
        let floor = zd.wmark_min + pages;
        var ok = 0u;
        if (free > floor) {
            ok = (free - floor - 1u) / pages + 1u;
        }
        let want = min(report_state[RS_OFFSET], unreported);
        let k = min(want, ok);
        if (k > 0u) {
            take_order = o;
            report_state[RS_FILL_ID] = report_state[RS_BATCH];
            report_state[zr(z) + RZ_TAKE + mt] += k;
            report_state[zr(z) + RZ_TAKE_ORDER] = o;
            report_state[RS_OFFSET] -= k;
            report_state[RS_FILL_PAGES] += k << o;
            taken_pages += k << o;
        }
        if (k < want) {
            report_state[zr(z) + RZ_ISOLATE_FAILS] += 1u;
            next_list();
            if (report_state[RS_OFFSET] == 0u) {
                send(z, tick, cap);
                return;
            }
            continue;
        }
        if (report_state[RS_OFFSET] == 0u) {
            send(z, tick, cap);
            report_state[RS_BUDGET] = bitcast<u32>(bitcast<i32>(report_state[RS_BUDGET]) - 1i);
            return;
        }
    }
}
