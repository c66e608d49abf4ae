//! `numasim shell`: the command language from a file or standard input.

use super::load;
use anyhow::{bail, Context, Result};
use numasim::engine::BackendChoice;
use numasim::kernel::Machine;
use numasim::procfs::shell;
use std::io::{BufRead, IsTerminal, Write};

pub fn cmd_shell(
    script: Option<std::path::PathBuf>,
    scenario: &str,
    seed: Option<u64>,
    backend: BackendChoice,
) -> Result<()> {
    let s = load(scenario)?;
    let (mut m, why) = Machine::boot_on(s, seed, backend).context("booting the machine")?;
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
