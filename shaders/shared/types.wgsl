// Structs and constants shared by every phase. Twins of src/engine/types.rs
// and src/model/frame.rs; tests/shader_layout.rs checks sizes and offsets.

const MAX_PAGE_ORDER: u32 = 10u;
const NR_PAGE_ORDERS: u32 = 11u;
const PAGEBLOCK_ORDER: u32 = 9u;
const CHUNK_FRAMES: u32 = 1024u;
const PAGEBLOCKS_PER_CHUNK: u32 = 2u;
const NR_PCP: u32 = 3u;
const MIGRATE_TYPES: u32 = 6u;
const NR_CLASSES: u32 = 10u;
const CHUNK_COUNT_WORDS: u32 = 33u;
const MAX_ZONES: u32 = 96u;
const MAX_NODES: u32 = 32u;
const ZONELIST_STRIDE: u32 = 97u;
const ZONE_NONE: u32 = 0xffffffffu;
const MAX_GRANTS: u32 = 16384u;
// The dispatch buffer (types.rs DISPATCH_*).
const DISPATCH_FIRST: u32 = 4u;
const DISPATCH_COUNT: u32 = 100u;
const MAX_DISPATCH_X: u32 = 65535u;

const KIND_TAIL: u32 = 0u;
const KIND_FREE: u32 = 1u;
const KIND_ALLOC: u32 = 2u;
const KIND_RESERVED: u32 = 3u;
const KIND_HUGE: u32 = 4u;
const KIND_VMEMMAP: u32 = 5u;
const HF_GIGANTIC: u32 = 1u;
const HF_GIG_TAIL: u32 = 2u;
const HF_INUSE: u32 = 4u;
const HF_TEMPORARY: u32 = 8u;
const HF_HVO: u32 = 16u;
const VMF_RUNTIME: u32 = 1u;
const VMF_PTE: u32 = 2u;
const RF_OFFLINE: u32 = 1u;
const OWNER_NONE: u32 = 0u;
const OWNER_TASK_BASE: u32 = 1u;

const MIGRATE_UNMOVABLE: u32 = 0u;
const MIGRATE_MOVABLE: u32 = 1u;
const MIGRATE_RECLAIMABLE: u32 = 2u;

// Zone stat indices (ZS_* in types.rs).
const ZS_PGALLOC: u32 = 0u;
const ZS_PGFREE: u32 = 1u;
const ZS_NUMA_HIT: u32 = 2u;
const ZS_NUMA_MISS: u32 = 3u;
const ZS_NUMA_FOREIGN: u32 = 4u;
const ZS_NUMA_INTERLEAVE: u32 = 5u;
const ZS_NUMA_LOCAL: u32 = 6u;
const ZS_NUMA_OTHER: u32 = 7u;
const ZS_PGSTEAL_KSWAPD: u32 = 8u;
const ZS_PGSTEAL_DIRECT: u32 = 9u;
const ZS_ALLOCSTALL_NORMAL: u32 = 10u;
const ZS_ALLOCSTALL_MOVABLE: u32 = 11u;
const ZS_ALLOC_FAIL: u32 = 12u;
const ZS_ALLOC_FALLBACK: u32 = 13u;
const ZS_PAGEBLOCK_CLAIM: u32 = 14u;
const ZS_ALLOCS: u32 = 15u;
const ZS_FREES: u32 = 16u;
const ZS_PAGEOUTRUN: u32 = 17u;
const ZS_DEFERRED: u32 = 18u;
const NR_ZONE_STATS: u32 = 20u;

// Word layout of ZoneState inside the ctl buffer, for shaders that bind it
// as atomics (ZONE_STATE_WORDS words per zone).
const ZONE_STATE_WORDS: u32 = 84u;
const ZSW_NR_FREE: u32 = 66u;
const ZSW_CLASS_PAGES: u32 = 67u;
// Frames counted from the frame array (types.rs ZoneState, after
// class_pages and the three reclaim words).
const ZSW_HUGE_FRAMES: u32 = 80u;
const ZSW_HUGE_INUSE: u32 = 81u;
const ZSW_VMEMMAP_BOOT: u32 = 82u;
const ZSW_VMEMMAP_RUNTIME: u32 = 83u;

struct TickParams {
    seed: vec2<u32>,
    tick: u32,
    nr_chunks: u32,
    nr_zones: u32,
    nr_nodes: u32,
    nr_tasks: u32,
    order: u32,
}

struct ZoneDesc {
    node: u32,
    zone_type: u32,
    start_pfn: u32,
    nr_frames: u32,
    start_chunk: u32,
    nr_chunks: u32,
    managed: u32,
    reserved: u32,
    wmark_min: u32,
    wmark_low: u32,
    wmark_high: u32,
    wmark_promo: u32,
    lowmem_reserve: array<u32, 4>,
    kswapd_pages_per_tick: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct ZoneState {
    free_area: array<array<u32, 6>, 11>,
    nr_free: u32,
    class_pages: array<u32, 10>,
    kswapd_p16: u32,
    direct_p16: u32,
    direct_target: u32,
    huge_frames: u32,
    huge_inuse_frames: u32,
    vmemmap_boot_frames: u32,
    vmemmap_runtime_frames: u32,
}

struct ZoneStats {
    v: array<u32, 20>,
}

struct NodeDesc {
    il_weight: u32,
    first_zone: u32,
    nr_zones: u32,
    _pad: u32,
}

struct NodeState {
    kswapd_active: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct TaskDesc {
    alive: u32,
    cpu_node: u32,
    mode: u32,
    nodemask: u32,
    preferred: u32,
    start_tick: u32,
    _pad0: u32,
    _pad1: u32,
    rate_fp: array<u32, 10>,
    free_thresh: array<u32, 10>,
    _pad2: array<u32, 4>,
}

struct TaskState {
    il_prev: u32,
    il_weight: u32,
    pending: array<u32, 10>,
    _pad: array<u32, 4>,
}

struct PlanCell {
    split: u32,
    alloc: u32,
    seg_start: u32,
    seg_count: u32,
}

struct StealCell {
    to: array<u32, 3>,
    stealable: u32,
}

struct Grant {
    cell: u32,
    count: u32,
    owner: u32,
    class_mt: u32,
    start: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct PlanHeader {
    nr_grants: u32,
    overflow: u32,
    _pad0: u32,
    _pad1: u32,
}

// Static configuration: written by the host at boot and on knob writes.
struct Topo {
    zones: array<ZoneDesc, 96>,
    nodes: array<NodeDesc, 32>,
    zonelists: array<u32, 3104>,
}

// Small dynamic state.
struct Ctl {
    zone_state: array<ZoneState, 96>,
    node_state: array<NodeState, 32>,
    plan_hdr: PlanHeader,
}

// The plan's per-tick outputs.
struct Plan {
    cells: array<PlanCell, 3168>,
    steals: array<StealCell, 576>,
}

fn cell_index(zone: u32, order: u32, mt: u32) -> u32 {
    return (zone * NR_PAGE_ORDERS + order) * NR_PCP + mt;
}

fn steal_index(zone: u32, order: u32, mt: u32) -> u32 {
    return (zone * 2u + (order - 9u)) * NR_PCP + mt;
}

// Frame state word (src/model/frame.rs).
fn fr_kind(s: u32) -> u32 { return s & 0xfu; }
fn fr_order(s: u32) -> u32 { return (s >> 4u) & 0xfu; }
fn fr_mt(s: u32) -> u32 { return (s >> 8u) & 0x7u; }
fn fr_class(s: u32) -> u32 { return (s >> 11u) & 0xfu; }
fn fr_flags(s: u32) -> u32 { return s >> 16u; }
fn make_free(order: u32) -> u32 { return KIND_FREE | (order << 4u); }
fn make_alloc(order: u32, mt: u32, cls: u32) -> u32 {
    return KIND_ALLOC | (order << 4u) | (mt << 8u) | (cls << 11u);
}
fn migratetype_is_mergeable(mt: u32) -> bool { return mt < NR_PCP; }

// Which chunk a workgroup works on (2D dispatch for large machines).
fn chunk_of(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wg.y * nwg.x + wg.x;
}
