// Phase `report_isolate`: twin of src/engine/cpu/report_isolate.rs (read
// it for the kernel functions). One thread per chunk of the zones `report`
// named: the drain of the batch the host answered, then this tick's fill.

@group(0) @binding(0) var<uniform> params: TickParams;
//@frames read_write
@group(0) @binding(2) var<storage, read_write> pageblocks: array<u32>;
@group(0) @binding(3) var<storage, read> chunk_zone: array<u32>;
@group(0) @binding(4) var<storage, read_write> chunk_counts: array<u32>;
@group(0) @binding(5) var<storage, read> chunk_prefix: array<u32>;
@group(0) @binding(6) var<storage, read_write> chunk_dirty: array<u32>;
@group(0) @binding(7) var<storage, read_write> report_state: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> ctl: array<atomic<u32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = gid.y * nwg.x * 64u + gid.x; // literal: the workgroup size
    if (c >= params.nr_chunks) {
        return;
    }
    let z = chunk_zone[c];
    let row = RS_DEV_WORDS + z * RZ_WORDS;
    let drain_id = atomicLoad(&report_state[RS_DRAIN_ID]);
    let drain = drain_id != 0u && atomicLoad(&report_state[RS_DRAIN_ZONE]) == z;
    var take = vec3<u32>(0u);
    var fill = false;
    for (var m = 0u; m < NR_PCP; m++) {
        take[m] = atomicLoad(&report_state[row + RZ_TAKE + m]);
        if (chunk_prefix[c * CHUNK_PREFIX_WORDS + m] < take[m]) {
            fill = true;
        }
    }
    if (!drain && !fill) {
        return;
    }
    let base = c * CHUNK_FRAMES;
    let zw = z * ZONE_STATE_WORDS;
    let cw = c * CHUNK_COUNT_WORDS;
    if (drain) {
        var i = 0u;
        var any_drained = false;
        while (i < CHUNK_FRAMES) {
            let s = frames_ld(base + i);
            let o = fr_order(s);
            if (fr_kind(s) == KIND_REPORTING && fr_flags(s) == drain_id) {
                frames_st(base + i, make_free(o) | ((FF_REPORTED | FF_UNBACKED) << FLAGS_SHIFT));
                let mt = pageblocks[(base + i) >> PAGEBLOCK_ORDER];
                atomicAdd(&ctl[zw + o * MIGRATE_TYPES + mt], 1u);
                atomicAdd(&ctl[zw + ZSW_NR_FREE], 1u << o);
                if (mt < NR_PCP) {
                    chunk_counts[cw + CC_FREE + o * NR_PCP + mt] += 1u;
                    chunk_counts[cw + CC_REPORTED + o * NR_PCP + mt] += 1u;
                }
                atomicAdd(&report_state[row + RZ_REPORTED_PAGES], 1u << o);
                atomicAdd(&report_state[row + RZ_REPORTED_BLOCKS], 1u);
                any_drained = true;
            }
            i += 1u << o;
        }
        if (any_drained) {
            chunk_dirty[c] |= DIRTY_DRAIN;
        }
    }
    if (fill) {
        let o = atomicLoad(&report_state[row + RZ_TAKE_ORDER]);
        let id = atomicLoad(&report_state[RS_FILL_ID]);
        let skip_iso = atomicLoad(&report_state[RS_SKIP_ISOLATED_PB]) != 0u;
        let step = 1u << o;
        var rank = vec3<u32>(chunk_prefix[c * CHUNK_PREFIX_WORDS], chunk_prefix[c * CHUNK_PREFIX_WORDS + 1u], chunk_prefix[c * CHUNK_PREFIX_WORDS + 2u]);
        for (var p = 0u; p < CHUNK_FRAMES; p += step) {
            let pfn = base + p;
            let s = frames_ld(pfn);
            if (!is_free_block(s, o) || is_reported(s)) {
                continue;
            }
            let m = pageblocks[pfn >> PAGEBLOCK_ORDER];
            if (m >= NR_PCP) {
                continue;
            }
            let r = rank[m];
            rank[m] = r + 1u;
            if (r >= take[m]) {
                continue;
            }
            let pb0 = pfn >> PAGEBLOCK_ORDER;
            let npb = max(step >> PAGEBLOCK_ORDER, 1u);
            var isolated = false;
            for (var pb = pb0; pb < pb0 + npb; pb++) {
                if (pageblocks[pb] == MIGRATE_ISOLATE) {
                    isolated = true;
                }
            }
            if (skip_iso && isolated) {
                atomicAdd(&report_state[row + RZ_SKIPPED_ISOLATED], 1u);
                continue;
            }
            frames_st(pfn, make_reporting(o, id));
            atomicSub(&ctl[zw + o * MIGRATE_TYPES + m], 1u);
            atomicSub(&ctl[zw + ZSW_NR_FREE], 1u << o);
            chunk_counts[cw + CC_FREE + o * NR_PCP + m] -= 1u;
            if (o >= PAGEBLOCK_ORDER) {
                for (var pb = pb0; pb < pb0 + npb; pb++) {
                    if (migratetype_is_mergeable(pageblocks[pb])) {
                        pageblocks[pb] = MIGRATE_MOVABLE;
                    }
                }
            }
        }
    }
}
