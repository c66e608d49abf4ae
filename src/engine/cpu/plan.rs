//! The plan: a small sequential computation over counts that decides, for
//! every (zone, order, free list), how many free blocks are split and how
//! many are handed out this tick, and to whom.
//!
//! It is written as one GPU thread would run it (fixed-size loops, integer
//! arithmetic only, no allocation), over the same buffers. It models, at the
//! level of counts:
//! - `__rmqueue_smallest`: take the smallest free block of the requested
//!   migratetype and split it (`expand`); in closed form for a batch.
//! - `__rmqueue_claim` / `__rmqueue_steal` (6.15 `__rmqueue_fallback`):
//!   claim a whole free pageblock of a fallback type, largest first, else
//!   take the smallest fallback block without claiming. Claims are limited
//!   to whole free pageblocks (order >= pageblock_order), because the plan
//!   sees counts, not the occupancy of partly used pageblocks.
//! - `get_page_from_freelist` over the zonelist with the low watermark,
//!   then (after waking kswapd) the min watermark, then direct reclaim
//!   (`allocstall`) with the request retried next tick, or a failure when
//!   nothing in the zonelist is reclaimable.
//! - `zone_statistics` (NUMA hit/miss/foreign/local/other, per allocation)
//!   and NUMA_INTERLEAVE_HIT.
//! - kswapd: a woken node reclaims, in each zone below its high watermark,
//!   up to its rate per tick, and sleeps when every zone is balanced.

use crate::engine::state::{CtlMut, PlanMut, TopoRef};
use crate::engine::types::*;
use crate::model::frame::*;
use crate::model::hash::{hash4, STREAM_REQUEST};
use crate::model::scenario::MAX_NODES;
use crate::model::topology::ZoneType;
use crate::model::workload::*;

/// Cap on requests a task class may have waiting after stalls.
pub const MAX_PENDING: u32 = 1 << 16;
/// `SWAP_CLUSTER_MAX`: direct reclaim asks for at least this many pages.
pub const SWAP_CLUSTER_MAX: u32 = 32;

/// The plan's bindings, under the names the code below reads them by.
struct B<'a> {
    params: &'a TickParams,
    zones: &'a [ZoneDesc],
    nodes: &'a [NodeDesc],
    zonelists: &'a [u32],
    zone_state: &'a mut [ZoneState],
    node_state: &'a mut [NodeState],
    plan_hdr: &'a mut PlanHeader,
    zone_stats: &'a mut [ZoneStats],
    tasks: &'a [TaskDesc],
    task_state: &'a mut [TaskState],
    cells: &'a mut [PlanCell],
    steals: &'a mut [StealCell],
    grants: &'a mut [Grant],
    segs: &'a mut [Grant],
    mig: &'a mut [u32],
    /// The flags and hot share the next grants carry.
    grant_flags: u32,
    grant_hot16: u32,
}

#[allow(clippy::too_many_arguments)]
pub fn plan(
    params: &TickParams,
    topo: &TopoRef,
    ctl: &mut CtlMut,
    zone_stats: &mut [ZoneStats],
    tasks: &[TaskDesc],
    task_state: &mut [TaskState],
    plan: &mut PlanMut,
    grants: &mut [Grant],
    segs: &mut [Grant],
    _order: u32,
) {
    let mut b = B {
        params,
        zones: topo.zones,
        nodes: topo.nodes,
        zonelists: topo.zonelists,
        zone_state: ctl.zone_state,
        node_state: ctl.node_state,
        plan_hdr: ctl.plan_hdr,
        zone_stats,
        tasks,
        task_state,
        cells: plan.cells,
        steals: plan.steals,
        grants,
        segs,
        mig: plan.mig,
        grant_flags: 0,
        grant_hot16: 0,
    };
    plan_on(&mut b);
}

fn plan_on(b: &mut B) {
    let nr_zones = b.zones.len();
    let tick = b.params.tick;
    let seed = b.params.seed;

    // Reset the per-tick outputs.
    for c in b.cells.iter_mut() {
        *c = PlanCell::default();
    }
    for z in 0..nr_zones {
        for k in 9..=10usize {
            for f in 0..NR_PCP {
                let s = &mut b.steals[steal_index(z, k, f)];
                *s = StealCell {
                    to: [0; NR_PCP],
                    stealable: b.zone_state[z].free_area[k][f],
                };
            }
        }
        b.zone_state[z].direct_target = 0;
    }
    *b.plan_hdr = PlanHeader::default();

    // NUMA balancing's misplaced pages first: they were isolated earlier
    // in the tick.
    migrate_targets(b);

    // Requests, task by task, class by class.
    for t in 0..b.tasks.len() {
        let td = b.tasks[t];
        if td.alive == 0 || tick < td.start_tick {
            continue;
        }
        for c in 0..NR_CLASSES {
            let rate = td.rate_fp[c];
            let mut n = b.task_state[t].pending[c];
            b.task_state[t].pending[c] = 0;
            if rate != 0 {
                let h = hash4(seed, tick, (t * NR_CLASSES + c) as u32, STREAM_REQUEST);
                n += (rate >> 16) + u32::from((h & 0xffff) < (rate & 0xffff));
            }
            if n == 0 {
                continue;
            }
            let left = request(b, t, c as u32, n);
            let ts = &mut b.task_state[t];
            ts.pending[c] = ts.pending[c].saturating_add(left).min(MAX_PENDING);
        }
    }

    kswapd_balance(b);
    build_segments(b);
}

/// Distributes `n` allocations of class `c` for task `t` over nodes as the
/// task's mempolicy says, and allocates them. Returns how many were deferred.
fn request(b: &mut B, t: usize, c: u32, n: u32) -> u32 {
    let td = b.tasks[t];
    let mut per_node = [0u32; MAX_NODES];
    let mut order_of = [0u32; MAX_NODES];
    let mut nr_pieces = 0usize;
    let mut push = |node: u32, k: u32, per_node: &mut [u32; MAX_NODES]| {
        if k == 0 {
            return;
        }
        if per_node[node as usize] == 0 {
            order_of[nr_pieces] = node;
            nr_pieces += 1;
        }
        per_node[node as usize] += k;
    };
    let nr_nodes = b.nodes.len() as u32;
    match td.mode {
        MPOL_INTERLEAVE => {
            // interleave_nodes(): next node in the mask after il_prev, one
            // page at a time; a batch of n is dealt out in whole rounds.
            let mask = td.nodemask;
            let k = mask.count_ones();
            let ts = &mut b.task_state[t];
            let rounds = n / k;
            let rem = n % k;
            let last = (n - 1) % k;
            let mut node = ts.il_prev;
            let mut new_prev = node;
            for i in 0..k {
                node = next_node_in(node, mask, nr_nodes);
                push(node, rounds + u32::from(i < rem), &mut per_node);
                if i == last {
                    new_prev = node;
                }
            }
            ts.il_prev = new_prev;
        }
        MPOL_WEIGHTED_INTERLEAVE => {
            // weighted_interleave_nodes(): il_weight pages on il_prev, then
            // the next node with its weight.
            let mask = td.nodemask;
            let mut total_w = 0u32;
            for nd in 0..nr_nodes {
                if mask & (1 << nd) != 0 {
                    total_w += b.nodes[nd as usize].il_weight;
                }
            }
            let ts = &mut b.task_state[t];
            let mut left = n;
            // Finish the current node's weight.
            if ts.il_weight > 0 && mask & (1 << ts.il_prev) != 0 {
                let k = left.min(ts.il_weight);
                push(ts.il_prev, k, &mut per_node);
                ts.il_weight -= k;
                left -= k;
            }
            // Whole cycles in closed form.
            if left >= total_w {
                let cycles = left / total_w;
                let mut node = ts.il_prev;
                for _ in 0..mask.count_ones() {
                    node = next_node_in(node, mask, nr_nodes);
                    push(
                        node,
                        cycles * b.nodes[node as usize].il_weight,
                        &mut per_node,
                    );
                }
                left -= cycles * total_w;
            }
            while left > 0 {
                let node = next_node_in(ts.il_prev, mask, nr_nodes);
                ts.il_prev = node;
                ts.il_weight = b.nodes[node as usize].il_weight;
                let k = left.min(ts.il_weight);
                push(node, k, &mut per_node);
                ts.il_weight -= k;
                left -= k;
            }
        }
        MPOL_PREFERRED => push(td.preferred, n, &mut per_node),
        _ => push(td.cpu_node, n, &mut per_node),
    }

    let mut deferred = 0;
    for &node in order_of.iter().take(nr_pieces) {
        deferred += alloc_zonelist(b, t, c, node, per_node[node as usize]);
    }
    deferred
}

fn next_node_in(prev: u32, mask: u32, nr_nodes: u32) -> u32 {
    for i in 1..=nr_nodes {
        let nd = (prev.wrapping_add(i)) % nr_nodes.max(1);
        if mask & (1 << nd) != 0 {
            return nd;
        }
    }
    prev
}

/// A target for each entry of the tick's migration list (in list
/// order, so the lowest pfns first), as `alloc_misplaced_dst_page()`
/// asks: `__GFP_THISNODE` on the target node, movable, no reclaim (not
/// even kswapd's: `~__GFP_RECLAIM`, and GFP_TRANSHUGE_LIGHT for a THP),
/// the low watermark and then the min one. The target takes the
/// source's flags; the entry learns whether it got one.
fn migrate_targets(b: &mut B) {
    if b.mig[MIG_TICK] != b.params.tick {
        return;
    }
    for i in 0..b.mig[MIG_COUNT] as usize {
        let e = MIG_HDR + i * MIG_WORDS;
        let t = (b.mig[e + ME_WHO] & 0xffff) as usize;
        let what = b.mig[e + ME_WHAT];
        let flags = b.mig[e + ME_FLAGS] & 0xffff;
        let o = what & MEW_ORDER_MASK;
        let node = what >> MEW_TARGET_SHIFT & MEW_NODE_MASK;
        let c = if o == PAGEBLOCK_ORDER {
            CLASS_THP
        } else {
            CLASS_ANON
        };
        let ok = alloc_misplaced_dst(b, t, c, node, flags);
        let status = if ok { MIG_GRANTED } else { MIG_FAILED };
        b.mig[e + ME_FLAGS] = flags | status << MES_SHIFT;
    }
}

fn alloc_misplaced_dst(b: &mut B, t: usize, c: u32, node: u32, flags: u32) -> bool {
    let o = CLASSES[c as usize].order;
    let highest = ZoneType::Movable as u32;
    let mask = 1u32 << node;
    let row = node as usize * ZONELIST_STRIDE;
    let owner = t as u32 + OWNER_TASK_BASE;
    let preferred = preferred_zone(b, row, highest, mask);
    if preferred == ZONE_NONE {
        return false;
    }
    b.grant_flags = flags;
    b.grant_hot16 = 0;
    for pass in 0..2 {
        let mut i = 0;
        while b.zonelists[row + i] != ZONE_NONE {
            let z = b.zonelists[row + i] as usize;
            i += 1;
            if !usable(b, z, highest, mask) || wmark_allows(b, z, highest, pass, o) == 0 {
                continue;
            }
            if take(b, z, o, MIGRATE_MOVABLE, 1, owner, c) > 0 {
                account_alloc(b, z, preferred as usize, node, node, false, 1, o);
                return true;
            }
        }
    }
    false
}

/// `__alloc_pages` for `k` blocks of class `c` preferring `node`.
/// Returns how many are deferred to the next tick.
fn alloc_zonelist(b: &mut B, t: usize, c: u32, node: u32, k: u32) -> u32 {
    let td = b.tasks[t];
    let ci = CLASSES[c as usize];
    let o = ci.order;
    let mt = ci.migratetype;
    // Highest usable zone type: movable user memory may use ZONE_MOVABLE.
    let highest = if ci.movable_zone_ok {
        ZoneType::Movable as u32
    } else {
        ZoneType::Normal as u32
    };
    // MPOL_BIND restricts the zonelist to the policy's nodes.
    let mask = if td.mode == MPOL_BIND {
        td.nodemask
    } else {
        u32::MAX
    };
    let row = node as usize * ZONELIST_STRIDE;
    let owner = t as u32 + OWNER_TASK_BASE;
    let interleave = td.mode == MPOL_INTERLEAVE || td.mode == MPOL_WEIGHTED_INTERLEAVE;

    let preferred = preferred_zone(b, row, highest, mask);
    if preferred == ZONE_NONE {
        return 0;
    }
    let pref_node = b.zones[preferred as usize].node;
    // A user page joins the task's hot set at this share.
    b.grant_flags = 0;
    b.grant_hot16 = if USER_ANON_CLASS_MASK >> c & 1 != 0 {
        td.hot_private & 0xffff
    } else {
        0
    };

    let mut left = k;
    // Fast path against the low watermark, then the min watermark after
    // waking kswapd (ALLOC_WMARK_LOW, then ALLOC_WMARK_MIN).
    for pass in 0..2 {
        let mut i = 0;
        while left > 0 && b.zonelists[row + i] != ZONE_NONE {
            let z = b.zonelists[row + i] as usize;
            i += 1;
            if !usable(b, z, highest, mask) {
                continue;
            }
            let want = left.min(wmark_allows(b, z, highest, pass, o));
            if want == 0 {
                continue;
            }
            let got = take(b, z, o, mt, want, owner, c);
            if got > 0 {
                account_alloc(
                    b,
                    z,
                    preferred as usize,
                    pref_node,
                    td.cpu_node,
                    interleave,
                    got,
                    o,
                );
                left -= got;
            }
        }
        if left == 0 {
            return 0;
        }
        if pass == 0 {
            // wake_all_kswapds(): every node in the zonelist that is not balanced.
            let mut i = 0;
            while b.zonelists[row + i] != ZONE_NONE {
                let z = b.zonelists[row + i] as usize;
                i += 1;
                let nd = b.zones[z].node as usize;
                // wakeup_kswapd() leaves an unreclaimable node's kswapd asleep.
                if usable(b, z, highest, mask)
                    && b.zone_state[z].nr_free < b.zones[z].wmark_high
                    && b.node_state[nd].kswapd_failures < MAX_RECLAIM_RETRIES
                {
                    b.node_state[nd].kswapd_active = 1;
                }
            }
        }
    }

    // Slow path: direct reclaim if anything in the zonelist is reclaimable.
    let mut i = 0;
    while b.zonelists[row + i] != ZONE_NONE {
        let z = b.zonelists[row + i] as usize;
        i += 1;
        if usable(b, z, highest, mask) && reclaimable_pages(b, z) > 0 {
            let stat = if highest == ZoneType::Movable as u32 {
                ZS_ALLOCSTALL_MOVABLE
            } else {
                ZS_ALLOCSTALL_NORMAL
            };
            let p = preferred as usize;
            b.zone_stats[p].v[stat] += 1;
            b.zone_stats[p].v[ZS_DEFERRED] += left;
            let want = (left << o).max(SWAP_CLUSTER_MAX);
            b.zone_state[z].direct_target = b.zone_state[z].direct_target.saturating_add(want);
            return left;
        }
    }
    b.zone_stats[preferred as usize].v[ZS_ALLOC_FAIL] += left;
    0
}

/// The preferred zone: the first usable zone of the zonelist at `row`
/// (ZONE_NONE: none).
fn preferred_zone(b: &B, row: usize, highest: u32, mask: u32) -> u32 {
    let mut i = 0;
    while b.zonelists[row + i] != ZONE_NONE {
        let z = b.zonelists[row + i] as usize;
        if usable(b, z, highest, mask) {
            return z as u32;
        }
        i += 1;
    }
    ZONE_NONE
}

/// Blocks of order `o` zone `z` lets a request take in watermark pass
/// `pass` (0: ALLOC_WMARK_LOW, 1: ALLOC_WMARK_MIN), as __zone_watermark_ok
/// decides for each block of a batch: free - (b * 2^o - 1) > mark  <=>
/// b <= (free - mark) >> o.
fn wmark_allows(b: &B, z: usize, highest: u32, pass: u32, o: u32) -> u32 {
    let zd = b.zones[z];
    let mark = if pass == 0 {
        zd.wmark_low
    } else {
        zd.wmark_min
    } + zd.lowmem_reserve[highest as usize];
    let free = b.zone_state[z].nr_free;
    if free <= mark {
        0
    } else {
        (free - mark) >> o
    }
}

fn usable(b: &B, z: usize, highest: u32, mask: u32) -> bool {
    let zd = &b.zones[z];
    zd.zone_type <= highest && mask & (1 << zd.node) != 0 && zd.managed > 0
}

fn reclaimable_pages(b: &B, z: usize) -> u32 {
    let mut r = 0;
    for (c, ci) in CLASSES.iter().enumerate() {
        if ci.reclaimable {
            r += b.zone_state[z].class_pages[c];
        }
    }
    r
}

/// `zone_statistics()` and PGALLOC for `n` allocations of order `o` in `z`.
#[allow(clippy::too_many_arguments)]
fn account_alloc(
    b: &mut B,
    z: usize,
    preferred: usize,
    pref_node: u32,
    cpu_node: u32,
    interleave: bool,
    n: u32,
    o: u32,
) {
    let node = b.zones[z].node;
    let s = &mut b.zone_stats[z].v;
    s[ZS_PGALLOC] += n << o;
    s[ZS_ALLOCS] += n;
    if node == pref_node {
        s[ZS_NUMA_HIT] += n;
        if interleave {
            s[ZS_NUMA_INTERLEAVE] += n;
        }
    } else {
        s[ZS_NUMA_MISS] += n;
    }
    if node == cpu_node {
        s[ZS_NUMA_LOCAL] += n;
    } else {
        s[ZS_NUMA_OTHER] += n;
    }
    if node != pref_node {
        b.zone_stats[preferred].v[ZS_NUMA_FOREIGN] += n;
    }
}

/// `__rmqueue` for a batch of `n` blocks of order `o`, migratetype `mt`, in
/// zone `z`. Returns how many were granted.
fn take(b: &mut B, z: usize, o: u32, mt: u32, n: u32, owner: u32, class: u32) -> u32 {
    let mut left = n;
    left -= take_list(b, z, o, mt, mt, left, MAX_PAGE_ORDER, owner, class);
    // __rmqueue_claim: whole free pageblocks of a fallback type, largest first.
    while left > 0 {
        let mut claimed = false;
        let lo = o.max(PAGEBLOCK_ORDER);
        let mut k = MAX_PAGE_ORDER;
        'search: while k >= lo {
            for &f in FALLBACKS[mt as usize].iter() {
                let si = steal_index(z, k as usize, f as usize);
                if b.steals[si].stealable > 0
                    && b.zone_state[z].free_area[k as usize][f as usize] > 0
                {
                    b.steals[si].stealable -= 1;
                    b.steals[si].to[mt as usize] += 1;
                    b.zone_state[z].free_area[k as usize][f as usize] -= 1;
                    b.zone_state[z].free_area[k as usize][mt as usize] += 1;
                    b.zone_stats[z].v[ZS_PAGEBLOCK_CLAIM] += 1 << (k - PAGEBLOCK_ORDER);
                    claimed = true;
                    break 'search;
                }
            }
            k -= 1;
        }
        if !claimed {
            break;
        }
        left -= take_list(b, z, o, mt, mt, left, MAX_PAGE_ORDER, owner, class);
    }
    // __rmqueue_steal: the smallest fallback block, without claiming.
    while left > 0 {
        let mut found = None;
        'find: for j in o..=MAX_PAGE_ORDER {
            for &f in FALLBACKS[mt as usize].iter() {
                if b.zone_state[z].free_area[j as usize][f as usize] > 0 {
                    found = Some((j, f));
                    break 'find;
                }
            }
        }
        let Some((j, f)) = found else { break };
        let got = take_list(b, z, o, f, mt, left, j, owner, class);
        b.zone_stats[z].v[ZS_ALLOC_FALLBACK] += got;
        left -= got;
    }
    n - left
}

/// Takes up to `n` blocks of order `o` from free list `list` of zone `z`,
/// using blocks of order at most `max_j`, smallest first, for allocations
/// of migratetype `alloc_mt`. Updates the zone's free counts (which the
/// plan uses as its running "available" counts), the split/alloc cells and
/// the grant list. Returns how many were granted.
#[allow(clippy::too_many_arguments)]
fn take_list(
    b: &mut B,
    z: usize,
    o: u32,
    list: u32,
    alloc_mt: u32,
    n: u32,
    max_j: u32,
    owner: u32,
    class: u32,
) -> u32 {
    let l = list as usize;
    let mut left = n;
    let mut j = o;
    while j <= max_j && left > 0 {
        let avail = b.zone_state[z].free_area[j as usize][l];
        if avail == 0 {
            j += 1;
            continue;
        }
        // Blocks of order j each yield 2^(j-o) blocks of order o.
        let shift = j - o;
        let need = (left + (1 << shift) - 1) >> shift;
        let blocks = need.min(avail);
        let units = left.min(blocks << shift);
        if b.plan_hdr.nr_grants as usize >= MAX_GRANTS {
            b.plan_hdr.overflow = 1;
            break;
        }
        b.zone_state[z].free_area[j as usize][l] -= blocks;
        // Consuming `units` blocks of order o from the bottom of `blocks`
        // blocks of order j splits ceil(units / 2^(i-o)) blocks at each
        // order i in o+1..=j; what is split and not consumed stays free.
        let mut split_above = 0u32;
        let mut i = j;
        while i > o {
            let s = (units + (1 << (i - o)) - 1) >> (i - o);
            b.cells[cell_index(z, i as usize, l)].split += s;
            if i < j {
                b.zone_state[z].free_area[i as usize][l] += 2 * split_above - s;
            }
            split_above = s;
            i -= 1;
        }
        if j > o {
            b.zone_state[z].free_area[o as usize][l] += 2 * split_above - units;
        }
        let ci = cell_index(z, o as usize, l);
        b.cells[ci].alloc += units;
        let g = b.plan_hdr.nr_grants as usize;
        b.grants[g] = Grant {
            cell: ci as u32,
            count: units,
            owner,
            class_mt: class | (alloc_mt << 8),
            start: 0,
            flags: b.grant_flags,
            hot16: b.grant_hot16,
            _pad: 0,
        };
        b.plan_hdr.nr_grants += 1;
        b.zone_state[z].nr_free -= units << o;
        b.zone_state[z].class_pages[class as usize] += units << o;
        left -= units;
        j += 1;
    }
    n - left
}

/// kswapd: reclaim targets for the next tick's free phase.
fn kswapd_balance(b: &mut B) {
    for nd in 0..b.nodes.len() {
        let active = b.node_state[nd].kswapd_active != 0;
        let first = b.nodes[nd].first_zone as usize;
        let mut balanced = true;
        let mut any_reclaimable = false;
        let mut short = false;
        let mut progress = false;
        for z in first..first + b.nodes[nd].nr_zones as usize {
            let zd = b.zones[z];
            let free = b.zone_state[z].nr_free;
            let rec = reclaimable_pages(b, z);
            let mut p16 = 0;
            short |= active && free < zd.wmark_high;
            if active && free < zd.wmark_high && rec > 0 {
                balanced = false;
                any_reclaimable = true;
                let target = (zd.wmark_high - free)
                    .min(zd.kswapd_pages_per_tick)
                    .min(0xffff);
                p16 = ((target << 16) / rec).min(0xffff);
                if p16 == 0 {
                    p16 = 1;
                }
            }
            b.zone_state[z].kswapd_p16 = p16;
            let dt = b.zone_state[z].direct_target.min(0xffff);
            b.zone_state[z].direct_p16 = if dt > 0 && rec > 0 {
                progress = true;
                ((dt << 16) / rec).clamp(1, 0xffff)
            } else {
                0
            };
        }
        // balance_pgdat(): a run that reclaims nothing counts a failure;
        // shrink_node() clears them on any progress, kswapd's or direct.
        let ns = &mut b.node_state[nd];
        if any_reclaimable || progress {
            ns.kswapd_failures = 0;
        } else if short {
            ns.kswapd_failures = (ns.kswapd_failures + 1).min(MAX_RECLAIM_RETRIES);
        }
        if active {
            b.zone_stats[first].v[ZS_PAGEOUTRUN] += 1;
            if balanced || !any_reclaimable {
                b.node_state[nd].kswapd_active = 0;
            }
        }
    }
}

/// Stable counting sort of the grants by cell: each cell's grants become a
/// contiguous run of segments with their first rank.
fn build_segments(b: &mut B) {
    let n = b.plan_hdr.nr_grants as usize;
    // seg_count per cell, then exclusive prefix into seg_start.
    for g in 0..n {
        let c = b.grants[g].cell as usize;
        b.cells[c].seg_count += 1;
    }
    let mut acc = 0;
    for c in b.cells.iter_mut() {
        c.seg_start = acc;
        acc += c.seg_count;
        c.seg_count = 0;
    }
    for g in 0..n {
        let gr = b.grants[g];
        let c = gr.cell as usize;
        let cell = &mut b.cells[c];
        let slot = (cell.seg_start + cell.seg_count) as usize;
        let start = if cell.seg_count == 0 {
            0
        } else {
            b.segs[slot - 1].start + b.segs[slot - 1].count
        };
        b.segs[slot] = Grant { start, ..gr };
        cell.seg_count += 1;
    }
}
