//! numasim in the browser: the desktop dashboard compiled to wasm32.
//!
//! With WebGPU, the simulation's GPU backend runs on the page's own device
//! (the one egui draws with), exactly as the desktop build runs on
//! eframe's. Without it, wgpu draws the window with WebGL2, which has no
//! compute shaders, and the CPU reference runs single-threaded on a
//! smaller preset, with a notice saying so and why.
//!
//! Nothing here blocks: ticks are submitted in batches, counters arrive
//! through mapped buffers, and console commands and the state digest wait
//! for asynchronous downloads (see `numasim::ui::Session`).
//!
//! The page talks to the module through three calls (`start`,
//! `open_scenario`, `exec`) and reads its state from the attributes of
//! `#numasim-state` (tick, backend, adapter, digest, errors), which is
//! what the browser test reads.
//!
//! URL parameters: `scenario=NAME` (a preset), `seed=N`, `ticks=N` (run to
//! tick N, stop, show the digest), `backend=auto|gpu|cpu`, `paused=1`.

#![cfg(target_arch = "wasm32")]

use numasim::engine::gpu::GpuContext;
use numasim::ui::session::ErrorPanel;
use numasim::ui::{BackendChoice, Dashboard, Session, Source};
use std::cell::RefCell;
use std::sync::Arc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// What the page handed over since the last frame.
#[derive(Default)]
struct Inbox {
    files: Vec<(String, Vec<u8>)>,
    /// Files the browser could not read: name and why.
    unreadable: Vec<(String, String)>,
    lines: Vec<String>,
    ctx: Option<egui::Context>,
}

thread_local! {
    static INBOX: RefCell<Inbox> = RefCell::new(Inbox::default());
}

fn wake() {
    INBOX.with(|i| {
        if let Some(c) = &i.borrow().ctx {
            c.request_repaint();
        }
    });
}

#[wasm_bindgen]
extern "C" {
    /// Opens the page's file input (`window.numasim.pickFile`).
    #[wasm_bindgen(js_namespace = numasim, js_name = pickFile)]
    fn pick_file();
}

/// Loads a scenario file's contents (from the file picker, a drop, or a
/// test); a bad file opens the error panel and the machine keeps running.
#[wasm_bindgen]
pub fn open_scenario(name: String, bytes: Vec<u8>) {
    INBOX.with(|i| i.borrow_mut().files.push((name, bytes)));
    wake();
}

/// Runs a console line, as typed into the console.
#[wasm_bindgen]
pub fn exec(line: String) {
    INBOX.with(|i| i.borrow_mut().lines.push(line));
    wake();
}

/// What the URL asked for.
struct Params {
    scenario: Option<String>,
    seed: Option<u64>,
    ticks: Option<u64>,
    backend: BackendChoice,
    paused: bool,
}

fn params(search: &str) -> Result<Params, String> {
    let q = web_sys::UrlSearchParams::new_with_str(search)
        .map_err(|_| format!("cannot parse the URL's query `{search}`"))?;
    let num = |k: &str| -> Result<Option<u64>, String> {
        q.get(k)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("URL parameter {k}={v}: expected a non-negative integer"))
            })
            .transpose()
    };
    let backend = match q.get("backend").as_deref() {
        None | Some("auto") => BackendChoice::Auto,
        Some("gpu") => BackendChoice::Gpu,
        Some("cpu") => BackendChoice::Cpu,
        Some(v) => {
            return Err(format!(
                "URL parameter backend={v}: expected auto, gpu or cpu"
            ))
        }
    };
    Ok(Params {
        scenario: q.get("scenario"),
        seed: num("seed")?,
        ticks: num("ticks")?,
        backend,
        paused: matches!(q.get("paused").as_deref(), Some("1" | "true")),
    })
}

/// Starts the dashboard on the canvas `canvas_id`. `no_webgpu` is `None`
/// when the page found a WebGPU adapter, else why it found none (shown in
/// the notice).
#[wasm_bindgen]
pub async fn start(canvas_id: String, no_webgpu: Option<String>) -> Result<(), JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let canvas = document
        .get_element_by_id(&canvas_id)
        .ok_or_else(|| format!("no element #{canvas_id}"))?
        .dyn_into::<web_sys::HtmlCanvasElement>()
        .map_err(|_| format!("#{canvas_id} is not a canvas"))?;
    let search = window.location().search().unwrap_or_default();
    let url_error;
    let p = match params(&search) {
        Ok(p) => {
            url_error = None;
            p
        }
        Err(e) => {
            url_error = Some(e);
            params("").map_err(JsValue::from)?
        }
    };

    let mut setup = egui_wgpu::WgpuSetupCreateNew::without_display_handle();
    if no_webgpu.is_some() {
        // Straight to WebGL2: asking for a WebGPU adapter again would fail
        // the same way.
        setup.instance_descriptor.backends = wgpu::Backends::GL;
    }
    // The simulation shares the page's device: ask for the adapter's own
    // limits (buffer sizes, storage buffers per stage), as the desktop does.
    setup.device_descriptor = Arc::new(|adapter: &wgpu::Adapter| wgpu::DeviceDescriptor {
        label: Some("numasim"),
        required_limits: adapter.limits(),
        ..Default::default()
    });
    let options = eframe::WebOptions {
        wgpu_options: egui_wgpu::WgpuConfiguration {
            wgpu_setup: egui_wgpu::WgpuSetup::CreateNew(setup),
            ..Default::default()
        },
        ..Default::default()
    };

    let state = document.get_element_by_id("numasim-state");
    eframe::WebRunner::new()
        .start(
            canvas,
            options,
            Box::new(move |cc| {
                cc.egui_ctx.set_visuals(egui::Visuals::dark());
                INBOX.with(|i| i.borrow_mut().ctx = Some(cc.egui_ctx.clone()));
                let rs = cc.wgpu_render_state.clone();
                let info = rs.as_ref().map(|r| r.adapter.get_info());
                let webgpu = info
                    .as_ref()
                    .is_some_and(|i| i.backend == wgpu::Backend::BrowserWebGpu);
                let gpu = rs.as_ref().filter(|_| webgpu).map(|r| {
                    GpuContext::from_existing(r.device.clone(), r.queue.clone(), r.adapter.get_info())
                });
                let why = match (&no_webgpu, &info) {
                    (Some(why), _) => why.clone(),
                    (None, Some(i)) if !webgpu => format!(
                        "the page got a {:?} adapter ({}), not a WebGPU one",
                        i.backend, i.name
                    ),
                    _ => String::new(),
                };
                // A software WebGPU adapter (SwiftShader) takes seconds a
                // tick on the 32 GiB preset: start it on the small one.
                let software = info
                    .as_ref()
                    .is_some_and(|i| i.device_type == wgpu::DeviceType::Cpu);
                let default = if webgpu && !software { "default" } else { "small" };
                let name = p.scenario.clone().unwrap_or_else(|| default.to_string());
                let mut error = url_error.clone().map(|message| ErrorPanel {
                    title: "Bad URL parameters".into(),
                    message,
                });
                let mut session = match Session::new(Source::Preset(name.clone()), p.seed, p.backend, gpu.clone()) {
                    Ok(s) => s,
                    Err(e) => {
                        error = Some(ErrorPanel::cannot_open(&name, e));
                        Session::new(Source::Preset(default.into()), p.seed, BackendChoice::Auto, gpu)?
                    }
                };
                if webgpu && software && p.scenario.is_none() {
                    session.notice = Some(
                        "This WebGPU adapter is a software one (a CPU rasterizer such as SwiftShader): the simulation runs on it, slowly, on the `small` preset. Pick a larger preset above if you have time.".into(),
                    );
                }
                if !webgpu {
                    session.notice = Some(format!(
                        "No WebGPU: {why}. The CPU reference runs instead, on one thread (the browser build has no threads), on the `{}` preset; the window is drawn with WebGL2.",
                        session.source.name()
                    ));
                }
                if error.is_some() {
                    session.error = error;
                }
                session.running = !p.paused;
                session.stop_at = p.ticks;
                let mut dash = Dashboard::new(session, rs);
                dash.file_picker = Some(Box::new(pick_file));
                Ok(Box::new(WebApp {
                    dash,
                    state,
                    published: String::new(),
                    webgpu: if webgpu { "yes".into() } else { format!("no: {why}") },
                    first_tick_ms: None,
                }))
            }),
        )
        .await
}

struct WebApp {
    dash: Dashboard,
    /// `#numasim-state`, whose attributes mirror the session.
    state: Option<web_sys::Element>,
    published: String,
    webgpu: String,
    /// When the first tick had run (ms since the page's time origin).
    first_tick_ms: Option<f64>,
}

impl eframe::App for WebApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let (files, unreadable, lines) = INBOX.with(|i| {
            let mut i = i.borrow_mut();
            (
                std::mem::take(&mut i.files),
                std::mem::take(&mut i.unreadable),
                std::mem::take(&mut i.lines),
            )
        });
        for (name, bytes) in files {
            self.dash.open_bytes(&name, &bytes);
        }
        for (name, why) in unreadable {
            self.dash.session.error =
                Some(ErrorPanel::cannot_open(&name, format!("{name}: {why}")));
        }
        for l in lines {
            self.dash.session.exec(&l);
        }
        // Files dropped on the canvas: the browser reads them
        // asynchronously, then they arrive like picked ones.
        for f in ui.input(|i| i.raw.dropped_files.clone()) {
            wasm_bindgen_futures::spawn_local(async move {
                let name = f.path().display().to_string();
                match f.bytes_async().await {
                    Ok(b) => open_scenario(name, b),
                    Err(e) => {
                        INBOX.with(|i| i.borrow_mut().unreadable.push((name, e)));
                        wake();
                    }
                }
            });
        }
        self.dash.frame(ui);
        self.publish();
    }
}

impl WebApp {
    /// Mirrors the session into `#numasim-state` (only what changed).
    fn publish(&mut self) {
        let Some(el) = &self.state else {
            return;
        };
        let is_gpu = self.dash.session.is_gpu();
        let s = &self.dash.session;
        let tick = s.machine.tick;
        // The first tick counts once its counters are in (on the GPU,
        // when the device has run it, not when it was submitted).
        if self.first_tick_ms.is_none() && s.latest.as_ref().is_some_and(|l| l.tick > 0) {
            self.first_tick_ms = web_sys::window()
                .and_then(|w| w.performance())
                .map(|p| p.now());
        }
        let digest = match s.digest {
            Some((t, d)) => (t.to_string(), format!("{d:016x}")),
            None => (String::new(), String::new()),
        };
        let last = s.console.log.last();
        let error = s
            .error
            .as_ref()
            .map(|e| format!("{}: {}", e.title, e.message))
            .unwrap_or_default();
        let adapter = s
            .gpu
            .as_ref()
            .map(|g| g.describe())
            .unwrap_or_else(|| "none".into());
        let attrs: Vec<(&str, String)> = vec![
            ("data-ready", "1".into()),
            ("data-tick", tick.to_string()),
            ("data-running", s.running.to_string()),
            ("data-scenario", s.source.name().to_string()),
            ("data-seed", s.machine.seed.to_string()),
            ("data-backend", s.machine.backend_name()),
            ("data-gpu", is_gpu.to_string()),
            ("data-adapter", adapter),
            ("data-webgpu", self.webgpu.clone()),
            ("data-notice", s.notice.clone().unwrap_or_default()),
            ("data-error", error),
            ("data-digest-tick", digest.0),
            ("data-digest", digest.1),
            ("data-console-count", s.console.log.len().to_string()),
            (
                "data-console-last",
                last.map(|e| format!("{}\n{}", e.cmd, e.out))
                    .unwrap_or_default(),
            ),
            (
                "data-console-ok",
                last.map(|e| e.ok.to_string()).unwrap_or_default(),
            ),
            (
                "data-first-tick-ms",
                self.first_tick_ms
                    .map(|t| format!("{t:.0}"))
                    .unwrap_or_default(),
            ),
        ];
        let key: String = attrs.iter().map(|(k, v)| format!("{k}={v}\u{1}")).collect();
        if key == self.published {
            return;
        }
        for (k, v) in &attrs {
            let _ = el.set_attribute(k, v);
        }
        self.published = key;
    }
}
