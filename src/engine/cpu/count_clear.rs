//! Phase `count`, first step (twin of shaders/tick/count_clear.wgsl): the
//! zone counters `count` rebuilds are zeroed (the reclaim words between
//! them are the plan's and stay).

use crate::engine::state::CtlMut;
use crate::engine::types::{zsw, TickParams};

pub fn count_clear(params: &TickParams, ctl: &mut CtlMut, _order: u32) {
    for zs in ctl.zone_state.iter_mut().take(params.nr_zones as usize) {
        for (w, v) in zs.words_mut().iter_mut().enumerate() {
            if zsw::counted(w) {
                *v = 0;
            }
        }
    }
}
