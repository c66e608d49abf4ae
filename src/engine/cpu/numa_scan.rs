//! Phase `numa_scan` (twin of shaders/tick/numa_scan.wgsl): per chunk,
//! every user page (anon and THP heads) of a running task.
//!
//! - A PROT_NONE page its threads touch this tick takes a NUMA hint fault
//!   (`do_numa_page()`, `do_huge_pmd_numa_page()`): which thread touches
//!   it comes from the hash (the thread that faulted it last, with the
//!   task's private share, else any thread); `numa_migrate_prep()` counts
//!   the fault; `mpol_misplaced()` and `should_numa_migrate_memory()`
//!   decide; a misplaced page whose target node has room
//!   (`migrate_balanced_pgdat()`) becomes a migration candidate (owner
//!   bits, counted per chunk for `numa_list`); every other fault restores
//!   the entry and goes to `task_numa_fault()`.
//! - A present page in its task's scan window this tick becomes PROT_NONE
//!   (`change_pte_range()`, `change_huge_pmd()` with their skip rules).
//!
//! A page's place in its task's address space is a fixed hash of its
//! chunk (the window is a share of the span, and its pages cluster in
//! chunks); the hot set is a page flag drawn at allocation. A tick in
//! which no task has a window walks only the chunks its last walk left
//! PROT_NONE pages in. Faults only count (atomics) and change their own page,
//! so the chunks run in any order.

use super::chunk::{fold_chunks, rows, zone_runs};
use super::numa::*;
use crate::engine::state::PlanMut;
use crate::engine::types::*;
use crate::model::frame::*;
use crate::model::hash::*;
use crate::model::numa::*;
use crate::model::workload::USER_ANON_CLASS_MASK;
use std::sync::atomic::Ordering::Relaxed;

// The chunk's PROT_NONE words follow its candidate words: `MIG_CHUNKS +
// nr_chunks + chunk` (types.rs).

/// A chunk's counts, folded into the events.
#[derive(Default, Clone, Copy)]
struct Counts {
    pte_updates: u32,
    huge_pte_updates: u32,
    faults: u32,
    faults_local: u32,
    refused: u32,
    /// Per node of the faulting CPU: faults, local faults.
    node: [[u32; 2]; crate::model::scenario::MAX_NODES],
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(mut self, o: Counts) -> Counts {
        self.pte_updates += o.pte_updates;
        self.huge_pte_updates += o.huge_pte_updates;
        self.faults += o.faults;
        self.faults_local += o.faults_local;
        self.refused += o.refused;
        for (a, b) in self.node.iter_mut().zip(o.node) {
            a[0] += b[0];
            a[1] += b[1];
        }
        self
    }
}

#[allow(clippy::too_many_arguments)]
pub fn numa_scan(
    params: &TickParams,
    frames: &mut [u32],
    owners: &mut [u32],
    chunk_zone: &[u32],
    tasks: &[TaskDesc],
    numa_cfg: &[u32],
    numa_state: &mut [u32],
    numa_tasks: &mut [u32],
    plan: &mut PlanMut,
    _order: u32,
) {
    let mode = numa_cfg[NC_MODE];
    if mode == 0 {
        return;
    }
    let rooms: Vec<i32> = (0..params.nr_nodes as usize)
        .map(|n| numa_state[NSG_ROOM + n] as i32)
        .collect();
    let state = atomics(numa_state);
    let nt = atomics(numa_tasks);
    let stride = stride(params);
    let cf = CHUNK_FRAMES as usize;
    let touch_prefix = hash_prefix(params.seed, params.tick, STREAM_NUMA_TOUCH);
    let thread_prefix = hash_prefix(params.seed, params.tick, STREAM_NUMA_THREAD);
    let va_prefix = hash_prefix(params.seed, 0, STREAM_NUMA_VA);
    let toptier = numa_cfg[NC_TOPTIER];
    // Without a scan window this tick, only chunks that may hold
    // PROT_NONE pages have work.
    let scanning = state[NSG_SCAN_TICK].load(Relaxed) == params.tick.wrapping_add(1);
    let nc = params.nr_chunks as usize;
    let (chunk_words, prot_none) = plan.mig[MIG_CHUNKS..].split_at_mut(nc);
    let mut total = Counts::default();
    for (zone, chunks) in zone_runs(chunk_zone) {
        let page_nid = numa_cfg[NC_ZONE_NODE + zone];
        let page_top = toptier >> page_nid & 1 != 0;
        let parts = (
            rows(frames, &chunks, cf),
            rows(owners, &chunks, cf),
            rows(chunk_words, &chunks, 1),
            rows(prot_none, &chunks, 1),
        );
        let c = fold_chunks(
            chunks,
            parts,
            |chunk, (frames, owners, candidates, prot_none)| {
                let base_pfn = (chunk * cf) as u32;
                let mut c = Counts::default();
                let mut found = 0u32;
                candidates[0] = 0;
                if !scanning && prot_none[0] == 0 {
                    return c;
                }
                // PROT_NONE pages left in the chunk after this walk.
                let mut left = 0u32;
                let mut i = 0usize;
                while i < cf {
                    let s = frames[i];
                    let o = order(s);
                    i += 1 << o;
                    let at = i - (1 << o);
                    if kind(s) != KIND_ALLOC || USER_ANON_CLASS_MASK >> class(s) & 1 == 0 {
                        continue;
                    }
                    let pfn = base_pfn + at as u32;
                    let owner = owners[at];
                    let t = (owner - OWNER_TASK_BASE) as usize;
                    let td = &tasks[t];
                    if td.alive == 0 {
                        continue;
                    }
                    let b = t * stride;
                    let mut flags = flags(s);
                    let pages = 1u32 << o;
                    let threads = (td.threads & TD_THREADS_MASK).max(1);
                    if flags & AF_PROT_NONE == 0 {
                        // change_prot_numa() over this tick's window.
                        let hi = nt[b + NT_WIN_HI].load(Relaxed);
                        let lo = nt[b + NT_WIN_LO].load(Relaxed);
                        if hi <= lo {
                            continue;
                        }
                        // A page's place in the address space: its chunk's
                        // (so a window's pages cluster in chunks).
                        let span = nt[b + NT_SPAN].load(Relaxed).max(1);
                        let v = hash_at(va_prefix, chunk as u32) % span;
                        if v < lo || v >= hi {
                            continue;
                        }
                        // Top-tier pages are left alone unless NORMAL is on.
                        if mode & crate::kernel::numa::NUMA_BALANCING_NORMAL == 0 && page_top {
                            continue;
                        }
                        // change_pte_range(): a single-threaded task's
                        // pages already on its node (not for a PMD).
                        let node0 = numa_cfg[NC_THREADS + t * MAX_THREADS] & NC_THREAD_NODE_MASK;
                        if o == 0 && threads == 1 && node0 == page_nid {
                            continue;
                        }
                        frames[at] = with_flags(s, flags | AF_PROT_NONE);
                        left += 1;
                        c.pte_updates += pages;
                        c.huge_pte_updates += u32::from(o == PAGEBLOCK_ORDER);
                        nt[b + NT_SCAN_UPDATES].fetch_add(1, Relaxed);
                        continue;
                    }
                    // A PROT_NONE page: touched this tick?
                    let p = if flags & AF_HOT != 0 {
                        td.hot_touch
                    } else {
                        td.cold_touch
                    };
                    if hash_at(touch_prefix, pfn) >= p {
                        left += 1;
                        continue;
                    }
                    // By whom: the thread that faulted it last, with the
                    // task's private share, else any of its threads.
                    let u = hash_at(thread_prefix, pfn);
                    let home = af_pid(flags).wrapping_sub(td.pid) & AF_PID_MASK;
                    let private16 = td.hot_private >> 16;
                    let thread = if af_nid(flags).is_some() && home < threads && u >> 16 < private16
                    {
                        home
                    } else {
                        (u & 0xffff) % threads
                    };
                    let pid = td.pid + thread;
                    let tnode = numa_cfg[NC_THREADS + t * MAX_THREADS + thread as usize]
                        & NC_THREAD_NODE_MASK;
                    let local = page_nid == tnode;
                    // numa_migrate_prep().
                    c.faults += 1;
                    c.faults_local += local as u32;
                    c.node[tnode as usize][0] += 1;
                    c.node[tnode as usize][1] += local as u32;
                    add64(nt, b + NT_FAULTS, 1);
                    let before = flags;
                    let private = fault_is_private(before, pid);
                    if !private {
                        // task_numa_group(): the threads join one group.
                        nt[b + NT_GROUP_NEW].store(1, Relaxed);
                    }
                    let mof = td.threads & TD_MOF != 0;
                    let mut target = None;
                    if let PolicyVerdict::Filter(polnid) =
                        mpol_verdict(td.mode, td.nodemask, mof, page_nid, tnode)
                    {
                        let preferred = nt[b + NT_PREFERRED].load(Relaxed);
                        let group = (nt[b + NT_GROUP].load(Relaxed) != 0).then(|| {
                            let node = |n: u32, w: usize| {
                                nt[b + NT_HDR + n as usize * NTN_WORDS + w].load(Relaxed)
                            };
                            GroupCmp {
                                cpu_dst: node(tnode, NTN_CPU),
                                cpu_src: node(page_nid, NTN_CPU),
                                mem_src: node(page_nid, NTN_MEM)
                                    .saturating_add(node(page_nid, NTN_MEM + 1)),
                                mem_dst: node(tnode, NTN_MEM)
                                    .saturating_add(node(tnode, NTN_MEM + 1)),
                            }
                        });
                        let f = should_numa_migrate_memory(
                            &Faulter {
                                pid,
                                nid: tnode,
                                preferred_nid: preferred.checked_sub(1),
                                scan_seq: nt[b + NT_SEQ].load(Relaxed),
                            },
                            group,
                            &mut flags,
                            page_top,
                        );
                        if f.migrate() && page_nid != polnid {
                            target = Some(polnid);
                        }
                    }
                    let mut failed = false;
                    if let Some(target) = target {
                        if migrate_balanced_pgdat(rooms[target as usize], pages) {
                            // A candidate: numa_collect lists it.
                            frames[at] = with_flags(s, flags);
                            owners[at] = owner
                                | OWNER_MIGRATING
                                | if private { OWNER_PRIVATE } else { 0 }
                                | if af_nid(before).is_some() {
                                    OWNER_LAST_VALID
                                } else {
                                    0
                                }
                                | thread << OWNER_THREAD_SHIFT;
                            found += 1;
                            left += 1;
                            continue;
                        }
                        // numamigrate_isolate_page() refused.
                        c.refused += 1;
                        failed = true;
                    }
                    // The entry is made present again (out_map).
                    frames[at] = with_flags(s, flags & !AF_PROT_NONE);
                    let tiering = mode & crate::kernel::numa::NUMA_BALANCING_MEMORY_TIERING != 0;
                    if !page_top && (tiering || af_nid(before).is_none()) {
                        continue;
                    }
                    task_numa_fault(
                        nt,
                        b,
                        &FaultStat {
                            mem_node: page_nid,
                            cpu_node: tnode,
                            pages,
                            private,
                            local,
                            failed,
                            migrated: false,
                        },
                    );
                }
                candidates[0] = found;
                prot_none[0] = left;
                c
            },
            |a, c| a + c,
        );
        total = total + c;
    }
    event(state, NE_PTE_UPDATES, total.pte_updates);
    event(state, NE_HUGE_PTE_UPDATES, total.huge_pte_updates);
    event(state, NE_HINT_FAULTS, total.faults);
    event(state, NE_HINT_FAULTS_LOCAL, total.faults_local);
    event(state, NE_MIGRATE_REFUSED, total.refused);
    for n in 0..params.nr_nodes as usize {
        add64(state, NE_NODE + 4 * n, total.node[n][0]);
        add64(state, NE_NODE + 4 * n + 2, total.node[n][1]);
    }
}
