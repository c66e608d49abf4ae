//! WGSL sources: each phase file is prefixed with a generated header (the
//! class and fallback tables, written from the Rust tables so they cannot
//! drift) and the shared files under shaders/shared/.

use crate::model::frame::FALLBACKS;
use crate::model::workload::{CLASSES, NR_CLASSES};

pub const TYPES_WGSL: &str = include_str!("../../../shaders/shared/types.wgsl");
pub const HASH_WGSL: &str = include_str!("../../../shaders/shared/hash.wgsl");
pub const SCAN_WGSL: &str = include_str!("../../../shaders/shared/scan.wgsl");

/// Every compute shader: (name, source). One entry point, `main`, each.
pub const SHADERS: [(&str, &str); 11] = [
    ("free", include_str!("../../../shaders/free.wgsl")),
    ("merge", include_str!("../../../shaders/merge.wgsl")),
    (
        "count_clear",
        include_str!("../../../shaders/count_clear.wgsl"),
    ),
    ("count", include_str!("../../../shaders/count.wgsl")),
    ("plan", include_str!("../../../shaders/plan.wgsl")),
    ("scan", include_str!("../../../shaders/scan.wgsl")),
    ("steal", include_str!("../../../shaders/steal.wgsl")),
    (
        "alloc_split",
        include_str!("../../../shaders/alloc_split.wgsl"),
    ),
    ("end_tick", include_str!("../../../shaders/end_tick.wgsl")),
    // Not tick phases: control-path writes between ticks, and the
    // dashboard's frame map (engine::frame_map).
    (
        "hugetlb_apply",
        include_str!("../../../shaders/hugetlb_apply.wgsl"),
    ),
    ("frame_map", include_str!("../../../shaders/frame_map.wgsl")),
];

/// The tables generated from `model::workload::CLASSES` and `FALLBACKS`.
pub fn generated_header() -> String {
    let list = |f: &dyn Fn(usize) -> u32| {
        (0..NR_CLASSES)
            .map(|c| format!("{}u", f(c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mask = |f: &dyn Fn(usize) -> bool| {
        (0..NR_CLASSES)
            .filter(|&c| f(c))
            .fold(0u32, |m, c| m | 1 << c)
    };
    let fallbacks: Vec<String> = FALLBACKS
        .iter()
        .flatten()
        .map(|f| format!("{f}u"))
        .collect();
    format!(
        "// Generated from src/model/workload.rs and src/model/frame.rs.\n\
         var<private> CLASS_ORDER: array<u32, {NR_CLASSES}> = array<u32, {NR_CLASSES}>({});\n\
         var<private> CLASS_MT: array<u32, {NR_CLASSES}> = array<u32, {NR_CLASSES}>({});\n\
         const RECLAIMABLE_CLASS_MASK: u32 = {:#x}u;\n\
         const MOVABLE_ZONE_CLASS_MASK: u32 = {:#x}u;\n\
         var<private> FALLBACKS: array<u32, 6> = array<u32, 6>({});\n",
        list(&|c| CLASSES[c].order),
        list(&|c| CLASSES[c].migratetype),
        mask(&|c| CLASSES[c].reclaimable),
        mask(&|c| CLASSES[c].movable_zone_ok),
        fallbacks.join(", ")
    )
}

/// How the per-frame arrays are split over bindings: `parts` buffers of
/// `part_frames` frames each (a multiple of a chunk, so no workgroup's
/// chunk straddles two parts). Frames parts are bound at 16.., owners
/// parts at 32...
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLayout {
    pub parts: u32,
    pub part_frames: u32,
}

pub const FRAMES_BINDING: u32 = 16;
pub const OWNERS_BINDING: u32 = 32;
/// At most this many parts per array (bindings 16..31 and 32..47).
pub const MAX_PARTS: u32 = 16;

impl FrameLayout {
    pub const SINGLE: FrameLayout = FrameLayout {
        parts: 1,
        part_frames: u32::MAX,
    };
}

/// Declarations and accessors (`NAME_ld(i)`, and `NAME_st(i, v)` when
/// writable) for a per-frame array split as `layout` says.
fn frame_array(name: &str, mode: &str, first_binding: u32, layout: FrameLayout) -> String {
    let mut s = String::new();
    for p in 0..layout.parts {
        s += &format!(
            "@group(0) @binding({}) var<storage, {mode}> {name}_p{p}: array<u32>;\n",
            first_binding + p
        );
    }
    let branches = |body: &dyn Fn(u32) -> String| -> String {
        let mut b = String::new();
        for p in 0..layout.parts {
            let label = if p + 1 == layout.parts {
                "default".to_string()
            } else {
                format!("case {p}u")
            };
            b += &format!("        {label}: {{ {} }}\n", body(p));
        }
        b
    };
    let split = "    let p = i / PART_FRAMES;\n    let j = i - p * PART_FRAMES;\n";
    s += &format!(
        "fn {name}_ld(i: u32) -> u32 {{\n{split}    switch p {{\n{}    }}\n}}\n",
        branches(&|p| format!("return {name}_p{p}[j];"))
    );
    if mode == "read_write" {
        s += &format!(
            "fn {name}_st(i: u32, v: u32) {{\n{split}    switch p {{\n{}    }}\n}}\n",
            branches(&|p| format!("{name}_p{p}[j] = v;"))
        );
    }
    s
}

/// The complete source of shader `name` for frame arrays split as `layout`.
pub fn source_for(name: &str, layout: FrameLayout) -> Option<String> {
    let body = SHADERS.iter().find(|(n, _)| *n == name)?.1;
    let mut out = String::new();
    for line in body.lines() {
        let t = line.trim();
        if let Some(mode) = t.strip_prefix("//@frames ") {
            out += &frame_array("frames", mode.trim(), FRAMES_BINDING, layout);
        } else if let Some(mode) = t.strip_prefix("//@owners ") {
            out += &frame_array("owners", mode.trim(), OWNERS_BINDING, layout);
        } else {
            out += line;
            out.push('\n');
        }
    }
    Some(format!(
        "{}{}const PART_FRAMES: u32 = {}u;\n\n{TYPES_WGSL}\n{HASH_WGSL}\n{SCAN_WGSL}\n{out}",
        generated_header(),
        crate::engine::frame_map::palette_wgsl(),
        layout.part_frames
    ))
}

/// The source with every frame array in one binding.
pub fn source(name: &str) -> Option<String> {
    source_for(name, FrameLayout::SINGLE)
}
