//! The frame map on the GPU: `shaders/view/frame_map.wgsl` over the device's own
//! frame array, into a storage buffer that is copied to a texture (the
//! dashboard) or read back (tests, screenshots). The probe (what block a
//! hovered frame is in) comes back through one mappable buffer, mapped
//! asynchronously, so hovering never waits for the simulation's queue.

use super::pipelines::bind_group;
use super::{GpuBackend, SlotState};
use crate::engine::buffers::Buf;
use crate::engine::frame_map::{FrameMapParams, Probe, PROBE_WORDS};
use crate::engine::EngineError;
use std::sync::{Arc, Mutex};

pub(super) struct FrameMapGpu {
    params: wgpu::Buffer,
    out: wgpu::Buffer,
    cap_words: usize,
    bind_group: wgpu::BindGroup,
    probe: wgpu::Buffer,
    probe_state: Arc<Mutex<SlotState>>,
    probe_pfn: u32,
}

const PROBE_BYTES: u64 = (PROBE_WORDS * 4) as u64;

impl GpuBackend {
    fn frame_map_bind_group(&self, params: &wgpu::Buffer, out: &wgpu::Buffer) -> wgpu::BindGroup {
        let (pv, ov) = (vec![params.clone()], vec![out.clone()]);
        bind_group(
            &self.ctx,
            self.compiled("frame_map"),
            self.layout,
            |b| match b {
                Buf::Fmp => pv.as_slice(),
                Buf::PixelsOut => ov.as_slice(),
                other => self.bufs.parts(other),
            },
        )
    }

    /// Makes sure the pipeline exists and the output holds `words`.
    fn frame_map_ready(&mut self, words: usize) {
        let d = &self.ctx.device;
        let need_new = self.frame_map.as_ref().is_none_or(|m| m.cap_words < words);
        if !need_new {
            return;
        }
        let cap_words = words.next_power_of_two().max(1 << 16);
        let out = d.create_buffer(&wgpu::BufferDescriptor {
            label: Some("numasim.frame_map.out"),
            size: cap_words as u64 * 4,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let (params, probe, probe_state) = match self.frame_map.take() {
            Some(m) => (m.params, m.probe, m.probe_state),
            None => {
                let params = d.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("numasim.frame_map.params"),
                    size: std::mem::size_of::<FrameMapParams>() as u64,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                let probe = d.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("numasim.frame_map.probe"),
                    size: PROBE_BYTES,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                (params, probe, Arc::new(Mutex::new(SlotState::Idle)))
            }
        };
        let bind_group = self.frame_map_bind_group(&params, &out);
        self.frame_map = Some(FrameMapGpu {
            params,
            out,
            cap_words,
            bind_group,
            probe,
            probe_state,
            probe_pfn: u32::MAX,
        });
    }

    /// Records the frame map pass for `p` into a new encoder.
    fn frame_map_encode(
        &mut self,
        p: &FrameMapParams,
    ) -> Result<wgpu::CommandEncoder, EngineError> {
        self.check_error()?;
        p.validate().map_err(EngineError::Invalid)?;
        let nf = self.host.params.nr_chunks as u64 * crate::model::frame::CHUNK_FRAMES;
        if p.nr_frames as u64 != nf {
            return Err(EngineError::Invalid(format!(
                "nr_frames {} does not match the machine's {nf} frames",
                p.nr_frames
            )));
        }
        self.flush()?;
        self.frame_map_ready(p.out_words());
        let m = self.frame_map.as_ref().expect("frame map ready");
        self.ctx
            .queue
            .write_buffer(&m.params, 0, bytemuck::bytes_of(p));
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("numasim.frame_map"),
            });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("numasim.frame_map"),
                timestamp_writes: None,
            });
            pass.set_pipeline(self.compiled("frame_map").pipeline(None));
            pass.set_bind_group(0, &m.bind_group, &[]);
            let (x, y) = crate::engine::phases::grid_2d((p.pixels() as u32).div_ceil(256).max(1));
            pass.dispatch_workgroups(x, y, 1);
        }
        Ok(enc)
    }

    /// Renders the map for `p` into `texture` (an `Rgba8Unorm` texture, as egui-wgpu wants for native textures,
    /// of at least `p.width` x `p.height` texels, with COPY_DST), without
    /// waiting. `p.width` must be a multiple of 64 (a texture copy's rows
    /// are 256-byte aligned). Also starts the probe's readback when the
    /// probe buffer is idle (returns whether it did); `frame_map_probe`
    /// collects it.
    pub fn frame_map_to_texture(
        &mut self,
        p: &FrameMapParams,
        texture: &wgpu::Texture,
    ) -> Result<bool, EngineError> {
        if !p.width.is_multiple_of(64) || p.width > texture.width() || p.height > texture.height() {
            return Err(EngineError::Invalid(format!(
                "a {}x{} view needs a width that is a multiple of 64 and a texture at least that large (the texture is {}x{})",
                p.width,
                p.height,
                texture.width(),
                texture.height()
            )));
        }
        let mut enc = self.frame_map_encode(p)?;
        let m = self.frame_map.as_mut().expect("frame map ready");
        enc.copy_buffer_to_texture(
            wgpu::TexelCopyBufferInfo {
                buffer: &m.out,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(p.width * 4),
                    rows_per_image: Some(p.height),
                },
            },
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::Extent3d {
                width: p.width,
                height: p.height,
                depth_or_array_layers: 1,
            },
        );
        let probe_idle =
            *m.probe_state.lock().unwrap_or_else(|e| e.into_inner()) == SlotState::Idle;
        let want_probe = probe_idle && p.probe_pfn < p.nr_frames;
        if want_probe {
            enc.copy_buffer_to_buffer(&m.out, p.pixels() as u64 * 4, &m.probe, 0, PROBE_BYTES);
        }
        self.ctx.queue.submit([enc.finish()]);
        if want_probe {
            m.probe_pfn = p.probe_pfn;
            *m.probe_state.lock().unwrap_or_else(|e| e.into_inner()) = SlotState::Pending;
            let st = m.probe_state.clone();
            m.probe.slice(..).map_async(wgpu::MapMode::Read, move |r| {
                *st.lock().unwrap_or_else(|e| e.into_inner()) = if r.is_ok() {
                    SlotState::Ready
                } else {
                    SlotState::Failed
                };
            });
        }
        self.check_error()?;
        Ok(want_probe)
    }

    /// The newest probe result, if one finished since the last call
    /// (never waits).
    pub fn frame_map_probe(&mut self) -> Option<Probe> {
        let _ = self.ctx.device.poll(wgpu::PollType::Poll);
        let m = self.frame_map.as_mut()?;
        let state = *m.probe_state.lock().unwrap_or_else(|e| e.into_inner());
        let out = match state {
            SlotState::Ready => {
                let r = m.probe.slice(..).get_mapped_range().ok().and_then(|v| {
                    let w: &[u32] = bytemuck::cast_slice(&v);
                    Probe::from_words(m.probe_pfn, w)
                });
                m.probe.unmap();
                r
            }
            SlotState::Failed => None,
            _ => return None,
        };
        *m.probe_state.lock().unwrap_or_else(|e| e.into_inner()) = SlotState::Idle;
        out
    }

    /// Renders the map and reads it back (blocking): pixels then probe.
    pub fn frame_map(&mut self, p: &FrameMapParams) -> Result<Vec<u32>, EngineError> {
        let enc = self.frame_map_encode(p)?;
        self.ctx.queue.submit([enc.finish()]);
        let mut v = vec![0u32; p.out_words()];
        let m = self.frame_map.as_ref().expect("frame map ready");
        self.read_into(&m.out, bytemuck::cast_slice_mut(&mut v))?;
        Ok(v)
    }
}
