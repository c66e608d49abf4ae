//! The frames a control path reads on the GPU backend, fetched as it needs
//! them: a zone's free blocks from the `free_heads` summary (16 words a
//! chunk instead of 8 KiB), and whole chunks, 8 at a time, where the path
//! reads what a summary does not say (an allocated block's state, a chunk
//! with more free blocks than a summary lists). Nothing is read twice in
//! one path. A read that fails is remembered (the path must then fail) and
//! answers as if the chunk were one reserved block, so the path's walks
//! end at once.

use super::GpuBackend;
use crate::engine::requests::{decode_free_head, FREE_HEADS_MAX, FREE_HEADS_WORDS};
use crate::engine::state::SimBuffers;
use crate::engine::{EngineError, FrameSource};
use crate::model::frame::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// Chunks fetched whole per read (64 KiB of frames and owners).
const WINDOW: u32 = 8;
/// Chunks read per request when a path says what it will read (2 MiB).
const PREFETCH: u32 = 256;

/// What is known of one chunk.
enum Known {
    /// Its free blocks, all of them: (offset, order).
    Heads(Vec<(u32, u32)>),
    /// Its frames and owners.
    Whole(Box<[u32]>, Box<[u32]>),
}

pub(super) struct DeviceFrames<'a> {
    gpu: &'a GpuBackend,
    chunks: RefCell<HashMap<u32, Known>>,
    error: RefCell<Option<EngineError>>,
    bytes: Cell<u64>,
}

impl<'a> DeviceFrames<'a> {
    pub fn new(gpu: &'a GpuBackend) -> DeviceFrames<'a> {
        DeviceFrames {
            gpu,
            chunks: RefCell::new(HashMap::new()),
            error: RefCell::new(None),
            bytes: Cell::new(0),
        }
    }

    fn nr_chunks(&self) -> u32 {
        self.gpu.host.params.nr_chunks
    }

    fn fail(&self, e: EngineError) {
        let mut g = self.error.borrow_mut();
        if g.is_none() {
            *g = Some(e);
        }
    }

    /// Reads chunks `[a, b)` whole (those not read whole yet).
    fn fetch(&self, a: u32, b: u32) {
        if self.error.borrow().is_some() {
            return;
        }
        let (mut a, mut b) = (a, b.min(self.nr_chunks()));
        {
            let m = self.chunks.borrow();
            let whole = |c: u32| matches!(m.get(&c), Some(Known::Whole(..)));
            while a < b && whole(a) {
                a += 1;
            }
            while b > a && whole(b - 1) {
                b -= 1;
            }
        }
        if a >= b {
            return;
        }
        match self.gpu.read_chunks(a, b - a) {
            Ok((frames, owners)) => {
                self.bytes
                    .set(self.bytes.get() + (frames.len() + owners.len()) as u64 * 4);
                let cf = CHUNK_FRAMES as usize;
                let mut m = self.chunks.borrow_mut();
                for (i, c) in (a..b).enumerate() {
                    m.insert(
                        c,
                        Known::Whole(
                            frames[i * cf..(i + 1) * cf].into(),
                            owners[i * cf..(i + 1) * cf].into(),
                        ),
                    );
                }
            }
            Err(e) => self.fail(e),
        }
    }

    /// Reads the summaries of chunks `[a, b)` (those not known yet); the
    /// chunks with more free blocks than a summary holds are read whole.
    fn summarize(&self, a: u32, b: u32) {
        if self.error.borrow().is_some() || a >= b {
            return;
        }
        let words = match self.gpu.read_free_heads(a, b - a) {
            Ok(w) => w,
            Err(e) => return self.fail(e),
        };
        self.bytes.set(self.bytes.get() + words.len() as u64 * 4);
        let mut dense = Vec::new();
        {
            let mut m = self.chunks.borrow_mut();
            for (i, c) in (a..b).enumerate() {
                if m.contains_key(&c) {
                    continue;
                }
                let w = &words[i * FREE_HEADS_WORDS..(i + 1) * FREE_HEADS_WORDS];
                let n = w[0] as usize;
                if n > FREE_HEADS_MAX {
                    dense.push(c);
                    continue;
                }
                let heads = w[1..=n]
                    .iter()
                    .map(|&e| {
                        let (off, o, _) = decode_free_head(e);
                        (off, o)
                    })
                    .collect();
                m.insert(c, Known::Heads(heads));
            }
        }
        // Dense chunks, in runs.
        let mut i = 0;
        while i < dense.len() {
            let start = dense[i];
            let mut end = start + 1;
            while i + 1 < dense.len() && dense[i + 1] == end && end - start < WINDOW * 4 {
                end += 1;
                i += 1;
            }
            self.fetch(start, end);
            i += 1;
        }
    }

    /// The state of `pfn` if a summary says it: a free head, or a frame
    /// inside a free block (a tail).
    fn from_heads(heads: &[(u32, u32)], off: u32) -> Option<u32> {
        for &(h, o) in heads {
            if off == h {
                return Some(make_free(o));
            }
            if off > h && off < h + (1 << o) {
                return Some(0);
            }
        }
        None
    }

    /// Runs `f` on the chunk of `pfn` read whole (reading it first).
    fn whole<R>(&self, pfn: u32, f: impl Fn(&[u32], &[u32], usize) -> R, failed: R) -> R {
        let c = pfn >> CHUNK_ORDER;
        let off = (pfn & (CHUNK_FRAMES as u32 - 1)) as usize;
        if !matches!(self.chunks.borrow().get(&c), Some(Known::Whole(..))) {
            let a = c & !(WINDOW - 1);
            self.fetch(a, a + WINDOW);
        }
        match self.chunks.borrow().get(&c) {
            Some(Known::Whole(fr, ow)) => f(fr, ow, off),
            _ => failed,
        }
    }

    /// What a failed read answers for `pfn`: one reserved block a chunk.
    fn failed_state(pfn: u32) -> u32 {
        if pfn & (CHUNK_FRAMES as u32 - 1) == 0 {
            make_reserved(MAX_PAGE_ORDER)
        } else {
            0
        }
    }
}

impl FrameSource for DeviceFrames<'_> {
    fn small(&self) -> &SimBuffers {
        &self.gpu.host
    }

    fn state(&self, pfn: u32) -> u32 {
        let c = pfn >> CHUNK_ORDER;
        let off = pfn & (CHUNK_FRAMES as u32 - 1);
        if let Some(Known::Heads(h)) = self.chunks.borrow().get(&c) {
            if let Some(s) = Self::from_heads(h, off) {
                return s;
            }
        }
        self.whole(pfn, |fr, _, o| fr[o], Self::failed_state(pfn))
    }

    fn owner(&self, pfn: u32) -> u32 {
        let c = pfn >> CHUNK_ORDER;
        let off = pfn & (CHUNK_FRAMES as u32 - 1);
        if let Some(Known::Heads(h)) = self.chunks.borrow().get(&c) {
            if Self::from_heads(h, off).is_some() {
                return OWNER_NONE;
            }
        }
        self.whole(pfn, |_, ow, o| ow[o], OWNER_NONE)
    }

    fn is_free_block(&self, pfn: u32, k: u32) -> bool {
        let c = pfn >> CHUNK_ORDER;
        let off = pfn & (CHUNK_FRAMES as u32 - 1);
        {
            let m = self.chunks.borrow();
            match m.get(&c) {
                Some(Known::Heads(h)) => return h.contains(&(off, k)),
                Some(Known::Whole(fr, _)) => return is_free_block(fr[off as usize], k),
                None => {}
            }
        }
        self.summarize_zone_of(c);
        self.is_free_block_known(c, off, k)
    }

    fn free_blocks(&self, z: usize) -> Vec<(u32, u32)> {
        let zd = self.gpu.host.zones[z];
        let (a, b) = (zd.start_chunk, zd.start_chunk + zd.nr_chunks);
        self.summarize_range(a, b);
        let m = self.chunks.borrow();
        let mut v = Vec::new();
        for c in a..b {
            let base = c * CHUNK_FRAMES as u32;
            match m.get(&c) {
                Some(Known::Heads(h)) => v.extend(h.iter().map(|&(off, o)| (base + off, o))),
                Some(Known::Whole(fr, _)) => {
                    let mut p = 0usize;
                    while p < fr.len() {
                        if kind(fr[p]) == KIND_FREE {
                            v.push((base + p as u32, order(fr[p])));
                        }
                        p += 1 << order(fr[p]);
                    }
                }
                None => {}
            }
        }
        v
    }

    fn prefetch(&self, chunks: std::ops::Range<u32>) {
        let mut c = chunks.start;
        while c < chunks.end {
            let e = (c + PREFETCH).min(chunks.end);
            self.fetch(c, e);
            c = e;
        }
    }

    fn error(&self) -> Option<EngineError> {
        self.error.borrow().clone()
    }

    fn bytes_read(&self) -> u64 {
        self.bytes.get()
    }
}

impl DeviceFrames<'_> {
    /// Summaries for the chunks of `[a, b)` not known yet, in runs.
    fn summarize_range(&self, a: u32, b: u32) {
        let mut c = a;
        while c < b {
            if self.chunks.borrow().contains_key(&c) {
                c += 1;
                continue;
            }
            let mut e = c;
            while e < b && !self.chunks.borrow().contains_key(&e) {
                e += 1;
            }
            self.summarize(c, e);
            c = e;
        }
    }

    /// Summaries for the zone holding chunk `c` (a summary is 64 bytes a
    /// chunk: the zone's costs less than a few round trips).
    fn summarize_zone_of(&self, c: u32) {
        let z = self.gpu.host.chunk_zone[c as usize] as usize;
        let zd = self.gpu.host.zones[z];
        self.summarize_range(zd.start_chunk, zd.start_chunk + zd.nr_chunks);
    }

    fn is_free_block_known(&self, c: u32, off: u32, k: u32) -> bool {
        match self.chunks.borrow().get(&c) {
            Some(Known::Heads(h)) => h.contains(&(off, k)),
            Some(Known::Whole(fr, _)) => is_free_block(fr[off as usize], k),
            None => false,
        }
    }
}
