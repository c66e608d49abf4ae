//! The machine's side of the tick's zone->lock model (engine phase
//! `lock_stat`): the configuration it reads (costs, each zone's pcp batch
//! and high mark, where each task and kswapd run) and its statistics as
//! lock_stat records.

use super::stat::{LockTime, Stats};
use crate::engine::types::*;
use crate::kernel::path::LockClass;
use crate::kernel::Machine;

/// `zone_batchsize()` (mm/page_alloc.c): about a quarter of a megabyte's
/// worth of pages or 1/4096 of the zone, rounded to 2^n - 1 so batches
/// alias less in the cache.
pub fn zone_batchsize(managed_pages: u64) -> u32 {
    let mut batch = (managed_pages >> 10).min(256);
    batch /= 4;
    if batch < 1 {
        batch = 1;
    }
    let b = batch + batch / 2;
    let pow = 1u64 << (63 - b.leading_zeros());
    (pow - 1).max(1) as u32
}

/// `zone_highsize()` with `percpu_pagelist_high_fraction` 0: the low
/// watermark split over the node's CPUs (all CPUs for a CPU-less node),
/// at least four batches.
pub fn zone_highsize(low_wmark: u64, batch: u32, node_cpus: usize, all_cpus: usize) -> u32 {
    let split = if node_cpus > 0 {
        node_cpus
    } else {
        all_cpus.max(1)
    };
    ((low_wmark / split as u64).max((batch as u64) << 2)).min(u32::MAX as u64) as u32
}

/// One zone's statistics from the device words, or None when they belong
/// to an earlier `echo 0 > /proc/lock_stat`.
pub fn zone_stats(ls: &[u32], gen: u32) -> Option<Stats> {
    if ls[LS_GEN] != gen {
        return None;
    }
    let w64 = |i: usize| ls[i] as u64 | (ls[i + 1] as u64) << 32;
    let acq = w64(LS_ACQ);
    let con = w64(LS_CON);
    Some(Stats {
        write_wait: LockTime {
            nr: con,
            min: if con > 0 { ls[LS_WAIT_MIN] as u64 } else { 0 },
            max: ls[LS_WAIT_MAX] as u64,
            total: w64(LS_WAIT_TOTAL),
        },
        write_hold: LockTime {
            nr: acq,
            min: if acq > 0 { ls[LS_HOLD_MIN] as u64 } else { 0 },
            max: ls[LS_HOLD_MAX] as u64,
            total: w64(LS_HOLD_TOTAL),
        },
        con_bounces_write: w64(LS_CON_BOUNCE),
        acq_bounces_write: w64(LS_ACQ_BOUNCE),
        points: vec![
            ("rmqueue_bulk", w64(LS_CON_REFILL)),
            ("free_pcppages_bulk", w64(LS_CON_DRAIN)),
            ("rmqueue_bulk/free_pcppages_bulk (THP)", w64(LS_CON_THP)),
            ("rmqueue_buddy", w64(LS_CON_BLOCK)),
        ],
        ..Default::default()
    })
}

/// Every zone's statistics from the `lock_stats` words (a device
/// download or a stats-ring sample) of generation `gen`.
pub fn zones_stats(words: &[u32], gen: u32) -> Vec<Option<Stats>> {
    words
        .chunks(LS_WORDS)
        .map(|ls| zone_stats(ls, gen))
        .collect()
}

/// Every class for /proc/lock_stat: the control paths' holds (`host`), and
/// zone->lock with the tick's acquisitions of every zone merged in (left
/// out while it has none).
pub fn classes(
    host: &super::stat::ClassStats,
    zones: &[Option<Stats>],
) -> Vec<(super::Key, Stats)> {
    let mut per = host.per.clone();
    let zl = per.entry((LockClass::ZoneLock, 0)).or_default();
    for z in zones.iter().flatten() {
        merge(zl, z);
    }
    if zl.acquisitions() == 0 {
        per.remove(&(LockClass::ZoneLock, 0));
    }
    per.into_iter().collect()
}

/// Merges `b` into `a` (two zones of one class).
pub fn merge(a: &mut Stats, b: &Stats) {
    a.write_wait.add(&b.write_wait);
    a.write_hold.add(&b.write_hold);
    a.read_wait.add(&b.read_wait);
    a.read_hold.add(&b.read_hold);
    a.con_bounces_write += b.con_bounces_write;
    a.acq_bounces_write += b.acq_bounces_write;
    a.con_bounces_read += b.con_bounces_read;
    a.acq_bounces_read += b.acq_bounces_read;
    for &(n, c) in &b.points {
        match a.points.iter_mut().find(|p| p.0 == n) {
            Some(p) => p.1 += c,
            None => a.points.push((n, c)),
        }
    }
}

impl Machine {
    /// Writes the zone->lock model's configuration (after boot, a
    /// watermark change, a spawn, a clear).
    pub(crate) fn write_lock_cfg(&mut self) {
        let topo = &self.scenario.topology;
        let lc = self.scenario.locks;
        let tick_ns = self.scenario.tick_ns as u32;
        let all_cpus = topo.nr_cpus() as usize;
        let tasks: Vec<(u32, u32)> = self.tasks.iter().map(|t| (t.cpu, t.node)).collect();
        let kswapd: Vec<(u32, u32)> = (0..topo.nodes.len())
            .map(|n| {
                // kswapd runs on its node's CPUs; a CPU-less node's on a
                // CPU of its own numbering, never a task's.
                let cpu = topo.nodes[n]
                    .cpus
                    .first()
                    .copied()
                    .unwrap_or(all_cpus as u32 + n as u32);
                (cpu, n as u32)
            })
            .collect();
        let node_cpus: Vec<usize> = topo.nodes.iter().map(|n| n.cpus.len()).collect();
        let gen = self.lock_gen;
        let b = self.backend.config_mut();
        let zones: Vec<(u64, u64, usize)> = b
            .zones
            .iter()
            .map(|z| {
                (
                    z.managed as u64,
                    z.wmark_low as u64,
                    node_cpus[z.node as usize],
                )
            })
            .collect();
        let w = &mut b.lock_cfg;
        w[LC_TICK_NS] = tick_ns;
        w[LC_BASE_NS] = lc.zone_lock_base_ns;
        w[LC_PAGE_NS] = lc.zone_lock_page_ns;
        w[LC_BLOCK_NS] = lc.zone_lock_block_ns;
        w[LC_BOUNCE_LOCAL_NS] = lc.bounce_local_ns;
        w[LC_BOUNCE_REMOTE_NS] = lc.bounce_remote_ns;
        w[LC_CLEAR_GEN] = gen;
        w[LC_BACKLOG_NS] = (LOCK_BACKLOG_TICKS as u64 * tick_ns as u64).min(1 << 31) as u32;
        for (z, &(managed, low, cpus)) in zones.iter().enumerate() {
            let batch = zone_batchsize(managed);
            w[LC_ZONE + 2 * z] = batch;
            w[LC_ZONE + 2 * z + 1] = zone_highsize(low, batch, cpus, all_cpus);
        }
        for (i, (cpu, node)) in tasks.into_iter().enumerate() {
            w[LC_TASK + 2 * i] = cpu;
            w[LC_TASK + 2 * i + 1] = node;
        }
        for (n, (cpu, node)) in kswapd.into_iter().enumerate() {
            w[LC_KSWAPD + 2 * n] = cpu;
            w[LC_KSWAPD + 2 * n + 1] = node;
        }
    }

    /// Per zone, the tick's zone->lock statistics (None: cleared since).
    pub fn zone_lock_stats(&mut self) -> Result<Vec<Option<Stats>>, crate::kernel::MachineError> {
        let gen = self.lock_gen;
        Ok(zones_stats(&self.state()?.lock_stats, gen))
    }

    /// Every class's statistics for /proc/lock_stat: the control paths'
    /// holds, and zone->lock as the tick took it.
    pub fn lock_stat_classes(
        &mut self,
    ) -> Result<Vec<(super::Key, Stats)>, crate::kernel::MachineError> {
        let zones = self.zone_lock_stats()?;
        Ok(classes(&self.lockdep.stats, &zones))
    }

    /// The generation of the lock statistics (`LC_CLEAR_GEN`).
    pub fn lock_gen(&self) -> u32 {
        self.lock_gen
    }

    /// `echo 0 > /proc/lock_stat`.
    pub fn clear_lock_stat(&mut self) {
        self.lockdep.stats.clear();
        self.lock_gen = self.lock_gen.wrapping_add(1);
        self.write_lock_cfg();
    }
}

/// The model's invariants: per zone, contentions within acquisitions,
/// bounces within what they bound, minima within maxima, totals within
/// count x extremes; per agent, a per-CPU list never above what a drain
/// or a refill leaves (`max(high, batch)`; THPs `max(high's worth,
/// THP_BATCH)`), for the limits the newest tick ran with.
pub fn check(b: &crate::engine::SimBuffers) -> Result<(), (&'static str, String)> {
    let nz = b.zones.len();
    for z in 0..nz {
        let Some(st) = zone_stats(
            &b.lock_stats[z * LS_WORDS..(z + 1) * LS_WORDS],
            b.lock_stats[z * LS_WORDS + LS_GEN],
        ) else {
            continue;
        };
        let (w, h) = (&st.write_wait, &st.write_hold);
        let bad = w.nr > h.nr
            || st.con_bounces_write > w.nr
            || st.acq_bounces_write > h.nr
            || w.min > w.max
            || h.min > h.max
            || w.total < w.nr * w.min
            || w.total > w.nr * w.max
            || h.total < h.nr * h.min
            || h.total > h.nr * h.max
            || st.points.iter().map(|p| p.1).sum::<u64>() != w.nr;
        if bad {
            return Err(("zone_lock_stats", format!("zone {z}: {st:?}")));
        }
        // The limits the newest tick ran with (none before the first).
        let batch = b.lock_stats[z * LS_WORDS + LS_PCP_BATCH];
        let high = b.lock_stats[z * LS_WORDS + LS_PCP_HIGH];
        if batch == 0 {
            continue;
        }
        let thp_cap = (high >> crate::model::frame::PAGEBLOCK_ORDER).max(THP_BATCH);
        let agents = (0..b.tasks.len()).chain(std::iter::once(TZ_KSWAPD));
        for a in agents {
            let t = (a * nz + z) * TZ_WORDS;
            let Some(w) = b.task_zone.get(t..t + TZ_WORDS) else {
                continue;
            };
            if w[TZ_PCP_COUNT] > high.max(batch) || w[TZ_THP_COUNT] > thp_cap {
                return Err((
                    "pcp_count",
                    format!(
                        "zone {z} agent {a}: {} pages and {} THPs on the per-CPU list, above high {high} / batch {batch}",
                        w[TZ_PCP_COUNT], w[TZ_THP_COUNT]
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_and_high_as_the_kernel_sizes_them() {
        // A zone of 4 GiB: min(1M pages >> 10, 256) / 4 = 64, then
        // rounddown_pow_of_two(96) - 1.
        assert_eq!(zone_batchsize(1 << 20), 63);
        // A 64 MiB zone: 16 >> 2 = 4, rounddown(6) - 1 = 3.
        assert_eq!(zone_batchsize(16 << 10), 3);
        assert_eq!(zone_batchsize(100), 1);
        assert_eq!(zone_highsize(80_000, 63, 8, 16), 10_000);
        assert_eq!(zone_highsize(100, 63, 8, 16), 252);
        assert_eq!(zone_highsize(80_000, 63, 0, 16), 5_000);
    }
}
