//! The documented lock order of mm, as data: the comment at the top of
//! mm/rmap.c ("Lock ordering in mm") and the "Lock ordering" comment of
//! mm/filemap.c, restricted to the classes numasim models. Each chain
//! lists classes outermost first; a class orders before every class after
//! it in its chain, and the order is closed transitively.
//!
//! Left out on purpose: mm/rmap.c's generic list puts
//! `hugetlbfs_i_mmap_rwsem_key` under `PG_locked` (huge_pmd_share), while
//! its hugetlbfs list puts `mapping->i_mmap_rwsem` above `PG_locked` for
//! hugetlb folios. With one class for the folio lock the two would order
//! `PG_locked` both ways; the kernel never notices because lockdep does
//! not track `PG_locked`. numasim keeps the hugetlbfs list for hugetlbfs
//! mappings (whose i_mmap_rwsem has its own key) and the generic list for
//! the rest.

use crate::kernel::path::LockClass::{self, *};

/// One documented chain, outermost first, with where it is written.
pub struct Chain {
    pub source: &'static str,
    pub classes: &'static [&'static [LockClass]],
}

/// The chains. A level may hold several classes that are alternatives
/// ("mm->page_table_lock or pte_lock").
pub const CHAINS: &[Chain] = &[
    Chain {
        source: "mm/rmap.c \"Lock ordering in mm\"",
        classes: &[
            &[MmapLock],
            &[FolioLock],
            // vma_start_write (6.4, the per-VMA lock series).
            &[VmaLock],
            &[IMmapRwsem],
            &[AnonVmaRwsem],
            &[PtlPte, PtlPmd],
            // ... swap_lock, private_lock, i_pages lock, lruvec->lru_lock.
            &[LruLock],
        ],
    },
    Chain {
        source: "mm/rmap.c \"hugetlbfs PageHuge() take locks in this order\"",
        classes: &[
            // hugetlb_fault() runs under the fault's mmap_lock.
            &[MmapLock],
            &[HugetlbFaultMutex],
            &[HugetlbVmaLock],
            &[HugetlbfsIMmapRwsem],
            &[FolioLock],
        ],
    },
    Chain {
        source: "mm/filemap.c \"Lock ordering\" (->mmap_lock ->i_mmap_rwsem ->page_table_lock or pte_lock)",
        classes: &[&[MmapLock], &[IMmapRwsem], &[PtlPte, PtlPmd]],
    },
    Chain {
        source: "mm/filemap.c \"Lock ordering\" (->anon_vma.lock ->page_table_lock or pte_lock ->lruvec->lru_lock)",
        classes: &[&[AnonVmaRwsem], &[PtlPte, PtlPmd], &[LruLock]],
    },
];

/// Where the documentation orders `outer` before `inner` (None: it says
/// nothing about the pair).
pub fn documented_before(outer: LockClass, inner: LockClass) -> Option<&'static str> {
    for c in CHAINS {
        let lo = c.classes.iter().position(|l| l.contains(&outer));
        let hi = c.classes.iter().position(|l| l.contains(&inner));
        if let (Some(a), Some(b)) = (lo, hi) {
            if a < b {
                return Some(c.source);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::path::ALL_CLASSES;

    #[test]
    fn the_documented_order_has_no_cycle() {
        for &a in &ALL_CLASSES {
            for &b in &ALL_CLASSES {
                assert!(
                    !(documented_before(a, b).is_some() && documented_before(b, a).is_some()),
                    "{} and {} are ordered both ways",
                    a.name(),
                    b.name()
                );
            }
        }
        assert!(documented_before(MmapLock, LruLock).is_some());
        assert!(documented_before(HugetlbFaultMutex, FolioLock).is_some());
        assert!(documented_before(FolioLock, HugetlbfsIMmapRwsem).is_none());
        assert!(documented_before(ZoneLock, HugetlbLock).is_none());
    }
}
