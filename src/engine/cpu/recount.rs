//! Op `recount` (twin of shaders/ops/recount.wgsl): the counts of the
//! chunks a batch touches leave their zones' counted state before the batch
//! applies (`subtract`) and join it after, which also rewrites the chunks'
//! `chunk_counts` as `count` would. Exactly what recounting every chunk
//! gives, at the cost of the chunks touched.

use super::chunk::fold_chunks;
use super::count::{count_chunk, write_chunk_counts, Words};
use crate::engine::state::CtlMut;
use crate::engine::types::*;
use crate::model::frame::*;

/// Per-zone sums of the listed chunks' counts (zones are few).
#[derive(Default)]
struct ZoneSums(Vec<(u32, Words)>);

impl ZoneSums {
    fn add(mut self, o: ZoneSums) -> ZoneSums {
        for (z, w) in o.0 {
            match self.0.iter_mut().find(|(zz, _)| *zz == z) {
                Some((_, a)) => *a = *a + w,
                None => self.0.push((z, w)),
            }
        }
        self
    }
}

#[allow(clippy::too_many_arguments)]
pub fn recount(
    recount_params: &RecountParams,
    frames: &[u32],
    pageblocks: &[u32],
    chunk_zone: &[u32],
    chunk_counts: &mut [u32],
    ctl: &mut CtlMut,
    chunk_list: &[u32],
) {
    let list = &chunk_list[..recount_params.nr_listed as usize];
    let cf = CHUNK_FRAMES as usize;
    let pb = PAGEBLOCKS_PER_CHUNK as usize;
    let sums = fold_chunks(
        0..list.len(),
        (),
        |i, ()| {
            let c = list[i] as usize;
            let wc = count_chunk(
                &frames[c * cf..(c + 1) * cf],
                &pageblocks[c * pb..(c + 1) * pb],
            );
            ZoneSums(vec![(chunk_zone[c], wc)])
        },
        ZoneSums::add,
    );
    for (z, w) in sums.0 {
        let zs = ctl.zone_state[z as usize].words_mut();
        for (i, v) in w.0.iter().enumerate() {
            if zsw::counted(i) {
                zs[i] = if recount_params.subtract != 0 {
                    zs[i].wrapping_sub(*v)
                } else {
                    zs[i].wrapping_add(*v)
                };
            }
        }
    }
    if recount_params.subtract == 0 {
        for &c in list {
            let c = c as usize;
            let wc = count_chunk(
                &frames[c * cf..(c + 1) * cf],
                &pageblocks[c * pb..(c + 1) * pb],
            );
            write_chunk_counts(
                &wc,
                &mut chunk_counts[c * CHUNK_COUNT_WORDS..(c + 1) * CHUNK_COUNT_WORDS],
            );
        }
    }
}
