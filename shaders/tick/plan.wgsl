// Phase `plan`: twin of src/engine/cpu/plan.rs, run by a single thread.
// Requests per task and cls, mempolicy node selection, the zonelist walk
// with watermarks, __rmqueue at the level of counts (own list, whole
// pageblock claims, fallback steals), kswapd targets, and the segments.

@group(0) @binding(0) var<uniform> params: TickParams;
@group(0) @binding(1) var<storage, read> topo: Topo;
@group(0) @binding(2) var<storage, read_write> ctl: Ctl;
@group(0) @binding(3) var<storage, read_write> zone_stats: array<ZoneStats>;
@group(0) @binding(4) var<storage, read> tasks: array<TaskDesc>;
@group(0) @binding(5) var<storage, read_write> task_state: array<TaskState>;
@group(0) @binding(6) var<storage, read_write> plan: Plan;
@group(0) @binding(7) var<storage, read_write> grants: array<Grant>;
@group(0) @binding(8) var<storage, read_write> segs: array<Grant>;


var<private> per_node: array<u32, MAX_NODES>;
var<private> order_of: array<u32, MAX_NODES>;
var<private> nr_pieces: u32;
// The flags and hot share the next grants carry.
var<private> grant_flags: u32;
var<private> grant_hot16: u32;

fn push(node: u32, k: u32) {
    if (k == 0u) {
        return;
    }
    if (per_node[node] == 0u) {
        order_of[nr_pieces] = node;
        nr_pieces += 1u;
    }
    per_node[node] += k;
}

fn next_node_in(prev: u32, mask: u32, nr_nodes: u32) -> u32 {
    for (var i = 1u; i <= nr_nodes; i++) {
        let nd = (prev + i) % max(nr_nodes, 1u);
        if ((mask & (1u << nd)) != 0u) {
            return nd;
        }
    }
    return prev;
}

fn preferred_zone(row: u32, highest: u32, mask: u32) -> u32 {
    for (var i = 0u; topo.zonelists[row + i] != ZONE_NONE; i++) {
        let z = topo.zonelists[row + i];
        if (usable(z, highest, mask)) {
            return z;
        }
    }
    return ZONE_NONE;
}

// __zone_watermark_ok for each block of a batch: free - (b * 2^o - 1) >
// mark  <=>  b <= (free - mark) >> o.
fn wmark_allows(z: u32, highest: u32, wpass: u32, o: u32) -> u32 {
    let zd = topo.zones[z];
    var mark = zd.wmark_min;
    if (wpass == 0u) {
        mark = zd.wmark_low;
    }
    mark += zd.lowmem_reserve[highest];
    let free = ctl.zone_state[z].nr_free;
    if (free <= mark) {
        return 0u;
    }
    return (free - mark) >> o;
}

fn usable(z: u32, highest: u32, mask: u32) -> bool {
    let zd = topo.zones[z];
    return zd.zone_type <= highest && (mask & (1u << zd.node)) != 0u && zd.managed > 0u;
}

fn reclaimable_pages(z: u32) -> u32 {
    var r = 0u;
    for (var c = 0u; c < NR_CLASSES; c++) {
        if ((RECLAIMABLE_CLASS_MASK & (1u << c)) != 0u) {
            r += ctl.zone_state[z].class_pages[c];
        }
    }
    return r;
}

fn account_alloc(z: u32, preferred: u32, pref_node: u32, cpu_node: u32, interleave: bool, n: u32, o: u32) {
    let node = topo.zones[z].node;
    zone_stats[z].v[ZS_PGALLOC] += n << o;
    zone_stats[z].v[ZS_ALLOCS] += n;
    if (node == pref_node) {
        zone_stats[z].v[ZS_NUMA_HIT] += n;
        if (interleave) {
            zone_stats[z].v[ZS_NUMA_INTERLEAVE] += n;
        }
    } else {
        zone_stats[z].v[ZS_NUMA_MISS] += n;
    }
    if (node == cpu_node) {
        zone_stats[z].v[ZS_NUMA_LOCAL] += n;
    } else {
        zone_stats[z].v[ZS_NUMA_OTHER] += n;
    }
    if (node != pref_node) {
        zone_stats[preferred].v[ZS_NUMA_FOREIGN] += n;
    }
}

fn take_list(z: u32, o: u32, l: u32, alloc_mt: u32, n: u32, max_j: u32, owner: u32, cls: u32) -> u32 {
    var left = n;
    var j = o;
    while (j <= max_j && left > 0u) {
        let avail = ctl.zone_state[z].free_area[j][l];
        if (avail == 0u) {
            j += 1u;
            continue;
        }
        let shift = j - o;
        let need = (left + (1u << shift) - 1u) >> shift;
        let blocks = min(need, avail);
        let units = min(left, blocks << shift);
        if (ctl.plan_hdr.nr_grants >= MAX_GRANTS) {
            ctl.plan_hdr.overflow = 1u;
            break;
        }
        ctl.zone_state[z].free_area[j][l] -= blocks;
        var split_above = 0u;
        var i = j;
        while (i > o) {
            let s = (units + (1u << (i - o)) - 1u) >> (i - o);
            plan.cells[cell_index(z, i, l)].split += s;
            if (i < j) {
                ctl.zone_state[z].free_area[i][l] += 2u * split_above - s;
            }
            split_above = s;
            i -= 1u;
        }
        if (j > o) {
            ctl.zone_state[z].free_area[o][l] += 2u * split_above - units;
        }
        let ci = cell_index(z, o, l);
        plan.cells[ci].alloc += units;
        let g = ctl.plan_hdr.nr_grants;
        grants[g] = Grant(ci, units, owner, cls | (alloc_mt << 8u), 0u, grant_flags, grant_hot16, 0u);
        ctl.plan_hdr.nr_grants = g + 1u;
        ctl.zone_state[z].nr_free -= units << o;
        ctl.zone_state[z].class_pages[cls] += units << o;
        left -= units;
        j += 1u;
    }
    return n - left;
}

fn take(z: u32, o: u32, mt: u32, n: u32, owner: u32, cls: u32) -> u32 {
    var left = n;
    left -= take_list(z, o, mt, mt, left, MAX_PAGE_ORDER, owner, cls);
    while (left > 0u) {
        var claimed = false;
        let lo = max(o, PAGEBLOCK_ORDER);
        var k = MAX_PAGE_ORDER;
        while (k >= lo && !claimed) {
            for (var fi = 0u; fi < 2u; fi++) {
                let f = FALLBACKS[mt * 2u + fi];
                let si = steal_index(z, k, f);
                if (plan.steals[si].stealable > 0u && ctl.zone_state[z].free_area[k][f] > 0u) {
                    plan.steals[si].stealable -= 1u;
                    plan.steals[si].to[mt] += 1u;
                    ctl.zone_state[z].free_area[k][f] -= 1u;
                    ctl.zone_state[z].free_area[k][mt] += 1u;
                    zone_stats[z].v[ZS_PAGEBLOCK_CLAIM] += 1u << (k - PAGEBLOCK_ORDER);
                    claimed = true;
                    break;
                }
            }
            k -= 1u;
        }
        if (!claimed) {
            break;
        }
        left -= take_list(z, o, mt, mt, left, MAX_PAGE_ORDER, owner, cls);
    }
    while (left > 0u) {
        var found = false;
        var fj = 0u;
        var ff = 0u;
        for (var j = o; j <= MAX_PAGE_ORDER && !found; j++) {
            for (var fi = 0u; fi < 2u; fi++) {
                let f = FALLBACKS[mt * 2u + fi];
                if (ctl.zone_state[z].free_area[j][f] > 0u) {
                    found = true;
                    fj = j;
                    ff = f;
                    break;
                }
            }
        }
        if (!found) {
            break;
        }
        let got = take_list(z, o, ff, mt, left, fj, owner, cls);
        zone_stats[z].v[ZS_ALLOC_FALLBACK] += got;
        left -= got;
    }
    return n - left;
}

fn alloc_misplaced_dst(t: u32, c: u32, node: u32, flags: u32) -> bool {
    let o = CLASS_ORDER[c];
    let highest = ZONE_MOVABLE;
    let mask = 1u << node;
    let row = node * ZONELIST_STRIDE;
    let owner = t + OWNER_TASK_BASE;
    let preferred = preferred_zone(row, highest, mask);
    if (preferred == ZONE_NONE) {
        return false;
    }
    grant_flags = flags;
    grant_hot16 = 0u;
    for (var wpass = 0u; wpass < 2u; wpass++) {
        for (var i = 0u; topo.zonelists[row + i] != ZONE_NONE; i++) {
            let z = topo.zonelists[row + i];
            if (!usable(z, highest, mask) || wmark_allows(z, highest, wpass, o) == 0u) {
                continue;
            }
            if (take(z, o, MIGRATE_MOVABLE, 1u, owner, c) > 0u) {
                account_alloc(z, preferred, node, node, false, 1u, o);
                return true;
            }
        }
    }
    return false;
}

// A target for each entry of the tick's migration list, in list order.
fn migrate_targets() {
    if (plan.mig[MIG_TICK] != params.tick) {
        return;
    }
    let n = plan.mig[MIG_COUNT];
    for (var i = 0u; i < n; i++) {
        let e = MIG_HDR + i * MIG_WORDS;
        let t = plan.mig[e + ME_WHO] & FP16_MASK;
        let what = plan.mig[e + ME_WHAT];
        let flags = plan.mig[e + ME_FLAGS] & FP16_MASK;
        let o = what & MEW_ORDER_MASK;
        let node = (what >> MEW_TARGET_SHIFT) & MEW_NODE_MASK;
        var c = CLASS_ANON;
        if (o == PAGEBLOCK_ORDER) {
            c = CLASS_THP;
        }
        var status = MIG_FAILED;
        if (alloc_misplaced_dst(t, c, node, flags)) {
            status = MIG_GRANTED;
        }
        plan.mig[e + ME_FLAGS] = flags | (status << MES_SHIFT);
    }
}

fn alloc_zonelist(t: u32, c: u32, node: u32, k: u32) -> u32 {
    let td = tasks[t];
    let o = CLASS_ORDER[c];
    let mt = CLASS_MT[c];
    var highest = ZONE_NORMAL;
    if ((MOVABLE_ZONE_CLASS_MASK & (1u << c)) != 0u) {
        highest = ZONE_MOVABLE;
    }
    var mask = U32_MAX;
    if (td.mode == MPOL_BIND) {
        mask = td.nodemask;
    }
    let row = node * ZONELIST_STRIDE;
    let owner = t + OWNER_TASK_BASE;
    let interleave = td.mode == MPOL_INTERLEAVE || td.mode == MPOL_WEIGHTED_INTERLEAVE;

    let preferred = preferred_zone(row, highest, mask);
    if (preferred == ZONE_NONE) {
        return 0u;
    }
    let pref_node = topo.zones[preferred].node;
    grant_flags = 0u;
    grant_hot16 = 0u;
    if (((USER_ANON_CLASS_MASK >> c) & 1u) != 0u) {
        grant_hot16 = td.hot_private & FP16_MASK;
    }

    var left = k;
    for (var wpass = 0u; wpass < 2u; wpass++) {
        for (var i = 0u; left > 0u && topo.zonelists[row + i] != ZONE_NONE; i++) {
            let z = topo.zonelists[row + i];
            if (!usable(z, highest, mask)) {
                continue;
            }
            let want = min(left, wmark_allows(z, highest, wpass, o));
            if (want == 0u) {
                continue;
            }
            let got = take(z, o, mt, want, owner, c);
            if (got > 0u) {
                account_alloc(z, preferred, pref_node, td.cpu_node, interleave, got, o);
                left -= got;
            }
        }
        if (left == 0u) {
            return 0u;
        }
        if (wpass == 0u) {
            for (var i = 0u; topo.zonelists[row + i] != ZONE_NONE; i++) {
                let z = topo.zonelists[row + i];
                let nd = topo.zones[z].node;
                if (usable(z, highest, mask) && ctl.zone_state[z].nr_free < topo.zones[z].wmark_high
                    && ctl.node_state[nd].kswapd_failures < MAX_RECLAIM_RETRIES) {
                    ctl.node_state[nd].kswapd_active = 1u;
                }
            }
        }
    }

    for (var i = 0u; topo.zonelists[row + i] != ZONE_NONE; i++) {
        let z = topo.zonelists[row + i];
        if (usable(z, highest, mask) && reclaimable_pages(z) > 0u) {
            var stat = ZS_ALLOCSTALL_NORMAL;
            if (highest == ZONE_MOVABLE) {
                stat = ZS_ALLOCSTALL_MOVABLE;
            }
            zone_stats[preferred].v[stat] += 1u;
            zone_stats[preferred].v[ZS_DEFERRED] += left;
            let want = max(left << o, SWAP_CLUSTER_MAX);
            let dt = ctl.zone_state[z].direct_target;
            // saturating add
            ctl.zone_state[z].direct_target = select(dt + want, U32_MAX, dt + want < dt);
            return left;
        }
    }
    zone_stats[preferred].v[ZS_ALLOC_FAIL] += left;
    return 0u;
}

fn request(t: u32, c: u32, n: u32) -> u32 {
    let td = tasks[t];
    for (var i = 0u; i < MAX_NODES; i++) {
        per_node[i] = 0u;
    }
    nr_pieces = 0u;
    let nr_nodes = params.nr_nodes;
    if (td.mode == MPOL_INTERLEAVE) {
        let mask = td.nodemask;
        let k = countOneBits(mask);
        let rounds = n / k;
        let rem = n % k;
        let last = (n - 1u) % k;
        var node = task_state[t].il_prev;
        var new_prev = node;
        for (var i = 0u; i < k; i++) {
            node = next_node_in(node, mask, nr_nodes);
            push(node, rounds + select(0u, 1u, i < rem));
            if (i == last) {
                new_prev = node;
            }
        }
        task_state[t].il_prev = new_prev;
    } else if (td.mode == MPOL_WEIGHTED_INTERLEAVE) {
        let mask = td.nodemask;
        var total_w = 0u;
        for (var nd = 0u; nd < nr_nodes; nd++) {
            if ((mask & (1u << nd)) != 0u) {
                total_w += topo.nodes[nd].il_weight;
            }
        }
        var left = n;
        if (task_state[t].il_weight > 0u && (mask & (1u << task_state[t].il_prev)) != 0u) {
            let k = min(left, task_state[t].il_weight);
            push(task_state[t].il_prev, k);
            task_state[t].il_weight -= k;
            left -= k;
        }
        if (left >= total_w) {
            let cycles = left / total_w;
            var node = task_state[t].il_prev;
            for (var i = 0u; i < countOneBits(mask); i++) {
                node = next_node_in(node, mask, nr_nodes);
                push(node, cycles * topo.nodes[node].il_weight);
            }
            left -= cycles * total_w;
        }
        while (left > 0u) {
            let node = next_node_in(task_state[t].il_prev, mask, nr_nodes);
            task_state[t].il_prev = node;
            task_state[t].il_weight = topo.nodes[node].il_weight;
            let k = min(left, task_state[t].il_weight);
            push(node, k);
            task_state[t].il_weight -= k;
            left -= k;
        }
    } else if (td.mode == MPOL_PREFERRED) {
        push(td.preferred, n);
    } else {
        push(td.cpu_node, n);
    }
    // alloc_zonelist() reuses nothing of the pieces, but copy them first:
    // they are private state shared by the helper functions.
    var pieces = order_of;
    var counts = per_node;
    let np = nr_pieces;
    var deferred = 0u;
    for (var i = 0u; i < np; i++) {
        let node = pieces[i];
        deferred += alloc_zonelist(t, c, node, counts[node]);
    }
    return deferred;
}

fn kswapd_balance() {
    for (var nd = 0u; nd < params.nr_nodes; nd++) {
        let ksw_on = ctl.node_state[nd].kswapd_active != 0u;
        let first = topo.nodes[nd].first_zone;
        var balanced = true;
        var any_reclaimable = false;
        var short = false;
        var progress = false;
        for (var z = first; z < first + topo.nodes[nd].nr_zones; z++) {
            let zd = topo.zones[z];
            let free = ctl.zone_state[z].nr_free;
            let rec = reclaimable_pages(z);
            var p16 = 0u;
            if (ksw_on && free < zd.wmark_high) {
                short = true;
            }
            if (ksw_on && free < zd.wmark_high && rec > 0u) {
                balanced = false;
                any_reclaimable = true;
                let goal = min(min(zd.wmark_high - free, zd.kswapd_pages_per_tick), FP16_MASK);
                p16 = min((goal << 16u) / rec, FP16_MASK);
                if (p16 == 0u) {
                    p16 = 1u;
                }
            }
            ctl.zone_state[z].kswapd_p16 = p16;
            let dt = min(ctl.zone_state[z].direct_target, FP16_MASK);
            var dp = 0u;
            if (dt > 0u && rec > 0u) {
                dp = clamp((dt << 16u) / rec, 1u, FP16_MASK);
                progress = true;
            }
            ctl.zone_state[z].direct_p16 = dp;
        }
        // balance_pgdat(): a run that reclaims nothing counts a failure;
        // shrink_node() clears them on any progress, kswapd's or direct.
        if (any_reclaimable || progress) {
            ctl.node_state[nd].kswapd_failures = 0u;
        } else if (short) {
            ctl.node_state[nd].kswapd_failures = min(ctl.node_state[nd].kswapd_failures + 1u, MAX_RECLAIM_RETRIES);
        }
        if (ksw_on) {
            zone_stats[first].v[ZS_PAGEOUTRUN] += 1u;
            if (balanced || !any_reclaimable) {
                ctl.node_state[nd].kswapd_active = 0u;
            }
        }
    }
}

fn build_segments() {
    let n = ctl.plan_hdr.nr_grants;
    let nr_cells = params.nr_zones * NR_PAGE_ORDERS * NR_PCP;
    for (var g = 0u; g < n; g++) {
        plan.cells[grants[g].cell].seg_count += 1u;
    }
    var acc = 0u;
    for (var c = 0u; c < nr_cells; c++) {
        plan.cells[c].seg_start = acc;
        acc += plan.cells[c].seg_count;
        plan.cells[c].seg_count = 0u;
    }
    for (var g = 0u; g < n; g++) {
        var gr = grants[g];
        let c = gr.cell;
        let slot = plan.cells[c].seg_start + plan.cells[c].seg_count;
        if (plan.cells[c].seg_count == 0u) {
            gr.start = 0u;
        } else {
            gr.start = segs[slot - 1u].start + segs[slot - 1u].count;
        }
        segs[slot] = gr;
        plan.cells[c].seg_count += 1u;
    }
}

@compute @workgroup_size(1)
fn main() {
    let nr_zones = params.nr_zones;
    let tick = params.tick;
    for (var c = 0u; c < nr_zones * NR_PAGE_ORDERS * NR_PCP; c++) {
        plan.cells[c] = PlanCell(0u, 0u, 0u, 0u);
    }
    for (var z = 0u; z < nr_zones; z++) {
        for (var k = PAGEBLOCK_ORDER; k <= MAX_PAGE_ORDER; k++) {
            for (var f = 0u; f < NR_PCP; f++) {
                plan.steals[steal_index(z, k, f)] = StealCell(array<u32, 3>(0u, 0u, 0u), ctl.zone_state[z].free_area[k][f]);
            }
        }
        ctl.zone_state[z].direct_target = 0u;
    }
    ctl.plan_hdr = PlanHeader(0u, 0u, 0u, 0u);
    migrate_targets();

    for (var t = 0u; t < params.nr_tasks; t++) {
        if (tasks[t].alive == 0u || tick < tasks[t].start_tick) {
            continue;
        }
        for (var c = 0u; c < NR_CLASSES; c++) {
            let rate = tasks[t].rate_fp[c];
            var n = task_state[t].pending[c];
            task_state[t].pending[c] = 0u;
            if (rate != 0u) {
                let h = hash_at(hash_prefix(params.seed, tick, STREAM_REQUEST), t * NR_CLASSES + c);
                n += (rate >> 16u) + select(0u, 1u, (h & FP16_MASK) < (rate & FP16_MASK));
            }
            if (n == 0u) {
                continue;
            }
            let left = request(t, c, n);
            let p = task_state[t].pending[c];
            let sum = select(p + left, U32_MAX, p + left < p);
            task_state[t].pending[c] = min(sum, MAX_PENDING);
        }
    }
    kswapd_balance();
    build_segments();
}
