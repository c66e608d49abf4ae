//! The simulation state as buffers: exactly what a GPU backend holds in
//! storage buffers, so both backends can be compared byte for byte.

use super::types::*;
use crate::model::frame::*;
use crate::model::workload::NR_CLASSES;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimBuffers {
    pub params: TickParams,
    /// One state word per frame (see `model::frame`).
    pub frames: Vec<u32>,
    /// One owner word per frame.
    pub owners: Vec<u32>,
    /// Migratetype per pageblock.
    pub pageblocks: Vec<u32>,
    /// Zone index of each chunk (max-order block).
    pub chunk_zone: Vec<u32>,
    /// Free blocks per chunk, [order][pcp mt] (scratch, rebuilt each tick).
    pub chunk_counts: Vec<u32>,
    /// Exclusive ranks per chunk within its zone for the current order's
    /// lists, unreported then reported [2][pcp mt] (scratch).
    pub chunk_prefix: Vec<u32>,
    /// 1 when the free phase freed something in the chunk (scratch).
    pub chunk_dirty: Vec<u32>,
    /// Where `alloc_split` has work (see `types::DISPATCH_*`; scratch).
    pub dispatch: Vec<u32>,
    pub zones: Vec<ZoneDesc>,
    pub zone_state: Vec<ZoneState>,
    pub zone_stats: Vec<ZoneStats>,
    pub nodes: Vec<NodeDesc>,
    pub node_state: Vec<NodeState>,
    pub zonelists: Vec<u32>,
    pub tasks: Vec<TaskDesc>,
    pub task_state: Vec<TaskState>,
    pub cells: Vec<PlanCell>,
    pub steals: Vec<StealCell>,
    pub grants: Vec<Grant>,
    pub segs: Vec<Grant>,
    pub plan_hdr: PlanHeader,
    /// Cumulative per-zone counters since boot, as (lo, hi) word pairs:
    /// [zone][stat][2].
    pub totals: Vec<u32>,
    /// zone->lock model configuration (`types::LC_*`).
    pub lock_cfg: Vec<u32>,
    /// Per task (and kswapd) and zone: frees of the tick, the pcp count,
    /// `lock_stat`'s scratch (`types::TZ_*`).
    pub task_zone: Vec<u32>,
    /// Per zone, zone->lock statistics (`types::LS_*`).
    pub lock_stats: Vec<u32>,
    /// Free page reporting configuration (`types::RC_*`).
    pub report_cfg: Vec<u32>,
    /// The reporting device's state and per-zone reporting counts
    /// (`types::RS_*`, `RZ_*`).
    pub report_state: Vec<u32>,
    /// NUMA balancing's configuration (`types::NC_*`).
    pub numa_cfg: Vec<u32>,
    /// NUMA balancing's small state: room per node and the events
    /// (`types::NSG_*`, `NE_*`).
    pub numa_state: Vec<u32>,
    /// Per task: the scan state and fault statistics (`types::NT_*`,
    /// `NTN_*`, `numa_task_words(nr_nodes)` words each).
    pub numa_tasks: Vec<u32>,
    /// The plan buffer's migration list and per-chunk counts
    /// (`types::MIG_*`; scratch).
    pub mig: Vec<u32>,
}

impl SimBuffers {
    pub fn nr_frames(&self) -> usize {
        self.frames.len()
    }
    pub fn nr_chunks(&self) -> usize {
        self.chunk_zone.len()
    }

    /// Bytes of simulation state per simulated frame: every buffer of the
    /// table (`engine::buffers`) as the host holds it.
    pub fn bytes_per_frame(&self) -> f64 {
        let b: u64 = super::buffers::BUFFERS
            .iter()
            .map(|r| (r.host_bytes)(self))
            .sum();
        b as f64 / self.frames.len().max(1) as f64
    }

    /// A 64-bit digest of everything that is simulation state (not scratch,
    /// not configuration): the rows of the buffer table marked for it, in
    /// table order (frames, owners, pageblocks, zone and node state, task
    /// state, totals). Two backends that agree byte for byte give the same
    /// digest.
    pub fn digest(&self) -> u64 {
        let mut h = Digest::new();
        for r in super::buffers::BUFFERS.iter() {
            if let Some(d) = r.digest {
                d(self, &mut h);
            }
        }
        h.finish()
    }

    /// A copy of the configuration and the small state, without the
    /// per-frame and per-chunk arrays (cheap at any machine size).
    pub fn small_clone(&self) -> SimBuffers {
        SimBuffers {
            params: self.params,
            frames: Vec::new(),
            owners: Vec::new(),
            pageblocks: self.pageblocks.clone(),
            chunk_zone: self.chunk_zone.clone(),
            chunk_counts: Vec::new(),
            chunk_prefix: Vec::new(),
            chunk_dirty: Vec::new(),
            dispatch: self.dispatch.clone(),
            zones: self.zones.clone(),
            zone_state: self.zone_state.clone(),
            zone_stats: self.zone_stats.clone(),
            nodes: self.nodes.clone(),
            node_state: self.node_state.clone(),
            zonelists: self.zonelists.clone(),
            tasks: self.tasks.clone(),
            task_state: self.task_state.clone(),
            cells: Vec::new(),
            steals: Vec::new(),
            grants: Vec::new(),
            segs: Vec::new(),
            plan_hdr: self.plan_hdr,
            totals: self.totals.clone(),
            lock_cfg: self.lock_cfg.clone(),
            task_zone: Vec::new(),
            lock_stats: self.lock_stats.clone(),
            report_cfg: self.report_cfg.clone(),
            report_state: self.report_state.clone(),
            numa_cfg: self.numa_cfg.clone(),
            numa_state: self.numa_state.clone(),
            numa_tasks: Vec::new(),
            mig: Vec::new(),
        }
    }

    /// The packed `topo` buffer's parts, as the shaders that bind it see them.
    pub fn topo(&self) -> TopoRef<'_> {
        TopoRef {
            zones: &self.zones,
            nodes: &self.nodes,
            zonelists: &self.zonelists,
        }
    }
    /// The packed `ctl` buffer's parts.
    pub fn ctl(&self) -> CtlRef<'_> {
        CtlRef {
            zone_state: &self.zone_state,
            node_state: &self.node_state,
            plan_hdr: &self.plan_hdr,
        }
    }
    /// The packed `plan` buffer's parts.
    pub fn plan(&self) -> PlanRef<'_> {
        PlanRef {
            cells: &self.cells,
            steals: &self.steals,
            mig: &self.mig,
        }
    }

    /// The cumulative counters of zone `z`.
    /// The cumulative and newest-tick counters of every zone, as
    /// `Backend::read_stats` returns them.
    pub fn read_counters(&self, totals: &mut [[u64; NR_ZONE_STATS]], last: &mut [ZoneStats]) {
        for (z, t) in totals.iter_mut().enumerate() {
            *t = self.zone_totals(z);
        }
        last.copy_from_slice(&self.zone_stats);
    }

    pub fn zone_totals(&self, z: usize) -> [u64; NR_ZONE_STATS] {
        std::array::from_fn(|i| {
            let w = (z * NR_ZONE_STATS + i) * 2;
            self.totals[w] as u64 | (self.totals[w + 1] as u64) << 32
        })
    }

    /// Sum of allocated pages per class over all zones.
    pub fn class_pages_total(&self) -> [u64; NR_CLASSES] {
        let mut out = [0u64; NR_CLASSES];
        for z in &self.zone_state {
            for (o, c) in out.iter_mut().zip(z.class_pages.iter()) {
                *o += *c as u64;
            }
        }
        out
    }
}

/// A fast, stable 64-bit hash over u32 words (not cryptographic).
pub struct Digest {
    a: u64,
    b: u64,
    n: u64,
}

impl Default for Digest {
    fn default() -> Self {
        Self::new()
    }
}

impl Digest {
    pub fn new() -> Self {
        Digest {
            a: 0x243f_6a88_85a3_08d3,
            b: 0x1319_8a2e_0370_7344,
            n: 0,
        }
    }
    pub fn words(&mut self, w: &[u32]) {
        // Two independent lanes over pairs of words, then a length mix.
        let mut a = self.a;
        let mut b = self.b;
        let mut it = w.chunks_exact(2);
        for p in &mut it {
            let x = (p[0] as u64) | ((p[1] as u64) << 32);
            a = (a ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
            b = (b.wrapping_add(x))
                .wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
                .rotate_left(31);
        }
        for &x in it.remainder() {
            a = (a ^ x as u64)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(29);
        }
        self.a = a;
        self.b = b;
        self.n = self.n.wrapping_add(w.len() as u64);
    }
    pub fn finish(&self) -> u64 {
        let mut x = self.a ^ self.b.rotate_left(17) ^ self.n.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
}

/// The packed `topo` buffer (zones, nodes, zonelists) as a CPU twin
/// binds it: read-only, like every shader that binds it.
#[derive(Clone, Copy)]
pub struct TopoRef<'a> {
    pub zones: &'a [ZoneDesc],
    pub nodes: &'a [NodeDesc],
    pub zonelists: &'a [u32],
}

/// The packed `ctl` buffer (zone state, node state, the plan's header),
/// read-only.
#[derive(Clone, Copy)]
pub struct CtlRef<'a> {
    pub zone_state: &'a [ZoneState],
    pub node_state: &'a [NodeState],
    pub plan_hdr: &'a PlanHeader,
}

/// The packed `ctl` buffer, writable.
pub struct CtlMut<'a> {
    pub zone_state: &'a mut [ZoneState],
    pub node_state: &'a mut [NodeState],
    pub plan_hdr: &'a mut PlanHeader,
}

/// The packed `plan` buffer (cells, steals), read-only.
#[derive(Clone, Copy)]
pub struct PlanRef<'a> {
    pub cells: &'a [PlanCell],
    pub steals: &'a [StealCell],
    /// The migration list and per-chunk counts (`types::MIG_*`).
    pub mig: &'a [u32],
}

/// The packed `plan` buffer, writable.
pub struct PlanMut<'a> {
    pub cells: &'a mut [PlanCell],
    pub steals: &'a mut [StealCell],
    pub mig: &'a mut [u32],
}

/// The free-list migratetype of a free block: its pageblock's type.
#[inline(always)]
pub fn block_mt(pageblocks: &[u32], pfn: usize) -> u32 {
    pageblocks[pfn >> PAGEBLOCK_ORDER]
}
