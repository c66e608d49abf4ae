//! Phase `numa_list` (twin of shaders/tick/numa_list.wgsl): the migration
//! candidates `numa_scan` found per chunk become each chunk's first entry
//! in the tick's migration list (an exclusive prefix over the chunks, so
//! the list is in pfn order); the list's length is capped at
//! `MAX_MIGRATIONS` and stamped with the tick and the restore order.

use crate::engine::state::PlanMut;
use crate::engine::types::*;

pub fn numa_list(params: &TickParams, numa_cfg: &[u32], plan: &mut PlanMut, _order: u32) {
    if numa_cfg[NC_MODE] == 0 {
        return;
    }
    let mut acc = 0u32;
    for w in &mut plan.mig[MIG_CHUNKS..MIG_CHUNKS + params.nr_chunks as usize] {
        let v = *w;
        *w = acc;
        acc += v;
    }
    plan.mig[MIG_WANTED] = acc;
    plan.mig[MIG_COUNT] = acc.min(MAX_MIGRATIONS as u32);
    plan.mig[MIG_RESTORE] = numa_cfg[NC_RESTORE];
    plan.mig[MIG_TICK] = params.tick;
}
