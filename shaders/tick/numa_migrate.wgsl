// Phase `numa_migrate`: twin of src/engine/cpu/numa_migrate.rs. One thread
// per entry of the tick's migration list: free a migrated source (its
// dst_nid already holds the page), or make a failed one present again.

@group(0) @binding(0) var<uniform> params: TickParams;
//@frames read_write
//@owners read_write
@group(0) @binding(3) var<storage, read_write> chunk_dirty: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> zone_stats: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> task_zone: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> numa_state: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read_write> numa_tasks: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read> plan: Plan;

fn add64_state(i: u32, x: u32) {
    if (x == 0u) {
        return;
    }
    let old = atomicAdd(&numa_state[i], x);
    if (old + x < old) {
        atomicAdd(&numa_state[i + 1u], 1u);
    }
}

fn event(e: u32, x: u32) {
    add64_state(NE_BASE + 2u * e, x);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (plan.mig[MIG_TICK] != params.tick || plan.mig[MIG_WANTED] == 0u || i >= plan.mig[MIG_COUNT]) {
        return;
    }
    let e = MIG_HDR + i * MIG_WORDS;
    let pfn = plan.mig[e + ME_PFN];
    let who = plan.mig[e + ME_WHO];
    let what = plan.mig[e + ME_WHAT];
    let status = plan.mig[e + ME_FLAGS] >> MES_SHIFT;
    let t = who & FP16_MASK;
    let o = what & MEW_ORDER_MASK;
    let dst_nid = (what >> MEW_TARGET_SHIFT) & MEW_NODE_MASK;
    let zone = (what >> MEW_ZONE_SHIFT) & MEW_ZONE_MASK;
    let src = (what >> MEW_NODE_SHIFT) & MEW_NODE_MASK;
    let other_cpus = (what >> MEW_CPUS_SHIFT) & MEW_CPUS_MASK;
    let pages = 1u << o;
    let thp = o == PAGEBLOCK_ORDER;
    let b = t * (NT_HDR + params.nr_nodes * NTN_WORDS);
    let migrated = status == MIG_GRANTED;
    if (migrated) {
        frames_st(pfn, make_free(o));
        owners_st(pfn, OWNER_NONE);
        atomicOr(&chunk_dirty[pfn >> CHUNK_ORDER], DIRTY_FREED | (1u << (DIRTY_ORDER_SHIFT + o)));
        atomicAdd(&zone_stats[zone * NR_ZONE_STATS + ZS_PGFREE], pages);
        atomicAdd(&zone_stats[zone * NR_ZONE_STATS + ZS_FREES], 1u);
        let tz = (t * params.nr_zones + zone) * TZ_WORDS;
        atomicSub(&task_zone[tz + TZ_RSS], pages);
        if (o <= PAGE_ALLOC_COSTLY_ORDER) {
            atomicAdd(&task_zone[tz + TZ_FREE_PCP], pages);
        } else if (thp) {
            atomicAdd(&task_zone[tz + TZ_FREE_THP], 1u);
        } else {
            atomicAdd(&task_zone[tz + TZ_FREE_BLOCKS], 1u);
        }
        event(NE_PGMIGRATE_SUCCESS, pages);
        event(NE_PAGES_MIGRATED, pages);
        event(NE_THP_MIGRATION_SUCCESS, select(0u, 1u, thp));
        add64_state(NE_FLOW + 2u * (src * MAX_NODES + dst_nid), pages);
        let n = flushes_per_migration(plan.mig[MIG_RESTORE], thp);
        for (var k = 0u; k < n; k++) {
            let f = tlb_flush(1u, other_cpus);
            event(NE_TLB_REMOTE_FLUSH, f.x);
            event(NE_TLB_REMOTE_FLUSH_RECEIVED, f.y);
            event(NE_TLB_LOCAL_FLUSH_ALL, f.z);
            event(NE_TLB_LOCAL_FLUSH_ONE, f.w);
        }
    } else {
        frames_st(pfn, frames_ld(pfn) & ~(AF_PROT_NONE << FLAGS_SHIFT));
        owners_st(pfn, owners_ld(pfn) & OWNER_TASK_MASK);
        event(NE_PGMIGRATE_FAIL, pages);
        event(NE_THP_MIGRATION_FAIL, select(0u, 1u, thp));
    }
    var nostats = MEW_NOSTATS_FAILED;
    if (migrated) {
        nostats = MEW_NOSTATS_MIGRATED;
    }
    if ((what & nostats) != 0u) {
        return;
    }
    var mem = src;
    if (migrated) {
        mem = dst_nid;
        let old = atomicAdd(&numa_tasks[b + NT_MIGRATED], pages);
        if (old + pages < old) {
            atomicAdd(&numa_tasks[b + NT_MIGRATED + 1u], 1u);
        }
    } else {
        atomicAdd(&numa_tasks[b + NT_LOCALITY + 2u], pages);
    }
    let private_ = select(0u, 1u, (what & MEW_PRIVATE) != 0u);
    let local = select(0u, 1u, (what & MEW_LOCAL) != 0u);
    atomicAdd(&numa_tasks[b + NT_HDR + mem * NTN_WORDS + NTN_MEMBUF + private_], pages);
    atomicAdd(&numa_tasks[b + NT_HDR + dst_nid * NTN_WORDS + NTN_CPUBUF], pages);
    atomicAdd(&numa_tasks[b + NT_LOCALITY + local], pages);
}
