//! Workload classes, workload mixes and memory policies.
//!
//! A class is a kind of allocation the kernel makes all the time, with the
//! order and migratetype it really uses; a workload is a mix of classes with
//! a rate (allocations per simulated second) and a mean lifetime each.
//! Lifetimes are geometric: each tick an allocated block is freed with
//! probability 1/lifetime, which keeps frees data-parallel and stateless.

use super::frame::{MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE};

/// Number of allocation classes (fits the 4-bit class field).
pub const NR_CLASSES: usize = 10;

pub const CLASS_ANON: u32 = 0;
pub const CLASS_FILE: u32 = 1;
pub const CLASS_THP: u32 = 2;
pub const CLASS_KSTACK: u32 = 3;
pub const CLASS_SLAB: u32 = 4;
pub const CLASS_SLAB_O1: u32 = 5;
pub const CLASS_SLAB_O3: u32 = 6;
pub const CLASS_SRECLAIM: u32 = 7;
pub const CLASS_PAGETABLE: u32 = 8;
pub const CLASS_PINNED: u32 = 9;

/// The classes that live in user mappings a task's threads touch (its
/// anonymous memory: base pages and THPs): what NUMA balancing scans and
/// migrates, what `/proc/<pid>/numa_maps` counts as `anon=`, and what a
/// task's resident count (`TZ_RSS`, `MM_ANONPAGES`) holds. Page cache
/// is not mapped in the model, and the kernel classes never are.
pub const USER_ANON_CLASS_MASK: u32 = (1 << CLASS_ANON) | (1 << CLASS_THP);

pub const CLASS_NAMES: [&str; NR_CLASSES] = [
    "anon",
    "file",
    "thp",
    "kstack",
    "slab",
    "slab_o1",
    "slab_o3",
    "sreclaim",
    "pagetable",
    "pinned",
];

/// What the kernel would account an allocation of a class as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeminfoBucket {
    Anon,
    File,
    AnonHuge,
    KernelStack,
    SUnreclaim,
    SReclaimable,
    PageTables,
    /// Driver and pinned memory: used, but on no meminfo line of its own.
    Unaccounted,
}

#[derive(Clone, Copy, Debug)]
pub struct ClassInfo {
    pub name: &'static str,
    pub order: u32,
    pub migratetype: u32,
    /// kswapd and direct reclaim may free it (clean page cache, shrinkable
    /// slab). Anonymous memory is not reclaimable: the model has no swap.
    pub reclaimable: bool,
    /// May be placed in ZONE_MOVABLE (`__GFP_MOVABLE` with `__GFP_HIGHMEM`).
    pub movable_zone_ok: bool,
    pub bucket: MeminfoBucket,
}

/// The class table. Orders follow the kernel on x86-64: THP is a PMD-sized
/// (order-9) anonymous folio, kernel stacks are `THREAD_SIZE_ORDER` 2 (16
/// KiB), slab caches use order 0, 1 and 3 slabs (`slub_max_order` 3).
pub const CLASSES: [ClassInfo; NR_CLASSES] = [
    ClassInfo {
        name: "anon",
        order: 0,
        migratetype: MIGRATE_MOVABLE,
        reclaimable: false,
        movable_zone_ok: true,
        bucket: MeminfoBucket::Anon,
    },
    ClassInfo {
        name: "file",
        order: 0,
        migratetype: MIGRATE_MOVABLE,
        reclaimable: true,
        movable_zone_ok: true,
        bucket: MeminfoBucket::File,
    },
    ClassInfo {
        name: "thp",
        order: 9,
        migratetype: MIGRATE_MOVABLE,
        reclaimable: false,
        movable_zone_ok: true,
        bucket: MeminfoBucket::AnonHuge,
    },
    ClassInfo {
        name: "kstack",
        order: 2,
        migratetype: MIGRATE_UNMOVABLE,
        reclaimable: false,
        movable_zone_ok: false,
        bucket: MeminfoBucket::KernelStack,
    },
    ClassInfo {
        name: "slab",
        order: 0,
        migratetype: MIGRATE_UNMOVABLE,
        reclaimable: false,
        movable_zone_ok: false,
        bucket: MeminfoBucket::SUnreclaim,
    },
    ClassInfo {
        name: "slab_o1",
        order: 1,
        migratetype: MIGRATE_UNMOVABLE,
        reclaimable: false,
        movable_zone_ok: false,
        bucket: MeminfoBucket::SUnreclaim,
    },
    ClassInfo {
        name: "slab_o3",
        order: 3,
        migratetype: MIGRATE_UNMOVABLE,
        reclaimable: false,
        movable_zone_ok: false,
        bucket: MeminfoBucket::SUnreclaim,
    },
    ClassInfo {
        name: "sreclaim",
        order: 0,
        migratetype: MIGRATE_RECLAIMABLE,
        reclaimable: true,
        movable_zone_ok: false,
        bucket: MeminfoBucket::SReclaimable,
    },
    ClassInfo {
        name: "pagetable",
        order: 0,
        migratetype: MIGRATE_UNMOVABLE,
        reclaimable: false,
        movable_zone_ok: false,
        bucket: MeminfoBucket::PageTables,
    },
    ClassInfo {
        name: "pinned",
        order: 0,
        migratetype: MIGRATE_UNMOVABLE,
        reclaimable: false,
        movable_zone_ok: false,
        bucket: MeminfoBucket::Unaccounted,
    },
];

pub fn class_by_name(name: &str) -> Option<u32> {
    CLASS_NAMES
        .iter()
        .position(|n| *n == name)
        .map(|i| i as u32)
}

/// One class in a workload: a rate and a mean lifetime. A lifetime of 0
/// means "until the task stops".
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRate {
    pub class: ClassName,
    /// Allocations per simulated second.
    pub rate_per_s: f64,
    /// Mean lifetime in simulated milliseconds (0: lives until the task stops).
    pub lifetime_ms: f64,
}

/// A class named in a file, checked against the class table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(into = "String")]
pub struct ClassName(pub u32);

impl From<ClassName> for String {
    fn from(c: ClassName) -> String {
        CLASS_NAMES[c.0 as usize].to_string()
    }
}

impl<'de> serde::Deserialize<'de> for ClassName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        class_by_name(&s).map(ClassName).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown class `{s}`, expected one of: {}",
                CLASS_NAMES.join(", ")
            ))
        })
    }
}

#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub name: String,
    pub classes: Vec<ClassRate>,
}

fn w(name: &str, classes: &[(u32, f64, f64)]) -> Workload {
    Workload {
        name: name.to_string(),
        classes: classes
            .iter()
            .map(|&(c, rate_per_s, lifetime_ms)| ClassRate {
                class: ClassName(c),
                rate_per_s,
                lifetime_ms,
            })
            .collect(),
    }
}

/// Built-in workloads. Rates are per task; a scenario scales them per task.
/// `mixed` is a general-purpose server task: mostly anonymous and page-cache
/// order-0 memory, some THP, a little slab and kernel stack churn, and a
/// trickle of long-lived unmovable pages that pin pageblocks over time.
pub fn builtin_workloads() -> Vec<Workload> {
    vec![
        w(
            "mixed",
            &[
                (CLASS_ANON, 200_000.0, 400.0),
                (CLASS_FILE, 150_000.0, 3_000.0),
                (CLASS_THP, 150.0, 600.0),
                (CLASS_KSTACK, 2_000.0, 150.0),
                (CLASS_SLAB, 20_000.0, 300.0),
                (CLASS_SLAB_O1, 4_000.0, 400.0),
                (CLASS_SLAB_O3, 1_000.0, 500.0),
                (CLASS_SRECLAIM, 10_000.0, 5_000.0),
                (CLASS_PAGETABLE, 5_000.0, 400.0),
                (CLASS_PINNED, 100.0, 0.0),
            ],
        ),
        w(
            "fileserver",
            &[
                (CLASS_ANON, 40_000.0, 500.0),
                (CLASS_FILE, 400_000.0, 6_000.0),
                (CLASS_SLAB, 15_000.0, 500.0),
                (CLASS_SRECLAIM, 40_000.0, 8_000.0),
                (CLASS_PINNED, 50.0, 0.0),
            ],
        ),
        w(
            "thp",
            &[
                (CLASS_ANON, 50_000.0, 300.0),
                (CLASS_THP, 1_000.0, 800.0),
                (CLASS_PAGETABLE, 1_000.0, 800.0),
            ],
        ),
        w(
            "kernel",
            &[
                (CLASS_KSTACK, 20_000.0, 100.0),
                (CLASS_SLAB, 100_000.0, 200.0),
                (CLASS_SLAB_O1, 30_000.0, 300.0),
                (CLASS_SLAB_O3, 10_000.0, 300.0),
                (CLASS_SRECLAIM, 30_000.0, 2_000.0),
                (CLASS_PAGETABLE, 20_000.0, 200.0),
                (CLASS_PINNED, 500.0, 0.0),
            ],
        ),
        w("idle", &[(CLASS_ANON, 1_000.0, 1_000.0)]),
    ]
}

/// `set_mempolicy(2)` modes the model implements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mempolicy {
    /// MPOL_LOCAL / the default: the node of the CPU the task runs on.
    Local,
    /// MPOL_BIND: only these nodes, nearest first.
    Bind(Vec<u32>),
    /// MPOL_PREFERRED: this node first, then the usual fallback.
    Preferred(u32),
    /// MPOL_INTERLEAVE: page by page round robin over the nodes.
    Interleave(Vec<u32>),
    /// MPOL_WEIGHTED_INTERLEAVE: round robin using
    /// /sys/kernel/mm/mempolicy/weighted_interleave/node<N> weights.
    WeightedInterleave(Vec<u32>),
}

pub const MPOL_LOCAL: u32 = 0;
pub const MPOL_BIND: u32 = 1;
pub const MPOL_PREFERRED: u32 = 2;
pub const MPOL_INTERLEAVE: u32 = 3;
pub const MPOL_WEIGHTED_INTERLEAVE: u32 = 4;

impl Mempolicy {
    pub fn mode(&self) -> u32 {
        match self {
            Mempolicy::Local => MPOL_LOCAL,
            Mempolicy::Bind(_) => MPOL_BIND,
            Mempolicy::Preferred(_) => MPOL_PREFERRED,
            Mempolicy::Interleave(_) => MPOL_INTERLEAVE,
            Mempolicy::WeightedInterleave(_) => MPOL_WEIGHTED_INTERLEAVE,
        }
    }

    pub fn nodes(&self) -> Vec<u32> {
        match self {
            Mempolicy::Local => vec![],
            Mempolicy::Preferred(n) => vec![*n],
            Mempolicy::Bind(v) | Mempolicy::Interleave(v) | Mempolicy::WeightedInterleave(v) => {
                v.clone()
            }
        }
    }

    /// Parses the form used in scenarios and the shell: `local`,
    /// `bind:0,1`, `preferred:2`, `interleave:0-3`, `weighted:0-3`.
    pub fn parse(s: &str) -> Result<Mempolicy, String> {
        let (mode, rest) = match s.split_once(':') {
            Some((m, r)) => (m, Some(r)),
            None => (s, None),
        };
        let nodes = |r: Option<&str>| -> Result<Vec<u32>, String> {
            let r =
                r.ok_or_else(|| format!("policy `{mode}` needs a node list, as in `{mode}:0-1`"))?;
            parse_nodelist(r)
        };
        match mode {
            "local" | "default" if rest.is_none() => Ok(Mempolicy::Local),
            "bind" => Ok(Mempolicy::Bind(nodes(rest)?)),
            "preferred" => {
                let v = nodes(rest)?;
                if v.len() != 1 {
                    return Err(format!("policy `preferred` takes one node, got `{}`", rest.unwrap_or("")));
                }
                Ok(Mempolicy::Preferred(v[0]))
            }
            "interleave" => Ok(Mempolicy::Interleave(nodes(rest)?)),
            "weighted" | "weighted_interleave" => Ok(Mempolicy::WeightedInterleave(nodes(rest)?)),
            _ => Err(format!(
                "unknown mempolicy `{s}`, expected local, bind:NODES, preferred:NODE, interleave:NODES or weighted:NODES"
            )),
        }
    }
}

impl std::fmt::Display for Mempolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mempolicy::Local => write!(f, "local"),
            Mempolicy::Bind(v) => write!(f, "bind:{}", format_nodelist(v)),
            Mempolicy::Preferred(n) => write!(f, "preferred:{n}"),
            Mempolicy::Interleave(v) => write!(f, "interleave:{}", format_nodelist(v)),
            Mempolicy::WeightedInterleave(v) => write!(f, "weighted:{}", format_nodelist(v)),
        }
    }
}

/// Parses a kernel node or CPU list (`0-3,5`), as `bitmap_parselist` does.
pub fn parse_nodelist(s: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in s.trim().split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!("empty entry in list `{s}`"));
        }
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let a: u32 = a
            .trim()
            .parse()
            .map_err(|_| format!("`{part}` in list `{s}` is not a number or range"))?;
        let b: u32 = b
            .trim()
            .parse()
            .map_err(|_| format!("`{part}` in list `{s}` is not a number or range"))?;
        if b < a {
            return Err(format!("range `{part}` in list `{s}` goes backwards"));
        }
        if b - a > 4096 {
            return Err(format!("range `{part}` in list `{s}` is too large"));
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Formats a list the way the kernel prints node and CPU lists (`%*pbl`).
pub fn format_nodelist(v: &[u32]) -> String {
    let mut sorted = v.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            format!("{start}")
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodelists_round_trip() {
        assert_eq!(parse_nodelist("0-3,5").unwrap(), vec![0, 1, 2, 3, 5]);
        assert_eq!(format_nodelist(&[0, 1, 2, 3, 5, 7, 8]), "0-3,5,7-8");
        assert_eq!(format_nodelist(&[]), "");
        assert!(parse_nodelist("3-1").is_err());
        assert!(parse_nodelist("a").is_err());
    }

    #[test]
    fn policies_parse() {
        assert_eq!(Mempolicy::parse("local").unwrap(), Mempolicy::Local);
        assert_eq!(
            Mempolicy::parse("bind:0,2").unwrap(),
            Mempolicy::Bind(vec![0, 2])
        );
        assert_eq!(
            Mempolicy::parse("interleave:0-3").unwrap().to_string(),
            "interleave:0-3"
        );
        assert!(Mempolicy::parse("preferred:0-1").is_err());
        assert!(Mempolicy::parse("bogus").is_err());
    }

    #[test]
    fn class_table_matches_names() {
        for (i, c) in CLASSES.iter().enumerate() {
            assert_eq!(c.name, CLASS_NAMES[i]);
            assert!(c.order <= super::super::frame::MAX_PAGE_ORDER);
        }
    }
}
