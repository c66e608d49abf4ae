// Phase `count`, first step: zero the per-zone counts the count shader
// accumulates into (the CPU twin overwrites them in one go).

@group(0) @binding(0) var<uniform> params: TickParams;
@group(0) @binding(1) var<storage, read_write> ctl: array<u32>;
@group(0) @binding(2) var<storage, read_write> report_state: array<u32>;

@compute @workgroup_size(128)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let zone = gid.x;
    if (zone >= params.nr_zones) {
        return;
    }
    for (var w = 0u; w < ZSW_KSWAPD_P16; w++) {
        ctl[zone * ZONE_STATE_WORDS + w] = 0u;
    }
    for (var w = ZSW_HUGE_FRAMES; w < ZONE_STATE_WORDS; w++) {
        ctl[zone * ZONE_STATE_WORDS + w] = 0u;
    }
    for (var w = 0u; w < RZ_COUNTED; w++) {
        report_state[RS_DEV_WORDS + zone * RZ_WORDS + w] = 0u;
    }
}
