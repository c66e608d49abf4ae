//! The virtual /proc and /sys tree: reads in the kernel's formats, writes
//! with the kernel's semantics and errno, and the command language.

pub mod cpu;
pub mod format;
pub mod hugetlb;
pub mod lockdep;
pub mod reporting;
pub mod shell;

use crate::kernel::Machine;
use crate::model::workload::format_nodelist;
use std::collections::BTreeSet;

/// The errno values the tree answers with: the kernel layer's own.
pub use crate::kernel::errno::Errno;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {} ({:?}){}", errno.message(), errno, if detail.is_empty() { String::new() } else { format!(": {detail}") })]
pub struct FsError {
    pub path: String,
    pub errno: Errno,
    pub detail: String,
}

fn fs_err(path: &str, errno: Errno, detail: impl Into<String>) -> FsError {
    FsError {
        path: path.to_string(),
        errno,
        detail: detail.into(),
    }
}

/// Splits `/sys/devices/system/node/node12/meminfo` into (12, "meminfo").
fn node_file(path: &str) -> Option<(u32, &str)> {
    let rest = path.strip_prefix("/sys/devices/system/node/node")?;
    let (n, file) = rest.split_once('/')?;
    Some((n.parse().ok()?, file))
}

fn weight_file(path: &str) -> Option<u32> {
    path.strip_prefix("/sys/kernel/mm/mempolicy/weighted_interleave/node")?
        .parse()
        .ok()
}

/// Every file, for `ls` and completion.
pub fn list_files(m: &Machine) -> Vec<String> {
    let mut v: Vec<String> = [
        "/proc/buddyinfo",
        "/proc/pagetypeinfo",
        "/proc/meminfo",
        "/proc/zoneinfo",
        "/proc/vmstat",
        "/proc/sys/vm/min_free_kbytes",
        "/proc/sys/vm/watermark_scale_factor",
        "/proc/sys/vm/lowmem_reserve_ratio",
        "/sys/devices/system/node/online",
        "/sys/devices/system/node/possible",
        "/sys/devices/system/node/has_cpu",
        "/sys/devices/system/node/has_memory",
        "/sys/devices/system/node/has_normal_memory",
        "/sys/devices/system/node/has_generic_initiator",
        "/sys/kernel/debug/extfrag/extfrag_index",
        "/sys/kernel/debug/extfrag/unusable_index",
        "/sys/kernel/debug/numasim/tasks",
        "/sys/kernel/debug/numasim/stats",
        "/sys/kernel/debug/numasim/paths",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for n in 0..m.scenario.topology.nodes.len() {
        for f in [
            "meminfo", "numastat", "distance", "cpumap", "cpulist", "vmstat",
        ] {
            v.push(format!("/sys/devices/system/node/node{n}/{f}"));
        }
        v.push(format!(
            "/sys/kernel/mm/mempolicy/weighted_interleave/node{n}"
        ));
    }
    hugetlb::list_files(m, &mut v);
    cpu::list_files(m, &mut v);
    lockdep::list_files(&mut v);
    reporting::list_files(&mut v);
    v
}

/// The permission bits the kernel gives `path` (stat's st_mode & 0o7777):
/// sysctls are 0644 (`proc_dointvec` tables with mode 0644), sysfs
/// attributes 0644 when they have a store method (`__ATTR(.., 0644, ..)`,
/// e.g. `HSTATE_ATTR`, memory blocks' `state`) and 0444 otherwise
/// (`__ATTR_RO`); `/proc/zoneinfo` and `/proc/pagetypeinfo` are 0400
/// (`proc_create_seq(.., 0400, ..)` in mm/vmstat.c), the lockdep files 0400
/// and `/proc/lock_stat` 0600 (kernel/locking/lockdep_proc.c); debugfs
/// bools 0644; other /proc files 0444.
pub fn file_mode(path: &str) -> u16 {
    let base = path.rsplit('/').next().unwrap_or("");
    if path.starts_with("/proc/sys/") {
        return 0o644;
    }
    match path {
        "/proc/zoneinfo"
        | "/proc/pagetypeinfo"
        | "/proc/lockdep"
        | "/proc/lockdep_chains"
        | "/proc/lockdep_stats" => return 0o400,
        "/proc/lock_stat" => return 0o600,
        "/dev/kmsg" => return 0o644,
        _ => {}
    }
    let writable = (path.starts_with("/sys/kernel/mm/hugepages/")
        && matches!(
            base,
            "nr_hugepages" | "nr_hugepages_mempolicy" | "nr_overcommit_hugepages"
        ))
        || (path.starts_with("/sys/devices/system/node/node")
            && path.contains("/hugepages/")
            && base == "nr_hugepages")
        || (path.starts_with("/sys/devices/system/memory/memory") && base == "state")
        || path.starts_with("/sys/kernel/mm/mempolicy/weighted_interleave/node")
        || path.starts_with("/sys/kernel/debug/numasim/variants/")
        || path.starts_with("/sys/module/")
        || cpu::writable(path);
    if writable {
        0o644
    } else {
        0o444
    }
}

/// The size `stat` shows for a file: 0 for procfs; for sysfs, kernfs's
/// PAGE_SIZE (4096) for an attribute, and the bin_attribute size for the
/// CPU lists that drivers/base/node.c and drivers/base/topology.c made
/// bin_attributes in 5.16 ("use bin_attribute to break the size limitation
/// of cpumap ABI"): 28672 for `cpulist` and topology `*_list`, as Debian's
/// 6.1 (NR_CPUS 8192) shows them.
pub fn file_size(path: &str) -> u64 {
    if !path.starts_with("/sys/") {
        return 0;
    }
    let base = path.rsplit('/').next().unwrap_or("");
    let cpu_list = (path.starts_with("/sys/devices/system/node/node") && base == "cpulist")
        || (path.starts_with("/sys/devices/system/cpu/cpu")
            && path.contains("/topology/")
            && base.ends_with("_list"));
    if cpu_list {
        28672
    } else {
        4096
    }
}

/// Lists the entries directly under `dir`.
pub fn list_dir(m: &Machine, dir: &str) -> Result<Vec<String>, FsError> {
    dir_entries(&list_files(m).into_iter().collect(), dir)
}

/// The entries directly under `dir` in the file list `files` (directories
/// with a trailing `/`, sorted): what `list_dir` answers, for a caller that
/// keeps the list (the mount caches it per tick).
pub fn dir_entries(files: &BTreeSet<String>, dir: &str) -> Result<Vec<String>, FsError> {
    let d = dir.trim_end_matches('/');
    if files.contains(d) {
        return Err(fs_err(dir, Errno::ENOTDIR, ""));
    }
    let prefix = format!("{d}/");
    let mut out: Vec<String> = files
        .range(prefix.clone()..)
        .map_while(|f| f.strip_prefix(&prefix))
        .map(|rest| match rest.split_once('/') {
            Some((first, _)) => format!("{first}/"),
            None => rest.to_string(),
        })
        .collect();
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(fs_err(dir, Errno::ENOENT, ""));
    }
    Ok(out)
}

/// The newest kernel paths the machine ran, oldest first, each with its
/// steps: locks taken and dropped, sleep points, allocations and their GFP
/// flags (`kernel::path`).
fn paths_file(m: &Machine) -> String {
    let n = m.paths.paths.len();
    let mut s = format!(
        "# the newest {} of {} kernel paths kept (oldest first)\n",
        n.min(PATHS_SHOWN),
        n
    );
    for p in m.paths.paths.iter().skip(n.saturating_sub(PATHS_SHOWN)) {
        s += &p.describe();
    }
    s
}

/// Paths `/sys/kernel/debug/numasim/paths` prints.
const PATHS_SHOWN: usize = 8;

/// `cat PATH`.
pub fn read(m: &mut Machine, path: &str) -> Result<String, FsError> {
    if let Some(r) = hugetlb::read(m, path) {
        return r;
    }
    if let Some(r) = lockdep::read(m, path) {
        return r;
    }
    if let Some(r) = reporting::read(m, path) {
        return r;
    }
    if let Some(r) = cpu::read(m, path) {
        return r;
    }
    let nr_nodes = m.scenario.topology.nodes.len() as u32;
    let topo = m.scenario.topology.clone();
    if let Some((n, file)) = node_file(path) {
        if n >= nr_nodes {
            return Err(fs_err(
                path,
                Errno::ENOENT,
                format!("the machine has nodes 0-{}", nr_nodes - 1),
            ));
        }
        let b = m
            .state()
            .map_err(|e| fs_err(path, e.errno(), e.to_string()))?
            .small_clone();
        return match file {
            "meminfo" => {
                Ok(format::node_meminfo(&b, n) + &hugetlb::node_meminfo_lines(&m.hugetlb, n))
            }
            "numastat" => Ok(format::numastat(m, n)),
            "vmstat" => Ok(format::node_vmstat(m, &b, n)),
            "distance" => {
                let row: Vec<String> = topo.distance[n as usize]
                    .iter()
                    .map(|d| d.to_string())
                    .collect();
                Ok(format!("{}\n", row.join(" ")))
            }
            "cpumap" => {
                let nr_cpu_ids = topo
                    .nodes
                    .iter()
                    .flat_map(|nd| nd.cpus.iter().map(|c| c + 1))
                    .max()
                    .unwrap_or(1);
                Ok(format::cpumap(&topo.nodes[n as usize].cpus, nr_cpu_ids))
            }
            "cpulist" => Ok(format!(
                "{}\n",
                format_nodelist(&topo.nodes[n as usize].cpus)
            )),
            _ => Err(fs_err(path, Errno::ENOENT, "")),
        };
    }
    if let Some(n) = weight_file(path) {
        if n >= nr_nodes {
            return Err(fs_err(path, Errno::ENOENT, ""));
        }
        let w = m.il_weights[n as usize];
        return Ok(format!("{}\n", if w == 0 { 1 } else { w }));
    }
    let all: Vec<u32> = (0..nr_nodes).collect();
    Ok(match path {
        "/proc/buddyinfo" => format::buddyinfo(
            m.state()
                .map_err(|e| fs_err(path, e.errno(), e.to_string()))?,
        ),
        "/proc/pagetypeinfo" => {
            let b = m
                .state()
                .map_err(|e| fs_err(path, e.errno(), e.to_string()))?;
            format::pagetypeinfo(b, nr_nodes)
        }
        "/proc/meminfo" => {
            format::meminfo(
                m.state()
                    .map_err(|e| fs_err(path, e.errno(), e.to_string()))?,
            ) + &hugetlb::meminfo_lines(&m.hugetlb)
        }
        "/proc/zoneinfo" | "/proc/vmstat" => {
            let b = m
                .state()
                .map_err(|e| fs_err(path, e.errno(), e.to_string()))?
                .small_clone();
            if path == "/proc/vmstat" {
                format::vmstat(m, &b)
            } else {
                format::zoneinfo(m, &b)
            }
        }
        "/proc/sys/vm/min_free_kbytes" => format!("{}\n", m.min_free_kbytes),
        "/proc/sys/vm/watermark_scale_factor" => format!("{}\n", m.watermark_scale_factor),
        // The model's zone types are DMA32, Normal, Movable.
        "/proc/sys/vm/lowmem_reserve_ratio" => "256\t32\t0\n".to_string(),
        "/sys/devices/system/node/online" | "/sys/devices/system/node/possible" => {
            format!("{}\n", format_nodelist(&all))
        }
        "/sys/devices/system/node/has_cpu" => {
            format!("{}\n", format_nodelist(&topo.nodes_with_cpus()))
        }
        "/sys/devices/system/node/has_memory" | "/sys/devices/system/node/has_normal_memory" => {
            format!("{}\n", format_nodelist(&topo.nodes_with_memory()))
        }
        // N_GENERIC_INITIATOR: nodes with ACPI generic initiators only;
        // the model's CPU-less nodes are memory-only (CXL, PMEM).
        "/sys/devices/system/node/has_generic_initiator" => "\n".to_string(),
        "/sys/kernel/debug/extfrag/extfrag_index" => format::extfrag_index(
            m.state()
                .map_err(|e| fs_err(path, e.errno(), e.to_string()))?,
        ),
        "/sys/kernel/debug/extfrag/unusable_index" => format::unusable_index(
            m.state()
                .map_err(|e| fs_err(path, e.errno(), e.to_string()))?,
        ),
        "/sys/kernel/debug/numasim/tasks" => tasks_table(m),
        "/sys/kernel/debug/numasim/stats" => model_stats(m),
        "/sys/kernel/debug/numasim/paths" => paths_file(m),
        _ => {
            return Err(match list_dir(m, path) {
                Ok(_) => fs_err(path, Errno::EISDIR, ""),
                Err(_) => fs_err(path, Errno::ENOENT, ""),
            })
        }
    })
}

/// `echo VALUE > PATH`, with the kernel's checks and errno.
pub fn write(m: &mut Machine, path: &str, value: &str) -> Result<(), FsError> {
    let v = value.trim();
    if let Some(r) = hugetlb::write(m, path, v) {
        return r;
    }
    if let Some(r) = lockdep::write(m, path, v) {
        return r;
    }
    if let Some(r) = reporting::write(m, path, v) {
        return r;
    }
    // proc_dointvec_minmax: an int within [min, max], else EINVAL.
    let int_in = |lo: i64, hi: i64| -> Result<i64, FsError> {
        let x: i64 = v
            .parse()
            .map_err(|_| fs_err(path, Errno::EINVAL, format!("`{v}` is not an integer")))?;
        if x < lo || x > hi {
            return Err(fs_err(
                path,
                Errno::EINVAL,
                format!("{x} is outside {lo}..={hi}"),
            ));
        }
        Ok(x)
    };
    if let Some(n) = weight_file(path) {
        if n as usize >= m.il_weights.len() {
            return Err(fs_err(path, Errno::ENOENT, ""));
        }
        // node_store(): empty or 0 resets to the default; kstrtou8 else.
        let w = if v.is_empty() {
            0
        } else {
            parse_u8_auto(v).ok_or_else(|| {
                fs_err(
                    path,
                    Errno::EINVAL,
                    format!("`{v}` is not a weight 0..=255"),
                )
            })?
        };
        m.set_il_weight(n as usize, w);
        return Ok(());
    }
    match path {
        "/proc/sys/vm/min_free_kbytes" => {
            let x = int_in(0, i32::MAX as i64)?;
            m.set_min_free_kbytes(x as u64);
            Ok(())
        }
        "/proc/sys/vm/watermark_scale_factor" => {
            let x = int_in(1, 3000)?;
            m.set_watermark_scale_factor(x as u32);
            Ok(())
        }
        _ => {
            if list_files(m).iter().any(|f| f == path) {
                Err(fs_err(path, Errno::EACCES, "read-only file"))
            } else if list_dir(m, path).is_ok() {
                Err(fs_err(path, Errno::EISDIR, ""))
            } else {
                Err(fs_err(path, Errno::ENOENT, ""))
            }
        }
    }
}

/// `kstrtou8(buf, 0, ..)`: decimal, 0x hex or 0 octal.
fn parse_u8_auto(s: &str) -> Option<u8> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u8::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u8::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

fn tasks_table(m: &Machine) -> String {
    let mut s = format!(
        "{:<12} {:>4} {:>4} {:<12} {:<16} {:>6} {:>8}\n",
        "name", "cpu", "node", "workload", "policy", "scale", "state"
    );
    for t in &m.tasks {
        let state = if t.stopped {
            "stopped"
        } else if m.tick < t.start_tick {
            "waiting"
        } else {
            "running"
        };
        s += &format!(
            "{:<12} {:>4} {:>4} {:<12} {:<16} {:>6} {:>8}\n",
            t.name,
            t.cpu,
            t.node,
            t.workload,
            t.policy.to_string(),
            t.scale,
            state
        );
    }
    s
}

/// Counters the model keeps that the kernel has no file for.
fn model_stats(m: &Machine) -> String {
    use crate::engine::types::*;
    let mut s = String::new();
    s += &format!("tick {}\n", m.tick);
    s += &format!("time_ns {}\n", m.now_ns());
    for (name, st) in [
        ("alloc_fail", ZS_ALLOC_FAIL),
        ("alloc_fallback", ZS_ALLOC_FALLBACK),
        ("pageblock_claim", ZS_PAGEBLOCK_CLAIM),
        ("alloc_deferred", ZS_DEFERRED),
        ("allocs", ZS_ALLOCS),
        ("frees", ZS_FREES),
    ] {
        s += &format!("{name} {}\n", m.total(st, None));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kstrtou8_bases() {
        assert_eq!(parse_u8_auto("255"), Some(255));
        assert_eq!(parse_u8_auto("0x10"), Some(16));
        assert_eq!(parse_u8_auto("010"), Some(8));
        assert_eq!(parse_u8_auto("256"), None);
        assert_eq!(parse_u8_auto("-1"), None);
    }
}
