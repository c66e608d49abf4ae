//! The lock sequence of a NUMA hint fault that migrates, for the lock
//! validator. The tick runs the faults on the device; their locking is
//! fixed by the code they model, so the machine records each shape once
//! per configuration (when balancing is switched on, and when the restore
//! order changes), and the validator checks it like any other path.
//!
//! 6.1's `do_numa_page()` (base pages) and `do_huge_pmd_numa_page()`
//! (THPs), under the fault's `mmap_lock` (read): the page-table lock for
//! the checks (and, in the restore-first order, to make the entry present
//! again before migrating), then `migrate_misplaced_page()`:
//! `isolate_lru_page()` under `lruvec->lru_lock`; `migrate_pages()`
//! allocates the target first (`alloc_misplaced_dst_page()`:
//! `__GFP_THISNODE`, no reclaim: zone->lock, never a sleep), then locks
//! the source (`folio_trylock()`, MIGRATE_ASYNC) and the new folio
//! (`folio_trylock()` of a fresh folio), replaces the mappings with
//! migration entries (`try_to_migrate()`: `anon_vma->rwsem`, then the
//! page-table lock), copies, restores the mappings to the new folio
//! (`remove_migration_ptes()`), unlocks both and puts the new folio on
//! the LRU.

use super::tlb::RestoreOrder;
use crate::kernel::path::{Gfp, LockClass, Mode, Path};

/// `alloc_misplaced_dst_page()`'s mask for a base page:
/// `__GFP_THISNODE | GFP_HIGHUSER_MOVABLE | __GFP_NOMEMALLOC |
/// __GFP_NORETRY | __GFP_NOWARN`, without `__GFP_RECLAIM`; for a THP
/// GFP_TRANSHUGE_LIGHT has no reclaim either.
pub const MISPLACED_GFP: Gfp = Gfp((Gfp::HIGHUSER_MOVABLE.0
    | Gfp::THISNODE.0
    | Gfp::NORETRY.0
    | Gfp::NOWARN.0)
    & !Gfp::RECLAIM.0);

/// The path of one hint fault that migrates its page.
pub fn hint_fault_path(thp: bool, restore: RestoreOrder, tick: u64) -> Path {
    let name = if thp {
        "do_huge_pmd_numa_page"
    } else {
        "do_numa_page"
    };
    let ptl = if thp {
        LockClass::PtlPmd
    } else {
        LockClass::PtlPte
    };
    let mut p = Path::new(name, tick);
    p.lock(LockClass::MmapLock, Mode::Read);
    p.lock(ptl, Mode::Spin);
    // pte_same()/pmd_same(), numa_migrate_prep(); the restore-first order
    // makes the entry present here, under the same lock.
    let _ = restore;
    p.unlock(ptl);
    // numamigrate_isolate_page() -> isolate_lru_page().
    p.lock(LockClass::LruLock, Mode::Spin);
    p.unlock(LockClass::LruLock);
    // migrate_pages(): the target first, without reclaim.
    p.might_alloc("alloc_misplaced_dst_page", MISPLACED_GFP);
    p.lock(LockClass::ZoneLock, Mode::Spin);
    p.unlock(LockClass::ZoneLock);
    p.alloc(
        "alloc_misplaced_dst_page",
        MISPLACED_GFP,
        if thp { 9 } else { 0 },
        0,
        true,
    );
    // The source, then the new folio (both trylocks).
    p.lock(LockClass::FolioLock, Mode::Try);
    p.lock_nested(LockClass::FolioLock, Mode::Try, 1);
    // try_to_migrate(), then remove_migration_ptes().
    for _ in 0..2 {
        p.lock(LockClass::AnonVmaRwsem, Mode::Read);
        p.lock(ptl, Mode::Spin);
        p.unlock(ptl);
        p.unlock(LockClass::AnonVmaRwsem);
    }
    p.unlock(LockClass::FolioLock);
    p.unlock(LockClass::FolioLock);
    // putback of the new folio onto the LRU.
    p.lock(LockClass::LruLock, Mode::Spin);
    p.unlock(LockClass::LruLock);
    p.unlock(LockClass::MmapLock);
    p
}
