//! Time series per node (egui_plot): free pages, fragmentation index at a
//! chosen order, allocations and frees per tick, fallbacks, failures,
//! numa_hit and numa_miss, over a chosen window of history.

use super::session::{HistPoint, NodePoint, Session};
use super::theme;
use super::Panel;
use crate::procfs::format::{fill_contig_page_info, fragmentation_index};
use egui_plot::{Line, Plot, PlotPoints};

pub struct PlotsPanel {
    /// Ticks of history shown.
    pub window: u64,
    /// Order for the fragmentation index (`extfrag_index` column).
    pub order: u32,
}

impl Default for PlotsPanel {
    fn default() -> Self {
        PlotsPanel {
            window: 2000,
            order: 9,
        }
    }
}

/// A metric: its title and its value between two samples of one node.
struct Metric {
    title: &'static str,
    value: fn(&PlotsPanel, &NodePoint, &NodePoint, f64) -> Option<f64>,
}

fn rate(a: u64, b: u64, dt: f64) -> Option<f64> {
    (dt > 0.0).then(|| b.saturating_sub(a) as f64 / dt)
}

const METRICS: [Metric; 8] = [
    Metric {
        title: "free pages",
        value: |_, _, b, _| Some(b.free_pages as f64),
    },
    Metric {
        title: "fragmentation index",
        value: |me, _, b, _| {
            let info = fill_contig_page_info(&b.free_blocks, me.order);
            // As extfrag_index prints it: -1.000 when a block of the order
            // is free, else 0 (failure from lack of memory) to 1
            // (failure from fragmentation).
            Some(fragmentation_index(me.order, &info) as f64 / 1000.0)
        },
    },
    Metric {
        title: "allocations / tick",
        value: |_, a, b, dt| rate(a.allocs, b.allocs, dt),
    },
    Metric {
        title: "frees / tick",
        value: |_, a, b, dt| rate(a.frees, b.frees, dt),
    },
    Metric {
        title: "fallbacks / tick",
        value: |_, a, b, dt| rate(a.fallbacks, b.fallbacks, dt),
    },
    Metric {
        title: "failures / tick",
        value: |_, a, b, dt| rate(a.failures, b.failures, dt),
    },
    Metric {
        title: "numa_hit / tick",
        value: |_, a, b, dt| rate(a.numa_hit, b.numa_hit, dt),
    },
    Metric {
        title: "numa_miss / tick",
        value: |_, a, b, dt| rate(a.numa_miss, b.numa_miss, dt),
    },
];

impl PlotsPanel {
    /// The series of `metric` for node `nid` over the window.
    fn series(&self, pts: &[&HistPoint], metric: &Metric, nid: usize) -> Vec<[f64; 2]> {
        let mut v = Vec::with_capacity(pts.len());
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let (Some(na), Some(nb)) = (a.nodes.get(nid), b.nodes.get(nid)) else {
                continue;
            };
            if let Some(y) = (metric.value)(self, na, nb, (b.tick - a.tick) as f64) {
                v.push([b.tick as f64, y]);
            }
        }
        v
    }

    pub fn plots_ui(&mut self, ui: &mut egui::Ui, s: &Session) {
        ui.horizontal(|ui| {
            let l = ui.label("window");
            ui.add(
                egui::DragValue::new(&mut self.window)
                    .range(10..=s.history.cap as u64 * 16)
                    .suffix(" ticks"),
            )
            .labelled_by(l.id);
            let l = ui.label("fragmentation index at order");
            ui.add(egui::DragValue::new(&mut self.order).range(0..=10))
                .labelled_by(l.id);
            ui.label(
                egui::RichText::new(format!("{} samples", s.history.points.len()))
                    .small()
                    .color(theme::DIM),
            );
            ui.separator();
            for nid in 0..s.machine.scenario.topology.nodes.len() as u32 {
                ui.label(
                    egui::RichText::new(format!("— node {nid}"))
                        .small()
                        .color(theme::node_color(nid)),
                );
            }
        });
        let last = s.history.points.back().map(|p| p.tick).unwrap_or(0);
        let from = last.saturating_sub(self.window);
        let pts: Vec<&HistPoint> = s.history.points.iter().filter(|p| p.tick >= from).collect();
        let nn = s.machine.scenario.topology.nodes.len();
        let cols = if ui.available_width() > 900.0 { 4 } else { 2 };
        let rows = METRICS.len().div_ceil(cols);
        let h = ((ui.available_height() - 8.0) / rows as f32 - 22.0).max(60.0);
        let w = ui.available_width() / cols as f32 - 8.0;
        let link = ui.scope_id().with("plots_x");
        egui::Grid::new("plots")
            .num_columns(cols)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                for (i, m) in METRICS.iter().enumerate() {
                    ui.vertical(|ui| {
                        ui.set_width(w);
                        let title = if i == 1 {
                            format!("{} (order {})", m.title, self.order)
                        } else {
                            m.title.to_string()
                        };
                        ui.label(egui::RichText::new(title).small().strong());
                        Plot::new(("plot", i))
                            .height(h)
                            .width(w)
                            .link_axis(link, [true, false])
                            .allow_scroll(false)
                            .include_y(0.0)
                            .show(ui, |pu| {
                                for nid in 0..nn {
                                    let series = self.series(&pts, m, nid);
                                    pu.line(
                                        Line::new(format!("node {nid}"), PlotPoints::from(series))
                                            .color(theme::node_color(nid as u32)),
                                    );
                                }
                            });
                    });
                    if (i + 1) % cols == 0 {
                        ui.end_row();
                    }
                }
            });
    }
}

impl Panel for PlotsPanel {
    fn title(&self) -> &'static str {
        "Plots"
    }
    fn ui(&mut self, ui: &mut egui::Ui, s: &mut Session) {
        self.plots_ui(ui, s);
    }
}
