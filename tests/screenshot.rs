//! The dashboard in a real window: `numasim gui --screenshot` under
//! xvfb-run renders the dashboard, captures its own viewport and writes a
//! PNG plus a JSON sidecar saying where the frame map is. The PNG must not
//! be blank, and the frame map in it must show, pixel for pixel, the colors
//! the CPU twin of the frame map pass computes for the same scenario, seed
//! and tick (on the GPU backend the map is drawn by the shader straight
//! into a texture, so this checks the whole path to the screen).
//!
//! Needs `xvfb-run` (Debian's xvfb) and a Vulkan device (lavapipe). Without
//! them the test says it was skipped; with NUMASIM_REQUIRE_DISPLAY=1 (as CI
//! sets it) it fails instead.

use numasim::engine::frame_map::{FrameMapParams, NO_PROBE, PALETTE};
use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;
use std::process::Command;

mod common;

fn have_xvfb() -> bool {
    let ok = Command::new("sh")
        .args(["-c", "command -v xvfb-run"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("NUMASIM_REQUIRE_DISPLAY").is_ok_and(|v| v == "1") {
            panic!("NUMASIM_REQUIRE_DISPLAY=1 but xvfb-run is not installed");
        }
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIPPED: xvfb-run is not installed");
    }
    ok
}

struct Png {
    w: usize,
    h: usize,
    rgba: Vec<u8>,
}

impl Png {
    fn read(path: &std::path::Path) -> Png {
        let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgba);
        Png {
            w: info.width as usize,
            h: info.height as usize,
            rgba: buf[..info.buffer_size()].to_vec(),
        }
    }
    fn px(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.w + x) * 4;
        [self.rgba[i], self.rgba[i + 1], self.rgba[i + 2]]
    }
}

fn shoot(backend: &str, ticks: u64) {
    let dir = std::env::temp_dir().join(format!("numasim-shot-{}-{backend}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png_path = dir.join("dash.png");
    let xdg = dir.join("xdg");
    std::fs::create_dir_all(&xdg).unwrap();
    let out = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24"])
        .arg(env!("CARGO_BIN_EXE_numasim"))
        .args(["gui", "stress-frag", "--seed", "3", "--size", "1280x800"])
        .args(["--backend", backend, "--after-ticks", &ticks.to_string()])
        .arg("--screenshot")
        .arg(&png_path)
        .env("XDG_RUNTIME_DIR", &xdg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "numasim gui failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("wrote"), "{stdout}");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(png_path.with_extension("json")).unwrap())
            .unwrap();
    let img = Png::read(&png_path);
    assert_eq!((img.w, img.h), (1280, 800));
    assert_eq!(meta["tick"], ticks);
    assert_eq!(meta["map_gpu"], backend == "gpu", "{meta}");

    // Not blank: many colors, none covering most of the window.
    let mut counts = std::collections::HashMap::new();
    for p in img.rgba.chunks(4) {
        *counts.entry([p[0], p[1], p[2]]).or_insert(0usize) += 1;
    }
    let top = counts.values().max().copied().unwrap_or(0);
    assert!(counts.len() > 50, "only {} colors", counts.len());
    assert!(
        top < img.w * img.h * 7 / 10,
        "one color covers {top} pixels"
    );

    // The same state on the CPU reference.
    let mut m = Machine::boot(Scenario::load("stress-frag").unwrap(), Some(3)).unwrap();
    m.advance(ticks).unwrap();
    assert_eq!(meta["digest"], format!("{:016x}", m.digest().unwrap()));
    let mp = &meta["map_params"];
    let u = |v: &serde_json::Value| v.as_u64().unwrap() as u32;
    let p = FrameMapParams {
        first_pfn: u(&mp["first_pfn"]),
        frames_per_pixel: u(&mp["frames_per_pixel"]),
        width: u(&mp["width"]),
        height: u(&mp["height"]),
        nr_frames: u(&mp["nr_frames"]),
        probe_pfn: NO_PROBE,
        _pad: [0; 2],
    };
    let want = m.frame_map(&p).unwrap();
    let rect: Vec<f64> = meta["map_rect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    // Physical pixels per map pixel (map_rect is in physical pixels too).
    let mag = meta["map_mag"].as_f64().unwrap();
    let (mut matched, mut total) = (0usize, 0usize);
    let mut seen = std::collections::BTreeSet::new();
    for y in 0..p.height as usize {
        for x in 0..p.width as usize {
            let sx = (rect[0] + (x as f64 + 0.5) * mag) as usize;
            let sy = (rect[1] + (y as f64 + 0.5) * mag) as usize;
            if sx >= img.w || sy >= img.h {
                continue;
            }
            let c = want[y * p.width as usize + x].to_le_bytes();
            let got = img.px(sx, sy);
            total += 1;
            if (0..3).all(|k| (got[k] as i32 - c[k] as i32).abs() <= 2) {
                matched += 1;
                seen.insert(want[y * p.width as usize + x]);
            }
        }
    }
    assert!(total > 10_000, "map too small: {total} pixels");
    // Boundary lines and their labels cover a little of the map.
    assert!(
        matched * 100 >= total * 97,
        "{backend}: {matched} of {total} map pixels match the CPU twin"
    );
    let palette_seen = seen.iter().filter(|c| PALETTE.contains(c)).count();
    assert!(
        palette_seen >= 6,
        "only {palette_seen} map colors on screen"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn screenshot_of_the_dashboard_shows_the_frame_map_of_the_gpu_backend() {
    if !have_xvfb() || common::gpu().is_none() {
        return;
    }
    shoot("gpu", 60);
}

#[test]
fn screenshot_of_the_dashboard_on_the_cpu_reference() {
    if !have_xvfb() {
        return;
    }
    shoot("cpu", 60);
}
