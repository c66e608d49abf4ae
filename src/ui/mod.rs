//! The egui dashboard. It reads and commands a `Session` and never owns
//! simulation logic: every knob is a command of the shell language.
//!
//! Layout: controls on top, the status bar at the bottom, node cards (with
//! the topology) on the left, the frame map in the middle and tabbed
//! panels (plots, console, tunables) below it. A subsystem adds a panel by
//! implementing `Panel` and pushing it onto `Dashboard::tabs`, and adds
//! frame-map states in `engine::frame_map`; nothing else changes.

pub mod console;
pub mod hugetlb;
pub mod locks;
pub mod map;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
pub mod nodes;
pub mod numa;
pub mod plots;
pub mod reporting;
pub mod session;
pub mod theme;

pub use session::{BackendChoice, Session, Source};

/// A tab below the frame map.
pub trait Panel {
    fn title(&self) -> &'static str;
    fn ui(&mut self, ui: &mut egui::Ui, s: &mut Session);
}

/// The vm tunables, written through /proc and /sys.
#[derive(Default)]
pub struct TunablesPanel;

impl Panel for TunablesPanel {
    fn title(&self) -> &'static str {
        "Tunables"
    }
    fn ui(&mut self, ui: &mut egui::Ui, s: &mut Session) {
        tunables_ui(ui, s);
    }
}

/// One row of the tunables grid: the file, its value, what it does. A
/// finished edit writes the file.
pub(crate) fn knob_row(
    ui: &mut egui::Ui,
    s: &mut Session,
    path: &str,
    value: u64,
    range: std::ops::RangeInclusive<u64>,
    note: &str,
) {
    let mut v = value;
    let l = ui.label(path);
    let speed = (*range.end() as f64 / 4096.0).max(1.0);
    let r = ui
        .add(egui::DragValue::new(&mut v).range(range).speed(speed))
        .labelled_by(l.id);
    if r.changed() && !r.dragged() || r.drag_stopped() {
        s.write_file(path, v);
    }
    ui.label(egui::RichText::new(note).small().color(theme::DIM));
    ui.end_row();
}

/// One row of a grid of switches: the file, a checkbox showing `on`, what
/// it does. A click writes 1 or 0 to the file.
pub(crate) fn switch_row(ui: &mut egui::Ui, s: &mut Session, path: &str, on: bool, note: &str) {
    let mut v = on;
    ui.label(path);
    if ui.checkbox(&mut v, "").changed() {
        s.write_file(path, v as u8);
    }
    ui.label(egui::RichText::new(note).small().color(theme::DIM));
    ui.end_row();
}

pub fn tunables_ui(ui: &mut egui::Ui, s: &mut Session) {
    ui.label(
        egui::RichText::new(
            "Each change is a write to the file named, as `echo V > FILE` in the console.",
        )
        .small()
        .color(theme::DIM),
    );
    egui::Grid::new("tunables")
        .num_columns(3)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            let v = s.machine.min_free_kbytes;
            knob_row(
                ui,
                s,
                "/proc/sys/vm/min_free_kbytes",
                v,
                128..=16_777_216,
                "watermarks: min from it, low/high above",
            );
            let v = s.machine.watermark_scale_factor as u64;
            knob_row(
                ui,
                s,
                "/proc/sys/vm/watermark_scale_factor",
                v,
                1..=3000,
                "gap between watermarks, in 1/10000 of memory",
            );
            for n in 0..s.machine.il_weights.len() {
                let v = s.machine.il_weights[n].max(1) as u64;
                let path = format!("/sys/kernel/mm/mempolicy/weighted_interleave/node{n}");
                knob_row(ui, s, &path, v, 1..=255, "weighted-interleave weight");
            }
        });
}

/// A screenshot request (`numasim gui --screenshot FILE --after-ticks N`).
pub struct ScreenshotJob {
    pub path: std::path::PathBuf,
    pub after_ticks: u64,
    /// Frames drawn since the simulation reached `after_ticks`.
    settled: u32,
    requested: bool,
    frames: u64,
    /// Filled by the viewport's screenshot callback.
    image: std::sync::Arc<std::sync::Mutex<Option<std::sync::Arc<egui::ColorImage>>>>,
    /// Where the outcome goes (read by the caller once the window closes).
    pub result: std::sync::Arc<std::sync::Mutex<Option<Result<String, String>>>>,
}

impl ScreenshotJob {
    pub fn new(path: std::path::PathBuf, after_ticks: u64) -> ScreenshotJob {
        ScreenshotJob {
            path,
            after_ticks,
            settled: 0,
            requested: false,
            frames: 0,
            image: Default::default(),
            result: Default::default(),
        }
    }
}

/// A timed run (`numasim gui --exit-after SECONDS`): counts UI frames and
/// ticks, then closes the window and reports both rates.
pub struct TimedRun {
    pub seconds: f64,
    start: Option<(web_time::Instant, u64)>,
    frames: u64,
    pub result: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl TimedRun {
    pub fn new(seconds: f64) -> TimedRun {
        TimedRun {
            seconds,
            start: None,
            frames: 0,
            result: Default::default(),
        }
    }
}

pub struct Dashboard {
    pub session: Session,
    pub timed: Option<TimedRun>,
    pub map: map::MapView,
    pub tabs: Vec<Box<dyn Panel>>,
    pub tab: usize,
    pub seed: u64,
    pub open_path: String,
    pub screenshot: Option<ScreenshotJob>,
    pub render_state: Option<egui_wgpu::RenderState>,
    /// Opens the platform's file picker (the browser's); without one the
    /// controls offer a path box. What is picked arrives through
    /// `Session::open` with `Source::File`.
    pub file_picker: Option<Box<dyn FnMut()>>,
}

/// The tabs below the frame map, in order.
fn default_tabs() -> Vec<Box<dyn Panel>> {
    vec![
        Box::new(plots::PlotsPanel::default()),
        Box::new(console::ConsolePanel),
        Box::new(TunablesPanel),
        Box::new(hugetlb::HugetlbPanel),
        Box::new(locks::LocksPanel),
        Box::new(reporting::ReportingPanel),
        Box::new(numa::NumaPanel::default()),
    ]
}

/// The index of the tab titled `name` (any case), or an error naming the
/// tabs there are.
pub fn tab_index(name: &str) -> Result<usize, String> {
    let tabs = default_tabs();
    tabs.iter()
        .position(|t| t.title().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<_> = tabs.iter().map(|t| t.title().to_lowercase()).collect();
            format!("no tab {name:?}: the tabs are {}", names.join(", "))
        })
}

impl Dashboard {
    pub fn new(session: Session, render_state: Option<egui_wgpu::RenderState>) -> Dashboard {
        let seed = session.machine.seed;
        Dashboard {
            session,
            map: map::MapView::default(),
            tabs: default_tabs(),
            tab: 0,
            seed,
            open_path: String::new(),
            screenshot: None,
            timed: None,
            render_state,
            file_picker: None,
        }
    }

    /// Advances the simulation for this frame, then draws everything.
    pub fn frame(&mut self, ui: &mut egui::Ui) {
        if let Some(job) = &self.screenshot {
            if self.session.stop_at.is_none() {
                // About 200 frames of history for the plots.
                self.session.ticks_per_frame = (job.after_ticks / 200).max(1) as u32;
                self.session.running = true;
            }
            self.session.stop_at = Some(job.after_ticks);
        }
        self.open_dropped(ui);
        self.session.frame();
        if self
            .session
            .stop_at
            .is_some_and(|t| !self.session.running && self.session.machine.tick == t)
        {
            // A run to a fixed tick ends with the state digest on show
            // (at that tick only: later steps do not download it again).
            self.session.want_digest();
        }
        self.show(ui);
        if self.session.running || self.screenshot.is_some() {
            ui.ctx().request_repaint();
        } else if self.session.busy() || self.session.waiting() {
            // A batch or a download is on its way: look again soon.
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(15));
        }
        self.screenshot_step(ui);
        self.timed_step(ui);
    }

    /// A scenario file dropped on the window opens like a picked one.
    /// (In the browser files are read asynchronously: the web front end
    /// reads them and calls `open_bytes`.)
    fn open_dropped(&mut self, ui: &mut egui::Ui) {
        #[cfg(not(target_arch = "wasm32"))]
        {
            let dropped = ui.input(|i| i.raw.dropped_files.clone());
            if let Some(f) = dropped.into_iter().next() {
                let name = f.path().display().to_string();
                match f.bytes() {
                    Ok(b) => self.open_bytes(&name, &b),
                    Err(e) => {
                        self.session.error = Some(session::ErrorPanel::cannot_open(
                            &name,
                            format!("{name}: {e}"),
                        ))
                    }
                }
            }
        }
        #[cfg(target_arch = "wasm32")]
        let _ = ui;
    }

    /// Opens a scenario file's contents (picked, dropped or uploaded);
    /// see `Session::open_bytes`.
    pub fn open_bytes(&mut self, name: &str, bytes: &[u8]) {
        self.session.open_bytes(name, bytes);
        self.seed = self.session.machine.seed;
    }

    fn timed_step(&mut self, ui: &mut egui::Ui) {
        let Some(t) = &mut self.timed else {
            return;
        };
        let tick = self.session.machine.tick;
        let (t0, tick0) = *t.start.get_or_insert((web_time::Instant::now(), tick));
        if tick < tick0 {
            // A reset or a rewind: count from here.
            t.start = Some((t0, tick));
        }
        let tick0 = tick0.min(tick);
        t.frames += 1;
        let dt = t0.elapsed().as_secs_f64();
        ui.ctx().request_repaint();
        if dt >= t.seconds {
            let msg = format!(
                "{}: {:.1} UI frames/s, {:.1} ticks/s over {:.1} s ({} frames, ticks {}..{}), window {:.0}x{:.0} points",
                self.session.machine.backend_name(),
                t.frames as f64 / dt,
                (tick - tick0) as f64 / dt,
                dt,
                t.frames,
                tick0,
                tick,
                ui.ctx().content_rect().width(),
                ui.ctx().content_rect().height(),
            );
            *t.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg);
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    /// Draws the dashboard (no simulation step: tests drive it directly).
    pub fn show(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("controls").show(ui, |ui| self.controls_ui(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        egui::Panel::left("nodes")
            .default_size(330.0)
            .size_range(240.0..=600.0)
            .resizable(true)
            .show(ui, |ui| nodes::nodes_ui(ui, &self.session));
        egui::Panel::bottom("tabs")
            .resizable(true)
            .default_size(330.0)
            .size_range(120.0..=900.0)
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    for (i, t) in self.tabs.iter().enumerate() {
                        ui.selectable_value(&mut self.tab, i, t.title());
                    }
                });
                ui.separator();
                if let Some(t) = self.tabs.get_mut(self.tab) {
                    t.ui(ui, &mut self.session);
                }
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.map
                .map_ui(ui, &mut self.session, self.render_state.as_ref());
        });
        self.error_ui(ui);
    }

    fn controls_ui(&mut self, ui: &mut egui::Ui) {
        let s = &mut self.session;
        ui.horizontal_wrapped(|ui| {
            ui.heading("numasim");
            ui.separator();
            let label = if s.running { "Pause" } else { "Run" };
            if ui.button(label).clicked() {
                s.running = !s.running;
            }
            if ui.add_enabled(!s.running, egui::Button::new("Step")).clicked() {
                s.step();
            }
            let l = ui.label("ticks/frame ≤");
            ui.add(egui::DragValue::new(&mut s.ticks_per_frame).range(1..=4096))
                .labelled_by(l.id)
                .on_hover_text("Most ticks per displayed frame; fewer run when a tick is slow, so the window stays responsive.");
            ui.label(
                egui::RichText::new(format!("(now {})", s.effective_ticks_per_frame))
                    .small()
                    .color(theme::DIM),
            );
            ui.separator();
            let l = ui.label("scenario");
            let mut pick: Option<String> = None;
            egui::ComboBox::from_id_salt("scenario")
                .selected_text(s.source.name().to_string())
                .show_ui(ui, |ui| {
                    for p in Session::presets() {
                        if ui.selectable_label(s.source.name() == p, p).clicked() {
                            pick = Some(p.to_string());
                        }
                    }
                })
                .response
                .labelled_by(l.id);
            if let Some(p) = pick {
                s.open(Source::Preset(p), None);
                self.seed = s.machine.seed;
            }
            if let Some(pick) = &mut self.file_picker {
                if ui
                    .button("Open file…")
                    .on_hover_text("Load a scenario file (TOML) from your disk, or drop one on the page")
                    .clicked()
                {
                    pick();
                }
            } else {
                let resp = ui.add(
                    egui::TextEdit::singleline(&mut self.open_path)
                        .id_salt("open_path")
                        .hint_text("scenario.toml")
                        .desired_width(120.0),
                );
                let enter = resp.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if ui.button("Open").on_hover_text("Open a scenario file from disk (or drop one on the window)").clicked() || enter {
                    let path = self.open_path.trim().to_string();
                    open_file(s, &path);
                    self.seed = s.machine.seed;
                }
            }
            ui.separator();
            let l = ui.label("seed");
            ui.add(egui::DragValue::new(&mut self.seed)).labelled_by(l.id);
            if ui.button("Reset").on_hover_text("Boot the scenario again with this seed").clicked() {
                s.reset(self.seed);
            }
            ui.separator();
            let gpu_name = s
                .gpu
                .as_ref()
                .map(|c| format!("GPU: {}", c.name()))
                .unwrap_or_else(|| "GPU".into());
            let is_gpu = s.is_gpu();
            let mut choice = is_gpu;
            let l = ui.label("backend");
            egui::ComboBox::from_id_salt("backend")
                .selected_text(if is_gpu { gpu_name.clone() } else { "CPU reference".into() })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut choice, false, "CPU reference");
                    ui.selectable_value(&mut choice, true, gpu_name.as_str());
                })
                .response
                .labelled_by(l.id);
            if choice != is_gpu {
                s.set_backend(if choice { BackendChoice::Gpu } else { BackendChoice::Cpu });
            }
        });
        if let Some(n) = &self.session.notice {
            ui.colored_label(theme::WARN, n);
        }
    }

    fn status_ui(&mut self, ui: &mut egui::Ui) {
        let s = &mut self.session;
        let frames = s.frames();
        let tick = s.machine.tick;
        let sim_s = s.machine.now_ns() as f64 / 1e9;
        let backend = s.machine.backend_name();
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new(&backend).small())
                .on_hover_text(&s.backend_note);
            ui.separator();
            ui.label(
                egui::RichText::new(format!("{frames} frames ({})", theme::mib(frames))).small(),
            );
            ui.separator();
            ui.label(
                egui::RichText::new(format!("tick {tick}  ·  {sim_s:.3} s simulated")).small(),
            );
            ui.separator();
            ui.label(egui::RichText::new(format!("{:.1} ticks/s", s.tick_rate.rate())).small());
            ui.separator();
            ui.label(egui::RichText::new(format!("{:.0} UI frames/s", s.ui_rate.rate())).small());
            if !s.running {
                ui.separator();
                ui.label(egui::RichText::new("paused").small().color(theme::WARN));
            }
            ui.separator();
            match s.digest {
                Some((t, d)) if t == tick && !s.busy() => {
                    ui.label(egui::RichText::new(format!("digest {d:016x}")).small().monospace())
                        .on_hover_text("State digest at this tick; `numasim run SCENARIO --seed S --ticks N --quiet` prints the same for the same run");
                }
                _ => {
                    if ui
                        .add_enabled(!s.running, egui::Button::new(egui::RichText::new("digest").small()))
                        .on_hover_text("Compute the state digest of this tick (pause first)")
                        .clicked()
                    {
                        s.want_digest();
                    }
                }
            }
        });
    }

    fn error_ui(&mut self, ui: &mut egui::Ui) {
        let Some(err) = self.session.error.clone() else {
            return;
        };
        let mut open = true;
        egui::Window::new(egui::RichText::new(&err.title).color(theme::BAD))
            .collapsible(false)
            .resizable(true)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .open(&mut open)
            .show(ui.ctx(), |ui| {
                ui.label(egui::RichText::new(&err.message).monospace());
                ui.add_space(6.0);
                ui.label(
                    egui::RichText::new("The simulation you had is still loaded.")
                        .small()
                        .color(theme::DIM),
                );
                if ui.button("Dismiss").clicked() {
                    self.session.error = None;
                }
            });
        if !open {
            self.session.error = None;
        }
    }

    /// Drives a screenshot job: run to the tick, let the map settle, ask
    /// the viewport for a screenshot, write it, close.
    fn screenshot_step(&mut self, ui: &mut egui::Ui) {
        let Some(job) = &mut self.screenshot else {
            return;
        };
        job.frames += 1;
        let ctx = ui.ctx().clone();
        let shot = job.image.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(image) = shot {
            let r = save_screenshot(
                &job.path,
                &image,
                &self.map,
                &mut self.session,
                ctx.pixels_per_point(),
            );
            *job.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if job.frames > 20_000 {
            *job.result.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(Err("no screenshot after 20000 frames".into()));
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if let (Some(e), false) = (&self.session.error, self.session.running) {
            *job.result.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(Err(format!("{}: {}", e.title, e.message)));
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if self.session.machine.tick < job.after_ticks || self.session.running {
            return;
        }
        if job.settled == 0 {
            // The map pass for the final tick must have run before capture.
            let _ = self.session.machine.backend_mut().finish();
        }
        job.settled += 1;
        if job.settled >= 4 && !job.requested {
            job.requested = true;
            let slot = job.image.clone();
            let c2 = ctx.clone();
            ctx.request_screenshot(move |img| {
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(img);
                c2.request_repaint();
            });
        }
    }
}

/// Opens a scenario file from disk (native) into the session; errors go to
/// the error panel.
pub fn open_file(s: &mut Session, path: &str) {
    if path.is_empty() {
        s.error = Some(session::ErrorPanel {
            title: "No file".into(),
            message: "Type the path of a scenario file (TOML) first.".into(),
        });
        return;
    }
    #[cfg(not(target_arch = "wasm32"))]
    let read = std::fs::read(path).map_err(|e| e.to_string());
    #[cfg(target_arch = "wasm32")]
    let read: Result<Vec<u8>, String> = Err(
        "the browser build has no filesystem; use Open file… or drop the file on the page".into(),
    );
    match read {
        Ok(bytes) => {
            s.open_bytes(path, &bytes);
        }
        Err(e) => {
            s.error = Some(session::ErrorPanel::cannot_open(
                path,
                format!("{path}: {e}"),
            ))
        }
    }
}

/// Writes the PNG and a JSON sidecar (`FILE.json`) saying where the frame
/// map is and what it shows, so a test can check the map's colors against
/// the CPU twin.
fn save_screenshot(
    path: &std::path::Path,
    image: &egui::ColorImage,
    map: &map::MapView,
    s: &mut Session,
    ppp: f32,
) -> Result<String, String> {
    let [w, h] = image.size;
    let mut bytes = Vec::with_capacity(w * h * 4);
    for c in &image.pixels {
        bytes.extend_from_slice(&c.to_srgba_unmultiplied());
    }
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .and_then(|mut wr| wr.write_image_data(&bytes))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let rect = map.rect.unwrap_or(egui::Rect::NOTHING);
    let v = map.view.ok_or("the frame map was never drawn")?;
    let digest = s.machine.digest().map_err(|e| e.to_string())?;
    let meta = serde_json::json!({
        "width": w,
        "height": h,
        "pixels_per_point": ppp,
        "tick": s.machine.tick,
        "seed": s.machine.seed,
        "scenario": s.source.name(),
        "backend": s.machine.backend_name(),
        "digest": format!("{digest:016x}"),
        "map_gpu": s.is_gpu() && s.gpu.is_some(),
        "map_rect": [rect.min.x * ppp, rect.min.y * ppp, rect.width() * ppp, rect.height() * ppp],
        "map_mag": v.mag,
        "map_params": {
            "first_pfn": v.params.first_pfn,
            "frames_per_pixel": v.params.frames_per_pixel,
            "width": v.params.width,
            "height": v.params.height,
            "nr_frames": v.params.nr_frames,
        },
    });
    let side = path.with_extension("json");
    std::fs::write(
        &side,
        serde_json::to_string_pretty(&meta).unwrap_or_default(),
    )
    .map_err(|e| format!("{}: {e}", side.display()))?;
    Ok(format!(
        "wrote {} ({w}x{h}) and {} at tick {}",
        path.display(),
        side.display(),
        s.machine.tick
    ))
}
