//! Op `recount` (twin of shaders/ops/recount.wgsl): the counts of the
//! chunks a batch touches leave their zones' counted state before the batch
//! applies (`subtract`) and join it after, which also rewrites the chunks'
//! `chunk_counts` as `count` would. Exactly what recounting every chunk
//! gives, at the cost of the chunks touched.

use super::chunk::fold_chunks;
use super::count::{add_report_words, count_chunk, write_chunk_counts};
use crate::engine::state::CtlMut;
use crate::engine::types::*;
use crate::model::frame::*;

#[allow(clippy::too_many_arguments)]
pub fn recount(
    recount_params: &RecountParams,
    frames: &[u32],
    pageblocks: &[u32],
    chunk_zone: &[u32],
    chunk_counts: &mut [u32],
    ctl: &mut CtlMut,
    chunk_list: &[u32],
    report_state: &mut [u32],
) {
    let list = &chunk_list[..recount_params.nr_listed as usize];
    let cf = CHUNK_FRAMES as usize;
    let pb = PAGEBLOCKS_PER_CHUNK as usize;
    let count = |c: usize| {
        count_chunk(
            &frames[c * cf..(c + 1) * cf],
            &pageblocks[c * pb..(c + 1) * pb],
        )
    };
    // The list is sorted by chunk and zones are runs of chunks: one sum
    // per run of the list within a zone.
    let mut i = 0;
    while i < list.len() {
        let z = chunk_zone[list[i] as usize];
        let mut j = i + 1;
        while j < list.len() && chunk_zone[list[j] as usize] == z {
            j += 1;
        }
        let run = &list[i..j];
        let sum = fold_chunks(
            0..run.len(),
            (),
            |k, ()| count(run[k] as usize),
            |a, b| a + b,
        );
        add_report_words(
            &mut report_state[RS_DEV_WORDS + z as usize * RZ_WORDS..][..RZ_WORDS],
            &sum,
            recount_params.subtract != 0,
        );
        let zs = ctl.zone_state[z as usize].words_mut();
        for (w, v) in sum.0.iter().enumerate() {
            if zsw::counted(w) {
                zs[w] = if recount_params.subtract != 0 {
                    zs[w].wrapping_sub(*v)
                } else {
                    zs[w].wrapping_add(*v)
                };
            }
        }
        i = j;
    }
    if recount_params.subtract == 0 {
        for &c in list {
            let c = c as usize;
            write_chunk_counts(
                &count(c),
                &mut chunk_counts[c * CHUNK_COUNT_WORDS..(c + 1) * CHUNK_COUNT_WORDS],
            );
        }
    }
}
