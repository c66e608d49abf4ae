//! The hugetlb operations of a `Machine`: each runs one path over a
//! transaction on the current frames and applies its writes on the
//! backend (`Backend::apply_ops`), then updates the zones' managed pages.

use super::buddy::Txn;
use super::*;
use crate::engine::types::NR_ZONE_STATS;
use crate::kernel::{Machine, MachineError};

impl From<HugetlbError> for MachineError {
    fn from(e: HugetlbError) -> Self {
        MachineError::Invalid(format!("{}: {}", e.errno, e.detail))
    }
}

/// Where one control path spent its time: copying the pools for a
/// rollback, getting the current frames (a download on the GPU), running
/// the path over its transaction on the host, and applying and recounting
/// its frame writes on the backend (submitted; the GPU may still be busy).
#[derive(Clone, Copy, Debug, Default)]
pub struct PathTimes {
    pub rollback_copy: std::time::Duration,
    pub fetch: std::time::Duration,
    pub path: std::time::Duration,
    pub apply: std::time::Duration,
    /// Writes applied (frames, pageblocks and counter words).
    pub ops: u64,
}

/// A hugetlb operation's outcome: the path's own error (with its errno)
/// or the engine's.
#[derive(Debug)]
pub enum OpError {
    Hugetlb(HugetlbError),
    Machine(MachineError),
}

impl From<MachineError> for OpError {
    fn from(e: MachineError) -> Self {
        OpError::Machine(e)
    }
}
impl From<HugetlbError> for OpError {
    fn from(e: HugetlbError) -> Self {
        OpError::Hugetlb(e)
    }
}
impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpError::Hugetlb(e) => write!(f, "{} ({})", e.detail, e.errno),
            OpError::Machine(e) => write!(f, "{e}"),
        }
    }
}

impl Machine {
    /// Runs `f` as one hugetlb path: on success its frame writes are
    /// applied; on error the pools are put back as they were and nothing
    /// is written (every path that can fail part way is all or nothing).
    pub fn hugetlb_path<R>(
        &mut self,
        f: impl FnOnce(&mut Path) -> Result<R, HugetlbError>,
    ) -> Result<R, OpError> {
        let tick = self.tick;
        let t0 = std::time::Instant::now();
        let saved = self.hugetlb.clone();
        let t1 = std::time::Instant::now();
        let b = self.backend.buffers().map_err(MachineError::from)?;
        let t2 = std::time::Instant::now();
        let nz = b.zones.len();
        let mut txn = Txn::new(b);
        let mut path = Path {
            h: &mut self.hugetlb,
            t: &mut txn,
            topo: &self.scenario.topology,
            tick,
            managed_delta: vec![0; nz],
        };
        let r = f(&mut path);
        let delta = std::mem::take(&mut path.managed_delta);
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                // A failure found part way keeps the violation it saw.
                let v = self.hugetlb.step_violation.clone();
                self.hugetlb = saved;
                self.hugetlb.step_violation = v;
                return Err(e.into());
            }
        };
        let ops = txn.ops();
        let totals = txn.totals_after();
        let t3 = std::time::Instant::now();
        if delta.iter().any(|&d| d != 0) {
            let b = self.backend.buffers_mut();
            for (z, d) in delta.into_iter().enumerate() {
                b.zones[z].managed = (b.zones[z].managed as i64 + d) as u32;
                b.zones[z].reserved = (b.zones[z].reserved as i64 - d) as u32;
            }
        }
        if !ops.is_empty() {
            self.backend.apply_ops(&ops).map_err(MachineError::from)?;
        }
        // The machine's copy of the counters takes the path's changes now
        // (the path read them from a current copy, so the values are
        // exact); the next fold reads the same values back.
        for (i, v) in totals {
            self.totals[i / NR_ZONE_STATS][i % NR_ZONE_STATS] = v;
        }
        self.path_times = PathTimes {
            rollback_copy: t1 - t0,
            fetch: t2 - t1,
            path: t3 - t2,
            apply: t3.elapsed(),
            ops: ops.len() as u64,
        };
        Ok(r)
    }

    /// Writes the persistent pool size (`nr_hugepages`), globally or for
    /// one node, over the allowed nodes.
    pub fn hugetlb_set_pages(
        &mut self,
        hs: usize,
        count: u64,
        nid: Option<u32>,
        allowed: Option<Vec<u32>>,
    ) -> Result<(), OpError> {
        let allowed = match (nid, allowed) {
            (Some(n), _) => vec![n],
            (None, Some(a)) => a,
            (None, None) => self.scenario.topology.nodes_with_memory(),
        };
        self.hugetlb_path(|p| {
            p.set_max_huge_pages(hs, count, nid, &allowed);
            Ok(())
        })
    }

    /// `vm.hugetlb_optimize_vmemmap`: affects pages allocated afterwards.
    pub fn hugetlb_set_optimize(&mut self, on: bool) {
        self.hugetlb.optimize_vmemmap = on;
    }

    fn task_index(&self, name: &str) -> Result<usize, HugetlbError> {
        self.tasks
            .iter()
            .position(|t| t.name == name && !t.stopped)
            .ok_or_else(|| HugetlbError {
                errno: "ESRCH",
                detail: format!("no running task named `{name}`"),
            })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn hugetlb_map(
        &mut self,
        name: &str,
        task: &str,
        hs: usize,
        nr: u64,
        shared: bool,
        noreserve: bool,
    ) -> Result<(), OpError> {
        let t = self.task_index(task)?;
        let nodes = policy_mask(&self.tasks[t].policy, &self.scenario.topology);
        self.hugetlb_path(|p| p.map(name, t, hs, nr, shared, noreserve, &nodes))
    }

    fn mapping_index(&self, name: &str) -> Result<usize, HugetlbError> {
        self.hugetlb.mapping(name).ok_or_else(|| HugetlbError {
            errno: "EINVAL",
            detail: format!(
                "no mapping named `{name}` (mappings: {})",
                if self.hugetlb.mappings.is_empty() {
                    "none".to_string()
                } else {
                    self.hugetlb
                        .mappings
                        .iter()
                        .map(|m| m.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        })
    }

    /// Faults the first `n` pages of the mapping not yet faulted. Pages
    /// faulted before a SIGBUS stay; returns how many were faulted.
    pub fn hugetlb_touch(&mut self, name: &str, n: Option<u64>) -> Result<u64, OpError> {
        let m = self.mapping_index(name)?;
        let mp = &self.hugetlb.mappings[m];
        let ti = &self.tasks[mp.task];
        let (policy, node) = (ti.policy.clone(), ti.node);
        let mask = policy_mask(&policy, &self.scenario.topology);
        let todo: Vec<u64> = mp
            .pages
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_none())
            .map(|(i, _)| i as u64)
            .take(n.unwrap_or(u64::MAX) as usize)
            .collect();
        let weights = self.il_weights.clone();
        let mut sigbus = None;
        let done = self.hugetlb_path(|p| {
            let mut done = 0;
            for idx in todo {
                let nid = fault_node(&policy, node, idx, &weights);
                match p.fault(m, idx, nid, &mask) {
                    Ok(_) => done += 1,
                    Err(e) => {
                        sigbus = Some(e);
                        break;
                    }
                }
            }
            Ok(done)
        })?;
        match sigbus {
            Some(e) => Err(OpError::Hugetlb(HugetlbError {
                errno: e.errno,
                detail: format!("{} (after {done} pages faulted)", e.detail),
            })),
            None => Ok(done),
        }
    }

    pub fn hugetlb_unmap(&mut self, name: &str) -> Result<(), OpError> {
        let m = self.mapping_index(name)?;
        self.hugetlb_path(|p| {
            p.unmap(m);
            Ok(())
        })?;
        self.hugetlb.mappings.remove(m);
        // Mapping indices in page records shift down past `m`.
        for p in self.hugetlb.pages.values_mut() {
            if let Some((mm, idx)) = p.user {
                if mm as usize > m {
                    p.user = Some((mm - 1, idx));
                }
            }
        }
        Ok(())
    }

    /// Migrates every huge page of `task` not on `node` to `node`
    /// (`migrate_pages(2)`); returns (migrated, failed).
    pub fn hugetlb_migrate(&mut self, task: &str, node: u32) -> Result<(u64, u64), OpError> {
        let t = self.task_index(task)?;
        let nn = self.scenario.topology.nodes.len() as u32;
        if node >= nn || self.scenario.topology.nodes[node as usize].frames == 0 {
            return Err(OpError::Hugetlb(HugetlbError {
                errno: "EINVAL",
                detail: format!("node {node} is not a node with memory (nodes 0-{})", nn - 1),
            }));
        }
        let pages: Vec<u32> = self
            .hugetlb
            .mappings
            .iter()
            .filter(|m| m.task == t)
            .flat_map(|m| m.pages.iter().flatten().copied())
            .filter(|p| self.hugetlb.pages[p].node != node)
            .collect();
        self.hugetlb_path(|p| {
            let (mut ok, mut failed) = (0, 0);
            for pfn in pages {
                if p.migrate_page(pfn, node) {
                    ok += 1;
                } else {
                    failed += 1;
                }
            }
            Ok((ok, failed))
        })
    }

    /// `echo offline > /sys/devices/system/memory/memoryN/state`.
    pub fn offline_block(&mut self, block: u32) -> Result<(), OpError> {
        let start = block as u64 * MEMORY_BLOCK_FRAMES;
        self.check_block(block)?;
        if self.hugetlb.offline_blocks.contains(&block) {
            return Ok(());
        }
        self.hugetlb_path(|p| p.offline_range(start as u32, MEMORY_BLOCK_FRAMES as u32))?;
        self.hugetlb.offline_blocks.insert(block);
        Ok(())
    }

    /// `echo online > /sys/devices/system/memory/memoryN/state`.
    pub fn online_block(&mut self, block: u32) -> Result<(), OpError> {
        let start = block as u64 * MEMORY_BLOCK_FRAMES;
        self.check_block(block)?;
        if !self.hugetlb.offline_blocks.contains(&block) {
            return Ok(());
        }
        self.hugetlb_path(|p| Ok(p.online_range(start as u32, MEMORY_BLOCK_FRAMES as u32)))?;
        self.hugetlb.offline_blocks.remove(&block);
        Ok(())
    }

    /// Memory blocks of the machine: a block is one zone's memory.
    pub fn nr_memory_blocks(&self) -> u32 {
        (self.scenario.topology.total_frames() / MEMORY_BLOCK_FRAMES) as u32
    }

    fn check_block(&self, block: u32) -> Result<(), HugetlbError> {
        let t = &self.scenario.topology;
        let start = block as u64 * MEMORY_BLOCK_FRAMES;
        let end = start + MEMORY_BLOCK_FRAMES;
        if t.zones
            .iter()
            .any(|z| z.start_pfn <= start && end <= z.end_pfn())
        {
            Ok(())
        } else {
            Err(HugetlbError {
                errno: "EINVAL",
                detail: format!(
                    "memory block {block} (pfn {start:#x}-{:#x}) does not lie inside one zone",
                    end - 1
                ),
            })
        }
    }
}
