//! The NUMA balancing panel: what the tick's phases did (faults, local
//! share, migrations, TLB shootdowns), the pages migrated between nodes,
//! each task's locality (the share of its memory on the nodes its threads
//! run on), hint faults per node over time, and the knobs
//! (`kernel.numa_balancing`, the scan tunables, the restore order), each
//! a file write. Everything comes from the newest stats sample: never a
//! blocking read.

use super::session::{HistPoint, Session};
use super::{knob_row, switch_row, theme, Panel};
use crate::engine::types::*;
use crate::kernel::numa::machine::{flows, word64};
use crate::kernel::numa::tlb::RestoreOrder;
use crate::kernel::numa::DEBUGFS_FILES;
use crate::procfs::numa::{DEBUGFS_DIR, SYSCTL_FILE};
use egui_plot::{Line, Plot, PlotPoints};

/// The flow matrix and when it was sampled, to show rates.
#[derive(Default)]
pub struct NumaPanel {
    prev: Option<(u64, Vec<Vec<u64>>)>,
    rates: Vec<Vec<f64>>,
}

impl Panel for NumaPanel {
    fn title(&self) -> &'static str {
        "NUMA"
    }
    fn ui(&mut self, ui: &mut egui::Ui, s: &mut Session) {
        numa_ui(self, ui, s);
    }
}

fn mib(pages: u64) -> String {
    format!("{:.1}", pages as f64 / 256.0)
}

pub fn numa_ui(p: &mut NumaPanel, ui: &mut egui::Ui, s: &mut Session) {
    let Some(latest) = s.latest.clone() else {
        ui.label("waiting for the first sample");
        return;
    };
    let st = &latest.numa_state;
    let ev = |e: usize| word64(st, NE_BASE + 2 * e);
    let nn = s.machine.scenario.topology.nodes.len();
    let mode = s.machine.numa.settings.mode;
    let faults = ev(NE_HINT_FAULTS);
    let local = ev(NE_HINT_FAULTS_LOCAL);
    let migrated = ev(NE_PAGES_MIGRATED);
    ui.label(format!(
        "numa_balancing {mode}   restore order: {}   PTEs made PROT_NONE: {}   hint faults: {faults} ({:.0}% local)   migrated: {} MiB ({} THPs)   refused: {}   TLB IPIs: {} ({:.2} per migrated page)",
        s.machine.numa.restore.name(),
        ev(NE_PTE_UPDATES),
        if faults == 0 { 0.0 } else { 100.0 * local as f64 / faults as f64 },
        mib(migrated),
        ev(NE_THP_MIGRATION_SUCCESS),
        ev(NE_MIGRATE_REFUSED),
        ev(NE_TLB_REMOTE_FLUSH_RECEIVED),
        if migrated == 0 { 0.0 } else { ev(NE_TLB_REMOTE_FLUSH_RECEIVED) as f64 / migrated as f64 },
    ));
    if mode == 0 {
        ui.label(
            egui::RichText::new(
                "NUMA balancing is off: write 1 to /proc/sys/kernel/numa_balancing (below) to start it.",
            )
            .color(theme::DIM),
        );
    }
    // Rates of the flows since the last sample at least half a second of
    // simulated time older.
    let tick = latest.tick as u64;
    let now = flows(st, nn);
    let tick_s = s.machine.tick_ns() as f64 / 1e9;
    match &p.prev {
        Some((t0, f0)) if tick > *t0 && (tick - t0) as f64 * tick_s >= 0.5 => {
            let dt = (tick - t0) as f64 * tick_s;
            p.rates = now
                .iter()
                .zip(f0)
                .map(|(a, b)| {
                    a.iter()
                        .zip(b)
                        .map(|(x, y)| x.saturating_sub(*y) as f64 / 256.0 / dt)
                        .collect()
                })
                .collect();
            p.prev = Some((tick, now.clone()));
        }
        Some((t0, _)) if tick >= *t0 => {}
        _ => p.prev = Some((tick, now.clone())),
    }
    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        ui.label(
            egui::RichText::new("migrated, from row node to column node: MiB (MiB/s)")
                .small()
                .strong(),
        );
        egui::Grid::new("numa_flows").striped(true).show(ui, |ui| {
            ui.label("");
            for b in 0..nn {
                ui.strong(format!("to N{b}"));
            }
            ui.end_row();
            for (a, row) in now.iter().enumerate() {
                ui.strong(format!("from N{a}"));
                for (b, &pages) in row.iter().enumerate() {
                    let r = p
                        .rates
                        .get(a)
                        .and_then(|r| r.get(b))
                        .copied()
                        .unwrap_or(0.0);
                    let text = if a == b {
                        "-".to_string()
                    } else {
                        format!("{} ({r:.1})", mib(pages))
                    };
                    let mut l = egui::RichText::new(text);
                    if r > 0.0 {
                        l = l.color(theme::node_color(b as u32));
                    }
                    ui.label(l);
                }
                ui.end_row();
            }
        });
        let ui = &mut cols[1];
        ui.label(
            egui::RichText::new("tasks: memory on their threads' nodes")
                .small()
                .strong(),
        );
        egui::Grid::new("numa_tasks").striped(true).show(ui, |ui| {
            for h in ["pid", "task", "threads on", "local", "MiB by node"] {
                ui.strong(h);
            }
            ui.end_row();
            let nz = s.machine.scenario.topology.zones.len();
            let topo = s.machine.scenario.topology.clone();
            for (i, t) in s.machine.tasks.iter().enumerate() {
                if t.stopped || (i + 1) * nz > latest.task_rss.len() {
                    continue;
                }
                let mut per_node = vec![0u64; nn];
                for (z, zone) in topo.zones.iter().enumerate() {
                    per_node[zone.node as usize] += latest.task_rss[i * nz + z] as u64;
                }
                let total: u64 = per_node.iter().sum();
                if total == 0 {
                    continue;
                }
                let mut on: Vec<u32> = t
                    .numa
                    .thread_cpus
                    .iter()
                    .filter_map(|&c| topo.cpu_node(c))
                    .collect();
                on.sort_unstable();
                on.dedup();
                let here: u64 = on.iter().map(|&n| per_node[n as usize]).sum();
                let share = here as f32 / total as f32;
                ui.label(crate::kernel::numa::machine::task_pid(i).to_string());
                ui.label(&t.name);
                ui.label(format!("N{}", crate::model::workload::format_nodelist(&on)));
                ui.add(
                    egui::ProgressBar::new(share)
                        .desired_width(80.0)
                        .text(format!("{:.0}%", 100.0 * share)),
                );
                ui.label(
                    per_node
                        .iter()
                        .enumerate()
                        .filter(|(_, &p)| p > 0)
                        .map(|(n, &p)| format!("N{n} {}", mib(p)))
                        .collect::<Vec<_>>()
                        .join("  "),
                );
                ui.end_row();
            }
        });
    });
    ui.separator();
    egui::Grid::new("numa_knobs")
        .num_columns(3)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            knob_row(ui, s, SYSCTL_FILE, mode as u64, 0..=4, "0 off, 1 on (2, 3: memory tiering)");
            for name in DEBUGFS_FILES {
                let v = s.machine.numa.debugfs(name).unwrap_or(0) as u64;
                knob_row(ui, s, &format!("{DEBUGFS_DIR}{name}"), v, 0..=600_000, "debugfs u32");
            }
            for (order, note) in [
                (RestoreOrder::RestoreFirst, "variant: restore the PTE/PMD before migrating (5.12, the THP RFC): a flush and IPIs per migrated base page"),
                (RestoreOrder::LegacyThp, "variant: the pre-5.14 THP path (no PMD flush)"),
            ] {
                let path = format!("/sys/kernel/debug/numasim/variants/{}", order.name());
                let on = s.machine.numa.restore == order;
                switch_row(ui, s, &path, on, note);
            }
        });
    ui.separator();
    // Hint faults per tick per node, local and remote.
    let pts: Vec<&HistPoint> = s.history.points.iter().collect();
    let h = (ui.available_height() - 30.0).max(80.0);
    ui.label(
        egui::RichText::new(
            "hint faults per tick by the faulting CPU's node: local (solid) and remote (faint)",
        )
        .small()
        .strong(),
    );
    Plot::new("numa_faults")
        .height(h)
        .include_y(0.0)
        .allow_scroll(false)
        .show(ui, |pu| {
            for nid in 0..nn {
                let series = |f: fn(&super::session::NodePoint) -> u64| -> Vec<[f64; 2]> {
                    pts.windows(2)
                        .filter_map(|w| {
                            let (a, b) = (w[0].nodes.get(nid)?, w[1].nodes.get(nid)?);
                            let dt = (w[1].tick - w[0].tick).max(1) as f64;
                            Some([w[1].tick as f64, f(b).saturating_sub(f(a)) as f64 / dt])
                        })
                        .collect()
                };
                let c = theme::node_color(nid as u32);
                pu.line(
                    Line::new(
                        format!("node {nid} local"),
                        PlotPoints::from(series(|n| n.hint_faults_local)),
                    )
                    .color(c),
                );
                pu.line(
                    Line::new(
                        format!("node {nid} remote"),
                        PlotPoints::from(series(|n| n.hint_faults - n.hint_faults_local)),
                    )
                    .color(c.gamma_multiply(0.45)),
                );
            }
        });
}
