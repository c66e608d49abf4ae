//! Op `requests` (twin of shaders/ops/requests.wgsl): a batch's writes,
//! one request at a time here, one thread each on the GPU (each word at
//! most once per batch, so the order does not matter).

use crate::engine::requests::*;
use crate::engine::types::{ReqParams, TaskState, DIRTY_FREED};
use crate::model::frame::CHUNK_ORDER;

#[allow(clippy::too_many_arguments)]
pub fn requests(
    req_params: &ReqParams,
    frames: &mut [u32],
    owners: &mut [u32],
    pageblocks: &mut [u32],
    chunk_dirty: &mut [u32],
    requests: &[Request],
    totals: &mut [u32],
    task_state: &mut Vec<TaskState>,
    report_state: &mut [u32],
) {
    for r in &requests[..req_params.nr_requests as usize] {
        let i = r.index as usize;
        match r.op {
            REQ_SET_FRAME => {
                frames[i] = r.a;
                owners[i] = r.b;
                chunk_dirty[i >> CHUNK_ORDER] |= DIRTY_FREED;
            }
            REQ_SET_PAGEBLOCK => pageblocks[i] = r.a,
            REQ_SET_TOTAL => totals[i] = r.a,
            REQ_SET_TASK_WORD => {
                // The host holds the tasks there are; the device, capacity
                // for every task (a new task's state arrives this way).
                let words = std::mem::size_of::<TaskState>() / 4;
                if task_state.len() <= i / words {
                    task_state.resize(i / words + 1, TaskState::default());
                }
                let w: &mut [u32] = bytemuck::cast_slice_mut(task_state.as_mut_slice());
                w[i] = r.a;
            }
            REQ_SET_REPORT_WORD => report_state[i] = r.a,
            _ => {}
        }
    }
}
