//! Phase `count` (twin of shaders/tick/count.wgsl): every chunk recounts
//! its blocks (free blocks per order and migratetype for ranking, and
//! everything `count_words` counts) and adds them to its zone's state.

use super::chunk::{fold_chunks, rows, rows_ref, zone_runs};
use crate::engine::state::CtlMut;
use crate::engine::types::*;
use crate::model::frame::*;

/// One chunk's counts as `ZoneState` words.
#[derive(Clone, Copy)]
pub struct Words(pub [u32; zsw::WORDS]);

impl Default for Words {
    fn default() -> Self {
        Words([0; zsw::WORDS])
    }
}

impl std::ops::Add for Words {
    type Output = Words;
    fn add(mut self, o: Words) -> Words {
        for (a, b) in self.0.iter_mut().zip(o.0.iter()) {
            *a += *b;
        }
        self
    }
}

/// The counts of one chunk's frames, walking its blocks head by head.
pub fn count_chunk(frames: &[u32], pageblocks: &[u32]) -> Words {
    let mut wc = Words::default();
    let mut i = 0usize;
    while i < frames.len() {
        let s = frames[i];
        for (w, n) in count_words(s, pageblocks[i >> PAGEBLOCK_ORDER]) {
            if w < zsw::NONE {
                wc.0[w] += n;
            }
        }
        i += 1 << order(s);
    }
    wc
}

/// A chunk's `chunk_counts` row: its free blocks per order and pcp type.
pub fn write_chunk_counts(wc: &Words, counts: &mut [u32]) {
    for o in 0..NR_PAGE_ORDERS {
        for m in 0..NR_PCP {
            counts[o * NR_PCP + m] = wc.0[o * MIGRATE_TYPES + m];
        }
    }
}

pub fn count(
    _params: &TickParams,
    frames: &[u32],
    pageblocks: &[u32],
    chunk_zone: &[u32],
    chunk_counts: &mut [u32],
    ctl: &mut CtlMut,
    _order: u32,
) {
    for (zone, chunks) in zone_runs(chunk_zone) {
        let parts = (
            rows_ref(frames, &chunks, CHUNK_FRAMES as usize),
            rows_ref(pageblocks, &chunks, PAGEBLOCKS_PER_CHUNK as usize),
            rows(chunk_counts, &chunks, CHUNK_COUNT_WORDS),
        );
        let zc = fold_chunks(
            chunks,
            parts,
            |_, (frames, pageblocks, counts)| {
                let wc = count_chunk(frames, pageblocks);
                write_chunk_counts(&wc, counts);
                wc
            },
            |a, b| a + b,
        );
        let zs = ctl.zone_state[zone].words_mut();
        for (w, v) in zc.0.iter().enumerate() {
            if zsw::counted(w) {
                zs[w] += v;
            }
        }
    }
}
