//! The dashboard's session: the machine, how it is driven frame by frame,
//! its history and the console. No drawing here; the panels read and
//! command a `Session`, and every knob goes through `Session::exec`, the
//! command language of `numasim shell`, so a click is a command that could
//! have been scripted (and the console shows it).

use crate::engine::cpu::CpuBackend;
use crate::engine::gpu::{GpuBackend, GpuContext};
use crate::engine::open::auto_uses_gpu;
use crate::engine::types::*;
pub use crate::engine::BackendChoice;
use crate::engine::{Backend, StatsSample};
use crate::kernel::run::RunLoop;
use crate::kernel::{Machine, MachineError};
use crate::model::frame::{MIGRATE_TYPES, NR_PAGE_ORDERS};
use crate::model::scenario::{preset_names, Scenario};
use crate::model::workload::CLASSES;
use crate::procfs::shell;
use std::collections::VecDeque;
use web_time::{Duration, Instant};

/// Where the scenario came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Preset(String),
    /// A file read from disk (or picked in the browser): its name and text.
    File {
        name: String,
        text: String,
    },
}

impl Source {
    pub fn name(&self) -> &str {
        match self {
            Source::Preset(n) => n,
            Source::File { name, .. } => name,
        }
    }
    fn load(&self) -> Result<Scenario, String> {
        match self {
            Source::Preset(n) => Scenario::load(n).map_err(|e| e.to_string()),
            Source::File { name, text } => Scenario::parse(text, name).map_err(|e| e.to_string()),
        }
    }
}

/// Counters of one node at one sample, cumulative since boot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodePoint {
    pub free_pages: u64,
    /// Free blocks per order (all migratetypes, all zones of the node).
    pub free_blocks: [u64; NR_PAGE_ORDERS],
    pub allocs: u64,
    pub frees: u64,
    pub fallbacks: u64,
    pub failures: u64,
    pub numa_hit: u64,
    pub numa_miss: u64,
    pub reclaimed: u64,
    /// Free pages by the migratetype of their pageblock.
    pub free_by_mt: [u64; MIGRATE_TYPES],
    /// Pages kswapd can take back (classes marked reclaimable: page cache
    /// and reclaimable slab).
    pub reclaimable: u64,
    /// allocstall, both zone types.
    pub stalls: u64,
    /// Free page reporting: pages free and reported, out for reporting,
    /// refaulted on the host (cumulative), and the guest's memory the host
    /// still backs (managed minus unbacked).
    pub reported: u64,
    pub report_inflight: u64,
    pub refaults: u64,
    pub host_rss: u64,
    /// NUMA balancing: hint faults taken on the node's CPUs and the local
    /// ones; pages migrated to and from the node.
    pub hint_faults: u64,
    pub hint_faults_local: u64,
    pub migrated_in: u64,
    pub migrated_out: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HistPoint {
    pub tick: u64,
    pub nodes: Vec<NodePoint>,
}

/// Samples, oldest first, at most `cap`.
pub struct History {
    pub points: VecDeque<HistPoint>,
    pub cap: usize,
}

impl History {
    fn new() -> History {
        History {
            points: VecDeque::new(),
            cap: 20_000,
        }
    }
    fn push(&mut self, p: HistPoint) {
        if self.points.back().is_some_and(|b| b.tick >= p.tick) {
            return;
        }
        if self.points.len() == self.cap {
            self.points.pop_front();
        }
        self.points.push_back(p);
    }
}

/// One console command and what it printed.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsoleEntry {
    pub cmd: String,
    pub out: String,
    pub ok: bool,
}

#[derive(Default)]
pub struct Console {
    pub input: String,
    pub log: Vec<ConsoleEntry>,
    /// Commands typed, for the up/down keys.
    pub history: Vec<String>,
    pub history_pos: Option<usize>,
}

/// Work waiting for the GPU's state to reach the host.
#[derive(Clone, Debug, PartialEq)]
enum Pending {
    /// A console line.
    Line(String),
    /// A backend switch (it carries the whole state over).
    Switch(BackendChoice),
    /// The state digest of the current tick.
    Digest,
}

/// Something to show in the error panel, kept until dismissed.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorPanel {
    pub title: String,
    pub message: String,
}

impl ErrorPanel {
    /// A scenario that could not be opened; `message` says why, naming the
    /// file (and line, where there is one).
    pub fn cannot_open(name: &str, message: String) -> ErrorPanel {
        ErrorPanel {
            title: format!("Cannot open scenario `{name}`"),
            message,
        }
    }
}

/// Events per second over a sliding second.
pub struct RateMeter {
    window: VecDeque<(Instant, u64)>,
}

impl RateMeter {
    fn new() -> RateMeter {
        RateMeter {
            window: VecDeque::new(),
        }
    }
    pub fn add(&mut self, n: u64) {
        let now = Instant::now();
        self.window.push_back((now, n));
        while self
            .window
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(2))
        {
            self.window.pop_front();
        }
    }
    /// Rate over the window (0 until two events).
    pub fn rate(&self) -> f64 {
        let (Some(a), Some(b)) = (self.window.front(), self.window.back()) else {
            return 0.0;
        };
        let dt = b.0.duration_since(a.0).as_secs_f64();
        if dt <= 0.0 {
            return 0.0;
        }
        let n: u64 = self.window.iter().skip(1).map(|(_, n)| n).sum();
        n as f64 / dt
    }
}

pub struct Session {
    pub machine: Machine,
    pub source: Source,
    /// Why this backend (shown in the status bar's tooltip).
    pub backend_note: String,
    pub backend_pref: BackendChoice,
    /// A device the GPU backend can run on: the dashboard's own (eframe's),
    /// so the frame map is drawn from the simulation's buffers in place.
    pub gpu: Option<GpuContext>,
    pub running: bool,
    /// The most ticks one UI frame may run (the user's setting).
    pub ticks_per_frame: u32,
    /// What the last frame ran (lower when a tick is slow).
    pub effective_ticks_per_frame: u32,
    /// Time one UI frame may spend simulating on the CPU.
    pub frame_budget: Duration,
    /// Stop running at this tick (screenshots, tests).
    pub stop_at: Option<u64>,
    pub history: History,
    pub latest: Option<StatsSample>,
    pub console: Console,
    /// Work waiting for the GPU's state.
    pending: VecDeque<Pending>,
    /// The state digest and the tick it was taken at (see `want_digest`).
    pub digest: Option<(u64, u64)>,
    pub error: Option<ErrorPanel>,
    /// A standing notice (why a fallback happened).
    pub notice: Option<String>,
    pub tick_rate: RateMeter,
    pub ui_rate: RateMeter,
    /// Calls of `frame` so far.
    pub ui_frames: u64,
    /// Ticks the GPU has completed (newest sample).
    sampled_tick: u64,
    /// The batch now in flight on the GPU: its size and the UI frames that
    /// have looked for it so far.
    in_flight: Option<(u64, u32)>,
    /// Ticks in the next GPU batch.
    gpu_batch: u64,
    /// When the last frame began, and how long the one before it took.
    last_frame: Option<Instant>,
    frame_dt: Duration,
    /// Frame time with one-tick batches (a running average): what drawing
    /// the window costs on this device when the simulation costs least.
    base_frame_dt: Option<Duration>,
    /// Checkpoints and recovery: the same policy as `numasim run`
    /// (`kernel::run`), with checkpoints every 10 s of wall time or more.
    pub run: RunLoop,
}

impl Session {
    pub fn new(
        source: Source,
        seed: Option<u64>,
        pref: BackendChoice,
        gpu: Option<GpuContext>,
    ) -> Result<Session, String> {
        let scenario = source.load()?;
        let (machine, note) = boot(scenario, seed, pref, gpu.as_ref())?;
        let mut s = Session {
            machine,
            source,
            backend_note: note,
            backend_pref: pref,
            gpu,
            running: true,
            ticks_per_frame: 64,
            effective_ticks_per_frame: 1,
            frame_budget: Duration::from_millis(12),
            stop_at: None,
            history: History::new(),
            latest: None,
            console: Console::default(),
            pending: VecDeque::new(),
            digest: None,
            error: None,
            notice: None,
            tick_rate: RateMeter::new(),
            ui_rate: RateMeter::new(),
            ui_frames: 0,
            sampled_tick: 0,
            in_flight: None,
            gpu_batch: 1,
            last_frame: None,
            frame_dt: Duration::ZERO,
            base_frame_dt: None,
            run: RunLoop::every_wall(Duration::from_secs(10)),
        };
        s.collect();
        s.run_setup();
        Ok(s)
    }

    /// The scenario's `setup` commands, through the console (queued behind
    /// downloads on the GPU, like typed lines), so their output and errors
    /// show there.
    fn run_setup(&mut self) {
        if let Some((text, _)) = self.machine.scenario.setup.clone() {
            for line in text.lines() {
                self.exec(line);
            }
        }
    }

    pub fn is_gpu(&mut self) -> bool {
        self.machine.backend_mut().as_gpu().is_some()
    }

    /// Loads another scenario; on error the error panel names the problem
    /// and the current machine keeps running.
    pub fn open(&mut self, source: Source, seed: Option<u64>) -> bool {
        let r = source
            .load()
            .and_then(|sc| boot(sc, seed, self.backend_pref, self.gpu.as_ref()));
        match r {
            Ok((m, note)) => {
                self.machine = m;
                self.backend_note = note;
                self.source = source;
                self.after_reset();
                self.run_setup();
                true
            }
            Err(e) => {
                self.error = Some(ErrorPanel::cannot_open(source.name(), e));
                false
            }
        }
    }

    /// Opens a scenario file's contents (read from disk, picked, dropped
    /// or uploaded); a bad one opens the error panel and the loaded machine
    /// stays.
    pub fn open_bytes(&mut self, name: &str, bytes: &[u8]) -> bool {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.open(
                Source::File {
                    name: name.to_string(),
                    text: text.to_string(),
                },
                None,
            ),
            Err(e) => {
                self.error = Some(ErrorPanel::cannot_open(
                    name,
                    format!("{name}: not UTF-8 text ({e}); a scenario is a TOML file"),
                ));
                false
            }
        }
    }

    /// Boots the same scenario again with `seed`.
    pub fn reset(&mut self, seed: u64) -> bool {
        let src = self.source.clone();
        self.open(src, Some(seed))
    }

    fn after_reset(&mut self) {
        self.history = History::new();
        self.latest = None;
        self.sampled_tick = 0;
        self.in_flight = None;
        self.gpu_batch = 1;
        self.base_frame_dt = None;
        self.run.reset(self.machine.tick);
        self.pending.clear();
        self.digest = None;
        self.collect();
    }

    /// Moves the running machine to another backend (state and counters
    /// carried over).
    ///
    /// From the GPU the state must come down first: the switch waits in
    /// the queue for a download that never blocks the window.
    pub fn set_backend(&mut self, pref: BackendChoice) {
        if self.is_gpu() {
            self.pending.push_back(Pending::Switch(pref));
            self.drain_pending();
        } else {
            self.switch_now(pref);
        }
    }

    fn switch_now(&mut self, pref: BackendChoice) {
        let want_gpu = match pref {
            BackendChoice::Cpu => false,
            BackendChoice::Gpu => true,
            BackendChoice::Auto => self.gpu.as_ref().is_some_and(auto_uses_gpu),
        };
        if self.sync_counters().is_err() {
            return;
        }
        let r = if want_gpu {
            let ctx = match self
                .gpu
                .clone()
                .map(Ok)
                .unwrap_or_else(crate::engine::gpu::device::open)
            {
                Ok(c) => c,
                Err(e) => {
                    self.error = Some(ErrorPanel {
                        title: "No GPU backend".into(),
                        message: e.to_string(),
                    });
                    return;
                }
            };
            let note = format!("GPU: {}", ctx.describe());
            self.machine
                .switch_backend(|b| Ok(Box::new(GpuBackend::new(ctx, b)?) as Box<dyn Backend>))
                .map(|_| note)
        } else {
            self.machine
                .switch_backend(|b| Ok(Box::new(CpuBackend::new(b)) as Box<dyn Backend>))
                .map(|_| "the CPU reference".to_string())
        };
        match r {
            Ok(note) => {
                self.backend_pref = pref;
                self.backend_note = note;
                self.sampled_tick = self.machine.tick;
                self.run.reset(self.machine.tick);
            }
            Err(e) => {
                self.error = Some(ErrorPanel {
                    title: "Backend switch failed".into(),
                    message: e.to_string(),
                })
            }
        }
    }

    /// Reads the counters of the current tick, waiting for a batch in
    /// flight (before host-side changes and commands). A GPU that fails
    /// here hands the run to the CPU reference.
    fn sync_counters(&mut self) -> Result<(), ()> {
        self.in_flight = None;
        if let Err(e) = self.machine.fold_stats() {
            self.device_failed(e);
            return Err(());
        }
        self.sampled_tick = self.machine.tick;
        Ok(())
    }

    /// Runs a console line: at once on the CPU reference; on the GPU
    /// queued until the device's state has been downloaded without waiting
    /// (see `drain_pending`), so the window never blocks on a readback.
    pub fn exec(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        if self.is_gpu() {
            self.pending.push_back(Pending::Line(line.to_string()));
            self.drain_pending();
        } else {
            let _ = self.exec_now(line);
        }
    }

    /// Console lines waiting for the GPU's state.
    pub fn pending(&self) -> impl Iterator<Item = &String> {
        self.pending.iter().filter_map(|p| match p {
            Pending::Line(l) => Some(l),
            _ => None,
        })
    }

    /// Whether work waits for the GPU's state (console lines, a backend
    /// switch, the digest).
    pub fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Asks for the state digest of the current tick: at once on the CPU
    /// reference; on the GPU once its state has come down (never
    /// blocking). It lands in `digest` with its tick, and is what
    /// `numasim run --quiet` prints for the same scenario, seed and ticks.
    pub fn want_digest(&mut self) {
        if self.digest.is_some_and(|(t, _)| t == self.machine.tick) && self.in_flight.is_none() {
            return;
        }
        if self.is_gpu() {
            if !self.pending.contains(&Pending::Digest) {
                self.pending.push_back(Pending::Digest);
            }
            self.drain_pending();
        } else {
            self.take_digest();
        }
    }

    fn take_digest(&mut self) {
        match self.machine.digest() {
            Ok(d) => self.digest = Some((self.machine.tick, d)),
            Err(e) => self.fail_run(format!("digest: {e}")),
        }
    }

    /// Runs queued work once the host copy is current. `tick N` is
    /// submitted as a batch (its counters arrive through the ring like any
    /// batch's) and the work after it waits for it.
    fn drain_pending(&mut self) {
        while let Some(item) = self.pending.front().cloned() {
            if self.in_flight.is_some() {
                return;
            }
            if let Pending::Line(line) = &item {
                let mut w = line.split_whitespace();
                if w.next() == Some("tick") {
                    let n = match (w.next().map(str::parse::<u64>), w.next()) {
                        (None, None) => Some(1),
                        (Some(Ok(n)), None) => Some(n),
                        _ => None,
                    };
                    if let Some(n) = n {
                        self.pending.pop_front();
                        self.log(line, Ok(String::new()));
                        if n > 0 {
                            if let Err(e) = self.machine.submit(n) {
                                self.device_failed(e);
                                return;
                            }
                            self.in_flight = Some((n, 0));
                        }
                        continue;
                    }
                }
            }
            if !self.is_gpu() {
                // A failure moved the run to the CPU: nothing to wait for.
                self.pending.pop_front();
                self.run_pending(item);
                continue;
            }
            let sync = match self.machine.backend_mut().begin_sync() {
                Ok(true) => Some(Ok(())),
                Ok(false) => self.machine.backend_mut().poll_sync(),
                Err(e) => Some(Err(e)),
            };
            match sync {
                None => return,
                Some(Err(e)) => {
                    self.device_failed(e.into());
                    return;
                }
                Some(Ok(())) => {
                    self.pending.pop_front();
                    self.run_pending(item);
                }
            }
        }
    }

    /// Runs one queued item with the host copy current.
    fn run_pending(&mut self, item: Pending) {
        match item {
            Pending::Line(l) => {
                let _ = self.exec_now(&l);
            }
            Pending::Switch(p) => self.switch_now(p),
            Pending::Digest => self.take_digest(),
        }
    }

    fn log(&mut self, line: &str, r: Result<String, String>) {
        let (out, ok) = match r {
            Ok(o) => (o, true),
            Err(e) => (e, false),
        };
        self.console.log.push(ConsoleEntry {
            cmd: line.to_string(),
            out,
            ok,
        });
        if self.console.history.last().map(String::as_str) != Some(line) {
            self.console.history.push(line.to_string());
        }
        self.console.history_pos = None;
    }

    /// Runs a console line now, waiting for the GPU if need be (the CPU
    /// reference never waits). Its output goes to the console log.
    pub fn exec_now(&mut self, line: &str) -> Result<String, String> {
        let line = line.trim().to_string();
        if line.is_empty() {
            return Ok(String::new());
        }
        let before = self.machine.tick;
        let r = match self.sync_counters() {
            Ok(()) => shell::exec_line(&mut self.machine, &line),
            Err(()) => Err("the GPU backend failed; see the notice".into()),
        };
        self.log(&line, r.clone());
        if self.machine.tick != before {
            self.sampled_tick = self.machine.tick;
            self.collect();
        }
        r
    }

    /// Writes a /proc or /sys file through the command language.
    pub fn write_file(&mut self, path: &str, value: impl std::fmt::Display) {
        self.exec(&format!("echo {value} > {path}"));
    }

    /// One tick, now (the Step button).
    pub fn step(&mut self) {
        self.exec("tick 1");
    }

    /// Advances the simulation for one UI frame: on the CPU, ticks until
    /// the frame budget is spent (at least one, at most `ticks_per_frame`);
    /// on the GPU, a new batch only when the last one has finished, sized
    /// by the measured tick time so that the shared queue never holds more
    /// than a frame's worth of work. Never waits for the GPU.
    pub fn frame(&mut self) {
        self.ui_rate.add(1);
        self.ui_frames += 1;
        let now = Instant::now();
        if let Some(t) = self.last_frame.replace(now) {
            self.frame_dt = now.duration_since(t);
        }
        let gpu = self.is_gpu();
        if gpu {
            self.collect();
            self.retire_in_flight();
            self.drain_pending();
        }
        let limit = self
            .stop_at
            .map(|s| s.saturating_sub(self.machine.tick))
            .unwrap_or(u64::MAX);
        if self.running && limit > 0 && self.pending.is_empty() {
            if gpu {
                self.gpu_frame(limit);
            } else {
                self.cpu_frame(limit);
            }
        }
        if self.stop_at.is_some_and(|s| self.machine.tick >= s) && self.in_flight.is_none() {
            self.running = false;
        }
    }

    /// Whether a batch of ticks is still running on the GPU.
    pub fn busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Once the GPU's newest sample is the machine's tick, the batch in
    /// flight is done. The next batch doubles while batches finish by the
    /// next frame and frames stay short, and halves when one takes three
    /// frames or a frame runs long (the GPU shares its queue with drawing
    /// the window, so a big batch delays the frame itself). "Long" is
    /// 40 ms, or 1.5 times what a frame takes with one-tick batches where
    /// drawing alone takes longer than that (a software renderer, such as
    /// a browser's SwiftShader at a few frames a second).
    fn retire_in_flight(&mut self) {
        let Some((k, waited)) = self.in_flight else {
            return;
        };
        if self.sampled_tick < self.machine.tick {
            self.in_flight = Some((k, waited + 1));
            return;
        }
        if k == 1 && waited <= 1 {
            self.base_frame_dt = Some(match self.base_frame_dt {
                None => self.frame_dt,
                Some(b) => (b * 3 + self.frame_dt) / 4,
            });
        }
        let long = self
            .base_frame_dt
            .map(|b| b * 3 / 2)
            .unwrap_or_default()
            .max(Duration::from_millis(40));
        self.gpu_batch = if waited >= 3 || self.frame_dt > long {
            (k / 2).max(1)
        } else if waited <= 1 {
            (k * 2).max(self.gpu_batch)
        } else {
            k
        };
        self.tick_rate.add(k);
        self.in_flight = None;
    }

    fn cpu_frame(&mut self, limit: u64) {
        let t0 = Instant::now();
        let max = (self.ticks_per_frame.max(1) as u64).min(limit);
        let mut n = 0;
        while n < max {
            if let Err(e) = self.machine.submit(1) {
                self.fail_run(e.to_string());
                return;
            }
            n += 1;
            if t0.elapsed() >= self.frame_budget {
                break;
            }
        }
        if let Err(e) = self.machine.fold_stats() {
            self.fail_run(e.to_string());
            return;
        }
        self.effective_ticks_per_frame = n as u32;
        self.tick_rate.add(n);
        self.collect();
    }

    fn gpu_frame(&mut self, limit: u64) {
        if self.in_flight.is_some() {
            return;
        }
        self.maybe_checkpoint();
        if !self.is_gpu() {
            // The checkpoint found the device lost; the CPU runs next frame.
            return;
        }
        let k = self
            .gpu_batch
            .clamp(1, self.ticks_per_frame.max(1) as u64)
            .min(limit);
        if let Err(e) = self.machine.submit(k) {
            self.device_failed(e);
            return;
        }
        self.effective_ticks_per_frame = k as u32;
        self.in_flight = Some((k, 0));
    }

    /// Keeps the snapshot a device loss would replay from recent: a full
    /// download, every 10 s or 50 times its own cost, whichever is longer
    /// (`RunLoop::poll_checkpoint`), beside the batches, never blocking
    /// the window.
    fn maybe_checkpoint(&mut self) {
        if let Err(e) = self.run.poll_checkpoint(&mut self.machine) {
            self.device_failed(e);
        }
    }

    fn fail_run(&mut self, msg: String) {
        self.running = false;
        self.error = Some(ErrorPanel {
            title: "The simulation stopped".into(),
            message: msg,
        });
    }

    /// The GPU failed: a lost device hands the run to the CPU reference,
    /// replayed from the last snapshot to the current tick (`RunLoop`), and
    /// says so; anything else (a validation error: a bug) stops the run.
    fn device_failed(&mut self, e: MachineError) {
        self.in_flight = None;
        self.gpu_batch = 1;
        match self.run.on_error(&mut self.machine, e) {
            Ok(event) => {
                let tick = self.machine.tick;
                let mut notice = event.to_string();
                if let Some(c) = notice.get_mut(..1) {
                    c.make_ascii_uppercase();
                }
                self.notice = Some(format!("{notice}."));
                self.backend_pref = BackendChoice::Cpu;
                self.backend_note = "the CPU reference (after a GPU failure)".into();
                self.sampled_tick = tick;
                self.latest = None;
                self.history.points.retain(|p| p.tick <= tick);
                self.collect();
            }
            Err(e) => self.fail_run(e.to_string()),
        }
    }

    /// Picks up the newest finished counters and records a history point.
    fn collect(&mut self) {
        let Some(s) = self.machine.poll_stats() else {
            return;
        };
        let tick = s.tick as u64;
        if self.latest.as_ref().is_some_and(|l| l.tick > s.tick) {
            return;
        }
        self.sampled_tick = self.sampled_tick.max(tick.min(self.machine.tick));
        let nn = self.machine.scenario.topology.nodes.len();
        let managed: Vec<u32> = self
            .machine
            .config()
            .zones
            .iter()
            .map(|z| z.managed)
            .collect();
        let mut nodes = vec![NodePoint::default(); nn];
        for (z, zone) in self.machine.scenario.topology.zones.iter().enumerate() {
            let p = &mut nodes[zone.node as usize];
            let (Some(t), Some(zs)) = (s.totals.get(z), s.zones.get(z)) else {
                continue;
            };
            p.free_pages += zs.nr_free as u64;
            for (o, row) in zs.free_area.iter().enumerate() {
                for (mt, &c) in row.iter().enumerate() {
                    p.free_blocks[o] += c as u64;
                    p.free_by_mt[mt] += (c as u64) << o;
                }
            }
            p.reclaimable += CLASSES
                .iter()
                .zip(zs.class_pages.iter())
                .filter(|(c, _)| c.reclaimable)
                .map(|(_, &n)| n as u64)
                .sum::<u64>();
            p.stalls += t[ZS_ALLOCSTALL_NORMAL] + t[ZS_ALLOCSTALL_MOVABLE];
            p.allocs += t[ZS_ALLOCS];
            p.frees += t[ZS_FREES];
            p.fallbacks += t[ZS_ALLOC_FALLBACK];
            p.failures += t[ZS_ALLOC_FAIL];
            p.numa_hit += t[ZS_NUMA_HIT];
            p.numa_miss += t[ZS_NUMA_MISS];
            p.reclaimed += t[ZS_PGSTEAL_KSWAPD] + t[ZS_PGSTEAL_DIRECT];
            let row = RS_DEV_WORDS + z * RZ_WORDS;
            if let Some(r) = s.report_state.get(row..row + RZ_WORDS) {
                p.reported += crate::kernel::reporting::reported_pages(r);
                p.report_inflight += r[RZ_INFLIGHT_PAGES] as u64;
                p.refaults += r[RZ_REFAULT_PAGES] as u64;
                let managed = managed.get(z).copied().unwrap_or(0) as u64;
                p.host_rss += managed.saturating_sub(r[RZ_UNBACKED_PAGES] as u64);
            }
        }
        if s.numa_state.len() >= NUMA_STATE_WORDS {
            let faults = crate::kernel::numa::machine::node_faults(&s.numa_state, nn);
            let flows = crate::kernel::numa::machine::flows(&s.numa_state, nn);
            for (n, p) in nodes.iter_mut().enumerate() {
                (p.hint_faults, p.hint_faults_local) = faults[n];
                p.migrated_out = flows[n].iter().sum();
                p.migrated_in = flows.iter().map(|row| row[n]).sum();
            }
        }
        self.history.push(HistPoint { tick, nodes });
        self.latest = Some(s);
    }

    /// Names of the presets embedded in the build (assets/scenarios).
    pub fn presets() -> Vec<&'static str> {
        preset_names().collect()
    }

    pub fn frames(&self) -> u64 {
        self.machine.scenario.topology.total_frames()
    }
}

/// The most frames a scenario may have in the browser build: wasm32 has
/// at most 4 GiB of memory, and the host copy of the state (8 bytes a
/// frame) exists twice while a GPU download lands.
pub const WEB_MAX_FRAMES: u64 = 1 << 26;

/// Refuses what this build cannot hold, naming the scenario and the limit.
fn check_fits(scenario: &Scenario) -> Result<(), String> {
    let frames = scenario.topology.total_frames();
    if cfg!(target_arch = "wasm32") && frames > WEB_MAX_FRAMES {
        return Err(format!(
            "scenario `{}` has {} frames ({} GiB); the browser build holds at most {} frames ({} GiB): wasm32 memory is 4 GiB and the state is kept twice during a GPU download. Run it with the native build.",
            scenario.name,
            frames,
            frames >> 18,
            WEB_MAX_FRAMES,
            WEB_MAX_FRAMES >> 18
        ));
    }
    Ok(())
}

/// Boots `scenario` on the preferred backend (`engine::open`, its one
/// `auto` rule, on the dashboard's own device); returns the machine and a
/// note saying which backend and why.
fn boot(
    scenario: Scenario,
    seed: Option<u64>,
    pref: BackendChoice,
    gpu: Option<&GpuContext>,
) -> Result<(Machine, String), String> {
    check_fits(&scenario)?;
    let want_gpu = match pref {
        BackendChoice::Cpu => false,
        BackendChoice::Gpu => true,
        BackendChoice::Auto => gpu.is_some_and(auto_uses_gpu),
    };
    if pref == BackendChoice::Auto && !want_gpu {
        // Without a hardware device of its own the dashboard does not open
        // another one (a software one is slower than the CPU reference).
        let why = match gpu {
            Some(c) => format!(
                "the CPU reference: the display's adapter, {}, is a software one, slower than the CPU reference",
                c.describe()
            ),
            None => "the CPU reference: no GPU adapter".to_string(),
        };
        let m = Machine::boot(scenario, seed).map_err(|e| e.to_string())?;
        return Ok((m, why));
    }
    let choice = if want_gpu {
        BackendChoice::Gpu
    } else {
        BackendChoice::Cpu
    };
    match Machine::boot_on_device(scenario.clone(), seed, choice, gpu.cloned()) {
        Ok(x) => Ok(x),
        Err(e) if pref == BackendChoice::Auto => {
            let m = Machine::boot(scenario, seed).map_err(|e| e.to_string())?;
            Ok((
                m,
                format!("the CPU reference: the GPU backend could not start ({e})"),
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}
