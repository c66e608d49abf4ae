// Phase `numa_merge`: twin of src/engine/cpu/numa_merge.rs. One thread per
// entry of the tick's migration list; the first granted entry of each
// chunk merges the chunk's free buddies (the freed sources among them),
// then puts the chunk's counts back into its zone and its chunk_counts.

@group(0) @binding(0) var<uniform> params: TickParams;
//@frames read_write
@group(0) @binding(2) var<storage, read_write> pageblocks: array<u32>;
@group(0) @binding(3) var<storage, read> chunk_zone: array<u32>;
@group(0) @binding(4) var<storage, read_write> chunk_counts: array<u32>;
@group(0) @binding(5) var<storage, read_write> ctl: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> report_state: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read> plan: Plan;

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
    var j = i;
    while (j > 0u && chunk_at(j - 1u) == chunk) {
        j -= 1u;
        if (granted(j)) {
            return;
        }
    }
    let base = chunk * CHUNK_FRAMES;
    let pbase = chunk * PAGEBLOCKS_PER_CHUNK;
    // __free_one_page()'s merging, order by order, as `merge` does.
    for (var k = 0u; k < MAX_PAGE_ORDER; k++) {
        let half = 1u << k;
        for (var a = 0u; a < CHUNK_FRAMES; a += half << 1u) {
            let b = a + half;
            let sa = frames_ld(base + a);
            let sb = frames_ld(base + b);
            if (is_free_block(sa, k) && is_free_block(sb, k)) {
                var ok = true;
                if (k >= PAGEBLOCK_ORDER) {
                    let ma = pageblocks[pbase + (a >> PAGEBLOCK_ORDER)];
                    ok = buddies_merge(ma, pageblocks[pbase + (b >> PAGEBLOCK_ORDER)]);
                    if (ok) {
                        pageblocks[pbase + (b >> PAGEBLOCK_ORDER)] = ma;
                    }
                }
                if (ok) {
                    let unbacked = fr_flags(sa) & fr_flags(sb) & FF_UNBACKED;
                    frames_st(base + a, make_free(k + 1u) | (unbacked << FLAGS_SHIFT));
                    frames_st(base + b, 0u);
                }
            }
        }
    }
    var wc: array<u32, ZONE_STATE_WORDS>;
    var wr: array<u32, RZ_COUNTED>;
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
        atomicAdd(&ctl[zbase + w], wc[w]);
    }
    let rbase = RS_DEV_WORDS + chunk_zone[chunk] * RZ_WORDS;
    for (var w = 0u; w < RZ_COUNTED; w++) {
        if (wr[w] != 0u) {
            atomicAdd(&report_state[rbase + w], wr[w]);
        }
    }
    for (var o = 0u; o < NR_PAGE_ORDERS; o++) {
        for (var m = 0u; m < NR_PCP; m++) {
            chunk_counts[chunk * CHUNK_COUNT_WORDS + CC_FREE + o * NR_PCP + m] = wc[o * MIGRATE_TYPES + m];
            chunk_counts[chunk * CHUNK_COUNT_WORDS + CC_REPORTED + o * NR_PCP + m] = wr[RZ_REPORTED + o * NR_PCP + m];
        }
    }
}
