//! NUMA balancing's control side: the tunables with the kernel's write
//! checks, what the machine keeps of them, and the TLB flush cost of a
//! hint fault per PMD/PTE restore order (`tlb`). The rules the tick runs
//! (scan period, filter, room) are in `model::numa`, shared by both
//! backends; the tick's phases are `numa_task`, `numa_scan`, `numa_list`,
//! `numa_collect` and `numa_migrate` (shaders/tick/), with migrations
//! through `plan` and `alloc_split`.

pub mod machine;
pub mod paths;
pub mod tlb;

pub use machine::TaskNuma;

use super::errno::{err, Errno, KernelError};
use super::parse_integer_fixup_radix;

/// `kernel.numa_balancing` (sysctl_numa_balancing_mode): bit 0
/// NUMA_BALANCING_NORMAL, bit 1 NUMA_BALANCING_MEMORY_TIERING.
pub const NUMA_BALANCING_NORMAL: u32 = 0x1;
pub const NUMA_BALANCING_MEMORY_TIERING: u32 = 0x2;

/// The tunables: the sysctl and /sys/kernel/debug/sched/numa_balancing/*
/// (kernel/sched/debug.c creates them with debugfs_create_u32()).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// sysctl_numa_balancing_mode, 0..=4 as written.
    pub mode: u32,
    /// sysctl_numa_balancing_scan_delay (ms).
    pub scan_delay_ms: u32,
    /// sysctl_numa_balancing_scan_period_min (ms).
    pub scan_period_min_ms: u32,
    /// sysctl_numa_balancing_scan_period_max (ms).
    pub scan_period_max_ms: u32,
    /// sysctl_numa_balancing_scan_size (MB).
    pub scan_size_mb: u32,
}

impl Default for Settings {
    /// kernel/sched/fair.c's initial values; the mode is off, as on a
    /// kernel built with CONFIG_NUMA_BALANCING_DEFAULT_ENABLED=n or booted
    /// with numa_balancing=disable (Debian enables it on multi-node
    /// machines at boot: `check_numabalancing_enable()`; a scenario turns
    /// it on explicitly).
    fn default() -> Settings {
        Settings {
            mode: 0,
            scan_delay_ms: 1000,
            scan_period_min_ms: 1000,
            scan_period_max_ms: 60000,
            scan_size_mb: 256,
        }
    }
}

impl Settings {
    /// `__set_numabalancing_state()`: any non-zero mode enables the
    /// sched_numa_balancing static key.
    pub fn enabled(&self) -> bool {
        self.mode != 0
    }
    /// NUMA_BALANCING_MEMORY_TIERING is set (modes 2 and 3).
    pub fn tiering(&self) -> bool {
        self.mode & NUMA_BALANCING_MEMORY_TIERING != 0
    }
    /// The debugfs tunables as the tick's rules take them.
    pub fn tunables(&self) -> crate::model::numa::Tunables {
        crate::model::numa::Tunables {
            scan_delay_ms: self.scan_delay_ms,
            scan_period_min_ms: self.scan_period_min_ms,
            scan_period_max_ms: self.scan_period_max_ms,
            scan_size_mb: self.scan_size_mb,
        }
    }
}

/// What the machine keeps of NUMA balancing: the tunables as written, the
/// tiering issue's `hot_threshold_ms` (in the same debugfs directory since
/// 6.0) and the PTE/PMD restore order of a hint fault (a variant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Balancing {
    pub settings: Settings,
    /// sysctl_numa_balancing_hot_threshold (ms), default
    /// MSEC_PER_SEC (kernel/sched/fair.c).
    pub hot_threshold_ms: u32,
    pub restore: tlb::RestoreOrder,
}

impl Default for Balancing {
    fn default() -> Balancing {
        Balancing {
            settings: Settings::default(),
            hot_threshold_ms: 1000,
            restore: tlb::RestoreOrder::Lazy,
        }
    }
}

/// The files of /sys/kernel/debug/sched/numa_balancing/, in `ls` order,
/// as kernel/sched/debug.c's sched_init_debug() creates them (0644
/// debugfs_create_u32()).
pub const DEBUGFS_FILES: [&str; 5] = [
    "hot_threshold_ms",
    "scan_delay_ms",
    "scan_period_max_ms",
    "scan_period_min_ms",
    "scan_size_mb",
];

impl Balancing {
    /// The settings a machine's `numa_cfg` holds (a machine restored from
    /// its buffers); `hot_threshold_ms` and anything not stored come from
    /// `base`.
    pub fn from_cfg(cfg: &[u32], base: Balancing) -> Balancing {
        use crate::engine::types::*;
        let restore = tlb::RestoreOrder::ALL
            .into_iter()
            .find(|o| o.code() == cfg[NC_RESTORE])
            .unwrap_or(base.restore);
        Balancing {
            settings: Settings {
                mode: cfg[NC_MODE],
                scan_delay_ms: cfg[NC_SCAN_DELAY_MS],
                scan_period_min_ms: cfg[NC_SCAN_PERIOD_MIN_MS],
                scan_period_max_ms: cfg[NC_SCAN_PERIOD_MAX_MS],
                scan_size_mb: cfg[NC_SCAN_SIZE_MB],
            },
            hot_threshold_ms: cfg[NC_HOT_THRESHOLD_MS],
            restore,
        }
    }

    /// A scenario's `[numa]`.
    pub fn from_scenario(s: &crate::model::numa::NumaScenario) -> Balancing {
        let t = s.tunables;
        Balancing {
            settings: Settings {
                mode: s.mode,
                scan_delay_ms: t.scan_delay_ms,
                scan_period_min_ms: t.scan_period_min_ms,
                scan_period_max_ms: t.scan_period_max_ms,
                scan_size_mb: t.scan_size_mb,
            },
            hot_threshold_ms: s.hot_threshold_ms,
            restore: tlb::RestoreOrder::ALL
                .into_iter()
                .find(|o| o.code() == s.restore)
                .unwrap_or(tlb::RestoreOrder::Lazy),
        }
    }

    /// The u32 behind one debugfs file.
    pub fn debugfs_mut(&mut self, name: &str) -> Option<&mut u32> {
        let s = &mut self.settings;
        Some(match name {
            "hot_threshold_ms" => &mut self.hot_threshold_ms,
            "scan_delay_ms" => &mut s.scan_delay_ms,
            "scan_period_max_ms" => &mut s.scan_period_max_ms,
            "scan_period_min_ms" => &mut s.scan_period_min_ms,
            "scan_size_mb" => &mut s.scan_size_mb,
            _ => return None,
        })
    }

    pub fn debugfs(&self, name: &str) -> Option<u32> {
        let mut c = *self;
        c.debugfs_mut(name).map(|v| *v)
    }
}

/// A write to `/proc/sys/kernel/numa_balancing` (sysctl_numa_balancing()
/// in kernel/sched/core.c): `proc_dointvec_minmax()` with extra1
/// SYSCTL_ZERO and extra2 SYSCTL_FOUR. The value has had its surrounding
/// whitespace trimmed. Leading spaces, an optional `-`, then an integer in
/// base 0 (decimal, 0x hex, 0 octal) that must be followed by whitespace
/// or the end; later values are ignored (the table holds one int). Every
/// refusal is EINVAL, including an empty line (`echo > numa_balancing`
/// writes "\n", and `__do_proc_dointvec()` returns EINVAL when no value
/// was read).
pub fn parse_numa_balancing(v: &str) -> Result<u32, KernelError> {
    let first = v.split_whitespace().next().unwrap_or("");
    let (neg, digits) = match first.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, first),
    };
    let x = parse_ul_base0(digits).ok_or_else(|| {
        KernelError::new(
            Errno::EINVAL,
            format!("`{first}` is not an integer (expected 0..=4)"),
        )
    })?;
    if neg && x != 0 || x > 4 {
        return err(
            Errno::EINVAL,
            format!("{first} is outside 0..=4 (SYSCTL_ZERO..SYSCTL_FOUR)"),
        );
    }
    Ok(x as u32)
}

/// A write to one of the u32 debugfs files (`debugfs_attr_write()` →
/// `simple_attr_write()`: `kstrtoull(buf, 0, ..)`, then
/// `debugfs_u32_set()` stores the low 32 bits). A leading `+` is allowed;
/// a `-`, trailing garbage or an empty line is EINVAL; a number past u64
/// is ERANGE (`_kstrtoull()`'s overflow check).
pub fn parse_debugfs_u32(v: &str) -> Result<u32, KernelError> {
    let s = v.strip_prefix('+').unwrap_or(v);
    let digits = base0_digits(s).ok_or_else(|| {
        KernelError::new(Errno::EINVAL, format!("`{v}` is not an unsigned integer"))
    })?;
    match u64::from_str_radix(digits.1, digits.0) {
        Ok(x) => Ok(x as u32),
        Err(_) => err(Errno::ERANGE, format!("`{v}` does not fit 64 bits")),
    }
}

/// The radix and digits of a base-0 integer, None unless every character
/// after the prefix is a digit of that radix (no sign, no garbage).
fn base0_digits(s: &str) -> Option<(u32, &str)> {
    let (radix, digits) = parse_integer_fixup_radix(s);
    (!digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))).then_some((radix, digits))
}

/// `simple_strtoul(s, &end, 0)` that must consume all of `s`, with
/// overflow refused (`strtoul_lenient()` returns -EINVAL then).
fn parse_ul_base0(s: &str) -> Option<u64> {
    let (radix, digits) = base0_digits(s)?;
    u64::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_takes_what_proc_dointvec_minmax_takes() {
        for (v, want) in [("0", 0), ("1", 1), ("2", 2), ("3", 3), ("4", 4)] {
            assert_eq!(parse_numa_balancing(v).unwrap(), want);
        }
        assert_eq!(parse_numa_balancing("0x3").unwrap(), 3);
        assert_eq!(parse_numa_balancing("03").unwrap(), 3);
        assert_eq!(parse_numa_balancing("-0").unwrap(), 0);
        // One int in the table: the rest of the line is not read.
        assert_eq!(parse_numa_balancing("1 7").unwrap(), 1);
        for bad in ["5", "-1", "", "1x", "one", "99999999999999999999999"] {
            assert_eq!(
                parse_numa_balancing(bad).unwrap_err().errno,
                Errno::EINVAL,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debugfs_u32_takes_what_kstrtoull_takes() {
        assert_eq!(parse_debugfs_u32("1000").unwrap(), 1000);
        assert_eq!(parse_debugfs_u32("+5").unwrap(), 5);
        assert_eq!(parse_debugfs_u32("0x100").unwrap(), 256);
        assert_eq!(parse_debugfs_u32("010").unwrap(), 8);
        assert_eq!(parse_debugfs_u32("0").unwrap(), 0);
        // debugfs_u32_set() keeps the low 32 bits.
        assert_eq!(parse_debugfs_u32("4294967296").unwrap(), 0);
        assert_eq!(parse_debugfs_u32("4294967297").unwrap(), 1);
        for bad in ["-1", "", "12ms", "0x", "08", "+"] {
            assert_eq!(
                parse_debugfs_u32(bad).unwrap_err().errno,
                Errno::EINVAL,
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_debugfs_u32("18446744073709551616").unwrap_err().errno,
            Errno::ERANGE
        );
    }
}
