// Buddy helpers that read the frame array (prepended to shaders that bind
// it): twins of src/model/frame.rs.

// The head of the block holding `p`: the first aligned frame below it,
// order by order, that heads a block reaching `p` (`head_of`).
fn head_of(p: u32) -> u32 {
    if (fr_kind(frames_ld(p)) != KIND_TAIL) {
        return p;
    }
    for (var o = 1u; o <= MAX_PAGE_ORDER; o++) {
        let h = p & ~((1u << o) - 1u);
        let t = frames_ld(h);
        if (fr_kind(t) != KIND_TAIL && fr_order(t) >= o) {
            return h;
        }
    }
    return p;
}
