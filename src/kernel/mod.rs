//! The CPU side of the simulated kernel: the machine's control state
//! (tasks, tunables, counters), the paths that change it between ticks,
//! and the invariant checker.
//!
//! - `mm`: the generic memory-management paths (buddy transaction,
//!   contiguous ranges, migration, hotplug, mempolicy);
//! - `path`: the record of a kernel path (locks, sleep points, GFP flags);
//! - `errno`: the kernel's answers, as values;
//! - `hugetlb`: the pools, HVO, reservations, migration;
//! - `numa`: NUMA balancing's control side (tunables, tasks' threads and
//!   moves, counters; the tick's rules are in `model::numa`);
//! - `run`: the run/checkpoint/recover loop the CLI and the dashboard share.

pub mod boot;
pub mod errno;
pub mod hugetlb;
pub mod invariants;
pub mod klog;
pub mod lockdep;
pub mod mm;
pub mod numa;
pub use numa::TaskNuma;
pub mod path;
pub mod reporting;
pub mod run;
pub mod watermark;

use crate::engine::cpu::CpuBackend;
use crate::engine::types::*;
use crate::engine::{Backend, BackendChoice, EngineError, Request, SimBuffers};
use crate::model::scenario::{Scenario, TaskSpec, MAX_TASKS};
use crate::model::workload::{Mempolicy, CLASSES, MPOL_LOCAL, NR_CLASSES};
pub use errno::{Errno, KernelError};
use path::{LockClass, Mode, Path, PathLog};

/// Why a machine operation failed: the kernel refused it (with the errno
/// it returns), a fault found no page (the task would get SIGBUS), or the
/// engine failed (kept as the source).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MachineError {
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error("{0} (SIGBUS)")]
    Sigbus(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl MachineError {
    /// An EINVAL naming what was wrong.
    pub fn invalid(detail: impl Into<String>) -> MachineError {
        MachineError::Kernel(KernelError::new(Errno::EINVAL, detail))
    }
    /// The errno a system call would return (EIO for an engine failure,
    /// EFAULT for a fault without a page).
    pub fn errno(&self) -> Errno {
        match self {
            MachineError::Kernel(k) => k.errno,
            MachineError::Sigbus(_) => Errno::EFAULT,
            MachineError::Engine(_) => Errno::EIO,
        }
    }
}

/// `_parse_integer_fixup_radix()` for base 0 (lib/kstrtox.c): `0x`/`0X`
/// means hex and is dropped, another leading `0` means octal, anything
/// else decimal. Returns the radix and the digits the caller must check.
pub fn parse_integer_fixup_radix(s: &str) -> (u32, &str) {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, h)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    }
}

/// A task the host knows about (the buffers hold its compiled form).
#[derive(Clone, Debug, PartialEq)]
pub struct TaskInfo {
    pub name: String,
    pub cpu: u32,
    pub node: u32,
    pub workload: String,
    pub policy: Mempolicy,
    pub scale: f64,
    pub start_tick: u64,
    pub stop_tick: Option<u64>,
    pub stopped: bool,
    /// Its threads and how they touch its memory.
    pub numa: numa::TaskNuma,
    /// Scheduled moves to other CPUs: (tick, CPUs), in tick order.
    pub moves: Vec<(u64, Vec<u32>)>,
}

/// Where the newest control path spent its time (for `numasim bench
/// --hugetlb`); not part of the simulated state.
#[derive(Clone, Copy, Debug, Default)]
pub struct PathTimes {
    /// Copying the control state for a rollback.
    pub rollback_copy: std::time::Duration,
    /// Making the small state current (a small download on the GPU).
    pub fetch: std::time::Duration,
    /// The path itself, with the frames it read as it went.
    pub path: std::time::Duration,
    /// Handing its requests to the backend (submitted; the GPU may still
    /// be busy).
    pub apply: std::time::Duration,
    /// Requests made (frames, pageblocks and counter words).
    pub ops: u64,
    /// Bytes read from a device during the path.
    pub bytes_read: u64,
}

pub struct Machine {
    pub scenario: Scenario,
    backend: Box<dyn Backend>,
    pub seed: u64,
    /// The next tick to run (ticks run so far).
    pub tick: u64,
    pub tasks: Vec<TaskInfo>,
    pub min_free_kbytes: u64,
    /// Whether min_free_kbytes was set (scenario or sysctl) rather than
    /// computed: hotplug then keeps it (`user_min_free_kbytes`).
    pub user_min_free_kbytes: bool,
    /// `sysctl_lowmem_reserve_ratio`, per model zone type.
    pub lowmem_reserve_ratio: [u64; crate::model::topology::NR_ZONE_TYPES],
    pub watermark_scale_factor: u32,
    /// Weighted-interleave weights as written (0: the default, 1).
    pub il_weights: Vec<u8>,
    /// Cumulative per-zone counters.
    pub totals: Vec<[u64; NR_ZONE_STATS]>,
    /// The newest tick's per-zone counters.
    pub last: Vec<ZoneStats>,
    /// Hugetlb pools, mappings and the vmemmap's page table.
    pub hugetlb: hugetlb::Hugetlb,
    /// Memory-management state outside the frames (offline blocks, pages
    /// taken by contiguous allocation).
    pub mm: mm::MmState,
    /// The newest paths run, with their lock records.
    pub paths: PathLog,
    /// The lock validator and the control paths' lock statistics.
    pub lockdep: lockdep::Lockdep,
    /// The kernel log (`dmesg`).
    pub klog: klog::KernelLog,
    /// Where the newest control path spent its time.
    pub path_times: PathTimes,
    /// The task the next path runs for (its comm and pid in reports).
    pub(crate) path_task: Option<usize>,
    /// The control paths' vm events since boot (/proc/vmstat).
    pub vm_events: mm::VmEvents,
    /// Bumped by `echo 0 > /proc/lock_stat` (the device clears its
    /// zone->lock statistics when it sees the new value).
    pub(crate) lock_gen: u32,
    /// Free page reporting's host-side configuration.
    pub reporting: reporting::Reporting,
    /// NUMA balancing's tunables and variant.
    pub numa: numa::Balancing,
    /// The restore order whose hint-fault paths the validator last got.
    pub(crate) numa_paths: Option<numa::tlb::RestoreOrder>,
}

impl Machine {
    /// Boots the scenario's machine with the CPU reference backend.
    pub fn boot(scenario: Scenario, seed: Option<u64>) -> Result<Machine, MachineError> {
        let seed = seed.unwrap_or(scenario.seed);
        let bufs = boot::boot_buffers(&scenario, seed);
        Machine::with_backend(scenario, seed, Box::new(CpuBackend::new(bufs)))
    }

    /// Boots with a CPU backend on its own pool of `threads` threads.
    pub fn boot_with_threads(
        scenario: Scenario,
        seed: Option<u64>,
        threads: usize,
    ) -> Result<Machine, MachineError> {
        let seed = seed.unwrap_or(scenario.seed);
        let bufs = boot::boot_buffers(&scenario, seed);
        Machine::with_backend(
            scenario,
            seed,
            Box::new(CpuBackend::with_threads(bufs, threads)),
        )
    }

    /// Boots on the chosen backend (`engine::open`, its one `auto` rule).
    /// Returns the machine and why that backend was chosen.
    pub fn boot_on(
        scenario: Scenario,
        seed: Option<u64>,
        choice: BackendChoice,
    ) -> Result<(Machine, String), MachineError> {
        Self::boot_on_device(scenario, seed, choice, None)
    }

    /// `boot_on` with a device to use (the dashboard's own).
    pub fn boot_on_device(
        scenario: Scenario,
        seed: Option<u64>,
        choice: BackendChoice,
        ctx: Option<crate::engine::gpu::GpuContext>,
    ) -> Result<(Machine, String), MachineError> {
        let seed = seed.unwrap_or(scenario.seed);
        let bufs = boot::boot_buffers(&scenario, seed);
        let o = crate::engine::open(choice, bufs, ctx)?;
        Ok((Machine::with_backend(scenario, seed, o.backend)?, o.why))
    }

    /// After the GPU backend failed (device lost), continues on the CPU
    /// reference: from the backend's last consistent snapshot, replaying
    /// the configuration and request batches the device was given since
    /// and the ticks between them (`engine::replay`), up to the machine's
    /// tick, so nothing is lost. Returns the snapshot's tick (where the
    /// replay began).
    pub fn recover_on_cpu(&mut self) -> Result<u64, MachineError> {
        let rec = self.backend.take_recovery().ok_or_else(|| {
            EngineError::Invalid("the backend kept no consistent snapshot to continue from".into())
        })?;
        let from = rec.snapshot.params.tick as u64;
        let mut cpu = CpuBackend::new(rec.snapshot);
        crate::engine::replay(&mut cpu, &rec.journal, &rec.config, self.tick as u32)?;
        self.backend = Box::new(cpu);
        self.fold_stats()?;
        Ok(from)
    }

    /// Moves the machine, state and counters, to another backend built by
    /// `make` from the current buffers (the dashboard's backend switch).
    /// On failure the machine stays on its backend.
    pub fn switch_backend(
        &mut self,
        make: impl FnOnce(SimBuffers) -> Result<Box<dyn Backend>, EngineError>,
    ) -> Result<(), MachineError> {
        let bufs = self.backend.buffers()?.clone();
        self.backend = make(bufs)?;
        self.fold_stats()
    }

    /// Makes the backend's snapshot a consistent state of the current
    /// tick (a GPU backend downloads everything), so a device loss later
    /// replays from this point.
    pub fn checkpoint(&mut self) -> Result<(), MachineError> {
        self.backend.buffers()?;
        Ok(())
    }

    /// Wraps buffers already placed in a backend (built by `boot_buffers`).
    pub fn with_backend(
        scenario: Scenario,
        seed: u64,
        backend: Box<dyn Backend>,
    ) -> Result<Machine, MachineError> {
        let nz = scenario.topology.zones.len();
        let nn = scenario.topology.nodes.len();
        let user_min_free_kbytes = scenario.vm.min_free_kbytes.is_some();
        let min_free_kbytes = scenario
            .vm
            .min_free_kbytes
            .unwrap_or_else(|| watermark::default_min_free_kbytes(&scenario.topology));
        let scenario_topology = scenario.topology.clone();
        let mut m = Machine {
            watermark_scale_factor: scenario.vm.watermark_scale_factor,
            scenario,
            backend,
            seed,
            tick: 0,
            tasks: Vec::new(),
            min_free_kbytes,
            user_min_free_kbytes,
            lowmem_reserve_ratio: watermark::default_lowmem_reserve_ratio(),
            il_weights: vec![0; nn],
            totals: vec![[0; NR_ZONE_STATS]; nz],
            last: vec![ZoneStats::default(); nz],
            hugetlb: hugetlb::Hugetlb::new(&scenario_topology),
            mm: mm::MmState::new(&scenario_topology),
            paths: PathLog::default(),
            lockdep: lockdep::Lockdep::default(),
            klog: klog::KernelLog::default(),
            path_times: PathTimes::default(),
            path_task: None,
            vm_events: Default::default(),
            lock_gen: 0,
            reporting: reporting::Reporting::default(),
            numa: numa::Balancing::default(),
            numa_paths: None,
        };
        m.tick = m.backend.config().params.tick as u64;
        m.lockdep.costs.lock_ns = m.scenario.locks.path_lock_ns as u64;
        m.lockdep.costs.alloc_ns = m.scenario.locks.path_alloc_ns as u64;
        // A machine restored from buffers carries its lock statistics'
        // generation.
        m.lock_gen = m.backend.config().lock_cfg[LC_CLEAR_GEN];
        let rc = m.backend.config().report_cfg.clone();
        m.reporting.registered = rc[RC_ENABLED] != 0;
        if rc[RC_ORDER] <= crate::model::frame::MAX_PAGE_ORDER {
            m.reporting.order = Some(rc[RC_ORDER]);
        }
        let booted = rc[RC_TICK_NS] == 0;
        if booted {
            // A fresh boot: the scenario's `[reporting]`.
            let c = m.scenario.reporting;
            m.reporting.latency_base_ns = c.latency_base_ns;
            m.reporting.latency_mib_ns = c.latency_mib_ns;
            m.reporting.refault_mib_ns = c.refault_mib_ns;
            m.reporting.order = c.order;
        } else {
            m.reporting.latency_base_ns = rc[RC_LAT_BASE_NS];
            m.reporting.latency_mib_ns = rc[RC_LAT_MIB_NS];
            m.reporting.refault_mib_ns = rc[RC_REFAULT_MIB_NS];
        }
        m.write_report_cfg();
        if booted && m.scenario.reporting.enabled {
            m.set_page_reporting(true)?;
        }
        m.apply_watermarks();
        m.numa = if booted {
            numa::Balancing::from_scenario(&m.scenario.numa)
        } else {
            numa::Balancing::from_cfg(&m.backend.config().numa_cfg, m.numa)
        };
        m.write_numa_cfg();
        let specs = m.scenario.tasks.clone();
        for t in specs {
            m.spawn_spec(&t)?;
        }
        Ok(m)
    }

    pub fn backend_name(&self) -> String {
        self.backend.name()
    }

    /// Bytes of device memory per frame, on a GPU backend.
    pub fn device_bytes_per_frame(&mut self) -> Option<f64> {
        self.backend.as_gpu().map(|g| g.device_bytes_per_frame())
    }

    /// Everything current, scratch included: digests, the checker, parity
    /// (a GPU backend downloads it all).
    pub fn buffers(&mut self) -> Result<&SimBuffers, MachineError> {
        Ok(self.backend.buffers()?)
    }

    /// The small state current (zones, counters, pageblocks, tasks): what
    /// /proc and /sys read; never the frames.
    pub fn state(&mut self) -> Result<&SimBuffers, MachineError> {
        Ok(self.backend.state()?)
    }

    /// The small state made current, beside the machine itself: for a
    /// reader that formats from both (the /proc and /sys files).
    pub fn view(&mut self) -> Result<(&Machine, &SimBuffers), MachineError> {
        self.backend.state()?;
        let m: &Machine = self;
        Ok((m, m.backend.synced()))
    }

    /// Renders the frame map (`engine::frame_map`) and returns its words:
    /// the pixels, then the probe. A GPU backend draws from its own
    /// buffers; the CPU reference with the shader's twin. Blocking.
    pub fn frame_map(
        &mut self,
        p: &crate::engine::frame_map::FrameMapParams,
    ) -> Result<Vec<u32>, MachineError> {
        if let Some(g) = self.backend.as_gpu() {
            return Ok(g.frame_map(p)?);
        }
        let b = self.backend.buffers()?;
        let mut out = vec![0u32; p.out_words()];
        crate::engine::frame_map::render(b, p, &mut out).map_err(EngineError::Invalid)?;
        Ok(out)
    }

    /// Runs the phases of the next tick one at a time (for diagnostics).
    pub fn backend_mut(&mut self) -> &mut dyn Backend {
        self.backend.as_mut()
    }

    pub fn tick_ns(&self) -> u64 {
        self.scenario.tick_ns
    }

    /// Simulated time elapsed, in nanoseconds.
    pub fn now_ns(&self) -> u64 {
        self.tick * self.scenario.tick_ns
    }

    /// Keeps a path's record: the lock validator checks it (reports go to
    /// the kernel log) and its hold times join /proc/lock_stat.
    pub fn keep_path(&mut self, path: Path) {
        let now = self.now_ns();
        self.lockdep.validate(&path, now, &mut self.klog);
        self.paths.push(path);
    }

    /// Runs one kernel path: `f` works on memory through `Mm` (the buddy
    /// transaction over the backend's frames, the topology, the path's
    /// record) and on the hugetlb pools. On success the path's writes go to
    /// the backend as one request batch, the zones' managed pages change
    /// and the counters take the path's changes; on failure the pools and
    /// the mm state are put back and nothing is written (every path that
    /// can fail part way is all or nothing). The record is kept either way.
    pub fn run_path<R>(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&mut mm::Mm, &mut hugetlb::Hugetlb) -> Result<R, MachineError>,
    ) -> Result<R, MachineError> {
        let t0 = std::time::Instant::now();
        let saved = (self.hugetlb.clone(), self.mm.clone());
        let t1 = std::time::Instant::now();
        let mut path = Path::new(name, self.tick);
        let mut cpu_node = self.scenario.topology.node_of_cpu(0).unwrap_or(0);
        if let Some(i) = self.path_task.take() {
            path = path.for_task(&self.tasks[i].name, i);
            cpu_node = self.tasks[i].node;
        }
        // Blocks can be out for reporting until the last report drains,
        // registered or not: the view is read once anything was reported.
        let report = if self.reporting.registered || self.reporting.reports_seen != 0 {
            mm::ReportView {
                state: self.backend.state()?.report_state.clone(),
                drain_contig: self.backend.config().report_cfg[RC_DRAIN_CONTIG] != 0,
                tick: self.tick as u32,
                words: Default::default(),
            }
        } else {
            mm::ReportView::default()
        };
        let src = self.backend.frames()?;
        let t2 = std::time::Instant::now();
        let mut txn = mm::buddy::Txn::new(&*src);
        let mut m = mm::Mm::new(&mut txn, &self.scenario.topology, &mut path, &mut self.mm);
        m.variants = self.lockdep.variants;
        m.report = report;
        m.cpu_node = cpu_node;
        let r = f(&mut m, &mut self.hugetlb);
        let delta = std::mem::take(&mut m.managed_delta);
        let report_words = std::mem::take(&mut m.report.words);
        let events = m.events;
        drop(m);
        let r = match (r, src.error()) {
            (Ok(_), Some(e)) => Err(MachineError::Engine(e)),
            (r, _) => r,
        };
        let bytes_read = src.bytes_read();
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                drop(txn);
                drop(src);
                // A failure found part way keeps the violation it saw.
                let v = self.hugetlb.step_violation.clone();
                (self.hugetlb, self.mm) = saved;
                self.hugetlb.step_violation = v;
                self.vm_events.add(&events, true);
                self.keep_path(path);
                return Err(e);
            }
        };
        self.vm_events.add(&events, false);
        let mut requests = txn.requests();
        requests.extend(
            report_words
                .into_iter()
                .map(|(w, v)| crate::engine::requests::Request::set_report_word(w, v)),
        );
        let totals = txn.totals_after();
        drop(txn);
        drop(src);
        let t3 = std::time::Instant::now();
        if delta.iter().any(|&d| d != 0) {
            let b = self.backend.config_mut();
            for (z, d) in delta.into_iter().enumerate() {
                b.zones[z].managed = (b.zones[z].managed as i64 + d) as u32;
                b.zones[z].reserved = (b.zones[z].reserved as i64 - d) as u32;
            }
        }
        self.report_notify(&mut requests);
        let ops = requests.len() as u64;
        self.backend.enqueue(requests)?;
        // The machine's copy of the counters takes the path's changes now
        // (the path read them from current state, so the values are
        // exact); the next fold reads the same values back.
        for (i, v) in totals {
            self.totals[i / NR_ZONE_STATS][i % NR_ZONE_STATS] = v;
        }
        self.keep_path(path);
        self.path_times = PathTimes {
            rollback_copy: t1 - t0,
            fetch: t2 - t1,
            path: t3 - t2,
            apply: t3.elapsed(),
            ops,
            bytes_read,
        };
        Ok(r)
    }

    /// `__setup_per_zone_wmarks()`: every zone's watermarks from
    /// `min_free_kbytes` and `watermark_scale_factor`, each under its
    /// zone lock.
    fn apply_watermarks(&mut self) {
        let kswapd_pages =
            (self.scenario.vm.kswapd_mib_per_s * 256.0 * self.scenario.tick_ns as f64 / 1e9)
                .round()
                .clamp(1.0, 65535.0) as u32;
        let mut path = Path::new("setup_per_zone_wmarks", self.tick);
        let b = self.backend.config_mut();
        for _ in b.zones.iter() {
            path.lock(LockClass::ZoneLock, Mode::Spin);
            path.unlock(LockClass::ZoneLock);
        }
        watermark::setup_zone_wmarks(
            &mut b.zones,
            self.min_free_kbytes,
            self.watermark_scale_factor,
            &self.lowmem_reserve_ratio,
        );
        for z in b.zones.iter_mut() {
            z.kswapd_pages_per_tick = kswapd_pages;
        }
        self.keep_path(path);
        // pcp->high follows the low watermark (zone_highsize()).
        self.write_lock_cfg();
    }

    /// `init_per_zone_wmark_min()` after a memory block went offline or
    /// online: min_free_kbytes from the managed pages now (unless a
    /// scenario or a write set it: `user_min_free_kbytes`), then the
    /// watermarks and lowmem reserves.
    pub fn init_per_zone_wmark_min(&mut self) {
        if !self.user_min_free_kbytes {
            let b = self.backend.config();
            self.min_free_kbytes = watermark::min_free_kbytes_of(b.zones.iter().map(|z| {
                (
                    crate::model::topology::ZoneType::from_index(z.zone_type),
                    z.managed as u64,
                )
            }));
        }
        self.apply_watermarks();
    }

    /// `vm.lowmem_reserve_ratio` write (lowmem_reserve_ratio_sysctl_handler):
    /// the values given replace the first ratios, a ratio below 1 becomes
    /// 0 (no reserve), then setup_per_zone_lowmem_reserve().
    pub fn set_lowmem_reserve_ratio(&mut self, values: &[i64]) {
        for (r, &v) in self.lowmem_reserve_ratio.iter_mut().zip(values) {
            *r = if v < 1 { 0 } else { v as u64 };
        }
        self.apply_watermarks();
    }

    /// `vm.min_free_kbytes` write (the caller has range-checked it).
    pub fn set_min_free_kbytes(&mut self, v: u64) {
        self.user_min_free_kbytes = true;
        self.min_free_kbytes = v;
        self.apply_watermarks();
    }

    /// `vm.watermark_scale_factor` write (1..=3000).
    pub fn set_watermark_scale_factor(&mut self, v: u32) {
        self.watermark_scale_factor = v;
        self.apply_watermarks();
    }

    /// Writes a weighted-interleave weight (0 resets to the default, 1).
    pub fn set_il_weight(&mut self, node: usize, w: u8) {
        self.il_weights[node] = w;
        self.backend.config_mut().nodes[node].il_weight = if w == 0 { 1 } else { w as u32 };
    }

    fn spawn_spec(&mut self, t: &TaskSpec) -> Result<(), MachineError> {
        self.spawn(
            &t.name,
            t.cpu,
            &t.workload,
            t.policy.clone(),
            t.scale,
            t.start_tick,
            t.stop_tick,
        )?;
        let i = self.tasks.len() - 1;
        self.tasks[i].moves = t.moves.clone();
        if let Some(n) = &t.numa {
            self.set_task_numa(i, n.clone())?;
        }
        Ok(())
    }

    /// Starts a task on `cpu` running `workload` under `policy`.
    #[allow(clippy::too_many_arguments)]
    pub fn spawn(
        &mut self,
        name: &str,
        cpu: u32,
        workload: &str,
        policy: Mempolicy,
        scale: f64,
        start_tick: u64,
        stop_tick: Option<u64>,
    ) -> Result<(), MachineError> {
        let topo = &self.scenario.topology;
        if self.tasks.iter().any(|t| t.name == name && !t.stopped) {
            return Err(KernelError::new(
                Errno::EEXIST,
                format!("a task named `{name}` is already running"),
            )
            .into());
        }
        if self.tasks.len() >= MAX_TASKS {
            return Err(MachineError::invalid(format!(
                "at most {MAX_TASKS} tasks may be spawned in one run"
            )));
        }
        let node = topo.cpu_node(cpu).ok_or_else(|| {
            MachineError::invalid(format!(
                "cpu {cpu} does not exist (the machine has CPUs 0-{})",
                topo.nr_cpus().saturating_sub(1)
            ))
        })?;
        let nr_nodes = topo.nodes.len() as u32;
        for n in policy.nodes() {
            if n >= nr_nodes {
                return Err(MachineError::invalid(format!(
                    "policy {policy} names node {n}, but the machine has nodes 0-{}",
                    nr_nodes - 1
                )));
            }
            if topo.nodes[n as usize].frames == 0 {
                return Err(MachineError::invalid(format!(
                    "policy {policy} names node {n}, which has no memory"
                )));
            }
        }
        if policy.mode() != MPOL_LOCAL && policy.nodes().is_empty() {
            return Err(MachineError::invalid(format!(
                "policy {policy} needs at least one node"
            )));
        }
        let wl = self.scenario.workload(workload).ok_or_else(|| {
            MachineError::invalid(format!(
                "unknown workload `{workload}` (known: {})",
                self.scenario
                    .workloads
                    .iter()
                    .map(|w| w.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if !(scale.is_finite() && scale >= 0.0) {
            return Err(MachineError::invalid(format!(
                "scale {scale}: expected a non-negative number"
            )));
        }
        let tick_ms = self.scenario.tick_ns as f64 / 1e6;
        let mut desc = TaskDesc {
            alive: 1,
            cpu_node: node,
            mode: policy.mode(),
            nodemask: policy.nodes().iter().fold(0, |m, &n| m | 1 << n),
            preferred: if let Mempolicy::Preferred(n) = policy {
                n
            } else {
                node
            },
            start_tick: start_tick.min(u32::MAX as u64) as u32,
            ..Default::default()
        };
        for cr in &wl.classes {
            let c = cr.class.0 as usize;
            let per_tick = cr.rate_per_s * scale * tick_ms / 1000.0;
            if per_tick >= 65535.0 {
                return Err(MachineError::invalid(format!(
                    "workload `{workload}` class {}: {per_tick:.3e} allocations per tick; at most 65535 (lower the rate, the scale or tick_ms)",
                    CLASSES[c].name
                )));
            }
            desc.rate_fp[c] = (per_tick * 65536.0).round() as u32;
            desc.free_thresh[c] = if cr.lifetime_ms <= 0.0 {
                0
            } else {
                ((tick_ms / cr.lifetime_ms).min(1.0) * 4_294_967_295.0).round() as u32
            };
        }
        let b = self.backend.config_mut();
        let index = b.tasks.len();
        b.tasks.push(desc);
        b.params.nr_tasks = b.tasks.len() as u32;
        // The task's state is the device's: it arrives as requests.
        // do_set_mempolicy(): il_prev = MAX_NUMNODES-1 so the first page
        // goes to the lowest node of the mask.
        let state = TaskState {
            il_prev: nr_nodes - 1,
            ..Default::default()
        };
        let words: &[u32] = bytemuck::cast_slice(std::slice::from_ref(&state));
        let base = (index * words.len()) as u32;
        let reqs = words
            .iter()
            .enumerate()
            .map(|(w, &v)| Request::set_task_word(base + w as u32, v))
            .collect();
        self.backend.enqueue(reqs)?;
        debug_assert!(NR_CLASSES == desc.rate_fp.len());
        self.tasks.push(TaskInfo {
            name: name.to_string(),
            cpu,
            node,
            workload: workload.to_string(),
            policy,
            scale,
            start_tick,
            stop_tick,
            stopped: false,
            numa: numa::TaskNuma::single(cpu),
            moves: Vec::new(),
        });
        self.set_task_numa(index, numa::TaskNuma::single(cpu))?;
        Ok(())
    }

    /// Stops a running task: its memory is freed in the next tick.
    pub fn stop(&mut self, name: &str) -> Result<(), MachineError> {
        let i = self
            .tasks
            .iter()
            .position(|t| t.name == name && !t.stopped)
            .ok_or_else(|| {
                KernelError::new(Errno::ESRCH, format!("no running task named `{name}`"))
            })?;
        self.tasks[i].stopped = true;
        // exit_mmap(): its memory goes in the next tick's `free`.
        let mut path = Path::new("exit_mmap", self.tick).for_task(name, i);
        path.lock(LockClass::MmapLock, Mode::Write);
        self.backend.config_mut().tasks[i].alive = 0;
        // Its deferred requests are dropped (task state: a request).
        let words = std::mem::size_of::<TaskState>() / 4;
        let pending = std::mem::offset_of!(TaskState, pending) / 4;
        let reqs = (0..NR_CLASSES)
            .map(|c| Request::set_task_word((i * words + pending + c) as u32, 0))
            .collect();
        path.unlock(LockClass::MmapLock);
        self.keep_path(path);
        self.backend.enqueue(reqs)?;
        Ok(())
    }

    /// Runs `n` ticks, calling `each` after every tick.
    pub fn run(&mut self, n: u64, mut each: impl FnMut(&Machine)) -> Result<(), MachineError> {
        for _ in 0..n {
            self.advance(1)?;
            each(self);
        }
        Ok(())
    }

    /// Runs one tick.
    pub fn step(&mut self) -> Result<(), MachineError> {
        self.advance(1)
    }

    /// Runs `n` ticks with as little host work as possible: the backend runs
    /// them in batches, split only where a scheduled task stop falls, and
    /// the counters are read once at the end.
    pub fn advance(&mut self, n: u64) -> Result<(), MachineError> {
        self.submit(n)?;
        self.fold_stats()
    }

    /// Like `advance`, without reading the counters back: a GPU backend
    /// returns as soon as the work is queued (the dashboard's loop, which
    /// picks counters up with `poll_stats`).
    pub fn submit(&mut self, n: u64) -> Result<(), MachineError> {
        use crate::model::scenario::MAX_TICKS;
        if n > MAX_TICKS - self.tick.min(MAX_TICKS) {
            return Err(MachineError::invalid(format!(
                "{n} ticks from tick {}: a run ends at tick {MAX_TICKS} at most (the tick counter is 32-bit)",
                self.tick
            )));
        }
        let end = self.tick + n;
        while self.tick < end {
            // Scheduled stops take effect at the start of their tick.
            let due: Vec<String> = self
                .tasks
                .iter()
                .filter(|t| !t.stopped && t.stop_tick == Some(self.tick))
                .map(|t| t.name.clone())
                .collect();
            for name in due {
                self.stop(&name)?;
            }
            // Scheduled moves too.
            let moves: Vec<(String, Vec<u32>)> = self
                .tasks
                .iter()
                .filter(|t| !t.stopped)
                .flat_map(|t| {
                    t.moves
                        .iter()
                        .filter(|(at, _)| *at == self.tick)
                        .map(|(_, c)| (t.name.clone(), c.clone()))
                })
                .collect();
            for (name, cpus) in moves {
                self.move_task(&name, &cpus)?;
            }
            self.load_balance()?;
            let next_move = self
                .tasks
                .iter()
                .filter(|t| !t.stopped)
                .flat_map(|t| t.moves.iter().map(|(at, _)| *at))
                .filter(|&at| at > self.tick)
                .min()
                .unwrap_or(u64::MAX)
                .min(self.next_load_balance());
            let next_stop = self
                .tasks
                .iter()
                .filter_map(|t| t.stop_tick.filter(|&s| !t.stopped && s > self.tick))
                .min()
                .unwrap_or(u64::MAX)
                .min(next_move);
            let k = (end.min(next_stop) - self.tick).min(u32::MAX as u64) as u32;
            self.backend.run_ticks(k)?;
            self.tick += k as u64;
        }
        Ok(())
    }

    /// The newest finished counters, without waiting; when they are newer
    /// than what the machine holds, they become its counters.
    pub fn poll_stats(&mut self) -> Option<crate::engine::StatsSample> {
        let s = self.backend.latest_stats()?;
        if s.totals.len() == self.totals.len() {
            self.totals.copy_from_slice(&s.totals);
            self.last.copy_from_slice(&s.last);
        }
        self.note_reports(&s.report_state);
        Some(s)
    }

    /// Configuration as the host wrote it (zones, nodes, tasks): current
    /// without synchronizing with a GPU.
    pub fn config(&self) -> &SimBuffers {
        self.backend.config()
    }

    /// Reads the cumulative counters and the newest tick's counters.
    pub fn fold_stats(&mut self) -> Result<(), MachineError> {
        self.backend.read_stats(&mut self.totals, &mut self.last)?;
        if self.reporting.registered || self.reporting.reports_seen != 0 {
            let rs = self.backend.state()?.report_state.clone();
            self.note_reports(&rs);
        }
        Ok(())
    }

    /// The state digest (see `SimBuffers::digest`).
    pub fn digest(&mut self) -> Result<u64, MachineError> {
        Ok(self.buffers()?.digest())
    }

    /// Each task's resident anonymous pages per node (`MM_ANONPAGES` by
    /// node: what `/proc/<pid>/numa_maps` shows as `N<node>=`), task by
    /// task. Reads only the tasks' counters (`TZ_RSS`), never the frames.
    pub fn task_rss_by_node(&mut self) -> Result<Vec<Vec<u64>>, MachineError> {
        let nr_tasks = self.tasks.len();
        let words = self.backend.task_rss(nr_tasks)?;
        let b = self.backend.config();
        let nz = b.zones.len();
        let nn = b.nodes.len();
        let mut out = vec![vec![0u64; nn]; nr_tasks];
        for (i, &w) in words.iter().enumerate() {
            let node = b.zones[i % nz].node as usize;
            out[i / nz][node] += w as u64;
        }
        Ok(out)
    }

    /// Runs the invariant checker on the current state.
    pub fn check(&mut self) -> Result<(), invariants::Violation> {
        let tick = self.tick;
        let totals = self.totals.clone();
        let b = self.backend.buffers().map_err(|e| invariants::Violation {
            name: "backend",
            tick,
            detail: e.to_string(),
        })?;
        invariants::check(b, &totals, &self.mm.contig_taken, tick)?;
        lockdep::zone_lock::check(b).map_err(|(name, detail)| invariants::Violation {
            name,
            tick,
            detail,
        })?;
        if let Some(sv) = &self.hugetlb.step_violation {
            return Err(invariants::Violation {
                name: sv.name,
                tick: sv.tick,
                detail: sv.detail.clone(),
            });
        }
        hugetlb::check::check(&self.hugetlb, b, &self.tasks)
            .map_err(|(name, detail)| invariants::Violation { name, tick, detail })
    }

    /// Sum of a counter over the zones of `node` (or all zones).
    pub fn total(&self, stat: usize, node: Option<u32>) -> u64 {
        self.scenario
            .topology
            .zones
            .iter()
            .enumerate()
            .filter(|(_, z)| node.is_none_or(|n| z.node == n))
            .map(|(i, _)| self.totals[i][stat])
            .sum()
    }
}
