//! The hugetlb, vmemmap and memory-block files: reads in the kernel's
//! formats (mm/hugetlb.c `hugetlb_report_meminfo`,
//! `hugetlb_report_node_meminfo`, the hstate kobject attributes;
//! drivers/base/memory.c) and writes with its semantics and errno.

use super::{fs_err, At, Errno, File, FsError};
use crate::kernel::hugetlb::*;
use crate::kernel::Machine;
use crate::kernel::MachineError;
use std::fmt::Write as _;

/// `/proc/meminfo`'s hugetlb lines (default hstate: 2 MiB).
pub fn meminfo_lines(h: &Hugetlb) -> String {
    let d = &h.hstates[HS_2M];
    let total_kb: u64 = (0..NR_HSTATES)
        .map(|hs| h.hstates[hs].nr_huge_pages * HSTATE_KB[hs])
        .sum();
    format!(
        "HugePages_Total:   {:5}\nHugePages_Free:    {:5}\nHugePages_Rsvd:    {:5}\nHugePages_Surp:    {:5}\nHugepagesize:   {:8} kB\nHugetlb:        {:8} kB\n",
        d.nr_huge_pages,
        d.free_huge_pages,
        d.resv_huge_pages,
        d.surplus_huge_pages,
        HSTATE_KB[HS_2M],
        total_kb
    )
}

/// A node's meminfo hugetlb lines.
pub fn node_meminfo_lines(h: &Hugetlb, nid: u32) -> String {
    let d = &h.hstates[HS_2M];
    let n = nid as usize;
    format!(
        "Node {nid} HugePages_Total: {:5}\nNode {nid} HugePages_Free:  {:5}\nNode {nid} HugePages_Surp:  {:5}\n",
        d.nr_huge_pages_node[n], d.free_huge_pages_node[n], d.surplus_huge_pages_node[n]
    )
}

/// The hugetlb, memory-block and HVO rows of the table.
pub fn files() -> Vec<File> {
    const G: &str = "/sys/kernel/mm/hugepages/{hstate}";
    const N: &str = "/sys/devices/system/node/node{node}/hugepages/{hstate}";
    const MEM: &str = "/sys/devices/system/memory";
    const DBG: &str = "/sys/kernel/debug/numasim";
    vec![
        // /proc/sys/vm/nr_hugepages shows the persistent pages
        // (max_huge_pages, hugetlb_sysctl_handler_common); the sysfs
        // nr_hugepages files show nr_huge_pages, surplus pages included.
        File::rw(
            "/proc/sys/vm/nr_hugepages",
            |m, _| line(m.hugetlb.hstates[HS_2M].max_huge_pages),
            set_default_pages,
        ),
        File::rw(
            "/proc/sys/vm/nr_hugepages_mempolicy",
            |m, _| line(m.hugetlb.hstates[HS_2M].max_huge_pages),
            set_default_pages,
        ),
        File::rw(
            "/proc/sys/vm/nr_overcommit_hugepages",
            |m, _| line(m.hugetlb.hstates[HS_2M].nr_overcommit_huge_pages),
            |m, at, v| {
                m.hugetlb.hstates[HS_2M].nr_overcommit_huge_pages = parse_ulong(at.path, v)?;
                Ok(())
            },
        ),
        // proc_dobool (hugetlb_optimize_vmemmap_handler): an integer,
        // non-zero is on.
        File::rw(
            "/proc/sys/vm/hugetlb_optimize_vmemmap",
            |m, _| line(m.hugetlb.optimize_vmemmap as u64),
            |m, at, v| {
                let x: i64 = v.parse().map_err(|_| {
                    fs_err(at.path, Errno::EINVAL, format!("`{v}` is not an integer"))
                })?;
                m.hugetlb_set_optimize(x != 0);
                Ok(())
            },
        ),
        // The hstate kobject attributes (HSTATE_ATTR / HSTATE_ATTR_RO).
        File::rw(
            format!("{G}/nr_hugepages"),
            |m, at| line(hs(m, at).nr_huge_pages),
            set_pages,
        ),
        File::rw(
            format!("{G}/nr_hugepages_mempolicy"),
            |m, at| line(hs(m, at).nr_huge_pages),
            set_pages,
        ),
        File::rw(
            format!("{G}/nr_overcommit_hugepages"),
            |m, at| line(hs(m, at).nr_overcommit_huge_pages),
            |m, at, v| {
                // nr_overcommit_hugepages_store(): hstate_is_gigantic()
                // gives EINVAL.
                if at.hs == HS_1G {
                    return Err(fs_err(
                        at.path,
                        Errno::EINVAL,
                        "gigantic pages cannot be overcommitted",
                    ));
                }
                m.hugetlb.hstates[at.hs].nr_overcommit_huge_pages = parse_ulong(at.path, v)?;
                Ok(())
            },
        ),
        File::ro(format!("{G}/free_hugepages"), |m, at| {
            line(hs(m, at).free_huge_pages)
        }),
        File::ro(format!("{G}/resv_hugepages"), |m, at| {
            line(hs(m, at).resv_huge_pages)
        }),
        File::ro(format!("{G}/surplus_hugepages"), |m, at| {
            line(hs(m, at).surplus_huge_pages)
        }),
        // The per-node hstate attributes (hugetlb_register_node()).
        File::rw(
            format!("{N}/nr_hugepages"),
            |m, at| line(hs(m, at).nr_huge_pages_node[at.node as usize]),
            |m, at, v| {
                let x = parse_ulong(at.path, v)?;
                m.hugetlb_set_pages(at.hs, x, Some(at.node), None)
                    .map_err(|e| op_err(at.path, e))
            },
        ),
        File::ro(format!("{N}/free_hugepages"), |m, at| {
            line(hs(m, at).free_huge_pages_node[at.node as usize])
        }),
        File::ro(format!("{N}/surplus_hugepages"), |m, at| {
            line(hs(m, at).surplus_huge_pages_node[at.node as usize])
        }),
        // drivers/base/memory.c: block_size_bytes_show() prints hex.
        File::ro(format!("{MEM}/block_size_bytes"), |_, _| {
            Ok(format!("{:x}\n", MEMORY_BLOCK_FRAMES * 4096))
        }),
        File::ro(format!("{MEM}/memory{{block}}/phys_index"), |_, at| {
            Ok(format!("{:08x}\n", at.block))
        }),
        File::rw(
            format!("{MEM}/memory{{block}}/state"),
            |m, at| {
                Ok(if m.mm.offline_blocks.contains(&at.block) {
                    "offline\n".into()
                } else {
                    "online\n".into()
                })
            },
            // state_store(): mhp_online_type_from_str(), else EINVAL.
            |m, at, v| match v {
                "offline" => m.offline_block(at.block).map_err(|e| op_err(at.path, e)),
                "online" | "online_movable" | "online_kernel" => {
                    m.online_block(at.block).map_err(|e| op_err(at.path, e))
                }
                _ => Err(fs_err(
                    at.path,
                    Errno::EINVAL,
                    format!("`{v}`: expected online or offline"),
                )),
            },
        ),
        // valid_zones_show(): an online block's zone; an offline one's
        // default zone (zone_for_pfn_range(MMOP_ONLINE), here the zone it
        // was in), then the kernel zone and ZONE_MOVABLE where they
        // differ (print_allowed_zone()). numasim onlines a block back into
        // the zone it was in whatever the write asks.
        File::ro(format!("{MEM}/memory{{block}}/valid_zones"), |m, at| {
            use crate::model::topology::ZoneType;
            let start = at.block as u64 * MEMORY_BLOCK_FRAMES;
            let Some(z) = m
                .scenario
                .topology
                .zones
                .iter()
                .find(|z| z.start_pfn <= start && start < z.end_pfn())
            else {
                return Ok("none\n".into());
            };
            let zt = z.zone_type;
            if !m.mm.offline_blocks.contains(&at.block) {
                return Ok(format!("{}\n", zt.name()));
            }
            let kernel_zone = if zt == ZoneType::Movable {
                ZoneType::Normal
            } else {
                zt
            };
            let mut names = vec![zt.name()];
            for allowed in [kernel_zone, ZoneType::Movable] {
                if !names.contains(&allowed.name()) {
                    names.push(allowed.name());
                }
            }
            Ok(format!("{}\n", names.join(" ")))
        }),
        File::ro(format!("{DBG}/hugetlb"), |m, _| Ok(stats_table(m))),
        File::ro(format!("{DBG}/hugetlb_mappings"), |m, _| {
            Ok(mappings_table(m))
        }),
        File::rw(
            format!("{DBG}/variants/hvo_keep_two"),
            |m, _| line(m.hugetlb.variants.hvo_keep_two as u64),
            |m, at, v| {
                m.hugetlb.variants.hvo_keep_two = zero_one(at, v)?;
                Ok(())
            },
        ),
        File::rw(
            format!("{DBG}/variants/hugetlb_temporary_surplus_flaw"),
            |m, _| line(m.hugetlb.variants.temporary_surplus_flaw as u64),
            |m, at, v| {
                m.hugetlb.variants.temporary_surplus_flaw = zero_one(at, v)?;
                Ok(())
            },
        ),
    ]
}

fn line(v: u64) -> Result<String, FsError> {
    Ok(format!("{v}\n"))
}

fn hs<'m>(m: &'m Machine, at: &At) -> &'m Hstate {
    &m.hugetlb.hstates[at.hs]
}

fn zero_one(at: &At, v: &str) -> Result<bool, FsError> {
    match v {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(fs_err(
            at.path,
            Errno::EINVAL,
            format!("`{v}`: expected 0 or 1"),
        )),
    }
}

/// `/proc/sys/vm/nr_hugepages{,_mempolicy}`: the default hstate.
fn set_default_pages(m: &mut Machine, at: &At, v: &str) -> Result<(), FsError> {
    let x = parse_ulong(at.path, v)?;
    m.hugetlb_set_pages(HS_2M, x, None, None)
        .map_err(|e| op_err(at.path, e))
}

/// An hstate's `nr_hugepages{,_mempolicy}`.
fn set_pages(m: &mut Machine, at: &At, v: &str) -> Result<(), FsError> {
    let x = parse_ulong(at.path, v)?;
    m.hugetlb_set_pages(at.hs, x, None, None)
        .map_err(|e| op_err(at.path, e))
}

/// `kstrtoul(buf, 10, ..)`, as the hstate attributes parse: decimal, an
/// optional `+`, a trailing newline; negative numbers are invalid.
fn parse_ulong(path: &str, v: &str) -> Result<u64, FsError> {
    let t = v.strip_prefix('+').unwrap_or(v);
    if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
        return Err(fs_err(
            path,
            Errno::EINVAL,
            format!("`{v}` is not a non-negative decimal number"),
        ));
    }
    t.parse().map_err(|_| {
        fs_err(
            path,
            Errno::EINVAL,
            format!("`{v}` does not fit in an unsigned long"),
        )
    })
}

fn op_err(path: &str, e: MachineError) -> FsError {
    let errno = e.errno();
    let detail = match e {
        MachineError::Kernel(k) => k.detail,
        other => other.to_string(),
    };
    fs_err(path, errno, detail)
}

/// /sys/kernel/debug/numasim/hugetlb: per node and hstate, what the pools
/// hold and what HVO and migration did.
pub fn stats_table(m: &Machine) -> String {
    let h = &m.hugetlb;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<4} {:<20} {:>8} {:>8} {:>8} {:>9} {:>11} {:>13} {:>9} {:>12} {:>8} {:>7} {:>9} {:>6}",
        "node",
        "hstate",
        "nr",
        "free",
        "surplus",
        "temporary",
        "temp_allocs",
        "vmemmap_saved",
        "pmd_split",
        "restore_fail",
        "hvo_fail",
        "migr_in",
        "migr_fail",
        "sigbus"
    );
    for n in 0..h.nr_nodes() {
        for hs in 0..NR_HSTATES {
            let st = &h.hstates[hs];
            let ns = &h.node_stats[n];
            let temp = h
                .pages
                .values()
                .filter(|p| p.hs == hs && p.node == n as u32 && p.temporary)
                .count();
            let per_node = hs == HS_2M;
            let _ = writeln!(
                s,
                "{:<4} {:<20} {:>8} {:>8} {:>8} {:>9} {:>11} {:>13} {:>9} {:>12} {:>8} {:>7} {:>9} {:>6}",
                n,
                hstate_name(hs),
                st.nr_huge_pages_node[n],
                st.free_huge_pages_node[n],
                st.surplus_huge_pages_node[n],
                temp,
                if per_node { ns.temporary_allocs.to_string() } else { "-".into() },
                if per_node { ns.vmemmap_saved.to_string() } else { "-".into() },
                if per_node { ns.pmd_splits.to_string() } else { "-".into() },
                if per_node { ns.restore_failures.to_string() } else { "-".into() },
                if per_node { ns.hvo_failures.to_string() } else { "-".into() },
                if per_node { ns.migrated_in.to_string() } else { "-".into() },
                if per_node { ns.migrate_failures.to_string() } else { "-".into() },
                if per_node { ns.sigbus.to_string() } else { "-".into() },
            );
        }
    }
    for hs in 0..NR_HSTATES {
        let st = &h.hstates[hs];
        let _ = writeln!(
            s,
            "{}: nr {} free {} resv {} surplus {} nr_overcommit {} max {}",
            hstate_name(hs),
            st.nr_huge_pages,
            st.free_huge_pages,
            st.resv_huge_pages,
            st.surplus_huge_pages,
            st.nr_overcommit_huge_pages,
            st.max_huge_pages
        );
    }
    let _ = writeln!(
        s,
        "hugetlb_optimize_vmemmap {} hvo_keep_two {} hugetlb_temporary_surplus_flaw {}",
        h.optimize_vmemmap as u8,
        h.variants.hvo_keep_two as u8,
        h.variants.temporary_surplus_flaw as u8
    );
    s
}

fn mappings_table(m: &Machine) -> String {
    let h = &m.hugetlb;
    let mut s = format!(
        "{:<12} {:<12} {:<20} {:>8} {:>8} {:>10} {:<8} {}\n",
        "mapping", "task", "hstate", "pages", "faulted", "resv_left", "type", "nodes"
    );
    for mp in &h.mappings {
        let mut per_node = vec![0u64; h.nr_nodes()];
        for p in mp.pages.values() {
            per_node[h.pages[p].node as usize] += 1;
        }
        let nodes: Vec<String> = per_node
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(n, c)| format!("N{n}={c}"))
            .collect();
        let _ = writeln!(
            s,
            "{:<12} {:<12} {:<20} {:>8} {:>8} {:>10} {:<8} {}",
            mp.name,
            m.tasks[mp.task].name,
            hstate_name(mp.hs),
            mp.nr_pages,
            mp.pages.len(),
            mp.resv_left,
            format!(
                "{}{}",
                if mp.shared { "shared" } else { "private" },
                if mp.noreserve { ",noresv" } else { "" }
            ),
            nodes.join(" ")
        );
    }
    s
}
