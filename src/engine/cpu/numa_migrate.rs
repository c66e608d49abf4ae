//! Phase `numa_migrate` (twin of shaders/tick/numa_migrate.wgsl): the end
//! of each listed migration, one thread per entry. A source whose target
//! the plan allocated (`alloc_misplaced_dst_page()` succeeded) is freed
//! (its copy is the target, which `alloc_split` gave the source's flags);
//! the others stay, their entry made present again, and count
//! `pgmigrate_fail` (a THP is never split for MR_NUMA_MISPLACED). Both go
//! to `task_numa_fault()`; a migration costs the TLB flushes of the
//! restore order.

use super::numa::*;
use crate::engine::state::PlanRef;
use crate::engine::types::*;
use crate::model::frame::*;
use crate::model::numa::{flushes_per_migration, tlb_flush};

#[allow(clippy::too_many_arguments)]
pub fn numa_migrate(
    params: &TickParams,
    frames: &mut [u32],
    owners: &mut [u32],
    chunk_dirty: &mut [u32],
    zone_stats: &mut [ZoneStats],
    task_zone: &mut [u32],
    numa_state: &mut [u32],
    numa_tasks: &mut [u32],
    plan: &PlanRef,
    _order: u32,
) {
    if plan.mig[MIG_TICK] != params.tick || plan.mig[MIG_WANTED] == 0 {
        return;
    }
    let state = atomics(numa_state);
    let nt = atomics(numa_tasks);
    let stride = stride(params);
    let nz = params.nr_zones as usize;
    let restore = plan.mig[MIG_RESTORE];
    for i in 0..plan.mig[MIG_COUNT] as usize {
        let e = MIG_HDR + i * MIG_WORDS;
        let pfn = plan.mig[e + ME_PFN] as usize;
        let who = plan.mig[e + ME_WHO];
        let what = plan.mig[e + ME_WHAT];
        let status = plan.mig[e + ME_FLAGS] >> MES_SHIFT;
        let t = (who & 0xffff) as usize;
        let o = what & MEW_ORDER_MASK;
        let target = what >> MEW_TARGET_SHIFT & MEW_NODE_MASK;
        let zone = (what >> MEW_ZONE_SHIFT & MEW_ZONE_MASK) as usize;
        let src = what >> MEW_NODE_SHIFT & MEW_NODE_MASK;
        let other_cpus = what >> MEW_CPUS_SHIFT & MEW_CPUS_MASK;
        let pages = 1u32 << o;
        let thp = o == PAGEBLOCK_ORDER;
        let b = t * stride;
        let migrated = status == MIG_GRANTED;
        if migrated {
            frames[pfn] = make_free(o);
            owners[pfn] = OWNER_NONE;
            chunk_dirty[pfn >> CHUNK_ORDER] |= DIRTY_FREED | 1 << (DIRTY_ORDER_SHIFT + o);
            let zs = &mut zone_stats[zone].v;
            zs[ZS_PGFREE] += pages;
            zs[ZS_FREES] += 1;
            let tz = (t * nz + zone) * TZ_WORDS;
            task_zone[tz + TZ_RSS] = task_zone[tz + TZ_RSS].wrapping_sub(pages);
            if o <= PAGE_ALLOC_COSTLY_ORDER {
                task_zone[tz + TZ_FREE_PCP] += pages;
            } else if thp {
                task_zone[tz + TZ_FREE_THP] += 1;
            } else {
                task_zone[tz + TZ_FREE_BLOCKS] += 1;
            }
            event(state, NE_PGMIGRATE_SUCCESS, pages);
            event(state, NE_PAGES_MIGRATED, pages);
            event(state, NE_THP_MIGRATION_SUCCESS, thp as u32);
            add64(
                state,
                NE_FLOW + 2 * (src as usize * crate::model::scenario::MAX_NODES + target as usize),
                pages,
            );
            for _ in 0..flushes_per_migration(restore, thp) {
                tlb_event(state, tlb_flush(1, other_cpus));
            }
        } else {
            frames[pfn] &= !(AF_PROT_NONE << FLAGS_SHIFT);
            owners[pfn] &= OWNER_TASK_MASK;
            event(state, NE_PGMIGRATE_FAIL, pages);
            event(state, NE_THP_MIGRATION_FAIL, thp as u32);
        }
        let nostats = if migrated {
            MEW_NOSTATS_MIGRATED
        } else {
            MEW_NOSTATS_FAILED
        };
        if what & nostats != 0 {
            continue;
        }
        task_numa_fault(
            nt,
            b,
            &FaultStat {
                mem_node: if migrated { target } else { src },
                cpu_node: target,
                pages,
                private: what & MEW_PRIVATE != 0,
                local: what & MEW_LOCAL != 0,
                failed: !migrated,
                migrated,
            },
        );
    }
}
