//! Phase `numa_collect` (twin of shaders/tick/numa_collect.wgsl): each
//! chunk with migration candidates writes them, in pfn order, into the
//! tick's migration list from its first entry on (what `plan` allocates
//! targets for and `numa_migrate` completes). Candidates past
//! `MAX_MIGRATIONS` stay PROT_NONE, their owner bits cleared, to fault
//! again later.

use super::numa::*;
use crate::engine::state::PlanMut;
use crate::engine::types::*;
use crate::model::frame::*;

#[allow(clippy::too_many_arguments)]
pub fn numa_collect(
    params: &TickParams,
    frames: &[u32],
    owners: &mut [u32],
    chunk_zone: &[u32],
    tasks: &[TaskDesc],
    numa_cfg: &[u32],
    numa_state: &mut [u32],
    plan: &mut PlanMut,
    _order: u32,
) {
    let mode = numa_cfg[NC_MODE];
    if mode == 0 {
        return;
    }
    let tiering = mode & crate::kernel::numa::NUMA_BALANCING_MEMORY_TIERING != 0;
    let top = |n: u32| numa_cfg[NC_TOPTIER] >> n & 1 != 0;
    let nc = params.nr_chunks as usize;
    let wanted = plan.mig[MIG_WANTED];
    let cf = CHUNK_FRAMES as usize;
    let mut deferred = 0u32;
    for (chunk, &zone) in chunk_zone.iter().enumerate().take(nc) {
        let base = plan.mig[MIG_CHUNKS + chunk];
        let next = if chunk + 1 < nc {
            plan.mig[MIG_CHUNKS + chunk + 1]
        } else {
            wanted
        };
        if next == base {
            continue;
        }
        let page_nid = numa_cfg[NC_ZONE_NODE + zone as usize];
        let mut r = base as usize;
        let mut i = chunk * cf;
        while i < (chunk + 1) * cf {
            let s = frames[i];
            let o = order(s);
            let at = i;
            i += 1 << o;
            let owner = owners[at];
            if kind(s) != KIND_ALLOC || owner & OWNER_MIGRATING == 0 {
                continue;
            }
            if r >= MAX_MIGRATIONS {
                owners[at] = owner & OWNER_TASK_MASK;
                deferred += 1;
                r += 1;
                continue;
            }
            let t = (owner & OWNER_TASK_MASK) - OWNER_TASK_BASE;
            let thread = owner >> OWNER_THREAD_SHIFT & OWNER_THREAD_MASK;
            let td = &tasks[t as usize];
            let tnode = numa_cfg[NC_THREADS + t as usize * MAX_THREADS + thread as usize]
                & NC_THREAD_NODE_MASK;
            let cpus = (td.threads >> TD_CPUS_SHIFT) & TD_THREADS_MASK;
            let last_valid = owner & OWNER_LAST_VALID != 0;
            let mut what = o
                | tnode << MEW_TARGET_SHIFT
                | zone << MEW_ZONE_SHIFT
                | cpus.saturating_sub(1) << MEW_CPUS_SHIFT
                | page_nid << MEW_NODE_SHIFT;
            if owner & OWNER_PRIVATE != 0 {
                what |= MEW_PRIVATE;
            }
            if page_nid == tnode {
                what |= MEW_LOCAL;
            }
            if !top(page_nid) && (tiering || !last_valid) {
                what |= MEW_NOSTATS_FAILED;
            }
            if !top(tnode) && (tiering || !last_valid) {
                what |= MEW_NOSTATS_MIGRATED;
            }
            let e = MIG_HDR + r * MIG_WORDS;
            plan.mig[e + ME_PFN] = at as u32;
            plan.mig[e + ME_WHO] = t | thread << 16;
            plan.mig[e + ME_WHAT] = what;
            plan.mig[e + ME_FLAGS] = flags(s) & !AF_PROT_NONE;
            r += 1;
        }
    }
    event(atomics(numa_state), NE_MIGRATE_DEFERRED, deferred);
}
