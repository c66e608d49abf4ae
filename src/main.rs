//! The numasim command line.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use numasim::engine::types::*;
use numasim::engine::BackendChoice;
use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;
use numasim::procfs::{self, shell};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "numasim",
    version,
    about = "A simulator of NUMA physical memory as the Linux kernel manages it"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// With no subcommand: the dashboard where there is a display (these
    /// are `numasim gui`'s options), else `numasim run`.
    #[command(flatten)]
    gui: GuiArgs,
}

#[derive(clap::Args, Clone, Debug)]
struct GuiArgs {
    /// A preset name (default, small, cxl, 1tib, stress-frag, hugetlb-migrate, hugetlb-shrink-pressure) or a TOML file.
    #[arg(long = "scenario", default_value = "default")]
    scenario: String,
    /// Seed (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Backend: `auto` runs on the display's GPU when it is a hardware one,
    /// else on the CPU reference (a software GPU is slower than it).
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendArg,
    /// Render the dashboard, write a PNG of the window to FILE (and
    /// FILE.json describing the frame map) after --after-ticks ticks, exit.
    #[arg(long)]
    screenshot: Option<std::path::PathBuf>,
    /// Ticks to run before the screenshot.
    #[arg(long, default_value_t = 100)]
    after_ticks: u64,
    /// Window size in points, WIDTHxHEIGHT.
    #[arg(long, default_value = "1600x1000", value_parser = parse_size)]
    size: [f32; 2],
    /// Start paused.
    #[arg(long)]
    paused: bool,
    /// The tab open below the frame map: plots, console, tunables or
    /// hugetlb.
    #[arg(long, default_value = "plots")]
    tab: String,
    /// Close after SECONDS and print the UI frames/s and ticks/s reached.
    #[arg(long, value_name = "SECONDS")]
    exit_after: Option<f64>,
}

fn parse_size(s: &str) -> std::result::Result<[f32; 2], String> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| format!("`{s}`: expected WIDTHxHEIGHT, as in 1280x800"))?;
    let p = |v: &str| {
        v.parse::<f32>()
            .ok()
            .filter(|x| (200.0..=16384.0).contains(x))
            .ok_or_else(|| format!("`{s}`: {v} is not a size between 200 and 16384"))
    };
    Ok([p(w)?, p(h)?])
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    /// The CPU reference backend (rayon over all cores).
    Cpu,
    /// The GPU backend (wgpu compute); fails if no adapter can run it.
    Gpu,
    /// The GPU when an adapter can hold the scenario, else the CPU.
    Auto,
}

impl BackendArg {
    fn choice(self) -> BackendChoice {
        match self {
            BackendArg::Cpu => BackendChoice::Cpu,
            BackendArg::Gpu => BackendChoice::Gpu,
            BackendArg::Auto => BackendChoice::Auto,
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Open the dashboard (per-node pools, frame map, plots, console).
    Gui {
        /// A preset name or a TOML file (default: --scenario's value).
        #[arg(value_name = "SCENARIO")]
        preset_or_file: Option<String>,
        #[command(flatten)]
        opts: GuiArgs,
    },
    /// Simulate a scenario and print a summary, /proc/buddyinfo and per-node meminfo.
    Run {
        /// A preset name (default, small, cxl, 1tib, stress-frag, hugetlb-migrate, hugetlb-shrink-pressure) or a TOML file.
        #[arg(default_value = "default")]
        scenario: String,
        /// Ticks to run (default: the scenario's `ticks`).
        #[arg(long)]
        ticks: Option<u64>,
        /// Seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Backend (default cpu, the reference; `auto` picks a GPU when one exists).
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
        /// Backend (default cpu, the reference; `auto` picks a GPU when one exists).
        #[arg(long, value_enum, default_value = "cpu")]
        backend: BackendArg,
    },
    /// Run two backends phase by phase and name the first difference.
    Parity {
        #[arg(default_value = "small")]
        scenario: String,
        #[arg(long, default_value_t = 20)]
        ticks: u64,
        #[arg(long)]
        seed: Option<u64>,
        /// Ticks to run (batched, on both) before comparing phase by phase.
        #[arg(long, default_value_t = 0)]
        skip: u64,
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
        /// Backends to measure (default: cpu and gpu, when a GPU is present).
        #[arg(long = "backend", value_enum)]
        backends: Vec<BackendArg>,
        /// Measure cost per frame-tick at 1M, 4M, 16M, 64M and 268M frames.
        #[arg(long)]
        scaling: bool,
        /// Time every phase of the tick on its own (each phase waits for the
        /// device), per backend, after the warm-up.
        #[arg(long)]
        phases: bool,
        /// Grow the 2 MiB hugetlb pool to this many pages and shrink it
        /// back to 0, with HVO off and on, per backend (default scenario:
        /// assets/scenarios/hugetlb-1tib-hvo.toml without its setup).
        #[arg(long)]
        hugetlb: Option<u64>,
        /// Also write the results as JSON.
        #[arg(long)]
        json: Option<std::path::PathBuf>,
    },
}

fn main() {
    let cli = Cli::parse();
    // No subcommand: the dashboard where a window can open (or a
    // screenshot was asked for), else `numasim run` with its defaults.
    let cmd = match cli.cmd {
        Some(c) => c,
        None if cfg!(feature = "ui") && (cli.gui.screenshot.is_some() || gui_possible()) => {
            Cmd::Gui {
                preset_or_file: None,
                opts: cli.gui,
            }
        }
        None => {
            if cfg!(feature = "ui") {
                eprintln!("numasim: no display (DISPLAY is not set): running the scenario headless; `numasim gui` opens the dashboard");
            }
            // The scenario and seed chosen for the dashboard carry over.
            let mut args = vec![
                "numasim".to_string(),
                "run".into(),
                cli.gui.scenario.clone(),
            ];
            if let Some(seed) = cli.gui.seed {
                args.extend(["--seed".into(), seed.to_string()]);
            }
            Cli::parse_from(args).cmd.expect("run parses")
        }
    };
    let r = match cmd {
        Cmd::Gui {
            preset_or_file,
            opts,
        } => {
            let sc = preset_or_file.unwrap_or_else(|| opts.scenario.clone());
            cmd_gui(&sc, opts)
        }
        Cmd::Run {
            scenario,
            ticks,
            seed,
            backend,
            json,
            sample_every,
            check_every,
            quiet,
        } => cmd_run(
            &scenario,
            ticks,
            seed,
            backend,
            json,
            sample_every,
            check_every,
            quiet,
        ),
        Cmd::Shell {
            script,
            scenario,
            seed,
            backend,
        } => cmd_shell(script, &scenario, seed, backend),
        Cmd::Parity {
            scenario,
            ticks,
            seed,
            skip,
        } => cmd_parity(&scenario, ticks, seed, skip),
        Cmd::Bench {
            scenarios,
            ticks,
            warmup,
            backends,
            scaling,
            phases,
            hugetlb,
            json,
        } => {
            if let Some(pages) = hugetlb {
                cmd_bench_hugetlb(scenarios, pages, backends, json)
            } else if phases {
                cmd_bench_phases(scenarios, ticks, warmup, backends)
            } else {
                cmd_bench(scenarios, ticks, warmup, backends, scaling, json)
            }
        }
    };
    if let Err(e) = r {
        eprintln!("numasim: {e:#}");
        std::process::exit(1);
    }
}

#[cfg(feature = "ui")]
fn gui_possible() -> bool {
    numasim::ui::native::display_available()
}
#[cfg(not(feature = "ui"))]
fn gui_possible() -> bool {
    false
}

#[cfg(feature = "ui")]
fn cmd_gui(scenario: &str, o: GuiArgs) -> Result<()> {
    use numasim::ui::{native, BackendPref, Source};
    // A bad scenario is reported before any window opens.
    let source = match numasim::model::scenario::preset(scenario) {
        Some(_) => Source::Preset(scenario.to_string()),
        None => {
            let text = std::fs::read_to_string(scenario).with_context(|| {
                format!(
                    "reading scenario `{scenario}` (not a preset: {})",
                    preset_names()
                )
            })?;
            Scenario::parse(&text, scenario)?;
            Source::File {
                name: scenario.to_string(),
                text,
            }
        }
    };
    let backend = match o.backend {
        BackendArg::Cpu => BackendPref::Cpu,
        BackendArg::Gpu => BackendPref::Gpu,
        BackendArg::Auto => BackendPref::Auto,
    };
    let tab = numasim::ui::tab_index(&o.tab).map_err(|e| anyhow::anyhow!("--tab: {e}"))?;
    if o.screenshot.is_none() && !native::display_available() {
        bail!("no display to open the dashboard on (DISPLAY is not set); try `numasim run`, or run under xvfb-run");
    }
    let r = native::run(native::GuiOptions {
        source,
        seed: o.seed,
        backend,
        screenshot: o.screenshot.map(|p| (p, o.after_ticks)),
        size: o.size,
        paused: o.paused,
        exit_after: o.exit_after,
        tab,
    })
    .map_err(anyhow::Error::msg)?;
    if let Some(msg) = r {
        println!("{msg}");
    }
    Ok(())
}

#[cfg(not(feature = "ui"))]
fn cmd_gui(_scenario: &str, _o: GuiArgs) -> Result<()> {
    bail!("this numasim was built without the `ui` feature")
}

#[cfg(feature = "ui")]
fn preset_names() -> String {
    numasim::model::scenario::preset_names()
        .collect::<Vec<_>>()
        .join(", ")
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

#[allow(clippy::too_many_arguments)]
fn cmd_run(
    scenario: &str,
    ticks: Option<u64>,
    seed: Option<u64>,
    backend: BackendArg,
    json: Option<std::path::PathBuf>,
    sample_every: Option<u64>,
    check_every: Option<u64>,
    quiet: bool,
) -> Result<()> {
    let s = load(scenario)?;
    let ticks = ticks.unwrap_or(s.default_ticks);
    let name = s.name.clone();
    let desc = s.description.clone();
    let (mut m, why) =
        Machine::boot_on(s, seed, backend.choice()).context("booting the machine")?;
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
    let mut out = match &json {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let every = sample_every.unwrap_or((ticks / 100).max(1)).max(1);
    let step = (ticks / 100).max(1);
    // A consistent snapshot every 10% of the run: what a lost GPU device
    // can cost at most.
    let checkpoint_every = (ticks / 10).max(1);
    let on_gpu = m.backend_name().starts_with("gpu");
    let mut progress = Progress::new(ticks);
    let start = Instant::now();
    let end = ticks;
    while m.tick < end {
        let mut next = (m.tick / step + 1) * step;
        if out.is_some() {
            next = next.min((m.tick / every + 1) * every);
        }
        if let Some(c) = check_every.filter(|&c| c > 0) {
            next = next.min((m.tick / c + 1) * c);
        }
        next = next.min(end);
        if let Err(e) = m.advance(next - m.tick) {
            if !on_gpu {
                return Err(e.into());
            }
            eprintln!("numasim: the GPU backend failed at tick {}: {e}", m.tick);
            let t = m
                .recover_on_cpu()
                .context("continuing on the CPU backend")?;
            eprintln!("numasim: continuing on the CPU reference backend from the last consistent state, tick {t} (counters intact)");
            continue;
        }
        if let Some(c) = check_every.filter(|&c| c > 0) {
            if m.tick % c == 0 {
                m.check().map_err(|v| anyhow::anyhow!("{v}"))?;
            }
        }
        if let Some(w) = out.as_mut() {
            if m.tick % every == 0 || m.tick == end {
                let v = sample_json(&mut m)?;
                serde_json::to_writer(&mut *w, &v)?;
                w.write_all(b"\n")?;
            }
        }
        if on_gpu && m.tick % checkpoint_every == 0 {
            m.checkpoint()?;
        }
        if !quiet {
            progress.update(m.tick);
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
    if let Some(p) = json {
        eprintln!("wrote samples every {every} ticks to {}", p.display());
    }
    Ok(())
}

fn cmd_parity(scenario: &str, ticks: u64, seed: Option<u64>, skip: u64) -> Result<()> {
    use numasim::engine::cpu::CpuBackend;
    use numasim::engine::gpu::{device, GpuBackend};
    use numasim::kernel::boot::boot_buffers;
    let s = load(scenario)?;
    let seed = seed.unwrap_or(s.seed);
    let ctx = device::open()?;
    println!(
        "parity: `{}` seed {seed}: CPU reference against {}",
        s.name,
        ctx.describe()
    );
    let mut cpu = Machine::with_backend(
        s.clone(),
        seed,
        Box::new(CpuBackend::new(boot_buffers(&s, seed))),
    )?;
    let mut gpu = Machine::with_backend(
        s.clone(),
        seed,
        Box::new(GpuBackend::new(ctx, boot_buffers(&s, seed))?),
    )?;
    if skip > 0 {
        cpu.advance(skip)?;
        gpu.advance(skip)?;
    }
    let mut progress = Progress::new(ticks);
    let r = numasim::engine::parity::diagnose(
        cpu.backend_mut(),
        gpu.backend_mut(),
        skip,
        ticks,
        |t| progress.update(t),
    )?;
    match r {
        None => {
            println!(
                "parity: identical after every phase of ticks {skip}..{}",
                skip + ticks
            );
            Ok(())
        }
        Some(mm) => bail!("parity: {mm}"),
    }
}

fn cmd_shell(
    script: Option<std::path::PathBuf>,
    scenario: &str,
    seed: Option<u64>,
    backend: BackendArg,
) -> Result<()> {
    let s = load(scenario)?;
    let (mut m, why) =
        Machine::boot_on(s, seed, backend.choice()).context("booting the machine")?;
    let stdout = std::io::stdout();
    shell::run_setup(&mut m, &mut stdout.lock())?;
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
                    "numasim shell on `{}` ({} nodes), backend {} ({why}); `help` lists commands, ctrl-d quits",
                    m.scenario.name,
                    m.scenario.topology.nodes.len(),
                    m.backend_name()
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
fn cmd_bench_phases(
    scenarios: Vec<String>,
    ticks: Option<u64>,
    warmup: Option<u64>,
    backends: Vec<BackendArg>,
) -> Result<()> {
    use numasim::engine::tick_phases;
    let backends = if backends.is_empty() {
        vec![BackendArg::Cpu, BackendArg::Gpu]
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
            let (mut m, _) = match Machine::boot_on(s, None, b.choice()) {
                Ok(x) => x,
                Err(e) => {
                    println!("{name} {}: skipped: {e}", format!("{b:?}").to_lowercase());
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
    backend: BackendArg,
    timed: u64,
    warm: u64,
    results: &mut Vec<serde_json::Value>,
    rows: &mut Vec<(String, BackendArg, BenchRow)>,
) -> Result<()> {
    let frames = s.topology.total_frames();
    let (mut m, _) = match Machine::boot_on(s, None, backend.choice()) {
        Ok(x) => x,
        Err(e) => {
            println!(
                "{label:<14} {:<6} skipped: {e}",
                format!("{backend:?}").to_lowercase()
            );
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
        format!("{backend:?}").to_lowercase(),
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
fn cmd_bench_hugetlb(
    scenarios: Vec<String>,
    pages: u64,
    backends: Vec<BackendArg>,
    json: Option<std::path::PathBuf>,
) -> Result<()> {
    let scenario = scenarios
        .first()
        .cloned()
        .unwrap_or_else(|| "assets/scenarios/hugetlb-1tib-hvo.toml".into());
    let backends = if backends.is_empty() {
        vec![BackendArg::Cpu, BackendArg::Gpu]
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
            let (mut m, _) = match Machine::boot_on(s, None, b.choice()) {
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
            let parts = |what: &str, total: f64, p: numasim::kernel::hugetlb::PathTimes| {
                let host = p.rollback_copy + p.fetch + p.path;
                println!(
                    "    {what:<6} rollback copy {:>6.2} s  fetch frames {:>6.2} s  path {:>6.2} s  apply+count {:>6.2} s  ({} writes)",
                    p.rollback_copy.as_secs_f64(),
                    p.fetch.as_secs_f64(),
                    p.path.as_secs_f64(),
                    (total - host.as_secs_f64()).max(0.0),
                    p.ops
                );
                serde_json::json!({
                    "rollback_copy_s": p.rollback_copy.as_secs_f64(),
                    "fetch_s": p.fetch.as_secs_f64(),
                    "path_s": p.path.as_secs_f64(),
                    "apply_s": (total - host.as_secs_f64()).max(0.0),
                    "writes": p.ops,
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

fn cmd_bench(
    scenarios: Vec<String>,
    ticks: Option<u64>,
    warmup: Option<u64>,
    backends: Vec<BackendArg>,
    scaling: bool,
    json: Option<std::path::PathBuf>,
) -> Result<()> {
    let backends = if backends.is_empty() {
        let mut v = vec![BackendArg::Cpu];
        match numasim::engine::gpu::device::open() {
            Ok(ctx) => {
                println!(
                    "gpu adapter: {} (holds at most {} frames: per-frame arrays split over up to 16 bindings)",
                    ctx.describe(),
                    numasim::engine::gpu::GpuBackend::max_frames(&ctx)
                );
                v.push(BackendArg::Gpu);
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
            }
        }
    }
    // GPU/CPU ratios measured in this run.
    for (label, b, r) in &rows {
        if *b != BackendArg::Cpu {
            if let Some((_, _, c)) = rows
                .iter()
                .find(|(l, bb, _)| l == label && *bb == BackendArg::Cpu)
            {
                println!(
                    "{label:<14} {}/cpu ratio of ticks/s: {:.3}",
                    format!("{b:?}").to_lowercase(),
                    r.ticks_per_s / c.ticks_per_s
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
