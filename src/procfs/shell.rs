//! The command language: the same commands in a script, on standard input,
//! in the dashboard console and in the browser.
//!
//! ```text
//! # a comment
//! cat /proc/buddyinfo
//! echo 20 > /proc/sys/vm/watermark_scale_factor
//! tick 500
//! spawn db cpu=3 workload=mixed policy=interleave:0-1 scale=2
//! stop db
//! tasks | check | digest | ls [DIR] | help
//! ```

use super::{list_dir, read, write};
use crate::kernel::Machine;
use crate::model::workload::Mempolicy;

/// A command that could not run: the line and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{source_name}:{line}: {message}")]
pub struct ShellError {
    pub source_name: String,
    pub line: usize,
    pub message: String,
}

pub const HELP: &str = "\
commands:
  cat PATH...                      print virtual files (/proc, /sys)
  echo VALUE > PATH                write a tunable
  ls [DIR]                         list a directory of the virtual tree
  tick [N]                         advance N ticks (default 1)
  spawn NAME cpu=N workload=W [policy=P] [scale=F]
                                   start a task; P is local, bind:NODES,
                                   preferred:NODE, interleave:NODES or
                                   weighted:NODES (NODES like 0-2,4)
  stop NAME                        stop a task (its memory is freed)
  map NAME task=T pages=N [size=2M|1G] [shared|private] [noreserve]
                                   map N huge pages for task T; both kinds
                                   reserve at map time unless noreserve
                                   (MAP_NORESERVE)
  touch NAME [N]                   fault the next N (default all) pages of
                                   a mapping, on the task's mempolicy nodes
  unmap NAME                       unmap (a shared mapping's file goes too)
  migrate TASK NODE                migrate the task's huge pages to NODE
  move TASK CPULIST                run the task's threads on these CPUs
                                   (thread i on the i-th, the list repeated);
                                   its memory stays until NUMA balancing
                                   (kernel.numa_balancing) moves it
  dmesg [-C]                       print (or clear) the kernel log
  tasks                            list tasks
  check                            run the invariant checker
  digest                           print the state digest
  help                             this text
  # ...                            a comment
";

/// Runs one line. Returns the text it prints.
pub fn exec_line(m: &mut Machine, line: &str) -> Result<String, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(String::new());
    }
    let mut words = line.split_whitespace();
    let cmd = words.next().unwrap_or("");
    let args: Vec<&str> = words.collect();
    match cmd {
        "cat" => {
            if args.is_empty() {
                return Err("cat: expected a path, as in `cat /proc/buddyinfo`".into());
            }
            let mut out = String::new();
            for p in args {
                out += &read(m, p).map_err(|e| format!("cat: {e}"))?;
            }
            Ok(out)
        }
        "echo" => {
            let rest = line["echo".len()..].trim_start();
            let Some((value, path)) = rest.split_once('>') else {
                return Err("echo: expected `echo VALUE > PATH`".into());
            };
            let path = path.trim_start_matches('>').trim();
            if path.is_empty() || path.contains(char::is_whitespace) {
                return Err(format!("echo: expected one path after `>`, got `{path}`"));
            }
            write(m, path, value.trim()).map_err(|e| format!("echo: write error: {e}"))?;
            Ok(String::new())
        }
        "dmesg" => match args.as_slice() {
            [] => Ok(m.klog.dmesg()),
            ["-C"] | ["--clear"] => {
                m.klog.clear();
                Ok(String::new())
            }
            _ => Err("dmesg: expected `dmesg` or `dmesg -C`".into()),
        },
        "ls" => {
            let dir = args.first().copied().unwrap_or("/");
            let entries = list_dir(m, dir).map_err(|e| format!("ls: {e}"))?;
            Ok(entries.join("\n") + "\n")
        }
        "tick" => {
            let n: u64 = match args.as_slice() {
                [] => 1,
                [n] => n
                    .parse()
                    .map_err(|_| format!("tick: `{n}` is not a number of ticks"))?,
                _ => return Err("tick: expected `tick [N]`".into()),
            };
            m.advance(n).map_err(|e| format!("tick: {e}"))?;
            Ok(String::new())
        }
        "spawn" => {
            let Some((&name, kv)) = args.split_first() else {
                return Err(
                    "spawn: expected `spawn NAME cpu=N workload=W [policy=P] [scale=F]`".into(),
                );
            };
            if name.contains('=') {
                return Err(format!("spawn: expected a task name first, got `{name}`"));
            }
            let (mut cpu, mut workload, mut policy, mut scale) =
                (None, None, Mempolicy::Local, 1.0f64);
            for a in kv {
                let (k, v) = a
                    .split_once('=')
                    .ok_or_else(|| format!("spawn: expected KEY=VALUE, got `{a}`"))?;
                match k {
                    "cpu" => {
                        cpu = Some(
                            v.parse::<u32>()
                                .map_err(|_| format!("spawn: cpu=`{v}` is not a CPU number"))?,
                        )
                    }
                    "workload" => workload = Some(v.to_string()),
                    "policy" => policy = Mempolicy::parse(v).map_err(|e| format!("spawn: {e}"))?,
                    "scale" => {
                        scale = v
                            .parse()
                            .map_err(|_| format!("spawn: scale=`{v}` is not a number"))?
                    }
                    _ => {
                        return Err(format!(
                            "spawn: unknown key `{k}` (expected cpu, workload, policy, scale)"
                        ))
                    }
                }
            }
            let cpu = cpu.ok_or("spawn: missing cpu=N")?;
            let workload = workload.ok_or("spawn: missing workload=W")?;
            let now = m.tick;
            m.spawn(name, cpu, &workload, policy, scale, now, None)
                .map_err(|e| format!("spawn: {e}"))?;
            Ok(String::new())
        }
        "stop" => match args.as_slice() {
            [name] => m
                .stop(name)
                .map(|_| String::new())
                .map_err(|e| format!("stop: {e}")),
            _ => Err("stop: expected `stop NAME`".into()),
        },
        "map" => {
            let usage =
                "map: expected `map NAME task=T pages=N [size=2M|1G] [shared|private] [noreserve]`";
            let Some((&name, kv)) = args.split_first() else {
                return Err(usage.into());
            };
            if name.contains('=') {
                return Err(format!("map: expected a mapping name first, got `{name}`"));
            }
            let (mut task, mut pages, mut hs, mut shared, mut noreserve) =
                (None, None, crate::kernel::hugetlb::HS_2M, false, false);
            for a in kv {
                match a.split_once('=') {
                    Some(("task", v)) => task = Some(v.to_string()),
                    Some(("pages", v)) => {
                        pages =
                            Some(v.parse::<u64>().map_err(|_| {
                                format!("map: pages=`{v}` is not a number of pages")
                            })?)
                    }
                    Some(("size", v)) => {
                        hs = match v {
                            "2M" | "2m" | "2048kB" => crate::kernel::hugetlb::HS_2M,
                            "1G" | "1g" | "1048576kB" => crate::kernel::hugetlb::HS_1G,
                            _ => return Err(format!("map: size=`{v}`: expected 2M or 1G")),
                        }
                    }
                    None if *a == "shared" => shared = true,
                    None if *a == "private" => shared = false,
                    None if *a == "noreserve" => noreserve = true,
                    _ => return Err(format!("map: unknown argument `{a}`; {}", &usage[5..])),
                }
            }
            let task = task.ok_or("map: missing task=T")?;
            let pages = pages.ok_or("map: missing pages=N")?;
            m.hugetlb_map(name, &task, hs, pages, shared, noreserve)
                .map(|_| String::new())
                .map_err(|e| format!("map: {e}"))
        }
        "touch" => {
            let (name, n) = match args.as_slice() {
                [name] => (*name, None),
                [name, n] => (
                    *name,
                    Some(
                        n.parse::<u64>()
                            .map_err(|_| format!("touch: `{n}` is not a number of pages"))?,
                    ),
                ),
                _ => return Err("touch: expected `touch NAME [N]`".into()),
            };
            m.hugetlb_touch(name, n)
                .map(|_| String::new())
                .map_err(|e| format!("touch: {e}"))
        }
        "unmap" => match args.as_slice() {
            [name] => m
                .hugetlb_unmap(name)
                .map(|_| String::new())
                .map_err(|e| format!("unmap: {e}")),
            _ => Err("unmap: expected `unmap NAME`".into()),
        },
        "migrate" => match args.as_slice() {
            [task, node] => {
                let node: u32 = node
                    .parse()
                    .map_err(|_| format!("migrate: `{node}` is not a node number"))?;
                let (ok, failed) = m
                    .hugetlb_migrate(task, node)
                    .map_err(|e| format!("migrate: {e}"))?;
                Ok(format!(
                    "migrated {ok} huge pages to node {node}, {failed} failed\n"
                ))
            }
            _ => Err("migrate: expected `migrate TASK NODE`".into()),
        },
        "tasks" => read(m, "/sys/kernel/debug/numasim/tasks").map_err(|e| e.to_string()),
        "move" => match args.as_slice() {
            [name, cpus] => {
                let list = crate::model::workload::parse_nodelist(cpus)
                    .map_err(|e| format!("move: {e}"))?;
                m.move_task(name, &list)
                    .map(|_| String::new())
                    .map_err(|e| format!("move: {e}"))
            }
            _ => Err("move: expected `move TASK CPULIST` (thread i goes to the i-th CPU)".into()),
        },
        "check" => m
            .check()
            .map(|_| format!("invariants hold at tick {}\n", m.tick))
            .map_err(|e| format!("check: {e}")),
        "digest" => m
            .digest()
            .map(|d| format!("{d:016x}\n"))
            .map_err(|e| format!("digest: {e}")),
        "help" => Ok(HELP.to_string()),
        _ => Err(format!("unknown command `{cmd}` (try `help`)")),
    }
}

/// Runs the scenario's `setup` commands (if any), naming the scenario
/// file and line of a command that fails.
pub fn run_setup(m: &mut Machine, out: &mut dyn std::io::Write) -> Result<(), ShellError> {
    let Some((text, first)) = m.scenario.setup.clone() else {
        return Ok(());
    };
    let source = m.scenario.source.clone();
    run_script_from(m, &text, &source, first, out)
}

/// Runs a script, writing each command's output to `out`. Stops at the
/// first error, naming the line.
pub fn run_script(
    m: &mut Machine,
    text: &str,
    source_name: &str,
    out: &mut dyn std::io::Write,
) -> Result<(), ShellError> {
    run_script_from(m, text, source_name, 1, out)
}

/// `run_script` for text whose first line is line `first` of its file.
pub fn run_script_from(
    m: &mut Machine,
    text: &str,
    source_name: &str,
    first: usize,
    out: &mut dyn std::io::Write,
) -> Result<(), ShellError> {
    for (i, line) in text.lines().enumerate() {
        match exec_line(m, line) {
            Ok(s) => {
                let _ = out.write_all(s.as_bytes());
            }
            Err(message) => {
                return Err(ShellError {
                    source_name: source_name.to_string(),
                    line: i + first,
                    message,
                })
            }
        }
    }
    Ok(())
}
