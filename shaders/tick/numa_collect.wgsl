// Phase `numa_collect`: twin of src/engine/cpu/numa_collect.rs. One
// workgroup per chunk with candidates; each thread takes four consecutive
// frames, so a workgroup scan gives every candidate its rank in pfn order.

@group(0) @binding(0) var<uniform> params: TickParams;
//@frames read
//@owners read_write
@group(0) @binding(3) var<storage, read> chunk_zone: array<u32>;
@group(0) @binding(4) var<storage, read> tasks: array<TaskDesc>;
@group(0) @binding(5) var<storage, read> numa_cfg: array<u32>;
@group(0) @binding(6) var<storage, read_write> numa_state: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read_write> plan: Plan;

var<workgroup> wg_deferred: atomic<u32>;
// The chunk's first entry and the next chunk's (read by one thread, so the
// early return is uniform for WebGPU's analysis).
var<workgroup> wg_range: vec2<u32>;

fn is_candidate(pfn: u32) -> bool {
    return fr_kind(frames_ld(pfn)) == KIND_ALLOC && (owners_ld(pfn) & OWNER_MIGRATING) != 0u;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let chunk = chunk_of(wg, nwg);
    let mode = numa_cfg[NC_MODE];
    if (chunk >= params.nr_chunks || mode == 0u) {
        return;
    }
    if (lid == 0u) {
        var next = plan.mig[MIG_WANTED];
        if (chunk + 1u < params.nr_chunks) {
            next = plan.mig[MIG_CHUNKS + chunk + 1u];
        }
        wg_range = vec2<u32>(plan.mig[MIG_CHUNKS + chunk], next);
        atomicStore(&wg_deferred, 0u);
    }
    let range = workgroupUniformLoad(&wg_range);
    let base = range.x;
    if (range.y == base) {
        return;
    }
    let tiering = (mode & NUMA_BALANCING_MEMORY_TIERING) != 0u;
    let zone = chunk_zone[chunk];
    let page_nid = numa_cfg[NC_ZONE_NODE + zone];
    let p0 = chunk * CHUNK_FRAMES + lid * 4u;
    var own = 0u;
    for (var q = 0u; q < 4u; q++) {
        if (is_candidate(p0 + q)) {
            own += 1u;
        }
    }
    wg_scan[lid] = vec3<u32>(own, 0u, 0u);
    wg_inclusive_scan(lid);
    var r = base + wg_scan[lid].x - own;
    for (var q = 0u; q < 4u; q++) {
        let pfn = p0 + q;
        if (!is_candidate(pfn)) {
            continue;
        }
        let owner = owners_ld(pfn);
        if (r >= MAX_MIGRATIONS) {
            owners_st(pfn, owner & OWNER_TASK_MASK);
            atomicAdd(&wg_deferred, 1u);
            r += 1u;
            continue;
        }
        let s = frames_ld(pfn);
        let t = (owner & OWNER_TASK_MASK) - OWNER_TASK_BASE;
        let thread = (owner >> OWNER_THREAD_SHIFT) & OWNER_THREAD_MASK;
        let td = tasks[t];
        let tnode = numa_cfg[NC_THREADS + t * MAX_THREADS + thread] & NC_THREAD_NODE_MASK;
        let cpus = (td.threads >> TD_CPUS_SHIFT) & TD_THREADS_MASK;
        let last_valid = (owner & OWNER_LAST_VALID) != 0u;
        let top_src = ((numa_cfg[NC_TOPTIER] >> page_nid) & 1u) != 0u;
        let top_dst = ((numa_cfg[NC_TOPTIER] >> tnode) & 1u) != 0u;
        var what = fr_order(s) | (tnode << MEW_TARGET_SHIFT) | (zone << MEW_ZONE_SHIFT)
            | (select(0u, cpus - 1u, cpus > 0u) << MEW_CPUS_SHIFT) | (page_nid << MEW_NODE_SHIFT);
        if ((owner & OWNER_PRIVATE) != 0u) {
            what |= MEW_PRIVATE;
        }
        if (page_nid == tnode) {
            what |= MEW_LOCAL;
        }
        if (!top_src && (tiering || !last_valid)) {
            what |= MEW_NOSTATS_FAILED;
        }
        if (!top_dst && (tiering || !last_valid)) {
            what |= MEW_NOSTATS_MIGRATED;
        }
        let e = MIG_HDR + r * MIG_WORDS;
        plan.mig[e + ME_PFN] = pfn;
        plan.mig[e + ME_WHO] = t | (thread << 16u);
        plan.mig[e + ME_WHAT] = what;
        plan.mig[e + ME_FLAGS] = fr_flags(s) & ~AF_PROT_NONE;
        r += 1u;
    }
    workgroupBarrier();
    if (lid == 0u) {
        let d = atomicLoad(&wg_deferred);
        if (d != 0u) {
            let i = NE_BASE + 2u * NE_MIGRATE_DEFERRED;
            let old = atomicAdd(&numa_state[i], d);
            if (old + d < old) {
                atomicAdd(&numa_state[i + 1u], 1u);
            }
        }
    }
}
