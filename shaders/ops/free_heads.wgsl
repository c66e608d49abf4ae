// Op `free_heads`: twin of src/engine/cpu/free_heads.rs. One thread per
// chunk of a range walks the chunk's blocks head by head and lists its free
// blocks (offset | order << FREE_HEAD_ORDER_SHIFT | type << FREE_HEAD_MT_SHIFT), up to
// FREE_HEADS_MAX, after their count: what a control path needs to build a
// zone's free lists without downloading its frames. A chunk with more free
// blocks than that says how many, and the path reads it whole.

@group(0) @binding(0) var<uniform> heads_params: HeadsParams;
//@frames read
@group(0) @binding(2) var<storage, read> pageblocks: array<u32>;
@group(0) @binding(3) var<storage, read_write> heads: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 64u + gid.x; // literal: the workgroup size
    if (i >= heads_params.nr_chunks) {
        return;
    }
    let base = (heads_params.first_chunk + i) * CHUNK_FRAMES;
    let out = i * FREE_HEADS_WORDS;
    var n = 0u;
    var p = 0u;
    while (p < CHUNK_FRAMES) {
        let s = frames_ld(base + p);
        let o = fr_order(s);
        if (fr_kind(s) == KIND_FREE) {
            if (n < FREE_HEADS_MAX) {
                let mt = pageblocks[(base + p) >> PAGEBLOCK_ORDER];
                heads[out + 1u + n] = p | (o << FREE_HEAD_ORDER_SHIFT) | (mt << FREE_HEAD_MT_SHIFT);
            }
            n += 1u;
        }
        p += 1u << o;
    }
    heads[out] = n;
}
