//! Bad input gets a clear error naming the file, line or value, a non-zero
//! exit, and changes nothing.

mod common;
use common::*;
use numasim::model::scenario::Scenario;
use numasim::procfs::{write, Errno};
use std::process::Command;

fn scenario_err(src: &str) -> String {
    Scenario::parse(src, "bad.toml").unwrap_err().to_string()
}

const NODE: &str = "[[nodes]]\nmemory_mib = 64\ncpus = 1\n";

#[test]
fn impossible_scenarios_are_refused_with_file_and_line() {
    let e = scenario_err("nodes = []\n");
    assert!(
        e.starts_with("bad.toml:1:") && e.contains("at least one node"),
        "{e}"
    );

    let e = scenario_err(&format!("distances = [[10, 20], [20]]\n{NODE}{NODE}"));
    assert!(
        e.starts_with("bad.toml:1:") && e.contains("row 1 has 1 entries") && e.contains("square"),
        "{e}"
    );

    let e = scenario_err(&format!(
        "distances = [[10, 20, 20], [20, 10, 20], [20, 20, 10]]\n{NODE}{NODE}"
    ));
    assert!(e.contains("3 rows: expected 2"), "{e}");

    let e = scenario_err(&format!("distances = [[10, 20], [20, 12]]\n{NODE}{NODE}"));
    assert!(
        e.contains("distances[1][1] = 12") && e.contains("must be 10"),
        "{e}"
    );

    let e = scenario_err("[[nodes]]\nmemory_mib = 1001\ncpus = 1\n");
    assert!(
        e.starts_with("bad.toml:2:")
            && e.contains("memory_mib = 1001")
            && e.contains("multiple of 4 MiB"),
        "{e}"
    );

    let e = scenario_err(&format!("{NODE}colour = \"blue\"\n"));
    assert!(
        e.starts_with("bad.toml:4:") && e.contains("unknown field `colour`"),
        "{e}"
    );

    let e = scenario_err(&format!(
        "{NODE}[[tasks]]\nname = \"x\"\ncpu = 9\nworkload = \"mixed\"\n"
    ));
    assert!(e.starts_with("bad.toml:6:") && e.contains("cpu = 9"), "{e}");

    let e = scenario_err(&format!(
        "{NODE}[[tasks]]\nname = \"x\"\ncpu = 0\nworkload = \"nope\"\n"
    ));
    assert!(
        e.starts_with("bad.toml:7:") && e.contains("unknown workload `nope`"),
        "{e}"
    );

    let e = scenario_err(&format!(
        "{NODE}[[tasks]]\nname = \"x\"\ncpu = 0\nworkload = \"mixed\"\npolicy = \"bind:3\"\n"
    ));
    assert!(e.contains("node 3"), "{e}");

    let e = scenario_err("[[nodes]]\nmemory_mib = 64\ncpus = 0\n");
    assert!(e.contains("no node has CPUs"), "{e}");

    let e = scenario_err("[[nodes]]\nmemory_mib = 3072\ncpus = 1\ndma32_mib = 3072\n");
    assert!(e.contains("ZONE_NORMAL"), "{e}");

    let e = scenario_err("[[nodes]]\nmemory_mib = 8192\ncpus = 1\ndma32_mib = 8192\n");
    assert!(
        e.starts_with("bad.toml:4:") && e.contains("below 4 GiB"),
        "{e}"
    );
}

#[test]
fn refused_writes_carry_the_kernels_errno_and_change_nothing() {
    let mut m = machine(include_str!("../assets/scenarios/small.toml"));
    let before = m.buffers().unwrap().zones.clone();
    for (path, value, errno) in [
        ("/proc/sys/vm/watermark_scale_factor", "0", Errno::EINVAL),
        ("/proc/sys/vm/watermark_scale_factor", "3001", Errno::EINVAL),
        ("/proc/sys/vm/watermark_scale_factor", "ten", Errno::EINVAL),
        ("/proc/sys/vm/min_free_kbytes", "-1", Errno::EINVAL),
        ("/proc/sys/vm/min_free_kbytes", "", Errno::EINVAL),
        (
            "/sys/kernel/mm/mempolicy/weighted_interleave/node0",
            "256",
            Errno::EINVAL,
        ),
        ("/proc/meminfo", "1", Errno::EACCES),
        ("/proc/sys/vm/no_such_knob", "1", Errno::ENOENT),
        ("/proc/sys/vm", "1", Errno::EISDIR),
    ] {
        let e = write(&mut m, path, value).unwrap_err();
        assert_eq!(e.errno, errno, "{path} <- {value}: {e}");
        assert!(e.to_string().contains(path));
    }
    assert_eq!(m.buffers().unwrap().zones, before);
    assert_eq!(cat(&mut m, "/proc/sys/vm/watermark_scale_factor"), "10\n");
    assert_eq!(
        cat(&mut m, "/sys/kernel/mm/mempolicy/weighted_interleave/node0"),
        "1\n"
    );
    write(
        &mut m,
        "/sys/kernel/mm/mempolicy/weighted_interleave/node0",
        "0x10",
    )
    .unwrap();
    assert_eq!(
        cat(&mut m, "/sys/kernel/mm/mempolicy/weighted_interleave/node0"),
        "16\n"
    );
    assert_eq!(
        numasim::procfs::read(&mut m, "/proc/nope")
            .unwrap_err()
            .errno,
        Errno::ENOENT
    );
}

fn numasim(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    let mut c = Command::new(env!("CARGO_BIN_EXE_numasim"));
    c.args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut si = child.stdin.take().unwrap();
    si.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(si);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn the_binary_exits_non_zero_naming_the_problem() {
    let dir = std::env::temp_dir().join(format!("numasim-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[nodes]]\nmemory_mib = 6\ncpus = 1\n").unwrap();
    let (code, _, err) = numasim(&["run", bad.to_str().unwrap(), "--ticks", "1"], None);
    assert_ne!(code, 0);
    assert!(
        err.contains("bad.toml:2:") && err.contains("memory_mib = 6"),
        "{err}"
    );

    // An unknown dashboard tab is refused before any window opens.
    let (code, _, err) = numasim(&["gui", "small", "--tab", "pools"], None);
    assert_ne!(code, 0);
    assert!(
        err.contains("--tab: no tab \"pools\"") && err.contains("hugetlb"),
        "{err}"
    );

    let (code, _, err) = numasim(&["run", "no-such-preset"], None);
    assert_ne!(code, 0);
    assert!(
        err.contains("no-such-preset") && err.contains("presets: default"),
        "{err}"
    );

    // A script stops at its first bad line, naming it, after running the
    // lines before it.
    let script = dir.join("s.txt");
    std::fs::write(
        &script,
        "# fine\ncat /sys/devices/system/node/online\ntick 2\nbogus 1\ncat /proc/meminfo\n",
    )
    .unwrap();
    let (code, out, err) = numasim(
        &["shell", script.to_str().unwrap(), "--scenario", "small"],
        None,
    );
    assert_ne!(code, 0);
    assert_eq!(out, "0-1\n");
    assert!(
        err.contains("s.txt:4:") && err.contains("unknown command `bogus`"),
        "{err}"
    );

    // Standard input that is not a terminal is a script too.
    let (code, out, err) = numasim(
        &["shell", "--scenario", "small"],
        Some("echo 5000 > /proc/sys/vm/watermark_scale_factor\ncat /proc/buddyinfo\n"),
    );
    assert_ne!(code, 0);
    assert!(out.is_empty());
    assert!(
        err.contains("<stdin>:1:") && err.contains("Invalid argument") && err.contains("EINVAL"),
        "{err}"
    );

    let (code, out, _) = numasim(&["shell", "--scenario", "small"], Some("spawn x cpu=1 workload=idle policy=bind:1\ntick 3\ncat /sys/kernel/debug/numasim/tasks\n"));
    assert_eq!(code, 0);
    assert!(out.contains("x") && out.contains("bind:1"), "{out}");

    for (line, want) in [
        ("spawn x cpu=99 workload=mixed", "cpu 99 does not exist"),
        ("spawn x cpu=0 workload=mixed policy=bind:7", "node 7"),
        ("spawn x cpu=0", "missing workload"),
        ("tick many", "`many` is not a number"),
        ("echo 1", "expected `echo VALUE > PATH`"),
        ("stop ghost", "no running task named `ghost`"),
        ("cat", "expected a path"),
    ] {
        let (code, _, err) = numasim(
            &["shell", "--scenario", "small"],
            Some(&format!("{line}\n")),
        );
        assert_ne!(code, 0, "{line}");
        assert!(
            err.contains("<stdin>:1:") && err.contains(want),
            "{line}: {err}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Counts a user writes are bounded before anything is sized by them, and
/// values that make no sense are refused, naming the value and the line.
#[test]
fn counts_and_times_a_user_writes_are_bounded_and_checked() {
    for cpus in ["2147483647", "100000000", "-1"] {
        let e = scenario_err(&format!("[[nodes]]\nmemory_mib = 64\ncpus = {cpus}\n"));
        assert!(
            e.starts_with("bad.toml:3:")
                && e.contains(&format!("cpus = {cpus}"))
                && e.contains("8192"),
            "{e}"
        );
    }
    // The bound is on the machine: 5000 + 5000 CPUs is too many.
    let e = scenario_err(
        "[[nodes]]\nmemory_mib = 64\ncpus = 5000\n[[nodes]]\nmemory_mib = 64\ncpus = 5000\n",
    );
    assert!(
        e.starts_with("bad.toml:6:") && e.contains("nodes before it have 5000"),
        "{e}"
    );
    // A CPU number beyond u32 is refused, not truncated to CPU 1.
    let task = |extra: &str| {
        scenario_err(&format!(
            "{NODE}[[tasks]]\nname = \"x\"\ncpu = 0\nworkload = \"mixed\"\n{extra}"
        ))
    };
    let e = scenario_err(&format!(
        "{NODE}[[tasks]]\nname = \"x\"\ncpu = 4294967297\nworkload = \"mixed\"\n"
    ));
    assert!(
        e.starts_with("bad.toml:6:") && e.contains("cpu = 4294967297"),
        "{e}"
    );
    for (line, want) in [
        ("start_ms = nan", "start_ms = NaN"),
        ("start_ms = -5", "start_ms = -5"),
        ("stop_ms = inf", "stop_ms = inf"),
        (
            "start_ms = 20\nstop_ms = 10",
            "stop_ms = 10 is not after start_ms = 20",
        ),
        ("stop_ms = 0", "stop_ms = 0 is not after start_ms = 0"),
    ] {
        let e = task(line);
        assert!(
            e.starts_with("bad.toml:") && e.contains(want),
            "{line}: {e}"
        );
    }
    let wl = |name: &str| {
        format!(
            "[[workloads]]\nname = \"{name}\"\nclasses = [ {{ class = \"anon\", rate_per_s = 10, lifetime_ms = 5 }} ]\n"
        )
    };
    let e = scenario_err(&format!("{}{}{NODE}", wl("w"), wl("w")));
    assert!(
        e.starts_with("bad.toml:4:") && e.contains("`w` is defined twice"),
        "{e}"
    );
    let e = scenario_err(&format!("{}{NODE}", wl("")));
    assert!(e.contains("workload name ``"), "{e}");
    let e = scenario_err(&format!(
        "[[workloads]]\nname = \"d\"\nclasses = [ {{ class = \"anon\", rate_per_s = 1, lifetime_ms = 1 }}, {{ class = \"anon\", rate_per_s = 2, lifetime_ms = 1 }} ]\n{NODE}"
    ));
    assert!(e.contains("class `anon` is listed twice"), "{e}");
}

#[test]
fn runs_past_the_tick_counter_and_out_of_range_tunables_are_refused() {
    let mut m = machine(include_str!("../assets/scenarios/small.toml"));
    m.advance(3).unwrap();
    for n in ["18446744073709551615", "4294967293"] {
        let e = numasim::procfs::shell::exec_line(&mut m, &format!("tick {n}")).unwrap_err();
        assert!(e.contains("32-bit") && e.contains(n), "{e}");
    }
    assert_eq!(m.tick, 3, "nothing ran");
    let e = scenario_err(&format!("ticks = 4294967296\n{NODE}"));
    assert!(e.contains("ticks = 4294967296"), "{e}");
    let e = scenario_err(&format!("{NODE}[vm]\nmin_free_kbytes = 99999999999\n"));
    assert!(
        e.contains("min_free_kbytes = 99999999999") && e.contains("2147483647"),
        "{e}"
    );
}

#[test]
fn huge_mappings_are_refused_before_they_cost_memory() {
    let mut m = machine(include_str!("../assets/scenarios/small.toml"));
    for pages in ["4294967295", "18446744073709551615", "300000000"] {
        let e = numasim::procfs::shell::exec_line(
            &mut m,
            &format!("map x task=a0 pages={pages} noreserve"),
        )
        .unwrap_err();
        assert!(
            e.contains("address space holds") && e.contains("(ENOMEM)") && e.contains(pages),
            "{e}"
        );
    }
    let e = numasim::procfs::shell::exec_line(&mut m, "map y task=a0 pages=200000 size=1G")
        .unwrap_err();
    assert!(e.contains("131071"), "{e}");
    assert!(m.hugetlb.mappings.is_empty(), "nothing was mapped");
    // A long noreserve mapping within the address space costs only what is
    // faulted: 10 million 2 MiB pages (20 TB) map, and a fault past the
    // pool's means ends the walk with SIGBUS, pages faulted kept.
    numasim::procfs::shell::exec_line(&mut m, "map big task=a0 pages=10000000 noreserve").unwrap();
    numasim::procfs::shell::exec_line(&mut m, "echo 2 > /proc/sys/vm/nr_hugepages").unwrap();
    let e = numasim::procfs::shell::exec_line(&mut m, "touch big").unwrap_err();
    assert!(
        e.contains("(after 2 pages faulted)") && e.contains("SIGBUS"),
        "{e}"
    );
    let mp = &m.hugetlb.mappings[0];
    assert_eq!((mp.nr_pages, mp.pages.len()), (10_000_000, 2));
    m.check().unwrap();
    // The same refusal through a scenario's setup names the file and line.
    let src = format!(
        "setup = \"\"\"\ntick 1\nmap x task=a0 pages=4294967295 noreserve\n\"\"\"\n{}",
        include_str!("../assets/scenarios/small.toml")
    );
    let s = Scenario::parse(&src, "setup.toml").unwrap();
    let mut m = numasim::kernel::Machine::boot(s, None).unwrap();
    let e = numasim::procfs::shell::run_setup(&mut m, &mut std::io::sink())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("setup.toml:3:") && e.contains("ENOMEM"),
        "{e}"
    );
}
