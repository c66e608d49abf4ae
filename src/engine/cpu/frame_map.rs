//! View `frame_map` (twin of shaders/view/frame_map.wgsl): one pixel per
//! invocation there, one row per rayon task here. Each pixel walks the
//! blocks covering its run of frames, histograms their categories and takes
//! the color of the largest; the words after the pixels describe the probed
//! frame's block.

use crate::engine::frame_map::*;
use crate::model::frame::*;

/// The color of one pixel (the shader's per-invocation body).
pub fn pixel(frames: &[u32], p: &FrameMapParams, i: u32) -> u32 {
    let mut hist = [0u32; NR_CATEGORIES];
    let a = p.first_pfn + i * p.frames_per_pixel;
    let b = a + p.frames_per_pixel;
    let end = b.min(p.nr_frames);
    let mut f = a;
    while f < end {
        let h = head_of(|q| frames[q as usize], f);
        let s = frames[h as usize];
        let size = if kind(s) == KIND_TAIL {
            1
        } else {
            1u32 << order(s)
        };
        let stop = (h + size).min(end);
        hist[category(s) as usize] += stop - f;
        f = stop;
    }
    if b > end {
        hist[CAT_NONE as usize] += b - a.max(end);
    }
    let mut best = 0usize;
    for c in 1..NR_CATEGORIES {
        if hist[c] > hist[best] {
            best = c;
        }
    }
    PALETTE[best]
}

/// The probe words for `fmp.probe_pfn`.
pub fn probe_words(
    fmp: &FrameMapParams,
    frames: &[u32],
    owners: &[u32],
    pageblocks: &[u32],
) -> [u32; PROBE_WORDS] {
    if fmp.probe_pfn >= fmp.nr_frames {
        return [NO_PROBE, 0, 0, 0];
    }
    let h = head_of(|q| frames[q as usize], fmp.probe_pfn);
    [
        h,
        frames[h as usize],
        owners[h as usize],
        pageblocks[(h >> PAGEBLOCK_ORDER) as usize],
    ]
}

/// The shader's bindings in order; `pixels_out` holds `fmp.out_words()`
/// words (the caller checked `fmp` and the sizes: `frame_map::render`).
pub fn frame_map(
    fmp: &FrameMapParams,
    frames: &[u32],
    owners: &[u32],
    pixels_out: &mut [u32],
    pageblocks: &[u32],
) {
    let (pixels, probe) = pixels_out.split_at_mut(fmp.pixels());
    let row = |(y, line): (usize, &mut [u32])| {
        for (x, px) in line.iter_mut().enumerate() {
            *px = pixel(frames, fmp, (y * fmp.width as usize + x) as u32);
        }
    };
    let w = fmp.width.max(1) as usize;
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        pixels.par_chunks_mut(w).enumerate().for_each(row);
    }
    #[cfg(not(feature = "parallel"))]
    pixels.chunks_mut(w).enumerate().for_each(row);
    probe[..PROBE_WORDS].copy_from_slice(&probe_words(fmp, frames, owners, pageblocks));
}
