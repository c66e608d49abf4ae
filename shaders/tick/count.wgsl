// Phase `count`: twin of src/engine/cpu/count.rs. One workgroup per chunk
// recounts its free blocks per order and migratetype and its allocated
// pages per cls, writes the chunk's counts and adds to its zone's. It also
// counts what free page reporting needs (reported blocks per list, blocks
// out for reporting, free pages the host does not back) and folds the
// refaults `alloc_split` left in the chunk's counts into its zone's.

@group(0) @binding(0) var<uniform> params: TickParams;
//@frames read
@group(0) @binding(2) var<storage, read> pageblocks: array<u32>;
@group(0) @binding(3) var<storage, read> chunk_zone: array<u32>;
@group(0) @binding(4) var<storage, read_write> chunk_counts: array<u32>;
@group(0) @binding(5) var<storage, read_write> ctl: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> report_state: array<atomic<u32>>;

// The chunk's counts, as ZoneState words (count_words names them).
var<workgroup> wc: array<atomic<u32>, ZONE_STATE_WORDS>;
// Its reporting counts, as the zone's RZ_* words up to RZ_COUNTED.
var<workgroup> wr: array<atomic<u32>, RZ_COUNTED>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let chunk = chunk_of(wg, nwg);
    if (chunk >= params.nr_chunks) {
        return;
    }
    if (lid < ZONE_STATE_WORDS) {
        atomicStore(&wc[lid], 0u);
    }
    if (lid < RZ_COUNTED) {
        atomicStore(&wr[lid], 0u);
    }
    workgroupBarrier();
    for (var k = 0u; k < CHUNK_FRAMES / 256u; k++) {
        let i = chunk * CHUNK_FRAMES + k * 256u + lid;
        let s = frames_ld(i);
        if (fr_kind(s) != KIND_TAIL) {
            let mt = pageblocks[i >> PAGEBLOCK_ORDER];
            let w = count_words(s, mt);
            if (w.x < ZONE_STATE_WORDS) {
                atomicAdd(&wc[w.x], w.y);
            }
            if (w.z < ZONE_STATE_WORDS) {
                atomicAdd(&wc[w.z], w.w);
            }
            let r = report_words(s, mt);
            if (r.x < RZ_COUNTED) {
                atomicAdd(&wr[r.x], r.y);
            }
            if (r.z < RZ_COUNTED) {
                atomicAdd(&wr[r.z], r.w);
            }
        }
    }
    workgroupBarrier();
    let zone = chunk_zone[chunk];
    let cw = chunk * CHUNK_COUNT_WORDS;
    if (lid < CC_REPORTED) {
        let o = lid / NR_PCP;
        let mt = lid % NR_PCP;
        chunk_counts[cw + CC_FREE + lid] = atomicLoad(&wc[o * MIGRATE_TYPES + mt]);
        chunk_counts[cw + CC_REPORTED + lid] = atomicLoad(&wr[RZ_REPORTED + lid]);
    }
    if (lid == 0u) {
        let zr = RS_DEV_WORDS + zone * RZ_WORDS;
        let rp = chunk_counts[cw + CC_REFAULT_PAGES];
        if (rp != 0u) {
            atomicAdd(&report_state[zr + RZ_REFAULT_PAGES], rp);
            atomicAdd(&report_state[zr + RZ_REFAULT_ALLOCS], chunk_counts[cw + CC_REFAULT_ALLOCS]);
            chunk_counts[cw + CC_REFAULT_PAGES] = 0u;
            chunk_counts[cw + CC_REFAULT_ALLOCS] = 0u;
        }
    }
    if (lid < RZ_COUNTED) {
        let v = atomicLoad(&wr[lid]);
        if (v != 0u) {
            atomicAdd(&report_state[RS_DEV_WORDS + zone * RZ_WORDS + lid], v);
        }
    }
    // The reclaim words between class_pages and the hugetlb counts are the
    // plan's: count never writes them.
    if (lid < ZSW_KSWAPD_P16 || (lid >= ZSW_HUGE_FRAMES && lid < ZONE_STATE_WORDS)) {
        let v = atomicLoad(&wc[lid]);
        if (v != 0u) {
            atomicAdd(&ctl[zone * ZONE_STATE_WORDS + lid], v);
        }
    }
}
