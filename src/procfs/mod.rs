//! The virtual /proc and /sys tree: reads in the kernel's formats, writes
//! with the kernel's semantics and errno, and the command language.

pub mod cpu;
pub mod format;
pub mod hugetlb;
pub mod lockdep;
pub mod numa;
pub mod reporting;
pub mod shell;
pub mod table;

use crate::engine::SimBuffers;
use crate::kernel::Machine;
use crate::model::workload::format_nodelist;
pub use table::{At, File};

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

/// The machine and its small state, for a file formatted from both.
fn view<'m>(m: &'m mut Machine, at: &At) -> Result<(&'m Machine, &'m SimBuffers), FsError> {
    m.view().map_err(|e| at.machine_err(e))
}

/// The core rows of the table (`table`): the buddy allocator's, the
/// nodes', the sysctls' and the model's debug files. Each subsystem adds
/// its own in its module.
pub fn files() -> Vec<File> {
    const NODE: &str = "/sys/devices/system/node";
    vec![
        File::ro("/proc/buddyinfo", |m, at| {
            Ok(format::buddyinfo(view(m, at)?.1))
        }),
        // proc_create_seq("pagetypeinfo", 0400, ..) in mm/vmstat.c.
        File::ro("/proc/pagetypeinfo", |m, at| {
            let (m, b) = view(m, at)?;
            Ok(format::pagetypeinfo(
                b,
                m.scenario.topology.nodes.len() as u32,
                &m.mm.offline_blocks,
            ))
        })
        .mode(0o400),
        File::ro("/proc/meminfo", |m, at| {
            let (m, b) = view(m, at)?;
            Ok(format::meminfo(b) + &hugetlb::meminfo_lines(&m.hugetlb))
        }),
        File::ro("/proc/zoneinfo", |m, at| {
            let (m, b) = view(m, at)?;
            Ok(format::zoneinfo(m, b))
        })
        .mode(0o400),
        File::ro("/proc/vmstat", |m, at| {
            let (m, b) = view(m, at)?;
            Ok(format::vmstat(m, b))
        }),
        // proc_dointvec_minmax with extra1 = SYSCTL_ZERO.
        File::rw(
            "/proc/sys/vm/min_free_kbytes",
            |m, _| Ok(format!("{}\n", m.min_free_kbytes)),
            |m, at, v| {
                let x = int_in(at, v, 0, i32::MAX as i64)?;
                m.set_min_free_kbytes(x as u64);
                Ok(())
            },
        ),
        // proc_dointvec_minmax, 1..=3000 (SYSCTL_ONE, SYSCTL_THREE_THOUSAND).
        File::rw(
            "/proc/sys/vm/watermark_scale_factor",
            |m, _| Ok(format!("{}\n", m.watermark_scale_factor)),
            |m, at, v| {
                let x = int_in(at, v, 1, 3000)?;
                m.set_watermark_scale_factor(x as u32);
                Ok(())
            },
        ),
        // proc_dointvec over sysctl_lowmem_reserve_ratio[MAX_NR_ZONES]: one
        // value per zone type, tab-separated; the model's zone types are
        // DMA32, Normal, Movable (the kernel's x86-64 list adds DMA and
        // Device: `256 256 32 0 0`).
        File::rw(
            "/proc/sys/vm/lowmem_reserve_ratio",
            |m, _| {
                let v: Vec<String> = m
                    .lowmem_reserve_ratio
                    .iter()
                    .map(|r| r.to_string())
                    .collect();
                Ok(format!("{}\n", v.join("\t")))
            },
            |m, _, v| {
                // __do_proc_dointvec() stores integers one by one up to
                // the first that does not parse and ignores any past the
                // array; lowmem_reserve_ratio_sysctl_handler() drops its
                // return value, so every write succeeds (`echo x`, an
                // empty line and six values all return 0 on Debian's
                // 6.1, measured in ../shared/realkernel).
                let vals: Vec<i64> = v
                    .split_whitespace()
                    .map_while(|w| w.parse::<i32>().ok().map(i64::from))
                    .collect();
                m.set_lowmem_reserve_ratio(&vals);
                Ok(())
            },
        ),
        File::ro(format!("{NODE}/online"), all_nodes),
        File::ro(format!("{NODE}/possible"), all_nodes),
        File::ro(format!("{NODE}/has_cpu"), |m, _| {
            Ok(format!(
                "{}\n",
                format_nodelist(&m.scenario.topology.nodes_with_cpus())
            ))
        }),
        File::ro(format!("{NODE}/has_memory"), nodes_with_memory),
        File::ro(format!("{NODE}/has_normal_memory"), nodes_with_memory),
        // N_GENERIC_INITIATOR: nodes with ACPI generic initiators only;
        // the model's CPU-less nodes are memory-only (CXL, PMEM).
        File::ro(format!("{NODE}/has_generic_initiator"), |_, _| {
            Ok("\n".to_string())
        }),
        File::ro(format!("{NODE}/node{{node}}/meminfo"), |m, at| {
            let (m, b) = view(m, at)?;
            Ok(
                format::node_meminfo(b, at.node)
                    + &hugetlb::node_meminfo_lines(&m.hugetlb, at.node),
            )
        }),
        File::ro(format!("{NODE}/node{{node}}/numastat"), |m, at| {
            Ok(format::numastat(m, at.node))
        }),
        File::ro(format!("{NODE}/node{{node}}/vmstat"), |m, at| {
            let (m, b) = view(m, at)?;
            Ok(format::node_vmstat(m, b, at.node))
        }),
        // node_read_distance(): the node's row of the SLIT.
        File::ro(format!("{NODE}/node{{node}}/distance"), |m, at| {
            let row: Vec<String> = m.scenario.topology.distance[at.node as usize]
                .iter()
                .map(|d| d.to_string())
                .collect();
            Ok(format!("{}\n", row.join(" ")))
        }),
        // node_read_cpumap() (bitmap_print_bitmask_to_buf).
        File::ro(format!("{NODE}/node{{node}}/cpumap"), |m, at| {
            Ok(format::cpumap(
                &m.scenario.topology.nodes[at.node as usize].cpus,
                cpu::nr_cpu_ids(m),
            ))
        }),
        File::ro(format!("{NODE}/node{{node}}/cpulist"), |m, at| {
            Ok(format!(
                "{}\n",
                format_nodelist(&m.scenario.topology.nodes[at.node as usize].cpus)
            ))
        })
        .bin(cpu::CPULIST_BIN_SIZE),
        // mm/mempolicy.c node_show()/node_store(): empty or 0 resets to
        // the default weight; kstrtou8 else.
        File::rw(
            "/sys/kernel/mm/mempolicy/weighted_interleave/node{node}",
            |m, at| {
                let w = m.il_weights[at.node as usize];
                Ok(format!("{}\n", if w == 0 { 1 } else { w }))
            },
            |m, at, v| {
                let w = if v.is_empty() {
                    0
                } else {
                    parse_u8_auto(v).ok_or_else(|| {
                        fs_err(
                            at.path,
                            Errno::EINVAL,
                            format!("`{v}` is not a weight 0..=255"),
                        )
                    })?
                };
                m.set_il_weight(at.node as usize, w);
                Ok(())
            },
        ),
        File::ro("/sys/kernel/debug/extfrag/extfrag_index", |m, at| {
            Ok(format::extfrag_index(view(m, at)?.1))
        }),
        File::ro("/sys/kernel/debug/extfrag/unusable_index", |m, at| {
            Ok(format::unusable_index(view(m, at)?.1))
        }),
        File::ro("/sys/kernel/debug/numasim/tasks", |m, _| Ok(tasks_table(m))),
        File::ro("/sys/kernel/debug/numasim/stats", |m, _| Ok(model_stats(m))),
        File::ro("/sys/kernel/debug/numasim/paths", |m, _| Ok(paths_file(m))),
    ]
}

fn all_nodes(m: &mut Machine, _: &At) -> Result<String, FsError> {
    let all: Vec<u32> = (0..m.scenario.topology.nodes.len() as u32).collect();
    Ok(format!("{}\n", format_nodelist(&all)))
}

fn nodes_with_memory(m: &mut Machine, _: &At) -> Result<String, FsError> {
    Ok(format!(
        "{}\n",
        format_nodelist(&m.scenario.topology.nodes_with_memory())
    ))
}

/// proc_dointvec_minmax: an int within [lo, hi], else EINVAL.
fn int_in(at: &At, v: &str, lo: i64, hi: i64) -> Result<i64, FsError> {
    let x: i64 = v
        .parse()
        .map_err(|_| fs_err(at.path, Errno::EINVAL, format!("`{v}` is not an integer")))?;
    if x < lo || x > hi {
        return Err(fs_err(
            at.path,
            Errno::EINVAL,
            format!("{x} is outside {lo}..={hi}"),
        ));
    }
    Ok(x)
}

/// Every file, for `ls -R` and completion.
pub fn list_files(m: &Machine) -> Vec<String> {
    table::list_files(m)
}

/// The permission bits the kernel gives `path` (stat's st_mode & 0o7777),
/// from its row of the table: sysctls 0644 (`proc_dointvec` tables with
/// mode 0644), sysfs attributes 0644 when they have a store method
/// (`__ATTR(.., 0644, ..)`, e.g. `HSTATE_ATTR`, memory blocks' `state`)
/// and 0444 otherwise (`__ATTR_RO`); `/proc/zoneinfo` and
/// `/proc/pagetypeinfo` 0400 (`proc_create_seq(.., 0400, ..)` in
/// mm/vmstat.c). 0444 for a path the table does not have.
pub fn file_mode(path: &str) -> u16 {
    table::row_of(path).map_or(0o444, |f| f.mode)
}

/// The size `stat` shows for a file, from its row: 0 for procfs and
/// debugfs; for sysfs, kernfs's PAGE_SIZE (4096) for an attribute and the
/// bin_attribute size for the CPU lists (28672).
pub fn file_size(path: &str) -> u64 {
    table::row_of(path).map_or(0, |f| f.size)
}

/// Lists the entries directly under `dir` (directories with a trailing
/// `/`, sorted).
pub fn list_dir(m: &Machine, dir: &str) -> Result<Vec<String>, FsError> {
    table::list_dir(m, dir)
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
    table::read(m, path)
}

/// `echo VALUE > PATH`, with the kernel's checks and errno.
pub fn write(m: &mut Machine, path: &str, value: &str) -> Result<(), FsError> {
    table::write(m, path, value)
}

/// `kstrtou8(buf, 0, ..)`: decimal, 0x hex or 0 octal.
fn parse_u8_auto(s: &str) -> Option<u8> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let (radix, digits) = crate::kernel::parse_integer_fixup_radix(s);
    u8::from_str_radix(digits, radix).ok()
}

fn tasks_table(m: &Machine) -> String {
    let mut s = format!(
        "{:>6} {:<12} {:>4} {:>4} {:>7} {:<12} {:<16} {:>6} {:>8}\n",
        "pid", "name", "cpu", "node", "threads", "workload", "policy", "scale", "state"
    );
    for (i, t) in m.tasks.iter().enumerate() {
        let state = if t.stopped {
            "stopped"
        } else if m.tick < t.start_tick {
            "waiting"
        } else {
            "running"
        };
        s += &format!(
            "{:>6} {:<12} {:>4} {:>4} {:>7} {:<12} {:<16} {:>6} {:>8}\n",
            crate::kernel::numa::machine::task_pid(i),
            t.name,
            t.cpu,
            t.node,
            t.numa.thread_cpus.len(),
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
