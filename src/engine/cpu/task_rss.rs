//! Op `task_rss` (twin of shaders/ops/task_rss.wgsl): the user pages (anon
//! and THP blocks)
//! of the chunks a batch touches leave their tasks' resident counts
//! (`TZ_RSS`) before the batch applies (`subtract`) and join them after,
//! so a block a control path moves to another zone, or frees, is counted
//! where it now is. The cost is the chunks touched.

use crate::engine::types::*;
use crate::model::frame::*;
use crate::model::workload::USER_ANON_CLASS_MASK;

pub fn task_rss(
    recount_params: &RecountParams,
    frames: &[u32],
    owners: &[u32],
    chunk_zone: &[u32],
    chunk_list: &[u32],
    task_zone: &mut [u32],
) {
    let nz = recount_params.nr_zones as usize;
    for &c in &chunk_list[..recount_params.nr_listed as usize] {
        let zone = chunk_zone[c as usize] as usize;
        let base = c as usize * CHUNK_FRAMES as usize;
        let mut p = 0usize;
        while p < CHUNK_FRAMES as usize {
            let s = frames[base + p];
            if kind(s) == KIND_ALLOC && USER_ANON_CLASS_MASK >> class(s) & 1 != 0 {
                let task = (owners[base + p] - OWNER_TASK_BASE) as usize;
                let w = &mut task_zone[(task * nz + zone) * TZ_WORDS + TZ_RSS];
                *w = if recount_params.subtract != 0 {
                    w.wrapping_sub(1 << order(s))
                } else {
                    w.wrapping_add(1 << order(s))
                };
            }
            p += 1 << order(s);
        }
    }
}
