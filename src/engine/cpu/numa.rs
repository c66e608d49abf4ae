//! What the NUMA balancing twins share (the shaders repeat these few
//! lines each, as WGSL cannot pass pointers to storage arrays): 64-bit
//! counters added with carries, the scan state as words, and
//! `task_numa_fault()`'s statistics.

use crate::engine::types::*;
use crate::model::numa::{TaskScan, Tunables};
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// A `[u32]` a phase updates from many chunks at once, as the shader's
/// atomics do.
pub fn atomics(words: &mut [u32]) -> &[AtomicU32] {
    // SAFETY: AtomicU32 has the layout of u32, and the slice is borrowed
    // uniquely for as long as the returned one lives.
    unsafe { &*(words as *mut [u32] as *const [AtomicU32]) }
}

/// Adds `x` to the 64-bit counter at words (i, i + 1): the low word
/// atomically, a carry into the high word when it wrapped (the sum does
/// not depend on the order of the adds).
pub fn add64(words: &[AtomicU32], i: usize, x: u32) {
    if x == 0 {
        return;
    }
    let old = words[i].fetch_add(x, Relaxed);
    if old.wrapping_add(x) < old {
        words[i + 1].fetch_add(1, Relaxed);
    }
}

/// Adds to event `e` (`NE_*`) of `numa_state`.
pub fn event(state: &[AtomicU32], e: usize, x: u32) {
    add64(state, NE_BASE + 2 * e, x);
}

/// Adds a TLB flush (`model::numa::tlb_flush`) to the events.
pub fn tlb_event(state: &[AtomicU32], f: [u32; 4]) {
    event(state, NE_TLB_REMOTE_FLUSH, f[0]);
    event(state, NE_TLB_REMOTE_FLUSH_RECEIVED, f[1]);
    event(state, NE_TLB_LOCAL_FLUSH_ALL, f[2]);
    event(state, NE_TLB_LOCAL_FLUSH_ONE, f[3]);
}

/// The tunables as `numa_cfg` holds them.
pub fn tunables(cfg: &[u32]) -> Tunables {
    Tunables {
        scan_delay_ms: cfg[NC_SCAN_DELAY_MS],
        scan_period_min_ms: cfg[NC_SCAN_PERIOD_MIN_MS],
        scan_period_max_ms: cfg[NC_SCAN_PERIOD_MAX_MS],
        scan_size_mb: cfg[NC_SCAN_SIZE_MB],
    }
}

/// Words per task in `numa_tasks`.
pub fn stride(params: &TickParams) -> usize {
    numa_task_words(params.nr_nodes as usize)
}

/// The task's scan state from its words.
pub fn load_scan(w: &[u32]) -> TaskScan {
    TaskScan {
        period_ms: w[NT_PERIOD_MS],
        period_max_ms: w[NT_PERIOD_MAX_MS],
        node_stamp_ms: w[NT_NODE_STAMP_MS],
        next_scan: w[NT_NEXT_SCAN],
        seq: w[NT_SEQ],
        offset: w[NT_OFFSET],
        span: w[NT_SPAN],
        locality: [w[NT_LOCALITY], w[NT_LOCALITY + 1], w[NT_LOCALITY + 2]],
        work_queued: w[NT_WORK_QUEUED] != 0,
    }
}

pub fn store_scan(w: &mut [u32], ts: &TaskScan) {
    w[NT_PERIOD_MS] = ts.period_ms;
    w[NT_PERIOD_MAX_MS] = ts.period_max_ms;
    w[NT_NODE_STAMP_MS] = ts.node_stamp_ms;
    w[NT_NEXT_SCAN] = ts.next_scan;
    w[NT_SEQ] = ts.seq;
    w[NT_OFFSET] = ts.offset;
    w[NT_SPAN] = ts.span;
    w[NT_LOCALITY..NT_LOCALITY + 3].copy_from_slice(&ts.locality);
    w[NT_WORK_QUEUED] = ts.work_queued as u32;
}

/// One fault's statistics, as `task_numa_fault()` keeps them.
pub struct FaultStat {
    pub mem_node: u32,
    pub cpu_node: u32,
    pub pages: u32,
    pub private: bool,
    pub local: bool,
    pub failed: bool,
    pub migrated: bool,
}

/// `task_numa_fault()`'s updates of the task's words `base..` (atomic:
/// many faults of one task land in one phase).
pub fn task_numa_fault(nt: &[AtomicU32], base: usize, f: &FaultStat) {
    if f.migrated {
        add64(nt, base + NT_MIGRATED, f.pages);
    }
    if f.failed {
        nt[base + NT_LOCALITY + 2].fetch_add(f.pages, Relaxed);
    }
    let mem = base + NT_HDR + f.mem_node as usize * NTN_WORDS;
    nt[mem + NTN_MEMBUF + f.private as usize].fetch_add(f.pages, Relaxed);
    let cpu = base + NT_HDR + f.cpu_node as usize * NTN_WORDS;
    nt[cpu + NTN_CPUBUF].fetch_add(f.pages, Relaxed);
    nt[base + NT_LOCALITY + f.local as usize].fetch_add(f.pages, Relaxed);
}
