//! Phase `end_tick` (twin of shaders/tick/end_tick.wgsl): the tick's
//! counters are added to the 64-bit totals (lo, hi word pairs) and the
//! tick number advances.

use crate::engine::types::*;

pub fn end_tick(
    params: &mut TickParams,
    zone_stats: &[ZoneStats],
    totals: &mut [u32],
    _order: u32,
) {
    for (z, s) in zone_stats.iter().enumerate() {
        for (i, &v) in s.v.iter().enumerate() {
            let w = (z * NR_ZONE_STATS + i) * 2;
            let (lo, carry) = totals[w].overflowing_add(v);
            totals[w] = lo;
            totals[w + 1] = totals[w + 1].wrapping_add(carry as u32);
        }
    }
    params.tick = params.tick.wrapping_add(1);
}
