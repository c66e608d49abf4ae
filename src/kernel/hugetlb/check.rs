//! Hugetlb's invariants against the frame array: every page the pools
//! count is in the frames with the flags its record says, and every
//! vmemmap page is backed by the frame the vmemmap's page table names.

use super::*;
use crate::engine::state::SimBuffers;

pub fn check(
    h: &Hugetlb,
    b: &SimBuffers,
    tasks: &[crate::kernel::TaskInfo],
) -> Result<(), (&'static str, String)> {
    h.check_counters()?;
    let nn = h.nr_nodes();
    let mut saved = vec![0u64; nn];
    for (&pfn, p) in &h.pages {
        let s = b.frames[pfn as usize];
        if s != p.head_state() {
            return Err((
                "hugetlb-page-frame",
                format!(
                    "the {} page at pfn {pfn:#x} should be `{}` but the frame holds `{}`",
                    hstate_name(p.hs),
                    decode(p.head_state()),
                    decode(s)
                ),
            ));
        }
        let owner = b.owners[pfn as usize];
        let want = match p.user {
            Some((m, _)) => h.mappings[m as usize].task as u32 + OWNER_TASK_BASE,
            None => OWNER_NONE,
        };
        if owner != want {
            return Err((
                "hugetlb-page-frame",
                format!("the page at pfn {pfn:#x} has owner {owner}, its mapping says {want}"),
            ));
        }
        if let Some((m, _)) = p.user {
            if tasks.get(h.mappings[m as usize].task).is_none() {
                return Err(("hugetlb-page-frame", format!("pfn {pfn:#x}: unknown task")));
            }
        }
        saved[p.node as usize] += p.vmemmap_freed as u64;
    }
    // Frames of hugetlb pages per node equal the pages the pools count.
    #[allow(clippy::needless_range_loop)]
    for n in 0..nn {
        let frames: u64 = b
            .zones
            .iter()
            .zip(b.zone_state.iter())
            .filter(|(zd, _)| zd.node == n as u32)
            .map(|(_, zs)| zs.huge_frames as u64)
            .sum();
        let pools: u64 = (0..NR_HSTATES)
            .map(|hs| h.hstates[hs].nr_huge_pages_node[n] << HSTATE_ORDER[hs])
            .sum();
        if frames != pools {
            return Err((
                "hugetlb-frames",
                format!("node {n}: the frames hold {frames} frames of hugetlb pages, the pools count {pools}"),
            ));
        }
        if saved[n] != h.node_stats[n].vmemmap_saved {
            return Err((
                "vmemmap-saved",
                format!(
                    "node {n}: vmemmap saved {} but its pages gave back {}",
                    h.node_stats[n].vmemmap_saved, saved[n]
                ),
            ));
        }
    }
    // The vmemmap's page table.
    for (s, &backing) in h.vmemmap.iter().enumerate() {
        let s = s as u32;
        if backing == SLOT_REMAPPED {
            // Given back by HVO: a page covering it gave back its tail.
            let head2m = (s * 64) & !((1 << 9) - 1);
            let head1g = (s * 64) & !((1 << 18) - 1);
            let ok = [(head2m, HS_2M), (head1g, HS_1G)].iter().any(|&(hp, hs)| {
                h.pages.get(&hp).is_some_and(|p| {
                    p.hs == hs && s >= hp / 64 + VMEMMAP_PAGES[hs] - p.vmemmap_freed
                })
            });
            if !ok {
                return Err((
                    "vmemmap-map",
                    format!("vmemmap page {s} is remapped, but no optimized huge page covers it"),
                ));
            }
            continue;
        }
        // The backing frame is a vmemmap page holding this index.
        let head = head_of(|q| b.frames[q as usize], backing);
        let st = b.frames[head as usize];
        let ok = kind(st) == KIND_VMEMMAP
            && flags(st) & VMF_PTE == 0
            && b.owners[head as usize] + (backing - head) == s + 1;
        if !ok {
            return Err((
                "vmemmap-map",
                format!(
                    "vmemmap page {s} should be backed by pfn {backing:#x}, which holds `{}`",
                    decode(b.frames[backing as usize])
                ),
            ));
        }
    }
    for (pmd, &pt) in h.pmd_split.iter().enumerate() {
        if pt != 0
            && (b.frames[(pt - 1) as usize] != make_vmemmap(0, VMF_RUNTIME | VMF_PTE)
                || b.owners[(pt - 1) as usize] != pmd as u32 + 1)
        {
            return Err((
                "vmemmap-pmd",
                format!(
                    "vmemmap PMD {pmd} is split, but pfn {:#x} is not its PTE table",
                    pt - 1
                ),
            ));
        }
    }
    Ok(())
}
