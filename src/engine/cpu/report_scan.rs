//! Phase `report_scan` (twin of shaders/tick/report_scan.wgsl): for each
//! zone `report` fills from this tick, the exclusive prefix over its
//! chunks of the unreported free blocks of the fill's order per pcp list,
//! in `chunk_prefix` (free until the allocation's scans rewrite it), so a
//! block's rank is its place from the head of its list.

use crate::engine::state::TopoRef;
use crate::engine::types::*;

pub fn report_scan(
    params: &TickParams,
    topo: &TopoRef,
    chunk_counts: &[u32],
    chunk_prefix: &mut [u32],
    report_state: &[u32],
    _order: u32,
) {
    for z in 0..params.nr_zones as usize {
        let row = RS_DEV_WORDS + z * RZ_WORDS;
        if report_state[row + RZ_TAKE..row + RZ_TAKE + NR_PCP]
            .iter()
            .all(|&t| t == 0)
        {
            continue;
        }
        let o = report_state[row + RZ_TAKE_ORDER] as usize;
        let zd = topo.zones[z];
        let chunks = zd.start_chunk as usize..(zd.start_chunk + zd.nr_chunks) as usize;
        super::scan::unreported_prefix(chunk_counts, chunk_prefix, chunks, o, &[0; NR_PCP]);
    }
}
