//! The hugetlb, vmemmap and memory-block files: reads in the kernel's
//! formats (mm/hugetlb.c `hugetlb_report_meminfo`,
//! `hugetlb_report_node_meminfo`, the hstate kobject attributes;
//! drivers/base/memory.c) and writes with its semantics and errno.

use super::{fs_err, Errno, FsError};
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

fn hstate_of_dir(dir: &str) -> Option<usize> {
    (0..NR_HSTATES).find(|&hs| dir == hstate_name(hs))
}

/// A parsed hugetlb path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum File<'a> {
    /// /proc/sys/vm/<name> (the default hstate).
    Sysctl(&'a str),
    /// /sys/kernel/mm/hugepages/hugepages-<size>kB/<name>.
    Global(usize, &'a str),
    /// /sys/devices/system/node/node<N>/hugepages/hugepages-<size>kB/<name>.
    Node(u32, usize, &'a str),
    BlockSize,
    /// /sys/devices/system/memory/memory<N>/<name>.
    Block(u32, &'a str),
    Debug(&'a str),
}

const GLOBAL_FILES: [&str; 6] = [
    "nr_hugepages",
    "nr_hugepages_mempolicy",
    "nr_overcommit_hugepages",
    "free_hugepages",
    "resv_hugepages",
    "surplus_hugepages",
];
const NODE_FILES: [&str; 3] = ["nr_hugepages", "free_hugepages", "surplus_hugepages"];
const SYSCTLS: [&str; 4] = [
    "nr_hugepages",
    "nr_hugepages_mempolicy",
    "nr_overcommit_hugepages",
    "hugetlb_optimize_vmemmap",
];
const DEBUG_FILES: [&str; 4] = [
    "hugetlb",
    "hugetlb_mappings",
    "variants/hvo_keep_two",
    "variants/hugetlb_temporary_surplus_flaw",
];

fn parse(path: &str) -> Option<File<'_>> {
    if let Some(f) = path.strip_prefix("/proc/sys/vm/") {
        return SYSCTLS.contains(&f).then_some(File::Sysctl(f));
    }
    if let Some(rest) = path.strip_prefix("/sys/kernel/mm/hugepages/") {
        let (dir, f) = rest.split_once('/')?;
        let hs = hstate_of_dir(dir)?;
        return GLOBAL_FILES.contains(&f).then_some(File::Global(hs, f));
    }
    if let Some(rest) = path.strip_prefix("/sys/devices/system/node/node") {
        let (n, rest) = rest.split_once('/')?;
        let rest = rest.strip_prefix("hugepages/")?;
        let (dir, f) = rest.split_once('/')?;
        let hs = hstate_of_dir(dir)?;
        return NODE_FILES
            .contains(&f)
            .then_some(File::Node(n.parse().ok()?, hs, f));
    }
    if path == "/sys/devices/system/memory/block_size_bytes" {
        return Some(File::BlockSize);
    }
    if let Some(rest) = path.strip_prefix("/sys/devices/system/memory/memory") {
        let (n, f) = rest.split_once('/')?;
        return ["state", "phys_index", "valid_zones"]
            .contains(&f)
            .then_some(File::Block(n.parse().ok()?, f));
    }
    if let Some(f) = path.strip_prefix("/sys/kernel/debug/numasim/") {
        return DEBUG_FILES.contains(&f).then_some(File::Debug(f));
    }
    None
}

/// Every hugetlb file, for `ls`.
pub fn list_files(m: &Machine, v: &mut Vec<String>) {
    for f in SYSCTLS {
        v.push(format!("/proc/sys/vm/{f}"));
    }
    for hs in 0..NR_HSTATES {
        for f in GLOBAL_FILES {
            v.push(format!("/sys/kernel/mm/hugepages/{}/{f}", hstate_name(hs)));
        }
        for n in 0..m.scenario.topology.nodes.len() {
            for f in NODE_FILES {
                v.push(format!(
                    "/sys/devices/system/node/node{n}/hugepages/{}/{f}",
                    hstate_name(hs)
                ));
            }
        }
    }
    v.push("/sys/devices/system/memory/block_size_bytes".into());
    for b in 0..m.nr_memory_blocks() {
        for f in ["phys_index", "state", "valid_zones"] {
            v.push(format!("/sys/devices/system/memory/memory{b}/{f}"));
        }
    }
    for f in DEBUG_FILES {
        v.push(format!("/sys/kernel/debug/numasim/{f}"));
    }
}

fn node_ok(m: &Machine, path: &str, n: u32) -> Result<(), FsError> {
    let nn = m.scenario.topology.nodes.len() as u32;
    if n >= nn {
        return Err(fs_err(
            path,
            Errno::ENOENT,
            format!("the machine has nodes 0-{}", nn - 1),
        ));
    }
    Ok(())
}

fn block_ok(m: &Machine, path: &str, b: u32) -> Result<(), FsError> {
    if b >= m.nr_memory_blocks() {
        return Err(fs_err(
            path,
            Errno::ENOENT,
            format!(
                "the machine has memory blocks 0-{}",
                m.nr_memory_blocks() - 1
            ),
        ));
    }
    Ok(())
}

/// `cat` of a hugetlb file; None when `path` is not one.
pub fn read(m: &Machine, path: &str) -> Option<Result<String, FsError>> {
    let f = parse(path)?;
    let h = &m.hugetlb;
    let line = |v: u64| Some(Ok(format!("{v}\n")));
    match f {
        // /proc/sys/vm/nr_hugepages shows the persistent pages
        // (max_huge_pages); the sysfs nr_hugepages files show nr_huge_pages,
        // surplus pages included.
        File::Sysctl("nr_hugepages") | File::Sysctl("nr_hugepages_mempolicy") => {
            line(h.hstates[HS_2M].max_huge_pages)
        }
        File::Sysctl("nr_overcommit_hugepages") => line(h.hstates[HS_2M].nr_overcommit_huge_pages),
        File::Sysctl(_) => line(h.optimize_vmemmap as u64),
        File::Global(hs, name) => {
            let s = &h.hstates[hs];
            line(match name {
                "nr_hugepages" | "nr_hugepages_mempolicy" => s.nr_huge_pages,
                "nr_overcommit_hugepages" => s.nr_overcommit_huge_pages,
                "free_hugepages" => s.free_huge_pages,
                "resv_hugepages" => s.resv_huge_pages,
                _ => s.surplus_huge_pages,
            })
        }
        File::Node(n, hs, name) => {
            if let Err(e) = node_ok(m, path, n) {
                return Some(Err(e));
            }
            let s = &h.hstates[hs];
            let n = n as usize;
            line(match name {
                "nr_hugepages" => s.nr_huge_pages_node[n],
                "free_hugepages" => s.free_huge_pages_node[n],
                _ => s.surplus_huge_pages_node[n],
            })
        }
        File::BlockSize => Some(Ok(format!("{:x}\n", MEMORY_BLOCK_FRAMES * 4096))),
        File::Block(b, name) => {
            if let Err(e) = block_ok(m, path, b) {
                return Some(Err(e));
            }
            Some(Ok(match name {
                "state" => {
                    if m.mm.offline_blocks.contains(&b) {
                        "offline\n".into()
                    } else {
                        "online\n".into()
                    }
                }
                "phys_index" => format!("{b:08x}\n"),
                _ => {
                    let start = b as u64 * MEMORY_BLOCK_FRAMES;
                    let z = m
                        .scenario
                        .topology
                        .zones
                        .iter()
                        .find(|z| z.start_pfn <= start && start < z.end_pfn());
                    format!("{}\n", z.map(|z| z.zone_type.name()).unwrap_or("none"))
                }
            }))
        }
        File::Debug("hugetlb") => Some(Ok(stats_table(m))),
        File::Debug("hugetlb_mappings") => Some(Ok(mappings_table(m))),
        File::Debug("variants/hvo_keep_two") => line(h.variants.hvo_keep_two as u64),
        File::Debug(_) => line(h.variants.temporary_surplus_flaw as u64),
    }
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

/// `echo VALUE > PATH` for a hugetlb file; None when `path` is not one.
pub fn write(m: &mut Machine, path: &str, v: &str) -> Option<Result<(), FsError>> {
    let f = parse(path)?;
    let read_only = || Some(Err(fs_err(path, Errno::EACCES, "read-only file")));
    let r = (|| -> Result<(), FsError> {
        match f {
            File::Sysctl("hugetlb_optimize_vmemmap") => {
                // proc_dobool: an integer, non-zero is on.
                let x: i64 = v
                    .parse()
                    .map_err(|_| fs_err(path, Errno::EINVAL, format!("`{v}` is not an integer")))?;
                m.hugetlb_set_optimize(x != 0);
                Ok(())
            }
            File::Sysctl("nr_overcommit_hugepages") => {
                let x = parse_ulong(path, v)?;
                m.hugetlb.hstates[HS_2M].nr_overcommit_huge_pages = x;
                Ok(())
            }
            File::Sysctl(_) => {
                let x = parse_ulong(path, v)?;
                m.hugetlb_set_pages(HS_2M, x, None, None)
                    .map_err(|e| op_err(path, e))
            }
            File::Global(hs, "nr_overcommit_hugepages") => {
                if hs == HS_1G {
                    return Err(fs_err(
                        path,
                        Errno::EINVAL,
                        "gigantic pages cannot be overcommitted",
                    ));
                }
                let x = parse_ulong(path, v)?;
                m.hugetlb.hstates[hs].nr_overcommit_huge_pages = x;
                Ok(())
            }
            File::Global(hs, "nr_hugepages" | "nr_hugepages_mempolicy") => {
                let x = parse_ulong(path, v)?;
                m.hugetlb_set_pages(hs, x, None, None)
                    .map_err(|e| op_err(path, e))
            }
            File::Node(n, hs, "nr_hugepages") => {
                node_ok(m, path, n)?;
                let x = parse_ulong(path, v)?;
                m.hugetlb_set_pages(hs, x, Some(n), None)
                    .map_err(|e| op_err(path, e))
            }
            File::Block(b, "state") => {
                block_ok(m, path, b)?;
                match v {
                    "offline" => m.offline_block(b).map_err(|e| op_err(path, e)),
                    "online" | "online_movable" | "online_kernel" => {
                        m.online_block(b).map_err(|e| op_err(path, e))
                    }
                    _ => Err(fs_err(
                        path,
                        Errno::EINVAL,
                        format!("`{v}`: expected online or offline"),
                    )),
                }
            }
            File::Debug(
                name @ ("variants/hvo_keep_two" | "variants/hugetlb_temporary_surplus_flaw"),
            ) => {
                let x = match v {
                    "0" => false,
                    "1" => true,
                    _ => {
                        return Err(fs_err(
                            path,
                            Errno::EINVAL,
                            format!("`{v}`: expected 0 or 1"),
                        ))
                    }
                };
                if name.ends_with("hvo_keep_two") {
                    m.hugetlb.variants.hvo_keep_two = x;
                } else {
                    m.hugetlb.variants.temporary_surplus_flaw = x;
                }
                Ok(())
            }
            _ => Err(fs_err(path, Errno::EACCES, "read-only file")),
        }
    })();
    if let Err(e) = &r {
        if e.errno == Errno::EACCES {
            return read_only();
        }
    }
    Some(r)
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
