//! Moving an allocated block to another place (`migrate_pages()` of one
//! folio, mm/migrate.c): the target is allocated first, then the source
//! is locked, copied and freed, as mainline orders it
//! (`migrate_folio_unmap()` calls `get_new_folio()` before `folio_lock()`
//! on the source).

use super::Mm;
use crate::engine::types::ZS_PGFREE;
use crate::kernel::path::{Gfp, LockClass, Mode};
use crate::model::frame::*;
use crate::model::topology::ZoneType;

/// `alloc_migration_target()`'s mask in `__alloc_contig_migrate_range()`
/// and `do_migrate_range()`.
pub const MIGRATION_GFP: Gfp = Gfp::USER.with(Gfp::MOVABLE).with(Gfp::RETRY_MAYFAIL);

impl Mm<'_, '_> {
    /// Migrates the allocated block at `src` to a free block on `node`
    /// (zones from Movable down for a class that may use ZONE_MOVABLE),
    /// counting the copy's allocation and the original's free. None when
    /// the node has no room.
    pub fn migrate_block(&mut self, src: u32, node: u32) -> Option<u32> {
        let s = self.t.state(src);
        let o = order(s);
        let cls = class(s) as usize;
        let highest = if crate::model::workload::CLASSES[cls].movable_zone_ok {
            ZoneType::Movable
        } else {
            ZoneType::Normal
        };
        // The variant of ../shared/seeds/003: the source locked first, the
        // target allocated under its lock.
        let under_lock = self.variants.migrate_target_under_folio_lock;
        if under_lock {
            self.path.lock(LockClass::FolioLock, Mode::Bit);
        }
        let dst = self.alloc_pages(
            "alloc_migration_target",
            MIGRATION_GFP,
            node,
            o,
            alloc_mt(s),
            highest,
        );
        if under_lock && (dst.is_none() || self.below_low(node)) {
            self.direct_reclaim(node);
        }
        let Some(dst) = dst else {
            if under_lock {
                self.path.unlock(LockClass::FolioLock);
            }
            return None;
        };
        if !under_lock {
            self.path.lock(LockClass::FolioLock, Mode::Bit);
        }
        // try_to_migrate(): the rmap walk replaces each mapping with a
        // migration entry (anon_vma->rwsem, then the page-table lock);
        // remove_migration_ptes() walks it again for the new folio.
        self.rmap_walk(false);
        let owner = self.t.owner(src);
        // remove_migration_pte() maps the new folio with the VMA's
        // protection: a NUMA hint (PROT_NONE) does not survive the move;
        // the page keeps its cpupid and its place in the hot set.
        let s = if kind(s) == KIND_ALLOC {
            s & !(AF_PROT_NONE << FLAGS_SHIFT)
        } else {
            s
        };
        self.t.set(dst, s, owner);
        self.t.set(src, 0, 0);
        self.rmap_walk(false);
        self.path.unlock(LockClass::FolioLock);
        self.free_pages(src, o);
        self.count(src, ZS_PGFREE, 1 << o);
        self.events.pgmigrate_success += 1 << o;
        Some(dst)
    }

    /// One rmap walk over a folio's mappings (`rmap_walk_anon()`, or for
    /// a hugetlbfs folio `rmap_walk_file()`), under the page-table lock.
    pub fn rmap_walk(&mut self, hugetlbfs: bool) {
        let (rmap, ptl) = if hugetlbfs {
            (LockClass::HugetlbfsIMmapRwsem, LockClass::PtlPmd)
        } else {
            (LockClass::AnonVmaRwsem, LockClass::PtlPte)
        };
        self.path.lock(rmap, Mode::Read);
        self.path.lock(ptl, Mode::Spin);
        self.path.unlock(ptl);
        self.path.unlock(rmap);
    }

    /// Whether a zone of `node` is below its low watermark (where
    /// `get_page_from_freelist()` fails and the slow path may reclaim).
    pub fn below_low(&self, node: u32) -> bool {
        let b = self.t.b();
        (0..b.zones.len()).any(|z| {
            b.zones[z].node == node
                && b.zones[z].managed > 0
                && self.t.nr_free(z) < b.zones[z].wmark_low as i64
        })
    }

    /// `__alloc_pages_direct_reclaim()` on `node`, as the seed-003 variant
    /// runs it: under `fs_reclaim`, reclaim isolates folios from the LRU
    /// and hands the ones with a demotion target to the migration core,
    /// which locks each (`folio_lock()` of its source) while the caller's
    /// folio stays locked.
    pub fn direct_reclaim(&mut self, node: u32) {
        let _ = node;
        self.path.lock(LockClass::FsReclaim, Mode::Map);
        self.path.might_sleep("__perform_reclaim");
        self.path.lock(LockClass::LruLock, Mode::Spin);
        self.path.unlock(LockClass::LruLock);
        self.path.lock(LockClass::FolioLock, Mode::Bit);
        self.path.unlock(LockClass::FolioLock);
        self.path.unlock(LockClass::FsReclaim);
    }

    /// Undoes `migrate_block(src) -> dst` (a contiguous allocation that
    /// failed part way): the block goes back to `src`, which is carved out
    /// of whatever free block it merged into.
    pub fn unmigrate_block(&mut self, src: u32, dst: u32) {
        use crate::engine::types::ZS_PGALLOC;
        let s = self.t.state(dst);
        let o = order(s);
        let owner = self.t.owner(dst);
        // The original's frames are free (possibly merged): carve it out.
        let h = self.t.head_of(src);
        let ho = self.t.take_free(h);
        let mut k = ho;
        let mut base = h;
        while k > o {
            k -= 1;
            let half = base + (1 << k);
            let other = if src >= half { base } else { half };
            if src >= half {
                base = half;
            }
            self.t.set(other, 0, 0);
            self.t.free_block(other, k);
        }
        self.t.set(src, s, owner);
        self.t.set(dst, 0, 0);
        self.t.free_block(dst, o);
        let (zs, zd) = (self.t.zone_of(src), self.t.zone_of(dst));
        self.t.add_total(zs, ZS_PGALLOC, 1 << o);
        self.t.add_total(zd, ZS_PGFREE, 1 << o);
    }
}
