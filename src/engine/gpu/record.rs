//! Recording work into a command encoder: a step of the tick (its clears,
//! then its dispatch, from the shader table's row), and a request batch
//! (`recount` taking the touched chunks' counts out, `requests`, `recount`
//! putting them back), each in its own labelled compute pass.

use super::pipelines::bind_group;
use super::GpuBackend;
use crate::engine::buffers::Buf;
use crate::engine::phases::grid_2d;
use crate::engine::requests::{Batch, Request, MAX_REQUESTS_PER_DISPATCH};
use crate::engine::types::{RecountParams, ReqParams};
use wgpu::util::DeviceExt;

impl GpuBackend {
    /// Records step `i` of the tick.
    pub(super) fn encode_step(&self, enc: &mut wgpu::CommandEncoder, i: usize) {
        let s = &self.steps[i];
        let def = s.phase.def();
        for &c in def.clears {
            enc.clear_buffer(self.bufs.one(c), 0, None);
        }
        let c = self.compiled(def.name);
        let label = format!("numasim.{}", s.phase.name());
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(&label),
            timestamp_writes: None,
        });
        pass.set_pipeline(c.pipeline(s.phase.order()));
        pass.set_bind_group(0, &s.bind_group, &[]);
        match s.groups {
            Some((x, y)) => pass.dispatch_workgroups(x, y, 1),
            None => pass.dispatch_workgroups_indirect(self.bufs.one(Buf::Dispatch), 0),
        }
    }

    fn uniform(&self, label: &str, bytes: &[u8]) -> wgpu::Buffer {
        self.ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytes,
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    fn storage(&self, label: &str, bytes: &[u8]) -> wgpu::Buffer {
        self.ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: if bytes.is_empty() { &[0; 16] } else { bytes },
                usage: wgpu::BufferUsages::STORAGE,
            })
    }

    fn encode_recount(
        &self,
        enc: &mut wgpu::CommandEncoder,
        list: &wgpu::Buffer,
        n: u32,
        subtract: bool,
    ) {
        let params = self.uniform(
            "numasim.recount_params",
            bytemuck::bytes_of(&RecountParams {
                nr_listed: n,
                subtract: subtract as u32,
                nr_zones: self.host.zones.len() as u32,
                _pad: 0,
            }),
        );
        let one = |b: &wgpu::Buffer| std::slice::from_ref(b).to_vec();
        let (params_v, list_v) = (one(&params), one(list));
        // The tasks' resident counts, then the zones' counters, over the
        // same chunks.
        for name in ["task_rss", "recount"] {
            let c = self.compiled(name);
            let bg = bind_group(&self.ctx, c, self.layout, |b| match b {
                Buf::RecountParams => params_v.as_slice(),
                Buf::ChunkList => list_v.as_slice(),
                other => self.bufs.parts(other),
            });
            let label = format!("numasim.{name}[{}]", if subtract { "out" } else { "in" });
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(&label),
                timestamp_writes: None,
            });
            pass.set_pipeline(c.pipeline(None));
            pass.set_bind_group(0, &bg, &[]);
            let (x, y) = grid_2d(n.div_ceil(64));
            pass.dispatch_workgroups(x, y, 1);
        }
    }

    /// Records a batch: the counts of the chunks it touches out, its
    /// requests, the counts back in.
    pub(super) fn encode_batch(&self, enc: &mut wgpu::CommandEncoder, batch: &Batch) {
        if batch.is_empty() {
            return;
        }
        let n = batch.chunks.len() as u32;
        let list = self.storage("numasim.chunk_list", bytemuck::cast_slice(&batch.chunks));
        if n > 0 {
            self.encode_recount(enc, &list, n, true);
        }
        let c = self.compiled("requests");
        for part in batch.requests.chunks(MAX_REQUESTS_PER_DISPATCH) {
            let params = self.uniform(
                "numasim.req_params",
                bytemuck::bytes_of(&ReqParams {
                    nr_requests: part.len() as u32,
                    _pad: [0; 3],
                }),
            );
            let reqs = self.storage(
                "numasim.requests",
                bytemuck::cast_slice::<Request, u8>(part),
            );
            let (pv, rv) = (vec![params], vec![reqs]);
            let bg = bind_group(&self.ctx, c, self.layout, |b| match b {
                Buf::ReqParams => pv.as_slice(),
                Buf::Requests => rv.as_slice(),
                other => self.bufs.parts(other),
            });
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("numasim.requests"),
                timestamp_writes: None,
            });
            pass.set_pipeline(c.pipeline(None));
            pass.set_bind_group(0, &bg, &[]);
            let (x, y) = grid_2d((part.len() as u32).div_ceil(256));
            pass.dispatch_workgroups(x, y, 1);
        }
        if n > 0 {
            self.encode_recount(enc, &list, n, false);
        }
    }
}
