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
    /// Exclusive prefix per chunk within its zone for the current order's
    /// counts, [pcp mt] (scratch).
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
}

impl SimBuffers {
    pub fn nr_frames(&self) -> usize {
        self.frames.len()
    }
    pub fn nr_chunks(&self) -> usize {
        self.chunk_zone.len()
    }

    /// Bytes of simulation state per simulated frame (all buffers).
    pub fn bytes_per_frame(&self) -> f64 {
        let b = self.frames.len() * 4
            + self.owners.len() * 4
            + self.pageblocks.len() * 4
            + self.chunk_zone.len() * 4
            + self.chunk_counts.len() * 4
            + self.chunk_prefix.len() * 4
            + self.chunk_dirty.len() * 4
            + std::mem::size_of_val(self.zones.as_slice())
            + std::mem::size_of_val(self.zone_state.as_slice())
            + std::mem::size_of_val(self.zone_stats.as_slice())
            + std::mem::size_of_val(self.tasks.as_slice())
            + std::mem::size_of_val(self.task_state.as_slice())
            + std::mem::size_of_val(self.cells.as_slice())
            + std::mem::size_of_val(self.steals.as_slice())
            + std::mem::size_of_val(self.grants.as_slice())
            + std::mem::size_of_val(self.segs.as_slice());
        b as f64 / self.frames.len().max(1) as f64
    }

    /// A 64-bit digest of everything that is simulation state (not scratch):
    /// frames, owners, pageblocks, zone state and task state. Two backends
    /// that agree byte for byte give the same digest.
    pub fn digest(&self) -> u64 {
        let mut h = Digest::new();
        h.words(&self.frames);
        h.words(&self.owners);
        h.words(&self.pageblocks);
        h.words(bytemuck::cast_slice(&self.zone_state));
        h.words(bytemuck::cast_slice(&self.node_state));
        h.words(bytemuck::cast_slice(&self.task_state));
        h.words(&self.totals);
        h.finish()
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

/// The free-list migratetype of a free block: its pageblock's type.
#[inline(always)]
pub fn block_mt(pageblocks: &[u32], pfn: usize) -> u32 {
    pageblocks[pfn >> PAGEBLOCK_ORDER]
}
