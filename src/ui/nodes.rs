//! Per-node pool cards and the topology (SLIT distances, tiers, CPU-less
//! nodes).

use super::session::{NodePoint, Session};
use super::theme::{self, mib};
use crate::model::frame::{MIGRATETYPE_NAMES, MIGRATE_TYPES, NR_PAGE_ORDERS};
use egui::{Color32, Rect, Sense, Stroke, Vec2};

/// What a card shows: the node's configuration summed over its zones,
/// and its newest history point (the session sums the sample per node once).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeSummary {
    pub managed: u64,
    pub wmark: [u64; 3],
    pub point: NodePoint,
}

pub fn summarize(s: &Session, nid: u32) -> NodeSummary {
    let mut n = NodeSummary::default();
    for zd in s.machine.config().zones.iter().filter(|z| z.node == nid) {
        n.managed += zd.managed as u64;
        n.wmark[0] += zd.wmark_min as u64;
        n.wmark[1] += zd.wmark_low as u64;
        n.wmark[2] += zd.wmark_high as u64;
    }
    if let Some(p) = s
        .history
        .points
        .back()
        .and_then(|p| p.nodes.get(nid as usize))
    {
        n.point = p.clone();
    }
    n
}

pub fn topology_ui(ui: &mut egui::Ui, s: &Session) {
    let topo = &s.machine.scenario.topology;
    ui.strong("Topology (SLIT distances)");
    egui::Grid::new("slit").spacing([6.0, 2.0]).show(ui, |ui| {
        ui.label("");
        for n in &topo.nodes {
            ui.colored_label(theme::node_color(n.id), format!("n{}", n.id));
        }
        ui.end_row();
        for (i, row) in topo.distance.iter().enumerate() {
            ui.colored_label(theme::node_color(i as u32), format!("n{i}"));
            for &d in row {
                let c = if d == 10 {
                    theme::OK
                } else if d <= 21 {
                    Color32::from_gray(200)
                } else {
                    theme::WARN
                };
                ui.label(egui::RichText::new(d.to_string()).monospace().color(c));
            }
            ui.end_row();
        }
    });
}

/// A bar of `frac` with watermark ticks, on a log scale so the
/// watermarks (about 1% of the zone) stay visible next to the free level.
fn gauge(ui: &mut egui::Ui, free: u64, managed: u64, wmark: [u64; 3]) {
    let w = ui.available_width();
    let (rect, resp) = ui.allocate_exact_size(Vec2::new(w, 14.0), Sense::hover());
    let p = ui.painter();
    p.rect_filled(rect, 3.0, Color32::from_gray(40));
    let scale = |v: u64| ((1.0 + v as f64).ln() / (1.0 + managed.max(1) as f64).ln()) as f32;
    let fill = Rect::from_min_max(
        rect.min,
        egui::pos2(
            rect.min.x + rect.width() * scale(free).clamp(0.0, 1.0),
            rect.max.y,
        ),
    );
    let color = if free < wmark[0] {
        theme::BAD
    } else if free < wmark[1] {
        theme::WARN
    } else {
        theme::free_order(6)
    };
    p.rect_filled(fill, 3.0, color);
    for (i, &m) in wmark.iter().enumerate() {
        let x = rect.min.x + rect.width() * scale(m);
        let c = [theme::BAD, theme::WARN, theme::OK][i];
        p.line_segment(
            [
                egui::pos2(x, rect.min.y - 2.0),
                egui::pos2(x, rect.max.y + 2.0),
            ],
            Stroke::new(2.0, c),
        );
    }
    resp.on_hover_text(format!(
        "free {} of {} managed (log scale)\nwatermarks: min {}  low {}  high {} (pages: {} / {} / {})",
        mib(free),
        mib(managed),
        mib(wmark[0]),
        mib(wmark[1]),
        mib(wmark[2]),
        wmark[0],
        wmark[1],
        wmark[2]
    ));
}

fn order_bars(ui: &mut egui::Ui, blocks: &[u64; NR_PAGE_ORDERS]) {
    let w = ui.available_width();
    let h = 38.0;
    let (rect, resp) = ui.allocate_exact_size(Vec2::new(w, h + 12.0), Sense::hover());
    let p = ui.painter();
    let pages: Vec<u64> = blocks.iter().enumerate().map(|(o, &b)| b << o).collect();
    // Log scale: order 10 often holds most free memory, and the low
    // orders (fragmentation) must stay visible beside it.
    let max = ((pages.iter().copied().max().unwrap_or(0)) as f32 + 1.0)
        .ln()
        .max(1.0);
    let bw = w / NR_PAGE_ORDERS as f32;
    for (o, &pg) in pages.iter().enumerate() {
        let frac = (pg as f32 + 1.0).ln() / max;
        let x0 = rect.min.x + o as f32 * bw;
        let bar = Rect::from_min_max(
            egui::pos2(x0 + 1.0, rect.min.y + h * (1.0 - frac)),
            egui::pos2(x0 + bw - 1.0, rect.min.y + h),
        );
        p.rect_filled(bar, 1.0, theme::free_order(o));
        p.text(
            egui::pos2(x0 + bw / 2.0, rect.min.y + h + 1.0),
            egui::Align2::CENTER_TOP,
            o.to_string(),
            egui::FontId::proportional(9.0),
            theme::DIM,
        );
    }
    let row: Vec<String> = blocks.iter().map(|b| b.to_string()).collect();
    resp.on_hover_text(format!(
        "free memory by order (bar: pages in blocks of that order, log scale)\nbuddyinfo row: {}",
        row.join(" ")
    ));
}

fn mt_bar(ui: &mut egui::Ui, by_mt: &[u64; MIGRATE_TYPES]) {
    let w = ui.available_width();
    let (rect, resp) = ui.allocate_exact_size(Vec2::new(w, 10.0), Sense::hover());
    let p = ui.painter();
    let total: u64 = by_mt.iter().sum::<u64>().max(1);
    let mut x = rect.min.x;
    for (mt, &v) in by_mt.iter().enumerate() {
        let dx = rect.width() * v as f32 / total as f32;
        if dx > 0.0 {
            p.rect_filled(
                Rect::from_min_max(egui::pos2(x, rect.min.y), egui::pos2(x + dx, rect.max.y)),
                0.0,
                theme::migratetype(mt),
            );
        }
        x += dx;
    }
    let text: Vec<String> = by_mt
        .iter()
        .enumerate()
        .filter(|(_, &v)| v > 0)
        .map(|(mt, &v)| format!("{}: {}", MIGRATETYPE_NAMES[mt], mib(v)))
        .collect();
    resp.on_hover_text(format!("free memory by migratetype\n{}", text.join("\n")));
}

/// One node's card.
pub fn node_card_ui(ui: &mut egui::Ui, s: &Session, nid: u32) {
    let topo = &s.machine.scenario.topology;
    let node = &topo.nodes[nid as usize];
    let n = summarize(s, nid);
    egui::Frame::group(ui.style())
        .stroke(Stroke::new(1.0, theme::node_color(nid).gamma_multiply(0.6)))
        .inner_margin(6.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(
                    egui::RichText::new(format!("Node {nid}"))
                        .strong()
                        .color(theme::node_color(nid)),
                );
                if node.cpus.is_empty() {
                    ui.label(egui::RichText::new("CPU-less").small().color(theme::WARN));
                } else {
                    ui.label(
                        egui::RichText::new(format!("{} CPUs", node.cpus.len()))
                            .small()
                            .color(theme::DIM),
                    );
                }
                ui.label(
                    egui::RichText::new(format!("tier {}", node.tier))
                        .small()
                        .color(if node.tier > 0 {
                            theme::WARN
                        } else {
                            theme::DIM
                        }),
                );
            });
            let used = n.managed.saturating_sub(n.point.free_pages);
            egui::Grid::new(("card", nid))
                .num_columns(4)
                .spacing([8.0, 1.0])
                .show(ui, |ui| {
                    let kv = |ui: &mut egui::Ui, k: &str, v: String| {
                        ui.label(egui::RichText::new(k).small().color(theme::DIM));
                        ui.label(egui::RichText::new(v).monospace());
                    };
                    kv(ui, "total", mib(n.managed));
                    kv(ui, "free", mib(n.point.free_pages));
                    ui.end_row();
                    kv(ui, "used", mib(used));
                    kv(ui, "reclaimable", mib(n.point.reclaimable));
                    ui.end_row();
                });
            gauge(ui, n.point.free_pages, n.managed, n.wmark);
            ui.add_space(2.0);
            order_bars(ui, &n.point.free_blocks);
            mt_bar(ui, &n.point.free_by_mt);
            ui.horizontal_wrapped(|ui| {
                let stat = |ui: &mut egui::Ui, k: &str, v: u64, bad: bool| {
                    let c = if bad && v > 0 {
                        theme::BAD
                    } else {
                        Color32::from_gray(210)
                    };
                    ui.label(egui::RichText::new(format!("{k} {v}")).small().color(c));
                };
                stat(ui, "fail", n.point.failures, true);
                stat(ui, "stall", n.point.stalls, true);
                stat(ui, "reclaimed", n.point.reclaimed, false);
                stat(ui, "fallback", n.point.fallbacks, false);
            });
        });
}

/// The left column: topology, then a card per node.
pub fn nodes_ui(ui: &mut egui::Ui, s: &Session) {
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            topology_ui(ui, s);
            ui.add_space(6.0);
            for nid in 0..s.machine.scenario.topology.nodes.len() as u32 {
                node_card_ui(ui, s, nid);
                ui.add_space(4.0);
            }
        });
}
