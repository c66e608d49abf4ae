//! Free page reporting's files: the module parameter
//! /sys/module/page_reporting/parameters/page_reporting_order, and
//! /sys/kernel/debug/numasim/page_reporting (the device: write 1 to
//! register a reporting device, 0 to unregister; read: its state and, per
//! zone, what is reported, out for reporting, refaulted and held by the
//! host). The kernel has no vmstat counter for reporting: none is made up.

use super::lockdep::kstrtobool;
use super::{fs_err, Errno, File};
use crate::engine::types::*;
use crate::kernel::reporting::{reported_pages, state_name, VARIANTS};
use crate::kernel::Machine;
use crate::model::frame::PAGE_SIZE;

pub const ORDER_FILE: &str = "/sys/module/page_reporting/parameters/page_reporting_order";
pub const DEVICE_FILE: &str = "/sys/kernel/debug/numasim/page_reporting";

const VARIANT_DIR: &str = "/sys/kernel/debug/numasim/variants/";

/// Free page reporting's rows of the table.
pub fn files() -> Vec<File> {
    let mut v = vec![
        // mm/page_reporting.c: module_param_cb(page_reporting_order, ..,
        // 0644); param_get_int() shows -1 until set or until a device
        // registers.
        File::rw(
            ORDER_FILE,
            |m, _| Ok(format!("{}\n", m.page_reporting_order_text())),
            |m, at, v| {
                let o = v.trim().parse::<u32>().map_err(|_| {
                    fs_err(
                        at.path,
                        Errno::EINVAL,
                        format!("`{v}` is not an unsigned integer"),
                    )
                })?;
                m.set_page_reporting_order(o).map_err(|e| at.machine_err(e))
            },
        ),
        File::rw(
            DEVICE_FILE,
            |m, at| device_table(m).map_err(|e| at.machine_err(e)),
            |m, at, v| {
                let on = kstrtobool(at, v)?;
                m.set_page_reporting(on).map_err(|e| at.machine_err(e))
            },
        ),
    ];
    for (n, _, _) in VARIANTS {
        v.push(File::rw(
            format!("{VARIANT_DIR}{n}"),
            |m, at| {
                Ok(format!(
                    "{}\n",
                    m.report_variant(at.name()).unwrap_or(false) as u8
                ))
            },
            |m, at, v| {
                // debugfs_write_file_bool(): kstrtobool.
                let on = kstrtobool(at, v)?;
                m.set_report_variant(at.name(), on);
                Ok(())
            },
        ));
    }
    v
}

fn device_table(m: &mut Machine) -> Result<String, crate::kernel::MachineError> {
    let rs = m.report_state()?;
    let zones = m.config().zones.clone();
    let kib = |pages: u64| pages * PAGE_SIZE / 1024;
    let mut s = String::new();
    s += &format!(
        "device: {}\nstate: {}\npage_reporting_order: {}\npasses: {}\nreports: {}\n",
        if m.reporting.registered {
            "registered"
        } else {
            "none"
        },
        state_name(rs[RS_STATE]),
        m.page_reporting_order_text(),
        rs[RS_PASSES],
        rs[RS_REPORTS],
    );
    s += &format!(
        "latency: {} us + {} us/MiB\nrefault_cost: {} us/MiB\ndrain_waits: {} ({} ms waited)\n",
        m.reporting.latency_base_ns / 1000,
        m.reporting.latency_mib_ns / 1000,
        m.reporting.refault_mib_ns / 1000,
        rs[RS_DRAIN_WAITS],
        rs[RS_DRAIN_WAIT_TICKS] as u64 * m.tick_ns() / 1_000_000,
    );
    if rs[RS_INFLIGHT] != 0 {
        s += &format!(
            "in_flight: batch {} zone {} {} kB, returns at tick {}\n",
            rs[RS_INFLIGHT_ID],
            rs[RS_INFLIGHT_ZONE],
            kib(rs[RS_INFLIGHT_PAGES] as u64),
            rs[RS_DONE_TICK]
        );
    }
    if rs[RS_QUEUED] != 0 {
        s += &format!("next_pass_at_tick: {}\n", rs[RS_WAKE_TICK]);
    }
    s += &format!(
        "{:<6} {:<8} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10} {:>12} {:>8} {:>8} {:>8} {:>11} {:>12} {:>10}\n",
        "node",
        "zone",
        "reported_kB",
        "inflight_kB",
        "reported_tot",
        "refault_kB",
        "refaults",
        "refault_ms",
        "host_rss_kB",
        "reports",
        "wm_skip",
        "iso_fail",
        "contig_busy",
        "busy_migr_kB",
        "drained_kB"
    );
    for (z, zd) in zones.iter().enumerate() {
        let r = &rs[RS_DEV_WORDS + z * RZ_WORDS..][..RZ_WORDS];
        let reported = reported_pages(r);
        let rss = (zd.managed as u64).saturating_sub(r[RZ_UNBACKED_PAGES] as u64);
        s += &format!(
            "{:<6} {:<8} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10} {:>12} {:>8} {:>8} {:>8} {:>11} {:>12} {:>10}\n",
            zd.node,
            crate::model::topology::ZoneType::from_index(zd.zone_type).name(),
            kib(reported),
            kib(r[RZ_INFLIGHT_PAGES] as u64),
            kib(r[RZ_REPORTED_PAGES] as u64),
            kib(r[RZ_REFAULT_PAGES] as u64),
            r[RZ_REFAULT_ALLOCS],
            format!("{:.3}", m.refault_ns(r[RZ_REFAULT_PAGES] as u64) as f64 / 1e6),
            kib(rss),
            r[RZ_REPORTS],
            r[RZ_WMARK_SKIPS],
            r[RZ_ISOLATE_FAILS],
            r[RZ_CONTIG_BUSY],
            kib(r[RZ_CONTIG_BUSY_MIGRATED] as u64),
            kib(r[RZ_DRAINED_PAGES] as u64),
        );
    }
    Ok(s)
}
