//! What a NUMA hint fault costs in TLB flushes, per PMD/PTE restore order,
//! counted as x86 counts them (arch/x86/mm/tlb.c with
//! CONFIG_DEBUG_TLBFLUSH: `nr_tlb_remote_flush`,
//! `nr_tlb_remote_flush_received`, `nr_tlb_local_flush_one`,
//! `nr_tlb_local_flush_all`).
//!
//! - `flush_tlb_mm_range()`: a range of more than
//!   `tlb_single_page_flush_ceiling` (33) entries becomes a full flush;
//!   when other CPUs are in the mm's cpumask, `native_flush_tlb_multi()`
//!   counts one remote flush and each other CPU that runs
//!   `flush_tlb_func()` counts one received (every thread of the task is
//!   taken to be running, so no CPU is in lazy TLB mode and skipped); the
//!   local CPU counts one entry per page flushed, or one full flush.
//! - A PROT_NONE (NUMA hint) PTE is not `pte_accessible()`: unmapping it
//!   for migration (`ptep_clear_flush()` in try_to_migrate_one()) does not
//!   flush. Restoring PROT_NONE to present never needs a flush.
//! - A PMD always flushes when it becomes a migration entry:
//!   `set_pmd_migration_entry()` → `pmdp_invalidate()` (mm/pgtable-generic.c;
//!   x86 overrides only pmdp_invalidate_ad()) flushes the 2 MB range,
//!   whether the PMD was PROT_NONE or present.
//!
//! The orders, each a variant:
//! - `Lazy`: restore the entry only when migration fails (do_numa_page()
//!   since 5.13, b99a342d4f11 "NUMA balancing: reduce TLB flush via
//!   delaying mapping on hint page fault"; do_huge_pmd_numa_page() since
//!   5.14, c5b5a3dd2c1f "mm: thp: refactor NUMA fault handling").
//! - `RestoreFirst`: restore, then migrate (do_numa_page() before 5.13;
//!   the THP refactor's RFC, which the review of seed 004 questioned).
//! - `LegacyThp`: the ad-hoc migrate_misplaced_transhuge_page() before
//!   5.14: the PMD stayed PROT_NONE and was overwritten with set_pmd_at()
//!   without a flush ("the TLB has already been flushed globally", its
//!   comment said); for base pages the same as `RestoreFirst`.

/// `tlb_single_page_flush_ceiling`.
pub const TLB_SINGLE_PAGE_FLUSH_CEILING: u64 =
    crate::model::numa::TLB_SINGLE_PAGE_FLUSH_CEILING as u64;

/// The four CONFIG_DEBUG_TLBFLUSH counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TlbCounters {
    pub nr_tlb_remote_flush: u64,
    pub nr_tlb_remote_flush_received: u64,
    pub nr_tlb_local_flush_all: u64,
    pub nr_tlb_local_flush_one: u64,
}

impl TlbCounters {
    /// `flush_tlb_mm_range()` of `entries` entries (PTEs, or PMDs for a
    /// PMD-stride flush) from a CPU of an mm whose cpumask has
    /// `other_cpus` more CPUs.
    pub fn flush_range(&mut self, entries: u64, other_cpus: u64) {
        if entries > TLB_SINGLE_PAGE_FLUSH_CEILING {
            self.nr_tlb_local_flush_all += 1;
        } else {
            self.nr_tlb_local_flush_one += entries;
        }
        if other_cpus > 0 {
            self.nr_tlb_remote_flush += 1;
            self.nr_tlb_remote_flush_received += other_cpus;
        }
    }

    /// IPIs sent: one per receiving CPU.
    pub fn ipis(&self) -> u64 {
        self.nr_tlb_remote_flush_received
    }

    /// Flushes that crossed CPUs (shootdowns).
    pub fn shootdowns(&self) -> u64 {
        self.nr_tlb_remote_flush
    }
}

/// When the hint fault makes the entry present again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RestoreOrder {
    Lazy,
    RestoreFirst,
    LegacyThp,
}

impl RestoreOrder {
    pub const ALL: [RestoreOrder; 3] = [
        RestoreOrder::Lazy,
        RestoreOrder::RestoreFirst,
        RestoreOrder::LegacyThp,
    ];

    /// The order as `numa_cfg[NC_RESTORE]` holds it.
    pub fn code(&self) -> u32 {
        use crate::engine::types::*;
        match self {
            RestoreOrder::Lazy => NUMA_RESTORE_LAZY,
            RestoreOrder::RestoreFirst => NUMA_RESTORE_FIRST,
            RestoreOrder::LegacyThp => NUMA_RESTORE_LEGACY_THP,
        }
    }

    /// The variant's switch name.
    pub fn name(&self) -> &'static str {
        match self {
            RestoreOrder::Lazy => "numa_restore_lazy",
            RestoreOrder::RestoreFirst => "numa_restore_first",
            RestoreOrder::LegacyThp => "numa_thp_legacy",
        }
    }

    /// Flushes one hint fault that ends in a migration makes (the failure
    /// and not-misplaced cases flush nothing in every order).
    ///
    /// - Lazy, base page: the PTE is still PROT_NONE, not accessible:
    ///   ptep_clear_flush() in try_to_migrate_one() skips the flush.
    /// - Restore first (and the legacy order's base pages): present again
    ///   before try_to_migrate(): one flush.
    /// - A THP in either generic order: pmdp_invalidate() flushes.
    /// - The legacy THP path overwrote the PROT_NONE PMD without a flush.
    ///
    /// The tick counts the same through `model::numa::flushes_per_migration`.
    pub fn flushes_per_migration(&self, thp: bool) -> u64 {
        crate::model::numa::flushes_per_migration(self.code(), thp) as u64
    }
}

/// One hint fault's flushes in `c`: `migrated` says whether it ended in a
/// migration, `threads` how many threads of the mm run, on distinct CPUs
/// among `cpus` (the mm's cpumask holds min(threads, cpus) CPUs).
pub fn hint_fault(
    c: &mut TlbCounters,
    order: RestoreOrder,
    thp: bool,
    migrated: bool,
    threads: u64,
    cpus: u64,
) {
    if !migrated {
        return;
    }
    let other = threads.min(cpus).saturating_sub(1);
    for _ in 0..order.flushes_per_migration(thp) {
        // A PTE flush is one entry; a PMD flush is one entry at PMD
        // stride (flush_pmd_tlb_range()).
        c.flush_range(1, other);
    }
}

/// `change_prot_numa()` over a VMA range through an mmu_gather:
/// `tlb_finish_mmu()` flushes the gathered range once when any entry
/// changed (`pages` PTEs, or PMD entries for THPs at PMD stride).
pub fn scan_range(c: &mut TlbCounters, updated_entries: u64, threads: u64, cpus: u64) {
    if updated_entries == 0 {
        return;
    }
    c.flush_range(updated_entries, threads.min(cpus).saturating_sub(1));
}

/// One row of the cost table: per migrated base page or THP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostRow {
    pub order: RestoreOrder,
    pub thp: bool,
    pub threads: u64,
    pub counters: TlbCounters,
}

/// The table the `thp-numa-fault` preset headlines: flushes and IPIs per
/// migrated page for each order, kind and thread count.
pub fn cost_table(thread_counts: &[u64], cpus: u64) -> Vec<CostRow> {
    let mut rows = vec![];
    for &thp in &[false, true] {
        for order in RestoreOrder::ALL {
            for &threads in thread_counts {
                let mut c = TlbCounters::default();
                hint_fault(&mut c, order, thp, true, threads, cpus);
                rows.push(CostRow {
                    order,
                    thp,
                    threads,
                    counters: c,
                });
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_above_the_ceiling_become_full_flushes() {
        let mut c = TlbCounters::default();
        c.flush_range(33, 0);
        assert_eq!(c.nr_tlb_local_flush_one, 33);
        assert_eq!(c.nr_tlb_local_flush_all, 0);
        c.flush_range(34, 0);
        assert_eq!(
            (c.nr_tlb_local_flush_one, c.nr_tlb_local_flush_all),
            (33, 1)
        );
        assert_eq!(c.nr_tlb_remote_flush, 0, "a single-CPU mm sends no IPI");
        c.flush_range(1, 3);
        assert_eq!(
            (c.nr_tlb_remote_flush, c.nr_tlb_remote_flush_received),
            (1, 3)
        );
    }

    #[test]
    fn base_page_migration_flushes_only_when_restored_first() {
        for threads in [1, 4, 32] {
            let mut lazy = TlbCounters::default();
            let mut first = TlbCounters::default();
            hint_fault(&mut lazy, RestoreOrder::Lazy, false, true, threads, 64);
            hint_fault(
                &mut first,
                RestoreOrder::RestoreFirst,
                false,
                true,
                threads,
                64,
            );
            assert_eq!(lazy, TlbCounters::default(), "{threads} threads");
            assert_eq!(first.nr_tlb_local_flush_one, 1);
            assert_eq!(first.ipis(), threads - 1);
            assert_eq!(first.shootdowns(), (threads > 1) as u64);
        }
    }

    #[test]
    fn thp_migration_flushes_once_in_either_generic_order() {
        for threads in [1, 4, 32] {
            let mut lazy = TlbCounters::default();
            let mut first = TlbCounters::default();
            let mut legacy = TlbCounters::default();
            hint_fault(&mut lazy, RestoreOrder::Lazy, true, true, threads, 64);
            hint_fault(
                &mut first,
                RestoreOrder::RestoreFirst,
                true,
                true,
                threads,
                64,
            );
            hint_fault(
                &mut legacy,
                RestoreOrder::LegacyThp,
                true,
                true,
                threads,
                64,
            );
            assert_eq!(lazy, first);
            assert_eq!(lazy.ipis(), threads - 1);
            assert_eq!(legacy, TlbCounters::default());
        }
    }

    #[test]
    fn failed_and_local_faults_flush_nothing() {
        for order in RestoreOrder::ALL {
            for thp in [false, true] {
                let mut c = TlbCounters::default();
                hint_fault(&mut c, order, thp, false, 32, 64);
                assert_eq!(c, TlbCounters::default());
            }
        }
    }

    #[test]
    fn threads_beyond_the_cpus_share_them() {
        let mut c = TlbCounters::default();
        hint_fault(&mut c, RestoreOrder::RestoreFirst, false, true, 32, 8);
        assert_eq!(c.ipis(), 7);
    }

    #[test]
    fn a_scan_flushes_once_per_changed_range() {
        let mut c = TlbCounters::default();
        scan_range(&mut c, 0, 4, 64);
        assert_eq!(c, TlbCounters::default());
        scan_range(&mut c, 65536, 4, 64);
        assert_eq!((c.nr_tlb_local_flush_all, c.ipis()), (1, 3));
        scan_range(&mut c, 8, 1, 64);
        assert_eq!(c.nr_tlb_local_flush_one, 8);
    }

    #[test]
    fn cost_table_covers_every_order_kind_and_thread_count() {
        let rows = cost_table(&[1, 4, 32], 64);
        assert_eq!(rows.len(), 2 * 3 * 3);
        let ipis = |order, thp, threads| {
            rows.iter()
                .find(|r| r.order == order && r.thp == thp && r.threads == threads)
                .unwrap()
                .counters
                .ipis()
        };
        assert_eq!(ipis(RestoreOrder::RestoreFirst, false, 32), 31);
        assert_eq!(ipis(RestoreOrder::Lazy, false, 32), 0);
        assert_eq!(ipis(RestoreOrder::Lazy, true, 4), 3);
    }
}
