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
        let dst = self.alloc_pages(
            "alloc_migration_target",
            MIGRATION_GFP,
            node,
            o,
            alloc_mt(s),
            highest,
        )?;
        self.path.lock(LockClass::FolioLock, Mode::Bit);
        let owner = self.t.owner(src);
        self.t.set(dst, s, owner);
        self.t.set(src, 0, 0);
        self.path.unlock(LockClass::FolioLock);
        self.free_pages(src, o);
        self.count(src, ZS_PGFREE, 1 << o);
        Some(dst)
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
