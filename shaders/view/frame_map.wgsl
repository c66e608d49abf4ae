// Frame map (a visualization pass, not a tick phase): twin of
// src/engine/cpu/frame_map.rs. One invocation per pixel walks the blocks that
// cover its run of frames, histograms their categories and writes the
// color of the largest; invocation 0 also describes the probed frame's
// block in the words after the pixels.

struct FrameMapParams {
    first_pfn: u32,
    frames_per_pixel: u32,
    width: u32,
    height: u32,
    nr_frames: u32,
    probe_pfn: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> fmp: FrameMapParams;
//@frames read
//@owners read
@group(0) @binding(3) var<storage, read_write> pixels_out: array<u32>;
@group(0) @binding(4) var<storage, read> pageblocks: array<u32>;

fn category(s: u32) -> u32 {
    let k = fr_kind(s);
    if (k == KIND_FREE) {
        if ((fr_flags(s) & FF_REPORTED) != 0u) {
            return CAT_REPORTED;
        }
        return CAT_FREE + fr_order(s);
    }
    if (k == KIND_REPORTING) {
        return CAT_REPORTING;
    }
    if (k == KIND_ALLOC) {
        if ((fr_flags(s) & AF_PROT_NONE) != 0u) {
            return CAT_PROT_NONE;
        }
        return CAT_ALLOC + fr_class(s);
    }
    if (k == KIND_RESERVED) {
        if ((fr_flags(s) & RF_OFFLINE) != 0u) {
            return CAT_OFFLINE;
        }
        return CAT_RESERVED;
    }
    if (k == KIND_HUGE) {
        let f = fr_flags(s);
        if ((f & HF_TEMPORARY) != 0u) {
            return CAT_HUGE_TEMP;
        }
        if ((f & HF_GIGANTIC) != 0u) {
            return select(CAT_GIG_FREE, CAT_GIG_USED, (f & HF_INUSE) != 0u);
        }
        return select(CAT_HUGE_FREE, CAT_HUGE_USED, (f & HF_INUSE) != 0u);
    }
    if (k == KIND_VMEMMAP) {
        let f = fr_flags(s);
        if ((f & VMF_PTE) != 0u) {
            return CAT_VMEMMAP_PTE;
        }
        return select(CAT_VMEMMAP, CAT_VMEMMAP_RUNTIME, (f & VMF_RUNTIME) != 0u);
    }
    return CAT_NONE;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 256u + gid.x;
    let npix = fmp.width * fmp.height;
    if (i == 0u) {
        let base = npix;
        if (fmp.probe_pfn >= fmp.nr_frames) {
            pixels_out[base] = NO_PROBE;
            pixels_out[base + 1u] = 0u;
            pixels_out[base + 2u] = 0u;
            pixels_out[base + 3u] = 0u;
        } else {
            let h = head_of(fmp.probe_pfn);
            pixels_out[base] = h;
            pixels_out[base + 1u] = frames_ld(h);
            pixels_out[base + 2u] = owners_ld(h);
            pixels_out[base + 3u] = pageblocks[h >> PAGEBLOCK_ORDER];
        }
    }
    if (i >= npix) {
        return;
    }
    var hist: array<u32, NR_CATEGORIES>;
    let a = fmp.first_pfn + i * fmp.frames_per_pixel;
    let b = a + fmp.frames_per_pixel;
    let end = min(b, fmp.nr_frames);
    var f = a;
    while (f < end) {
        let h = head_of(f);
        let s = frames_ld(h);
        var size = 1u;
        if (fr_kind(s) != KIND_TAIL) {
            size = 1u << fr_order(s);
        }
        let stop = min(h + size, end);
        hist[category(s)] += stop - f;
        f = stop;
    }
    if (b > end) {
        hist[CAT_NONE] += b - max(a, end);
    }
    var best = 0u;
    for (var c = 1u; c < NR_CATEGORIES; c++) {
        if (hist[c] > hist[best]) {
            best = c;
        }
    }
    pixels_out[i] = PALETTE[best];
}
