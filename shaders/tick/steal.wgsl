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
    let chunk = gid.y * nwg.x * 64u + gid.x; // literal: the workgroup size
    if (chunk >= params.nr_chunks) {
        return;
    }
    let z = chunk_zone[chunk];
    // Ranks of unreported blocks, then of reported ones (the list's tail).
    var rank = array<u32, CHUNK_PREFIX_WORDS>();
    var has_work = false;
    for (var i = 0u; i < CHUNK_PREFIX_WORDS; i++) {
        rank[i] = chunk_prefix[chunk * CHUNK_PREFIX_WORDS + i];
        let st = plan.steals[steal_index(z, ORDER, i % NR_PCP)];
        if (rank[i] < st.to[0] + st.to[1] + st.to[2]) {
            has_work = true;
        }
    }
    if (!has_work) {
        return;
    }
    let step = 1u << ORDER;
    for (var p = 0u; p < CHUNK_FRAMES; p += step) {
        let pfn = chunk * CHUNK_FRAMES + p;
        let s = frames_ld(pfn);
        if (is_free_block(s, ORDER)) {
            let f = pageblocks[pfn >> PAGEBLOCK_ORDER];
            if (f < NR_PCP) {
                let reported = is_reported(s);
                let ri = f + select(0u, NR_PCP, reported);
                let r = rank[ri];
                rank[ri] = r + 1u;
                let st = plan.steals[steal_index(z, ORDER, f)];
                var acc = 0u;
                for (var m = 0u; m < NR_PCP; m++) {
                    acc += st.to[m];
                    if (r < acc) {
                        let pb_end = (pfn + step) >> PAGEBLOCK_ORDER;
                        for (var pb = pfn >> PAGEBLOCK_ORDER; pb < pb_end; pb++) {
                            pageblocks[pb] = m;
                        }
                        let cw = chunk * CHUNK_COUNT_WORDS + ORDER * NR_PCP;
                        chunk_counts[cw + CC_FREE + f] -= 1u;
                        chunk_counts[cw + CC_FREE + m] += 1u;
                        if (reported) {
                            chunk_counts[cw + CC_REPORTED + f] -= 1u;
                            chunk_counts[cw + CC_REPORTED + m] += 1u;
                        }
                        break;
                    }
                }
            }
        }
    }
}
