//! Whole-state downloads without waiting: every device buffer is copied
//! into a mappable staging buffer in one submission and mapped
//! asynchronously; once all are mapped, a new host copy is assembled and
//! replaces the old one. The blocking `sync_all` is the same download
//! followed by a wait, so both paths fill the host copy the same way.
//! (A browser cannot block on the GPU: this is how its console and its
//! state digest get the device's state.)

use super::{ctl_bytes, plan_bytes, GpuBackend};
use crate::engine::state::SimBuffers;
use crate::engine::types::*;
use crate::engine::EngineError;
use crate::model::frame::NR_PAGE_ORDERS;
use crate::model::scenario::MAX_NODES;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Where a staging buffer's bytes go in the host copy.
#[derive(Clone, Copy, Debug)]
enum Dst {
    Params,
    Ctl,
    ZoneStats,
    TaskState,
    Totals,
    Frames(usize),
    Owners(usize),
    Pageblocks,
    ChunkCounts,
    ChunkPrefix,
    ChunkDirty,
    Dispatch,
    Grants,
    Segs,
    Plan,
}

/// A download in flight.
pub(super) struct PendingDownload {
    staging: Vec<(Dst, wgpu::Buffer)>,
    left: Arc<AtomicUsize>,
    failed: Arc<AtomicBool>,
}

fn copy_words<T: bytemuck::Pod>(dst: &mut [T], bytes: &[u8]) {
    let n = std::mem::size_of_val(dst);
    bytemuck::cast_slice_mut::<T, u8>(dst).copy_from_slice(&bytes[..n]);
}

impl GpuBackend {
    /// Starts a whole-state download (no-op when one is in flight or the
    /// host copy is current). Never waits.
    pub fn begin_download(&mut self) -> Result<(), EngineError> {
        if self.download.is_some() || self.host_fresh {
            return Ok(());
        }
        self.check_error()?;
        let h = &self.host;
        let b = &self.bufs;
        let pf = (b.frames[0].size() / 4) as usize;
        let part_bytes = |i: usize| ((h.frames.len() - i * pf).min(pf) * 4) as u64;
        let mut list: Vec<(Dst, &wgpu::Buffer, u64)> = vec![
            (
                Dst::Params,
                &b.params,
                std::mem::size_of::<TickParams>() as u64,
            ),
            (Dst::Ctl, &b.ctl, ctl_bytes(h).len() as u64),
            (
                Dst::ZoneStats,
                &b.zone_stats,
                std::mem::size_of_val(h.zone_stats.as_slice()) as u64,
            ),
            (
                Dst::TaskState,
                &b.task_state,
                std::mem::size_of_val(h.task_state.as_slice()) as u64,
            ),
            (Dst::Totals, &b.totals, h.totals.len() as u64 * 4),
            (
                Dst::Pageblocks,
                &b.pageblocks,
                h.pageblocks.len() as u64 * 4,
            ),
            (
                Dst::ChunkCounts,
                &b.chunk_counts,
                h.chunk_counts.len() as u64 * 4,
            ),
            (
                Dst::ChunkPrefix,
                &b.chunk_prefix,
                h.chunk_prefix.len() as u64 * 4,
            ),
            (
                Dst::ChunkDirty,
                &b.chunk_dirty,
                h.chunk_dirty.len() as u64 * 4,
            ),
            (Dst::Dispatch, &b.dispatch, h.dispatch.len() as u64 * 4),
            (
                Dst::Grants,
                &b.grants,
                std::mem::size_of_val(h.grants.as_slice()) as u64,
            ),
            (
                Dst::Segs,
                &b.segs,
                std::mem::size_of_val(h.segs.as_slice()) as u64,
            ),
            (Dst::Plan, &b.plan, plan_bytes(h).len() as u64),
        ];
        for (i, buf) in b.frames.iter().enumerate() {
            list.push((Dst::Frames(i), buf, part_bytes(i)));
        }
        for (i, buf) in b.owners.iter().enumerate() {
            list.push((Dst::Owners(i), buf, part_bytes(i)));
        }
        list.retain(|(_, _, n)| *n > 0);
        let d = &self.ctx.device;
        let mut enc = d.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("numasim.download"),
        });
        let mut staging = Vec::with_capacity(list.len());
        for (dst, src, n) in list {
            let s = d.create_buffer(&wgpu::BufferDescriptor {
                label: Some("numasim.download.staging"),
                size: n,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            enc.copy_buffer_to_buffer(src, 0, &s, 0, n);
            staging.push((dst, s));
        }
        self.ctx.queue.submit([enc.finish()]);
        let left = Arc::new(AtomicUsize::new(staging.len()));
        let failed = Arc::new(AtomicBool::new(false));
        for (_, s) in &staging {
            let (l, f) = (left.clone(), failed.clone());
            s.slice(..).map_async(wgpu::MapMode::Read, move |r| {
                if r.is_err() {
                    f.store(true, Ordering::SeqCst);
                }
                l.fetch_sub(1, Ordering::SeqCst);
            });
        }
        self.download = Some(PendingDownload {
            staging,
            left,
            failed,
        });
        self.submitted_since_download = false;
        Ok(())
    }

    /// Whether a download is in flight.
    pub fn downloading(&self) -> bool {
        self.download.is_some()
    }

    /// Finishes the download in flight if every buffer is mapped: the
    /// host copy becomes the device's state (`Some(Ok)`); `None` while
    /// buffers are still on their way. Never waits.
    pub fn poll_download(&mut self) -> Option<Result<(), EngineError>> {
        let _ = self.ctx.device.poll(wgpu::PollType::Poll);
        let p = self.download.as_ref()?;
        if p.failed.load(Ordering::SeqCst) {
            self.download = None;
            return Some(Err(EngineError::DeviceLost(
                "mapping a download buffer failed".into(),
            )));
        }
        if p.left.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let p = self.download.take()?;
        Some(self.finish_download(p))
    }

    /// Waits for the download in flight and finishes it.
    pub(super) fn wait_download(&mut self) -> Result<(), EngineError> {
        loop {
            self.ctx
                .device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| EngineError::DeviceLost(format!("waiting for the GPU: {e}")))?;
            self.check_error()?;
            match self.poll_download() {
                Some(r) => return r,
                None if self.download.is_none() => return Ok(()),
                None => {}
            }
        }
    }

    /// Assembles a new host copy from mapped staging buffers and swaps it
    /// in (the old one stays if anything is missing).
    fn finish_download(&mut self, p: PendingDownload) -> Result<(), EngineError> {
        self.check_error()?;
        let frames = std::mem::take(&mut self.host.frames);
        let owners = std::mem::take(&mut self.host.owners);
        let mut h: SimBuffers = self.host.clone();
        h.frames = vec![0; frames.len()];
        h.owners = vec![0; owners.len()];
        self.host.frames = frames;
        self.host.owners = owners;
        let pf = (self.bufs.frames[0].size() / 4) as usize;
        let nz = h.zones.len();
        let nn = h.nodes.len();
        for (dst, s) in &p.staging {
            let view = s
                .slice(..)
                .get_mapped_range()
                .map_err(|e| EngineError::DeviceLost(format!("reading back: {e:?}")))?;
            let bytes: &[u8] = &view;
            match *dst {
                Dst::Params => h.params = *bytemuck::from_bytes(bytes),
                Dst::Ctl => {
                    let zs_bytes = std::mem::size_of::<ZoneState>();
                    let ns_off = MAX_ZONES * zs_bytes;
                    h.zone_state
                        .copy_from_slice(bytemuck::cast_slice(&bytes[..nz * zs_bytes]));
                    h.node_state
                        .copy_from_slice(bytemuck::cast_slice(&bytes[ns_off..ns_off + nn * 16]));
                    let hdr_off = ns_off + MAX_NODES * 16;
                    h.plan_hdr = *bytemuck::from_bytes(&bytes[hdr_off..hdr_off + 16]);
                }
                Dst::ZoneStats => copy_words(&mut h.zone_stats, bytes),
                Dst::TaskState => copy_words(&mut h.task_state, bytes),
                Dst::Totals => copy_words(&mut h.totals, bytes),
                Dst::Frames(i) => {
                    copy_words(&mut h.frames[i * pf..(i * pf + bytes.len() / 4)], bytes)
                }
                Dst::Owners(i) => {
                    copy_words(&mut h.owners[i * pf..(i * pf + bytes.len() / 4)], bytes)
                }
                Dst::Pageblocks => copy_words(&mut h.pageblocks, bytes),
                Dst::ChunkCounts => copy_words(&mut h.chunk_counts, bytes),
                Dst::ChunkPrefix => copy_words(&mut h.chunk_prefix, bytes),
                Dst::ChunkDirty => copy_words(&mut h.chunk_dirty, bytes),
                Dst::Dispatch => copy_words(&mut h.dispatch, bytes),
                Dst::Grants => copy_words(&mut h.grants, bytes),
                Dst::Segs => copy_words(&mut h.segs, bytes),
                Dst::Plan => {
                    let ncells = nz * NR_PAGE_ORDERS * NR_PCP;
                    h.cells
                        .copy_from_slice(bytemuck::cast_slice(&bytes[..ncells * 16]));
                    let st_off = MAX_ZONES * NR_PAGE_ORDERS * NR_PCP * 16;
                    h.steals.copy_from_slice(bytemuck::cast_slice(
                        &bytes[st_off..st_off + nz * 2 * NR_PCP * 16],
                    ));
                }
            }
        }
        for (_, s) in &p.staging {
            s.unmap();
        }
        // Work submitted after the download began makes it stale at once.
        let stale = self.submitted_since_download;
        self.host = h;
        self.host_fresh = !stale;
        Ok(())
    }
}
