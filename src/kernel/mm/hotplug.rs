//! Memory hotplug (mm/memory_hotplug.c `offline_pages()` and
//! `online_pages()`) of one memory block inside one zone.

use super::Mm;
use crate::kernel::errno::{err, Errno, KernelError};
use crate::kernel::path::{LockClass, Mode};
use crate::model::frame::*;

/// What offlining does with a hugetlb page it meets: migrate it or
/// dissolve it (hugetlb's part: `dissolve_free_hugetlb_folio()` and
/// `isolate_or_dissolve_huge_folio()`), given the nodes to try in order.
pub type HugeHook<'h> = dyn FnMut(&mut Mm, u32, &[u32]) -> Result<(), KernelError> + 'h;

impl Mm<'_, '_> {
    /// Takes `[start, start + nr)` (one memory block, inside one zone)
    /// offline: its pageblocks are isolated, movable allocations migrate
    /// out (other nodes first, in distance order, then its own), hugetlb
    /// pages go to `huge`; anything else (reserved, vmemmap, unmovable)
    /// fails with EBUSY and the caller keeps nothing of the path. Returns
    /// the zone.
    pub fn offline_pages(
        &mut self,
        start: u32,
        nr: u32,
        huge: &mut HugeHook,
    ) -> Result<usize, KernelError> {
        self.path.lock(LockClass::MemHotplugLock, Mode::Write);
        let r = self.offline_locked(start, nr, huge);
        self.path.unlock(LockClass::MemHotplugLock);
        r
    }

    fn offline_locked(
        &mut self,
        start: u32,
        nr: u32,
        huge: &mut HugeHook,
    ) -> Result<usize, KernelError> {
        let z = self.t.zone_of(start);
        let node = self.t.b().zones[z].node;
        let mut targets: Vec<u32> = super::mempolicy::node_order(self.topo, node)
            .into_iter()
            .filter(|&n| n != node && self.topo.nodes[n as usize].frames > 0)
            .collect();
        targets.push(node);
        let pb0 = start >> PAGEBLOCK_ORDER;
        for pb in pb0..pb0 + (nr >> PAGEBLOCK_ORDER) {
            self.t.set_pageblock(pb, MIGRATE_ISOLATE);
        }
        let mut p = start;
        while p < start + nr {
            // A migration or dissolve before may have merged this block
            // into a free one that starts below it.
            let h = self.t.head_of(p);
            if h != p {
                p = h + (1 << order(self.t.state(h)));
                continue;
            }
            let s = self.t.state(p);
            let o = order(s);
            match kind(s) {
                KIND_FREE => {}
                KIND_ALLOC if alloc_mt(s) == MIGRATE_MOVABLE => {
                    if !targets.iter().any(|&n| self.migrate_block(p, n).is_some()) {
                        self.events.pgmigrate_fail += 1 << o;
                        return err(
                            Errno::EBUSY,
                            format!("no memory to migrate the allocation at pfn {p:#x} to"),
                        );
                    }
                }
                KIND_HUGE => huge(self, p, &targets)?,
                // A block out for reporting is not free to offline_pages()
                // either (test_pages_isolated()); with the drain variant
                // the path waits for the report first.
                KIND_REPORTING if self.report.drain_contig => self.drain_reports(&[p]),
                _ => {
                    return err(
                        Errno::EBUSY,
                        format!("pfn {p:#x} holds `{}`, which cannot be migrated", decode(s)),
                    )
                }
            }
            p += 1 << o;
        }
        // The range is free: it leaves the buddy allocator.
        self.path.lock(LockClass::ZoneLock, Mode::Spin);
        let mut p = start;
        while p < start + nr {
            let o = self.t.take_free(p);
            self.t.set(p, 0, 0);
            p += 1 << o;
        }
        self.path.unlock(LockClass::ZoneLock);
        for c in (start..start + nr).step_by(CHUNK_FRAMES as usize) {
            self.t.set(
                c,
                make_reserved(MAX_PAGE_ORDER) | (RF_OFFLINE << FLAGS_SHIFT),
                0,
            );
        }
        for pb in pb0..pb0 + (nr >> PAGEBLOCK_ORDER) {
            self.t.set_pageblock(pb, MIGRATE_MOVABLE);
        }
        self.managed_delta[z] -= nr as i64;
        Ok(z)
    }

    /// Brings an offline block back: its frames join the buddy allocator.
    pub fn online_pages(&mut self, start: u32, nr: u32) -> usize {
        self.path.lock(LockClass::MemHotplugLock, Mode::Write);
        let z = self.t.zone_of(start);
        for c in (start..start + nr).step_by(CHUNK_FRAMES as usize) {
            self.t.set(c, 0, 0);
            self.free_pages(c, MAX_PAGE_ORDER);
        }
        self.managed_delta[z] += nr as i64;
        self.path.unlock(LockClass::MemHotplugLock);
        z
    }
}
