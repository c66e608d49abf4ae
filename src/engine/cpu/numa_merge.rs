//! Phase `numa_merge` (twin of shaders/tick/numa_merge.wgsl): the chunks
//! `numa_release` took out, now holding the freed sources, merge their
//! free buddies (`merge_chunk`, `__free_one_page()`'s rule) and put their
//! counts back into their zones and `chunk_counts`. Their `chunk_dirty`
//! bits stay, so the next tick's `merge` notifies free page reporting of
//! the orders freed.

use super::count::write_chunk_counts;
use super::merge::merge_chunk;
use super::numa_release::{released_chunks, settle_chunk};
use crate::engine::state::{CtlMut, PlanRef};
use crate::engine::types::*;
use crate::model::frame::*;

#[allow(clippy::too_many_arguments)]
pub fn numa_merge(
    params: &TickParams,
    frames: &mut [u32],
    pageblocks: &mut [u32],
    chunk_zone: &[u32],
    chunk_counts: &mut [u32],
    ctl: &mut CtlMut,
    report_state: &mut [u32],
    plan: &PlanRef,
    _order: u32,
) {
    let cf = CHUNK_FRAMES as usize;
    let pb = PAGEBLOCKS_PER_CHUNK as usize;
    for c in released_chunks(params, plan.mig) {
        merge_chunk(
            &mut frames[c * cf..(c + 1) * cf],
            &mut pageblocks[c * pb..(c + 1) * pb],
        );
        let w = settle_chunk(c, frames, pageblocks, chunk_zone, ctl, report_state, false);
        write_chunk_counts(
            &w,
            &mut chunk_counts[c * CHUNK_COUNT_WORDS..(c + 1) * CHUNK_COUNT_WORDS],
        );
    }
}
