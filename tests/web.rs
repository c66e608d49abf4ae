//! The browser build in a real browser: the site built by `web/build.sh`,
//! served on 127.0.0.1 and driven in Debian's chromium (headless, WebGPU
//! on SwiftShader) by `web/test/browser.mjs` through playwright-core.
//!
//! - With WebGPU the page must report a WebGPU adapter, run the small
//!   preset on the GPU backend to tick N and show the digest `numasim run`
//!   prints natively for the same scenario, seed and ticks.
//! - With WebGPU unavailable (chromium without --enable-unsafe-webgpu: an
//!   API but no adapter) it must say so in a notice, fall back to the CPU
//!   reference, and still match the native digest. A browser without the
//!   API at all gets the same fallback (the bad-parameter test).
//! - Both runs: the page's screenshot shows the dashboard (the frame map's
//!   colors, not a blank canvas), a console command prints what the native
//!   shell prints at that tick, and a bad scenario file picked through the
//!   page's file input opens the error panel naming file and line while
//!   the loaded machine stays.
//!
//! Needs the built site (web/dist, or NUMASIM_WEB_SITE), node with
//! web/node_modules (`npm ci --prefix web`) and /usr/bin/chromium (or
//! CHROMIUM). Without them the test says it was skipped; with
//! NUMASIM_REQUIRE_WEB=1 (as CI sets it) it fails instead.

use numasim::engine::frame_map::{CAT_FREE, PALETTE};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The site, or why the test cannot run.
fn site() -> Option<PathBuf> {
    let site = std::env::var_os("NUMASIM_WEB_SITE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("web/dist"));
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing = if !site.join("numasim_web_bg.wasm").is_file() {
        Some(format!(
            "no built site in {} (run web/build.sh)",
            site.display()
        ))
    } else if !root().join("web/node_modules/playwright-core").is_dir() {
        Some("web/node_modules/playwright-core is missing (run `npm ci --prefix web`)".into())
    } else if !Path::new(&chromium).is_file() {
        Some(format!(
            "no chromium at {chromium} (apt-get install chromium)"
        ))
    } else if Command::new("node").arg("--version").output().is_err() {
        Some("node is not installed".into())
    } else {
        None
    };
    match missing {
        None => Some(site),
        Some(why) => {
            if std::env::var("NUMASIM_REQUIRE_WEB").is_ok_and(|v| v == "1") {
                panic!("NUMASIM_REQUIRE_WEB=1 but {why}");
            }
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
            None
        }
    }
}

fn numasim(args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut c = Command::new(env!("CARGO_BIN_EXE_numasim"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = c.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let o = c.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "numasim {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// An RGB(A) PNG as RGB pixels.
fn read_png(path: &Path) -> (usize, usize, Vec<[u8; 3]>) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let ch = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        t => panic!("{}: unexpected color type {t:?}", path.display()),
    };
    let px = buf[..info.buffer_size()]
        .chunks_exact(ch)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width as usize, info.height as usize, px)
}

/// Runs `web/test/browser.mjs` on the site with `args` and returns the
/// JSON it printed (failing on a failed run).
fn browser(site: &Path, out: &Path, args: &[&str]) -> serde_json::Value {
    let o = Command::new("node")
        .current_dir(root().join("web"))
        .arg("test/browser.mjs")
        .args(["--site", site.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .args(args)
        .output()
        .expect("node runs");
    let text = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "browser.mjs printed no JSON ({e}): {text}\n{}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    assert!(o.status.success(), "the browser run failed: {v:#}");
    v
}

fn check_page(v: &serde_json::Value, ticks: u64, exec: &str, shell_out: &str) {
    let st = &v["state"];
    let s = |k: &str| st[k].as_str().unwrap_or("").to_string();
    // The digest after N ticks equals the native one.
    assert_eq!(s("digest-tick"), ticks.to_string(), "{v:#}");
    let native = numasim(
        &[
            "run",
            "small",
            "--seed",
            "7",
            "--ticks",
            &ticks.to_string(),
            "--quiet",
        ],
        None,
    );
    assert_eq!(
        format!("digest {}", s("digest")),
        native.trim(),
        "browser and native digests differ: {v:#}"
    );
    assert_eq!(s("tick"), ticks.to_string());
    assert_eq!(s("running"), "false", "the page stops at ticks={ticks}");
    // The console prints what the native shell prints at that tick.
    let c = &v["console"][0];
    assert_eq!(c["ok"], true, "{c:#}");
    assert_eq!(
        c["out"].as_str().unwrap(),
        format!("{exec}\n{shell_out}"),
        "the console in the browser and `numasim shell` differ"
    );
    // A bad file picked through the page: the error names file and line,
    // and the machine that was running stays loaded.
    let bad = &v["bad_file"];
    let err = bad["error"].as_str().unwrap();
    assert!(err.contains("bad.toml:3"), "{err}");
    assert_eq!(bad["scenario"], "small");
    assert_eq!(bad["tick"], ticks.to_string());
    // The screenshot shows the dashboard: the frame map's dominant color
    // (free order-10 blocks) covers a real part of the page, and the page
    // has many colors (not a blank or single-color canvas).
    let (w, h, px) = read_png(Path::new(v["screenshot"].as_str().unwrap()));
    assert!(w >= 1000 && h >= 700, "{w}x{h}");
    let free10 = PALETTE[CAT_FREE as usize + 10].to_le_bytes();
    let near = |p: &[u8; 3]| (0..3).all(|i| p[i].abs_diff(free10[i]) <= 3);
    let map = px.iter().filter(|p| near(p)).count();
    assert!(
        map * 20 > px.len(),
        "the frame map's order-10 color covers {map} of {} pixels",
        px.len()
    );
    let mut colors: Vec<[u8; 3]> = px.clone();
    colors.sort_unstable();
    colors.dedup();
    assert!(
        colors.len() > 50,
        "only {} colors on the page",
        colors.len()
    );
}

fn bad_file(dir: &Path) -> PathBuf {
    let p = dir.join("bad.toml");
    std::fs::write(
        &p,
        "name = \"bad\"\n[[nodes]]\nmemory_mib = \"lots\"\ncpus = 2\n",
    )
    .unwrap();
    p
}

const EXEC: &str = "cat /proc/buddyinfo";

/// Loads the page with or without WebGPU, runs `small` to `ticks`, and
/// checks what every run must show (`check_page`).
fn run_page(site: &Path, webgpu: bool, ticks: u64) -> serde_json::Value {
    let out = tempdir(if webgpu { "webgpu" } else { "cpu" });
    let shell_out = numasim(
        &["shell", "--scenario", "small", "--seed", "7"],
        Some(&format!("tick {ticks}\n{EXEC}\n")),
    );
    let bad = bad_file(&out);
    let ticks_arg = ticks.to_string();
    let v = browser(
        site,
        &out,
        &[
            "--scenario",
            "small",
            "--seed",
            "7",
            "--ticks",
            &ticks_arg,
            "--webgpu",
            if webgpu { "on" } else { "off" },
            "--exec",
            EXEC,
            "--bad-file",
            bad.to_str().unwrap(),
        ],
    );
    check_page(&v, ticks, EXEC, &shell_out);
    v
}

#[test]
fn webgpu_page_matches_native_digest() {
    let Some(site) = site() else { return };
    // SwiftShader runs about two ticks a second of the small preset.
    let v = run_page(&site, true, 12);
    let st = &v["state"];
    assert_eq!(st["webgpu"], "yes", "{v:#}");
    assert_eq!(st["gpu"], "true", "{v:#}");
    let backend = st["backend"].as_str().unwrap();
    assert!(
        backend.starts_with("gpu") && backend.contains("BrowserWebGpu"),
        "{backend}"
    );
}

#[test]
fn no_webgpu_falls_back_to_cpu_and_matches() {
    let Some(site) = site() else { return };
    let v = run_page(&site, false, 200);
    let st = &v["state"];
    assert_eq!(st["gpu"], "false", "{v:#}");
    assert!(st["webgpu"].as_str().unwrap().starts_with("no: "), "{v:#}");
    assert!(
        st["backend"]
            .as_str()
            .unwrap()
            .starts_with("cpu (reference, 1 thread)"),
        "{v:#}"
    );
    let notice = st["notice"].as_str().unwrap();
    assert!(
        notice.starts_with("No WebGPU: ") && notice.contains("CPU reference"),
        "{notice}"
    );
}

#[test]
fn bad_url_parameters_and_oversized_scenarios_open_the_error_panel() {
    let Some(site) = site() else { return };
    let out = tempdir("bad-url");
    let run = |query: &str| {
        browser(&site, &out, &["--webgpu", "absent", "--query", query])["state"].clone()
    };
    // A preset too big for wasm32's 4 GiB: refused, naming the limit; the
    // page runs the default instead.
    let st = run("scenario=1tib");
    // This browser has no WebGPU API at all, and the notice says so.
    let notice = st["notice"].as_str().unwrap();
    assert!(notice.contains("no navigator.gpu"), "{notice}");
    assert_eq!(st["gpu"], "false");
    let err = st["error"].as_str().unwrap();
    assert!(
        err.starts_with("Cannot open scenario `1tib`") && err.contains("at most 67108864 frames"),
        "{err}"
    );
    assert_eq!(st["scenario"], "small");
    // A malformed parameter names itself and what was expected.
    let st = run("seed=seven");
    let err = st["error"].as_str().unwrap();
    assert!(
        err.contains("seed=seven") && err.contains("non-negative integer"),
        "{err}"
    );
    // An unknown preset lists the ones there are.
    let st = run("scenario=nope");
    let err = st["error"].as_str().unwrap();
    assert!(
        err.contains("nope") && err.contains("no preset of that name") && err.contains("small"),
        "{err}"
    );
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("numasim-web-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
