//! [`ChunkedVec`]: an append-only vector stored in fixed-size chunks.
//!
//! For the records a run only ever appends to: the trace, the client history, a checker's
//! ghost state. A run's full trace grows to millions of events. In one `Vec` every doubling copies all of
//! them into a new allocation and touches twice the memory: with an allocator that cannot remap
//! a large block in place (mimalloc, which `dsim` uses), a ten-million-event trace spends more
//! time being copied than being recorded. Here a push never moves what is already stored: when
//! the last chunk is full, a new one is allocated beside it.

use std::ops::{Index, IndexMut};

/// Elements per chunk (a power of two, so that an index splits with a shift and a mask).
const CHUNK: usize = 4096;

/// An append-only sequence stored in chunks of 4,096 elements (`CHUNK`): pushing never moves
/// the elements already stored, and indexing is two array lookups.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkedVec<T> {
    /// Every chunk but the last is full (exactly [`CHUNK`] elements).
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> ChunkedVec<T> {
    /// An empty vector; allocates nothing until the first push.
    #[must_use]
    pub const fn new() -> Self {
        ChunkedVec {
            chunks: Vec::new(),
            len: 0,
        }
    }

    /// Appends `value` at the end.
    #[inline]
    pub fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(value),
            _ => self.push_to_new_chunk(value),
        }
        self.len += 1;
    }

    #[cold]
    #[inline(never)]
    fn push_to_new_chunk(&mut self, value: T) {
        let mut chunk = Vec::with_capacity(CHUNK);
        chunk.push(value);
        self.chunks.push(chunk);
    }

    /// Number of elements.
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no elements.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The element at `index`, if there is one.
    #[inline]
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    /// The element at `index` for changing, if there is one.
    #[inline]
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.chunks.get_mut(index / CHUNK)?.get_mut(index % CHUNK)
    }

    /// The last element, if any.
    #[must_use]
    pub fn last(&self) -> Option<&T> {
        self.chunks.last()?.last()
    }

    /// Every element, in push order.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            inner: self.chunks.iter().flatten(),
            left: self.len,
        }
    }

    /// A copy of every element in one `Vec`.
    #[must_use]
    pub fn to_vec(&self) -> Vec<T>
    where
        T: Clone,
    {
        let mut out = Vec::with_capacity(self.len);
        for chunk in &self.chunks {
            out.extend_from_slice(chunk);
        }
        out
    }

    /// Bytes allocated for elements (capacity, not just length).
    #[must_use]
    pub fn allocated_bytes(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum::<usize>() * std::mem::size_of::<T>()
            + self.chunks.capacity() * std::mem::size_of::<Vec<T>>()
    }
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Index<usize> for ChunkedVec<T> {
    type Output = T;

    /// The element at `index`; panics if `index >= len()`, like a slice.
    fn index(&self, index: usize) -> &T {
        &self.chunks[index / CHUNK][index % CHUNK]
    }
}

impl<T> IndexMut<usize> for ChunkedVec<T> {
    /// The element at `index`; panics if `index >= len()`, like a slice.
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.chunks[index / CHUNK][index % CHUNK]
    }
}

impl<'a, T> IntoIterator for &'a ChunkedVec<T> {
    type Item = &'a T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> FromIterator<T> for ChunkedVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut v = ChunkedVec::new();
        for x in iter {
            v.push(x);
        }
        v
    }
}

/// Iterator over a [`ChunkedVec`], in push order.
pub struct Iter<'a, T> {
    inner: std::iter::Flatten<std::slice::Iter<'a, Vec<T>>>,
    left: usize,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    #[inline]
    fn next(&mut self) -> Option<&'a T> {
        let x = self.inner.next()?;
        self.left -= 1;
        Some(x)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T> DoubleEndedIterator for Iter<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let x = self.inner.next_back()?;
        self.left -= 1;
        Some(x)
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_vec_across_chunk_boundaries() {
        let n = 3 * CHUNK + 17;
        let mut c = ChunkedVec::new();
        let mut v = Vec::new();
        assert!(c.is_empty());
        assert_eq!(c.last(), None);
        for i in 0..n {
            c.push(i * 3);
            v.push(i * 3);
            assert_eq!(c.len(), v.len());
            assert_eq!(c.last(), v.last());
        }
        for i in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, n - 1] {
            assert_eq!(c[i], v[i], "index {i}");
            assert_eq!(c.get(i), v.get(i), "get {i}");
        }
        assert_eq!(c.get(n), None);
        c[CHUNK] += 1;
        *c.get_mut(2 * CHUNK).expect("in range") += 1;
        v[CHUNK] += 1;
        v[2 * CHUNK] += 1;
        assert_eq!(c.get_mut(n), None);
        assert_eq!(c.to_vec(), v);
        assert!(c.iter().eq(v.iter()));
        assert!(c.iter().rev().eq(v.iter().rev()));
        assert_eq!(c.iter().len(), n);
        let mut it = c.iter();
        it.next();
        it.next_back();
        assert_eq!(it.len(), n - 2);
        let back: ChunkedVec<usize> = v.iter().copied().collect();
        assert_eq!(back, c);
    }

    #[test]
    fn pushing_never_moves_stored_elements() {
        let mut c = ChunkedVec::new();
        c.push(1u64);
        let first: *const u64 = &c[0];
        for i in 0..(4 * CHUNK as u64) {
            c.push(i);
        }
        assert!(std::ptr::eq(first, &c[0]));
    }
}
