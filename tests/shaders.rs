//! Every shader parses and validates with naga, and every struct shared
//! with WGSL has the same size and member offsets as its Rust twin.

use naga::valid::{Capabilities, ValidationFlags, Validator};
use numasim::engine::gpu::shaders::{source, SHADERS};

fn module(name: &str) -> naga::Module {
    let src = source(name).unwrap();
    let m = naga::front::wgsl::parse_str(&src)
        .unwrap_or_else(|e| panic!("{name}.wgsl: {}", e.emit_to_string(&src)));
    Validator::new(ValidationFlags::all(), Capabilities::empty())
        .validate(&m)
        .unwrap_or_else(|e| panic!("{name}.wgsl: {}", e.emit_to_string(&src)));
    m
}

#[test]
fn every_shader_validates_with_frame_arrays_split() {
    use numasim::engine::gpu::shaders::{source_for, FrameLayout};
    for parts in [2, 5, 16] {
        for (name, _) in SHADERS {
            let src = source_for(
                name,
                FrameLayout {
                    parts,
                    part_frames: 65536,
                },
            )
            .unwrap();
            let m = naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| {
                panic!("{name}.wgsl ({parts} parts): {}", e.emit_to_string(&src))
            });
            Validator::new(ValidationFlags::all(), Capabilities::empty())
                .validate(&m)
                .unwrap_or_else(|e| {
                    panic!("{name}.wgsl ({parts} parts): {}", e.emit_to_string(&src))
                });
        }
    }
}

#[test]
fn every_shader_validates() {
    for (name, _) in SHADERS {
        let m = module(name);
        let eps: Vec<_> = m
            .entry_points
            .iter()
            .map(|e| (e.name.as_str(), e.stage))
            .collect();
        assert_eq!(
            eps,
            vec![("main", naga::ShaderStage::Compute)],
            "{name}: one compute entry point"
        );
    }
}

fn struct_layout(m: &naga::Module, name: &str) -> (u32, Vec<(String, u32)>) {
    for (_, ty) in m.types.iter() {
        if ty.name.as_deref() == Some(name) {
            if let naga::TypeInner::Struct { members, span } = &ty.inner {
                return (
                    *span,
                    members
                        .iter()
                        .map(|mb| (mb.name.clone().unwrap_or_default(), mb.offset))
                        .collect(),
                );
            }
        }
    }
    panic!("struct {name} not found in WGSL");
}

macro_rules! check_layout {
    ($m:expr, $ty:ty, $name:literal, [$($field:ident),* $(,)?]) => {{
        let (size, members) = struct_layout(&$m, $name);
        assert_eq!(size as usize, std::mem::size_of::<$ty>(), "size of {}", $name);
        $(
            let off = members.iter().find(|(n, _)| n == stringify!($field)).unwrap_or_else(|| panic!("{}.{} missing in WGSL", $name, stringify!($field))).1;
            assert_eq!(off as usize, std::mem::offset_of!($ty, $field), "offset of {}.{}", $name, stringify!($field));
        )*
    }};
}

#[test]
fn shared_struct_layouts_match_rust() {
    use numasim::engine::types::*;
    let m = module("plan");
    check_layout!(
        m,
        TickParams,
        "TickParams",
        [seed, tick, nr_chunks, nr_zones, nr_nodes, nr_tasks, order]
    );
    check_layout!(
        m,
        ZoneDesc,
        "ZoneDesc",
        [
            node,
            zone_type,
            start_pfn,
            nr_frames,
            start_chunk,
            nr_chunks,
            managed,
            reserved,
            wmark_min,
            wmark_low,
            wmark_high,
            wmark_promo,
            lowmem_reserve,
            kswapd_pages_per_tick
        ]
    );
    check_layout!(
        m,
        ZoneState,
        "ZoneState",
        [
            free_area,
            nr_free,
            class_pages,
            kswapd_p16,
            direct_p16,
            direct_target,
            huge_frames,
            huge_inuse_frames,
            vmemmap_boot_frames,
            vmemmap_runtime_frames
        ]
    );
    check_layout!(m, ZoneStats, "ZoneStats", [v]);
    check_layout!(m, NodeDesc, "NodeDesc", [il_weight, first_zone, nr_zones]);
    check_layout!(m, NodeState, "NodeState", [kswapd_active]);
    check_layout!(
        m,
        TaskDesc,
        "TaskDesc",
        [
            alive,
            cpu_node,
            mode,
            nodemask,
            preferred,
            start_tick,
            rate_fp,
            free_thresh
        ]
    );
    check_layout!(m, TaskState, "TaskState", [il_prev, il_weight, pending]);
    check_layout!(
        m,
        PlanCell,
        "PlanCell",
        [split, alloc, seg_start, seg_count]
    );
    check_layout!(m, StealCell, "StealCell", [to, stealable]);
    check_layout!(m, Grant, "Grant", [cell, count, owner, class_mt, start]);
    check_layout!(m, PlanHeader, "PlanHeader", [nr_grants, overflow]);
    // The op a hugetlb path sends (`target` is a WGSL reserved word: the
    // shader's first member is `op`).
    let h = module("hugetlb_apply");
    let (size, members) = struct_layout(&h, "FrameOp");
    assert_eq!(size as usize, std::mem::size_of::<FrameOp>());
    let rust = [
        ("op", std::mem::offset_of!(FrameOp, target)),
        ("index", std::mem::offset_of!(FrameOp, index)),
        ("state", std::mem::offset_of!(FrameOp, state)),
        ("owner", std::mem::offset_of!(FrameOp, owner)),
    ];
    for (name, off) in rust {
        let w = members
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("FrameOp.{name} missing in WGSL"));
        assert_eq!(w.1 as usize, off, "offset of FrameOp.{name}");
    }
    // The word offsets count.wgsl uses to add into ZoneState atomically.
    assert_eq!(std::mem::size_of::<ZoneState>(), 84 * 4);
    assert_eq!(std::mem::offset_of!(ZoneState, nr_free), 66 * 4);
    assert_eq!(std::mem::offset_of!(ZoneState, class_pages), 67 * 4);
}
