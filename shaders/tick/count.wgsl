// Phase `count`: twin of src/engine/cpu/count.rs. One workgroup per chunk
// recounts its free blocks per order and migratetype and its allocated
// pages per cls, writes the chunk's counts and adds to its zone's.

@group(0) @binding(0) var<uniform> params: TickParams;
//@frames read
@group(0) @binding(2) var<storage, read> pageblocks: array<u32>;
@group(0) @binding(3) var<storage, read> chunk_zone: array<u32>;
@group(0) @binding(4) var<storage, read_write> chunk_counts: array<u32>;
@group(0) @binding(5) var<storage, read_write> ctl: array<atomic<u32>>;

// The chunk's counts, as ZoneState words (count_words names them).
var<workgroup> wc: array<atomic<u32>, ZONE_STATE_WORDS>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let chunk = chunk_of(wg, nwg);
    if (chunk >= params.nr_chunks) {
        return;
    }
    if (lid < ZONE_STATE_WORDS) {
        atomicStore(&wc[lid], 0u);
    }
    workgroupBarrier();
    for (var k = 0u; k < CHUNK_FRAMES / 256u; k++) {
        let i = chunk * CHUNK_FRAMES + k * 256u + lid;
        let s = frames_ld(i);
        if (fr_kind(s) != KIND_TAIL) {
            let w = count_words(s, pageblocks[i >> PAGEBLOCK_ORDER]);
            if (w.x < ZONE_STATE_WORDS) {
                atomicAdd(&wc[w.x], w.y);
            }
            if (w.z < ZONE_STATE_WORDS) {
                atomicAdd(&wc[w.z], w.w);
            }
        }
    }
    workgroupBarrier();
    if (lid < CHUNK_COUNT_WORDS) {
        let o = lid / NR_PCP;
        let mt = lid % NR_PCP;
        chunk_counts[chunk * CHUNK_COUNT_WORDS + lid] = atomicLoad(&wc[o * MIGRATE_TYPES + mt]);
    }
    // The reclaim words between class_pages and the hugetlb counts are the
    // plan's: count never writes them.
    if (lid < ZSW_KSWAPD_P16 || (lid >= ZSW_HUGE_FRAMES && lid < ZONE_STATE_WORDS)) {
        let v = atomicLoad(&wc[lid]);
        if (v != 0u) {
            atomicAdd(&ctl[chunk_zone[chunk] * ZONE_STATE_WORDS + lid], v);
        }
    }
}
