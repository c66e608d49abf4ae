//! The console: the command language of `numasim shell` (cat, echo, ls,
//! tick, spawn, stop, tasks, check, digest), with history on the up and
//! down keys and output in a monospace block.

use super::session::Session;
use super::theme;
use super::Panel;

#[derive(Default)]
pub struct ConsolePanel;

const QUICK: [&str; 7] = [
    "cat /proc/buddyinfo",
    "cat /proc/meminfo",
    "cat /proc/zoneinfo",
    "cat /proc/vmstat",
    "tasks",
    "check",
    "digest",
];

pub fn console_ui(ui: &mut egui::Ui, s: &mut Session) {
    ui.horizontal_wrapped(|ui| {
        for q in QUICK {
            if ui.small_button(q).clicked() {
                s.exec(q);
            }
        }
        if ui.small_button("clear").clicked() {
            s.console.log.clear();
        }
    });
    let input_h = 30.0;
    egui::ScrollArea::vertical()
        .max_height(ui.available_height() - input_h)
        .auto_shrink([false, false])
        .stick_to_bottom(true)
        .show(ui, |ui| {
            if s.console.log.is_empty() {
                ui.label(
                    egui::RichText::new("Type `help` for the commands; try `cat /proc/buddyinfo`.")
                        .color(theme::DIM),
                );
            }
            for e in &s.console.log {
                ui.label(
                    egui::RichText::new(format!("$ {}", e.cmd))
                        .monospace()
                        .color(theme::node_color(0)),
                );
                if !e.out.is_empty() {
                    let mut text = egui::RichText::new(e.out.trim_end()).monospace();
                    if !e.ok {
                        text = text.color(theme::BAD);
                    }
                    ui.label(text);
                }
            }
            for p in s.pending() {
                ui.label(
                    egui::RichText::new(format!("$ {p}    (waiting for the GPU's state…)"))
                        .monospace()
                        .color(theme::DIM),
                );
            }
        });
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new("$").monospace());
        let resp = ui.add(
            egui::TextEdit::singleline(&mut s.console.input)
                .id_salt("console_input")
                .font(egui::TextStyle::Monospace)
                .hint_text("cat /proc/buddyinfo")
                .desired_width(ui.available_width() - 60.0),
        );
        let enter = resp.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if resp.has_focus() {
            let (up, down) = ui.input(|i| {
                (
                    i.key_pressed(egui::Key::ArrowUp),
                    i.key_pressed(egui::Key::ArrowDown),
                )
            });
            let h = &s.console.history;
            if up && !h.is_empty() {
                let pos = s
                    .console
                    .history_pos
                    .map(|p| p.saturating_sub(1))
                    .unwrap_or(h.len() - 1);
                s.console.history_pos = Some(pos);
                s.console.input = h[pos].clone();
            }
            if down {
                if let Some(p) = s.console.history_pos {
                    if p + 1 < h.len() {
                        s.console.history_pos = Some(p + 1);
                        s.console.input = h[p + 1].clone();
                    } else {
                        s.console.history_pos = None;
                        s.console.input.clear();
                    }
                }
            }
        }
        let run = ui.button("Execute").clicked();
        if enter || run {
            let line = std::mem::take(&mut s.console.input);
            s.exec(&line);
            resp.request_focus();
        }
    });
}

impl Panel for ConsolePanel {
    fn title(&self) -> &'static str {
        "Console"
    }
    fn ui(&mut self, ui: &mut egui::Ui, s: &mut Session) {
        console_ui(ui, s);
    }
}
