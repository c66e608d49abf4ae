//! Scenario files: TOML describing the machine, the tick, the seed and the
//! tasks. Parsing is strict (unknown keys are errors) and every error names
//! the file, the line and what was expected.

use super::frame::{CHUNK_FRAMES, PAGE_SIZE};
use super::topology::{Node, Topology, Zone, ZoneType};
use super::workload::{builtin_workloads, Mempolicy, Workload};
use serde::Deserialize;
use toml::Spanned;

/// An error in a scenario: file, line (when known) and message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// The most nodes a scenario may have (nodemasks are 32-bit words).
pub const MAX_NODES: usize = 32;
/// The most tasks a run may have at once.
pub const MAX_TASKS: usize = 4096;
/// The most ticks a run may reach: the tick counter is 32 bits on every
/// backend (49.7 days of simulated time at 1 ms a tick).
pub const MAX_TICKS: u64 = u32::MAX as u64;
/// The most CPUs a machine may have: `NR_CPUS` at its largest on x86-64
/// (`CONFIG_MAXSMP`: 8192).
pub const MAX_CPUS: u32 = 8192;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Option<String>,
    description: Option<String>,
    seed: Option<u64>,
    tick_ms: Option<Spanned<f64>>,
    ticks: Option<u64>,
    nodes: Spanned<Vec<Spanned<RawNode>>>,
    distances: Option<Spanned<Vec<Vec<i64>>>>,
    vm: Option<RawVm>,
    locks: Option<RawLocks>,
    reporting: Option<RawReporting>,
    numa: Option<Spanned<RawNuma>>,
    #[serde(default)]
    workloads: Vec<Spanned<Workload>>,
    #[serde(default)]
    tasks: Vec<Spanned<RawTask>>,
    /// Commands (the shell's language) run after boot, before the run's
    /// own ticks; they may advance time with `tick N`.
    setup: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    memory_mib: Spanned<i64>,
    #[serde(default)]
    cpus: Option<Spanned<i64>>,
    #[serde(default)]
    dma32_mib: Option<Spanned<i64>>,
    #[serde(default)]
    movable_mib: Option<Spanned<i64>>,
    #[serde(default)]
    tier: u32,
    #[serde(default)]
    reserved_mib: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawVm {
    min_free_kbytes: Option<i64>,
    watermark_scale_factor: Option<i64>,
    kswapd_mib_per_s: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLocks {
    zone_lock_base_ns: Option<i64>,
    zone_lock_page_ns: Option<i64>,
    zone_lock_block_ns: Option<i64>,
    bounce_local_ns: Option<i64>,
    bounce_remote_ns: Option<i64>,
    path_lock_ns: Option<i64>,
    path_alloc_ns: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawReporting {
    enabled: Option<bool>,
    order: Option<Spanned<i64>>,
    latency_base_us: Option<Spanned<f64>>,
    latency_per_mib_us: Option<Spanned<f64>>,
    refault_per_mib_us: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNuma {
    balancing: Option<i64>,
    scan_delay_ms: Option<i64>,
    scan_period_min_ms: Option<i64>,
    scan_period_max_ms: Option<i64>,
    scan_size_mb: Option<i64>,
    hot_threshold_ms: Option<i64>,
    restore: Option<String>,
    load_balance_ms: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMove {
    at_ms: f64,
    cpus: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    name: String,
    cpu: Spanned<i64>,
    workload: Spanned<String>,
    #[serde(default)]
    policy: Option<Spanned<String>>,
    #[serde(default)]
    scale: Option<f64>,
    #[serde(default)]
    start_ms: Option<Spanned<f64>>,
    #[serde(default)]
    stop_ms: Option<Spanned<f64>>,
    #[serde(default)]
    threads: Option<Spanned<i64>>,
    #[serde(default)]
    thread_cpus: Option<Spanned<String>>,
    #[serde(default)]
    hot_fraction: Option<f64>,
    #[serde(default)]
    hot_touch_ms: Option<f64>,
    #[serde(default)]
    cold_touch_ms: Option<f64>,
    #[serde(default)]
    private_fraction: Option<f64>,
    #[serde(default)]
    numa_balancing_flag: Option<bool>,
    #[serde(default)]
    moves: Option<Spanned<Vec<RawMove>>>,
}

/// A task as the scenario starts it.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    pub name: String,
    pub cpu: u32,
    pub workload: String,
    pub policy: Mempolicy,
    pub scale: f64,
    pub start_tick: u64,
    pub stop_tick: Option<u64>,
    /// Threads and access pattern (None: one thread on `cpu`, the
    /// defaults of `TaskNuma::single`).
    pub numa: Option<super::numa::TaskNuma>,
    /// Scheduled moves: (tick, CPUs of the threads).
    pub moves: Vec<(u64, Vec<u32>)>,
}

/// Tunables under `[vm]`.
#[derive(Clone, Debug, PartialEq)]
pub struct VmConfig {
    /// None: computed at boot as the kernel does.
    pub min_free_kbytes: Option<u64>,
    pub watermark_scale_factor: u32,
    /// How fast kswapd can reclaim, per zone, in MiB of simulated time.
    pub kswapd_mib_per_s: f64,
}

/// Lock costs in simulated nanoseconds, under `[locks]`. The defaults are
/// numasim's estimates, not measurements of one machine: an uncontended
/// spinlock round trip with interrupts disabled is tens of nanoseconds; a
/// page moved between a per-CPU list and the buddy lists
/// (`__rmqueue_smallest()`/`__free_one_page()` plus list work) tens more;
/// a contended cache line from another core of the socket costs some
/// 50-100 ns and from the other socket 100-200 ns on current two-socket
/// x86 servers (core-to-core latency measurements). Tune them to the
/// machine you model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LockCosts {
    /// Hold time of every zone->lock acquisition before its pages.
    pub zone_lock_base_ns: u32,
    /// Per page a pcp refill or drain moves under the lock.
    pub zone_lock_page_ns: u32,
    /// One block of an order the pcp lists do not hold.
    pub zone_lock_block_ns: u32,
    pub bounce_local_ns: u32,
    pub bounce_remote_ns: u32,
    /// A control path's lock or unlock step, and an allocation step.
    pub path_lock_ns: u32,
    pub path_alloc_ns: u32,
}

impl Default for LockCosts {
    fn default() -> LockCosts {
        LockCosts {
            zone_lock_base_ns: 60,
            zone_lock_page_ns: 25,
            zone_lock_block_ns: 150,
            bounce_local_ns: 70,
            bounce_remote_ns: 180,
            path_lock_ns: 20,
            path_alloc_ns: 250,
        }
    }
}

/// Free page reporting under `[reporting]`: a reporting device probed at
/// boot (a virtio-balloon with `VIRTIO_BALLOON_F_REPORTING`) and the
/// host's cost of one `report()`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReportingConfig {
    pub enabled: bool,
    /// `page_reporting_order` (None: `pageblock_order` at registration).
    pub order: Option<u32>,
    pub latency_base_ns: u32,
    pub latency_mib_ns: u32,
    /// What touching reported memory again costs the guest, per MiB: an
    /// EPT violation and a host page fault that allocates and zeroes a
    /// page, about 1 us per 4 KiB page.
    pub refault_mib_ns: u32,
}

/// Bounds of `[reporting]`: a report's time stays inside 32-bit
/// nanoseconds (128 MiB at most per report).
pub const REPORT_LATENCY_BASE_MAX_NS: u32 = 100_000_000;
pub const REPORT_LATENCY_MIB_MAX_NS: u32 = 1_000_000;

impl Default for ReportingConfig {
    /// The host's default: a virtqueue round trip and the
    /// `madvise(MADV_DONTNEED)` of the ranges, 200 us + 30 us per MiB.
    fn default() -> Self {
        ReportingConfig {
            enabled: false,
            order: None,
            latency_base_ns: 200_000,
            latency_mib_ns: 30_000,
            refault_mib_ns: 250_000,
        }
    }
}

/// A validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub source: String,
    pub seed: u64,
    pub tick_ns: u64,
    pub default_ticks: u64,
    pub topology: Topology,
    pub vm: VmConfig,
    pub locks: LockCosts,
    pub reporting: ReportingConfig,
    /// NUMA balancing at boot, under `[numa]`.
    pub numa: super::numa::NumaScenario,
    pub workloads: Vec<Workload>,
    pub tasks: Vec<TaskSpec>,
    /// The `setup` commands and the file line their first line is on.
    pub setup: Option<(String, usize)>,
}

/// The presets shipped in assets/scenarios/, embedded in the binary.
pub const PRESETS: [(&str, &str); 11] = [
    (
        "default",
        include_str!("../../assets/scenarios/default.toml"),
    ),
    ("small", include_str!("../../assets/scenarios/small.toml")),
    ("cxl", include_str!("../../assets/scenarios/cxl.toml")),
    ("1tib", include_str!("../../assets/scenarios/1tib.toml")),
    (
        "stress-frag",
        include_str!("../../assets/scenarios/stress-frag.toml"),
    ),
    (
        "hugetlb-migrate",
        include_str!("../../assets/scenarios/hugetlb-migrate.toml"),
    ),
    (
        "hugetlb-shrink-pressure",
        include_str!("../../assets/scenarios/hugetlb-shrink-pressure.toml"),
    ),
    (
        "zone-lock",
        include_str!("../../assets/scenarios/zone-lock.toml"),
    ),
    (
        "reporting-gigantic",
        include_str!("../../assets/scenarios/reporting-gigantic.toml"),
    ),
    (
        "numa-balancing",
        include_str!("../../assets/scenarios/numa-balancing.toml"),
    ),
    (
        "thp-numa-fault",
        include_str!("../../assets/scenarios/thp-numa-fault.toml"),
    ),
];

/// The names of the embedded presets, in order.
pub fn preset_names() -> impl Iterator<Item = &'static str> {
    PRESETS.iter().map(|(n, _)| *n)
}

pub fn preset(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

impl Scenario {
    /// Loads a preset by name (`default`, `small`, ...) or a file by path.
    pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        if let Some(src) = preset(name_or_path) {
            return Scenario::parse(src, &format!("preset:{name_or_path}"));
        }
        if cfg!(target_arch = "wasm32") {
            return Err(ScenarioError {
                file: name_or_path.to_string(),
                line: None,
                message: format!(
                    "no preset of that name (presets: {}); the browser build has no filesystem, so open a file with Open file…",
                    preset_names().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let src = std::fs::read_to_string(name_or_path).map_err(|e| ScenarioError {
            file: name_or_path.to_string(),
            line: None,
            message: format!(
                "cannot read scenario: {e} (presets: {})",
                preset_names().collect::<Vec<_>>().join(", ")
            ),
        })?;
        Scenario::parse(&src, name_or_path)
    }

    /// Parses and validates scenario text; `file` names it in errors.
    pub fn parse(src: &str, file: &str) -> Result<Scenario, ScenarioError> {
        let err = |span: Option<std::ops::Range<usize>>, message: String| ScenarioError {
            file: file.to_string(),
            line: span.map(|s| line_of(src, s.start)),
            message,
        };
        let raw: RawScenario = toml::from_str(src).map_err(|e| {
            let msg = e.message().to_string();
            err(e.span(), msg)
        })?;

        // Time.
        let tick_ms = raw.tick_ms.as_ref().map(|t| *t.get_ref()).unwrap_or(1.0);
        if !(tick_ms.is_finite() && (0.001..=1000.0).contains(&tick_ms)) {
            return Err(err(
                raw.tick_ms.map(|t| t.span()),
                format!("tick_ms = {tick_ms}: expected a length between 0.001 and 1000 ms"),
            ));
        }
        let tick_ns = (tick_ms * 1e6).round() as u64;

        // Nodes.
        let nodes_span = raw.nodes.span();
        let raw_nodes = raw.nodes.into_inner();
        if raw_nodes.is_empty() {
            return Err(err(
                Some(nodes_span),
                "a scenario needs at least one node ([[nodes]])".into(),
            ));
        }
        if raw_nodes.len() > MAX_NODES {
            return Err(err(
                Some(nodes_span),
                format!(
                    "{} nodes: at most {MAX_NODES} are supported",
                    raw_nodes.len()
                ),
            ));
        }
        let chunk_mib = ((CHUNK_FRAMES * PAGE_SIZE) >> 20) as i64;
        let mib_field = |v: &Spanned<i64>,
                         what: &str,
                         nid: usize,
                         allow_zero: bool|
         -> Result<u64, ScenarioError> {
            let x = *v.get_ref();
            if x < 0 || (!allow_zero && x == 0) || x % chunk_mib != 0 {
                return Err(err(
                    Some(v.span()),
                    format!(
                        "node {nid}: {what} = {x}: expected a {}multiple of {chunk_mib} MiB (one max-order block, 2^10 pages)",
                        if allow_zero { "non-negative " } else { "positive " }
                    ),
                ));
            }
            Ok(x as u64)
        };
        let mut nodes = Vec::new();
        let mut zones = Vec::new();
        let mut pfn = 0u64;
        let mut next_cpu = 0u32;
        for (nid, rn) in raw_nodes.iter().enumerate() {
            let node_span = rn.span();
            let rn = rn.get_ref();
            let mem_mib = mib_field(&rn.memory_mib, "memory_mib", nid, false)?;
            if mem_mib > 64 << 20 {
                return Err(err(
                    Some(rn.memory_mib.span()),
                    format!("node {nid}: memory_mib = {mem_mib}: at most 64 TiB per node"),
                ));
            }
            let frames = mem_mib << 8; // MiB -> 4 KiB frames
            let dma32 = rn
                .dma32_mib
                .as_ref()
                .map(|v| mib_field(v, "dma32_mib", nid, true))
                .transpose()?
                .unwrap_or(0)
                << 8;
            let movable = rn
                .movable_mib
                .as_ref()
                .map(|v| mib_field(v, "movable_mib", nid, true))
                .transpose()?
                .unwrap_or(0)
                << 8;
            if dma32 > 0 && pfn + dma32 > (4u64 << 30) / PAGE_SIZE {
                return Err(err(
                    rn.dma32_mib.as_ref().map(|v| v.span()),
                    format!("node {nid}: dma32_mib: ZONE_DMA32 must lie below 4 GiB of physical address space, but this node starts at {} MiB", pfn >> 8),
                ));
            }
            if dma32 + movable >= frames {
                return Err(err(Some(node_span), format!("node {nid}: dma32_mib + movable_mib must leave room for ZONE_NORMAL in memory_mib = {mem_mib}")));
            }
            let normal = frames - dma32 - movable;
            // Boot reservation: the memmap (64-byte struct page per frame),
            // rounded up to max-order blocks, plus any extra the file asks for.
            let memmap = (frames * 64).div_ceil(PAGE_SIZE);
            let extra = rn
                .reserved_mib
                .as_ref()
                .map(|v| mib_field(v, "reserved_mib", nid, true))
                .transpose()?
                .unwrap_or(0)
                << 8;
            let reserved = (memmap + extra).div_ceil(CHUNK_FRAMES) * CHUNK_FRAMES;
            // memblock allocates top-down, and never from ZONE_MOVABLE: the
            // reservation sits at the top of ZONE_NORMAL.
            if reserved >= normal {
                return Err(err(
                    Some(node_span),
                    format!(
                        "node {nid}: boot reservations ({} MiB) leave nothing of ZONE_NORMAL",
                        reserved >> 8
                    ),
                ));
            }
            let nr_cpus = rn.cpus.as_ref().map(|c| *c.get_ref()).unwrap_or(0);
            if nr_cpus < 0 || next_cpu as i64 + nr_cpus > MAX_CPUS as i64 {
                return Err(err(
                    rn.cpus.as_ref().map(|c| c.span()),
                    format!(
                        "node {nid}: cpus = {nr_cpus}: expected 0 or more, and at most {MAX_CPUS} CPUs in the machine (NR_CPUS); nodes before it have {next_cpu}"
                    ),
                ));
            }
            let nr_cpus = nr_cpus as u32;
            let cpus: Vec<u32> = (next_cpu..next_cpu + nr_cpus).collect();
            next_cpu += nr_cpus;
            let mut start = pfn;
            for (zt, n) in [
                (ZoneType::Dma32, dma32),
                (ZoneType::Normal, normal),
                (ZoneType::Movable, movable),
            ] {
                if n == 0 {
                    continue;
                }
                zones.push(Zone {
                    node: nid as u32,
                    zone_type: zt,
                    start_pfn: start,
                    frames: n,
                    reserved_frames: if zt == ZoneType::Normal { reserved } else { 0 },
                });
                start += n;
            }
            nodes.push(Node {
                id: nid as u32,
                start_pfn: pfn,
                frames,
                cpus,
                tier: rn.tier,
                reserved_frames: reserved,
            });
            pfn += frames;
        }
        if pfn > u32::MAX as u64 {
            return Err(err(
                Some(nodes_span),
                format!(
                    "total memory {} GiB: at most 16 TiB (2^32 frames) is supported",
                    pfn >> 18
                ),
            ));
        }
        if next_cpu == 0 {
            return Err(err(
                Some(nodes_span),
                "no node has CPUs: at least one node needs `cpus` > 0".into(),
            ));
        }

        // Distances: a square SLIT with 10 on the diagonal and more elsewhere.
        let n = nodes.len();
        let distance = match raw.distances {
            None if n == 1 => vec![vec![10]],
            None => {
                return Err(err(
                    Some(nodes_span),
                    format!("{n} nodes need a `distances` matrix ({n} rows of {n})"),
                ))
            }
            Some(d) => {
                let span = d.span();
                let rows = d.into_inner();
                if rows.len() != n {
                    return Err(err(
                        Some(span),
                        format!(
                            "distances has {} rows: expected {n}, one per node",
                            rows.len()
                        ),
                    ));
                }
                let mut out = vec![vec![0u32; n]; n];
                for (i, row) in rows.iter().enumerate() {
                    if row.len() != n {
                        return Err(err(Some(span.clone()), format!("distances row {i} has {} entries: expected {n} (the matrix must be square)", row.len())));
                    }
                    for (j, &v) in row.iter().enumerate() {
                        if i == j && v != 10 {
                            return Err(err(
                                Some(span.clone()),
                                format!("distances[{i}][{i}] = {v}: the local distance must be 10"),
                            ));
                        }
                        if i != j && !(11..=254).contains(&v) {
                            return Err(err(Some(span.clone()), format!("distances[{i}][{j}] = {v}: a remote distance must be between 11 and 254")));
                        }
                        out[i][j] = v as u32;
                    }
                }
                out
            }
        };

        let topology = Topology {
            nodes,
            zones,
            distance,
        };

        // VM tunables.
        let rv = raw.vm.unwrap_or_default();
        let vm = VmConfig {
            min_free_kbytes: match rv.min_free_kbytes {
                None => None,
                // The sysctl's range (proc_dointvec_minmax, 0..=INT_MAX).
                Some(v) if (0..=i32::MAX as i64).contains(&v) => Some(v as u64),
                Some(v) => {
                    return Err(err(
                        None,
                        format!(
                        "[vm] min_free_kbytes = {v}: expected 0..=2147483647, as the sysctl takes"
                    ),
                    ))
                }
            },
            watermark_scale_factor: match rv.watermark_scale_factor {
                None => 10,
                Some(v) if (1..=3000).contains(&v) => v as u32,
                Some(v) => {
                    return Err(err(
                        None,
                        format!("[vm] watermark_scale_factor = {v}: expected 1..3000"),
                    ))
                }
            },
            kswapd_mib_per_s: match rv.kswapd_mib_per_s {
                None => 2048.0,
                Some(v) if v.is_finite() && v > 0.0 => v,
                Some(v) => {
                    return Err(err(
                        None,
                        format!("[vm] kswapd_mib_per_s = {v}: expected a positive rate"),
                    ))
                }
            },
        };

        let rl = raw.locks.unwrap_or_default();
        let mut locks = LockCosts::default();
        for (name, v, slot) in [
            (
                "zone_lock_base_ns",
                rl.zone_lock_base_ns,
                &mut locks.zone_lock_base_ns,
            ),
            (
                "zone_lock_page_ns",
                rl.zone_lock_page_ns,
                &mut locks.zone_lock_page_ns,
            ),
            (
                "zone_lock_block_ns",
                rl.zone_lock_block_ns,
                &mut locks.zone_lock_block_ns,
            ),
            (
                "bounce_local_ns",
                rl.bounce_local_ns,
                &mut locks.bounce_local_ns,
            ),
            (
                "bounce_remote_ns",
                rl.bounce_remote_ns,
                &mut locks.bounce_remote_ns,
            ),
            ("path_lock_ns", rl.path_lock_ns, &mut locks.path_lock_ns),
            ("path_alloc_ns", rl.path_alloc_ns, &mut locks.path_alloc_ns),
        ] {
            match v {
                None => {}
                // Costs stay well inside the 32-bit nanoseconds of a tick.
                Some(x) if (0..=1_000_000).contains(&x) => *slot = x as u32,
                Some(x) => {
                    return Err(err(
                        None,
                        format!("[locks] {name} = {x}: expected 0..=1000000 nanoseconds"),
                    ))
                }
            }
        }

        let rr = raw.reporting.unwrap_or_default();
        let mut reporting = ReportingConfig {
            enabled: rr.enabled.unwrap_or(false),
            ..Default::default()
        };
        if let Some(o) = &rr.order {
            let v = *o.get_ref();
            if !(0..=10).contains(&v) {
                return Err(err(
                    Some(o.span()),
                    format!("[reporting] order = {v}: expected 0..=10 (MAX_ORDER)"),
                ));
            }
            reporting.order = Some(v as u32);
        }
        for (name, v, max, slot) in [
            (
                "latency_base_us",
                &rr.latency_base_us,
                REPORT_LATENCY_BASE_MAX_NS,
                &mut reporting.latency_base_ns,
            ),
            (
                "latency_per_mib_us",
                &rr.latency_per_mib_us,
                REPORT_LATENCY_MIB_MAX_NS,
                &mut reporting.latency_mib_ns,
            ),
            (
                "refault_per_mib_us",
                &rr.refault_per_mib_us,
                REPORT_LATENCY_MIB_MAX_NS,
                &mut reporting.refault_mib_ns,
            ),
        ] {
            let Some(v) = v else { continue };
            let us = *v.get_ref();
            let ns = us * 1000.0;
            if !(ns.is_finite() && (0.0..=max as f64).contains(&ns)) {
                return Err(err(
                    Some(v.span()),
                    format!(
                        "[reporting] {name} = {us}: expected 0..={} microseconds",
                        max / 1000
                    ),
                ));
            }
            *slot = ns.round() as u32;
        }

        // NUMA balancing.
        let mut numa = super::numa::NumaScenario::default();
        if let Some(rn) = raw.numa {
            let span = rn.span();
            let rn = rn.into_inner();
            let range = |name: &str, v: Option<i64>, lo: i64, hi: i64, slot: &mut u32| match v {
                None => Ok(()),
                Some(x) if (lo..=hi).contains(&x) => {
                    *slot = x as u32;
                    Ok(())
                }
                Some(x) => Err(err(
                    Some(span.clone()),
                    format!("[numa] {name} = {x}: expected {lo}..={hi}"),
                )),
            };
            // The sysctl's range, and debugfs_create_u32()'s.
            range("balancing", rn.balancing, 0, 4, &mut numa.mode)?;
            let t = &mut numa.tunables;
            let u = u32::MAX as i64;
            range(
                "scan_delay_ms",
                rn.scan_delay_ms,
                0,
                u,
                &mut t.scan_delay_ms,
            )?;
            range(
                "scan_period_min_ms",
                rn.scan_period_min_ms,
                0,
                u,
                &mut t.scan_period_min_ms,
            )?;
            range(
                "scan_period_max_ms",
                rn.scan_period_max_ms,
                0,
                u,
                &mut t.scan_period_max_ms,
            )?;
            range("scan_size_mb", rn.scan_size_mb, 0, u, &mut t.scan_size_mb)?;
            range(
                "hot_threshold_ms",
                rn.hot_threshold_ms,
                0,
                u,
                &mut numa.hot_threshold_ms,
            )?;
            range(
                "load_balance_ms",
                rn.load_balance_ms,
                0,
                3_600_000,
                &mut numa.load_balance_ms,
            )?;
            if let Some(r) = rn.restore {
                numa.restore = match r.as_str() {
                    "lazy" => crate::engine::types::NUMA_RESTORE_LAZY,
                    "first" => crate::engine::types::NUMA_RESTORE_FIRST,
                    "legacy_thp" => crate::engine::types::NUMA_RESTORE_LEGACY_THP,
                    _ => {
                        return Err(err(
                            Some(span),
                            format!("[numa] restore = `{r}`: expected lazy, first or legacy_thp"),
                        ))
                    }
                };
            }
        }

        // Workloads: built-ins, then the file's own (which may replace one).
        let mut workloads = builtin_workloads();
        let mut own: Vec<String> = Vec::new();
        for wl in raw.workloads {
            let span = wl.span();
            let wl = wl.into_inner();
            if wl.name.is_empty() || wl.name.contains(char::is_whitespace) {
                return Err(err(
                    Some(span),
                    format!(
                        "workload name `{}`: expected a non-empty name without spaces",
                        wl.name
                    ),
                ));
            }
            if own.contains(&wl.name) {
                return Err(err(
                    Some(span),
                    format!("workload `{}` is defined twice in this file", wl.name),
                ));
            }
            own.push(wl.name.clone());
            for (i, c) in wl.classes.iter().enumerate() {
                if wl.classes[..i].iter().any(|d| d.class == c.class) {
                    return Err(err(
                        Some(span),
                        format!(
                            "workload `{}`: class `{}` is listed twice",
                            wl.name,
                            super::workload::CLASSES[c.class.0 as usize].name
                        ),
                    ));
                }
            }
            for c in &wl.classes {
                if !(c.rate_per_s.is_finite()
                    && c.rate_per_s >= 0.0
                    && c.lifetime_ms.is_finite()
                    && c.lifetime_ms >= 0.0)
                {
                    return Err(err(
                        Some(span),
                        format!(
                            "workload `{}`: rates and lifetimes must be non-negative numbers",
                            wl.name
                        ),
                    ));
                }
            }
            workloads.retain(|w| w.name != wl.name);
            workloads.push(wl);
        }

        // Tasks.
        let tick_ms_f = tick_ns as f64 / 1e6;
        let mut tasks = Vec::new();
        for t in &raw.tasks {
            let span = t.span();
            let t = t.get_ref();
            let cpu = *t.cpu.get_ref();
            if cpu < 0 || cpu >= next_cpu as i64 {
                return Err(err(
                    Some(t.cpu.span()),
                    format!(
                        "task `{}`: cpu = {cpu}: the machine has CPUs 0-{}",
                        t.name,
                        next_cpu - 1
                    ),
                ));
            }
            if !workloads.iter().any(|w| &w.name == t.workload.get_ref()) {
                return Err(err(
                    Some(t.workload.span()),
                    format!(
                        "task `{}`: unknown workload `{}` (known: {})",
                        t.name,
                        t.workload.get_ref(),
                        workloads
                            .iter()
                            .map(|w| w.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            let policy = match &t.policy {
                None => Mempolicy::Local,
                Some(p) => {
                    let pol = Mempolicy::parse(p.get_ref())
                        .map_err(|m| err(Some(p.span()), format!("task `{}`: {m}", t.name)))?;
                    if let Some(bad) = pol.nodes().into_iter().find(|&x| x as usize >= n) {
                        return Err(err(Some(p.span()), format!("task `{}`: policy names node {bad}, but the machine has nodes 0-{}", t.name, n - 1)));
                    }
                    pol
                }
            };
            let scale = t.scale.unwrap_or(1.0);
            if !(scale.is_finite() && scale >= 0.0) {
                return Err(err(
                    Some(span),
                    format!(
                        "task `{}`: scale = {scale}: expected a non-negative number",
                        t.name
                    ),
                ));
            }
            let time =
                |v: &Option<Spanned<f64>>, what: &str| -> Result<Option<u64>, ScenarioError> {
                    let Some(v) = v else { return Ok(None) };
                    let ms = *v.get_ref();
                    if !(ms.is_finite() && ms >= 0.0) {
                        return Err(err(
                            Some(v.span()),
                            format!(
                            "task `{}`: {what} = {ms}: expected a time in milliseconds, 0 or more",
                            t.name
                        ),
                        ));
                    }
                    Ok(Some((ms / tick_ms_f).round() as u64))
                };
            let start_tick = time(&t.start_ms, "start_ms")?.unwrap_or(0);
            let stop_tick = time(&t.stop_ms, "stop_ms")?;
            if let (Some(stop), Some(sp)) = (stop_tick, &t.stop_ms) {
                if stop <= start_tick {
                    return Err(err(
                        Some(sp.span()),
                        format!(
                            "task `{}`: stop_ms = {} is not after start_ms = {}",
                            t.name,
                            sp.get_ref(),
                            t.start_ms.as_ref().map(|s| *s.get_ref()).unwrap_or(0.0)
                        ),
                    ));
                }
            }
            if t.name.is_empty() || t.name.contains(char::is_whitespace) {
                return Err(err(
                    Some(span),
                    format!(
                        "task name `{}`: expected a non-empty name without spaces",
                        t.name
                    ),
                ));
            }
            if tasks.iter().any(|x: &TaskSpec| x.name == t.name) {
                return Err(err(
                    Some(span),
                    format!("task name `{}` is used twice", t.name),
                ));
            }
            let task_numa = task_numa(t, cpu as u32, &policy, &topology, &err)?;
            let mut moves = Vec::new();
            if let Some(mv) = &t.moves {
                for m in mv.get_ref() {
                    let bad = |msg: String| {
                        err(Some(mv.span()), format!("task `{}`: moves: {msg}", t.name))
                    };
                    if !(m.at_ms.is_finite() && m.at_ms >= 0.0) {
                        return Err(bad(format!(
                            "at_ms = {}: expected a time in ms, 0 or more",
                            m.at_ms
                        )));
                    }
                    let cpus = super::workload::parse_nodelist(&m.cpus).map_err(&bad)?;
                    if let Some(c) = cpus.iter().find(|&&c| c >= next_cpu) {
                        return Err(bad(format!(
                            "cpus = `{}` names CPU {c}, but the machine has CPUs 0-{}",
                            m.cpus,
                            next_cpu - 1
                        )));
                    }
                    if cpus.is_empty() {
                        return Err(bad(format!("cpus = `{}` names no CPU", m.cpus)));
                    }
                    moves.push(((m.at_ms / tick_ms_f).round() as u64, cpus));
                }
                moves.sort_by_key(|(at, _)| *at);
            }
            tasks.push(TaskSpec {
                name: t.name.clone(),
                cpu: cpu as u32,
                workload: t.workload.get_ref().clone(),
                policy,
                scale,
                start_tick,
                stop_tick,
                numa: task_numa,
                moves,
            });
        }
        if tasks.len() > MAX_TASKS {
            return Err(err(
                None,
                format!("{} tasks: at most {MAX_TASKS}", tasks.len()),
            ));
        }

        Ok(Scenario {
            name: raw.name.unwrap_or_else(|| file.to_string()),
            description: raw.description.unwrap_or_default(),
            source: file.to_string(),
            seed: raw.seed.unwrap_or(1),
            tick_ns,
            default_ticks: match raw.ticks {
                Some(t) if t > MAX_TICKS => {
                    return Err(err(
                        None,
                        format!("ticks = {t}: at most {MAX_TICKS} (the tick counter is 32-bit)"),
                    ))
                }
                t => t.unwrap_or(1000),
            },
            topology,
            vm,
            locks,
            reporting,
            numa,
            workloads,
            tasks,
            setup: raw.setup.map(|sp| {
                let start = sp.span().start;
                // A multi-line string drops the newline after its opening
                // quotes: its first line is the next one.
                let skip = src[start..].starts_with("\"\"\"\n") as usize;
                (sp.into_inner(), line_of(src, start) + skip)
            }),
        })
    }

    pub fn workload(&self, name: &str) -> Option<&Workload> {
        self.workloads.iter().find(|w| w.name == name)
    }
}

/// A task's threads and access pattern from its keys (None when the file
/// gives none of them).
fn task_numa(
    t: &RawTask,
    cpu: u32,
    policy: &Mempolicy,
    topology: &Topology,
    err: &dyn Fn(Option<std::ops::Range<usize>>, String) -> ScenarioError,
) -> Result<Option<super::numa::TaskNuma>, ScenarioError> {
    let given = t.threads.is_some()
        || t.thread_cpus.is_some()
        || t.hot_fraction.is_some()
        || t.hot_touch_ms.is_some()
        || t.cold_touch_ms.is_some()
        || t.private_fraction.is_some()
        || t.numa_balancing_flag.is_some();
    if !given {
        return Ok(None);
    }
    let mut n = super::numa::TaskNuma::single(cpu);
    let list = match &t.thread_cpus {
        Some(s) => super::workload::parse_nodelist(s.get_ref()).map_err(|m| {
            err(
                Some(s.span()),
                format!("task `{}`: thread_cpus: {m}", t.name),
            )
        })?,
        None => {
            // The task's CPU, then the next CPUs of its node.
            let node = topology.cpu_node(cpu).unwrap_or(0);
            let cpus = &topology.nodes[node as usize].cpus;
            let at = cpus.iter().position(|&c| c == cpu).unwrap_or(0);
            (0..cpus.len())
                .map(|k| cpus[(at + k) % cpus.len()])
                .collect()
        }
    };
    let threads = match &t.threads {
        Some(v) => {
            let x = *v.get_ref();
            if !(1..=crate::engine::types::MAX_THREADS as i64).contains(&x) {
                return Err(err(
                    Some(v.span()),
                    format!(
                        "task `{}`: threads = {x}: expected 1 to {}",
                        t.name,
                        crate::engine::types::MAX_THREADS
                    ),
                ));
            }
            x as usize
        }
        None if t.thread_cpus.is_some() => list.len(),
        None => 1,
    };
    if list.is_empty() {
        return Err(err(
            t.thread_cpus.as_ref().map(|s| s.span()),
            format!("task `{}`: thread_cpus names no CPU", t.name),
        ));
    }
    n.thread_cpus = (0..threads).map(|k| list[k % list.len()]).collect();
    if t.thread_cpus.is_some() && list[0] != cpu {
        return Err(err(
            t.thread_cpus.as_ref().map(|s| s.span()),
            format!(
                "task `{}`: thread_cpus starts with CPU {}, but the task's cpu is {cpu} (thread 0 runs on `cpu`)",
                t.name, list[0]
            ),
        ));
    }
    if let Some(v) = t.hot_fraction {
        n.hot_fraction = v;
    }
    if let Some(v) = t.hot_touch_ms {
        n.hot_touch_ms = v;
    }
    if let Some(v) = t.cold_touch_ms {
        n.cold_touch_ms = v;
    }
    if let Some(v) = t.private_fraction {
        n.private_fraction = v;
    }
    if let Some(f) = t.numa_balancing_flag {
        // sanitize_mpol_flags(): MPOL_F_NUMA_BALANCING with MPOL_BIND only.
        if f && !matches!(policy, Mempolicy::Bind(_)) {
            return Err(err(
                None,
                format!(
                    "task `{}`: numa_balancing_flag needs a bind policy (set_mempolicy(2) answers EINVAL otherwise)",
                    t.name
                ),
            ));
        }
        n.numa_balancing_flag = f;
    }
    n.check(topology.nr_cpus())
        .map_err(|m| err(None, format!("task `{}`: {m}", t.name)))?;
    Ok(Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reporting_settings_are_checked_with_their_line() {
        let base = "[[nodes]]\nmemory_mib = 64\ncpus = 1\n[[tasks]]\nname = \"a\"\ncpu = 0\nworkload = \"idle\"\n";
        let ok = Scenario::parse(
            &format!("{base}[reporting]\nenabled = true\norder = 5\nlatency_base_us = 1000\nrefault_per_mib_us = 100\n"),
            "r.toml",
        )
        .unwrap();
        assert!(ok.reporting.enabled);
        assert_eq!(ok.reporting.order, Some(5));
        assert_eq!(ok.reporting.latency_base_ns, 1_000_000);
        assert_eq!(ok.reporting.latency_mib_ns, 30_000, "the default");
        assert_eq!(ok.reporting.refault_mib_ns, 100_000);
        let e = Scenario::parse(&format!("{base}[reporting]\norder = 11\n"), "r.toml").unwrap_err();
        assert_eq!(e.line, Some(9), "{e}");
        assert!(e.message.contains("order = 11"), "{e}");
        let e = Scenario::parse(
            &format!("{base}[reporting]\nlatency_per_mib_us = 5000\n"),
            "r.toml",
        )
        .unwrap_err();
        assert!(e.message.contains("0..=1000 microseconds"), "{e}");
        let e =
            Scenario::parse(&format!("{base}[reporting]\nlatency = 1\n"), "r.toml").unwrap_err();
        assert!(e.message.contains("latency"), "{e}");
    }

    #[test]
    fn every_preset_parses() {
        for (name, src) in PRESETS {
            let s = Scenario::parse(src, name).unwrap_or_else(|e| panic!("{e}"));
            assert!(!s.tasks.is_empty(), "{name} has tasks");
            assert_eq!(s.topology.total_frames() % CHUNK_FRAMES, 0);
        }
    }

    #[test]
    fn default_preset_is_four_nodes_of_8g() {
        let s = Scenario::load("default").unwrap();
        assert_eq!(s.topology.nodes.len(), 4);
        assert!(s
            .topology
            .nodes
            .iter()
            .all(|n| n.frames == 8 << 18 && n.cpus.len() == 8));
        let z0: Vec<_> = s.topology.node_zones(0).map(|(_, z)| z.zone_type).collect();
        assert_eq!(z0, vec![ZoneType::Dma32, ZoneType::Normal]);
        assert!(s
            .topology
            .node_zones(1)
            .all(|(_, z)| z.zone_type == ZoneType::Normal));
    }
}
