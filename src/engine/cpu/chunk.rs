//! Per-chunk views and the loop that runs a phase over every chunk of a
//! range, in parallel with rayon on native builds and sequentially where
//! threads are not available (wasm32). Chunks are the CPU twin of GPU
//! workgroups: no buddy operation crosses one, so they never conflict.

use crate::engine::state::SimBuffers;
use crate::engine::types::{CHUNK_COUNT_WORDS, NR_PCP};
use crate::model::frame::{CHUNK_FRAMES, PAGEBLOCKS_PER_CHUNK};

/// The mutable slices of one chunk.
pub struct ChunkMut<'a> {
    pub chunk: usize,
    pub frames: &'a mut [u32],
    pub owners: &'a mut [u32],
    pub pageblocks: &'a mut [u32],
    pub counts: &'a mut [u32],
    pub prefix: &'a mut [u32],
    pub dirty: &'a mut u32,
}

/// Read-only buffers every phase may consult, split off the mutable ones.
pub struct Shared<'a> {
    pub params: &'a crate::engine::types::TickParams,
    pub chunk_zone: &'a [u32],
    pub zones: &'a [crate::engine::types::ZoneDesc],
    pub zone_state: &'a [crate::engine::types::ZoneState],
    pub tasks: &'a [crate::engine::types::TaskDesc],
    pub cells: &'a [crate::engine::types::PlanCell],
    pub steals: &'a [crate::engine::types::StealCell],
    pub segs: &'a [crate::engine::types::Grant],
}

/// Runs `f` on each chunk in `chunks`, folding per-chunk results with
/// `add` (which must be commutative and associative, so the result does not
/// depend on scheduling).
pub fn fold_chunks<A, F, R>(b: &mut SimBuffers, chunks: std::ops::Range<usize>, f: F, add: R) -> A
where
    A: Default + Send,
    F: Fn(&Shared, ChunkMut) -> A + Sync + Send,
    R: Fn(A, A) -> A + Sync + Send,
{
    let cf = CHUNK_FRAMES as usize;
    let pb = PAGEBLOCKS_PER_CHUNK as usize;
    let shared = Shared {
        params: &b.params,
        chunk_zone: &b.chunk_zone,
        zones: &b.zones,
        zone_state: &b.zone_state,
        tasks: &b.tasks,
        cells: &b.cells,
        steals: &b.steals,
        segs: &b.segs,
    };
    let frames = &mut b.frames[chunks.start * cf..chunks.end * cf];
    let owners = &mut b.owners[chunks.start * cf..chunks.end * cf];
    let pageblocks = &mut b.pageblocks[chunks.start * pb..chunks.end * pb];
    let counts =
        &mut b.chunk_counts[chunks.start * CHUNK_COUNT_WORDS..chunks.end * CHUNK_COUNT_WORDS];
    let prefix = &mut b.chunk_prefix[chunks.start * NR_PCP..chunks.end * NR_PCP];
    let dirty = &mut b.chunk_dirty[chunks.clone()];
    let base = chunks.start;

    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        frames
            .par_chunks_mut(cf)
            .zip(owners.par_chunks_mut(cf))
            .zip(pageblocks.par_chunks_mut(pb))
            .zip(counts.par_chunks_mut(CHUNK_COUNT_WORDS))
            .zip(prefix.par_chunks_mut(NR_PCP))
            .zip(dirty.par_iter_mut())
            .enumerate()
            .with_min_len(16)
            .fold(A::default, |acc, (i, (((((fr, ow), pbs), cn), px), d))| {
                let r = f(
                    &shared,
                    ChunkMut {
                        chunk: base + i,
                        frames: fr,
                        owners: ow,
                        pageblocks: pbs,
                        counts: cn,
                        prefix: px,
                        dirty: d,
                    },
                );
                add(acc, r)
            })
            .reduce(A::default, &add)
    }
    #[cfg(not(feature = "parallel"))]
    {
        let mut acc = A::default();
        for (i, (((((fr, ow), pbs), cn), px), d)) in frames
            .chunks_mut(cf)
            .zip(owners.chunks_mut(cf))
            .zip(pageblocks.chunks_mut(pb))
            .zip(counts.chunks_mut(CHUNK_COUNT_WORDS))
            .zip(prefix.chunks_mut(NR_PCP))
            .zip(dirty.iter_mut())
            .enumerate()
        {
            let r = f(
                &shared,
                ChunkMut {
                    chunk: base + i,
                    frames: fr,
                    owners: ow,
                    pageblocks: pbs,
                    counts: cn,
                    prefix: px,
                    dirty: d,
                },
            );
            acc = add(acc, r);
        }
        acc
    }
}
