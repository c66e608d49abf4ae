//! Getting the device's state to the host, by the buffer table's `sync`:
//!
//! - the full download (every row but configuration) into a new snapshot,
//!   without waiting (`begin_download`/`poll_download`; `buffers` waits for
//!   it): the browser's console and the dashboard's checkpoints use it;
//! - the small download (the `Small` rows: a few kilobytes and the
//!   pageblocks), blocking: what /proc and /sys read;
//! - ranged reads of frames and owners by chunks, and the `free_heads`
//!   summary of a range of chunks, blocking: what a control path reads.

use super::pipelines::bind_group;
use super::GpuBackend;
use crate::engine::buffers::{Buf, Sync, BUFFERS};
use crate::engine::phases::grid_2d;
use crate::engine::requests::{Config, FREE_HEADS_WORDS};
use crate::engine::state::SimBuffers;
use crate::engine::types::HeadsParams;
use crate::engine::EngineError;
use crate::model::frame::CHUNK_FRAMES;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use wgpu::util::DeviceExt;

/// A copy of part of a row into a staging buffer.
struct Staged {
    row: Buf,
    /// Byte offset of the copy in the row's device image.
    offset: u64,
    buf: wgpu::Buffer,
}

/// A full download in flight.
pub(super) struct PendingDownload {
    staging: Vec<Staged>,
    left: Arc<AtomicUsize>,
    failed: Arc<AtomicBool>,
    /// Journal entries the snapshot will include.
    journal_len: usize,
    /// The configuration the device had when the download began.
    config: Config,
}

fn map_all(staging: &[Staged]) -> (Arc<AtomicUsize>, Arc<AtomicBool>) {
    let left = Arc::new(AtomicUsize::new(staging.len()));
    let failed = Arc::new(AtomicBool::new(false));
    for s in staging {
        let (l, f) = (left.clone(), failed.clone());
        s.buf.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            if r.is_err() {
                f.store(true, Ordering::SeqCst);
            }
            l.fetch_sub(1, Ordering::SeqCst);
        });
    }
    (left, failed)
}

impl GpuBackend {
    fn staging(&self, size: u64) -> wgpu::Buffer {
        self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("numasim.download.staging"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Records copies of every row whose sync is in `which` (whole rows;
    /// the per-frame arrays part by part, up to the machine's frames).
    fn stage_rows(&self, which: &[Sync], enc: &mut wgpu::CommandEncoder) -> Vec<Staged> {
        let mut v = Vec::new();
        let h = &self.snapshot;
        for row in BUFFERS.iter().filter(|r| which.contains(&r.sync)) {
            // The per-frame and per-chunk arrays as large as the machine;
            // the small rows as the host's configuration sizes them (the
            // tasks there are now).
            let host_bytes = match row.sync {
                Sync::Frame => h.frames.len() as u64 * 4,
                Sync::Full => (row.device_bytes)(h),
                _ => (row.device_bytes)(&self.host),
            };
            let mut offset = 0u64;
            for part in self.bufs.parts(row.id) {
                let n = part.size().min(host_bytes - offset);
                if n == 0 {
                    break;
                }
                let s = self.staging(n);
                enc.copy_buffer_to_buffer(part, 0, &s, 0, n);
                v.push(Staged {
                    row: row.id,
                    offset,
                    buf: s,
                });
                offset += n;
            }
        }
        v
    }

    /// Starts a full download (no-op when one is in flight or the
    /// snapshot is current). Never waits.
    pub fn begin_download(&mut self) -> Result<(), EngineError> {
        self.flush()?;
        if self.download.is_some() || self.fresh {
            return Ok(());
        }
        self.check_error()?;
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("numasim.download"),
            });
        let staging = self.stage_rows(&[Sync::Small, Sync::Full, Sync::Frame], &mut enc);
        self.ctx.queue.submit([enc.finish()]);
        self.full_downloads += 1;
        let (left, failed) = map_all(&staging);
        self.download = Some(PendingDownload {
            staging,
            left,
            failed,
            journal_len: self.journal.len(),
            config: Config::of(&self.host),
        });
        self.submitted_since_download = false;
        Ok(())
    }

    /// Whether a download is in flight.
    pub fn downloading(&self) -> bool {
        self.download.is_some()
    }

    /// Finishes the download in flight if every buffer is mapped: the
    /// snapshot becomes the device's state (`Some(Ok)`); `None` while
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
            self.wait()?;
            match self.poll_download() {
                Some(r) => return r,
                None if self.download.is_none() => return Ok(()),
                None => {}
            }
        }
    }

    /// A snapshot-shaped copy of the host's configuration with zeroed
    /// state, for a download to fill.
    fn blank(&self, config: &Config) -> SimBuffers {
        let s = &self.snapshot;
        let mut h = SimBuffers {
            params: self.host.params,
            frames: vec![0; s.frames.len()],
            owners: vec![0; s.owners.len()],
            pageblocks: vec![0; s.pageblocks.len()],
            chunk_zone: self.host.chunk_zone.clone(),
            chunk_counts: vec![0; s.chunk_counts.len()],
            chunk_prefix: vec![0; s.chunk_prefix.len()],
            chunk_dirty: vec![0; s.chunk_dirty.len()],
            dispatch: vec![0; s.dispatch.len()],
            zone_state: vec![Default::default(); s.zone_state.len()],
            zone_stats: vec![Default::default(); s.zone_stats.len()],
            node_state: vec![Default::default(); s.node_state.len()],
            cells: vec![Default::default(); s.cells.len()],
            steals: vec![Default::default(); s.steals.len()],
            grants: vec![Default::default(); s.grants.len()],
            segs: vec![Default::default(); s.segs.len()],
            totals: vec![0; s.totals.len()],
            task_zone: vec![0; s.task_zone.len()],
            lock_stats: vec![0; s.lock_stats.len()],
            report_state: vec![0; s.report_state.len()],
            numa_state: vec![0; s.numa_state.len()],
            numa_tasks: vec![0; s.numa_tasks.len()],
            mig: vec![0; s.mig.len()],
            ..Default::default()
        };
        config.install(&mut h);
        h.task_state = vec![Default::default(); config.tasks.len()];
        h
    }

    /// Unpacks mapped staging buffers into `h`.
    fn unpack(&self, h: &mut SimBuffers, staging: &[Staged]) -> Result<(), EngineError> {
        for s in staging {
            let view = s
                .buf
                .slice(..)
                .get_mapped_range()
                .map_err(|e| EngineError::DeviceLost(format!("reading back: {e:?}")))?;
            let row = crate::engine::buffers::BufDef::of(s.row);
            (row.unpack)(h, s.offset as usize, &view);
        }
        for s in staging {
            s.buf.unmap();
        }
        Ok(())
    }

    /// Assembles a new snapshot from mapped staging buffers and swaps it in
    /// (the old one stays if anything is missing).
    fn finish_download(&mut self, p: PendingDownload) -> Result<(), EngineError> {
        self.check_error()?;
        let mut h = self.blank(&p.config);
        self.unpack(&mut h, &p.staging)?;
        self.snapshot = h;
        self.journal.drain(..p.journal_len.min(self.journal.len()));
        // Work submitted after the download began makes it stale at once.
        self.fresh = !self.submitted_since_download;
        if self.fresh {
            self.refresh_small_from_snapshot();
        }
        Ok(())
    }

    /// The small copy from a current snapshot.
    fn refresh_small_from_snapshot(&mut self) {
        let s = &self.snapshot;
        let h = &mut self.host;
        h.params = s.params;
        h.pageblocks.clone_from(&s.pageblocks);
        h.dispatch.clone_from(&s.dispatch);
        h.zone_state.clone_from(&s.zone_state);
        h.zone_stats.clone_from(&s.zone_stats);
        h.node_state.clone_from(&s.node_state);
        h.task_state.clone_from(&s.task_state);
        h.plan_hdr = s.plan_hdr;
        h.totals.clone_from(&s.totals);
        self.small_fresh = true;
    }

    /// Makes the small copy current (blocking; the small rows only).
    pub(super) fn download_small(&mut self) -> Result<(), EngineError> {
        self.flush()?;
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("numasim.download_small"),
            });
        let staging = self.stage_rows(&[Sync::Small], &mut enc);
        self.ctx.queue.submit([enc.finish()]);
        let (left, failed) = map_all(&staging);
        while left.load(Ordering::SeqCst) > 0 {
            self.wait()?;
            if failed.load(Ordering::SeqCst) {
                return Err(EngineError::DeviceLost(
                    "mapping a download buffer failed".into(),
                ));
            }
        }
        let mut h = std::mem::take(&mut self.host);
        h.task_state
            .resize(h.tasks.len(), crate::engine::types::TaskState::default());
        let r = self.unpack(&mut h, &staging);
        self.host = h;
        r?;
        self.small_fresh = true;
        Ok(())
    }

    /// Maps `staging` and waits for it (ranged reads).
    fn read_staged(&self, staging: &[wgpu::Buffer]) -> Result<Vec<Vec<u32>>, EngineError> {
        let left = Arc::new(AtomicUsize::new(staging.len()));
        let failed = Arc::new(AtomicBool::new(false));
        for s in staging {
            let (l, f) = (left.clone(), failed.clone());
            s.slice(..).map_async(wgpu::MapMode::Read, move |r| {
                if r.is_err() {
                    f.store(true, Ordering::SeqCst);
                }
                l.fetch_sub(1, Ordering::SeqCst);
            });
        }
        while left.load(Ordering::SeqCst) > 0 {
            self.wait()?;
        }
        if failed.load(Ordering::SeqCst) {
            return Err(EngineError::DeviceLost(
                "mapping a read buffer failed".into(),
            ));
        }
        let mut out = Vec::with_capacity(staging.len());
        for s in staging {
            let view = s
                .slice(..)
                .get_mapped_range()
                .map_err(|e| EngineError::DeviceLost(format!("reading back: {e:?}")))?;
            out.push(bytemuck::cast_slice::<u8, u32>(&view).to_vec());
            drop(view);
            s.unmap();
        }
        Ok(out)
    }

    /// The frames and owners of chunks `[first, first + n)` (blocking; the
    /// copies split where the per-frame arrays' parts do).
    pub(super) fn read_chunks(
        &self,
        first: u32,
        n: u32,
    ) -> Result<(Vec<u32>, Vec<u32>), EngineError> {
        self.check_error()?;
        let pf = self.bufs.parts(Buf::Frames)[0].size() / 4;
        let (a, b) = (
            first as u64 * CHUNK_FRAMES,
            (first + n) as u64 * CHUNK_FRAMES,
        );
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("numasim.read_chunks"),
            });
        let mut staging = Vec::new();
        for row in [Buf::Frames, Buf::Owners] {
            let s = self.staging((b - a) * 4);
            let parts = self.bufs.parts(row);
            let mut f = a;
            while f < b {
                let p = (f / pf) as usize;
                let end = b.min((p as u64 + 1) * pf);
                enc.copy_buffer_to_buffer(
                    &parts[p],
                    (f - p as u64 * pf) * 4,
                    &s,
                    (f - a) * 4,
                    (end - f) * 4,
                );
                f = end;
            }
            staging.push(s);
        }
        self.ctx.queue.submit([enc.finish()]);
        let mut v = self.read_staged(&staging)?;
        let owners = v.pop().expect("two reads");
        let frames = v.pop().expect("two reads");
        Ok((frames, owners))
    }

    /// The `free_heads` summary of chunks `[first, first + n)`:
    /// `FREE_HEADS_WORDS` per chunk (blocking).
    pub(super) fn read_free_heads(&self, first: u32, n: u32) -> Result<Vec<u32>, EngineError> {
        self.check_error()?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let d = &self.ctx.device;
        let bytes = n as u64 * FREE_HEADS_WORDS as u64 * 4;
        let heads = d.create_buffer(&wgpu::BufferDescriptor {
            label: Some("numasim.heads"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let params = d.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("numasim.heads_params"),
            contents: bytemuck::bytes_of(&HeadsParams {
                first_chunk: first,
                nr_chunks: n,
                _pad: [0; 2],
            }),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let c = self.compiled("free_heads");
        let (pv, hv) = (vec![params], vec![heads]);
        let bg = bind_group(&self.ctx, c, self.layout, |b| match b {
            Buf::HeadsParams => pv.as_slice(),
            Buf::Heads => hv.as_slice(),
            other => self.bufs.parts(other),
        });
        let staging = self.staging(bytes);
        let mut enc = d.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("numasim.free_heads"),
        });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("numasim.free_heads"),
                timestamp_writes: None,
            });
            pass.set_pipeline(c.pipeline(None));
            pass.set_bind_group(0, &bg, &[]);
            let (x, y) = grid_2d(n.div_ceil(64));
            pass.dispatch_workgroups(x, y, 1);
        }
        enc.copy_buffer_to_buffer(&hv[0], 0, &staging, 0, bytes);
        self.ctx.queue.submit([enc.finish()]);
        let mut v = self.read_staged(std::slice::from_ref(&staging))?;
        Ok(v.pop().expect("one read"))
    }

    /// Copies a device buffer back into `dst` (blocking).
    pub(super) fn read_into(&self, src: &wgpu::Buffer, dst: &mut [u8]) -> Result<(), EngineError> {
        if dst.is_empty() {
            return Ok(());
        }
        let s = self.staging(dst.len() as u64);
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("numasim.readback"),
            });
        enc.copy_buffer_to_buffer(src, 0, &s, 0, dst.len() as u64);
        self.ctx.queue.submit([enc.finish()]);
        let v = self.read_staged(std::slice::from_ref(&s))?;
        dst.copy_from_slice(bytemuck::cast_slice(&v[0]));
        Ok(())
    }
}
