//! Phase `count` (twin of shaders/count.wgsl): recounts free blocks per
//! chunk (for ranking) and per zone (free_area, NR_FREE_PAGES, pages per
//! class), as a reduction.

use super::chunk::{ChunkMut, Shared};
use crate::engine::types::NR_PCP;
use crate::model::frame::*;
use crate::model::workload::NR_CLASSES;

#[derive(Clone, Copy)]
pub struct ZoneCount {
    pub free_area: [[u32; MIGRATE_TYPES]; NR_PAGE_ORDERS],
    pub nr_free: u32,
    pub class_pages: [u32; NR_CLASSES],
    /// `ZoneState::huge_frames` .. `vmemmap_runtime_frames`.
    pub hugetlb: [u32; 4],
}

impl Default for ZoneCount {
    fn default() -> Self {
        ZoneCount {
            free_area: [[0; MIGRATE_TYPES]; NR_PAGE_ORDERS],
            nr_free: 0,
            class_pages: [0; NR_CLASSES],
            hugetlb: [0; 4],
        }
    }
}

impl std::ops::Add for ZoneCount {
    type Output = ZoneCount;
    fn add(mut self, o: ZoneCount) -> ZoneCount {
        for (a, b) in self.free_area.iter_mut().zip(o.free_area.iter()) {
            for (x, y) in a.iter_mut().zip(b.iter()) {
                *x += *y;
            }
        }
        self.nr_free += o.nr_free;
        for (x, y) in self.class_pages.iter_mut().zip(o.class_pages.iter()) {
            *x += *y;
        }
        for (x, y) in self.hugetlb.iter_mut().zip(o.hugetlb.iter()) {
            *x += *y;
        }
        self
    }
}

pub fn count_chunk(_sh: &Shared, ch: ChunkMut) -> ZoneCount {
    let mut zc = ZoneCount::default();
    ch.counts.fill(0);
    let mut i = 0usize;
    while i < ch.frames.len() {
        let s = ch.frames[i];
        let o = order(s);
        match kind(s) {
            KIND_FREE => {
                let mt = ch.pageblocks[i >> PAGEBLOCK_ORDER];
                zc.free_area[o as usize][mt as usize] += 1;
                zc.nr_free += 1 << o;
                if mt < MIGRATE_PCPTYPES {
                    ch.counts[o as usize * NR_PCP + mt as usize] += 1;
                }
            }
            KIND_ALLOC => zc.class_pages[class(s) as usize] += 1 << o,
            KIND_HUGE => {
                zc.hugetlb[0] += 1 << o;
                if flags(s) & HF_INUSE != 0 {
                    zc.hugetlb[1] += 1 << o;
                }
            }
            KIND_VMEMMAP => {
                zc.hugetlb[if flags(s) & VMF_RUNTIME != 0 { 3 } else { 2 }] += 1 << o;
            }
            _ => {}
        }
        i += 1 << o;
    }
    zc
}
