//! The WGSL header every shader starts with, generated from Rust: every
//! constant, enum tag and packed offset a shader shares with the host, the
//! class and fallback tables, and the frame map's palette. A shader never
//! repeats a value Rust owns (`tests/shaders.rs` fails on a literal that
//! equals one of these, and on a shader that declares one of these names
//! itself); the header's values are checked against this table by parsing
//! it with naga.

use super::buffers::{CTL_NODE_STATE, CTL_PLAN_HDR, PLAN_STEALS};
use super::requests::*;
use super::types::*;
use crate::engine::frame_map::{
    CAT_ALLOC, CAT_FREE, CAT_GIG_FREE, CAT_GIG_USED, CAT_HUGE_FREE, CAT_HUGE_TEMP, CAT_HUGE_USED,
    CAT_NONE, CAT_OFFLINE, CAT_REPORTED, CAT_REPORTING, CAT_RESERVED, CAT_VMEMMAP, CAT_VMEMMAP_PTE,
    CAT_VMEMMAP_RUNTIME, NO_PROBE, NR_CATEGORIES, PALETTE,
};
use crate::model::frame::*;
use crate::model::hash::{STREAM_FREE, STREAM_LOCK, STREAM_RECLAIM, STREAM_REQUEST};
use crate::model::scenario::{MAX_NODES, MAX_TASKS};
use crate::model::topology::ZoneType;
use crate::model::workload::*;
use std::mem::{offset_of, size_of};

/// A word offset of a `ZoneState` field (the shaders that add into zone
/// state atomically address it as words).
const fn zsw(bytes: usize) -> u32 {
    (bytes / 4) as u32
}

/// Every constant of the header, as (name, value).
pub fn constants() -> Vec<(&'static str, u32)> {
    let zs = |b: usize| zsw(b);
    vec![
        ("MAX_PAGE_ORDER", MAX_PAGE_ORDER),
        ("NR_PAGE_ORDERS", NR_PAGE_ORDERS as u32),
        ("PAGEBLOCK_ORDER", PAGEBLOCK_ORDER),
        ("PAGEBLOCK_FRAMES", PAGEBLOCK_FRAMES as u32),
        ("CHUNK_ORDER", CHUNK_ORDER),
        ("CHUNK_FRAMES", CHUNK_FRAMES as u32),
        ("PAGEBLOCKS_PER_CHUNK", PAGEBLOCKS_PER_CHUNK as u32),
        ("NR_PCP", NR_PCP as u32),
        ("MIGRATE_TYPES", MIGRATE_TYPES as u32),
        ("NR_CLASSES", NR_CLASSES as u32),
        ("CHUNK_COUNT_WORDS", CHUNK_COUNT_WORDS as u32),
        ("MAX_ZONES", MAX_ZONES as u32),
        ("MAX_NODES", MAX_NODES as u32),
        ("MAX_TASKS", MAX_TASKS as u32),
        ("ZONELIST_STRIDE", ZONELIST_STRIDE as u32),
        ("ZONE_NONE", ZONE_NONE),
        ("MAX_GRANTS", MAX_GRANTS as u32),
        ("DISPATCH_FIRST", DISPATCH_FIRST as u32),
        ("DISPATCH_COUNT", DISPATCH_COUNT as u32),
        ("MAX_DISPATCH_X", MAX_DISPATCH_X),
        ("ZONE_DMA32", ZoneType::Dma32 as u32),
        ("ZONE_NORMAL", ZoneType::Normal as u32),
        ("ZONE_MOVABLE", ZoneType::Movable as u32),
        // Frame state words (model/frame.rs).
        ("KIND_TAIL", KIND_TAIL),
        ("KIND_FREE", KIND_FREE),
        ("KIND_ALLOC", KIND_ALLOC),
        ("KIND_RESERVED", KIND_RESERVED),
        ("KIND_HUGE", KIND_HUGE),
        ("KIND_VMEMMAP", KIND_VMEMMAP),
        ("KIND_MASK", KIND_MASK),
        ("ORDER_SHIFT", ORDER_SHIFT),
        ("ORDER_MASK", ORDER_MASK),
        ("MT_SHIFT", MT_SHIFT),
        ("MT_MASK", MT_MASK),
        ("CLASS_SHIFT", CLASS_SHIFT),
        ("CLASS_MASK", CLASS_MASK),
        ("FLAGS_SHIFT", FLAGS_SHIFT),
        ("HF_GIGANTIC", HF_GIGANTIC),
        ("HF_GIG_TAIL", HF_GIG_TAIL),
        ("HF_INUSE", HF_INUSE),
        ("HF_TEMPORARY", HF_TEMPORARY),
        ("HF_HVO", HF_HVO),
        ("VMF_RUNTIME", VMF_RUNTIME),
        ("VMF_PTE", VMF_PTE),
        ("RF_OFFLINE", RF_OFFLINE),
        ("KIND_REPORTING", KIND_REPORTING),
        ("FF_REPORTED", FF_REPORTED),
        ("FF_UNBACKED", FF_UNBACKED),
        ("FREE_FLAG_BITS", FREE_FLAG_BITS),
        ("REPORT_BATCH_MASK", REPORT_BATCH_MASK),
        // Free page reporting (types.rs CC_*, RC_*, RS_*, RZ_*).
        ("CC_FREE", CC_FREE as u32),
        ("CC_REPORTED", CC_REPORTED as u32),
        ("CC_REFAULT_PAGES", CC_REFAULT_PAGES as u32),
        ("CC_REFAULT_ALLOCS", CC_REFAULT_ALLOCS as u32),
        ("CHUNK_PREFIX_WORDS", CHUNK_PREFIX_WORDS as u32),
        ("DIRTY_FREED", DIRTY_FREED),
        ("DIRTY_DRAIN", DIRTY_DRAIN),
        ("DIRTY_ORDER_SHIFT", DIRTY_ORDER_SHIFT),
        ("RC_ENABLED", RC_ENABLED as u32),
        ("RC_ORDER", RC_ORDER as u32),
        ("RC_CAPACITY", RC_CAPACITY as u32),
        ("RC_DELAY_TICKS", RC_DELAY_TICKS as u32),
        ("RC_LAT_BASE_NS", RC_LAT_BASE_NS as u32),
        ("RC_LAT_MIB_NS", RC_LAT_MIB_NS as u32),
        ("RC_TICK_NS", RC_TICK_NS as u32),
        ("RC_V5", RC_V5 as u32),
        ("RC_SKIP_ISOLATED_PB", RC_SKIP_ISOLATED_PB as u32),
        ("RS_STATE", RS_STATE as u32),
        ("RS_QUEUED", RS_QUEUED as u32),
        ("RS_WAKE_TICK", RS_WAKE_TICK as u32),
        ("RS_NOTIFY", RS_NOTIFY as u32),
        ("RS_PASS", RS_PASS as u32),
        ("RS_ZONE", RS_ZONE as u32),
        ("RS_ORDER", RS_ORDER as u32),
        ("RS_MT", RS_MT as u32),
        ("RS_ZONE_OK", RS_ZONE_OK as u32),
        ("RS_LIST_STARTED", RS_LIST_STARTED as u32),
        ("RS_BUDGET", RS_BUDGET as u32),
        ("RS_OFFSET", RS_OFFSET as u32),
        ("RS_BATCH", RS_BATCH as u32),
        ("RS_FILL_PAGES", RS_FILL_PAGES as u32),
        ("RS_INFLIGHT", RS_INFLIGHT as u32),
        ("RS_INFLIGHT_ID", RS_INFLIGHT_ID as u32),
        ("RS_INFLIGHT_ZONE", RS_INFLIGHT_ZONE as u32),
        ("RS_INFLIGHT_PAGES", RS_INFLIGHT_PAGES as u32),
        ("RS_DONE_TICK", RS_DONE_TICK as u32),
        ("RS_LEFTOVER", RS_LEFTOVER as u32),
        ("RS_DRAIN_ID", RS_DRAIN_ID as u32),
        ("RS_DRAIN_ZONE", RS_DRAIN_ZONE as u32),
        ("RS_PASSES", RS_PASSES as u32),
        ("RS_REPORTS", RS_REPORTS as u32),
        ("RS_DRAIN_WAITS", RS_DRAIN_WAITS as u32),
        ("RS_SKIP_ISOLATED_PB", RS_SKIP_ISOLATED_PB as u32),
        ("RS_FILL_ID", RS_FILL_ID as u32),
        ("RS_DEV_WORDS", RS_DEV_WORDS as u32),
        ("RZ_REPORTED", RZ_REPORTED as u32),
        ("RZ_INFLIGHT_BLOCKS", RZ_INFLIGHT_BLOCKS as u32),
        ("RZ_INFLIGHT_PAGES", RZ_INFLIGHT_PAGES as u32),
        ("RZ_UNBACKED_PAGES", RZ_UNBACKED_PAGES as u32),
        ("RZ_COUNTED", RZ_COUNTED as u32),
        ("RZ_REFAULT_PAGES", RZ_REFAULT_PAGES as u32),
        ("RZ_REFAULT_ALLOCS", RZ_REFAULT_ALLOCS as u32),
        ("RZ_REPORTED_PAGES", RZ_REPORTED_PAGES as u32),
        ("RZ_REPORTED_BLOCKS", RZ_REPORTED_BLOCKS as u32),
        ("RZ_REPORTS", RZ_REPORTS as u32),
        ("RZ_WMARK_SKIPS", RZ_WMARK_SKIPS as u32),
        ("RZ_ISOLATE_FAILS", RZ_ISOLATE_FAILS as u32),
        ("RZ_BUDGET_STOPS", RZ_BUDGET_STOPS as u32),
        ("RZ_SKIPPED_ISOLATED", RZ_SKIPPED_ISOLATED as u32),
        ("RZ_DRAINED_PAGES", RZ_DRAINED_PAGES as u32),
        ("RZ_TAKE", RZ_TAKE as u32),
        ("RZ_TAKE_ORDER", RZ_TAKE_ORDER as u32),
        ("RZ_WORDS", RZ_WORDS as u32),
        ("PAGE_REPORTING_IDLE", PAGE_REPORTING_IDLE),
        ("PAGE_REPORTING_REQUESTED", PAGE_REPORTING_REQUESTED),
        ("PAGE_REPORTING_ACTIVE", PAGE_REPORTING_ACTIVE),
        ("PAGE_REPORTING_CAPACITY", PAGE_REPORTING_CAPACITY),
        ("OWNER_NONE", OWNER_NONE),
        ("OWNER_TASK_BASE", OWNER_TASK_BASE),
        ("MIGRATE_UNMOVABLE", MIGRATE_UNMOVABLE),
        ("MIGRATE_MOVABLE", MIGRATE_MOVABLE),
        ("MIGRATE_RECLAIMABLE", MIGRATE_RECLAIMABLE),
        ("MIGRATE_PCPTYPES", MIGRATE_PCPTYPES),
        ("MIGRATE_HIGHATOMIC", MIGRATE_HIGHATOMIC),
        ("MIGRATE_CMA", MIGRATE_CMA),
        ("MIGRATE_ISOLATE", MIGRATE_ISOLATE),
        // Mempolicy modes (model/workload.rs).
        ("MPOL_LOCAL", MPOL_LOCAL),
        ("MPOL_BIND", MPOL_BIND),
        ("MPOL_PREFERRED", MPOL_PREFERRED),
        ("MPOL_INTERLEAVE", MPOL_INTERLEAVE),
        ("MPOL_WEIGHTED_INTERLEAVE", MPOL_WEIGHTED_INTERLEAVE),
        // The plan's limits (engine/cpu/plan.rs).
        ("MAX_PENDING", crate::engine::cpu::plan::MAX_PENDING),
        (
            "SWAP_CLUSTER_MAX",
            crate::engine::cpu::plan::SWAP_CLUSTER_MAX,
        ),
        // Hash streams (model/hash.rs).
        ("STREAM_FREE", STREAM_FREE),
        ("STREAM_RECLAIM", STREAM_RECLAIM),
        ("STREAM_REQUEST", STREAM_REQUEST),
        ("STREAM_LOCK", STREAM_LOCK),
        ("PAGE_ALLOC_COSTLY_ORDER", PAGE_ALLOC_COSTLY_ORDER),
        // zone->lock in simulated time (types.rs LC_*, TZ_*, LS_*).
        ("LC_TICK_NS", LC_TICK_NS as u32),
        ("LC_BASE_NS", LC_BASE_NS as u32),
        ("LC_PAGE_NS", LC_PAGE_NS as u32),
        ("LC_BLOCK_NS", LC_BLOCK_NS as u32),
        ("LC_BOUNCE_LOCAL_NS", LC_BOUNCE_LOCAL_NS as u32),
        ("LC_BOUNCE_REMOTE_NS", LC_BOUNCE_REMOTE_NS as u32),
        ("LC_CLEAR_GEN", LC_CLEAR_GEN as u32),
        ("LC_BACKLOG_NS", LC_BACKLOG_NS as u32),
        ("LC_ZONE", LC_ZONE as u32),
        ("LC_TASK", LC_TASK as u32),
        ("LC_KSWAPD", LC_KSWAPD as u32),
        ("TZ_WORDS", TZ_WORDS as u32),
        ("TZ_FREE_PCP", TZ_FREE_PCP as u32),
        ("TZ_FREE_THP", TZ_FREE_THP as u32),
        ("TZ_FREE_BLOCKS", TZ_FREE_BLOCKS as u32),
        ("TZ_PCP_COUNT", TZ_PCP_COUNT as u32),
        ("TZ_THP_COUNT", TZ_THP_COUNT as u32),
        ("TZ_N_DRAIN", TZ_N_DRAIN as u32),
        ("TZ_N_THP", TZ_N_THP as u32),
        ("THP_BATCH", THP_BATCH),
        ("TZ_N_BLOCKS", TZ_N_BLOCKS as u32),
        ("TZ_N_REFILL", TZ_N_REFILL as u32),
        ("TZ_NEXT", TZ_NEXT as u32),
        ("TZ_NEXT_AT", TZ_NEXT_AT as u32),
        ("TZ_KSWAPD", TZ_KSWAPD as u32),
        ("TZ_AGENTS", TZ_AGENTS as u32),
        ("LS_ACQ", LS_ACQ as u32),
        ("LS_CON", LS_CON as u32),
        ("LS_CON_BOUNCE", LS_CON_BOUNCE as u32),
        ("LS_ACQ_BOUNCE", LS_ACQ_BOUNCE as u32),
        ("LS_WAIT_TOTAL", LS_WAIT_TOTAL as u32),
        ("LS_HOLD_TOTAL", LS_HOLD_TOTAL as u32),
        ("LS_CON_DRAIN", LS_CON_DRAIN as u32),
        ("LS_CON_THP", LS_CON_THP as u32),
        ("LS_CON_BLOCK", LS_CON_BLOCK as u32),
        ("LS_CON_REFILL", LS_CON_REFILL as u32),
        ("LS_WAIT_MIN", LS_WAIT_MIN as u32),
        ("LS_WAIT_MAX", LS_WAIT_MAX as u32),
        ("LS_HOLD_MIN", LS_HOLD_MIN as u32),
        ("LS_HOLD_MAX", LS_HOLD_MAX as u32),
        ("LS_LAST_CPU", LS_LAST_CPU as u32),
        ("LS_BUSY", LS_BUSY as u32),
        ("LS_GEN", LS_GEN as u32),
        ("LS_LAST_NODE", LS_LAST_NODE as u32),
        ("LS_PCP_HIGH", LS_PCP_HIGH as u32),
        ("LS_PCP_BATCH", LS_PCP_BATCH as u32),
        ("LS_WORDS", LS_WORDS as u32),
        // Zone counters (types.rs ZS_*).
        ("ZS_PGALLOC", ZS_PGALLOC as u32),
        ("ZS_PGFREE", ZS_PGFREE as u32),
        ("ZS_NUMA_HIT", ZS_NUMA_HIT as u32),
        ("ZS_NUMA_MISS", ZS_NUMA_MISS as u32),
        ("ZS_NUMA_FOREIGN", ZS_NUMA_FOREIGN as u32),
        ("ZS_NUMA_INTERLEAVE", ZS_NUMA_INTERLEAVE as u32),
        ("ZS_NUMA_LOCAL", ZS_NUMA_LOCAL as u32),
        ("ZS_NUMA_OTHER", ZS_NUMA_OTHER as u32),
        ("ZS_PGSTEAL_KSWAPD", ZS_PGSTEAL_KSWAPD as u32),
        ("ZS_PGSTEAL_DIRECT", ZS_PGSTEAL_DIRECT as u32),
        ("ZS_ALLOCSTALL_NORMAL", ZS_ALLOCSTALL_NORMAL as u32),
        ("ZS_ALLOCSTALL_MOVABLE", ZS_ALLOCSTALL_MOVABLE as u32),
        ("ZS_ALLOC_FAIL", ZS_ALLOC_FAIL as u32),
        ("ZS_ALLOC_FALLBACK", ZS_ALLOC_FALLBACK as u32),
        ("ZS_PAGEBLOCK_CLAIM", ZS_PAGEBLOCK_CLAIM as u32),
        ("ZS_ALLOCS", ZS_ALLOCS as u32),
        ("ZS_FREES", ZS_FREES as u32),
        ("ZS_PAGEOUTRUN", ZS_PAGEOUTRUN as u32),
        ("MAX_RECLAIM_RETRIES", MAX_RECLAIM_RETRIES),
        ("ZS_DEFERRED", ZS_DEFERRED as u32),
        ("NR_ZONE_STATS", NR_ZONE_STATS as u32),
        // ZoneState as words, for shaders that add into it atomically.
        ("ZONE_STATE_WORDS", zsw(size_of::<ZoneState>())),
        ("ZSW_NR_FREE", zs(offset_of!(ZoneState, nr_free))),
        ("ZSW_CLASS_PAGES", zs(offset_of!(ZoneState, class_pages))),
        ("ZSW_KSWAPD_P16", zs(offset_of!(ZoneState, kswapd_p16))),
        ("ZSW_HUGE_FRAMES", zs(offset_of!(ZoneState, huge_frames))),
        (
            "ZSW_HUGE_INUSE",
            zs(offset_of!(ZoneState, huge_inuse_frames)),
        ),
        (
            "ZSW_VMEMMAP_BOOT",
            zs(offset_of!(ZoneState, vmemmap_boot_frames)),
        ),
        (
            "ZSW_VMEMMAP_RUNTIME",
            zs(offset_of!(ZoneState, vmemmap_runtime_frames)),
        ),
        // The packed buffers, as word offsets (buffers.rs).
        ("CTL_NODE_STATE_WORDS", (CTL_NODE_STATE / 4) as u32),
        ("CTL_PLAN_HDR_WORDS", (CTL_PLAN_HDR / 4) as u32),
        ("PLAN_STEALS_WORDS", (PLAN_STEALS / 4) as u32),
        // The request ring (requests.rs).
        ("REQ_SET_FRAME", REQ_SET_FRAME),
        ("REQ_SET_PAGEBLOCK", REQ_SET_PAGEBLOCK),
        ("REQ_SET_TOTAL", REQ_SET_TOTAL),
        ("REQ_SET_TASK_WORD", REQ_SET_TASK_WORD),
        ("REQ_SET_REPORT_WORD", REQ_SET_REPORT_WORD),
        ("TASK_STATE_WORDS", zsw(size_of::<TaskState>())),
        ("FREE_HEADS_WORDS", FREE_HEADS_WORDS as u32),
        ("FREE_HEADS_MAX", FREE_HEADS_MAX as u32),
        ("FREE_HEAD_ORDER_SHIFT", FREE_HEAD_ORDER_SHIFT),
        ("FREE_HEAD_MT_SHIFT", FREE_HEAD_MT_SHIFT),
        // The frame map's categories (frame_map.rs).
        ("CAT_NONE", CAT_NONE),
        ("CAT_FREE", CAT_FREE),
        ("CAT_ALLOC", CAT_ALLOC),
        ("CAT_RESERVED", CAT_RESERVED),
        ("CAT_HUGE_FREE", CAT_HUGE_FREE),
        ("CAT_HUGE_USED", CAT_HUGE_USED),
        ("CAT_HUGE_TEMP", CAT_HUGE_TEMP),
        ("CAT_GIG_FREE", CAT_GIG_FREE),
        ("CAT_GIG_USED", CAT_GIG_USED),
        ("CAT_VMEMMAP", CAT_VMEMMAP),
        ("CAT_VMEMMAP_RUNTIME", CAT_VMEMMAP_RUNTIME),
        ("CAT_VMEMMAP_PTE", CAT_VMEMMAP_PTE),
        ("CAT_OFFLINE", CAT_OFFLINE),
        ("CAT_REPORTED", CAT_REPORTED),
        ("CAT_REPORTING", CAT_REPORTING),
        ("NR_CATEGORIES", NR_CATEGORIES as u32),
        ("NO_PROBE", NO_PROBE),
    ]
}

/// The header: constants, then the tables generated from
/// `model::workload::CLASSES`, `FALLBACKS` and the frame map's palette.
pub fn generated_header() -> String {
    let mut s = String::from(
        "// Generated from Rust (src/engine/header.rs): do not edit, do not repeat.\n",
    );
    for (name, v) in constants() {
        s += &format!("const {name}: u32 = {v:#x}u;\n");
    }
    let list = |f: &dyn Fn(usize) -> u32| {
        (0..NR_CLASSES)
            .map(|c| format!("{}u", f(c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mask = |f: &dyn Fn(usize) -> bool| {
        (0..NR_CLASSES)
            .filter(|&c| f(c))
            .fold(0u32, |m, c| m | 1 << c)
    };
    let fallbacks: Vec<String> = FALLBACKS
        .iter()
        .flatten()
        .map(|f| format!("{f}u"))
        .collect();
    let palette: Vec<String> = PALETTE.iter().map(|c| format!("{c:#x}u")).collect();
    s += &format!(
        "var<private> CLASS_ORDER: array<u32, NR_CLASSES> = array<u32, NR_CLASSES>({});\n\
         var<private> CLASS_MT: array<u32, NR_CLASSES> = array<u32, NR_CLASSES>({});\n\
         const RECLAIMABLE_CLASS_MASK: u32 = {:#x}u;\n\
         const MOVABLE_ZONE_CLASS_MASK: u32 = {:#x}u;\n\
         var<private> FALLBACKS: array<u32, {}> = array<u32, {}>({});\n\
         var<private> PALETTE: array<u32, NR_CATEGORIES> = array<u32, NR_CATEGORIES>({});\n",
        list(&|c| CLASSES[c].order),
        list(&|c| CLASSES[c].migratetype),
        mask(&|c| CLASSES[c].reclaimable),
        mask(&|c| CLASSES[c].movable_zone_ok),
        fallbacks.len(),
        fallbacks.len(),
        fallbacks.join(", "),
        palette.join(", "),
    );
    s
}
