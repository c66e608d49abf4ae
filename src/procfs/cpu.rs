//! The simulated CPUs as the kernel shows them: `/proc/stat`,
//! `/proc/cpuinfo`, `/sys/devices/system/cpu/...` and the node bitmaps
//! that libnuma, procps, sysstat and hwloc read.
//!
//! The model's CPUs run tasks that allocate and free memory; it does not
//! model user or system CPU time. `/proc/stat` therefore counts a CPU's
//! simulated time as `user` from the tick its first task started (the task
//! is always runnable: its allocation loop never sleeps) and as `idle`
//! before that or on CPUs without a task. Interrupt, softirq and context
//! switch counts are 0: nothing in the model produces them.

use super::{fs_err, At, Errno, File, FsError};
use crate::kernel::Machine;
use crate::model::workload::format_nodelist;

/// USER_HZ: `/proc/stat` counts in clock ticks of 1/100 s
/// (`nsec_to_clock_t()`).
const USER_HZ: u64 = 100;

/// The simulated machine's boot, as seconds since the epoch for `btime`:
/// a fixed date so a run is the same on every host (2026-01-01 00:00 UTC).
pub const BTIME: u64 = 1_767_225_600;

const CPU_DIR: &str = "/sys/devices/system/cpu";

const TOPOLOGY_FILES: [&str; 16] = [
    "physical_package_id",
    "die_id",
    "cluster_id",
    "cluster_cpus",
    "cluster_cpus_list",
    "core_id",
    "core_cpus",
    "core_cpus_list",
    "thread_siblings",
    "thread_siblings_list",
    "core_siblings",
    "core_siblings_list",
    "package_cpus",
    "package_cpus_list",
    "die_cpus",
    "die_cpus_list",
];

/// `nr_cpu_ids`: the highest CPU id plus one.
pub fn nr_cpu_ids(m: &Machine) -> u32 {
    m.scenario
        .topology
        .nodes
        .iter()
        .flat_map(|nd| nd.cpus.iter().map(|c| c + 1))
        .max()
        .unwrap_or(1)
}

pub fn all_cpus(m: &Machine) -> Vec<u32> {
    let mut v: Vec<u32> = m
        .scenario
        .topology
        .nodes
        .iter()
        .flat_map(|n| n.cpus.iter().copied())
        .collect();
    v.sort_unstable();
    v
}

/// The package (node) holding `cpu`, the CPUs of that package, and the
/// core id: the CPU's index among them.
fn package_of(m: &Machine, cpu: u32) -> Option<(u32, Vec<u32>, usize)> {
    m.scenario
        .topology
        .nodes
        .iter()
        .enumerate()
        .find_map(|(i, n)| {
            let core = n.cpus.iter().position(|&c| c == cpu)?;
            Some((i as u32, n.cpus.clone(), core))
        })
}

/// `st_size` of the CPU-list bin_attributes (node `cpulist`, topology
/// `*_list`): drivers/base/node.c and topology.c made the masks and lists
/// bin_attributes in 5.16 ("use bin_attribute to break the size limitation
/// of cpumap ABI"), sized CPULIST_FILE_MAX_BYTES = NR_CPUS * 7 / 2: 28672
/// on Debian's 6.1 (NR_CPUS 8192), as measured in QEMU. The masks'
/// CPUMAP_FILE_MAX_BYTES, NR_CPUS * 9 / 32 = 2304, is below PAGE_SIZE, so
/// they show 4096 like any attribute.
pub const CPULIST_BIN_SIZE: u64 = 28672;

/// The CPU rows of the table.
pub fn files() -> Vec<File> {
    let mut v = vec![
        File::ro("/proc/stat", |m, _| Ok(proc_stat(m))),
        File::ro("/proc/cpuinfo", |m, _| Ok(cpuinfo(m))),
        File::ro("/proc/uptime", |m, _| Ok(uptime(m))),
        // cpu_online_mask etc. print through cpumap_print_to_pagebuf(true):
        // a cpulist.
        File::ro(format!("{CPU_DIR}/online"), cpu_list),
        File::ro(format!("{CPU_DIR}/possible"), cpu_list),
        File::ro(format!("{CPU_DIR}/present"), cpu_list),
        // show_kernel_max(): NR_CPUS - 1; the simulated build's NR_CPUS is
        // Debian's x86-64 config value, 8192.
        File::ro(format!("{CPU_DIR}/kernel_max"), |_, _| Ok("8191\n".into())),
    ];
    for f in TOPOLOGY_FILES {
        let row = File::ro(format!("{CPU_DIR}/cpu{{cpu}}/topology/{f}"), topology);
        v.push(if f.ends_with("_list") {
            row.bin(CPULIST_BIN_SIZE)
        } else {
            row
        });
    }
    v
}

fn cpu_list(m: &mut Machine, _: &At) -> Result<String, FsError> {
    Ok(format!("{}\n", format_nodelist(&all_cpus(m))))
}

/// drivers/base/topology.c: one thread per core, one die per package, a
/// package per node with CPUs (the model's sockets); a cluster is the
/// CPUs sharing an L2 (x86's cpu_l2c_id), here one core, as on most x86
/// servers.
fn topology(m: &mut Machine, at: &At) -> Result<String, FsError> {
    let cpu = at.cpu;
    let Some((pkg, pkg_cpus, core_id)) = package_of(m, cpu) else {
        return Err(fs_err(at.path, Errno::ENOENT, "no such CPU"));
    };
    let nr = nr_cpu_ids(m);
    let thread = [cpu];
    Ok(match at.name() {
        "physical_package_id" => format!("{pkg}\n"),
        "die_id" => "0\n".into(),
        "core_id" | "cluster_id" => format!("{core_id}\n"),
        "core_cpus" | "thread_siblings" | "cluster_cpus" => super::format::cpumap(&thread, nr),
        "core_cpus_list" | "thread_siblings_list" | "cluster_cpus_list" => format!("{cpu}\n"),
        "core_siblings" | "package_cpus" | "die_cpus" => super::format::cpumap(&pkg_cpus, nr),
        _ => format!("{}\n", format_nodelist(&pkg_cpus)),
    })
}

/// Per CPU: (user, idle) in USER_HZ ticks of simulated time.
fn cpu_times(m: &Machine, cpu: u32) -> (u64, u64) {
    let now = m.now_ns();
    let busy_from = m
        .tasks
        .iter()
        .filter(|t| t.cpu == cpu)
        .map(|t| t.start_tick.saturating_mul(m.tick_ns()))
        .min();
    let to_ticks = |ns: u64| ns / (1_000_000_000 / USER_HZ);
    match busy_from {
        Some(from) if from < now => (to_ticks(now - from), to_ticks(from)),
        _ => (0, to_ticks(now)),
    }
}

/// `/proc/uptime` as uptime_proc_show() (fs/proc/uptime.c) prints it: the
/// simulated time since boot and the idle time summed over the CPUs, both
/// in seconds with two decimals. sysstat's sadc takes its sampling interval
/// from here, so `sar` rates are per simulated second.
pub fn uptime(m: &Machine) -> String {
    let now = m.now_ns();
    let idle_cs: u64 = all_cpus(m).iter().map(|&c| cpu_times(m, c).1).sum();
    let cs = now / (1_000_000_000 / 100);
    format!(
        "{}.{:02} {}.{:02}\n",
        cs / 100,
        cs % 100,
        idle_cs / USER_HZ,
        idle_cs % USER_HZ
    )
}

/// `/proc/stat` as show_stat() (fs/proc/stat.c) prints it: the `cpu` sum
/// line (two spaces after "cpu"), a line per online CPU, then intr, ctxt,
/// btime, processes, procs_running, procs_blocked and softirq.
pub fn proc_stat(m: &Machine) -> String {
    let cpus = all_cpus(m);
    let times: Vec<(u64, u64)> = cpus.iter().map(|&c| cpu_times(m, c)).collect();
    let line =
        |name: &str, (user, idle): (u64, u64)| format!("{name} {user} 0 0 {idle} 0 0 0 0 0 0\n");
    let sum = times
        .iter()
        .fold((0, 0), |(u, i), (tu, ti)| (u + tu, i + ti));
    let mut s = line("cpu ", sum);
    for (c, t) in cpus.iter().zip(&times) {
        s += &line(&format!("cpu{c}"), *t);
    }
    let running = m
        .tasks
        .iter()
        .filter(|t| !t.stopped && m.tick >= t.start_tick)
        .count();
    // intr: the total, then one count per IRQ number (nr_irqs; the model
    // raises none, so only the total is printed as 0 followed by the
    // legacy 16 ISA IRQs).
    s += "intr 0";
    s += &" 0".repeat(16);
    s += "\n";
    s += "ctxt 0\n";
    s += &format!("btime {BTIME}\n");
    s += &format!("processes {}\n", m.tasks.len());
    s += &format!("procs_running {}\n", running.max(1));
    s += "procs_blocked 0\n";
    s += "softirq 0 0 0 0 0 0 0 0 0 0 0\n";
    s
}

/// `/proc/cpuinfo` as show_cpuinfo() (arch/x86/kernel/cpu/proc.c) prints
/// it, one stanza per CPU. The model has no CPU model: the identification
/// lines name a generic x86-64 CPU ("numasim virtual CPU"); the topology
/// lines (physical id, siblings, core id, cpu cores, apicid) follow the
/// simulated packages, which is what hwloc and lscpu read.
pub fn cpuinfo(m: &Machine) -> String {
    let mut s = String::new();
    for c in all_cpus(m) {
        let (pkg, pkg_cpus, core_id) = package_of(m, c).unwrap_or((0, vec![c], 0));
        s += &format!("processor\t: {c}\n");
        s += "vendor_id\t: GenuineIntel\n";
        s += "cpu family\t: 6\n";
        s += "model\t\t: 0\n";
        s += "model name\t: numasim virtual CPU\n";
        s += "stepping\t: 0\n";
        s += "cpu MHz\t\t: 2000.000\n";
        s += "cache size\t: 0 KB\n";
        s += &format!("physical id\t: {pkg}\n");
        s += &format!("siblings\t: {}\n", pkg_cpus.len());
        s += &format!("core id\t\t: {core_id}\n");
        s += &format!("cpu cores\t: {}\n", pkg_cpus.len());
        s += &format!("apicid\t\t: {c}\n");
        s += &format!("initial apicid\t: {c}\n");
        s += "fpu\t\t: yes\n";
        s += "fpu_exception\t: yes\n";
        s += "cpuid level\t: 13\n";
        s += "wp\t\t: yes\n";
        s += "flags\t\t: fpu pse tsc msr pae cx8 apic sep pge cmov clflush mmx fxsr sse sse2 ht syscall nx pdpe1gb lm\n";
        s += "bugs\t\t:\n";
        s += "bogomips\t: 4000.00\n";
        s += "clflush size\t: 64\n";
        s += "cache_alignment\t: 64\n";
        s += "address sizes\t: 46 bits physical, 48 bits virtual\n";
        s += "power management:\n\n";
    }
    s
}
