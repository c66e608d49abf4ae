// Op `recount`: twin of src/engine/cpu/recount.rs. One thread per chunk a
// request batch touches walks the chunk's blocks head by head (a sparse
// chunk costs a few loads) and takes its counts out of its zone's counted
// state (`subtract`, before the batch applies) or puts them in (after,
// also rewriting the chunk's `chunk_counts` as `count` would). The zone's
// counters are then exactly what recounting every chunk would give, at a
// cost proportional to the chunks touched.

@group(0) @binding(0) var<uniform> recount_params: RecountParams;
//@frames read
@group(0) @binding(2) var<storage, read> pageblocks: array<u32>;
@group(0) @binding(3) var<storage, read> chunk_zone: array<u32>;
@group(0) @binding(4) var<storage, read_write> chunk_counts: array<u32>;
@group(0) @binding(5) var<storage, read_write> ctl: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read> chunk_list: array<u32>;
@group(0) @binding(7) var<storage, read_write> report_state: array<atomic<u32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 64u + gid.x; // literal: the workgroup size
    if (i >= recount_params.nr_listed) {
        return;
    }
    let chunk = chunk_list[i];
    var wc: array<u32, ZONE_STATE_WORDS>;
    var wr: array<u32, RZ_COUNTED>;
    let base = chunk * CHUNK_FRAMES;
    var p = 0u;
    while (p < CHUNK_FRAMES) {
        let s = frames_ld(base + p);
        let w = count_words(s, pageblocks[(base + p) >> PAGEBLOCK_ORDER]);
        if (w.x < ZONE_STATE_WORDS) {
            wc[w.x] += w.y;
        }
        if (w.z < ZONE_STATE_WORDS) {
            wc[w.z] += w.w;
        }
        let r = report_words(s, pageblocks[(base + p) >> PAGEBLOCK_ORDER]);
        if (r.x < RZ_COUNTED) {
            wr[r.x] += r.y;
        }
        if (r.z < RZ_COUNTED) {
            wr[r.z] += r.w;
        }
        p += 1u << fr_order(s);
    }
    let zbase = chunk_zone[chunk] * ZONE_STATE_WORDS;
    for (var w = 0u; w < ZONE_STATE_WORDS; w++) {
        // The reclaim words are the plan's, never counted.
        if ((w >= ZSW_KSWAPD_P16 && w < ZSW_HUGE_FRAMES) || wc[w] == 0u) {
            continue;
        }
        if (recount_params.subtract != 0u) {
            atomicSub(&ctl[zbase + w], wc[w]);
        } else {
            atomicAdd(&ctl[zbase + w], wc[w]);
        }
    }
    let rbase = RS_DEV_WORDS + chunk_zone[chunk] * RZ_WORDS;
    for (var w = 0u; w < RZ_COUNTED; w++) {
        if (wr[w] == 0u) {
            continue;
        }
        if (recount_params.subtract != 0u) {
            atomicSub(&report_state[rbase + w], wr[w]);
        } else {
            atomicAdd(&report_state[rbase + w], wr[w]);
        }
    }
    if (recount_params.subtract == 0u) {
        for (var o = 0u; o < NR_PAGE_ORDERS; o++) {
            for (var m = 0u; m < NR_PCP; m++) {
                chunk_counts[chunk * CHUNK_COUNT_WORDS + CC_FREE + o * NR_PCP + m] = wc[o * MIGRATE_TYPES + m];
                chunk_counts[chunk * CHUNK_COUNT_WORDS + CC_REPORTED + o * NR_PCP + m] = wr[RZ_REPORTED + o * NR_PCP + m];
            }
        }
    }
}
