// Phase `numa_release`: twin of src/engine/cpu/numa_release.rs. One
// thread per entry of the tick's migration list; the first granted entry
// of each chunk takes the chunk's counts out of its zone before
// `numa_migrate` frees the sources (`numa_merge` puts them back).

@group(0) @binding(0) var<uniform> params: TickParams;
//@frames read
@group(0) @binding(2) var<storage, read> pageblocks: array<u32>;
@group(0) @binding(3) var<storage, read> chunk_zone: array<u32>;
@group(0) @binding(4) var<storage, read_write> ctl: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> report_state: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read> plan: Plan;

fn granted(i: u32) -> bool {
    return (plan.mig[MIG_HDR + i * MIG_WORDS + ME_FLAGS] >> MES_SHIFT) == MIG_GRANTED;
}

fn chunk_at(i: u32) -> u32 {
    return plan.mig[MIG_HDR + i * MIG_WORDS + ME_PFN] >> CHUNK_ORDER;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (plan.mig[MIG_TICK] != params.tick || plan.mig[MIG_WANTED] == 0u || i >= plan.mig[MIG_COUNT] || !granted(i)) {
        return;
    }
    let chunk = chunk_at(i);
    // The chunk's first granted entry does it.
    var j = i;
    while (j > 0u && chunk_at(j - 1u) == chunk) {
        j -= 1u;
        if (granted(j)) {
            return;
        }
    }
    var wc: array<u32, ZONE_STATE_WORDS>;
    var wr: array<u32, RZ_COUNTED>;
    let base = chunk * CHUNK_FRAMES;
    var p = 0u;
    while (p < CHUNK_FRAMES) {
        let s = frames_ld(base + p);
        let mt = pageblocks[(base + p) >> PAGEBLOCK_ORDER];
        let w = count_words(s, mt);
        if (w.x < ZONE_STATE_WORDS) {
            wc[w.x] += w.y;
        }
        if (w.z < ZONE_STATE_WORDS) {
            wc[w.z] += w.w;
        }
        let r = report_words(s, mt);
        if (r.x < RZ_COUNTED) {
            wr[r.x] += r.y;
        }
        if (r.z < RZ_COUNTED) {
            wr[r.z] += r.w;
        }
        p += 1u << fr_order(s);
    }
    let zbase = chunk_zone[chunk] * ZONE_STATE_WORDS;
    for (var w = 0u; w < ZONE_STATE_WORDS; w++) {
        if ((w >= ZSW_KSWAPD_P16 && w < ZSW_HUGE_FRAMES) || wc[w] == 0u) {
            continue;
        }
        atomicSub(&ctl[zbase + w], wc[w]);
    }
    let rbase = RS_DEV_WORDS + chunk_zone[chunk] * RZ_WORDS;
    for (var w = 0u; w < RZ_COUNTED; w++) {
        if (wr[w] != 0u) {
            atomicSub(&report_state[rbase + w], wr[w]);
        }
    }
}
