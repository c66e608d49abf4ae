//! Counter-based hashing: every random choice in a tick is a pure function of
//! (seed, tick, index, stream), so results never depend on scheduling.
//!
//! Only 32-bit wrapping integer operations are used, so the same function is
//! written in WGSL (`shaders/shared/hash.wgsl`) and gives the same bits.

/// A 32-bit finalizer with good avalanche (the "lowbias32" constants).
#[inline(always)]
pub const fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// Streams keep independent decisions independent.
pub const STREAM_FREE: u32 = 0x1;
pub const STREAM_RECLAIM: u32 = 0x2;
pub const STREAM_REQUEST: u32 = 0x3;
pub const STREAM_LOCK: u32 = 0x4;
/// NUMA balancing: whether a page joins its task's hot set (at
/// allocation), where a page sits in its task's address space (a fixed
/// hash of the pfn), whether a page is touched this tick, and by which
/// thread.
pub const STREAM_NUMA_HOT: u32 = 0x5;
pub const STREAM_NUMA_VA: u32 = 0x6;
pub const STREAM_NUMA_TOUCH: u32 = 0x7;
pub const STREAM_NUMA_THREAD: u32 = 0x8;

/// The part of a hash that depends only on (seed, tick, stream): computed
/// once per tick and phase, not once per frame.
#[inline(always)]
pub const fn hash_prefix(seed: [u32; 2], tick: u32, stream: u32) -> u32 {
    let mut h = mix32(seed[0] ^ 0x9e37_79b9);
    h = mix32(h ^ seed[1]);
    h = mix32(h ^ tick.wrapping_mul(0x85eb_ca6b));
    mix32(h ^ stream.wrapping_mul(0xc2b2_ae35))
}

/// Hash of a prefix and an index: two full mixing rounds.
#[inline(always)]
pub const fn hash_at(prefix: u32, index: u32) -> u32 {
    mix32(mix32(prefix ^ index).wrapping_add(0x6a09_e667))
}

/// Hash of (seed, tick, index, stream).
#[inline(always)]
pub const fn hash4(seed: [u32; 2], tick: u32, index: u32, stream: u32) -> u32 {
    hash_at(hash_prefix(seed, tick, stream), index)
}

pub const fn split_seed(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_every_input() {
        let s = split_seed(42);
        let base = hash4(s, 1, 2, 3);
        assert_ne!(base, hash4(split_seed(43), 1, 2, 3));
        assert_ne!(base, hash4(split_seed(42 | 1 << 40), 1, 2, 3));
        assert_ne!(base, hash4(s, 2, 2, 3));
        assert_ne!(base, hash4(s, 1, 3, 3));
        assert_ne!(base, hash4(s, 1, 2, 4));
    }

    #[test]
    fn hash_is_roughly_uniform() {
        // 64k samples into 16 buckets: each within 10% of the mean.
        let mut buckets = [0u32; 16];
        for i in 0..65536 {
            buckets[(hash4([7, 0], 3, i, STREAM_FREE) >> 28) as usize] += 1;
        }
        for b in buckets {
            assert!((3686..=4506).contains(&b), "bucket {b}");
        }
    }
}
