// Phase `scan`: twin of src/engine/cpu/scan.rs. One workgroup per zone
// computes, tile by tile, the exclusive prefix of its chunks' free blocks
// of order ORDER per free list: unreported blocks first, then (when the
// plan reaches past them) reported ones after the zone's unreported total
// (they sit at the lists' tail). It counts the chunks (a prefix of the
// zone) where alloc_split has work: its indirect dispatch covers only those.

override ORDER: u32;

@group(0) @binding(0) var<uniform> params: TickParams;
@group(0) @binding(1) var<storage, read> topo: Topo;
@group(0) @binding(2) var<storage, read> chunk_counts: array<u32>;
@group(0) @binding(3) var<storage, read_write> chunk_prefix: array<u32>;
@group(0) @binding(4) var<storage, read> plan: Plan;
@group(0) @binding(5) var<storage, read_write> dispatch: array<atomic<u32>>;

var<workgroup> wg_active: atomic<u32>;
var<workgroup> wg_active_r: atomic<u32>;
// The zone's unreported total, read back uniformly: the reported pass's
// barriers must sit in uniform control flow (WGSL's uniformity rules).
var<workgroup> wg_total: vec3<u32>;


@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let zone = wg.x;
    if (zone >= params.nr_zones) {
        return;
    }
    let first = topo.zones[zone].start_chunk;
    let n = topo.zones[zone].nr_chunks;
    var need = vec3<u32>(0u);
    var need_all = vec3<u32>(0u);
    for (var m = 0u; m < NR_PCP; m++) {
        let cell = plan.cells[cell_index(zone, ORDER, m)];
        need[m] = cell.split + cell.alloc;
        need_all[m] = need[m];
        if (ORDER >= PAGEBLOCK_ORDER) {
            let st = plan.steals[steal_index(zone, ORDER, m)];
            need_all[m] = max(need[m], st.to[0] + st.to[1] + st.to[2]);
        }
    }
    if (lid == 0u) {
        atomicStore(&wg_active, 0u);
        atomicStore(&wg_active_r, 0u);
    }
    var carry = vec3<u32>(0u);
    for (var tile = 0u; tile < n; tile += 256u) {
        let c = first + tile + lid;
        var own = vec3<u32>(0u);
        if (tile + lid < n) {
            let w = c * CHUNK_COUNT_WORDS + ORDER * NR_PCP;
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
            if (any(ex < need)) {
                atomicAdd(&wg_active, 1u);
            }
        }
        carry += wg_scan[255]; // literal: the scan's last lane
        workgroupBarrier();
    }
    if (lid == 0u) {
        wg_total = carry;
    }
    let total = workgroupUniformLoad(&wg_total);
    if (any(need_all > total)) {
        for (var tile = 0u; tile < n; tile += 256u) {
            let c = first + tile + lid;
            var own = vec3<u32>(0u);
            if (tile + lid < n) {
                let w = c * CHUNK_COUNT_WORDS + CC_REPORTED + ORDER * NR_PCP;
                own = vec3<u32>(chunk_counts[w], chunk_counts[w + 1u], chunk_counts[w + 2u]);
            }
            wg_scan[lid] = own;
            wg_inclusive_scan(lid);
            if (tile + lid < n) {
                let ex = carry + wg_scan[lid] - own;
                chunk_prefix[c * CHUNK_PREFIX_WORDS + NR_PCP] = ex.x;
                chunk_prefix[c * CHUNK_PREFIX_WORDS + NR_PCP + 1u] = ex.y;
                chunk_prefix[c * CHUNK_PREFIX_WORDS + NR_PCP + 2u] = ex.z;
                if (any(ex < need)) {
                    atomicAdd(&wg_active_r, 1u);
                }
            }
            carry += wg_scan[255]; // literal: the scan's last lane
            workgroupBarrier();
        }
    } else {
        for (var i = lid; i < n; i += 256u) {
            let c = first + i;
            chunk_prefix[c * CHUNK_PREFIX_WORDS + NR_PCP] = total.x;
            chunk_prefix[c * CHUNK_PREFIX_WORDS + NR_PCP + 1u] = total.y;
            chunk_prefix[c * CHUNK_PREFIX_WORDS + NR_PCP + 2u] = total.z;
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let n_active = max(atomicLoad(&wg_active), atomicLoad(&wg_active_r));
        atomicStore(&dispatch[DISPATCH_FIRST + zone], first);
        atomicStore(&dispatch[DISPATCH_COUNT + zone], n_active);
        atomicMax(&dispatch[0], min(n_active, MAX_DISPATCH_X));
        if (zone == 0u) {
            atomicStore(&dispatch[1], params.nr_zones);
            atomicStore(&dispatch[2], 1u);
        }
    }
}
