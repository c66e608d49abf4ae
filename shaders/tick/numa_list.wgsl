// Phase `numa_list`: twin of src/engine/cpu/numa_list.rs. One workgroup:
// the exclusive prefix of the chunks' migration candidates, in place.

@group(0) @binding(0) var<uniform> params: TickParams;
@group(0) @binding(1) var<storage, read> numa_cfg: array<u32>;
@group(0) @binding(2) var<storage, read_write> plan: Plan;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
    if (numa_cfg[NC_MODE] == 0u) {
        return;
    }
    let nc = params.nr_chunks;
    let per = (nc + 256u - 1u) / 256u;
    let lo = min(lid * per, nc);
    let hi = min(lo + per, nc);
    var own = 0u;
    for (var c = lo; c < hi; c++) {
        own += plan.mig[MIG_CHUNKS + c];
    }
    wg_scan[lid] = vec3<u32>(own, 0u, 0u);
    wg_inclusive_scan(lid);
    var acc = wg_scan[lid].x - own;
    for (var c = lo; c < hi; c++) {
        let v = plan.mig[MIG_CHUNKS + c];
        plan.mig[MIG_CHUNKS + c] = acc;
        acc += v;
    }
    if (lid == 256u - 1u) {
        let total = wg_scan[lid].x;
        plan.mig[MIG_WANTED] = total;
        plan.mig[MIG_COUNT] = min(total, MAX_MIGRATIONS);
        plan.mig[MIG_RESTORE] = numa_cfg[NC_RESTORE];
        plan.mig[MIG_TICK] = params.tick;
    }
}
