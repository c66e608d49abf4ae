//! WGSL sources: each phase file is prefixed with a generated header (the
//! class and fallback tables, written from the Rust tables so they cannot
//! drift) and the shared files under shaders/shared/.

use crate::model::frame::FALLBACKS;
use crate::model::workload::{CLASSES, NR_CLASSES};

pub const TYPES_WGSL: &str = include_str!("../../../shaders/shared/types.wgsl");
pub const HASH_WGSL: &str = include_str!("../../../shaders/shared/hash.wgsl");

/// Every compute shader: (name, source). One entry point, `main`, each.
pub const SHADERS: [(&str, &str); 9] = [
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

/// The complete source of shader `name`.
pub fn source(name: &str) -> Option<String> {
    let body = SHADERS.iter().find(|(n, _)| *n == name)?.1;
    Some(format!(
        "{}\n{TYPES_WGSL}\n{HASH_WGSL}\n{body}",
        generated_header()
    ))
}
