//! A lock validator over every kernel path the machine runs, reasoning as
//! kernel/locking/lockdep.c does:
//!
//! - every acquisition under held locks adds the dependency `held -> new`
//!   to a graph of lock classes built from the paths executed
//!   (`check_prevs_add()`: from the innermost held lock out to the first
//!   one that is not a trylock); a new dependency that closes a cycle is
//!   "possible circular locking dependency" (`check_noncircular()`, a
//!   breadth-first search from the new lock back to the held one);
//! - taking a class already held is "possible recursive locking"
//!   (`check_deadlock()`) unless both are recursive reads (`read_lock()`
//!   of an `rwlock_t`: `read == 2`) or the new one is a trylock, or it
//!   carries a nesting subclass (a different class key);
//! - a sleep point (`might_sleep()`, a blocking allocation's
//!   `might_alloc()`, taking a sleeping lock) while a spinlock is held is
//!   "BUG: sleeping function called from invalid context"
//!   (`__might_resched()`, printed at most once a second);
//! - besides lockdep, every new dependency is checked against the
//!   documented order of mm (`order`).
//!
//! As in the kernel, the first circular or recursive report turns the
//! validator off (`debug_locks_off()`: `debug_locks: 0` in
//! /proc/lockdep_stats, the warning in /proc/lock_stat's header). The
//! folio lock is a page-flag bit lock that lockdep does not track; numasim
//! tracks it as the class `PG_locked`.
//!
//! The same walk turns each path's steps into hold times (the step costs
//! of `Costs`), accumulated per class for /proc/lock_stat; the tick's own
//! zone->lock acquisitions and their contention come from the device
//! (`engine` phase `lock_stat`).

pub mod order;
pub mod stat;
pub mod zone_lock;

use crate::kernel::klog::{KernelLog, Level};
use crate::kernel::path::{Event, LockClass, LockKind, Mode, Path};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A lockdep class key: the class and its nesting subclass.
pub type Key = (LockClass, u8);

/// lockdep's limits (kernel/locking/lockdep_internals.h, defaults).
pub const MAX_LOCKDEP_KEYS: usize = 8192;
pub const MAX_LOCKDEP_ENTRIES: usize = 32768;
pub const MAX_LOCKDEP_CHAINS: usize = 65536;
pub const MAX_LOCKDEP_CHAIN_HLOCKS: usize = 5 * MAX_LOCKDEP_CHAINS;
pub const MAX_STACK_TRACE_ENTRIES: usize = 524288;

/// Where a dependency was first seen (lockdep keeps the stack trace of the
/// first acquisition that made it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub path: &'static str,
    pub comm: String,
    pub pid: u32,
    pub tick: u64,
    /// The step that took the new lock, and the path's length.
    pub step: usize,
    pub steps: usize,
    /// The locks held then, outermost first, with the step that took each.
    pub held: Vec<(Key, usize)>,
}

/// What the validator found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportKind {
    Circular,
    Recursive,
    SleepInAtomic,
    /// A dependency against the documented order of mm (numasim's check).
    DocumentedOrder,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub kind: ReportKind,
    pub tick: u64,
    /// The path that triggered it.
    pub path: &'static str,
    /// The classes it names (the new lock first).
    pub classes: Vec<LockClass>,
    /// Every path it names (the triggering one first).
    pub paths: Vec<&'static str>,
    /// The report as printed in the kernel log.
    pub text: String,
}

/// Switches that make a path take its locks as a flawed design would.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Variants {
    /// The vmemmap restore allocation (GFP_KERNEL, may sleep) made under
    /// `hugetlb_lock`, which the HVO series refused as "too fragile"
    /// (../shared/seeds/002).
    pub vmemmap_alloc_under_hugetlb_lock: bool,
    /// The migration target allocated after the source folio is locked
    /// (the 2020 RFC "Defer allocating new page until needed",
    /// ../shared/seeds/003): when the allocation enters reclaim, reclaim
    /// locks other folios while the source stays locked.
    pub migrate_target_under_folio_lock: bool,
    /// Free page reporting's `report()` call made with the zone lock
    /// still held (mainline drops it: the virtio-balloon's report waits
    /// for the host, ../shared/seeds/001).
    pub report_under_zone_lock: bool,
}

impl Variants {
    /// The switch of the variant file `name`
    /// (`/sys/kernel/debug/numasim/variants/<name>`).
    pub fn flag_mut(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "vmemmap_alloc_under_hugetlb_lock" => &mut self.vmemmap_alloc_under_hugetlb_lock,
            "migrate_target_under_folio_lock" => &mut self.migrate_target_under_folio_lock,
            "report_under_zone_lock" => &mut self.report_under_zone_lock,
            _ => return None,
        })
    }
}

/// Per-step costs in simulated nanoseconds, for the hold times of the
/// control paths' locks (scenario `[locks]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Costs {
    pub lock_ns: u64,
    pub alloc_ns: u64,
    pub sleep_ns: u64,
}

impl Default for Costs {
    fn default() -> Costs {
        Costs {
            lock_ns: 20,
            alloc_ns: 250,
            sleep_ns: 0,
        }
    }
}

/// The validator's state.
#[derive(Clone, Debug)]
pub struct Lockdep {
    /// Classes seen, with the number of acquisitions.
    pub classes: BTreeMap<Key, u64>,
    /// Direct dependencies `a -> b` (b taken while a was held), with the
    /// first path that made each.
    pub edges: BTreeMap<(Key, Key), Origin>,
    /// Lock chains: the classes held at each acquisition, the new one last.
    pub chains: BTreeSet<Vec<Key>>,
    pub reports: Vec<Report>,
    /// `debug_locks`: cleared by the first circular or recursive report.
    pub debug_locks: bool,
    /// Tainted by a warning (`TAINT_WARN`).
    pub tainted: bool,
    pub max_depth: usize,
    pub max_bfs_queue: usize,
    /// Simulated time of the last sleep-in-atomic report (rate limit).
    last_might_resched_ns: Option<u64>,
    pub variants: Variants,
    pub costs: Costs,
    /// Hold times of the control paths' locks.
    pub stats: stat::ClassStats,
}

impl Default for Lockdep {
    fn default() -> Lockdep {
        Lockdep {
            classes: BTreeMap::new(),
            edges: BTreeMap::new(),
            chains: BTreeSet::new(),
            reports: Vec::new(),
            debug_locks: true,
            tainted: false,
            max_depth: 0,
            max_bfs_queue: 0,
            last_might_resched_ns: None,
            variants: Variants::default(),
            costs: Costs::default(),
            stats: stat::ClassStats::default(),
        }
    }
}

/// A held lock while a path is replayed.
#[derive(Clone, Copy, Debug)]
struct Held {
    key: Key,
    mode: Mode,
    step: usize,
    /// Simulated time into the path when it was taken.
    at_ns: u64,
}

/// The kernel release numasim reports as.
pub const UTS_RELEASE: &str = "6.1.0-numasim";

/// A deterministic address for a class key (what `%p` of the key prints).
pub fn key_addr(k: Key) -> u64 {
    let idx = crate::kernel::path::ALL_CLASSES
        .iter()
        .position(|&c| c == k.0)
        .unwrap_or(0) as u64;
    0xffff_ffff_8300_0000 + idx * 0x40 + k.1 as u64 * 8
}

/// `__print_lock_name()`: the name, `/N` for a subclass.
pub fn key_name(k: Key) -> String {
    if k.1 > 0 {
        format!("{}/{}", k.0.name(), k.1)
    } else {
        k.0.name().to_string()
    }
}

/// `print_lock_name()`: name, irq usage and wait types. numasim runs no
/// path in interrupt context, so every usage bit reads `.`.
fn lock_desc(k: Key) -> String {
    let (o, i) = k.0.kind().wait_type();
    format!("({}){{....}}-{{{o}:{i}}}", key_name(k))
}

/// `%pS` of an acquisition: the path as the function, the step as the
/// offset, the path's steps as the size.
fn at(path: &str, step: usize, steps: usize) -> String {
    format!("{path}+{step:#x}/{steps:#x}")
}

impl Lockdep {
    fn ident(&self) -> String {
        format!(
            "{UTS_RELEASE} #1 {}",
            if self.tainted {
                "Tainted: G        W"
            } else {
                "Not tainted"
            }
        )
    }

    /// Validates one path's record and accounts its hold times; reports
    /// go to `log` at simulated time `now_ns`.
    pub fn validate(&mut self, p: &Path, now_ns: u64, log: &mut KernelLog) {
        let mut held: Vec<Held> = Vec::new();
        let mut t_ns = 0u64;
        let steps = p.events.len();
        for (i, e) in p.events.iter().enumerate() {
            match e {
                Event::Lock {
                    class,
                    mode,
                    subclass,
                } => {
                    t_ns += self.costs.lock_ns;
                    let key = (*class, *subclass);
                    *self.classes.entry(key).or_insert(0) += 1;
                    if self.debug_locks {
                        self.check_acquire(p, i, steps, key, *mode, &held, now_ns, log);
                    }
                    held.push(Held {
                        key,
                        mode: *mode,
                        step: i,
                        at_ns: t_ns,
                    });
                    self.max_depth = self.max_depth.max(held.len());
                    if self.chains.len() < MAX_LOCKDEP_CHAINS {
                        self.chains.insert(held.iter().map(|h| h.key).collect());
                    }
                }
                Event::Unlock { class } => {
                    t_ns += self.costs.lock_ns;
                    if let Some(j) = held.iter().rposition(|h| h.key.0 == *class) {
                        let h = held.remove(j);
                        if h.key.0.kind() != LockKind::Map {
                            self.stats.hold(h.key, h.mode.is_read(), t_ns - h.at_ns);
                        }
                    }
                }
                Event::MightSleep { site } => {
                    t_ns += self.costs.sleep_ns;
                    if held.iter().any(|h| h.key.0.is_spin()) {
                        self.might_resched(p, i, site, &held, now_ns, log);
                    }
                }
                Event::Alloc { .. } => {
                    t_ns += self.costs.alloc_ns;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_acquire(
        &mut self,
        p: &Path,
        step: usize,
        steps: usize,
        key: Key,
        mode: Mode,
        held: &[Held],
        now_ns: u64,
        log: &mut KernelLog,
    ) {
        // A trylock never waits: no recursion check, no dependency.
        if mode == Mode::Try {
            return;
        }
        // check_deadlock(): the same class key held already.
        if let Some(h) = held.iter().find(|h| h.key == key) {
            let recursive_read = mode == Mode::ReadRecursive && h.mode.is_read();
            if !recursive_read {
                self.report_recursive(p, step, steps, key, h, held, now_ns, log);
                return;
            }
        }
        // check_prevs_add(): from the innermost held lock out, up to and
        // including the first that is not a trylock.
        for h in held.iter().rev() {
            if h.key != key {
                self.add_dependency(p, step, steps, h, key, held, now_ns, log);
                if !self.debug_locks {
                    return;
                }
            }
            if h.mode != Mode::Try {
                break;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_dependency(
        &mut self,
        p: &Path,
        step: usize,
        steps: usize,
        prev: &Held,
        next: Key,
        held: &[Held],
        now_ns: u64,
        log: &mut KernelLog,
    ) {
        let edge = (prev.key, next);
        if self.edges.contains_key(&edge) {
            return;
        }
        // check_noncircular(): is `prev` reachable from `next`?
        if let Some(cycle) = self.path_between(next, prev.key) {
            self.report_circular(p, step, steps, prev, next, &cycle, held, now_ns, log);
            return;
        }
        if let Some(src) = order::documented_before(next.0, prev.key.0) {
            self.report_documented(p, step, steps, prev, next, src, now_ns, log);
        }
        if self.edges.len() < MAX_LOCKDEP_ENTRIES {
            self.edges.insert(
                edge,
                Origin {
                    path: p.name,
                    comm: p.comm.clone(),
                    pid: p.pid,
                    tick: p.tick,
                    step,
                    steps,
                    held: held.iter().map(|h| (h.key, h.step)).collect(),
                },
            );
        }
    }

    /// A chain of dependencies `from -> ... -> to` (breadth first, so the
    /// shortest, as `__bfs()` finds it).
    fn path_between(&mut self, from: Key, to: Key) -> Option<Vec<Key>> {
        let mut prev: BTreeMap<Key, Key> = BTreeMap::new();
        let mut q = VecDeque::from([from]);
        let mut seen = BTreeSet::from([from]);
        while let Some(k) = q.pop_front() {
            if k == to {
                let mut chain = vec![k];
                let mut c = k;
                while let Some(&b) = prev.get(&c) {
                    chain.push(b);
                    c = b;
                }
                chain.reverse();
                return Some(chain);
            }
            for (&(a, b), _) in self.edges.range((k, (LockClass::ZoneLock, 0))..) {
                if a != k {
                    break;
                }
                if seen.insert(b) {
                    prev.insert(b, k);
                    q.push_back(b);
                }
            }
            self.max_bfs_queue = self.max_bfs_queue.max(q.len());
        }
        None
    }

    /// Forward dependencies of a class (`lockdep_count_forward_deps()`:
    /// every class reachable from it, itself included).
    pub fn forward_deps(&self, k: Key) -> usize {
        self.reach(k, true)
    }
    pub fn backward_deps(&self, k: Key) -> usize {
        self.reach(k, false)
    }
    fn reach(&self, k: Key, forward: bool) -> usize {
        let mut seen = BTreeSet::from([k]);
        let mut q = vec![k];
        while let Some(c) = q.pop() {
            for &(a, b) in self.edges.keys() {
                let (x, y) = if forward { (a, b) } else { (b, a) };
                if x == c && seen.insert(y) {
                    q.push(y);
                }
            }
        }
        seen.len()
    }

    fn held_lines(&self, p: &Path, held: &[Held]) -> String {
        let n = held.len();
        let mut s = format!(
            "{n} lock{} held by {}/{}:\n",
            if n == 1 { "" } else { "s" },
            p.comm,
            p.pid
        );
        for (i, h) in held.iter().enumerate() {
            s += &format!(
                " #{i}: {:016x} {}, at: {}\n",
                key_addr(h.key),
                lock_desc(h.key),
                at(p.name, h.step, p.events.len())
            );
        }
        s
    }

    /// The path's steps up to `step`, as a call trace.
    fn backtrace(&self, p: &Path, step: usize) -> String {
        let mut s = format!(
            "CPU: 0 PID: {} Comm: {} {}\nCall Trace:\n <TASK>\n",
            p.pid,
            p.comm,
            self.ident()
        );
        let first = step.saturating_sub(7);
        for (i, e) in p.events.iter().enumerate().take(step + 1).skip(first) {
            s += &format!(" {} {e}\n", at(p.name, i, p.events.len()));
        }
        s += &format!(" {} [tick {}]\n </TASK>\n", p.name, p.tick);
        s
    }

    fn emit(&mut self, r: Report, now_ns: u64, log: &mut KernelLog) {
        let level = match r.kind {
            ReportKind::SleepInAtomic => Level::Err,
            _ => Level::Warning,
        };
        log.printk(level, now_ns, &r.text);
        self.reports.push(r);
    }

    #[allow(clippy::too_many_arguments)]
    fn report_recursive(
        &mut self,
        p: &Path,
        step: usize,
        steps: usize,
        key: Key,
        h: &Held,
        held: &[Held],
        now_ns: u64,
        log: &mut KernelLog,
    ) {
        self.debug_locks = false;
        let bar = "=".repeat(44);
        let dash = "-".repeat(44);
        let name = key_name(key);
        let scenario = format!(
            "       CPU0\n       ----\n  lock({name});\n  lock({name});\n\n *** DEADLOCK ***\n\n May be due to missing lock nesting notation\n\n"
        );
        let text = format!(
            "\n{bar}\nWARNING: possible recursive locking detected\n{}\n{dash}\n\
{}/{} is trying to acquire lock:\n{:016x} {}, at: {}\n\n\
but task is already holding lock:\n{:016x} {}, at: {}\n\n\
other info that might help us debug this:\n Possible unsafe locking scenario:\n\n{}{}\nstack backtrace:\n{}",
            self.ident(),
            p.comm,
            p.pid,
            key_addr(key),
            lock_desc(key),
            at(p.name, step, steps),
            key_addr(h.key),
            lock_desc(h.key),
            at(p.name, h.step, steps),
            scenario,
            self.held_lines(p, held),
            self.backtrace(p, step),
        );
        self.emit(
            Report {
                kind: ReportKind::Recursive,
                tick: p.tick,
                path: p.name,
                classes: vec![key.0],
                paths: vec![p.name],
                text,
            },
            now_ns,
            log,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn report_circular(
        &mut self,
        p: &Path,
        step: usize,
        steps: usize,
        prev: &Held,
        next: Key,
        chain: &[Key],
        held: &[Held],
        now_ns: u64,
        log: &mut KernelLog,
    ) {
        self.debug_locks = false;
        let bar = "=".repeat(54);
        let dash = "-".repeat(54);
        let mut text = format!(
            "\n{bar}\nWARNING: possible circular locking dependency detected\n{}\n{dash}\n\
{}/{} is trying to acquire lock:\n{:016x} {}, at: {}\n\n\
but task is already holding lock:\n{:016x} {}, at: {}\n\n\
which lock already depends on the new lock.\n\n\n\
the existing dependency chain (in reverse order) is:\n",
            self.ident(),
            p.comm,
            p.pid,
            key_addr(next),
            lock_desc(next),
            at(p.name, step, steps),
            key_addr(prev.key),
            lock_desc(prev.key),
            at(p.name, prev.step, steps),
        );
        // chain: next -> ... -> prev, each edge with the path that made it.
        let mut paths = vec![p.name];
        let n = chain.len() - 1;
        for (depth, w) in chain.windows(2).rev().enumerate() {
            let o = &self.edges[&(w[0], w[1])];
            text += &format!("\n-> #{} {}:\n", n - depth, lock_desc(w[1]));
            for (k, s) in &o.held {
                text += &format!("       {} lock {}\n", at(o.path, *s, o.steps), key_name(*k));
            }
            text += &format!(
                "       {} lock {}\n       {} [tick {}] ({}/{})\n",
                at(o.path, o.step, o.steps),
                key_name(w[1]),
                o.path,
                o.tick,
                o.comm,
                o.pid
            );
            if !paths.contains(&o.path) {
                paths.push(o.path);
            }
        }
        text += &format!("\n-> #0 {}:\n", lock_desc(next));
        for h in held {
            text += &format!(
                "       {} lock {}\n",
                at(p.name, h.step, steps),
                key_name(h.key)
            );
        }
        text += &format!(
            "       {} lock {}\n       {} [tick {}] ({}/{})\n",
            at(p.name, step, steps),
            key_name(next),
            p.name,
            p.tick,
            p.comm,
            p.pid
        );
        // print_circular_lock_scenario(): target is the held lock, parent
        // the class the chain reaches it through.
        let target = key_name(prev.key);
        let parent = key_name(chain[chain.len() - 2]);
        let source = key_name(next);
        let pad = " ".repeat(31);
        text += "\nother info that might help us debug this:\n\n";
        text += " Possible unsafe locking scenario:\n\n";
        text += "       CPU0                    CPU1\n";
        text += "       ----                    ----\n";
        text += &format!(
            "  lock({target});\n{pad}lock({parent});\n{pad}lock({target});\n  lock({source});\n"
        );
        text += "\n *** DEADLOCK ***\n\n";
        text += &self.held_lines(p, held);
        text += "\nstack backtrace:\n";
        text += &self.backtrace(p, step);
        let mut classes = vec![next.0];
        for k in chain {
            if !classes.contains(&k.0) {
                classes.push(k.0);
            }
        }
        self.emit(
            Report {
                kind: ReportKind::Circular,
                tick: p.tick,
                path: p.name,
                classes,
                paths,
                text,
            },
            now_ns,
            log,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn report_documented(
        &mut self,
        p: &Path,
        step: usize,
        steps: usize,
        prev: &Held,
        next: Key,
        source: &'static str,
        now_ns: u64,
        log: &mut KernelLog,
    ) {
        let text = format!(
            "numasim: lock order against {source}: {} taken at {} while holding {} (taken at {}); \
the documented order takes {} first [tick {}, {}/{}]",
            key_name(next),
            at(p.name, step, steps),
            key_name(prev.key),
            at(p.name, prev.step, steps),
            key_name(next),
            p.tick,
            p.comm,
            p.pid
        );
        self.emit(
            Report {
                kind: ReportKind::DocumentedOrder,
                tick: p.tick,
                path: p.name,
                classes: vec![next.0, prev.key.0],
                paths: vec![p.name],
                text,
            },
            now_ns,
            log,
        );
    }

    fn might_resched(
        &mut self,
        p: &Path,
        step: usize,
        site: &str,
        held: &[Held],
        now_ns: u64,
        log: &mut KernelLog,
    ) {
        // __might_resched(): at most once per second (HZ jiffies).
        if let Some(t) = self.last_might_resched_ns {
            if now_ns < t + 1_000_000_000 {
                return;
            }
        }
        self.last_might_resched_ns = Some(now_ns);
        let spins = held.iter().filter(|h| h.key.0.is_spin()).count();
        let text = format!(
            "BUG: sleeping function called from invalid context at {site}\n\
in_atomic(): 1, irqs_disabled(): 1, non_block: 0, pid: {}, name: {}\n\
preempt_count: {spins}, expected: 0\nRCU nest depth: 0, expected: 0\n{}{}",
            p.pid,
            p.comm,
            self.held_lines(p, held),
            self.backtrace(p, step)
        );
        // The BUG taints the kernel (add_taint(TAINT_WARN)) after printing.
        self.tainted = true;
        let classes = held
            .iter()
            .filter(|h| h.key.0.is_spin())
            .map(|h| h.key.0)
            .collect();
        self.emit(
            Report {
                kind: ReportKind::SleepInAtomic,
                tick: p.tick,
                path: p.name,
                classes,
                paths: vec![p.name],
                text,
            },
            now_ns,
            log,
        );
    }

    /// `/proc/lockdep`.
    pub fn proc_lockdep(&self) -> String {
        let mut s = String::from("all lock classes:\n");
        for &k in self.classes.keys() {
            s += &format!(
                "{:016x} FD:{:5} BD:{:5} ....: {}\n",
                key_addr(k),
                self.forward_deps(k),
                self.backward_deps(k),
                key_name(k)
            );
            for (&(_, b), _) in self.edges.iter().filter(|((a, _), _)| *a == k) {
                s += &format!(" -> [{:016x}] {}\n", key_addr(b), key_name(b));
            }
            s += "\n";
        }
        s
    }

    /// `/proc/lockdep_chains`.
    pub fn proc_lockdep_chains(&self) -> String {
        let mut s = String::from("all lock chains:\n");
        for c in &self.chains {
            s += "irq_context: 0\n";
            for &k in c {
                s += &format!("[{:016x}] {}\n", key_addr(k), key_name(k));
            }
            s += "\n";
        }
        s
    }

    /// `/proc/lockdep_stats` (the lines numasim has values for, in
    /// `lockdep_stats_show()`'s layout).
    pub fn proc_lockdep_stats(&self) -> String {
        let indirect: usize = self
            .classes
            .keys()
            .map(|&k| self.forward_deps(k) - 1)
            .sum::<usize>()
            .saturating_sub(self.edges.len());
        let hlocks: usize = self.chains.iter().map(|c| c.len()).sum();
        let used = self.classes.len();
        let sum_forward: usize = self.classes.keys().map(|&k| self.forward_deps(k)).sum();
        let line = |name: &str, v: usize, max: Option<usize>| match max {
            Some(m) => format!(" {:<31}{v:11} [max: {m}]\n", format!("{name}:")),
            None => format!(" {:<31}{v:11}\n", format!("{name}:")),
        };
        let mut s = String::new();
        s += &line("lock-classes", used, Some(MAX_LOCKDEP_KEYS));
        s += &line(
            "direct dependencies",
            self.edges.len(),
            Some(MAX_LOCKDEP_ENTRIES),
        );
        s += &line("indirect dependencies", indirect, None);
        s += &line("all direct dependencies", self.edges.len(), None);
        s += &line(
            "dependency chains",
            self.chains.len(),
            Some(MAX_LOCKDEP_CHAINS),
        );
        s += &line(
            "dependency chain hlocks used",
            hlocks,
            Some(MAX_LOCKDEP_CHAIN_HLOCKS),
        );
        s += &line("dependency chain hlocks lost", 0, None);
        s += &line("in-hardirq chains", 0, None);
        s += &line("in-softirq chains", 0, None);
        s += &line("in-process chains", self.chains.len(), None);
        s += &line("combined max dependencies", sum_forward, None);
        s += &line("hardirq-safe locks", 0, None);
        s += &line("hardirq-unsafe locks", used, None);
        s += &line("softirq-safe locks", 0, None);
        s += &line("softirq-unsafe locks", used, None);
        s += &line("irq-safe locks", 0, None);
        s += &line("irq-unsafe locks", used, None);
        s += &line("uncategorized locks", 0, None);
        s += &line("unused locks", 0, None);
        s += &line("max locking depth", self.max_depth, None);
        s += &line("max bfs queue depth", self.max_bfs_queue, None);
        s += &line("debug_locks", self.debug_locks as usize, None);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::path::Gfp;
    use LockClass::*;

    fn run(ld: &mut Lockdep, p: &Path) -> KernelLog {
        let mut log = KernelLog::default();
        ld.validate(p, 0, &mut log);
        log
    }

    fn path(name: &'static str, locks: &[(LockClass, Mode)]) -> Path {
        let mut p = Path::new(name, 7);
        for &(c, m) in locks {
            p.lock(c, m);
        }
        for &(c, _) in locks.iter().rev() {
            p.unlock(c);
        }
        p
    }

    #[test]
    fn ab_ba_is_a_circular_dependency_naming_both_paths() {
        let mut ld = Lockdep::default();
        run(
            &mut ld,
            &path(
                "path_ab",
                &[(HugetlbLock, Mode::Spin), (ZoneLock, Mode::Spin)],
            ),
        );
        assert!(ld.reports.is_empty());
        let log = run(
            &mut ld,
            &path(
                "path_ba",
                &[(ZoneLock, Mode::Spin), (HugetlbLock, Mode::Spin)],
            ),
        );
        assert_eq!(ld.reports.len(), 1);
        let r = &ld.reports[0];
        assert_eq!(r.kind, ReportKind::Circular);
        assert_eq!(r.paths, vec!["path_ba", "path_ab"]);
        assert_eq!(r.classes, vec![HugetlbLock, ZoneLock]);
        let d = log.dmesg();
        assert!(d.contains("WARNING: possible circular locking dependency detected"));
        assert!(d.contains("sh/1 is trying to acquire lock:"));
        assert!(d.contains("(hugetlb_lock){....}-{3:3}, at: path_ba+0x1/0x4"));
        assert!(d.contains("-> #1 (&zone->lock){....}-{3:3}:"));
        assert!(d.contains("  lock(&zone->lock);\n") || d.contains("lock(&zone->lock);"));
        assert!(d.contains(" *** DEADLOCK ***"));
        // The first splat turns lockdep off, as debug_locks_off() does.
        assert!(!ld.debug_locks);
        run(
            &mut ld,
            &path(
                "again",
                &[(ZoneLock, Mode::Spin), (HugetlbLock, Mode::Spin)],
            ),
        );
        assert_eq!(ld.reports.len(), 1);
    }

    #[test]
    fn a_longer_cycle_is_found_through_the_graph() {
        let mut ld = Lockdep::default();
        run(
            &mut ld,
            &path(
                "p1",
                &[(MmapLock, Mode::Read), (HugetlbFaultMutex, Mode::Mutex)],
            ),
        );
        run(
            &mut ld,
            &path(
                "p2",
                &[(HugetlbFaultMutex, Mode::Mutex), (HugetlbLock, Mode::Spin)],
            ),
        );
        assert!(ld.reports.is_empty());
        // hugetlb_lock -> mmap_lock closes mmap -> mutex -> hugetlb_lock.
        let mut p = Path::new("p3", 9);
        p.lock(HugetlbLock, Mode::Spin);
        p.lock(MmapLock, Mode::Try);
        p.unlock(MmapLock);
        p.unlock(HugetlbLock);
        run(&mut ld, &p);
        assert!(ld.reports.is_empty(), "a trylock adds no dependency");
        run(
            &mut ld,
            &path("p4", &[(PtlPmd, Mode::Spin), (MmapLock, Mode::Read)]),
        );
        // p4's PtlPmd -> mmap_lock: no cycle yet, but against mm/rmap.c
        // (and a sleeping lock under a spinlock).
        let kinds: Vec<_> = ld.reports.iter().map(|r| r.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![ReportKind::SleepInAtomic, ReportKind::DocumentedOrder]
        );
        assert!(ld.reports[1].text.contains("mm/rmap.c"));
        ld.reports.clear();
        let mut p = Path::new("p5", 9);
        p.lock(HugetlbLock, Mode::Spin);
        p.lock(PtlPmd, Mode::Spin);
        p.unlock(PtlPmd);
        p.unlock(HugetlbLock);
        run(&mut ld, &p);
        let r = &ld.reports[0];
        assert_eq!(r.kind, ReportKind::Circular);
        assert_eq!(r.paths, vec!["p5", "p2", "p1", "p4"]);
        assert!(r.text.contains("-> #3 "));
    }

    #[test]
    fn recursion_needs_a_nesting_annotation_and_read_recursion_is_only_for_rwlocks() {
        // AA: a spinlock taken twice.
        let mut ld = Lockdep::default();
        let log = run(
            &mut ld,
            &path("aa", &[(ZoneLock, Mode::Spin), (ZoneLock, Mode::Spin)]),
        );
        assert_eq!(ld.reports.len(), 1);
        assert_eq!(ld.reports[0].kind, ReportKind::Recursive);
        let d = log.dmesg();
        assert!(d.contains("WARNING: possible recursive locking detected"));
        assert!(d.contains(" May be due to missing lock nesting notation"));
        assert!(
            !d.contains("2 locks held by sh/1:"),
            "reported before the second is held"
        );
        assert!(d.contains("1 lock held by sh/1:"));

        // spin_lock_nested(SINGLE_DEPTH_NESTING): a subclass, no report.
        let mut ld = Lockdep::default();
        let mut p = Path::new("nested", 1);
        p.lock(ZoneLock, Mode::Spin);
        p.lock_nested(ZoneLock, Mode::Spin, 1);
        p.unlock(ZoneLock);
        p.unlock(ZoneLock);
        run(&mut ld, &p);
        assert!(ld.reports.is_empty());
        assert!(ld.proc_lockdep().contains("&zone->lock/1"));

        // down_read twice: lockdep's check_deadlock() reports it (a
        // down_read is a non-recursive read, read == 1: a writer queued
        // between the two would deadlock).
        let mut ld = Lockdep::default();
        run(
            &mut ld,
            &path("rr", &[(MmapLock, Mode::Read), (MmapLock, Mode::Read)]),
        );
        assert_eq!(ld.reports.len(), 1);
        // read_lock() recursion (read == 2) is allowed.
        let mut ld = Lockdep::default();
        run(
            &mut ld,
            &path(
                "rwlock",
                &[
                    (MmapLock, Mode::ReadRecursive),
                    (MmapLock, Mode::ReadRecursive),
                ],
            ),
        );
        assert!(ld.reports.is_empty());
        // A trylock of a held class is no recursion either.
        let mut ld = Lockdep::default();
        run(
            &mut ld,
            &path("try", &[(FolioLock, Mode::Bit), (FolioLock, Mode::Try)]),
        );
        assert!(ld.reports.is_empty());
    }

    #[test]
    fn a_sleep_under_a_spinlock_is_a_bug_once_a_second() {
        let mut ld = Lockdep::default();
        let mut p = Path::new("sleepy", 3);
        p.lock(HugetlbLock, Mode::Spin);
        p.might_alloc("alloc_vmemmap_page_list", Gfp::KERNEL);
        p.unlock(HugetlbLock);
        let mut log = KernelLog::default();
        ld.validate(&p, 5_000_000, &mut log);
        assert_eq!(ld.reports.len(), 1);
        assert_eq!(ld.reports[0].kind, ReportKind::SleepInAtomic);
        assert_eq!(ld.reports[0].classes, vec![HugetlbLock]);
        let d = log.dmesg();
        assert!(d.contains(
            "BUG: sleeping function called from invalid context at alloc_vmemmap_page_list"
        ));
        assert!(d.contains("in_atomic(): 1, irqs_disabled(): 1, non_block: 0, pid: 1, name: sh"));
        assert!(ld.debug_locks, "a might_sleep BUG leaves lockdep on");
        ld.validate(&p, 500_000_000, &mut log);
        assert_eq!(ld.reports.len(), 1, "rate limited");
        ld.validate(&p, 1_100_000_000, &mut log);
        assert_eq!(ld.reports.len(), 2);
        assert!(log.dmesg().contains("Tainted: G        W"));
        // A non-blocking allocation under a spinlock is fine.
        let mut ld = Lockdep::default();
        let mut p = Path::new("atomic", 3);
        p.lock(HugetlbLock, Mode::Spin);
        p.might_alloc("x", Gfp::ATOMIC);
        p.unlock(HugetlbLock);
        run(&mut ld, &p);
        assert!(ld.reports.is_empty());
    }

    #[test]
    fn proc_files_have_the_kernel_layout() {
        let mut ld = Lockdep::default();
        run(
            &mut ld,
            &path(
                "p",
                &[(HugetlbResizeLock, Mode::Mutex), (HugetlbLock, Mode::Spin)],
            ),
        );
        let l = ld.proc_lockdep();
        assert!(l.starts_with("all lock classes:\n"));
        assert!(l.contains(" FD:    2 BD:    1 ....: &h->resize_lock\n -> ["));
        assert!(l.contains("] hugetlb_lock\n"));
        let c = ld.proc_lockdep_chains();
        assert!(c.starts_with("all lock chains:\nirq_context: 0\n["));
        let s = ld.proc_lockdep_stats();
        assert!(
            s.starts_with(" lock-classes:                            2 [max: 8192]\n"),
            "{s}"
        );
        assert!(s.contains(" direct dependencies:                     1 [max: 32768]\n"));
        assert!(s.contains(" max locking depth:                       2\n"));
        assert!(s.ends_with(" debug_locks:                             1\n"));
    }
}
