// NUMA balancing's rules: the twin of src/model/numa.rs, function by
// function (32-bit integers; 64-bit products as (lo, hi) pairs).

// A state word with its flags replaced.
fn with_flags(s: u32, flags: u32) -> u32 {
    return (s & ((1u << FLAGS_SHIFT) - 1u)) | (flags << FLAGS_SHIFT);
}

// a * b as (lo, hi).
fn u64_mul(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & FP16_MASK;
    let a1 = a >> 16u;
    let b0 = b & FP16_MASK;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 16u) + (p01 & FP16_MASK) + (p10 & FP16_MASK);
    return vec2<u32>((p00 & FP16_MASK) | (mid << 16u), p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}

fn u64_add(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn u64_shl(a: vec2<u32>, k: u32) -> vec2<u32> {
    return vec2<u32>(a.x << k, (a.y << k) | (a.x >> (32u - k)));
}

fn u64_gt(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.y > b.y || (a.y == b.y && a.x > b.x);
}

// floor(a * b / c), saturated to 32 bits (c == 0: saturated).
fn mul_div(a: u32, b: u32, c: u32) -> u32 {
    if (c == 0u) {
        return U32_MAX;
    }
    let n = u64_mul(a, b);
    if (n.y >= c) {
        return U32_MAX;
    }
    var rem = n.y;
    var q = 0u;
    for (var i = 31i; i >= 0i; i--) {
        let top = rem >> 31u;
        rem = (rem << 1u) | ((n.x >> u32(i)) & 1u);
        if (top == 1u || rem >= c) {
            rem = rem - c;
            q = q | (1u << u32(i));
        }
    }
    return q;
}

fn mul_sat(a: u32, b: u32) -> u32 {
    let p = u64_mul(a, b);
    return select(p.x, U32_MAX, p.y != 0u);
}

fn add_sat(a: u32, b: u32) -> u32 {
    let s = a + b;
    return select(s, U32_MAX, s < a);
}

fn div_ceil_u32(x: u32, d: u32) -> u32 {
    return x / d + select(0u, 1u, x % d != 0u);
}

fn jiffies_at(tick: u32, tick_ns: u32) -> u32 {
    return mul_div(tick, tick_ns, NS_PER_JIFFY);
}

fn msecs_to_jiffies(ms: u32) -> u32 {
    return ms / MS_PER_JIFFY + select(0u, 1u, ms % MS_PER_JIFFY != 0u);
}

struct Tunables {
    scan_delay_ms: u32,
    scan_period_min_ms: u32,
    scan_period_max_ms: u32,
    scan_size_mb: u32,
}

fn scan_pages(s: Tunables) -> u32 {
    return min(s.scan_size_mb, U32_MAX >> 8u) << (20u - PAGE_SHIFT);
}

// A numa group (valid == 0: none).
struct GroupFaults {
    valid: u32,
    refcount: u32,
    private_: u32,
    shared_: u32,
}

fn group_scale(g: GroupFaults, period: u32) -> u32 {
    return mul_div(mul_sat(period, g.refcount), add_sat(g.shared_, 1u), add_sat(add_sat(g.private_, g.shared_), 1u));
}

fn task_nr_scan_windows(s: Tunables, rss_pages: u32) -> u32 {
    let win = scan_pages(s);
    if (win == 0u) {
        return 1u;
    }
    var rss = rss_pages;
    if (rss == 0u) {
        rss = win;
    }
    return div_ceil_u32(rss, win);
}

fn task_scan_min(s: Tunables, rss_pages: u32) -> u32 {
    var windows = 1u;
    if (s.scan_size_mb > 0u && s.scan_size_mb < MAX_SCAN_WINDOW) {
        windows = MAX_SCAN_WINDOW / s.scan_size_mb;
    }
    let floor_ms = MSEC_PER_SEC / windows;
    let scan = s.scan_period_min_ms / task_nr_scan_windows(s, rss_pages);
    return min(max(floor_ms, scan), NUMA_PERIOD_CAP_MS);
}

fn task_scan_start(s: Tunables, rss_pages: u32, g: GroupFaults) -> u32 {
    let smin = task_scan_min(s, rss_pages);
    var period = smin;
    if (g.valid != 0u) {
        period = group_scale(g, smin);
    }
    return min(max(smin, period), NUMA_PERIOD_CAP_MS);
}

fn task_scan_max(s: Tunables, rss_pages: u32, g: GroupFaults) -> u32 {
    let smin = task_scan_min(s, rss_pages);
    var smax = s.scan_period_max_ms / task_nr_scan_windows(s, rss_pages);
    if (g.valid != 0u) {
        smax = max(smax, group_scale(g, smax));
    }
    return min(max(smin, smax), NUMA_PERIOD_CAP_MS);
}

struct TaskScan {
    period_ms: u32,
    period_max_ms: u32,
    node_stamp_ms: u32,
    next_scan: u32,
    seq: u32,
    offset: u32,
    span: u32,
    loc_remote: u32,
    loc_local: u32,
    loc_failed: u32,
    work_queued: u32,
}

fn task_scan_fork(now_jiffies: u32, s: Tunables) -> TaskScan {
    return TaskScan(s.scan_delay_ms, 0u, 0u, add_sat(now_jiffies, msecs_to_jiffies(s.scan_delay_ms)), 0u, 0u, 0u, 0u, 0u, 0u, 0u);
}

// task_tick_numa(): whether the work was queued.
fn sched_tick(ts: ptr<function, TaskScan>, now_jiffies: u32, exec_ms: u32, s: Tunables, rss_pages: u32, g: GroupFaults) -> bool {
    if ((*ts).work_queued != 0u) {
        return false;
    }
    let period = (*ts).period_ms;
    if (exec_ms > add_sat((*ts).node_stamp_ms, period)) {
        if ((*ts).node_stamp_ms == 0u) {
            (*ts).period_ms = task_scan_start(s, rss_pages, g);
        }
        (*ts).node_stamp_ms = add_sat((*ts).node_stamp_ms, period);
        if (now_jiffies >= (*ts).next_scan) {
            (*ts).work_queued = 1u;
            return true;
        }
    }
    return false;
}

// task_numa_work(): the window (lo, hi, bit 0 made | bit 1 wrapped).
fn numa_work(ts: ptr<function, TaskScan>, now_jiffies: u32, s: Tunables, rss_pages: u32, g: GroupFaults) -> vec3<u32> {
    (*ts).work_queued = 0u;
    if ((*ts).period_ms == 0u) {
        (*ts).period_max_ms = task_scan_max(s, rss_pages, g);
        (*ts).period_ms = task_scan_start(s, rss_pages, g);
    }
    if (now_jiffies < (*ts).next_scan) {
        return vec3<u32>(0u);
    }
    (*ts).next_scan = add_sat(now_jiffies, msecs_to_jiffies((*ts).period_ms));
    (*ts).node_stamp_ms = add_sat((*ts).node_stamp_ms, 2u * MS_PER_JIFFY);
    let pages = scan_pages(s);
    if (pages == 0u) {
        return vec3<u32>(0u);
    }
    if ((*ts).offset == 0u) {
        (*ts).span = max(rss_pages, 1u);
    }
    let lo = (*ts).offset;
    let hi = min(add_sat(lo, pages), (*ts).span);
    let wrapped = hi >= (*ts).span;
    if (wrapped) {
        (*ts).seq = (*ts).seq + 1u;
        (*ts).offset = 0u;
    } else {
        (*ts).offset = hi;
    }
    return vec3<u32>(lo, hi, 1u | select(0u, 2u, wrapped));
}

fn update_task_scan_period(ts: ptr<function, TaskScan>, now_jiffies: u32, s: Tunables, rss_pages: u32, g: GroupFaults, shared_: u32, private_: u32) {
    let remote = (*ts).loc_remote;
    let local = (*ts).loc_local;
    if (add_sat(local, shared_) == 0u || (*ts).loc_failed != 0u) {
        (*ts).period_ms = min((*ts).period_max_ms, mul_sat((*ts).period_ms, 2u));
        (*ts).next_scan = add_sat(now_jiffies, msecs_to_jiffies((*ts).period_ms));
        return;
    }
    let slot = i32(div_ceil_u32((*ts).period_ms, NUMA_PERIOD_SLOTS));
    let lr = i32(mul_div(local, NUMA_PERIOD_SLOTS, max(add_sat(local, remote), 1u)));
    let ps = i32(mul_div(private_, NUMA_PERIOD_SLOTS, max(add_sat(private_, shared_), 1u)));
    let t = i32(NUMA_PERIOD_THRESHOLD);
    var diff: i32;
    if (ps >= t) {
        diff = max(ps - t, 1i) * slot;
    } else if (lr >= t) {
        diff = max(lr - t, 1i) * slot;
    } else {
        diff = -(t - max(lr, ps)) * slot;
    }
    let lo = i32(task_scan_min(s, rss_pages));
    let hi = i32(task_scan_max(s, rss_pages, g));
    (*ts).period_ms = u32(clamp(i32((*ts).period_ms) + diff, lo, hi));
    (*ts).loc_remote = 0u;
    (*ts).loc_local = 0u;
    (*ts).loc_failed = 0u;
}

// Filter verdicts (model::numa::Filter).
const FILTER_EARLY_LIFE: u32 = 1u;
const FILTER_LAST_NODE_DIFFERS: u32 = 2u;
const FILTER_NO_HISTORY: u32 = 3u;
const FILTER_PRIVATE: u32 = 4u;
const FILTER_NO_GROUP: u32 = 5u;
const FILTER_GROUP_CPU: u32 = 6u;
const FILTER_BALANCE_YES: u32 = 7u;
const FILTER_BALANCE_NO: u32 = 8u;

fn filter_migrates(f: u32) -> bool {
    return f == FILTER_EARLY_LIFE || f == FILTER_PRIVATE || f == FILTER_NO_GROUP || f == FILTER_GROUP_CPU || f == FILTER_BALANCE_YES;
}

fn af_cpupid(nid: u32, pid: u32) -> u32 {
    return ((nid + 1u) << AF_NID_SHIFT) | (((pid & AF_PID_MASK) ^ AF_PID_MASK) << AF_PID_SHIFT);
}

// The last faulting node plus one (0: unset).
fn af_nid1(flags: u32) -> u32 {
    return (flags >> AF_NID_SHIFT) & AF_NID_MASK;
}

fn af_pid(flags: u32) -> u32 {
    return ((flags >> AF_PID_SHIFT) & AF_PID_MASK) ^ AF_PID_MASK;
}

// The group's faults the filter compares (valid == 0: no group).
struct GroupCmp {
    valid: u32,
    cpu_dst: u32,
    cpu_src: u32,
    mem_src: u32,
    mem_dst: u32,
}

// should_numa_migrate_memory(): swaps the fault's cpupid into `flags`.
fn should_numa_migrate_memory(pid: u32, nid: u32, preferred1: u32, scan_seq: u32, g: GroupCmp, flags: ptr<function, u32>, src_toptier: bool) -> u32 {
    let old = *flags;
    *flags = (old & ~AF_CPUPID) | af_cpupid(nid, pid);
    let old_nid1 = af_nid1(old);
    let old_pid = af_pid(old);
    let pid_unset = old_pid == AF_PID_MASK;
    let matches = old_pid == (pid & AF_PID_MASK);
    if (!src_toptier && old_nid1 == 0u) {
        return FILTER_NO_HISTORY;
    }
    if ((preferred1 == 0u || scan_seq <= 4u) && (pid_unset || matches)) {
        return FILTER_EARLY_LIFE;
    }
    if (!pid_unset && old_nid1 != nid + 1u) {
        return FILTER_LAST_NODE_DIFFERS;
    }
    if (matches) {
        return FILTER_PRIVATE;
    }
    if (g.valid == 0u) {
        return FILTER_NO_GROUP;
    }
    if (g.cpu_dst > g.cpu_src * ACTIVE_NODE_FRACTION) {
        return FILTER_GROUP_CPU;
    }
    let a = u64_mul(g.cpu_dst, g.mem_src);
    let b = u64_mul(g.cpu_src, g.mem_dst);
    if (u64_gt(u64_add(a, u64_shl(a, 1u)), u64_shl(b, 2u))) {
        return FILTER_BALANCE_YES;
    }
    return FILTER_BALANCE_NO;
}

fn fault_is_private(flags_before: u32, pid: u32) -> bool {
    return af_nid1(flags_before) == 0u || af_pid(flags_before) == (pid & AF_PID_MASK);
}

// mpol_misplaced() before the filter: 0 stay, else the node + 1.
fn mpol_verdict(mode: u32, nodemask: u32, mof: bool, curnid: u32, thisnid: u32) -> u32 {
    if (mode == MPOL_LOCAL) {
        if (curnid == thisnid) {
            return 0u;
        }
        return thisnid + 1u;
    }
    if (mode == MPOL_BIND && mof && (nodemask & (1u << thisnid)) != 0u) {
        return thisnid + 1u;
    }
    return 0u;
}

// A node without a managed zone has no room.
const ROOM_NONE: i32 = -i32(U32_MAX >> 1u) - 1i;

// One zone's room: (free - highatomic) - (high + reserve), the parts
// saturated at 32 bits and the result at i32.
fn room_of(free: u32, highatomic: u32, high: u32, reserve: u32) -> i32 {
    let neg = add_sat(add_sat(highatomic, high), reserve);
    if (free >= neg) {
        return i32(min(free - neg, U32_MAX >> 1u));
    }
    return -i32(min(neg - free, U32_MAX >> 1u));
}

// migrate_balanced_pgdat() against a node's room.
fn migrate_balanced_pgdat(room: i32, nr_pages: u32) -> bool {
    return room > 0i && u32(room) > nr_pages;
}

fn flushes_per_migration(restore: u32, thp: bool) -> u32 {
    if ((restore == NUMA_RESTORE_LAZY && !thp) || (restore == NUMA_RESTORE_LEGACY_THP && thp)) {
        return 0u;
    }
    if (restore <= NUMA_RESTORE_LEGACY_THP) {
        return 1u;
    }
    return 0u;
}

// flush_tlb_mm_range(): (remote flushes, received, local all, local one).
fn tlb_flush(entries: u32, other_cpus: u32) -> vec4<u32> {
    var all = 0u;
    var one = entries;
    if (entries > TLB_SINGLE_PAGE_FLUSH_CEILING) {
        all = 1u;
        one = 0u;
    }
    return vec4<u32>(select(0u, 1u, other_cpus > 0u), other_cpus, all, one);
}
