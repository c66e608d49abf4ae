// Phase `lock_stat`: twin of src/engine/cpu/lock_stat.rs. One thread per
// zone replays the tick's zone->lock acquisitions in simulated time: each
// task (and the zone's kswapd) takes the lock to refill its per-CPU list
// (`rmqueue_bulk()`, `pcp->batch` blocks of orders 0-3, two THPs), to
// drain it above `pcp->high` (`free_pcppages_bulk()`), and once per block
// of an order the lists do not hold. Its acquisitions are spread over the tick (one per equal
// slot, at a hashed point in the slot); the lock serves them first come
// first served, so an acquisition that arrives while another CPU holds the
// lock waits. Counts, waits, holds and CPU bounces accumulate as
// /proc/lock_stat shows them.

@group(0) @binding(0) var<uniform> params: TickParams;
@group(0) @binding(1) var<storage, read> topo: Topo;
@group(0) @binding(2) var<storage, read> ctl: Ctl;
@group(0) @binding(3) var<storage, read> grants: array<Grant>;
@group(0) @binding(4) var<storage, read> zone_stats: array<ZoneStats>;
@group(0) @binding(5) var<storage, read> lock_cfg: array<u32>;
@group(0) @binding(6) var<storage, read_write> task_zone: array<u32>;
@group(0) @binding(7) var<storage, read_write> lock_stats: array<u32>;

fn tz(agent: u32, zone: u32) -> u32 {
    return (agent * params.nr_zones + zone) * TZ_WORDS;
}

fn add64(i: u32, v: u32) {
    let lo = lock_stats[i] + v;
    lock_stats[i + 1u] += select(0u, 1u, lo < v);
    lock_stats[i] = lo;
}

// floor(slot * frac / 65536) without 64-bit arithmetic.
fn scale16(slot: u32, frac: u32) -> u32 {
    return (slot >> 16u) * frac + (((slot & ((1u << 16u) - 1u)) * frac) >> 16u);
}

fn agent_cpu(agent: u32, node: u32) -> u32 {
    if (agent == TZ_KSWAPD) {
        return lock_cfg[LC_KSWAPD + 2u * node];
    }
    return lock_cfg[LC_TASK + 2u * agent];
}

fn agent_node(agent: u32, node: u32) -> u32 {
    if (agent == TZ_KSWAPD) {
        return lock_cfg[LC_KSWAPD + 2u * node + 1u];
    }
    return lock_cfg[LC_TASK + 2u * agent + 1u];
}

// When acquisition `k` of `n` arrives: slot k of the tick, at a hashed
// point inside it.
fn arrival(prefix: u32, zone: u32, agent: u32, k: u32, n: u32) -> u32 {
    let slot = lock_cfg[LC_TICK_NS] / n;
    let h = hash_at(hash_at(prefix, zone * TZ_AGENTS + agent), k) >> 16u;
    return k * slot + scale16(slot, h);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let z = gid.x;
    if (z >= params.nr_zones) {
        return;
    }
    let s = z * LS_WORDS;
    if (lock_stats[s + LS_GEN] != lock_cfg[LC_CLEAR_GEN]) {
        for (var w = 0u; w < LS_WORDS; w++) {
            lock_stats[s + w] = 0u;
        }
        lock_stats[s + LS_GEN] = lock_cfg[LC_CLEAR_GEN];
    }
    let node = topo.zones[z].node;
    let batch = max(lock_cfg[LC_ZONE + 2u * z], 1u);
    let high = lock_cfg[LC_ZONE + 2u * z + 1u];
    lock_stats[s + LS_PCP_HIGH] = high;
    lock_stats[s + LS_PCP_BATCH] = batch;

    // The tick's allocations in this zone, per task: pcp-order pages into
    // the refill count's word for now, other orders as blocks.
    for (var g = 0u; g < ctl.plan_hdr.nr_grants; g++) {
        let gr = grants[g];
        let gz = gr.cell / (NR_PAGE_ORDERS * NR_PCP);
        if (gz != z) {
            continue;
        }
        let o = (gr.cell / NR_PCP) % NR_PAGE_ORDERS;
        let t = tz(gr.owner - OWNER_TASK_BASE, z);
        // Granted user pages join the task's resident memory.
        if (((USER_ANON_CLASS_MASK >> (gr.class_mt & CLASS_MASK)) & 1u) != 0u) {
            task_zone[t + TZ_RSS] += gr.count << o;
        }
        if (o <= PAGE_ALLOC_COSTLY_ORDER) {
            task_zone[t + TZ_N_REFILL] += gr.count << o;
        } else if (o == PAGEBLOCK_ORDER) {
            task_zone[t + TZ_N_THP] += gr.count;
        } else {
            task_zone[t + TZ_N_BLOCKS] += gr.count;
        }
    }
    // kswapd frees what it reclaimed in this zone.
    let kt = tz(TZ_KSWAPD, z);
    task_zone[kt + TZ_FREE_PCP] += zone_stats[z].v[ZS_PGSTEAL_KSWAPD];

    // Per agent: its pcp list after the frees (drains above high) and the
    // allocations (refills when it runs short), as lock acquisitions.
    let prefix = hash_prefix(params.seed, params.tick, STREAM_LOCK);
    let tick_ns = lock_cfg[LC_TICK_NS];
    for (var a = 0u; a <= params.nr_tasks; a++) {
        let agent = select(a, TZ_KSWAPD, a == params.nr_tasks);
        let t = tz(agent, z);
        var pcp = task_zone[t + TZ_PCP_COUNT] + task_zone[t + TZ_FREE_PCP];
        var drains = 0u;
        if (pcp > high) {
            drains = (pcp - high + batch - 1u) / batch;
            pcp -= min(pcp, drains * batch);
        }
        let want = task_zone[t + TZ_N_REFILL];
        var refills = 0u;
        if (want > pcp) {
            refills = (want - pcp + batch - 1u) / batch;
        }
        pcp = pcp + refills * batch - want;
        // THPs: a list of their own here, in blocks, moved THP_BATCH at a
        // time, drained above high's worth of them.
        var thp = task_zone[t + TZ_THP_COUNT] + task_zone[t + TZ_FREE_THP];
        let thp_high = max(high >> PAGEBLOCK_ORDER, THP_BATCH);
        var thp_moves = 0u;
        if (thp > thp_high) {
            let d = (thp - thp_high + THP_BATCH - 1u) / THP_BATCH;
            thp -= min(thp, d * THP_BATCH);
            thp_moves += d;
        }
        let thp_want = task_zone[t + TZ_N_THP];
        if (thp_want > thp) {
            let r = (thp_want - thp + THP_BATCH - 1u) / THP_BATCH;
            thp = thp + r * THP_BATCH;
            thp_moves += r;
        }
        thp -= thp_want;
        let blocks = task_zone[t + TZ_N_BLOCKS] + task_zone[t + TZ_FREE_BLOCKS];
        task_zone[t + TZ_PCP_COUNT] = pcp;
        task_zone[t + TZ_THP_COUNT] = thp;
        task_zone[t + TZ_FREE_PCP] = 0u;
        task_zone[t + TZ_FREE_THP] = 0u;
        task_zone[t + TZ_FREE_BLOCKS] = 0u;
        task_zone[t + TZ_N_DRAIN] = drains;
        task_zone[t + TZ_N_THP] = thp_moves;
        task_zone[t + TZ_N_BLOCKS] = blocks;
        task_zone[t + TZ_N_REFILL] = refills;
        task_zone[t + TZ_NEXT] = 0u;
        let n = drains + thp_moves + blocks + refills;
        if (n > 0u) {
            task_zone[t + TZ_NEXT_AT] = arrival(prefix, z, agent, 0u, n);
        }
    }

    // The lock, first come first served (ties: the lower agent).
    var free_at = lock_stats[s + LS_BUSY];
    loop {
        var best = ~0u;
        var best_at = ~0u;
        for (var a = 0u; a <= params.nr_tasks; a++) {
            let agent = select(a, TZ_KSWAPD, a == params.nr_tasks);
            let t = tz(agent, z);
            let n = task_zone[t + TZ_N_DRAIN] + task_zone[t + TZ_N_THP] + task_zone[t + TZ_N_BLOCKS] + task_zone[t + TZ_N_REFILL];
            if (task_zone[t + TZ_NEXT] < n && task_zone[t + TZ_NEXT_AT] < best_at) {
                best = agent;
                best_at = task_zone[t + TZ_NEXT_AT];
            }
        }
        if (best == ~0u) {
            break;
        }
        let t = tz(best, z);
        let k = task_zone[t + TZ_NEXT];
        // Acquisition k is, in order: a small-page drain, a THP move, a
        // block operation, a small-page refill.
        let nd = task_zone[t + TZ_N_DRAIN];
        let nt = nd + task_zone[t + TZ_N_THP];
        let nb = nt + task_zone[t + TZ_N_BLOCKS];
        let n = nb + task_zone[t + TZ_N_REFILL];
        let cpu = agent_cpu(best, node);
        let start = max(best_at, free_at);
        let wait = start - best_at;
        var hold = lock_cfg[LC_BASE_NS];
        if (k < nd || k >= nb) {
            hold += lock_cfg[LC_PAGE_NS] * batch;
        } else if (k < nt) {
            hold += lock_cfg[LC_PAGE_NS] * THP_BATCH;
        } else {
            hold += lock_cfg[LC_BLOCK_NS];
        }
        let last = lock_stats[s + LS_LAST_CPU];
        let bounced = last != 0u && last != cpu + 1u;
        if (bounced) {
            // The lock's cache line comes from the last holder's CPU.
            let last_node = lock_stats[s + LS_LAST_NODE];
            if (last_node == agent_node(best, node)) {
                hold += lock_cfg[LC_BOUNCE_LOCAL_NS];
            } else {
                hold += lock_cfg[LC_BOUNCE_REMOTE_NS];
            }
            add64(s + LS_ACQ_BOUNCE, 1u);
        }
        add64(s + LS_ACQ, 1u);
        if (wait > 0u) {
            add64(s + LS_CON, 1u);
            if (bounced) {
                add64(s + LS_CON_BOUNCE, 1u);
            }
            add64(s + LS_WAIT_TOTAL, wait);
            if (lock_stats[s + LS_WAIT_MIN] == 0u || wait < lock_stats[s + LS_WAIT_MIN]) {
                lock_stats[s + LS_WAIT_MIN] = wait;
            }
            lock_stats[s + LS_WAIT_MAX] = max(lock_stats[s + LS_WAIT_MAX], wait);
            if (k < nd) {
                add64(s + LS_CON_DRAIN, 1u);
            } else if (k < nt) {
                add64(s + LS_CON_THP, 1u);
            } else if (k < nb) {
                add64(s + LS_CON_BLOCK, 1u);
            } else {
                add64(s + LS_CON_REFILL, 1u);
            }
        }
        add64(s + LS_HOLD_TOTAL, hold);
        if (lock_stats[s + LS_HOLD_MIN] == 0u || hold < lock_stats[s + LS_HOLD_MIN]) {
            lock_stats[s + LS_HOLD_MIN] = hold;
        }
        lock_stats[s + LS_HOLD_MAX] = max(lock_stats[s + LS_HOLD_MAX], hold);
        lock_stats[s + LS_LAST_CPU] = cpu + 1u;
        lock_stats[s + LS_LAST_NODE] = agent_node(best, node);
        free_at = start + hold;
        task_zone[t + TZ_NEXT] = k + 1u;
        if (k + 1u < n) {
            // The CPU is busy until its acquisition ends.
            task_zone[t + TZ_NEXT_AT] = max(arrival(prefix, z, best, k + 1u, n), free_at);
        }
    }
    // A lock further behind than LC_BACKLOG_NS drops the rest of its
    // backlog (the counters keep every wait it caused).
    let busy = select(0u, free_at - tick_ns, free_at > tick_ns);
    lock_stats[s + LS_BUSY] = min(busy, lock_cfg[LC_BACKLOG_NS]);
}
