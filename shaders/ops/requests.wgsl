// Op `requests`: twin of src/engine/cpu/requests.rs. One thread per
// request of a batch writes what a control path decided (engine/requests.rs:
// frames, pageblocks, counter words, task state words). A batch writes each
// word at most once, so the order threads run in does not matter; `recount`
// runs over the chunks it touches before and after.

@group(0) @binding(0) var<uniform> req_params: ReqParams;
//@frames read_write
//@owners read_write
@group(0) @binding(3) var<storage, read_write> pageblocks: array<u32>;
@group(0) @binding(4) var<storage, read_write> chunk_dirty: array<u32>;
@group(0) @binding(5) var<storage, read> requests: array<Request>;
@group(0) @binding(6) var<storage, read_write> totals: array<u32>;
@group(0) @binding(7) var<storage, read_write> task_state: array<u32>;
@group(0) @binding(8) var<storage, read_write> report_state: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 256u + gid.x;
    if (i >= req_params.nr_requests) {
        return;
    }
    let r = requests[i];
    if (r.op == REQ_SET_FRAME) {
        frames_st(r.index, r.a);
        owners_st(r.index, r.b);
        chunk_dirty[r.index >> CHUNK_ORDER] |= DIRTY_FREED;
    } else if (r.op == REQ_SET_PAGEBLOCK) {
        pageblocks[r.index] = r.a;
    } else if (r.op == REQ_SET_TOTAL) {
        totals[r.index] = r.a;
    } else if (r.op == REQ_SET_TASK_WORD) {
        task_state[r.index] = r.a;
    } else if (r.op == REQ_SET_REPORT_WORD) {
        report_state[r.index] = r.a;
    }
}
