//! Kernel paths record what they do: the locks they take and drop, where
//! they may sleep, and every allocation with its GFP flags. The record of
//! a hugetlb resize with HVO shows what the HVO series says the kernel
//! does: hugetlb_lock is dropped around every allocation that may sleep
//! (the fresh page, the vmemmap PTE tables, the vmemmap pages restored
//! when a page is freed: "a non sleeping allocation would be too fragile",
//! ../shared/seeds/002).

use numasim::kernel::hugetlb::{HUGE_PAGE_GFP, VMEMMAP_RESTORE_GFP};
use numasim::kernel::path::{Event, Gfp, LockClass, Path};
use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;
use numasim::procfs;

fn small() -> Machine {
    Machine::boot(Scenario::load("small").unwrap(), None).unwrap()
}

/// An allocation of a record: its site, flags and the locks held.
type Alloc = (&'static str, Gfp, Vec<LockClass>);

/// Replays a record's lock events: the locks held at each allocation, and
/// at the end.
fn held_at_allocs(p: &Path) -> (Vec<Alloc>, Vec<LockClass>) {
    let mut held = Vec::new();
    let mut out = Vec::new();
    for e in &p.events {
        match e {
            Event::Lock { class, .. } => held.push(*class),
            Event::Unlock { class } => {
                let i = held
                    .iter()
                    .rposition(|c| c == class)
                    .unwrap_or_else(|| panic!("{}: unlock of {} not held", p.name, class.name()));
                held.remove(i);
            }
            Event::Alloc { site, gfp, .. } => out.push((*site, *gfp, held.clone())),
            Event::MightSleep { .. } => {}
        }
    }
    (out, held)
}

#[test]
fn a_resize_with_hvo_drops_hugetlb_lock_around_its_allocations() {
    let mut m = small();
    procfs::write(&mut m, "/proc/sys/vm/hugetlb_optimize_vmemmap", "1").unwrap();
    procfs::write(&mut m, "/proc/sys/vm/nr_hugepages", "6").unwrap();
    let grow = m.paths.last().unwrap().clone();
    assert_eq!(grow.name, "set_max_huge_pages");
    let (allocs, end) = held_at_allocs(&grow);
    assert!(end.is_empty(), "every lock released: {end:?}");
    let fresh: Vec<_> = allocs
        .iter()
        .filter(|a| a.0 == "alloc_buddy_hugetlb_folio")
        .collect();
    assert_eq!(fresh.len(), 6, "one fresh page each");
    for (site, gfp, held) in &allocs {
        assert!(
            !held.contains(&LockClass::HugetlbLock),
            "{site} ({gfp}) ran under hugetlb_lock: {held:?}"
        );
        // The resize mutex is held throughout (it is a sleeping lock).
        assert_eq!(held.first(), Some(&LockClass::HugetlbResizeLock));
    }
    assert!(fresh.iter().all(|a| a.1 == HUGE_PAGE_GFP));
    // HVO split the vmemmap PMDs: their PTE tables, under init_mm's
    // mmap_lock, with GFP_PGTABLE_KERNEL.
    assert!(allocs.iter().any(|a| a.0 == "pte_alloc_one_kernel"
        && a.1 == Gfp::PGTABLE_KERNEL
        && a.2.contains(&LockClass::InitMmMmapLock)));
    // And the record says hugetlb_lock was taken between the allocations
    // (to account and enqueue each page).
    let locks = grow
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Lock {
                    class: LockClass::HugetlbLock,
                    ..
                }
            )
        })
        .count();
    assert!(locks >= 6, "hugetlb_lock taken {locks} times");

    procfs::write(&mut m, "/proc/sys/vm/nr_hugepages", "0").unwrap();
    let shrink = m.paths.last().unwrap().clone();
    let (allocs, end) = held_at_allocs(&shrink);
    assert!(end.is_empty());
    let restores: Vec<_> = allocs
        .iter()
        .filter(|a| a.0 == "alloc_vmemmap_page_list")
        .collect();
    // Seven vmemmap pages back per 2 MiB page.
    assert_eq!(restores.len(), 6 * 7);
    for (_, gfp, held) in &restores {
        assert_eq!(*gfp, VMEMMAP_RESTORE_GFP);
        assert!(gfp.allows_blocking(), "GFP_KERNEL may sleep");
        assert!(
            !held.contains(&LockClass::HugetlbLock),
            "the vmemmap restore ran under hugetlb_lock: {held:?}"
        );
    }
    // Printed for a reader of mm/.
    let text = procfs::read(&mut m, "/sys/kernel/debug/numasim/paths").unwrap();
    assert!(
        text.contains("path set_max_huge_pages (sh) at tick 0"),
        "{text}"
    );
    assert!(
        text.contains("alloc alloc_vmemmap_page_list order 0 node 0 gfp GFP_KERNEL|__GFP_NORETRY|__GFP_THISNODE: ok"),
        "{text}"
    );
}

/// Every path the machine runs leaves its locks balanced and never makes a
/// blocking allocation under a spinlock (the default kernel is clean).
#[test]
fn every_path_balances_its_locks_and_sleeps_only_outside_spinlocks() {
    let mut m = small();
    let script = "\
tick 40
echo 1 > /proc/sys/vm/hugetlb_optimize_vmemmap
echo 8 > /proc/sys/vm/nr_hugepages
spawn x cpu=1 workload=mixed
map heap task=x pages=6 private
touch heap 4
migrate x 1
unmap heap
echo 2 > /proc/sys/vm/nr_hugepages
echo 50 > /proc/sys/vm/watermark_scale_factor
stop x
";
    let mut seen = Vec::new();
    for line in script.lines() {
        let before = m.paths.paths.len();
        procfs::shell::exec_line(&mut m, line).unwrap();
        let new = m.paths.paths.len() - before;
        for p in m.paths.paths.iter().rev().take(new) {
            seen.push(p.name);
            let (allocs, end) = held_at_allocs(p);
            assert!(end.is_empty(), "{}: still held {end:?}", p.name);
            for (site, gfp, held) in allocs {
                if gfp.allows_blocking() {
                    assert!(
                        held.iter().all(|c| !c.is_spin()),
                        "{}: {site} ({gfp}) may sleep under {held:?}",
                        p.name
                    );
                }
            }
        }
    }
    for name in [
        "set_max_huge_pages",
        "hugetlb_reserve_pages",
        "hugetlb_fault",
        "migrate_pages",
        "munmap",
        "setup_per_zone_wmarks",
        "exit_mmap",
    ] {
        assert!(seen.contains(&name), "{name} not recorded: {seen:?}");
    }
}
