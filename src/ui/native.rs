//! The native window (eframe on wgpu). The simulation's GPU backend runs
//! on eframe's own device, so the frame map texture never leaves the GPU.

use super::{BackendChoice, Dashboard, ScreenshotJob, Session, Source};
use crate::engine::gpu::GpuContext;
use std::sync::Arc;

pub struct GuiOptions {
    pub source: Source,
    pub seed: Option<u64>,
    pub backend: BackendChoice,
    /// Write a screenshot to this file once `after_ticks` have run, then exit.
    pub screenshot: Option<(std::path::PathBuf, u64)>,
    /// Window size in points.
    pub size: [f32; 2],
    /// Start paused.
    pub paused: bool,
    /// Close after this many seconds and report UI frames/s and ticks/s.
    pub exit_after: Option<f64>,
    /// The tab open below the frame map (an index from `tab_index`).
    pub tab: usize,
}

/// Whether a window can be opened here (on Linux: an X11 or Wayland display).
pub fn display_available() -> bool {
    if cfg!(target_os = "linux") {
        std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
            || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
    } else {
        true
    }
}

impl eframe::App for Dashboard {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }
}

/// Opens the dashboard and runs until the window closes. With a
/// screenshot request, returns what the job reported.
pub fn run(opts: GuiOptions) -> Result<Option<String>, String> {
    let mut setup = egui_wgpu::WgpuSetupCreateNew::without_display_handle();
    // The simulation shares this device: ask for the adapter's own limits
    // (big machines need its storage-buffer sizes), as device::open does.
    setup.device_descriptor = Arc::new(|adapter: &wgpu::Adapter| {
        let mut limits = adapter.limits();
        limits.max_texture_dimension_2d = limits.max_texture_dimension_2d.max(2048);
        wgpu::DeviceDescriptor {
            label: Some("numasim"),
            required_limits: limits,
            ..Default::default()
        }
    });
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("numasim")
            .with_inner_size(opts.size)
            .with_min_inner_size([800.0, 500.0]),
        renderer: eframe::Renderer::Wgpu,
        wgpu_options: egui_wgpu::WgpuConfiguration {
            wgpu_setup: egui_wgpu::WgpuSetup::CreateNew(setup),
            ..Default::default()
        },
        ..Default::default()
    };
    let job = opts
        .screenshot
        .as_ref()
        .map(|(p, n)| ScreenshotJob::new(p.clone(), *n));
    let result = job.as_ref().map(|j| j.result.clone());
    let timed = opts.exit_after.map(super::TimedRun::new);
    let timed_result = timed.as_ref().map(|t| t.result.clone());
    let GuiOptions {
        source,
        seed,
        backend,
        paused,
        tab,
        ..
    } = opts;
    eframe::run_native(
        "numasim",
        native,
        Box::new(move |cc| {
            cc.egui_ctx.set_visuals(egui::Visuals::dark());
            let rs = cc.wgpu_render_state.clone();
            let gpu = rs.as_ref().map(|r| {
                GpuContext::from_existing(r.device.clone(), r.queue.clone(), r.adapter.get_info())
            });
            let mut session = Session::new(source, seed, backend, gpu)?;
            session.running = !paused;
            let mut d = Dashboard::new(session, rs);
            d.tab = tab;
            d.screenshot = job;
            d.timed = timed;
            Ok(Box::new(d))
        }),
    )
    .map_err(|e| format!("the dashboard could not open a window: {e}"))?;
    if let Some(t) = timed_result {
        if let Some(msg) = t.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Ok(Some(msg));
        }
    }
    match result {
        None => Ok(None),
        Some(r) => match r.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(Ok(msg)) => Ok(Some(msg)),
            Some(Err(e)) => Err(e),
            None => Err("the window closed before the screenshot was taken".into()),
        },
    }
}
