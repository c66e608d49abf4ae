// Phase `merge`: twin of src/engine/cpu/merge.rs. One workgroup per chunk,
// in workgroup memory; orders 0..9 one after the other, pairs in parallel.

@group(0) @binding(0) var<uniform> params: TickParams;
//@frames read_write
@group(0) @binding(2) var<storage, read_write> pageblocks: array<u32>;
@group(0) @binding(3) var<storage, read_write> chunk_dirty: array<u32>;
@group(0) @binding(4) var<storage, read> report_cfg: array<u32>;
@group(0) @binding(5) var<storage, read_write> report_state: array<atomic<u32>>;

var<workgroup> wf: array<u32, CHUNK_FRAMES>;
var<workgroup> wpb: array<u32, PAGEBLOCKS_PER_CHUNK>;
var<workgroup> wg_dirty: u32;
var<workgroup> wg_notify: atomic<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let chunk = chunk_of(wg, nwg);
    if (chunk >= params.nr_chunks) {
        return;
    }
    if (lid == 0u) {
        wg_dirty = chunk_dirty[chunk];
        atomicStore(&wg_notify, 0u);
    }
    let dirty = workgroupUniformLoad(&wg_dirty);
    if (dirty == 0u) {
        return;
    }
    // page_reporting_notify_free(): frees (not drained reports) landing at
    // page_reporting_order or above.
    var thr = U32_MAX;
    if (report_cfg[RC_ENABLED] != 0u) {
        thr = report_cfg[RC_ORDER];
    }
    let freed = (dirty & DIRTY_FREED) != 0u;
    let base = chunk * CHUNK_FRAMES;
    for (var k = 0u; k < 4u; k++) {
        wf[k * 256u + lid] = frames_ld(base + k * 256u + lid);
    }
    if (lid < PAGEBLOCKS_PER_CHUNK) {
        wpb[lid] = pageblocks[chunk * PAGEBLOCKS_PER_CHUNK + lid];
    }
    workgroupBarrier();
    for (var k = 0u; k < MAX_PAGE_ORDER; k++) {
        let half = 1u << k;
        let pairs = (CHUNK_FRAMES >> 1u) >> k;
        for (var p = lid; p < pairs; p += 256u) {
            let a = p * (half << 1u);
            let b = a + half;
            if (is_free_block(wf[a], k) && is_free_block(wf[b], k)) {
                var ok = true;
                if (k >= PAGEBLOCK_ORDER) {
                    let ma = wpb[a >> PAGEBLOCK_ORDER];
                    ok = buddies_merge(ma, wpb[b >> PAGEBLOCK_ORDER]);
                    if (ok) {
                        wpb[b >> PAGEBLOCK_ORDER] = ma;
                    }
                }
                if (ok) {
                    let unbacked = fr_flags(wf[a]) & fr_flags(wf[b]) & FF_UNBACKED;
                    wf[a] = make_free(k + 1u) | (unbacked << FLAGS_SHIFT);
                    wf[b] = 0u;
                    if (freed && k + 1u >= thr) {
                        atomicStore(&wg_notify, 1u);
                    }
                }
            }
        }
        workgroupBarrier();
    }
    for (var k = 0u; k < 4u; k++) {
        frames_st(base + k * 256u + lid, wf[k * 256u + lid]);
    }
    if (lid < PAGEBLOCKS_PER_CHUNK) {
        pageblocks[chunk * PAGEBLOCKS_PER_CHUNK + lid] = wpb[lid];
    }
    if (lid == 0u) {
        chunk_dirty[chunk] = 0u;
        let landed = freed && thr <= MAX_PAGE_ORDER && ((dirty >> DIRTY_ORDER_SHIFT) >> thr) != 0u;
        if (landed || atomicLoad(&wg_notify) != 0u) {
            atomicStore(&report_state[RS_NOTIFY], 1u);
        }
    }
}
