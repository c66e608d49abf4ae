//! The request ring: how the kernel side (the control paths on the CPU)
//! writes into the simulation's state without owning it.
//!
//! A control path decides; it never writes device state itself. Its
//! decisions are requests (set a frame's state and owner, a pageblock's
//! migratetype, a counter word, a task's state word), collected into a
//! batch in a deterministic order, each word at most once. A backend
//! applies a batch as one unit between ticks, at the head of the next
//! submission (on the GPU: the next tick batch or download; on the CPU:
//! at once), with the `requests` op shader or its CPU twin, bracketed by
//! `recount` over exactly the chunks the batch touches: their old counts
//! leave the zone counters before the writes and their new counts join
//! after. The cost of a control path is therefore proportional to what it
//! changes, not to the machine's size.
//!
//! Each word is written at most once per batch and the recount only adds
//! (commutatively), so a batch applies the same way in any thread order.

use bytemuck::{Pod, Zeroable};

/// One request. `op` says what `index`, `a` and `b` mean.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq, Eq)]
pub struct Request {
    pub op: u32,
    pub index: u32,
    pub a: u32,
    pub b: u32,
}

/// `frames[index] = a; owners[index] = b`; the chunk is marked for `merge`.
pub const REQ_SET_FRAME: u32 = 0;
/// `pageblocks[index] = a`.
pub const REQ_SET_PAGEBLOCK: u32 = 1;
/// `totals[index] = a`: one word of a cumulative counter.
pub const REQ_SET_TOTAL: u32 = 2;
/// Word `index` of the `task_state` array (`TaskState` as words) `= a`:
/// a new task's state, or a stopped task's pending requests cleared.
pub const REQ_SET_TASK_WORD: u32 = 3;

/// Word `index` of `report_state` `= a` (a reporting notification, an
/// report waited for by contiguous allocation).
pub const REQ_SET_REPORT_WORD: u32 = 4;

/// Requests per dispatch of the `requests` shader.
pub const MAX_REQUESTS_PER_DISPATCH: usize = 1 << 20;

/// Words per chunk in the `free_heads` op's output: a count, then up to
/// `FREE_HEADS_MAX` free heads (offset | order << 10 | pageblock mt << 14).
pub const FREE_HEADS_WORDS: usize = 16;
pub const FREE_HEADS_MAX: usize = FREE_HEADS_WORDS - 1;
/// Where a free head's order and pageblock type sit in its entry.
pub const FREE_HEAD_ORDER_SHIFT: u32 = 10;
pub const FREE_HEAD_MT_SHIFT: u32 = 14;

/// A `free_heads` entry: (offset in the chunk, order, pageblock type).
pub fn decode_free_head(e: u32) -> (u32, u32, u32) {
    (
        e & ((1 << FREE_HEAD_ORDER_SHIFT) - 1),
        (e >> FREE_HEAD_ORDER_SHIFT) & 0xf,
        e >> FREE_HEAD_MT_SHIFT,
    )
}

/// The entry `decode_free_head` reads.
pub fn encode_free_head(offset: u32, order: u32, mt: u32) -> u32 {
    offset | order << FREE_HEAD_ORDER_SHIFT | mt << FREE_HEAD_MT_SHIFT
}

impl Request {
    pub fn set_frame(pfn: u32, state: u32, owner: u32) -> Request {
        Request {
            op: REQ_SET_FRAME,
            index: pfn,
            a: state,
            b: owner,
        }
    }
    pub fn set_pageblock(pb: u32, mt: u32) -> Request {
        Request {
            op: REQ_SET_PAGEBLOCK,
            index: pb,
            a: mt,
            b: 0,
        }
    }
    pub fn set_total(word: u32, value: u32) -> Request {
        Request {
            op: REQ_SET_TOTAL,
            index: word,
            a: value,
            b: 0,
        }
    }
    pub fn set_task_word(word: u32, value: u32) -> Request {
        Request {
            op: REQ_SET_TASK_WORD,
            index: word,
            a: value,
            b: 0,
        }
    }
    pub fn set_report_word(word: u32, value: u32) -> Request {
        Request {
            op: REQ_SET_REPORT_WORD,
            index: word,
            a: value,
            b: 0,
        }
    }
    /// The chunk whose counts this request changes, if any.
    pub fn chunk(&self) -> Option<u32> {
        use crate::model::frame::{CHUNK_ORDER, PAGEBLOCK_ORDER};
        match self.op {
            REQ_SET_FRAME => Some(self.index >> CHUNK_ORDER),
            REQ_SET_PAGEBLOCK => Some(self.index >> (CHUNK_ORDER - PAGEBLOCK_ORDER)),
            _ => None,
        }
    }
}

/// A batch of requests ready to apply: sorted by (op, index), each word
/// once (of two requests for one word, the later one stays, so merging
/// batches before they apply is the same as applying them in turn), with
/// the sorted list of chunks it touches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    pub requests: Vec<Request>,
    pub chunks: Vec<u32>,
}

impl Batch {
    pub fn new(reqs: Vec<Request>) -> Batch {
        let mut b = Batch::default();
        b.merge(reqs);
        b
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Adds later requests to the batch.
    pub fn merge(&mut self, later: Vec<Request>) {
        if later.is_empty() {
            return;
        }
        let mut all = std::mem::take(&mut self.requests);
        all.extend(later);
        // Stable: of equal keys the later stays last, and dedup keeps the
        // first of a run, so reverse within runs by keeping the last.
        all.sort_by_key(|r| (r.op, r.index));
        let mut out: Vec<Request> = Vec::with_capacity(all.len());
        for r in all {
            match out.last_mut() {
                Some(l) if (l.op, l.index) == (r.op, r.index) => *l = r,
                _ => out.push(r),
            }
        }
        let mut chunks: Vec<u32> = out.iter().filter_map(Request::chunk).collect();
        chunks.dedup();
        chunks.sort_unstable();
        chunks.dedup();
        self.requests = out;
        self.chunks = chunks;
    }
}

/// The host-owned configuration (what the host writes and uploads, never
/// downloads): kept with the requests in a GPU backend's journal, so a run
/// whose device is lost can be replayed on the CPU reference from the
/// last snapshot, exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub zones: Vec<super::types::ZoneDesc>,
    pub nodes: Vec<super::types::NodeDesc>,
    pub zonelists: Vec<u32>,
    pub tasks: Vec<super::types::TaskDesc>,
    pub lock_cfg: Vec<u32>,
    pub report_cfg: Vec<u32>,
    pub numa_cfg: Vec<u32>,
}

impl Config {
    pub fn of(b: &super::SimBuffers) -> Config {
        Config {
            zones: b.zones.clone(),
            nodes: b.nodes.clone(),
            zonelists: b.zonelists.clone(),
            tasks: b.tasks.clone(),
            lock_cfg: b.lock_cfg.clone(),
            report_cfg: b.report_cfg.clone(),
            numa_cfg: b.numa_cfg.clone(),
        }
    }
    pub fn install(&self, b: &mut super::SimBuffers) {
        b.zones.clone_from(&self.zones);
        b.nodes.clone_from(&self.nodes);
        b.zonelists.clone_from(&self.zonelists);
        b.tasks.clone_from(&self.tasks);
        b.lock_cfg.clone_from(&self.lock_cfg);
        b.report_cfg.clone_from(&self.report_cfg);
        b.numa_cfg.clone_from(&self.numa_cfg);
        b.params.nr_tasks = self.tasks.len() as u32;
    }
}

/// What happened to the device's state after a snapshot, in order: the
/// configuration as uploaded, and the batches as applied, each at the
/// tick the device had then reached.
#[derive(Clone, Debug, PartialEq)]
pub enum JournalEntry {
    Config { tick: u32, config: Config },
    Batch { tick: u32, batch: Batch },
}

impl JournalEntry {
    pub fn tick(&self) -> u32 {
        match self {
            JournalEntry::Config { tick, .. } | JournalEntry::Batch { tick, .. } => *tick,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_requests_win_and_chunks_are_listed_once() {
        let mut b = Batch::new(vec![
            Request::set_frame(5000, 1, 0),
            Request::set_frame(10, 2, 0),
            Request::set_pageblock(3, 1),
        ]);
        b.merge(vec![
            Request::set_frame(5000, 7, 9),
            Request::set_total(4, 1),
        ]);
        assert_eq!(
            b.requests,
            vec![
                Request::set_frame(10, 2, 0),
                Request::set_frame(5000, 7, 9),
                Request::set_pageblock(3, 1),
                Request::set_total(4, 1),
            ]
        );
        // pfn 10 and pageblock 3 (pfns 1536..2047) are chunks 0 and 1.
        assert_eq!(b.chunks, vec![0, 1, 4]);
    }
}
