// Phase `alloc_split`: twin of src/engine/cpu/alloc_split.rs, one pipeline
// per order ORDER, dispatched indirectly over the chunks the scan found
// work in (workgroup y = zone; x strides over the zone's active chunks).
// Per chunk: every free block of the order gets its rank in its zone's list
// (chunk prefix + a workgroup scan); the first `split` ranks split and the
// next `alloc` ranks are handed out. Unreported blocks rank first, reported
// ones after (the chunk's two prefixes); a thread's counts of both are
// packed into one scan lane (low and high 16 bits: a chunk holds at most
// CHUNK_FRAMES blocks). Split halves keep FF_UNBACKED; allocating an
// unbacked block counts a refault in the chunk's CC_REFAULT_* words.

override ORDER: u32;

@group(0) @binding(0) var<uniform> params: TickParams;
//@frames read_write
//@owners read_write
@group(0) @binding(3) var<storage, read> pageblocks: array<u32>;
@group(0) @binding(4) var<storage, read> dispatch: array<u32>;
@group(0) @binding(5) var<storage, read_write> chunk_counts: array<u32>;
@group(0) @binding(6) var<storage, read> chunk_prefix: array<u32>;
@group(0) @binding(7) var<storage, read> plan: Plan;
@group(0) @binding(8) var<storage, read> segs: array<Grant>;

var<workgroup> wg_go: u32;
var<workgroup> inc: array<atomic<u32>, NR_PCP>;
var<workgroup> refault: array<atomic<u32>, 2>;

const LANE_SHIFT: u32 = 16u;
const LANE_MASK: u32 = (1u << 16u) - 1u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let z = wg.y;
    let n_active = dispatch[DISPATCH_COUNT + z];
    for (var k = wg.x; k < n_active; k += nwg.x) {
        let chunk = dispatch[DISPATCH_FIRST + z] + k;
        alloc_split_chunk(chunk, z, lid);
    }
}

fn alloc_split_chunk(chunk: u32, z: u32, lid: u32) {
    let pw = chunk * CHUNK_PREFIX_WORDS;
    if (lid == 0u) {
        var go = 0u;
        for (var m = 0u; m < NR_PCP; m++) {
            let cell = plan.cells[cell_index(z, ORDER, m)];
            let need = cell.split + cell.alloc;
            if (chunk_prefix[pw + m] < need || chunk_prefix[pw + NR_PCP + m] < need) {
                go = 1u;
            }
        }
        wg_go = go;
        atomicStore(&refault[0], 0u);
        atomicStore(&refault[1], 0u);
    }
    if (lid < NR_PCP) {
        atomicStore(&inc[lid], 0u);
    }
    if (workgroupUniformLoad(&wg_go) == 0u) {
        return;
    }
    let hot_prefix = hash_prefix(params.seed, params.tick, STREAM_NUMA_HOT);
    let npos = CHUNK_FRAMES >> ORDER;
    let per = max(1u, npos / 256u);
    let step = 1u << ORDER;
    let base = chunk * CHUNK_FRAMES;
    // This thread's positions and how many free blocks of each list they hold.
    let p0 = lid * per;
    var own = vec3<u32>(0u);
    for (var q = 0u; q < per; q++) {
        let p = p0 + q;
        if (p < npos) {
            let pfn = base + p * step;
            let s = frames_ld(pfn);
            if (is_free_block(s, ORDER)) {
                let m = pageblocks[pfn >> PAGEBLOCK_ORDER];
                if (m < NR_PCP) { own[m] += select(1u, 1u << LANE_SHIFT, is_reported(s)); }
            }
        }
    }
    wg_scan[lid] = own;
    wg_inclusive_scan(lid);
    let ex = wg_scan[lid] - own;
    var rank = (ex & vec3<u32>(LANE_MASK)) + vec3<u32>(chunk_prefix[pw], chunk_prefix[pw + 1u], chunk_prefix[pw + 2u]);
    var rank_r = (ex >> vec3<u32>(LANE_SHIFT)) + vec3<u32>(chunk_prefix[pw + NR_PCP], chunk_prefix[pw + NR_PCP + 1u], chunk_prefix[pw + NR_PCP + 2u]);
    for (var q = 0u; q < per; q++) {
        let p = p0 + q;
        if (p >= npos) {
            break;
        }
        let pfn = base + p * step;
        let s = frames_ld(pfn);
        if (!is_free_block(s, ORDER)) {
            continue;
        }
        let m = pageblocks[pfn >> PAGEBLOCK_ORDER];
        if (m >= NR_PCP) {
            continue;
        }
        var r = 0u;
        if (is_reported(s)) {
            r = rank_r[m];
            rank_r[m] = r + 1u;
        } else {
            r = rank[m];
            rank[m] = r + 1u;
        }
        let cell = plan.cells[cell_index(z, ORDER, m)];
        if (r < cell.split) {
            let half = step >> 1u;
            let h = make_free(ORDER - 1u) | ((fr_flags(s) & FF_UNBACKED) << FLAGS_SHIFT);
            frames_st(pfn, h);
            frames_st(pfn + half, h);
            atomicAdd(&inc[m], 1u);
            atomicAdd(&inc[pageblocks[(pfn + half) >> PAGEBLOCK_ORDER]], 1u);
        } else if (r < cell.split + cell.alloc) {
            let q2 = r - cell.split;
            var lo = cell.seg_start;
            var hi = cell.seg_start + cell.seg_count;
            while (hi - lo > 1u) {
                let mid = (lo + hi) / 2u;
                if (segs[mid].start <= q2) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let g = segs[lo];
            var f = g.flags;
            if (g.hot16 != 0u && (hash_at(hot_prefix, pfn) >> 16u) < g.hot16) {
                f |= AF_HOT;
            }
            frames_st(pfn, make_alloc(ORDER, g.class_mt >> 8u, g.class_mt & 0xffu) | (f << FLAGS_SHIFT)); // literal: class_mt's class byte
            owners_st(pfn, g.owner);
            if (is_unbacked(s)) {
                atomicAdd(&refault[0], 1u << ORDER);
                atomicAdd(&refault[1], 1u);
            }
        }
    }
    workgroupBarrier();
    if (lid < NR_PCP && ORDER > 0u) {
        let v = atomicLoad(&inc[lid]);
        if (v != 0u) {
            chunk_counts[chunk * CHUNK_COUNT_WORDS + CC_FREE + (ORDER - 1u) * NR_PCP + lid] += v;
        }
    }
    if (lid == 0u) {
        let rp = atomicLoad(&refault[0]);
        if (rp != 0u) {
            chunk_counts[chunk * CHUNK_COUNT_WORDS + CC_REFAULT_PAGES] += rp;
            chunk_counts[chunk * CHUNK_COUNT_WORDS + CC_REFAULT_ALLOCS] += atomicLoad(&refault[1]);
        }
    }
    workgroupBarrier();
}
