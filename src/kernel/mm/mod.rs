//! The generic memory-management paths every subsystem builds on, each a
//! step of a kernel path over a buddy transaction:
//!
//! - `buddy`: the transaction (`Txn`): allocation and freeing as
//!   `__rmqueue_smallest` and `__free_one_page` do, pageblock types, the
//!   writes as requests for the backend's ring;
//! - `contig`: `alloc_contig_range()` for gigantic pages;
//! - `migrate`: moving an allocated block to another node;
//! - `hotplug`: memory blocks offline and online;
//! - `mempolicy`: the node order and masks of a policy.
//!
//! `Mm` is what a path holds while it runs: the transaction, the topology,
//! the path's record (every allocation goes through `alloc_pages`, which
//! records `zone->lock` and the GFP flags), the mm state that outlives a
//! path, and the change of each zone's managed pages.

pub mod buddy;
pub mod contig;
pub mod hotplug;
pub mod mempolicy;
pub mod migrate;

use crate::engine::types::*;
use crate::kernel::path::{Gfp, LockClass, Mode, Path};
use crate::model::topology::{Topology, ZoneType};
use buddy::Txn;
use std::collections::BTreeSet;

/// Memory-management state that outlives a path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MmState {
    /// Per zone, frames taken from the buddy allocator by contiguous-range
    /// allocation (1 GiB pages): `alloc_contig_range()` isolates them
    /// without counting `pgalloc`, while freeing them later counts
    /// `pgfree` for each (`free_contig_range()`). The invariant checker
    /// needs the difference this leaves between the two counters.
    pub contig_taken: Vec<u64>,
    /// Offline memory blocks.
    pub offline_blocks: BTreeSet<u32>,
}

impl MmState {
    pub fn new(t: &Topology) -> MmState {
        MmState {
            contig_taken: vec![0; t.zones.len()],
            offline_blocks: BTreeSet::new(),
        }
    }
}

/// The `vm_event_item` counters the control paths count (global, as
/// /proc/vmstat prints them; the tick's events are per-zone device
/// counters instead).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmEvents {
    /// PGMIGRATE_SUCCESS / PGMIGRATE_FAIL: base pages, as migrate_pages()
    /// counts `nr_succeeded` and `nr_failed_pages` (a 2 MiB hugetlb folio
    /// counts 512).
    pub pgmigrate_success: u64,
    pub pgmigrate_fail: u64,
    /// HTLB_BUDDY_PGALLOC / HTLB_BUDDY_PGALLOC_FAIL:
    /// alloc_buddy_hugetlb_folio() attempts, per node tried.
    pub htlb_buddy_alloc_success: u64,
    pub htlb_buddy_alloc_fail: u64,
}

impl VmEvents {
    /// Adds `o`'s counts (all of them, or the failures only, for a path
    /// the model rolled back: what failed stays counted, as in the
    /// kernel, while what succeeded was undone).
    pub fn add(&mut self, o: &VmEvents, failures_only: bool) {
        if !failures_only {
            self.pgmigrate_success += o.pgmigrate_success;
            self.htlb_buddy_alloc_success += o.htlb_buddy_alloc_success;
        }
        self.pgmigrate_fail += o.pgmigrate_fail;
        self.htlb_buddy_alloc_fail += o.htlb_buddy_alloc_fail;
    }
}

/// What a path sees of free page reporting: the device's state as of the
/// last tick, and the words of it the path changes (written with the
/// path's requests, dropped if the path fails).
#[derive(Clone, Debug, Default)]
pub struct ReportView {
    /// `report_state` (empty: no reporting device).
    pub state: Vec<u32>,
    /// Variant `page_reporting_drain_before_contig`.
    pub drain_contig: bool,
    /// The path's tick.
    pub tick: u32,
    /// Words changed, by index.
    pub words: std::collections::BTreeMap<u32, u32>,
}

impl ReportView {
    /// A word as the path left it.
    pub fn word(&self, i: usize) -> u32 {
        self.words
            .get(&(i as u32))
            .copied()
            .unwrap_or_else(|| self.state.get(i).copied().unwrap_or(0))
    }
    /// Adds to a cumulative word.
    pub fn add(&mut self, i: usize, n: u32) {
        let v = self.word(i).saturating_add(n);
        self.words.insert(i as u32, v);
    }
    pub fn set(&mut self, i: usize, v: u32) {
        self.words.insert(i as u32, v);
    }
    /// Word `w` of zone `z`'s row.
    pub fn zone_word(z: usize, w: usize) -> usize {
        RS_DEV_WORDS + z * RZ_WORDS + w
    }
}

/// A path's view of memory while it runs.
pub struct Mm<'a, 'b> {
    pub t: &'a mut Txn<'b>,
    pub topo: &'a Topology,
    pub path: &'a mut Path,
    pub st: &'a mut MmState,
    /// Change of `managed_pages` (and the opposite of reserved) per zone.
    pub managed_delta: Vec<i64>,
    /// The lock-order variants switched on (`kernel::lockdep::Variants`).
    pub variants: crate::kernel::lockdep::Variants,
    /// Free page reporting as the path finds it.
    pub report: ReportView,
    /// `numa_node_id()` of the CPU the path runs on: its task's node, or
    /// node 0 for a write from the shell (which the model runs on CPU 0).
    pub cpu_node: u32,
    /// The path's vm events (`Machine::vm_events` takes them).
    pub events: VmEvents,
}

impl<'a, 'b> Mm<'a, 'b> {
    pub fn new(
        t: &'a mut Txn<'b>,
        topo: &'a Topology,
        path: &'a mut Path,
        st: &'a mut MmState,
    ) -> Mm<'a, 'b> {
        let nz = topo.zones.len();
        Mm {
            t,
            topo,
            path,
            st,
            managed_delta: vec![0; nz],
            variants: Default::default(),
            report: Default::default(),
            cpu_node: 0,
            events: VmEvents::default(),
        }
    }

    /// Adds `n` to a `ZS_*` counter of the zone holding `pfn`.
    pub fn count(&mut self, pfn: u32, stat: usize, n: u64) {
        let z = self.t.zone_of(pfn);
        self.t.add_total(z, stat, n);
    }

    /// `__alloc_pages()` of one block of order `o` and migratetype `mt`
    /// on `node` only, from the highest zone type `highest` allows down,
    /// leaving each zone above its min watermark (the fast path without
    /// reclaim: every control-path allocation the model makes is
    /// `__GFP_THISNODE`, no-retry or fail-fast). Records the allocation,
    /// its flags and `zone->lock` in the path; counts `pgalloc`.
    #[allow(clippy::too_many_arguments)]
    pub fn alloc_pages(
        &mut self,
        site: &'static str,
        gfp: Gfp,
        node: u32,
        o: u32,
        mt: u32,
        highest: ZoneType,
    ) -> Option<u32> {
        // might_alloc(): a blocking mask may sleep before anything else.
        self.path.might_alloc(site, gfp);
        let got = {
            self.path.lock(LockClass::ZoneLock, Mode::Spin);
            let p = self.t.alloc_on_node(node, o, mt, highest);
            self.path.unlock(LockClass::ZoneLock);
            p
        };
        self.path.alloc(site, gfp, o, node, got.is_some());
        if let Some(p) = got {
            // rmqueue() -> zone_statistics(preferred_zone, zone, 1): the
            // allocation is __GFP_THISNODE on `node`, so the zone is on the
            // preferred node (numa_hit); local or other by the CPU's node.
            let local = if node == self.cpu_node {
                ZS_NUMA_LOCAL
            } else {
                ZS_NUMA_OTHER
            };
            let z = self.t.zone_of(p);
            for (stat, n) in [
                (ZS_PGALLOC, 1 << o),
                (ZS_ALLOCS, 1),
                (ZS_NUMA_HIT, 1),
                (local, 1),
            ] {
                self.t.add_total(z, stat, n);
            }
        }
        got
    }

    /// `__free_pages()`: the block at `pfn` (its state already cleared by
    /// the caller) returns to the buddy allocator under `zone->lock`. The
    /// caller counts `pgfree` (memory entering the allocator for the
    /// first time, such as boot vmemmap pages HVO gives back, counts none).
    pub fn free_pages(&mut self, pfn: u32, o: u32) {
        self.path.lock(LockClass::ZoneLock, Mode::Spin);
        self.t.free_block(pfn, o);
        self.path.unlock(LockClass::ZoneLock);
    }
}
