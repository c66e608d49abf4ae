//! Phase `count`, first step (twin of shaders/tick/count_clear.wgsl): the
//! zone counters `count` rebuilds are zeroed (the reclaim words between
//! them are the plan's and stay).

use crate::engine::state::CtlMut;
use crate::engine::types::{zsw, TickParams, RS_DEV_WORDS, RZ_COUNTED, RZ_WORDS};

pub fn count_clear(params: &TickParams, ctl: &mut CtlMut, report_state: &mut [u32], _order: u32) {
    for z in 0..params.nr_zones as usize {
        let r = RS_DEV_WORDS + z * RZ_WORDS;
        report_state[r..r + RZ_COUNTED].fill(0);
    }
    for zs in ctl.zone_state.iter_mut().take(params.nr_zones as usize) {
        for (w, v) in zs.words_mut().iter_mut().enumerate() {
            if zsw::counted(w) {
                *v = 0;
            }
        }
    }
}
