//! Free page reporting (mm/page_reporting.c): the device's states, the
//! walk's capacity and budget, the watermark conditions, the tail
//! placement and flag clearing, blocks out for reporting in contiguous
//! allocation, and parity of the reporting phases on the GPU backend.

use numasim::engine::gpu::GpuBackend;
use numasim::engine::parity::compare;
use numasim::engine::types::*;
use numasim::kernel::boot::boot_buffers;
use numasim::kernel::Machine;
use numasim::model::frame::*;
use numasim::model::scenario::Scenario;
use numasim::procfs::{read, write, Errno};

mod common;
use common::gpu;

/// One node of 512 MiB; a task that allocates and frees THPs.
const GUEST: &str = r#"
name = "guest"
[[nodes]]
memory_mib = 512
cpus = 1
[[workloads]]
name = "churn"
classes = [ { class = "thp", rate_per_s = 20000, lifetime_ms = 30 } ]
[[workloads]]
name = "idle"
classes = []
[[tasks]]
name = "a"
cpu = 0
workload = "churn"
stop_ms = 400
"#;

const DEV: &str = "/sys/kernel/debug/numasim/page_reporting";
const ORDER: &str = "/sys/module/page_reporting/parameters/page_reporting_order";

fn boot(src: &str) -> Machine {
    Machine::boot(Scenario::parse(src, "test.toml").unwrap(), Some(7)).unwrap()
}

fn frames(m: &mut Machine) -> Vec<u32> {
    m.buffers().unwrap().frames.clone()
}

fn count(f: &[u32], pred: impl Fn(u32) -> bool) -> u64 {
    let mut n = 0;
    let mut i = 0usize;
    while i < f.len() {
        let s = f[i];
        if kind(s) != KIND_TAIL && pred(s) {
            n += 1u64 << order(s);
        }
        i += 1 << order(s);
    }
    n
}

fn rs(m: &mut Machine) -> Vec<u32> {
    m.report_state().unwrap()
}

#[test]
fn the_order_parameter_reads_minus_one_until_a_device_registers_and_checks_its_range() {
    let mut m = boot(GUEST);
    assert_eq!(read(&mut m, ORDER).unwrap(), "-1\n");
    // param_set_uint_minmax(0, MAX_ORDER): EINVAL outside.
    assert_eq!(write(&mut m, ORDER, "11").unwrap_err().errno, Errno::EINVAL);
    assert_eq!(
        write(&mut m, ORDER, "abc").unwrap_err().errno,
        Errno::EINVAL
    );
    assert_eq!(read(&mut m, ORDER).unwrap(), "-1\n");
    write(&mut m, DEV, "1").unwrap();
    // page_reporting_register(): pageblock_order when unset.
    assert_eq!(read(&mut m, ORDER).unwrap(), "9\n");
    assert!(m.klog.dmesg().contains("Free page reporting enabled"));
    // A second device: EBUSY.
    assert_eq!(write(&mut m, DEV, "1").unwrap_err().errno, Errno::EBUSY);
    write(&mut m, ORDER, "10").unwrap();
    assert_eq!(read(&mut m, ORDER).unwrap(), "10\n");
}

#[test]
fn the_first_pass_waits_for_the_delay_then_reports_in_batches_of_capacity() {
    let mut m = boot(GUEST);
    write(&mut m, DEV, "1").unwrap();
    let delay = (2_000_000_000 / m.tick_ns()) as u32;
    m.advance(1).unwrap();
    let r = rs(&mut m);
    // The registration's request queued the work PAGE_REPORTING_DELAY out.
    assert_eq!(r[RS_STATE], PAGE_REPORTING_REQUESTED);
    assert_eq!(r[RS_QUEUED], 1);
    assert_eq!(r[RS_WAKE_TICK], delay);
    m.advance(delay as u64 - 1).unwrap();
    let f = frames(&mut m);
    assert_eq!(
        count(&f, |s| kind(s) == KIND_REPORTING),
        0,
        "nothing before the delay"
    );
    m.advance(1).unwrap();
    let r = rs(&mut m);
    assert_eq!(r[RS_PASS], 1);
    assert_eq!(r[RS_STATE], PAGE_REPORTING_ACTIVE);
    assert_eq!(r[RS_INFLIGHT], 1);
    let f = frames(&mut m);
    // A full scatterlist: PAGE_REPORTING_CAPACITY blocks of order 9 or 10.
    let mut blocks = 0;
    let mut i = 0usize;
    while i < f.len() {
        if kind(f[i]) == KIND_REPORTING {
            assert!(order(f[i]) >= PAGEBLOCK_ORDER);
            blocks += 1;
        }
        i += 1 << order(f[i]);
    }
    assert_eq!(blocks, PAGE_REPORTING_CAPACITY);
    m.check().unwrap();
}

#[test]
fn reported_blocks_return_flagged_at_the_tail_and_the_pass_ends_idle() {
    let mut m = boot(GUEST);
    write(&mut m, DEV, "1").unwrap();
    m.advance(6000).unwrap();
    m.check().unwrap();
    let r = rs(&mut m);
    assert!(r[RS_PASSES] >= 1, "passes {}", r[RS_PASSES]);
    assert!(r[RS_REPORTS] >= 2);
    let f = frames(&mut m);
    let reported = count(&f, is_reported);
    assert!(reported > 0, "no reported blocks");
    // Every reported block is unbacked; the zone's row counts them.
    assert_eq!(count(&f, |s| is_reported(s) && !is_unbacked(s)), 0);
    let z0 = RS_DEV_WORDS;
    let mut counted = 0u64;
    for o in 0..NR_PAGE_ORDERS {
        for mt in 0..NR_PCP {
            counted += (r[z0 + RZ_REPORTED + o * NR_PCP + mt] as u64) << o;
        }
    }
    let nz = m.config().zones.len();
    let mut all = 0u64;
    for z in 0..nz {
        for o in 0..NR_PAGE_ORDERS {
            for mt in 0..NR_PCP {
                all += (r[RS_DEV_WORDS + z * RZ_WORDS + RZ_REPORTED + o * NR_PCP + mt] as u64) << o;
            }
        }
    }
    assert!(counted <= all);
    assert_eq!(all, reported);
    let text = read(&mut m, DEV).unwrap();
    assert!(text.contains("device: registered"), "{text}");
}

#[test]
fn allocation_takes_unreported_blocks_first_and_refaults_reported_ones() {
    let mut m = boot(GUEST);
    write(&mut m, DEV, "1").unwrap();
    m.advance(6000).unwrap();
    let before = count(&frames(&mut m), is_reported);
    assert!(before > 0);
    // A burst of THP allocations after the churn stopped: unreported
    // blocks go first; only when they run out are reported ones taken
    // (and refault on the host).
    numasim::procfs::shell::exec_line(&mut m, "spawn b cpu=0 workload=churn").unwrap();
    m.advance(50).unwrap();
    m.check().unwrap();
    let r = rs(&mut m);
    let f = frames(&mut m);
    let unreported_free_9 = count(&f, |s| is_free_block(s, 9) && !is_reported(s))
        + count(&f, |s| is_free_block(s, 10) && !is_reported(s));
    let refaults = r[RS_DEV_WORDS + RZ_REFAULT_PAGES] as u64;
    if refaults > 0 {
        // Reported blocks were taken only with no unreported block left
        // at the orders the allocations split from.
        assert!(
            unreported_free_9 < 2048,
            "refaulted with {unreported_free_9} unreported pages at order 9+"
        );
    }
    let _ = before;
}

#[test]
fn contiguous_allocation_fails_over_a_block_out_for_reporting_and_succeeds_after() {
    let mut m = boot(GUEST);
    write(&mut m, DEV, "1").unwrap();
    let delay = 2_000_000_000 / m.tick_ns();
    m.advance(delay + 1).unwrap();
    let f = frames(&mut m);
    let pfn = (0..f.len())
        .find(|&i| kind(f[i]) == KIND_REPORTING)
        .expect("a block out");
    let o = order(f[pfn]);
    let start = pfn as u32 & !((1u32 << MAX_PAGE_ORDER) - 1);
    let got = m.run_path("test_contig", |mm, _| {
        Ok(mm.alloc_contig_range(start, 1 << MAX_PAGE_ORDER))
    });
    assert_eq!(
        got.unwrap(),
        None,
        "the range holds a block out for reporting (order {o})"
    );
    // After the report returns, the same range can be taken.
    let done = rs(&mut m)[RS_DONE_TICK] as u64;
    let now = m.tick;
    m.advance(done.saturating_sub(now) + 1).unwrap();
    let f = frames(&mut m);
    assert_ne!(kind(f[pfn]), KIND_REPORTING);
    m.check().unwrap();
}

#[test]
fn reporting_phases_agree_byte_for_byte_on_the_gpu() {
    let Some(ctx) = gpu() else { return };
    let s = Scenario::parse(GUEST, "test.toml").unwrap();
    let mut cpu = Machine::boot(s.clone(), Some(7)).unwrap();
    let g = GpuBackend::new(ctx, boot_buffers(&s, 7)).unwrap();
    let mut gpu = Machine::with_backend(s.clone(), 7, Box::new(g)).unwrap();
    for m in [&mut cpu, &mut gpu] {
        write(m, DEV, "1").unwrap();
    }
    for (step, n) in [2001u64, 5, 40, 400, 2000].into_iter().enumerate() {
        cpu.advance(n).unwrap();
        gpu.advance(n).unwrap();
        let (x, y) = (cpu.buffers().unwrap().clone(), gpu.buffers().unwrap());
        if let Some(d) = compare(&x, y) {
            panic!("step {step}: {:?}", d);
        }
    }
    assert!(cpu.buffers().unwrap().report_state[RS_REPORTS] > 0);
    assert_eq!(
        cpu.buffers().unwrap().digest(),
        gpu.buffers().unwrap().digest()
    );
}
