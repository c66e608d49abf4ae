//! The lock validator's files: /proc/lockdep, /proc/lockdep_chains,
//! /proc/lockdep_stats (kernel/locking/lockdep_proc.c), /proc/lock_stat
//! (read, and `echo 0` to clear), the kernel log as /dev/kmsg, and the
//! lock-order variants under /sys/kernel/debug/numasim/variants/.

use super::{fs_err, At, Errno, File, FsError};
use crate::kernel::klog::Level;
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

/// The lock validator's rows of the table.
pub fn files() -> Vec<File> {
    let mut v = vec![
        File::ro("/sys/kernel/debug/numasim/zone_lock", |m, at| {
            zone_lock_table(m).map_err(|e| at.machine_err(e))
        }),
        // kernel/locking/lockdep_proc.c: proc_create_seq(.., S_IRUSR, ..).
        File::ro("/proc/lockdep", |m, _| Ok(m.lockdep.proc_lockdep())).mode(0o400),
        File::ro("/proc/lockdep_chains", |m, _| {
            Ok(m.lockdep.proc_lockdep_chains())
        })
        .mode(0o400),
        File::ro("/proc/lockdep_stats", |m, _| {
            Ok(m.lockdep.proc_lockdep_stats())
        })
        .mode(0o400),
        // proc_create("lock_stat", S_IRUSR | S_IWUSR, ..); lock_stat_write():
        // a leading '0' clears every class, anything else is accepted and
        // ignored.
        File::rw(
            "/proc/lock_stat",
            |m, at| {
                let c = m.lock_stat_classes().map_err(|e| at.machine_err(e))?;
                Ok(crate::kernel::lockdep::stat::lock_stat_file(
                    &c,
                    m.lockdep.debug_locks,
                ))
            },
            |m, _, v| {
                if v.starts_with('0') {
                    m.clear_lock_stat();
                }
                Ok(())
            },
        )
        .mode(0o600),
        // devkmsg_write(): a write is one record; a leading `<N>` sets its
        // level (the model keeps levels 3 to 6; others log at the default,
        // 4).
        File::rw(
            "/dev/kmsg",
            |m, _| Ok(m.klog.kmsg()),
            |m, _, v| {
                let (level, text) = kmsg_level(v);
                let now = m.now_ns();
                m.klog.printk(level, now, text);
                Ok(())
            },
        ),
    ];
    for (n, _) in VARIANTS {
        v.push(File::rw(
            format!("/sys/kernel/debug/numasim/variants/{n}"),
            |m, at| {
                let on = m.lockdep.variants.flag_mut(at.name()).is_some_and(|b| *b);
                Ok(format!("{}\n", on as u8))
            },
            |m, at, v| {
                // debugfs_write_file_bool(): kstrtobool.
                let x = kstrtobool(at, v)?;
                if let Some(b) = m.lockdep.variants.flag_mut(at.name()) {
                    *b = x;
                }
                Ok(())
            },
        ));
    }
    v
}

/// A `/dev/kmsg` write's level prefix.
fn kmsg_level(v: &str) -> (Level, &str) {
    if let Some(rest) = v.strip_prefix('<') {
        if let Some((n, text)) = rest.split_once('>') {
            let level = match n.parse::<u32>().map(|x| x & 7) {
                Ok(0..=3) => Level::Err,
                Ok(5) => Level::Notice,
                Ok(6 | 7) => Level::Info,
                _ => Level::Warning,
            };
            return (level, text);
        }
    }
    (Level::Warning, v)
}

/// A debugfs bool or switch file's write (`debugfs_write_file_bool()`):
/// `kstrtobool()`, EINVAL for anything else.
pub fn kstrtobool(at: &At, v: &str) -> Result<bool, FsError> {
    parse_bool(v).ok_or_else(|| {
        fs_err(
            at.path,
            Errno::EINVAL,
            format!("`{v}`: expected 0/1, y/n or on/off"),
        )
    })
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
