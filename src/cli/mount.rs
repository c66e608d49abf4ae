//! `numasim mount DIR` and `numasim exec -- CMD`: the simulated machine's
//! /proc and /sys tree as a live FUSE filesystem, for the tools people
//! already use (numastat, numactl, free, vmstat, sar, hugeadm, lstopo).
//!
//! One thread owns the `Machine` and advances it at the requested rate;
//! the FUSE worker threads send it jobs (read a file, write a file, steer
//! the run) and wait for the answer, so every read sees the state between
//! two ticks and every write lands between two ticks, as on the shell.

use anyhow::{bail, Context, Result};
use fuser::{
    Errno as FuseErrno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, INodeNo, LockOwner,
    MountOption, OpenAccMode, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyWrite, Request, WriteFlags,
};
use numasim::engine::BackendChoice;
use numasim::kernel::Machine;
use numasim::procfs::{self, shell};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// The control file the mount adds beside /proc and /sys.
pub const CONTROL: &str = "/numasim/control";

/// How the simulation runs while mounted.
#[derive(Clone, Debug)]
pub struct RunOpts {
    pub scenario: String,
    pub seed: Option<u64>,
    pub backend: BackendChoice,
    /// Ticks per second of wall time while running.
    pub rate: f64,
    pub paused: bool,
    /// Ticks run before the tree is served.
    pub warmup: u64,
}

/// The run's state, steered through the control file.
struct Ctl {
    running: bool,
    rate: f64,
    error: Option<String>,
    quit: bool,
}

type Job = Box<dyn FnOnce(&mut Machine, &mut Ctl) + Send>;

/// The handle FUSE threads use to reach the machine's thread.
struct Sim {
    tx: Mutex<mpsc::Sender<Job>>,
}

impl Sim {
    fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Machine, &mut Ctl) -> R + Send + 'static,
    ) -> Option<R> {
        let (rtx, rrx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |m, c| {
            let _ = rtx.send(f(m, c));
        });
        self.tx.lock().ok()?.send(job).ok()?;
        rrx.recv().ok()
    }
}

/// Boots the machine on its own thread and starts the run loop there.
fn start_sim(o: &RunOpts) -> Result<(Sim, std::thread::JoinHandle<()>)> {
    let s = super::load(&o.scenario)?;
    let (tx, rx) = mpsc::channel::<Job>();
    let (btx, brx) = mpsc::sync_channel::<Result<String, String>>(1);
    let (seed, backend, rate, paused, warmup) = (o.seed, o.backend, o.rate, o.paused, o.warmup);
    let h = std::thread::Builder::new()
        .name("numasim-sim".into())
        .spawn(move || {
            let mut m = match Machine::boot_on(s, seed, backend) {
                Ok((m, why)) => {
                    let _ = why;
                    m
                }
                Err(e) => {
                    let _ = btx.send(Err(format!("booting the machine: {e}")));
                    return;
                }
            };
            let mut sink = std::io::sink();
            if let Err(e) = shell::run_setup(&mut m, &mut sink) {
                let _ = btx.send(Err(format!("the scenario's setup: {e}")));
                return;
            }
            if warmup > 0 {
                if let Err(e) = m.advance(warmup) {
                    let _ = btx.send(Err(format!("the warm-up: {e}")));
                    return;
                }
            }
            let _ = btx.send(Ok(format!(
                "`{}` ({} nodes) on {} at tick {}",
                m.scenario.name,
                m.scenario.topology.nodes.len(),
                m.backend_name(),
                m.tick
            )));
            let mut ctl = Ctl {
                running: !paused && rate > 0.0,
                rate,
                error: None,
                quit: false,
            };
            run_loop(&mut m, &mut ctl, rx);
            // Bring a device's state home before the machine goes away.
            let _ = m.checkpoint();
        })?;
    match brx.recv() {
        Ok(Ok(msg)) => eprintln!("numasim: {msg}"),
        Ok(Err(e)) => bail!("{e}"),
        Err(_) => bail!("the simulation thread ended while booting"),
    }
    Ok((Sim { tx: Mutex::new(tx) }, h))
}

/// Serves jobs and, while running, advances one tick each 1/rate s
/// (catching up at most a second behind; a rate above what the backend
/// reaches runs it flat out, still serving jobs between ticks).
fn run_loop(m: &mut Machine, ctl: &mut Ctl, rx: mpsc::Receiver<Job>) {
    let mut next = Instant::now();
    loop {
        let now = Instant::now();
        let wait = if ctl.running {
            next.saturating_duration_since(now)
        } else {
            Duration::from_millis(200)
        };
        match rx.recv_timeout(wait) {
            Ok(job) => job(m, ctl),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        // Serve every queued job before the next tick.
        while let Ok(job) = rx.try_recv() {
            job(m, ctl);
        }
        if ctl.quit {
            return;
        }
        if !ctl.running {
            next = Instant::now();
            continue;
        }
        let now = Instant::now();
        if now >= next {
            if let Err(e) = m.step() {
                ctl.running = false;
                ctl.error = Some(format!("tick {}: {e}", m.tick));
                eprintln!("numasim: the run stopped: {e}");
            }
            let period = Duration::from_secs_f64(1.0 / ctl.rate.max(1e-3));
            next += period;
            if now.duration_since(next) > Duration::from_secs(1) {
                next = now;
            }
        }
    }
}

fn control_read(m: &Machine, c: &Ctl) -> String {
    let mut s = format!(
        "tick {}\ntime_ns {}\nstate {}\nrate {}\nbackend {}\nscenario {}\n",
        m.tick,
        m.now_ns(),
        if c.running { "running" } else { "paused" },
        c.rate,
        m.backend_name(),
        m.scenario.name
    );
    if let Some(e) = &c.error {
        s += &format!("error {e}\n");
    }
    s
}

/// `tick N`, `pause`, `run [RATE]`, `rate RATE`, `checkpoint`, or any
/// command of the shell language (`spawn`, `stop`, ...), one per line.
fn control_write(m: &mut Machine, c: &mut Ctl, text: &str) -> Result<(), (procfs::Errno, String)> {
    use procfs::Errno;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut w = line.split_whitespace();
        let cmd = w.next().unwrap_or("");
        let arg = w.next();
        let rate = |a: Option<&str>| -> Result<f64, (Errno, String)> {
            a.map(|r| {
                r.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x > 0.0 && *x <= 1e6)
                    .ok_or((
                        Errno::EINVAL,
                        format!("`{r}`: a rate is ticks per second in (0, 1e6]"),
                    ))
            })
            .transpose()
            .map(|r| r.unwrap_or(c.rate))
        };
        match cmd {
            "pause" => c.running = false,
            "run" => {
                c.rate = rate(arg)?;
                c.running = true;
                c.error = None;
            }
            "rate" => c.rate = rate(arg.or(Some("")))?,
            "checkpoint" => m.checkpoint().map_err(|e| (e.errno(), e.to_string()))?,
            "tick" => {
                let n: u64 = match arg {
                    None => 1,
                    Some(a) => a.parse().ok().filter(|&n| n <= 10_000_000).ok_or((
                        Errno::EINVAL,
                        format!("`{a}`: tick takes a count 0..=10000000"),
                    ))?,
                };
                m.advance(n).map_err(|e| (e.errno(), e.to_string()))?;
            }
            _ => {
                shell::exec_line(m, line).map_err(|e| (Errno::EINVAL, e))?;
            }
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Its mode and `st_size`, from the file's row of the table.
    File(u16, u64),
    Dir,
}

struct Inodes {
    by_path: HashMap<String, u64>,
    paths: Vec<String>,
}

impl Inodes {
    fn ino(&mut self, path: &str) -> u64 {
        if let Some(&i) = self.by_path.get(path) {
            return i;
        }
        self.paths.push(path.to_string());
        let i = self.paths.len() as u64; // ino 1 is the root, paths[0]
        self.by_path.insert(path.to_string(), i);
        i
    }
    fn path(&self, ino: u64) -> Option<String> {
        self.paths.get(ino.checked_sub(1)? as usize).cloned()
    }
}

enum Handle {
    /// The file's text at open (seq_file: one snapshot per open).
    Read(Vec<u8>),
    Write(String),
}

struct SimFs {
    sim: Sim,
    inodes: Mutex<Inodes>,
    handles: Mutex<HashMap<u64, Handle>>,
    next_fh: AtomicU64,
    uid: u32,
    gid: u32,
    born: SystemTime,
}

fn child(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn errno(code: i32) -> FuseErrno {
    FuseErrno::from_i32(code)
}

impl SimFs {
    fn kind(&self, path: &str) -> Option<Kind> {
        if path == "/" || path == "/numasim" {
            return Some(Kind::Dir);
        }
        if path == CONTROL {
            return Some(Kind::File(0o644, 0));
        }
        let p = path.to_string();
        // A walk over the table's rows: no listing of the tree.
        self.sim
            .call(move |m, _| match procfs::table::lookup(m, &p) {
                Ok(procfs::table::Entry::File(f, _)) => Some(Kind::File(f.mode, f.size)),
                Ok(procfs::table::Entry::Dir) => Some(Kind::Dir),
                Err(_) => None,
            })
            .flatten()
    }

    fn attr(&self, ino: u64, path: &str, k: Kind) -> FileAttr {
        let (kind, perm, size, nlink) = match k {
            // procfs 0; kernfs PAGE_SIZE, or a bin_attribute's own size.
            Kind::File(mode, size) => (FileType::RegularFile, mode, size, 1),
            // procfs directories are 0555, sysfs (kernfs) ones 0755.
            Kind::Dir => (
                FileType::Directory,
                if path.starts_with("/proc") {
                    0o555
                } else {
                    0o755
                },
                0,
                2,
            ),
        };
        FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: 0,
            atime: self.born,
            mtime: self.born,
            ctime: self.born,
            crtime: self.born,
            kind,
            perm,
            nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            flags: 0,
            blksize: 4096,
        }
    }

    fn path_of(&self, ino: INodeNo) -> Option<String> {
        self.inodes.lock().ok()?.path(u64::from(ino))
    }

    fn entries(&self, dir: &str) -> Result<Vec<(String, Kind)>, FuseErrno> {
        if dir == "/numasim" {
            return Ok(vec![("control".into(), Kind::File(0o644, 0))]);
        }
        let d = dir.to_string();
        let names = self
            .sim
            .call(move |m, _| procfs::list_dir(m, &d))
            .ok_or(FuseErrno::EIO)?
            .map_err(|e| errno(e.errno.code()))?;
        let mut v: Vec<(String, Kind)> = names
            .into_iter()
            .map(|n| match n.strip_suffix('/') {
                Some(d) => (d.to_string(), Kind::Dir),
                None => {
                    let p = child(dir, &n);
                    let f = procfs::table::row_of(&p);
                    let k = Kind::File(f.map_or(0o444, |f| f.mode), f.map_or(0, |f| f.size));
                    (n, k)
                }
            })
            .collect();
        if dir == "/" {
            v.push(("numasim".into(), Kind::Dir));
        }
        Ok(v)
    }
}

const TTL: Duration = Duration::from_secs(1);

impl Filesystem for SimFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let (Some(dir), Some(name)) = (self.path_of(parent), name.to_str()) else {
            return reply.error(FuseErrno::ENOENT);
        };
        let path = child(&dir, name);
        match self.kind(&path) {
            Some(k) => {
                let ino = self.inodes.lock().unwrap().ino(&path);
                reply.entry(&TTL, &self.attr(ino, &path, k), fuser::Generation(0));
            }
            None => reply.error(FuseErrno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let Some(path) = self.path_of(ino) else {
            return reply.error(FuseErrno::ENOENT);
        };
        match self.kind(&path) {
            Some(k) => reply.attr(&TTL, &self.attr(u64::from(ino), &path, k)),
            None => reply.error(FuseErrno::ENOENT),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        _size: Option<u64>,
        _atime: Option<fuser::TimeOrNow>,
        _mtime: Option<fuser::TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        // O_TRUNC on a sysfs or proc file is ignored (kernfs and procfs
        // have no truncate): answer with the unchanged attributes.
        self.getattr(_req, ino, None, reply)
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let Some(path) = self.path_of(ino) else {
            return reply.error(FuseErrno::ENOENT);
        };
        let Some(Kind::File(mode, _)) = self.kind(&path) else {
            return reply.error(FuseErrno::EISDIR);
        };
        let h = match flags.acc_mode() {
            OpenAccMode::O_RDONLY => {
                let p = path.clone();
                let text = self.sim.call(move |m, c| {
                    if p == CONTROL {
                        Ok(control_read(m, c))
                    } else {
                        procfs::read(m, &p).map_err(|e| e.errno.code())
                    }
                });
                match text {
                    Some(Ok(t)) => Handle::Read(t.into_bytes()),
                    Some(Err(code)) => return reply.error(errno(code)),
                    None => return reply.error(FuseErrno::EIO),
                }
            }
            // kernfs_fop_open(): a write open of an attribute without a
            // store method is EACCES, even for root.
            _ if mode & 0o200 == 0 => return reply.error(FuseErrno::EACCES),
            _ => Handle::Write(path),
        };
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.handles.lock().unwrap().insert(fh, h);
        // Direct I/O: the file's size (0 or 4096) says nothing of its text.
        reply.opened(FileHandle(fh), FopenFlags::FOPEN_DIRECT_IO);
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let handles = self.handles.lock().unwrap();
        match handles.get(&u64::from(fh)) {
            Some(Handle::Read(b)) => {
                let start = (offset as usize).min(b.len());
                let end = (start + size as usize).min(b.len());
                reply.data(&b[start..end]);
            }
            _ => reply.error(FuseErrno::EBADF),
        }
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let path = match self.handles.lock().unwrap().get(&u64::from(fh)) {
            Some(Handle::Write(p)) => p.clone(),
            _ => return reply.error(FuseErrno::EBADF),
        };
        let Ok(text) = std::str::from_utf8(data) else {
            return reply.error(FuseErrno::EINVAL);
        };
        let text = text.to_string();
        let len = data.len() as u32;
        // Each write(2) is one store, as kernfs_fop_write_iter() calls the
        // attribute's store once per write.
        let r = self.sim.call(move |m, c| {
            if path == CONTROL {
                control_write(m, c, &text).map_err(|(e, msg)| {
                    eprintln!("numasim: {CONTROL}: {msg}");
                    e.code()
                })
            } else {
                procfs::write(m, &path, &text).map_err(|e| e.errno.code())
            }
        });
        match r {
            Some(Ok(())) => reply.written(len),
            Some(Err(code)) => reply.error(errno(code)),
            None => reply.error(FuseErrno::EIO),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.handles.lock().unwrap().remove(&u64::from(fh));
        reply.ok();
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let Some(dir) = self.path_of(ino) else {
            return reply.error(FuseErrno::ENOENT);
        };
        let entries = match self.entries(&dir) {
            Ok(e) => e,
            Err(e) => return reply.error(e),
        };
        let parent = match dir.rsplit_once('/') {
            Some(("", _)) | None => "/".to_string(),
            Some((p, _)) => p.to_string(),
        };
        let mut all: Vec<(u64, FileType, String)> = Vec::with_capacity(entries.len() + 2);
        {
            let mut inodes = self.inodes.lock().unwrap();
            all.push((u64::from(ino), FileType::Directory, ".".into()));
            all.push((inodes.ino(&parent), FileType::Directory, "..".into()));
            for (name, k) in entries {
                let i = inodes.ino(&child(&dir, &name));
                let t = match k {
                    Kind::Dir => FileType::Directory,
                    Kind::File(..) => FileType::RegularFile,
                };
                all.push((i, t, name));
            }
        }
        for (i, (ino, t, name)) in all.into_iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(ino), (i + 1) as u64, t, name) {
                break;
            }
        }
        reply.ok();
    }
}

static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALLED.store(true, Ordering::SeqCst);
}

fn catch_signals() {
    let h = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, h);
        libc::signal(libc::SIGTERM, h);
        libc::signal(libc::SIGHUP, h);
    }
}

/// A mounted tree with its simulation.
struct Mounted {
    session: fuser::BackgroundSession,
    sim_thread: std::thread::JoinHandle<()>,
    quit: mpsc::Sender<Job>,
}

fn mount_at(dir: &Path, o: &RunOpts) -> Result<Mounted> {
    let (sim, sim_thread) = start_sim(o)?;
    let quit = sim.tx.lock().unwrap().clone();
    let mut inodes = Inodes {
        by_path: HashMap::new(),
        paths: Vec::new(),
    };
    inodes.ino("/");
    let fs = SimFs {
        sim,
        inodes: Mutex::new(inodes),
        handles: Mutex::new(HashMap::new()),
        next_fh: AtomicU64::new(1),
        // SAFETY: getuid/getgid cannot fail.
        uid: unsafe { libc::getuid() },
        gid: unsafe { libc::getgid() },
        born: SystemTime::now(),
    };
    let mut cfg = fuser::Config::default();
    cfg.mount_options = vec![
        MountOption::FSName("numasim".into()),
        MountOption::Subtype("numasim".into()),
        MountOption::NoExec,
        MountOption::NoSuid,
        MountOption::NoDev,
    ];
    cfg.n_threads = Some(2);
    let session = fuser::spawn_mount(fs, dir, &cfg).with_context(|| {
        format!(
            "mounting FUSE on {} (needs /dev/fuse and either root or fusermount3 from the `fuse3` package)",
            dir.display()
        )
    })?;
    Ok(Mounted {
        session,
        sim_thread,
        quit,
    })
}

impl Mounted {
    /// Unmounts (if still mounted) and stops the simulation, bringing a
    /// device's state home first.
    fn finish(self) -> Result<()> {
        let done = self.session.guard.is_finished();
        let r = if done {
            self.session.join()
        } else {
            self.session.umount_and_join()
        };
        let _ = self.quit.send(Box::new(|_, c| c.quit = true));
        let _ = self.sim_thread.join();
        r.context("unmounting")
    }
}

pub fn cmd_mount(dir: PathBuf, o: RunOpts) -> Result<()> {
    let md = std::fs::metadata(&dir).with_context(|| format!("{}", dir.display()))?;
    if !md.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    catch_signals();
    let mounted = mount_at(&dir, &o)?;
    eprintln!(
        "numasim: serving {0}/proc and {0}/sys ({1}); steer it with `echo 'tick 100' > {0}{CONTROL}` (pause, run [RATE], checkpoint); Ctrl-C or `fusermount3 -u {0}` unmounts",
        dir.display(),
        if o.paused { "paused".to_string() } else { format!("{} ticks/s", o.rate) }
    );
    while !SIGNALLED.load(Ordering::SeqCst) && !mounted.session.guard.is_finished() {
        std::thread::sleep(Duration::from_millis(100));
    }
    mounted.finish()?;
    eprintln!("numasim: unmounted {}", dir.display());
    Ok(())
}

/// What `exec` lays over the host's tree: files and directories the tools
/// read. A target the host lacks is skipped with a note.
const EXEC_BINDS: &[&str] = &[
    "/proc/meminfo",
    "/proc/buddyinfo",
    "/proc/pagetypeinfo",
    "/proc/vmstat",
    "/proc/zoneinfo",
    "/proc/stat",
    "/proc/cpuinfo",
    "/proc/uptime",
    "/proc/sys/vm",
    "/sys/devices/system/node",
    "/sys/devices/system/cpu",
    "/sys/devices/system/memory",
    "/sys/kernel/mm/hugepages",
];

fn os_err(what: &str) -> anyhow::Error {
    anyhow::anyhow!("{what}: {}", std::io::Error::last_os_error())
}

/// Enters a private mount namespace: as root, or in a new user namespace
/// mapping the caller to root. Must run before any thread starts
/// (unshare(2) applies to the calling thread; CLONE_NEWUSER refuses a
/// multithreaded caller).
fn private_namespace() -> Result<()> {
    // SAFETY: plain syscalls on this process.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            let root_err = std::io::Error::last_os_error();
            let (uid, gid) = (libc::getuid(), libc::getgid());
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) != 0 {
                bail!(
                    "numasim exec needs root (CAP_SYS_ADMIN for a private mount namespace: {root_err}) or unprivileged user namespaces (unshare(CLONE_NEWUSER): {}; see /proc/sys/user/max_user_namespaces and kernel.unprivileged_userns_clone)",
                    std::io::Error::last_os_error()
                );
            }
            let _ = std::fs::write("/proc/self/setgroups", "deny");
            std::fs::write("/proc/self/uid_map", format!("0 {uid} 1"))
                .context("writing /proc/self/uid_map")?;
            std::fs::write("/proc/self/gid_map", format!("0 {gid} 1"))
                .context("writing /proc/self/gid_map")?;
        }
        // Nothing mounted here propagates back to the host.
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return Err(os_err("making / private in the new mount namespace"));
        }
    }
    Ok(())
}

fn bind(src: &Path, dst: &str) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let s = std::ffi::CString::new(src.as_os_str().as_bytes())?;
    let d = std::ffi::CString::new(dst)?;
    // SAFETY: valid C strings; a bind mount in our private namespace.
    let r = unsafe {
        libc::mount(
            s.as_ptr(),
            d.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(os_err(&format!("bind-mounting {} on {dst}", src.display())));
    }
    Ok(())
}

pub fn cmd_exec(o: RunOpts, cmd: Vec<String>) -> Result<()> {
    let Some((prog, args)) = cmd.split_first() else {
        bail!("numasim exec: no command after `--`");
    };
    private_namespace()?;
    let dir = std::env::temp_dir().join(format!("numasim-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let mounted = match mount_at(&dir, &o) {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir(&dir);
            return Err(e);
        }
    };
    let mut status = Err(anyhow::anyhow!("not started"));
    let mut bound = true;
    for t in EXEC_BINDS {
        if !Path::new(t).exists() {
            eprintln!("numasim exec: the host has no {t}; left as it is");
            continue;
        }
        let src = dir.join(t.trim_start_matches('/'));
        if let Err(e) = bind(&src, t) {
            status = Err(e);
            bound = false;
            break;
        }
    }
    if bound {
        // NUMASIM_ROOT names the whole tree for tools that take a root,
        // e.g. `HWLOC_FSROOT=$NUMASIM_ROOT lstopo-no-graphics`.
        let mut c = std::process::Command::new(prog);
        c.args(args).env("NUMASIM_ROOT", &dir);
        // hwloc's x86 backend reads the host's CPUID, which describes the
        // host's CPUs and caches, not the simulated ones: off unless the
        // caller chose hwloc's components.
        if std::env::var_os("HWLOC_COMPONENTS").is_none() {
            c.env("HWLOC_COMPONENTS", "-x86");
        }
        status = c.status().with_context(|| format!("running {prog}"));
    }
    // The binds go with the namespace when this process exits; the FUSE
    // mount is taken down here so the simulation stops cleanly.
    for t in EXEC_BINDS.iter().rev() {
        let d = std::ffi::CString::new(*t)?;
        // SAFETY: unmounting our own bind (lazily, in case a child holds it).
        unsafe { libc::umount2(d.as_ptr(), libc::MNT_DETACH) };
    }
    let fin = mounted.finish();
    let _ = std::fs::remove_dir(&dir);
    let status = status?;
    fin?;
    std::process::exit(status.code().unwrap_or(128 + 9));
}
