// Structs shared by every shader: twins of src/engine/types.rs (the
// constants come from the generated header). tests/shaders.rs checks every
// size and offset against Rust.

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
    free_area: array<array<u32, MIGRATE_TYPES>, NR_PAGE_ORDERS>,
    nr_free: u32,
    class_pages: array<u32, NR_CLASSES>,
    kswapd_p16: u32,
    direct_p16: u32,
    direct_target: u32,
    huge_frames: u32,
    huge_inuse_frames: u32,
    vmemmap_boot_frames: u32,
    vmemmap_runtime_frames: u32,
}

struct ZoneStats {
    v: array<u32, NR_ZONE_STATS>,
}

struct NodeDesc {
    il_weight: u32,
    first_zone: u32,
    nr_zones: u32,
    _pad: u32,
}

struct NodeState {
    kswapd_active: u32,
    kswapd_failures: u32,
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
    fork_jiffies: u32,
    pid: u32,
    rate_fp: array<u32, NR_CLASSES>,
    free_thresh: array<u32, NR_CLASSES>,
    threads: u32,
    hot_private: u32,
    hot_touch: u32,
    cold_touch: u32,
}

struct TaskState {
    il_prev: u32,
    il_weight: u32,
    pending: array<u32, NR_CLASSES>,
    _pad: array<u32, 4>,
}

struct PlanCell {
    split: u32,
    alloc: u32,
    seg_start: u32,
    seg_count: u32,
}

struct StealCell {
    to: array<u32, NR_PCP>,
    stealable: u32,
}

struct Grant {
    cell: u32,
    count: u32,
    owner: u32,
    class_mt: u32,
    start: u32,
    flags: u32,
    hot16: u32,
    _pad: u32,
}

struct PlanHeader {
    nr_grants: u32,
    overflow: u32,
    _pad0: u32,
    _pad1: u32,
}

// Static configuration: written by the host at boot and on knob writes.
struct Topo {
    zones: array<ZoneDesc, MAX_ZONES>,
    nodes: array<NodeDesc, MAX_NODES>,
    zonelists: array<u32, MAX_NODES * ZONELIST_STRIDE>,
}

// Small dynamic state.
struct Ctl {
    zone_state: array<ZoneState, MAX_ZONES>,
    node_state: array<NodeState, MAX_NODES>,
    plan_hdr: PlanHeader,
}

// The plan's per-tick outputs.
struct Plan {
    cells: array<PlanCell, MAX_ZONES * NR_PAGE_ORDERS * NR_PCP>,
    steals: array<StealCell, MAX_ZONES * 2u * NR_PCP>,
    // NUMA balancing's migration list and per-chunk counts (MIG_*).
    mig: array<u32>,
}

fn cell_index(zone: u32, order: u32, mt: u32) -> u32 {
    return (zone * NR_PAGE_ORDERS + order) * NR_PCP + mt;
}

fn steal_index(zone: u32, order: u32, mt: u32) -> u32 {
    return (zone * 2u + (order - 9u)) * NR_PCP + mt;
}

// Which chunk a workgroup works on (2D dispatch for large machines).
fn chunk_of(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wg.y * nwg.x + wg.x;
}

// The op and view shaders' parameters (types.rs ReqParams, RecountParams,
// HeadsParams).
struct ReqParams {
    nr_requests: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

struct Request {
    op: u32,
    index: u32,
    a: u32,
    b: u32,
}

struct RecountParams {
    nr_listed: u32,
    subtract: u32,
    nr_zones: u32,
    _pad0: u32,
}

struct HeadsParams {
    first_chunk: u32,
    nr_chunks: u32,
    _pad0: u32,
    _pad1: u32,
}

// Saturation values and the 16.16 fixed-point fraction (Rust writes
// u32::MAX and 0xffff; they share values with generated constants by
// coincidence, not meaning).
const U32_MAX: u32 = 0xffffffffu; // literal: u32::MAX, not ZONE_NONE
const FP16_MASK: u32 = 0xffffu; // literal: the 16.16 fraction, not MAX_DISPATCH_X
