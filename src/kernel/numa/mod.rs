//! NUMA balancing's control side: the tunables with the kernel's write
//! checks, the scan period of `task_numa_work()` and its adaptation, the
//! placement filter of `mpol_misplaced()`, the target-node check of
//! `migrate_misplaced_folio()` and the TLB flush cost of a hint fault per
//! PMD/PTE restore order (`tlb`).
//!
//! These are pure functions over the values the kernel reads, so each can
//! be checked against kernel/sched/fair.c, mm/mempolicy.c, mm/migrate.c
//! and arch/x86/mm/tlb.c (Linux 6.1) on its own; the per-tick phases that
//! scan blocks, take hint faults and migrate call them.
//!
//! Time is in jiffies at HZ=250 (Debian's CONFIG_HZ), as `numa_next_scan`
//! is, and task run time in nanoseconds, as `sum_exec_runtime` is.

pub mod placement;
pub mod tlb;

use super::errno::{err, Errno, KernelError};
use super::parse_integer_fixup_radix;

/// CONFIG_HZ of the modelled kernel (Debian's 6.1 config).
pub const HZ: u64 = 250;
/// TICK_NSEC at HZ=250.
pub const TICK_NSEC: u64 = 1_000_000_000 / HZ;
/// PAGE_SHIFT.
pub const PAGE_SHIFT: u32 = 12;
/// HPAGE_PMD_NR: base pages in a PMD-mapped THP.
pub const HPAGE_PMD_NR: u64 = 512;
/// "For sanity's sake, never scan more PTEs than MAX_SCAN_WINDOW MB/sec."
pub const MAX_SCAN_WINDOW: u32 = 2560;
/// NUMA_PERIOD_SLOTS and NUMA_PERIOD_THRESHOLD of update_task_scan_period().
pub const NUMA_PERIOD_SLOTS: u64 = 10;
pub const NUMA_PERIOD_THRESHOLD: u64 = 7;

/// `msecs_to_jiffies()` at HZ=250: rounds up (`_msecs_to_jiffies()` for
/// HZ dividing MSEC_PER_SEC: DIV_ROUND_UP(m, MSEC_PER_SEC / HZ)).
pub fn msecs_to_jiffies(ms: u32) -> u64 {
    (ms as u64).div_ceil(1000 / HZ)
}

/// `kernel.numa_balancing` (sysctl_numa_balancing_mode): bit 0
/// NUMA_BALANCING_NORMAL, bit 1 NUMA_BALANCING_MEMORY_TIERING.
pub const NUMA_BALANCING_NORMAL: u32 = 0x1;
pub const NUMA_BALANCING_MEMORY_TIERING: u32 = 0x2;

/// The tunables: the sysctl and /sys/kernel/debug/sched/numa_balancing/*
/// (kernel/sched/debug.c creates them with debugfs_create_u32()).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// sysctl_numa_balancing_mode, 0..=4 as written.
    pub mode: u32,
    /// sysctl_numa_balancing_scan_delay (ms).
    pub scan_delay_ms: u32,
    /// sysctl_numa_balancing_scan_period_min (ms).
    pub scan_period_min_ms: u32,
    /// sysctl_numa_balancing_scan_period_max (ms).
    pub scan_period_max_ms: u32,
    /// sysctl_numa_balancing_scan_size (MB).
    pub scan_size_mb: u32,
}

impl Default for Settings {
    /// kernel/sched/fair.c's initial values; the mode is off, as on a
    /// kernel built with CONFIG_NUMA_BALANCING_DEFAULT_ENABLED=n or booted
    /// with numa_balancing=disable (Debian enables it on multi-node
    /// machines at boot: `check_numabalancing_enable()`; a scenario turns
    /// it on explicitly).
    fn default() -> Settings {
        Settings {
            mode: 0,
            scan_delay_ms: 1000,
            scan_period_min_ms: 1000,
            scan_period_max_ms: 60000,
            scan_size_mb: 256,
        }
    }
}

impl Settings {
    /// `__set_numabalancing_state()`: any non-zero mode enables the
    /// sched_numa_balancing static key.
    pub fn enabled(&self) -> bool {
        self.mode != 0
    }
    /// NUMA_BALANCING_MEMORY_TIERING is set (modes 2 and 3).
    pub fn tiering(&self) -> bool {
        self.mode & NUMA_BALANCING_MEMORY_TIERING != 0
    }
    /// Pages of one scan window: `scan_size << (20 - PAGE_SHIFT)`.
    pub fn scan_pages(&self) -> u64 {
        (self.scan_size_mb as u64) << (20 - PAGE_SHIFT)
    }
}

/// A write to `/proc/sys/kernel/numa_balancing` (sysctl_numa_balancing()
/// in kernel/sched/core.c): `proc_dointvec_minmax()` with extra1
/// SYSCTL_ZERO and extra2 SYSCTL_FOUR. The value has had its surrounding
/// whitespace trimmed. Leading spaces, an optional `-`, then an integer in
/// base 0 (decimal, 0x hex, 0 octal) that must be followed by whitespace
/// or the end; later values are ignored (the table holds one int). Every
/// refusal is EINVAL, including an empty line (`echo > numa_balancing`
/// writes "\n", and `__do_proc_dointvec()` returns EINVAL when no value
/// was read).
pub fn parse_numa_balancing(v: &str) -> Result<u32, KernelError> {
    let first = v.split_whitespace().next().unwrap_or("");
    let (neg, digits) = match first.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, first),
    };
    let x = parse_ul_base0(digits).ok_or_else(|| {
        KernelError::new(
            Errno::EINVAL,
            format!("`{first}` is not an integer (expected 0..=4)"),
        )
    })?;
    if neg && x != 0 || x > 4 {
        return err(
            Errno::EINVAL,
            format!("{first} is outside 0..=4 (SYSCTL_ZERO..SYSCTL_FOUR)"),
        );
    }
    Ok(x as u32)
}

/// A write to one of the u32 debugfs files (`debugfs_attr_write()` →
/// `simple_attr_write()`: `kstrtoull(buf, 0, ..)`, then
/// `debugfs_u32_set()` stores the low 32 bits). A leading `+` is allowed;
/// a `-`, trailing garbage or an empty line is EINVAL; a number past u64
/// is ERANGE (`_kstrtoull()`'s overflow check).
pub fn parse_debugfs_u32(v: &str) -> Result<u32, KernelError> {
    let s = v.strip_prefix('+').unwrap_or(v);
    let digits = base0_digits(s).ok_or_else(|| {
        KernelError::new(Errno::EINVAL, format!("`{v}` is not an unsigned integer"))
    })?;
    match u64::from_str_radix(digits.1, digits.0) {
        Ok(x) => Ok(x as u32),
        Err(_) => err(Errno::ERANGE, format!("`{v}` does not fit 64 bits")),
    }
}

/// The radix and digits of a base-0 integer, None unless every character
/// after the prefix is a digit of that radix (no sign, no garbage).
fn base0_digits(s: &str) -> Option<(u32, &str)> {
    let (radix, digits) = parse_integer_fixup_radix(s);
    (!digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))).then_some((radix, digits))
}

/// `simple_strtoul(s, &end, 0)` that must consume all of `s`, with
/// overflow refused (`strtoul_lenient()` returns -EINVAL then).
fn parse_ul_base0(s: &str) -> Option<u64> {
    let (radix, digits) = base0_digits(s)?;
    u64::from_str_radix(digits, radix).ok()
}

/// What `task_scan_start()`/`task_scan_max()` read of the task's numa
/// group: its refcount (tasks in it) and the group's private and shared
/// memory faults summed over nodes (`group_faults_priv/shared()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupFaults {
    pub refcount: u64,
    pub private: u64,
    pub shared: u64,
}

impl GroupFaults {
    /// `period * refcount * (shared + 1) / (private + shared + 1)`.
    fn scale(&self, period: u64) -> u64 {
        period * self.refcount * (self.shared + 1) / (self.private + self.shared + 1)
    }
}

/// `task_nr_scan_windows()`: the resident size in scan windows, rounded
/// up; an empty mm counts as one window. A scan size of 0 makes the
/// kernel divide by zero here; the model answers one window (and
/// `task_numa_work()` scans nothing: `if (!pages) return;`).
pub fn task_nr_scan_windows(s: &Settings, rss_pages: u64) -> u64 {
    let win = s.scan_pages();
    if win == 0 {
        return 1;
    }
    let rss = if rss_pages == 0 { win } else { rss_pages };
    rss.div_ceil(win)
}

/// `task_scan_min()`: the period floor, at most MAX_SCAN_WINDOW MB/s of
/// scanning. (A scan size of 0 divides by zero in the kernel's
/// `MAX_SCAN_WINDOW / scan_size`; the model keeps one window.)
pub fn task_scan_min(s: &Settings, rss_pages: u64) -> u64 {
    let mut windows = 1u64;
    if s.scan_size_mb > 0 && s.scan_size_mb < MAX_SCAN_WINDOW {
        windows = (MAX_SCAN_WINDOW / s.scan_size_mb) as u64;
    }
    let floor = 1000 / windows;
    let scan = s.scan_period_min_ms as u64 / task_nr_scan_windows(s, rss_pages);
    floor.max(scan)
}

/// `task_scan_start()`: the first period, task_scan_min() scaled by the
/// group's share of shared faults.
pub fn task_scan_start(s: &Settings, rss_pages: u64, group: Option<GroupFaults>) -> u64 {
    let smin = task_scan_min(s, rss_pages);
    let period = group.map_or(smin, |g| g.scale(smin));
    smin.max(period)
}

/// `task_scan_max()`: the period ceiling, scan_period_max divided over the
/// windows, raised by the group scaling.
pub fn task_scan_max(s: &Settings, rss_pages: u64, group: Option<GroupFaults>) -> u64 {
    let smin = task_scan_min(s, rss_pages);
    let mut smax = s.scan_period_max_ms as u64 / task_nr_scan_windows(s, rss_pages);
    if let Some(g) = group {
        smax = smax.max(g.scale(smax));
    }
    smin.max(smax)
}

/// The per-task and per-mm scan state: `p->numa_scan_period`,
/// `p->numa_scan_period_max`, `p->node_stamp`, `mm->numa_next_scan`,
/// `mm->numa_scan_seq`, `mm->numa_scan_offset` (in pages of the task's
/// resident order), and the locality counters
/// `p->numa_faults_locality[remote, local, failed]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskScan {
    pub period_ms: u64,
    pub period_max_ms: u64,
    pub node_stamp_ns: u64,
    pub next_scan: u64,
    pub seq: u32,
    pub offset: u64,
    pub locality: [u64; 3],
    /// The task_work is queued (`work->next != work`).
    pub work_queued: bool,
}

/// What one `task_numa_work()` pass may mark: `pages` counts ranges that
/// had an update, `virtpages` every range walked (8x the window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanBudget {
    pub pages: u64,
    pub virtpages: u64,
}

impl TaskScan {
    /// `init_numa_balancing()` for a new mm (mm_users == 1): the first
    /// scan not before scan_delay, the period set to scan_delay.
    pub fn fork(now_jiffies: u64, s: &Settings) -> TaskScan {
        TaskScan {
            period_ms: s.scan_delay_ms as u64,
            next_scan: now_jiffies + msecs_to_jiffies(s.scan_delay_ms),
            ..TaskScan::default()
        }
    }

    /// `task_tick_numa()` at a scheduler tick with the task's run time so
    /// far: once it has run a period past `node_stamp`, the first time
    /// with the period replaced by `task_scan_start()`, the work is queued
    /// when `numa_next_scan` has come. Returns whether it was queued.
    pub fn sched_tick(
        &mut self,
        now_jiffies: u64,
        exec_ns: u64,
        s: &Settings,
        rss_pages: u64,
        group: Option<GroupFaults>,
    ) -> bool {
        if self.work_queued {
            return false;
        }
        let period = self.period_ms * 1_000_000;
        if exec_ns > self.node_stamp_ns + period {
            if self.node_stamp_ns == 0 {
                self.period_ms = task_scan_start(s, rss_pages, group);
            }
            self.node_stamp_ns += period;
            if now_jiffies >= self.next_scan {
                self.work_queued = true;
                return true;
            }
        }
        false
    }

    /// `task_numa_work()` as the task returns to user space: the next scan
    /// is set a period ahead and `node_stamp` moves two ticks, then the
    /// scan window's budget is returned (None when it is not time yet or
    /// the window is empty).
    pub fn numa_work(
        &mut self,
        now_jiffies: u64,
        s: &Settings,
        rss_pages: u64,
        group: Option<GroupFaults>,
    ) -> Option<ScanBudget> {
        self.work_queued = false;
        if self.period_ms == 0 {
            self.period_max_ms = task_scan_max(s, rss_pages, group);
            self.period_ms = task_scan_start(s, rss_pages, group);
        }
        if now_jiffies < self.next_scan {
            return None;
        }
        self.next_scan = now_jiffies + msecs_to_jiffies(self.period_ms as u32);
        self.node_stamp_ns += 2 * TICK_NSEC;
        let pages = s.scan_pages();
        if pages == 0 {
            return None;
        }
        Some(ScanBudget {
            pages,
            virtpages: pages * 8,
        })
    }

    /// The end of the address space was reached: `reset_ptenuma_scan()`
    /// bumps `numa_scan_seq` and starts over.
    pub fn wrap(&mut self) {
        self.seq += 1;
        self.offset = 0;
    }

    /// `task_numa_fault()`'s locality accounting for `pages` pages:
    /// `numa_faults_locality[local] += pages`, and `[2]` on
    /// TNF_MIGRATE_FAIL.
    pub fn account_fault(&mut self, pages: u64, local: bool, migrate_failed: bool) {
        self.locality[local as usize] += pages;
        if migrate_failed {
            self.locality[2] += pages;
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
        now_jiffies: u64,
        s: &Settings,
        rss_pages: u64,
        group: Option<GroupFaults>,
        shared: u64,
        private: u64,
    ) {
        let remote = self.locality[0];
        let local = self.locality[1];
        if local + shared == 0 || self.locality[2] != 0 {
            self.period_ms = self.period_max_ms.min(self.period_ms << 1);
            self.next_scan = now_jiffies + msecs_to_jiffies(self.period_ms as u32);
            return;
        }
        let slot = self.period_ms.div_ceil(NUMA_PERIOD_SLOTS) as i64;
        let lr = (local * NUMA_PERIOD_SLOTS / (local + remote).max(1)) as i64;
        let ps = (private * NUMA_PERIOD_SLOTS / (private + shared).max(1)) as i64;
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
        self.period_ms = (self.period_ms as i64 + diff).clamp(lo, hi) as u64;
        self.locality = [0; 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 256; // pages per MB

    #[test]
    fn sysctl_takes_what_proc_dointvec_minmax_takes() {
        for (v, want) in [("0", 0), ("1", 1), ("2", 2), ("3", 3), ("4", 4)] {
            assert_eq!(parse_numa_balancing(v).unwrap(), want);
        }
        assert_eq!(parse_numa_balancing("0x3").unwrap(), 3);
        assert_eq!(parse_numa_balancing("03").unwrap(), 3);
        assert_eq!(parse_numa_balancing("-0").unwrap(), 0);
        // One int in the table: the rest of the line is not read.
        assert_eq!(parse_numa_balancing("1 7").unwrap(), 1);
        for bad in ["5", "-1", "", "1x", "one", "99999999999999999999999"] {
            assert_eq!(
                parse_numa_balancing(bad).unwrap_err().errno,
                Errno::EINVAL,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debugfs_u32_takes_what_kstrtoull_takes() {
        assert_eq!(parse_debugfs_u32("1000").unwrap(), 1000);
        assert_eq!(parse_debugfs_u32("+5").unwrap(), 5);
        assert_eq!(parse_debugfs_u32("0x100").unwrap(), 256);
        assert_eq!(parse_debugfs_u32("010").unwrap(), 8);
        assert_eq!(parse_debugfs_u32("0").unwrap(), 0);
        // debugfs_u32_set() keeps the low 32 bits.
        assert_eq!(parse_debugfs_u32("4294967296").unwrap(), 0);
        assert_eq!(parse_debugfs_u32("4294967297").unwrap(), 1);
        for bad in ["-1", "", "12ms", "0x", "08", "+"] {
            assert_eq!(
                parse_debugfs_u32(bad).unwrap_err().errno,
                Errno::EINVAL,
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_debugfs_u32("18446744073709551616").unwrap_err().errno,
            Errno::ERANGE
        );
    }

    #[test]
    fn scan_windows_and_period_bounds_follow_the_resident_size() {
        let s = Settings::default();
        // 256 MB windows: 10 windows of floor = 1000 / (2560/256) = 100 ms.
        for (rss_mb, windows, smin, smax) in [
            (0, 1, 1000, 60000),
            (1, 1, 1000, 60000),
            (256, 1, 1000, 60000),
            (257, 2, 500, 30000),
            (1024, 4, 250, 15000),
            (4096, 16, 100, 3750),
            (65536, 256, 100, 234),
            (1 << 20, 4096, 100, 100),
        ] {
            let rss = rss_mb * MB;
            assert_eq!(task_nr_scan_windows(&s, rss), windows, "{rss_mb} MB");
            assert_eq!(task_scan_min(&s, rss), smin, "{rss_mb} MB");
            assert_eq!(task_scan_max(&s, rss, None), smax, "{rss_mb} MB");
            assert_eq!(task_scan_start(&s, rss, None), smin);
        }
        // A bigger window lowers the floor's window count: 2560 MB → 1
        // window, floor 1000.
        let big = Settings {
            scan_size_mb: 2560,
            ..s
        };
        assert_eq!(task_scan_min(&big, 100_000 * MB), 1000);
    }

    #[test]
    fn group_scaling_raises_start_and_max_with_shared_faults() {
        let s = Settings::default();
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

    /// Runs a fully busy task from fork, one scheduler tick at a time,
    /// and returns the jiffies at which task_numa_work() scanned.
    fn scans(s: &Settings, rss: u64, until_jiffies: u64) -> Vec<u64> {
        let mut t = TaskScan::fork(0, s);
        let mut out = vec![];
        for j in 1..=until_jiffies {
            let exec = j * TICK_NSEC;
            if t.sched_tick(j, exec, s, rss, None) && t.numa_work(j, s, rss, None).is_some() {
                out.push(j);
            }
        }
        out
    }

    #[test]
    fn scan_timing_from_fork() {
        let s = Settings::default();
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
        let gaps: Vec<u64> = big.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| g == 64 || g == 65), "{gaps:?}");
        let span = (big[big.len() - 1] - big[0]) as f64 / gaps.len() as f64;
        assert!((span - 64.5).abs() < 0.1, "{span}");
        // A longer delay postpones the first scan.
        let late = Settings {
            scan_delay_ms: 4000,
            ..s
        };
        assert_eq!(scans(&late, 100 * MB, 1100)[0], 1001);
        // scan_size_mb 0: nothing to scan, ever.
        let none = Settings {
            scan_size_mb: 0,
            ..s
        };
        assert!(scans(&none, 100 * MB, 2000).is_empty());
    }

    #[test]
    fn the_work_sets_the_budget_and_the_next_scan() {
        let s = Settings::default();
        let mut t = TaskScan::fork(0, &s);
        assert_eq!(t.numa_work(100, &s, 0, None), None, "before numa_next_scan");
        let b = t.numa_work(250, &s, 0, None).unwrap();
        assert_eq!(
            b,
            ScanBudget {
                pages: 65536,
                virtpages: 524288
            }
        );
        assert_eq!(t.next_scan, 250 + 250);
        t.wrap();
        assert_eq!((t.seq, t.offset), (1, 0));
    }

    fn adapted(locality: [u64; 3], shared: u64, private: u64) -> TaskScan {
        let s = Settings::default();
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
        t.update_task_scan_period(0, &Settings::default(), 1024 * MB, None, 0, 100);
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
        t.update_task_scan_period(0, &Settings::default(), 1024 * MB, None, 100, 0);
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
    }
}
