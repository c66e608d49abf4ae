//! The /proc and /sys tree as one table (`procfs::table`): every listed
//! file is found, read and stat'ed through its row; directories list what
//! the rows under them expand to; placeholders are bounded by the machine;
//! writes without a store method get EACCES.

use numasim::kernel::Machine;
use numasim::model::scenario::Scenario;
use numasim::procfs::{self, table, Errno};
use std::collections::BTreeSet;

fn boot(name: &str) -> Machine {
    let s = Scenario::load(name).unwrap();
    Machine::boot(s, Some(7)).unwrap()
}

/// Walks the tree from `/` with `list_dir` alone.
fn walk(m: &Machine, dir: &str, out: &mut BTreeSet<String>) {
    for e in procfs::list_dir(m, dir).unwrap() {
        let base = if dir == "/" {
            String::new()
        } else {
            dir.to_string()
        };
        match e.strip_suffix('/') {
            Some(d) => walk(m, &format!("{base}/{d}"), out),
            None => {
                out.insert(format!("{base}/{e}"));
            }
        }
    }
}

#[test]
fn every_file_is_listed_found_and_read_through_its_row() {
    for preset in ["small", "cxl"] {
        let mut m = boot(preset);
        m.advance(20).unwrap();
        let files = procfs::list_files(&m);
        let mut walked = BTreeSet::new();
        walk(&m, "/", &mut walked);
        assert_eq!(
            files.iter().cloned().collect::<BTreeSet<_>>(),
            walked,
            "{preset}: listing the directories finds exactly the files"
        );
        for f in &files {
            let row = match table::lookup(&m, f).unwrap() {
                table::Entry::File(row, _) => row,
                table::Entry::Dir => panic!("{f} is listed as a file but looks up as a directory"),
            };
            assert_eq!(procfs::file_mode(f), row.mode, "{f}");
            assert_eq!(procfs::file_size(f), row.size, "{f}");
            let text = procfs::read(&mut m, f).unwrap_or_else(|e| panic!("{preset}: {e}"));
            assert!(text.ends_with('\n') || text.is_empty(), "{f}: {text:?}");
            if row.write.is_none() {
                assert_eq!(
                    row.mode & 0o222,
                    0,
                    "{f}: no store method but writable bits"
                );
                let e = procfs::write(&mut m, f, "1").unwrap_err();
                assert_eq!(e.errno, Errno::EACCES, "{f}");
            } else {
                assert_ne!(
                    row.mode & 0o200,
                    0,
                    "{f}: a store method but read-only bits"
                );
            }
        }
    }
}

#[test]
fn placeholders_are_bounded_by_the_machine() {
    let mut m = boot("small");
    let nodes = m.scenario.topology.nodes.len();
    let e = procfs::read(
        &mut m,
        &format!("/sys/devices/system/node/node{nodes}/meminfo"),
    )
    .unwrap_err();
    assert_eq!(e.errno, Errno::ENOENT);
    assert!(
        e.detail.contains(&format!("nodes 0-{}", nodes - 1)),
        "{}",
        e.detail
    );
    // Not the kernel's names: leading zeros, signs.
    for p in [
        "/sys/devices/system/node/node01/meminfo",
        "/sys/devices/system/node/node+1/meminfo",
        "/sys/kernel/mm/hugepages/hugepages-4kB/nr_hugepages",
    ] {
        assert_eq!(
            procfs::read(&mut m, p).unwrap_err().errno,
            Errno::ENOENT,
            "{p}"
        );
    }
    let blocks = m.nr_memory_blocks();
    let e = procfs::read(
        &mut m,
        &format!("/sys/devices/system/memory/memory{blocks}/state"),
    )
    .unwrap_err();
    assert!(e.detail.contains("memory blocks"), "{}", e.detail);
    assert_eq!(
        procfs::read(&mut m, "/sys/devices/system/node")
            .unwrap_err()
            .errno,
        Errno::EISDIR
    );
    assert_eq!(
        procfs::write(&mut m, "/sys/devices/system/node", "1")
            .unwrap_err()
            .errno,
        Errno::EISDIR
    );
    assert_eq!(
        procfs::list_dir(&m, "/proc/meminfo").unwrap_err().errno,
        Errno::ENOTDIR
    );
    assert_eq!(
        procfs::list_dir(&m, "/proc/nope").unwrap_err().errno,
        Errno::ENOENT
    );
}

#[test]
fn directories_expand_their_placeholders() {
    let m = boot("cxl");
    let nodes = m.scenario.topology.nodes.len();
    let d = procfs::list_dir(&m, "/sys/devices/system/node").unwrap();
    for n in 0..nodes {
        assert!(d.contains(&format!("node{n}/")), "{d:?}");
    }
    assert!(!d.contains(&format!("node{nodes}/")));
    assert!(d.contains(&"online".to_string()));
    let h = procfs::list_dir(&m, "/sys/kernel/mm/hugepages").unwrap();
    assert_eq!(h, vec!["hugepages-1048576kB/", "hugepages-2048kB/"]);
    let blocks = procfs::list_dir(&m, "/sys/devices/system/memory").unwrap();
    assert_eq!(
        blocks.len() as u32,
        m.nr_memory_blocks() + 1,
        "blocks and block_size_bytes"
    );
}

/// A write reaches the row's store and a read its show, through the same
/// table the shell and the mount use.
#[test]
fn the_shell_and_the_table_agree() {
    let mut m = boot("small");
    let out = procfs::shell::exec_line(&mut m, "ls /sys/kernel/debug/numasim/variants").unwrap();
    let listed: Vec<&str> = out.lines().collect();
    assert_eq!(
        listed,
        procfs::list_dir(&m, "/sys/kernel/debug/numasim/variants").unwrap()
    );
    for v in listed {
        let p = format!("/sys/kernel/debug/numasim/variants/{v}");
        procfs::write(&mut m, &p, "1").unwrap();
        assert_eq!(procfs::read(&mut m, &p).unwrap(), "1\n", "{p}");
        procfs::write(&mut m, &p, "0").unwrap();
        assert_eq!(procfs::read(&mut m, &p).unwrap(), "0\n", "{p}");
    }
    // devkmsg_write(): a written line is a record at its level.
    procfs::write(&mut m, "/dev/kmsg", "<6>hello from user space").unwrap();
    let kmsg = procfs::read(&mut m, "/dev/kmsg").unwrap();
    assert!(
        kmsg.lines()
            .any(|l| l.starts_with("6,") && l.ends_with(";hello from user space")),
        "{kmsg}"
    );
}
