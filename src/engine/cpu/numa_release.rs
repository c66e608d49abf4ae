//! Phase `numa_release` (twin of shaders/tick/numa_release.wgsl): before
//! `numa_migrate` frees the tick's migrated sources, the chunks that hold
//! them take their counts out of their zones (as the `recount` op does
//! before a batch); `numa_merge` merges them and puts the counts back, so
//! the zone counters stay what a full recount gives. One thread per chunk
//! (the first granted entry of the chunk's run in the pfn-ordered list).

use super::count::{add_report_words, count_chunk};
use crate::engine::state::{CtlMut, PlanRef};
use crate::engine::types::*;
use crate::model::frame::*;

/// The chunks holding a granted migration's source, in list (pfn) order,
/// each once.
pub fn released_chunks(params: &TickParams, mig: &[u32]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    if mig[MIG_TICK] != params.tick || mig[MIG_WANTED] == 0 {
        return out;
    }
    for i in 0..mig[MIG_COUNT] as usize {
        let e = MIG_HDR + i * MIG_WORDS;
        if mig[e + ME_FLAGS] >> MES_SHIFT != MIG_GRANTED {
            continue;
        }
        let c = (mig[e + ME_PFN] >> CHUNK_ORDER) as usize;
        if out.last() != Some(&c) {
            out.push(c);
        }
    }
    out
}

/// Adds (or takes out) one chunk's counts to its zone.
pub fn settle_chunk(
    c: usize,
    frames: &[u32],
    pageblocks: &[u32],
    chunk_zone: &[u32],
    ctl: &mut CtlMut,
    report_state: &mut [u32],
    subtract: bool,
) -> super::count::Words {
    let cf = CHUNK_FRAMES as usize;
    let pb = PAGEBLOCKS_PER_CHUNK as usize;
    let w = count_chunk(
        &frames[c * cf..(c + 1) * cf],
        &pageblocks[c * pb..(c + 1) * pb],
    );
    let z = chunk_zone[c] as usize;
    let zs = ctl.zone_state[z].words_mut();
    for (i, v) in w.0.iter().enumerate() {
        if zsw::counted(i) {
            zs[i] = if subtract {
                zs[i].wrapping_sub(*v)
            } else {
                zs[i].wrapping_add(*v)
            };
        }
    }
    add_report_words(
        &mut report_state[RS_DEV_WORDS + z * RZ_WORDS..][..RZ_WORDS],
        &w,
        subtract,
    );
    w
}

#[allow(clippy::too_many_arguments)]
pub fn numa_release(
    params: &TickParams,
    frames: &[u32],
    pageblocks: &[u32],
    chunk_zone: &[u32],
    ctl: &mut CtlMut,
    report_state: &mut [u32],
    plan: &PlanRef,
    _order: u32,
) {
    for c in released_chunks(params, plan.mig) {
        settle_chunk(c, frames, pageblocks, chunk_zone, ctl, report_state, true);
    }
}
