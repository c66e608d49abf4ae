//! The shader table: one row per compute shader (tick phases, the ops that
//! apply a control path's requests and read frames by ranges, and the
//! frame map), and the tick as a list of those rows.
//!
//! A row names the shader (`shaders/<kind>/<name>.wgsl`, entry point
//! `main`), its bindings in `@binding` order as rows of the buffer table
//! with their access, its workgroup grid, the buffers cleared before it
//! runs, and whether it takes the `ORDER` override. Both executors run the
//! same rows: the GPU builds each pipeline's bind group layout, bind group,
//! clears and dispatch from the row; the CPU calls the row's twin
//! (`engine::cpu::<name>::<name>`), whose parameters are the same buffers
//! in the same order (the adapter is generated from the row, so the two
//! cannot disagree; `tests/shaders.rs` checks the shader's declarations and
//! the twin's signature against the row). Adding a phase is its shader,
//! its twin, one row and its place in `TICK`.

use super::buffers::Buf;
use super::state::{CtlMut, CtlRef, PlanMut, PlanRef, SimBuffers, TopoRef};
use crate::model::frame::MAX_PAGE_ORDER;

/// How a shader binds a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Uniform,
    Read,
    ReadWrite,
}

/// What a shader is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A phase of the tick (`shaders/tick/`).
    Tick,
    /// Work between ticks on a control path's behalf (`shaders/ops/`).
    Op,
    /// Drawing (`shaders/view/`).
    View,
}

/// The workgroup grid of a dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grid {
    /// One workgroup per chunk.
    Chunks,
    /// One workgroup per this many chunks.
    ChunkGroups(u32),
    /// One workgroup per zone.
    Zones,
    /// One workgroup per this many zones.
    ZoneGroups(u32),
    /// One workgroup per this many zone counters.
    ZoneStatWords(u32),
    /// A single workgroup.
    One,
    /// This many workgroups, whatever the machine (work over the tasks or
    /// a fixed-capacity list, each thread checking its index).
    Fixed(u32),
    /// The arguments in the `dispatch` buffer.
    Indirect,
    /// One thread per item of the executor's choosing (ops and views),
    /// this many threads per workgroup.
    Items(u32),
}

/// Workgroups for `n` items, at most 32768 wide (the second dimension
/// takes the rest), so large machines stay within the dispatch limit.
pub fn grid_2d(n: u32) -> (u32, u32) {
    let x = n.clamp(1, 32768);
    (x, n.div_ceil(x).max(1))
}

impl Grid {
    /// The workgroup counts for a machine of `nr_chunks` chunks and
    /// `nr_zones` zones (None: indirect, or chosen by the executor).
    pub fn groups(&self, nr_chunks: u32, nr_zones: u32) -> Option<(u32, u32)> {
        use crate::engine::types::NR_ZONE_STATS;
        Some(match *self {
            Grid::Chunks => grid_2d(nr_chunks),
            Grid::ChunkGroups(k) => grid_2d(nr_chunks.div_ceil(k)),
            Grid::Zones => (nr_zones.max(1), 1),
            Grid::ZoneGroups(k) => (nr_zones.div_ceil(k).max(1), 1),
            Grid::ZoneStatWords(k) => ((nr_zones * NR_ZONE_STATS as u32).div_ceil(k).max(1), 1),
            Grid::One => (1, 1),
            Grid::Fixed(n) => (n, 1),
            Grid::Indirect | Grid::Items(_) => return None,
        })
    }
}

/// A CPU twin as the executor runs it: the buffers, and the `ORDER` of a
/// per-order phase (0 otherwise).
pub type CpuTwin = fn(&mut SimBuffers, u32);

/// One row of the shader table.
pub struct ShaderDef {
    pub name: &'static str,
    pub kind: Kind,
    /// The WGSL body (the generated header and the shared files are
    /// prepended by `gpu::shaders::source_for`).
    pub source: &'static str,
    /// In `@binding` order. The per-frame arrays (`Frames`, `Owners`)
    /// hold their place in the order but bind their parts at
    /// `FRAMES_BINDING..` and `OWNERS_BINDING..` (see `gpu::shaders`).
    pub bindings: &'static [(Buf, Access)],
    pub grid: Grid,
    /// Buffers zeroed before the phase runs, on both executors.
    pub clears: &'static [Buf],
    /// The shader has `override ORDER: u32`, set per phase of the tick.
    pub per_order: bool,
    /// The CPU twin, for tick phases (op and view twins are called by
    /// their executors with their own buffers).
    pub cpu: Option<CpuTwin>,
    /// Whether the phase runs, from the host's configuration (None:
    /// always). Both executors skip an inactive phase, so a subsystem that
    /// is switched off costs nothing; the phase also returns at once when
    /// run anyway.
    pub active: Option<fn(&SimBuffers) -> bool>,
}

/// NUMA balancing's phases run while `kernel.numa_balancing` is non-zero.
fn numa_on(b: &SimBuffers) -> bool {
    b.numa_cfg
        .get(crate::engine::types::NC_MODE)
        .is_some_and(|&m| m != 0)
}

/// The host buffer of a binding, as a CPU twin's parameter.
macro_rules! cpu_bind {
    ($b:ident, Params, ReadWrite) => { &mut $b.params };
    ($b:ident, Params, $a:ident) => { &$b.params };
    ($b:ident, Topo, Read) => {
        &TopoRef { zones: &$b.zones, nodes: &$b.nodes, zonelists: &$b.zonelists }
    };
    ($b:ident, Ctl, Read) => {
        &CtlRef { zone_state: &$b.zone_state, node_state: &$b.node_state, plan_hdr: &$b.plan_hdr }
    };
    ($b:ident, Ctl, ReadWrite) => {
        &mut CtlMut {
            zone_state: &mut $b.zone_state,
            node_state: &mut $b.node_state,
            plan_hdr: &mut $b.plan_hdr,
        }
    };
    ($b:ident, Plan, Read) => { &PlanRef { cells: &$b.cells, steals: &$b.steals, mig: &$b.mig } };
    ($b:ident, Plan, ReadWrite) => {
        &mut PlanMut { cells: &mut $b.cells, steals: &mut $b.steals, mig: &mut $b.mig }
    };
    ($b:ident, Frames, $a:ident) => { cpu_bind!(@vec $b, frames, $a) };
    ($b:ident, Owners, $a:ident) => { cpu_bind!(@vec $b, owners, $a) };
    ($b:ident, Pageblocks, $a:ident) => { cpu_bind!(@vec $b, pageblocks, $a) };
    ($b:ident, ChunkZone, $a:ident) => { cpu_bind!(@vec $b, chunk_zone, $a) };
    ($b:ident, ChunkCounts, $a:ident) => { cpu_bind!(@vec $b, chunk_counts, $a) };
    ($b:ident, ChunkPrefix, $a:ident) => { cpu_bind!(@vec $b, chunk_prefix, $a) };
    ($b:ident, ChunkDirty, $a:ident) => { cpu_bind!(@vec $b, chunk_dirty, $a) };
    ($b:ident, Dispatch, $a:ident) => { cpu_bind!(@vec $b, dispatch, $a) };
    ($b:ident, ZoneStats, $a:ident) => { cpu_bind!(@vec $b, zone_stats, $a) };
    ($b:ident, Tasks, $a:ident) => { cpu_bind!(@vec $b, tasks, $a) };
    ($b:ident, TaskState, $a:ident) => { cpu_bind!(@vec $b, task_state, $a) };
    ($b:ident, Grants, $a:ident) => { cpu_bind!(@vec $b, grants, $a) };
    ($b:ident, Segs, $a:ident) => { cpu_bind!(@vec $b, segs, $a) };
    ($b:ident, Totals, $a:ident) => { cpu_bind!(@vec $b, totals, $a) };
    ($b:ident, LockCfg, $a:ident) => { cpu_bind!(@vec $b, lock_cfg, $a) };
    ($b:ident, TaskZone, $a:ident) => { cpu_bind!(@vec $b, task_zone, $a) };
    ($b:ident, LockStats, $a:ident) => { cpu_bind!(@vec $b, lock_stats, $a) };
    ($b:ident, ReportCfg, $a:ident) => { cpu_bind!(@vec $b, report_cfg, $a) };
    ($b:ident, ReportState, $a:ident) => { cpu_bind!(@vec $b, report_state, $a) };
    ($b:ident, NumaCfg, $a:ident) => { cpu_bind!(@vec $b, numa_cfg, $a) };
    ($b:ident, NumaState, $a:ident) => { cpu_bind!(@vec $b, numa_state, $a) };
    ($b:ident, NumaTasks, $a:ident) => { cpu_bind!(@vec $b, numa_tasks, $a) };
    (@vec $b:ident, $f:ident, ReadWrite) => { &mut $b.$f[..] };
    (@vec $b:ident, $f:ident, Read) => { &$b.$f[..] };
}

/// A row of the table.
macro_rules! shader {
    (tick $name:ident [$($buf:ident : $acc:ident),* $(,)?] $grid:expr, clears [$($c:ident),*], order $po:expr) => {
        shader!(tick $name [$($buf : $acc),*] $grid, clears [$($c),*], order $po, active None)
    };
    (tick $name:ident [$($buf:ident : $acc:ident),* $(,)?] $grid:expr, clears [$($c:ident),*], order $po:expr, active $active:expr) => {
        ShaderDef {
            name: stringify!($name),
            kind: Kind::Tick,
            source: include_str!(concat!("../../shaders/tick/", stringify!($name), ".wgsl")),
            bindings: &[$((Buf::$buf, Access::$acc)),*],
            grid: $grid,
            clears: &[$(Buf::$c),*],
            per_order: $po,
            cpu: Some({
                fn twin(b: &mut SimBuffers, order: u32) {
                    super::cpu::$name::$name($(cpu_bind!(b, $buf, $acc)),*, order)
                }
                twin
            }),
            active: $active,
        }
    };
    ($kind:ident $dir:literal $name:ident [$($buf:ident : $acc:ident),* $(,)?] $grid:expr) => {
        ShaderDef {
            name: stringify!($name),
            kind: Kind::$kind,
            source: include_str!(concat!("../../shaders/", $dir, "/", stringify!($name), ".wgsl")),
            bindings: &[$((Buf::$buf, Access::$acc)),*],
            grid: $grid,
            clears: &[],
            per_order: false,
            cpu: None,
            active: None,
        }
    };
}

/// Every compute shader.
pub static SHADERS: &[ShaderDef] = &[
    shader!(tick free [Params: Uniform, Frames: ReadWrite, Owners: ReadWrite, ChunkZone: Read,
        Ctl: Read, Tasks: Read, ZoneStats: ReadWrite, ChunkDirty: ReadWrite, TaskZone: ReadWrite]
        Grid::Chunks, clears [ZoneStats], order false),
    shader!(tick merge [Params: Uniform, Frames: ReadWrite, Pageblocks: ReadWrite,
        ChunkDirty: ReadWrite, ReportCfg: Read, ReportState: ReadWrite]
        Grid::Chunks, clears [], order false),
    shader!(tick count_clear [Params: Uniform, Ctl: ReadWrite, ReportState: ReadWrite]
        Grid::ZoneGroups(128), clears [], order false),
    shader!(tick count [Params: Uniform, Frames: Read, Pageblocks: Read, ChunkZone: Read,
        ChunkCounts: ReadWrite, Ctl: ReadWrite, ReportState: ReadWrite]
        Grid::Chunks, clears [], order false),
    shader!(tick report [Params: Uniform, Topo: Read, Ctl: Read, ReportCfg: Read,
        ReportState: ReadWrite]
        Grid::One, clears [], order false),
    shader!(tick report_scan [Params: Uniform, Topo: Read, ChunkCounts: Read,
        ChunkPrefix: ReadWrite, ReportState: Read]
        Grid::Zones, clears [], order false),
    shader!(tick report_isolate [Params: Uniform, Frames: ReadWrite, Pageblocks: ReadWrite,
        ChunkZone: Read, ChunkCounts: ReadWrite, ChunkPrefix: Read, ChunkDirty: ReadWrite,
        ReportState: ReadWrite, Ctl: ReadWrite]
        Grid::ChunkGroups(64), clears [], order false),
    shader!(tick numa_task [Params: Uniform, Topo: Read, Ctl: Read, Tasks: Read, NumaCfg: Read,
        TaskZone: Read, NumaState: ReadWrite, NumaTasks: ReadWrite]
        Grid::Fixed((crate::model::scenario::MAX_TASKS / 64) as u32), clears [], order false,
        active Some(numa_on)),
    shader!(tick numa_scan [Params: Uniform, Frames: ReadWrite, Owners: ReadWrite, ChunkZone: Read,
        Tasks: Read, NumaCfg: Read, NumaState: ReadWrite, NumaTasks: ReadWrite, Plan: ReadWrite]
        Grid::Chunks, clears [], order false, active Some(numa_on)),
    shader!(tick numa_list [Params: Uniform, NumaCfg: Read, Plan: ReadWrite]
        Grid::One, clears [], order false, active Some(numa_on)),
    shader!(tick numa_collect [Params: Uniform, Frames: Read, Owners: ReadWrite, ChunkZone: Read,
        Tasks: Read, NumaCfg: Read, NumaState: ReadWrite, Plan: ReadWrite]
        Grid::Chunks, clears [], order false, active Some(numa_on)),
    shader!(tick numa_migrate [Params: Uniform, Frames: ReadWrite, Owners: ReadWrite,
        ChunkDirty: ReadWrite, ZoneStats: ReadWrite, TaskZone: ReadWrite, NumaState: ReadWrite,
        NumaTasks: ReadWrite, Plan: Read]
        Grid::Fixed((crate::engine::types::MAX_MIGRATIONS / 64) as u32), clears [], order false,
        active Some(numa_on)),
    shader!(tick numa_release [Params: Uniform, Frames: Read, Pageblocks: Read, ChunkZone: Read,
        Ctl: ReadWrite, ReportState: ReadWrite, Plan: Read]
        Grid::Fixed((crate::engine::types::MAX_MIGRATIONS / 64) as u32), clears [], order false,
        active Some(numa_on)),
    shader!(tick numa_merge [Params: Uniform, Frames: ReadWrite, Pageblocks: ReadWrite,
        ChunkZone: Read, ChunkCounts: ReadWrite, Ctl: ReadWrite, ReportState: ReadWrite, Plan: Read]
        Grid::Fixed((crate::engine::types::MAX_MIGRATIONS / 64) as u32), clears [], order false,
        active Some(numa_on)),
    shader!(tick plan [Params: Uniform, Topo: Read, Ctl: ReadWrite, ZoneStats: ReadWrite,
        Tasks: Read, TaskState: ReadWrite, Plan: ReadWrite, Grants: ReadWrite, Segs: ReadWrite]
        Grid::One, clears [], order false),
    shader!(tick scan [Params: Uniform, Topo: Read, ChunkCounts: Read, ChunkPrefix: ReadWrite,
        Plan: Read, Dispatch: ReadWrite]
        Grid::Zones, clears [Dispatch], order true),
    shader!(tick steal [Params: Uniform, Frames: Read, Pageblocks: ReadWrite, ChunkZone: Read,
        ChunkCounts: ReadWrite, ChunkPrefix: Read, Plan: Read]
        Grid::ChunkGroups(64), clears [], order true),
    shader!(tick alloc_split [Params: Uniform, Frames: ReadWrite, Owners: ReadWrite,
        Pageblocks: Read, Dispatch: Read, ChunkCounts: ReadWrite, ChunkPrefix: Read, Plan: Read,
        Segs: Read]
        Grid::Indirect, clears [], order true),
    shader!(tick lock_stat [Params: Uniform, Topo: Read, Ctl: Read, Grants: Read,
        ZoneStats: Read, LockCfg: Read, TaskZone: ReadWrite, LockStats: ReadWrite]
        Grid::ZoneGroups(64), clears [], order false),
    shader!(tick end_tick [Params: ReadWrite, ZoneStats: Read, Totals: ReadWrite]
        Grid::ZoneStatWords(256), clears [], order false),
    shader!(Op "ops" requests [ReqParams: Uniform, Frames: ReadWrite, Owners: ReadWrite,
        Pageblocks: ReadWrite, ChunkDirty: ReadWrite, Requests: Read, Totals: ReadWrite,
        TaskState: ReadWrite, ReportState: ReadWrite]
        Grid::Items(256)),
    shader!(Op "ops" recount [RecountParams: Uniform, Frames: Read, Pageblocks: Read,
        ChunkZone: Read, ChunkCounts: ReadWrite, Ctl: ReadWrite, ChunkList: Read,
        ReportState: ReadWrite]
        Grid::Items(64)),
    shader!(Op "ops" task_rss [RecountParams: Uniform, Frames: Read, Owners: Read,
        ChunkZone: Read, ChunkList: Read, TaskZone: ReadWrite]
        Grid::Items(64)),
    shader!(Op "ops" free_heads [HeadsParams: Uniform, Frames: Read, Pageblocks: Read,
        Heads: ReadWrite]
        Grid::Items(64)),
    shader!(View "view" frame_map [Fmp: Uniform, Frames: Read, Owners: Read, PixelsOut: ReadWrite,
        Pageblocks: Read]
        Grid::Items(256)),
];

/// The row named `name`.
pub fn shader(name: &str) -> Option<&'static ShaderDef> {
    SHADERS.iter().find(|s| s.name == name)
}

/// One step of the tick: a row of the table, with its order for the
/// per-order phases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase {
    index: u16,
    order: u8,
}

impl Phase {
    /// The phase of shader `name` (at `order`, for a per-order one).
    pub fn of(name: &str, order: Option<u32>) -> Option<Phase> {
        let index = SHADERS
            .iter()
            .position(|s| s.name == name && s.kind == Kind::Tick)?;
        let per_order = SHADERS[index].per_order;
        if per_order != order.is_some() || order.is_some_and(|o| o > MAX_PAGE_ORDER) {
            return None;
        }
        Some(Phase {
            index: index as u16,
            order: order.unwrap_or(0) as u8,
        })
    }
    pub fn def(&self) -> &'static ShaderDef {
        &SHADERS[self.index as usize]
    }
    /// Whether the phase runs on a machine configured as `b` says.
    pub fn active(&self, b: &SimBuffers) -> bool {
        self.def().active.is_none_or(|f| f(b))
    }
    /// The `ORDER` of a per-order phase.
    pub fn order(&self) -> Option<u32> {
        self.def().per_order.then_some(self.order as u32)
    }
    /// `free`, `scan[9]`.
    pub fn name(&self) -> String {
        match self.order() {
            Some(o) => format!("{}[{o}]", self.def().name),
            None => self.def().name.to_string(),
        }
    }
    /// Runs the phase's CPU twin (clears included) on `b`.
    pub fn run_cpu(&self, b: &mut SimBuffers) {
        let d = self.def();
        for &c in d.clears {
            clear(b, c);
        }
        (d.cpu.expect("a tick phase has a CPU twin"))(b, self.order as u32);
    }
}

/// Zeroes a buffer on the host (a row's `clears`).
pub fn clear(b: &mut SimBuffers, buf: Buf) {
    use crate::engine::types::ZoneStats;
    match buf {
        Buf::ZoneStats => b.zone_stats.fill(ZoneStats::default()),
        Buf::Dispatch => b.dispatch.fill(0),
        Buf::ChunkDirty => b.chunk_dirty.fill(0),
        other => unimplemented!("clearing {other:?} on the host"),
    }
}

/// One entry of the tick: a phase alone, or phases repeated per order.
pub enum TickStep {
    One(&'static str),
    /// For each order in turn, each of the phases.
    PerOrder(&'static [&'static str], &'static [u32]),
}

const ALL_ORDERS_DOWN: [u32; 11] = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0];

/// The tick, in order: frees, merges, the recount, free page reporting
/// (the worker, its ranks, its isolation and drain), NUMA balancing (the
/// tasks' scan and placement, hint faults and scan marking, the migration
/// list), the plan (migration targets first), claims of
/// whole pageblocks at orders 10 and 9, allocation with splitting from the
/// highest order down, the migrations' sources freed (their chunks taken
/// out of the counts, then merged and counted back) or restored, the
/// tick's zone->lock acquisitions in simulated time, and the counters
/// folded into the totals.
pub const TICK: &[TickStep] = &[
    TickStep::One("free"),
    TickStep::One("merge"),
    TickStep::One("count_clear"),
    TickStep::One("count"),
    TickStep::One("report"),
    TickStep::One("report_scan"),
    TickStep::One("report_isolate"),
    TickStep::One("numa_task"),
    TickStep::One("numa_scan"),
    TickStep::One("numa_list"),
    TickStep::One("numa_collect"),
    TickStep::One("plan"),
    TickStep::PerOrder(&["scan", "steal"], &[10, 9]),
    TickStep::PerOrder(&["scan", "alloc_split"], &ALL_ORDERS_DOWN),
    TickStep::One("numa_release"),
    TickStep::One("numa_migrate"),
    TickStep::One("numa_merge"),
    TickStep::One("lock_stat"),
    TickStep::One("end_tick"),
];

/// The phases of one tick, in order.
pub fn tick_phases() -> Vec<Phase> {
    let mut v = Vec::new();
    for step in TICK {
        match step {
            TickStep::One(n) => v.push(Phase::of(n, None).expect("tick phase exists")),
            TickStep::PerOrder(names, orders) => {
                for &o in *orders {
                    for n in *names {
                        v.push(Phase::of(n, Some(o)).expect("tick phase exists"));
                    }
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tick_lists_every_tick_shader_and_nothing_else() {
        let phases = tick_phases();
        for s in SHADERS.iter().filter(|s| s.kind == Kind::Tick) {
            assert!(
                phases.iter().any(|p| p.def().name == s.name),
                "{} is a tick shader the tick never runs",
                s.name
            );
        }
        assert_eq!(phases.len(), 12 + 4 + 22 + 5);
        assert_eq!(phases[12].name(), "scan[10]");
        assert_eq!(phases.last().unwrap().name(), "end_tick");
        assert!(Phase::of("scan", None).is_none());
        assert!(Phase::of("free", Some(3)).is_none());
    }
}
