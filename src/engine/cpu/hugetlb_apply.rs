//! `hugetlb_apply` (twin of shaders/hugetlb_apply.wgsl): the frame-array
//! writes a control path decided (hugetlb pool changes, vmemmap
//! optimization and restore, migration, offlining), one op per thread on
//! the GPU, a loop here. Not a tick phase: it runs between ticks, when a
//! command runs, and is followed by `count` so the zone counters include
//! the new states.

use crate::engine::state::SimBuffers;
use crate::engine::types::{FrameOp, OP_FRAME, OP_PAGEBLOCK, OP_TOTAL};
use crate::model::frame::CHUNK_ORDER;

pub fn hugetlb_apply(b: &mut SimBuffers, ops: &[FrameOp]) {
    for op in ops {
        let i = op.index as usize;
        match op.target {
            OP_FRAME => {
                b.frames[i] = op.state;
                b.owners[i] = op.owner;
                b.chunk_dirty[i >> CHUNK_ORDER] = 1;
            }
            OP_PAGEBLOCK => b.pageblocks[i] = op.state,
            OP_TOTAL => b.totals[i] = op.state,
            _ => {}
        }
    }
}
