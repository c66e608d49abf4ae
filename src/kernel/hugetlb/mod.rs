//! Hugetlb: the pools of 2 MiB and 1 GiB pages, reservations, surplus
//! pages, migration with temporary pages, memory offlining, and the HVO
//! state of every huge page's vmemmap, as mm/hugetlb.c,
//! mm/hugetlb_vmemmap.c and Documentation/admin-guide/mm/hugetlbpage.rst
//! describe them.
//!
//! The pools are control state (the kernel's `struct hstate`: counters and
//! per-node free lists, under `hugetlb_lock`); the pages themselves are in
//! the frame array (`KIND_HUGE` heads with their flags, `KIND_VMEMMAP`
//! frames), written through `Backend::apply_ops` so that both backends
//! hold the same frames, and recounted every tick by `count`. Operations
//! run between ticks, as a system call does, and take no simulated time.
//!
//! Decisions where the kernel leaves a choice to timing or list order:
//! a free list hands out its lowest pfn first; buddy allocations take the
//! smallest block, lowest pfn first (`buddy::Txn`).

pub mod check;
pub mod machine;
pub use crate::kernel::mm::mempolicy::{fault_node, node_order, policy_mask};
pub use crate::kernel::PathTimes;

use crate::engine::types::ZS_PGFREE;
use crate::kernel::errno::{err, Errno, KernelError};
use crate::kernel::mm::Mm;
use crate::kernel::path::{Gfp, LockClass, Mode};
use crate::model::frame::*;
use crate::model::topology::{Topology, ZoneType};
use std::collections::{BTreeMap, BTreeSet};

/// Index of the 2 MiB hstate (the default one, `default_hstate`).
pub const HS_2M: usize = 0;
/// Index of the 1 GiB hstate.
pub const HS_1G: usize = 1;
pub const NR_HSTATES: usize = 2;
/// `huge_page_order()` of each hstate.
pub const HSTATE_ORDER: [u32; NR_HSTATES] = [9, 18];
/// Size in kB, as the sysfs directory names and meminfo print it.
pub const HSTATE_KB: [u64; NR_HSTATES] = [2048, 1048576];
/// vmemmap pages (64-byte `struct page`s, 64 per page) of one huge page.
pub const VMEMMAP_PAGES: [u32; NR_HSTATES] = [8, 4096];
/// vmemmap pages one PMD maps (2 MiB of `struct page`s).
pub const PMD_SLOTS: u32 = 512;
/// A vmemmap page given back by HVO: its virtual page maps the head's.
pub const SLOT_REMAPPED: u32 = u32::MAX;
/// Chunks of a 1 GiB page.
pub const GIGANTIC_CHUNKS: u32 = 1 << (18 - CHUNK_ORDER);

pub fn hstate_name(hs: usize) -> String {
    format!("hugepages-{}kB", HSTATE_KB[hs])
}

/// A fault that found no page: the task gets SIGBUS (not an errno).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sigbus(pub String);

/// `struct hstate`: counters and free lists of one page size.
#[derive(Clone, Debug, Default)]
pub struct Hstate {
    pub max_huge_pages: u64,
    pub nr_huge_pages: u64,
    pub free_huge_pages: u64,
    pub resv_huge_pages: u64,
    pub surplus_huge_pages: u64,
    pub nr_overcommit_huge_pages: u64,
    pub nr_huge_pages_node: Vec<u64>,
    pub free_huge_pages_node: Vec<u64>,
    pub surplus_huge_pages_node: Vec<u64>,
    next_nid_to_alloc: u32,
    next_nid_to_free: u32,
    /// `hugepage_freelists[node]`: head pfns of free pages.
    pub free_lists: Vec<BTreeSet<u32>>,
}

impl Hstate {
    fn new(nr_nodes: usize) -> Hstate {
        Hstate {
            nr_huge_pages_node: vec![0; nr_nodes],
            free_huge_pages_node: vec![0; nr_nodes],
            surplus_huge_pages_node: vec![0; nr_nodes],
            free_lists: vec![BTreeSet::new(); nr_nodes],
            ..Default::default()
        }
    }
    /// `persistent_huge_pages()`.
    pub fn persistent(&self) -> u64 {
        self.nr_huge_pages - self.surplus_huge_pages
    }
    /// `available_huge_pages()`: free pages no reservation holds.
    pub fn available(&self) -> u64 {
        self.free_huge_pages - self.resv_huge_pages
    }
}

/// What the host knows of one huge page (the folio's hugetlb flags are
/// also in its head frame).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HPage {
    pub hs: usize,
    pub node: u32,
    /// The mapping and page index using it; None while in the pool.
    pub user: Option<(u32, u64)>,
    pub temporary: bool,
    /// vmemmap pages HVO gave back (0 when not optimized).
    pub vmemmap_freed: u32,
}

impl HPage {
    /// The state word of the page's head frame (of its first chunk, for a
    /// 1 GiB page): its order and the flags its record implies.
    pub fn head_state(&self) -> u32 {
        let mut f = 0;
        if self.user.is_some() {
            f |= HF_INUSE;
        }
        if self.temporary {
            f |= HF_TEMPORARY;
        }
        if self.vmemmap_freed > 0 {
            f |= HF_HVO;
        }
        if self.hs == HS_1G {
            make_huge(MAX_PAGE_ORDER, f | HF_GIGANTIC)
        } else {
            make_huge(9, f)
        }
    }
}

/// A hugetlb mapping of a task (an mmap of a hugetlbfs file or
/// MAP_HUGETLB).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub name: String,
    pub task: usize,
    pub hs: usize,
    pub shared: bool,
    pub noreserve: bool,
    /// Pages in the mapping (its length in huge pages).
    pub nr_pages: u64,
    /// The faulted pages: page index to head pfn (a mapping of any length
    /// costs only the pages it has).
    pub pages: BTreeMap<u64, u32>,
    /// Reservations made at map time not yet consumed by a fault.
    pub resv_left: u64,
}

/// Per-node counts for the dashboard and the stats file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeHugeStats {
    /// vmemmap pages given back by HVO (now free or reused).
    pub vmemmap_saved: u64,
    /// vmemmap PMDs split into PTE tables (one page-table page each).
    pub pmd_splits: u64,
    /// HVO attempts that failed (no page for the PTE table).
    pub hvo_failures: u64,
    /// Returns to the buddy allocator refused because the vmemmap pages
    /// could not be allocated back.
    pub restore_failures: u64,
    /// Temporary pages allocated for migrations (cumulative).
    pub temporary_allocs: u64,
    /// Huge pages migrated onto this node (cumulative).
    pub migrated_in: u64,
    /// Migrations that found no target page on this node.
    pub migrate_failures: u64,
    /// Faults that found no page (SIGBUS).
    pub sigbus: u64,
}

/// Named switches for behaviours that changed or were proposed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Variants {
    /// HVO keeps two vmemmap pages per huge page (6 of 8, 4094 of 4096
    /// freed), as kernels of 2021 (5.14 to 5.18) did; off: one.
    pub hvo_keep_two: bool,
    /// The accounting flaw found in review of the first version of the
    /// temporary-page design: freeing a temporary page decrements its
    /// node's surplus count without the global one.
    pub temporary_surplus_flaw: bool,
}

/// A broken invariant a path found between two of its steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepViolation {
    pub name: &'static str,
    pub tick: u64,
    pub detail: String,
}

#[derive(Clone, Debug)]
pub struct Hugetlb {
    pub hstates: [Hstate; NR_HSTATES],
    pub pages: BTreeMap<u32, HPage>,
    pub mappings: Vec<Mapping>,
    /// `vm.hugetlb_optimize_vmemmap`.
    pub optimize_vmemmap: bool,
    pub variants: Variants,
    /// The vmemmap's page table: the frame backing each vmemmap page
    /// (global index = pfn / 64), or `SLOT_REMAPPED`.
    pub vmemmap: Vec<u32>,
    /// Per vmemmap PMD: 0 while PMD-mapped, else the PTE table's pfn + 1.
    pub pmd_split: Vec<u32>,
    pub node_stats: Vec<NodeHugeStats>,
    /// The first invariant a path broke between steps.
    pub step_violation: Option<StepViolation>,
}

/// `TASK_SIZE` on x86-64 with 4-level page tables (128 TiB less a page):
/// no mapping is larger.
pub const TASK_SIZE_BYTES: u64 = (1 << 47) - 4096;

/// Frames per memory block (`memory_block_size_bytes()`, 128 MiB on x86-64).
pub const MEMORY_BLOCK_FRAMES: u64 = 32768;

impl Hugetlb {
    pub fn new(t: &Topology) -> Hugetlb {
        let nn = t.nodes.len();
        let frames = t.total_frames();
        let mut vmemmap = vec![0u32; (frames / 64) as usize];
        for n in &t.nodes {
            let base = t.memmap_base(n.id);
            let first = n.start_pfn / 64;
            for k in 0..n.memmap_frames() {
                vmemmap[(first + k) as usize] = (base + k) as u32;
            }
        }
        Hugetlb {
            hstates: [Hstate::new(nn), Hstate::new(nn)],
            pages: BTreeMap::new(),
            mappings: Vec::new(),
            optimize_vmemmap: false,
            variants: Variants::default(),
            pmd_split: vec![0; (frames / 64).div_ceil(PMD_SLOTS as u64) as usize],
            vmemmap,
            node_stats: vec![NodeHugeStats::default(); nn],
            step_violation: None,
        }
    }

    pub fn nr_nodes(&self) -> usize {
        self.node_stats.len()
    }

    /// Temporary pages now, per node.
    pub fn temporary_on(&self, node: u32) -> u64 {
        self.pages
            .values()
            .filter(|p| p.temporary && p.node == node)
            .count() as u64
    }

    /// The index of the mapping named `name`.
    pub fn mapping(&self, name: &str) -> Option<usize> {
        self.mappings.iter().position(|m| m.name == name)
    }

    /// The counters' own invariants (no frames needed): sums of per-node
    /// counts equal the global ones, and every count is within its pool.
    pub fn check_counters(&self) -> Result<(), (&'static str, String)> {
        for (hs, h) in self.hstates.iter().enumerate() {
            let name = hstate_name(hs);
            let sum = |v: &Vec<u64>| v.iter().sum::<u64>();
            if sum(&h.surplus_huge_pages_node) != h.surplus_huge_pages {
                return Err((
                    "hugetlb-surplus-sum",
                    format!(
                        "{name}: sum of per-node surplus {} != global surplus_huge_pages {} (per node {:?})",
                        sum(&h.surplus_huge_pages_node),
                        h.surplus_huge_pages,
                        h.surplus_huge_pages_node
                    ),
                ));
            }
            if sum(&h.nr_huge_pages_node) != h.nr_huge_pages {
                return Err((
                    "hugetlb-nr-sum",
                    format!(
                        "{name}: sum of per-node nr_hugepages {} != nr_huge_pages {}",
                        sum(&h.nr_huge_pages_node),
                        h.nr_huge_pages
                    ),
                ));
            }
            if sum(&h.free_huge_pages_node) != h.free_huge_pages {
                return Err((
                    "hugetlb-free-sum",
                    format!(
                        "{name}: sum of per-node free {} != free_huge_pages {}",
                        sum(&h.free_huge_pages_node),
                        h.free_huge_pages
                    ),
                ));
            }
            if h.resv_huge_pages > h.free_huge_pages {
                return Err((
                    "hugetlb-resv",
                    format!(
                        "{name}: resv_huge_pages {} > free_huge_pages {}",
                        h.resv_huge_pages, h.free_huge_pages
                    ),
                ));
            }
            if h.surplus_huge_pages > h.nr_huge_pages {
                return Err((
                    "hugetlb-surplus-le-nr",
                    format!(
                        "{name}: surplus {} > nr_huge_pages {}",
                        h.surplus_huge_pages, h.nr_huge_pages
                    ),
                ));
            }
            for n in 0..self.nr_nodes() {
                if h.free_huge_pages_node[n] != h.free_lists[n].len() as u64 {
                    return Err((
                        "hugetlb-free-list",
                        format!(
                            "{name} node {n}: free_huge_pages_node {} but the free list holds {}",
                            h.free_huge_pages_node[n],
                            h.free_lists[n].len()
                        ),
                    ));
                }
                let pages = self
                    .pages
                    .values()
                    .filter(|p| p.hs == hs && p.node == n as u32)
                    .count() as u64;
                if pages != h.nr_huge_pages_node[n] {
                    return Err((
                        "hugetlb-pages",
                        format!(
                            "{name} node {n}: nr_huge_pages_node {} but {pages} pages exist",
                            h.nr_huge_pages_node[n]
                        ),
                    ));
                }
            }
            let unconsumed: u64 = self
                .mappings
                .iter()
                .filter(|m| m.hs == hs)
                .map(|m| m.resv_left)
                .sum();
            if unconsumed != h.resv_huge_pages {
                return Err((
                    "hugetlb-resv-mappings",
                    format!(
                        "{name}: resv_huge_pages {} but mappings hold {unconsumed} unused reservations",
                        h.resv_huge_pages
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Records the first invariant broken between two steps of a path.
    fn step_check(&mut self, tick: u64) {
        if self.step_violation.is_some() {
            return;
        }
        if let Err((name, detail)) = self.check_counters() {
            self.step_violation = Some(StepViolation { name, tick, detail });
        }
    }
}

/// A hugetlb operation in progress: the pools and the memory it works on
/// (the buddy transaction, the topology and the path's record).
pub struct Op<'a, 'm, 'b, 'c> {
    pub h: &'a mut Hugetlb,
    pub mm: &'m mut Mm<'b, 'c>,
    pub tick: u64,
}

/// `htlb_alloc_mask()` for a 2 MiB page plus what
/// `alloc_buddy_hugetlb_folio()` adds: a compound page of this node only,
/// trying hard, without a warning.
pub const HUGE_PAGE_GFP: Gfp = Gfp::HIGHUSER_MOVABLE
    .with(Gfp::COMP)
    .with(Gfp::THISNODE)
    .with(Gfp::NOWARN)
    .with(Gfp::RETRY_MAYFAIL);
/// `hugetlb_vmemmap_restore_folio()`'s mask for the vmemmap pages.
pub const VMEMMAP_RESTORE_GFP: Gfp = Gfp::KERNEL.with(Gfp::NORETRY).with(Gfp::THISNODE);

impl Op<'_, '_, '_, '_> {
    fn nodes_with_memory(&self) -> Vec<u32> {
        self.mm
            .topo
            .nodes
            .iter()
            .filter(|n| n.frames > 0)
            .map(|n| n.id)
            .collect()
    }

    // ----- vmemmap (mm/hugetlb_vmemmap.c) -----

    fn slot_range(hs: usize, pfn: u32) -> std::ops::Range<u32> {
        let first = pfn / 64;
        first..first + VMEMMAP_PAGES[hs]
    }

    /// `hugetlb_vmemmap_optimize_folio()`: splits the PMDs mapping the
    /// page's vmemmap (a PTE table each) and gives back all vmemmap pages
    /// but the first (two with `hvo_keep_two`). Returns pages freed.
    fn vmemmap_optimize(&mut self, hs: usize, pfn: u32, node: u32) -> u32 {
        if !self.h.optimize_vmemmap {
            return 0;
        }
        let keep = if self.h.variants.hvo_keep_two { 2 } else { 1 };
        let slots = Self::slot_range(hs, pfn);
        let freed_slots = slots.start + keep..slots.end;
        // vmemmap_remap_split(): every PMD covering the remapped range,
        // under init_mm's mmap_lock (read): a PTE table each
        // (`split_vmemmap_huge_pmd()`), populated under the page-table lock.
        self.mm.path.lock(LockClass::InitMmMmapLock, Mode::Read);
        let pmds = freed_slots.start / PMD_SLOTS..=(freed_slots.end - 1) / PMD_SLOTS;
        for pmd in pmds {
            if self.h.pmd_split[pmd as usize] != 0 {
                continue;
            }
            // pte_alloc_one_kernel(): GFP_PGTABLE_KERNEL, from the node.
            let Some(pt) = self.mm.alloc_pages(
                "pte_alloc_one_kernel",
                Gfp::PGTABLE_KERNEL,
                node,
                0,
                MIGRATE_UNMOVABLE,
                ZoneType::Normal,
            ) else {
                self.h.node_stats[node as usize].hvo_failures += 1;
                self.mm.path.unlock(LockClass::InitMmMmapLock);
                return 0;
            };
            self.mm
                .path
                .lock(LockClass::InitMmPageTableLock, Mode::Spin);
            self.mm
                .t
                .set(pt, make_vmemmap(0, VMF_RUNTIME | VMF_PTE), pmd + 1);
            self.mm.path.unlock(LockClass::InitMmPageTableLock);
            self.h.pmd_split[pmd as usize] = pt + 1;
            self.h.node_stats[node as usize].pmd_splits += 1;
        }
        // vmemmap_remap_free(): the tail pages remapped to the head's, and
        // freed (free_vmemmap_page_list()).
        self.mm.path.might_sleep("cond_resched");
        for s in freed_slots.clone() {
            let backing = self.h.vmemmap[s as usize];
            debug_assert_ne!(backing, SLOT_REMAPPED);
            self.h.vmemmap[s as usize] = SLOT_REMAPPED;
            let st = self.mm.t.state(self.mm.t.head_of(backing));
            if order(st) > 0 {
                self.mm.t.carve(backing, &|own, off| {
                    if own == 0 {
                        0
                    } else {
                        own + off
                    }
                });
            }
            let st = self.mm.t.state(backing);
            debug_assert_eq!(kind(st), KIND_VMEMMAP);
            if flags(st) & VMF_RUNTIME == 0 {
                // free_bootmem_page(): a reserved page joins the buddy
                // allocator and its zone's managed pages. Like boot memory
                // it enters the allocator uncounted (no pgfree here).
                let z = self.mm.t.zone_of(backing);
                self.mm.managed_delta[z] += 1;
            } else {
                self.mm.count(backing, ZS_PGFREE, 1);
            }
            self.mm.t.set(backing, 0, 0);
            self.mm.free_pages(backing, 0);
        }
        self.mm.path.unlock(LockClass::InitMmMmapLock);
        let n = freed_slots.len() as u32;
        self.h.node_stats[node as usize].vmemmap_saved += n as u64;
        n
    }

    /// `hugetlb_vmemmap_restore_folio()`: allocates the page's vmemmap
    /// pages back (`GFP_KERNEL | __GFP_NORETRY | __GFP_THISNODE`, so no
    /// reclaim: the min watermark decides). All or nothing.
    fn vmemmap_restore(&mut self, hs: usize, pfn: u32, node: u32, freed: u32) -> bool {
        if freed == 0 {
            return true;
        }
        let slots = Self::slot_range(hs, pfn);
        let first = slots.end - freed;
        // alloc_vmemmap_page_list(): a sleeping allocation, which is why
        // the callers have dropped hugetlb_lock (the HVO series: "a non
        // sleeping allocation would be too fragile").
        let mut got = Vec::with_capacity(freed as usize);
        // The variant the HVO series refused: the allocation made under
        // hugetlb_lock with its sleeping mask.
        let under_lock = self.mm.variants.vmemmap_alloc_under_hugetlb_lock;
        if under_lock {
            self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
        }
        for _ in 0..freed {
            match self.mm.alloc_pages(
                "alloc_vmemmap_page_list",
                VMEMMAP_RESTORE_GFP,
                node,
                0,
                MIGRATE_UNMOVABLE,
                ZoneType::Normal,
            ) {
                Some(p) => got.push(p),
                None => {
                    // free_vmemmap_page_list() of what was allocated.
                    for p in got {
                        self.mm.count(p, ZS_PGFREE, 1);
                        self.mm.free_pages(p, 0);
                    }
                    if under_lock {
                        self.mm.path.unlock(LockClass::HugetlbLock);
                    }
                    self.h.node_stats[node as usize].restore_failures += 1;
                    return false;
                }
            }
        }
        if under_lock {
            self.mm.path.unlock(LockClass::HugetlbLock);
        }
        // vmemmap_remap_alloc(): the pages mapped back, under init_mm's
        // mmap_lock.
        self.mm.path.lock(LockClass::InitMmMmapLock, Mode::Read);
        for (s, p) in (first..slots.end).zip(got) {
            self.h.vmemmap[s as usize] = p;
            self.mm.t.set(p, make_vmemmap(0, VMF_RUNTIME), s + 1);
        }
        self.mm.path.unlock(LockClass::InitMmMmapLock);
        self.h.node_stats[node as usize].vmemmap_saved -= freed as u64;
        true
    }

    // ----- frames of a huge page -----

    /// Writes the page's head frame(s) from its host record.
    fn write_page(&mut self, pfn: u32, owner: u32) {
        let p = &self.h.pages[&pfn];
        let head = p.head_state();
        if p.hs == HS_2M {
            self.mm.t.set(pfn, head, owner);
        } else {
            for c in 0..GIGANTIC_CHUNKS {
                let tail = if c == 0 { 0 } else { HF_GIG_TAIL };
                self.mm.t.set(
                    pfn + c * CHUNK_FRAMES as u32,
                    head | (tail << FLAGS_SHIFT),
                    owner,
                );
            }
        }
    }

    fn owner_of(&self, pfn: u32) -> u32 {
        match self.h.pages[&pfn].user {
            Some((m, _)) => self.h.mappings[m as usize].task as u32 + OWNER_TASK_BASE,
            None => OWNER_NONE,
        }
    }

    // ----- allocation of fresh pages -----

    /// `alloc_fresh_hugetlb_folio()` on `node` only, then
    /// `prep_new_hugetlb_folio()` (nr_huge_pages++) and HVO. The page is
    /// not on a free list yet.
    fn alloc_fresh(&mut self, hs: usize, node: u32) -> Option<u32> {
        let pfn = if hs == HS_2M {
            // htlb_alloc_mask(): GFP_HIGHUSER_MOVABLE (2 MiB pages migrate).
            let got = self.mm.alloc_pages(
                "alloc_buddy_hugetlb_folio",
                HUGE_PAGE_GFP,
                node,
                9,
                MIGRATE_MOVABLE,
                ZoneType::Movable,
            );
            // alloc_buddy_hugetlb_folio(): HTLB_BUDDY_PGALLOC(_FAIL).
            if got.is_some() {
                self.mm.events.htlb_buddy_alloc_success += 1;
            } else {
                self.mm.events.htlb_buddy_alloc_fail += 1;
            }
            got?
        } else {
            // alloc_gigantic_folio(): alloc_contig_pages() of the node.
            self.mm.alloc_contig_pages(node, HSTATE_ORDER[HS_1G])?
        };
        // __prep_account_new_huge_page(), under hugetlb_lock.
        self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
        let h = &mut self.h.hstates[hs];
        h.nr_huge_pages += 1;
        h.nr_huge_pages_node[node as usize] += 1;
        self.mm.path.unlock(LockClass::HugetlbLock);
        self.h.pages.insert(
            pfn,
            HPage {
                hs,
                node,
                user: None,
                temporary: false,
                vmemmap_freed: 0,
            },
        );
        let freed = self.vmemmap_optimize(hs, pfn, node);
        self.h.pages.get_mut(&pfn).expect("inserted").vmemmap_freed = freed;
        self.write_page(pfn, OWNER_NONE);
        Some(pfn)
    }

    // ----- pool lists (enqueue / dequeue / remove / add) -----

    /// `enqueue_hugetlb_folio()`.
    fn enqueue(&mut self, pfn: u32) {
        let p = self.h.pages.get_mut(&pfn).expect("page exists");
        p.user = None;
        let (hs, node) = (p.hs, p.node as usize);
        let h = &mut self.h.hstates[hs];
        h.free_lists[node].insert(pfn);
        h.free_huge_pages += 1;
        h.free_huge_pages_node[node] += 1;
        self.write_page(pfn, OWNER_NONE);
    }

    /// `dequeue_hugetlb_folio_node_exact()`.
    fn dequeue_node(&mut self, hs: usize, node: u32) -> Option<u32> {
        let h = &mut self.h.hstates[hs];
        let pfn = h.free_lists[node as usize].pop_first()?;
        h.free_huge_pages -= 1;
        h.free_huge_pages_node[node as usize] -= 1;
        Some(pfn)
    }

    /// `remove_hugetlb_folio()`: the page leaves the pool's counts (and
    /// its free list, when free).
    fn remove(&mut self, pfn: u32, adjust_surplus: bool) {
        let p = self.h.pages[&pfn].clone();
        let n = p.node as usize;
        let h = &mut self.h.hstates[p.hs];
        if h.free_lists[n].remove(&pfn) {
            h.free_huge_pages -= 1;
            h.free_huge_pages_node[n] -= 1;
        }
        if adjust_surplus {
            h.surplus_huge_pages -= 1;
            h.surplus_huge_pages_node[n] -= 1;
        }
        h.nr_huge_pages -= 1;
        h.nr_huge_pages_node[n] -= 1;
    }

    /// `add_hugetlb_folio()`: a page whose vmemmap could not be restored
    /// goes back to the pool, free.
    fn add_back(&mut self, pfn: u32, adjust_surplus: bool) {
        let p = self.h.pages[&pfn].clone();
        let n = p.node as usize;
        let h = &mut self.h.hstates[p.hs];
        h.nr_huge_pages += 1;
        h.nr_huge_pages_node[n] += 1;
        if adjust_surplus {
            h.surplus_huge_pages += 1;
            h.surplus_huge_pages_node[n] += 1;
        }
        self.h.pages.get_mut(&pfn).expect("page exists").temporary = false;
        self.enqueue(pfn);
    }

    /// `update_and_free_hugetlb_folio()` after `remove()`: restores the
    /// vmemmap and returns the frames to the buddy allocator. False when
    /// the restore failed (the page is still the host's, out of the
    /// counts: the caller adds it back).
    fn update_and_free(&mut self, pfn: u32) -> bool {
        let p = self.h.pages[&pfn].clone();
        if !self.vmemmap_restore(p.hs, pfn, p.node, p.vmemmap_freed) {
            return false;
        }
        self.h.pages.remove(&pfn);
        // __free_pages() / free_contig_range(): pgfree for every page.
        self.mm.count(pfn, ZS_PGFREE, 1 << HSTATE_ORDER[p.hs]);
        if p.hs == HS_2M {
            self.mm.t.set(pfn, 0, 0);
            self.mm.free_pages(pfn, 9);
        } else {
            for c in 0..GIGANTIC_CHUNKS {
                let q = pfn + c * CHUNK_FRAMES as u32;
                self.mm.t.set(q, 0, 0);
                self.mm.free_pages(q, MAX_PAGE_ORDER);
            }
        }
        true
    }

    /// `update_and_free_pages_bulk()`, called without hugetlb_lock: each
    /// page's vmemmap restored and its frames freed; a page whose restore
    /// fails goes back to the pool as a surplus page (under the lock).
    fn update_and_free_bulk(&mut self, pages: Vec<u32>) {
        for p in pages {
            if !self.update_and_free(p) {
                self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
                self.add_back(p, true);
                self.mm.path.unlock(LockClass::HugetlbLock);
            }
        }
    }

    /// `free_huge_folio()`: a page a mapping no longer uses.
    fn free_huge_folio(&mut self, pfn: u32) {
        let p = self.h.pages[&pfn].clone();
        let n = p.node as usize;
        self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
        self.h.pages.get_mut(&pfn).expect("page exists").user = None;
        let to_buddy = if p.temporary {
            if self.h.variants.temporary_surplus_flaw
                && self.h.hstates[p.hs].surplus_huge_pages_node[n] > 0
            {
                // The flaw: the node's count drops, the global one not.
                self.h.hstates[p.hs].surplus_huge_pages_node[n] -= 1;
            }
            self.remove(pfn, false);
            true
        } else if self.h.hstates[p.hs].surplus_huge_pages_node[n] > 0 {
            self.remove(pfn, true);
            true
        } else {
            self.enqueue(pfn);
            false
        };
        self.mm.path.unlock(LockClass::HugetlbLock);
        if to_buddy {
            // update_and_free_hugetlb_folio() after the lock is dropped.
            self.update_and_free_bulk(vec![pfn]);
        }
        self.h.step_check(self.tick);
    }

    /// `hstate_next_node_to_alloc()` / `_to_free()`: round robin over
    /// `allowed`, starting where the last call stopped.
    fn next_node(&mut self, hs: usize, allowed: &[u32], free: bool) -> Vec<u32> {
        let h = &mut self.h.hstates[hs];
        let cur = if free {
            &mut h.next_nid_to_free
        } else {
            &mut h.next_nid_to_alloc
        };
        let start = allowed.iter().position(|&n| n >= *cur).unwrap_or(0);
        let order: Vec<u32> = (0..allowed.len())
            .map(|i| allowed[(start + i) % allowed.len()])
            .collect();
        order
    }
    fn advance_node(&mut self, hs: usize, allowed: &[u32], used: u32, free: bool) {
        let i = allowed.iter().position(|&n| n == used).unwrap_or(0);
        let next = allowed[(i + 1) % allowed.len()];
        let h = &mut self.h.hstates[hs];
        if free {
            h.next_nid_to_free = next;
        } else {
            h.next_nid_to_alloc = next;
        }
    }

    /// `alloc_pool_huge_folio()`: a fresh page on the next allowed node
    /// that has one, onto the free list.
    fn alloc_pool_page(&mut self, hs: usize, allowed: &[u32]) -> bool {
        let order = self.next_node(hs, allowed, false);
        for node in order {
            // Allocated with hugetlb_lock dropped (it may sleep).
            self.mm.path.unlock(LockClass::HugetlbLock);
            self.mm.path.might_sleep("cond_resched");
            let got = self.alloc_fresh(hs, node);
            self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
            if let Some(pfn) = got {
                self.advance_node(hs, allowed, node, false);
                self.enqueue(pfn);
                return true;
            }
        }
        if let Some(&first) = allowed.first() {
            self.advance_node(hs, allowed, first, false);
        }
        false
    }

    /// `remove_pool_hugetlb_folio()`.
    fn remove_pool_page(&mut self, hs: usize, allowed: &[u32], acct_surplus: bool) -> Option<u32> {
        let order = self.next_node(hs, allowed, true);
        for node in order {
            let h = &self.h.hstates[hs];
            if (!acct_surplus || h.surplus_huge_pages_node[node as usize] > 0)
                && !h.free_lists[node as usize].is_empty()
            {
                let pfn = *h.free_lists[node as usize].first().expect("not empty");
                self.advance_node(hs, allowed, node, true);
                self.remove(pfn, acct_surplus);
                return Some(pfn);
            }
        }
        None
    }

    /// `adjust_pool_surplus()`.
    fn adjust_pool_surplus(&mut self, hs: usize, allowed: &[u32], delta: i64) -> bool {
        let order = self.next_node(hs, allowed, delta > 0);
        for node in order {
            let n = node as usize;
            let h = &mut self.h.hstates[hs];
            let ok = if delta < 0 {
                h.surplus_huge_pages_node[n] > 0
            } else {
                h.surplus_huge_pages_node[n] < h.nr_huge_pages_node[n]
            };
            if ok {
                if delta < 0 {
                    h.surplus_huge_pages -= 1;
                    h.surplus_huge_pages_node[n] -= 1;
                } else {
                    h.surplus_huge_pages += 1;
                    h.surplus_huge_pages_node[n] += 1;
                }
                self.advance_node(hs, allowed, node, delta > 0);
                return true;
            }
        }
        false
    }

    /// `set_max_huge_pages()`: the pool's persistent size becomes `count`
    /// as far as memory and the pool's users allow.
    pub fn set_max_huge_pages(&mut self, hs: usize, count: u64, nid: Option<u32>, allowed: &[u32]) {
        // With HVO, optimizing and restoring pages reads the allowed
        // nodes' vmemmap frames: read them in one go (a GPU backend
        // otherwise fetches them chunk window by chunk window).
        if self.h.optimize_vmemmap || self.h.pages.values().any(|p| p.vmemmap_freed > 0) {
            for &n in allowed {
                if self.mm.topo.nodes[n as usize].frames == 0 {
                    continue;
                }
                let base = self.mm.topo.memmap_base(n);
                let end = base + self.mm.topo.nodes[n as usize].memmap_frames();
                let chunks = (base / CHUNK_FRAMES) as u32..end.div_ceil(CHUNK_FRAMES) as u32;
                self.mm.t.source().prefetch(chunks);
            }
        }
        self.mm.path.lock(LockClass::HugetlbResizeLock, Mode::Mutex);
        self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
        let mut count = count;
        if let Some(n) = nid {
            // A per-node write becomes a global target.
            let h = &self.h.hstates[hs];
            let node_persistent =
                h.nr_huge_pages_node[n as usize] - h.surplus_huge_pages_node[n as usize];
            count = count.saturating_add(h.persistent() - node_persistent);
        }
        // Growing: surplus pages become persistent first.
        while self.h.hstates[hs].surplus_huge_pages > 0 && count > self.h.hstates[hs].persistent() {
            if !self.adjust_pool_surplus(hs, allowed, -1) {
                break;
            }
        }
        while count > self.h.hstates[hs].persistent() {
            if !self.alloc_pool_page(hs, allowed) {
                break;
            }
        }
        // Shrinking: only free pages no reservation holds leave the pool.
        let h = &self.h.hstates[hs];
        let min_count = (h.resv_huge_pages + h.nr_huge_pages - h.free_huge_pages).max(count);
        let mut removed = Vec::new();
        while min_count < self.h.hstates[hs].persistent() {
            match self.remove_pool_page(hs, allowed, false) {
                Some(p) => removed.push(p),
                None => break,
            }
        }
        // update_and_free_pages_bulk(), with hugetlb_lock dropped: the
        // vmemmap restore allocates and may sleep. A page whose vmemmap
        // cannot be restored goes back as a surplus page.
        self.mm.path.unlock(LockClass::HugetlbLock);
        self.update_and_free_bulk(removed);
        self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
        // What cannot be freed becomes surplus, beyond the overcommit limit.
        while count < self.h.hstates[hs].persistent() {
            if !self.adjust_pool_surplus(hs, allowed, 1) {
                break;
            }
        }
        self.h.hstates[hs].max_huge_pages = self.h.hstates[hs].persistent();
        self.h.step_check(self.tick);
        self.mm.path.unlock(LockClass::HugetlbLock);
        self.mm.path.unlock(LockClass::HugetlbResizeLock);
    }

    /// `alloc_surplus_hugetlb_folio()`: a fresh page beyond the pool, if
    /// the overcommit limit allows (never for gigantic pages).
    /// Called without hugetlb_lock, which it takes to check the limit and
    /// to account the page, and drops for the allocation.
    fn alloc_surplus(&mut self, hs: usize, nodes: &[u32]) -> Option<u32> {
        self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
        let h = &self.h.hstates[hs];
        let refused = hs == HS_1G || h.surplus_huge_pages >= h.nr_overcommit_huge_pages;
        self.mm.path.unlock(LockClass::HugetlbLock);
        if refused {
            return None;
        }
        for &node in nodes {
            if let Some(pfn) = self.alloc_fresh(hs, node) {
                self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
                let h = &mut self.h.hstates[hs];
                h.surplus_huge_pages += 1;
                h.surplus_huge_pages_node[node as usize] += 1;
                self.mm.path.unlock(LockClass::HugetlbLock);
                return Some(pfn);
            }
        }
        None
    }

    /// `hugetlb_acct_memory(h, delta)` with `gather_surplus_pages()`:
    /// reserves `delta` pages, allocating surplus pages when the free
    /// ones do not cover the reservations. ENOMEM changes nothing.
    fn reserve(&mut self, hs: usize, delta: u64, nodes: &[u32]) -> Result<(), KernelError> {
        self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
        let h = &self.h.hstates[hs];
        let need = (h.resv_huge_pages + delta).saturating_sub(h.free_huge_pages);
        // gather_surplus_pages(): the lock is dropped for the allocations.
        self.mm.path.unlock(LockClass::HugetlbLock);
        let mut got = Vec::new();
        for _ in 0..need {
            match self.alloc_surplus(hs, nodes) {
                Some(p) => got.push(p),
                None => {
                    self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
                    for p in &got {
                        // Back to the buddy allocator (they were never
                        // enqueued).
                        self.remove(*p, true);
                    }
                    self.mm.path.unlock(LockClass::HugetlbLock);
                    self.update_and_free_bulk(got);
                    let h = &self.h.hstates[hs];
                    return err(
                        Errno::ENOMEM,
                        format!(
                            "cannot reserve {delta} {} pages: {} free, {} reserved, {} surplus of nr_overcommit_hugepages {}{}",
                            hstate_name(hs),
                            h.free_huge_pages,
                            h.resv_huge_pages,
                            h.surplus_huge_pages,
                            h.nr_overcommit_huge_pages,
                            if hs == HS_1G { " (gigantic pages are never overcommitted)" } else { "" }
                        ),
                    );
                }
            }
        }
        self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
        for p in got {
            self.enqueue(p);
        }
        self.h.hstates[hs].resv_huge_pages += delta;
        // hugetlb_acct_memory(): the reservation must also fit the free
        // pages on the nodes the task may allocate from,
        // `allowed_mems_nr()` (cpuset_current_mems_allowed, narrowed to
        // the MPOL_BIND nodes by policy_mbind_nodemask() since 6.0).
        // Without this check an MPOL_BIND task's mmap() succeeds and its
        // fault SIGBUSes later.
        let h = &self.h.hstates[hs];
        let allowed: u64 = nodes
            .iter()
            .map(|&n| h.free_huge_pages_node.get(n as usize).copied().unwrap_or(0))
            .sum();
        self.mm.path.unlock(LockClass::HugetlbLock);
        if delta > allowed {
            // return_unused_surplus_pages(h, delta).
            self.unreserve(hs, delta);
            let h = &self.h.hstates[hs];
            return err(
                Errno::ENOMEM,
                format!(
                    "cannot reserve {delta} {} pages: the task's nodes {} have {allowed} free (allowed_mems_nr()); {} free in all",
                    hstate_name(hs),
                    format_nodes(nodes),
                    h.free_huge_pages
                ),
            );
        }
        Ok(())
    }

    /// `return_unused_surplus_pages()`.
    /// Called without hugetlb_lock (`hugetlb_acct_memory()` takes it).
    fn unreserve(&mut self, hs: usize, unused: u64) {
        self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
        self.h.hstates[hs].resv_huge_pages -= unused;
        if hs == HS_1G {
            self.mm.path.unlock(LockClass::HugetlbLock);
            return;
        }
        let n = unused.min(self.h.hstates[hs].surplus_huge_pages);
        let all = self.nodes_with_memory();
        let mut removed = Vec::new();
        for _ in 0..n {
            match self.remove_pool_page(hs, &all, true) {
                Some(p) => removed.push(p),
                None => break,
            }
        }
        self.mm.path.unlock(LockClass::HugetlbLock);
        self.update_and_free_bulk(removed);
    }

    // ----- mappings -----

    #[allow(clippy::too_many_arguments)]
    pub fn map(
        &mut self,
        name: &str,
        task: usize,
        hs: usize,
        nr: u64,
        shared: bool,
        noreserve: bool,
        policy_nodes: &[u32],
    ) -> Result<(), KernelError> {
        if self.h.mapping(name).is_some() {
            return err(Errno::EEXIST, format!("a mapping named `{name}` exists"));
        }
        if nr == 0 {
            return err(Errno::EINVAL, "a mapping needs at least one page");
        }
        // mmap() of more than the address space (TASK_SIZE) fails.
        let max = TASK_SIZE_BYTES >> (HSTATE_ORDER[hs] + PAGE_SHIFT);
        if nr > max {
            return err(
                Errno::ENOMEM,
                format!(
                    "{nr} {} pages is more than the {max} a process's address space holds (TASK_SIZE, 128 TiB)",
                    hstate_name(hs)
                ),
            );
        }
        // mmap(): hugetlb_reserve_pages() under the task's mmap_lock.
        self.mm.path.lock(LockClass::MmapLock, Mode::Write);
        if !noreserve {
            if let Err(e) = self.reserve(hs, nr, policy_nodes) {
                self.mm.path.unlock(LockClass::MmapLock);
                return Err(e);
            }
        }
        self.mm.path.unlock(LockClass::MmapLock);
        self.h.mappings.push(Mapping {
            name: name.to_string(),
            task,
            hs,
            shared,
            noreserve,
            nr_pages: nr,
            pages: BTreeMap::new(),
            resv_left: if noreserve { 0 } else { nr },
        });
        self.h.step_check(self.tick);
        Ok(())
    }

    /// A fault on page `idx` of mapping `m` (`hugetlb_no_page()` and
    /// `alloc_hugetlb_folio()`): the page comes from the pool, preferring
    /// `nid` and falling back in distance order within `mask`.
    pub fn fault(&mut self, m: usize, idx: u64, nid: u32, mask: &[u32]) -> Result<u32, Sigbus> {
        let hs = self.h.mappings[m].hs;
        let reserved = self.h.mappings[m].resv_left > 0;
        let order: Vec<u32> = node_order(self.mm.topo, nid)
            .into_iter()
            .filter(|n| mask.contains(n))
            .collect();
        // hugetlb_fault() -> hugetlb_no_page(): under the task's mmap_lock
        // and the fault mutex of the page; alloc_hugetlb_folio() dequeues
        // under hugetlb_lock, or allocates a surplus page without it.
        self.mm.path.lock(LockClass::MmapLock, Mode::Read);
        self.mm.path.lock(LockClass::HugetlbFaultMutex, Mode::Mutex);
        // hugetlb_vma_lock_read(): a shared mapping's VMA lock (PMD
        // sharing), held until the fault is done with the page table.
        let shared = self.h.mappings[m].shared;
        if shared {
            self.mm.path.lock(LockClass::HugetlbVmaLock, Mode::Read);
        }
        self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
        let mut pfn = None;
        if reserved || self.h.hstates[hs].available() > 0 {
            for &n in &order {
                if let Some(p) = self.dequeue_node(hs, n) {
                    pfn = Some(p);
                    break;
                }
            }
        }
        self.mm.path.unlock(LockClass::HugetlbLock);
        if pfn.is_none() {
            pfn = self.alloc_surplus(hs, &order);
        }
        let Some(pfn) = pfn else {
            if shared {
                self.mm.path.unlock(LockClass::HugetlbVmaLock);
            }
            self.mm.path.unlock(LockClass::HugetlbFaultMutex);
            self.mm.path.unlock(LockClass::MmapLock);
            self.h.node_stats[nid as usize].sigbus += 1;
            let h = &self.h.hstates[hs];
            return Err(Sigbus(format!(
                "no {} page for page {idx} of `{}`: {} free, {} reserved, surplus {} of {}",
                hstate_name(hs),
                self.h.mappings[m].name,
                h.free_huge_pages,
                h.resv_huge_pages,
                h.surplus_huge_pages,
                h.nr_overcommit_huge_pages
            )));
        };
        if reserved {
            self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
            self.h.hstates[hs].resv_huge_pages -= 1;
            self.h.mappings[m].resv_left -= 1;
            self.mm.path.unlock(LockClass::HugetlbLock);
        }
        // set_huge_pte_at() under the page-table lock.
        self.mm.path.lock(LockClass::PtlPmd, Mode::Spin);
        self.h.mappings[m].pages.insert(idx, pfn);
        self.h.pages.get_mut(&pfn).expect("page exists").user = Some((m as u32, idx));
        let owner = self.owner_of(pfn);
        self.write_page(pfn, owner);
        self.mm.path.unlock(LockClass::PtlPmd);
        if shared {
            self.mm.path.unlock(LockClass::HugetlbVmaLock);
        }
        self.mm.path.unlock(LockClass::HugetlbFaultMutex);
        self.mm.path.unlock(LockClass::MmapLock);
        self.h.step_check(self.tick);
        Ok(pfn)
    }

    /// munmap (and, for a shared mapping, removing its hugetlbfs file):
    /// every page is freed, unused reservations are returned.
    pub fn unmap(&mut self, m: usize) {
        // munmap(): unmap_hugepage_range() clears each PTE under the
        // page-table lock and frees the folios; the reservations go back
        // (hugetlb_vm_op_close()); all under the task's mmap_lock.
        self.mm.path.lock(LockClass::MmapLock, Mode::Write);
        let pages: Vec<u32> = self.h.mappings[m].pages.values().copied().collect();
        for p in pages {
            self.mm.path.lock(LockClass::PtlPmd, Mode::Spin);
            self.mm.path.unlock(LockClass::PtlPmd);
            self.free_huge_folio(p);
        }
        let hs = self.h.mappings[m].hs;
        let unused = self.h.mappings[m].resv_left;
        self.h.mappings[m].resv_left = 0;
        self.h.mappings[m].pages.clear();
        self.unreserve(hs, unused);
        self.mm.path.unlock(LockClass::MmapLock);
        self.h.step_check(self.tick);
    }

    // ----- migration -----

    /// `alloc_hugetlb_folio_nodemask()` with `allow_alloc_fallback` off:
    /// a free page of `node`'s pool if one is available, else a fresh
    /// temporary page outside the pool's limits (never gigantic).
    fn alloc_migration_target(&mut self, hs: usize, node: u32) -> Option<u32> {
        self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
        if self.h.hstates[hs].available() > 0 {
            if let Some(p) = self.dequeue_node(hs, node) {
                self.mm.path.unlock(LockClass::HugetlbLock);
                return Some(p);
            }
        }
        self.mm.path.unlock(LockClass::HugetlbLock);
        if hs == HS_1G {
            return None;
        }
        let p = self.alloc_fresh(hs, node)?;
        self.h.pages.get_mut(&p).expect("page exists").temporary = true;
        self.h.node_stats[node as usize].temporary_allocs += 1;
        self.write_page(p, OWNER_NONE);
        self.h.step_check(self.tick);
        Some(p)
    }

    /// Migrates one in-use page to `node`: the new page takes the old
    /// one's place in its mapping, `move_hugetlb_state()` passes the
    /// temporary flag (and per-node surplus) to the old page, which is
    /// then freed. Returns false when no target page was found.
    pub fn migrate_page(&mut self, old: u32, node: u32) -> bool {
        let p = self.h.pages[&old].clone();
        let Some((m, idx)) = p.user else { return false };
        // unmap_and_move_huge_page(): the target first (get_new_folio()),
        // then the source's folio lock for the unmap and the copy.
        // The seed-003 variant locks the source first.
        let under_lock = self.mm.variants.migrate_target_under_folio_lock;
        if under_lock {
            self.mm.path.lock(LockClass::FolioLock, Mode::Bit);
        }
        let new = self.alloc_migration_target(p.hs, node);
        if under_lock && (new.is_none() || self.mm.below_low(node)) {
            self.mm.direct_reclaim(node);
        }
        let Some(new) = new else {
            if under_lock {
                self.mm.path.unlock(LockClass::FolioLock);
            }
            self.h.node_stats[node as usize].migrate_failures += 1;
            return false;
        };
        self.mm.events.pgmigrate_success += 1 << HSTATE_ORDER[p.hs];
        if !under_lock {
            self.mm.path.lock(LockClass::FolioLock, Mode::Bit);
        }
        // hugetlb_folio_mapping_lock_write(): a shared mapping's
        // i_mmap_rwsem is taken out of the documented order (under the
        // folio lock), hence only tried; then try_to_migrate().
        let shared = self.h.mappings[m as usize].shared;
        if shared {
            self.mm.path.lock(LockClass::HugetlbfsIMmapRwsem, Mode::Try);
            self.mm.path.lock(LockClass::PtlPmd, Mode::Spin);
            self.mm.path.unlock(LockClass::PtlPmd);
        } else {
            self.mm.rmap_walk(false);
        }
        // The copy: the new page is mapped where the old one was.
        self.h.mappings[m as usize].pages.insert(idx, new);
        self.h.pages.get_mut(&new).expect("page exists").user = Some((m, idx));
        // move_hugetlb_state(), under hugetlb_lock.
        self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
        if self.h.pages[&new].temporary {
            self.h.pages.get_mut(&old).expect("page exists").temporary = true;
            self.h.pages.get_mut(&new).expect("page exists").temporary = false;
            let h = &mut self.h.hstates[p.hs];
            if p.node != node && h.surplus_huge_pages_node[p.node as usize] > 0 {
                h.surplus_huge_pages_node[p.node as usize] -= 1;
                h.surplus_huge_pages_node[node as usize] += 1;
            }
        }
        self.mm.path.unlock(LockClass::HugetlbLock);
        let owner = self.owner_of(new);
        self.write_page(new, owner);
        self.write_page(old, owner);
        // remove_migration_ptes().
        if shared {
            self.mm.path.lock(LockClass::PtlPmd, Mode::Spin);
            self.mm.path.unlock(LockClass::PtlPmd);
            self.mm.path.unlock(LockClass::HugetlbfsIMmapRwsem);
        } else {
            self.mm.rmap_walk(false);
        }
        self.mm.path.unlock(LockClass::FolioLock);
        self.h.node_stats[node as usize].migrated_in += 1;
        self.h.step_check(self.tick);
        self.free_huge_folio(old);
        true
    }

    // ----- offlining (mm/memory_hotplug.c offline_pages) -----

    /// Takes `[start, start + nr)` (one memory block, inside one zone)
    /// offline (`mm::hotplug`): in-use huge pages migrate out (other nodes
    /// first), free ones are dissolved, gigantic ones refuse (EBUSY).
    /// Returns the zone.
    pub fn offline_range(&mut self, start: u32, nr: u32) -> Result<usize, KernelError> {
        let tick = self.tick;
        let h = &mut *self.h;
        self.mm.offline_pages(start, nr, &mut |mm, p, targets| {
            Op {
                h: &mut *h,
                mm,
                tick,
            }
            .offline_huge(p, targets)
        })
    }

    /// A hugetlb page inside a range going offline.
    fn offline_huge(&mut self, p: u32, targets: &[u32]) -> Result<(), KernelError> {
        let s = self.mm.t.state(p);
        if flags(s) & HF_GIGANTIC != 0 {
            return err(Errno::EBUSY, format!("pfn {p:#x} is part of a 1 GiB page"));
        }
        let page = self.h.pages[&p].clone();
        if page.user.is_some() {
            if !targets.iter().any(|&n| self.migrate_page(p, n)) {
                self.mm.events.pgmigrate_fail += 1 << HSTATE_ORDER[page.hs];
                return err(
                    Errno::EBUSY,
                    format!("no target for the huge page at pfn {p:#x}"),
                );
            }
            Ok(())
        } else {
            self.dissolve_free(p)
        }
    }

    /// `dissolve_free_hugetlb_folio()`: a free huge page leaves the pool
    /// for the buddy allocator; EBUSY if reservations need it, ENOMEM if
    /// its vmemmap cannot be restored (the page stays).
    fn dissolve_free(&mut self, pfn: u32) -> Result<(), KernelError> {
        let p = self.h.pages[&pfn].clone();
        self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
        if self.h.hstates[p.hs].available() == 0 {
            self.mm.path.unlock(LockClass::HugetlbLock);
            return err(
                Errno::EBUSY,
                format!("the free huge page at pfn {pfn:#x} is reserved"),
            );
        }
        let surplus = self.h.hstates[p.hs].surplus_huge_pages_node[p.node as usize] > 0;
        self.remove(pfn, surplus);
        self.mm.path.unlock(LockClass::HugetlbLock);
        if !self.update_and_free(pfn) {
            self.mm.path.lock(LockClass::HugetlbLock, Mode::Spin);
            self.add_back(pfn, surplus);
            self.mm.path.unlock(LockClass::HugetlbLock);
            self.h.step_check(self.tick);
            return err(
                Errno::ENOMEM,
                format!("cannot restore the vmemmap of the huge page at pfn {pfn:#x}"),
            );
        }
        if !surplus {
            self.h.hstates[p.hs].max_huge_pages -= 1;
        }
        self.h.step_check(self.tick);
        Ok(())
    }

    /// Brings an offline block back: its frames join the buddy allocator.
    pub fn online_range(&mut self, start: u32, nr: u32) -> usize {
        self.mm.online_pages(start, nr)
    }
}

/// A node list as the kernel prints one (`0-1,3`).
fn format_nodes(nodes: &[u32]) -> String {
    let mut v = nodes.to_vec();
    v.sort_unstable();
    crate::model::workload::format_nodelist(&v)
}
