//! WGSL sources: each shader of the table (`engine::phases::SHADERS`) is
//! prefixed with the generated header (`engine::header`: every constant and
//! table Rust owns), the shared structs, the hash, the workgroup scan and
//! the buddy rules, and, where it binds the frame array, the accessors for
//! the frame array's parts and the helpers that read it.

use crate::engine::phases::shader;

pub const TYPES_WGSL: &str = include_str!("../../../shaders/shared/types.wgsl");
pub const HASH_WGSL: &str = include_str!("../../../shaders/shared/hash.wgsl");
pub const SCAN_WGSL: &str = include_str!("../../../shaders/shared/scan.wgsl");
pub const BUDDY_WGSL: &str = include_str!("../../../shaders/shared/buddy.wgsl");
pub const FRAMES_WGSL: &str = include_str!("../../../shaders/shared/frames.wgsl");
pub const NUMA_WGSL: &str = include_str!("../../../shaders/shared/numa.wgsl");

pub use crate::engine::header::generated_header;

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
    let body = shader(name)?.source;
    let mut out = String::new();
    let mut frames = false;
    for line in body.lines() {
        let t = line.trim();
        if let Some(mode) = t.strip_prefix("//@frames ") {
            out += &frame_array("frames", mode.trim(), FRAMES_BINDING, layout);
            frames = true;
        } else if let Some(mode) = t.strip_prefix("//@owners ") {
            out += &frame_array("owners", mode.trim(), OWNERS_BINDING, layout);
        } else {
            out += line;
            out.push('\n');
        }
    }
    Some(format!(
        "{}const PART_FRAMES: u32 = {}u;\n\n{TYPES_WGSL}\n{HASH_WGSL}\n{SCAN_WGSL}\n{BUDDY_WGSL}\n{NUMA_WGSL}\n{}{out}",
        generated_header(),
        layout.part_frames,
        if frames {
            format!("{out_frames}\n", out_frames = FRAMES_WGSL)
        } else {
            String::new()
        },
    ))
}

/// The source with every frame array in one binding.
pub fn source(name: &str) -> Option<String> {
    source_for(name, FrameLayout::SINGLE)
}
