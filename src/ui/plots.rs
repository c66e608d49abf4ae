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
    /// What the last CSV export did.
    pub saved: Option<String>,
}

impl Default for PlotsPanel {
    fn default() -> Self {
        PlotsPanel {
            window: 2000,
            order: 9,
            saved: None,
        }
    }
}

/// A metric: its title, the unit its y axis is labelled with, its CSV
/// column stem, and its value between two samples of one node.
struct Metric {
    title: &'static str,
    unit: &'static str,
    column: &'static str,
    value: fn(&PlotsPanel, &NodePoint, &NodePoint, f64) -> Option<f64>,
}

fn rate(a: u64, b: u64, dt: f64) -> Option<f64> {
    (dt > 0.0).then(|| b.saturating_sub(a) as f64 / dt)
}

const METRICS: [Metric; 8] = [
    Metric {
        title: "free pages",
        unit: "pages",
        column: "free_pages",
        value: |_, _, b, _| Some(b.free_pages as f64),
    },
    Metric {
        title: "fragmentation index",
        unit: "index",
        column: "fragmentation_index",
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
        unit: "/tick",
        column: "allocs_per_tick",
        value: |_, a, b, dt| rate(a.allocs, b.allocs, dt),
    },
    Metric {
        title: "frees / tick",
        unit: "/tick",
        column: "frees_per_tick",
        value: |_, a, b, dt| rate(a.frees, b.frees, dt),
    },
    Metric {
        title: "fallbacks / tick",
        unit: "/tick",
        column: "fallbacks_per_tick",
        value: |_, a, b, dt| rate(a.fallbacks, b.fallbacks, dt),
    },
    Metric {
        title: "failures / tick",
        unit: "/tick",
        column: "failures_per_tick",
        value: |_, a, b, dt| rate(a.failures, b.failures, dt),
    },
    Metric {
        title: "numa_hit / tick",
        unit: "/tick",
        column: "numa_hit_per_tick",
        value: |_, a, b, dt| rate(a.numa_hit, b.numa_hit, dt),
    },
    Metric {
        title: "numa_miss / tick",
        unit: "/tick",
        column: "numa_miss_per_tick",
        value: |_, a, b, dt| rate(a.numa_miss, b.numa_miss, dt),
    },
];

/// A value as an axis label: at most four significant characters with
/// k, M, G suffixes (2.4M, 350k, 0.25).
pub fn compact(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let t = if x.abs() >= 100.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    };
    let t = if t.contains('.') {
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        t
    };
    format!("{t}{suffix}")
}

/// Two or three y marks for a short plot, on a 1-2-2.5-5 step of at least
/// half the visible range, so each mark is at least half the plot's
/// height from the next and egui_plot labels it however low the plot is.
fn y_marks(input: egui_plot::GridInput) -> Vec<egui_plot::GridMark> {
    let (lo, hi) = input.bounds;
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let raw = span / 2.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|k| k * mag)
        .find(|s| *s >= raw * 0.999)
        .unwrap_or(10.0 * mag);
    let mut step = if step > 0.0 { step } else { 1.0 };
    // A round step can leave one mark in the range (a flat series is
    // plotted over its value +-0.5): halve it until two fit.
    while (hi / step).floor() - (lo / step).ceil() < 1.0 && step > f64::MIN_POSITIVE * 4.0 {
        step /= 2.0;
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last.min(first + 8))
        .map(|i| egui_plot::GridMark {
            value: i as f64 * step,
            step_size: step,
        })
        .collect()
}

impl PlotsPanel {
    /// The plotted series over the window as CSV: a row per sampled tick,
    /// a column per metric and node (`free_pages_node0`, ...); a metric a
    /// node has no value for at a tick is left empty.
    fn csv(&self, pts: &[&HistPoint], nodes: usize) -> String {
        let mut cols: Vec<(String, std::collections::BTreeMap<u64, f64>)> = Vec::new();
        for m in &METRICS {
            for nid in 0..nodes {
                let series = self.series(pts, m, nid);
                cols.push((
                    format!("{}_node{nid}", m.column),
                    series.iter().map(|p| (p[0] as u64, p[1])).collect(),
                ));
            }
        }
        let mut s = String::from("tick");
        for (name, _) in &cols {
            s.push(',');
            s.push_str(name);
        }
        s.push('\n');
        for p in pts.iter().skip(1) {
            s.push_str(&p.tick.to_string());
            for (_, v) in &cols {
                s.push(',');
                if let Some(y) = v.get(&p.tick) {
                    s.push_str(&y.to_string());
                }
            }
            s.push('\n');
        }
        s
    }

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
            let last = s.history.points.back().map(|p| p.tick).unwrap_or(0);
            let from = last.saturating_sub(self.window);
            let pts: Vec<&HistPoint> = s.history.points.iter().filter(|p| p.tick >= from).collect();
            let nn = s.machine.scenario.topology.nodes.len();
            if ui
                .button("Copy CSV")
                .on_hover_text(
                    "the plotted window as CSV, a column per metric and node, to the clipboard",
                )
                .clicked()
            {
                ui.ctx().copy_text(self.csv(&pts, nn));
                self.saved = Some("copied to the clipboard".into());
            }
            #[cfg(not(target_arch = "wasm32"))]
            if ui
                .button("Save CSV")
                .on_hover_text("the plotted window as CSV into the current directory")
                .clicked()
            {
                let path = format!("numasim-plots-{}-tick{last}.csv", s.machine.scenario.name);
                self.saved = Some(match std::fs::write(&path, self.csv(&pts, nn)) {
                    Ok(()) => format!("wrote {path}"),
                    Err(e) => format!("{path}: {e}"),
                });
            }
            if let Some(msg) = &self.saved {
                ui.label(egui::RichText::new(msg).small().color(theme::DIM));
            }
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
                            .y_axis_label(m.unit)
                            .y_axis_min_width(40.0)
                            .y_grid_spacer(y_marks)
                            .y_axis_formatter(|mark, _| compact(mark.value))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_labels() {
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(2_400_000.0), "2.4M");
        assert_eq!(compact(350_000.0), "350k");
        assert_eq!(compact(12_500.0), "12.5k");
        assert_eq!(compact(-0.25), "-0.25");
        assert_eq!(compact(3.0e9), "3G");
        assert_eq!(compact(999.0), "999");
    }

    #[test]
    fn y_marks_are_few_and_round() {
        let m = |lo, hi| -> Vec<f64> {
            y_marks(egui_plot::GridInput {
                bounds: (lo, hi),
                base_step_size: 0.0,
            })
            .iter()
            .map(|g| g.value)
            .collect()
        };
        assert_eq!(m(0.0, 2_400_000.0), vec![0.0, 2_000_000.0]);
        assert_eq!(m(-1.0, 0.0), vec![-1.0, -0.5, 0.0]);
        assert_eq!(m(0.0, 90.0), vec![0.0, 50.0]);
        // A flat series at 0, which the plot shows over -0.5..0.6: one
        // round mark would be all the axis says.
        assert_eq!(m(-0.5, 0.6), vec![-0.5, 0.0, 0.5]);
        for (lo, hi) in [(0.0, 1.0), (0.0, 7.3e6), (-3.0, 1234.0)] {
            let v = m(lo, hi);
            assert!((2..=3).contains(&v.len()), "{lo}..{hi}: {v:?}");
            // A step of at least half the range: labels stay apart.
            assert!(v[1] - v[0] >= (hi - lo) / 2.0 * 0.999);
        }
    }
}
