// Phase `report_scan`: twin of src/engine/cpu/report_scan.rs. One
// workgroup per zone `report` fills from this tick: the exclusive prefix
// over its chunks of the unreported free blocks of the fill's order per
// pcp list, into chunk_prefix (free until the allocation scans rewrite it).

@group(0) @binding(0) var<uniform> params: TickParams;
@group(0) @binding(1) var<storage, read> topo: Topo;
@group(0) @binding(2) var<storage, read> chunk_counts: array<u32>;
@group(0) @binding(3) var<storage, read_write> chunk_prefix: array<u32>;
@group(0) @binding(4) var<storage, read> report_state: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let zone = wg.x;
    if (zone >= params.nr_zones) {
        return;
    }
    let row = RS_DEV_WORDS + zone * RZ_WORDS;
    let take = vec3<u32>(report_state[row + RZ_TAKE], report_state[row + RZ_TAKE + 1u], report_state[row + RZ_TAKE + 2u]);
    if (all(take == vec3<u32>(0u))) {
        return;
    }
    let o = report_state[row + RZ_TAKE_ORDER];
    let first = topo.zones[zone].start_chunk;
    let n = topo.zones[zone].nr_chunks;
    var carry = vec3<u32>(0u);
    for (var tile = 0u; tile < n; tile += 256u) {
        let c = first + tile + lid;
        var own = vec3<u32>(0u);
        if (tile + lid < n) {
            let w = c * CHUNK_COUNT_WORDS + o * NR_PCP;
            own = vec3<u32>(chunk_counts[w + CC_FREE], chunk_counts[w + CC_FREE + 1u], chunk_counts[w + CC_FREE + 2u])
                - vec3<u32>(chunk_counts[w + CC_REPORTED], chunk_counts[w + CC_REPORTED + 1u], chunk_counts[w + CC_REPORTED + 2u]);
        }
        wg_scan[lid] = own;
        wg_inclusive_scan(lid);
        if (tile + lid < n) {
            let ex = carry + wg_scan[lid] - own;
            chunk_prefix[c * CHUNK_PREFIX_WORDS] = ex.x;
            chunk_prefix[c * CHUNK_PREFIX_WORDS + 1u] = ex.y;
            chunk_prefix[c * CHUNK_PREFIX_WORDS + 2u] = ex.z;
        }
        carry += wg_scan[255]; // literal: the scan's last lane
        workgroupBarrier();
    }
}
