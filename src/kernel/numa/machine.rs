//! The machine's side of NUMA balancing: what a task's threads are and how
//! they touch memory (`TaskNuma`), the configuration the tick reads
//! (`numa_cfg`, the tasks' NUMA words), moving a task to other CPUs, and
//! the counters and per-task state read back for /proc.

use super::Balancing;
use crate::engine::types::*;
use crate::kernel::{Machine, MachineError};
pub use crate::model::numa::TaskNuma;
use crate::model::numa::{jiffies_at, NUMA_PERIOD_CAP_MS};
use crate::model::scenario::MAX_NODES;

/// The per-tick probability of an event with mean interval `mean_ms`, as
/// a threshold on a 32-bit hash.
fn per_tick(mean_ms: f64, tick_ms: f64) -> u32 {
    let p = 1.0 - (-tick_ms / mean_ms).exp();
    (p.clamp(0.0, 1.0) * u32::MAX as f64).round() as u32
}

/// A fraction as 16 bits.
fn frac16(f: f64) -> u32 {
    (f.clamp(0.0, 1.0) * 65535.0).round() as u32
}

/// The pid numasim gives task `index` (its threads follow it).
pub fn task_pid(index: usize) -> u32 {
    1000 + 100 * index as u32
}

impl Machine {
    /// Writes NUMA balancing's configuration for the tick: the tunables
    /// (periods capped at `NUMA_PERIOD_CAP_MS`), the restore order, the
    /// tick length, the top tier, each zone's node and every task's
    /// threads.
    pub(crate) fn write_numa_cfg(&mut self) {
        let Balancing {
            settings,
            hot_threshold_ms,
            restore,
        } = self.numa;
        let topo = &self.scenario.topology;
        let top_tier = topo.nodes.iter().map(|n| n.tier).min().unwrap_or(0);
        let toptier = topo
            .nodes
            .iter()
            .filter(|n| n.tier == top_tier)
            .fold(0u32, |m, n| m | 1 << n.id);
        let zone_nodes: Vec<u32> = topo.zones.iter().map(|z| z.node).collect();
        let threads: Vec<Vec<u32>> = self
            .tasks
            .iter()
            .map(|t| {
                t.numa
                    .thread_cpus
                    .iter()
                    .map(|&c| topo.cpu_node(c).unwrap_or(0) | c << NC_THREAD_CPU_SHIFT)
                    .collect()
            })
            .collect();
        let tick_ns = self.scenario.tick_ns.min(u32::MAX as u64) as u32;
        let b = self.backend.config_mut();
        let w = &mut b.numa_cfg;
        w[NC_MODE] = settings.mode;
        w[NC_SCAN_DELAY_MS] = settings.scan_delay_ms.min(NUMA_PERIOD_CAP_MS);
        w[NC_SCAN_PERIOD_MIN_MS] = settings.scan_period_min_ms.min(NUMA_PERIOD_CAP_MS);
        w[NC_SCAN_PERIOD_MAX_MS] = settings.scan_period_max_ms.min(NUMA_PERIOD_CAP_MS);
        w[NC_SCAN_SIZE_MB] = settings.scan_size_mb;
        w[NC_RESTORE] = restore.code();
        w[NC_TICK_NS] = tick_ns;
        w[NC_HOT_THRESHOLD_MS] = hot_threshold_ms;
        w[NC_TOPTIER] = toptier;
        for (z, n) in zone_nodes.into_iter().enumerate() {
            w[NC_ZONE_NODE + z] = n;
        }
        for (t, th) in threads.iter().enumerate() {
            let row = NC_THREADS + t * MAX_THREADS;
            w[row..row + MAX_THREADS].fill(0);
            w[row..row + th.len()].copy_from_slice(th);
        }
        // The hint fault's paths go to the lock validator once per restore
        // order while balancing runs (the tick's faults all lock alike).
        if settings.mode != 0 && self.numa_paths != Some(restore) {
            self.numa_paths = Some(restore);
            for thp in [false, true] {
                let p = super::paths::hint_fault_path(thp, restore, self.tick);
                self.keep_path(p);
            }
        }
    }

    /// Sets task `i`'s threads and access pattern (its `TaskDesc` words
    /// and its row of threads).
    pub(crate) fn set_task_numa(&mut self, i: usize, numa: TaskNuma) -> Result<(), MachineError> {
        let topo = &self.scenario.topology;
        numa.check(topo.nr_cpus()).map_err(MachineError::invalid)?;
        let tick_ms = self.scenario.tick_ns as f64 / 1e6;
        let cpu = numa.thread_cpus[0];
        let node = topo.cpu_node(cpu).unwrap_or(0);
        let start = self.tasks[i].start_tick;
        let fork = jiffies_at(
            start.min(u32::MAX as u64) as u32,
            self.scenario.tick_ns.min(u32::MAX as u64) as u32,
        );
        let d = &mut self.backend.config_mut().tasks[i];
        d.cpu_node = node;
        d.fork_jiffies = fork;
        d.pid = task_pid(i);
        d.threads = numa.thread_cpus.len() as u32
            | numa.nr_cpus() << TD_CPUS_SHIFT
            | if numa.numa_balancing_flag { TD_MOF } else { 0 };
        d.hot_private = frac16(numa.hot_fraction) | frac16(numa.private_fraction) << 16;
        d.hot_touch = per_tick(numa.hot_touch_ms, tick_ms);
        d.cold_touch = per_tick(numa.cold_touch_ms, tick_ms);
        let t = &mut self.tasks[i];
        t.cpu = cpu;
        t.node = node;
        t.numa = numa;
        self.write_numa_cfg();
        self.write_lock_cfg();
        Ok(())
    }

    /// Moves a running task's threads to `cpus` (thread i to the i-th CPU,
    /// the list repeated when it is shorter than the threads), as
    /// `sched_setaffinity()` to one CPU per thread would: its memory stays
    /// where it is, and NUMA balancing may move it after.
    pub fn move_task(&mut self, name: &str, cpus: &[u32]) -> Result<(), MachineError> {
        let i = self
            .tasks
            .iter()
            .position(|t| t.name == name && !t.stopped)
            .ok_or_else(|| {
                crate::kernel::KernelError::new(
                    crate::kernel::Errno::ESRCH,
                    format!("no running task named `{name}`"),
                )
            })?;
        if cpus.is_empty() {
            return Err(MachineError::invalid("expected at least one CPU"));
        }
        let mut numa = self.tasks[i].numa.clone();
        let n = numa.thread_cpus.len();
        numa.thread_cpus = (0..n).map(|k| cpus[k % cpus.len()]).collect();
        self.set_task_numa(i, numa)
    }

    /// The scenario's load balancer, at tick `tick` if it is one of its
    /// (every `load_balance_ms`): one task from the node running the most
    /// running tasks (counted by thread 0's CPU) to the node with CPUs
    /// running the fewest, when they differ by two or more; the task is
    /// the newest one on the busy node, its threads go to the quiet
    /// node's CPUs in order. A stand-in for the scheduler's balancing
    /// across NUMA domains, which moves tasks for CPU load and leaves
    /// their memory behind (numasim does not model task_numa_migrate(),
    /// which moves a task towards its memory).
    pub(crate) fn load_balance(&mut self) -> Result<(), MachineError> {
        let every_ms = self.scenario.numa.load_balance_ms as u64;
        if every_ms == 0 {
            return Ok(());
        }
        let every = (every_ms * 1_000_000 / self.scenario.tick_ns.max(1)).max(1);
        if self.tick == 0 || !self.tick.is_multiple_of(every) {
            return Ok(());
        }
        let topo = &self.scenario.topology;
        let nn = topo.nodes.len();
        let mut load = vec![0u32; nn];
        for t in self.tasks.iter().filter(|t| !t.stopped) {
            load[t.node as usize] += 1;
        }
        let with_cpus: Vec<usize> = (0..nn)
            .filter(|&n| !topo.nodes[n].cpus.is_empty())
            .collect();
        let (Some(&busy), Some(&quiet)) = (
            with_cpus
                .iter()
                .max_by_key(|&&n| (load[n], std::cmp::Reverse(n))),
            with_cpus.iter().min_by_key(|&&n| (load[n], n)),
        ) else {
            return Ok(());
        };
        if load[busy] < load[quiet] + 2 {
            return Ok(());
        }
        let Some(i) = self
            .tasks
            .iter()
            .rposition(|t| !t.stopped && t.node as usize == busy)
        else {
            return Ok(());
        };
        let cpus = self.scenario.topology.nodes[quiet].cpus.clone();
        let name = self.tasks[i].name.clone();
        self.move_task(&name, &cpus)
    }

    /// The next tick the load balancer runs at (u64::MAX: never).
    pub(crate) fn next_load_balance(&self) -> u64 {
        let every_ms = self.scenario.numa.load_balance_ms as u64;
        if every_ms == 0 {
            return u64::MAX;
        }
        let every = (every_ms * 1_000_000 / self.scenario.tick_ns.max(1)).max(1);
        (self.tick / every + 1) * every
    }

    /// NUMA balancing's events since boot: `NE_*` by index.
    pub fn numa_events(&mut self) -> Result<[u64; NR_NUMA_EVENTS], MachineError> {
        let s = &self.backend.state()?.numa_state;
        Ok(std::array::from_fn(|e| word64(s, NE_BASE + 2 * e)))
    }
}

/// The 64-bit counter at words (i, i + 1).
pub fn word64(w: &[u32], i: usize) -> u64 {
    w.get(i).copied().unwrap_or(0) as u64 | (w.get(i + 1).copied().unwrap_or(0) as u64) << 32
}

/// Hint faults on each node's CPUs and the local ones, from `numa_state`.
pub fn node_faults(state: &[u32], nr_nodes: usize) -> Vec<(u64, u64)> {
    (0..nr_nodes)
        .map(|n| {
            (
                word64(state, NE_NODE + 4 * n),
                word64(state, NE_NODE + 4 * n + 2),
            )
        })
        .collect()
}

/// Pages migrated from node to node, `[from][to]`.
pub fn flows(state: &[u32], nr_nodes: usize) -> Vec<Vec<u64>> {
    (0..nr_nodes)
        .map(|a| {
            (0..nr_nodes)
                .map(|b| word64(state, NE_FLOW + 2 * (a * MAX_NODES + b)))
                .collect()
        })
        .collect()
}
