//! Colors shared by every panel: the frame map's palette (so legend, map,
//! cards and plots agree) and one color per node.

use crate::engine::frame_map::{CAT_ALLOC, CAT_FREE, PALETTE};
use crate::model::frame::{MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE};
use egui::Color32;

pub const DIM: Color32 = Color32::from_rgb(150, 150, 160);
pub const WARN: Color32 = Color32::from_rgb(255, 183, 77);
pub const BAD: Color32 = Color32::from_rgb(239, 83, 80);
pub const OK: Color32 = Color32::from_rgb(129, 199, 132);

/// A palette entry (`frame_map::PALETTE`) as an egui color.
pub fn color(packed: u32) -> Color32 {
    let [r, g, b, a] = packed.to_le_bytes();
    Color32::from_rgba_unmultiplied(r, g, b, a)
}

/// The map color of free blocks of `order`.
pub fn free_order(order: usize) -> Color32 {
    color(PALETTE[CAT_FREE as usize + order])
}

/// Colors for migratetypes, taken from the map's allocation classes of
/// that type (slab for unmovable, anon for movable, reclaimable slab for
/// reclaimable), so a card's bar reads like the map.
pub fn migratetype(mt: usize) -> Color32 {
    let class = match mt as u32 {
        MIGRATE_UNMOVABLE => 4,
        MIGRATE_MOVABLE => 0,
        MIGRATE_RECLAIMABLE => 7,
        3 => 9,
        4 => 1,
        _ => return Color32::from_rgb(90, 90, 96),
    };
    color(PALETTE[CAT_ALLOC as usize + class])
}

const NODES: [Color32; 8] = [
    Color32::from_rgb(100, 181, 246),
    Color32::from_rgb(255, 167, 38),
    Color32::from_rgb(102, 187, 106),
    Color32::from_rgb(240, 98, 146),
    Color32::from_rgb(186, 104, 200),
    Color32::from_rgb(77, 208, 225),
    Color32::from_rgb(255, 238, 88),
    Color32::from_rgb(161, 136, 127),
];

/// One color per node, in cards, plots and the map's boundary labels.
pub fn node_color(node: u32) -> Color32 {
    NODES[node as usize % NODES.len()]
}

pub fn mib(pages: u64) -> String {
    let b = pages as f64 * 4096.0;
    if b >= (1u64 << 40) as f64 {
        format!("{:.2} TiB", b / (1u64 << 40) as f64)
    } else if b >= (1u64 << 30) as f64 {
        format!("{:.2} GiB", b / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    }
}
