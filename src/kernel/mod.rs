//! The CPU side of the simulated kernel: the machine's control state
//! (tasks, tunables, counters), the paths that change it between ticks, and
//! the invariant checker.

pub mod boot;
pub mod hugetlb;
pub mod invariants;
pub mod watermark;

use crate::engine::cpu::CpuBackend;
use crate::engine::types::*;
use crate::engine::{Backend, EngineError, SimBuffers};
use crate::model::scenario::{Scenario, TaskSpec, MAX_TASKS};
use crate::model::workload::{Mempolicy, CLASSES, MPOL_LOCAL, NR_CLASSES};

/// Errors of control paths; `errno` is the kernel's answer where one applies.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MachineError {
    #[error("{0}")]
    Invalid(String),
    #[error("engine: {0}")]
    Engine(String),
}

impl From<EngineError> for MachineError {
    fn from(e: EngineError) -> Self {
        MachineError::Engine(e.to_string())
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
}

/// Which backend to run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// The CPU reference backend.
    Cpu,
    /// The GPU backend; an error if it cannot start.
    Gpu,
    /// The GPU if one can hold the scenario (hardware first, then a
    /// software adapter), else the CPU reference.
    Auto,
}

pub struct Machine {
    pub scenario: Scenario,
    backend: Box<dyn Backend>,
    pub seed: u64,
    /// The next tick to run (ticks run so far).
    pub tick: u64,
    pub tasks: Vec<TaskInfo>,
    pub min_free_kbytes: u64,
    pub watermark_scale_factor: u32,
    /// Weighted-interleave weights as written (0: the default, 1).
    pub il_weights: Vec<u8>,
    /// Cumulative per-zone counters.
    pub totals: Vec<[u64; NR_ZONE_STATS]>,
    /// The newest tick's per-zone counters.
    pub last: Vec<ZoneStats>,
    /// Hugetlb pools, mappings and the vmemmap's page table.
    pub hugetlb: hugetlb::Hugetlb,
    /// Where the newest hugetlb control path spent its time (for
    /// `numasim bench --hugetlb`); not part of the simulated state.
    pub path_times: hugetlb::PathTimes,
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

    /// Boots on the chosen backend. Returns the machine and why that
    /// backend was chosen.
    pub fn boot_on(
        scenario: Scenario,
        seed: Option<u64>,
        choice: BackendChoice,
    ) -> Result<(Machine, String), MachineError> {
        use crate::engine::gpu::{device, GpuBackend};
        let seed = seed.unwrap_or(scenario.seed);
        if choice == BackendChoice::Cpu {
            let m = Machine::boot(scenario, Some(seed))?;
            return Ok((m, "requested with --backend cpu".to_string()));
        }
        let gpu = device::open().and_then(|ctx| {
            let desc = ctx.describe();
            GpuBackend::new(ctx, boot::boot_buffers(&scenario, seed)).map(|b| (b, desc))
        });
        match gpu {
            Ok((b, desc)) => {
                let why = if choice == BackendChoice::Auto {
                    format!("auto: {desc} is the best adapter with compute shaders (hardware before software) and holds the scenario")
                } else {
                    "requested with --backend gpu".to_string()
                };
                Ok((Machine::with_backend(scenario, seed, Box::new(b))?, why))
            }
            Err(e) if choice == BackendChoice::Gpu => Err(MachineError::Engine(e.to_string())),
            Err(e) => {
                let m = Machine::boot(scenario, Some(seed))?;
                Ok((m, format!("auto: the CPU reference, because {e}")))
            }
        }
    }

    /// After the GPU backend failed (device lost), continues on the CPU
    /// reference from the backend's last consistent snapshot. Returns the
    /// tick the machine resumes at (the run is rewound to it, counters
    /// included).
    pub fn recover_on_cpu(&mut self) -> Result<u64, MachineError> {
        let snap = self.backend.snapshot().cloned().ok_or_else(|| {
            MachineError::Engine("the backend kept no consistent snapshot to continue from".into())
        })?;
        let tick = snap.params.tick as u64;
        self.backend = Box::new(CpuBackend::new(snap));
        self.tick = tick;
        self.fold_stats()?;
        Ok(tick)
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

    /// Makes the host copy a consistent snapshot of the current tick (a
    /// GPU backend downloads everything), so a device loss later loses
    /// nothing before this point.
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
            il_weights: vec![0; nn],
            totals: vec![[0; NR_ZONE_STATS]; nz],
            last: vec![ZoneStats::default(); nz],
            hugetlb: hugetlb::Hugetlb::new(&scenario_topology),
            path_times: hugetlb::PathTimes::default(),
        };
        m.apply_watermarks();
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
    pub fn device_bytes_per_frame(&self) -> Option<f64> {
        self.backend.device_bytes_per_frame()
    }

    pub fn buffers(&mut self) -> Result<&SimBuffers, MachineError> {
        Ok(self.backend.buffers()?)
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

    fn apply_watermarks(&mut self) {
        let kswapd_pages =
            (self.scenario.vm.kswapd_mib_per_s * 256.0 * self.scenario.tick_ns as f64 / 1e9)
                .round()
                .clamp(1.0, 65535.0) as u32;
        let b = self.backend.buffers_mut();
        watermark::setup_zone_wmarks(
            &mut b.zones,
            self.min_free_kbytes,
            self.watermark_scale_factor,
        );
        for z in b.zones.iter_mut() {
            z.kswapd_pages_per_tick = kswapd_pages;
        }
    }

    /// `vm.min_free_kbytes` write (the caller has range-checked it).
    pub fn set_min_free_kbytes(&mut self, v: u64) {
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
        self.backend.buffers_mut().nodes[node].il_weight = if w == 0 { 1 } else { w as u32 };
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
        )
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
            return Err(MachineError::Invalid(format!(
                "a task named `{name}` is already running"
            )));
        }
        if self.tasks.len() >= MAX_TASKS {
            return Err(MachineError::Invalid(format!(
                "at most {MAX_TASKS} tasks may be spawned in one run"
            )));
        }
        let node = topo.cpu_node(cpu).ok_or_else(|| {
            MachineError::Invalid(format!(
                "cpu {cpu} does not exist (the machine has CPUs 0-{})",
                topo.nr_cpus().saturating_sub(1)
            ))
        })?;
        let nr_nodes = topo.nodes.len() as u32;
        for n in policy.nodes() {
            if n >= nr_nodes {
                return Err(MachineError::Invalid(format!(
                    "policy {policy} names node {n}, but the machine has nodes 0-{}",
                    nr_nodes - 1
                )));
            }
            if topo.nodes[n as usize].frames == 0 {
                return Err(MachineError::Invalid(format!(
                    "policy {policy} names node {n}, which has no memory"
                )));
            }
        }
        if policy.mode() != MPOL_LOCAL && policy.nodes().is_empty() {
            return Err(MachineError::Invalid(format!(
                "policy {policy} needs at least one node"
            )));
        }
        let wl = self.scenario.workload(workload).ok_or_else(|| {
            MachineError::Invalid(format!(
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
            return Err(MachineError::Invalid(format!(
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
                return Err(MachineError::Invalid(format!(
                    "workload `{workload}` class {}: {per_tick:.0} allocations per tick; at most 65535 (lower the rate, the scale or tick_ms)",
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
        let b = self.backend.buffers_mut();
        b.tasks.push(desc);
        // do_set_mempolicy(): il_prev = MAX_NUMNODES-1 so the first page
        // goes to the lowest node of the mask.
        b.task_state.push(TaskState {
            il_prev: nr_nodes - 1,
            ..Default::default()
        });
        b.params.nr_tasks = b.tasks.len() as u32;
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
        });
        Ok(())
    }

    /// Stops a running task: its memory is freed in the next tick.
    pub fn stop(&mut self, name: &str) -> Result<(), MachineError> {
        let i = self
            .tasks
            .iter()
            .position(|t| t.name == name && !t.stopped)
            .ok_or_else(|| MachineError::Invalid(format!("no running task named `{name}`")))?;
        self.tasks[i].stopped = true;
        let b = self.backend.buffers_mut();
        b.tasks[i].alive = 0;
        b.task_state[i].pending = [0; NR_CLASSES];
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
            let next_stop = self
                .tasks
                .iter()
                .filter_map(|t| t.stop_tick.filter(|&s| !t.stopped && s > self.tick))
                .min()
                .unwrap_or(u64::MAX);
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
        Some(s)
    }

    /// Configuration as the host wrote it (zones, nodes, tasks): current
    /// without synchronizing with a GPU.
    pub fn config(&self) -> &SimBuffers {
        self.backend.host()
    }

    /// Reads the cumulative counters and the newest tick's counters.
    pub fn fold_stats(&mut self) -> Result<(), MachineError> {
        Ok(self.backend.read_stats(&mut self.totals, &mut self.last)?)
    }

    /// The state digest (see `SimBuffers::digest`).
    pub fn digest(&mut self) -> Result<u64, MachineError> {
        Ok(self.buffers()?.digest())
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
        invariants::check(b, &totals, &self.hugetlb.contig_taken, tick)?;
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
