// The frame encoding and the buddy rules: twins of src/model/frame.rs,
// which the CPU reference, the control paths and the invariant checker
// use. Every shader gets these; none spells a rule out itself.

fn fr_kind(s: u32) -> u32 { return s & KIND_MASK; }
fn fr_order(s: u32) -> u32 { return (s >> ORDER_SHIFT) & ORDER_MASK; }
fn fr_mt(s: u32) -> u32 { return (s >> MT_SHIFT) & MT_MASK; }
fn fr_class(s: u32) -> u32 { return (s >> CLASS_SHIFT) & CLASS_MASK; }
fn fr_flags(s: u32) -> u32 { return s >> FLAGS_SHIFT; }
fn make_free(order: u32) -> u32 { return KIND_FREE | (order << ORDER_SHIFT); }
fn make_alloc(order: u32, mt: u32, cls: u32) -> u32 {
    return KIND_ALLOC | (order << ORDER_SHIFT) | (mt << MT_SHIFT) | (cls << CLASS_SHIFT);
}

// `migratetype_is_mergeable()`.
fn migratetype_is_mergeable(mt: u32) -> bool { return mt < MIGRATE_PCPTYPES; }

// A free block of exactly this order heads here (`PageBuddy` and
// `buddy_order() == order`), reported or not.
fn is_free_block(s: u32, order: u32) -> bool { return (s & ~FREE_FLAG_BITS) == make_free(order); }
// `PageReported` on a free head; a free head the host does not back.
fn is_reported(s: u32) -> bool { return fr_kind(s) == KIND_FREE && (fr_flags(s) & FF_REPORTED) != 0u; }
fn is_unbacked(s: u32) -> bool { return fr_kind(s) == KIND_FREE && (fr_flags(s) & FF_UNBACKED) != 0u; }
fn make_reporting(order: u32, batch: u32) -> u32 {
    return KIND_REPORTING | (order << ORDER_SHIFT) | ((batch & REPORT_BATCH_MASK) << FLAGS_SHIFT);
}

// `__free_one_page()`'s rule for buddies of order >= pageblock_order in
// pageblocks of types `ma` and `mb`: they merge when the types agree or
// both are mergeable (the buddy's pageblock then takes `ma`).
fn buddies_merge(ma: u32, mb: u32) -> bool {
    return ma == mb || (migratetype_is_mergeable(ma) && migratetype_is_mergeable(mb));
}

// What a block's head adds to its zone's counted state (`ZoneState` as
// words): up to two (word, amount) pairs as (w0, n0, w1, n1); a word of
// ZONE_STATE_WORDS means none. `mt` is the head's pageblock type.
fn count_words(s: u32, mt: u32) -> vec4<u32> {
    let none = ZONE_STATE_WORDS;
    let o = fr_order(s);
    let pages = 1u << o;
    let k = fr_kind(s);
    if (k == KIND_FREE) {
        return vec4<u32>(o * MIGRATE_TYPES + mt, 1u, ZSW_NR_FREE, pages);
    }
    if (k == KIND_ALLOC) {
        return vec4<u32>(ZSW_CLASS_PAGES + fr_class(s), pages, none, 0u);
    }
    if (k == KIND_HUGE) {
        if ((fr_flags(s) & HF_INUSE) != 0u) {
            return vec4<u32>(ZSW_HUGE_FRAMES, pages, ZSW_HUGE_INUSE, pages);
        }
        return vec4<u32>(ZSW_HUGE_FRAMES, pages, none, 0u);
    }
    if (k == KIND_VMEMMAP) {
        if ((fr_flags(s) & VMF_RUNTIME) != 0u) {
            return vec4<u32>(ZSW_VMEMMAP_RUNTIME, pages, none, 0u);
        }
        return vec4<u32>(ZSW_VMEMMAP_BOOT, pages, none, 0u);
    }
    return vec4<u32>(none, 0u, none, 0u);
}

// What a block's head adds to its zone's reporting counts (RZ_* words
// below RZ_COUNTED), as count_words does: a reported free block on a pcp
// list, a block out for reporting, a free block the host does not back.
fn report_words(s: u32, mt: u32) -> vec4<u32> {
    let none = RZ_COUNTED;
    let o = fr_order(s);
    let pages = 1u << o;
    let k = fr_kind(s);
    if (k == KIND_REPORTING) {
        return vec4<u32>(RZ_INFLIGHT_BLOCKS, 1u, RZ_INFLIGHT_PAGES, pages);
    }
    if (k != KIND_FREE) {
        return vec4<u32>(none, 0u, none, 0u);
    }
    var r = vec4<u32>(none, 0u, none, 0u);
    if (is_reported(s) && mt < NR_PCP) {
        r.x = RZ_REPORTED + o * NR_PCP + mt;
        r.y = 1u;
    }
    if (is_unbacked(s)) {
        r.z = RZ_UNBACKED_PAGES;
        r.w = pages;
    }
    return r;
}
