// `hugetlb_apply`: twin of src/engine/cpu/hugetlb_apply.rs. One thread per
// op writes what a control path decided (hugetlb pages, vmemmap frames,
// offlined ranges) into the frame array. Ops of a batch never write the
// same word twice, so the order threads run in does not matter.

struct FrameOp {
    op: u32,
    index: u32,
    state: u32,
    owner: u32,
}

struct ApplyParams {
    nr_ops: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> ap: ApplyParams;
//@frames read_write
//@owners read_write
@group(0) @binding(2) var<storage, read_write> pageblocks: array<u32>;
@group(0) @binding(3) var<storage, read_write> chunk_dirty: array<u32>;
@group(0) @binding(4) var<storage, read> ops: array<FrameOp>;
@group(0) @binding(5) var<storage, read_write> totals: array<u32>;

const OP_FRAME: u32 = 0u;
const OP_PAGEBLOCK: u32 = 1u;
const OP_TOTAL: u32 = 2u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 256u + gid.x;
    if (i >= ap.nr_ops) {
        return;
    }
    let op = ops[i];
    if (op.op == OP_FRAME) {
        frames_st(op.index, op.state);
        owners_st(op.index, op.owner);
        chunk_dirty[op.index / CHUNK_FRAMES] = 1u;
    } else if (op.op == OP_PAGEBLOCK) {
        pageblocks[op.index] = op.state;
    } else if (op.op == OP_TOTAL) {
        totals[op.index] = op.state;
    }
}
