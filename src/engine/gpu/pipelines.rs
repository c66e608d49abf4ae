//! Pipelines from the shader table: each row's bind group layout is built
//! from its bindings (explicit, so a binding a shader declares but does
//! not read is still bound, and the layout never depends on what the
//! compiler kept), its pipeline from its source, one per order for the
//! per-order phases, and bind groups from the buffer table's device
//! buffers (or an op's own).

use super::shaders::{self, FrameLayout, FRAMES_BINDING, OWNERS_BINDING};
use super::GpuContext;
use crate::engine::buffers::Buf;
use crate::engine::phases::{Access, ShaderDef, SHADERS};
use std::collections::HashMap;

/// The device buffers: one per row, the per-frame arrays in parts.
pub(super) struct DevBufs {
    map: HashMap<Buf, Vec<wgpu::Buffer>>,
}

impl DevBufs {
    pub fn new() -> DevBufs {
        DevBufs {
            map: HashMap::new(),
        }
    }
    pub fn insert(&mut self, b: Buf, parts: Vec<wgpu::Buffer>) {
        self.map.insert(b, parts);
    }
    /// The buffer of a row (the first part of a split one).
    pub fn one(&self, b: Buf) -> &wgpu::Buffer {
        &self.map[&b][0]
    }
    /// Every part of a row.
    pub fn parts(&self, b: Buf) -> &[wgpu::Buffer] {
        self.map.get(&b).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn all(&self) -> impl Iterator<Item = &wgpu::Buffer> {
        self.map.values().flatten()
    }
}

/// A shader's compiled form.
pub(super) struct Compiled {
    pub def: &'static ShaderDef,
    pub layout: wgpu::BindGroupLayout,
    /// One pipeline, or for per-order ones one per order the tick uses
    /// (index = order).
    pub pipelines: Vec<Option<wgpu::ComputePipeline>>,
}

impl Compiled {
    pub fn pipeline(&self, order: Option<u32>) -> &wgpu::ComputePipeline {
        self.pipelines[order.unwrap_or(0) as usize]
            .as_ref()
            .expect("a pipeline for every order the tick runs")
    }
}

fn is_split(b: Buf) -> bool {
    matches!(b, Buf::Frames | Buf::Owners)
}

/// The binding numbers of a row's `i`-th binding: its position, or the
/// parts' range of a per-frame array.
pub(super) fn binding_numbers(i: usize, b: Buf, layout: FrameLayout) -> Vec<u32> {
    match b {
        Buf::Frames => (0..layout.parts).map(|p| FRAMES_BINDING + p).collect(),
        Buf::Owners => (0..layout.parts).map(|p| OWNERS_BINDING + p).collect(),
        _ => vec![i as u32],
    }
}

/// Compiles row `def` for a frame layout.
pub(super) fn compile(ctx: &GpuContext, def: &'static ShaderDef, layout: FrameLayout) -> Compiled {
    let d = &ctx.device;
    let label = format!("numasim.{}", def.name);
    let mut entries = Vec::new();
    for (i, &(b, acc)) in def.bindings.iter().enumerate() {
        let ty = match acc {
            Access::Uniform => wgpu::BufferBindingType::Uniform,
            Access::Read => wgpu::BufferBindingType::Storage { read_only: true },
            Access::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
        };
        for binding in binding_numbers(i, b, layout) {
            entries.push(wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            });
        }
    }
    let bgl = d.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(&label),
        entries: &entries,
    });
    let pl = d.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(&label),
        bind_group_layouts: &[Some(&bgl)],
        immediate_size: 0,
    });
    let src = shaders::source_for(def.name, layout).expect("every row has a source");
    let module = d.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(&label),
        source: wgpu::ShaderSource::Wgsl(src.into()),
    });
    let used: Vec<u32> = crate::engine::tick_phases()
        .iter()
        .filter(|p| p.def().name == def.name)
        .filter_map(|p| p.order())
        .collect();
    let orders: Vec<Option<u32>> = if def.per_order {
        (0..=crate::model::frame::MAX_PAGE_ORDER)
            .map(Some)
            .collect()
    } else {
        vec![None]
    };
    let pipelines = orders
        .into_iter()
        .map(|o| {
            if o.is_some_and(|o| !used.contains(&o)) {
                return None;
            }
            let constants: Vec<(&str, f64)> =
                o.map(|o| vec![("ORDER", o as f64)]).unwrap_or_default();
            let l = match o {
                Some(o) => format!("{label}[{o}]"),
                None => label.clone(),
            };
            Some(d.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&l),
                layout: Some(&pl),
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    zero_initialize_workgroup_memory: true,
                },
                cache: None,
            }))
        })
        .collect();
    Compiled {
        def,
        layout: bgl,
        pipelines,
    }
}

/// A bind group for `c`, each binding's buffer(s) from `resolve`.
pub(super) fn bind_group<'a>(
    ctx: &GpuContext,
    c: &Compiled,
    layout: FrameLayout,
    resolve: impl Fn(Buf) -> &'a [wgpu::Buffer],
) -> wgpu::BindGroup {
    let mut entries = Vec::new();
    for (i, &(b, _)) in c.def.bindings.iter().enumerate() {
        let bufs = resolve(b);
        let numbers = binding_numbers(i, b, layout);
        debug_assert!(
            is_split(b) || bufs.len() == 1,
            "{}: {b:?} needs one buffer",
            c.def.name
        );
        for (n, buf) in numbers.into_iter().zip(bufs) {
            entries.push(wgpu::BindGroupEntry {
                binding: n,
                resource: buf.as_entire_binding(),
            });
        }
    }
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(&format!("numasim.{}", c.def.name)),
        layout: &c.layout,
        entries: &entries,
    })
}

/// Every row compiled, in table order.
pub(super) fn compile_all(ctx: &GpuContext, layout: FrameLayout) -> Vec<Compiled> {
    SHADERS.iter().map(|d| compile(ctx, d, layout)).collect()
}

/// The compiled row of shader `name`.
pub(super) fn find<'a>(list: &'a [Compiled], name: &str) -> &'a Compiled {
    list.iter()
        .find(|c| c.def.name == name)
        .expect("every shader is compiled")
}
