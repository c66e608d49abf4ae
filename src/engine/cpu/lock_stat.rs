//! Phase `lock_stat` (twin of shaders/tick/lock_stat.wgsl): per zone, the
//! tick's zone->lock acquisitions replayed in simulated time. Each task
//! (and the zone's kswapd) refills its per-CPU list (`rmqueue_bulk()`,
//! `pcp->batch` blocks of orders 0-3, or two THPs, under the lock),
//! drains it above `pcp->high`
//! (`free_pcppages_bulk()`), and takes the lock once per block of an order
//! the lists do not hold (`rmqueue_buddy()`, `__free_one_page()`). The
//! acquisitions of one agent are spread over the tick, one per equal slot
//! at a hashed point in it; the lock serves them first come first served,
//! so one that arrives while another CPU holds it waits.

use crate::engine::state::{CtlRef, TopoRef};
use crate::engine::types::*;
use crate::model::frame::CLASS_MASK;
use crate::model::frame::{NR_PAGE_ORDERS, OWNER_TASK_BASE};
use crate::model::hash::{hash_at, hash_prefix, STREAM_LOCK};
use crate::model::workload::USER_ANON_CLASS_MASK;

fn tz(params: &TickParams, agent: u32, zone: u32) -> usize {
    ((agent * params.nr_zones + zone) as usize) * TZ_WORDS
}

fn add64(ls: &mut [u32], i: usize, v: u32) {
    let (lo, carry) = ls[i].overflowing_add(v);
    ls[i + 1] = ls[i + 1].wrapping_add(carry as u32);
    ls[i] = lo;
}

/// floor(slot * frac / 65536) in 32-bit arithmetic, as the shader does it.
fn scale16(slot: u32, frac: u32) -> u32 {
    (slot >> 16)
        .wrapping_mul(frac)
        .wrapping_add(((slot & ((1 << 16) - 1)).wrapping_mul(frac)) >> 16)
}

fn agent_cpu(cfg: &[u32], agent: u32, node: u32) -> u32 {
    if agent as usize == TZ_KSWAPD {
        cfg[LC_KSWAPD + 2 * node as usize]
    } else {
        cfg[LC_TASK + 2 * agent as usize]
    }
}

fn agent_node(cfg: &[u32], agent: u32, node: u32) -> u32 {
    if agent as usize == TZ_KSWAPD {
        cfg[LC_KSWAPD + 2 * node as usize + 1]
    } else {
        cfg[LC_TASK + 2 * agent as usize + 1]
    }
}

fn arrival(cfg: &[u32], prefix: u32, zone: u32, agent: u32, k: u32, n: u32) -> u32 {
    let slot = cfg[LC_TICK_NS] / n;
    let h = hash_at(
        hash_at(
            prefix,
            zone.wrapping_mul(TZ_AGENTS as u32).wrapping_add(agent),
        ),
        k,
    ) >> 16;
    k.wrapping_mul(slot).wrapping_add(scale16(slot, h))
}

#[allow(clippy::too_many_arguments)]
pub fn lock_stat(
    params: &TickParams,
    topo: &TopoRef,
    ctl: &CtlRef,
    grants: &[Grant],
    zone_stats: &[ZoneStats],
    lock_cfg: &[u32],
    task_zone: &mut [u32],
    lock_stats: &mut [u32],
    _order: u32,
) {
    let cfg = lock_cfg;
    for z in 0..params.nr_zones {
        let s = z as usize * LS_WORDS;
        let ls = &mut lock_stats[..];
        if ls[s + LS_GEN] != cfg[LC_CLEAR_GEN] {
            ls[s..s + LS_WORDS].fill(0);
            ls[s + LS_GEN] = cfg[LC_CLEAR_GEN];
        }
        let node = topo.zones[z as usize].node;
        let batch = cfg[LC_ZONE + 2 * z as usize].max(1);
        let high = cfg[LC_ZONE + 2 * z as usize + 1];
        ls[s + LS_PCP_HIGH] = high;
        ls[s + LS_PCP_BATCH] = batch;

        for gr in grants.iter().take(ctl.plan_hdr.nr_grants as usize) {
            let gz = gr.cell / (NR_PAGE_ORDERS * NR_PCP) as u32;
            if gz != z {
                continue;
            }
            let o = (gr.cell / NR_PCP as u32) % NR_PAGE_ORDERS as u32;
            let t = tz(params, gr.owner - OWNER_TASK_BASE, z);
            // Granted user pages join the task's resident memory.
            if USER_ANON_CLASS_MASK >> (gr.class_mt & CLASS_MASK) & 1 != 0 {
                task_zone[t + TZ_RSS] += gr.count << o;
            }
            if o <= PAGE_ALLOC_COSTLY_ORDER {
                task_zone[t + TZ_N_REFILL] += gr.count << o;
            } else if o == crate::model::frame::PAGEBLOCK_ORDER {
                task_zone[t + TZ_N_THP] += gr.count;
            } else {
                task_zone[t + TZ_N_BLOCKS] += gr.count;
            }
        }
        let kt = tz(params, TZ_KSWAPD as u32, z);
        task_zone[kt + TZ_FREE_PCP] += zone_stats[z as usize].v[ZS_PGSTEAL_KSWAPD];

        let prefix = hash_prefix(params.seed, params.tick, STREAM_LOCK);
        let tick_ns = cfg[LC_TICK_NS];
        for a in 0..=params.nr_tasks {
            let agent = if a == params.nr_tasks {
                TZ_KSWAPD as u32
            } else {
                a
            };
            let t = tz(params, agent, z);
            let mut pcp = task_zone[t + TZ_PCP_COUNT] + task_zone[t + TZ_FREE_PCP];
            let mut drains = 0;
            if pcp > high {
                drains = (pcp - high).div_ceil(batch);
                pcp -= pcp.min(drains * batch);
            }
            let want = task_zone[t + TZ_N_REFILL];
            let mut refills = 0;
            if want > pcp {
                refills = (want - pcp).div_ceil(batch);
            }
            pcp = pcp + refills * batch - want;
            let mut thp = task_zone[t + TZ_THP_COUNT] + task_zone[t + TZ_FREE_THP];
            let thp_high = (high >> crate::model::frame::PAGEBLOCK_ORDER).max(THP_BATCH);
            let mut thp_moves = 0;
            if thp > thp_high {
                let d = (thp - thp_high).div_ceil(THP_BATCH);
                thp -= thp.min(d * THP_BATCH);
                thp_moves += d;
            }
            let thp_want = task_zone[t + TZ_N_THP];
            if thp_want > thp {
                let r = (thp_want - thp).div_ceil(THP_BATCH);
                thp += r * THP_BATCH;
                thp_moves += r;
            }
            thp -= thp_want;
            let blocks = task_zone[t + TZ_N_BLOCKS] + task_zone[t + TZ_FREE_BLOCKS];
            task_zone[t + TZ_PCP_COUNT] = pcp;
            task_zone[t + TZ_THP_COUNT] = thp;
            task_zone[t + TZ_FREE_PCP] = 0;
            task_zone[t + TZ_FREE_THP] = 0;
            task_zone[t + TZ_FREE_BLOCKS] = 0;
            task_zone[t + TZ_N_DRAIN] = drains;
            task_zone[t + TZ_N_THP] = thp_moves;
            task_zone[t + TZ_N_BLOCKS] = blocks;
            task_zone[t + TZ_N_REFILL] = refills;
            task_zone[t + TZ_NEXT] = 0;
            let n = drains + thp_moves + blocks + refills;
            if n > 0 {
                task_zone[t + TZ_NEXT_AT] = arrival(cfg, prefix, z, agent, 0, n);
            }
        }

        let mut free_at = ls[s + LS_BUSY];
        loop {
            let mut best = u32::MAX;
            let mut best_at = u32::MAX;
            for a in 0..=params.nr_tasks {
                let agent = if a == params.nr_tasks {
                    TZ_KSWAPD as u32
                } else {
                    a
                };
                let t = tz(params, agent, z);
                let n = task_zone[t + TZ_N_DRAIN]
                    + task_zone[t + TZ_N_THP]
                    + task_zone[t + TZ_N_BLOCKS]
                    + task_zone[t + TZ_N_REFILL];
                if task_zone[t + TZ_NEXT] < n && task_zone[t + TZ_NEXT_AT] < best_at {
                    best = agent;
                    best_at = task_zone[t + TZ_NEXT_AT];
                }
            }
            if best == u32::MAX {
                break;
            }
            let t = tz(params, best, z);
            let k = task_zone[t + TZ_NEXT];
            // Acquisition k: a small-page drain, a THP move, a block
            // operation, a small-page refill, in that order.
            let nd = task_zone[t + TZ_N_DRAIN];
            let nt = nd + task_zone[t + TZ_N_THP];
            let nb = nt + task_zone[t + TZ_N_BLOCKS];
            let n = nb + task_zone[t + TZ_N_REFILL];
            let cpu = agent_cpu(cfg, best, node);
            let start = best_at.max(free_at);
            let wait = start - best_at;
            let mut hold = cfg[LC_BASE_NS];
            if k < nd || k >= nb {
                hold = hold.wrapping_add(cfg[LC_PAGE_NS].wrapping_mul(batch));
            } else if k < nt {
                hold = hold.wrapping_add(cfg[LC_PAGE_NS].wrapping_mul(THP_BATCH));
            } else {
                hold = hold.wrapping_add(cfg[LC_BLOCK_NS]);
            }
            let last = ls[s + LS_LAST_CPU];
            let bounced = last != 0 && last != cpu + 1;
            if bounced {
                if ls[s + LS_LAST_NODE] == agent_node(cfg, best, node) {
                    hold = hold.wrapping_add(cfg[LC_BOUNCE_LOCAL_NS]);
                } else {
                    hold = hold.wrapping_add(cfg[LC_BOUNCE_REMOTE_NS]);
                }
                add64(ls, s + LS_ACQ_BOUNCE, 1);
            }
            add64(ls, s + LS_ACQ, 1);
            if wait > 0 {
                add64(ls, s + LS_CON, 1);
                if bounced {
                    add64(ls, s + LS_CON_BOUNCE, 1);
                }
                add64(ls, s + LS_WAIT_TOTAL, wait);
                if ls[s + LS_WAIT_MIN] == 0 || wait < ls[s + LS_WAIT_MIN] {
                    ls[s + LS_WAIT_MIN] = wait;
                }
                ls[s + LS_WAIT_MAX] = ls[s + LS_WAIT_MAX].max(wait);
                if k < nd {
                    add64(ls, s + LS_CON_DRAIN, 1);
                } else if k < nt {
                    add64(ls, s + LS_CON_THP, 1);
                } else if k < nb {
                    add64(ls, s + LS_CON_BLOCK, 1);
                } else {
                    add64(ls, s + LS_CON_REFILL, 1);
                }
            }
            add64(ls, s + LS_HOLD_TOTAL, hold);
            if ls[s + LS_HOLD_MIN] == 0 || hold < ls[s + LS_HOLD_MIN] {
                ls[s + LS_HOLD_MIN] = hold;
            }
            ls[s + LS_HOLD_MAX] = ls[s + LS_HOLD_MAX].max(hold);
            ls[s + LS_LAST_CPU] = cpu + 1;
            ls[s + LS_LAST_NODE] = agent_node(cfg, best, node);
            free_at = start.wrapping_add(hold);
            task_zone[t + TZ_NEXT] = k + 1;
            if k + 1 < n {
                task_zone[t + TZ_NEXT_AT] = arrival(cfg, prefix, z, best, k + 1, n).max(free_at);
            }
        }
        let busy = free_at.saturating_sub(tick_ns);
        ls[s + LS_BUSY] = busy.min(cfg[LC_BACKLOG_NS]);
    }
}
