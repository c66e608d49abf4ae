//! A kernel path: what one operation the simulator performs on the
//! kernel's behalf did, step by step, in the terms a lock validator and a
//! reader of mm/ need: which lock classes it took and dropped (and how),
//! where it might sleep, and the GFP flags and outcome of every page
//! allocation it made, at the simulated tick it ran (paths run between
//! ticks and take no simulated time; the steps are ordered).
//!
//! Every control path of the machine runs through one `Path`: the hugetlb
//! pool writes, faults, mappings and migrations, memory hotplug, the
//! sysctl writes that recompute watermarks, task start and stop. Nothing
//! validates the record here; it is the seam a lockdep-style validator
//! plugs into (`kernel::lockdep` validates every record as it is kept,
//! and turns the steps' costs into lock hold times for /proc/lock_stat).
//! The machine keeps the newest records (`/sys/kernel/debug/numasim/paths`).

use std::collections::VecDeque;

/// What kind of lock a class is (lockdep's wait types follow from it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockKind {
    /// `spinlock_t`: holding it forbids sleeping.
    Spinlock,
    /// `struct mutex`.
    Mutex,
    /// `struct rw_semaphore` (down_read / down_write).
    Rwsem,
    /// `struct percpu_rw_semaphore`.
    PercpuRwsem,
    /// A page-flag bit lock (`PG_locked`): sleeping, not tracked by lockdep.
    BitLock,
    /// A lockdep map with no lock behind it (`__fs_reclaim_map`): it
    /// records "may enter reclaim" as a dependency.
    Map,
}

impl LockKind {
    pub fn name(self) -> &'static str {
        match self {
            LockKind::Spinlock => "spinlock",
            LockKind::Mutex => "mutex",
            LockKind::Rwsem => "rwsem",
            LockKind::PercpuRwsem => "percpu rwsem",
            LockKind::BitLock => "bit lock",
            LockKind::Map => "lockdep map",
        }
    }
    /// lockdep's `-{outer:inner}` wait type (include/linux/lockdep_types.h
    /// `enum lockdep_wait_type`: LD_WAIT_CONFIG 3 for `spinlock_t` outside
    /// PREEMPT_RT, LD_WAIT_SLEEP 4 for sleeping locks; a map has none).
    pub fn wait_type(self) -> (u8, u8) {
        match self {
            LockKind::Spinlock => (3, 3),
            LockKind::Map => (0, 0),
            _ => (4, 4),
        }
    }
}

/// A lock class (lockdep's unit): one per lock the modelled paths take,
/// named as lockdep prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockClass {
    /// `zone->lock` (mm/page_alloc.c): the buddy free lists of a zone.
    ZoneLock,
    /// `lruvec->lru_lock`.
    LruLock,
    /// `hugetlb_lock` (mm/hugetlb.c): every hstate's counters and lists.
    HugetlbLock,
    /// `h->resize_lock`: serializes pool resizes (`set_max_huge_pages`).
    HugetlbResizeLock,
    /// `hugetlb_fault_mutex_table[hash]`.
    HugetlbFaultMutex,
    /// The hugetlb VMA lock (`hugetlb_vma_lock_read`, 6.1's
    /// `vma_lock->rw_sema`, for PMD sharing).
    HugetlbVmaLock,
    /// `mm->mmap_lock` of a task.
    MmapLock,
    /// The per-VMA lock (`vma_start_read`/`vma_start_write`, 6.4).
    VmaLock,
    /// `mapping->i_mmap_rwsem`.
    IMmapRwsem,
    /// A hugetlbfs file's `i_mmap_rwsem` (its own lockdep key,
    /// `hugetlbfs_i_mmap_rwsem_key`, for PMD sharing).
    HugetlbfsIMmapRwsem,
    /// `anon_vma->rwsem`.
    AnonVmaRwsem,
    /// `init_mm.mmap_lock`: the kernel's own page tables (the vmemmap).
    InitMmMmapLock,
    /// `init_mm.page_table_lock` (split_vmemmap_huge_pmd).
    InitMmPageTableLock,
    /// The folio lock (`PG_locked`, a page-flag bit lock: lockdep does not
    /// track it; numasim does).
    FolioLock,
    /// A split PTE page-table lock.
    PtlPte,
    /// A PMD page-table lock.
    PtlPmd,
    /// `mem_hotplug_lock` (a percpu rwsem).
    MemHotplugLock,
    /// `page_reporting_mutex` (mm/page_reporting.c).
    PageReportingMutex,
    /// lockdep's `fs_reclaim` map (mm/page_alloc.c `__fs_reclaim_map`):
    /// acquired and released by every allocation that may enter direct
    /// reclaim with `__GFP_FS` (`fs_reclaim_acquire()` in `might_alloc()`),
    /// held across reclaim itself.
    FsReclaim,
}

/// Every class, for the files that list them.
pub const ALL_CLASSES: [LockClass; 19] = [
    LockClass::ZoneLock,
    LockClass::LruLock,
    LockClass::HugetlbLock,
    LockClass::HugetlbResizeLock,
    LockClass::HugetlbFaultMutex,
    LockClass::HugetlbVmaLock,
    LockClass::MmapLock,
    LockClass::VmaLock,
    LockClass::IMmapRwsem,
    LockClass::HugetlbfsIMmapRwsem,
    LockClass::AnonVmaRwsem,
    LockClass::InitMmMmapLock,
    LockClass::InitMmPageTableLock,
    LockClass::FolioLock,
    LockClass::PtlPte,
    LockClass::PtlPmd,
    LockClass::MemHotplugLock,
    LockClass::PageReportingMutex,
    LockClass::FsReclaim,
];

impl LockClass {
    /// The class name as lockdep prints it.
    pub fn name(self) -> &'static str {
        match self {
            LockClass::ZoneLock => "&zone->lock",
            LockClass::LruLock => "&lruvec->lru_lock",
            LockClass::HugetlbLock => "hugetlb_lock",
            LockClass::HugetlbResizeLock => "&h->resize_lock",
            LockClass::HugetlbFaultMutex => "&hugetlb_fault_mutex_table[i]",
            LockClass::HugetlbVmaLock => "&vma_lock->rw_sema",
            LockClass::MmapLock => "&mm->mmap_lock",
            LockClass::VmaLock => "&vma->vm_lock->lock",
            LockClass::IMmapRwsem => "&mapping->i_mmap_rwsem",
            LockClass::HugetlbfsIMmapRwsem => "&hugetlbfs_i_mmap_rwsem_key",
            LockClass::AnonVmaRwsem => "&anon_vma->rwsem",
            LockClass::InitMmMmapLock => "init_mm.mmap_lock",
            LockClass::InitMmPageTableLock => "init_mm.page_table_lock",
            LockClass::FolioLock => "PG_locked",
            LockClass::PtlPte => "ptlock_ptr(ptdesc)",
            LockClass::PtlPmd => "pmd_lockptr(mm, pmd)",
            LockClass::MemHotplugLock => "mem_hotplug_lock",
            LockClass::PageReportingMutex => "page_reporting_mutex",
            LockClass::FsReclaim => "fs_reclaim",
        }
    }

    pub fn kind(self) -> LockKind {
        use LockClass::*;
        match self {
            ZoneLock | LruLock | HugetlbLock | InitMmPageTableLock | PtlPte | PtlPmd => {
                LockKind::Spinlock
            }
            HugetlbResizeLock | HugetlbFaultMutex | PageReportingMutex => LockKind::Mutex,
            HugetlbVmaLock | MmapLock | VmaLock | IMmapRwsem | HugetlbfsIMmapRwsem
            | AnonVmaRwsem | InitMmMmapLock => LockKind::Rwsem,
            MemHotplugLock => LockKind::PercpuRwsem,
            FolioLock => LockKind::BitLock,
            FsReclaim => LockKind::Map,
        }
    }

    /// Whether holding it forbids sleeping (a spinlock).
    pub fn is_spin(self) -> bool {
        self.kind() == LockKind::Spinlock
    }

    /// Whether lockdep itself tracks it (a bit lock has no `lockdep_map`).
    pub fn lockdep_tracks(self) -> bool {
        self.kind() != LockKind::BitLock
    }
}

/// How a lock is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `spin_lock`, `spin_lock_irq(save)`.
    Spin,
    /// `mutex_lock`.
    Mutex,
    /// `down_read`, `mmap_read_lock`, `percpu_down_read`.
    Read,
    /// `down_write`, `mmap_write_lock`.
    Write,
    /// `folio_lock`: a bit lock, sleeping.
    Bit,
    /// `spin_trylock`, `folio_trylock`, `i_mmap_trylock_write`: never
    /// waits, so lockdep adds no dependency on it (`validate_chain()` skips
    /// trylocks) and checks no recursion; locks taken under it still
    /// depend on it.
    Try,
    /// `read_lock()` of an `rwlock_t`: a recursive read (lockdep's
    /// `read == 2`), the only kind `check_deadlock()` lets nest on itself.
    ReadRecursive,
    /// `lock_map_acquire()` of a lockdep map.
    Map,
}

impl Mode {
    /// Whether the acquisition is a read (shared) one.
    pub fn is_read(self) -> bool {
        matches!(self, Mode::Read | Mode::ReadRecursive)
    }
}

/// GFP flags (include/linux/gfp_types.h), as bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Gfp(pub u32);

impl Gfp {
    pub const HIGHMEM: Gfp = Gfp(1 << 1);
    pub const DMA32: Gfp = Gfp(1 << 2);
    pub const MOVABLE: Gfp = Gfp(1 << 3);
    pub const HIGH: Gfp = Gfp(1 << 5);
    pub const IO: Gfp = Gfp(1 << 6);
    pub const FS: Gfp = Gfp(1 << 7);
    pub const ZERO: Gfp = Gfp(1 << 8);
    pub const DIRECT_RECLAIM: Gfp = Gfp(1 << 10);
    pub const KSWAPD_RECLAIM: Gfp = Gfp(1 << 11);
    pub const WRITE: Gfp = Gfp(1 << 12);
    pub const NOWARN: Gfp = Gfp(1 << 13);
    pub const RETRY_MAYFAIL: Gfp = Gfp(1 << 14);
    pub const NOFAIL: Gfp = Gfp(1 << 15);
    pub const NORETRY: Gfp = Gfp(1 << 16);
    pub const COMP: Gfp = Gfp(1 << 18);
    pub const HARDWALL: Gfp = Gfp(1 << 20);
    pub const THISNODE: Gfp = Gfp(1 << 21);
    pub const ACCOUNT: Gfp = Gfp(1 << 22);

    pub const RECLAIM: Gfp = Gfp(Self::DIRECT_RECLAIM.0 | Self::KSWAPD_RECLAIM.0);
    pub const KERNEL: Gfp = Gfp(Self::RECLAIM.0 | Self::IO.0 | Self::FS.0);
    pub const ATOMIC: Gfp = Gfp(Self::HIGH.0 | Self::KSWAPD_RECLAIM.0);
    pub const NOWAIT: Gfp = Gfp(Self::KSWAPD_RECLAIM.0);
    pub const USER: Gfp = Gfp(Self::KERNEL.0 | Self::HARDWALL.0);
    pub const HIGHUSER_MOVABLE: Gfp = Gfp(Self::USER.0 | Self::HIGHMEM.0 | Self::MOVABLE.0);
    /// `GFP_PGTABLE_KERNEL`.
    pub const PGTABLE_KERNEL: Gfp = Gfp(Self::KERNEL.0 | Self::ZERO.0);

    pub const fn with(self, o: Gfp) -> Gfp {
        Gfp(self.0 | o.0)
    }
    pub const fn has(self, o: Gfp) -> bool {
        self.0 & o.0 == o.0
    }
    /// `gfpflags_allow_blocking()`: direct reclaim may sleep.
    pub const fn allows_blocking(self) -> bool {
        self.0 & Self::DIRECT_RECLAIM.0 != 0
    }
}

impl std::fmt::Display for Gfp {
    /// As the kernel's tracepoints print a mask (`show_gfp_flags`): the
    /// largest named composite first, then the single flags left.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let composites = [
            (Gfp::HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"),
            (Gfp::USER, "GFP_USER"),
            (Gfp::KERNEL, "GFP_KERNEL"),
            (Gfp::ATOMIC, "GFP_ATOMIC"),
            (Gfp::NOWAIT, "GFP_NOWAIT"),
        ];
        // In __def_gfpflag_names order (include/trace/events/mmflags.h).
        let singles = [
            (Gfp::HIGHMEM, "__GFP_HIGHMEM"),
            (Gfp::DMA32, "GFP_DMA32"),
            (Gfp::HIGH, "__GFP_HIGH"),
            (Gfp::IO, "__GFP_IO"),
            (Gfp::FS, "__GFP_FS"),
            (Gfp::NOWARN, "__GFP_NOWARN"),
            (Gfp::RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL"),
            (Gfp::NOFAIL, "__GFP_NOFAIL"),
            (Gfp::NORETRY, "__GFP_NORETRY"),
            (Gfp::COMP, "__GFP_COMP"),
            (Gfp::ZERO, "__GFP_ZERO"),
            (Gfp::HARDWALL, "__GFP_HARDWALL"),
            (Gfp::THISNODE, "__GFP_THISNODE"),
            (Gfp::MOVABLE, "__GFP_MOVABLE"),
            (Gfp::ACCOUNT, "__GFP_ACCOUNT"),
            (Gfp::WRITE, "__GFP_WRITE"),
            (Gfp::RECLAIM, "__GFP_RECLAIM"),
            (Gfp::DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"),
            (Gfp::KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"),
        ];
        let mut left = self.0;
        let mut parts = Vec::new();
        for (g, n) in composites {
            if left & g.0 == g.0 {
                parts.push(n);
                left &= !g.0;
                break;
            }
        }
        for (g, n) in singles {
            if left & g.0 == g.0 {
                parts.push(n);
                left &= !g.0;
            }
        }
        if parts.is_empty() {
            return f.write_str("0");
        }
        f.write_str(&parts.join("|"))
    }
}

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    Lock {
        class: LockClass,
        mode: Mode,
        /// The nesting annotation (`spin_lock_nested(l, SINGLE_DEPTH_NESTING)`
        /// is 1): a distinct lockdep class key, printed `name/1`.
        subclass: u8,
    },
    Unlock {
        class: LockClass,
    },
    /// A point where the path may sleep (`might_sleep()`, `cond_resched()`,
    /// a blocking allocation's `might_alloc()`).
    MightSleep {
        site: &'static str,
    },
    /// A page allocation: its flags, order, node and whether it succeeded.
    Alloc {
        site: &'static str,
        gfp: Gfp,
        order: u32,
        node: u32,
        ok: bool,
    },
}

impl std::fmt::Display for Event {
    /// One step as the records print it (`lock hugetlb_lock (Spin)`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Lock {
                class,
                mode,
                subclass,
            } => {
                let sub = if *subclass > 0 {
                    format!("/{subclass}")
                } else {
                    String::new()
                };
                write!(f, "lock {}{sub} ({mode:?})", class.name())
            }
            Event::Unlock { class } => write!(f, "unlock {}", class.name()),
            Event::MightSleep { site } => write!(f, "might_sleep {site}"),
            Event::Alloc {
                site,
                gfp,
                order,
                node,
                ok,
            } => write!(
                f,
                "alloc {site} order {order} node {node} gfp {gfp}: {}",
                if *ok { "ok" } else { "failed" }
            ),
        }
    }
}

/// The record of one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    /// The kernel function the path models (`set_max_huge_pages`).
    pub name: &'static str,
    /// The simulated tick it ran at.
    pub tick: u64,
    /// The task it runs for (`comm/pid` in reports): a task's name, or
    /// `sh` for a write from the shell.
    pub comm: String,
    /// Its pid in reports (1 for the shell, 100 + the task's index).
    pub pid: u32,
    pub events: Vec<Event>,
    /// Locks held now, innermost last, with whether their acquisition is
    /// in `events`.
    held: Vec<(LockClass, Event, bool)>,
    /// Past the cap: the contexts (locks held, step) already kept.
    seen: std::collections::BTreeSet<u64>,
    /// Allocations made (counted, not recorded, past the record's cap).
    pub allocs: u64,
    /// Events past `MAX_EVENTS` that were counted but not kept.
    pub dropped: u64,
}

/// Steps kept whole per path: a pool resize of 500,000 pages makes
/// millions of allocations. Past them a step is kept only when it is new
/// in its context (the locks held and the step itself), with the
/// acquisitions of the locks it runs under, so the validator still sees
/// every lock order and every sleep point the path has, and the rest is
/// counted.
pub const MAX_EVENTS: usize = 4096;

impl Path {
    pub fn new(name: &'static str, tick: u64) -> Path {
        Path {
            name,
            tick,
            comm: "sh".to_string(),
            pid: 1,
            events: Vec::new(),
            held: Vec::new(),
            seen: Default::default(),
            allocs: 0,
            dropped: 0,
        }
    }

    /// Records a step; returns whether it was kept.
    fn push(&mut self, e: Event) -> bool {
        use std::hash::{Hash, Hasher};
        let mut h = Fx(0);
        for (_, acq, _) in &self.held {
            acq.hash(&mut h);
        }
        e.hash(&mut h);
        let new = self.seen.insert(h.finish());
        if self.events.len() < MAX_EVENTS {
            self.events.push(e);
            return true;
        }
        if !new {
            self.dropped += 1;
            return false;
        }
        // The locks it runs under, where their acquisitions were not kept.
        for i in 0..self.held.len() {
            if !self.held[i].2 {
                self.events.push(self.held[i].1.clone());
                self.held[i].2 = true;
                self.dropped -= 1;
            }
        }
        self.events.push(e);
        true
    }

    /// The path runs for task `comm`.
    pub fn for_task(mut self, comm: &str, index: usize) -> Path {
        self.comm = comm.to_string();
        self.pid = 100 + index as u32;
        self
    }

    pub fn lock(&mut self, class: LockClass, mode: Mode) {
        self.lock_nested(class, mode, 0);
    }

    /// `spin_lock_nested()`, `down_read_nested()`: a lock of a class
    /// already held, annotated as a different subclass.
    pub fn lock_nested(&mut self, class: LockClass, mode: Mode, subclass: u8) {
        let sleeps = matches!(
            class.kind(),
            LockKind::Mutex | LockKind::Rwsem | LockKind::PercpuRwsem | LockKind::BitLock
        );
        if sleeps && mode != Mode::Try {
            // Taking a sleeping lock may sleep (`might_sleep()` in
            // `mutex_lock()`, `down_read()`, `folio_lock()`).
            self.might_sleep(class.name());
        }
        let e = Event::Lock {
            class,
            mode,
            subclass,
        };
        let kept = self.push(e.clone());
        self.held.push((class, e, kept));
    }

    pub fn unlock(&mut self, class: LockClass) {
        let kept = match self.held.iter().rposition(|h| h.0 == class) {
            Some(i) => self.held.remove(i).2,
            None => true,
        };
        // The release of a kept acquisition is always kept (the record
        // stays balanced); of a dropped one, never.
        if kept {
            self.events.push(Event::Unlock { class });
        } else {
            self.dropped += 1;
        }
    }

    pub fn might_sleep(&mut self, site: &'static str) {
        self.push(Event::MightSleep { site });
    }

    /// `might_alloc()` at an allocation's entry: a blocking mask may
    /// sleep (before any lock the allocator takes).
    ///
    /// With `__GFP_FS` as well, lockdep's `fs_reclaim` map is taken and
    /// dropped (`fs_reclaim_acquire()`/`fs_reclaim_release()`): every lock
    /// held here then orders before reclaim.
    pub fn might_alloc(&mut self, site: &'static str, gfp: Gfp) {
        if gfp.allows_blocking() && gfp.has(Gfp::FS) {
            self.lock(LockClass::FsReclaim, Mode::Map);
            self.unlock(LockClass::FsReclaim);
        }
        if gfp.allows_blocking() {
            self.might_sleep(site);
        }
    }

    /// Records an allocation's outcome.
    pub fn alloc(&mut self, site: &'static str, gfp: Gfp, order: u32, node: u32, ok: bool) {
        self.allocs += 1;
        self.push(Event::Alloc {
            site,
            gfp,
            order,
            node,
            ok,
        });
    }

    /// The locks held now, outermost first.
    pub fn held(&self) -> Vec<LockClass> {
        self.held.iter().map(|h| h.0).collect()
    }

    /// The record in lines, for `/sys/kernel/debug/numasim/paths`.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "path {} ({}) at tick {}: {} steps, {} allocations{}\n",
            self.name,
            self.comm,
            self.tick,
            self.events.len() as u64 + self.dropped,
            self.allocs,
            if self.dropped > 0 {
                format!(
                    " ({} steps past the first {MAX_EVENTS} not kept: they repeat a kept step under the same locks)",
                    self.dropped
                )
            } else {
                String::new()
            }
        );
        let mut depth = 0usize;
        for e in &self.events {
            if matches!(e, Event::Unlock { .. }) {
                depth = depth.saturating_sub(1);
            }
            s += &format!("{}{e}\n", "  ".repeat(depth + 1));
            if matches!(e, Event::Lock { .. }) {
                depth += 1;
            }
        }
        s
    }
}

/// A small multiplicative hasher for step contexts (they are hashed once
/// per step of every path; SipHash would cost a long resize a third of a
/// second).
struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64)
    }
    fn write_u8(&mut self, v: u8) {
        self.write_u64(v as u64)
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64)
    }
}

/// The newest paths a machine ran.
#[derive(Clone, Debug, Default)]
pub struct PathLog {
    pub paths: VecDeque<Path>,
}

/// Paths kept.
pub const PATH_LOG: usize = 64;

impl PathLog {
    pub fn push(&mut self, p: Path) {
        if self.paths.len() == PATH_LOG {
            self.paths.pop_front();
        }
        self.paths.push_back(p);
    }
    pub fn last(&self) -> Option<&Path> {
        self.paths.back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gfp_masks_print_as_the_kernel_names_them() {
        assert_eq!(Gfp::KERNEL.to_string(), "GFP_KERNEL");
        assert_eq!(
            Gfp::KERNEL
                .with(Gfp::NORETRY)
                .with(Gfp::THISNODE)
                .to_string(),
            "GFP_KERNEL|__GFP_NORETRY|__GFP_THISNODE"
        );
        assert_eq!(Gfp::HIGHUSER_MOVABLE.to_string(), "GFP_HIGHUSER_MOVABLE");
        // The migration target's mask: GFP_USER, not GFP_HIGHUSER_MOVABLE.
        assert_eq!(
            Gfp::USER
                .with(Gfp::MOVABLE)
                .with(Gfp::RETRY_MAYFAIL)
                .to_string(),
            "GFP_USER|__GFP_RETRY_MAYFAIL|__GFP_MOVABLE"
        );
        assert_eq!(Gfp::ATOMIC.to_string(), "GFP_ATOMIC");
        assert!(!Gfp::ATOMIC.allows_blocking());
        assert!(Gfp::KERNEL.allows_blocking());
    }

    #[test]
    fn held_locks_follow_lock_and_unlock() {
        let mut p = Path::new("t", 3);
        p.lock(LockClass::HugetlbResizeLock, Mode::Mutex);
        p.lock(LockClass::HugetlbLock, Mode::Spin);
        assert_eq!(
            p.held(),
            vec![LockClass::HugetlbResizeLock, LockClass::HugetlbLock]
        );
        p.unlock(LockClass::HugetlbLock);
        p.might_alloc("x", Gfp::KERNEL);
        p.alloc("x", Gfp::KERNEL, 0, 0, true);
        assert_eq!(p.held(), vec![LockClass::HugetlbResizeLock]);
        // The mutex's own sleep point, then the allocation's.
        assert_eq!(
            p.events
                .iter()
                .filter(|e| matches!(e, Event::MightSleep { .. }))
                .count(),
            2
        );
    }

    #[test]
    fn past_the_cap_every_new_context_is_kept_with_its_locks() {
        let mut p = Path::new("long", 0);
        p.lock(LockClass::HugetlbResizeLock, Mode::Mutex);
        for _ in 0..3000 {
            p.lock(LockClass::HugetlbLock, Mode::Spin);
            p.unlock(LockClass::HugetlbLock);
            p.alloc("x", Gfp::KERNEL, 0, 0, true);
        }
        let n = p.events.len();
        assert_eq!(n, MAX_EVENTS);
        // Something new under hugetlb_lock, far past the cap: kept, with
        // the acquisition it runs under.
        p.lock(LockClass::HugetlbLock, Mode::Spin);
        p.lock(LockClass::ZoneLock, Mode::Spin);
        p.unlock(LockClass::ZoneLock);
        p.unlock(LockClass::HugetlbLock);
        p.unlock(LockClass::HugetlbResizeLock);
        let tail: Vec<_> = p.events[n..].to_vec();
        assert_eq!(
            tail,
            vec![
                Event::Lock {
                    class: LockClass::HugetlbLock,
                    mode: Mode::Spin,
                    subclass: 0
                },
                Event::Lock {
                    class: LockClass::ZoneLock,
                    mode: Mode::Spin,
                    subclass: 0
                },
                Event::Unlock {
                    class: LockClass::ZoneLock
                },
                Event::Unlock {
                    class: LockClass::HugetlbLock
                },
                Event::Unlock {
                    class: LockClass::HugetlbResizeLock
                },
            ]
        );
        assert!(p.dropped > 4000);
        assert!(p.held().is_empty());
    }
}
