//! `hugetlb_apply` on the device: the frame-array writes of a control path
//! uploaded as ops and scattered by one thread each, then `count`.

use super::GpuBackend;
use crate::engine::types::{FrameOp, MAX_OPS_PER_DISPATCH};
use crate::engine::{EngineError, Phase};

pub(super) struct ApplyGpu {
    pipeline: wgpu::ComputePipeline,
    params: wgpu::Buffer,
    ops: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

impl GpuBackend {
    fn apply_ready(&mut self) {
        if self.apply.is_some() {
            return;
        }
        let pipeline = self.compute_pipeline("hugetlb_apply");
        let d = &self.ctx.device;
        let params = d.create_buffer(&wgpu::BufferDescriptor {
            label: Some("numasim.hugetlb_apply.params"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let ops = d.create_buffer(&wgpu::BufferDescriptor {
            label: Some("numasim.hugetlb_apply.ops"),
            size: (MAX_OPS_PER_DISPATCH * std::mem::size_of::<FrameOp>()) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let b = &self.bufs;
        let mut entries = vec![
            wgpu::BindGroupEntry {
                binding: 0,
                resource: params.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: b.pageblocks.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 3,
                resource: b.chunk_dirty.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 4,
                resource: ops.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 5,
                resource: b.totals.as_entire_binding(),
            },
        ];
        entries.extend(b.frame_part_entries());
        let bind_group = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("numasim.hugetlb_apply"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        self.apply = Some(ApplyGpu {
            pipeline,
            params,
            ops,
            bind_group,
        });
    }

    pub(super) fn apply_ops_gpu(&mut self, ops: &[FrameOp]) -> Result<(), EngineError> {
        self.apply_ready();
        // The host copy, when current, takes the same writes through the
        // CPU twin, so it stays a consistent snapshot of this tick (what a
        // device loss resumes from). It is still marked stale: the next
        // read downloads what the shader wrote.
        if self.host_fresh {
            crate::engine::cpu::apply_ops_on(&mut self.host, ops);
        }
        let count = self
            .phases
            .iter()
            .position(|(p, _)| *p == Phase::Count)
            .expect("count is a tick phase");
        let batches: Vec<&[FrameOp]> = if ops.is_empty() {
            vec![&[]]
        } else {
            ops.chunks(MAX_OPS_PER_DISPATCH).collect()
        };
        let last = batches.len() - 1;
        for (i, batch) in batches.into_iter().enumerate() {
            let a = self.apply.as_ref().expect("made above");
            let q = &self.ctx.queue;
            q.write_buffer(&a.ops, 0, bytemuck::cast_slice(batch));
            q.write_buffer(
                &a.params,
                0,
                bytemuck::cast_slice(&[batch.len() as u32, 0, 0, 0]),
            );
            self.submit(|me, enc| {
                let a = me.apply.as_ref().expect("made above");
                if !batch.is_empty() {
                    let groups = (batch.len() as u32).div_ceil(256);
                    let (x, y) = (groups.min(32768), groups.div_ceil(32768));
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("numasim.hugetlb_apply"),
                        timestamp_writes: None,
                    });
                    pass.set_pipeline(&a.pipeline);
                    pass.set_bind_group(0, &a.bind_group, &[]);
                    pass.dispatch_workgroups(x, y, 1);
                }
                if i == last {
                    me.encode_phase(enc, count);
                }
            })?;
        }
        self.record_stats();
        Ok(())
    }
}
