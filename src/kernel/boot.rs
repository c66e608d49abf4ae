//! Building the buffers of a freshly booted machine from a scenario.

use crate::engine::state::SimBuffers;
use crate::engine::types::*;
use crate::model::frame::*;
use crate::model::hash::split_seed;
use crate::model::scenario::{Scenario, MAX_TASKS};

pub fn boot_buffers(s: &Scenario, seed: u64) -> SimBuffers {
    let t = &s.topology;
    let nr_frames = t.total_frames() as usize;
    let nr_chunks = t.nr_chunks() as usize;
    let mut b = SimBuffers {
        params: TickParams {
            seed: split_seed(seed),
            tick: 0,
            nr_chunks: nr_chunks as u32,
            nr_zones: t.zones.len() as u32,
            nr_nodes: t.nodes.len() as u32,
            nr_tasks: 0,
            order: 0,
        },
        frames: vec![0; nr_frames],
        owners: vec![0; nr_frames],
        // memmap_init_range() marks every pageblock movable at boot.
        pageblocks: vec![MIGRATE_MOVABLE; nr_frames >> PAGEBLOCK_ORDER],
        chunk_zone: vec![0; nr_chunks],
        chunk_counts: vec![0; nr_chunks * CHUNK_COUNT_WORDS],
        chunk_prefix: vec![0; nr_chunks * CHUNK_PREFIX_WORDS],
        chunk_dirty: vec![0; nr_chunks],
        dispatch: vec![0; DISPATCH_WORDS],
        zones: Vec::new(),
        zone_state: vec![ZoneState::default(); t.zones.len()],
        zone_stats: vec![ZoneStats::default(); t.zones.len()],
        nodes: Vec::new(),
        node_state: vec![NodeState::default(); t.nodes.len()],
        zonelists: vec![ZONE_NONE; t.nodes.len() * ZONELIST_STRIDE],
        tasks: Vec::new(),
        task_state: Vec::new(),
        cells: vec![PlanCell::default(); t.zones.len() * NR_PAGE_ORDERS * NR_PCP],
        steals: vec![StealCell::default(); t.zones.len() * 2 * NR_PCP],
        grants: vec![Grant::default(); MAX_GRANTS],
        segs: vec![Grant::default(); MAX_GRANTS],
        plan_hdr: PlanHeader::default(),
        totals: vec![0; t.zones.len() * NR_ZONE_STATS * 2],
        lock_cfg: vec![0; LOCK_CFG_WORDS],
        task_zone: vec![0; TZ_AGENTS * t.zones.len() * TZ_WORDS],
        lock_stats: vec![0; t.zones.len() * LS_WORDS],
        report_cfg: vec![0; REPORT_CFG_WORDS],
        report_state: vec![0; RS_DEV_WORDS + t.zones.len() * RZ_WORDS],
        numa_cfg: vec![0; NC_THREADS + MAX_TASKS * MAX_THREADS],
        numa_state: vec![0; NUMA_STATE_WORDS],
        numa_tasks: vec![0; MAX_TASKS * numa_task_words(t.nodes.len())],
        mig: vec![0; MIG_CHUNKS + 2 * nr_chunks],
    };
    for (zi, z) in t.zones.iter().enumerate() {
        let c0 = z.start_chunk() as usize;
        let nc = z.nr_chunks() as usize;
        let reserved_chunks = (z.reserved_frames / CHUNK_FRAMES) as usize;
        for c in c0..c0 + nc {
            b.chunk_zone[c] = zi as u32;
            // Boot reservations sit at the top of the zone.
            b.frames[c * CHUNK_FRAMES as usize] = if c >= c0 + nc - reserved_chunks {
                make_reserved(MAX_PAGE_ORDER)
            } else {
                make_free(MAX_PAGE_ORDER)
            };
        }
        b.zones.push(ZoneDesc {
            node: z.node,
            zone_type: z.zone_type as u32,
            start_pfn: z.start_pfn as u32,
            nr_frames: z.frames as u32,
            start_chunk: c0 as u32,
            nr_chunks: nc as u32,
            managed: z.managed() as u32,
            reserved: z.reserved_frames as u32,
            ..Default::default()
        });
    }
    // The memmap: the first frames of each node's reservation hold its
    // `struct page`s (one vmemmap page per 64 frames), owner = the global
    // vmemmap page index + 1 of the block's first frame.
    for n in &t.nodes {
        let base = t.memmap_base(n.id);
        let first_slot = n.start_pfn / 64;
        fill_blocks(
            &mut b.frames,
            &mut b.owners,
            base,
            base + n.memmap_frames(),
            &|o| make_vmemmap(o, 0),
            &|pfn| (first_slot + pfn - base + 1) as u32,
        );
        // The rest of the memmap's last chunk stays reserved.
        let end = base + n.memmap_frames();
        fill_blocks(
            &mut b.frames,
            &mut b.owners,
            end,
            end.next_multiple_of(CHUNK_FRAMES),
            &make_reserved,
            &|_| OWNER_NONE,
        );
    }
    for n in &t.nodes {
        let zs: Vec<usize> = t.node_zones(n.id).map(|(i, _)| i).collect();
        b.nodes.push(NodeDesc {
            il_weight: 1,
            first_zone: zs.first().copied().unwrap_or(0) as u32,
            nr_zones: zs.len() as u32,
            _pad: 0,
        });
        for (i, z) in t.zonelist(n.id).into_iter().enumerate() {
            b.zonelists[n.id as usize * ZONELIST_STRIDE + i] = z;
        }
    }
    // The boot state's counts, so /proc reads before the first tick, and
    // so every backend starts from the same buffers.
    for name in ["count_clear", "count"] {
        crate::engine::Phase::of(name, None)
            .expect("a tick phase")
            .run_cpu(&mut b);
    }
    b
}

/// Writes `[start, end)` as the largest aligned blocks that fit, none
/// crossing a chunk, with states from `state(order)` and owners from
/// `owner(head pfn)`.
pub fn fill_blocks(
    frames: &mut [u32],
    owners: &mut [u32],
    start: u64,
    end: u64,
    state: &dyn Fn(u32) -> u32,
    owner: &dyn Fn(u64) -> u32,
) {
    let mut p = start;
    while p < end {
        let mut o = MAX_PAGE_ORDER;
        while o > 0 && (!p.is_multiple_of(1 << o) || p + (1 << o) > end) {
            o -= 1;
        }
        frames[p as usize] = state(o);
        owners[p as usize] = owner(p);
        for t in 1..(1u64 << o) {
            frames[(p + t) as usize] = 0;
            owners[(p + t) as usize] = 0;
        }
        p += 1 << o;
    }
}
