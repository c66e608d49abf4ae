//! `numasim bench --gigantic N`: how often a 1 GiB page can be allocated
//! while free page reporting runs (../shared/seeds/001: "try to allocate a
//! gigantic page -> fails. Try again -> works"). The scenario runs three
//! times from the same seed: reporting off, on, and on with each reporting
//! variant (`page_reporting_drain_before_contig`, `page_reporting_v5`,
//! `page_reporting_skip_isolated`). Each of N attempts, at
//! a time drawn from the seed around every `--ticks` ticks, writes 1 to
//! the 1 GiB pool's nr_hugepages; a failed write is retried up to
//! `RETRIES` times `RETRY_TICKS` ticks apart; the page is then given back (0), so
//! attempts are independent.

use super::load;
use anyhow::{Context, Result};
use numasim::engine::types::*;
use numasim::engine::BackendChoice;
use numasim::kernel::hugetlb::HS_1G;
use numasim::kernel::Machine;
use numasim::model::hash::mix32;
use numasim::procfs::write;

const NR: &str = "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages";
const DEV: &str = "/sys/kernel/debug/numasim/page_reporting";
const VARIANTS_DIR: &str = "/sys/kernel/debug/numasim/variants/";
/// Retries of a failed attempt, `RETRY_TICKS` apart.
pub const RETRIES: u32 = 3;
pub const RETRY_TICKS: u64 = 10;
/// The most attempts one run makes.
pub const MAX_ATTEMPTS: u64 = 100_000;

#[derive(Default, serde::Serialize)]
struct Row {
    config: &'static str,
    attempts: u64,
    first_try: u64,
    with_retries: u64,
    retries: u64,
    /// Failed tries whose ranges included one busy with a report (EBUSY
    /// from test_pages_isolated()).
    busy_tries: u64,
    contig_busy: u64,
    busy_migrated_kb: u64,
    drain_waits: u64,
    drain_wait_ms: u64,
    reports: u64,
    refault_kb: u64,
    wall_s: f64,
}

fn sum_zones(rs: &[u32], nz: usize, w: usize) -> u64 {
    (0..nz)
        .map(|z| rs[RS_DEV_WORDS + z * RZ_WORDS + w] as u64)
        .sum()
}

fn pool(m: &Machine) -> u64 {
    m.hugetlb.hstates[HS_1G].nr_huge_pages
}

#[allow(clippy::too_many_arguments)]
pub fn cmd_bench_gigantic(
    scenarios: Vec<String>,
    attempts: u64,
    every: Option<u64>,
    warmup: Option<u64>,
    backends: Vec<BackendChoice>,
    json: Option<std::path::PathBuf>,
) -> Result<()> {
    if attempts == 0 || attempts > MAX_ATTEMPTS {
        anyhow::bail!("--gigantic {attempts}: expected 1..={MAX_ATTEMPTS} attempts");
    }
    let every = every.unwrap_or(100).max(2);
    let warmup = warmup.unwrap_or(2000);
    let scenario = scenarios
        .first()
        .cloned()
        .unwrap_or_else(|| "reporting-gigantic".into());
    let backend = backends.first().copied().unwrap_or(BackendChoice::Cpu);
    println!(
        "{scenario}: {attempts} attempts of `echo 1 > {NR}` about every {every} ticks after {warmup}, {RETRIES} retries {RETRY_TICKS} ticks apart"
    );
    println!(
        "{:<10} {:>8} {:>10} {:>12} {:>8} {:>10} {:>11} {:>12} {:>11} {:>10} {:>8} {:>10} {:>7}",
        "reporting",
        "attempts",
        "first_try",
        "with_retries",
        "retries",
        "busy_tries",
        "contig_busy",
        "busy_migr_MB",
        "drain_waits",
        "waited_ms",
        "reports",
        "refault_MB",
        "wall_s"
    );
    let mut rows = Vec::new();
    for config in ["off", "on", "on+drain", "on+v5", "on+skip_iso"] {
        let s = load(&scenario)?;
        let (mut m, _) = Machine::boot_on(s, None, backend)?;
        let on = config != "off";
        if m.reporting.registered != on {
            write(&mut m, DEV, if on { "1" } else { "0" })?;
        }
        let variant = match config {
            "on+drain" => Some("page_reporting_drain_before_contig"),
            "on+v5" => Some("page_reporting_v5"),
            "on+skip_iso" => Some("page_reporting_skip_isolated"),
            _ => None,
        };
        if let Some(v) = variant {
            write(&mut m, &format!("{VARIANTS_DIR}{v}"), "1")?;
        }
        let mut out = std::io::sink();
        numasim::procfs::shell::run_setup(&mut m, &mut out)
            .map_err(|e| anyhow::anyhow!("{scenario}: setup: {e}"))?;
        let t0 = std::time::Instant::now();
        m.advance(warmup)?;
        let nz = m.config().zones.len();
        let seed = m.seed as u32;
        let mut row = Row {
            config,
            attempts,
            ..Default::default()
        };
        for i in 0..attempts {
            let gap = every / 2 + (mix32(seed ^ mix32(i as u32 + 1)) as u64) % every;
            m.advance(gap)?;
            let mut ok = false;
            for t in 0..=RETRIES {
                let busy0 = sum_zones(&m.report_state()?, nz, RZ_CONTIG_BUSY);
                write(&mut m, NR, "1")?;
                if pool(&m) == 1 {
                    ok = true;
                    if t == 0 {
                        row.first_try += 1;
                    }
                    break;
                }
                // The failed path's counter words land with the next tick.
                m.advance(RETRY_TICKS)?;
                row.retries += (t < RETRIES) as u64;
                if sum_zones(&m.report_state()?, nz, RZ_CONTIG_BUSY) > busy0 {
                    row.busy_tries += 1;
                }
            }
            row.with_retries += ok as u64;
            write(&mut m, NR, "0")?;
            if (i + 1) % (attempts / 10).max(1) == 0 {
                eprint!("\r{config}: {}/{attempts} attempts", i + 1);
            }
        }
        eprintln!();
        m.advance(1)?;
        m.check()
            .map_err(|e| anyhow::anyhow!("{config}: after the attempts: {e}"))?;
        let rs = m.report_state()?;
        row.contig_busy = sum_zones(&rs, nz, RZ_CONTIG_BUSY);
        row.busy_migrated_kb = sum_zones(&rs, nz, RZ_CONTIG_BUSY_MIGRATED) * 4;
        row.drain_waits = rs[RS_DRAIN_WAITS] as u64;
        row.drain_wait_ms = rs[RS_DRAIN_WAIT_TICKS] as u64 * m.tick_ns() / 1_000_000;
        row.reports = rs[RS_REPORTS] as u64;
        row.refault_kb = sum_zones(&rs, nz, RZ_REFAULT_PAGES) * 4;
        row.wall_s = t0.elapsed().as_secs_f64();
        let pct = |n: u64| format!("{:.1}%", 100.0 * n as f64 / attempts as f64);
        println!(
            "{:<10} {:>8} {:>10} {:>12} {:>8} {:>10} {:>11} {:>12} {:>11} {:>10} {:>8} {:>10} {:>7.1}",
            config,
            attempts,
            pct(row.first_try),
            pct(row.with_retries),
            row.retries,
            row.busy_tries,
            row.contig_busy,
            row.busy_migrated_kb / 1024,
            row.drain_waits,
            row.drain_wait_ms,
            row.reports,
            row.refault_kb / 1024,
            row.wall_s
        );
        rows.push(row);
    }
    if let Some(p) = json {
        std::fs::write(&p, serde_json::to_string_pretty(&rows)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
