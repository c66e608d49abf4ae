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
    // Reported blocks go back to the tail of their list
    // (page_reporting_drain(): __putback_isolated_page() to the tail), so
    // allocation takes unreported ones first; a reported block taken
    // refaults on the host.
    let mut m = boot(
        &GUEST
            .replace("workload = \"churn\"", "workload = \"idle\"")
            .replace(
                "name = \"idle\"\nclasses = []",
                "name = \"idle\"\nclasses = []\n[[workloads]]\nname = \"fill\"\nclasses = [ { class = \"thp\", rate_per_s = 1000, lifetime_ms = 0 } ]",
            ),
    );
    first_pass(&mut m);
    let r = rs(&mut m);
    let reported = r[RS_DEV_WORDS + RZ_REPORTED_BLOCKS];
    assert_eq!(reported, 64, "one pass: two scatterlists");
    let unreported_pages =
        m.buffers().unwrap().zone_state[0].nr_free as u64 - count(&frames(&mut m), is_reported);
    numasim::procfs::shell::exec_line(&mut m, "spawn b cpu=0 workload=fill").unwrap();
    // 50 THPs (100 MiB): less than the unreported free memory.
    m.advance(50).unwrap();
    let r = rs(&mut m);
    assert!(unreported_pages > 100 << 8, "{unreported_pages}");
    assert_eq!(
        r[RS_DEV_WORDS + RZ_REFAULT_PAGES],
        0,
        "no reported block taken"
    );
    assert_eq!(count(&frames(&mut m), is_reported), 64 << 10);
    // 250 more (500 MiB): the unreported memory runs out first, then the
    // reported blocks refault.
    m.advance(250).unwrap();
    let r = rs(&mut m);
    assert!(r[RS_DEV_WORDS + RZ_REFAULT_PAGES] > 0);
    assert!(r[RS_DEV_WORDS + RZ_REFAULT_ALLOCS] > 0);
    m.check().unwrap();
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
    // Unregistered with a pass under way: the drain, then nothing.
    for m in [&mut cpu, &mut gpu] {
        write(m, DEV, "0").unwrap();
        m.advance(30).unwrap();
    }
    if let Some(d) = compare(cpu.buffers().unwrap(), gpu.buffers().unwrap()) {
        panic!("after unregistering: {d:?}");
    }
    assert_eq!(
        cpu.buffers().unwrap().digest(),
        gpu.buffers().unwrap().digest()
    );
}

/// The first aligned order-10 range holding a block out for reporting.
fn busy_range(m: &mut Machine) -> Option<(u32, usize)> {
    let f = frames(m);
    let pfn = (0..f.len()).find(|&i| kind(f[i]) == KIND_REPORTING)?;
    Some((pfn as u32 & !((1u32 << MAX_PAGE_ORDER) - 1), pfn))
}

fn zone_word(m: &mut Machine, w: usize) -> u32 {
    rs(m)[RS_DEV_WORDS + w]
}

#[test]
fn test_pages_isolated_fails_with_ebusy_after_the_range_was_migrated_and_the_counters_say_so() {
    // alloc_contig_range(): a block out for reporting passes the isolation
    // and the migration and fails test_pages_isolated(); the failure is
    // counted per zone, with what was migrated out for nothing.
    let mut m = boot(GUEST);
    write(&mut m, DEV, "1").unwrap();
    m.advance(2_000_000_000 / m.tick_ns() + 1).unwrap();
    let (start, pfn) = busy_range(&mut m).expect("a block out");
    let got = m
        .run_path("test_contig", |mm, _| {
            Ok(mm.alloc_contig_range(start, 1 << MAX_PAGE_ORDER))
        })
        .unwrap();
    assert_eq!(got, None);
    m.advance(1).unwrap();
    assert_eq!(zone_word(&mut m, RZ_CONTIG_BUSY), 1);
    let f = frames(&mut m);
    // Nothing movable is left in the range if the report is still out:
    // the migration ran before the check failed.
    if kind(f[pfn]) == KIND_REPORTING {
        let mut p = start as usize;
        while p < (start + (1 << MAX_PAGE_ORDER)) as usize {
            assert_ne!(kind(f[p]), KIND_ALLOC, "pfn {p:#x} was not migrated");
            p += 1 << order(f[p]);
        }
    }
    let text = read(&mut m, DEV).unwrap();
    let row = text.lines().find(|l| l.starts_with("0 ")).unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    let header: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("node"))
        .unwrap()
        .split_whitespace()
        .collect();
    let i = header.iter().position(|h| *h == "contig_busy").unwrap();
    assert_eq!(cols[i], "1", "{text}");
    m.check().unwrap();
}

#[test]
fn the_drain_variant_waits_for_the_report_and_the_same_range_succeeds() {
    let mut m = boot(GUEST);
    write(&mut m, DEV, "1").unwrap();
    let var = "/sys/kernel/debug/numasim/variants/page_reporting_drain_before_contig";
    assert_eq!(read(&mut m, var).unwrap(), "0\n");
    assert_eq!(
        write(&mut m, var, "maybe").unwrap_err().errno,
        Errno::EINVAL
    );
    write(&mut m, var, "1").unwrap();
    assert_eq!(read(&mut m, var).unwrap(), "1\n");
    m.advance(2_000_000_000 / m.tick_ns() + 1).unwrap();
    let (start, _) = busy_range(&mut m).expect("a block out");
    let done = rs(&mut m)[RS_DONE_TICK];
    let now = m.tick as u32;
    assert!(done > now, "the report is still with the host");
    let batch = rs(&mut m)[RS_INFLIGHT_ID];
    let got = m
        .run_path("test_contig", |mm, _| {
            Ok(mm.alloc_contig_range(start, 1 << MAX_PAGE_ORDER))
        })
        .unwrap();
    assert_eq!(got, Some(start), "the range was taken after the wait");
    let last = m.paths.last().unwrap().describe();
    assert!(last.contains("flush_delayed_work"), "{last}");
    m.advance(1).unwrap();
    let r = rs(&mut m);
    assert_eq!(r[RS_DRAIN_WAITS], 1);
    assert_eq!(r[RS_DRAIN_WAIT_TICKS], done - now);
    assert!(r[RS_DEV_WORDS + RZ_DRAINED_PAGES] >= 512);
    assert_eq!(r[RS_DEV_WORDS + RZ_CONTIG_BUSY], 0);
    // The rest of the batch drained at the next tick (the next batch may
    // be out already).
    assert!(r[RS_INFLIGHT] == 0 || r[RS_INFLIGHT_ID] != batch);
    let f = frames(&mut m);
    assert_eq!(
        count(&f, |s| kind(s) == KIND_REPORTING && flags(s) == batch),
        0
    );
}

#[test]
fn unregistering_lets_the_report_in_flight_drain_and_starts_no_pass() {
    let mut m = boot(GUEST);
    write(&mut m, DEV, "1").unwrap();
    m.advance(2_000_000_000 / m.tick_ns() + 1).unwrap();
    assert!(busy_range(&mut m).is_some());
    write(&mut m, DEV, "0").unwrap();
    m.advance(5000).unwrap();
    let r = rs(&mut m);
    assert_eq!(r[RS_INFLIGHT], 0);
    assert_eq!(r[RS_STATE], PAGE_REPORTING_IDLE);
    assert_eq!(r[RS_QUEUED], 0);
    assert_eq!(r[RS_REPORTS], 1, "no report after the device left");
    assert_eq!(count(&frames(&mut m), |s| kind(s) == KIND_REPORTING), 0);
    m.check().unwrap();
}

#[test]
fn the_variants_change_capacity_and_the_isolated_walk() {
    let mut m = boot(GUEST);
    for (n, _, _) in numasim::kernel::reporting::VARIANTS {
        let f = format!("/sys/kernel/debug/numasim/variants/{n}");
        assert_eq!(read(&mut m, &f).unwrap(), "0\n", "{f}");
    }
    write(
        &mut m,
        "/sys/kernel/debug/numasim/variants/page_reporting_v5",
        "y",
    )
    .unwrap();
    write(&mut m, DEV, "1").unwrap();
    m.advance(2_000_000_000 / m.tick_ns() + 1).unwrap();
    let f = frames(&mut m);
    let mut blocks = 0;
    let mut i = 0usize;
    while i < f.len() {
        blocks += (kind(f[i]) == KIND_REPORTING) as u32;
        i += 1 << order(f[i]);
    }
    assert_eq!(blocks, 16, "the v5 series' capacity");
}

#[test]
fn skipping_isolated_pageblocks_leaves_a_block_half_isolated_alone() {
    // An order-10 block spans two pageblocks; its list is its head's. With
    // the second pageblock isolated, the default walk takes it anyway; the
    // variant leaves it and counts the skip.
    let run = |skip: bool| {
        // No churn: the lowest free order-10 block stays whole and heads
        // its list.
        let mut m = boot(&GUEST.replace("workload = \"churn\"", "workload = \"idle\""));
        let f = frames(&mut m);
        let pfn = (0..f.len())
            .step_by(1024)
            .find(|&i| is_free_block(f[i], MAX_PAGE_ORDER))
            .expect("a free order-10 block") as u32;
        m.run_path("test_isolate", |mm, _| {
            mm.t.set_pageblock((pfn >> PAGEBLOCK_ORDER) + 1, MIGRATE_ISOLATE);
            Ok(())
        })
        .unwrap();
        if skip {
            write(
                &mut m,
                "/sys/kernel/debug/numasim/variants/page_reporting_skip_isolated",
                "1",
            )
            .unwrap();
        }
        write(&mut m, DEV, "1").unwrap();
        // The whole first pass, every batch answered.
        m.advance(2_000_000_000 / m.tick_ns() + 400).unwrap();
        let f = frames(&mut m);
        let s = f[pfn as usize];
        let skipped = rs(&mut m)[RS_DEV_WORDS + RZ_SKIPPED_ISOLATED];
        // Only the order-10 block spans the isolated pageblock (an
        // order-9 half headed outside it may be reported either way).
        (
            order(s) == MAX_PAGE_ORDER && (kind(s) == KIND_REPORTING || is_reported(s)),
            skipped,
        )
    };
    let (taken, skipped) = run(false);
    assert!(taken, "the default walk reports it");
    assert_eq!(skipped, 0);
    let (taken, skipped) = run(true);
    assert!(!taken, "the variant leaves it");
    assert!(skipped >= 1);
}

#[test]
fn the_preset_fails_a_gigantic_page_while_a_report_is_out_and_the_retry_works() {
    // reporting-gigantic: the only 1 GiB range of ZONE_NORMAL free of
    // unmovable and boot memory is [1 GiB, 2 GiB). While a block in it is
    // out for reporting the write leaves the pool empty; once the host
    // answers, the same write gets the page.
    const NR: &str = "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages";
    let mut m = Machine::boot(Scenario::load("reporting-gigantic").unwrap(), None).unwrap();
    assert!(m.reporting.registered, "[reporting] enabled = true");
    let range = (1u32 << 18)..(2u32 << 18);
    let mut found = false;
    for _ in 0..6000 {
        m.advance(1).unwrap();
        if busy_range(&mut m).is_some_and(|(s, _)| range.contains(&s)) {
            found = true;
            break;
        }
    }
    assert!(found, "a report covered the candidate range within 6 s");
    write(&mut m, NR, "1").unwrap();
    assert_eq!(
        read(&mut m, NR).unwrap(),
        "0\n",
        "fails while the report is out"
    );
    let done = rs(&mut m)[RS_DONE_TICK] as u64;
    m.advance(done - m.tick + 1).unwrap();
    assert_eq!(zone_word(&mut m, RZ_CONTIG_BUSY), 1);
    if busy_range(&mut m).is_some_and(|(s, _)| range.contains(&s)) {
        // The pass's next batch is in the range again: wait for it too.
        let done = rs(&mut m)[RS_DONE_TICK] as u64;
        m.advance(done - m.tick + 1).unwrap();
    }
    write(&mut m, NR, "1").unwrap();
    assert_eq!(read(&mut m, NR).unwrap(), "1\n", "the retry works");
    m.check().unwrap();
}

#[test]
fn the_worker_drops_the_zone_lock_across_report_and_the_variant_is_caught() {
    let run = |under: bool| {
        let mut m = boot(GUEST);
        if under {
            write(
                &mut m,
                "/sys/kernel/debug/numasim/variants/report_under_zone_lock",
                "1",
            )
            .unwrap();
        }
        write(&mut m, DEV, "1").unwrap();
        m.advance(2_000_000_000 / m.tick_ns() + 1).unwrap();
        let path = m
            .paths
            .paths
            .iter()
            .rev()
            .find(|p| p.name == "page_reporting_process")
            .map(|p| p.describe())
            .expect("the worker's path is recorded");
        (path, m.klog.dmesg())
    };
    let (path, log) = run(false);
    // zone->lock released before the sleeping report() and retaken after.
    let steps: Vec<&str> = path.lines().skip(1).map(str::trim).collect();
    let sleep = steps
        .iter()
        .position(|l| l.contains("virtballoon_free_page_report"))
        .expect(&path);
    assert!(steps[sleep - 1].starts_with("unlock &zone->lock"), "{path}");
    assert!(steps[sleep + 1].starts_with("lock &zone->lock"), "{path}");
    assert!(
        !log.contains("sleeping function called from invalid context"),
        "{log}"
    );
    let (_, log) = run(true);
    assert!(
        log.contains("BUG: sleeping function called from invalid context"),
        "{log}"
    );
}

/// The guest with nothing running: free memory is whole order-10 blocks.
fn idle() -> Machine {
    boot(&GUEST.replace("workload = \"churn\"", "workload = \"idle\""))
}

fn first_pass(m: &mut Machine) {
    write(m, DEV, "1").unwrap();
    // The delay, then every batch of the pass answered (4 ms each).
    m.advance(2_000_000_000 / m.tick_ns() + 100).unwrap();
}

#[test]
fn a_zone_below_low_plus_a_full_scatterlist_is_skipped() {
    // page_reporting_process_zone(): zone_watermark_ok(zone, 0,
    // low_wmark_pages(zone) + (PAGE_REPORTING_CAPACITY << order)).
    let mut m = idle();
    // min_free_kbytes 400000: low = 1.25 x min = 488 MiB, + 64 MiB is
    // above the 512 MiB node's free memory.
    write(&mut m, "/proc/sys/vm/min_free_kbytes", "400000").unwrap();
    first_pass(&mut m);
    let r = rs(&mut m);
    assert_eq!(r[RS_REPORTS], 0);
    assert!(r[RS_DEV_WORDS + RZ_WMARK_SKIPS] >= 1);
    assert_eq!(r[RS_PASSES], 1, "the pass ran and found nothing to do");
    // Lowered again: the next request reports.
    let mut m = idle();
    write(&mut m, "/proc/sys/vm/min_free_kbytes", "300000").unwrap();
    first_pass(&mut m);
    assert!(rs(&mut m)[RS_REPORTS] > 0);
}

#[test]
fn the_budget_stops_a_list_after_its_share_and_asks_for_another_pass() {
    // page_reporting_cycle(): budget = DIV_ROUND_UP(nr_free, 32 * 16);
    // one report per budget unit, plus the one that takes it below zero.
    let mut m = idle();
    let nr_free: u64 = m.buffers().unwrap().zone_state[0].free_area[MAX_PAGE_ORDER as usize]
        .iter()
        .map(|&n| n as u64)
        .sum();
    assert!(nr_free > 64 && nr_free <= 512, "{nr_free} order-10 blocks");
    first_pass(&mut m);
    let r = rs(&mut m);
    assert_eq!(r[RS_REPORTS], 2, "budget 1: two full scatterlists");
    assert_eq!(r[RS_DEV_WORDS + RZ_REPORTED_BLOCKS], 64);
    assert_eq!(r[RS_DEV_WORDS + RZ_BUDGET_STOPS], 1);
    // The stop left the device REQUESTED: the work runs again 2 s later.
    assert_eq!(r[RS_STATE], PAGE_REPORTING_REQUESTED);
    assert_eq!(r[RS_QUEUED], 1);
    // The v5 series had no budget: one pass takes the whole list.
    let mut m = idle();
    write(
        &mut m,
        "/sys/kernel/debug/numasim/variants/page_reporting_v5",
        "1",
    )
    .unwrap();
    first_pass(&mut m);
    let r = rs(&mut m);
    assert_eq!(r[RS_DEV_WORDS + RZ_BUDGET_STOPS], 0);
    assert_eq!(r[RS_DEV_WORDS + RZ_REPORTED_BLOCKS] as u64, nr_free);
}

fn lowest_free_10(m: &mut Machine) -> u32 {
    let f = frames(m);
    (0..f.len())
        .step_by(1024)
        .find(|&i| is_free_block(f[i], MAX_PAGE_ORDER))
        .expect("a free order-10 block") as u32
}

fn set_pageblocks(m: &mut Machine, pfn: u32, mt: u32) {
    m.run_path("test_pageblocks", |mm, _| {
        let pb = pfn >> PAGEBLOCK_ORDER;
        mm.t.set_pageblock(pb, mt);
        mm.t.set_pageblock(pb + 1, mt);
        Ok(())
    })
    .unwrap();
}

#[test]
fn isolating_a_block_of_pageblock_order_retypes_its_pageblocks_to_movable() {
    // __isolate_free_page(): order >= pageblock_order - 1 sets every
    // mergeable pageblock of the block to MIGRATE_MOVABLE.
    let mut m = idle();
    let pfn = lowest_free_10(&mut m);
    set_pageblocks(&mut m, pfn, MIGRATE_RECLAIMABLE);
    let pb = (pfn >> PAGEBLOCK_ORDER) as usize;
    assert_eq!(m.buffers().unwrap().pageblocks[pb], MIGRATE_RECLAIMABLE);
    first_pass(&mut m);
    let f = frames(&mut m);
    assert!(
        is_reported(f[pfn as usize]),
        "the reclaimable list's block was reported"
    );
    let b = m.buffers().unwrap();
    assert_eq!(b.pageblocks[pb], MIGRATE_MOVABLE);
    assert_eq!(b.pageblocks[pb + 1], MIGRATE_MOVABLE);
    let pti = read(&mut m, "/proc/pagetypeinfo").unwrap();
    let row = pti
        .lines()
        .find(|l| l.starts_with("Node 0, zone") && !l.contains("type"))
        .unwrap();
    let counts: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(counts[6], "0", "no reclaimable pageblock left: {row}");
}

#[test]
fn isolate_lists_are_never_walked() {
    // page_reporting_process_zone(): is_migrate_isolate(mt) lists skipped.
    let mut m = idle();
    let pfn = lowest_free_10(&mut m);
    set_pageblocks(&mut m, pfn, MIGRATE_ISOLATE);
    write(&mut m, DEV, "1").unwrap();
    // Two passes: budget 1 each, 64 blocks each, the whole list.
    m.advance(2 * 2_000_000_000 / m.tick_ns() + 200).unwrap();
    let f = frames(&mut m);
    let s = f[pfn as usize];
    assert!(is_free_block(s, MAX_PAGE_ORDER) && !is_reported(s));
    let mut others = 0;
    let mut unreported = 0;
    for i in (0..f.len()).step_by(1024) {
        if i as u32 != pfn && is_free_block(f[i], MAX_PAGE_ORDER) {
            others += 1;
            unreported += !is_reported(f[i]) as u32;
        }
    }
    assert!(others > 64);
    assert_eq!(
        unreported, 0,
        "every block of the movable list was reported"
    );
}

#[test]
fn offlining_a_memory_block_with_a_block_out_for_reporting_is_ebusy_unless_the_drain_waits() {
    // offline_pages(): test_pages_isolated() finds the block out for
    // reporting; with the drain variant the path waits for the host first.
    let run = |drain: bool| {
        let mut m = boot(GUEST);
        if drain {
            write(
                &mut m,
                "/sys/kernel/debug/numasim/variants/page_reporting_drain_before_contig",
                "1",
            )
            .unwrap();
        }
        write(&mut m, DEV, "1").unwrap();
        m.advance(2_000_000_000 / m.tick_ns() + 1).unwrap();
        let f = frames(&mut m);
        // The highest memory block holding a block out for reporting (the
        // lowest holds the boot memory).
        let pfn = (0..f.len())
            .rev()
            .find(|&i| kind(f[i]) == KIND_REPORTING)
            .expect("a block out");
        let block = pfn / (128 << 8);
        let file = format!("/sys/devices/system/memory/memory{block}/state");
        let r = write(&mut m, &file, "offline");
        let f = frames(&mut m);
        let out = (block * (128 << 8)..(block + 1) * (128 << 8))
            .filter(|&i| kind(f[i]) == KIND_REPORTING)
            .count();
        (r.map_err(|e| e.errno), out)
    };
    let (r, out) = run(false);
    assert_eq!(r, Err(Errno::EBUSY));
    assert!(out > 0, "the block is still with the host");
    let (r, out) = run(true);
    assert_eq!(r, Ok(()));
    assert_eq!(out, 0);
}

#[test]
fn the_order_as_6_1_had_it_is_overwritten_at_registration_and_takes_any_value() {
    // Seen on Debian's 6.1 (../shared/realkernel, BALLOON=1 with
    // page_reporting.page_reporting_order=5 on the command line): 5 before
    // the balloon registers, 9 after. 6.3 and later keep the 5.
    let var = "/sys/kernel/debug/numasim/variants/page_reporting_order_6_1";
    let small_blocks = |v61: bool| {
        // Order-0 churn leaves free blocks of every order.
        let mut m = boot(
            &GUEST
                .replace(
                    r#"{ class = "thp", rate_per_s = 20000, lifetime_ms = 30 }"#,
                    r#"{ class = "anon", rate_per_s = 300000, lifetime_ms = 30 }"#,
                )
                .replace("stop_ms = 400\n", ""),
        );
        if v61 {
            write(&mut m, var, "1").unwrap();
            assert_eq!(read(&mut m, ORDER).unwrap(), "11\n", "MAX_ORDER until set");
        }
        write(&mut m, ORDER, "5").unwrap();
        write(&mut m, DEV, "1").unwrap();
        let order = read(&mut m, ORDER).unwrap();
        m.advance(2 * 2_000_000_000 / m.tick_ns() + 100).unwrap();
        // Pages reported over the two passes, in blocks below order 9:
        // what the total has beyond whole pageblocks.
        let below_9 = rs(&mut m)[RS_DEV_WORDS + RZ_REPORTED_PAGES] % 512;
        (order, below_9)
    };
    let (order, below) = small_blocks(false);
    assert_eq!(order, "5\n");
    assert!(below > 0, "order 5 to 8 blocks reported");
    let (order, below) = small_blocks(true);
    assert_eq!(order, "9\n", "registration overwrote it");
    assert_eq!(below, 0);
    // 6.1 takes 11 (param_set_uint()): nothing is reported any more.
    let mut m = boot(GUEST);
    assert_eq!(write(&mut m, ORDER, "11").unwrap_err().errno, Errno::EINVAL);
    write(&mut m, var, "1").unwrap();
    write(&mut m, DEV, "1").unwrap();
    write(&mut m, ORDER, "11").unwrap();
    assert_eq!(read(&mut m, ORDER).unwrap(), "11\n");
    m.advance(2 * 2_000_000_000 / m.tick_ns() + 100).unwrap();
    assert_eq!(rs(&mut m)[RS_REPORTS], 0);
}

#[test]
fn the_drain_puts_a_block_on_the_list_of_its_pageblock_now_isolate_if_isolated_meanwhile() {
    // page_reporting_drain(): __putback_isolated_page(page, order,
    // get_pageblock_migratetype(page)), read at drain time.
    let mut m = idle();
    write(&mut m, DEV, "1").unwrap();
    m.advance(2_000_000_000 / m.tick_ns() + 1).unwrap();
    let (_, pfn) = busy_range(&mut m).expect("a block out");
    let o = order(frames(&mut m)[pfn]);
    assert_eq!(o, MAX_PAGE_ORDER);
    let pfn = pfn as u32;
    set_pageblocks(&mut m, pfn, MIGRATE_ISOLATE);
    let iso = |m: &mut Machine| {
        m.buffers().unwrap().zone_state[0].free_area[o as usize][MIGRATE_ISOLATE as usize]
    };
    assert_eq!(iso(&mut m), 0);
    let done = rs(&mut m)[RS_DONE_TICK] as u64;
    m.advance(done - m.tick + 1).unwrap();
    let s = frames(&mut m)[pfn as usize];
    assert!(is_free_block(s, o) && is_reported(s), "drained, reported");
    assert_eq!(iso(&mut m), 1, "on the isolate list");
    m.check().unwrap();
}
