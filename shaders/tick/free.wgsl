// Phase `free`: twin of src/engine/cpu/free.rs. One workgroup per chunk;
// every thread looks at four frames; allocated heads decide on their own
// whether they are freed (task stopped, lifetime over, or reclaimed).

@group(0) @binding(0) var<uniform> params: TickParams;
//@frames read_write
//@owners read_write
@group(0) @binding(3) var<storage, read> chunk_zone: array<u32>;
@group(0) @binding(4) var<storage, read> ctl: Ctl;
@group(0) @binding(5) var<storage, read> tasks: array<TaskDesc>;
@group(0) @binding(6) var<storage, read_write> zone_stats: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read_write> chunk_dirty: array<u32>;
// What each task freed in the zone (for `lock_stat`), and its resident pages.
@group(0) @binding(8) var<storage, read_write> task_zone: array<atomic<u32>>;

// pgfree, frees, pgsteal_kswapd, pgsteal_direct
var<workgroup> wg_stats: array<atomic<u32>, 4>;
// The orders freed (for page_reporting_notify_free(), in `merge`).
var<workgroup> wg_orders: atomic<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let chunk = chunk_of(wg, nwg);
    if (chunk >= params.nr_chunks) {
        return;
    }
    if (lid < 4u) {
        atomicStore(&wg_stats[lid], 0u);
    }
    if (lid == 0u) {
        atomicStore(&wg_orders, 0u);
    }
    workgroupBarrier();
    let zone = chunk_zone[chunk];
    let kp16 = ctl.zone_state[zone].kswapd_p16;
    let dp16 = ctl.zone_state[zone].direct_p16;
    let free_prefix = hash_prefix(params.seed, params.tick, STREAM_FREE);
    let reclaim_prefix = hash_prefix(params.seed, params.tick, STREAM_RECLAIM);
    for (var k = 0u; k < 4u; k++) {
        let i = chunk * CHUNK_FRAMES + k * 256u + lid;
        let s = frames_ld(i);
        if (fr_kind(s) == KIND_ALLOC) {
            let o = fr_order(s);
            let task = owners_ld(i) - OWNER_TASK_BASE;
            let cls = fr_class(s);
            var free = tasks[task].alive == 0u || hash_at(free_prefix, i) < tasks[task].free_thresh[cls];
            let reclaimable = (RECLAIMABLE_CLASS_MASK & (1u << cls)) != 0u;
            var by_kswapd = false;
            if (!free && reclaimable && (kp16 | dp16) != 0u) {
                let r = hash_at(reclaim_prefix, i) >> 16u;
                if (r < kp16) {
                    free = true;
                    by_kswapd = true;
                    atomicAdd(&wg_stats[2], 1u << o);
                } else if (r < kp16 + dp16) {
                    free = true;
                    atomicAdd(&wg_stats[3], 1u << o);
                }
            }
            if (free) {
                frames_st(i, make_free(o));
                owners_st(i, OWNER_NONE);
                atomicAdd(&wg_stats[0], 1u << o);
                atomicAdd(&wg_stats[1], 1u);
                atomicOr(&wg_orders, 1u << o);
                // Whoever frees it, a user page leaves the task's memory.
                let t = (task * params.nr_zones + zone) * TZ_WORDS;
                if (((USER_ANON_CLASS_MASK >> cls) & 1u) != 0u) {
                    atomicSub(&task_zone[t + TZ_RSS], 1u << o);
                }
                // The task frees on its own CPU (kswapd's frees are
                // counted by the zone's reclaim counter).
                if (!by_kswapd) {
                    if (o <= PAGE_ALLOC_COSTLY_ORDER) {
                        atomicAdd(&task_zone[t + TZ_FREE_PCP], 1u << o);
                    } else if (o == PAGEBLOCK_ORDER) {
                        atomicAdd(&task_zone[t + TZ_FREE_THP], 1u);
                    } else {
                        atomicAdd(&task_zone[t + TZ_FREE_BLOCKS], 1u);
                    }
                }
            }
        }
    }
    workgroupBarrier();
    if (lid == 0u) {
        let frees = atomicLoad(&wg_stats[1]);
        if (frees > 0u) {
            chunk_dirty[chunk] |= DIRTY_FREED | (atomicLoad(&wg_orders) << DIRTY_ORDER_SHIFT);
            let base = zone * NR_ZONE_STATS;
            atomicAdd(&zone_stats[base + ZS_PGFREE], atomicLoad(&wg_stats[0]));
            atomicAdd(&zone_stats[base + ZS_FREES], frees);
            atomicAdd(&zone_stats[base + ZS_PGSTEAL_KSWAPD], atomicLoad(&wg_stats[2]));
            atomicAdd(&zone_stats[base + ZS_PGSTEAL_DIRECT], atomicLoad(&wg_stats[3]));
        }
    }
}
