//! The numasim command line.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use numasim::engine::types::*;
use numasim::kernel::Machine;
use numasim::model::scenario::{Scenario, PRESETS};
use numasim::model::topology::ZoneType;
use numasim::procfs::{self, shell};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "numasim",
    version,
    about = "A simulator of NUMA physical memory as the Linux kernel manages it"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BackendArg {
    /// The CPU reference backend (rayon over all cores).
    Cpu,
}

#[derive(Subcommand)]
enum Cmd {
    /// Simulate a scenario and print a summary, /proc/buddyinfo and per-node meminfo.
    Run {
        /// A preset name (default, small, cxl, 1tib, stress-frag) or a TOML file.
        #[arg(default_value = "default")]
        scenario: String,
        /// Ticks to run (default: the scenario's `ticks`).
        #[arg(long)]
        ticks: Option<u64>,
        /// Seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, value_enum, default_value = "cpu")]
        backend: BackendArg,
        /// Write one JSON object per sampled tick to FILE.
        #[arg(long)]
        json: Option<std::path::PathBuf>,
        /// Sample every N ticks for --json (default: 1% of the run).
        #[arg(long)]
        sample_every: Option<u64>,
        /// Run the invariant checker every N ticks; stop at the first violation.
        #[arg(long)]
        check_every: Option<u64>,
        /// Print only the digest line (for scripts comparing runs).
        #[arg(long)]
        quiet: bool,
    },
    /// Read commands from SCRIPT, or from standard input.
    Shell {
        script: Option<std::path::PathBuf>,
        #[arg(long, default_value = "default")]
        scenario: String,
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, value_enum, default_value = "cpu")]
        backend: BackendArg,
    },
    /// Measure simulation speed per backend.
    Bench {
        /// Scenarios to measure (default: small, default, and 1tib if memory allows).
        #[arg(long = "scenario")]
        scenarios: Vec<String>,
        /// Timed ticks per scenario (default: 200, 20 for 1tib).
        #[arg(long)]
        ticks: Option<u64>,
        /// Untimed ticks first, so memory fills and churn is steady (default: the timed ticks).
        #[arg(long)]
        warmup: Option<u64>,
        #[arg(long, value_enum, default_value = "cpu")]
        backend: BackendArg,
        /// Also write the results as JSON.
        #[arg(long)]
        json: Option<std::path::PathBuf>,
    },
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        None => cmd_run("default", None, None, None, None, None, false),
        Some(Cmd::Run {
            scenario,
            ticks,
            seed,
            backend: _,
            json,
            sample_every,
            check_every,
            quiet,
        }) => cmd_run(
            &scenario,
            ticks,
            seed,
            json,
            sample_every,
            check_every,
            quiet,
        ),
        Some(Cmd::Shell {
            script,
            scenario,
            seed,
            backend: _,
        }) => cmd_shell(script, &scenario, seed),
        Some(Cmd::Bench {
            scenarios,
            ticks,
            warmup,
            backend: _,
            json,
        }) => cmd_bench(scenarios, ticks, warmup, json),
    };
    if let Err(e) = r {
        eprintln!("numasim: {e:#}");
        std::process::exit(1);
    }
}

fn load(scenario: &str) -> Result<Scenario> {
    Ok(Scenario::load(scenario)?)
}

/// A progress line on stderr: redrawn in place on a terminal, every 10% otherwise.
struct Progress {
    total: u64,
    start: Instant,
    tty: bool,
    last_pct: u64,
    last_draw: Instant,
}

impl Progress {
    fn new(total: u64) -> Self {
        Progress {
            total,
            start: Instant::now(),
            tty: std::io::stderr().is_terminal(),
            last_pct: 0,
            last_draw: Instant::now(),
        }
    }
    fn update(&mut self, done: u64) {
        let pct = done * 100 / self.total.max(1);
        let rate = done as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
        if self.tty {
            if self.last_draw.elapsed().as_millis() >= 100 || done == self.total {
                let bar = (pct / 5) as usize;
                eprint!(
                    "\r[{}{}] {pct:3}% tick {done}/{} {rate:.0} ticks/s ",
                    "#".repeat(bar),
                    " ".repeat(20 - bar),
                    self.total
                );
                if done == self.total {
                    eprintln!();
                }
                self.last_draw = Instant::now();
            }
        } else if pct / 10 > self.last_pct / 10 || done == self.total {
            eprintln!(
                "progress: {pct}% (tick {done}/{}, {rate:.0} ticks/s)",
                self.total
            );
        }
        self.last_pct = pct;
    }
}

fn sample_json(m: &mut Machine) -> Result<serde_json::Value> {
    let totals = m.totals.clone();
    let last = m.last.clone();
    let tick = m.tick;
    let time_ms = m.now_ns() as f64 / 1e6;
    let topo = m.scenario.topology.clone();
    let b = m.buffers()?;
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

fn cmd_run(
    scenario: &str,
    ticks: Option<u64>,
    seed: Option<u64>,
    json: Option<std::path::PathBuf>,
    sample_every: Option<u64>,
    check_every: Option<u64>,
    quiet: bool,
) -> Result<()> {
    let s = load(scenario)?;
    let ticks = ticks.unwrap_or(s.default_ticks);
    let name = s.name.clone();
    let desc = s.description.clone();
    let mut m = Machine::boot(s, seed).context("booting the machine")?;
    if !quiet {
        let t = &m.scenario.topology;
        println!("numasim: scenario `{name}`: {desc}");
        println!(
            "  {} nodes, {} CPUs, {} GiB ({} frames), seed {}, tick {} us, backend {}",
            t.nodes.len(),
            t.nr_cpus(),
            t.total_bytes() >> 30,
            t.total_frames(),
            m.seed,
            m.tick_ns() / 1000,
            m.backend_name()
        );
    }
    let mut out = match &json {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let every = sample_every.unwrap_or((ticks / 100).max(1)).max(1);
    let mut progress = Progress::new(ticks);
    let start = Instant::now();
    for i in 0..ticks {
        m.step()?;
        if let Some(c) = check_every {
            if c > 0 && m.tick % c == 0 {
                m.check().map_err(|v| anyhow::anyhow!("{v}"))?;
            }
        }
        if let Some(w) = out.as_mut() {
            if m.tick % every == 0 || i + 1 == ticks {
                let v = sample_json(&mut m)?;
                serde_json::to_writer(&mut *w, &v)?;
                w.write_all(b"\n")?;
            }
        }
        if !quiet {
            progress.update(i + 1);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    if let Some(mut w) = out {
        w.flush()?;
    }
    let digest = m.digest()?;
    if quiet {
        println!("digest {digest:016x}");
        return Ok(());
    }
    let frames = m.scenario.topology.total_frames();
    println!();
    println!("summary after {ticks} ticks ({:.3} s simulated) in {wall:.2} s wall: {:.0} ticks/s, {:.3e} frame-ticks/s", m.now_ns() as f64 / 1e9, ticks as f64 / wall, frames as f64 * ticks as f64 / wall);
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
    if let Some(p) = json {
        eprintln!("wrote samples every {every} ticks to {}", p.display());
    }
    let _ = ZoneType::Normal;
    Ok(())
}

fn cmd_shell(script: Option<std::path::PathBuf>, scenario: &str, seed: Option<u64>) -> Result<()> {
    let s = load(scenario)?;
    let mut m = Machine::boot(s, seed).context("booting the machine")?;
    let stdout = std::io::stdout();
    match script {
        Some(p) => {
            let text =
                std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            shell::run_script(&mut m, &text, &p.display().to_string(), &mut stdout.lock())?;
        }
        None => {
            let stdin = std::io::stdin();
            let interactive = stdin.is_terminal();
            if interactive {
                eprintln!(
                    "numasim shell on `{}` ({} nodes); `help` lists commands, ctrl-d quits",
                    m.scenario.name,
                    m.scenario.topology.nodes.len()
                );
            }
            let mut lineno = 0;
            loop {
                if interactive {
                    eprint!("numasim:{}> ", m.tick);
                    let _ = std::io::stderr().flush();
                }
                let mut line = String::new();
                if stdin.lock().read_line(&mut line)? == 0 {
                    break;
                }
                lineno += 1;
                if interactive && matches!(line.trim(), "exit" | "quit") {
                    break;
                }
                match shell::exec_line(&mut m, &line) {
                    Ok(out) => {
                        let mut o = stdout.lock();
                        o.write_all(out.as_bytes())?;
                        o.flush()?;
                    }
                    Err(msg) if interactive => eprintln!("error: {msg}"),
                    Err(msg) => bail!("<stdin>:{lineno}: {msg}"),
                }
            }
        }
    }
    Ok(())
}

fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

fn mem_available_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemAvailable:"))?;
    line.split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kb| kb * 1024)
}

fn cmd_bench(
    scenarios: Vec<String>,
    ticks: Option<u64>,
    warmup: Option<u64>,
    json: Option<std::path::PathBuf>,
) -> Result<()> {
    let explicit = !scenarios.is_empty();
    let list = if explicit {
        scenarios
    } else {
        vec!["small".into(), "default".into(), "1tib".into()]
    };
    println!(
        "{:<12} {:>11} {:>6} {:>9} {:>13} {:>14} {:>10} {:>9} {:>9}",
        "scenario",
        "frames",
        "ticks",
        "ticks/s",
        "frame-ticks/s",
        "allocs+frees/s",
        "churn/tick",
        "state B/f",
        "RSS B/f"
    );
    let mut results = Vec::new();
    for name in list {
        let s = load(&name)?;
        let frames = s.topology.total_frames();
        // State is 8 bytes per frame plus small arrays; leave headroom.
        let need = frames * 10;
        if !explicit && mem_available_bytes().is_some_and(|a| a < need * 2) {
            println!(
                "{name:<12} skipped: needs about {} GiB, not available",
                need >> 30
            );
            continue;
        }
        let timed = ticks.unwrap_or(if frames > 64 << 20 { 20 } else { 200 });
        let warm = warmup.unwrap_or(timed);
        let mut m = Machine::boot(s, None)?;
        m.advance(warm)?;
        let ev0 = m.total(ZS_ALLOCS, None) + m.total(ZS_FREES, None);
        let t0 = Instant::now();
        m.advance(timed)?;
        let wall = t0.elapsed().as_secs_f64();
        let events = m.total(ZS_ALLOCS, None) + m.total(ZS_FREES, None) - ev0;
        let state_bpf = m.buffers()?.bytes_per_frame();
        let rss_bpf = rss_bytes()
            .map(|r| r as f64 / frames as f64)
            .unwrap_or(f64::NAN);
        let tps = timed as f64 / wall;
        println!(
            "{name:<12} {frames:>11} {timed:>6} {tps:>9.1} {:>13.3e} {:>14.3e} {:>10.0} {state_bpf:>9.2} {rss_bpf:>9.2}",
            tps * frames as f64,
            events as f64 / wall,
            events as f64 / timed as f64
        );
        results.push(serde_json::json!({
            "scenario": name, "backend": m.backend_name(), "frames": frames, "warmup_ticks": warm, "ticks": timed,
            "wall_s": wall, "ticks_per_s": tps, "frame_ticks_per_s": tps * frames as f64,
            "allocs_frees_per_s": events as f64 / wall, "churn_per_tick": events as f64 / timed as f64,
            "state_bytes_per_frame": state_bpf, "rss_bytes_per_frame": rss_bpf,
        }));
    }
    if let Some(p) = json {
        std::fs::write(&p, serde_json::to_string_pretty(&results)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    let _ = PRESETS;
    Ok(())
}
