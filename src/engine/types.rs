//! Plain-old-data records shared by every backend. Each one has a WGSL twin
//! under `shaders/shared/`; all fields are u32 and every struct is a multiple
//! of 16 bytes, so the layouts are identical in storage buffers.

use crate::model::frame::{MIGRATE_PCPTYPES, MIGRATE_TYPES, NR_PAGE_ORDERS};
use crate::model::scenario::MAX_NODES;
use crate::model::workload::NR_CLASSES;
use bytemuck::{Pod, Zeroable};

pub const NR_PCP: usize = MIGRATE_PCPTYPES as usize;

/// Per-tick constants (a uniform buffer on the GPU).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct TickParams {
    pub seed: [u32; 2],
    pub tick: u32,
    pub nr_chunks: u32,
    pub nr_zones: u32,
    pub nr_nodes: u32,
    pub nr_tasks: u32,
    /// The order a per-order pass works on.
    pub order: u32,
}

/// A zone as the allocator sees it; written by the host (boot, knob writes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct ZoneDesc {
    pub node: u32,
    pub zone_type: u32,
    pub start_pfn: u32,
    pub nr_frames: u32,
    pub start_chunk: u32,
    pub nr_chunks: u32,
    pub managed: u32,
    pub reserved: u32,
    pub wmark_min: u32,
    pub wmark_low: u32,
    pub wmark_high: u32,
    pub wmark_promo: u32,
    /// `lowmem_reserve[highest_zoneidx]` for requests whose highest usable
    /// zone type is DMA32, Normal, Movable (fourth entry unused).
    pub lowmem_reserve: [u32; 4],
    /// kswapd's reclaim rate in this zone, pages per tick (at most 65535).
    pub kswapd_pages_per_tick: u32,
    pub _pad: [u32; 3],
}

/// Dynamic per-zone state, written by the tick.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq, Eq)]
pub struct ZoneState {
    /// `free_area[order].nr_free` split by migratetype: free blocks.
    pub free_area: [[u32; MIGRATE_TYPES]; NR_PAGE_ORDERS],
    /// NR_FREE_PAGES.
    pub nr_free: u32,
    /// Pages allocated per workload class.
    pub class_pages: [u32; NR_CLASSES],
    /// Probability (x/65536) that kswapd reclaims a reclaimable block in the
    /// next tick's free phase, and the same for direct reclaim.
    pub kswapd_p16: u32,
    pub direct_p16: u32,
    /// Pages direct reclaim was asked for this tick (folded into direct_p16).
    pub direct_target: u32,
    /// Frames in hugetlb pages (`KIND_HUGE`), counted by `count`.
    pub huge_frames: u32,
    /// Of those, frames in pages mapped by a task.
    pub huge_inuse_frames: u32,
    /// vmemmap frames still in the boot memmap reservation.
    pub vmemmap_boot_frames: u32,
    /// vmemmap and vmemmap page-table frames allocated after boot.
    pub vmemmap_runtime_frames: u32,
}

impl Default for ZoneState {
    fn default() -> Self {
        Zeroable::zeroed()
    }
}

/// `ZoneState` as words, for code that adds into it word by word (the
/// count shaders bind it as atomics; `count_words` names the words).
pub mod zsw {
    use super::ZoneState;
    use std::mem::{offset_of, size_of};
    pub const WORDS: usize = size_of::<ZoneState>() / 4;
    pub const NR_FREE: usize = offset_of!(ZoneState, nr_free) / 4;
    pub const CLASS_PAGES: usize = offset_of!(ZoneState, class_pages) / 4;
    pub const KSWAPD_P16: usize = offset_of!(ZoneState, kswapd_p16) / 4;
    pub const HUGE_FRAMES: usize = offset_of!(ZoneState, huge_frames) / 4;
    pub const HUGE_INUSE: usize = offset_of!(ZoneState, huge_inuse_frames) / 4;
    pub const VMEMMAP_BOOT: usize = offset_of!(ZoneState, vmemmap_boot_frames) / 4;
    pub const VMEMMAP_RUNTIME: usize = offset_of!(ZoneState, vmemmap_runtime_frames) / 4;
    /// "No word" (one past the last).
    pub const NONE: usize = WORDS;
    /// Whether `count` recomputes word `w` (the rest, the reclaim words,
    /// belong to the plan).
    pub const fn counted(w: usize) -> bool {
        w < KSWAPD_P16 || (w >= HUGE_FRAMES && w < WORDS)
    }
}

impl ZoneState {
    /// The struct as words.
    pub fn words(&self) -> &[u32; zsw::WORDS] {
        bytemuck::cast_ref(self)
    }
    pub fn words_mut(&mut self) -> &mut [u32; zsw::WORDS] {
        bytemuck::cast_mut(self)
    }
}

/// `requests`' parameters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct ReqParams {
    pub nr_requests: u32,
    pub _pad: [u32; 3],
}

/// `recount`'s and `task_rss`' parameters: how many chunks `chunk_list` holds, and whether
/// their counts leave the zone counters (1, before a batch applies) or
/// join them (0, after).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct RecountParams {
    pub nr_listed: u32,
    pub subtract: u32,
    /// The machine's zones (`task_rss` indexes `task_zone` with it).
    pub nr_zones: u32,
    pub _pad: u32,
}

/// `free_heads`' parameters: the chunks summarized.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct HeadsParams {
    pub first_chunk: u32,
    pub nr_chunks: u32,
    pub _pad: [u32; 2],
}

/// Per-zone event counters for one tick (deltas; the host keeps 64-bit sums).
pub const ZS_PGALLOC: usize = 0;
pub const ZS_PGFREE: usize = 1;
pub const ZS_NUMA_HIT: usize = 2;
pub const ZS_NUMA_MISS: usize = 3;
pub const ZS_NUMA_FOREIGN: usize = 4;
pub const ZS_NUMA_INTERLEAVE: usize = 5;
pub const ZS_NUMA_LOCAL: usize = 6;
pub const ZS_NUMA_OTHER: usize = 7;
pub const ZS_PGSTEAL_KSWAPD: usize = 8;
pub const ZS_PGSTEAL_DIRECT: usize = 9;
pub const ZS_ALLOCSTALL_NORMAL: usize = 10;
pub const ZS_ALLOCSTALL_MOVABLE: usize = 11;
/// Requests that failed with nothing left to reclaim (model counter).
pub const ZS_ALLOC_FAIL: usize = 12;
/// Allocations served from another migratetype's list (`mm_page_alloc_extfrag`).
pub const ZS_ALLOC_FALLBACK: usize = 13;
/// Pageblocks claimed for another migratetype.
pub const ZS_PAGEBLOCK_CLAIM: usize = 14;
/// Allocations (events, not pages) made in this zone.
pub const ZS_ALLOCS: usize = 15;
/// Blocks freed (events).
pub const ZS_FREES: usize = 16;
/// kswapd runs (a node's kswapd working in a tick; `pageoutrun`).
pub const ZS_PAGEOUTRUN: usize = 17;
/// Requests deferred to the next tick after a direct-reclaim stall.
pub const ZS_DEFERRED: usize = 18;
pub const NR_ZONE_STATS: usize = 20;

pub const ZONE_STAT_NAMES: [&str; NR_ZONE_STATS] = [
    "pgalloc",
    "pgfree",
    "numa_hit",
    "numa_miss",
    "numa_foreign",
    "numa_interleave",
    "numa_local",
    "numa_other",
    "pgsteal_kswapd",
    "pgsteal_direct",
    "allocstall_normal",
    "allocstall_movable",
    "alloc_fail",
    "alloc_fallback",
    "pageblock_claim",
    "allocs",
    "frees",
    "pageoutrun",
    "deferred",
    "_reserved",
];

#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq, Eq)]
pub struct ZoneStats {
    pub v: [u32; NR_ZONE_STATS],
}

impl Default for ZoneStats {
    fn default() -> Self {
        Zeroable::zeroed()
    }
}

/// Per-node constants.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct NodeDesc {
    /// Weighted-interleave weight (1..=255).
    pub il_weight: u32,
    pub first_zone: u32,
    pub nr_zones: u32,
    pub _pad: u32,
}

/// Per-node dynamic state.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct NodeState {
    pub kswapd_active: u32,
    /// `pgdat->kswapd_failures`: kswapd runs in a row that found the node
    /// short of its high watermarks and nothing to reclaim; reset by any
    /// reclaim progress. At `MAX_RECLAIM_RETRIES` the node is
    /// unreclaimable and allocations no longer wake its kswapd.
    pub kswapd_failures: u32,
    pub _pad: [u32; 2],
}

/// mm/internal.h MAX_RECLAIM_RETRIES: kswapd failures that make a node
/// unreclaimable (`pgdat_balanced` no longer matters, `wakeup_kswapd()`
/// gives up).
pub const MAX_RECLAIM_RETRIES: u32 = 16;

/// Zonelists: one row of this many entries per node, ended by `ZONE_NONE`.
pub const ZONELIST_STRIDE: usize = 3 * MAX_NODES + 1;
pub const ZONE_NONE: u32 = u32::MAX;

/// A task as the host configured it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct TaskDesc {
    /// 1 while running; 0 once stopped (its memory is freed next tick).
    pub alive: u32,
    pub cpu_node: u32,
    /// MPOL_* mode.
    pub mode: u32,
    /// Policy nodemask, one bit per node.
    pub nodemask: u32,
    pub preferred: u32,
    pub start_tick: u32,
    /// `jiffies` when the task forked (`init_numa_balancing()` reads it).
    pub fork_jiffies: u32,
    /// The thread group's pid; thread `i` has pid `pid + i`.
    pub pid: u32,
    /// Allocations per tick per class, 16.16 fixed point.
    pub rate_fp: [u32; NR_CLASSES],
    /// Per-tick free probability per class, as a threshold on a 32-bit hash.
    pub free_thresh: [u32; NR_CLASSES],
    /// Threads (`TD_THREADS_MASK`), the CPUs they run on (distinct, the
    /// weight of `mm_cpumask()`, from `TD_CPUS_SHIFT`) and the policy's
    /// `MPOL_F_NUMA_BALANCING` (`TD_MOF`).
    pub threads: u32,
    /// The hot share of its user pages (16-bit fraction, low half) and the
    /// share of a page's accesses made by the thread that faulted it last
    /// (high half).
    pub hot_private: u32,
    /// Per-tick probability that a hot or a cold page is touched, as a
    /// threshold on a 32-bit hash.
    pub hot_touch: u32,
    pub cold_touch: u32,
}

/// `TaskDesc::threads`: the thread count, the distinct CPUs, MOF.
pub const TD_THREADS_MASK: u32 = 0xff;
pub const TD_CPUS_SHIFT: u32 = 8;
pub const TD_MOF: u32 = 1 << 16;
/// The most threads a task may have (pids `pid..pid + MAX_THREADS`).
pub const MAX_THREADS: usize = 64;

/// A task's dynamic state.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct TaskState {
    /// `current->il_prev` and `current->il_weight`.
    pub il_prev: u32,
    pub il_weight: u32,
    /// Requests deferred by a direct-reclaim stall, per class.
    pub pending: [u32; NR_CLASSES],
    pub _pad: [u32; 4],
}

/// What the plan decided for one (zone, order, free list): how many blocks
/// of that order are split and how many are handed out, in rank order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct PlanCell {
    pub split: u32,
    pub alloc: u32,
    pub seg_start: u32,
    pub seg_count: u32,
}

/// Whole free pageblocks (order 9 or 10) of one list claimed for others.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct StealCell {
    /// Blocks converted to each pcp migratetype, in rank order.
    pub to: [u32; NR_PCP],
    /// Pre-existing blocks still available to be claimed (plan scratch).
    pub stealable: u32,
}

/// A run of allocations granted from one cell to one owner.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct Grant {
    pub cell: u32,
    pub count: u32,
    pub owner: u32,
    /// class | alloc_mt << 8
    pub class_mt: u32,
    /// First allocation rank within the cell (set when sorted into segments).
    pub start: u32,
    /// Flags the allocated heads get (`AF_*`: a migration target takes
    /// its source's).
    pub flags: u32,
    /// The share of the blocks that join the task's hot set (16-bit
    /// fraction; drawn per block by `alloc_split`).
    pub hot16: u32,
    pub _pad: u32,
}

/// Grants per tick; requests beyond this wait for the next tick.
pub const MAX_GRANTS: usize = 16384;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct PlanHeader {
    pub nr_grants: u32,
    /// Set when MAX_GRANTS stopped the plan early.
    pub overflow: u32,
    pub _pad: [u32; 2],
}

/// Zones a machine may have (three zone types on each of 32 nodes).
pub const MAX_ZONES: usize = 3 * MAX_NODES;

/// The `dispatch` buffer: indirect workgroup counts for `alloc_split`
/// (x, y, z, pad), then per zone the first chunk and the number of chunks
/// with work at the order last scanned. Allocation takes the lowest-ranked
/// blocks, so a zone's chunks with work always form a prefix of the zone.
pub const DISPATCH_FIRST: usize = 4;
pub const DISPATCH_COUNT: usize = DISPATCH_FIRST + MAX_ZONES;
pub const DISPATCH_WORDS: usize = DISPATCH_COUNT + MAX_ZONES;
/// The most workgroups one dispatch dimension may have.
pub const MAX_DISPATCH_X: u32 = 65535;

/// Per-chunk counts: allocatable free blocks [order][pcp migratetype],
/// then the reported ones among them (`CC_REPORTED`), then the pages and
/// allocations that refaulted on the host in the last tick (written by
/// `alloc_split`, folded into `report_state` by the next `count`).
pub const CC_FREE: usize = 0;
pub const CC_REPORTED: usize = NR_PAGE_ORDERS * NR_PCP;
pub const CC_REFAULT_PAGES: usize = 2 * NR_PAGE_ORDERS * NR_PCP;
pub const CC_REFAULT_ALLOCS: usize = CC_REFAULT_PAGES + 1;
pub const CHUNK_COUNT_WORDS: usize = CC_REFAULT_ALLOCS + 1;
/// Per chunk in `chunk_prefix`: the rank of its first unreported block of
/// each pcp list, then of its first reported block (reported blocks rank
/// after every unreported one of the zone: they sit at the list's tail).
pub const CHUNK_PREFIX_WORDS: usize = 2 * NR_PCP;

/// `chunk_dirty` bits: something was freed or written in the chunk
/// (`merge` runs over it), the frees reached these orders (bits from
/// `DIRTY_ORDER_SHIFT`), a report drained blocks into it.
pub const DIRTY_FREED: u32 = 1 << 0;
pub const DIRTY_DRAIN: u32 = 1 << 1;
pub const DIRTY_ORDER_SHIFT: u32 = 8;

// ----- free page reporting (phases `report`, `report_scan`, `report_isolate`) -----

/// `report_cfg` (host configuration, words).
/// A reporting device is registered (`page_reporting_register()`).
pub const RC_ENABLED: usize = 0;
/// `page_reporting_order`.
pub const RC_ORDER: usize = 1;
/// Blocks per `report()` call (`PAGE_REPORTING_CAPACITY`, 32; 16 in the
/// 2019 v5 series).
pub const RC_CAPACITY: usize = 2;
/// `PAGE_REPORTING_DELAY` in ticks.
pub const RC_DELAY_TICKS: usize = 3;
/// The host's time for one `report()`: a base and a part per MiB.
pub const RC_LAT_BASE_NS: usize = 4;
pub const RC_LAT_MIB_NS: usize = 5;
pub const RC_TICK_NS: usize = 6;
/// Variant: the v5 series' walk (no per-list budget; CMA lists skipped).
pub const RC_V5: usize = 7;
/// Variant: skip free blocks whose pageblocks are isolated.
pub const RC_SKIP_ISOLATED_PB: usize = 8;
/// Variant: contiguous allocation waits for the report in flight before
/// it isolates a range (the `reported_pages_drain_all()` the discussion
/// asks for; control side only, kept here so it travels with the state).
pub const RC_DRAIN_CONTIG: usize = 9;
/// Variant: `page_reporting_order` as 5.14 to 6.2 had it (control side
/// only): reads `MAX_ORDER` (11) until set, takes any unsigned value
/// (`param_set_uint()`), and a device's registration overwrites it with
/// `pageblock_order`.
pub const RC_ORDER_6_1: usize = 10;
/// The guest's cost of refaulting reported memory on the host, per MiB
/// (control side only: it prices `RZ_REFAULT_PAGES`).
pub const RC_REFAULT_MIB_NS: usize = 11;
pub const REPORT_CFG_WORDS: usize = 12;

/// `report_state`: the device's words, then `RZ_WORDS` per zone.
/// `prdev->state`: IDLE, REQUESTED, ACTIVE.
pub const RS_STATE: usize = 0;
/// The delayed work is queued, to run at `RS_WAKE_TICK`.
pub const RS_QUEUED: usize = 1;
pub const RS_WAKE_TICK: usize = 2;
/// `page_reporting_notify_free()` was called since the last tick (set by
/// `merge` and by control paths).
pub const RS_NOTIFY: usize = 3;
/// A pass (`page_reporting_process()`) is running.
pub const RS_PASS: usize = 4;
/// Where the pass is: zone, order, migratetype, whether the zone's
/// watermark was checked, whether the list's budget was set.
pub const RS_ZONE: usize = 5;
pub const RS_ORDER: usize = 6;
pub const RS_MT: usize = 7;
pub const RS_ZONE_OK: usize = 8;
pub const RS_LIST_STARTED: usize = 9;
/// The list's budget (signed).
pub const RS_BUDGET: usize = 10;
/// Free scatterlist slots (`*offset`).
pub const RS_OFFSET: usize = 11;
/// The batch being filled and its pages so far.
pub const RS_BATCH: usize = 12;
pub const RS_FILL_PAGES: usize = 13;
/// A batch is with the host: its id, zone, pages and the tick it returns.
pub const RS_INFLIGHT: usize = 14;
pub const RS_INFLIGHT_ID: usize = 15;
pub const RS_INFLIGHT_ZONE: usize = 16;
pub const RS_INFLIGHT_PAGES: usize = 17;
pub const RS_DONE_TICK: usize = 18;
/// The zone's leftover batch was sent; the pass moves on when it returns.
pub const RS_LEFTOVER: usize = 19;
/// This tick's drain for `report_isolate`: batch id (0: none) and zone.
pub const RS_DRAIN_ID: usize = 20;
pub const RS_DRAIN_ZONE: usize = 21;
/// Cumulative: passes, `report()` calls, aborted reports.
pub const RS_PASSES: usize = 22;
pub const RS_REPORTS: usize = 23;
/// Contiguous allocations that waited for the report in flight (variant
/// `page_reporting_drain_before_contig`), and the ticks they waited.
pub const RS_DRAIN_WAITS: usize = 24;
/// Copied from `report_cfg` for `report_isolate`.
pub const RS_SKIP_ISOLATED_PB: usize = 25;
/// The batch this tick's fill joins.
pub const RS_FILL_ID: usize = 26;
pub const RS_DRAIN_WAIT_TICKS: usize = 27;
pub const RS_DEV_WORDS: usize = 40;

/// Per zone (`RS_DEV_WORDS + zone * RZ_WORDS`). Counted by `count`:
/// reported free blocks [order][pcp mt], blocks and pages out for
/// reporting, pages in free blocks the host does not back.
pub const RZ_REPORTED: usize = 0;
pub const RZ_INFLIGHT_BLOCKS: usize = NR_PAGE_ORDERS * NR_PCP;
pub const RZ_INFLIGHT_PAGES: usize = RZ_INFLIGHT_BLOCKS + 1;
pub const RZ_UNBACKED_PAGES: usize = RZ_INFLIGHT_BLOCKS + 2;
/// The last word `count` recounts (exclusive).
pub const RZ_COUNTED: usize = RZ_INFLIGHT_BLOCKS + 3;
/// Cumulative: pages and allocations that refaulted on the host, pages
/// and blocks reported, `report()` calls, passes skipped by the zone's
/// watermark, `__isolate_free_page()` refusals, lists left with budget
/// spent, blocks skipped in isolated pageblocks, pages aborted.
pub const RZ_REFAULT_PAGES: usize = RZ_COUNTED;
pub const RZ_REFAULT_ALLOCS: usize = RZ_COUNTED + 1;
pub const RZ_REPORTED_PAGES: usize = RZ_COUNTED + 2;
pub const RZ_REPORTED_BLOCKS: usize = RZ_COUNTED + 3;
pub const RZ_REPORTS: usize = RZ_COUNTED + 4;
pub const RZ_WMARK_SKIPS: usize = RZ_COUNTED + 5;
pub const RZ_ISOLATE_FAILS: usize = RZ_COUNTED + 6;
pub const RZ_BUDGET_STOPS: usize = RZ_COUNTED + 7;
pub const RZ_SKIPPED_ISOLATED: usize = RZ_COUNTED + 8;
/// Pages of the zone's reports handed straight to a contiguous allocation
/// that waited for them.
pub const RZ_DRAINED_PAGES: usize = RZ_COUNTED + 9;
/// This tick's fill for `report_isolate`: blocks to take per pcp list at
/// `RZ_TAKE_ORDER`.
pub const RZ_TAKE: usize = RZ_COUNTED + 10;
pub const RZ_TAKE_ORDER: usize = RZ_TAKE + NR_PCP;
/// `alloc_contig_range()` calls over the zone that failed with EBUSY
/// because a block of the range was out for reporting
/// (`test_pages_isolated()`), and the pages they had migrated out of the
/// range first, for nothing.
pub const RZ_CONTIG_BUSY: usize = RZ_TAKE_ORDER + 1;
pub const RZ_CONTIG_BUSY_MIGRATED: usize = RZ_TAKE_ORDER + 2;
pub const RZ_WORDS: usize = 56;
const _: () = assert!(RZ_CONTIG_BUSY_MIGRATED < RZ_WORDS && RS_DRAIN_WAIT_TICKS < RS_DEV_WORDS);
pub const REPORT_STATE_WORDS: usize = RS_DEV_WORDS + MAX_ZONES * RZ_WORDS;

/// `prdev->state`.
pub const PAGE_REPORTING_IDLE: u32 = 0;
pub const PAGE_REPORTING_REQUESTED: u32 = 1;
pub const PAGE_REPORTING_ACTIVE: u32 = 2;
/// `PAGE_REPORTING_CAPACITY` (include/linux/page_reporting.h).
pub const PAGE_REPORTING_CAPACITY: u32 = 32;

#[inline(always)]
pub fn cell_index(zone: usize, order: usize, mt: usize) -> usize {
    (zone * NR_PAGE_ORDERS + order) * NR_PCP + mt
}
#[inline(always)]
pub fn steal_index(zone: usize, order: usize, mt: usize) -> usize {
    debug_assert!(order >= 9);
    (zone * 2 + (order - 9)) * NR_PCP + mt
}

// ----- zone->lock in simulated time (phase `lock_stat`) -----

/// `lock_cfg` (host configuration, words): the costs, then per zone the
/// pcp batch and high mark, per task and for each node's kswapd the CPU
/// and node it runs on.
pub const LC_TICK_NS: usize = 0;
/// Hold time of one zone->lock acquisition, before the pages it moves.
pub const LC_BASE_NS: usize = 1;
/// Per block a pcp refill (`rmqueue_bulk()`) or drain
/// (`free_pcppages_bulk()`) moves under the lock.
pub const LC_PAGE_NS: usize = 2;
/// One block of an order the pcp lists do not hold (`rmqueue_buddy()`,
/// `__free_one_page()`).
pub const LC_BLOCK_NS: usize = 3;
/// Moving the lock's cache line from another CPU of the node, or of
/// another node.
pub const LC_BOUNCE_LOCAL_NS: usize = 4;
pub const LC_BOUNCE_REMOTE_NS: usize = 5;
/// Bumped by `echo 0 > /proc/lock_stat`: the phase clears its statistics
/// when it sees a new value.
pub const LC_CLEAR_GEN: usize = 6;
/// The most backlog (ns past the tick's end) a saturated lock carries into
/// the next tick (`LOCK_BACKLOG_TICKS` ticks).
pub const LC_BACKLOG_NS: usize = 7;
pub const LC_ZONE: usize = 8;
pub const LC_TASK: usize = LC_ZONE + 2 * MAX_ZONES;
pub const LC_KSWAPD: usize = LC_TASK + 2 * crate::model::scenario::MAX_TASKS;
pub const LOCK_CFG_WORDS: usize = LC_KSWAPD + 2 * MAX_NODES;

/// `task_zone` (per agent and zone, `TZ_WORDS` each; agents are the tasks,
/// then `TZ_KSWAPD` for the zone's kswapd): what `free` freed this tick,
/// the agent's per-CPU lists (kept across ticks), and `lock_stat`'s
/// scratch. The lists hold orders 0-3 (counted in pages, refilled and
/// drained `pcp->batch` pages at a time) and THPs (counted in blocks,
/// moved `max(batch >> order, 2)` = 2 at a time, as `__rmqueue_pcplist()`
/// and `nr_pcp_free()` scale the batch by order).
pub const TZ_WORDS: usize = 12;
/// Pages of orders 0-3 freed this tick (atomic, by `free`).
pub const TZ_FREE_PCP: usize = 0;
/// THPs freed this tick.
pub const TZ_FREE_THP: usize = 1;
/// Blocks of other orders freed this tick.
pub const TZ_FREE_BLOCKS: usize = 2;
/// Pages of orders 0-3 on the agent's list for the zone (persistent).
pub const TZ_PCP_COUNT: usize = 3;
/// THPs on the agent's list (persistent).
pub const TZ_THP_COUNT: usize = 4;
/// This tick's acquisitions: small-page drains, THP list moves, block
/// operations, small-page refills.
pub const TZ_N_DRAIN: usize = 5;
pub const TZ_N_THP: usize = 6;
pub const TZ_N_BLOCKS: usize = 7;
pub const TZ_N_REFILL: usize = 8;
/// The next acquisition, and when it arrives (ns into the tick).
pub const TZ_NEXT: usize = 9;
pub const TZ_NEXT_AT: usize = 10;
/// User pages (anon and THP classes) the task has in the zone
/// (persistent): its resident anonymous memory there, `MM_ANONPAGES`
/// split by zone.
/// Added from the plan's grants by `lock_stat`, taken away by `free` (every
/// free, reclaim's included), and moved by `task_rss` around a control
/// path's batch (a migrated block changes zone, a task's stop frees).
pub const TZ_RSS: usize = 11;
/// THPs a THP refill or drain moves.
pub const THP_BATCH: u32 = 2;
/// The kswapd agent's index.
pub const TZ_KSWAPD: usize = crate::model::scenario::MAX_TASKS;
pub const TZ_AGENTS: usize = TZ_KSWAPD + 1;

/// `lock_stats` (per zone, `LS_WORDS` each): 64-bit counters as (lo, hi)
/// pairs, then 32-bit minima and maxima and the lock's state.
pub const LS_ACQ: usize = 0;
pub const LS_CON: usize = 2;
pub const LS_CON_BOUNCE: usize = 4;
pub const LS_ACQ_BOUNCE: usize = 6;
pub const LS_WAIT_TOTAL: usize = 8;
pub const LS_HOLD_TOTAL: usize = 10;
/// Contentions by where the waiter was: draining its pcp list, a block
/// operation, refilling its pcp list.
pub const LS_CON_DRAIN: usize = 12;
pub const LS_CON_THP: usize = 14;
pub const LS_CON_BLOCK: usize = 16;
pub const LS_CON_REFILL: usize = 18;
pub const LS_WAIT_MIN: usize = 20;
pub const LS_WAIT_MAX: usize = 21;
pub const LS_HOLD_MIN: usize = 22;
pub const LS_HOLD_MAX: usize = 23;
/// The CPU that last held the lock, plus one (0: none yet).
pub const LS_LAST_CPU: usize = 24;
/// How far into the next tick the lock stays busy (ns).
pub const LS_BUSY: usize = 25;
/// The `LC_CLEAR_GEN` the statistics belong to.
pub const LS_GEN: usize = 26;
/// The node of the CPU that last held the lock.
pub const LS_LAST_NODE: usize = 27;
/// The `pcp->high` and `pcp->batch` the newest tick ran with (a write of
/// the watermarks changes them between ticks, as `zone_pcp_update()`
/// does; lists above a lowered high drain at their next free).
pub const LS_PCP_HIGH: usize = 28;
pub const LS_PCP_BATCH: usize = 29;
pub const LS_WORDS: usize = 32;
/// The most ticks of backlog a saturated lock carries.
pub const LOCK_BACKLOG_TICKS: u32 = 16;

// ----- NUMA balancing (phases `numa_task`, `numa_scan`, `numa_list`,
// `numa_collect`, `numa_migrate`; migrations in `plan` and `alloc_split`) -----

/// `numa_cfg` (host configuration, words): the tunables, the tick length,
/// which nodes are top tier, each zone's node, then per task the node and
/// CPU of each thread (`NC_THREADS + task * MAX_THREADS + thread`:
/// node | cpu << 8).
/// `kernel.numa_balancing` (0 off; bit 0 normal, bit 1 memory tiering).
pub const NC_MODE: usize = 0;
pub const NC_SCAN_DELAY_MS: usize = 1;
pub const NC_SCAN_PERIOD_MIN_MS: usize = 2;
pub const NC_SCAN_PERIOD_MAX_MS: usize = 3;
pub const NC_SCAN_SIZE_MB: usize = 4;
/// The hint fault's PTE/PMD restore order (`NUMA_RESTORE_*`).
pub const NC_RESTORE: usize = 5;
pub const NC_TICK_NS: usize = 6;
pub const NC_HOT_THRESHOLD_MS: usize = 7;
/// Bit n: node n is in the top memory tier (`node_is_toptier()`).
pub const NC_TOPTIER: usize = 8;
pub const NC_ZONE_NODE: usize = 16;
pub const NC_THREADS: usize = NC_ZONE_NODE + MAX_ZONES;
pub const NC_THREAD_CPU_SHIFT: u32 = 8;
pub const NC_THREAD_NODE_MASK: u32 = 0xff;

/// Restore orders (`kernel::numa::tlb::RestoreOrder`).
pub const NUMA_RESTORE_LAZY: u32 = 0;
pub const NUMA_RESTORE_FIRST: u32 = 1;
pub const NUMA_RESTORE_LEGACY_THP: u32 = 2;

/// `numa_state` (small device state, words): each node's room for a
/// migration target, then cumulative events as 64-bit (lo, hi) pairs: the
/// global ones (`NE_*`), per node of the faulting CPU its hint faults and
/// local ones, and pages migrated from node to node. All zero while
/// balancing was never on (the digest leaves it out then).
/// Per node: free pages of its best zone above `high + lowmem_reserve`
/// (signed), as `migrate_balanced_pgdat()` tests them, this tick.
pub const NSG_ROOM: usize = 0;
/// The tick (plus one) in which some task has a scan window: `numa_scan`
/// walks every chunk then, and only chunks that may hold PROT_NONE pages
/// otherwise.
pub const NSG_SCAN_TICK: usize = NSG_ROOM + MAX_NODES;
pub const NE_BASE: usize = NSG_SCAN_TICK + 2;
pub const NE_PTE_UPDATES: usize = 0;
pub const NE_HUGE_PTE_UPDATES: usize = 1;
pub const NE_HINT_FAULTS: usize = 2;
pub const NE_HINT_FAULTS_LOCAL: usize = 3;
pub const NE_PAGES_MIGRATED: usize = 4;
pub const NE_PGMIGRATE_SUCCESS: usize = 5;
pub const NE_PGMIGRATE_FAIL: usize = 6;
pub const NE_THP_MIGRATION_SUCCESS: usize = 7;
pub const NE_THP_MIGRATION_FAIL: usize = 8;
pub const NE_TLB_REMOTE_FLUSH: usize = 9;
pub const NE_TLB_REMOTE_FLUSH_RECEIVED: usize = 10;
pub const NE_TLB_LOCAL_FLUSH_ALL: usize = 11;
pub const NE_TLB_LOCAL_FLUSH_ONE: usize = 12;
/// Misplaced pages `numamigrate_isolate_page()` refused (the target node
/// short of room): no vmstat counter in the kernel.
pub const NE_MIGRATE_REFUSED: usize = 13;
/// Misplaced pages past the tick's migration list, left PROT_NONE to
/// fault again (a limit of the model, `MAX_MIGRATIONS`).
pub const NE_MIGRATE_DEFERRED: usize = 14;
/// `task_numa_work()` passes that marked something.
pub const NE_SCANS: usize = 15;
pub const NR_NUMA_EVENTS: usize = 16;
/// Per node: hint faults taken on its CPUs, and the local ones.
pub const NE_NODE: usize = NE_BASE + 2 * NR_NUMA_EVENTS;
/// Pages migrated, `[from][to]`.
pub const NE_FLOW: usize = NE_NODE + 2 * 2 * MAX_NODES;
pub const NUMA_STATE_WORDS: usize = NE_FLOW + 2 * MAX_NODES * MAX_NODES;

/// `numa_tasks` (per task, `NT_HDR + nr_nodes * NTN_WORDS` words): the
/// scan state of `task_numa_work()`, the locality counters, the
/// preferred node, and per node the fault statistics.
/// The task's state was set up (`init_numa_balancing()`).
pub const NT_INIT: usize = 0;
/// `p->numa_scan_period`, `p->numa_scan_period_max` (ms).
pub const NT_PERIOD_MS: usize = 1;
pub const NT_PERIOD_MAX_MS: usize = 2;
/// `p->node_stamp` (ms of run time).
pub const NT_NODE_STAMP_MS: usize = 3;
/// `mm->numa_next_scan` (jiffies).
pub const NT_NEXT_SCAN: usize = 4;
/// `mm->numa_scan_seq`, and the seq `task_numa_placement()` last saw.
pub const NT_SEQ: usize = 5;
pub const NT_PLACED_SEQ: usize = 6;
/// `mm->numa_scan_offset`, in pages of the pass, and the pass's span (the
/// task's user pages when it began).
pub const NT_OFFSET: usize = 7;
pub const NT_SPAN: usize = 8;
/// This tick's scan window, `[lo, hi)` of the span (hi == lo: none).
pub const NT_WIN_LO: usize = 9;
pub const NT_WIN_HI: usize = 10;
/// `p->numa_faults_locality[remote, local, failed]` (pages).
pub const NT_LOCALITY: usize = 11;
/// `p->numa_preferred_nid` + 1 (0: NUMA_NO_NODE).
pub const NT_PREFERRED: usize = 14;
/// A shared fault joined the task's threads into a numa group.
pub const NT_GROUP: usize = 15;
/// `p->numa_pages_migrated` (lo, hi).
pub const NT_MIGRATED: usize = 16;
/// Entries the scan made PROT_NONE this tick (the next `numa_task` counts
/// the flush).
pub const NT_SCAN_UPDATES: usize = 18;
/// The scan window of those updates (pages).
pub const NT_SCAN_RANGE: usize = 19;
/// Hint faults taken by the task's threads (lo, hi).
pub const NT_FAULTS: usize = 20;
/// The task_work is queued (`work->next != work`).
pub const NT_WORK_QUEUED: usize = 22;
/// A shared fault this tick (the filter reads `NT_GROUP`, which the next
/// `numa_task` sets from this: decisions within a tick never see one
/// another).
pub const NT_GROUP_NEW: usize = 23;
pub const NT_HDR: usize = 32;
/// Per node: `numa_faults[NUMA_MEM]` private and shared (decayed), the
/// `NUMA_MEMBUF` of the pass, `NUMA_CPU` (both kinds) and its buffer.
pub const NTN_MEM: usize = 0;
pub const NTN_MEMBUF: usize = 2;
pub const NTN_CPU: usize = 4;
pub const NTN_CPUBUF: usize = 5;
pub const NTN_WORDS: usize = 6;

/// Words per task in `numa_tasks` on a machine of `nr_nodes` nodes.
pub const fn numa_task_words(nr_nodes: usize) -> usize {
    NT_HDR + nr_nodes * NTN_WORDS
}

/// The plan buffer's migration list (after its cells and steals): a
/// header, `MAX_MIGRATIONS` entries of `MIG_WORDS`, then one word per
/// chunk (misplaced pages found in it, then the chunk's first entry),
/// then one word per chunk at `MIG_CHUNKS + nr_chunks`: the PROT_NONE
/// pages `numa_scan` left in the chunk when it last walked it (an upper
/// bound: frees and moves only lower it; 0 lets a tick without a scan
/// skip the chunk).
pub const MAX_MIGRATIONS: usize = 2048;
/// Entries this tick (at most `MAX_MIGRATIONS`), misplaced pages found,
/// the restore order.
pub const MIG_COUNT: usize = 0;
pub const MIG_WANTED: usize = 1;
pub const MIG_RESTORE: usize = 2;
/// The tick the list was made in (the plan and `numa_migrate` ignore a
/// list from an earlier tick: balancing was switched off since).
pub const MIG_TICK: usize = 3;
pub const MIG_HDR: usize = 4;
pub const MIG_WORDS: usize = 4;
/// An entry: the source pfn; task | thread << 16; order | target node <<
/// 4 | source zone << 9 | private << 16 | local << 17 | other CPUs of the
/// mm << 18 | source node << 24; the target's flags | status << 16.
pub const ME_PFN: usize = 0;
pub const ME_WHO: usize = 1;
pub const ME_WHAT: usize = 2;
pub const ME_FLAGS: usize = 3;
pub const MEW_ORDER_MASK: u32 = 0xf;
pub const MEW_TARGET_SHIFT: u32 = 4;
pub const MEW_NODE_MASK: u32 = 0x1f;
pub const MEW_ZONE_MASK: u32 = 0x7f;
pub const MEW_CPUS_MASK: u32 = 0x3f;
pub const MEW_ZONE_SHIFT: u32 = 9;
pub const MEW_PRIVATE: u32 = 1 << 16;
pub const MEW_LOCAL: u32 = 1 << 17;
pub const MEW_CPUS_SHIFT: u32 = 18;
pub const MEW_NODE_SHIFT: u32 = 24;
/// `task_numa_fault()` returns at once (a lower-tier memory node and no
/// cpupid history, or tiering mode) if the page stays, or if it moves.
pub const MEW_NOSTATS_FAILED: u32 = 1 << 29;
pub const MEW_NOSTATS_MIGRATED: u32 = 1 << 30;
pub const MES_SHIFT: u32 = 16;
pub const MIG_GRANTED: u32 = 1;
pub const MIG_FAILED: u32 = 2;
pub const MIG_CHUNKS: usize = MIG_HDR + MAX_MIGRATIONS * MIG_WORDS;

/// Owner-word bits a misplaced page carries between `numa_scan` and
/// `numa_migrate` within one tick (never across ticks): its migration is
/// in flight, the fault was private, and the faulting thread.
pub const OWNER_MIGRATING: u32 = 1 << 31;
pub const OWNER_PRIVATE: u32 = 1 << 30;
pub const OWNER_THREAD_SHIFT: u32 = 16;
pub const OWNER_THREAD_MASK: u32 = 0x3f;
pub const OWNER_TASK_MASK: u32 = 0xffff;
/// The page had a cpupid before the fault (`cpupid_valid()`).
pub const OWNER_LAST_VALID: u32 = 1 << 29;

/// The highest order the per-CPU lists hold below the THP order
/// (`pcp_allowed_order()`; the THP order joined in 5.13).
pub const PAGE_ALLOC_COSTLY_ORDER: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn sizes_are_multiples_of_16() {
        assert_eq!(std::mem::size_of::<TickParams>() % 16, 0);
        assert_eq!(std::mem::size_of::<ZoneDesc>() % 16, 0);
        assert_eq!(std::mem::size_of::<ZoneState>() % 16, 0);
        assert_eq!(std::mem::size_of::<ZoneStats>() % 16, 0);
        assert_eq!(std::mem::size_of::<TaskDesc>() % 16, 0);
        assert_eq!(std::mem::size_of::<TaskState>() % 16, 0);
        assert_eq!(std::mem::size_of::<Grant>() % 16, 0);
    }
}
