//! The buddy allocator as a control path sees it between ticks: a
//! transaction over the frames a `FrameSource` reads (the host's arrays on
//! the CPU reference; chunk summaries and ranged reads on the GPU). It
//! allocates and frees blocks the way `__rmqueue_smallest` and
//! `__free_one_page` do (smallest order first, then the lowest pfn, so the
//! choice is deterministic; frees merge at once), and collects every write
//! as a request for the backend's request ring (`Backend::enqueue`).

use crate::engine::requests::Request;
use crate::engine::state::SimBuffers;
use crate::engine::types::*;
use crate::engine::FrameSource;
use crate::model::frame::*;
use crate::model::topology::ZoneType;
use std::collections::{BTreeMap, BTreeSet};

/// Which watermark an allocation must leave above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wmark {
    /// `ALLOC_WMARK_MIN`: no reclaim, no retry (`__GFP_NORETRY` after a
    /// failed fast path, `__GFP_THISNODE` pool allocations).
    Min,
}

pub struct Txn<'a> {
    src: &'a dyn FrameSource,
    frames: BTreeMap<u32, (u32, u32)>,
    pageblocks: BTreeMap<u32, u32>,
    totals: BTreeMap<u32, u64>,
    /// Free heads per zone, order and list (the head's pageblock type),
    /// built on first use of a zone.
    free: Vec<Option<Vec<[BTreeSet<u32>; MIGRATE_TYPES]>>>,
    /// Change of NR_FREE_PAGES per zone.
    free_delta: Vec<i64>,
}

impl<'a> Txn<'a> {
    pub fn new(src: &'a dyn FrameSource) -> Txn<'a> {
        let b = src.small();
        Txn {
            src,
            frames: BTreeMap::new(),
            pageblocks: BTreeMap::new(),
            totals: BTreeMap::new(),
            free: vec![None; b.zones.len()],
            free_delta: vec![0; b.zones.len()],
        }
    }

    /// The small state the transaction reads (zones, zone state, totals,
    /// pageblocks, the chunk-to-zone map), as it was when it began.
    pub fn b(&self) -> &SimBuffers {
        self.src.small()
    }

    /// The frame source (its errors, its reads).
    pub fn source(&self) -> &dyn FrameSource {
        self.src
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty() && self.pageblocks.is_empty() && self.totals.is_empty()
    }

    /// The cumulative counters this transaction changes, as
    /// (zone * NR_ZONE_STATS + stat, new value).
    pub fn totals_after(&self) -> Vec<(usize, u64)> {
        self.totals
            .iter()
            .map(|(&i, &add)| {
                let w = i as usize * 2;
                let t = &self.b().totals;
                let old = t[w] as u64 | (t[w + 1] as u64) << 32;
                (i as usize, old.wrapping_add(add))
            })
            .collect()
    }

    /// The writes as requests: frames, pageblocks, then counter words
    /// (each once, in index order).
    pub fn requests(&self) -> Vec<Request> {
        let mut v: Vec<Request> = self
            .frames
            .iter()
            .map(|(&i, &(s, o))| Request::set_frame(i, s, o))
            .collect();
        v.extend(
            self.pageblocks
                .iter()
                .map(|(&i, &m)| Request::set_pageblock(i, m)),
        );
        for (i, new) in self.totals_after() {
            // A 64-bit add as two word writes of the new value.
            let w = (i * 2) as u32;
            v.push(Request::set_total(w, new as u32));
            v.push(Request::set_total(w + 1, (new >> 32) as u32));
        }
        v
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> usize {
        self.frames.len()
    }

    pub fn state(&self, pfn: u32) -> u32 {
        match self.frames.get(&pfn) {
            Some(x) => x.0,
            None => self.src.state(pfn),
        }
    }
    pub fn owner(&self, pfn: u32) -> u32 {
        match self.frames.get(&pfn) {
            Some(x) => x.1,
            None => self.src.owner(pfn),
        }
    }
    /// Whether a free block of order `k` heads at `pfn` now.
    pub fn is_free(&self, pfn: u32, k: u32) -> bool {
        match self.frames.get(&pfn) {
            Some(x) => is_free_block(x.0, k),
            None => self.src.is_free_block(pfn, k),
        }
    }
    pub fn set(&mut self, pfn: u32, state: u32, owner: u32) {
        self.frames.insert(pfn, (state, owner));
    }
    pub fn pageblock(&self, pb: u32) -> u32 {
        self.pageblocks
            .get(&pb)
            .copied()
            .unwrap_or_else(|| self.b().pageblocks[pb as usize])
    }
    /// Changes a pageblock's type; free blocks headed in it move lists.
    pub fn set_pageblock(&mut self, pb: u32, mt: u32) {
        let old = self.pageblock(pb);
        self.pageblocks.insert(pb, mt);
        if old == mt {
            return;
        }
        let start = pb << PAGEBLOCK_ORDER;
        let z = self.zone_of(start);
        if self.free[z].is_none() || self.head_of(start) != start {
            return;
        }
        let mut p = start;
        while p < start + PAGEBLOCK_FRAMES as u32 {
            let s = self.state(p);
            if kind(s) == KIND_FREE {
                let sets = self.free[z].as_mut().expect("checked");
                if sets[order(s) as usize][old as usize].remove(&p) {
                    sets[order(s) as usize][mt as usize].insert(p);
                }
            }
            p += 1 << order(s);
        }
    }

    fn list_of(&self, p: u32) -> usize {
        self.pageblock(p >> PAGEBLOCK_ORDER) as usize
    }
    /// Adds to a zone's cumulative counter (`ZS_*`).
    pub fn add_total(&mut self, zone: usize, stat: usize, n: u64) {
        *self
            .totals
            .entry((zone * NR_ZONE_STATS + stat) as u32)
            .or_default() += n;
    }

    pub fn zone_of(&self, pfn: u32) -> usize {
        self.b().chunk_zone[(pfn as u64 / CHUNK_FRAMES) as usize] as usize
    }
    pub fn nr_free(&self, z: usize) -> i64 {
        self.b().zone_state[z].nr_free as i64 + self.free_delta[z]
    }

    /// The head of the block holding `pfn`, through the transaction.
    pub fn head_of(&self, pfn: u32) -> u32 {
        head_of(|q| self.state(q), pfn)
    }

    fn zone_sets(&mut self, z: usize) -> &mut Vec<[BTreeSet<u32>; MIGRATE_TYPES]> {
        if self.free[z].is_none() {
            let zd = self.b().zones[z];
            let mut sets: Vec<[BTreeSet<u32>; MIGRATE_TYPES]> =
                (0..NR_PAGE_ORDERS).map(|_| Default::default()).collect();
            let (start, end) = (zd.start_pfn, zd.start_pfn + zd.nr_frames);
            // The source's free blocks, then what this transaction wrote
            // in the zone (a written head is what it says now).
            let written: BTreeMap<u32, u32> = self
                .frames
                .range(start..end)
                .map(|(&p, &(s, _))| (p, s))
                .collect();
            for (p, o) in self.src.free_blocks(z) {
                if !written.contains_key(&p) {
                    sets[o as usize][self.list_of(p)].insert(p);
                }
            }
            for (p, s) in written {
                if kind(s) == KIND_FREE {
                    sets[order(s) as usize][self.list_of(p)].insert(p);
                }
            }
            self.free[z] = Some(sets);
        }
        self.free[z].as_mut().expect("built above")
    }
    fn sets_remove(&mut self, z: usize, k: u32, p: u32) {
        let l = self.list_of(p);
        self.zone_sets(z)[k as usize][l].remove(&p);
    }
    fn sets_insert(&mut self, z: usize, k: u32, p: u32) {
        let l = self.list_of(p);
        self.zone_sets(z)[k as usize][l].insert(p);
    }

    /// Allocates a block of order `o` in zone `z` for migratetype `mt`,
    /// leaving the zone above `wmark`: the smallest free block of the
    /// type's own list, else of a fallback list (taken without claiming
    /// the pageblock), lowest pfn first; isolated pageblocks are skipped.
    /// The caller writes the returned head's state.
    pub fn alloc_in_zone(
        &mut self,
        z: usize,
        o: u32,
        mt: u32,
        wmark: Wmark,
        highest: u32,
    ) -> Option<u32> {
        let zd = self.b().zones[z];
        let mark = match wmark {
            Wmark::Min => zd.wmark_min,
        } as i64
            + zd.lowmem_reserve[highest as usize] as i64;
        if self.nr_free(z) - (1i64 << o) < mark {
            return None;
        }
        let mut lists = vec![mt];
        if (mt as usize) < FALLBACKS.len() {
            lists.extend(FALLBACKS[mt as usize]);
        }
        let sets = self.zone_sets(z);
        let mut found = None;
        'search: for &list in &lists {
            for k in o..=MAX_PAGE_ORDER {
                if let Some(&p) = sets[k as usize][list as usize].first() {
                    found = Some((p, k));
                    break 'search;
                }
            }
        }
        let (p, k) = found?;
        self.sets_remove(z, k, p);
        // expand(): the upper halves go back on the lists.
        let mut k = k;
        while k > o {
            k -= 1;
            let half = p + (1 << k);
            self.set(half, make_free(k), OWNER_NONE);
            self.sets_insert(z, k, half);
        }
        self.set(p, make_free(o), OWNER_NONE);
        self.free_delta[z] -= 1 << o;
        Some(p)
    }

    /// Allocates on node `node` only (`__GFP_THISNODE`), zones from the
    /// highest usable type down.
    pub fn alloc_on_node(&mut self, node: u32, o: u32, mt: u32, highest: ZoneType) -> Option<u32> {
        let zones = &self.b().zones;
        let mut zs: Vec<usize> = (0..zones.len())
            .filter(|&z| zones[z].node == node && zones[z].zone_type <= highest as u32)
            .collect();
        zs.sort_by_key(|&z| std::cmp::Reverse(zones[z].zone_type));
        for z in zs {
            if let Some(p) = self.alloc_in_zone(z, o, mt, Wmark::Min, highest as u32) {
                return Some(p);
            }
        }
        None
    }

    /// Frees the block `[pfn, pfn + 2^o)` (its tails must be zero) and
    /// merges it with free buddies as `__free_one_page` does.
    pub fn free_block(&mut self, pfn: u32, o: u32) {
        let z = self.zone_of(pfn);
        self.free_delta[z] += 1 << o;
        let chunk_base = pfn & !((CHUNK_FRAMES as u32) - 1);
        let (mut p, mut k) = (pfn, o);
        while k < MAX_PAGE_ORDER {
            let buddy = p ^ (1 << k);
            if buddy < chunk_base || !self.is_free(buddy, k) {
                break;
            }
            let (lo, hi) = (p.min(buddy), p.max(buddy));
            if k >= PAGEBLOCK_ORDER {
                let (ma, mb) = (
                    self.pageblock(lo >> PAGEBLOCK_ORDER),
                    self.pageblock(hi >> PAGEBLOCK_ORDER),
                );
                if !buddies_merge(ma, mb) {
                    break;
                }
                if ma != mb {
                    self.set_pageblock(hi >> PAGEBLOCK_ORDER, ma);
                }
            }
            self.sets_remove(z, k, buddy);
            self.set(hi, 0, 0);
            p = lo;
            k += 1;
        }
        self.set(p, make_free(k), OWNER_NONE);
        self.sets_insert(z, k, p);
    }

    /// Puts `[pfn, pfn + 2^order(state))` on its pageblock's free list as
    /// the free block `state` without merging (a drained report: the
    /// `merge` phase merges it after the path's writes land).
    pub fn put_free(&mut self, pfn: u32, state: u32) {
        debug_assert_eq!(kind(state), KIND_FREE);
        let z = self.zone_of(pfn);
        let o = order(state);
        self.free_delta[z] += 1 << o;
        self.set(pfn, state, OWNER_NONE);
        self.sets_insert(z, o, pfn);
    }

    /// Takes the free block headed at `p` off its list (the caller then
    /// writes over it); returns its order.
    pub fn take_free(&mut self, p: u32) -> u32 {
        let s = self.state(p);
        debug_assert_eq!(kind(s), KIND_FREE);
        let o = order(s);
        let z = self.zone_of(p);
        self.sets_remove(z, o, p);
        self.free_delta[z] -= 1 << o;
        o
    }

    /// Splits the block holding `pfn` (any kind but free) until `pfn`
    /// heads an order-0 block; the other parts keep the block's state
    /// with the order lowered, and owners from `owner_at(head, part)`.
    pub fn carve(&mut self, pfn: u32, owner_at: &dyn Fn(u32, u32) -> u32) {
        let h = self.head_of(pfn);
        let s = self.state(h);
        let mut o = order(s);
        let own = self.owner(h);
        let mut base = h;
        while o > 0 {
            o -= 1;
            let half = base + (1 << o);
            let (keep, other) = if pfn >= half {
                (half, base)
            } else {
                (base, half)
            };
            self.set(
                other,
                (s & !(0xf << 4)) | (o << 4),
                owner_at(own, other - h),
            );
            base = keep;
        }
        self.set(pfn, s & !(0xf << 4), owner_at(own, pfn - h));
    }
}
