//! NUMA balancing's rules as the tick runs them, in the 32-bit integer
//! arithmetic the shaders use (`shaders/shared/numa.wgsl` is the twin of
//! this file, function by function): the scan period of
//! `task_numa_work()` and its adaptation, the two-stage filter of
//! `should_numa_migrate_memory()`, `mpol_misplaced()`'s verdict, and the
//! target node's room of `migrate_balanced_pgdat()` (kernel/sched/fair.c,
//! mm/mempolicy.c, mm/migrate.c, Linux 6.1).
//!
//! Time is in jiffies at HZ=250 (Debian's CONFIG_HZ), as `numa_next_scan`
//! is, and a task's run time in milliseconds (the kernel's
//! `sum_exec_runtime` in nanoseconds; a simulated task runs all the time,
//! so its run time moves in whole jiffies and milliseconds lose nothing).

use super::frame::{af_cpupid, af_nid, af_pid, AF_CPUPID, AF_PID_MASK};

/// CONFIG_HZ of the modelled kernel (Debian's 6.1 config).
pub const HZ: u32 = 250;
/// Milliseconds and nanoseconds per jiffy (TICK_NSEC).
pub const MS_PER_JIFFY: u32 = 1000 / HZ;
pub const NS_PER_JIFFY: u32 = 1_000_000_000 / HZ;
/// PAGE_SHIFT.
pub const PAGE_SHIFT: u32 = 12;
/// HPAGE_PMD_NR: base pages in a PMD-mapped THP.
pub const HPAGE_PMD_NR: u32 = 512;
/// "For sanity's sake, never scan more PTEs than MAX_SCAN_WINDOW MB/sec."
pub const MAX_SCAN_WINDOW: u32 = 2560;
/// NUMA_PERIOD_SLOTS and NUMA_PERIOD_THRESHOLD of update_task_scan_period().
pub const NUMA_PERIOD_SLOTS: u32 = 10;
pub const NUMA_PERIOD_THRESHOLD: u32 = 7;
/// `tlb_single_page_flush_ceiling` (arch/x86/mm/tlb.c): a flush of more
/// entries flushes everything.
pub const TLB_SINGLE_PAGE_FLUSH_CEILING: u32 = 33;
/// ACTIVE_NODE_FRACTION in kernel/sched/fair.c.
pub const ACTIVE_NODE_FRACTION: u32 = 3;
/// Fault statistics saturate here, so the group stage's three-factor
/// products fit 64 bits (the kernel's are unsigned long).
pub const FAULTS_MAX: u32 = 1 << 30;
/// Scan periods saturate here (12 days), so the adaptation's signed
/// arithmetic stays within 32 bits on every backend.
pub const NUMA_PERIOD_CAP_MS: u32 = 1 << 30;

/// `floor(a * b / c)` with a 64-bit product, saturated to 32 bits (the
/// shaders divide the 64-bit product bit by bit). `c == 0` gives the
/// saturated value.
pub fn mul_div(a: u32, b: u32, c: u32) -> u32 {
    if c == 0 {
        return u32::MAX;
    }
    (a as u64 * b as u64 / c as u64).min(u32::MAX as u64) as u32
}

/// `jiffies` at the start of tick `tick` of `tick_ns` nanoseconds.
pub fn jiffies_at(tick: u32, tick_ns: u32) -> u32 {
    mul_div(tick, tick_ns, NS_PER_JIFFY)
}

/// `msecs_to_jiffies()` at HZ=250: rounds up (`_msecs_to_jiffies()` for
/// HZ dividing MSEC_PER_SEC: DIV_ROUND_UP(m, MSEC_PER_SEC / HZ)).
pub fn msecs_to_jiffies(ms: u32) -> u32 {
    ms / MS_PER_JIFFY + u32::from(!ms.is_multiple_of(MS_PER_JIFFY))
}

/// `x.div_ceil(d)` without overflow, d > 0.
fn div_ceil(x: u32, d: u32) -> u32 {
    x / d + u32::from(!x.is_multiple_of(d))
}

/// The tunables under /sys/kernel/debug/sched/numa_balancing/.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tunables {
    pub scan_delay_ms: u32,
    pub scan_period_min_ms: u32,
    pub scan_period_max_ms: u32,
    pub scan_size_mb: u32,
}

impl Default for Tunables {
    /// kernel/sched/fair.c's initial values.
    fn default() -> Tunables {
        Tunables {
            scan_delay_ms: 1000,
            scan_period_min_ms: 1000,
            scan_period_max_ms: 60000,
            scan_size_mb: 256,
        }
    }
}

impl Tunables {
    /// Pages of one scan window: `scan_size << (20 - PAGE_SHIFT)` (the
    /// kernel's long; saturated at 32 bits here: 16 TiB of pages).
    pub fn scan_pages(&self) -> u32 {
        self.scan_size_mb.min(u32::MAX >> 8) << (20 - PAGE_SHIFT)
    }
}

/// What `task_scan_start()`/`task_scan_max()` read of the task's numa
/// group: its refcount (threads in it) and the group's private and shared
/// memory faults summed over nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupFaults {
    pub refcount: u32,
    pub private: u32,
    pub shared: u32,
}

impl GroupFaults {
    /// `period * refcount * (shared + 1) / (private + shared + 1)`.
    fn scale(&self, period: u32) -> u32 {
        mul_div(
            period.saturating_mul(self.refcount),
            self.shared.saturating_add(1),
            self.private.saturating_add(self.shared).saturating_add(1),
        )
    }
}

/// `task_nr_scan_windows()`: the resident size in scan windows, rounded
/// up; an empty mm counts as one window. A scan size of 0 makes the
/// kernel divide by zero here; the model answers one window (and
/// `task_numa_work()` scans nothing: `if (!pages) return;`).
pub fn task_nr_scan_windows(s: &Tunables, rss_pages: u32) -> u32 {
    let win = s.scan_pages();
    if win == 0 {
        return 1;
    }
    let rss = if rss_pages == 0 { win } else { rss_pages };
    div_ceil(rss, win)
}

/// `task_scan_min()`: the period floor, at most MAX_SCAN_WINDOW MB/s of
/// scanning. (A scan size of 0 divides by zero in the kernel's
/// `MAX_SCAN_WINDOW / scan_size`; the model keeps one window.)
pub fn task_scan_min(s: &Tunables, rss_pages: u32) -> u32 {
    let mut windows = 1;
    if s.scan_size_mb > 0 && s.scan_size_mb < MAX_SCAN_WINDOW {
        windows = MAX_SCAN_WINDOW / s.scan_size_mb;
    }
    let floor = 1000 / windows;
    let scan = s.scan_period_min_ms / task_nr_scan_windows(s, rss_pages);
    floor.max(scan).min(NUMA_PERIOD_CAP_MS)
}

/// `task_scan_start()`: the first period, task_scan_min() scaled by the
/// group's share of shared faults.
pub fn task_scan_start(s: &Tunables, rss_pages: u32, group: Option<GroupFaults>) -> u32 {
    let smin = task_scan_min(s, rss_pages);
    let period = group.map_or(smin, |g| g.scale(smin));
    smin.max(period).min(NUMA_PERIOD_CAP_MS)
}

/// `task_scan_max()`: the period ceiling, scan_period_max divided over the
/// windows, raised by the group scaling.
pub fn task_scan_max(s: &Tunables, rss_pages: u32, group: Option<GroupFaults>) -> u32 {
    let smin = task_scan_min(s, rss_pages);
    let mut smax = s.scan_period_max_ms / task_nr_scan_windows(s, rss_pages);
    if let Some(g) = group {
        smax = smax.max(g.scale(smax));
    }
    smin.max(smax).min(NUMA_PERIOD_CAP_MS)
}

/// The per-task and per-mm scan state: `p->numa_scan_period`,
/// `p->numa_scan_period_max`, `p->node_stamp` (ms of run time),
/// `mm->numa_next_scan`, `mm->numa_scan_seq`, `mm->numa_scan_offset` and
/// the pass's span (pages of the task's user memory when the pass began:
/// the model's address space), and `p->numa_faults_locality[remote,
/// local, failed]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskScan {
    pub period_ms: u32,
    pub period_max_ms: u32,
    pub node_stamp_ms: u32,
    pub next_scan: u32,
    pub seq: u32,
    pub offset: u32,
    pub span: u32,
    pub locality: [u32; 3],
    /// The task_work is queued (`work->next != work`).
    pub work_queued: bool,
}

/// One `task_numa_work()` pass: the pages of the span it covers,
/// `[lo, hi)`, and whether it reached the end of the address space
/// (`reset_ptenuma_scan()`: the next pass starts over, one seq later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanWindow {
    pub lo: u32,
    pub hi: u32,
    pub wrapped: bool,
}

impl TaskScan {
    /// `init_numa_balancing()` for a new mm (mm_users == 1): the first
    /// scan not before scan_delay, the period set to scan_delay.
    pub fn fork(now_jiffies: u32, s: &Tunables) -> TaskScan {
        TaskScan {
            period_ms: s.scan_delay_ms,
            next_scan: now_jiffies.saturating_add(msecs_to_jiffies(s.scan_delay_ms)),
            ..TaskScan::default()
        }
    }

    /// `task_tick_numa()` at a scheduler tick with the task's run time so
    /// far: once it has run a period past `node_stamp`, the first time
    /// with the period replaced by `task_scan_start()`, the work is queued
    /// when `numa_next_scan` has come. Returns whether it was queued.
    pub fn sched_tick(
        &mut self,
        now_jiffies: u32,
        exec_ms: u32,
        s: &Tunables,
        rss_pages: u32,
        group: Option<GroupFaults>,
    ) -> bool {
        if self.work_queued {
            return false;
        }
        let period = self.period_ms;
        if exec_ms > self.node_stamp_ms.saturating_add(period) {
            if self.node_stamp_ms == 0 {
                self.period_ms = task_scan_start(s, rss_pages, group);
            }
            self.node_stamp_ms = self.node_stamp_ms.saturating_add(period);
            if now_jiffies >= self.next_scan {
                self.work_queued = true;
                return true;
            }
        }
        false
    }

    /// `task_numa_work()` as the task returns to user space: the next scan
    /// is set a period ahead and `node_stamp` moves two ticks, then the
    /// window of this pass over the task's `rss_pages` user pages (None
    /// when it is not time yet or the window is empty).
    pub fn numa_work(
        &mut self,
        now_jiffies: u32,
        s: &Tunables,
        rss_pages: u32,
        group: Option<GroupFaults>,
    ) -> Option<ScanWindow> {
        self.work_queued = false;
        if self.period_ms == 0 {
            self.period_max_ms = task_scan_max(s, rss_pages, group);
            self.period_ms = task_scan_start(s, rss_pages, group);
        }
        if now_jiffies < self.next_scan {
            return None;
        }
        self.next_scan = now_jiffies.saturating_add(msecs_to_jiffies(self.period_ms));
        self.node_stamp_ms = self.node_stamp_ms.saturating_add(2 * MS_PER_JIFFY);
        let pages = s.scan_pages();
        if pages == 0 {
            return None;
        }
        if self.offset == 0 {
            self.span = rss_pages.max(1);
        }
        let lo = self.offset;
        let hi = lo.saturating_add(pages).min(self.span);
        let wrapped = hi >= self.span;
        if wrapped {
            self.seq = self.seq.wrapping_add(1);
            self.offset = 0;
        } else {
            self.offset = hi;
        }
        Some(ScanWindow { lo, hi, wrapped })
    }

    /// `task_numa_fault()`'s locality accounting for `pages` pages:
    /// `numa_faults_locality[local] += pages`, and `[2]` on
    /// TNF_MIGRATE_FAIL.
    pub fn account_fault(&mut self, pages: u32, local: bool, migrate_failed: bool) {
        let l = &mut self.locality[local as usize];
        *l = l.saturating_add(pages);
        if migrate_failed {
            self.locality[2] = self.locality[2].saturating_add(pages);
        }
    }

    /// `update_task_scan_period()`, called from `task_numa_placement()`
    /// once a scan pass has completed (`numa_scan_seq` moved), with the
    /// pass's shared and private fault counts. No local or shared faults,
    /// or any failed migration, doubles the period (to at most
    /// `numa_scan_period_max`) and defers the next scan by it, keeping
    /// the counters. Otherwise a mostly private (ps >= 7 of 10) or mostly
    /// local (lr >= 7) pass lengthens the period by `ratio - 7` slots (at
    /// least one) of a tenth of it, and a mixed pass shortens it by
    /// `7 - max(lr, ps)` slots; clamped to [task_scan_min, task_scan_max],
    /// and the counters are cleared.
    pub fn update_task_scan_period(
        &mut self,
        now_jiffies: u32,
        s: &Tunables,
        rss_pages: u32,
        group: Option<GroupFaults>,
        shared: u32,
        private: u32,
    ) {
        let remote = self.locality[0];
        let local = self.locality[1];
        if local.saturating_add(shared) == 0 || self.locality[2] != 0 {
            self.period_ms = self.period_max_ms.min(self.period_ms.saturating_mul(2));
            self.next_scan = now_jiffies.saturating_add(msecs_to_jiffies(self.period_ms));
            return;
        }
        let slot = div_ceil(self.period_ms, NUMA_PERIOD_SLOTS) as i64;
        let lr = mul_div(
            local,
            NUMA_PERIOD_SLOTS,
            local.saturating_add(remote).max(1),
        ) as i64;
        let ps = mul_div(
            private,
            NUMA_PERIOD_SLOTS,
            private.saturating_add(shared).max(1),
        ) as i64;
        let t = NUMA_PERIOD_THRESHOLD as i64;
        let diff = if ps >= t {
            (ps - t).max(1) * slot
        } else if lr >= t {
            (lr - t).max(1) * slot
        } else {
            -(t - lr.max(ps)) * slot
        };
        let lo = task_scan_min(s, rss_pages) as i64;
        let hi = task_scan_max(s, rss_pages, group) as i64;
        // clamp() with lo <= hi always: task_scan_max() is at least smin.
        self.period_ms = (self.period_ms as i64 + diff).clamp(lo, hi) as u32;
        self.locality = [0; 3];
    }
}

/// The group's per-node fault statistics the filter compares: where its
/// threads faulted from (`group_faults_cpu()`) and where the memory was
/// (`group_faults()`), on the destination and the source node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCmp {
    pub cpu_dst: u32,
    pub cpu_src: u32,
    pub mem_src: u32,
    pub mem_dst: u32,
}

/// Why the filter said what it said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// No preferred node yet or numa_scan_seq <= 4, and the page's last
    /// accessor is unset or this thread: migrate at once.
    EarlyLife,
    /// The page's last access came from another node: wait for a second
    /// fault from this node (the two-stage filter).
    LastNodeDiffers,
    /// A lower-tier page nobody faulted on before, outside tiering mode.
    NoHistoryBelowTopTier,
    /// The same thread faulted last: a private fault.
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

/// What the filter reads of the faulting thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Faulter {
    pub pid: u32,
    /// The node of the CPU the fault runs on.
    pub nid: u32,
    /// `p->numa_preferred_nid` (None for NUMA_NO_NODE).
    pub preferred_nid: Option<u32>,
    /// `p->numa_scan_seq`.
    pub scan_seq: u32,
}

/// `should_numa_migrate_memory()` outside memory-tiering mode: swaps this
/// fault's cpupid into the page's flags (`page_cpupid_xchg_last()`), then
/// decides from the old one.
pub fn should_numa_migrate_memory(
    p: &Faulter,
    group: Option<GroupCmp>,
    flags: &mut u32,
    src_toptier: bool,
) -> Filter {
    let old = *flags;
    *flags = (old & !AF_CPUPID) | af_cpupid(p.nid, p.pid);
    let old_nid = af_nid(old);
    let old_pid = af_pid(old);
    let pid_unset = old_pid == AF_PID_MASK;
    let matches = old_pid == p.pid & AF_PID_MASK;
    if !src_toptier && old_nid.is_none() {
        return Filter::NoHistoryBelowTopTier;
    }
    // "The magic number 4 is based on waiting for two full passes of the
    // multi-stage node selection test."
    if (p.preferred_nid.is_none() || p.scan_seq <= 4) && (pid_unset || matches) {
        return Filter::EarlyLife;
    }
    if !pid_unset && old_nid != Some(p.nid) {
        return Filter::LastNodeDiffers;
    }
    if matches {
        return Filter::Private;
    }
    let Some(g) = group else {
        return Filter::NoGroup;
    };
    if g.cpu_dst as u64 > g.cpu_src as u64 * ACTIVE_NODE_FRACTION as u64 {
        return Filter::GroupCpuMuchHigher;
    }
    let l = g.cpu_dst as u64 * g.mem_src as u64 * 3;
    let r = g.cpu_src as u64 * g.mem_dst as u64 * 4;
    Filter::GroupBalance(l > r)
}

/// `task_numa_fault()`'s private/shared verdict from the page's cpupid
/// before the fault: a first access is private, otherwise private when
/// the same pid (low 8 bits) faulted last.
pub fn fault_is_private(flags_before: u32, pid: u32) -> bool {
    af_nid(flags_before).is_none() || af_pid(flags_before) == pid & AF_PID_MASK
}

/// The policy a fault is judged by, reduced to what `mpol_misplaced()`
/// reads: the mode, its nodemask and MPOL_F_MOF.
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

/// The part of `mpol_misplaced()` before the filter. A task without its
/// own policy gets `preferred_node_policy[numa_node_id()]`, MPOL_PREFERRED
/// of its node with MPOL_F_MOF | MPOL_F_MORON (numasim's `local`); a
/// policy the task set has MPOL_F_MOF only when set with
/// MPOL_F_NUMA_BALANCING, which set_mempolicy(2) accepts with MPOL_BIND
/// (Linux 5.12+): then only toward a bound node.
pub fn mpol_verdict(
    mode: u32,
    nodemask: u32,
    mof: bool,
    curnid: u32,
    thisnid: u32,
) -> PolicyVerdict {
    use super::workload::{MPOL_BIND, MPOL_LOCAL};
    if mode == MPOL_LOCAL {
        if curnid == thisnid {
            PolicyVerdict::Stay
        } else {
            PolicyVerdict::Filter(thisnid)
        }
    } else if mode == MPOL_BIND && mof && nodemask & (1 << thisnid) != 0 {
        PolicyVerdict::Filter(thisnid)
    } else {
        PolicyVerdict::Stay
    }
}

/// What `migrate_balanced_pgdat()` reads of one zone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZoneRoom {
    /// `managed_zone()`: the zone has managed pages.
    pub managed: bool,
    pub free: u32,
    /// Free pages in MIGRATE_HIGHATOMIC pageblocks: unusable without
    /// ALLOC_RESERVES (the kernel subtracts `nr_reserved_highatomic`, the
    /// reserve's size; the model's reserve is its free pages).
    pub highatomic: u32,
    pub high: u32,
    /// `lowmem_reserve[ZONE_MOVABLE]`.
    pub lowmem_reserve_movable: u32,
}

/// One zone's room for migration targets: its free pages after the
/// highatomic reserve, above `high + lowmem_reserve[ZONE_MOVABLE]`
/// (signed; the parts saturate at 32 bits and the result at i32, as the
/// shaders compute it).
pub fn room_of(z: &ZoneRoom) -> i32 {
    let neg = z
        .highatomic
        .saturating_add(z.high)
        .saturating_add(z.lowmem_reserve_movable);
    let cap = u32::MAX >> 1;
    if z.free >= neg {
        (z.free - neg).min(cap) as i32
    } else {
        -((neg - z.free).min(cap) as i32)
    }
}

/// A node without a managed zone has no room.
pub const ROOM_NONE: i32 = i32::MIN;

/// A node's room: the most any of its managed zones has.
pub fn node_room(zones: &[ZoneRoom]) -> i32 {
    zones
        .iter()
        .filter(|z| z.managed)
        .map(room_of)
        .fold(ROOM_NONE, i32::max)
}

/// `migrate_balanced_pgdat()`: some managed zone of the target node
/// passes `zone_watermark_ok(zone, 0, high + nr_pages, ZONE_MOVABLE, 0)`,
/// i.e. the node's room exceeds the folio.
pub fn migrate_balanced_pgdat(room: i32, nr_pages: u32) -> bool {
    room as i64 > nr_pages as i64
}

/// How a task's threads run and touch its memory.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskNuma {
    /// The CPU each thread runs on (thread 0 first: it allocates and
    /// scans); at least one, at most `crate::engine::types::MAX_THREADS`.
    pub thread_cpus: Vec<u32>,
    /// The share of its user pages in the hot set.
    pub hot_fraction: f64,
    /// Mean time between two touches of one hot page, and of one cold
    /// page (ms of simulated time).
    pub hot_touch_ms: f64,
    pub cold_touch_ms: f64,
    /// The share of a page's accesses made by the thread that faulted it
    /// last (the rest come from any thread).
    pub private_fraction: f64,
    /// The policy was set with MPOL_F_NUMA_BALANCING (MPOL_BIND only).
    pub numa_balancing_flag: bool,
}

impl TaskNuma {
    /// One thread on `cpu`, a fifth of the pages hot (touched every 5 ms
    /// on average), the rest every second, nine accesses in ten by the
    /// thread that faulted the page last. These are numasim's defaults,
    /// not measurements: a scenario sets its own.
    pub fn single(cpu: u32) -> TaskNuma {
        TaskNuma {
            thread_cpus: vec![cpu],
            hot_fraction: 0.2,
            hot_touch_ms: 5.0,
            cold_touch_ms: 1000.0,
            private_fraction: 0.9,
            numa_balancing_flag: false,
        }
    }

    /// Checks the values a scenario or a command gave.
    pub fn check(&self, nr_cpus: u32) -> Result<(), String> {
        if self.thread_cpus.is_empty() || self.thread_cpus.len() > crate::engine::types::MAX_THREADS
        {
            return Err(format!(
                "{} threads: expected 1 to {}",
                self.thread_cpus.len(),
                crate::engine::types::MAX_THREADS
            ));
        }
        if let Some(c) = self.thread_cpus.iter().find(|&&c| c >= nr_cpus) {
            return Err(format!(
                "thread CPU {c} does not exist (the machine has CPUs 0-{})",
                nr_cpus.saturating_sub(1)
            ));
        }
        for (name, v) in [
            ("hot_fraction", self.hot_fraction),
            ("private_fraction", self.private_fraction),
        ] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(format!("{name} = {v}: expected 0 to 1"));
            }
        }
        for (name, v) in [
            ("hot_touch_ms", self.hot_touch_ms),
            ("cold_touch_ms", self.cold_touch_ms),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{name} = {v}: expected a positive time in ms"));
            }
        }
        Ok(())
    }

    /// Distinct CPUs of the threads: the weight of `mm_cpumask()` while
    /// they all run.
    pub fn nr_cpus(&self) -> u32 {
        let mut v = self.thread_cpus.clone();
        v.sort_unstable();
        v.dedup();
        v.len() as u32
    }
}

/// `kernel.numa_balancing` and its debugfs tunables as a scenario's
/// `[numa]` sets them at boot, with the restore order
/// (`engine::types::NUMA_RESTORE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NumaScenario {
    pub mode: u32,
    pub tunables: Tunables,
    pub hot_threshold_ms: u32,
    pub restore: u32,
    /// A simple load balancer: every this many ms (0: never) one task
    /// moves from the node running the most tasks to the one running the
    /// fewest, when they differ by two or more.
    pub load_balance_ms: u32,
}

impl Default for NumaScenario {
    fn default() -> NumaScenario {
        NumaScenario {
            mode: 0,
            tunables: Tunables::default(),
            hot_threshold_ms: 1000,
            restore: 0,
            load_balance_ms: 0,
        }
    }
}

/// TLB flushes one migrated page costs in restore order `restore`
/// (`engine::types::NUMA_RESTORE_*`; `kernel::numa::tlb` says why).
pub fn flushes_per_migration(restore: u32, thp: bool) -> u32 {
    use crate::engine::types::{NUMA_RESTORE_FIRST, NUMA_RESTORE_LAZY, NUMA_RESTORE_LEGACY_THP};
    match (restore, thp) {
        (NUMA_RESTORE_LAZY, false) => 0,
        (NUMA_RESTORE_LEGACY_THP, true) => 0,
        (NUMA_RESTORE_LAZY | NUMA_RESTORE_FIRST | NUMA_RESTORE_LEGACY_THP, _) => 1,
        _ => 0,
    }
}

/// `flush_tlb_mm_range()` of `entries` entries from a CPU of an mm
/// whose cpumask holds `other_cpus` more CPUs, as x86 counts it
/// (CONFIG_DEBUG_TLBFLUSH): [nr_tlb_remote_flush,
/// nr_tlb_remote_flush_received, nr_tlb_local_flush_all,
/// nr_tlb_local_flush_one].
pub fn tlb_flush(entries: u32, other_cpus: u32) -> [u32; 4] {
    let (all, one) = if entries > TLB_SINGLE_PAGE_FLUSH_CEILING {
        (1, 0)
    } else {
        (0, entries)
    };
    let remote = u32::from(other_cpus > 0);
    [remote, other_cpus, all, one]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::frame::AF_PROT_NONE;

    const MB: u32 = 256; // pages per MB

    #[test]
    fn mul_div_is_a_64_bit_product() {
        assert_eq!(mul_div(4_000_000_000, 3, 4), 3_000_000_000);
        assert_eq!(mul_div(u32::MAX, u32::MAX, u32::MAX), u32::MAX);
        assert_eq!(mul_div(u32::MAX, 2, 1), u32::MAX, "saturates");
        assert_eq!(mul_div(7, 5, 0), u32::MAX);
        // 1 ms ticks: tick 4 starts jiffy 1, tick 1001 is in jiffy 250.
        assert_eq!(jiffies_at(3, 1_000_000), 0);
        assert_eq!(jiffies_at(4, 1_000_000), 1);
        assert_eq!(jiffies_at(1001, 1_000_000), 250);
        // A 49-day run at 1 ms still fits.
        assert_eq!(jiffies_at(u32::MAX, 1_000_000), u32::MAX / 4);
    }

    #[test]
    fn scan_windows_and_period_bounds_follow_the_resident_size() {
        let s = Tunables::default();
        // 256 MB windows: 10 windows of floor = 1000 / (2560/256) = 100 ms.
        for (rss_mb, windows, smin, smax) in [
            (0, 1, 1000, 60000),
            (1, 1, 1000, 60000),
            (256, 1, 1000, 60000),
            (257, 2, 500, 30000),
            (1024, 4, 250, 15000),
            (4096, 16, 100, 3750),
            (65536, 256, 100, 234),
        ] {
            let rss = rss_mb * MB;
            assert_eq!(task_nr_scan_windows(&s, rss), windows, "{rss_mb} MB");
            assert_eq!(task_scan_min(&s, rss), smin, "{rss_mb} MB");
            assert_eq!(task_scan_max(&s, rss, None), smax, "{rss_mb} MB");
            assert_eq!(task_scan_start(&s, rss, None), smin);
        }
        // A bigger window lowers the floor's window count: 2560 MB → 1
        // window, floor 1000.
        let big = Tunables {
            scan_size_mb: 2560,
            ..s
        };
        assert_eq!(task_scan_min(&big, 100_000 * MB), 1000);
    }

    #[test]
    fn group_scaling_raises_start_and_max_with_shared_faults() {
        let s = Tunables::default();
        let rss = 1024 * MB; // smin 250, smax 15000
        let private = GroupFaults {
            refcount: 4,
            private: 900,
            shared: 99,
        };
        // 250 * 4 * 100 / 1000 = 100 < smin: the floor holds.
        assert_eq!(task_scan_start(&s, rss, Some(private)), 250);
        let shared = GroupFaults {
            refcount: 4,
            private: 100,
            shared: 899,
        };
        // 250 * 4 * 900 / 1000 = 900.
        assert_eq!(task_scan_start(&s, rss, Some(shared)), 900);
        // 15000 * 4 * 900 / 1000 = 54000.
        assert_eq!(task_scan_max(&s, rss, Some(shared)), 54000);
        assert_eq!(task_scan_max(&s, rss, Some(private)), 15000);
    }

    /// Runs a fully busy task from fork, one scheduler tick (jiffy) at a
    /// time, and returns the jiffies at which task_numa_work() scanned.
    fn scans(s: &Tunables, rss: u32, until_jiffies: u32) -> Vec<u32> {
        let mut t = TaskScan::fork(0, s);
        let mut out = vec![];
        for j in 1..=until_jiffies {
            let exec_ms = j * MS_PER_JIFFY;
            if t.sched_tick(j, exec_ms, s, rss, None) && t.numa_work(j, s, rss, None).is_some() {
                out.push(j);
            }
        }
        out
    }

    #[test]
    fn scan_timing_from_fork() {
        let s = Tunables::default();
        assert_eq!(TaskScan::fork(10, &s).next_scan, 10 + 250);
        // Small task: the first scan once it has run more than
        // scan_delay (1000 ms is not > 1000 ms: the tick after, 1004 ms),
        // then every period_min after task_scan_start() = 1000 ms; the
        // node_stamp's extra 2 ticks per scan make it 1008 ms.
        let small = scans(&s, 100 * MB, 1300);
        assert_eq!(small[0], 251);
        assert!(small.windows(2).all(|w| w[1] - w[0] == 252), "{small:?}");
        // 1 GB resident: a 250 ms period after the first scan, plus the
        // 8 ms: 258 ms, which 4 ms ticks cut into gaps of 64 and 65.
        let big = scans(&s, 1024 * MB, 2251);
        assert_eq!(big[0], 251);
        let gaps: Vec<u32> = big.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| g == 64 || g == 65), "{gaps:?}");
        let span = (big[big.len() - 1] - big[0]) as f64 / gaps.len() as f64;
        assert!((span - 64.5).abs() < 0.1, "{span}");
        // A longer delay postpones the first scan.
        let late = Tunables {
            scan_delay_ms: 4000,
            ..s
        };
        assert_eq!(scans(&late, 100 * MB, 1100)[0], 1001);
        // scan_size_mb 0: nothing to scan, ever.
        let none = Tunables {
            scan_size_mb: 0,
            ..s
        };
        assert!(scans(&none, 100 * MB, 2000).is_empty());
    }

    #[test]
    fn the_work_walks_the_span_in_windows_and_wraps() {
        let s = Tunables::default();
        let mut t = TaskScan::fork(0, &s);
        assert_eq!(t.numa_work(100, &s, 0, None), None, "before numa_next_scan");
        // 150000 pages: windows of 65536, the third one short, then seq 1.
        let rss = 150_000;
        let w = t.numa_work(250, &s, rss, None).unwrap();
        assert_eq!((w.lo, w.hi, w.wrapped, t.seq), (0, 65536, false, 0));
        assert_eq!(t.next_scan, 250 + 250);
        // The span is fixed for the pass, whatever the task does meanwhile.
        let w = t.numa_work(500, &s, 1, None).unwrap();
        assert_eq!((w.lo, w.hi), (65536, 131072));
        let w = t.numa_work(750, &s, 1, None).unwrap();
        assert_eq!(
            (w.lo, w.hi, w.wrapped, t.seq, t.offset),
            (131072, 150000, true, 1, 0)
        );
        // The next pass takes the size then.
        let w = t.numa_work(1000, &s, 10, None).unwrap();
        assert_eq!((w.lo, w.hi, w.wrapped, t.span, t.seq), (0, 10, true, 10, 2));
    }

    fn adapted(locality: [u32; 3], shared: u32, private: u32) -> TaskScan {
        let s = Tunables::default();
        let rss = 1024 * MB; // bounds 250..=15000
        let mut t = TaskScan {
            period_ms: 1000,
            period_max_ms: 15000,
            locality,
            ..TaskScan::default()
        };
        t.update_task_scan_period(1000, &s, rss, None, shared, private);
        t
    }

    #[test]
    fn scan_period_adaptation_rule() {
        // A failed migration doubles the period and keeps the counters.
        let t = adapted([10, 90, 1], 0, 100);
        assert_eq!(t.period_ms, 2000);
        assert_eq!(t.locality, [10, 90, 1]);
        assert_eq!(t.next_scan, 1000 + 500);
        // No local and no shared faults: doubled too.
        assert_eq!(adapted([100, 0, 0], 0, 100).period_ms, 2000);
        // Doubling stops at numa_scan_period_max.
        let mut t = adapted([100, 0, 0], 0, 100);
        t.period_ms = 12000;
        t.update_task_scan_period(0, &Tunables::default(), 1024 * MB, None, 0, 100);
        assert_eq!(t.period_ms, 15000);
        // All private (ps = 10): +3 slots of 100 ms; counters cleared.
        let t = adapted([50, 50, 0], 0, 100);
        assert_eq!((t.period_ms, t.locality), (1300, [0; 3]));
        // Exactly 7 of 10 private: still one slot.
        assert_eq!(adapted([50, 50, 0], 30, 70).period_ms, 1100);
        // Shared but local (lr = 9): +2 slots.
        assert_eq!(adapted([10, 90, 0], 80, 20).period_ms, 1200);
        // Shared and remote (lr = 2, ps = 4): -(7 - 4) slots.
        assert_eq!(adapted([80, 20, 0], 60, 40).period_ms, 700);
        // Clamped to task_scan_min.
        let mut t = adapted([100, 0, 0], 100, 0);
        assert_eq!(t.period_ms, 300);
        t.locality = [100, 0, 0];
        t.update_task_scan_period(0, &Tunables::default(), 1024 * MB, None, 100, 0);
        assert_eq!(t.period_ms, 250);
    }

    #[test]
    fn fault_accounting_feeds_the_locality_counters() {
        let mut t = TaskScan::default();
        t.account_fault(1, true, false);
        t.account_fault(HPAGE_PMD_NR, false, true);
        assert_eq!(t.locality, [512, 1, 512]);
    }

    #[test]
    fn msecs_to_jiffies_rounds_up() {
        assert_eq!(msecs_to_jiffies(0), 0);
        assert_eq!(msecs_to_jiffies(1), 1);
        assert_eq!(msecs_to_jiffies(4), 1);
        assert_eq!(msecs_to_jiffies(1000), 250);
        assert_eq!(msecs_to_jiffies(1001), 251);
        assert_eq!(msecs_to_jiffies(u32::MAX), u32::MAX / 4 + 1);
    }

    fn faulter(pid: u32, nid: u32, seq: u32, preferred: Option<u32>) -> Faulter {
        Faulter {
            pid,
            nid,
            preferred_nid: preferred,
            scan_seq: seq,
        }
    }

    #[test]
    fn early_life_migrates_on_the_first_fault() {
        let p = faulter(100, 1, 0, None);
        let mut flags = AF_PROT_NONE;
        assert_eq!(
            should_numa_migrate_memory(&p, None, &mut flags, true),
            Filter::EarlyLife
        );
        assert_eq!(
            flags,
            AF_PROT_NONE | af_cpupid(1, 100),
            "swapped in, the rest kept"
        );
        // Still early (seq 4) but another thread faulted last: not early.
        let q = faulter(101, 1, 4, Some(1));
        assert_ne!(
            should_numa_migrate_memory(&q, None, &mut flags, true),
            Filter::EarlyLife
        );
    }

    #[test]
    fn two_stage_filter_waits_for_a_second_fault_from_the_same_node() {
        // Past early life: a preferred node and seq 5.
        let p = faulter(100, 1, 5, Some(1));
        // Last fault from node 0 by another thread: refuse, but remember
        // this one.
        let mut flags = af_cpupid(0, 7);
        let f = should_numa_migrate_memory(&p, None, &mut flags, true);
        assert_eq!(f, Filter::LastNodeDiffers);
        assert!(!f.migrate());
        // The same thread again from node 1: a private fault, migrate.
        assert_eq!(
            should_numa_migrate_memory(&p, None, &mut flags, true),
            Filter::Private
        );
        // Another thread from node 1 now: shared, no group yet: migrate.
        let q = faulter(200, 1, 5, Some(1));
        assert_eq!(
            should_numa_migrate_memory(&q, None, &mut flags, true),
            Filter::NoGroup
        );
    }

    #[test]
    fn pids_compare_by_their_low_byte() {
        let p = faulter(100 + 256, 1, 5, Some(1));
        let mut flags = af_cpupid(1, 100);
        assert_eq!(
            should_numa_migrate_memory(&p, None, &mut flags, true),
            Filter::Private
        );
        // A pid ending in 0xff reads as "unset": early life applies even
        // though another thread faulted last.
        let q = faulter(0x1ff, 1, 0, None);
        let mut flags = af_cpupid(0, 0xff);
        assert_eq!(
            should_numa_migrate_memory(&q, None, &mut flags, true),
            Filter::EarlyLife
        );
        assert!(fault_is_private(0, 5), "a first access is private");
        assert!(fault_is_private(af_cpupid(2, 5 + 256), 5));
        assert!(!fault_is_private(af_cpupid(2, 6), 5));
    }

    #[test]
    fn group_stage_weighs_cpu_and_memory_faults() {
        let p = faulter(300, 1, 9, Some(1));
        let shared_from_node1 = || af_cpupid(1, 42);
        // The group runs 4x as much on node 1 as on node 0: migrate.
        let g = GroupCmp {
            cpu_dst: 40,
            cpu_src: 10,
            mem_src: 100,
            mem_dst: 0,
        };
        let mut flags = shared_from_node1();
        assert_eq!(
            should_numa_migrate_memory(&p, Some(g), &mut flags, true),
            Filter::GroupCpuMuchHigher
        );
        // Exactly 3x is not "more than": the balance rule decides:
        // 30 * 100 * 3 = 9000 > 10 * 50 * 4 = 2000.
        let g = GroupCmp {
            cpu_dst: 30,
            cpu_src: 10,
            mem_src: 100,
            mem_dst: 50,
        };
        let mut flags = shared_from_node1();
        assert_eq!(
            should_numa_migrate_memory(&p, Some(g), &mut flags, true),
            Filter::GroupBalance(true)
        );
        // Memory already mostly on node 1: 20 * 10 * 3 = 600 <= 20 * 100 * 4.
        let g = GroupCmp {
            cpu_dst: 20,
            cpu_src: 20,
            mem_src: 10,
            mem_dst: 100,
        };
        let mut flags = shared_from_node1();
        let f = should_numa_migrate_memory(&p, Some(g), &mut flags, true);
        assert_eq!(f, Filter::GroupBalance(false));
        assert!(!f.migrate());
        // The products use 64 bits: 2^30 * 2^30 * 3 against 2^29 * 2^30 * 4.
        let g = GroupCmp {
            cpu_dst: FAULTS_MAX,
            cpu_src: FAULTS_MAX / 2,
            mem_src: FAULTS_MAX,
            mem_dst: FAULTS_MAX,
        };
        let mut flags = shared_from_node1();
        assert_eq!(
            should_numa_migrate_memory(&p, Some(g), &mut flags, true),
            Filter::GroupBalance(true)
        );
    }

    #[test]
    fn below_top_tier_without_history_stays_outside_tiering_mode() {
        let p = faulter(1, 0, 0, None);
        let mut flags = 0;
        assert_eq!(
            should_numa_migrate_memory(&p, None, &mut flags, false),
            Filter::NoHistoryBelowTopTier
        );
        // The second fault has history: early life applies.
        assert_eq!(
            should_numa_migrate_memory(&p, None, &mut flags, false),
            Filter::EarlyLife
        );
    }

    #[test]
    fn mpol_misplaced_by_policy() {
        use crate::model::workload::*;
        // A page on the faulting CPU's node is not misplaced.
        assert_eq!(
            mpol_verdict(MPOL_LOCAL, 0, false, 1, 1),
            PolicyVerdict::Stay
        );
        assert_eq!(
            mpol_verdict(MPOL_LOCAL, 0, false, 0, 1),
            PolicyVerdict::Filter(1)
        );
        // A policy the task set never moves pages...
        for mode in [
            MPOL_BIND,
            MPOL_PREFERRED,
            MPOL_INTERLEAVE,
            MPOL_WEIGHTED_INTERLEAVE,
        ] {
            assert_eq!(mpol_verdict(mode, 0b11, false, 0, 1), PolicyVerdict::Stay);
        }
        // ...except MPOL_BIND with MPOL_F_NUMA_BALANCING, toward a bound node.
        assert_eq!(
            mpol_verdict(MPOL_BIND, 0b11, true, 0, 1),
            PolicyVerdict::Filter(1)
        );
        assert_eq!(
            mpol_verdict(MPOL_BIND, 0b101, true, 0, 1),
            PolicyVerdict::Stay
        );
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
        let room = |z: &[ZoneRoom], n| migrate_balanced_pgdat(node_room(z), n);
        assert!(room(&[normal], 1));
        assert!(room(&[normal], 999));
        // free must exceed high + nr: 10000 > 9000 + 1000 is false.
        assert!(!room(&[normal], 1000));
        assert!(!room(&[normal], HPAGE_PMD_NR * 2));
        // The highatomic reserve does not count.
        let reserved = ZoneRoom {
            highatomic: 2_000,
            ..normal
        };
        assert!(!room(&[reserved], 1));
        // Nor does a lowmem reserve against movable allocations.
        let protected = ZoneRoom {
            lowmem_reserve_movable: 1_000,
            ..normal
        };
        assert!(!room(&[protected], 1));
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
        assert!(room(&[dma32, tight], HPAGE_PMD_NR));
        let unmanaged = ZoneRoom {
            managed: false,
            ..dma32
        };
        assert!(!room(&[unmanaged, tight], HPAGE_PMD_NR));
        assert!(!room(&[], 1), "a node without memory has no room");
    }
}
