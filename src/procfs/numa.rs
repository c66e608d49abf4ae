//! NUMA balancing's files: the `kernel.numa_balancing` sysctl, the
//! tunables under /sys/kernel/debug/sched/numa_balancing/, the hint-fault
//! restore order under /sys/kernel/debug/numasim/variants/
//! (`numa_restore_first`, `numa_thp_legacy`; neither: the merged lazy
//! order), and
//! /sys/kernel/debug/numasim/numa_tlb_cost (what one migrating hint fault
//! costs in TLB flushes and IPIs, per restore order and thread count, on
//! this machine's CPUs).
//!
//! Writes take the kernel's checks (`kernel::numa::parse_numa_balancing`,
//! `parse_debugfs_u32`), compared with Debian's 6.1 in
//! tests/numa_balancing.rs. Like every file of the tree, a value arrives
//! here trimmed: 6.1 refuses `echo " 5"` on a debugfs u32 file (kstrtoull
//! skips no leading space) where numasim takes it.

use super::lockdep::kstrtobool;
use super::table::At;
use super::{fs_err, Errno, File, FsError};
use crate::engine::types::*;
use crate::kernel::numa::tlb::{cost_table, RestoreOrder};
use crate::kernel::numa::{parse_debugfs_u32, parse_numa_balancing, DEBUGFS_FILES};
use crate::kernel::Machine;
use crate::model::workload::Mempolicy;

pub const SYSCTL_FILE: &str = "/proc/sys/kernel/numa_balancing";
pub const DEBUGFS_DIR: &str = "/sys/kernel/debug/sched/numa_balancing/";
pub const TLB_COST_FILE: &str = "/sys/kernel/debug/numasim/numa_tlb_cost";
const VARIANT_DIR: &str = "/sys/kernel/debug/numasim/variants/";

/// Thread counts of the cost table (the 1, 4 and 32).
pub const COST_THREADS: [u64; 3] = [1, 4, 32];

/// NUMA balancing's rows of the table.
pub fn files() -> Vec<File> {
    let mut v = vec![
        // kernel/sched/core.c sysctl_numa_balancing(): proc_dointvec_minmax
        // over 0..=4, 0644.
        File::rw(
            SYSCTL_FILE,
            |m, _| Ok(format!("{}\n", m.numa.settings.mode)),
            |m, at, v| {
                let mode =
                    parse_numa_balancing(v).map_err(|e| fs_err(at.path, e.errno, e.detail))?;
                m.numa.settings.mode = mode;
                m.write_numa_cfg();
                Ok(())
            },
        ),
        File::ro(TLB_COST_FILE, |m, _| Ok(tlb_cost_table(m))),
        File::ro("/proc/{pid}/numa_maps", numa_maps),
        File::ro("/proc/{pid}/sched", sched),
        File::ro("/sys/kernel/debug/numasim/numa_balancing", summary),
    ];
    for name in DEBUGFS_FILES {
        // debugfs_create_u32(): "%llu\n", simple_attr_write().
        v.push(File::rw(
            format!("{DEBUGFS_DIR}{name}"),
            |m, at| Ok(format!("{}\n", m.numa.debugfs(at.name()).unwrap_or(0))),
            |m, at, v| {
                let x = parse_debugfs_u32(v).map_err(|e| fs_err(at.path, e.errno, e.detail))?;
                if let Some(slot) = m.numa.debugfs_mut(at.name()) {
                    *slot = x;
                }
                m.write_numa_cfg();
                Ok(())
            },
        ));
    }
    // The two earlier orders are switches; with both off the hint fault
    // restores lazily (the merged order). Selecting one clears the other.
    for order in [RestoreOrder::RestoreFirst, RestoreOrder::LegacyThp] {
        v.push(File::rw(
            format!("{VARIANT_DIR}{}", order.name()),
            |m, at| Ok(format!("{}\n", (m.numa.restore.name() == at.name()) as u8)),
            |m, at, v| {
                let on = kstrtobool(at, v)?;
                let Some(order) = RestoreOrder::ALL
                    .into_iter()
                    .find(|o| o.name() == at.name())
                else {
                    return Err(fs_err(at.path, Errno::ENOENT, ""));
                };
                if on {
                    m.numa.restore = order;
                } else if m.numa.restore == order {
                    m.numa.restore = RestoreOrder::Lazy;
                }
                m.write_numa_cfg();
                Ok(())
            },
        ));
    }
    v
}

/// The flushes and IPIs of one hint fault that migrates, per restore
/// order, page size and thread count (threads on distinct CPUs, at most
/// the machine's), as arch/x86/mm/tlb.c counts them. The selected order
/// is marked `*`.
fn tlb_cost_table(m: &crate::kernel::Machine) -> String {
    let cpus = m.scenario.topology.nr_cpus() as u64;
    let mut s = format!(
        "# per migrating hint fault, {cpus} CPUs; restore order: {}\n{:<20} {:<5} {:>7} {:>19} {:>29} {:>23} {:>23}\n",
        m.numa.restore.name(),
        "order",
        "page",
        "threads",
        "nr_tlb_remote_flush",
        "nr_tlb_remote_flush_received",
        "nr_tlb_local_flush_one",
        "nr_tlb_local_flush_all",
    );
    for r in cost_table(&COST_THREADS, cpus) {
        let mark = if r.order == m.numa.restore { "*" } else { "" };
        let c = r.counters;
        s += &format!(
            "{:<20} {:<5} {:>7} {:>19} {:>29} {:>23} {:>23}\n",
            format!("{}{mark}", r.order.name()),
            if r.thp { "thp" } else { "4k" },
            r.threads,
            c.nr_tlb_remote_flush,
            c.nr_tlb_remote_flush_received,
            c.nr_tlb_local_flush_one,
            c.nr_tlb_local_flush_all,
        );
    }
    s
}

/// A task's NUMA balancing state, as `numa_tasks` holds it.
pub struct TaskNumaView {
    pub words: Vec<u32>,
}

impl TaskNumaView {
    pub fn word(&self, w: usize) -> u32 {
        self.words.get(w).copied().unwrap_or(0)
    }
    /// `numa_faults[NUMA_MEM]` of node `n`: (shared, private).
    pub fn mem(&self, n: usize) -> (u32, u32) {
        let b = NT_HDR + n * NTN_WORDS + NTN_MEM;
        (self.word(b), self.word(b + 1))
    }
    pub fn preferred(&self) -> Option<u32> {
        self.word(NT_PREFERRED).checked_sub(1)
    }
    pub fn grouped(&self) -> bool {
        self.word(NT_GROUP) != 0
    }
}

/// The NUMA state of every task so far (one read of the tasks' words).
pub fn task_views(m: &mut Machine) -> Result<Vec<TaskNumaView>, crate::kernel::MachineError> {
    let stride = numa_task_words(m.scenario.topology.nodes.len());
    let n = m.tasks.len();
    let w = m.backend_mut().numa_tasks(n * stride)?;
    Ok((0..n)
        .map(|t| TaskNumaView {
            words: w.get(t * stride..(t + 1) * stride).unwrap_or(&[]).to_vec(),
        })
        .collect())
}

/// `mpol_to_str()` (mm/mempolicy.c) of a task's policy as 6.1 prints it
/// in numa_maps: the default policy (numasim's `local`) prints `default`,
/// as does MPOL_BIND set with MPOL_F_NUMA_BALANCING (it carries
/// MPOL_F_MORON in 6.1; later kernels print `bind=balancing:`); weighted
/// interleave (6.9+) prints `weighted interleave:`.
pub fn mpol_to_str(p: &Mempolicy, numa_balancing_flag: bool) -> String {
    let nodes = |v: &[u32]| crate::model::workload::format_nodelist(v);
    match p {
        Mempolicy::Local => "default".into(),
        Mempolicy::Bind(_) if numa_balancing_flag => "default".into(),
        Mempolicy::Bind(v) => format!("bind:{}", nodes(v)),
        Mempolicy::Preferred(n) => format!("prefer:{n}"),
        Mempolicy::Interleave(v) => format!("interleave:{}", nodes(v)),
        Mempolicy::WeightedInterleave(v) => format!("weighted interleave:{}", nodes(v)),
    }
}

/// Where numasim puts a task's anonymous memory in its address space
/// (one mapping: the model has no virtual addresses yet).
pub const ANON_VMA_START: u64 = 0x7f00_0000_0000;

/// /proc/<pid>/numa_maps: `show_numa_map()` (fs/proc/task_mmu.c) for the
/// task's one anonymous mapping: its policy, `anon=` and `dirty=` (every
/// anonymous page is dirty), `active=` (0: the model keeps no active
/// list, as its LRU counts show), the pages per node, and
/// `kernelpagesize_kB=4` (a THP counts its 512 base pages). A mapping
/// without pages stops after the policy, as the kernel's does.
fn numa_maps(m: &mut Machine, at: &At) -> Result<String, FsError> {
    let rss = m.task_rss_by_node().map_err(|e| at.machine_err(e))?;
    let t = &m.tasks[at.task];
    let pol = mpol_to_str(&t.policy, t.numa.numa_balancing_flag);
    let nodes = &rss[at.task];
    let pages: u64 = nodes.iter().sum();
    let mut s = format!("{ANON_VMA_START:08x} {pol}");
    if pages > 0 {
        s += &format!(" anon={pages} dirty={pages} active=0");
        for (n, &p) in nodes.iter().enumerate() {
            if p > 0 {
                s += &format!(" N{n}={p}");
            }
        }
        s += " kernelpagesize_kB=4";
    }
    s.push('\n');
    Ok(s)
}

/// /proc/<pid>/sched: `proc_sched_show_task()`'s header and its NUMA
/// part (`sched_show_numa()`, kernel/sched/debug.c), the lines the model
/// has: the scan sequence, pages migrated, the preferred node, the
/// decayed fault total, the current node and group, and per node the
/// decayed memory faults of the task and of its group (the task's threads
/// form the group once they share a page; no group spans tasks).
fn sched(m: &mut Machine, at: &At) -> Result<String, FsError> {
    let views = task_views(m).map_err(|e| at.machine_err(e))?;
    let v = &views[at.task];
    let t = &m.tasks[at.task];
    let pid = crate::kernel::numa::machine::task_pid(at.task);
    let nn = m.scenario.topology.nodes.len();
    let mut s = format!(
        "{} ({pid}, #threads: {})\n{}\n",
        t.name,
        t.numa.thread_cpus.len(),
        "-".repeat(67)
    );
    let p = |s: &mut String, name: &str, v: i64| {
        *s += &format!("{name:<45}:{v:>21}\n");
    };
    let migrated = v.word(NT_MIGRATED) as u64 | (v.word(NT_MIGRATED + 1) as u64) << 32;
    let total: u64 = (0..nn).map(|n| v.mem(n).0 as u64 + v.mem(n).1 as u64).sum();
    p(&mut s, "mm->numa_scan_seq", v.word(NT_SEQ) as i64);
    p(&mut s, "numa_pages_migrated", migrated as i64);
    p(
        &mut s,
        "numa_preferred_nid",
        v.preferred().map_or(-1, |n| n as i64),
    );
    p(&mut s, "total_numa_faults", total as i64);
    let gid = if v.grouped() { pid } else { 0 };
    s += &format!("current_node={}, numa_group_id={gid}\n", t.node);
    for n in 0..nn {
        let (shared, private) = v.mem(n);
        let (gs, gp) = if v.grouped() {
            (shared, private)
        } else {
            (0, 0)
        };
        s += &format!(
            "numa_faults node={n} task_private={private} task_shared={shared} group_private={gp} group_shared={gs}\n"
        );
    }
    Ok(s)
}

/// /sys/kernel/debug/numasim/numa_balancing: the tick's view of NUMA
/// balancing: per task its threads' nodes, scan state, faults, migrations
/// and where its memory is; the pages migrated from node to node; the
/// model's counters the kernel has no vmstat line for.
fn summary(m: &mut Machine, at: &At) -> Result<String, FsError> {
    let rss = m.task_rss_by_node().map_err(|e| at.machine_err(e))?;
    let views = task_views(m).map_err(|e| at.machine_err(e))?;
    let (m, b) = m.view().map_err(|e| at.machine_err(e))?;
    let nn = m.scenario.topology.nodes.len();
    let st = &b.numa_state;
    let ev = |e: usize| crate::kernel::numa::machine::word64(st, NE_BASE + 2 * e);
    let mode = m.numa.settings.mode;
    let mut s = format!(
        "numa_balancing {mode}; restore order {}\n\n",
        m.numa.restore.name()
    );
    s += &format!(
        "{:>6} {:<12} {:>7} {:<10} {:>4} {:>9} {:>9} {:>10} {:>12} {:>12}  pages by node (local %)\n",
        "pid", "task", "threads", "nodes", "seq", "period_ms", "preferred", "faults", "migrated", "locality",
    );
    for (i, t) in m.tasks.iter().enumerate() {
        if t.stopped {
            continue;
        }
        let v = &views[i];
        let topo = &m.scenario.topology;
        let mut nodes: Vec<u32> = t
            .numa
            .thread_cpus
            .iter()
            .filter_map(|&c| topo.cpu_node(c))
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        let faults = v.word(NT_FAULTS) as u64 | (v.word(NT_FAULTS + 1) as u64) << 32;
        let migrated = v.word(NT_MIGRATED) as u64 | (v.word(NT_MIGRATED + 1) as u64) << 32;
        let r = &rss[i];
        let total: u64 = r.iter().sum();
        let local: u64 = nodes.iter().map(|&n| r[n as usize]).sum();
        let share = if total == 0 {
            "-".to_string()
        } else {
            format!("{:.1}%", 100.0 * local as f64 / total as f64)
        };
        s += &format!(
            "{:>6} {:<12} {:>7} {:<10} {:>4} {:>9} {:>9} {:>10} {:>12} {:>12}  {}\n",
            crate::kernel::numa::machine::task_pid(i),
            t.name,
            t.numa.thread_cpus.len(),
            crate::model::workload::format_nodelist(&nodes),
            v.word(NT_SEQ),
            v.word(NT_PERIOD_MS),
            v.preferred().map_or("-".into(), |n| n.to_string()),
            faults,
            migrated,
            share,
            r.iter()
                .enumerate()
                .map(|(n, p)| format!("N{n}={p}"))
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    s += "\npages migrated (from row node to column node)\n      ";
    for n in 0..nn {
        s += &format!(" {:>12}", format!("to N{n}"));
    }
    s.push('\n');
    for (a, row) in crate::kernel::numa::machine::flows(st, nn)
        .iter()
        .enumerate()
    {
        s += &format!("from N{a}");
        for v in row {
            s += &format!(" {v:>12}");
        }
        s.push('\n');
    }
    s += "\nhint faults by the faulting CPU's node (local)\n";
    for (n, (f, l)) in crate::kernel::numa::machine::node_faults(st, nn)
        .iter()
        .enumerate()
    {
        s += &format!("N{n} {f} ({l})\n");
    }
    s += &format!(
        "\nscans {}\nmigrations refused (target short of room) {}\nmigrations deferred (past {} a tick) {}\n",
        ev(NE_SCANS),
        ev(NE_MIGRATE_REFUSED),
        MAX_MIGRATIONS,
        ev(NE_MIGRATE_DEFERRED)
    );
    Ok(s)
}
