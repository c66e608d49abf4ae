//! The lock panel: the most contended lock classes (zone->lock per zone
//! as the tick takes it, from the newest stats sample, never a blocking
//! read; the control paths' locks from the validator's record), the
//! newest lockdep report with the paths it names, and the variant
//! switches, each a file write.

use super::session::Session;
use super::{switch_row, theme, Panel};
use crate::kernel::lockdep::stat::{by_contention, Stats};
use crate::kernel::lockdep::zone_lock::{classes, zones_stats};
use crate::procfs::lockdep::VARIANTS;

#[derive(Default)]
pub struct LocksPanel;

impl Panel for LocksPanel {
    fn title(&self) -> &'static str {
        "Locks"
    }
    fn ui(&mut self, ui: &mut egui::Ui, s: &mut Session) {
        locks_ui(ui, s);
    }
}

fn us(ns: u64) -> String {
    format!("{:.2}", ns as f64 / 1000.0)
}

pub fn locks_ui(ui: &mut egui::Ui, s: &mut Session) {
    let gen = s.machine.lock_gen();
    let zones: Vec<Option<Stats>> = s
        .latest
        .as_ref()
        .map(|l| zones_stats(&l.lock_stats, gen))
        .unwrap_or_default();
    ui.label(
        egui::RichText::new("zone->lock as the tick takes it (per zone, since boot or the last `echo 0 > /proc/lock_stat`)")
            .small()
            .color(theme::DIM),
    );
    egui::Grid::new("zone_lock")
        .striped(true)
        .spacing([12.0, 3.0])
        .show(ui, |ui| {
            for t in [
                "zone",
                "acquisitions",
                "contentions",
                "contended %",
                "wait avg us",
                "wait max us",
                "hold avg us",
                "bounces",
            ] {
                ui.strong(t);
            }
            ui.end_row();
            let topo = &s.machine.scenario.topology;
            for (z, st) in zones.iter().enumerate() {
                let Some(st) = st else { continue };
                if st.acquisitions() == 0 {
                    continue;
                }
                let zd = &topo.zones[z];
                ui.label(format!("node {} {}", zd.node, zd.zone_type.name()));
                ui.label(st.acquisitions().to_string());
                ui.label(st.contentions().to_string());
                ui.label(format!(
                    "{:.2}",
                    100.0 * st.contentions() as f64 / st.acquisitions().max(1) as f64
                ));
                ui.label(us(st
                    .write_wait
                    .total
                    .checked_div(st.write_wait.nr)
                    .unwrap_or(0)));
                ui.label(us(st.write_wait.max));
                ui.label(us(st
                    .write_hold
                    .total
                    .checked_div(st.write_hold.nr)
                    .unwrap_or(0)));
                ui.label(st.acq_bounces_write.to_string());
                ui.end_row();
            }
        });
    ui.separator();
    // Every class, as /proc/lock_stat orders them.
    let classes = classes(&s.machine.lockdep.stats, &zones);
    ui.label(egui::RichText::new("top classes").strong());
    egui::Grid::new("lock_classes")
        .striped(true)
        .spacing([12.0, 3.0])
        .show(ui, |ui| {
            for t in ["class", "contentions", "acquisitions", "wait total us"] {
                ui.strong(t);
            }
            ui.end_row();
            for (c, con, acq, wait) in by_contention(&classes).into_iter().take(8) {
                if acq == 0 {
                    continue;
                }
                ui.label(c.name());
                ui.label(con.to_string());
                ui.label(acq.to_string());
                ui.label(us(wait));
                ui.end_row();
            }
        });
    ui.separator();
    let ld = &s.machine.lockdep;
    ui.label(format!(
        "lockdep: {} classes, {} dependencies, {} chains, debug_locks {}",
        ld.classes.len(),
        ld.edges.len(),
        ld.chains.len(),
        ld.debug_locks as u8
    ));
    match ld.reports.last() {
        None => {
            ui.label(
                egui::RichText::new("no report: every path so far keeps the lock order")
                    .color(theme::DIM),
            );
        }
        Some(r) => {
            ui.label(
                egui::RichText::new(format!(
                    "newest report, tick {}: {} (paths: {})",
                    r.tick,
                    r.text
                        .lines()
                        .find(|l| l.starts_with("WARNING")
                            || l.starts_with("BUG")
                            || l.starts_with("numasim"))
                        .unwrap_or(""),
                    r.paths.join(", ")
                ))
                .color(theme::WARN),
            );
            egui::ScrollArea::vertical()
                .id_salt("lockdep_report")
                .max_height(220.0)
                .show(ui, |ui| {
                    ui.label(egui::RichText::new(&r.text).monospace().small());
                });
        }
    }
    ui.separator();
    let mut v = ld.variants;
    egui::Grid::new("lock_variants").show(ui, |ui| {
        for (name, note) in VARIANTS {
            let on = v.flag_mut(name).is_some_and(|f| *f);
            let path = format!("/sys/kernel/debug/numasim/variants/{name}");
            switch_row(ui, s, &path, on, &format!("variant: {note}"));
        }
    });
}
