//! The hugetlb panel: per node, what the pools hold (total, free,
//! surplus, temporary; reservations are global, as in the kernel), what
//! HVO gave back and what it cost (vmemmap saved, PMD splits, restore
//! failures); the pool knobs and the variants, each a file write.

use super::session::Session;
use super::{knob_row, switch_row, theme, Panel};
use crate::kernel::hugetlb::*;

#[derive(Default)]
pub struct HugetlbPanel;

impl Panel for HugetlbPanel {
    fn title(&self) -> &'static str {
        "Hugetlb"
    }
    fn ui(&mut self, ui: &mut egui::Ui, s: &mut Session) {
        hugetlb_ui(ui, s);
    }
}

pub fn hugetlb_ui(ui: &mut egui::Ui, s: &mut Session) {
    let h = s.machine.hugetlb.clone();
    let d = &h.hstates[HS_2M];
    let g = &h.hstates[HS_1G];
    ui.label(format!(
        "2 MiB: {} pages ({} persistent), {} free, {} reserved, {} surplus of {} overcommit   1 GiB: {} pages, {} free, {} reserved",
        d.nr_huge_pages,
        d.persistent(),
        d.free_huge_pages,
        d.resv_huge_pages,
        d.surplus_huge_pages,
        d.nr_overcommit_huge_pages,
        g.nr_huge_pages,
        g.free_huge_pages,
        g.resv_huge_pages
    ));
    egui::Grid::new("hugetlb_nodes")
        .striped(true)
        .spacing([12.0, 3.0])
        .show(ui, |ui| {
            for t in [
                "node",
                "2M total",
                "free",
                "surplus",
                "temporary",
                "1G total",
                "free",
                "vmemmap saved",
                "PMD splits",
                "restore failures",
                "migrated in",
            ] {
                ui.strong(t);
            }
            ui.end_row();
            for n in 0..h.nr_nodes() {
                let ns = &h.node_stats[n];
                ui.label(format!("{n}"));
                ui.label(d.nr_huge_pages_node[n].to_string());
                ui.label(d.free_huge_pages_node[n].to_string());
                ui.label(d.surplus_huge_pages_node[n].to_string());
                ui.label(h.temporary_on(n as u32).to_string());
                ui.label(g.nr_huge_pages_node[n].to_string());
                ui.label(g.free_huge_pages_node[n].to_string());
                ui.label(format!(
                    "{} ({})",
                    ns.vmemmap_saved,
                    theme::mib(ns.vmemmap_saved)
                ));
                ui.label(ns.pmd_splits.to_string());
                let rf = ui.label(ns.restore_failures.to_string());
                if ns.restore_failures > 0 {
                    rf.on_hover_text("returns to the buddy allocator refused: the vmemmap pages could not be allocated back");
                }
                ui.label(ns.migrated_in.to_string());
                ui.end_row();
            }
        });
    ui.separator();
    ui.label(
        egui::RichText::new(
            "Each change is a write to the file named, as `echo V > FILE` in the console. Pages: `map`, `touch`, `unmap`, `migrate` in the console.",
        )
        .small()
        .color(theme::DIM),
    );
    egui::Grid::new("hugetlb_knobs")
        .num_columns(3)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            knob_row(
                ui,
                s,
                "/proc/sys/vm/nr_hugepages",
                d.max_huge_pages,
                0..=(1 << 24),
                "persistent 2 MiB pages",
            );
            knob_row(
                ui,
                s,
                "/proc/sys/vm/nr_overcommit_hugepages",
                d.nr_overcommit_huge_pages,
                0..=(1 << 24),
                "surplus pages allowed",
            );
            knob_row(
                ui,
                s,
                "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages",
                g.nr_huge_pages,
                0..=(1 << 14),
                "1 GiB pages (contiguous ranges)",
            );
            for (path, on, note) in [
                (
                    "/proc/sys/vm/hugetlb_optimize_vmemmap",
                    h.optimize_vmemmap,
                    "HVO for pages allocated from now on",
                ),
                (
                    "/sys/kernel/debug/numasim/variants/hvo_keep_two",
                    h.variants.hvo_keep_two,
                    "variant: keep 2 vmemmap pages (2021 kernels)",
                ),
                (
                    "/sys/kernel/debug/numasim/variants/hugetlb_temporary_surplus_flaw",
                    h.variants.temporary_surplus_flaw,
                    "variant: the temporary-page surplus flaw",
                ),
            ] {
                switch_row(ui, s, path, on, note);
            }
        });
}
