//! `alloc_contig_range()` (mm/page_alloc.c) for one naturally aligned
//! range: pageblocks isolated, movable allocations migrated out, the free
//! range taken off the free lists without `pgalloc` (the caller owns it).

use super::Mm;
use crate::engine::types::*;
use crate::model::frame::*;

impl Mm<'_, '_> {
    /// `alloc_contig_pages()` of `1 << order` frames on `node`: every
    /// aligned range inside one of the node's zones, highest zone first and
    /// lowest range first, that holds only free and movable memory is
    /// tried until one can be emptied. Returns its first pfn. ZONE_MOVABLE
    /// is not among the zones: the only caller, `alloc_gigantic_folio()`,
    /// allocates with `htlb_alloc_mask()`, which has no `__GFP_MOVABLE`
    /// for gigantic pages (`hugepage_movable_supported()` is false for
    /// them), so its zonelist ends at ZONE_NORMAL.
    pub fn alloc_contig_pages(&mut self, node: u32, order: u32) -> Option<u32> {
        let nr = 1u64 << order;
        let zones: Vec<usize> = (0..self.t.b().zones.len())
            .filter(|&z| {
                let zd = &self.t.b().zones[z];
                zd.node == node && zd.zone_type != crate::model::topology::ZoneType::Movable as u32
            })
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
    /// nothing) on anything but free, movable and out-for-reporting memory
    /// in the range, or when a movable block finds no room on the node.
    /// A block out for reporting (refcount 0, not PageBuddy) passes the
    /// isolation (`has_unmovable_pages()` skips refcount-0 pages) and the
    /// migration (it is not on an LRU list, so nothing isolates it), and
    /// `test_pages_isolated()` then finds a page that is not free: EBUSY,
    /// with the range's movable memory already migrated out (kept, as the
    /// kernel keeps it). With `page_reporting_drain_before_contig` the path
    /// first waits for the report in flight and takes its blocks back.
    pub fn alloc_contig_range(&mut self, start: u32, nr: u32) -> Option<u32> {
        // pfn_range_valid_contig() plus the unmovable check that makes
        // alloc_contig_range() fail: a read-only scan first.
        let mut movable = Vec::new();
        let mut reporting = Vec::new();
        let mut p = start;
        while p < start + nr {
            let s = self.t.state(p);
            match kind(s) {
                KIND_FREE => {}
                KIND_ALLOC if alloc_mt(s) == MIGRATE_MOVABLE => movable.push(p),
                KIND_REPORTING => reporting.push(p),
                _ => return None,
            }
            p += 1 << order(s);
        }
        if !reporting.is_empty() && self.report.drain_contig {
            self.drain_reports(&reporting);
            reporting.clear();
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
                    self.events.pgmigrate_fail += 1 << order(self.t.state(src));
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
        let z = self.t.zone_of(start);
        if !reporting.is_empty() {
            // test_pages_isolated(): -EBUSY; undo_isolate_page_range().
            let migrated: u64 = moved
                .iter()
                .map(|&(_, d)| 1u64 << order(self.t.state(d)))
                .sum();
            for (i, pb) in (pb0..pb0 + npb).enumerate() {
                self.t.set_pageblock(pb, saved[i]);
            }
            use super::ReportView as R;
            self.report.add(R::zone_word(z, RZ_CONTIG_BUSY), 1);
            self.report.add(
                R::zone_word(z, RZ_CONTIG_BUSY_MIGRATED),
                migrated.min(u32::MAX as u64) as u32,
            );
            return None;
        }
        // The range is free: take its blocks off the lists (isolated, not
        // allocated: no pgalloc).
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

impl Mm<'_, '_> {
    /// The drain the discussion asks for (`reported_pages_drain_all()`,
    /// which mainline never added): the path sleeps until the host answers
    /// the report in flight (`flush_delayed_work()` of the worker), then
    /// the batch's blocks in the range come back as the worker's drain
    /// (`page_reporting_drain()`) puts them back, reported and unbacked,
    /// for the range to take; the rest of the batch drains at the next
    /// tick, the host's answer being in. `blocks` are the range's blocks
    /// out for reporting (all of the one batch in flight).
    pub(super) fn drain_reports(&mut self, blocks: &[u32]) {
        use super::ReportView as R;
        // One wait per path: the host's answer is in after the first.
        if !self.report.words.contains_key(&(RS_DONE_TICK as u32)) {
            self.path.might_sleep("flush_delayed_work");
            let done = self.report.word(RS_DONE_TICK);
            let now = self.report.tick;
            self.report.add(RS_DRAIN_WAITS, 1);
            self.report
                .add(RS_DRAIN_WAIT_TICKS, done.saturating_sub(now));
            self.report.set(RS_DONE_TICK, now.min(done));
        }
        for &p in blocks {
            let o = order(self.t.state(p));
            let z = self.t.zone_of(p);
            self.t
                .put_free(p, make_free(o) | (FF_REPORTED | FF_UNBACKED) << FLAGS_SHIFT);
            self.report.add(R::zone_word(z, RZ_REPORTED_PAGES), 1 << o);
            self.report.add(R::zone_word(z, RZ_REPORTED_BLOCKS), 1);
            self.report.add(R::zone_word(z, RZ_DRAINED_PAGES), 1 << o);
        }
    }
}
