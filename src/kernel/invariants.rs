//! The invariant checker: every property that must hold between ticks,
//! each with a name, checked against a recount of the frame array.

use crate::engine::state::SimBuffers;
use crate::engine::types::*;
use crate::model::frame::*;
use crate::model::workload::{CLASSES, NR_CLASSES, USER_ANON_CLASS_MASK};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invariant `{name}` broken at tick {tick}: {detail}")]
pub struct Violation {
    pub name: &'static str,
    pub tick: u64,
    pub detail: String,
}

/// `contig_taken`: per zone, frames taken by contiguous-range allocation,
/// which counts no pgalloc (`Hugetlb::contig_taken`; empty for none).
pub fn check(
    b: &SimBuffers,
    totals: &[[u64; NR_ZONE_STATS]],
    contig_taken: &[u64],
    tick: u64,
) -> Result<(), Violation> {
    let v = |name: &'static str, detail: String| Err(Violation { name, tick, detail });
    let cf = CHUNK_FRAMES as usize;
    let nr_tasks = b.tasks.len() as u32;
    let nz = b.zones.len();
    // Pages of allocated blocks per (task, zone), against `TZ_RSS`.
    let mut rss = vec![0u64; b.tasks.len() * nz];

    if let Some(pb) = b
        .pageblocks
        .iter()
        .position(|&m| m as usize >= MIGRATE_TYPES)
    {
        return v(
            "pageblock-type",
            format!("pageblock {pb} has migratetype {}", b.pageblocks[pb]),
        );
    }

    for (zi, zd) in b.zones.iter().enumerate() {
        let mut free_area = [[0u32; MIGRATE_TYPES]; NR_PAGE_ORDERS];
        let mut nr_free = 0u64;
        let mut class_pages = [0u64; NR_CLASSES];
        let mut reserved = 0u64;
        let mut huge = [0u64; 2];
        let mut vmemmap_runtime = 0u64;
        // Out for reporting: neither free nor used.
        let mut reporting = 0u64;
        for c in zd.start_chunk as usize..(zd.start_chunk + zd.nr_chunks) as usize {
            if b.chunk_zone[c] as usize != zi {
                return v(
                    "chunk-zone",
                    format!(
                        "chunk {c} is in zone {zi} but chunk_zone says {}",
                        b.chunk_zone[c]
                    ),
                );
            }
            let base = c * cf;
            let mut i = 0usize;
            while i < cf {
                let pfn = base + i;
                let s = b.frames[pfn];
                let d = decode(s);
                if d.kind == KIND_TAIL || d.kind >= NR_KINDS {
                    return v(
                        "block-tiling",
                        format!(
                            "pfn {pfn:#x} should head a block but holds `{d}` (state {s:#010x})"
                        ),
                    );
                }
                if d.order > MAX_PAGE_ORDER || !i.is_multiple_of(1 << d.order) {
                    return v(
                        "block-aligned",
                        format!("pfn {pfn:#x}: `{d}` is not aligned to its order"),
                    );
                }
                let allowed = match d.kind {
                    KIND_HUGE => HF_ALL,
                    KIND_VMEMMAP => VMF_ALL,
                    KIND_RESERVED => RF_OFFLINE,
                    KIND_FREE => FF_ALL,
                    KIND_REPORTING => REPORT_BATCH_MASK,
                    // NUMA balancing's PROT_NONE, hot set and cpupid,
                    // on user pages only.
                    KIND_ALLOC if USER_ANON_CLASS_MASK >> d.class & 1 != 0 => AF_ALL,
                    _ => 0,
                };
                if d.flags & !allowed != 0 {
                    return v(
                        "frame-flags",
                        format!("pfn {pfn:#x}: `{d}` has flags no subsystem sets"),
                    );
                }
                let owner = b.owners[pfn];
                match d.kind {
                    KIND_FREE => {
                        if owner != OWNER_NONE || d.mt != 0 || d.class != 0 {
                            return v("free-clean", format!("pfn {pfn:#x}: free block with owner {owner} / stale fields `{d}`"));
                        }
                        free_area[d.order as usize]
                            [b.pageblocks[pfn >> PAGEBLOCK_ORDER] as usize] += 1;
                        nr_free += 1 << d.order;
                        if d.flags & FF_REPORTED != 0 && d.flags & FF_UNBACKED == 0 {
                            return v(
                                "reported-unbacked",
                                format!(
                                    "pfn {pfn:#x}: `{d}` is reported but the host still backs it"
                                ),
                            );
                        }
                    }
                    KIND_REPORTING => {
                        if owner != OWNER_NONE || d.mt != 0 || d.class != 0 || d.flags == 0 {
                            return v("reporting-clean", format!("pfn {pfn:#x}: block out for reporting with owner {owner} / fields `{d}`"));
                        }
                        reporting += 1 << d.order;
                    }
                    KIND_ALLOC => {
                        if owner & !OWNER_TASK_MASK != 0 {
                            return v("migration-in-flight", format!("pfn {pfn:#x}: owner word {owner:#x} still marks a NUMA migration between ticks (a block is migrated within one tick, in exactly one list entry)"));
                        }
                        if owner < OWNER_TASK_BASE || owner - OWNER_TASK_BASE >= nr_tasks {
                            return v("owner-valid", format!("pfn {pfn:#x}: allocated block owned by {owner}, but there are {nr_tasks} tasks"));
                        }
                        if d.class as usize >= NR_CLASSES
                            || CLASSES[d.class as usize].order != d.order
                            || d.mt >= MIGRATE_PCPTYPES
                        {
                            return v(
                                "alloc-class",
                                format!("pfn {pfn:#x}: `{d}` does not match its class"),
                            );
                        }
                        class_pages[d.class as usize] += 1 << d.order;
                        if USER_ANON_CLASS_MASK >> d.class & 1 != 0 {
                            rss[(owner - OWNER_TASK_BASE) as usize * nz + zi] += 1 << d.order;
                        }
                    }
                    KIND_HUGE => {
                        let gig = d.flags & HF_GIGANTIC != 0;
                        if d.order != if gig { MAX_PAGE_ORDER } else { 9 } {
                            return v(
                                "hugetlb-frame",
                                format!("pfn {pfn:#x}: `{d}` has the wrong order for its size"),
                            );
                        }
                        let inuse = d.flags & HF_INUSE != 0;
                        if inuse != (owner != OWNER_NONE)
                            || (inuse && owner - OWNER_TASK_BASE >= nr_tasks)
                        {
                            return v(
                                "hugetlb-frame",
                                format!("pfn {pfn:#x}: `{d}` has owner {owner}"),
                            );
                        }
                        huge[0] += 1 << d.order;
                        if inuse {
                            huge[1] += 1 << d.order;
                        }
                    }
                    KIND_VMEMMAP if d.flags & VMF_RUNTIME != 0 => {
                        if d.order != 0 {
                            return v("vmemmap-frame", format!("pfn {pfn:#x}: `{d}`: vmemmap pages allocated after boot are single pages"));
                        }
                        vmemmap_runtime += 1;
                    }
                    _ => reserved += 1 << d.order,
                }
                for t in 1..(1usize << d.order) {
                    if b.frames[pfn + t] != 0 || b.owners[pfn + t] != 0 {
                        return v(
                            "block-tiling",
                            format!("pfn {:#x} lies inside the block `{d}` at {pfn:#x} but holds state {:#010x} owner {}", pfn + t, b.frames[pfn + t], b.owners[pfn + t]),
                        );
                    }
                }
                i += 1 << d.order;
            }
            // Free buddies that the kernel would have merged.
            for k in 0..MAX_PAGE_ORDER {
                let half = 1usize << k;
                let mut a = base;
                while a < base + cf {
                    // A block a report drained this tick merges at the
                    // next tick's `merge` (its chunk is marked for it).
                    let drained = (is_reported(b.frames[a]) || is_reported(b.frames[a + half]))
                        && b.chunk_dirty.get(c).is_some_and(|&d| d & DIRTY_DRAIN != 0);
                    if !drained
                        && is_free_block(b.frames[a], k)
                        && is_free_block(b.frames[a + half], k)
                    {
                        let (ma, mb) = (
                            b.pageblocks[a >> PAGEBLOCK_ORDER],
                            b.pageblocks[(a + half) >> PAGEBLOCK_ORDER],
                        );
                        if k < PAGEBLOCK_ORDER
                            || ma == mb
                            || (migratetype_is_mergeable(ma) && migratetype_is_mergeable(mb))
                        {
                            return v("buddies-merged", format!("free buddies of order {k} at pfn {a:#x} and {:#x} were left unmerged", a + half));
                        }
                    }
                    a += half << 1;
                }
            }
        }
        let zs = &b.zone_state[zi];
        let name = format!(
            "zone {zi} (node {} {})",
            zd.node,
            crate::model::topology::ZoneType::from_index(zd.zone_type).name()
        );
        for (o, (counted, recounted)) in zs.free_area.iter().zip(free_area.iter()).enumerate() {
            for mt in 0..MIGRATE_TYPES {
                if counted[mt] != recounted[mt] {
                    return v(
                        "free-recount",
                        format!(
                            "{name} order {o} {}: counter {} but the frames hold {}",
                            MIGRATETYPE_NAMES[mt], zs.free_area[o][mt], free_area[o][mt]
                        ),
                    );
                }
            }
        }
        if zs.nr_free as u64 != nr_free {
            return v(
                "free-recount",
                format!(
                    "{name}: NR_FREE_PAGES {} but the frames hold {nr_free} free pages",
                    zs.nr_free
                ),
            );
        }
        for c in 0..NR_CLASSES {
            if zs.class_pages[c] as u64 != class_pages[c] {
                return v(
                    "class-recount",
                    format!(
                        "{name} class {}: counter {} but the frames hold {}",
                        CLASSES[c].name, zs.class_pages[c], class_pages[c]
                    ),
                );
            }
        }
        let used: u64 = class_pages.iter().sum();
        if nr_free + reporting + used + huge[0] + vmemmap_runtime + reserved != zd.nr_frames as u64
            || reserved != zd.reserved as u64
            || zd.managed + zd.reserved != zd.nr_frames
        {
            return v(
                "frame-states",
                format!("{name}: free {nr_free} + out for reporting {reporting} + allocated {used} + hugetlb {} + vmemmap {vmemmap_runtime} + reserved {reserved} != spanned {} (reserved should be {}, managed {})", huge[0], zd.nr_frames, zd.reserved, zd.managed),
            );
        }
        if zs.huge_frames as u64 != huge[0] || zs.huge_inuse_frames as u64 != huge[1] {
            return v(
                "hugetlb-recount",
                format!(
                    "{name}: counted {} hugetlb frames ({} in use) but the frames hold {} ({})",
                    zs.huge_frames, zs.huge_inuse_frames, huge[0], huge[1]
                ),
            );
        }
        if zs.vmemmap_runtime_frames as u64 != vmemmap_runtime {
            return v(
                "vmemmap-recount",
                format!(
                    "{name}: counted {} runtime vmemmap frames but the frames hold {vmemmap_runtime}",
                    zs.vmemmap_runtime_frames
                ),
            );
        }
        // Every page allocated and not yet freed is still allocated: a
        // task's, a huge page's or a runtime vmemmap page (memory entering
        // the allocator for the first time, boot vmemmap pages given back
        // by HVO included, counts no pgfree).
        let t = &totals[zi];
        let taken = contig_taken.get(zi).copied().unwrap_or(0);
        let held = used + huge[0] + vmemmap_runtime;
        if t[ZS_PGALLOC] + taken < t[ZS_PGFREE] || t[ZS_PGALLOC] + taken - t[ZS_PGFREE] != held {
            return v(
                "alloc-free-balance",
                format!(
                    "{name}: pgalloc {} + taken uncounted {taken} - pgfree {} != allocated pages {held} (tasks {used}, hugetlb {}, vmemmap {vmemmap_runtime})",
                    t[ZS_PGALLOC], t[ZS_PGFREE], huge[0]
                ),
            );
        }
        if t[ZS_NUMA_HIT] + t[ZS_NUMA_MISS] != t[ZS_ALLOCS]
            || t[ZS_NUMA_LOCAL] + t[ZS_NUMA_OTHER] != t[ZS_ALLOCS]
        {
            return v(
                "numa-events",
                format!("{name}: numa_hit {} + numa_miss {} and numa_local {} + numa_other {} must both equal allocations {}", t[ZS_NUMA_HIT], t[ZS_NUMA_MISS], t[ZS_NUMA_LOCAL], t[ZS_NUMA_OTHER], t[ZS_ALLOCS]),
            );
        }
    }
    // Each task's resident pages per zone, as the device keeps them.
    for (i, &want) in rss.iter().enumerate() {
        let got = b.task_zone.get(i * TZ_WORDS + TZ_RSS).copied().unwrap_or(0);
        if got as u64 != want {
            return v(
                "task-rss",
                format!(
                    "task {} zone {}: {want} pages allocated, but its resident count says {got}",
                    i / nz,
                    i % nz
                ),
            );
        }
    }
    // Every miss on one node is a foreign allocation charged to another.
    let miss: u64 = totals.iter().map(|t| t[ZS_NUMA_MISS]).sum();
    let foreign: u64 = totals.iter().map(|t| t[ZS_NUMA_FOREIGN]).sum();
    if miss != foreign {
        return v(
            "numa-foreign",
            format!("sum of numa_miss {miss} != sum of numa_foreign {foreign}"),
        );
    }
    Ok(())
}
