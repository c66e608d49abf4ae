//! Phase `numa_task` (twin of shaders/tick/numa_task.wgsl): per task, the
//! scheduler's side of NUMA balancing for this tick. The previous tick's
//! scan is charged its TLB flush; a completed scan pass runs
//! `task_numa_placement()` (the fault statistics decay, the preferred
//! node, `update_task_scan_period()`); at a scheduler tick
//! `task_tick_numa()` may queue `task_numa_work()`, whose window the
//! tick's `numa_scan` marks. Thread 0 also writes each node's room for
//! migration targets (`migrate_balanced_pgdat()`), which `numa_scan`
//! reads.

use super::numa::*;
use crate::engine::state::{CtlRef, TopoRef};
use crate::engine::types::*;
use crate::model::frame::{MIGRATE_HIGHATOMIC, NR_PAGE_ORDERS};
use crate::model::numa::*;
use crate::model::topology::ZoneType;
use std::sync::atomic::Ordering::Relaxed;

#[allow(clippy::too_many_arguments)]
pub fn numa_task(
    params: &TickParams,
    topo: &TopoRef,
    ctl: &CtlRef,
    tasks: &[TaskDesc],
    numa_cfg: &[u32],
    task_zone: &[u32],
    numa_state: &mut [u32],
    numa_tasks: &mut [u32],
    _order: u32,
) {
    if numa_cfg[NC_MODE] == 0 {
        return;
    }
    // Thread 0: each node's room.
    for n in 0..params.nr_nodes as usize {
        let nd = topo.nodes[n];
        let mut room = ROOM_NONE;
        for z in nd.first_zone..nd.first_zone + nd.nr_zones {
            let zd = topo.zones[z as usize];
            if zd.managed == 0 {
                continue;
            }
            let zs = &ctl.zone_state[z as usize];
            let mut highatomic = 0u32;
            for o in 0..NR_PAGE_ORDERS {
                highatomic += zs.free_area[o][MIGRATE_HIGHATOMIC as usize] << o;
            }
            room = room.max(room_of(&ZoneRoom {
                managed: true,
                free: zs.nr_free,
                highatomic,
                high: zd.wmark_high,
                lowmem_reserve_movable: zd.lowmem_reserve[ZoneType::Movable as usize],
            }));
        }
        numa_state[NSG_ROOM + n] = room as u32;
    }
    let state = atomics(numa_state);
    let s = tunables(numa_cfg);
    let tick_ns = numa_cfg[NC_TICK_NS];
    let j0 = jiffies_at(params.tick, tick_ns);
    let j1 = jiffies_at(params.tick.wrapping_add(1), tick_ns);
    let stride = stride(params);
    let nn = params.nr_nodes as usize;
    let nz = params.nr_zones as usize;
    for (t, td) in tasks.iter().enumerate().take(params.nr_tasks as usize) {
        if td.alive == 0 || params.tick < td.start_tick {
            continue;
        }
        let w = &mut numa_tasks[t * stride..(t + 1) * stride];
        if w[NT_INIT] == 0 {
            store_scan(w, &TaskScan::fork(td.fork_jiffies, &s));
            w[NT_INIT] = 1;
        }
        let cpus = (td.threads >> TD_CPUS_SHIFT) & TD_THREADS_MASK;
        // The last tick's scan: change_prot_numa()'s flush of the range
        // it changed (one entry when a single PTE changed).
        let updates = w[NT_SCAN_UPDATES];
        if updates != 0 {
            let entries = if updates == 1 { 1 } else { w[NT_SCAN_RANGE] };
            tlb_event(state, tlb_flush(entries, cpus.saturating_sub(1)));
            event(state, NE_SCANS, 1);
            w[NT_SCAN_UPDATES] = 0;
        }
        w[NT_WIN_LO] = 0;
        w[NT_WIN_HI] = 0;
        if w[NT_GROUP_NEW] != 0 {
            w[NT_GROUP] = 1;
        }
        let mut rss = 0u32;
        for z in 0..nz {
            rss = rss.wrapping_add(task_zone[(t * nz + z) * TZ_WORDS + TZ_RSS]);
        }
        let mut ts = load_scan(w);
        let group = |w: &[u32]| -> Option<GroupFaults> {
            if w[NT_GROUP] == 0 {
                return None;
            }
            let mut g = GroupFaults {
                refcount: td.threads & TD_THREADS_MASK,
                ..Default::default()
            };
            for n in 0..nn {
                let b = NT_HDR + n * NTN_WORDS + NTN_MEM;
                g.shared = g.shared.saturating_add(w[b]);
                g.private = g.private.saturating_add(w[b + 1]);
            }
            Some(g)
        };
        if ts.seq != w[NT_PLACED_SEQ] {
            // task_numa_placement(): decay, then the node with the most
            // memory faults (the lowest on a tie), then the period.
            let mut fault_types = [0u32; 2];
            let mut max_faults = 0u32;
            let mut max_nid = 0u32;
            for n in 0..nn {
                let b = NT_HDR + n * NTN_WORDS;
                let mut faults = 0u32;
                for p in 0..2 {
                    let mem = w[b + NTN_MEM + p];
                    let buf = w[b + NTN_MEMBUF + p];
                    fault_types[p] = fault_types[p].saturating_add(buf);
                    let m = (mem - mem / 2).saturating_add(buf).min(FAULTS_MAX);
                    w[b + NTN_MEM + p] = m;
                    w[b + NTN_MEMBUF + p] = 0;
                    faults = faults.saturating_add(m);
                }
                let cpu = w[b + NTN_CPU];
                w[b + NTN_CPU] = (cpu - cpu / 2)
                    .saturating_add(w[b + NTN_CPUBUF])
                    .min(FAULTS_MAX);
                w[b + NTN_CPUBUF] = 0;
                if faults > max_faults {
                    max_faults = faults;
                    max_nid = n as u32;
                }
            }
            if max_faults > 0 {
                w[NT_PREFERRED] = max_nid + 1;
            }
            let g = group(w);
            ts.period_max_ms = task_scan_max(&s, rss, g);
            ts.update_task_scan_period(j0, &s, rss, g, fault_types[0], fault_types[1]);
            w[NT_PLACED_SEQ] = ts.seq;
        }
        // A scheduler tick in this tick: task_tick_numa(), and
        // task_numa_work() on the way back to user space.
        if j1 > j0 {
            let g = group(w);
            let exec_ms = j1
                .saturating_sub(td.fork_jiffies)
                .saturating_mul(MS_PER_JIFFY);
            if ts.sched_tick(j1, exec_ms, &s, rss, g) {
                if let Some(win) = ts.numa_work(j1, &s, rss, g) {
                    w[NT_WIN_LO] = win.lo;
                    w[NT_WIN_HI] = win.hi;
                    w[NT_SCAN_RANGE] = win.hi - win.lo;
                    if win.hi > win.lo {
                        state[NSG_SCAN_TICK].fetch_max(params.tick + 1, Relaxed);
                    }
                }
            }
        }
        store_scan(w, &ts);
    }
}
