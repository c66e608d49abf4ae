//! The hugetlb operations of a `Machine`: each runs one kernel path
//! (`Machine::run_path`) over the hugetlb pools and memory, whose writes
//! reach the backend as one request batch.

use super::*;
use crate::kernel::{Machine, MachineError};

impl Machine {
    /// Runs `f` as one hugetlb path named `name` (the kernel function it
    /// models): all or nothing (see `Machine::run_path`).
    pub fn hugetlb_path<R>(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&mut Op) -> Result<R, MachineError>,
    ) -> Result<R, MachineError> {
        let tick = self.tick;
        self.run_path(name, |mm, h| f(&mut Op { h, mm, tick }))
    }

    /// Writes the persistent pool size (`nr_hugepages`), globally or for
    /// one node, over the allowed nodes.
    pub fn hugetlb_set_pages(
        &mut self,
        hs: usize,
        count: u64,
        nid: Option<u32>,
        allowed: Option<Vec<u32>>,
    ) -> Result<(), MachineError> {
        let allowed = match (nid, allowed) {
            (Some(n), _) => vec![n],
            (None, Some(a)) => a,
            (None, None) => self.scenario.topology.nodes_with_memory(),
        };
        self.hugetlb_path("set_max_huge_pages", |p| {
            p.set_max_huge_pages(hs, count, nid, &allowed);
            Ok(())
        })
    }

    /// `vm.hugetlb_optimize_vmemmap`: affects pages allocated afterwards.
    pub fn hugetlb_set_optimize(&mut self, on: bool) {
        self.hugetlb.optimize_vmemmap = on;
    }

    fn task_index(&self, name: &str) -> Result<usize, KernelError> {
        self.tasks
            .iter()
            .position(|t| t.name == name && !t.stopped)
            .ok_or_else(|| {
                KernelError::new(Errno::ESRCH, format!("no running task named `{name}`"))
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
    ) -> Result<(), MachineError> {
        let t = self.task_index(task)?;
        let nodes = policy_mask(&self.tasks[t].policy, &self.scenario.topology);
        self.hugetlb_path("hugetlb_reserve_pages", |p| {
            Ok(p.map(name, t, hs, nr, shared, noreserve, &nodes)?)
        })
    }

    fn mapping_index(&self, name: &str) -> Result<usize, KernelError> {
        self.hugetlb.mapping(name).ok_or_else(|| KernelError {
            errno: Errno::EINVAL,
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
    pub fn hugetlb_touch(&mut self, name: &str, n: Option<u64>) -> Result<u64, MachineError> {
        let m = self.mapping_index(name)?;
        let mp = &self.hugetlb.mappings[m];
        let ti = &self.tasks[mp.task];
        let (policy, node) = (ti.policy.clone(), ti.node);
        let mask = policy_mask(&policy, &self.scenario.topology);
        let want = n.unwrap_or(u64::MAX);
        let weights = self.il_weights.clone();
        let mut sigbus = None;
        self.path_task = Some(mp.task);
        let done = self.hugetlb_path("hugetlb_fault", |p| {
            let mut done = 0;
            let len = p.h.mappings[m].nr_pages;
            // The first pages not faulted yet, in order (a long mapping is
            // walked lazily: the first SIGBUS ends the walk).
            for idx in 0..len {
                if done >= want {
                    break;
                }
                if p.h.mappings[m].pages.contains_key(&idx) {
                    continue;
                }
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
            Some(Sigbus(detail)) => Err(MachineError::Sigbus(format!(
                "{detail} (after {done} pages faulted)"
            ))),
            None => Ok(done),
        }
    }

    pub fn hugetlb_unmap(&mut self, name: &str) -> Result<(), MachineError> {
        let m = self.mapping_index(name)?;
        self.path_task = Some(self.hugetlb.mappings[m].task);
        self.hugetlb_path("munmap", |p| {
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
    pub fn hugetlb_migrate(&mut self, task: &str, node: u32) -> Result<(u64, u64), MachineError> {
        let t = self.task_index(task)?;
        let nn = self.scenario.topology.nodes.len() as u32;
        if node >= nn || self.scenario.topology.nodes[node as usize].frames == 0 {
            return Err(KernelError::new(
                Errno::EINVAL,
                format!("node {node} is not a node with memory (nodes 0-{})", nn - 1),
            )
            .into());
        }
        let pages: Vec<u32> = self
            .hugetlb
            .mappings
            .iter()
            .filter(|m| m.task == t)
            .flat_map(|m| m.pages.values().copied())
            .filter(|p| self.hugetlb.pages[p].node != node)
            .collect();
        self.path_task = Some(t);
        self.hugetlb_path("migrate_pages", |p| {
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
    pub fn offline_block(&mut self, block: u32) -> Result<(), MachineError> {
        let start = block as u64 * MEMORY_BLOCK_FRAMES;
        self.check_block(block)?;
        // state_store(): device_offline() of an offline block returns 1,
        // which the store turns into EINVAL (seen on Debian's 6.1).
        if self.mm.offline_blocks.contains(&block) {
            return Err(already(block, "offline"));
        }
        self.hugetlb_path("offline_pages", |p| {
            Ok(p.offline_range(start as u32, MEMORY_BLOCK_FRAMES as u32)?)
        })?;
        self.mm.offline_blocks.insert(block);
        // offline_pages(): present pages adjusted (the /proc files derive
        // them from `offline_blocks`), then init_per_zone_wmark_min().
        self.init_per_zone_wmark_min();
        Ok(())
    }

    /// `echo online > /sys/devices/system/memory/memoryN/state`.
    pub fn online_block(&mut self, block: u32) -> Result<(), MachineError> {
        let start = block as u64 * MEMORY_BLOCK_FRAMES;
        self.check_block(block)?;
        // As above: device_online() of an online block.
        if !self.mm.offline_blocks.contains(&block) {
            return Err(already(block, "online"));
        }
        self.hugetlb_path("online_pages", |p| {
            Ok(p.online_range(start as u32, MEMORY_BLOCK_FRAMES as u32))
        })?;
        self.mm.offline_blocks.remove(&block);
        // online_pages(): init_per_zone_wmark_min() as well.
        self.init_per_zone_wmark_min();
        Ok(())
    }

    /// Memory blocks of the machine: a block is one zone's memory.
    pub fn nr_memory_blocks(&self) -> u32 {
        (self.scenario.topology.total_frames() / MEMORY_BLOCK_FRAMES) as u32
    }

    fn check_block(&self, block: u32) -> Result<(), KernelError> {
        let t = &self.scenario.topology;
        let start = block as u64 * MEMORY_BLOCK_FRAMES;
        let end = start + MEMORY_BLOCK_FRAMES;
        if t.zones
            .iter()
            .any(|z| z.start_pfn <= start && end <= z.end_pfn())
        {
            Ok(())
        } else {
            Err(KernelError {
                errno: Errno::EINVAL,
                detail: format!(
                    "memory block {block} (pfn {start:#x}-{:#x}) does not lie inside one zone",
                    end - 1
                ),
            })
        }
    }
}

/// A memory block written the state it is already in.
fn already(block: u32, state: &str) -> MachineError {
    MachineError::Kernel(KernelError {
        errno: Errno::EINVAL,
        detail: format!("memory block {block} is already {state}"),
    })
}
