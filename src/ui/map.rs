//! The frame map panel: all of simulated memory as an image, drawn by the
//! frame map pass (engine::frame_map). With the GPU backend on the
//! dashboard's own device the pass writes a texture egui samples directly,
//! so frames never travel through the CPU; with the CPU reference (or a
//! GPU backend on another device) the CPU twin's pixels are uploaded.
//!
//! Memory is laid out row-major by pfn. Zoom halves the frames per pixel
//! down to one frame per pixel, then magnifies; the mouse wheel pans,
//! Ctrl+wheel (or pinch) zooms around the pointer.

use super::session::Session;
use super::theme;
use crate::engine::frame_map::{
    category_name, FrameMapParams, Probe, CAT_ALLOC, CAT_FREE, CAT_NONE, CAT_RESERVED, NO_PROBE,
    NR_CATEGORIES_USED, PALETTE,
};
use crate::model::frame::{self as fr, MIGRATETYPE_NAMES};
use crate::model::workload::CLASS_NAMES;
use egui::{Color32, Rect, Sense, Stroke, Vec2};
use web_time::{Duration, Instant};

/// The texture the GPU path renders into, registered with egui's renderer.
struct GpuTexture {
    texture: wgpu::Texture,
    id: egui::TextureId,
}

/// What is in view: the pass's parameters and the magnification (screen
/// pixels per map pixel).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    pub params: FrameMapParams,
    pub mag: u32,
}

pub struct MapView {
    /// 0: all memory in view; each step halves frames per pixel, then
    /// doubles the magnification.
    pub zoom: u32,
    pub first_row: u64,
    pub view: Option<View>,
    /// Where the image was drawn, in points.
    pub rect: Option<Rect>,
    rendered: Option<(u64, FrameMapParams)>,
    cpu_tex: Option<egui::TextureHandle>,
    gpu_tex: Option<GpuTexture>,
    pub probe: Option<Probe>,
    hover_pfn: Option<u32>,
    /// The frame the GPU probe was last asked about.
    probe_asked: Option<u32>,
    last_render: Option<Instant>,
    render_cost: Duration,
    pub error: Option<String>,
    /// Force drawing through the CPU twin even on the GPU backend.
    pub force_cpu: bool,
}

impl Default for MapView {
    fn default() -> Self {
        MapView {
            zoom: 0,
            first_row: 0,
            view: None,
            rect: None,
            rendered: None,
            cpu_tex: None,
            gpu_tex: None,
            probe: None,
            hover_pfn: None,
            probe_asked: None,
            last_render: None,
            render_cost: Duration::ZERO,
            error: None,
            force_cpu: false,
        }
    }
}

/// Largest magnification (screen pixels per frame, per side).
const MAX_MAG_LOG2: i32 = 5;

/// The map at scale `level`: 2^level frames per pixel, or for a negative
/// level one frame drawn as 2^-level pixels square. Columns are a multiple
/// of 64 (texture rows are copied 256-byte aligned).
fn layout(w_px: u32, h_px: u32, level: i32) -> (u64, u32, u32, u32) {
    let (fpp, mag) = if level >= 0 {
        (1u64 << level.min(20), 1u32)
    } else {
        (1, 1u32 << (-level).min(MAX_MAG_LOG2))
    };
    let cols = (((w_px / mag) / 64) * 64).max(64);
    let rows = (h_px / mag).max(1);
    (fpp, mag, cols, rows)
}

/// The finest level: the most magnification that still leaves 64 frames
/// per row inside the area.
fn min_level(w_px: u32) -> i32 {
    -((w_px / 64).max(1).ilog2() as i32).min(MAX_MAG_LOG2)
}

/// The finest level at which all of memory is in view.
fn fit_level(nr_frames: u64, w_px: u32, h_px: u32) -> i32 {
    let mut level = min_level(w_px);
    while level < 20 {
        let (fpp, _, cols, rows) = layout(w_px, h_px, level);
        if cols as u64 * rows as u64 * fpp >= nr_frames {
            break;
        }
        level += 1;
    }
    level
}

/// The view for an area of `w_px` x `h_px` physical pixels, `zoom` steps
/// finer than the fit, starting `first_row` rows in.
pub fn compute_view(nr_frames: u64, w_px: u32, h_px: u32, zoom: u32, first_row: u64) -> View {
    let level = (fit_level(nr_frames, w_px, h_px) - zoom as i32).max(min_level(w_px));
    let (fpp, mag, cols, rows) = layout(w_px, h_px, level);
    let total_rows = nr_frames.div_ceil(cols as u64 * fpp);
    let first_row = first_row.min(total_rows.saturating_sub(rows as u64));
    let first_pfn = (first_row * cols as u64 * fpp).min(u32::MAX as u64) as u32;
    // Keep the view inside the 32-bit frame space the pass works in.
    let room = (u32::MAX - first_pfn) as u64 / (cols as u64 * fpp);
    View {
        params: FrameMapParams {
            first_pfn,
            frames_per_pixel: fpp as u32,
            width: cols,
            height: rows.min(room.min(u32::MAX as u64) as u32).max(1),
            nr_frames: nr_frames.min(u32::MAX as u64) as u32,
            probe_pfn: NO_PROBE,
            _pad: [0; 2],
        },
        mag,
    }
}

/// Zoom steps from the fit to the largest magnification.
fn max_zoom(nr_frames: u64, w_px: u32, h_px: u32) -> u32 {
    (fit_level(nr_frames, w_px, h_px) - min_level(w_px)).max(0) as u32
}

impl MapView {
    /// The frame map with its toolbar and legend.
    pub fn map_ui(
        &mut self,
        ui: &mut egui::Ui,
        s: &mut Session,
        rs: Option<&egui_wgpu::RenderState>,
    ) {
        let nr_frames = s.frames();
        ui.horizontal(|ui| {
            ui.strong("Frame map");
            if let Some(v) = &self.view {
                let p = &v.params;
                let fpp = p.frames_per_pixel as u64;
                let end = (p.first_pfn as u64 + p.pixels() as u64 * fpp).min(nr_frames);
                ui.label(
                    egui::RichText::new(format!(
                        "pfn {:#x}..{:#x}  ·  {}  ·  {} frames per row",
                        p.first_pfn,
                        end,
                        if v.mag > 1 {
                            format!("1 frame = {}x{} px", v.mag, v.mag)
                        } else {
                            format!("{fpp} frame{} per pixel", if fpp == 1 { "" } else { "s" })
                        },
                        p.width as u64 * fpp
                    ))
                    .small()
                    .color(theme::DIM),
                );
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .button("Fit")
                    .on_hover_text("Whole memory in view")
                    .clicked()
                {
                    self.zoom = 0;
                    self.first_row = 0;
                }
                if ui
                    .button("+")
                    .on_hover_text("Zoom in (Ctrl+wheel)")
                    .clicked()
                {
                    self.zoom += 1;
                }
                if ui.button("−").on_hover_text("Zoom out").clicked() {
                    self.zoom = self.zoom.saturating_sub(1);
                }
            });
        });
        let legend_h = 46.0;
        let avail = ui.available_size() - Vec2::new(0.0, legend_h);
        let ppp = ui.ctx().pixels_per_point();
        let w_px = (avail.x * ppp).max(64.0) as u32;
        let h_px = (avail.y * ppp).max(16.0) as u32;
        self.zoom = self.zoom.min(max_zoom(nr_frames, w_px, h_px));
        let mut view = compute_view(nr_frames, w_px, h_px, self.zoom, self.first_row);
        self.first_row = (view.params.first_pfn as u64)
            / (view.params.width as u64 * view.params.frames_per_pixel as u64);
        let cell = view.mag as f32 / ppp;
        let size = Vec2::new(
            view.params.width as f32 * cell,
            view.params.height as f32 * cell,
        );
        let (rect, resp) = ui.allocate_exact_size(size, Sense::click_and_drag());
        self.rect = Some(rect);

        // Hover: which frame is under the pointer.
        let pfn_at = |pos: egui::Pos2, v: &View| -> Option<u32> {
            let x = ((pos.x - rect.min.x) / cell).floor();
            let y = ((pos.y - rect.min.y) / cell).floor();
            if x < 0.0 || y < 0.0 || x >= v.params.width as f32 || y >= v.params.height as f32 {
                return None;
            }
            let idx = y as u64 * v.params.width as u64 + x as u64;
            let pfn = v.params.first_pfn as u64 + idx * v.params.frames_per_pixel as u64;
            (pfn < nr_frames).then_some(pfn as u32)
        };
        let hover = resp.hover_pos().and_then(|p| pfn_at(p, &view));

        // Pan with the wheel or a drag; zoom with Ctrl+wheel or a pinch,
        // keeping the frame under the pointer in place.
        if resp.hovered() {
            let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
            if zoom != 1.0 {
                let anchor = hover;
                let before = self.zoom;
                if zoom > 1.0 {
                    self.zoom += 1;
                } else {
                    self.zoom = self.zoom.saturating_sub(1);
                }
                if self.zoom != before {
                    if let (Some(pfn), Some(pos)) = (anchor, resp.hover_pos()) {
                        let nv = compute_view(nr_frames, w_px, h_px, self.zoom, 0);
                        let row_frames = nv.params.width as u64 * nv.params.frames_per_pixel as u64;
                        let screen_row = ((pos.y - rect.min.y) / (nv.mag as f32 / ppp)) as u64;
                        self.first_row = (pfn as u64 / row_frames).saturating_sub(screen_row);
                    }
                }
            } else if scroll != 0.0 {
                let rows = (-scroll / cell).round() as i64;
                self.first_row = (self.first_row as i64 + rows).max(0) as u64;
            }
        }
        if resp.dragged() {
            let rows = (-resp.drag_delta().y / cell).round() as i64;
            self.first_row = (self.first_row as i64 + rows).max(0) as u64;
        }

        let use_gpu = !self.force_cpu
            && rs.is_some()
            && s.gpu.is_some()
            && s.machine.backend_mut().as_gpu().is_some();
        if use_gpu {
            view.params.probe_pfn = hover.unwrap_or(NO_PROBE);
        }
        if hover != self.hover_pfn {
            self.probe = None;
            self.hover_pfn = hover;
        }
        self.view = Some(view);
        self.render(ui.ctx(), s, rs, use_gpu, &view);

        // The image.
        let tex = if use_gpu {
            self.gpu_tex.as_ref().map(|t| t.id)
        } else {
            self.cpu_tex.as_ref().map(|t| t.id())
        };
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, theme::color(PALETTE[CAT_NONE as usize]));
        if let Some(id) = tex {
            painter.image(
                id,
                rect,
                Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                Color32::WHITE,
            );
        }
        self.boundaries_ui(&painter, s, &view, rect, cell);
        if let Some(e) = &self.error {
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                e,
                egui::FontId::proportional(14.0),
                Color32::LIGHT_RED,
            );
        }

        // The probe: on the CPU read directly, on the GPU from the pass
        // (asynchronously: ask again until the pass has taken this frame's
        // probe, and repaint until its answer is in).
        if let Some(pfn) = hover {
            if use_gpu {
                if let Some(p) = s
                    .machine
                    .backend_mut()
                    .as_gpu()
                    .and_then(|g| g.frame_map_probe())
                {
                    if p.pfn == pfn {
                        self.probe = Some(p);
                    }
                }
                if self.probe_asked != Some(pfn) {
                    self.rendered = None;
                }
                if self.probe.is_none_or(|p| p.pfn != pfn) {
                    ui.ctx().request_repaint_after(Duration::from_millis(16));
                }
            } else if let Ok(b) = s.machine.buffers() {
                let p = FrameMapParams {
                    probe_pfn: pfn,
                    nr_frames: b.frames.len() as u32,
                    ..view.params
                };
                self.probe = Probe::from_words(
                    pfn,
                    &crate::engine::cpu::frame_map::probe_words(
                        &p,
                        &b.frames,
                        &b.owners,
                        &b.pageblocks,
                    ),
                );
            }
            let text = self.describe(s, pfn);
            resp.on_hover_ui_at_pointer(|ui| {
                ui.label(egui::RichText::new(text).monospace());
            });
        }
        legend_ui(ui);
    }

    fn render(
        &mut self,
        ctx: &egui::Context,
        s: &mut Session,
        rs: Option<&egui_wgpu::RenderState>,
        use_gpu: bool,
        view: &View,
    ) {
        let tick = s.machine.tick;
        let want = (tick, view.params);
        if self.rendered == Some(want) {
            return;
        }
        // On the CPU the pass costs real time: refresh at most four times
        // per its cost, so a big machine cannot stall the UI.
        let view_changed = self.rendered.is_none_or(|(_, p)| {
            FrameMapParams {
                probe_pfn: NO_PROBE,
                ..p
            } != FrameMapParams {
                probe_pfn: NO_PROBE,
                ..view.params
            }
        });
        if !use_gpu && !view_changed {
            if let Some(t) = self.last_render {
                if t.elapsed() < (self.render_cost * 4).max(Duration::from_millis(30)) {
                    ctx.request_repaint_after(Duration::from_millis(30));
                    return;
                }
            }
        }
        let t0 = Instant::now();
        let r = if use_gpu {
            self.render_gpu(s, rs.expect("render state"), view)
        } else {
            self.render_cpu(ctx, s, view)
        };
        match r {
            Ok(()) => {
                self.error = None;
                self.rendered = Some(want);
            }
            Err(e) => {
                self.error = Some(format!("frame map: {e}"));
                self.rendered = Some(want);
            }
        }
        self.render_cost = t0.elapsed();
        self.last_render = Some(Instant::now());
    }

    fn render_cpu(
        &mut self,
        ctx: &egui::Context,
        s: &mut Session,
        view: &View,
    ) -> Result<(), String> {
        let p = &view.params;
        let words = s.machine.frame_map(p).map_err(|e| e.to_string())?;
        let px = &words[..p.pixels()];
        let image = egui::ColorImage::from_rgba_unmultiplied(
            [p.width as usize, p.height as usize],
            bytemuck::cast_slice(px),
        );
        match &mut self.cpu_tex {
            Some(t) => t.set(image, egui::TextureOptions::NEAREST),
            None => {
                self.cpu_tex = Some(ctx.load_texture(
                    "numasim.frame_map",
                    image,
                    egui::TextureOptions::NEAREST,
                ))
            }
        }
        Ok(())
    }

    fn render_gpu(
        &mut self,
        s: &mut Session,
        rs: &egui_wgpu::RenderState,
        view: &View,
    ) -> Result<(), String> {
        let p = &view.params;
        let fits = self
            .gpu_tex
            .as_ref()
            .is_some_and(|t| t.texture.width() == p.width && t.texture.height() == p.height);
        if !fits {
            let texture = rs.device.create_texture(&wgpu::TextureDescriptor {
                label: Some("numasim.frame_map.texture"),
                size: wgpu::Extent3d {
                    width: p.width,
                    height: p.height,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::Rgba8Unorm,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            });
            let tv = texture.create_view(&wgpu::TextureViewDescriptor::default());
            let mut r = rs.renderer.write();
            let id = match &self.gpu_tex {
                Some(old) => {
                    r.update_egui_texture_from_wgpu_texture(
                        &rs.device,
                        &tv,
                        wgpu::FilterMode::Nearest,
                        old.id,
                    );
                    old.id
                }
                None => r.register_native_texture(&rs.device, &tv, wgpu::FilterMode::Nearest),
            };
            self.gpu_tex = Some(GpuTexture { texture, id });
        }
        let tex = &self.gpu_tex.as_ref().expect("texture").texture;
        let asked = s
            .machine
            .backend_mut()
            .as_gpu()
            .ok_or("not on the GPU backend")?
            .frame_map_to_texture(p, tex)
            .map_err(|e| e.to_string())?;
        if asked {
            self.probe_asked = Some(p.probe_pfn);
        }
        Ok(())
    }

    /// Node and zone boundaries: a line along the edge between the last
    /// frame before the boundary and the first after it, and a label.
    fn boundaries_ui(&self, painter: &egui::Painter, s: &Session, v: &View, rect: Rect, cell: f32) {
        let p = &v.params;
        let fpp = p.frames_per_pixel as u64;
        let cols = p.width as u64;
        let first = p.first_pfn as u64;
        let end = first + p.pixels() as u64 * fpp;
        let topo = &s.machine.scenario.topology;
        let mut seen_node = vec![false; topo.nodes.len()];
        for z in &topo.zones {
            let start = z.start_pfn;
            let node_start = !seen_node[z.node as usize];
            seen_node[z.node as usize] = true;
            if start < first || start >= end || (start == 0 && first == 0 && !node_start) {
                continue;
            }
            let idx = (start - first) / fpp;
            let (x, y) = ((idx % cols) as f32, (idx / cols) as f32);
            let at = |x: f32, y: f32| rect.min + Vec2::new(x * cell, y * cell);
            let color = if node_start {
                theme::node_color(z.node)
            } else {
                Color32::from_white_alpha(150)
            };
            let stroke = Stroke::new(if node_start { 2.0 } else { 1.0 }, color);
            if start > 0 {
                // Row-major order: the boundary is a staircase.
                painter.line_segment([at(x, y), at(cols as f32, y)], stroke);
                painter.line_segment([at(x, y), at(x, y + 1.0)], stroke);
                painter.line_segment([at(0.0, y + 1.0), at(x, y + 1.0)], stroke);
            }
            let label = if node_start {
                format!("node {} · {}", z.node, z.zone_type.name())
            } else {
                z.zone_type.name().to_string()
            };
            let pos = at(x, y) + Vec2::new(4.0, 2.0);
            let galley = painter.layout_no_wrap(label, egui::FontId::proportional(11.0), color);
            let bg = Rect::from_min_size(pos, galley.size()).expand(2.0);
            painter.rect_filled(bg, 3.0, Color32::from_black_alpha(170));
            painter.galley(pos, galley, color);
        }
    }

    /// The hover text for `pfn`.
    fn describe(&self, s: &Session, pfn: u32) -> String {
        let topo = &s.machine.scenario.topology;
        let mut t = format!("pfn {pfn:#x} ({pfn})");
        if let Some(z) = topo
            .zones
            .iter()
            .find(|z| (z.start_pfn..z.end_pfn()).contains(&(pfn as u64)))
        {
            t += &format!("\nnode {}, zone {}", z.node, z.zone_type.name());
        }
        let Some(p) = self.probe.filter(|p| p.pfn == pfn) else {
            return t + "\n…";
        };
        let d = fr::decode(p.state);
        let size = 1u32 << d.order;
        t += &format!(
            "\nblock pfn {:#x}..{:#x} (order {}, {} KiB)",
            p.head_pfn,
            p.head_pfn + size,
            d.order,
            4 * size
        );
        match d.kind {
            fr::KIND_FREE => {
                t += &format!(
                    "\nfree, on the {} list (pageblock)",
                    MIGRATETYPE_NAMES
                        .get(p.pageblock_mt as usize)
                        .unwrap_or(&"?")
                );
                if d.flags & fr::FF_REPORTED != 0 {
                    t += "\nPageReported: reported to the host, which took its backing (allocating it refaults on the host)";
                } else if d.flags & fr::FF_UNBACKED != 0 {
                    t += "\nnot backed on the host (part of a reported block; allocating it refaults)";
                }
            }
            fr::KIND_REPORTING => {
                t += &format!(
                    "\nout for reporting (batch {}): off the free lists, refcount 0, with the host until its report() returns",
                    d.flags
                )
            }
            fr::KIND_ALLOC => {
                t += &format!(
                    "\nallocated: {} ({}), pageblock {}",
                    CLASS_NAMES.get(d.class as usize).unwrap_or(&"?"),
                    MIGRATETYPE_NAMES.get(d.mt as usize).unwrap_or(&"?"),
                    MIGRATETYPE_NAMES
                        .get(p.pageblock_mt as usize)
                        .unwrap_or(&"?")
                );
                let owner = p.owner.checked_sub(fr::OWNER_TASK_BASE);
                if let Some(task) = owner.and_then(|i| s.machine.tasks.get(i as usize)) {
                    t += &format!("\nowner: task {} (cpu {})", task.name, task.cpu);
                }
            }
            fr::KIND_RESERVED => t += "\nreserved at boot (memmap)",
            k => t += &format!("\n{}", fr::kind_name(k)),
        }
        t
    }
}

/// Swatches for every category the map can show.
pub fn legend_ui(ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        ui.label(egui::RichText::new("free order").small());
        for o in 0..fr::NR_PAGE_ORDERS as u32 {
            swatch(ui, CAT_FREE + o, &o.to_string());
        }
        ui.add_space(8.0);
        for c in CAT_ALLOC..CAT_RESERVED {
            swatch(ui, c, CLASS_NAMES[(c - CAT_ALLOC) as usize]);
        }
        ui.add_space(8.0);
        swatch(ui, CAT_RESERVED, "reserved");
        // Categories subsystems add after the core allocator's.
        #[allow(clippy::reversed_empty_ranges)] // empty until one does
        for c in CAT_RESERVED + 1..NR_CATEGORIES_USED {
            swatch(ui, c, &category_name(c));
        }
    });
}

fn swatch(ui: &mut egui::Ui, cat: u32, label: &str) {
    let (r, resp) = ui.allocate_exact_size(Vec2::splat(11.0), Sense::hover());
    ui.painter()
        .rect_filled(r, 2.0, theme::color(PALETTE[cat as usize]));
    resp.on_hover_text(category_name(cat));
    ui.label(egui::RichText::new(label).small());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_fits_its_area_and_the_frame_space() {
        for nr_frames in [1u64 << 15, 1 << 17, 1 << 23, 1 << 28] {
            for (w, h) in [(200u32, 100u32), (900, 450), (1270, 620), (3000, 1800)] {
                let fit = compute_view(nr_frames, w, h, 0, 0);
                let p = fit.params;
                // All of memory in view at zoom 0.
                assert!(p.pixels() as u64 * p.frames_per_pixel as u64 >= nr_frames);
                for zoom in 0..=max_zoom(nr_frames, w, h) + 2 {
                    for row in [0, 1 << 10, u64::MAX / 4] {
                        let v = compute_view(nr_frames, w, h, zoom, row);
                        let p = v.params;
                        assert_eq!(p.width % 64, 0);
                        assert!(
                            p.width * v.mag <= w.max(64),
                            "{nr_frames} {w}x{h} z{zoom}: {v:?}"
                        );
                        assert!(p.height * v.mag <= h.max(v.mag), "{v:?}");
                        assert!(p.validate().is_ok(), "{v:?}");
                        assert!((p.first_pfn as u64) < nr_frames);
                    }
                }
            }
        }
    }
}
