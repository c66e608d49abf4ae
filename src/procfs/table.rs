//! The tree as one table: every file of /proc, /sys and /dev is a row
//! (a path pattern, its mode, its size, how it reads and how it writes).
//! The shell, the mount, `exec`, the dashboard console and the tests all
//! ask this table; a subsystem adds its rows in its own module
//! (`procfs::<subsystem>::files()`) and one line in `PARTS`.
//!
//! A pattern is a path whose segments may hold one placeholder each:
//! `{node}` (a node id below the machine's node count), `{cpu}` (one of
//! the simulated CPUs), `{block}` (a memory block id) and `{hstate}` (an
//! hstate directory, `hugepages-2048kB`). Finding a row for a path costs
//! a walk over the rows' segments, never a listing of the tree, and a
//! read runs only its own row's function: a `cat` costs what that file
//! needs.

use super::{fs_err, Errno, FsError};
use crate::kernel::hugetlb::{hstate_name, NR_HSTATES};
use crate::kernel::Machine;
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// What a read returns.
pub type ReadFn = fn(&mut Machine, &At) -> Result<String, FsError>;
/// What a write does with the trimmed value.
pub type WriteFn = fn(&mut Machine, &At, &str) -> Result<(), FsError>;

/// The placeholders a pattern segment may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Var {
    Node,
    Cpu,
    Block,
    Hstate,
    /// A running task's pid (its thread group).
    Pid,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Lit(String),
    /// `pre{var}post`.
    Var(String, Var, String),
}

/// One file of the tree.
pub struct File {
    /// The pattern, e.g. `/sys/devices/system/node/node{node}/meminfo`.
    pub pattern: String,
    /// Permission bits as `stat` shows them.
    pub mode: u16,
    /// `st_size`.
    pub size: u64,
    pub read: ReadFn,
    /// None: the kernel has no store method (a write gets EACCES).
    pub write: Option<WriteFn>,
    segs: Vec<Seg>,
}

/// The size the kernel reports: procfs and debugfs files 0, sysfs
/// attributes kernfs's PAGE_SIZE (a bin_attribute sets its own: `bin`).
fn default_size(path: &str) -> u64 {
    if path.starts_with("/sys/") && !path.starts_with("/sys/kernel/debug/") {
        4096
    } else {
        0
    }
}

impl File {
    /// A read-only file: 0444.
    pub fn ro(pattern: impl Into<String>, read: ReadFn) -> File {
        let pattern = pattern.into();
        let segs = parse_pattern(&pattern);
        File {
            size: default_size(&pattern),
            pattern,
            mode: 0o444,
            read,
            write: None,
            segs,
        }
    }
    /// A file with a store method: 0644.
    pub fn rw(pattern: impl Into<String>, read: ReadFn, write: WriteFn) -> File {
        File {
            mode: 0o644,
            write: Some(write),
            ..File::ro(pattern, read)
        }
    }
    /// Other permission bits (0400 for /proc/zoneinfo, 0600 for lock_stat).
    pub fn mode(self, mode: u16) -> File {
        File { mode, ..self }
    }
    /// A bin_attribute's size.
    pub fn bin(self, size: u64) -> File {
        File { size, ..self }
    }
}

fn parse_pattern(p: &str) -> Vec<Seg> {
    p.trim_start_matches('/')
        .split('/')
        .map(|s| {
            let Some((pre, rest)) = s.split_once('{') else {
                return Seg::Lit(s.to_string());
            };
            let (name, post) = rest.split_once('}').expect("a closed placeholder");
            let v = match name {
                "node" => Var::Node,
                "cpu" => Var::Cpu,
                "block" => Var::Block,
                "hstate" => Var::Hstate,
                "pid" => Var::Pid,
                other => panic!("unknown placeholder {{{other}}} in {p}"),
            };
            Seg::Var(pre.to_string(), v, post.to_string())
        })
        .collect()
}

/// A path matched to its row: the placeholders' values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct At<'a> {
    pub path: &'a str,
    pub node: u32,
    pub cpu: u32,
    pub block: u32,
    pub hs: usize,
    /// The task a `{pid}` names (its index).
    pub task: usize,
}

impl At<'_> {
    /// A machine error as the file's errno, its text as the detail.
    pub fn machine_err(&self, e: crate::kernel::MachineError) -> FsError {
        fs_err(self.path, e.errno(), e.to_string())
    }

    /// The file's name: the last segment of its path.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or("")
    }
}

/// The table's parts, one per subsystem.
const PARTS: &[fn() -> Vec<File>] = &[
    super::files,
    super::hugetlb::files,
    super::cpu::files,
    super::lockdep::files,
    super::reporting::files,
    super::numa::files,
];

/// Every row, built once.
pub fn rows() -> &'static [File] {
    static T: OnceLock<Vec<File>> = OnceLock::new();
    T.get_or_init(|| {
        let v: Vec<File> = PARTS.iter().flat_map(|p| p()).collect();
        let mut seen = BTreeSet::new();
        for f in &v {
            assert!(
                seen.insert(&f.pattern),
                "{} is in the table twice",
                f.pattern
            );
        }
        v
    })
}

/// The machine's extent of each placeholder.
struct Bounds {
    nodes: u32,
    cpus: Vec<u32>,
    blocks: u32,
    /// (pid, task index) of the running tasks.
    pids: Vec<(u32, usize)>,
}

impl Bounds {
    fn of(m: &Machine) -> Bounds {
        Bounds {
            nodes: m.scenario.topology.nodes.len() as u32,
            cpus: super::cpu::all_cpus(m),
            blocks: m.nr_memory_blocks(),
            pids: m
                .tasks
                .iter()
                .enumerate()
                .filter(|(_, t)| !t.stopped)
                .map(|(i, _)| (crate::kernel::numa::machine::task_pid(i), i))
                .collect(),
        }
    }

    /// The values a placeholder takes, as path text.
    fn values(&self, v: Var) -> Vec<(String, u32)> {
        match v {
            Var::Node => (0..self.nodes).map(|n| (n.to_string(), n)).collect(),
            Var::Cpu => self.cpus.iter().map(|&c| (c.to_string(), c)).collect(),
            Var::Block => (0..self.blocks).map(|b| (b.to_string(), b)).collect(),
            Var::Hstate => (0..NR_HSTATES)
                .map(|h| (hstate_name(h), h as u32))
                .collect(),
            Var::Pid => self.pids.iter().map(|&(p, _)| (p.to_string(), p)).collect(),
        }
    }

    /// Why `text` (well formed) names nothing on this machine.
    fn out_of_range(&self, v: Var, x: u32) -> Option<String> {
        match v {
            Var::Node if x >= self.nodes => Some(format!(
                "the machine has nodes 0-{}",
                self.nodes.saturating_sub(1)
            )),
            Var::Cpu if !self.cpus.contains(&x) => Some(format!(
                "the machine has CPUs {}",
                crate::model::workload::format_nodelist(&self.cpus)
            )),
            Var::Block if x >= self.blocks => Some(format!(
                "the machine has memory blocks 0-{}",
                self.blocks.saturating_sub(1)
            )),
            Var::Pid if !self.pids.iter().any(|&(p, _)| p == x) => {
                Some("no running task has that pid (`tasks` lists them)".into())
            }
            _ => None,
        }
    }
}

/// A decimal id as the kernel names it (no sign, no leading zeros).
fn parse_id(s: &str) -> Option<u32> {
    let ok = !s.is_empty()
        && s.bytes().all(|c| c.is_ascii_digit())
        && (s.len() == 1 || !s.starts_with('0'));
    if ok {
        s.parse().ok()
    } else {
        None
    }
}

/// How one path segment meets one pattern segment.
enum SegMatch {
    No,
    Yes,
    /// Well formed, but the machine has no such node, CPU or block.
    OutOfRange(String),
}

fn match_seg(seg: &Seg, s: &str, b: &Bounds, at: &mut At) -> SegMatch {
    match seg {
        Seg::Lit(l) => {
            if l == s {
                SegMatch::Yes
            } else {
                SegMatch::No
            }
        }
        Seg::Var(pre, v, post) => {
            let Some(mid) = s
                .strip_prefix(pre.as_str())
                .and_then(|r| r.strip_suffix(post.as_str()))
            else {
                return SegMatch::No;
            };
            if *v == Var::Hstate {
                return match (0..NR_HSTATES).find(|&h| hstate_name(h) == mid) {
                    Some(h) => {
                        at.hs = h;
                        SegMatch::Yes
                    }
                    None => SegMatch::No,
                };
            }
            let Some(x) = parse_id(mid) else {
                return SegMatch::No;
            };
            if let Some(why) = b.out_of_range(*v, x) {
                return SegMatch::OutOfRange(why);
            }
            match v {
                Var::Node => at.node = x,
                Var::Cpu => at.cpu = x,
                Var::Block => at.block = x,
                Var::Pid => at.task = b.pids.iter().find(|&&(p, _)| p == x).map_or(0, |&(_, i)| i),
                Var::Hstate => unreachable!(),
            }
            SegMatch::Yes
        }
    }
}

/// Matches `parts` against the first `parts.len()` segments of `f`.
fn match_prefix<'a>(
    f: &File,
    parts: &[&str],
    path: &'a str,
    b: &Bounds,
) -> Result<Option<At<'a>>, String> {
    if parts.len() > f.segs.len() {
        return Ok(None);
    }
    let mut at = At {
        path,
        ..At::default()
    };
    let mut why = None;
    for (seg, s) in f.segs.iter().zip(parts) {
        match match_seg(seg, s, b, &mut at) {
            SegMatch::No => return Ok(None),
            SegMatch::Yes => {}
            SegMatch::OutOfRange(w) => why = why.or(Some(w)),
        }
    }
    match why {
        Some(w) => Err(w),
        None => Ok(Some(at)),
    }
}

fn split(path: &str) -> Vec<&str> {
    let p = path.trim_matches('/');
    if p.is_empty() {
        Vec::new()
    } else {
        p.split('/').collect()
    }
}

/// What a path is.
pub enum Entry<'a> {
    File(&'static File, At<'a>),
    Dir,
}

/// Finds what `path` names: a file with its placeholders, or a directory.
pub fn lookup<'a>(m: &Machine, path: &'a str) -> Result<Entry<'a>, FsError> {
    let parts = split(path);
    let b = Bounds::of(m);
    let mut why: Option<String> = None;
    let mut dir = parts.is_empty();
    for f in rows() {
        match match_prefix(f, &parts, path, &b) {
            Ok(Some(at)) if f.segs.len() == parts.len() => return Ok(Entry::File(f, at)),
            Ok(Some(_)) => dir = true,
            Ok(None) => {}
            Err(w) => why = why.or(Some(w)),
        }
    }
    if dir {
        return Ok(Entry::Dir);
    }
    Err(fs_err(path, Errno::ENOENT, why.unwrap_or_default()))
}

/// The entries directly under `dir`, directories with a trailing `/`,
/// sorted.
pub fn list_dir(m: &Machine, dir: &str) -> Result<Vec<String>, FsError> {
    let parts = split(dir);
    let b = Bounds::of(m);
    let k = parts.len();
    let mut out = BTreeSet::new();
    let mut why: Option<String> = None;
    for f in rows() {
        match match_prefix(f, &parts, dir, &b) {
            Ok(Some(_)) if f.segs.len() == k => return Err(fs_err(dir, Errno::ENOTDIR, "")),
            Ok(Some(_)) => {
                let slash = if f.segs.len() > k + 1 { "/" } else { "" };
                match &f.segs[k] {
                    Seg::Lit(l) => {
                        out.insert(format!("{l}{slash}"));
                    }
                    Seg::Var(pre, v, post) => {
                        for (t, _) in b.values(*v) {
                            out.insert(format!("{pre}{t}{post}{slash}"));
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(w) => why = why.or(Some(w)),
        }
    }
    if out.is_empty() {
        return Err(fs_err(dir, Errno::ENOENT, why.unwrap_or_default()));
    }
    Ok(out.into_iter().collect())
}

/// Every file of the machine's tree, sorted.
pub fn list_files(m: &Machine) -> Vec<String> {
    let b = Bounds::of(m);
    let mut out = Vec::new();
    for f in rows() {
        let mut paths = vec![String::new()];
        for seg in &f.segs {
            let texts: Vec<String> = match seg {
                Seg::Lit(l) => vec![l.clone()],
                Seg::Var(pre, v, post) => b
                    .values(*v)
                    .into_iter()
                    .map(|(t, _)| format!("{pre}{t}{post}"))
                    .collect(),
            };
            paths = paths
                .iter()
                .flat_map(|p| texts.iter().map(move |t| format!("{p}/{t}")))
                .collect();
        }
        out.extend(paths);
    }
    out.sort();
    out
}

/// The row whose pattern matches `path`'s shape, placeholders taking any
/// well-formed value: modes and sizes without a machine.
pub fn row_of(path: &str) -> Option<&'static File> {
    let parts = split(path);
    let b = Bounds {
        nodes: u32::MAX,
        cpus: Vec::new(),
        blocks: u32::MAX,
        pids: Vec::new(),
    };
    rows().iter().find(|f| {
        f.segs.len() == parts.len()
            && f.segs.iter().zip(&parts).all(|(seg, s)| {
                let mut at = At::default();
                match seg {
                    // Any CPU id or pid is well formed here.
                    Seg::Var(pre, Var::Cpu | Var::Pid, post) => s
                        .strip_prefix(pre.as_str())
                        .and_then(|r| r.strip_suffix(post.as_str()))
                        .and_then(parse_id)
                        .is_some(),
                    _ => matches!(match_seg(seg, s, &b, &mut at), SegMatch::Yes),
                }
            })
    })
}

/// `cat PATH`.
pub fn read(m: &mut Machine, path: &str) -> Result<String, FsError> {
    match lookup(m, path)? {
        Entry::File(f, at) => (f.read)(m, &at),
        Entry::Dir => Err(fs_err(path, Errno::EISDIR, "")),
    }
}

/// `echo VALUE > PATH`.
pub fn write(m: &mut Machine, path: &str, value: &str) -> Result<(), FsError> {
    match lookup(m, path)? {
        Entry::File(f, at) => match f.write {
            Some(w) => w(m, &at, value.trim()),
            None => Err(fs_err(path, Errno::EACCES, "read-only file")),
        },
        Entry::Dir => Err(fs_err(path, Errno::EISDIR, "")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_split_into_literal_and_placeholder_segments() {
        assert_eq!(
            parse_pattern("/sys/devices/system/node/node{node}/meminfo"),
            vec![
                Seg::Lit("sys".into()),
                Seg::Lit("devices".into()),
                Seg::Lit("system".into()),
                Seg::Lit("node".into()),
                Seg::Var("node".into(), Var::Node, String::new()),
                Seg::Lit("meminfo".into()),
            ]
        );
    }

    #[test]
    fn ids_are_canonical_decimals() {
        assert_eq!(parse_id("0"), Some(0));
        assert_eq!(parse_id("12"), Some(12));
        assert_eq!(parse_id("012"), None);
        assert_eq!(parse_id("+1"), None);
        assert_eq!(parse_id(""), None);
    }

    #[test]
    fn every_pattern_is_unique_and_absolute() {
        for f in rows() {
            assert!(
                f.pattern.starts_with("/proc/")
                    || f.pattern.starts_with("/sys/")
                    || f.pattern.starts_with("/dev/"),
                "{}",
                f.pattern
            );
        }
        assert!(rows().len() > 60);
    }
}
