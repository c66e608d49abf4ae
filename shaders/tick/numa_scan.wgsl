// Phase `numa_scan`: twin of src/engine/cpu/numa_scan.rs. One workgroup
// per chunk; every thread looks at four frames. A PROT_NONE user page that
// is touched this tick takes a hint fault (filter, room, candidate or
// restore); a present one in its task's scan window becomes PROT_NONE.

@group(0) @binding(0) var<uniform> params: TickParams;
//@frames read_write
//@owners read_write
@group(0) @binding(3) var<storage, read> chunk_zone: array<u32>;
@group(0) @binding(4) var<storage, read> tasks: array<TaskDesc>;
@group(0) @binding(5) var<storage, read> numa_cfg: array<u32>;
@group(0) @binding(6) var<storage, read_write> numa_state: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read_write> numa_tasks: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> plan: Plan;

// pte updates, huge pte updates, faults, local faults, refused
var<workgroup> wg_counts: array<atomic<u32>, 5>;
// Per node of the faulting CPU: faults, local faults.
var<workgroup> wg_node: array<atomic<u32>, 2u * MAX_NODES>;
var<workgroup> wg_found: atomic<u32>;
// PROT_NONE pages left in the chunk.
var<workgroup> wg_left: atomic<u32>;
// Whether the chunk has work (read by one thread: uniform for WebGPU).
var<workgroup> wg_work: u32;

fn add64_state(i: u32, x: u32) {
    if (x == 0u) {
        return;
    }
    let old = atomicAdd(&numa_state[i], x);
    if (old + x < old) {
        atomicAdd(&numa_state[i + 1u], 1u);
    }
}

fn add64_task(i: u32, x: u32) {
    let old = atomicAdd(&numa_tasks[i], x);
    if (old + x < old) {
        atomicAdd(&numa_tasks[i + 1u], 1u);
    }
}

fn nt(i: u32) -> u32 {
    return atomicLoad(&numa_tasks[i]);
}

// task_numa_fault()'s statistics.
fn task_numa_fault(b: u32, mem_node: u32, cpu_node: u32, pages: u32, private_: bool, local: bool, failed: bool) {
    if (failed) {
        atomicAdd(&numa_tasks[b + NT_LOCALITY + 2u], pages);
    }
    atomicAdd(&numa_tasks[b + NT_HDR + mem_node * NTN_WORDS + NTN_MEMBUF + select(0u, 1u, private_)], pages);
    atomicAdd(&numa_tasks[b + NT_HDR + cpu_node * NTN_WORDS + NTN_CPUBUF], pages);
    atomicAdd(&numa_tasks[b + NT_LOCALITY + select(0u, 1u, local)], pages);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let chunk = chunk_of(wg, nwg);
    let mode = numa_cfg[NC_MODE];
    if (chunk >= params.nr_chunks || mode == 0u) {
        return;
    }
    if (lid < 5u) {
        atomicStore(&wg_counts[lid], 0u);
    }
    if (lid < 2u * MAX_NODES) {
        atomicStore(&wg_node[lid], 0u);
    }
    let pn = MIG_CHUNKS + params.nr_chunks + chunk;
    if (lid == 0u) {
        atomicStore(&wg_found, 0u);
        atomicStore(&wg_left, 0u);
        // Without a scan window this tick, only chunks that may hold
        // PROT_NONE pages have work.
        let scanning = atomicLoad(&numa_state[NSG_SCAN_TICK]) == params.tick + 1u;
        wg_work = select(0u, 1u, scanning || plan.mig[pn] != 0u);
        plan.mig[MIG_CHUNKS + chunk] = 0u;
    }
    if (workgroupUniformLoad(&wg_work) == 0u) {
        return;
    }
    let zone = chunk_zone[chunk];
    let page_nid = numa_cfg[NC_ZONE_NODE + zone];
    let page_top = ((numa_cfg[NC_TOPTIER] >> page_nid) & 1u) != 0u;
    let tiering = (mode & NUMA_BALANCING_MEMORY_TIERING) != 0u;
    let touch_prefix = hash_prefix(params.seed, params.tick, STREAM_NUMA_TOUCH);
    let thread_prefix = hash_prefix(params.seed, params.tick, STREAM_NUMA_THREAD);
    let va_prefix = hash_prefix(params.seed, 0u, STREAM_NUMA_VA);
    let stride = NT_HDR + params.nr_nodes * NTN_WORDS;
    for (var k = 0u; k < 4u; k++) {
        let pfn = chunk * CHUNK_FRAMES + k * 256u + lid;
        let s = frames_ld(pfn);
        if (fr_kind(s) != KIND_ALLOC || ((USER_ANON_CLASS_MASK >> fr_class(s)) & 1u) == 0u) {
            continue;
        }
        let owner = owners_ld(pfn);
        let t = owner - OWNER_TASK_BASE;
        let td = tasks[t];
        if (td.alive == 0u) {
            continue;
        }
        let b = t * stride;
        var flags = fr_flags(s);
        let o = fr_order(s);
        let pages = 1u << o;
        let threads = max(td.threads & TD_THREADS_MASK, 1u);
        if ((flags & AF_PROT_NONE) == 0u) {
            let hi = nt(b + NT_WIN_HI);
            let lo = nt(b + NT_WIN_LO);
            if (hi <= lo) {
                continue;
            }
            let span = max(nt(b + NT_SPAN), 1u);
            let v = hash_at(va_prefix, chunk) % span;
            if (v < lo || v >= hi) {
                continue;
            }
            if ((mode & NUMA_BALANCING_NORMAL) == 0u && page_top) {
                continue;
            }
            let node0 = numa_cfg[NC_THREADS + t * MAX_THREADS] & NC_THREAD_NODE_MASK;
            if (o == 0u && threads == 1u && node0 == page_nid) {
                continue;
            }
            frames_st(pfn, with_flags(s, flags | AF_PROT_NONE));
            atomicAdd(&wg_left, 1u);
            atomicAdd(&wg_counts[0], pages);
            if (o == PAGEBLOCK_ORDER) {
                atomicAdd(&wg_counts[1], 1u);
            }
            atomicAdd(&numa_tasks[b + NT_SCAN_UPDATES], 1u);
            continue;
        }
        var p = td.cold_touch;
        if ((flags & AF_HOT) != 0u) {
            p = td.hot_touch;
        }
        if (hash_at(touch_prefix, pfn) >= p) {
            atomicAdd(&wg_left, 1u);
            continue;
        }
        let u = hash_at(thread_prefix, pfn);
        let home = (af_pid(flags) - td.pid) & AF_PID_MASK;
        let private16 = td.hot_private >> 16u;
        var thread = (u & FP16_MASK) % threads;
        if (af_nid1(flags) != 0u && home < threads && (u >> 16u) < private16) {
            thread = home;
        }
        let pid = td.pid + thread;
        let tnode = numa_cfg[NC_THREADS + t * MAX_THREADS + thread] & NC_THREAD_NODE_MASK;
        let local = page_nid == tnode;
        atomicAdd(&wg_counts[2], 1u);
        atomicAdd(&wg_node[2u * tnode], 1u);
        if (local) {
            atomicAdd(&wg_counts[3], 1u);
            atomicAdd(&wg_node[2u * tnode + 1u], 1u);
        }
        add64_task(b + NT_FAULTS, 1u);
        let before = flags;
        let private_ = fault_is_private(before, pid);
        if (!private_) {
            atomicStore(&numa_tasks[b + NT_GROUP_NEW], 1u);
        }
        let mof = (td.threads & TD_MOF) != 0u;
        var target1 = 0u;
        let pol1 = mpol_verdict(td.mode, td.nodemask, mof, page_nid, tnode);
        if (pol1 != 0u) {
            var g = GroupCmp(0u, 0u, 0u, 0u, 0u);
            if (nt(b + NT_GROUP) != 0u) {
                let nd = b + NT_HDR + tnode * NTN_WORDS;
                let ns = b + NT_HDR + page_nid * NTN_WORDS;
                g = GroupCmp(1u, nt(nd + NTN_CPU), nt(ns + NTN_CPU),
                    add_sat(nt(ns + NTN_MEM), nt(ns + NTN_MEM + 1u)),
                    add_sat(nt(nd + NTN_MEM), nt(nd + NTN_MEM + 1u)));
            }
            let f = should_numa_migrate_memory(pid, tnode, nt(b + NT_PREFERRED), nt(b + NT_SEQ), g, &flags, page_top);
            if (filter_migrates(f) && page_nid != pol1 - 1u) {
                target1 = pol1;
            }
        }
        var failed = false;
        if (target1 != 0u) {
            let room = bitcast<i32>(atomicLoad(&numa_state[NSG_ROOM + target1 - 1u]));
            if (migrate_balanced_pgdat(room, pages)) {
                frames_st(pfn, with_flags(s, flags));
                var bits = OWNER_MIGRATING | (thread << OWNER_THREAD_SHIFT);
                if (private_) {
                    bits |= OWNER_PRIVATE;
                }
                if (af_nid1(before) != 0u) {
                    bits |= OWNER_LAST_VALID;
                }
                owners_st(pfn, owner | bits);
                atomicAdd(&wg_found, 1u);
                atomicAdd(&wg_left, 1u);
                continue;
            }
            atomicAdd(&wg_counts[4], 1u);
            failed = true;
        }
        frames_st(pfn, with_flags(s, flags & ~AF_PROT_NONE));
        if (!page_top && (tiering || af_nid1(before) == 0u)) {
            continue;
        }
        task_numa_fault(b, page_nid, tnode, pages, private_, local, failed);
    }
    workgroupBarrier();
    if (lid == 0u) {
        plan.mig[MIG_CHUNKS + chunk] = atomicLoad(&wg_found);
        plan.mig[pn] = atomicLoad(&wg_left);
        add64_state(NE_BASE + 2u * NE_PTE_UPDATES, atomicLoad(&wg_counts[0]));
        add64_state(NE_BASE + 2u * NE_HUGE_PTE_UPDATES, atomicLoad(&wg_counts[1]));
        add64_state(NE_BASE + 2u * NE_HINT_FAULTS, atomicLoad(&wg_counts[2]));
        add64_state(NE_BASE + 2u * NE_HINT_FAULTS_LOCAL, atomicLoad(&wg_counts[3]));
        add64_state(NE_BASE + 2u * NE_MIGRATE_REFUSED, atomicLoad(&wg_counts[4]));
    }
    if (lid < params.nr_nodes) {
        add64_state(NE_NODE + 4u * lid, atomicLoad(&wg_node[2u * lid]));
        add64_state(NE_NODE + 4u * lid + 2u, atomicLoad(&wg_node[2u * lid + 1u]));
    }
}
