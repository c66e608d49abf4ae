//! The ring of statistics buffers: at the end of a submission the params,
//! the totals, the newest tick's zone counters and the zone state (the
//! front of `ctl`) are copied into an idle slot, which is mapped
//! asynchronously; readers take the newest finished sample and never wait
//! for it (the dashboard), or wait for the one of the current tick
//! (`read_stats`).

use crate::engine::buffers::{Buf, CTL_ZONE_STATE};
use crate::engine::types::*;
use crate::engine::StatsSample;
use std::sync::{Arc, Mutex};

/// Slots in the ring.
pub(super) const STATS_RING: usize = 4;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SlotState {
    Idle,
    Pending,
    Ready,
    Failed,
}

struct Slot {
    buf: wgpu::Buffer,
    state: Arc<Mutex<SlotState>>,
    /// Order in which slots were filled.
    seq: u64,
}

pub(super) struct StatsRing {
    slots: Vec<Slot>,
    seq: u64,
    nr_zones: usize,
    /// The newest sample taken off the ring.
    pub newest: Option<StatsSample>,
    /// The tick of the newest sample `latest_stats` returned.
    pub reported_tick: Option<u32>,
}

fn lock(s: &Mutex<SlotState>) -> std::sync::MutexGuard<'_, SlotState> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

const PARAMS_BYTES: u64 = std::mem::size_of::<TickParams>() as u64;

impl StatsRing {
    pub fn new(device: &wgpu::Device, nr_zones: usize) -> StatsRing {
        let bytes = Self::bytes(nr_zones);
        let slots = (0..STATS_RING)
            .map(|i| Slot {
                buf: device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&format!("numasim.stats_ring[{i}]")),
                    size: bytes,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                state: Arc::new(Mutex::new(SlotState::Idle)),
                seq: 0,
            })
            .collect();
        StatsRing {
            slots,
            seq: 0,
            nr_zones,
            newest: None,
            reported_tick: None,
        }
    }

    fn totals_bytes(nz: usize) -> u64 {
        (nz * NR_ZONE_STATS * 2 * 4) as u64
    }
    fn stats_bytes(nz: usize) -> u64 {
        (nz * std::mem::size_of::<ZoneStats>()) as u64
    }
    fn state_bytes(nz: usize) -> u64 {
        (nz * std::mem::size_of::<ZoneState>()) as u64
    }
    fn report_bytes(nz: usize) -> u64 {
        ((RS_DEV_WORDS + nz * RZ_WORDS) * 4) as u64
    }
    fn lock_bytes(nz: usize) -> u64 {
        (nz * LS_WORDS * 4) as u64
    }
    fn numa_bytes() -> u64 {
        (NUMA_STATE_WORDS * 4) as u64
    }
    fn rss_bytes(nz: usize) -> u64 {
        (crate::engine::SAMPLED_TASKS * nz * TZ_WORDS * 4) as u64
    }
    fn bytes(nz: usize) -> u64 {
        PARAMS_BYTES
            + Self::totals_bytes(nz)
            + Self::stats_bytes(nz)
            + Self::state_bytes(nz)
            + Self::lock_bytes(nz)
            + Self::report_bytes(nz)
            + Self::numa_bytes()
            + Self::rss_bytes(nz)
    }

    pub fn idle_slots(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| *lock(&s.state) == SlotState::Idle)
            .count()
    }

    /// Copies the counters into an idle slot and maps it asynchronously.
    /// Never waits: with no idle slot, no sample is taken.
    pub fn record(&mut self, ctx: &super::GpuContext, bufs: &super::pipelines::DevBufs) {
        let Some(i) = self
            .slots
            .iter()
            .position(|s| *lock(&s.state) == SlotState::Idle)
        else {
            return;
        };
        let nz = self.nr_zones;
        let (tot, zs, st) = (
            Self::totals_bytes(nz),
            Self::stats_bytes(nz),
            Self::state_bytes(nz),
        );
        let slot = &mut self.slots[i];
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("numasim.stats_ring"),
            });
        enc.copy_buffer_to_buffer(bufs.one(Buf::Params), 0, &slot.buf, 0, PARAMS_BYTES);
        enc.copy_buffer_to_buffer(bufs.one(Buf::Totals), 0, &slot.buf, PARAMS_BYTES, tot);
        enc.copy_buffer_to_buffer(
            bufs.one(Buf::ZoneStats),
            0,
            &slot.buf,
            PARAMS_BYTES + tot,
            zs,
        );
        enc.copy_buffer_to_buffer(
            bufs.one(Buf::Ctl),
            CTL_ZONE_STATE as u64,
            &slot.buf,
            PARAMS_BYTES + tot + zs,
            st,
        );
        enc.copy_buffer_to_buffer(
            bufs.one(Buf::LockStats),
            0,
            &slot.buf,
            PARAMS_BYTES + tot + zs + st,
            Self::lock_bytes(nz),
        );
        let at = PARAMS_BYTES + tot + zs + st + Self::lock_bytes(nz);
        enc.copy_buffer_to_buffer(
            bufs.one(Buf::ReportState),
            0,
            &slot.buf,
            at,
            Self::report_bytes(nz),
        );
        let at = at + Self::report_bytes(nz);
        enc.copy_buffer_to_buffer(
            bufs.one(Buf::NumaState),
            0,
            &slot.buf,
            at,
            Self::numa_bytes(),
        );
        let at = at + Self::numa_bytes();
        enc.copy_buffer_to_buffer(
            bufs.one(Buf::TaskZone),
            0,
            &slot.buf,
            at,
            Self::rss_bytes(nz),
        );
        ctx.queue.submit([enc.finish()]);
        *lock(&slot.state) = SlotState::Pending;
        let state = slot.state.clone();
        slot.buf.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            *lock(&state) = if r.is_ok() {
                SlotState::Ready
            } else {
                SlotState::Failed
            };
        });
        self.seq += 1;
        slot.seq = self.seq;
    }

    /// Takes every finished slot off the ring; the newest becomes
    /// `newest` (when it is not older than it).
    pub fn take_newest_ready(&mut self) -> Option<StatsSample> {
        let done: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                matches!(
                    *lock(&self.slots[i].state),
                    SlotState::Ready | SlotState::Failed
                )
            })
            .collect();
        let newest = done
            .iter()
            .copied()
            .filter(|&i| *lock(&self.slots[i].state) == SlotState::Ready)
            .max_by_key(|&i| self.slots[i].seq);
        let nz = self.nr_zones;
        let sample = newest.and_then(|i| {
            let view = self.slots[i].buf.slice(..).get_mapped_range().ok()?;
            let words: &[u32] = bytemuck::cast_slice(&view);
            let params: TickParams = *bytemuck::from_bytes(&view[..PARAMS_BYTES as usize]);
            let w0 = (PARAMS_BYTES / 4) as usize;
            let t = &words[w0..w0 + nz * NR_ZONE_STATS * 2];
            let totals = (0..nz)
                .map(|z| {
                    std::array::from_fn(|s| {
                        let w = (z * NR_ZONE_STATS + s) * 2;
                        t[w] as u64 | (t[w + 1] as u64) << 32
                    })
                })
                .collect();
            let l = &words[w0 + nz * NR_ZONE_STATS * 2..];
            let last = (0..nz)
                .map(|z| ZoneStats {
                    v: std::array::from_fn(|s| l[z * NR_ZONE_STATS + s]),
                })
                .collect();
            let zw = &l[nz * NR_ZONE_STATS..];
            let zsw = nz * std::mem::size_of::<ZoneState>() / 4;
            let zones: Vec<ZoneState> = bytemuck::cast_slice(&zw[..zsw]).to_vec();
            let lock_stats = zw[zsw..zsw + nz * LS_WORDS].to_vec();
            let rw = &zw[zsw + nz * LS_WORDS..];
            let report_state = rw[..RS_DEV_WORDS + nz * RZ_WORDS].to_vec();
            let nw = &rw[RS_DEV_WORDS + nz * RZ_WORDS..];
            let numa_state = nw[..NUMA_STATE_WORDS].to_vec();
            let tw = &nw[NUMA_STATE_WORDS..];
            let nr_tasks = (params.nr_tasks as usize).min(crate::engine::SAMPLED_TASKS);
            let task_rss = crate::engine::rss_words(tw, nr_tasks, nz);
            Some(StatsSample {
                tick: params.tick,
                totals,
                last,
                zones,
                lock_stats,
                report_state,
                numa_state,
                task_rss,
            })
        });
        for i in done {
            if *lock(&self.slots[i].state) == SlotState::Ready {
                self.slots[i].buf.unmap();
            }
            *lock(&self.slots[i].state) = SlotState::Idle;
        }
        if let Some(s) = &sample {
            if self.newest.as_ref().is_none_or(|n| s.tick >= n.tick) {
                self.newest = Some(s.clone());
            }
        }
        sample
    }
}
