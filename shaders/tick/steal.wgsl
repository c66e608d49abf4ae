// Phase `steal`: twin of src/engine/cpu/steal.rs. One thread per chunk
// converts the claimed whole free pageblocks of order ORDER (9 or 10).

override ORDER: u32;

@group(0) @binding(0) var<uniform> params: TickParams;
//@frames read
@group(0) @binding(2) var<storage, read_write> pageblocks: array<u32>;
@group(0) @binding(3) var<storage, read> chunk_zone: array<u32>;
@group(0) @binding(4) var<storage, read_write> chunk_counts: array<u32>;
@group(0) @binding(5) var<storage, read> chunk_prefix: array<u32>;
@group(0) @binding(6) var<storage, read> plan: Plan;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let chunk = gid.y * nwg.x * 64u + gid.x;
    if (chunk >= params.nr_chunks) {
        return;
    }
    let z = chunk_zone[chunk];
    var rank = array<u32, NR_PCP>();
    var has_work = false;
    for (var f = 0u; f < NR_PCP; f++) {
        rank[f] = chunk_prefix[chunk * NR_PCP + f];
        let st = plan.steals[steal_index(z, ORDER, f)];
        if (rank[f] < st.to[0] + st.to[1] + st.to[2]) {
            has_work = true;
        }
    }
    if (!has_work) {
        return;
    }
    let step = 1u << ORDER;
    for (var p = 0u; p < CHUNK_FRAMES; p += step) {
        let pfn = chunk * CHUNK_FRAMES + p;
        if (is_free_block(frames_ld(pfn), ORDER)) {
            let f = pageblocks[pfn >> PAGEBLOCK_ORDER];
            if (f < NR_PCP) {
                let r = rank[f];
                rank[f] = r + 1u;
                let st = plan.steals[steal_index(z, ORDER, f)];
                var acc = 0u;
                for (var m = 0u; m < NR_PCP; m++) {
                    acc += st.to[m];
                    if (r < acc) {
                        let pb_end = (pfn + step) >> PAGEBLOCK_ORDER;
                        for (var pb = pfn >> PAGEBLOCK_ORDER; pb < pb_end; pb++) {
                            pageblocks[pb] = m;
                        }
                        chunk_counts[chunk * CHUNK_COUNT_WORDS + ORDER * NR_PCP + f] -= 1u;
                        chunk_counts[chunk * CHUNK_COUNT_WORDS + ORDER * NR_PCP + m] += 1u;
                        break;
                    }
                }
            }
        }
    }
}
