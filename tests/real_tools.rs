//! The tools people already use, unmodified, on the simulated machine:
//! Debian's numastat and numactl (numactl), free and vmstat (procps), sadc
//! and sar (sysstat), hugeadm (libhugetlbfs-bin) and lstopo (hwloc), run
//! through `numasim exec` (a private mount namespace with the simulator's
//! /proc and /sys bound in) and `numasim mount` (the live FUSE tree).
//!
//! Each output is checked against the simulator's own values: the same
//! scenario, seed and warm-up booted in this process (a run is determined
//! by scenario and seed), read through `procfs::read`.
//!
//! A tool, /dev/fuse or the right to mount missing: the test says it was
//! skipped; with NUMASIM_REQUIRE_TOOLS=1 (as CI sets it) it fails instead.

#![cfg(target_os = "linux")]

use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;
use numasim::procfs;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_numasim");
const WARMUP: u64 = 200;

fn required() -> bool {
    std::env::var("NUMASIM_REQUIRE_TOOLS").as_deref() == Ok("1")
}

/// False after saying why the test is skipped; panics when tools are
/// required.
fn skip(why: &str) -> bool {
    if required() {
        panic!("{why} (NUMASIM_REQUIRE_TOOLS=1: the real-tool tests may not skip)");
    }
    eprintln!("real_tools: skipped: {why}");
    false
}

fn on_path(tool: &str) -> bool {
    if tool.starts_with('/') {
        return Path::new(tool).exists();
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

fn ready(tools: &[&str]) -> bool {
    if !Path::new("/dev/fuse").exists() {
        return skip("no /dev/fuse (Debian: the fuse3 package, and a kernel with FUSE)");
    }
    for t in tools {
        if !on_path(t) {
            return skip(&format!(
                "{t} is not installed (apt-get install fuse3 numactl procps sysstat libhugetlbfs-bin hwloc)"
            ));
        }
    }
    true
}

/// Runs `script` with bash inside `numasim exec SCENARIO` (paused after
/// `warmup` ticks on the CPU reference); its stdout, or None when the
/// host refuses the namespace (skipped).
fn exec(scenario: &str, warmup: u64, script: &str) -> Option<String> {
    let out = Command::new(BIN)
        .args(["exec", scenario, "--backend", "cpu", "--paused", "--warmup"])
        .arg(warmup.to_string())
        .args(["--", "bash", "-c", script])
        .output()
        .expect("starting numasim exec");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("needs root") {
        skip(&format!("numasim exec cannot mount here: {stderr}"));
        return None;
    }
    assert!(
        out.status.success(),
        "numasim exec {scenario} failed ({}):\n{stderr}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

/// The same machine in this process: scenario, default seed, setup,
/// warm-up.
fn twin(scenario: &str, warmup: u64) -> Machine {
    let s = Scenario::load(scenario).unwrap();
    let mut m = Machine::boot(s, None).unwrap();
    procfs::shell::run_setup(&mut m, &mut std::io::sink()).unwrap();
    m.advance(warmup).unwrap();
    m
}

fn cat(m: &mut Machine, path: &str) -> String {
    procfs::read(m, path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `Key: value kB` or `Node N Key: value kB` lines (meminfo) or `key value`
/// lines (numastat, vmstat), keyed without the colon.
fn fields(text: &str) -> BTreeMap<String, u64> {
    let mut f = BTreeMap::new();
    for l in text.lines() {
        let mut w: Vec<&str> = l.split_whitespace().collect();
        if w.first() == Some(&"Node") && w.len() > 2 {
            w.drain(..2);
        }
        if w.len() >= 2 {
            if let Ok(v) = w[1].parse() {
                f.insert(w[0].trim_end_matches(':').to_string(), v);
            }
        }
    }
    f
}

/// The text between `== NAME` and the next `== ` marker.
fn section<'a>(out: &'a str, name: &str) -> &'a str {
    let start = out
        .find(&format!("== {name}\n"))
        .unwrap_or_else(|| panic!("no section {name} in:\n{out}"))
        + name.len()
        + 4;
    let rest = &out[start..];
    &rest[..rest.find("\n== ").map(|i| i + 1).unwrap_or(rest.len())]
}

fn nodes(m: &Machine) -> usize {
    m.scenario.topology.nodes.len()
}

/// A table row `LABEL v0 v1 ...` as strings.
fn row<'a>(table: &'a str, label: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(label))
        .unwrap_or_else(|| panic!("no row {label} in:\n{table}"))
        .split_whitespace()
        .skip(1)
        .collect()
}

fn numastat_on(scenario: &str) {
    if !ready(&["numastat"]) {
        return;
    }
    let Some(out) = exec(
        scenario,
        WARMUP,
        "numastat; echo '== m'; numastat -m 2>/dev/null",
    ) else {
        return;
    };
    let mut m = twin(scenario, WARMUP);
    let n = nodes(&m);
    let plain = &out[..out.find("== m\n").unwrap()];
    let header: Vec<&str> = plain.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        (0..n).map(|i| format!("node{i}")).collect::<Vec<_>>()
    );
    let mut hits = 0;
    for nid in 0..n {
        let own = fields(&cat(
            &mut m,
            &format!("/sys/devices/system/node/node{nid}/numastat"),
        ));
        for key in [
            "numa_hit",
            "numa_miss",
            "numa_foreign",
            "interleave_hit",
            "local_node",
            "other_node",
        ] {
            assert_eq!(
                row(plain, key)[nid].parse::<u64>().unwrap(),
                own[key],
                "numastat {key} node{nid} on {scenario}"
            );
        }
        hits += own["numa_hit"];
    }
    assert!(
        hits > 0,
        "{scenario}: no allocation counted after {WARMUP} ticks"
    );

    // numastat -m: node meminfo in MB with two decimals, then a Total column.
    let mem = section(&out, "m");
    for key in [
        "MemTotal",
        "MemFree",
        "MemUsed",
        "FilePages",
        "AnonPages",
        "Slab",
        "AnonHugePages",
    ] {
        let got = row(mem, key);
        assert_eq!(got.len(), n + 1, "{key}: a column per node and a total");
        let mut total = 0.0;
        for (nid, cell) in got.iter().enumerate().take(n) {
            let kb = fields(&cat(
                &mut m,
                &format!("/sys/devices/system/node/node{nid}/meminfo"),
            ))[key];
            let mb = kb as f64 / 1024.0;
            total += mb;
            assert_eq!(
                *cell,
                format!("{mb:.2}"),
                "numastat -m {key} node{nid} on {scenario}"
            );
        }
        assert_eq!(
            got[n],
            format!("{total:.2}"),
            "numastat -m {key} Total on {scenario}"
        );
    }
}

#[test]
fn numastat_reads_the_node_counters_and_meminfo_default() {
    numastat_on("default");
}

#[test]
fn numastat_reads_the_node_counters_and_meminfo_cxl() {
    numastat_on("cxl");
}

fn numactl_on(scenario: &str) {
    if !ready(&["numactl"]) {
        return;
    }
    let Some(out) = exec(scenario, WARMUP, "numactl --hardware") else {
        return;
    };
    let mut m = twin(scenario, WARMUP);
    let n = nodes(&m);
    assert!(
        out.starts_with(&format!("available: {n} nodes (0-{})\n", n - 1)),
        "{out}"
    );
    for nid in 0..n {
        let cpus: Vec<String> = m.scenario.topology.nodes[nid]
            .cpus
            .iter()
            .map(|c| c.to_string())
            .collect();
        let line = format!(
            "node {nid} cpus:{}",
            cpus.iter().map(|c| format!(" {c}")).collect::<String>()
        );
        assert!(
            out.lines().any(|l| l.trim_end() == line),
            "want `{line}` in:\n{out}"
        );
        // libnuma's numa_node_size64() reads MemTotal and MemFree from the
        // node's meminfo; numactl prints them >> 20.
        let mi = fields(&cat(
            &mut m,
            &format!("/sys/devices/system/node/node{nid}/meminfo"),
        ));
        assert!(
            out.contains(&format!("node {nid} size: {} MB\n", mi["MemTotal"] / 1024)),
            "{out}"
        );
        assert!(
            out.contains(&format!("node {nid} free: {} MB\n", mi["MemFree"] / 1024)),
            "{out}"
        );
        // The distance table's row for this node is the node's distance file.
        let dist: Vec<String> = cat(
            &mut m,
            &format!("/sys/devices/system/node/node{nid}/distance"),
        )
        .split_whitespace()
        .map(String::from)
        .collect();
        assert_eq!(dist.len(), n);
        let r: Vec<&str> = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{nid}:")))
            .unwrap()
            .split_whitespace()
            .skip(1)
            .collect();
        assert_eq!(r, dist, "distance row {nid} on {scenario}");
    }
}

#[test]
fn numactl_hardware_shows_the_topology_default() {
    numactl_on("default");
}

#[test]
fn numactl_hardware_shows_the_topology_cxl() {
    numactl_on("cxl");
}

fn procps_on(scenario: &str) {
    if !ready(&["free", "vmstat"]) {
        return;
    }
    let Some(out) = exec(
        scenario,
        WARMUP,
        "echo '== free'; free -k; echo '== vmstat'; vmstat -s",
    ) else {
        return;
    };
    let mut m = twin(scenario, WARMUP);
    let mi = fields(&cat(&mut m, "/proc/meminfo"));
    let mem = row(section(&out, "free"), "Mem:");
    let v: Vec<u64> = mem.iter().map(|c| c.parse().unwrap()).collect();
    // procps 4: total, used (total - available), free, shared, buff/cache
    // (Buffers + Cached + SReclaimable), available.
    assert_eq!(v[0], mi["MemTotal"], "free total on {scenario}");
    assert_eq!(
        v[1],
        mi["MemTotal"] - mi["MemAvailable"],
        "free used on {scenario}"
    );
    assert_eq!(v[2], mi["MemFree"], "free free on {scenario}");
    assert_eq!(
        v[4],
        mi["Buffers"] + mi["Cached"] + mi["SReclaimable"],
        "free buff/cache on {scenario}"
    );
    assert_eq!(v[5], mi["MemAvailable"], "free available on {scenario}");
    assert!(v[2] < v[0], "{scenario}: nothing allocated after warm-up");

    let vm = section(&out, "vmstat");
    let stat_of = |label: &str| -> u64 {
        vm.lines()
            .find(|l| l.trim_start().split_once(' ').map(|x| x.1.trim()) == Some(label))
            .unwrap_or_else(|| panic!("no `{label}` in:\n{vm}"))
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(stat_of("K total memory"), mi["MemTotal"]);
    assert_eq!(stat_of("K free memory"), mi["MemFree"]);
    let stat = cat(&mut m, "/proc/stat");
    let cpu: Vec<u64> = stat
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    let st = fields(&stat);
    assert_eq!(stat_of("non-nice user cpu ticks"), cpu[0]);
    assert_eq!(stat_of("idle cpu ticks"), cpu[3]);
    assert_eq!(stat_of("boot time"), st["btime"]);
    assert_eq!(stat_of("forks"), st["processes"]);
    // Ticks of simulated time: every CPU's user + idle is the uptime.
    let cpus = m
        .scenario
        .topology
        .nodes
        .iter()
        .map(|n| n.cpus.len() as u64)
        .sum::<u64>();
    assert_eq!(cpu[0] + cpu[3], cpus * m.now_ns() / 10_000_000);
}

#[test]
fn free_and_vmstat_read_meminfo_and_stat_default() {
    procps_on("default");
}

#[test]
fn free_and_vmstat_read_meminfo_and_stat_cxl() {
    procps_on("cxl");
}

/// hugeadm's pool row for 2 MiB pages: Size, Minimum, Current, Maximum.
fn pool_row(out: &str) -> Vec<u64> {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some("2097152"))
        .unwrap_or_else(|| panic!("no 2 MiB pool in:\n{out}"))
        .split_whitespace()
        .take(4)
        .map(|x| x.parse().unwrap())
        .collect()
}

fn hugeadm_on(scenario: &str) {
    if !ready(&["hugeadm"]) {
        return;
    }
    let h = "/sys/kernel/mm/hugepages/hugepages-2048kB";
    let script = format!(
        "echo '== before'; hugeadm --pool-list; hugeadm --pool-pages-min 2MB:64 || echo FAILED $?; \
         echo '== cat'; cat {h}/nr_hugepages {h}/free_hugepages; echo '== after'; hugeadm --pool-list"
    );
    let Some(out) = exec(scenario, WARMUP, &script) else {
        return;
    };
    let mut m = twin(scenario, WARMUP);
    let pool = |m: &mut Machine| {
        let f =
            |m: &mut Machine, x: &str| cat(m, &format!("{h}/{x}")).trim().parse::<u64>().unwrap();
        let (nr, surp, over) = (
            f(m, "nr_hugepages"),
            f(m, "surplus_hugepages"),
            f(m, "nr_overcommit_hugepages"),
        );
        // hugeadm: minimum = nr_hugepages - surplus, maximum = nr_hugepages + overcommit.
        vec![2097152, nr - surp, nr, nr + over]
    };
    assert_eq!(
        pool_row(section(&out, "before")),
        pool(&mut m),
        "{scenario}: pool before"
    );
    assert!(!out.contains("FAILED"), "{out}");
    // The same write in this process, through the simulator's semantics.
    procfs::write(&mut m, &format!("{h}/nr_hugepages"), "64").unwrap();
    let want = format!(
        "{}{}",
        cat(&mut m, &format!("{h}/nr_hugepages")),
        cat(&mut m, &format!("{h}/free_hugepages"))
    );
    assert_eq!(
        section(&out, "cat"),
        want,
        "{scenario}: the pool after hugeadm"
    );
    assert!(
        want.starts_with("64\n"),
        "{scenario}: the pool did not reach 64: {want}"
    );
    assert_eq!(
        pool_row(section(&out, "after")),
        pool(&mut m),
        "{scenario}: pool after"
    );
}

#[test]
fn hugeadm_lists_and_sets_the_pool_default() {
    hugeadm_on("default");
}

#[test]
fn hugeadm_lists_and_sets_the_pool_cxl() {
    hugeadm_on("cxl");
}

/// The `Average:` value of column `name` in a sar report (the header row
/// is the line naming the column; its first field is the time, which the
/// Average row replaces with its label).
fn sar_average<'a>(report: &'a str, name: &str) -> &'a str {
    let head: Vec<&str> = report
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == name))
        .unwrap_or_else(|| panic!("no column {name} in:\n{report}"))
        .split_whitespace()
        .collect();
    let i = head.iter().position(|h| *h == name).unwrap();
    row(report, "Average:")[i - 1]
}

/// sadc samples before and after 500 ticks (through the control file);
/// sar's rates are per simulated second, since sadc takes its interval
/// from /proc/uptime.
#[test]
fn sar_rates_are_per_simulated_second() {
    let sadc = "/usr/lib/sysstat/sadc";
    if !ready(&["sar", sadc]) {
        return;
    }
    let (scenario, warm, step) = ("small", 1500, 500);
    let script = format!(
        "sa=$(mktemp); rm -f $sa; {sadc} 1 1 $sa; echo 'tick {step}' > $NUMASIM_ROOT/numasim/control; \
         {sadc} 1 1 $sa; echo '== B'; sar -B -f $sa; echo '== r'; sar -r -f $sa; rm -f $sa"
    );
    let Some(out) = exec(scenario, warm, &script) else {
        return;
    };
    let mut m = twin(scenario, warm);
    let before = fields(&cat(&mut m, "/proc/vmstat"));
    let t0 = m.now_ns();
    m.advance(step).unwrap();
    let after = fields(&cat(&mut m, "/proc/vmstat"));
    let secs = (m.now_ns() - t0) as f64 / 1e9;
    let rate = |keys: &[&str]| -> String {
        let d: u64 = keys.iter().map(|k| after[*k] - before[*k]).sum();
        format!("{:.2}", d as f64 / secs)
    };
    let b = section(&out, "B");
    let col = |name: &str| sar_average(b, name);
    // pgsteal/s reads pgsteal_kswapd + pgsteal_direct, as the kernel has
    // printed them since 4.8 (sysstat sums every pgsteal_ line).
    assert_eq!(
        col("pgsteal/s"),
        rate(&["pgsteal_kswapd", "pgsteal_direct"]),
        "{b}"
    );
    assert_eq!(col("pgscank/s"), rate(&["pgscan_kswapd"]), "{b}");
    assert_eq!(col("pgfree/s"), rate(&["pgfree"]), "{b}");
    assert_ne!(
        col("pgsteal/s"),
        "0.00",
        "small reclaims in these ticks: {b}"
    );

    let r = section(&out, "r");
    let col = |name: &str| sar_average(r, name);
    let mi = fields(&cat(&mut m, "/proc/meminfo"));
    assert_eq!(col("kbmemfree"), mi["MemFree"].to_string());
    assert_eq!(col("kbavail"), mi["MemAvailable"].to_string());
    assert_eq!(col("kbcached"), mi["Cached"].to_string());
}

#[test]
fn lstopo_shows_the_simulated_nodes_and_cpus() {
    if !ready(&["lstopo-no-graphics"]) {
        return;
    }
    let scenario = "cxl";
    let Some(out) = exec(
        scenario,
        WARMUP,
        "HWLOC_FSROOT=$NUMASIM_ROOT lstopo-no-graphics --of xml",
    ) else {
        return;
    };
    let mut m = twin(scenario, WARMUP);
    let attr = |l: &str, a: &str| -> Option<String> {
        let i = l.find(&format!(" {a}=\""))? + a.len() + 3;
        Some(l[i..i + l[i..].find('"')?].to_string())
    };
    let mut numa = BTreeMap::new();
    let mut pus = Vec::new();
    let mut packages = 0;
    for l in out
        .lines()
        .filter(|l| l.trim_start().starts_with("<object "))
    {
        match attr(l, "type").as_deref() {
            Some("NUMANode") => {
                let id: usize = attr(l, "os_index").unwrap().parse().unwrap();
                numa.insert(id, attr(l, "local_memory").unwrap().parse::<u64>().unwrap());
            }
            Some("PU") => pus.push(attr(l, "os_index").unwrap().parse::<u32>().unwrap()),
            Some("Package") => packages += 1,
            _ => {}
        }
    }
    assert_eq!(numa.len(), nodes(&m), "{out}");
    for (nid, bytes) in numa {
        let kb = fields(&cat(
            &mut m,
            &format!("/sys/devices/system/node/node{nid}/meminfo"),
        ))["MemTotal"];
        assert_eq!(bytes, kb * 1024, "node {nid} memory");
    }
    let mut want: Vec<u32> = m
        .scenario
        .topology
        .nodes
        .iter()
        .flat_map(|n| n.cpus.clone())
        .collect();
    want.sort_unstable();
    pus.sort_unstable();
    assert_eq!(pus, want);
    let with_cpus = m
        .scenario
        .topology
        .nodes
        .iter()
        .filter(|n| !n.cpus.is_empty())
        .count();
    assert_eq!(packages, with_cpus, "a package per node with CPUs");
}

/// `numasim mount`: the live tree with the kernel's modes, sizes and
/// errno, steered through the control file, and a clean stop on SIGTERM.
#[test]
fn mount_serves_the_tree_and_stops_cleanly() {
    if !ready(&["bash"]) {
        return;
    }
    let dir = tempfile_dir();
    let mut child = Command::new(BIN)
        .args(["mount"])
        .arg(&dir)
        .args(["small", "--backend", "cpu", "--paused"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let control = dir.join("numasim/control");
    let t0 = std::time::Instant::now();
    while !control.exists() {
        if let Some(st) = child.try_wait().unwrap() {
            let mut e = String::new();
            use std::io::Read;
            child.stderr.take().unwrap().read_to_string(&mut e).unwrap();
            if e.contains("fusermount") || e.contains("Operation not permitted") {
                skip(&format!("numasim mount cannot mount here: {e}"));
                return;
            }
            panic!("numasim mount exited ({st}): {e}");
        }
        assert!(t0.elapsed().as_secs() < 120, "the mount did not appear");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    use std::os::unix::fs::MetadataExt;
    let md = |p: &str| std::fs::metadata(dir.join(p)).unwrap();
    assert_eq!(md("proc/meminfo").mode() & 0o7777, 0o444);
    assert_eq!(md("proc/meminfo").size(), 0);
    assert_eq!(md("proc/zoneinfo").mode() & 0o7777, 0o400);
    assert_eq!(md("proc/sys/vm/min_free_kbytes").mode() & 0o7777, 0o644);
    let nr = "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";
    assert_eq!(md(nr).mode() & 0o7777, 0o644);
    assert_eq!(md(nr).size(), 4096);
    assert_eq!(md("sys/devices/system/node/node0/cpulist").size(), 28672);
    assert!(md("sys/devices/system/node").is_dir());
    let names: Vec<String> = std::fs::read_dir(dir.join("sys/devices/system/node"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.contains(&"node0".into()) && names.contains(&"node1".into()),
        "{names:?}"
    );

    // A refused write fails in the shell with the kernel's message.
    let sh = |cmd: &str| {
        // bash: dash's builtin echo reports every failed write as
        // "I/O error", whatever the errno.
        Command::new("bash")
            .arg("-c")
            .arg(cmd)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let o = sh("echo abc > proc/sys/vm/min_free_kbytes");
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Invalid argument"),
        "{o:?}"
    );
    let o = sh("echo 1 > proc/meminfo");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("Permission denied"),
        "{o:?}"
    );
    // An accepted write goes through the simulator's semantics.
    assert!(sh(&format!("echo 8 > {nr}")).status.success());
    assert_eq!(std::fs::read_to_string(dir.join(nr)).unwrap(), "8\n");

    // Paused: the tick only moves when told.
    let tick = || -> u64 {
        let c = std::fs::read_to_string(&control).unwrap();
        c.lines()
            .find_map(|l| l.strip_prefix("tick "))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let t = tick();
    std::fs::write(&control, "tick 25\n").unwrap();
    assert_eq!(tick(), t + 25);
    let o = sh("echo 'bogus' > numasim/control");
    assert!(!o.status.success(), "an unknown control command is refused");
    assert_eq!(tick(), t + 25);

    // SIGTERM: unmounted and exited cleanly.
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = child.wait().unwrap();
    assert!(st.success(), "numasim mount after SIGTERM: {st}");
    assert!(!control.exists(), "still mounted after the process ended");
    std::fs::remove_dir(&dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("numasim-mount-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
