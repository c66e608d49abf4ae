// A Hillis-Steele inclusive scan over a workgroup of 256 threads, three
// lanes at once (one per pcp migratetype), in place in `wg_scan`. Every
// thread of the workgroup must call it: it contains barriers. (Standard
// WGSL cannot pass workgroup pointers to functions, so the array lives
// here; entry points that never use it do not reserve it.)

var<workgroup> wg_scan: array<vec3<u32>, 256>;

fn wg_inclusive_scan(lid: u32) {
    workgroupBarrier();
    for (var d = 1u; d < 256u; d <<= 1u) {
        var add = vec3<u32>(0u);
        if (lid >= d) {
            add = wg_scan[lid - d];
        }
        workgroupBarrier();
        wg_scan[lid] += add;
        workgroupBarrier();
    }
}
