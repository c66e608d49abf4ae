//! The per-frame encoding shared by every backend.
//!
//! Each 4 KiB frame has two 32-bit words: a *state* word and an *owner* word
//! (8 bytes per frame in all). Only the first frame of a buddy block (its
//! *head*) carries meaning; every other frame of the block is a `TAIL` with
//! both words zero, so that splitting, merging, allocating and freeing a block
//! touch one or two words, never the whole block. This mirrors the kernel,
//! where the head `struct page` of a free block carries `PageBuddy` and the
//! order, and its tails carry nothing the allocator reads.
//!
//! State word layout (bit 0 is the least significant):
//!
//! | bits   | field                                                          |
//! |--------|----------------------------------------------------------------|
//! | 0..4   | kind: `TAIL`, `FREE`, `ALLOC`, `RESERVED`, `HUGE`, `VMEMMAP`     |
//! | 4..8   | order of the block (0..=`MAX_PAGE_ORDER`)                      |
//! | 8..11  | migratetype the allocation asked for (ALLOC heads only)        |
//! | 11..15 | workload class of the allocation (ALLOC heads only)            |
//! | 16..32 | flags, left free for the subsystems built on top               |
//!
//! The migratetype of a *free* block is not stored: as in the kernel since
//! the 6.9 free-list hygiene work, a free block sits on the list of its
//! pageblock's migratetype, so it is read from the pageblock array.
//!
//! The same layout is defined for WGSL in `shaders/shared/`.

/// Largest buddy order (the kernel's `MAX_PAGE_ORDER` on x86-64).
pub const MAX_PAGE_ORDER: u32 = 10;
/// Number of orders, 0..=MAX_PAGE_ORDER (`NR_PAGE_ORDERS`).
pub const NR_PAGE_ORDERS: usize = 11;
/// `pageblock_order` on x86-64 with 4 KiB pages.
pub const PAGEBLOCK_ORDER: u32 = 9;
/// Frames per pageblock.
pub const PAGEBLOCK_FRAMES: u64 = 1 << PAGEBLOCK_ORDER;
/// Frames per max-order block: the unit every zone is aligned to, and the
/// unit of parallel work ("chunk": one workgroup on the GPU, one task on the
/// CPU). No buddy operation ever crosses a chunk.
pub const CHUNK_ORDER: u32 = MAX_PAGE_ORDER;
pub const CHUNK_FRAMES: u64 = 1 << CHUNK_ORDER;
pub const PAGEBLOCKS_PER_CHUNK: u64 = CHUNK_FRAMES / PAGEBLOCK_FRAMES;
/// Base page size.
pub const PAGE_SIZE: u64 = 4096;
pub const PAGE_SHIFT: u32 = 12;

pub const KIND_TAIL: u32 = 0;
pub const KIND_FREE: u32 = 1;
pub const KIND_ALLOC: u32 = 2;
pub const KIND_RESERVED: u32 = 3;
/// A hugetlb page (see `model::hugetlb`): a 2 MiB page is one order-9
/// head; a 1 GiB page is 256 order-10 heads, one per chunk, so that no
/// block crosses a chunk. Flags `HF_*`.
pub const KIND_HUGE: u32 = 4;
/// A frame of the vmemmap (the `struct page` array) or of the page tables
/// that map it. Flags `VMF_*`.
pub const KIND_VMEMMAP: u32 = 5;
/// A free block out for reporting (`mm/page_reporting.c`): taken off its
/// free list by `__isolate_free_page()`, handed to the host, neither free
/// nor allocated (refcount 0, no `PageBuddy`). Its flags are the report
/// batch it belongs to (1..=`REPORT_BATCH_MASK`).
pub const KIND_REPORTING: u32 = 6;
/// Kinds below this value are defined.
pub const NR_KINDS: u32 = 7;

/// `KIND_FREE` flags.
/// `PageReported`: the block was reported to the host and not touched
/// since (cleared when it is allocated, split or merged).
pub const FF_REPORTED: u32 = 1 << 0;
/// The host holds no memory behind the block (it was reported, or split
/// from a reported block); allocating it costs a refault on the host.
pub const FF_UNBACKED: u32 = 1 << 1;
pub const FF_ALL: u32 = (1 << 2) - 1;
/// The bits of a free head's state word that are its flags.
pub const FREE_FLAG_BITS: u32 = FF_ALL << FLAGS_SHIFT;
/// Report batch ids cycle through 1..=this (the flags of a reporting head).
pub const REPORT_BATCH_MASK: u32 = 0xfff;

/// `KIND_HUGE` flags.
/// Part of a 1 GiB page.
pub const HF_GIGANTIC: u32 = 1 << 0;
/// A 1 GiB page's segment other than its first chunk.
pub const HF_GIG_TAIL: u32 = 1 << 1;
/// Mapped by a task (`owner` is the task); else free in the pool.
pub const HF_INUSE: u32 = 1 << 2;
/// `HPageTemporary`: allocated for a migration outside the pool's limits.
pub const HF_TEMPORARY: u32 = 1 << 3;
/// `HPageVmemmapOptimized`: its vmemmap tail pages were given back.
pub const HF_HVO: u32 = 1 << 4;
pub const HF_ALL: u32 = (1 << 5) - 1;

/// `KIND_VMEMMAP` flags.
/// Allocated from the buddy allocator after boot (a restored vmemmap page
/// or a page table); without it, part of the boot memmap reservation.
pub const VMF_RUNTIME: u32 = 1 << 0;
/// A PTE table splitting a vmemmap PMD (owner: PMD index + 1); without it
/// a page of `struct page`s (owner: vmemmap page index + 1).
pub const VMF_PTE: u32 = 1 << 1;
pub const VMF_ALL: u32 = (1 << 2) - 1;

/// `KIND_ALLOC` flags: what NUMA balancing keeps of a user page (anon
/// and THP heads only; every other allocation has none).
/// The page's PTE (or PMD) is PROT_NONE: `change_prot_numa()` made it so
/// and the next access takes a NUMA hint fault.
pub const AF_PROT_NONE: u32 = 1 << 0;
/// The page is in its task's hot set (drawn at allocation, carried by
/// migration): touched every `hot_touch_ms` on average, the rest every
/// `cold_touch_ms`.
pub const AF_HOT: u32 = 1 << 1;
/// `page->_last_cpupid` (page_cpupid_xchg_last()): the node of the CPU that
/// took the last hint fault, plus one (0: unset, as the kernel's
/// all-ones reset reads), then the low 8 bits of its pid, stored
/// complemented so a fresh page's zero reads as the kernel's 0xff
/// (`cpupid_pid_unset()`).
pub const AF_NID_SHIFT: u32 = 2;
pub const AF_NID_MASK: u32 = 0x3f;
pub const AF_PID_SHIFT: u32 = 8;
pub const AF_PID_MASK: u32 = 0xff;
/// Every flag an ALLOC head of a user class may carry.
pub const AF_ALL: u32 = 0xffff;
/// The cpupid bits of an ALLOC head's flags.
pub const AF_CPUPID: u32 = (AF_NID_MASK << AF_NID_SHIFT) | (AF_PID_MASK << AF_PID_SHIFT);

/// The cpupid flags of a fault by `pid` on a CPU of node `nid`.
#[inline(always)]
pub const fn af_cpupid(nid: u32, pid: u32) -> u32 {
    ((nid + 1) << AF_NID_SHIFT) | (((pid & AF_PID_MASK) ^ AF_PID_MASK) << AF_PID_SHIFT)
}
/// The last faulting node (None: never faulted, `!cpupid_valid()`).
#[inline(always)]
pub const fn af_nid(flags: u32) -> Option<u32> {
    match (flags >> AF_NID_SHIFT) & AF_NID_MASK {
        0 => None,
        n => Some(n - 1),
    }
}
/// The last faulting pid's low 8 bits (0xff also when unset).
#[inline(always)]
pub const fn af_pid(flags: u32) -> u32 {
    ((flags >> AF_PID_SHIFT) & AF_PID_MASK) ^ AF_PID_MASK
}

/// `KIND_RESERVED` flag: memory taken offline (`memoryN/state`).
pub const RF_OFFLINE: u32 = 1 << 0;

pub const KIND_MASK: u32 = 0xf;
pub const ORDER_SHIFT: u32 = 4;
pub const ORDER_MASK: u32 = 0xf;
pub const MT_SHIFT: u32 = 8;
pub const MT_MASK: u32 = 0x7;
pub const CLASS_SHIFT: u32 = 11;
pub const CLASS_MASK: u32 = 0xf;
pub const FLAGS_SHIFT: u32 = 16;

/// Owner word of a frame nobody owns (free blocks, tails, reserved memory).
pub const OWNER_NONE: u32 = 0;
/// Owner words of allocated heads are `task index + OWNER_TASK_BASE`.
pub const OWNER_TASK_BASE: u32 = 1;

#[inline(always)]
pub const fn kind(state: u32) -> u32 {
    state & KIND_MASK
}
#[inline(always)]
pub const fn order(state: u32) -> u32 {
    (state >> ORDER_SHIFT) & ORDER_MASK
}
#[inline(always)]
pub const fn alloc_mt(state: u32) -> u32 {
    (state >> MT_SHIFT) & MT_MASK
}
#[inline(always)]
pub const fn class(state: u32) -> u32 {
    (state >> CLASS_SHIFT) & CLASS_MASK
}
#[inline(always)]
pub const fn flags(state: u32) -> u32 {
    state >> FLAGS_SHIFT
}

#[inline(always)]
pub const fn make_free(order: u32) -> u32 {
    KIND_FREE | (order << ORDER_SHIFT)
}
#[inline(always)]
pub const fn make_alloc(order: u32, mt: u32, class: u32) -> u32 {
    KIND_ALLOC | (order << ORDER_SHIFT) | (mt << MT_SHIFT) | (class << CLASS_SHIFT)
}
#[inline(always)]
pub const fn make_reserved(order: u32) -> u32 {
    KIND_RESERVED | (order << ORDER_SHIFT)
}
#[inline(always)]
pub const fn make_huge(order: u32, flags: u32) -> u32 {
    KIND_HUGE | (order << ORDER_SHIFT) | (flags << FLAGS_SHIFT)
}
#[inline(always)]
pub const fn make_vmemmap(order: u32, flags: u32) -> u32 {
    KIND_VMEMMAP | (order << ORDER_SHIFT) | (flags << FLAGS_SHIFT)
}
#[inline(always)]
pub const fn with_flags(state: u32, flags: u32) -> u32 {
    (state & ((1 << FLAGS_SHIFT) - 1)) | (flags << FLAGS_SHIFT)
}

/// Migratetypes, numbered as in `enum migratetype` (include/linux/mmzone.h)
/// with CONFIG_CMA and CONFIG_MEMORY_ISOLATION.
pub const MIGRATE_UNMOVABLE: u32 = 0;
pub const MIGRATE_MOVABLE: u32 = 1;
pub const MIGRATE_RECLAIMABLE: u32 = 2;
/// The first three are the ones the allocator hands out and falls back
/// between (`MIGRATE_PCPTYPES`).
pub const MIGRATE_PCPTYPES: u32 = 3;
pub const MIGRATE_HIGHATOMIC: u32 = 3;
pub const MIGRATE_CMA: u32 = 4;
pub const MIGRATE_ISOLATE: u32 = 5;
pub const MIGRATE_TYPES: usize = 6;

/// Names as /proc/pagetypeinfo prints them (`migratetype_names`).
pub const MIGRATETYPE_NAMES: [&str; MIGRATE_TYPES] = [
    "Unmovable",
    "Movable",
    "Reclaimable",
    "HighAtomic",
    "CMA",
    "Isolate",
];

/// `migratetype_is_mergeable()`: only the pcp types merge with a buddy of a
/// different type at order >= pageblock_order.
#[inline(always)]
pub const fn migratetype_is_mergeable(mt: u32) -> bool {
    mt < MIGRATE_PCPTYPES
}

/// A free block of exactly order `k` heads at a frame with this state
/// (`PageBuddy(page) && buddy_order(page) == k`), reported or not.
#[inline(always)]
pub const fn is_free_block(state: u32, k: u32) -> bool {
    (state & !FREE_FLAG_BITS) == make_free(k)
}

/// A free head with `PageReported` set.
#[inline(always)]
pub const fn is_reported(state: u32) -> bool {
    kind(state) == KIND_FREE && flags(state) & FF_REPORTED != 0
}

/// A free head whose memory the host gave back.
#[inline(always)]
pub const fn is_unbacked(state: u32) -> bool {
    kind(state) == KIND_FREE && flags(state) & FF_UNBACKED != 0
}

/// A block of order `k` out for reporting in batch `batch`.
#[inline(always)]
pub const fn make_reporting(order: u32, batch: u32) -> u32 {
    KIND_REPORTING | (order << ORDER_SHIFT) | ((batch & REPORT_BATCH_MASK) << FLAGS_SHIFT)
}

/// `__free_one_page()`'s rule for two free buddies of order >=
/// `pageblock_order` in pageblocks of types `ma` and `mb`: they merge when
/// the types agree or both are mergeable (the buddy's pageblock then takes
/// `ma`, as `change_pageblock_range()` does since 6.9's free-list hygiene).
#[inline(always)]
pub const fn buddies_merge(ma: u32, mb: u32) -> bool {
    ma == mb || (migratetype_is_mergeable(ma) && migratetype_is_mergeable(mb))
}

/// The head of the block holding `pfn`, reading states through `state`:
/// the first aligned frame at or below it, order by order, that heads a
/// block reaching `pfn`. Blocks never cross a chunk, so `pfn` itself when
/// nothing heads it (a corrupt array; the checker names that).
#[inline]
pub fn head_of(state: impl Fn(u32) -> u32, pfn: u32) -> u32 {
    for o in 0..=MAX_PAGE_ORDER {
        let h = pfn & !((1u32 << o) - 1);
        let s = state(h);
        if kind(s) != KIND_TAIL && order(s) >= o {
            return h;
        }
    }
    pfn
}

/// `ZoneState` fields a block's head adds to, as counted by `count` (the
/// free areas by order and migratetype, NR_FREE_PAGES, pages per class,
/// hugetlb and vmemmap frames): up to two (word, amount) pairs over the
/// struct's words, `zsw::NONE` meaning none. `mt` is the
/// head's pageblock type.
#[inline(always)]
pub fn count_words(state: u32, mt: u32) -> [(usize, u32); 2] {
    use crate::engine::types::zsw;
    let none = (zsw::NONE, 0);
    let o = order(state);
    let pages = 1u32 << o;
    match kind(state) {
        KIND_FREE => [
            (o as usize * MIGRATE_TYPES + mt as usize, 1),
            (zsw::NR_FREE, pages),
        ],
        KIND_ALLOC => [(zsw::CLASS_PAGES + class(state) as usize, pages), none],
        KIND_HUGE if flags(state) & HF_INUSE != 0 => {
            [(zsw::HUGE_FRAMES, pages), (zsw::HUGE_INUSE, pages)]
        }
        KIND_HUGE => [(zsw::HUGE_FRAMES, pages), none],
        KIND_VMEMMAP if flags(state) & VMF_RUNTIME != 0 => [(zsw::VMEMMAP_RUNTIME, pages), none],
        KIND_VMEMMAP => [(zsw::VMEMMAP_BOOT, pages), none],
        _ => [none, none],
    }
}

/// What a block's head adds to its zone's reporting counts (`RZ_*` words
/// below `RZ_COUNTED`; `RZ_COUNTED` meaning none), as `count_words` does:
/// a reported free block on a pcp list, a block out for reporting, a free
/// block the host does not back.
#[inline(always)]
pub fn report_words(state: u32, mt: u32) -> [(usize, u32); 2] {
    use crate::engine::types::*;
    let none = (RZ_COUNTED, 0);
    let o = order(state);
    let pages = 1u32 << o;
    match kind(state) {
        KIND_REPORTING => [(RZ_INFLIGHT_BLOCKS, 1), (RZ_INFLIGHT_PAGES, pages)],
        KIND_FREE => [
            if is_reported(state) && (mt as usize) < NR_PCP {
                (RZ_REPORTED + o as usize * NR_PCP + mt as usize, 1)
            } else {
                none
            },
            if is_unbacked(state) {
                (RZ_UNBACKED_PAGES, pages)
            } else {
                none
            },
        ],
        _ => [none, none],
    }
}

/// `fallbacks[]` of mm/page_alloc.c: where each pcp type looks when its own
/// lists are empty, in order.
pub const FALLBACKS: [[u32; 2]; 3] = [
    [MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE],   // Unmovable
    [MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE], // Movable
    [MIGRATE_UNMOVABLE, MIGRATE_MOVABLE],     // Reclaimable
];

/// A decoded state word, for messages and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub kind: u32,
    pub order: u32,
    pub mt: u32,
    pub class: u32,
    pub flags: u32,
}

pub fn decode(state: u32) -> Decoded {
    Decoded {
        kind: kind(state),
        order: order(state),
        mt: alloc_mt(state),
        class: class(state),
        flags: flags(state),
    }
}

pub fn kind_name(kind: u32) -> &'static str {
    match kind {
        KIND_TAIL => "tail",
        KIND_FREE => "free",
        KIND_ALLOC => "alloc",
        KIND_RESERVED => "reserved",
        KIND_HUGE => "hugetlb",
        KIND_VMEMMAP => "vmemmap",
        KIND_REPORTING => "reporting",
        _ => "invalid",
    }
}

impl std::fmt::Display for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            KIND_TAIL => write!(f, "tail"),
            KIND_FREE | KIND_RESERVED | KIND_HUGE | KIND_VMEMMAP | KIND_REPORTING => {
                write!(f, "{} head order {}", kind_name(self.kind), self.order)
            }
            KIND_ALLOC => write!(
                f,
                "alloc head order {} mt {} class {}",
                self.order,
                MIGRATETYPE_NAMES
                    .get(self.mt as usize)
                    .copied()
                    .unwrap_or("?"),
                super::workload::CLASS_NAMES
                    .get(self.class as usize)
                    .copied()
                    .unwrap_or("?")
            ),
            k => write!(f, "invalid kind {k}"),
        }?;
        if self.flags != 0 {
            write!(f, " flags {:#x}", self.flags)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        for o in 0..=MAX_PAGE_ORDER {
            let s = make_alloc(o, MIGRATE_RECLAIMABLE, 7);
            assert_eq!(kind(s), KIND_ALLOC);
            assert_eq!(order(s), o);
            assert_eq!(alloc_mt(s), MIGRATE_RECLAIMABLE);
            assert_eq!(class(s), 7);
            assert_eq!(flags(s), 0);
            let f = make_free(o);
            assert_eq!((kind(f), order(f)), (KIND_FREE, o));
        }
        assert_eq!(kind(0), KIND_TAIL);
    }

    #[test]
    fn only_pcp_types_merge_across_types() {
        assert!(migratetype_is_mergeable(MIGRATE_MOVABLE));
        assert!(!migratetype_is_mergeable(MIGRATE_ISOLATE));
        assert!(!migratetype_is_mergeable(MIGRATE_HIGHATOMIC));
    }
}
