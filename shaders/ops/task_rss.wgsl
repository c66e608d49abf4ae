// Op `task_rss`: twin of src/engine/cpu/task_rss.rs. One thread per chunk
// a request batch touches walks the chunk's blocks head by head and takes
// each user page's (anon, THP) pages out of its task's resident count in the
// chunk's zone (`subtract`, before the batch applies) or puts them in
// (after), as `recount` does for the zone counters: a block a control path
// migrates leaves one zone's count and joins another's, at a cost
// proportional to the chunks touched.

@group(0) @binding(0) var<uniform> recount_params: RecountParams;
//@frames read
//@owners read
@group(0) @binding(3) var<storage, read> chunk_zone: array<u32>;
@group(0) @binding(4) var<storage, read> chunk_list: array<u32>;
@group(0) @binding(5) var<storage, read_write> task_zone: array<atomic<u32>>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 64u + gid.x; // literal: the workgroup size
    if (i >= recount_params.nr_listed) {
        return;
    }
    let chunk = chunk_list[i];
    let zone = chunk_zone[chunk];
    let base = chunk * CHUNK_FRAMES;
    var p = 0u;
    while (p < CHUNK_FRAMES) {
        let s = frames_ld(base + p);
        if (fr_kind(s) == KIND_ALLOC && ((USER_ANON_CLASS_MASK >> fr_class(s)) & 1u) != 0u) {
            let task = owners_ld(base + p) - OWNER_TASK_BASE;
            let w = (task * recount_params.nr_zones + zone) * TZ_WORDS + TZ_RSS;
            if (recount_params.subtract != 0u) {
                atomicSub(&task_zone[w], 1u << fr_order(s));
            } else {
                atomicAdd(&task_zone[w], 1u << fr_order(s));
            }
        }
        p += 1u << fr_order(s);
    }
}
