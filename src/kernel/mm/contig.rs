//! `alloc_contig_range()` (mm/page_alloc.c) for one naturally aligned
//! range: pageblocks isolated, movable allocations migrated out, the free
//! range taken off the free lists without `pgalloc` (the caller owns it).

use super::Mm;
use crate::model::frame::*;

impl Mm<'_, '_> {
    /// `alloc_contig_pages()` of `1 << order` frames on `node`: every
    /// aligned range inside one of the node's zones, highest zone first and
    /// lowest range first, that holds only free and movable memory is
    /// tried until one can be emptied. Returns its first pfn.
    pub fn alloc_contig_pages(&mut self, node: u32, order: u32) -> Option<u32> {
        let nr = 1u64 << order;
        let zones: Vec<usize> = (0..self.t.b().zones.len())
            .filter(|&z| self.t.b().zones[z].node == node)
            .collect();
        for z in zones.into_iter().rev() {
            let zd = self.t.b().zones[z];
            let (zs, ze) = (zd.start_pfn as u64, (zd.start_pfn + zd.nr_frames) as u64);
            let mut start = zs.next_multiple_of(nr);
            while start + nr <= ze {
                if let Some(p) = self.alloc_contig_range(start as u32, nr as u32) {
                    return Some(p);
                }
                start += nr;
            }
        }
        None
    }

    /// `alloc_contig_range()` of `[start, start + nr)`: fails (changing
    /// nothing) on anything but free and movable memory in the range, or
    /// when a movable block finds no room on the node.
    pub fn alloc_contig_range(&mut self, start: u32, nr: u32) -> Option<u32> {
        // pfn_range_valid_contig() plus the unmovable check that makes
        // alloc_contig_range() fail: a read-only scan first.
        let mut movable = Vec::new();
        let mut p = start;
        while p < start + nr {
            let s = self.t.state(p);
            match kind(s) {
                KIND_FREE => {}
                KIND_ALLOC if alloc_mt(s) == MIGRATE_MOVABLE => movable.push(p),
                _ => return None,
            }
            p += 1 << order(s);
        }
        // start_isolate_page_range().
        let pb0 = start >> PAGEBLOCK_ORDER;
        let npb = nr >> PAGEBLOCK_ORDER;
        let saved: Vec<u32> = (pb0..pb0 + npb).map(|pb| self.t.pageblock(pb)).collect();
        for pb in pb0..pb0 + npb {
            self.t.set_pageblock(pb, MIGRATE_ISOLATE);
        }
        // __alloc_contig_migrate_range(): each movable block moves to a
        // block of the same order on the node, outside the range (its
        // pageblocks are isolated, so the allocator skips them).
        let node = self.t.b().zones[self.t.zone_of(start)].node;
        let mut moved = Vec::new();
        for &src in &movable {
            match self.migrate_block(src, node) {
                Some(dst) => moved.push((src, dst)),
                None => {
                    // Undo: move the blocks back, restore the pageblocks.
                    for (s, d) in moved.into_iter().rev() {
                        self.unmigrate_block(s, d);
                    }
                    for (i, pb) in (pb0..pb0 + npb).enumerate() {
                        self.t.set_pageblock(pb, saved[i]);
                    }
                    return None;
                }
            }
        }
        // The range is free: take its blocks off the lists (isolated, not
        // allocated: no pgalloc).
        let z = self.t.zone_of(start);
        self.st.contig_taken[z] += nr as u64;
        let mut p = start;
        while p < start + nr {
            let o = self.t.take_free(p);
            if p & (CHUNK_FRAMES as u32 - 1) != 0 {
                self.t.set(p, 0, 0);
            }
            p += 1 << o;
        }
        for pb in pb0..pb0 + npb {
            self.t.set_pageblock(pb, MIGRATE_MOVABLE);
        }
        Some(start)
    }
}
