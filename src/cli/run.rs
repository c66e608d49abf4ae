//! `numasim run`: a scenario headless, with progress, a summary, JSON
//! samples and the invariant checker; checkpoints and recovery from a lost
//! GPU device by the shared run loop (`kernel::run`).

use super::{load, Progress};
use anyhow::{Context, Result};
use numasim::engine::types::*;
use numasim::engine::BackendChoice;
use numasim::kernel::run::RunLoop;
use numasim::kernel::Machine;
use numasim::procfs::{self, shell};
use std::io::Write;
use std::time::Instant;

fn sample_json(m: &mut Machine) -> Result<serde_json::Value> {
    let totals = m.totals.clone();
    let last = m.last.clone();
    let tick = m.tick;
    let time_ms = m.now_ns() as f64 / 1e6;
    let topo = m.scenario.topology.clone();
    let b = m.state()?;
    let mut nodes = Vec::new();
    for n in &topo.nodes {
        let mut zones = Vec::new();
        for (zi, z) in topo.node_zones(n.id) {
            let zs = &b.zone_state[zi];
            let zd = &b.zones[zi];
            let free_area: Vec<u64> = (0..11)
                .map(|o| zs.free_area[o].iter().map(|&x| x as u64).sum())
                .collect();
            let mut counters = serde_json::Map::new();
            for (i, name) in ZONE_STAT_NAMES.iter().enumerate() {
                if !name.starts_with('_') {
                    counters.insert(name.to_string(), totals[zi][i].into());
                }
            }
            let mut this_tick = serde_json::Map::new();
            for st in [
                ZS_PGALLOC,
                ZS_PGFREE,
                ZS_ALLOCS,
                ZS_FREES,
                ZS_NUMA_MISS,
                ZS_PGSTEAL_KSWAPD,
                ZS_ALLOC_FAIL,
            ] {
                this_tick.insert(ZONE_STAT_NAMES[st].to_string(), last[zi].v[st].into());
            }
            zones.push(serde_json::json!({
                "zone": z.zone_type.name(),
                "managed_pages": zd.managed,
                "free_pages": zs.nr_free,
                "wmark": { "min": zd.wmark_min, "low": zd.wmark_low, "high": zd.wmark_high },
                "free_area": free_area,
                "class_pages": numasim::model::workload::CLASS_NAMES.iter().zip(zs.class_pages.iter()).map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect::<serde_json::Map<_, _>>(),
                "counters": counters,
                "tick": this_tick,
            }));
        }
        nodes.push(serde_json::json!({ "node": n.id, "kswapd_active": b.node_state[n.id as usize].kswapd_active != 0, "zones": zones }));
    }
    Ok(serde_json::json!({ "tick": tick, "time_ms": time_ms, "nodes": nodes }))
}
/// The CSV columns and rows of one sample: a row per node and zone, the
/// same values as the JSON sample (flattened from it): tick, time_ms,
/// node, kswapd_active, zone, managed_pages, free_pages, wmark_min/low/high,
/// free_area_0..10 (free blocks per order), class_* (pages per allocation
/// class), the cumulative counters by their /proc/vmstat names, and tick_*
/// (the sampled tick's own counters).
fn csv_sample(v: &serde_json::Value) -> (String, Vec<String>) {
    use serde_json::Value;
    let num = |x: &Value| match x {
        Value::Bool(b) => u8::from(*b).to_string(),
        other => other.to_string(),
    };
    let mut header = Vec::new();
    let mut rows = Vec::new();
    for n in v["nodes"].as_array().into_iter().flatten() {
        for z in n["zones"].as_array().into_iter().flatten() {
            let mut cols: Vec<(String, String)> = vec![
                ("tick".into(), num(&v["tick"])),
                ("time_ms".into(), num(&v["time_ms"])),
                ("node".into(), num(&n["node"])),
                ("kswapd_active".into(), num(&n["kswapd_active"])),
                ("zone".into(), z["zone"].as_str().unwrap_or("").to_string()),
                ("managed_pages".into(), num(&z["managed_pages"])),
                ("free_pages".into(), num(&z["free_pages"])),
            ];
            for w in ["min", "low", "high"] {
                cols.push((format!("wmark_{w}"), num(&z["wmark"][w])));
            }
            for (o, x) in z["free_area"].as_array().into_iter().flatten().enumerate() {
                cols.push((format!("free_area_{o}"), num(x)));
            }
            for (prefix, key) in [
                ("class_", "class_pages"),
                ("", "counters"),
                ("tick_", "tick"),
            ] {
                for (k, x) in z[key].as_object().into_iter().flatten() {
                    cols.push((format!("{prefix}{k}"), num(x)));
                }
            }
            if header.is_empty() {
                header = cols.iter().map(|c| c.0.clone()).collect();
            }
            rows.push(cols.into_iter().map(|c| c.1).collect::<Vec<_>>().join(","));
        }
    }
    (header.join(","), rows)
}

#[allow(clippy::too_many_arguments)]
pub fn cmd_run(
    scenario: &str,
    ticks: Option<u64>,
    seed: Option<u64>,
    backend: BackendChoice,
    json: Option<std::path::PathBuf>,
    csv: Option<std::path::PathBuf>,
    sample_every: Option<u64>,
    check_every: Option<u64>,
    quiet: bool,
    inject_fault: Option<String>,
) -> Result<()> {
    let s = load(scenario)?;
    let ticks = ticks.unwrap_or(s.default_ticks);
    let max = numasim::model::scenario::MAX_TICKS;
    if ticks > max {
        anyhow::bail!("--ticks {ticks}: at most {max} (the tick counter is 32-bit)");
    }
    let name = s.name.clone();
    let desc = s.description.clone();
    let (mut m, why) = Machine::boot_on(s, seed, backend).context("booting the machine")?;
    if !quiet {
        let t = &m.scenario.topology;
        println!("numasim: scenario `{name}`: {desc}");
        println!(
            "  {} nodes, {} CPUs, {} GiB ({} frames), seed {}, tick {} us",
            t.nodes.len(),
            t.nr_cpus(),
            t.total_bytes() >> 30,
            t.total_frames(),
            m.seed,
            m.tick_ns() / 1000,
        );
        println!("  backend {} ({why})", m.backend_name());
    }
    if quiet {
        shell::run_setup(&mut m, &mut std::io::sink())?;
    } else {
        shell::run_setup(&mut m, &mut std::io::stdout().lock())?;
    }
    match inject_fault.as_deref() {
        None => {}
        Some("invalid-dispatch") => {
            let g = m
                .backend_mut()
                .as_gpu()
                .context("--inject-fault invalid-dispatch needs --backend gpu")?;
            // Reported by the next submission, as any shader error is.
            let _ = g.inject_invalid_dispatch();
        }
        Some(f) => anyhow::bail!("--inject-fault {f}: the only fault is invalid-dispatch"),
    }
    let mut out = match &json {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let mut csv_out = match &csv {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let mut csv_header_written = false;
    let every = sample_every.unwrap_or((ticks / 100).max(1)).max(1);
    let step = (ticks / 100).max(1);
    // A consistent snapshot every 10% of the run: a lost GPU device then
    // costs at most that much replay on the CPU reference.
    let mut run = RunLoop::every_ticks((ticks / 10).max(1));
    let mut progress = Progress::new(ticks);
    let start = Instant::now();
    let end = ticks;
    while m.tick < end {
        let mut next = (m.tick / step + 1) * step;
        if out.is_some() || csv_out.is_some() {
            next = next.min((m.tick / every + 1) * every);
        }
        if let Some(c) = check_every.filter(|&c| c > 0) {
            next = next.min((m.tick / c + 1) * c);
        }
        next = next.min(end);
        let (at, n) = (m.tick, next - m.tick);
        for event in run
            .advance(&mut m, n)
            .with_context(|| format!("running from tick {at}"))?
        {
            eprintln!("numasim: {event}");
        }
        if let Some(c) = check_every.filter(|&c| c > 0) {
            if m.tick % c == 0 {
                m.check().map_err(|v| anyhow::anyhow!("{v}"))?;
            }
        }
        if (out.is_some() || csv_out.is_some()) && (m.tick % every == 0 || m.tick == end) {
            let v = sample_json(&mut m)?;
            if let Some(w) = out.as_mut() {
                serde_json::to_writer(&mut *w, &v)?;
                w.write_all(b"\n")?;
            }
            if let Some(w) = csv_out.as_mut() {
                let (header, rows) = csv_sample(&v);
                if !csv_header_written {
                    writeln!(w, "{header}")?;
                    csv_header_written = true;
                }
                for r in rows {
                    writeln!(w, "{r}")?;
                }
            }
        }
        if !quiet {
            progress.update(m.tick);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    if let Some(mut w) = out {
        w.flush()?;
    }
    if let Some(mut w) = csv_out {
        w.flush()?;
    }
    let digest = m.digest()?;
    if quiet {
        println!("digest {digest:016x}");
        return Ok(());
    }
    let frames = m.scenario.topology.total_frames();
    println!();
    println!(
        "summary after {ticks} ticks ({:.3} s simulated) in {wall:.2} s wall: {:.0} ticks/s, {:.3e} frame-ticks/s",
        m.now_ns() as f64 / 1e9,
        ticks as f64 / wall,
        frames as f64 * ticks as f64 / wall
    );
    let allocs = m.total(ZS_ALLOCS, None);
    let frees = m.total(ZS_FREES, None);
    println!(
        "  allocations {allocs}, frees {frees}, kswapd reclaimed {} pages, direct reclaim {} pages, stalls {}, failures {}, fallbacks {}, pageblocks claimed {}",
        m.total(ZS_PGSTEAL_KSWAPD, None),
        m.total(ZS_PGSTEAL_DIRECT, None),
        m.total(ZS_ALLOCSTALL_NORMAL, None) + m.total(ZS_ALLOCSTALL_MOVABLE, None),
        m.total(ZS_ALLOC_FAIL, None),
        m.total(ZS_ALLOC_FALLBACK, None),
        m.total(ZS_PAGEBLOCK_CLAIM, None)
    );
    println!(
        "  numa_hit {} numa_miss {} numa_foreign {}",
        m.total(ZS_NUMA_HIT, None),
        m.total(ZS_NUMA_MISS, None),
        m.total(ZS_NUMA_FOREIGN, None)
    );
    println!("  digest {digest:016x}");
    println!("\n$ cat /proc/buddyinfo");
    print!("{}", procfs::read(&mut m, "/proc/buddyinfo")?);
    for n in 0..m.scenario.topology.nodes.len() {
        println!("\n$ cat /sys/devices/system/node/node{n}/meminfo");
        print!(
            "{}",
            procfs::read(&mut m, &format!("/sys/devices/system/node/node{n}/meminfo"))?
        );
    }
    for p in json.iter().chain(csv.iter()) {
        eprintln!("wrote samples every {every} ticks to {}", p.display());
    }
    Ok(())
}
