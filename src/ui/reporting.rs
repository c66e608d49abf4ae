//! The free page reporting panel (mm/page_reporting.c): the device's state
//! and, per zone, memory reported, out for reporting, refaulted and still
//! backed by the host, from the newest stats sample (never a blocking
//! read); the host's resident memory and the reported memory over time;
//! the device, `page_reporting_order` and the variants, each a file write.

use super::session::{HistPoint, Session};
use super::{knob_row, switch_row, theme, Panel};
use crate::engine::types::*;
use crate::kernel::reporting::{reported_pages, state_name, VARIANTS};
use crate::procfs::reporting::{DEVICE_FILE, ORDER_FILE};
use egui_plot::{Line, Plot, PlotPoints};

#[derive(Default)]
pub struct ReportingPanel;

impl Panel for ReportingPanel {
    fn title(&self) -> &'static str {
        "Reporting"
    }
    fn ui(&mut self, ui: &mut egui::Ui, s: &mut Session) {
        reporting_ui(ui, s);
    }
}

fn mib(pages: u64) -> String {
    format!("{:.1}", pages as f64 / 256.0)
}

pub fn reporting_ui(ui: &mut egui::Ui, s: &mut Session) {
    let rs: Vec<u32> = s
        .latest
        .as_ref()
        .map(|l| l.report_state.clone())
        .unwrap_or_default();
    let registered = s.machine.reporting.registered;
    let order = s.machine.reporting.order;
    let tick_ns = s.machine.tick_ns();
    if rs.len() >= RS_DEV_WORDS {
        let mut line = format!(
            "device: {}   state: {}   page_reporting_order: {}   passes: {}   report() calls: {}",
            if registered { "registered" } else { "none" },
            state_name(rs[RS_STATE]),
            s.machine.page_reporting_order_text(),
            rs[RS_PASSES],
            rs[RS_REPORTS],
        );
        if rs[RS_INFLIGHT] != 0 {
            line += &format!(
                "   with the host: {} MiB until tick {}",
                mib(rs[RS_INFLIGHT_PAGES] as u64),
                rs[RS_DONE_TICK]
            );
        }
        if rs[RS_DRAIN_WAITS] != 0 {
            line += &format!(
                "   contiguous allocations that waited: {} ({} ms)",
                rs[RS_DRAIN_WAITS],
                rs[RS_DRAIN_WAIT_TICKS] as u64 * tick_ns / 1_000_000
            );
        }
        ui.label(line);
    }
    let topo = s.machine.scenario.topology.clone();
    let managed: Vec<u32> = s.machine.config().zones.iter().map(|z| z.managed).collect();
    egui::Grid::new("reporting_zones")
        .striped(true)
        .spacing([12.0, 3.0])
        .show(ui, |ui| {
            for t in [
                "zone",
                "reported MiB",
                "out for reporting MiB",
                "refaulted MiB",
                "refaults",
                "refault time ms",
                "host RSS MiB",
                "of managed MiB",
                "report() calls",
                "contig EBUSY",
                "migrated for nothing MiB",
            ] {
                ui.strong(t);
            }
            ui.end_row();
            for (z, zd) in topo.zones.iter().enumerate() {
                let row = RS_DEV_WORDS + z * RZ_WORDS;
                let Some(r) = rs.get(row..row + RZ_WORDS) else {
                    continue;
                };
                let m = managed.get(z).copied().unwrap_or(0) as u64;
                ui.label(format!("node {} {}", zd.node, zd.zone_type.name()));
                ui.label(mib(reported_pages(r)));
                ui.label(mib(r[RZ_INFLIGHT_PAGES] as u64));
                ui.label(mib(r[RZ_REFAULT_PAGES] as u64));
                ui.label(r[RZ_REFAULT_ALLOCS].to_string());
                ui.label(format!(
                    "{:.2}",
                    s.machine.refault_ns(r[RZ_REFAULT_PAGES] as u64) as f64 / 1e6
                ));
                ui.label(mib(m.saturating_sub(r[RZ_UNBACKED_PAGES] as u64)));
                ui.label(mib(m));
                ui.label(r[RZ_REPORTS].to_string());
                let busy = ui.label(r[RZ_CONTIG_BUSY].to_string());
                if r[RZ_CONTIG_BUSY] > 0 {
                    busy.on_hover_text("alloc_contig_range() calls that failed with EBUSY: a block of the range was out for reporting (test_pages_isolated())");
                }
                ui.label(mib(r[RZ_CONTIG_BUSY_MIGRATED] as u64));
                ui.end_row();
            }
        });
    ui.separator();
    ui.label(
        egui::RichText::new(
            "Each change is a write to the file named, as `echo V > FILE` in the console.",
        )
        .small()
        .color(theme::DIM),
    );
    egui::Grid::new("reporting_knobs")
        .num_columns(3)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            switch_row(
                ui,
                s,
                DEVICE_FILE,
                registered,
                "a reporting device (virtio-balloon, VIRTIO_BALLOON_F_REPORTING)",
            );
            knob_row(
                ui,
                s,
                ORDER_FILE,
                order.unwrap_or(9) as u64,
                0..=10,
                "smallest order reported",
            );
            for (name, _, note) in VARIANTS {
                let path = format!("/sys/kernel/debug/numasim/variants/{name}");
                let on = s.machine.report_variant(name).unwrap_or(false);
                switch_row(ui, s, &path, on, &format!("variant: {note}"));
            }
        });
    ui.separator();
    // Over time, per node: what the host still backs, and what is reported
    // or out for reporting.
    let pts: Vec<&HistPoint> = s.history.points.iter().collect();
    let nn = topo.nodes.len();
    let w = (ui.available_width() / 2.0 - 8.0).max(120.0);
    let h = (ui.available_height() - 30.0).max(80.0);
    let link = ui.scope_id().with("reporting_x");
    ui.horizontal(|ui| {
        for (i, (title, f, zero)) in [
            (
                "host RSS of the guest, MiB",
                (|p: &crate::ui::session::NodePoint| p.host_rss) as fn(&_) -> u64,
                false,
            ),
            (
                "reported + out for reporting, MiB",
                |p| p.reported + p.report_inflight,
                true,
            ),
        ]
        .into_iter()
        .enumerate()
        {
            ui.vertical(|ui| {
                ui.label(egui::RichText::new(title).small().strong());
                let mut plot = Plot::new(("reporting_plot", i))
                    .height(h)
                    .width(w)
                    .link_axis(link, [true, false])
                    .allow_scroll(false);
                if zero {
                    plot = plot.include_y(0.0);
                }
                plot.show(ui, |pu| {
                    for nid in 0..nn {
                        let series: Vec<[f64; 2]> = pts
                            .iter()
                            .filter_map(|p| {
                                let n = p.nodes.get(nid)?;
                                Some([p.tick as f64, f(n) as f64 / 256.0])
                            })
                            .collect();
                        pu.line(
                            Line::new(format!("node {nid}"), PlotPoints::from(series))
                                .color(theme::node_color(nid as u32)),
                        );
                    }
                });
            });
        }
    });
}
