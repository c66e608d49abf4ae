//! Per-chunk work on the CPU: the twin of a workgroup per chunk. A phase
//! hands `fold_chunks` the arrays it reads and writes, each cut into rows
//! of one chunk (`Rows`, `RowsRef`), and a function of one chunk's rows;
//! chunks run in parallel with rayon on native builds and in order where
//! there are no threads (wasm32). No buddy operation crosses a chunk, so
//! chunks never conflict; results fold with a commutative, associative
//! `add`, so they do not depend on scheduling.

use std::marker::PhantomData;
use std::ops::Range;

/// A writable array cut into rows of `stride` elements, one per chunk.
/// Each row is handed out once per `fold_chunks` call, to the one chunk it
/// belongs to.
pub struct Rows<'a, T> {
    ptr: *mut T,
    len: usize,
    stride: usize,
    _borrow: PhantomData<&'a mut [T]>,
}

// SAFETY: `Rows` is a unique borrow of its slice (it is made from `&mut`);
// `fold_chunks` hands each row to exactly one chunk's closure, so sharing
// `&Rows` across threads only ever yields disjoint `&mut` rows.
unsafe impl<T: Send> Send for Rows<'_, T> {}
unsafe impl<T: Send> Sync for Rows<'_, T> {}

impl<'a, T> Rows<'a, T> {
    pub fn new(s: &'a mut [T], stride: usize) -> Rows<'a, T> {
        Rows {
            ptr: s.as_mut_ptr(),
            len: s.len(),
            stride,
            _borrow: PhantomData,
        }
    }
}

/// A read-only array cut into rows of `stride` elements, one per chunk.
pub struct RowsRef<'a, T> {
    s: &'a [T],
    stride: usize,
}

impl<'a, T> RowsRef<'a, T> {
    pub fn new(s: &'a [T], stride: usize) -> RowsRef<'a, T> {
        RowsRef { s, stride }
    }
}

/// Something that yields one part per chunk of a range: a `Rows`, a
/// `RowsRef`, or a tuple of them, made over exactly the range's chunks.
pub trait Parts<'a>: Sync {
    type Part: Send;
    /// The part of the range's `i`-th chunk.
    ///
    /// # Safety
    /// Each `i` at most once over the value's life (`fold_chunks`, which
    /// consumes the parts, asks for each once).
    unsafe fn part(&self, i: usize) -> Self::Part;
}

impl<'a, T: Send + Sync> Parts<'a> for Rows<'a, T> {
    type Part = &'a mut [T];
    unsafe fn part(&self, i: usize) -> &'a mut [T] {
        let start = i * self.stride;
        assert!(start + self.stride <= self.len, "chunk {i} past the array");
        // SAFETY: in bounds (checked); disjoint from every other chunk's
        // row, and handed out once per chunk (the caller's contract) from a
        // unique borrow that lives for 'a.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), self.stride) }
    }
}

impl<'a, T: Sync> Parts<'a> for RowsRef<'a, T> {
    type Part = &'a [T];
    unsafe fn part(&self, i: usize) -> &'a [T] {
        &self.s[i * self.stride..(i + 1) * self.stride]
    }
}

impl Parts<'_> for () {
    type Part = ();
    unsafe fn part(&self, _: usize) {}
}

macro_rules! tuple_parts {
    ($($t:ident $i:tt),+) => {
        impl<'a, $($t: Parts<'a>),+> Parts<'a> for ($($t,)+) {
            type Part = ($($t::Part,)+);
            unsafe fn part(&self, i: usize) -> Self::Part {
                // SAFETY: forwarded; each member is asked for chunk `i` once.
                unsafe { ($(self.$i.part(i),)+) }
            }
        }
    };
}
tuple_parts!(A 0);
tuple_parts!(A 0, B 1);
tuple_parts!(A 0, B 1, C 2);
tuple_parts!(A 0, B 1, C 2, D 3);
tuple_parts!(A 0, B 1, C 2, D 3, E 4);
tuple_parts!(A 0, B 1, C 2, D 3, E 4, F 5);

/// Runs `f` on each chunk of `chunks` with that chunk's parts (made over
/// exactly those chunks), folding the results with `add` (commutative and
/// associative). `f` gets the chunk's index in the machine.
pub fn fold_chunks<'a, P, A, F, R>(chunks: Range<usize>, parts: P, f: F, add: R) -> A
where
    P: Parts<'a>,
    A: Default + Send,
    F: Fn(usize, P::Part) -> A + Sync + Send,
    R: Fn(A, A) -> A + Sync + Send,
{
    let first = chunks.start;
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        let parts = &parts;
        chunks
            .into_par_iter()
            .with_min_len(16)
            // SAFETY: a range yields each chunk once, and `parts` is ours.
            .fold(A::default, |acc, c| {
                add(acc, f(c, unsafe { parts.part(c - first) }))
            })
            .reduce(A::default, &add)
    }
    #[cfg(not(feature = "parallel"))]
    {
        let mut acc = A::default();
        for c in chunks {
            // SAFETY: a range yields each chunk once, and `parts` is ours.
            acc = add(acc, f(c, unsafe { parts.part(c - first) }));
        }
        acc
    }
}

/// Runs `f` on each chunk of `chunks` (no result).
pub fn for_chunks<'a, P, F>(chunks: Range<usize>, parts: P, f: F)
where
    P: Parts<'a>,
    F: Fn(usize, P::Part) + Sync + Send,
{
    fold_chunks(chunks, parts, f, |_, _| ());
}

/// The zones' chunk ranges, from the chunk-to-zone map (zones are runs of
/// consecutive chunks): `(zone, chunks)` in chunk order.
pub fn zone_runs(chunk_zone: &[u32]) -> impl Iterator<Item = (usize, Range<usize>)> + '_ {
    let mut start = 0usize;
    std::iter::from_fn(move || {
        if start >= chunk_zone.len() {
            return None;
        }
        let z = chunk_zone[start];
        let mut end = start + 1;
        while end < chunk_zone.len() && chunk_zone[end] == z {
            end += 1;
        }
        let r = start..end;
        start = end;
        Some((z as usize, r))
    })
}

/// The rows of chunks `r` of a writable per-chunk array (`stride`
/// elements a chunk).
pub fn rows<'a, T>(s: &'a mut [T], r: &Range<usize>, stride: usize) -> Rows<'a, T> {
    Rows::new(&mut s[r.start * stride..r.end * stride], stride)
}

/// The rows of chunks `r` of a read-only per-chunk array.
pub fn rows_ref<'a, T>(s: &'a [T], r: &Range<usize>, stride: usize) -> RowsRef<'a, T> {
    RowsRef::new(&s[r.start * stride..r.end * stride], stride)
}
