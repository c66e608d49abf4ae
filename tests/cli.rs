//! The command line as a user drives it.

use std::process::Command;

fn numasim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_numasim"))
        .args(args)
        .output()
        .unwrap()
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
