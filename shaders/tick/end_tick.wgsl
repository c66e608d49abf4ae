// The last step of a tick on the GPU: fold the tick's zone counters into
// 64-bit totals (lo, hi pairs) and advance the tick number, so many ticks
// can be recorded into one submission.

@group(0) @binding(0) var<storage, read_write> params: TickParams;
@group(0) @binding(1) var<storage, read> zone_stats: array<u32>;
@group(0) @binding(2) var<storage, read_write> totals: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = params.nr_zones * NR_ZONE_STATS;
    let i = gid.x;
    if (i < n) {
        let v = zone_stats[i];
        let lo = totals[2u * i] + v;
        totals[2u * i] = lo;
        if (lo < v) {
            totals[2u * i + 1u] += 1u;
        }
    }
    // No thread of this dispatch reads the tick, so one thread advances it.
    if (i == 0u) {
        params.tick = params.tick + 1u;
    }
}
