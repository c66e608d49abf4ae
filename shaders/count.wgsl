// Phase `count`: twin of src/engine/cpu/count.rs. One workgroup per chunk
// recounts its free blocks per order and migratetype and its allocated
// pages per cls, writes the chunk's counts and adds to its zone's.

@group(0) @binding(0) var<uniform> params: TickParams;
//@frames read
@group(0) @binding(2) var<storage, read> pageblocks: array<u32>;
@group(0) @binding(3) var<storage, read> chunk_zone: array<u32>;
@group(0) @binding(4) var<storage, read_write> chunk_counts: array<u32>;
@group(0) @binding(5) var<storage, read_write> ctl: array<atomic<u32>>;

// free_area[11][6], nr_free, class_pages[10]: the first 77 ZoneState words;
// then the reclaim words (unused here) and the four hugetlb/vmemmap counts.
var<workgroup> wc: array<atomic<u32>, 84>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let chunk = chunk_of(wg, nwg);
    if (chunk >= params.nr_chunks) {
        return;
    }
    if (lid < 84u) {
        atomicStore(&wc[lid], 0u);
    }
    workgroupBarrier();
    for (var k = 0u; k < 4u; k++) {
        let i = chunk * CHUNK_FRAMES + k * 256u + lid;
        let s = frames_ld(i);
        let kind = fr_kind(s);
        let o = fr_order(s);
        if (kind == KIND_FREE) {
            let mt = pageblocks[i >> PAGEBLOCK_ORDER];
            atomicAdd(&wc[o * MIGRATE_TYPES + mt], 1u);
            atomicAdd(&wc[ZSW_NR_FREE], 1u << o);
        } else if (kind == KIND_ALLOC) {
            atomicAdd(&wc[ZSW_CLASS_PAGES + fr_class(s)], 1u << o);
        } else if (kind == KIND_HUGE) {
            atomicAdd(&wc[ZSW_HUGE_FRAMES], 1u << o);
            if ((fr_flags(s) & HF_INUSE) != 0u) {
                atomicAdd(&wc[ZSW_HUGE_INUSE], 1u << o);
            }
        } else if (kind == KIND_VMEMMAP) {
            if ((fr_flags(s) & VMF_RUNTIME) != 0u) {
                atomicAdd(&wc[ZSW_VMEMMAP_RUNTIME], 1u << o);
            } else {
                atomicAdd(&wc[ZSW_VMEMMAP_BOOT], 1u << o);
            }
        }
    }
    workgroupBarrier();
    if (lid < CHUNK_COUNT_WORDS) {
        let o = lid / NR_PCP;
        let mt = lid % NR_PCP;
        chunk_counts[chunk * CHUNK_COUNT_WORDS + lid] = atomicLoad(&wc[o * MIGRATE_TYPES + mt]);
    }
    if (lid < 77u || (lid >= ZSW_HUGE_FRAMES && lid < 84u)) {
        let v = atomicLoad(&wc[lid]);
        if (v != 0u) {
            atomicAdd(&ctl[chunk_zone[chunk] * ZONE_STATE_WORDS + lid], v);
        }
    }
}
