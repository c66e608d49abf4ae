//! Every shader parses and validates with naga; every row of the shader
//! table matches its shader (bindings, access, binding numbers) and its
//! CPU twin (a file of the shader's name whose function takes the same
//! buffers in the same order); every struct shared with WGSL has the same
//! size and member offsets as its Rust twin; every generated constant has
//! Rust's value, no shader redeclares one, and no shader writes one's value
//! as a literal.

use naga::valid::{Capabilities, ValidationFlags, Validator};
use numasim::engine::buffers::{Buf, BufDef};
use numasim::engine::gpu::shaders::{
    source, source_for, FrameLayout, FRAMES_BINDING, OWNERS_BINDING,
};
use numasim::engine::phases::{Access, Kind, SHADERS};

fn parse(name: &str, src: &str) -> naga::Module {
    let m = naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{name}.wgsl: {}", e.emit_to_string(src)));
    Validator::new(ValidationFlags::all(), Capabilities::empty())
        .validate(&m)
        .unwrap_or_else(|e| panic!("{name}.wgsl: {}", e.emit_to_string(src)));
    m
}

fn module(name: &str) -> naga::Module {
    parse(name, &source(name).unwrap())
}

#[test]
fn every_shader_validates_with_frame_arrays_split() {
    for parts in [2, 5, 16] {
        for s in SHADERS {
            let src = source_for(
                s.name,
                FrameLayout {
                    parts,
                    part_frames: 65536,
                },
            )
            .unwrap();
            parse(&format!("{} ({parts} parts)", s.name), &src);
        }
    }
}

#[test]
fn every_shader_validates_with_one_entry_point() {
    for s in SHADERS {
        let m = module(s.name);
        let eps: Vec<_> = m
            .entry_points
            .iter()
            .map(|e| (e.name.as_str(), e.stage))
            .collect();
        assert_eq!(
            eps,
            vec![("main", naga::ShaderStage::Compute)],
            "{}: one compute entry point",
            s.name
        );
        let has_order = m
            .overrides
            .iter()
            .any(|(_, o)| o.name.as_deref() == Some("ORDER"));
        assert_eq!(
            has_order, s.per_order,
            "{}: `override ORDER` exactly when the row says per_order",
            s.name
        );
    }
}

/// (binding, name, access) of every resource a shader declares.
fn declared(m: &naga::Module) -> Vec<(u32, String, Access)> {
    let mut v: Vec<(u32, String, Access)> = m
        .global_variables
        .iter()
        .filter_map(|(_, g)| {
            let b = g.binding.as_ref()?;
            assert_eq!(b.group, 0, "everything is in group 0");
            let access = match g.space {
                naga::AddressSpace::Uniform => Access::Uniform,
                naga::AddressSpace::Storage { access } => {
                    if access.contains(naga::StorageAccess::STORE) {
                        Access::ReadWrite
                    } else {
                        Access::Read
                    }
                }
                other => panic!("unexpected address space {other:?}"),
            };
            Some((b.binding, g.name.clone().unwrap_or_default(), access))
        })
        .collect();
    v.sort_by_key(|x| x.0);
    v
}

#[test]
fn every_row_matches_its_shaders_bindings() {
    let layout = FrameLayout {
        parts: 3,
        part_frames: 65536,
    };
    for s in SHADERS {
        let m = parse(s.name, &source_for(s.name, layout).unwrap());
        let mut want: Vec<(u32, String, Access)> = Vec::new();
        for (i, &(b, acc)) in s.bindings.iter().enumerate() {
            match b {
                Buf::Frames | Buf::Owners => {
                    let (first, stem) = if b == Buf::Frames {
                        (FRAMES_BINDING, "frames")
                    } else {
                        (OWNERS_BINDING, "owners")
                    };
                    for p in 0..layout.parts {
                        want.push((first + p, format!("{stem}_p{p}"), acc));
                    }
                }
                _ => want.push((i as u32, BufDef::of(b).name.to_string(), acc)),
            }
        }
        want.sort_by_key(|x| x.0);
        assert_eq!(
            declared(&m),
            want,
            "{}: the shader's bindings (left) against its row of engine::phases (right)",
            s.name
        );
        if s.kind == Kind::Tick {
            assert!(s.cpu.is_some(), "{}: a tick phase needs a CPU twin", s.name);
        }
    }
}

/// The parameter names of `pub fn NAME(` in a Rust source file.
fn twin_params(src: &str, name: &str) -> Option<Vec<String>> {
    let start = src.find(&format!("pub fn {name}("))? + format!("pub fn {name}(").len();
    let mut depth = 1;
    let mut end = start;
    for (i, c) in src[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = start + i;
                    break;
                }
            }
            _ => {}
        }
    }
    let mut params = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in src[start..end].chars() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                params.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    params.push(cur);
    Some(
        params
            .into_iter()
            .filter(|p| !p.trim().is_empty())
            // An unused binding is `_name`: the same binding.
            .map(|p| {
                let n = p.split(':').next().unwrap().trim();
                n.strip_prefix('_').unwrap_or(n).to_string()
            })
            .collect(),
    )
}

#[test]
fn every_shader_has_a_cpu_twin_taking_its_bindings_in_order() {
    for s in SHADERS {
        let path = format!(
            "{}/src/engine/cpu/{}.rs",
            env!("CARGO_MANIFEST_DIR"),
            s.name
        );
        let src = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{}: no CPU twin at {path}", s.name));
        let params =
            twin_params(&src, s.name).unwrap_or_else(|| panic!("{path}: no `pub fn {}(`", s.name));
        let mut want: Vec<String> = s
            .bindings
            .iter()
            .map(|&(b, _)| BufDef::of(b).name.to_string())
            .collect();
        if s.kind == Kind::Tick {
            // Tick twins take the phase's ORDER last.
            let last = params.last().cloned().unwrap_or_default();
            assert_eq!(last, "order", "{path}: a tick twin takes `order` last");
            want.push(last);
        }
        assert_eq!(
            params, want,
            "{path}: the twin's parameters (left) against the shader's bindings (right)"
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
    use numasim::engine::buffers::*;
    use numasim::engine::requests::Request;
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
            fork_jiffies,
            pid,
            rate_fp,
            free_thresh,
            threads,
            hot_private,
            hot_touch,
            cold_touch
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
    check_layout!(
        m,
        Grant,
        "Grant",
        [cell, count, owner, class_mt, start, flags, hot16]
    );
    check_layout!(m, PlanHeader, "PlanHeader", [nr_grants, overflow]);
    check_layout!(m, Request, "Request", [op, index, a, b]);
    check_layout!(m, ReqParams, "ReqParams", [nr_requests]);
    check_layout!(m, RecountParams, "RecountParams", [nr_listed, subtract]);
    check_layout!(m, HeadsParams, "HeadsParams", [first_chunk, nr_chunks]);
    // The packed buffers: the WGSL structs' member offsets are the
    // buffer table's packing offsets.
    let packed = |name: &str, want: &[(&str, usize)], bytes: usize| {
        let (size, members) = struct_layout(&m, name);
        assert_eq!(size as usize, bytes, "size of {name}");
        for (field, off) in want {
            let got = members.iter().find(|(n, _)| n == field).unwrap().1;
            assert_eq!(got as usize, *off, "offset of {name}.{field}");
        }
    };
    packed(
        "Ctl",
        &[
            ("zone_state", CTL_ZONE_STATE),
            ("node_state", CTL_NODE_STATE),
            ("plan_hdr", CTL_PLAN_HDR),
        ],
        CTL_BYTES,
    );
    packed(
        "Topo",
        &[
            ("zones", 0),
            ("nodes", TOPO_NODES),
            ("zonelists", TOPO_ZONELISTS),
        ],
        TOPO_BYTES,
    );
    // The migration list is a runtime-sized array after the steals (naga
    // counts one element of it in the struct's size).
    packed(
        "Plan",
        &[("cells", 0), ("steals", PLAN_STEALS), ("mig", PLAN_BYTES)],
        PLAN_BYTES + 4,
    );
}

/// The value of a naga constant that is a `u32` literal.
fn const_value(m: &naga::Module, c: &naga::Constant) -> Option<u32> {
    match m.global_expressions[c.init] {
        naga::Expression::Literal(naga::Literal::U32(v)) => Some(v),
        _ => None,
    }
}

#[test]
fn generated_constants_have_rusts_values() {
    let consts = numasim::engine::header::constants();
    let m = module("plan");
    for (name, v) in &consts {
        let c = m
            .constants
            .iter()
            .find(|(_, c)| c.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} is not in the generated header"))
            .1;
        assert_eq!(const_value(&m, c), Some(*v), "{name}");
    }
    // A few values checked against their meaning, not only their source.
    let get = |n: &str| consts.iter().find(|(k, _)| *k == n).unwrap().1;
    assert_eq!(get("CHUNK_FRAMES"), 1024);
    assert_eq!(
        get("ZONE_STATE_WORDS") * 4,
        std::mem::size_of::<numasim::engine::types::ZoneState>() as u32
    );
    assert_eq!(get("KIND_HUGE"), numasim::model::frame::KIND_HUGE);
}

/// The shader files as written (not the generated header).
fn shader_files() -> Vec<(String, String)> {
    let root = format!("{}/shaders", env!("CARGO_MANIFEST_DIR"));
    let mut v = Vec::new();
    for dir in ["tick", "ops", "view", "shared"] {
        for e in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "wgsl") {
                v.push((
                    format!("shaders/{dir}/{}", p.file_name().unwrap().to_string_lossy()),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }
    v.sort();
    v
}

/// Integer literals of a line (comments stripped), with their values.
fn literals(line: &str) -> Vec<(String, u64)> {
    let code = line.split("//").next().unwrap_or("");
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let prev_word = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if c.is_ascii_digit() && !prev_word {
            let start = i;
            let (radix, mut j) =
                if c == b'0' && i + 1 < b.len() && (b[i + 1] == b'x' || b[i + 1] == b'X') {
                    (16, i + 2)
                } else {
                    (10, i)
                };
            let ds = j;
            while j < b.len() && (b[j] as char).is_digit(radix) {
                j += 1;
            }
            let text = &code[start..j];
            if let Ok(v) = u64::from_str_radix(&code[ds..j], radix) {
                out.push((text.to_string(), v));
            }
            i = j;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    out
}

#[test]
fn no_shader_repeats_a_constant_rust_owns() {
    let consts = numasim::engine::header::constants();
    let mut problems = Vec::new();
    for (file, text) in shader_files() {
        for (n, line) in text.lines().enumerate() {
            let t = line.trim_start();
            for (name, _) in &consts {
                if t.starts_with(&format!("const {name}:"))
                    || t.starts_with(&format!("const {name} "))
                {
                    problems.push(format!(
                        "{file}:{}: declares `{name}`, which the generated header defines",
                        n + 1
                    ));
                }
            }
            // Values that small are ordinary arithmetic (shifts, loop
            // bounds, lanes); larger ones that equal a constant Rust owns
            // must use its name. A line may say why a literal is not one.
            // A workgroup size belongs to its shader, not to Rust.
            if line.contains("// literal:") || t.starts_with("@compute @workgroup_size(") {
                continue;
            }
            for (lit, v) in literals(line) {
                if v <= 32 {
                    continue;
                }
                let same: Vec<&str> = consts
                    .iter()
                    .filter(|(_, c)| *c as u64 == v)
                    .map(|(k, _)| *k)
                    .collect();
                if !same.is_empty() {
                    problems.push(format!(
                        "{file}:{}: `{lit}` is the value of {}; use the name",
                        n + 1,
                        same.join(" or ")
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_literal_scan_finds_what_it_should() {
    // The scan above must be able to fail: it sees a bare 1024 and a hex
    // ZONE_NONE, and not digits inside names or comments.
    let l = literals("let x = wf[1024u] + 0xffffffffu; // 4096 in a comment");
    assert_eq!(
        l,
        vec![
            ("1024".to_string(), 1024),
            ("0xffffffff".to_string(), 0xffff_ffff)
        ]
    );
    assert!(literals("var<storage> p0: array<vec3<u32>, 2>;")
        .iter()
        .all(|(_, v)| *v == 2));
}
