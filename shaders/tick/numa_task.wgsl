// Phase `numa_task`: twin of src/engine/cpu/numa_task.rs. One thread per
// task: the last scan's TLB flush, task_numa_placement() after a
// completed pass, task_tick_numa() and task_numa_work()'s window.
// Thread 0 also writes each node's room for migration targets.

@group(0) @binding(0) var<uniform> params: TickParams;
@group(0) @binding(1) var<storage, read> topo: Topo;
@group(0) @binding(2) var<storage, read> ctl: Ctl;
@group(0) @binding(3) var<storage, read> tasks: array<TaskDesc>;
@group(0) @binding(4) var<storage, read> numa_cfg: array<u32>;
@group(0) @binding(5) var<storage, read> task_zone: array<u32>;
@group(0) @binding(6) var<storage, read_write> numa_state: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read_write> numa_tasks: array<u32>;

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

fn load_scan(b: u32) -> TaskScan {
    return TaskScan(numa_tasks[b + NT_PERIOD_MS], numa_tasks[b + NT_PERIOD_MAX_MS], numa_tasks[b + NT_NODE_STAMP_MS],
        numa_tasks[b + NT_NEXT_SCAN], numa_tasks[b + NT_SEQ], numa_tasks[b + NT_OFFSET], numa_tasks[b + NT_SPAN],
        numa_tasks[b + NT_LOCALITY], numa_tasks[b + NT_LOCALITY + 1u], numa_tasks[b + NT_LOCALITY + 2u],
        numa_tasks[b + NT_WORK_QUEUED]);
}

fn store_scan(b: u32, ts: TaskScan) {
    numa_tasks[b + NT_PERIOD_MS] = ts.period_ms;
    numa_tasks[b + NT_PERIOD_MAX_MS] = ts.period_max_ms;
    numa_tasks[b + NT_NODE_STAMP_MS] = ts.node_stamp_ms;
    numa_tasks[b + NT_NEXT_SCAN] = ts.next_scan;
    numa_tasks[b + NT_SEQ] = ts.seq;
    numa_tasks[b + NT_OFFSET] = ts.offset;
    numa_tasks[b + NT_SPAN] = ts.span;
    numa_tasks[b + NT_LOCALITY] = ts.loc_remote;
    numa_tasks[b + NT_LOCALITY + 1u] = ts.loc_local;
    numa_tasks[b + NT_LOCALITY + 2u] = ts.loc_failed;
    numa_tasks[b + NT_WORK_QUEUED] = ts.work_queued;
}

fn group_of(b: u32, threads: u32) -> GroupFaults {
    var g = GroupFaults(0u, 0u, 0u, 0u);
    if (numa_tasks[b + NT_GROUP] == 0u) {
        return g;
    }
    g.valid = 1u;
    g.refcount = threads;
    for (var n = 0u; n < params.nr_nodes; n++) {
        let m = b + NT_HDR + n * NTN_WORDS + NTN_MEM;
        g.shared_ = add_sat(g.shared_, numa_tasks[m]);
        g.private_ = add_sat(g.private_, numa_tasks[m + 1u]);
    }
    return g;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (numa_cfg[NC_MODE] == 0u) {
        return;
    }
    let t = gid.x;
    if (t == 0u) {
        for (var n = 0u; n < params.nr_nodes; n++) {
            let nd = topo.nodes[n];
            var room = ROOM_NONE;
            for (var z = nd.first_zone; z < nd.first_zone + nd.nr_zones; z++) {
                let zd = topo.zones[z];
                if (zd.managed == 0u) {
                    continue;
                }
                var highatomic = 0u;
                for (var o = 0u; o < NR_PAGE_ORDERS; o++) {
                    highatomic += ctl.zone_state[z].free_area[o][MIGRATE_HIGHATOMIC] << o;
                }
                room = max(room, room_of(ctl.zone_state[z].nr_free, highatomic, zd.wmark_high, zd.lowmem_reserve[ZONE_MOVABLE]));
            }
            atomicStore(&numa_state[NSG_ROOM + n], bitcast<u32>(room));
        }
    }
    if (t >= params.nr_tasks) {
        return;
    }
    let td = tasks[t];
    if (td.alive == 0u || params.tick < td.start_tick) {
        return;
    }
    let s = Tunables(numa_cfg[NC_SCAN_DELAY_MS], numa_cfg[NC_SCAN_PERIOD_MIN_MS], numa_cfg[NC_SCAN_PERIOD_MAX_MS], numa_cfg[NC_SCAN_SIZE_MB]);
    let tick_ns = numa_cfg[NC_TICK_NS];
    let j0 = jiffies_at(params.tick, tick_ns);
    let j1 = jiffies_at(params.tick + 1u, tick_ns);
    let b = t * (NT_HDR + params.nr_nodes * NTN_WORDS);
    if (numa_tasks[b + NT_INIT] == 0u) {
        store_scan(b, task_scan_fork(td.fork_jiffies, s));
        numa_tasks[b + NT_INIT] = 1u;
    }
    let cpus = (td.threads >> TD_CPUS_SHIFT) & TD_THREADS_MASK;
    let updates = numa_tasks[b + NT_SCAN_UPDATES];
    if (updates != 0u) {
        var entries = numa_tasks[b + NT_SCAN_RANGE];
        if (updates == 1u) {
            entries = 1u;
        }
        let f = tlb_flush(entries, select(0u, cpus - 1u, cpus > 0u));
        event(NE_TLB_REMOTE_FLUSH, f.x);
        event(NE_TLB_REMOTE_FLUSH_RECEIVED, f.y);
        event(NE_TLB_LOCAL_FLUSH_ALL, f.z);
        event(NE_TLB_LOCAL_FLUSH_ONE, f.w);
        event(NE_SCANS, 1u);
        numa_tasks[b + NT_SCAN_UPDATES] = 0u;
    }
    numa_tasks[b + NT_WIN_LO] = 0u;
    numa_tasks[b + NT_WIN_HI] = 0u;
    if (numa_tasks[b + NT_GROUP_NEW] != 0u) {
        numa_tasks[b + NT_GROUP] = 1u;
    }
    var rss = 0u;
    for (var z = 0u; z < params.nr_zones; z++) {
        rss += task_zone[(t * params.nr_zones + z) * TZ_WORDS + TZ_RSS];
    }
    let threads = td.threads & TD_THREADS_MASK;
    var ts = load_scan(b);
    if (ts.seq != numa_tasks[b + NT_PLACED_SEQ]) {
        var fault_types = vec2<u32>(0u);
        var max_faults = 0u;
        var max_nid = 0u;
        for (var n = 0u; n < params.nr_nodes; n++) {
            let nb = b + NT_HDR + n * NTN_WORDS;
            var faults = 0u;
            for (var p = 0u; p < 2u; p++) {
                let mem = numa_tasks[nb + NTN_MEM + p];
                let buf = numa_tasks[nb + NTN_MEMBUF + p];
                fault_types[p] = add_sat(fault_types[p], buf);
                let m = min(add_sat(mem - mem / 2u, buf), FAULTS_MAX);
                numa_tasks[nb + NTN_MEM + p] = m;
                numa_tasks[nb + NTN_MEMBUF + p] = 0u;
                faults = add_sat(faults, m);
            }
            let cpu = numa_tasks[nb + NTN_CPU];
            numa_tasks[nb + NTN_CPU] = min(add_sat(cpu - cpu / 2u, numa_tasks[nb + NTN_CPUBUF]), FAULTS_MAX);
            numa_tasks[nb + NTN_CPUBUF] = 0u;
            if (faults > max_faults) {
                max_faults = faults;
                max_nid = n;
            }
        }
        if (max_faults > 0u) {
            numa_tasks[b + NT_PREFERRED] = max_nid + 1u;
        }
        let g = group_of(b, threads);
        ts.period_max_ms = task_scan_max(s, rss, g);
        update_task_scan_period(&ts, j0, s, rss, g, fault_types.x, fault_types.y);
        numa_tasks[b + NT_PLACED_SEQ] = ts.seq;
    }
    if (j1 > j0) {
        let g = group_of(b, threads);
        var exec_j = 0u;
        if (j1 > td.fork_jiffies) {
            exec_j = j1 - td.fork_jiffies;
        }
        let exec_ms = mul_sat(exec_j, MS_PER_JIFFY);
        if (sched_tick(&ts, j1, exec_ms, s, rss, g)) {
            let w = numa_work(&ts, j1, s, rss, g);
            if ((w.z & 1u) != 0u) {
                numa_tasks[b + NT_WIN_LO] = w.x;
                numa_tasks[b + NT_WIN_HI] = w.y;
                numa_tasks[b + NT_SCAN_RANGE] = w.y - w.x;
                if (w.y > w.x) {
                    atomicMax(&numa_state[NSG_SCAN_TICK], params.tick + 1u);
                }
            }
        }
    }
    store_scan(b, ts);
}
