//! The kernel's text formats, one function per file. Each cites the kernel
//! function whose output it reproduces.

use crate::engine::types::*;
use crate::engine::SimBuffers;
use crate::kernel::Machine;
use crate::model::frame::*;
use crate::model::topology::{ZoneType, ZONE_TYPES};
use crate::model::workload::*;
use std::collections::BTreeSet;
use std::fmt::Write;

/// Pages allocated per meminfo bucket, for a set of zones.
#[derive(Default, Clone, Copy, Debug)]
pub struct Usage {
    pub anon: u64,
    pub file: u64,
    pub thp: u64,
    pub kstack: u64,
    pub sunreclaim: u64,
    pub sreclaimable: u64,
    pub pagetables: u64,
    pub unaccounted: u64,
    pub free: u64,
    pub managed: u64,
}

pub fn usage(b: &SimBuffers, zones: impl Iterator<Item = usize>) -> Usage {
    let mut u = Usage::default();
    for z in zones {
        let zs = &b.zone_state[z];
        u.free += zs.nr_free as u64;
        u.managed += b.zones[z].managed as u64;
        for (c, ci) in CLASSES.iter().enumerate() {
            let p = zs.class_pages[c] as u64;
            match ci.bucket {
                MeminfoBucket::Anon => u.anon += p,
                MeminfoBucket::File => u.file += p,
                MeminfoBucket::AnonHuge => u.thp += p,
                MeminfoBucket::KernelStack => u.kstack += p,
                MeminfoBucket::SUnreclaim => u.sunreclaim += p,
                MeminfoBucket::SReclaimable => u.sreclaimable += p,
                MeminfoBucket::PageTables => u.pagetables += p,
                MeminfoBucket::Unaccounted => u.unaccounted += p,
            }
        }
    }
    u
}

fn kb(pages: u64) -> u64 {
    pages << (PAGE_SHIFT - 10)
}

fn node_zones(b: &SimBuffers, nid: u32) -> impl Iterator<Item = usize> + '_ {
    (0..b.zones.len()).filter(move |&z| b.zones[z].node == nid)
}

fn zone_free_blocks(b: &SimBuffers, z: usize, order: usize) -> u64 {
    b.zone_state[z].free_area[order]
        .iter()
        .map(|&x| x as u64)
        .sum()
}

/// /proc/buddyinfo: `frag_show_print()`.
pub fn buddyinfo(b: &SimBuffers) -> String {
    let mut s = String::new();
    for (z, zd) in b.zones.iter().enumerate() {
        let _ = write!(
            s,
            "Node {}, zone {:>8} ",
            zd.node,
            ZoneType::from_index(zd.zone_type).name()
        );
        for o in 0..NR_PAGE_ORDERS {
            let _ = write!(s, "{:6} ", zone_free_blocks(b, z, o));
        }
        s.push('\n');
    }
    s
}

/// /proc/pagetypeinfo: `pagetypeinfo_show()`.
/// A zone as memory hotplug leaves it: (start_pfn, spanned, present).
/// offline_pages() lowers `present_pages` by the block's pages and
/// shrink_zone_span() moves the span's ends past offline memory at
/// either end (a hole in the middle stays spanned); a zone with nothing
/// present spans nothing and starts at 0.
pub fn zone_span(offline: &BTreeSet<u32>, zd: &ZoneDesc) -> (u64, u64, u64) {
    use crate::kernel::hugetlb::MEMORY_BLOCK_FRAMES as F;
    let (start, end) = (
        zd.start_pfn as u64,
        zd.start_pfn as u64 + zd.nr_frames as u64,
    );
    let is_off = |pfn: u64| offline.contains(&((pfn / F) as u32));
    let mut off = 0u64;
    for &b in offline {
        let (bs, be) = (b as u64 * F, (b as u64 + 1) * F);
        off += be.min(end).saturating_sub(bs.max(start));
    }
    let present = zd.nr_frames as u64 - off;
    if present == 0 {
        return (0, 0, 0);
    }
    // Walk in blocks from each end (offline memory is whole blocks).
    let mut lo = start;
    while lo < end && is_off(lo) {
        lo = (lo / F + 1) * F;
    }
    let mut hi = end;
    while hi > lo && is_off(hi - 1) {
        hi = (hi - 1) / F * F;
    }
    (lo, hi - lo, present)
}

/// Whether pageblock `pb` is in an offline memory block.
fn pageblock_offline(offline: &BTreeSet<u32>, pb: usize) -> bool {
    use crate::kernel::hugetlb::MEMORY_BLOCK_FRAMES as F;
    !offline.is_empty() && offline.contains(&((((pb as u64) << PAGEBLOCK_ORDER) / F) as u32))
}

pub fn pagetypeinfo(b: &SimBuffers, nr_nodes: u32, offline: &BTreeSet<u32>) -> String {
    let mut s = String::new();
    for nid in 0..nr_nodes {
        let zones: Vec<usize> = node_zones(b, nid).collect();
        if zones.is_empty() {
            continue;
        }
        let _ = writeln!(s, "Page block order: {PAGEBLOCK_ORDER}");
        let _ = writeln!(s, "Pages per block:  {PAGEBLOCK_FRAMES}");
        s.push('\n');
        let _ = write!(s, "{:<43} ", "Free pages count per migrate type at order");
        for o in 0..NR_PAGE_ORDERS {
            let _ = write!(s, "{o:6} ");
        }
        s.push('\n');
        for &z in &zones {
            let zname = ZoneType::from_index(b.zones[z].zone_type).name();
            for (mt, mtname) in MIGRATETYPE_NAMES.iter().enumerate() {
                let _ = write!(s, "Node {nid:4}, zone {zname:>8}, type {mtname:>12} ");
                for o in 0..NR_PAGE_ORDERS {
                    let n = b.zone_state[z].free_area[o][mt];
                    if n >= 100_000 {
                        let _ = write!(s, ">{:6} ", 100_000);
                    } else {
                        let _ = write!(s, "{n:6} ");
                    }
                }
                s.push('\n');
            }
        }
        let _ = write!(s, "\n{:<23}", "Number of blocks type ");
        for name in MIGRATETYPE_NAMES {
            let _ = write!(s, "{name:>12} ");
        }
        s.push('\n');
        for &z in &zones {
            let zd = &b.zones[z];
            let mut count = [0u64; MIGRATE_TYPES];
            let first = zd.start_pfn as usize >> PAGEBLOCK_ORDER;
            let n = zd.nr_frames as usize >> PAGEBLOCK_ORDER;
            // pagetypeinfo_showblockitcount(): pfn_to_online_page() skips
            // offline memory.
            for (i, &mt) in b.pageblocks[first..first + n].iter().enumerate() {
                if !pageblock_offline(offline, first + i) {
                    count[mt as usize] += 1;
                }
            }
            let _ = write!(
                s,
                "Node {}, zone {:>8} ",
                nid,
                ZoneType::from_index(zd.zone_type).name()
            );
            for c in count {
                let _ = write!(s, "{c:12} ");
            }
            s.push('\n');
        }
    }
    s
}

/// `calculate_totalreserve_pages()`.
fn totalreserve_pages(b: &SimBuffers) -> u64 {
    b.zones
        .iter()
        .map(|z| {
            let max_reserve = *z.lowmem_reserve.iter().max().unwrap_or(&0) as u64;
            (max_reserve + z.wmark_high as u64).min(z.managed as u64)
        })
        .sum()
}

/// The watermark an empty zone of type `zt` holds: 0, except ZONE_MOVABLE,
/// which `__setup_per_zone_wmarks()` caps to the clamped minimum
/// (SWAP_CLUSTER_MAX, 32 pages) whatever its size. Debian's 6.1 (QEMU,
/// `../shared/realkernel`) prints 0 for an empty Movable zone: that kernel
/// predates the cap, and numasim follows the newer one.
fn empty_zone_wmark(zt: ZoneType) -> u64 {
    if zt == ZoneType::Movable {
        32
    } else {
        0
    }
}

/// `si_mem_available()`. `for_each_zone()` sums the low watermark of every
/// zone, the empty ones included (their watermark is what zoneinfo
/// prints for them, `empty_zone_wmark()`).
pub fn mem_available(b: &SimBuffers) -> u64 {
    let u = usage(b, 0..b.zones.len());
    let empty: u64 = (0..b.nodes.len() as u32)
        .flat_map(|nid| {
            ZONE_TYPES
                .into_iter()
                .filter(move |&zt| !node_zones(b, nid).any(|z| b.zones[z].zone_type == zt as u32))
        })
        .map(empty_zone_wmark)
        .sum();
    let wmark_low: u64 = b.zones.iter().map(|z| z.wmark_low as u64).sum::<u64>() + empty;
    let mut avail = u.free as i64 - totalreserve_pages(b) as i64;
    let pagecache = u.file;
    avail += (pagecache - (pagecache / 2).min(wmark_low)) as i64;
    let rec = u.sreclaimable;
    avail += (rec - (rec / 2).min(wmark_low)) as i64;
    avail.max(0) as u64
}

/// /proc/meminfo: `meminfo_proc_show()`, the lines this model produces, in
/// the kernel's order (no LRU lists, swap, writeback or vmalloc modelled).
pub fn meminfo(b: &SimBuffers) -> String {
    let u = usage(b, 0..b.zones.len());
    let mut s = String::new();
    let mut line = |label: &str, pages: u64| {
        let _ = writeln!(s, "{label:<16}{:8} kB", kb(pages));
    };
    line("MemTotal:", u.managed);
    line("MemFree:", u.free);
    line("MemAvailable:", mem_available(b));
    line("Buffers:", 0);
    line("Cached:", u.file);
    line("SwapCached:", 0);
    line("SwapTotal:", 0);
    line("SwapFree:", 0);
    line("AnonPages:", u.anon + u.thp);
    line("KReclaimable:", u.sreclaimable);
    line("Slab:", u.sreclaimable + u.sunreclaim);
    line("SReclaimable:", u.sreclaimable);
    line("SUnreclaim:", u.sunreclaim);
    let _ = writeln!(s, "KernelStack:    {:8} kB", kb(u.kstack));
    let mut line = |label: &str, pages: u64| {
        let _ = writeln!(s, "{label:<16}{:8} kB", kb(pages));
    };
    line("PageTables:", u.pagetables);
    line("AnonHugePages:", u.thp);
    s
}

/// /sys/devices/system/node/node<N>/meminfo: `node_read_meminfo()`.
pub fn node_meminfo(b: &SimBuffers, nid: u32) -> String {
    let u = usage(b, node_zones(b, nid));
    let mut s = String::new();
    let mut line = |label: &str, kbytes: u64| {
        let _ = writeln!(s, "Node {nid} {label:<16}{kbytes:8} kB");
    };
    line("MemTotal:", kb(u.managed));
    line("MemFree:", kb(u.free));
    line("MemUsed:", kb(u.managed - u.free));
    line("SwapCached:", 0);
    line("FilePages:", kb(u.file));
    line("AnonPages:", kb(u.anon + u.thp));
    line("KernelStack:", kb(u.kstack));
    line("PageTables:", kb(u.pagetables));
    line("KReclaimable:", kb(u.sreclaimable));
    line("Slab:", kb(u.sreclaimable + u.sunreclaim));
    line("SReclaimable:", kb(u.sreclaimable));
    line("SUnreclaim:", kb(u.sunreclaim));
    line("AnonHugePages:", kb(u.thp));
    s
}

/// The NUMA counters in `numa_stat_item` order; their names are the
/// /proc/vmstat and zoneinfo spellings.
const NUMA_STATS: [usize; 6] = [
    ZS_NUMA_HIT,
    ZS_NUMA_MISS,
    ZS_NUMA_FOREIGN,
    ZS_NUMA_INTERLEAVE,
    ZS_NUMA_LOCAL,
    ZS_NUMA_OTHER,
];

/// NUMA event totals for a node (or all nodes), in `numa_stat_item` order.
fn numa_events(m: &Machine, node: Option<u32>) -> [u64; 6] {
    NUMA_STATS.map(|st| m.total(st, node))
}

/// /sys/devices/system/node/node<N>/numastat: `node_read_numastat()`.
pub fn numastat(m: &Machine, nid: u32) -> String {
    let e = numa_events(m, Some(nid));
    format!(
        "numa_hit {}\nnuma_miss {}\nnuma_foreign {}\ninterleave_hit {}\nlocal_node {}\nother_node {}\n",
        e[0], e[1], e[2], e[3], e[4], e[5]
    )
}

/// The `zone_stat_item` counters in the kernel's order (6.1's list;
/// `nr_unaccepted`, 6.5, needs CONFIG_UNACCEPTED_MEMORY and is left out).
/// The model keeps no active lists: a page is activated on its second
/// reference, which the model does not simulate, so every LRU page is
/// inactive, as a page the kernel faulted in and never saw referenced
/// again (anonymous pages start inactive since 5.9). It has no mlocked,
/// zsmalloc, bounce or CMA pages and no writeback: those are 0.
fn zone_items(u: &Usage) -> [(&'static str, u64); 11] {
    [
        ("nr_free_pages", u.free),
        ("nr_zone_inactive_anon", u.anon + u.thp),
        ("nr_zone_active_anon", 0),
        ("nr_zone_inactive_file", u.file),
        ("nr_zone_active_file", 0),
        ("nr_zone_unevictable", 0),
        ("nr_zone_write_pending", 0),
        ("nr_mlock", 0),
        ("nr_bounce", 0),
        ("nr_zspages", 0),
        ("nr_free_cma", 0),
    ]
}

/// NR_HUGETLB of a node (or all): hugetlb pages in use, in base pages.
/// alloc_hugetlb_folio() adds a folio's pages when a fault takes it from
/// the pool, free_huge_folio() subtracts them; a node_stat_item since
/// 6.13 (the memcg hugetlb counters), so 6.1 prints no `nr_hugetlb`.
fn hugetlb_in_use(m: &Machine, node: Option<u32>) -> u64 {
    use crate::kernel::hugetlb::{HSTATE_ORDER, NR_HSTATES};
    let h = &m.hugetlb;
    (0..NR_HSTATES)
        .map(|hs| {
            let st = &h.hstates[hs];
            let used: u64 = (0..st.nr_huge_pages_node.len())
                .filter(|&n| node.is_none_or(|x| x as usize == n))
                .map(|n| {
                    st.nr_huge_pages_node[n]
                        - st.free_huge_pages_node[n].min(st.nr_huge_pages_node[n])
                })
                .sum();
            used << HSTATE_ORDER[hs]
        })
        .sum()
}

/// Node-level items this model produces, in `node_stat_item` order (the
/// LRU lists as `zone_items` explains), `nr_hugetlb` last.
fn node_items(u: &Usage, hugetlb_pages: u64) -> Vec<(&'static str, u64)> {
    vec![
        ("nr_inactive_anon", u.anon + u.thp),
        ("nr_active_anon", 0),
        ("nr_inactive_file", u.file),
        ("nr_active_file", 0),
        ("nr_unevictable", 0),
        ("nr_slab_reclaimable", u.sreclaimable),
        ("nr_slab_unreclaimable", u.sunreclaim),
        ("nr_anon_pages", u.anon + u.thp),
        ("nr_file_pages", u.file),
        // Printed in THPs (`vmstat_item_print_in_thp`).
        ("nr_anon_transparent_hugepages", u.thp / 512),
        // NR_KERNEL_STACK_KB is kept in kB.
        ("nr_kernel_stack", kb(u.kstack)),
        ("nr_page_table_pages", u.pagetables),
        ("nr_hugetlb", hugetlb_pages),
    ]
}

/// /proc/vmstat: `vmstat_show()` for the counters this model produces.
/// pgscan equals pgsteal: the model reclaims every page it scans.
pub fn vmstat(m: &Machine, b: &SimBuffers) -> String {
    let u = usage(b, 0..b.zones.len());
    let mut s = String::new();
    let mut put = |name: &str, v: u64| {
        let _ = writeln!(s, "{name} {v}");
    };
    for (name, v) in zone_items(&u) {
        put(name, v);
    }
    for (&st, v) in NUMA_STATS.iter().zip(numa_events(m, None)) {
        let name = ZONE_STAT_NAMES[st];
        put(name, v);
    }
    for (name, v) in node_items(&u, hugetlb_in_use(m, None)) {
        put(name, v);
    }
    // Global vm_stat items since 6.11 ("mm: don't account memmap
    // per-node"); node stats from 6.9 to 6.10.
    let (memmap, boot) = memmap_pages(m, b);
    put("nr_memmap_pages", memmap);
    put("nr_memmap_boot_pages", boot);
    let by_type = |st: usize, zt: ZoneType| -> u64 {
        b.zones
            .iter()
            .enumerate()
            .filter(|(_, z)| z.zone_type == zt as u32)
            .map(|(i, _)| m.totals[i][st])
            .sum()
    };
    for zt in ZONE_TYPES {
        put(
            &format!("pgalloc_{}", zt.vmstat_suffix()),
            by_type(ZS_PGALLOC, zt),
        );
    }
    // allocstall is counted by the request's highest usable zone type.
    put("allocstall_dma32", 0);
    put("allocstall_normal", m.total(ZS_ALLOCSTALL_NORMAL, None));
    put("allocstall_movable", m.total(ZS_ALLOCSTALL_MOVABLE, None));
    put("pgfree", m.total(ZS_PGFREE, None));
    put("pgsteal_kswapd", m.total(ZS_PGSTEAL_KSWAPD, None));
    put("pgsteal_direct", m.total(ZS_PGSTEAL_DIRECT, None));
    put("pgscan_kswapd", m.total(ZS_PGSTEAL_KSWAPD, None));
    put("pgscan_direct", m.total(ZS_PGSTEAL_DIRECT, None));
    put("pageoutrun", m.total(ZS_PAGEOUTRUN, None));
    // NUMA balancing's events (the tick's, in `numa_state`) and the
    // control paths' (`Machine::vm_events`), in vm_event_item order
    // (6.1): the numa_* counters, migration (NUMA balancing, hugetlb
    // pages, offlining, contiguous ranges: the control paths migrate
    // hugetlb and base pages, never THPs), the hugetlb pool's buddy
    // allocations, then the x86 TLB counters of CONFIG_DEBUG_TLBFLUSH
    // (Debian's kernels are built without it; numasim prints them as such
    // a kernel would).
    let ne = |i: usize| crate::kernel::numa::machine::word64(&b.numa_state, NE_BASE + 2 * i);
    put("numa_pte_updates", ne(NE_PTE_UPDATES));
    put("numa_huge_pte_updates", ne(NE_HUGE_PTE_UPDATES));
    put("numa_hint_faults", ne(NE_HINT_FAULTS));
    put("numa_hint_faults_local", ne(NE_HINT_FAULTS_LOCAL));
    put("numa_pages_migrated", ne(NE_PAGES_MIGRATED));
    let e = &m.vm_events;
    put(
        "pgmigrate_success",
        e.pgmigrate_success + ne(NE_PGMIGRATE_SUCCESS),
    );
    put("pgmigrate_fail", e.pgmigrate_fail + ne(NE_PGMIGRATE_FAIL));
    put("thp_migration_success", ne(NE_THP_MIGRATION_SUCCESS));
    put("thp_migration_fail", ne(NE_THP_MIGRATION_FAIL));
    put("thp_migration_split", 0);
    put("htlb_buddy_alloc_success", e.htlb_buddy_alloc_success);
    put("htlb_buddy_alloc_fail", e.htlb_buddy_alloc_fail);
    put("nr_tlb_remote_flush", ne(NE_TLB_REMOTE_FLUSH));
    put(
        "nr_tlb_remote_flush_received",
        ne(NE_TLB_REMOTE_FLUSH_RECEIVED),
    );
    put("nr_tlb_local_flush_all", ne(NE_TLB_LOCAL_FLUSH_ALL));
    put("nr_tlb_local_flush_one", ne(NE_TLB_LOCAL_FLUSH_ONE));
    put("nr_unstable", 0);
    s
}

/// /sys/devices/system/node/node<N>/vmstat: `node_read_vmstat()`: the
/// zone stats summed over the node's zones, the NUMA events, the node
/// stats. `nr_memmap_pages` and `nr_memmap_boot_pages` were node stats in
/// 6.9 and 6.10 only; numasim follows 6.11+, where they are global
/// (/proc/vmstat) and this file has none.
pub fn node_vmstat(m: &Machine, b: &SimBuffers, nid: u32) -> String {
    let u = usage(b, node_zones(b, nid));
    let mut s = String::new();
    for (name, v) in zone_items(&u) {
        let _ = writeln!(s, "{name} {v}");
    }
    for (&st, v) in NUMA_STATS.iter().zip(numa_events(m, Some(nid))) {
        let name = ZONE_STAT_NAMES[st];
        let _ = writeln!(s, "{name} {v}");
    }
    for (name, v) in node_items(&u, hugetlb_in_use(m, Some(nid))) {
        let _ = writeln!(s, "{name} {v}");
    }
    s
}

/// NR_MEMMAP_PAGES and NR_MEMMAP_BOOT_PAGES (mm/vmstat.c, global since
/// 6.11, so summed over every zone): vmemmap
/// pages allocated at run time (restored by HVO) and those still in the
/// boot reservation. The PTE tables of split vmemmap PMDs are page tables,
/// not memmap.
fn memmap_pages(m: &Machine, b: &SimBuffers) -> (u64, u64) {
    let runtime: u64 = b
        .zone_state
        .iter()
        .map(|zs| zs.vmemmap_runtime_frames as u64)
        .sum();
    let boot: u64 = b
        .zone_state
        .iter()
        .map(|zs| zs.vmemmap_boot_frames as u64)
        .sum();
    let pte: u64 = m.hugetlb.node_stats.iter().map(|s| s.pmd_splits).sum();
    (runtime - pte, boot)
}

/// /proc/zoneinfo: `zoneinfo_show_print()`, with the fields this model has
/// (no per-cpu pagesets). Every zone type of every node is printed, empty
/// ones in the short form, as the kernel does.
///
/// By kernel version: numasim prints the `promo` watermark line of newer
/// kernels (Debian's 6.1, compared in `../shared/realkernel`, has none),
/// `nr_hugetlb` (6.13+) among the per-node stats, and no ZONE_DMA or
/// ZONE_DEVICE (the model's zone types are DMA32, Normal, Movable).
///
/// `boost` is 0: `boost_watermark()` raises a zone's watermarks by a
/// pageblock each time a fallback steals a whole pageblock, and kswapd
/// reclaims the boost away before it resets it (`balance_pgdat()`,
/// `nr_boost_reclaim`), to make room for kcompactd. The model has no
/// compaction for that room to serve, and the boost would change the
/// watermarks both backends test inside the tick; it is not modelled, so
/// after fallbacks numasim's kswapd reclaims less than the kernel's.
pub fn zoneinfo(m: &Machine, b: &SimBuffers) -> String {
    let mut s = String::new();
    for nid in 0..m.scenario.topology.nodes.len() as u32 {
        let first_populated = node_zones(b, nid).next();
        for zt in ZONE_TYPES {
            let z = node_zones(b, nid).find(|&z| b.zones[z].zone_type == zt as u32);
            let _ = write!(s, "Node {nid}, zone {:>8}", zt.name());
            if z.is_some() && z == first_populated {
                s.push_str("\n  per-node stats");
                let u = usage(b, node_zones(b, nid));
                for (name, v) in node_items(&u, hugetlb_in_use(m, Some(nid))) {
                    let _ = write!(s, "\n      {name:<12} {v}");
                }
            }
            // The header every zone prints; populated_zone() (present
            // pages) decides whether the stats follow. An empty zone type
            // has the empty zone's watermarks; a zone whose memory all went
            // offline keeps its own.
            let (free, w, (start_pfn, spanned, present), managed, prot) = match z {
                Some(z) => {
                    let zd = &b.zones[z];
                    (
                        b.zone_state[z].nr_free,
                        [zd.wmark_min, zd.wmark_low, zd.wmark_high, zd.wmark_promo].map(u64::from),
                        zone_span(&m.mm.offline_blocks, zd),
                        zd.managed,
                        zd.lowmem_reserve[..ZONE_TYPES.len()].to_vec(),
                    )
                }
                None => (
                    0,
                    [empty_zone_wmark(zt); 4],
                    (0, 0, 0),
                    0,
                    vec![0; ZONE_TYPES.len()],
                ),
            };
            let prot: Vec<String> = prot.iter().map(|v| v.to_string()).collect();
            let _ = write!(
                s,
                "\n  pages free     {free}\n        boost    0\n        min      {}\n        low      {}\n        high     {}\n        promo    {}\n        spanned  {spanned}\n        present  {present}\n        managed  {managed}\n        cma      0\n        protection: ({})",
                w[0], w[1], w[2], w[3], prot.join(", ")
            );
            let Some(z) = z.filter(|_| present > 0) else {
                s.push('\n');
                continue;
            };
            for (name, v) in zone_items(&usage(b, std::iter::once(z))) {
                let _ = write!(s, "\n      {name:<12} {v}");
            }
            for st in NUMA_STATS {
                let _ = write!(s, "\n      {:<12} {}", ZONE_STAT_NAMES[st], m.totals[z][st]);
            }
            // pgdat->kswapd_failures >= MAX_RECLAIM_RETRIES, for every
            // populated zone of the node.
            let unreclaimable = b.node_state[nid as usize].kswapd_failures >= MAX_RECLAIM_RETRIES;
            let _ = write!(
                s,
                "\n  node_unreclaimable:  {}\n  start_pfn:           {}\n",
                unreclaimable as u32, start_pfn
            );
        }
    }
    s
}

/// `fill_contig_page_info()` over a zone's free_area.
pub struct ContigInfo {
    pub free_pages: u64,
    pub free_blocks_total: u64,
    pub free_blocks_suitable: u64,
}

pub fn fill_contig_page_info(nr_free: &[u64; NR_PAGE_ORDERS], suitable_order: u32) -> ContigInfo {
    let mut info = ContigInfo {
        free_pages: 0,
        free_blocks_total: 0,
        free_blocks_suitable: 0,
    };
    for (order, &blocks) in nr_free.iter().enumerate() {
        info.free_blocks_total += blocks;
        info.free_pages += blocks << order;
        if order as u32 >= suitable_order {
            info.free_blocks_suitable += blocks << (order as u32 - suitable_order);
        }
    }
    info
}

/// `__fragmentation_index()`: -1000 when the request would succeed, else
/// 0 (lack of memory) .. 1000 (fragmentation).
pub fn fragmentation_index(order: u32, info: &ContigInfo) -> i64 {
    let requested = 1u64 << order;
    if info.free_blocks_total == 0 {
        return 0;
    }
    if info.free_blocks_suitable > 0 {
        return -1000;
    }
    1000 - ((1000 + info.free_pages * 1000 / requested) / info.free_blocks_total) as i64
}

/// `unusable_free_index()`: the share of free memory unusable for `order`.
pub fn unusable_free_index(order: u32, info: &ContigInfo) -> i64 {
    if info.free_pages == 0 {
        return 1000;
    }
    ((info.free_pages - (info.free_blocks_suitable << order)) * 1000 / info.free_pages) as i64
}

fn zone_nr_free(b: &SimBuffers, z: usize) -> [u64; NR_PAGE_ORDERS] {
    std::array::from_fn(|o| zone_free_blocks(b, z, o))
}

/// C's `%d.%03d` of index/1000 and index%1000 (truncating division, so
/// -1000 prints as `-1.000`), right-aligned to `width` for the integer part.
fn milli(index: i64, width: usize) -> String {
    format!(
        "{:width$}.{:03}",
        index / 1000,
        (index % 1000).abs(),
        width = width
    )
}

/// One line per populated zone, one index per order, as the extfrag
/// debugfs files print them.
fn per_order_index_file(
    b: &SimBuffers,
    index: fn(u32, &ContigInfo) -> i64,
    width: usize,
) -> String {
    let mut s = String::new();
    for (z, zd) in b.zones.iter().enumerate() {
        let _ = write!(
            s,
            "Node {}, zone {:>8} ",
            zd.node,
            ZoneType::from_index(zd.zone_type).name()
        );
        let nr = zone_nr_free(b, z);
        for o in 0..NR_PAGE_ORDERS as u32 {
            let _ = write!(
                s,
                "{} ",
                milli(index(o, &fill_contig_page_info(&nr, o)), width)
            );
        }
        s.push('\n');
    }
    s
}

/// /sys/kernel/debug/extfrag/extfrag_index: `extfrag_show_print()`
/// ("%2d.%03d ").
pub fn extfrag_index(b: &SimBuffers) -> String {
    per_order_index_file(b, fragmentation_index, 2)
}

/// /sys/kernel/debug/extfrag/unusable_index: `unusable_show_print()`
/// ("%d.%03d ").
pub fn unusable_index(b: &SimBuffers) -> String {
    per_order_index_file(b, unusable_free_index, 1)
}

/// A node's `cpumap` as `node_read_cpumap()` (drivers/base/node.c) prints it
/// through `cpumap_print_to_pagebuf(false, ...)`, i.e. `"%*pb\n"` over
/// `nr_cpu_ids` bits: `bitmap_string()` in lib/vsprintf.c writes 32-bit
/// chunks as hex, most significant first, separated by commas; the leading
/// chunk holds `nr_cpu_ids % 32` bits (32 when that is 0) in as many hex
/// digits as those bits need, zero-padded, and every later chunk 8 digits.
/// libnuma's `numa_node_to_cpus()` parses this file.
pub fn cpumap(cpus: &[u32], nr_cpu_ids: u32) -> String {
    let nr_bits = nr_cpu_ids.max(1);
    let nr_chunks = nr_bits.div_ceil(32);
    let mut words = vec![0u32; nr_chunks as usize];
    for &c in cpus.iter().filter(|&&c| c < nr_bits) {
        words[(c / 32) as usize] |= 1 << (c % 32);
    }
    let lead_bits = match nr_bits % 32 {
        0 => 32,
        r => r,
    };
    let mut out = String::new();
    for (i, w) in words.iter().enumerate().rev() {
        let digits = if i + 1 == words.len() {
            lead_bits.div_ceil(4) as usize
        } else {
            8
        };
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&format!("{w:0digits$x}"));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milli_prints_like_c() {
        assert_eq!(milli(-1000, 2), "-1.000");
        assert_eq!(milli(931, 2), " 0.931");
        assert_eq!(milli(0, 1), "0.000");
        assert_eq!(milli(1000, 1), "1.000");
    }
}
