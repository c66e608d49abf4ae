//! The dashboard's panels driven through egui_kittest on the small preset:
//! the controls change the session, console commands print, a bad
//! scenario opens the error panel (and the loaded machine survives), knobs
//! are /proc writes, hovering the frame map names the frame, and a lost GPU
//! hands the run to the CPU reference.

use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use numasim::ui::{BackendChoice, Dashboard, Session, Source};

mod common;

fn dashboard(pref: BackendChoice, gpu: Option<numasim::engine::gpu::GpuContext>) -> Dashboard {
    let s = Session::new(Source::Preset("small".into()), None, pref, gpu).unwrap();
    let mut d = Dashboard::new(s, None);
    d.session.running = false;
    d
}

/// The small preset on the CPU reference, run to `tick`.
fn small_on_cpu_at(tick: u64) -> numasim::kernel::Machine {
    let mut m = numasim::kernel::Machine::boot(
        numasim::model::scenario::Scenario::load("small").unwrap(),
        None,
    )
    .unwrap();
    m.advance(tick).unwrap();
    m
}

fn harness(d: Dashboard) -> Harness<'static, Dashboard> {
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(|ui, d: &mut Dashboard| d.frame(ui), d)
}

#[test]
fn step_runs_one_tick_and_run_pause_toggle_the_simulation() {
    let mut h = harness(dashboard(BackendChoice::Cpu, None));
    h.run_steps(2);
    assert_eq!(h.state().session.machine.tick, 0);
    h.get_by_label("Step").click();
    h.run_steps(2);
    assert_eq!(h.state().session.machine.tick, 1);
    // The step is a command of the shell language, and the console shows it.
    assert_eq!(h.state().session.console.log.last().unwrap().cmd, "tick 1");

    h.get_by_label("Run").click();
    h.run_steps(5);
    let t = h.state().session.machine.tick;
    assert!(t > 1, "running advanced to tick {t}");
    assert!(h.state().session.running);
    h.get_by_label("Pause").click();
    h.run_steps(1);
    let t = h.state().session.machine.tick;
    h.run_steps(5);
    assert_eq!(h.state().session.machine.tick, t, "paused, yet ticks ran");
    // The history recorded samples for every node while running.
    let hist = &h.state().session.history.points;
    assert!(hist.len() >= 2);
    assert_eq!(hist.back().unwrap().nodes.len(), 2);
}

#[test]
fn ticks_per_frame_caps_what_one_frame_runs() {
    let mut d = dashboard(BackendChoice::Cpu, None);
    d.session.ticks_per_frame = 3;
    d.session.running = true;
    let mut h = harness(d);
    h.run_steps(4);
    let s = &h.state().session;
    assert!(s.effective_ticks_per_frame <= 3);
    assert!(s.ui_frames >= 4);
    // At least one tick per frame, at most the cap.
    assert!(
        s.machine.tick <= 3 * s.ui_frames && s.machine.tick >= s.ui_frames,
        "tick {} after {} frames",
        s.machine.tick,
        s.ui_frames
    );
}

#[test]
fn console_commands_print_kernel_formats() {
    let mut h = harness(dashboard(BackendChoice::Cpu, None));
    h.get_by_label("Console").click();
    h.run_steps(2);
    h.get_by_label("cat /proc/meminfo").click();
    h.run_steps(2);
    let e = h.state().session.console.log.last().unwrap().clone();
    assert_eq!(e.cmd, "cat /proc/meminfo");
    assert!(e.ok && e.out.starts_with("MemTotal:"), "{}", e.out);
    // Typed commands, through the input line and the Execute button.
    h.state_mut().session.console.input = "cat /proc/buddyinfo".into();
    h.get_by_label("Execute").click();
    h.run_steps(2);
    let e = h.state().session.console.log.last().unwrap().clone();
    assert!(e.out.contains("Node 0, zone   Normal"), "{}", e.out);
    assert_eq!(
        h.state().session.console.history.last().unwrap(),
        "cat /proc/buddyinfo"
    );
    assert!(h.state().session.console.input.is_empty());
    // The output is on screen.
    assert!(h.query_by_label_contains("Node 0, zone   Normal").is_some());
    // A bad command prints its error, marked as failed.
    h.state_mut().session.console.input = "cat /proc/nonexistent".into();
    h.get_by_label("Execute").click();
    h.run_steps(2);
    let e = h.state().session.console.log.last().unwrap().clone();
    assert!(
        !e.ok && e.out.contains("No such file or directory"),
        "{}",
        e.out
    );
}

#[test]
fn a_bad_scenario_file_opens_the_error_panel_and_keeps_the_machine() {
    let dir = std::env::temp_dir().join(format!("numasim-dash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "name = \"bad\"\n[[nodes]]\nmemory_mib = \"lots\"\n").unwrap();
    let mut h = harness(dashboard(BackendChoice::Cpu, None));
    h.get_by_label("Step").click();
    h.run_steps(2);
    h.state_mut().open_path = path.display().to_string();
    h.get_by_label("Open").click();
    h.run_steps(3);
    let err = h.state().session.error.clone().expect("error panel");
    assert!(err.title.contains("Cannot open scenario"), "{err:?}");
    // The message names the file and the line.
    assert!(
        err.message.contains("bad.toml") && err.message.contains(":3"),
        "{}",
        err.message
    );
    assert!(h.query_by_label_contains("Cannot open scenario").is_some());
    // Nothing was lost: same scenario, same tick.
    assert_eq!(h.state().session.source.name(), "small");
    assert_eq!(h.state().session.machine.tick, 1);
    h.get_by_label("Dismiss").click();
    h.run_steps(2);
    assert!(h.state().session.error.is_none());
    assert!(h.query_by_label_contains("Cannot open scenario").is_none());

    // A missing file says so too.
    h.state_mut().open_path = dir.join("missing.toml").display().to_string();
    h.get_by_label("Open").click();
    h.run_steps(2);
    let err = h.state().session.error.clone().expect("error panel");
    assert!(err.message.contains("missing.toml"), "{}", err.message);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn reset_boots_again_with_the_seed_and_the_picker_changes_scenario() {
    let mut h = harness(dashboard(BackendChoice::Cpu, None));
    h.get_by_label("Step").click();
    h.run_steps(2);
    h.state_mut().seed = 11;
    h.get_by_label("Reset").click();
    h.run_steps(2);
    assert_eq!(h.state().session.machine.seed, 11);
    assert_eq!(h.state().session.machine.tick, 0);

    h.get_by_label("scenario").click();
    h.run_steps(2);
    h.get_by_label("stress-frag").click();
    h.run_steps(2);
    assert_eq!(h.state().session.source.name(), "stress-frag");
    assert_eq!(h.state().session.machine.scenario.name, "stress-frag");
}

#[test]
fn knobs_are_proc_writes_with_the_kernels_errors() {
    let mut h = harness(dashboard(BackendChoice::Cpu, None));
    h.get_by_label("Tunables").click();
    h.run_steps(2);
    assert!(h.query_by_label("/proc/sys/vm/min_free_kbytes").is_some());
    let before = h.state().session.machine.config().zones[1].wmark_min;
    h.state_mut()
        .session
        .write_file("/proc/sys/vm/min_free_kbytes", 8192);
    let s = &h.state().session;
    assert_eq!(
        s.console.log.last().unwrap().cmd,
        "echo 8192 > /proc/sys/vm/min_free_kbytes"
    );
    assert_eq!(s.machine.min_free_kbytes, 8192);
    assert_ne!(s.machine.config().zones[1].wmark_min, before);
    // The kernel refuses a negative value (EINVAL); nothing changes.
    h.state_mut()
        .session
        .write_file("/proc/sys/vm/min_free_kbytes", -1);
    let s = &h.state().session;
    let e = s.console.log.last().unwrap();
    assert!(!e.ok && e.out.contains("Invalid argument"), "{}", e.out);
    assert_eq!(s.machine.min_free_kbytes, 8192);
}

#[test]
fn hovering_the_frame_map_names_the_frame() {
    let mut h = harness(dashboard(BackendChoice::Cpu, None));
    h.ctx
        .global_style_mut(|s| s.interaction.tooltip_delay = 0.0);
    h.run_steps(3);
    let rect = h.state().map.rect.expect("map drawn");
    let v = h.state().map.view.expect("view");
    assert_eq!(v.params.first_pfn, 0);
    // The top-left pixel is frame 0 (node 0).
    h.hover_at(rect.min + egui::vec2(0.5, 0.5));
    h.run_steps(3);
    let p = h.state().map.probe.expect("probe");
    assert_eq!(p.pfn, 0);
    assert_eq!(p.head_pfn, 0);
    assert!(h.query_by_label_contains("node 0, zone").is_some());
}

#[test]
fn a_lost_gpu_hands_the_run_to_the_cpu_reference() {
    let Some(ctx) = common::gpu() else { return };
    let mut d = dashboard(BackendChoice::Gpu, Some(ctx));
    assert!(d.session.is_gpu());
    d.session.running = true;
    d.session.stop_at = Some(6);
    d.session.run.every_wall = Some(std::time::Duration::ZERO);
    let mut h = harness(d);
    for _ in 0..200 {
        h.run_steps(1);
        if !h.state().session.running {
            break;
        }
    }
    assert_eq!(h.state().session.machine.tick, 6);
    h.state_mut()
        .session
        .machine
        .backend_mut()
        .as_gpu()
        .expect("on the GPU")
        .simulate_device_loss();
    h.state_mut().session.stop_at = Some(10);
    h.state_mut().session.running = true;
    for _ in 0..50 {
        h.run_steps(1);
        if !h.state().session.running {
            break;
        }
    }
    let s = &h.state().session;
    assert!(
        !s.running && !s.busy(),
        "the run must stop at stop_at on the CPU"
    );
    let notice = s.notice.clone().expect("notice");
    assert!(
        notice.contains("continues on the CPU reference"),
        "{notice}"
    );
    // Replayed from a checkpoint taken while running (downloaded beside
    // the batches, never waited for), not from boot.
    let from: u64 = notice
        .split("snapshot of tick ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no tick in: {notice}"));
    assert!((1..=6).contains(&from), "resumed from tick {from}");
    assert!(
        s.machine.backend_name().starts_with("cpu"),
        "{}",
        s.machine.backend_name()
    );
    assert_eq!(s.machine.tick, 10);
}

#[test]
fn gpu_batches_run_to_the_stop_and_steps_refresh_the_cards() {
    let Some(ctx) = common::gpu() else { return };
    let mut d = dashboard(BackendChoice::Gpu, Some(ctx));
    // Allow more ticks per frame than the ring holds samples (4 x 16).
    d.session.ticks_per_frame = 100;
    d.session.running = true;
    d.session.stop_at = Some(300);
    let mut h = harness(d);
    until(&mut h, |d| !d.session.running);
    let s = &h.state().session;
    assert_eq!(s.machine.tick, 300);
    assert!(!s.running && !s.busy());
    assert_eq!(s.latest.as_ref().unwrap().tick, 300);
    // A Step goes through the same batches and refreshes the counters
    // and history.
    let n = s.history.points.len();
    h.get_by_label("Step").click();
    h.run_steps(1);
    // The step's batch may queue behind the digest the stop asked for
    // (its download still on its way), so busy() alone can be false
    // before the step is even submitted.
    until(&mut h, |d| !d.session.busy() && !d.session.waiting());
    let s = &h.state().session;
    assert_eq!(s.machine.tick, 301);
    assert_eq!(s.latest.as_ref().unwrap().tick, 301);
    assert_eq!(s.history.points.len(), n + 1);

    // A console command waits for the GPU's state without blocking the
    // frame: behind a batch of ticks still running, it is queued, and
    // answered some frames later, in the console.
    h.state_mut().session.exec("tick 20");
    assert!(h.state().session.busy());
    h.state_mut().session.exec("cat /proc/buddyinfo");
    assert_eq!(h.state().session.pending().count(), 1, "ran synchronously");
    until(&mut h, |d| d.session.pending().count() == 0);
    let s = &h.state().session;
    let e = s.console.log.last().unwrap();
    assert_eq!(e.cmd, "cat /proc/buddyinfo");
    assert!(e.ok && e.out.contains("Node 0, zone   Normal"), "{}", e.out);
    assert_eq!(s.machine.tick, 321);
    // What it printed is the state at tick 321, as the CPU reference has it.
    let mut cpu = small_on_cpu_at(321);
    assert_eq!(
        e.out,
        numasim::procfs::read(&mut cpu, "/proc/buddyinfo").unwrap()
    );
}

/// Runs frames until `done`: at least 600 frames, and for as long as 60 s
/// of wall time (the GPU's answers arrive in real time, later when
/// lavapipe shares the cores with other tests).
fn until(h: &mut Harness<'static, Dashboard>, done: impl Fn(&Dashboard) -> bool) {
    let t0 = std::time::Instant::now();
    let mut frames = 0;
    while frames < 600 || t0.elapsed() < std::time::Duration::from_secs(60) {
        if done(h.state()) {
            return;
        }
        h.run_steps(1);
        frames += 1;
    }
    panic!("not done after {frames} frames and 60 s");
}

#[test]
fn a_run_to_a_tick_ends_with_the_native_digest_on_both_backends() {
    let mut cpu = small_on_cpu_at(25);
    let want = cpu.digest().unwrap();
    let gpu = common::gpu();
    let mut prefs = vec![(BackendChoice::Cpu, None)];
    if let Some(c) = gpu {
        prefs.push((BackendChoice::Gpu, Some(c)));
    }
    for (pref, ctx) in prefs {
        let mut d = dashboard(pref, ctx);
        d.session.running = true;
        d.session.stop_at = Some(25);
        let mut h = harness(d);
        until(&mut h, |d| d.session.digest.is_some());
        let s = &h.state().session;
        assert_eq!(s.digest, Some((25, want)), "{pref:?}");
        // The status bar shows it.
        h.run_steps(1);
        assert!(h.query_by_label(&format!("digest {want:016x}")).is_some());
        // A step later there is none for the new tick until asked for.
        h.get_by_label("Step").click();
        until(&mut h, |d| {
            !d.session.busy() && d.session.machine.tick == 26
        });
        h.run_steps(1);
        assert!(h.query_by_label(&format!("digest {want:016x}")).is_none());
        h.get_by_label("digest").click();
        until(&mut h, |d| d.session.digest.is_some_and(|(t, _)| t == 26));
    }
}

#[test]
fn switching_off_the_gpu_waits_for_its_state_and_carries_it_over() {
    let Some(ctx) = common::gpu() else { return };
    let mut d = dashboard(BackendChoice::Gpu, Some(ctx));
    d.session.running = true;
    d.session.stop_at = Some(30);
    let mut h = harness(d);
    until(&mut h, |d| !d.session.running && !d.session.busy());
    // Queued behind a running batch: nothing blocks, the switch lands
    // once the state has come down.
    h.state_mut().session.exec("tick 10");
    h.state_mut().session.set_backend(BackendChoice::Cpu);
    assert!(
        h.state_mut().session.is_gpu(),
        "switched before the batch ended"
    );
    assert!(h.state().session.waiting());
    until(&mut h, |d| !d.session.waiting() && !d.session.busy());
    let s = &mut h.state_mut().session;
    assert!(!s.is_gpu());
    assert_eq!(s.machine.tick, 40);
    let mut cpu = small_on_cpu_at(40);
    assert_eq!(s.machine.digest().unwrap(), cpu.digest().unwrap());
}

/// The hugetlb panel shows each node's pool from the migration preset's
/// setup (run at open), and its HVO checkbox writes the sysctl.
#[test]
fn hugetlb_panel_shows_the_pools_and_writes_the_knobs() {
    let s = Session::new(
        Source::Preset("hugetlb-migrate".into()),
        None,
        BackendChoice::Cpu,
        None,
    )
    .unwrap();
    let mut d = Dashboard::new(s, None);
    d.session.running = false;
    let mut h = harness(d);
    assert_eq!(h.state().session.machine.tick, 10, "the setup ran");
    h.get_by_label("Hugetlb").click();
    h.run_steps(2);
    assert!(h
        .query_by_label_contains(
            "2 MiB: 12 pages (8 persistent), 0 free, 0 reserved, 4 surplus of 4 overcommit"
        )
        .is_some());
    // Node 0's vmemmap saved: 4 pages x 7 vmemmap pages.
    assert!(h.query_by_label_contains("28 (").is_some());
    assert!(h.state().session.machine.hugetlb.optimize_vmemmap);
    h.get_by_label("/proc/sys/vm/hugetlb_optimize_vmemmap")
        .click();
    h.run_steps(1);
    let row = h
        .get_all_by_role(egui::accesskit::Role::CheckBox)
        .next()
        .unwrap();
    row.click();
    h.run_steps(2);
    assert!(!h.state().session.machine.hugetlb.optimize_vmemmap);
    assert_eq!(
        h.state().session.console.log.last().unwrap().cmd,
        "echo 0 > /proc/sys/vm/hugetlb_optimize_vmemmap"
    );
}

/// `--tab NAME` picks a tab by its title in any case; the index is the
/// one the dashboard shows under that title.
#[test]
fn tab_index_names_the_tab_shown() {
    let s = Session::new(
        Source::Preset("small".into()),
        None,
        BackendChoice::Cpu,
        None,
    )
    .unwrap();
    let d = Dashboard::new(s, None);
    for (i, t) in d.tabs.iter().enumerate() {
        assert_eq!(numasim::ui::tab_index(t.title()), Ok(i));
        assert_eq!(numasim::ui::tab_index(&t.title().to_uppercase()), Ok(i));
    }
    assert_eq!(numasim::ui::tab_index("Hugetlb"), Ok(3));
    let e = numasim::ui::tab_index("pools").unwrap_err();
    assert!(e.contains("plots, console, tunables, hugetlb"), "{e}");
}
