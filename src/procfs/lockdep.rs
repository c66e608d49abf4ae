//! The lock validator's files: /proc/lockdep, /proc/lockdep_chains,
//! /proc/lockdep_stats (kernel/locking/lockdep_proc.c), /proc/lock_stat
//! (read, and `echo 0` to clear), the kernel log as /dev/kmsg, and the
//! lock-order variants under /sys/kernel/debug/numasim/variants/.

use super::{fs_err, Errno, FsError};
use crate::kernel::Machine;

/// The variant switches: (file name, what it changes).
pub const VARIANTS: [(&str, &str); 3] = [
    (
        "vmemmap_alloc_under_hugetlb_lock",
        "the vmemmap restore allocation (GFP_KERNEL) made under hugetlb_lock",
    ),
    (
        "migrate_target_under_folio_lock",
        "the migration target allocated after the source folio is locked",
    ),
    (
        "report_under_zone_lock",
        "free page reporting's report() (which sleeps) called under zone->lock",
    ),
];

const FILES: [&str; 6] = [
    "/sys/kernel/debug/numasim/zone_lock",
    "/proc/lockdep",
    "/proc/lockdep_chains",
    "/proc/lockdep_stats",
    "/proc/lock_stat",
    "/dev/kmsg",
];

pub fn list_files(v: &mut Vec<String>) {
    v.extend(FILES.iter().map(|s| s.to_string()));
    for (n, _) in VARIANTS {
        v.push(format!("/sys/kernel/debug/numasim/variants/{n}"));
    }
}

pub fn read(m: &mut Machine, path: &str) -> Option<Result<String, FsError>> {
    if let Some(n) = path.strip_prefix("/sys/kernel/debug/numasim/variants/") {
        let on = *m.lockdep.variants.flag_mut(n)?;
        return Some(Ok(format!("{}\n", on as u8)));
    }
    Some(Ok(match path {
        "/proc/lockdep" => m.lockdep.proc_lockdep(),
        "/proc/lockdep_chains" => m.lockdep.proc_lockdep_chains(),
        "/proc/lockdep_stats" => m.lockdep.proc_lockdep_stats(),
        "/proc/lock_stat" => match m.lock_stat_classes() {
            Ok(c) => crate::kernel::lockdep::stat::lock_stat_file(&c, m.lockdep.debug_locks),
            Err(e) => return Some(Err(fs_err(path, e.errno(), e.to_string()))),
        },
        "/dev/kmsg" => m.klog.kmsg(),
        "/sys/kernel/debug/numasim/zone_lock" => match zone_lock_table(m) {
            Ok(s) => s,
            Err(e) => return Some(Err(fs_err(path, e.errno(), e.to_string()))),
        },
        _ => return None,
    }))
}

pub fn write(m: &mut Machine, path: &str, v: &str) -> Option<Result<(), FsError>> {
    if let Some(n) = path.strip_prefix("/sys/kernel/debug/numasim/variants/") {
        let b = m.lockdep.variants.flag_mut(n)?;
        // debugfs_write_file_bool(): kstrtobool.
        return Some(match parse_bool(v) {
            Some(x) => {
                *b = x;
                Ok(())
            }
            None => Err(fs_err(
                path,
                Errno::EINVAL,
                format!("`{v}`: expected 0/1, y/n or on/off"),
            )),
        });
    }
    match path {
        // lock_stat_write(): a leading '0' clears every class; anything
        // else is accepted and ignored.
        "/proc/lock_stat" => {
            if v.starts_with('0') {
                m.clear_lock_stat();
            }
            Some(Ok(()))
        }
        "/proc/lockdep" | "/proc/lockdep_chains" | "/proc/lockdep_stats" => {
            Some(Err(fs_err(path, Errno::EACCES, "read-only file")))
        }
        _ => None,
    }
}

/// `kstrtobool()`: 1/y/Y/t/T/on, 0/n/N/f/F/off.
pub fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    match s.as_bytes().first()? {
        b'1' | b'y' | b'Y' | b't' | b'T' => Some(true),
        b'0' | b'n' | b'N' | b'f' | b'F' => Some(false),
        b'o' | b'O' => match s.as_bytes().get(1) {
            Some(b'n' | b'N') => Some(true),
            Some(b'f' | b'F') => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// /sys/kernel/debug/numasim/zone_lock: the tick's zone->lock per zone
/// (lock_stat has one line for the class; this splits it), times in ns.
fn zone_lock_table(m: &mut Machine) -> Result<String, crate::kernel::MachineError> {
    let zones = m.zone_lock_stats()?;
    let topo = m.scenario.topology.clone();
    let cfg = m.config().lock_cfg.clone();
    let mut s = format!(
        "{:<5} {:<5} {:<8} {:>6} {:>6} {:>12} {:>12} {:>14} {:>10} {:>14} {:>10} {:>12} {:>10} {:>10} {:>10} {:>10}\n",
        "zone", "node", "type", "batch", "high", "acquisitions", "contentions", "wait_total_ns",
        "wait_max", "hold_total_ns", "hold_max", "acq_bounces", "con_drain", "con_thp", "con_block", "con_refill"
    );
    for (z, st) in zones.iter().enumerate() {
        let st = st.clone().unwrap_or_default();
        let pt = |i: usize| st.points.get(i).map(|p| p.1).unwrap_or(0);
        let zd = &topo.zones[z];
        s += &format!(
            "{:<5} {:<5} {:<8} {:>6} {:>6} {:>12} {:>12} {:>14} {:>10} {:>14} {:>10} {:>12} {:>10} {:>10} {:>10} {:>10}\n",
            z,
            zd.node,
            zd.zone_type.name(),
            cfg[crate::engine::types::LC_ZONE + 2 * z],
            cfg[crate::engine::types::LC_ZONE + 2 * z + 1],
            st.write_hold.nr,
            st.write_wait.nr,
            st.write_wait.total,
            st.write_wait.max,
            st.write_hold.total,
            st.write_hold.max,
            st.acq_bounces_write,
            pt(1),
            pt(2),
            pt(3),
            pt(0),
        );
    }
    Ok(s)
}
