//! Lock statistics per class (CONFIG_LOCK_STAT): acquisitions, contentions,
//! wait and hold times, bounces between CPUs, printed as
//! kernel/locking/lockdep_proc.c prints /proc/lock_stat (`seq_header()`,
//! `seq_stats()`, `seq_lock_time()`, `snprint_time()`: nanoseconds shown
//! as microseconds with two decimals).

use super::Key;
use crate::kernel::path::LockClass;
use std::collections::BTreeMap;

/// `struct lock_time`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockTime {
    pub nr: u64,
    pub min: u64,
    pub max: u64,
    pub total: u64,
}

impl LockTime {
    /// `lock_time_inc()`.
    pub fn inc(&mut self, t: u64) {
        if self.nr == 0 || t < self.min {
            self.min = t;
        }
        self.max = self.max.max(t);
        self.total += t;
        self.nr += 1;
    }
    /// `lock_time_add()`: merges another record.
    pub fn add(&mut self, o: &LockTime) {
        if o.nr == 0 {
            return;
        }
        if self.nr == 0 || o.min < self.min {
            self.min = o.min;
        }
        self.max = self.max.max(o.max);
        self.total += o.total;
        self.nr += o.nr;
    }
}

/// `struct lock_class_stats`, with the contention points numasim names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub write_wait: LockTime,
    pub write_hold: LockTime,
    pub read_wait: LockTime,
    pub read_hold: LockTime,
    pub con_bounces_write: u64,
    pub acq_bounces_write: u64,
    pub con_bounces_read: u64,
    pub acq_bounces_read: u64,
    /// Contentions by the function that waited.
    pub points: Vec<(&'static str, u64)>,
}

impl Stats {
    pub fn contentions(&self) -> u64 {
        self.write_wait.nr + self.read_wait.nr
    }
    pub fn acquisitions(&self) -> u64 {
        self.write_hold.nr + self.read_hold.nr
    }
}

/// Hold times of the control paths' locks, per class key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassStats {
    pub per: BTreeMap<Key, Stats>,
}

impl ClassStats {
    /// An uncontended acquisition held `ns` (control paths run one at a
    /// time between ticks, on one CPU: they never wait and never bounce).
    pub fn hold(&mut self, k: Key, read: bool, ns: u64) {
        let s = self.per.entry(k).or_default();
        if read {
            s.read_hold.inc(ns);
        } else {
            s.write_hold.inc(ns);
        }
    }
    /// `echo 0 > /proc/lock_stat`: `clear_lock_stats()` of every class.
    pub fn clear(&mut self) {
        self.per.clear();
    }
}

/// `snprint_time()`.
fn time(ns: u64) -> String {
    let nr = ns + 5;
    format!("{}.{:02}", nr / 1000, (nr % 1000) / 10)
}

fn lock_time(t: &LockTime) -> String {
    format!(
        "{:14} {:>14} {:>14} {:>14} {:>14}",
        t.nr,
        time(t.min),
        time(t.max),
        time(t.total),
        time(t.total.checked_div(t.nr).unwrap_or(0))
    )
}

/// A deterministic text address for a contention point.
fn point_addr(name: &str) -> u64 {
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    0xffff_ffff_8100_0000 + (h & 0xff_fff0)
}

/// /proc/lock_stat for `classes` (most contended first, then by name).
pub fn lock_stat_file(classes: &[(Key, Stats)], debug_locks: bool) -> String {
    let width = 40 + 1 + 12 * (14 + 1);
    let mut s = String::from("lock_stat version 0.4\n");
    if !debug_locks {
        s += "*WARNING* lock debugging disabled!! - possibly due to a lockdep warning\n";
    }
    s += &"-".repeat(width);
    s += "\n";
    s += &format!(
        "{:>40} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14}\n",
        "class name",
        "con-bounces",
        "contentions",
        "waittime-min",
        "waittime-max",
        "waittime-total",
        "waittime-avg",
        "acq-bounces",
        "acquisitions",
        "holdtime-min",
        "holdtime-max",
        "holdtime-total",
        "holdtime-avg"
    );
    s += &"-".repeat(width);
    s += "\n\n";
    let mut order: Vec<&(Key, Stats)> = classes.iter().collect();
    order.sort_by(|a, b| {
        b.1.contentions()
            .cmp(&a.1.contentions())
            .then(a.0.cmp(&b.0))
    });
    for (k, st) in order {
        let mut name = super::key_name(*k);
        name.truncate(37);
        if st.write_hold.nr > 0 {
            if st.read_hold.nr > 0 {
                s += &format!("{name:>38}-W:");
            } else {
                s += &format!("{name:>40}:");
            }
            s += &format!("{:14} ", st.con_bounces_write);
            s += &lock_time(&st.write_wait);
            s += &format!(" {:14} ", st.acq_bounces_write);
            s += &lock_time(&st.write_hold);
            s += "\n";
        }
        if st.read_hold.nr > 0 {
            s += &format!("{name:>38}-R:");
            s += &format!("{:14} ", st.con_bounces_read);
            s += &lock_time(&st.read_wait);
            s += &format!(" {:14} ", st.acq_bounces_read);
            s += &lock_time(&st.read_hold);
            s += "\n";
        }
        if st.contentions() == 0 {
            continue;
        }
        let namelen = name.len() + if st.read_hold.nr > 0 { 2 } else { 0 };
        let points: Vec<_> = st.points.iter().filter(|p| p.1 > 0).collect();
        for (i, (fname, n)) in points.iter().enumerate() {
            if i == 0 {
                s += &" ".repeat(40usize.saturating_sub(namelen));
                s += &"-".repeat(namelen);
                s += "\n";
            }
            let ip = format!("[<{:016x}>]", point_addr(fname));
            s += &format!("{name:>40} {n:14} {ip:>29} {fname}\n");
        }
        if !points.is_empty() {
            s += "\n";
            s += &".".repeat(width);
            s += "\n";
        }
    }
    s
}

/// The classes in the order the dashboard lists them.
pub fn by_contention(classes: &[(Key, Stats)]) -> Vec<(LockClass, u64, u64, u64)> {
    let mut v: Vec<_> = classes
        .iter()
        .map(|(k, s)| {
            (
                k.0,
                s.contentions(),
                s.acquisitions(),
                s.write_wait.total + s.read_wait.total,
            )
        })
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_has_lockdep_procs_columns() {
        let mut st = Stats::default();
        st.write_hold.inc(1234);
        st.write_hold.inc(66);
        st.write_wait.inc(10_005);
        st.con_bounces_write = 1;
        st.acq_bounces_write = 2;
        st.points.push(("rmqueue_bulk", 1));
        let f = lock_stat_file(&[((LockClass::ZoneLock, 0), st)], true);
        let lines: Vec<&str> = f.lines().collect();
        assert_eq!(lines[0], "lock_stat version 0.4");
        assert_eq!(lines[1].len(), 221);
        assert!(lines[2].starts_with(&format!("{:>40} {:>14}", "class name", "con-bounces")));
        assert_eq!(lines[4], "");
        // name, con-bounces, then nr/min/max/total/avg of the waits, the
        // acquisition bounces, and the hold times (us, two decimals).
        let want = format!(
            "{:>40}:{:14} {:14} {:>14} {:>14} {:>14} {:>14} {:14} {:14} {:>14} {:>14} {:>14} {:>14}",
            "&zone->lock", 1, 1, "10.01", "10.01", "10.01", "10.01", 2, 2, "0.07", "1.23", "1.30", "0.65"
        );
        assert_eq!(lines[5], want);
        assert_eq!(lines[6], format!("{}{}", " ".repeat(29), "-".repeat(11)));
        assert!(lines[7].ends_with("] rmqueue_bulk"));
        assert_eq!(lines[9], ".".repeat(221));
    }
}
