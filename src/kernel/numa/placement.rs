//! Where a hint-faulting page should live: `mpol_misplaced()` with the
//! two-stage filter of `should_numa_migrate_memory()`, the target node's
//! room check of `numamigrate_isolate_page()` (`migrate_balanced_pgdat()`)
//! and the vmstat counters a hint fault moves (mm/memory.c
//! do_numa_page(), mm/huge_memory.c do_huge_pmd_numa_page(),
//! mm/migrate.c migrate_misplaced_page() and migrate_pages(); Linux 6.1).

use crate::model::workload::Mempolicy;

/// LAST__PID_MASK: a page keeps only the low 8 bits of the last
/// accessor's pid (include/linux/page-flags-layout.h, LAST__PID_SHIFT 8).
pub const LAST_PID_MASK: u32 = 0xff;

/// The `_last_cpupid` a page keeps (page_cpupid_xchg_last()): the CPU
/// (with its node, `cpupid_to_nid()`) and the pid's low 8 bits of the
/// last task that took a hint fault on it. A fresh page has every bit
/// set (`page_cpupid_reset_last()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cpupid {
    pub cpu: u32,
    pub nid: u32,
    pub pid: u8,
}

impl Cpupid {
    /// -1 & LAST_CPUPID_MASK.
    pub const UNSET: Cpupid = Cpupid {
        cpu: u32::MAX,
        nid: u32::MAX,
        pid: 0xff,
    };

    /// `cpu_pid_to_cpupid(cpu, pid)`.
    pub fn new(cpu: u32, nid: u32, pid: u32) -> Cpupid {
        Cpupid {
            cpu,
            nid,
            pid: (pid & LAST_PID_MASK) as u8,
        }
    }
    /// `cpupid_pid_unset()`: the pid bits are all ones, which a pid whose
    /// low byte is 0xff also looks like.
    pub fn pid_unset(&self) -> bool {
        self.pid == 0xff
    }
    /// `cpupid_valid()`: the CPU bits are set.
    pub fn valid(&self) -> bool {
        self.cpu != u32::MAX
    }
    /// `cpupid_match_pid()`: compares the low 8 bits only, so pids 256
    /// apart look like the same task.
    pub fn matches(&self, pid: u32) -> bool {
        self.pid == (pid & LAST_PID_MASK) as u8
    }
}

/// What the filter reads of the faulting task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Faulter {
    pub pid: u32,
    /// The CPU the fault runs on and its node.
    pub cpu: u32,
    pub nid: u32,
    /// `p->numa_preferred_nid` (None for NUMA_NO_NODE).
    pub preferred_nid: Option<u32>,
    /// `p->numa_scan_seq`.
    pub scan_seq: u32,
}

/// The task's numa group's per-node fault statistics, summed over private
/// and shared: `group_faults_cpu(ng, nid)` (where the group's tasks ran)
/// and `group_faults(p, nid)` (where its memory was).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupNodeFaults {
    pub cpu: Vec<u64>,
    pub mem: Vec<u64>,
}

/// ACTIVE_NODE_FRACTION in kernel/sched/fair.c.
pub const ACTIVE_NODE_FRACTION: u64 = 3;

/// Why the filter said what it said (for the tests and the dashboard).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// No preferred node yet or numa_scan_seq <= 4, and the page's last
    /// accessor is unset or this task: migrate at once.
    EarlyLife,
    /// The page's last access came from another node: wait for a second
    /// fault from this node (the two-stage filter).
    LastNodeDiffers,
    /// A lower-tier page nobody faulted on before, outside tiering mode.
    NoHistoryBelowTopTier,
    /// The same task faulted last: a private fault.
    Private,
    /// A shared fault before the numa group exists.
    NoGroup,
    /// The group runs more than 3x as much on the destination.
    GroupCpuMuchHigher,
    /// `cpu_dst * mem_src * 3 > cpu_src * mem_dst * 4` (true or false).
    GroupBalance(bool),
}

impl Filter {
    pub fn migrate(&self) -> bool {
        match self {
            Filter::EarlyLife | Filter::Private | Filter::NoGroup | Filter::GroupCpuMuchHigher => {
                true
            }
            Filter::LastNodeDiffers | Filter::NoHistoryBelowTopTier => false,
            Filter::GroupBalance(b) => *b,
        }
    }
}

/// `should_numa_migrate_memory()` outside memory-tiering mode (the
/// tiering branch belongs to promotion): swaps this fault's cpupid into
/// the page (`page_cpupid_xchg_last()`), then decides from the old one.
pub fn should_numa_migrate_memory(
    p: &Faulter,
    group: Option<&GroupNodeFaults>,
    last: &mut Cpupid,
    src_nid: u32,
    src_toptier: bool,
) -> Filter {
    let dst_nid = p.nid;
    let old = std::mem::replace(last, Cpupid::new(p.cpu, p.nid, p.pid));
    if !src_toptier && !old.valid() {
        return Filter::NoHistoryBelowTopTier;
    }
    // "The magic number 4 is based on waiting for two full passes of the
    // multi-stage node selection test."
    if (p.preferred_nid.is_none() || p.scan_seq <= 4) && (old.pid_unset() || old.matches(p.pid)) {
        return Filter::EarlyLife;
    }
    if !old.pid_unset() && old.nid != dst_nid {
        return Filter::LastNodeDiffers;
    }
    if old.matches(p.pid) {
        return Filter::Private;
    }
    let Some(g) = group else {
        return Filter::NoGroup;
    };
    let at = |v: &Vec<u64>, n: u32| v.get(n as usize).copied().unwrap_or(0);
    let (cpu_dst, cpu_src) = (at(&g.cpu, dst_nid), at(&g.cpu, src_nid));
    if cpu_dst > cpu_src * ACTIVE_NODE_FRACTION {
        return Filter::GroupCpuMuchHigher;
    }
    let (mem_src, mem_dst) = (at(&g.mem, src_nid), at(&g.mem, dst_nid));
    Filter::GroupBalance(cpu_dst * mem_src * 3 > cpu_src * mem_dst * 4)
}

/// The policy a fault is judged by (`get_vma_policy()` →
/// `get_task_policy()`): a task without its own policy gets
/// `preferred_node_policy[numa_node_id()]`, MPOL_PREFERRED of its node
/// with MPOL_F_MOF | MPOL_F_MORON; a policy the task set has MPOL_F_MOF
/// only when set with MPOL_F_NUMA_BALANCING, which set_mempolicy(2)
/// accepts with MPOL_BIND (Linux 5.12+). numasim's `local` policy is the
/// task default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyVerdict {
    /// The page is where the policy wants it (or the policy does not let
    /// NUMA balancing move pages): not misplaced, and the page's cpupid
    /// is left alone.
    Stay,
    /// Run the filter; misplaced towards this node if it says migrate and
    /// the page is elsewhere.
    Filter(u32),
}

/// The part of `mpol_misplaced()` before the filter.
pub fn mpol_verdict(
    policy: &Mempolicy,
    numa_balancing_flag: bool,
    curnid: u32,
    thisnid: u32,
) -> PolicyVerdict {
    match policy {
        Mempolicy::Local => {
            if curnid == thisnid {
                PolicyVerdict::Stay
            } else {
                PolicyVerdict::Filter(thisnid)
            }
        }
        // MPOL_BIND with MPOL_F_MORON: "Optimize placement among multiple
        // nodes via NUMA balancing": only toward a bound node.
        Mempolicy::Bind(nodes) if numa_balancing_flag => {
            if nodes.contains(&thisnid) {
                PolicyVerdict::Filter(thisnid)
            } else {
                PolicyVerdict::Stay
            }
        }
        _ => PolicyVerdict::Stay,
    }
}

/// `mpol_misplaced()`: the node the page should move to, or None. The
/// filter runs (and swaps the cpupid) only when the policy asks for it.
pub fn mpol_misplaced(
    policy: &Mempolicy,
    numa_balancing_flag: bool,
    curnid: u32,
    p: &Faulter,
    group: Option<&GroupNodeFaults>,
    last: &mut Cpupid,
    src_toptier: bool,
) -> (Option<u32>, Option<Filter>) {
    match mpol_verdict(policy, numa_balancing_flag, curnid, p.nid) {
        PolicyVerdict::Stay => (None, None),
        PolicyVerdict::Filter(polnid) => {
            let f = should_numa_migrate_memory(p, group, last, curnid, src_toptier);
            let target = (f.migrate() && curnid != polnid).then_some(polnid);
            (target, Some(f))
        }
    }
}

/// What `migrate_balanced_pgdat()` reads of one zone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZoneRoom {
    /// `managed_zone()`: the zone has managed pages.
    pub managed: bool,
    pub free: u64,
    /// `nr_reserved_highatomic`: unusable without ALLOC_RESERVES.
    pub highatomic: u64,
    pub high: u64,
    /// `lowmem_reserve[ZONE_MOVABLE]`.
    pub lowmem_reserve_movable: u64,
}

/// `migrate_balanced_pgdat()`: some managed zone of the target node,
/// highest first, passes `zone_watermark_ok(zone, 0, high + nr_pages,
/// ZONE_MOVABLE, 0)`: its free pages less the highatomic reserve above
/// the high watermark plus the folio plus the zone's reserve against
/// movable allocations. Zones are given low to high.
pub fn migrate_balanced_pgdat(zones: &[ZoneRoom], nr_pages: u64) -> bool {
    zones
        .iter()
        .rev()
        .filter(|z| z.managed)
        .any(|z| z.free.saturating_sub(z.highatomic) > z.high + nr_pages + z.lowmem_reserve_movable)
}

/// How a misplaced-page migration ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Migration {
    /// mpol_misplaced() said no.
    NotMisplaced,
    /// numamigrate_isolate_page() refused (target node short of room, a
    /// THP mapped more than once): migrate_pages() never ran.
    Refused,
    /// migrate_pages() failed (the no-reclaim target allocation failed).
    Failed,
    Migrated,
}

/// The counters one hint fault moves (/proc/vmstat names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub numa_hint_faults: u64,
    pub numa_hint_faults_local: u64,
    pub numa_pages_migrated: u64,
    pub pgmigrate_success: u64,
    pub pgmigrate_fail: u64,
    pub thp_migration_success: u64,
    pub thp_migration_fail: u64,
}

impl FaultCounts {
    /// One hint fault on a base page or a PMD-mapped THP:
    /// `numa_migrate_prep()` counts the fault (one per fault, THP too) and
    /// a local one; `migrate_pages()` counts pages (512 for a THP) in
    /// pgmigrate_* and THPs in thp_migration_*, never splitting a THP
    /// for MR_NUMA_MISPLACED; `migrate_misplaced_page()` adds the migrated
    /// pages to numa_pages_migrated. A refusal counts no migration.
    pub fn count(&mut self, local: bool, thp: bool, m: Migration) {
        let pages = if thp { super::HPAGE_PMD_NR } else { 1 };
        self.numa_hint_faults += 1;
        self.numa_hint_faults_local += local as u64;
        match m {
            Migration::NotMisplaced | Migration::Refused => {}
            Migration::Failed => {
                self.pgmigrate_fail += pages;
                self.thp_migration_fail += thp as u64;
            }
            Migration::Migrated => {
                self.pgmigrate_success += pages;
                self.numa_pages_migrated += pages;
                self.thp_migration_success += thp as u64;
            }
        }
    }

    /// TNF_MIGRATE_FAIL: the fault's pages go to numa_faults_locality[2]
    /// and double the next scan period.
    pub fn migrate_fail_flag(m: Migration) -> bool {
        matches!(m, Migration::Refused | Migration::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faulter(pid: u32, nid: u32, seq: u32, preferred: Option<u32>) -> Faulter {
        Faulter {
            pid,
            cpu: nid * 8,
            nid,
            preferred_nid: preferred,
            scan_seq: seq,
        }
    }

    #[test]
    fn early_life_migrates_on_the_first_fault() {
        let p = faulter(100, 1, 0, None);
        let mut last = Cpupid::UNSET;
        assert_eq!(
            should_numa_migrate_memory(&p, None, &mut last, 0, true),
            Filter::EarlyLife
        );
        assert_eq!(
            last,
            Cpupid::new(8, 1, 100),
            "the fault's cpupid is swapped in"
        );
        // Still early (seq 4) but another task faulted last: not early.
        let q = faulter(101, 1, 4, Some(1));
        assert_ne!(
            should_numa_migrate_memory(&q, None, &mut last, 0, true),
            Filter::EarlyLife
        );
    }

    #[test]
    fn two_stage_filter_waits_for_a_second_fault_from_the_same_node() {
        // Past early life: a preferred node and seq 5.
        let p = faulter(100, 1, 5, Some(1));
        // Last fault from node 0 by another task: refuse, but remember
        // this one.
        let mut last = Cpupid::new(0, 0, 7);
        let f = should_numa_migrate_memory(&p, None, &mut last, 0, true);
        assert_eq!(f, Filter::LastNodeDiffers);
        assert!(!f.migrate());
        // The same task again from node 1: a private fault, migrate.
        assert_eq!(
            should_numa_migrate_memory(&p, None, &mut last, 0, true),
            Filter::Private
        );
        // Another task from node 1 now: shared, no group yet: migrate.
        let q = faulter(200, 1, 5, Some(1));
        assert_eq!(
            should_numa_migrate_memory(&q, None, &mut last, 0, true),
            Filter::NoGroup
        );
    }

    #[test]
    fn pids_compare_by_their_low_byte() {
        let p = faulter(100 + 256, 1, 5, Some(1));
        let mut last = Cpupid::new(8, 1, 100);
        assert_eq!(
            should_numa_migrate_memory(&p, None, &mut last, 0, true),
            Filter::Private
        );
        // A pid ending in 0xff reads as "unset": early life applies even
        // though another task faulted last.
        let q = faulter(0x1ff, 1, 0, None);
        let mut last = Cpupid::new(0, 0, 0xff);
        assert_eq!(
            should_numa_migrate_memory(&q, None, &mut last, 0, true),
            Filter::EarlyLife
        );
    }

    #[test]
    fn group_stage_weighs_cpu_and_memory_faults() {
        let p = faulter(300, 1, 9, Some(1));
        let shared_from_node1 = || Cpupid::new(9, 1, 42);
        // The group runs 4x as much on node 1 as on node 0: migrate.
        let g = GroupNodeFaults {
            cpu: vec![10, 40],
            mem: vec![100, 0],
        };
        let mut last = shared_from_node1();
        assert_eq!(
            should_numa_migrate_memory(&p, Some(&g), &mut last, 0, true),
            Filter::GroupCpuMuchHigher
        );
        // Exactly 3x is not "more than": the balance rule decides:
        // 30 * 100 * 3 = 9000 > 10 * 50 * 4 = 2000.
        let g = GroupNodeFaults {
            cpu: vec![10, 30],
            mem: vec![100, 50],
        };
        let mut last = shared_from_node1();
        assert_eq!(
            should_numa_migrate_memory(&p, Some(&g), &mut last, 0, true),
            Filter::GroupBalance(true)
        );
        // Memory already mostly on node 1: 20 * 10 * 3 = 600 <= 20 * 100 * 4.
        let g = GroupNodeFaults {
            cpu: vec![20, 20],
            mem: vec![10, 100],
        };
        let mut last = shared_from_node1();
        let f = should_numa_migrate_memory(&p, Some(&g), &mut last, 0, true);
        assert_eq!(f, Filter::GroupBalance(false));
        assert!(!f.migrate());
    }

    #[test]
    fn below_top_tier_without_history_stays_outside_tiering_mode() {
        let p = faulter(1, 0, 0, None);
        let mut last = Cpupid::UNSET;
        assert_eq!(
            should_numa_migrate_memory(&p, None, &mut last, 2, false),
            Filter::NoHistoryBelowTopTier
        );
        // The second fault has history: early life applies.
        assert_eq!(
            should_numa_migrate_memory(&p, None, &mut last, 2, false),
            Filter::EarlyLife
        );
    }

    #[test]
    fn mpol_misplaced_by_policy() {
        let p = faulter(5, 1, 0, None);
        let local = Mempolicy::Local;
        // A page on the faulting CPU's node is not misplaced and its
        // cpupid is not touched.
        let mut last = Cpupid::UNSET;
        assert_eq!(
            mpol_misplaced(&local, false, 1, &p, None, &mut last, true),
            (None, None)
        );
        assert_eq!(last, Cpupid::UNSET);
        // On node 0: misplaced toward node 1.
        let (t, f) = mpol_misplaced(&local, false, 0, &p, None, &mut last, true);
        assert_eq!((t, f), (Some(1), Some(Filter::EarlyLife)));
        // A policy the task set never moves pages...
        for pol in [
            Mempolicy::Bind(vec![0, 1]),
            Mempolicy::Preferred(0),
            Mempolicy::Interleave(vec![0, 1]),
        ] {
            let mut last = Cpupid::UNSET;
            assert_eq!(
                mpol_misplaced(&pol, false, 0, &p, None, &mut last, true).0,
                None,
                "{pol:?}"
            );
        }
        // ...except MPOL_BIND with MPOL_F_NUMA_BALANCING, toward a bound node.
        let mut last = Cpupid::UNSET;
        let bind = Mempolicy::Bind(vec![0, 1]);
        assert_eq!(
            mpol_misplaced(&bind, true, 0, &p, None, &mut last, true).0,
            Some(1)
        );
        let bind0 = Mempolicy::Bind(vec![0, 2]);
        assert_eq!(mpol_verdict(&bind0, true, 0, 1), PolicyVerdict::Stay);
    }

    #[test]
    fn target_node_needs_room_above_high_plus_the_folio() {
        let normal = ZoneRoom {
            managed: true,
            free: 10_000,
            highatomic: 0,
            high: 9_000,
            lowmem_reserve_movable: 0,
        };
        assert!(migrate_balanced_pgdat(&[normal], 1));
        assert!(migrate_balanced_pgdat(&[normal], 999));
        // free must exceed high + nr: 10000 > 9000 + 1000 is false.
        assert!(!migrate_balanced_pgdat(&[normal], 1000));
        assert!(!migrate_balanced_pgdat(&[normal], 512 * 2));
        // The highatomic reserve does not count.
        let reserved = ZoneRoom {
            highatomic: 2_000,
            ..normal
        };
        assert!(!migrate_balanced_pgdat(&[reserved], 1));
        // Nor does a lowmem reserve against movable allocations.
        let protected = ZoneRoom {
            lowmem_reserve_movable: 1_000,
            ..normal
        };
        assert!(!migrate_balanced_pgdat(&[protected], 1));
        // Any managed zone will do; an unmanaged one never.
        let dma32 = ZoneRoom {
            free: 50_000,
            high: 100,
            ..normal
        };
        let tight = ZoneRoom {
            free: 100,
            ..normal
        };
        assert!(migrate_balanced_pgdat(&[dma32, tight], 512));
        let unmanaged = ZoneRoom {
            managed: false,
            ..dma32
        };
        assert!(!migrate_balanced_pgdat(&[unmanaged, tight], 512));
    }

    #[test]
    fn counter_identities_per_fault() {
        let mut c = FaultCounts::default();
        let mut base = 0;
        for (i, m) in [
            Migration::NotMisplaced,
            Migration::Refused,
            Migration::Failed,
            Migration::Migrated,
        ]
        .into_iter()
        .enumerate()
        {
            for thp in [false, true] {
                let before = c;
                c.count(i % 2 == 0, thp, m);
                assert_eq!(c.numa_hint_faults, before.numa_hint_faults + 1);
                if m == Migration::Migrated && thp {
                    assert_eq!(c.pgmigrate_success - before.pgmigrate_success, 512);
                    assert_eq!(c.thp_migration_success - before.thp_migration_success, 1);
                }
                if m == Migration::Failed && thp {
                    assert_eq!(c.pgmigrate_fail - before.pgmigrate_fail, 512);
                    assert_eq!(c.thp_migration_fail - before.thp_migration_fail, 1);
                }
                base += 1;
            }
        }
        assert_eq!(c.numa_hint_faults, base);
        assert!(c.numa_hint_faults_local <= c.numa_hint_faults);
        assert!(c.numa_pages_migrated <= c.pgmigrate_success);
        assert_eq!(c.pgmigrate_success, 513);
        assert_eq!(c.pgmigrate_fail, 513);
        assert!(FaultCounts::migrate_fail_flag(Migration::Refused));
        assert!(!FaultCounts::migrate_fail_flag(Migration::NotMisplaced));
    }
}
