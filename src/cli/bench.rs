//! `numasim bench`: ticks/s and cost per frame-tick per backend, the
//! phases one by one, scaling with machine size, and hugetlb pool resizes.

use super::load;
use anyhow::{Context, Result};
use numasim::engine::types::*;
use numasim::engine::BackendChoice;
use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;
use std::time::Instant;

/// A `Key:  N kB` field of a /proc file of this process's host, in bytes.
fn proc_kb_field(path: &str, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(path).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

fn rss_bytes() -> Option<u64> {
    proc_kb_field("/proc/self/status", "VmRSS:")
}

fn mem_available_bytes() -> Option<u64> {
    proc_kb_field("/proc/meminfo", "MemAvailable:")
}

/// Per-phase wall time, each phase run alone and waited for.
pub fn cmd_bench_phases(
    scenarios: Vec<String>,
    ticks: Option<u64>,
    warmup: Option<u64>,
    backends: Vec<BackendChoice>,
) -> Result<()> {
    use numasim::engine::tick_phases;
    let backends = if backends.is_empty() {
        vec![BackendChoice::Cpu, BackendChoice::Gpu]
    } else {
        backends
    };
    let list = if scenarios.is_empty() {
        vec!["default".to_string()]
    } else {
        scenarios
    };
    for name in list {
        for &b in &backends {
            let s = load(&name)?;
            let (mut m, _) = match Machine::boot_on(s, None, b) {
                Ok(x) => x,
                Err(e) => {
                    println!("{name} {}: skipped: {e}", b);
                    continue;
                }
            };
            let warm = warmup.unwrap_or(100);
            m.advance(warm)?;
            let n = ticks.unwrap_or(5).max(1);
            let phases = tick_phases();
            let mut t = vec![0f64; phases.len()];
            for _ in 0..n {
                for (i, &p) in phases.iter().enumerate() {
                    let t0 = Instant::now();
                    m.backend_mut().run_phase(p)?;
                    m.backend_mut().finish()?;
                    t[i] += t0.elapsed().as_secs_f64();
                }
            }
            m.tick += n;
            let total: f64 = t.iter().sum();
            println!("{name} on {}: {:.3} ms per tick (phases run one at a time, {n} ticks after {warm})", m.backend_name(), total * 1e3 / n as f64);
            // Per-order phases are summed into one line each.
            let mut rows: Vec<(String, f64)> = Vec::new();
            for (p, secs) in phases.iter().zip(&t) {
                let key = match p.order() {
                    Some(_) => format!("{} (every order)", p.def().name),
                    None => p.name(),
                };
                match rows.iter_mut().find(|(k, _)| *k == key) {
                    Some(r) => r.1 += secs,
                    None => rows.push((key, *secs)),
                }
            }
            for (k, secs) in rows {
                println!(
                    "  {k:<26} {:9.3} ms {:5.1}%",
                    secs * 1e3 / n as f64,
                    100.0 * secs / total
                );
            }
        }
    }
    Ok(())
}

/// A scenario of `frames` frames with the default preset's churn per
/// frame: four nodes, three `mixed` tasks each, scaled to node size.
fn scaling_scenario(frames: u64) -> Result<Scenario> {
    let node_mib = (frames / 4) >> 8;
    let scale = node_mib as f64 / 8192.0;
    let mut src = format!("name = \"scaling-{frames}\"\nseed = 5\ndistances = [[10,16,16,22],[16,10,22,16],[16,22,10,16],[22,16,16,10]]\n");
    for _ in 0..4 {
        src += &format!("[[nodes]]\nmemory_mib = {node_mib}\ncpus = 4\n");
    }
    for n in 0..4 {
        for k in 0..3 {
            src += &format!(
                "[[tasks]]\nname = \"t{n}{k}\"\ncpu = {}\nworkload = \"mixed\"\nscale = {scale}\n",
                n * 4 + k
            );
        }
    }
    Ok(Scenario::parse(&src, &format!("scaling-{frames}"))?)
}

const BENCH_BUDGET_S: f64 = 30.0;

struct BenchRow {
    ticks_per_s: f64,
}

#[allow(clippy::too_many_arguments)]
fn bench_one(
    label: &str,
    s: Scenario,
    backend: BackendChoice,
    timed: u64,
    warm: u64,
    results: &mut Vec<serde_json::Value>,
    rows: &mut Vec<(String, BackendChoice, BenchRow)>,
) -> Result<()> {
    let frames = s.topology.total_frames();
    let (mut m, _) = match Machine::boot_on(s, None, backend) {
        Ok(x) => x,
        Err(e) => {
            println!("{label:<14} {:<6} skipped: {e}", backend.to_string());
            return Ok(());
        }
    };
    // Warm-up and measurement are each capped at BENCH_BUDGET_S of wall
    // time, so a slow device still finishes; the ticks actually run are
    // reported.
    let budget = |m: &mut Machine, n: u64| -> Result<(u64, f64)> {
        let t0 = Instant::now();
        let mut done = 0;
        // The first batch is one tick; later ones last about two seconds.
        let mut k = 1u64;
        while done < n && (done == 0 || t0.elapsed().as_secs_f64() < BENCH_BUDGET_S) {
            let k_now = (n - done).min(k);
            m.advance(k_now)?;
            done += k_now;
            let per_tick = t0.elapsed().as_secs_f64() / done as f64;
            k = ((2.0 / per_tick.max(1e-9)) as u64).clamp(1, 1000);
        }
        Ok((done, t0.elapsed().as_secs_f64()))
    };
    budget(&mut m, warm)?;
    let ev0 = m.total(ZS_ALLOCS, None) + m.total(ZS_FREES, None);
    let (timed, wall) = budget(&mut m, timed)?;
    let events = m.total(ZS_ALLOCS, None) + m.total(ZS_FREES, None) - ev0;
    let bpf = match m.device_bytes_per_frame() {
        Some(b) => b,
        None => m.buffers()?.bytes_per_frame(),
    };
    let tps = timed as f64 / wall;
    let ns_per_ft = wall * 1e9 / (frames as f64 * timed as f64);
    println!(
        "{label:<14} {:<6} {frames:>11} {timed:>6} {tps:>9.1} {:>13.3e} {ns_per_ft:>9.4} {:>14.3e} {:>10.0} {bpf:>7.2}",
        backend.to_string(),
        tps * frames as f64,
        events as f64 / wall,
        events as f64 / timed as f64
    );
    results.push(serde_json::json!({
        "scenario": label, "backend": m.backend_name(), "frames": frames, "warmup_ticks": warm, "ticks": timed,
        "wall_s": wall, "ticks_per_s": tps, "frame_ticks_per_s": tps * frames as f64, "ns_per_frame_tick": ns_per_ft,
        "allocs_frees_per_s": events as f64 / wall, "churn_per_tick": events as f64 / timed as f64,
        "bytes_per_frame": bpf, "rss_bytes_per_frame": rss_bytes().map(|r| r as f64 / frames as f64),
    }));
    rows.push((label.to_string(), backend, BenchRow { ticks_per_s: tps }));
    Ok(())
}

/// `numasim bench --hugetlb N`: the pool grown to N 2 MiB pages and shrunk
/// back, HVO off and on, per backend. Each resize is one write of
/// /proc/sys/vm/nr_hugepages: the control path on the CPU over the current
/// frames (a GPU backend downloads them first), the frame writes applied
/// by `hugetlb_apply` and recounted on the backend, then waited for. One
/// tick runs before each resize, so it starts from a running machine (on
/// the GPU: a stale host copy), and each resize's time is printed split
/// into its parts (`Machine::path_times`).
pub fn cmd_bench_hugetlb(
    scenarios: Vec<String>,
    pages: u64,
    backends: Vec<BackendChoice>,
    json: Option<std::path::PathBuf>,
) -> Result<()> {
    let scenario = scenarios
        .first()
        .cloned()
        .unwrap_or_else(|| "assets/scenarios/hugetlb-1tib-hvo.toml".into());
    let backends = if backends.is_empty() {
        vec![BackendChoice::Cpu, BackendChoice::Gpu]
    } else {
        backends
    };
    println!(
        "{:<22} {:<40} {:>4} {:>9} {:>9} {:>11} {:>13} {:>9} {:>11}",
        "scenario",
        "backend",
        "hvo",
        "pages",
        "grow_s",
        "grow_pg/s",
        "shrink_s",
        "shrink_pg/s",
        "vmemmap_saved"
    );
    let mut rows = Vec::new();
    for b in &backends {
        for hvo in [false, true] {
            let mut s = load(&scenario)?;
            s.setup = None;
            s.tasks.clear();
            let (mut m, _) = match Machine::boot_on(s, None, *b) {
                Ok(x) => x,
                Err(e) => {
                    println!("{b:?}: not measured: {e}");
                    break;
                }
            };
            let name = m.scenario.name.clone();
            m.hugetlb_set_optimize(hvo);
            // Each resize happens on a running machine: one tick first,
            // so a GPU backend's host copy is stale and the resize pays
            // for the download its control path needs, as in a session.
            m.step()?;
            m.backend_mut().finish()?;
            let t0 = std::time::Instant::now();
            numasim::procfs::write(&mut m, "/proc/sys/vm/nr_hugepages", &pages.to_string())?;
            m.backend_mut().finish()?;
            let grow = t0.elapsed().as_secs_f64();
            let grow_parts = m.path_times;
            let got = m.hugetlb.hstates[0].nr_huge_pages;
            let saved: u64 = m.hugetlb.node_stats.iter().map(|s| s.vmemmap_saved).sum();
            m.step()?;
            m.backend_mut().finish()?;
            let t1 = std::time::Instant::now();
            numasim::procfs::write(&mut m, "/proc/sys/vm/nr_hugepages", "0")?;
            m.backend_mut().finish()?;
            let shrink = t1.elapsed().as_secs_f64();
            let shrink_parts = m.path_times;
            let left = m.hugetlb.hstates[0].nr_huge_pages;
            m.check()
                .map_err(|e| anyhow::anyhow!("after the bench: {e}"))?;
            println!(
                "{:<22} {:<40} {:>4} {:>9} {:>9.2} {:>11.0} {:>13.2} {:>9.0} {:>11}",
                name,
                m.backend_name(),
                if hvo { "on" } else { "off" },
                got,
                grow,
                got as f64 / grow,
                shrink,
                (got - left) as f64 / shrink,
                saved
            );
            // Where each resize went: the rest of the wall time after
            // the host's parts is the backend finishing its work.
            let parts = |what: &str, total: f64, p: numasim::kernel::PathTimes| {
                let host = p.rollback_copy + p.fetch + p.path;
                println!(
                    "    {what:<6} rollback copy {:>6.2} s  small state {:>6.2} s  path (with its reads) {:>6.2} s  apply+recount {:>6.2} s  ({} writes, {:.1} MiB read from the device)",
                    p.rollback_copy.as_secs_f64(),
                    p.fetch.as_secs_f64(),
                    p.path.as_secs_f64(),
                    (total - host.as_secs_f64()).max(0.0),
                    p.ops,
                    p.bytes_read as f64 / (1 << 20) as f64
                );
                serde_json::json!({
                    "rollback_copy_s": p.rollback_copy.as_secs_f64(),
                    "small_state_s": p.fetch.as_secs_f64(),
                    "path_s": p.path.as_secs_f64(),
                    "apply_s": (total - host.as_secs_f64()).max(0.0),
                    "writes": p.ops,
                    "bytes_read": p.bytes_read,
                })
            };
            let gp = parts("grow", grow, grow_parts);
            let sp = parts("shrink", shrink, shrink_parts);
            rows.push(serde_json::json!({
                "scenario": name, "backend": m.backend_name(), "hvo": hvo,
                "pages": got, "grow_s": grow, "shrink_s": shrink,
                "pages_left": left, "vmemmap_saved": saved,
                "grow_parts": gp, "shrink_parts": sp,
            }));
        }
    }
    if let Some(p) = json {
        std::fs::write(&p, serde_json::to_string_pretty(&rows)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

pub fn cmd_bench(
    scenarios: Vec<String>,
    ticks: Option<u64>,
    warmup: Option<u64>,
    backends: Vec<BackendChoice>,
    scaling: bool,
    json: Option<std::path::PathBuf>,
) -> Result<()> {
    let backends = if backends.is_empty() {
        let mut v = vec![BackendChoice::Cpu];
        match numasim::engine::gpu::device::open() {
            Ok(ctx) => {
                println!(
                    "gpu adapter: {} (holds at most {} frames: per-frame arrays split over up to 16 bindings)",
                    ctx.describe(),
                    numasim::engine::gpu::GpuBackend::max_frames(&ctx)
                );
                v.push(BackendChoice::Gpu);
            }
            Err(e) => println!("gpu: not measured: {e}"),
        }
        v
    } else {
        backends
    };
    println!(
        "{:<14} {:<6} {:>11} {:>6} {:>9} {:>13} {:>9} {:>14} {:>10} {:>7}",
        "scenario",
        "backend",
        "frames",
        "ticks",
        "ticks/s",
        "frame-ticks/s",
        "ns/f-t",
        "allocs+frees/s",
        "churn/tick",
        "B/frame"
    );
    let mut results = Vec::new();
    let mut rows = Vec::new();
    if scaling {
        for frames in [1u64 << 20, 4 << 20, 16 << 20, 64 << 20, 268_435_456] {
            let need = frames * 12;
            if mem_available_bytes().is_some_and(|a| a < need * 2) {
                println!(
                    "{:<14} skipped: needs about {} GiB of host memory",
                    format!("{}M", frames >> 20),
                    need >> 30
                );
                continue;
            }
            for &b in &backends {
                let timed = ticks.unwrap_or(if frames > 32 << 20 { 10 } else { 30 });
                let warm = warmup.unwrap_or(timed);
                bench_one(
                    &if frames == 268_435_456 {
                        "268M".to_string()
                    } else {
                        format!("{}M", frames >> 20)
                    },
                    scaling_scenario(frames)?,
                    b,
                    timed,
                    warm,
                    &mut results,
                    &mut rows,
                )?;
            }
        }
    } else {
        let explicit = !scenarios.is_empty();
        let list = if explicit {
            scenarios
        } else {
            vec!["small".into(), "default".into(), "1tib".into()]
        };
        for name in list {
            let s = load(&name)?;
            let frames = s.topology.total_frames();
            let need = frames * 10;
            if !explicit && mem_available_bytes().is_some_and(|a| a < need * 2) {
                println!(
                    "{name:<14} skipped: needs about {} GiB, not available",
                    need >> 30
                );
                continue;
            }
            for &b in &backends {
                let timed = ticks.unwrap_or(if frames > 64 << 20 { 20 } else { 200 });
                let warm = warmup.unwrap_or(timed);
                bench_one(&name, s.clone(), b, timed, warm, &mut results, &mut rows)?;
                // A scenario with a reporting device is also measured
                // without one, so what reporting costs per tick shows as
                // a ratio from this run.
                if s.reporting.enabled {
                    let mut off = s.clone();
                    off.reporting.enabled = false;
                    let label = format!("{name}:report-off");
                    bench_one(&label, off, b, timed, warm, &mut results, &mut rows)?;
                }
                // Likewise NUMA balancing.
                if s.numa.mode != 0 {
                    let mut off = s.clone();
                    off.numa.mode = 0;
                    let label = format!("{name}:numa-off");
                    bench_one(&label, off, b, timed, warm, &mut results, &mut rows)?;
                }
            }
        }
    }
    // GPU/CPU ratios measured in this run.
    for (label, b, r) in &rows {
        if *b != BackendChoice::Cpu {
            if let Some((_, _, c)) = rows
                .iter()
                .find(|(l, bb, _)| l == label && *bb == BackendChoice::Cpu)
            {
                println!(
                    "{label:<14} {}/cpu ratio of ticks/s: {:.3}",
                    b,
                    r.ticks_per_s / c.ticks_per_s
                );
            }
        }
    }
    for (label, b, r) in &rows {
        if let Some(base) = label.strip_suffix(":numa-off") {
            if let Some((_, _, on)) = rows.iter().find(|(l, bb, _)| l == base && bb == b) {
                println!(
                    "{base:<14} {b}: ticks/s with NUMA balancing / without: {:.3}",
                    on.ticks_per_s / r.ticks_per_s
                );
            }
        }
        if let Some(base) = label.strip_suffix(":report-off") {
            if let Some((_, _, on)) = rows.iter().find(|(l, bb, _)| l == base && bb == b) {
                println!(
                    "{base:<14} {b}: ticks/s with reporting / without: {:.3}",
                    on.ticks_per_s / r.ticks_per_s
                );
            }
        }
    }
    if let Some(p) = json {
        std::fs::write(&p, serde_json::to_string_pretty(&results)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

/// `numasim bench --locks`: zone->lock as the tick takes it, with every
/// task's allocation rate multiplied by 1, 2, 4, 8 and 16: acquisitions,
/// contentions, waits and bounces per scale, in simulated time (the
/// phase `lock_stat`), per backend. Also the wall time of the tick with
/// the phase, so its cost shows.
pub fn cmd_bench_locks(
    scenarios: Vec<String>,
    ticks: Option<u64>,
    warmup: Option<u64>,
    backends: Vec<BackendChoice>,
    json: Option<std::path::PathBuf>,
) -> Result<()> {
    let backends = if backends.is_empty() {
        vec![BackendChoice::Cpu]
    } else {
        backends
    };
    let name = scenarios
        .first()
        .cloned()
        .unwrap_or_else(|| "default".to_string());
    let n = ticks.unwrap_or(200).max(1);
    let warm = warmup.unwrap_or(200);
    let mut rows = Vec::new();
    println!(
        "{name}: zone->lock over {n} ticks after {warm} of warm-up, every task's rate scaled\n"
    );
    println!(
        "{:<8} {:>5} {:>14} {:>12} {:>12} {:>11} {:>12} {:>12} {:>13} {:>10} {:>14} {:>9}",
        "backend",
        "scale",
        "allocs/cpu/s",
        "acq/s",
        "contended",
        "con %",
        "wait avg ns",
        "wait max ns",
        "wait/alloc ns",
        "bounce %",
        "pgsteal_direct",
        "ms/tick"
    );
    for &b in &backends {
        for scale in [1.0f64, 2.0, 4.0, 8.0, 16.0] {
            let mut s = load(&name)?;
            for t in &mut s.tasks {
                t.scale *= scale;
            }
            let (mut m, _) = match Machine::boot_on(s, None, b) {
                Ok(x) => x,
                Err(e) => {
                    println!("{b} x{scale}: skipped: {e}");
                    continue;
                }
            };
            m.advance(warm)?;
            let allocs0 = m.total(ZS_PGALLOC, None);
            let direct0 = m.total(ZS_PGSTEAL_DIRECT, None);
            m.clear_lock_stat();
            let t0 = Instant::now();
            m.advance(n)?;
            let secs = t0.elapsed().as_secs_f64();
            let allocs = m.total(ZS_PGALLOC, None) - allocs0;
            let direct = m.total(ZS_PGSTEAL_DIRECT, None) - direct0;
            let mut st = numasim::kernel::lockdep::stat::Stats::default();
            for z in m.zone_lock_stats()?.iter().flatten() {
                numasim::kernel::lockdep::zone_lock::merge(&mut st, z);
            }
            let sim_s = n as f64 * m.tick_ns() as f64 / 1e9;
            let cpus: std::collections::BTreeSet<u32> = m.tasks.iter().map(|t| t.cpu).collect();
            let acq = st.write_hold.nr;
            let con = st.write_wait.nr;
            let row = serde_json::json!({
                "scenario": name,
                "backend": m.backend_name(),
                "scale": scale,
                "ticks": n,
                "pages_allocated": allocs,
                "allocs_per_cpu_per_s": allocs as f64 / cpus.len().max(1) as f64 / sim_s,
                "acquisitions": acq,
                "contentions": con,
                "contended_fraction": con as f64 / acq.max(1) as f64,
                "wait_avg_ns": st.write_wait.total as f64 / con.max(1) as f64,
                "wait_max_ns": st.write_wait.max,
                "wait_per_alloc_ns": st.write_wait.total as f64 / allocs.max(1) as f64,
                "bounce_fraction": st.acq_bounces_write as f64 / acq.max(1) as f64,
                "pgsteal_direct": direct,
                "wall_ms_per_tick": secs * 1e3 / n as f64,
            });
            println!(
                "{:<8} {:>5} {:>14.0} {:>12.0} {:>12} {:>10.2}% {:>12.1} {:>12} {:>13.2} {:>9.1}% {:>14} {:>9.2}",
                b.to_string(),
                scale,
                row["allocs_per_cpu_per_s"].as_f64().unwrap_or(0.0),
                acq as f64 / sim_s,
                con,
                100.0 * row["contended_fraction"].as_f64().unwrap_or(0.0),
                row["wait_avg_ns"].as_f64().unwrap_or(0.0),
                st.write_wait.max,
                row["wait_per_alloc_ns"].as_f64().unwrap_or(0.0),
                100.0 * row["bounce_fraction"].as_f64().unwrap_or(0.0),
                direct,
                row["wall_ms_per_tick"].as_f64().unwrap_or(0.0),
            );
            rows.push(row);
        }
    }
    // The validator's own cost: the records of a 512-page pool resize with
    // HVO (grow and shrink, the longest paths the machine has), validated
    // again and again by a fresh validator.
    let mut m = Machine::boot(load("small")?, None)?;
    m.hugetlb_set_optimize(true);
    let mut cost = Vec::new();
    for pages in [512u64, 0] {
        m.hugetlb_set_pages(0, pages, None, None)?;
        let p = m.paths.last().expect("the resize's record").clone();
        let reps = 200;
        let t0 = Instant::now();
        let mut log = numasim::kernel::klog::KernelLog::default();
        for _ in 0..reps {
            let mut ld = numasim::kernel::lockdep::Lockdep::default();
            ld.validate(&p, 0, &mut log);
        }
        let us = t0.elapsed().as_secs_f64() * 1e6 / reps as f64;
        println!(
            "\nlock validator: {} ({} steps kept of {}) validated in {us:.1} us",
            p.name,
            p.events.len(),
            p.events.len() as u64 + p.dropped
        );
        cost.push(serde_json::json!({"path": p.name, "steps": p.events.len(), "validate_us": us}));
    }
    if let Some(path) = json {
        let out = serde_json::json!({"scales": rows, "validator": cost});
        std::fs::write(&path, serde_json::to_string_pretty(&out)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
