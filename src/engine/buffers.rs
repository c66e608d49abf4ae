//! The buffer table: one row per buffer of the simulation. Everything a
//! backend does with a buffer follows from its row: the device size (from
//! the scenario), its usage, how the host arrays pack into it (`topo`,
//! `ctl` and `plan` each pack several), which syncs download it, how two
//! backends' copies are compared, and whether it is part of the digest.
//!
//! The shaders name a buffer by the row's `name`; `tests/shaders.rs`
//! checks every binding of every shader against the phase table's rows,
//! which list these ids.

use super::state::{Digest, SimBuffers};
use super::types::*;
use crate::model::frame::{decode, NR_PAGE_ORDERS};
use crate::model::scenario::{MAX_NODES, MAX_TASKS};
use std::borrow::Cow;
use std::mem::size_of;

/// Every buffer a shader binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Buf {
    Params,
    Frames,
    Owners,
    Pageblocks,
    ChunkZone,
    ChunkCounts,
    ChunkPrefix,
    ChunkDirty,
    Dispatch,
    Topo,
    Ctl,
    ZoneStats,
    Tasks,
    TaskState,
    Plan,
    Grants,
    Segs,
    Totals,
    LockCfg,
    TaskZone,
    LockStats,
    ReportCfg,
    ReportState,
    NumaCfg,
    NumaState,
    NumaTasks,
    // Transient buffers of the op and view shaders: made by their
    // executors, never part of the simulation state.
    /// `requests`: how many requests, per dispatch.
    ReqParams,
    /// `requests`: the batch.
    Requests,
    /// `recount`: its parameters (chunks listed, add or subtract).
    RecountParams,
    /// `recount`: the chunks a batch touches.
    ChunkList,
    /// `free_heads`: the range of chunks summarized.
    HeadsParams,
    /// `free_heads`: the summary, `FREE_HEADS_WORDS` per chunk.
    Heads,
    /// `frame_map`: what to draw.
    Fmp,
    /// `frame_map`: the pixels and the probe.
    PixelsOut,
}

/// When a buffer travels between host and device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sync {
    /// Host-owned configuration: uploaded when the host changed it, never
    /// downloaded (the host copy is the truth).
    Config,
    /// Small device state: downloaded by every sync, the small one
    /// (`Backend::state`) included.
    Small,
    /// Per-chunk arrays and the plan's scratch: downloaded by a full sync.
    Full,
    /// Per-frame arrays: downloaded by a full sync, read by ranges in
    /// control paths, split over several bindings on large machines.
    Frame,
    /// Not simulation state (op and view buffers).
    Transient,
}

/// Usage beyond storage and copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extra {
    None,
    /// Also bound as a uniform buffer.
    Uniform,
    /// Also the argument buffer of an indirect dispatch.
    Indirect,
}

/// Where two copies of a buffer first differ.
#[derive(Clone, Debug, PartialEq)]
pub struct Diff {
    pub buffer: &'static str,
    pub index: usize,
    pub left: String,
    pub right: String,
}

/// One row of the table.
pub struct BufDef {
    pub id: Buf,
    /// The shaders' variable name, the device label (`numasim.NAME`) and
    /// the name in parity reports.
    pub name: &'static str,
    pub sync: Sync,
    pub extra: Extra,
    /// Its part of the digest (rows hash in table order).
    pub digest: Option<fn(&SimBuffers, &mut Digest)>,
    /// Bytes on the device (padded where shaders index fixed capacities).
    pub device_bytes: fn(&SimBuffers) -> u64,
    /// Bytes the host holds.
    pub host_bytes: fn(&SimBuffers) -> u64,
    /// The device image of the host arrays.
    pub pack: fn(&SimBuffers) -> Cow<'_, [u8]>,
    /// Writes downloaded bytes (of the device image, from `offset`) into
    /// the host arrays.
    pub unpack: fn(&mut SimBuffers, usize, &[u8]),
    pub compare: fn(&SimBuffers, &SimBuffers) -> Option<Diff>,
}

impl BufDef {
    /// The row of `id`.
    pub fn of(id: Buf) -> &'static BufDef {
        BUFFERS
            .iter()
            .find(|r| r.id == id)
            .expect("every buffer has a row")
    }
}

// ----- packed buffers: offsets in one place -----

/// `ctl`: zone state of every possible zone, then node state, then the
/// plan's header (byte offsets; the WGSL struct `Ctl` has this layout,
/// checked in tests/shaders.rs).
pub const CTL_ZONE_STATE: usize = 0;
pub const CTL_NODE_STATE: usize = MAX_ZONES * size_of::<ZoneState>();
pub const CTL_PLAN_HDR: usize = CTL_NODE_STATE + MAX_NODES * size_of::<NodeState>();
pub const CTL_BYTES: usize = CTL_PLAN_HDR + size_of::<PlanHeader>();
/// `topo`: zones, nodes, zonelists.
pub const TOPO_NODES: usize = MAX_ZONES * size_of::<ZoneDesc>();
pub const TOPO_ZONELISTS: usize = TOPO_NODES + MAX_NODES * size_of::<NodeDesc>();
pub const TOPO_BYTES: usize = TOPO_ZONELISTS + MAX_NODES * ZONELIST_STRIDE * 4;
/// `plan`: cells, then steals.
pub const PLAN_CELLS: usize = MAX_ZONES * NR_PAGE_ORDERS * NR_PCP;
pub const PLAN_STEALS: usize = PLAN_CELLS * size_of::<PlanCell>();
pub const PLAN_STEAL_CELLS: usize = MAX_ZONES * 2 * NR_PCP;
pub const PLAN_BYTES: usize = PLAN_STEALS + PLAN_STEAL_CELLS * size_of::<StealCell>();

/// `v` as bytes, padded with default elements to `n` (the device's capacity).
fn padded<T: bytemuck::Pod + Default>(v: &[T], n: usize) -> Cow<'_, [u8]> {
    if v.len() >= n {
        return Cow::Borrowed(bytemuck::cast_slice(v));
    }
    let mut w = v.to_vec();
    w.resize(n, T::default());
    Cow::Owned(bytemuck::cast_slice(&w).to_vec())
}

/// Copies `bytes` (from byte `offset` of the image of `dst`) into `dst`,
/// as far as `dst` reaches (padding on the device is dropped).
fn unpack_into<T: bytemuck::Pod>(dst: &mut [T], offset: usize, bytes: &[u8]) {
    let d: &mut [u8] = bytemuck::cast_slice_mut(dst);
    if offset >= d.len() {
        return;
    }
    let n = bytes.len().min(d.len() - offset);
    d[offset..offset + n].copy_from_slice(&bytes[..n]);
}

/// Unpacks the part of a packed image from `offset` that falls in the
/// field at `[at, at + len)` of the image.
fn unpack_field<T: bytemuck::Pod>(
    dst: &mut [T],
    at: usize,
    cap_bytes: usize,
    offset: usize,
    bytes: &[u8],
) {
    let (lo, hi) = (offset, offset + bytes.len());
    let (flo, fhi) = (at, at + cap_bytes);
    if hi <= flo || lo >= fhi {
        return;
    }
    let s = lo.max(flo);
    let e = hi.min(fhi);
    unpack_into(dst, s - flo, &bytes[s - lo..e - lo]);
}

fn first_diff<T: bytemuck::Pod>(a: &[T], b: &[T]) -> Option<usize> {
    if a.len() != b.len() {
        return Some(a.len().min(b.len()));
    }
    let (ab, bb): (&[u8], &[u8]) = (bytemuck::cast_slice(a), bytemuck::cast_slice(b));
    if ab == bb {
        return None;
    }
    a.iter()
        .zip(b.iter())
        .position(|(x, y)| bytemuck::bytes_of(x) != bytemuck::bytes_of(y))
}

fn diff<T: bytemuck::Pod>(
    buffer: &'static str,
    a: &[T],
    b: &[T],
    fmt: fn(&T) -> String,
) -> Option<Diff> {
    let i = first_diff(a, b)?;
    let show = |v: &[T]| v.get(i).map(fmt).unwrap_or_else(|| "missing".into());
    Some(Diff {
        buffer,
        index: i,
        left: show(a),
        right: show(b),
    })
}

fn dbg<T: std::fmt::Debug>(x: &T) -> String {
    format!("{x:?}")
}
fn plain(x: &u32) -> String {
    x.to_string()
}
fn frame(x: &u32) -> String {
    format!("{x:#010x} ({})", decode(*x))
}

/// A row for a `Vec<T>` field of `SimBuffers`, padded on the device to
/// `$cap` elements.
macro_rules! vec_row {
    ($id:ident, $field:ident, $sync:expr, $extra:expr, $digest:expr, $fmt:expr, $cap:expr) => {
        BufDef {
            id: Buf::$id,
            name: stringify!($field),
            sync: $sync,
            extra: $extra,
            digest: if $digest {
                Some(|b: &SimBuffers, d: &mut Digest| d.words(bytemuck::cast_slice(&b.$field)))
            } else {
                None
            },
            device_bytes: |b: &SimBuffers| vec_bytes(&b.$field, ($cap)(b)),
            host_bytes: |b: &SimBuffers| std::mem::size_of_val(&b.$field[..]) as u64,
            pack: |b: &SimBuffers| padded(&b.$field, ($cap)(b)),
            unpack: |b: &mut SimBuffers, off: usize, bytes: &[u8]| {
                unpack_into(&mut b.$field, off, bytes)
            },
            compare: |a: &SimBuffers, b: &SimBuffers| {
                diff(stringify!($field), &a.$field, &b.$field, $fmt)
            },
        }
    };
}

/// A row for a `Vec<u32>` field of `SimBuffers` that joins the digest
/// only once a word of it is non-zero, so machines that never use the
/// subsystem keep the digests they had.
macro_rules! nonzero_row {
    ($id:ident, $field:ident, $sync:expr) => {
        BufDef {
            id: Buf::$id,
            name: stringify!($field),
            sync: $sync,
            extra: Extra::None,
            digest: Some(|b: &SimBuffers, d: &mut Digest| {
                if b.$field.iter().any(|&w| w != 0) {
                    d.words(&b.$field);
                }
            }),
            device_bytes: |b: &SimBuffers| vec_bytes(&b.$field, 0),
            host_bytes: |b: &SimBuffers| std::mem::size_of_val(&b.$field[..]) as u64,
            pack: |b: &SimBuffers| padded(&b.$field, 0),
            unpack: |b: &mut SimBuffers, off: usize, bytes: &[u8]| {
                unpack_into(&mut b.$field, off, bytes)
            },
            compare: |a: &SimBuffers, b: &SimBuffers| {
                diff(stringify!($field), &a.$field, &b.$field, plain)
            },
        }
    };
}

/// Device bytes of a vector padded to `cap` elements (never zero: wgpu
/// refuses empty bindings).
fn vec_bytes<T>(v: &[T], cap: usize) -> u64 {
    ((v.len().max(cap) * size_of::<T>()).max(4)) as u64
}

fn no_cap(_: &SimBuffers) -> usize {
    0
}
fn task_cap(_: &SimBuffers) -> usize {
    MAX_TASKS
}

fn transient(id: Buf, name: &'static str, extra: Extra) -> BufDef {
    BufDef {
        id,
        name,
        sync: Sync::Transient,
        extra,
        digest: None,
        device_bytes: |_| 0,
        host_bytes: |_| 0,
        pack: |_| Cow::Borrowed(&[]),
        unpack: |_, _, _| {},
        compare: |_, _| None,
    }
}

/// The table, in digest order for the rows that are part of it.
pub static BUFFERS: std::sync::LazyLock<Vec<BufDef>> = std::sync::LazyLock::new(|| {
    vec![
        BufDef {
            id: Buf::Params,
            name: "params",
            sync: Sync::Small,
            extra: Extra::Uniform,
            digest: None,
            device_bytes: |_| size_of::<TickParams>() as u64,
            host_bytes: |_| size_of::<TickParams>() as u64,
            pack: |b| Cow::Borrowed(bytemuck::bytes_of(&b.params)),
            unpack: |b, off, bytes| unpack_into(std::slice::from_mut(&mut b.params), off, bytes),
            compare: |a, b| diff("params", &[a.params], &[b.params], dbg),
        },
        vec_row!(
            Frames,
            frames,
            Sync::Frame,
            Extra::None,
            true,
            frame,
            no_cap
        ),
        vec_row!(
            Owners,
            owners,
            Sync::Frame,
            Extra::None,
            true,
            plain,
            no_cap
        ),
        vec_row!(
            Pageblocks,
            pageblocks,
            Sync::Small,
            Extra::None,
            true,
            plain,
            no_cap
        ),
        vec_row!(
            ChunkZone,
            chunk_zone,
            Sync::Config,
            Extra::None,
            false,
            plain,
            no_cap
        ),
        vec_row!(
            ChunkCounts,
            chunk_counts,
            Sync::Full,
            Extra::None,
            false,
            plain,
            no_cap
        ),
        vec_row!(
            ChunkPrefix,
            chunk_prefix,
            Sync::Full,
            Extra::None,
            false,
            plain,
            no_cap
        ),
        vec_row!(
            ChunkDirty,
            chunk_dirty,
            Sync::Full,
            Extra::None,
            false,
            plain,
            no_cap
        ),
        vec_row!(
            Dispatch,
            dispatch,
            Sync::Full,
            Extra::Indirect,
            false,
            plain,
            no_cap
        ),
        BufDef {
            id: Buf::Topo,
            name: "topo",
            sync: Sync::Config,
            extra: Extra::None,
            digest: None,
            device_bytes: |_| TOPO_BYTES as u64,
            host_bytes: |b| {
                (std::mem::size_of_val(b.zones.as_slice())
                    + std::mem::size_of_val(b.nodes.as_slice())
                    + b.zonelists.len() * 4) as u64
            },
            pack: |b| {
                let mut v = vec![0u8; TOPO_BYTES];
                v[..TOPO_NODES].copy_from_slice(&padded(&b.zones, MAX_ZONES));
                v[TOPO_NODES..TOPO_ZONELISTS].copy_from_slice(&padded(&b.nodes, MAX_NODES));
                let mut zl = b.zonelists.clone();
                zl.resize(MAX_NODES * ZONELIST_STRIDE, ZONE_NONE);
                v[TOPO_ZONELISTS..].copy_from_slice(bytemuck::cast_slice(&zl));
                Cow::Owned(v)
            },
            // Configuration is never downloaded.
            unpack: |_, _, _| {},
            compare: |a, b| {
                diff("zones", &a.zones, &b.zones, dbg)
                    .or_else(|| diff("nodes", &a.nodes, &b.nodes, dbg))
                    .or_else(|| diff("zonelists", &a.zonelists, &b.zonelists, plain))
            },
        },
        BufDef {
            id: Buf::Ctl,
            name: "ctl",
            sync: Sync::Small,
            extra: Extra::None,
            digest: Some(|b, d| {
                d.words(bytemuck::cast_slice(&b.zone_state));
                d.words(bytemuck::cast_slice(&b.node_state));
            }),
            device_bytes: |_| CTL_BYTES as u64,
            host_bytes: |b| {
                (std::mem::size_of_val(b.zone_state.as_slice())
                    + std::mem::size_of_val(b.node_state.as_slice())
                    + size_of::<PlanHeader>()) as u64
            },
            pack: |b| {
                let mut v = vec![0u8; CTL_BYTES];
                v[..CTL_NODE_STATE].copy_from_slice(&padded(&b.zone_state, MAX_ZONES));
                v[CTL_NODE_STATE..CTL_PLAN_HDR].copy_from_slice(&padded(&b.node_state, MAX_NODES));
                v[CTL_PLAN_HDR..].copy_from_slice(bytemuck::bytes_of(&b.plan_hdr));
                Cow::Owned(v)
            },
            unpack: |b, off, bytes| {
                unpack_field(
                    &mut b.zone_state,
                    CTL_ZONE_STATE,
                    CTL_NODE_STATE,
                    off,
                    bytes,
                );
                unpack_field(
                    &mut b.node_state,
                    CTL_NODE_STATE,
                    CTL_PLAN_HDR - CTL_NODE_STATE,
                    off,
                    bytes,
                );
                unpack_field(
                    std::slice::from_mut(&mut b.plan_hdr),
                    CTL_PLAN_HDR,
                    size_of::<PlanHeader>(),
                    off,
                    bytes,
                );
            },
            compare: |a, b| {
                diff("zone_state", &a.zone_state, &b.zone_state, dbg)
                    .or_else(|| diff("node_state", &a.node_state, &b.node_state, dbg))
                    .or_else(|| diff("plan_hdr", &[a.plan_hdr], &[b.plan_hdr], dbg))
            },
        },
        vec_row!(
            ZoneStats,
            zone_stats,
            Sync::Small,
            Extra::None,
            false,
            dbg,
            no_cap
        ),
        vec_row!(
            Tasks,
            tasks,
            Sync::Config,
            Extra::None,
            false,
            dbg,
            task_cap
        ),
        vec_row!(
            TaskState,
            task_state,
            Sync::Small,
            Extra::None,
            true,
            dbg,
            task_cap
        ),
        BufDef {
            id: Buf::Plan,
            name: "plan",
            sync: Sync::Full,
            extra: Extra::None,
            digest: None,
            device_bytes: |b| (PLAN_BYTES + std::mem::size_of_val(b.mig.as_slice())) as u64,
            host_bytes: |b| {
                (std::mem::size_of_val(b.cells.as_slice())
                    + std::mem::size_of_val(b.steals.as_slice())
                    + std::mem::size_of_val(b.mig.as_slice())) as u64
            },
            pack: |b| {
                let mut v = vec![0u8; PLAN_BYTES + b.mig.len() * 4];
                v[..PLAN_STEALS].copy_from_slice(&padded(&b.cells, PLAN_CELLS));
                v[PLAN_STEALS..PLAN_BYTES].copy_from_slice(&padded(&b.steals, PLAN_STEAL_CELLS));
                v[PLAN_BYTES..].copy_from_slice(bytemuck::cast_slice(&b.mig));
                Cow::Owned(v)
            },
            unpack: |b, off, bytes| {
                unpack_field(&mut b.cells, 0, PLAN_STEALS, off, bytes);
                unpack_field(
                    &mut b.steals,
                    PLAN_STEALS,
                    PLAN_BYTES - PLAN_STEALS,
                    off,
                    bytes,
                );
                let n = b.mig.len() * 4;
                unpack_field(&mut b.mig, PLAN_BYTES, n, off, bytes);
            },
            compare: |a, b| {
                diff("cells", &a.cells, &b.cells, dbg)
                    .or_else(|| diff("steals", &a.steals, &b.steals, dbg))
                    .or_else(|| diff("mig", &a.mig, &b.mig, plain))
            },
        },
        vec_row!(Grants, grants, Sync::Full, Extra::None, false, dbg, no_cap),
        vec_row!(Segs, segs, Sync::Full, Extra::None, false, dbg, no_cap),
        vec_row!(
            Totals,
            totals,
            Sync::Small,
            Extra::None,
            true,
            plain,
            no_cap
        ),
        vec_row!(
            LockCfg,
            lock_cfg,
            Sync::Config,
            Extra::None,
            false,
            plain,
            no_cap
        ),
        vec_row!(
            TaskZone,
            task_zone,
            Sync::Full,
            Extra::None,
            false,
            plain,
            no_cap
        ),
        vec_row!(
            LockStats,
            lock_stats,
            Sync::Small,
            Extra::None,
            false,
            plain,
            no_cap
        ),
        vec_row!(
            ReportCfg,
            report_cfg,
            Sync::Config,
            Extra::None,
            false,
            plain,
            no_cap
        ),
        // Part of the digest once a reporting device has left a trace.
        nonzero_row!(ReportState, report_state, Sync::Small),
        vec_row!(
            NumaCfg,
            numa_cfg,
            Sync::Config,
            Extra::None,
            false,
            plain,
            no_cap
        ),
        // Part of the digest once NUMA balancing has left a trace.
        nonzero_row!(NumaState, numa_state, Sync::Small),
        nonzero_row!(NumaTasks, numa_tasks, Sync::Full),
        transient(Buf::ReqParams, "req_params", Extra::Uniform),
        transient(Buf::Requests, "requests", Extra::None),
        transient(Buf::RecountParams, "recount_params", Extra::Uniform),
        transient(Buf::ChunkList, "chunk_list", Extra::None),
        transient(Buf::HeadsParams, "heads_params", Extra::Uniform),
        transient(Buf::Heads, "heads", Extra::None),
        transient(Buf::Fmp, "fmp", Extra::Uniform),
        transient(Buf::PixelsOut, "pixels_out", Extra::None),
    ]
});

/// The first difference between two sets of buffers (scratch included),
/// in table order.
pub fn compare(a: &SimBuffers, b: &SimBuffers) -> Option<Diff> {
    BUFFERS.iter().find_map(|r| (r.compare)(a, b))
}
