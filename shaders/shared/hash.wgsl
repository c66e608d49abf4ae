// Counter-based hashing, the twin of src/model/hash.rs (the stream ids
// come from the generated header).

fn mix32(x0: u32) -> u32 {
    var x = x0;
    x = x ^ (x >> 16u);
    x = x * 0x7feb352du;
    x = x ^ (x >> 15u);
    x = x * 0x846ca68bu;
    x = x ^ (x >> 16u);
    return x;
}

fn hash_prefix(seed: vec2<u32>, tick: u32, stream: u32) -> u32 {
    var h = mix32(seed.x ^ 0x9e3779b9u);
    h = mix32(h ^ seed.y);
    h = mix32(h ^ (tick * 0x85ebca6bu));
    return mix32(h ^ (stream * 0xc2b2ae35u));
}

fn hash_at(prefix: u32, index: u32) -> u32 {
    return mix32(mix32(prefix ^ index) + 0x6a09e667u);
}
