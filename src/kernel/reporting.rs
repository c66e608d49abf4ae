//! Free page reporting's control side (mm/page_reporting.c): the device's
//! registration (`page_reporting_register()`, a virtio-balloon with
//! `VIRTIO_BALLOON_F_REPORTING`), `page_reporting_order`, the host's
//! latency, and the notification control paths give when they free a
//! block of the reporting order or above. The worker itself runs in the
//! tick (phases `report`, `report_scan`, `report_isolate`).

use super::{Machine, MachineError};
use crate::engine::requests::{Request, REQ_SET_FRAME};
use crate::engine::types::*;
use crate::kernel::errno::{Errno, KernelError};
use crate::model::frame::*;

use crate::model::scenario::{
    ReportingConfig, REPORT_LATENCY_BASE_MAX_NS as MAX_LATENCY_BASE_NS,
    REPORT_LATENCY_MIB_MAX_NS as MAX_LATENCY_MIB_NS,
};

/// `PAGE_REPORTING_DELAY`: 2 s.
pub const PAGE_REPORTING_DELAY_NS: u64 = 2_000_000_000;

/// The machine's reporting configuration on the host side.
#[derive(Clone, Debug, PartialEq)]
pub struct Reporting {
    /// `page_reporting_order`: None until set or until a device registers
    /// (reads -1 since 6.3; 6.1 initialized it to MAX_ORDER, 11).
    pub order: Option<u32>,
    pub registered: bool,
    pub latency_base_ns: u32,
    pub latency_mib_ns: u32,
    /// The guest's cost of a refault, per MiB.
    pub refault_mib_ns: u32,
    /// `report()` calls whose path the lock validator has seen.
    pub reports_seen: u32,
}

impl Default for Reporting {
    fn default() -> Self {
        let c = ReportingConfig::default();
        Reporting {
            order: None,
            registered: false,
            latency_base_ns: c.latency_base_ns,
            latency_mib_ns: c.latency_mib_ns,
            refault_mib_ns: c.refault_mib_ns,
            reports_seen: 0,
        }
    }
}

impl Machine {
    /// Writes the reporting configuration for the next tick.
    pub(crate) fn write_report_cfg(&mut self) {
        let r = self.reporting.clone();
        let tick_ns = self.scenario.tick_ns;
        let c = &mut self.backend.config_mut().report_cfg;
        c[RC_ENABLED] = r.registered as u32;
        c[RC_ORDER] = r
            .order
            .unwrap_or(MAX_PAGE_ORDER + 1)
            .min(MAX_PAGE_ORDER + 1);
        c[RC_CAPACITY] = if c[RC_V5] != 0 {
            16
        } else {
            PAGE_REPORTING_CAPACITY
        };
        c[RC_DELAY_TICKS] = PAGE_REPORTING_DELAY_NS
            .div_ceil(tick_ns.max(1))
            .min(u32::MAX as u64) as u32;
        c[RC_LAT_BASE_NS] = r.latency_base_ns;
        c[RC_LAT_MIB_NS] = r.latency_mib_ns;
        c[RC_TICK_NS] = tick_ns.min(u32::MAX as u64) as u32;
        c[RC_REFAULT_MIB_NS] = r.refault_mib_ns;
    }

    /// `page_reporting_register()` / `page_reporting_unregister()`.
    pub fn set_page_reporting(&mut self, on: bool) -> Result<(), MachineError> {
        if on == self.reporting.registered {
            if on {
                // A second device: "nothing to do if already in use".
                return Err(KernelError::new(
                    Errno::EBUSY,
                    "a reporting device is already registered",
                )
                .into());
            }
            return Ok(());
        }
        self.reporting.registered = on;
        if on {
            // 6.3 and later keep a value set before (the command line's);
            // 5.14 to 6.2 set `prdev->order ?: pageblock_order` always.
            if self.reporting.order.is_none() || self.order_6_1() {
                self.reporting.order = Some(PAGEBLOCK_ORDER);
            }
            let now = self.now_ns();
            self.klog
                .printk(super::klog::Level::Info, now, "Free page reporting enabled");
            self.write_report_cfg();
            // "Begin initial flush of zones".
            self.backend
                .enqueue(vec![Request::set_report_word(RS_NOTIFY as u32, 1)])?;
        } else {
            self.write_report_cfg();
        }
        Ok(())
    }

    /// `page_reporting_order` written (`param_set_uint_minmax(0,
    /// MAX_ORDER)`).
    pub fn set_page_reporting_order(&mut self, order: u32) -> Result<(), MachineError> {
        // 6.1: param_set_uint(), any value; above MAX_ORDER nothing is
        // ever reported (no free block reaches the order).
        if order > MAX_PAGE_ORDER && !self.order_6_1() {
            return Err(KernelError::new(
                Errno::EINVAL,
                format!("{order} is outside 0..={MAX_PAGE_ORDER}"),
            )
            .into());
        }
        self.reporting.order = Some(order);
        self.write_report_cfg();
        Ok(())
    }

    /// Variant `page_reporting_order_6_1` is on.
    pub fn order_6_1(&self) -> bool {
        self.backend.config().report_cfg[RC_ORDER_6_1] != 0
    }

    /// `page_reporting_order` as its file reads.
    pub fn page_reporting_order_text(&self) -> String {
        match self.reporting.order {
            Some(o) => o.to_string(),
            // 6.1 initialized it to MAX_ORDER; 6.3 to -1.
            None if self.order_6_1() => (MAX_PAGE_ORDER + 1).to_string(),
            None => "-1".to_string(),
        }
    }

    /// The host's latency per `report()`: a base and a cost per MiB (ns).
    pub fn set_report_latency(&mut self, base_ns: u64, mib_ns: u64) -> Result<(), MachineError> {
        if base_ns > MAX_LATENCY_BASE_NS as u64 || mib_ns > MAX_LATENCY_MIB_NS as u64 {
            return Err(KernelError::new(
                Errno::EINVAL,
                format!(
                    "report latency {base_ns} ns + {mib_ns} ns/MiB: at most {MAX_LATENCY_BASE_NS} ns and {MAX_LATENCY_MIB_NS} ns/MiB"
                ),
            )
            .into());
        }
        self.reporting.latency_base_ns = base_ns as u32;
        self.reporting.latency_mib_ns = mib_ns as u32;
        self.write_report_cfg();
        Ok(())
    }

    /// `page_reporting_notify_free()` for a control path's batch: frees
    /// of the reporting order or above request a pass.
    pub(crate) fn report_notify(&self, reqs: &mut Vec<Request>) {
        if !self.reporting.registered {
            return;
        }
        let thr = self.reporting.order.unwrap_or(MAX_PAGE_ORDER + 1);
        let freed = reqs
            .iter()
            .any(|r| r.op == REQ_SET_FRAME && kind(r.a) == KIND_FREE && order(r.a) >= thr);
        if freed {
            reqs.push(Request::set_report_word(RS_NOTIFY as u32, 1));
        }
    }

    /// The reporting state as of the last tick: the device's words and
    /// each zone's row.
    pub fn report_state(&mut self) -> Result<Vec<u32>, MachineError> {
        Ok(self.backend.state()?.report_state.clone())
    }
}

/// The reporting variants: (file under /sys/kernel/debug/numasim/variants/,
/// its `report_cfg` word, what it changes).
pub const VARIANTS: [(&str, usize, &str); 4] = [
    (
        "page_reporting_v5",
        RC_V5,
        "the 2019 v5 series' walk: 16 blocks per report(), no per-list budget, CMA lists skipped",
    ),
    (
        "page_reporting_drain_before_contig",
        RC_DRAIN_CONTIG,
        "alloc_contig_range() waits for the report in flight (reported_pages_drain_all()) before it isolates a range",
    ),
    (
        "page_reporting_skip_isolated",
        RC_SKIP_ISOLATED_PB,
        "the worker leaves free blocks in MIGRATE_ISOLATE pageblocks alone",
    ),
    (
        "page_reporting_order_6_1",
        RC_ORDER_6_1,
        "page_reporting_order as 5.14-6.2: reads 11 until set, takes any unsigned value, overwritten by pageblock_order when a device registers",
    ),
];

impl Machine {
    /// The reporting variant `name`: on or off (None: no such variant).
    pub fn report_variant(&self, name: &str) -> Option<bool> {
        let (_, w, _) = VARIANTS.iter().find(|(n, _, _)| *n == name)?;
        Some(self.backend.config().report_cfg[*w] != 0)
    }

    /// Switches the reporting variant `name`; false if there is none.
    pub fn set_report_variant(&mut self, name: &str, on: bool) -> bool {
        let Some((_, w, _)) = VARIANTS.iter().find(|(n, _, _)| *n == name) else {
            return false;
        };
        self.backend.config_mut().report_cfg[*w] = on as u32;
        self.write_report_cfg();
        true
    }
}

impl Machine {
    /// The guest's time spent refaulting `pages` of reported memory.
    pub fn refault_ns(&self, pages: u64) -> u64 {
        pages * self.reporting.refault_mib_ns as u64 / 256
    }

    /// The worker's kernel path for the `report()` calls made since the
    /// last look (`RS_REPORTS` in `rs`): `page_reporting_process()` from
    /// the workqueue, per call `page_reporting_cycle()`: the zone lock
    /// held while blocks are isolated, dropped across `prdev->report()`
    /// (virtballoon_free_page_report() sleeps until the host acks the
    /// virtqueue), taken again for `page_reporting_drain()`. One path
    /// stands for all the calls seen at once (they take the same locks).
    /// Variant `report_under_zone_lock` keeps the lock across the call.
    pub(crate) fn note_reports(&mut self, rs: &[u32]) {
        let Some(&n) = rs.get(RS_REPORTS) else {
            return;
        };
        if n == self.reporting.reports_seen {
            return;
        }
        self.reporting.reports_seen = n;
        use crate::kernel::path::{LockClass, Mode, Path};
        let mut path = Path::new("page_reporting_process", self.tick);
        // The workqueue's worker (system_wq).
        path.comm = "kworker/0:1".to_string();
        path.pid = 2;
        let under = self.lockdep.variants.report_under_zone_lock;
        path.lock(LockClass::ZoneLock, Mode::Spin);
        if !under {
            path.unlock(LockClass::ZoneLock);
        }
        path.might_sleep("virtballoon_free_page_report");
        if !under {
            path.lock(LockClass::ZoneLock, Mode::Spin);
        }
        path.unlock(LockClass::ZoneLock);
        self.keep_path(path);
    }
}

/// Pages free and reported in one zone's `report_state` row (its
/// `RZ_REPORTED` blocks, by order and pcp list).
pub fn reported_pages(row: &[u32]) -> u64 {
    let mut n = 0u64;
    for o in 0..NR_PAGE_ORDERS {
        for mt in 0..NR_PCP {
            n += (row[RZ_REPORTED + o * NR_PCP + mt] as u64) << o;
        }
    }
    n
}

/// Names of `prdev->state`.
pub fn state_name(s: u32) -> &'static str {
    match s {
        PAGE_REPORTING_IDLE => "idle",
        PAGE_REPORTING_REQUESTED => "requested",
        PAGE_REPORTING_ACTIVE => "active",
        _ => "?",
    }
}
