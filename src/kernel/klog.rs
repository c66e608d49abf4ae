//! The kernel log: printk records with their level, sequence number and
//! simulated timestamp, read as `dmesg` prints them and as `/dev/kmsg`
//! hands them out (Documentation/ABI/testing/dev-kmsg:
//! `level,seq,timestamp_us,flags;message`).

use std::collections::VecDeque;

/// `KERN_*` levels (include/linux/kern_levels.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub ts_ns: u64,
    pub level: Level,
    pub text: String,
}

/// Records kept: the kernel's ring holds `1 << CONFIG_LOG_BUF_SHIFT` bytes;
/// numasim keeps this many lines and counts the ones dropped.
pub const LOG_LINES: usize = 8192;

#[derive(Clone, Debug, Default)]
pub struct KernelLog {
    pub records: VecDeque<Record>,
    next_seq: u64,
}

impl KernelLog {
    /// Logs `text`, one record per line, at simulated time `ts_ns`.
    pub fn printk(&mut self, level: Level, ts_ns: u64, text: &str) {
        for line in text.lines() {
            if self.records.len() == LOG_LINES {
                self.records.pop_front();
            }
            self.records.push_back(Record {
                seq: self.next_seq,
                ts_ns,
                level,
                text: line.to_string(),
            });
            self.next_seq += 1;
        }
    }

    /// As `dmesg` prints it: `[    5.123456] text`.
    pub fn dmesg(&self) -> String {
        let mut s = String::new();
        for r in &self.records {
            let us = r.ts_ns / 1000;
            s += &format!("[{:5}.{:06}] {}\n", us / 1_000_000, us % 1_000_000, r.text);
        }
        s
    }

    /// As `/dev/kmsg` hands records out (facility 0, the kernel).
    pub fn kmsg(&self) -> String {
        let mut s = String::new();
        for r in &self.records {
            s += &format!(
                "{},{},{},-;{}\n",
                r.level as u8,
                r.seq,
                r.ts_ns / 1000,
                r.text
            );
        }
        s
    }

    /// `dmesg -C`.
    pub fn clear(&mut self) {
        self.records.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dmesg_and_kmsg_formats() {
        let mut l = KernelLog::default();
        l.printk(Level::Warning, 5_123_456_789, "a\nb");
        assert_eq!(l.dmesg(), "[    5.123456] a\n[    5.123456] b\n");
        assert_eq!(l.kmsg(), "4,0,5123456,-;a\n4,1,5123456,-;b\n");
    }
}
