//! Comparing two backends: byte for byte, phase by phase, naming the first
//! phase, buffer and element where they differ, with both values decoded.

use super::state::SimBuffers;
use super::{tick_phases, Backend, EngineError};
use crate::model::frame::decode;

/// Where two backends first disagree.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub tick: u64,
    pub phase: String,
    pub buffer: &'static str,
    pub index: usize,
    pub left: String,
    pub right: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "tick {} after phase `{}`: {}[{}] is {} on the reference but {} on the other backend",
            self.tick, self.phase, self.buffer, self.index, self.left, self.right
        )
    }
}

fn first_diff<T: bytemuck::Pod + PartialEq>(a: &[T], b: &[T]) -> Option<usize> {
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

/// The first difference between two sets of buffers (scratch included),
/// as (buffer, index, left, right). `params.tick` is compared too.
pub fn compare(a: &SimBuffers, b: &SimBuffers) -> Option<(&'static str, usize, String, String)> {
    macro_rules! cmp {
        ($field:ident, $fmt:expr) => {
            if let Some(i) = first_diff(&a.$field, &b.$field) {
                let f = $fmt;
                return Some((
                    stringify!($field),
                    i,
                    a.$field
                        .get(i)
                        .map(|x| f(x))
                        .unwrap_or_else(|| "missing".into()),
                    b.$field
                        .get(i)
                        .map(|x| f(x))
                        .unwrap_or_else(|| "missing".into()),
                ));
            }
        };
    }
    let frame = |x: &u32| format!("{x:#010x} ({})", decode(*x));
    let plain = |x: &u32| x.to_string();
    let dbg = |x: &dyn std::fmt::Debug| format!("{x:?}");
    if a.params != b.params {
        return Some(("params", 0, dbg(&a.params), dbg(&b.params)));
    }
    cmp!(frames, frame);
    cmp!(owners, plain);
    cmp!(pageblocks, plain);
    cmp!(chunk_counts, plain);
    cmp!(chunk_prefix, plain);
    cmp!(chunk_dirty, plain);
    cmp!(dispatch, plain);
    cmp!(zone_state, |x: &crate::engine::types::ZoneState| format!(
        "{x:?}"
    ));
    cmp!(node_state, |x: &crate::engine::types::NodeState| format!(
        "{x:?}"
    ));
    cmp!(zone_stats, |x: &crate::engine::types::ZoneStats| format!(
        "{x:?}"
    ));
    cmp!(task_state, |x: &crate::engine::types::TaskState| format!(
        "{x:?}"
    ));
    cmp!(cells, |x: &crate::engine::types::PlanCell| format!("{x:?}"));
    cmp!(steals, |x: &crate::engine::types::StealCell| format!(
        "{x:?}"
    ));
    if a.plan_hdr != b.plan_hdr {
        return Some(("plan_hdr", 0, dbg(&a.plan_hdr), dbg(&b.plan_hdr)));
    }
    cmp!(grants, |x: &crate::engine::types::Grant| format!("{x:?}"));
    cmp!(segs, |x: &crate::engine::types::Grant| format!("{x:?}"));
    cmp!(totals, plain);
    None
}

/// Runs `ticks` ticks on both backends phase by phase and returns the
/// first mismatch, if any. Both must start from the same buffers.
pub fn diagnose(
    reference: &mut dyn Backend,
    other: &mut dyn Backend,
    first_tick: u64,
    ticks: u64,
    mut progress: impl FnMut(u64),
) -> Result<Option<Mismatch>, EngineError> {
    if let Some((buffer, index, left, right)) = compare(reference.buffers()?, other.buffers()?) {
        return Ok(Some(Mismatch {
            tick: first_tick,
            phase: "(start)".into(),
            buffer,
            index,
            left,
            right,
        }));
    }
    let phases = tick_phases();
    for t in 0..ticks {
        for &p in &phases {
            reference.run_phase(p)?;
            other.run_phase(p)?;
            if let Some((buffer, index, left, right)) =
                compare(reference.buffers()?, other.buffers()?)
            {
                return Ok(Some(Mismatch {
                    tick: first_tick + t,
                    phase: p.name(),
                    buffer,
                    index,
                    left,
                    right,
                }));
            }
        }
        progress(t + 1);
    }
    Ok(None)
}
