//! Phase `count` (twin of shaders/tick/count.wgsl): every chunk recounts
//! its blocks (free blocks per order and migratetype for ranking, and
//! everything `count_words` counts) and adds them to its zone's state.

use super::chunk::{fold_chunks, rows, rows_ref, zone_runs};
use crate::engine::state::CtlMut;
use crate::engine::types::*;
use crate::model::frame::*;

/// One chunk's counts as `ZoneState` words, and its reporting counts as
/// the zone's `RZ_*` words below `RZ_COUNTED`.
#[derive(Clone, Copy)]
pub struct Words(pub [u32; zsw::WORDS], pub [u32; RZ_COUNTED]);

impl Default for Words {
    fn default() -> Self {
        Words([0; zsw::WORDS], [0; RZ_COUNTED])
    }
}

impl std::ops::Add for Words {
    type Output = Words;
    fn add(mut self, o: Words) -> Words {
        for (a, b) in self.0.iter_mut().zip(o.0.iter()) {
            *a += *b;
        }
        for (a, b) in self.1.iter_mut().zip(o.1.iter()) {
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
        let mt = pageblocks[i >> PAGEBLOCK_ORDER];
        for (w, n) in count_words(s, mt) {
            if w < zsw::NONE {
                wc.0[w] += n;
            }
        }
        for (w, n) in report_words(s, mt) {
            if w < RZ_COUNTED {
                wc.1[w] += n;
            }
        }
        i += 1 << order(s);
    }
    wc
}

/// A chunk's `chunk_counts` row: its free blocks per order and pcp type,
/// and the reported ones among them (the refault words are left alone).
pub fn write_chunk_counts(wc: &Words, counts: &mut [u32]) {
    for o in 0..NR_PAGE_ORDERS {
        for m in 0..NR_PCP {
            counts[CC_FREE + o * NR_PCP + m] = wc.0[o * MIGRATE_TYPES + m];
            counts[CC_REPORTED + o * NR_PCP + m] = wc.1[RZ_REPORTED + o * NR_PCP + m];
        }
    }
}

/// Adds (or takes out) a sum of chunks' reporting counts to a zone's row.
pub fn add_report_words(row: &mut [u32], wc: &Words, subtract: bool) {
    for (w, v) in wc.1.iter().enumerate() {
        row[w] = if subtract {
            row[w].wrapping_sub(*v)
        } else {
            row[w].wrapping_add(*v)
        };
    }
}

#[allow(clippy::too_many_arguments)]
pub fn count(
    _params: &TickParams,
    frames: &[u32],
    pageblocks: &[u32],
    chunk_zone: &[u32],
    chunk_counts: &mut [u32],
    ctl: &mut CtlMut,
    report_state: &mut [u32],
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
                // The refaults of the last tick's allocations, taken.
                let refault = [counts[CC_REFAULT_PAGES], counts[CC_REFAULT_ALLOCS]];
                counts[CC_REFAULT_PAGES] = 0;
                counts[CC_REFAULT_ALLOCS] = 0;
                (wc, refault)
            },
            |a, b| (a.0 + b.0, [a.1[0] + b.1[0], a.1[1] + b.1[1]]),
        );
        let (zc, refault) = zc;
        let row = &mut report_state[RS_DEV_WORDS + zone * RZ_WORDS..][..RZ_WORDS];
        add_report_words(row, &zc, false);
        row[RZ_REFAULT_PAGES] = row[RZ_REFAULT_PAGES].wrapping_add(refault[0]);
        row[RZ_REFAULT_ALLOCS] = row[RZ_REFAULT_ALLOCS].wrapping_add(refault[1]);
        let zs = ctl.zone_state[zone].words_mut();
        for (w, v) in zc.0.iter().enumerate() {
            if zsw::counted(w) {
                zs[w] += v;
            }
        }
    }
}
