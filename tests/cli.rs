//! The command line as a user drives it.

use std::process::Command;

mod common;

fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_numasim"));
    c.args(args);
    c
}

fn numasim(args: &[&str]) -> std::process::Output {
    command(args).output().unwrap()
}

#[test]
fn run_writes_one_json_object_per_sampled_tick() {
    let path = std::env::temp_dir().join(format!("numasim-json-{}.jsonl", std::process::id()));
    let out = numasim(&[
        "run",
        "small",
        "--ticks",
        "60",
        "--sample-every",
        "20",
        "--json",
        path.to_str().unwrap(),
        "--check-every",
        "30",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let samples: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        samples
            .iter()
            .map(|s| s["tick"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![20, 40, 60]
    );
    let last = &samples[2];
    assert_eq!(last["nodes"].as_array().unwrap().len(), 2);
    let zone = &last["nodes"][0]["zones"][0];
    assert_eq!(zone["zone"], "Normal");
    assert_eq!(zone["free_area"].as_array().unwrap().len(), 11);
    // Free pages in the sample equal the free blocks it lists.
    let from_blocks: u64 = zone["free_area"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(o, n)| n.as_u64().unwrap() << o)
        .sum();
    assert_eq!(zone["free_pages"].as_u64().unwrap(), from_blocks);
    assert!(zone["counters"]["pgalloc"].as_u64().unwrap() > 0);
    // The summary names the digest, buddyinfo and each node's meminfo.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("digest ")
            && stdout.contains("$ cat /proc/buddyinfo")
            && stdout.contains("Node 1 MemTotal:"),
        "{stdout}"
    );
    // Progress goes to stderr.
    assert!(String::from_utf8_lossy(&out.stderr).contains("progress: 100%"));
    std::fs::remove_file(&path).ok();
}

/// `run --csv` writes the samples `--json` writes, as a table: a header,
/// then one row per sampled tick, node and zone, with the same values.
#[test]
fn run_writes_the_same_samples_as_csv() {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let (json, csv) = (
        dir.join(format!("numasim-csv-{pid}.jsonl")),
        dir.join(format!("numasim-csv-{pid}.csv")),
    );
    let out = numasim(&[
        "run",
        "small",
        "--ticks",
        "40",
        "--sample-every",
        "20",
        "--json",
        json.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<serde_json::Value> = std::fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let text = std::fs::read_to_string(&csv).unwrap();
    let _ = (std::fs::remove_file(&json), std::fs::remove_file(&csv));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let zones_per_sample: usize = samples[0]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["zones"].as_array().unwrap().len())
        .sum();
    assert_eq!(rows.len(), samples.len() * zones_per_sample);
    assert_eq!(samples.len(), 2);
    for r in &rows {
        assert_eq!(r.len(), header.len(), "every row has every column");
    }
    let col = |r: &Vec<&str>, name: &str| -> String {
        r[header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}"))]
        .to_string()
    };
    // The last row: the last sample's last node's last zone.
    let last = rows.last().unwrap();
    let s = &samples[1];
    let n = s["nodes"].as_array().unwrap().last().unwrap();
    let z = n["zones"].as_array().unwrap().last().unwrap();
    assert_eq!(col(last, "tick"), "40");
    assert_eq!(col(last, "node"), n["node"].to_string());
    assert_eq!(col(last, "zone"), z["zone"].as_str().unwrap());
    assert_eq!(col(last, "free_pages"), z["free_pages"].to_string());
    assert_eq!(col(last, "wmark_low"), z["wmark"]["low"].to_string());
    assert_eq!(col(last, "free_area_3"), z["free_area"][3].to_string());
    assert_eq!(col(last, "pgalloc"), z["counters"]["pgalloc"].to_string());
    assert_eq!(col(last, "tick_pgalloc"), z["tick"]["pgalloc"].to_string());
    assert_eq!(
        col(last, "class_anon"),
        z["class_pages"]["anon"].to_string()
    );
    assert_ne!(col(last, "pgalloc"), "0");
}

#[test]
fn check_every_finds_no_violation_on_the_stress_preset() {
    let out = numasim(&[
        "run",
        "stress-frag",
        "--ticks",
        "40",
        "--check-every",
        "10",
        "--quiet",
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("digest "));
}

fn gpu_present() -> bool {
    match numasim::engine::gpu::device::open() {
        Ok(_) => true,
        Err(e) => {
            assert!(
                std::env::var("NUMASIM_REQUIRE_GPU")
                    .map(|v| v != "1")
                    .unwrap_or(true),
                "NUMASIM_REQUIRE_GPU=1 but {e}"
            );
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "SKIPPED (no GPU adapter): {e}");
            false
        }
    }
}

/// No Vulkan driver at all: `--backend gpu` refuses with a clear message,
/// `--backend auto` runs on the CPU and says why.
#[test]
fn backend_choice_without_an_adapter() {
    let run = |backend: &str| {
        Command::new(env!("CARGO_BIN_EXE_numasim"))
            .args(["run", "small", "--ticks", "5", "--backend", backend])
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .output()
            .unwrap()
    };
    let out = run("gpu");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("backend `gpu` is not available") && err.contains("no GPU adapter"),
        "{err}"
    );
    let out = run("auto");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("backend cpu") && stdout.contains("auto: the CPU reference, because"),
        "{stdout}"
    );
}

#[test]
fn gpu_and_cpu_print_the_same_digest() {
    if !gpu_present() {
        return;
    }
    let digest = |backend: &str| {
        let out = numasim(&[
            "run",
            "stress-frag",
            "--ticks",
            "120",
            "--quiet",
            "--backend",
            backend,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(digest("cpu"), digest("gpu"));
    // The one `auto` rule: a hardware adapter runs it, a software one
    // (lavapipe in CI) leaves it to the CPU reference, and `run` says why.
    let out = numasim(&["run", "small", "--ticks", "5", "--backend", "auto"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    if stdout.contains("backend gpu:") {
        assert!(
            stdout.contains("auto:") && stdout.contains("hardware adapter"),
            "{stdout}"
        );
    } else {
        assert!(
            stdout.contains("backend cpu") && stdout.contains("is a software one"),
            "{stdout}"
        );
    }
}

#[test]
fn parity_command_reports_identical_phases() {
    if !gpu_present() {
        return;
    }
    let out = numasim(&["parity", "small", "--ticks", "3", "--skip", "40"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("identical after every phase of ticks 40..43"));
}

/// `run` defaults to the CPU reference, which is fast everywhere, even
/// where a software Vulkan device is installed; `numasim` with no
/// arguments is `numasim run` with its defaults.
#[test]
fn run_defaults_to_the_cpu_reference() {
    let out = Command::new(env!("CARGO_BIN_EXE_numasim"))
        .args(["run", "small", "--ticks", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("backend cpu") && stdout.contains("the CPU reference, as chosen"),
        "{stdout}"
    );
}

fn numasim_no_display(args: &[&str]) -> std::process::Output {
    command(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap()
}

#[test]
fn gui_without_a_display_says_so_and_bad_gui_input_is_named() {
    let out = numasim_no_display(&["gui", "small"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no display") && err.contains("xvfb-run"),
        "{err}"
    );

    let out = numasim_no_display(&["gui", "--size", "10x10"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("10x10") && err.contains("between 200 and 16384"),
        "{err}"
    );

    // A bad scenario is reported (file and line) before any window opens.
    let path = std::env::temp_dir().join(format!("numasim-gui-bad-{}.toml", std::process::id()));
    std::fs::write(&path, "name = \"x\"\n[[nodes]]\nmemory_mib = 5\ncpus = 1\n").unwrap();
    let out = numasim_no_display(&[
        "gui",
        path.to_str().unwrap(),
        "--screenshot",
        "/nonexistent/x.png",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(path.to_str().unwrap()) && err.contains(":3"),
        "{err}"
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn no_subcommand_without_a_display_runs_headless() {
    // `numasim` alone is the README's main command: with no display it
    // simulates the scenario (here a short one) and prints the summary.
    let out = numasim_no_display(&["--scenario", "small", "--seed", "5"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no display"), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("scenario `small`") && text.contains("seed 5"),
        "{text}"
    );
    assert!(text.contains("Node 0, zone"), "{text}");
}

/// `numasim bench --hugetlb`: each backend grows the pool to the pages
/// asked for and shrinks it back to none, HVO off and on, with the same
/// vmemmap saving (7 of 8 vmemmap pages per 2 MiB page,
/// Documentation/mm/vmemmap_dedup.rst) and the time split into its parts.
#[test]
fn bench_hugetlb_grows_and_shrinks_on_each_backend() {
    let path = std::env::temp_dir().join(format!("numasim-hbench-{}.json", std::process::id()));
    let gpu = common::gpu().is_some();
    let mut args = vec![
        "bench",
        "--hugetlb",
        "40",
        "--scenario",
        "small",
        "--backend",
        "cpu",
    ];
    if gpu {
        args.extend(["--backend", "gpu"]);
    }
    args.extend(["--json", path.to_str().unwrap()]);
    let out = numasim(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(rows.len(), if gpu { 4 } else { 2 }, "{stdout}");
    for r in &rows {
        let hvo = r["hvo"].as_bool().unwrap();
        assert_eq!(r["pages"], 40, "{r}");
        assert_eq!(r["pages_left"], 0, "{r}");
        assert_eq!(r["vmemmap_saved"], if hvo { 40 * 7 } else { 0 }, "{r}");
        // One frame write per page head without HVO, plus two words per
        // counter changed in each zone used (pgalloc, allocations,
        // numa_hit, numa_local or numa_other: 4 per zone, 1 or 2 zones);
        // with HVO each page also gives back 7 vmemmap frames (and the
        // PTE tables it costs).
        let writes = r["grow_parts"]["writes"].as_u64().unwrap();
        if hvo {
            assert!(writes >= 40 * 8, "{r}");
        } else {
            assert!((40 + 8..=40 + 16).contains(&writes), "{r}");
        }
        for part in ["grow_parts", "shrink_parts"] {
            for k in ["rollback_copy_s", "small_state_s", "path_s", "apply_s"] {
                assert!(r[part][k].as_f64().unwrap() >= 0.0, "{part}.{k}: {r}");
            }
            // The CPU reference reads nothing from a device; the GPU reads
            // summaries and chunks, never the whole machine (131,072 frames
            // and owners would be 1 MiB).
            let read = r[part]["bytes_read"].as_u64().unwrap();
            if r["backend"].as_str().unwrap().starts_with("cpu") {
                assert_eq!(read, 0, "{r}");
            } else {
                assert!(read > 0 && read < 1 << 20, "{part}: {read} bytes: {r}");
            }
        }
    }
    assert!(stdout.contains("rollback copy"), "{stdout}");
}
