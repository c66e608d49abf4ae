//! Watermarks and lowmem reserves, as mm/page_alloc.c computes them.

use crate::engine::types::ZoneDesc;
use crate::model::topology::{Topology, ZoneType, NR_ZONE_TYPES};

/// `int_sqrt`.
pub fn int_sqrt(x: u64) -> u64 {
    if x < 2 {
        return x;
    }
    let mut r = (x as f64).sqrt() as u64;
    while r * r > x {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= x {
        r += 1;
    }
    r
}

/// `nr_free_buffer_pages()` at boot (watermarks still zero): managed pages
/// of every zone up to ZONE_NORMAL, on every node.
pub fn nr_free_buffer_pages(t: &Topology) -> u64 {
    t.zones
        .iter()
        .filter(|z| z.zone_type <= ZoneType::Normal)
        .map(|z| z.managed())
        .sum()
}

/// `calculate_min_free_kbytes()`, then khugepaged's
/// `set_recommended_min_free_kbytes()` (the model always has THP enabled).
pub fn default_min_free_kbytes(t: &Topology) -> u64 {
    min_free_kbytes_of(t.zones.iter().map(|z| (z.zone_type, z.managed())))
}

/// The same from the zones' current managed pages: what
/// `init_per_zone_wmark_min()` recomputes after memory hotplug (with
/// `khugepaged_min_free_kbytes_update()`, since 5.10), unless the sysctl
/// was written.
pub fn min_free_kbytes_of(zones: impl Iterator<Item = (ZoneType, u64)> + Clone) -> u64 {
    let lowmem: u64 = zones
        .clone()
        .filter(|(zt, _)| *zt <= ZoneType::Normal)
        .map(|(_, m)| m)
        .sum();
    let lowmem_kbytes = lowmem * 4;
    let mut min_free = int_sqrt(lowmem_kbytes * 16).clamp(128, 262_144);
    let nr_zones = zones
        .filter(|(zt, m)| *zt <= ZoneType::Normal && *m > 0)
        .count() as u64;
    // 2 free pageblocks per zone, plus MIGRATE_PCPTYPES^2 for fallbacks;
    // never more than 5% of lowmem.
    let pageblock = 512u64;
    let recommended = (pageblock * nr_zones * 2 + pageblock * nr_zones * 9).min(lowmem / 20) << 2;
    if recommended > min_free {
        min_free = recommended;
    }
    min_free
}

/// `mult_frac(x, n, d)`.
fn mult_frac(x: u64, n: u64, d: u64) -> u64 {
    (x / d) * n + ((x % d) * n) / d
}

/// `sysctl_lowmem_reserve_ratio` at boot, per model zone type.
pub fn default_lowmem_reserve_ratio() -> [u64; NR_ZONE_TYPES] {
    crate::model::topology::ZONE_TYPES.map(|zt| zt.lowmem_reserve_ratio())
}

/// `__setup_per_zone_wmarks()` and `setup_per_zone_lowmem_reserve()`
/// with the ratios of `vm.lowmem_reserve_ratio` (0 disables a zone's
/// reserve).
pub fn setup_zone_wmarks(
    zones: &mut [ZoneDesc],
    min_free_kbytes: u64,
    watermark_scale_factor: u32,
    lowmem_reserve_ratio: &[u64; NR_ZONE_TYPES],
) {
    let pages_min = min_free_kbytes >> 2;
    let lowmem_pages: u64 = zones
        .iter()
        .filter(|z| z.zone_type != ZoneType::Movable as u32)
        .map(|z| z.managed as u64)
        .sum();
    for z in zones.iter_mut() {
        let managed = z.managed as u64;
        let tmp = (pages_min * managed).checked_div(lowmem_pages).unwrap_or(0);
        let min = if z.zone_type == ZoneType::Movable as u32 {
            (managed / 1024).clamp(32, 128)
        } else {
            tmp
        };
        let gap = (tmp >> 2).max(mult_frac(managed, watermark_scale_factor as u64, 10_000));
        let sat = |x: u64| x.min(u32::MAX as u64) as u32;
        z.wmark_min = sat(min);
        z.wmark_low = sat(min + gap);
        z.wmark_high = sat(min + 2 * gap);
        z.wmark_promo = sat(min + 3 * gap);
    }
    // lowmem_reserve[j] of zone i = managed pages of the node's zones above
    // i, up to type j, divided by lowmem_reserve_ratio[i].
    let n = zones.len();
    for i in 0..n {
        let zi = zones[i];
        let ratio = lowmem_reserve_ratio[zi.zone_type as usize];
        let mut reserve = [0u32; 4];
        let mut acc = 0u64;
        for (j, r) in reserve.iter_mut().enumerate().take(NR_ZONE_TYPES) {
            if j as u32 <= zi.zone_type {
                continue;
            }
            if let Some(upper) = zones
                .iter()
                .find(|z| z.node == zi.node && z.zone_type == j as u32)
            {
                acc += upper.managed as u64;
            }
            *r = if ratio == 0 || zi.managed == 0 {
                0
            } else {
                (acc / ratio).min(u32::MAX as u64) as u32
            };
        }
        zones[i].lowmem_reserve = reserve;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(node: u32, zt: ZoneType, managed: u32) -> ZoneDesc {
        ZoneDesc {
            node,
            zone_type: zt as u32,
            managed,
            ..Default::default()
        }
    }

    #[test]
    fn watermarks_follow_setup_per_zone_wmarks() {
        // One 4 GiB Normal zone, min_free_kbytes 8192 (2048 pages),
        // watermark_scale_factor 10: gap = max(2048/4, 1048576*10/10000).
        let mut z = vec![zone(0, ZoneType::Normal, 1 << 20)];
        setup_zone_wmarks(&mut z, 8192, 10, &default_lowmem_reserve_ratio());
        assert_eq!(z[0].wmark_min, 2048);
        assert_eq!(z[0].wmark_low, 2048 + 1048);
        assert_eq!(z[0].wmark_high, 2048 + 2 * 1048);
        // A large scale factor widens the gap.
        setup_zone_wmarks(&mut z, 8192, 1000, &default_lowmem_reserve_ratio());
        assert_eq!(z[0].wmark_low - z[0].wmark_min, 104_857);
    }

    #[test]
    fn min_is_split_by_managed_share_and_movable_is_clamped() {
        let mut z = vec![
            zone(0, ZoneType::Dma32, 1 << 18),
            zone(0, ZoneType::Normal, 3 << 18),
            zone(0, ZoneType::Movable, 1 << 16),
        ];
        setup_zone_wmarks(&mut z, 4096, 10, &default_lowmem_reserve_ratio());
        assert_eq!(z[0].wmark_min, 256);
        assert_eq!(z[1].wmark_min, 768);
        assert_eq!(z[2].wmark_min, 64); // 65536 / 1024 clamped to 32..128
                                        // DMA32 protects itself from Normal-capable and Movable-capable
                                        // requests by (managed above) / 256.
        assert_eq!(
            z[0].lowmem_reserve,
            [0, 3 << 10, ((3 << 18) + (1 << 16)) / 256, 0]
        );
        assert_eq!(z[1].lowmem_reserve, [0, 0, (1 << 16) / 32, 0]);
        assert_eq!(z[2].lowmem_reserve, [0, 0, 0, 0]);
    }

    #[test]
    fn int_sqrt_exact() {
        for x in [0u64, 1, 2, 3, 4, 15, 16, 17, 1 << 40, (1 << 40) - 1] {
            let r = int_sqrt(x);
            assert!(r * r <= x && (r + 1) * (r + 1) > x);
        }
    }
}
