//! The frame map: the whole simulated memory as an image, one pixel per
//! frame or per run of `frames_per_pixel` frames, colored by state.
//!
//! This is a visualization pass, not a tick phase, but it follows the same
//! rule as the phases: `shaders/frame_map.wgsl` renders it on the GPU
//! straight from the device's frame array, and `render` below is its CPU
//! twin, shaped like the shader and byte-identical to it (tests/frame_map.rs).
//!
//! Every frame belongs to a *category* (free block of order o, allocation
//! of workload class c, reserved, ...), and every category has one color in
//! `PALETTE`. A pixel covering several frames takes the color of the
//! category holding most of them (ties go to the lower category), so every
//! pixel on the map is a legend color. Tail frames take their block's
//! category: the pass finds each block's head by alignment, as the buddy
//! allocator's `__find_buddy_pfn` arithmetic allows.
//!
//! Categories 0..=22 are the core allocator's; 23..32 are left for the
//! subsystems built on top (hugetlb, vmemmap, reporting): a subsystem adds a
//! category, its palette entry and its legend name here, and both renderers
//! pick it up.

use super::state::SimBuffers;
use crate::model::frame::*;
use crate::model::workload::{CLASS_NAMES, NR_CLASSES};

/// Pixels outside simulated memory.
pub const CAT_NONE: u32 = 0;
/// Free blocks: `CAT_FREE + order`.
pub const CAT_FREE: u32 = 1;
/// Allocated blocks: `CAT_ALLOC + class`.
pub const CAT_ALLOC: u32 = CAT_FREE + NR_PAGE_ORDERS as u32;
/// Reserved at boot (memmap, firmware holes).
pub const CAT_RESERVED: u32 = CAT_ALLOC + NR_CLASSES as u32;
/// Hugetlb pages: 2 MiB free in the pool, in use, temporary; 1 GiB free
/// in the pool, in use.
pub const CAT_HUGE_FREE: u32 = CAT_RESERVED + 1;
pub const CAT_HUGE_USED: u32 = CAT_RESERVED + 2;
pub const CAT_HUGE_TEMP: u32 = CAT_RESERVED + 3;
pub const CAT_GIG_FREE: u32 = CAT_RESERVED + 4;
pub const CAT_GIG_USED: u32 = CAT_RESERVED + 5;
/// vmemmap frames: the boot memmap, pages allocated back by an HVO
/// restore, PTE tables of split vmemmap PMDs.
pub const CAT_VMEMMAP: u32 = CAT_RESERVED + 6;
pub const CAT_VMEMMAP_RUNTIME: u32 = CAT_RESERVED + 7;
pub const CAT_VMEMMAP_PTE: u32 = CAT_RESERVED + 8;
/// Memory taken offline.
pub const CAT_OFFLINE: u32 = CAT_RESERVED + 9;
/// Free page reporting: free and reported (PageReported: the host took
/// its backing), and out for reporting (off the free lists).
pub const CAT_REPORTED: u32 = CAT_RESERVED + 10;
pub const CAT_REPORTING: u32 = CAT_RESERVED + 11;
/// A user page NUMA balancing made PROT_NONE, waiting for its hint fault.
pub const CAT_PROT_NONE: u32 = CAT_RESERVED + 12;
/// Categories defined so far.
pub const NR_CATEGORIES_USED: u32 = CAT_PROT_NONE + 1;
/// Size of the category space (and of the shader's histogram).
pub const NR_CATEGORIES: usize = 40;
const _: () = assert!(NR_CATEGORIES_USED as usize <= NR_CATEGORIES);
/// Words after the pixels: the probe (see `FrameMapParams::probe_pfn`).
pub const PROBE_WORDS: usize = 4;
/// `probe_pfn` value meaning "no probe".
pub const NO_PROBE: u32 = u32::MAX;
/// Largest run of frames one pixel may cover (keeps every sum in a u32).
pub const MAX_FRAMES_PER_PIXEL: u32 = 1 << 20;

/// RGBA colors packed as the bytes of an `Rgba8Unorm` texel
/// (`r | g << 8 | b << 16 | a << 24`), sRGB encoded like egui's `Color32`.
pub const fn rgb(r: u8, g: u8, b: u8) -> u32 {
    r as u32 | (g as u32) << 8 | (b as u32) << 16 | 0xff << 24
}

/// One color per category.
pub const PALETTE: [u32; NR_CATEGORIES] = {
    let mut p = [rgb(255, 0, 255); NR_CATEGORIES];
    p[CAT_NONE as usize] = rgb(24, 24, 28);
    // Free blocks: pale (order 0, fragments) to deep blue (order 10).
    let free: [u32; NR_PAGE_ORDERS] = [
        rgb(196, 236, 242),
        rgb(166, 222, 238),
        rgb(136, 206, 234),
        rgb(108, 188, 230),
        rgb(84, 170, 226),
        rgb(64, 150, 220),
        rgb(48, 130, 210),
        rgb(36, 110, 196),
        rgb(28, 90, 178),
        rgb(22, 72, 156),
        rgb(18, 56, 132),
    ];
    let mut o = 0;
    while o < NR_PAGE_ORDERS {
        p[CAT_FREE as usize + o] = free[o];
        o += 1;
    }
    // Allocations by class (model::workload::CLASS_NAMES order): movable
    // user memory warm, kernel memory purple/red, reclaimable green.
    let alloc: [u32; NR_CLASSES] = [
        rgb(245, 158, 66),  // anon
        rgb(102, 187, 106), // file
        rgb(239, 108, 0),   // thp
        rgb(171, 71, 188),  // kstack
        rgb(236, 64, 122),  // slab
        rgb(216, 27, 96),   // slab_o1
        rgb(173, 20, 87),   // slab_o3
        rgb(174, 213, 129), // sreclaim
        rgb(126, 87, 194),  // pagetable
        rgb(229, 57, 53),   // pinned
    ];
    let mut c = 0;
    while c < NR_CLASSES {
        p[CAT_ALLOC as usize + c] = alloc[c];
        c += 1;
    }
    p[CAT_RESERVED as usize] = rgb(110, 110, 118);
    // Hugetlb: teal for 2 MiB pages, gold for 1 GiB, pale when free in the
    // pool; temporary pages stand out in yellow-green.
    p[CAT_HUGE_FREE as usize] = rgb(128, 203, 196);
    p[CAT_HUGE_USED as usize] = rgb(0, 137, 123);
    p[CAT_HUGE_TEMP as usize] = rgb(205, 220, 57);
    p[CAT_GIG_FREE as usize] = rgb(255, 224, 130);
    p[CAT_GIG_USED as usize] = rgb(255, 179, 0);
    // vmemmap: browns.
    p[CAT_VMEMMAP as usize] = rgb(141, 110, 99);
    p[CAT_VMEMMAP_RUNTIME as usize] = rgb(188, 143, 110);
    p[CAT_VMEMMAP_PTE as usize] = rgb(93, 64, 55);
    p[CAT_OFFLINE as usize] = rgb(55, 55, 60);
    // Reporting: violet once the host has it, magenta while it is out.
    p[CAT_REPORTED as usize] = rgb(179, 157, 219);
    p[CAT_REPORTING as usize] = rgb(250, 30, 180);
    p[CAT_PROT_NONE as usize] = rgb(255, 235, 59);
    p
};

/// The legend name of a category.
pub fn category_name(cat: u32) -> String {
    match cat {
        CAT_NONE => "no memory".into(),
        c if (CAT_FREE..CAT_ALLOC).contains(&c) => format!("free order {}", c - CAT_FREE),
        c if (CAT_ALLOC..CAT_RESERVED).contains(&c) => {
            format!("alloc {}", CLASS_NAMES[(c - CAT_ALLOC) as usize])
        }
        CAT_RESERVED => "reserved".into(),
        CAT_HUGE_FREE => "hugetlb 2M free".into(),
        CAT_HUGE_USED => "hugetlb 2M in use".into(),
        CAT_HUGE_TEMP => "hugetlb temporary".into(),
        CAT_GIG_FREE => "hugetlb 1G free".into(),
        CAT_GIG_USED => "hugetlb 1G in use".into(),
        CAT_VMEMMAP => "vmemmap (boot)".into(),
        CAT_VMEMMAP_RUNTIME => "vmemmap (restored)".into(),
        CAT_VMEMMAP_PTE => "vmemmap PTE table".into(),
        CAT_OFFLINE => "offline".into(),
        CAT_REPORTED => "free, reported".into(),
        CAT_REPORTING => "out for reporting".into(),
        CAT_PROT_NONE => "PROT_NONE (NUMA hint)".into(),
        c => format!("category {c}"),
    }
}

/// The category of a block from its head's state word.
#[inline]
pub fn category(state: u32) -> u32 {
    match kind(state) {
        KIND_FREE if flags(state) & FF_REPORTED != 0 => CAT_REPORTED,
        KIND_FREE => CAT_FREE + order(state),
        KIND_REPORTING => CAT_REPORTING,
        KIND_ALLOC if flags(state) & AF_PROT_NONE != 0 => CAT_PROT_NONE,
        KIND_ALLOC => CAT_ALLOC + class(state),
        KIND_RESERVED if flags(state) & RF_OFFLINE != 0 => CAT_OFFLINE,
        KIND_RESERVED => CAT_RESERVED,
        KIND_HUGE => {
            let f = flags(state);
            if f & HF_TEMPORARY != 0 {
                CAT_HUGE_TEMP
            } else if f & HF_GIGANTIC != 0 {
                if f & HF_INUSE != 0 {
                    CAT_GIG_USED
                } else {
                    CAT_GIG_FREE
                }
            } else if f & HF_INUSE != 0 {
                CAT_HUGE_USED
            } else {
                CAT_HUGE_FREE
            }
        }
        KIND_VMEMMAP => {
            let f = flags(state);
            if f & VMF_PTE != 0 {
                CAT_VMEMMAP_PTE
            } else if f & VMF_RUNTIME != 0 {
                CAT_VMEMMAP_RUNTIME
            } else {
                CAT_VMEMMAP
            }
        }
        _ => CAT_NONE,
    }
}

/// What to render: pixel `i` (row-major, `width` per row) covers frames
/// `first_pfn + i * frames_per_pixel ..` (+ `frames_per_pixel`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct FrameMapParams {
    pub first_pfn: u32,
    pub frames_per_pixel: u32,
    pub width: u32,
    pub height: u32,
    /// Frames in the machine.
    pub nr_frames: u32,
    /// A frame whose block to describe in the probe words, or `NO_PROBE`.
    pub probe_pfn: u32,
    pub _pad: [u32; 2],
}

impl FrameMapParams {
    pub fn pixels(&self) -> usize {
        self.width as usize * self.height as usize
    }
    /// Output words: the pixels, then the probe.
    pub fn out_words(&self) -> usize {
        self.pixels() + PROBE_WORDS
    }
    /// Checks that every frame index the pass computes fits a u32.
    pub fn validate(&self) -> Result<(), String> {
        if self.frames_per_pixel == 0 || self.frames_per_pixel > MAX_FRAMES_PER_PIXEL {
            return Err(format!(
                "frames_per_pixel {} is not in 1..={MAX_FRAMES_PER_PIXEL}",
                self.frames_per_pixel
            ));
        }
        let end = self.first_pfn as u64 + self.pixels() as u64 * self.frames_per_pixel as u64;
        if end > u32::MAX as u64 {
            return Err(format!(
                "the view ends at frame {end}, past the 32-bit frame space"
            ));
        }
        Ok(())
    }
}

/// What the probe found: the block holding `probe_pfn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    pub pfn: u32,
    pub head_pfn: u32,
    pub state: u32,
    pub owner: u32,
    /// Migratetype of the head's pageblock.
    pub pageblock_mt: u32,
}

impl Probe {
    pub fn from_words(pfn: u32, w: &[u32]) -> Option<Probe> {
        (w.len() >= PROBE_WORDS && w[0] != NO_PROBE).then(|| Probe {
            pfn,
            head_pfn: w[0],
            state: w[1],
            owner: w[2],
            pageblock_mt: w[3],
        })
    }
}

/// Renders the map into `out` (`p.out_words()` words: pixels, then
/// probe) on the host, with the shader's CPU twin.
pub fn render(b: &SimBuffers, p: &FrameMapParams, out: &mut [u32]) -> Result<(), String> {
    p.validate()?;
    if p.nr_frames as usize != b.frames.len() {
        return Err(format!(
            "nr_frames {} does not match the machine's {} frames",
            p.nr_frames,
            b.frames.len()
        ));
    }
    if out.len() < p.out_words() {
        return Err(format!(
            "output holds {} words, the view needs {}",
            out.len(),
            p.out_words()
        ));
    }
    crate::engine::cpu::frame_map::frame_map(p, &b.frames, &b.owners, out, &b.pageblocks);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_colors_are_distinct_for_defined_categories() {
        let used = &PALETTE[..NR_CATEGORIES_USED as usize];
        for (a, ca) in used.iter().enumerate() {
            for (b, cb) in used[..a].iter().enumerate() {
                assert_ne!(ca, cb, "{a} vs {b}");
            }
        }
    }
}
