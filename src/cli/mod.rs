//! The command line: argument parsing and dispatch here, one module per
//! command (`run`, `shell`, `parity`, `bench`, `gui`).

mod bench;
mod gigantic;
mod gui;
#[cfg(target_os = "linux")]
mod mount;
mod numa_bench;
mod parity;
mod run;
mod shell;

use anyhow::Result;
use clap::{Parser, Subcommand};
use numasim::engine::BackendChoice;
use numasim::model::scenario::Scenario;
use std::io::IsTerminal;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "numasim",
    version,
    about = "A simulator of NUMA physical memory as the Linux kernel manages it"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// With no subcommand: the dashboard where there is a display (these
    /// are `numasim gui`'s options), else `numasim run`.
    #[command(flatten)]
    gui: GuiArgs,
}

#[derive(clap::Args, Clone, Debug)]
pub struct GuiArgs {
    /// A preset name (default, small, cxl, 1tib, stress-frag, hugetlb-migrate, hugetlb-shrink-pressure, zone-lock) or a TOML file.
    #[arg(long = "scenario", default_value = "default")]
    pub scenario: String,
    /// Seed (default: the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Backend: `auto` runs on the display's GPU when it is a hardware one,
    /// else on the CPU reference (a software GPU is slower than it).
    #[arg(long, default_value = "auto", value_parser = parse_backend)]
    pub backend: BackendChoice,
    /// Render the dashboard, write a PNG of the window to FILE (and
    /// FILE.json describing the frame map) after --after-ticks ticks, exit.
    #[arg(long)]
    pub screenshot: Option<std::path::PathBuf>,
    /// Ticks to run before the screenshot.
    #[arg(long, default_value_t = 100)]
    pub after_ticks: u64,
    /// Window size in points, WIDTHxHEIGHT.
    #[arg(long, default_value = "1600x1000", value_parser = parse_size)]
    pub size: [f32; 2],
    /// Start paused.
    #[arg(long)]
    pub paused: bool,
    /// The tab open below the frame map: plots, console, tunables, hugetlb,
    /// locks, reporting or numa.
    #[arg(long, default_value = "plots")]
    pub tab: String,
    /// Close after SECONDS and print the UI frames/s and ticks/s reached.
    #[arg(long, value_name = "SECONDS")]
    pub exit_after: Option<f64>,
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

/// `--backend cpu|gpu|auto` (`engine::BackendChoice`, one `auto` rule).
fn parse_backend(s: &str) -> std::result::Result<BackendChoice, String> {
    s.parse()
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
        /// A preset name (default, small, cxl, 1tib, stress-frag, hugetlb-migrate, hugetlb-shrink-pressure, zone-lock) or a TOML file.
        #[arg(default_value = "default")]
        scenario: String,
        /// Ticks to run (default: the scenario's `ticks`).
        #[arg(long)]
        ticks: Option<u64>,
        /// Seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Backend (default cpu, the reference; `auto` picks a GPU when one exists).
        #[arg(long, default_value = "cpu", value_parser = parse_backend)]
        backend: BackendChoice,
        /// Write one JSON object per sampled tick to FILE.
        #[arg(long)]
        json: Option<std::path::PathBuf>,
        /// Write the same samples as CSV to FILE: a header, then a row per
        /// sampled tick, node and zone.
        #[arg(long)]
        csv: Option<std::path::PathBuf>,
        /// Sample every N ticks for --json and --csv (default: 1% of the run).
        #[arg(long)]
        sample_every: Option<u64>,
        /// Run the invariant checker every N ticks; stop at the first violation.
        #[arg(long)]
        check_every: Option<u64>,
        /// Print only the digest line (for scripts comparing runs).
        #[arg(long)]
        quiet: bool,
        /// Test hook: `invalid-dispatch` records a dispatch no device
        /// accepts before the first tick (the run must fail, naming it).
        #[arg(long, hide = true)]
        inject_fault: Option<String>,
    },
    /// Read commands from SCRIPT, or from standard input.
    Shell {
        script: Option<std::path::PathBuf>,
        #[arg(long, default_value = "default")]
        scenario: String,
        #[arg(long)]
        seed: Option<u64>,
        /// Backend (default cpu, the reference; `auto` picks a GPU when one exists).
        #[arg(long, default_value = "cpu", value_parser = parse_backend)]
        backend: BackendChoice,
    },
    /// Serve the live /proc and /sys tree under DIR (FUSE) for real tools.
    #[cfg(target_os = "linux")]
    Mount {
        /// An empty directory to mount on.
        dir: std::path::PathBuf,
        #[command(flatten)]
        run: LiveArgs,
    },
    /// Run CMD where /proc/{meminfo,vmstat,zoneinfo,stat,...}, /proc/sys/vm,
    /// /sys/devices/system/{node,cpu,memory} and /sys/kernel/mm/hugepages are
    /// the simulated machine's (a private mount namespace; needs root or
    /// unprivileged user namespaces).
    #[cfg(target_os = "linux")]
    Exec {
        #[command(flatten)]
        run: LiveArgs,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        cmd: Vec<String>,
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
        #[arg(long = "backend", value_parser = parse_backend)]
        backends: Vec<BackendChoice>,
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
        /// zone->lock contention as every task's allocation rate is
        /// multiplied by 1, 2, 4, 8 and 16 (default scenario: default).
        #[arg(long)]
        locks: bool,
        /// This many 1 GiB page allocations, about every --ticks ticks
        /// (default 100) after --warmup (default 2000), with free page
        /// reporting off, on, and on with the drain variant (default
        /// scenario: reporting-gigantic).
        #[arg(long)]
        gigantic: Option<u64>,
        /// TLB shootdowns per NUMA hint fault restore order (lazy,
        /// restore first, legacy THP) for a task of 1, 4 and 32 threads,
        /// --ticks each (default scenario: thp-numa-fault).
        #[arg(long)]
        numa: bool,
        /// Also write the results as JSON.
        #[arg(long)]
        json: Option<std::path::PathBuf>,
    },
}

/// How a mounted machine runs (`mount`, `exec`).
#[derive(clap::Args)]
struct LiveArgs {
    /// A preset name or a TOML file.
    #[arg(default_value = "default")]
    scenario: String,
    #[arg(long)]
    seed: Option<u64>,
    /// Backend (default cpu, the reference; `auto` picks a GPU when one exists).
    #[arg(long, default_value = "cpu", value_parser = parse_backend)]
    backend: BackendChoice,
    /// Ticks per second of wall time while mounted (a rate the backend
    /// cannot reach runs it as fast as it goes).
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Start paused: the machine moves only on `tick N` or `run` written
    /// to DIR/numasim/control.
    #[arg(long)]
    paused: bool,
    /// Ticks to run before serving the tree.
    #[arg(long, default_value_t = 0)]
    warmup: u64,
}

#[cfg(target_os = "linux")]
impl LiveArgs {
    fn opts(self) -> Result<mount::RunOpts> {
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= 1e6) {
            anyhow::bail!("--rate {}: ticks per second in (0, 1e6]", self.rate);
        }
        Ok(mount::RunOpts {
            scenario: self.scenario,
            seed: self.seed,
            backend: self.backend,
            rate: self.rate,
            paused: self.paused,
            warmup: self.warmup,
        })
    }
}

pub fn main() {
    let cli = Cli::parse();
    // No subcommand: the dashboard where a window can open (or a
    // screenshot was asked for), else `numasim run` with its defaults.
    let cmd = match cli.cmd {
        Some(c) => c,
        None if cfg!(feature = "ui") && (cli.gui.screenshot.is_some() || gui::gui_possible()) => {
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
            gui::cmd_gui(&sc, opts)
        }
        Cmd::Run {
            scenario,
            ticks,
            seed,
            backend,
            json,
            csv,
            sample_every,
            check_every,
            quiet,
            inject_fault,
        } => run::cmd_run(
            &scenario,
            ticks,
            seed,
            backend,
            json,
            csv,
            sample_every,
            check_every,
            quiet,
            inject_fault,
        ),
        Cmd::Shell {
            script,
            scenario,
            seed,
            backend,
        } => shell::cmd_shell(script, &scenario, seed, backend),
        #[cfg(target_os = "linux")]
        Cmd::Mount { dir, run } => run.opts().and_then(|o| mount::cmd_mount(dir, o)),
        #[cfg(target_os = "linux")]
        Cmd::Exec { run, cmd } => run.opts().and_then(|o| mount::cmd_exec(o, cmd)),
        Cmd::Parity {
            scenario,
            ticks,
            seed,
            skip,
        } => parity::cmd_parity(&scenario, ticks, seed, skip),
        Cmd::Bench {
            scenarios,
            ticks,
            warmup,
            backends,
            scaling,
            phases,
            hugetlb,
            locks,
            gigantic,
            numa,
            json,
        } => {
            if numa {
                numa_bench::cmd_bench_numa(scenarios, ticks, json)
            } else if let Some(n) = gigantic {
                gigantic::cmd_bench_gigantic(scenarios, n, ticks, warmup, backends, json)
            } else if locks {
                bench::cmd_bench_locks(scenarios, ticks, warmup, backends, json)
            } else if let Some(pages) = hugetlb {
                bench::cmd_bench_hugetlb(scenarios, pages, backends, json)
            } else if phases {
                bench::cmd_bench_phases(scenarios, ticks, warmup, backends)
            } else {
                bench::cmd_bench(scenarios, ticks, warmup, backends, scaling, json)
            }
        }
    };
    if let Err(e) = r {
        eprintln!("numasim: {e:#}");
        std::process::exit(1);
    }
}

/// The presets, comma-separated (for messages).
#[cfg(feature = "ui")]
pub fn preset_list() -> String {
    numasim::model::scenario::preset_names()
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn load(scenario: &str) -> Result<Scenario> {
    Ok(Scenario::load(scenario)?)
}

/// A progress line on stderr: redrawn in place on a terminal, every 10% otherwise.
pub struct Progress {
    total: u64,
    start: Instant,
    tty: bool,
    last_pct: u64,
    last_draw: Instant,
}

impl Progress {
    pub fn new(total: u64) -> Self {
        Progress {
            total,
            start: Instant::now(),
            tty: std::io::stderr().is_terminal(),
            last_pct: 0,
            last_draw: Instant::now(),
        }
    }
    pub fn update(&mut self, done: u64) {
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
