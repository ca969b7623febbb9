// SPDX-License-Identifier: GPL-2.0
//! The in-memory model of one file: its contents (a `Vec<u8>` as long as
//! the file), and which pages hold a block under holefs's allocation rules
//! (used only with `--exact`).
//!
//! Contents follow POSIX and Linux fallocate(2): bytes never written, or
//! punched, zeroed or cut off by a truncate read as zeros; a size increase
//! exposes zeros.  The allocation model is Documentation/holefs.rst's: a
//! page gets a block when a write, a store through a mapping, a zero-range
//! or a preallocation touches it; a punch frees the pages it covers
//! completely (also past EOF); a truncate that shrinks the file frees every
//! page past the new last one; reads never allocate.

use std::collections::BTreeSet;

#[derive(Clone, Debug)]
pub struct FileModel {
    data: Vec<u8>,
    alloc: BTreeSet<u64>,
    page: u64,
    /// The bytes past EOF in the EOF page may hold what a store through a
    /// mapping put there (not file data; a mapping may still show them).
    pub tail_garbage: bool,
    /// Self-test of the checker (`--inject-model-bug`): the model forgets
    /// to zero the head edge of a punch, as a file system with that bug
    /// would.
    pub bug_punch_edge: bool,
}

fn page_end(x: u64, page: u64) -> u64 {
    x.div_ceil(page) * page
}

impl FileModel {
    pub fn new(page: u64) -> Self {
        FileModel {
            data: Vec::new(),
            alloc: BTreeSet::new(),
            page,
            tail_garbage: false,
            bug_punch_edge: false,
        }
    }

    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// What pread(off, len) returns.
    pub fn bytes(&self, off: u64, len: u64) -> &[u8] {
        let size = self.size();
        let s = off.min(size) as usize;
        let e = off.saturating_add(len).min(size) as usize;
        &self.data[s..e]
    }

    /// Pages the byte range `[off, end)` touches.
    fn touched(&self, off: u64, end: u64) -> std::ops::Range<u64> {
        if end <= off {
            return 0..0;
        }
        off / self.page..(end - 1) / self.page + 1
    }

    /// Marks every page `[off, end)` touches as allocated.
    pub fn allocate(&mut self, off: u64, end: u64) {
        for p in self.touched(off, end) {
            self.alloc.insert(p);
        }
    }

    /// The size grows to `new` (zeros); what becomes of stale tail bytes.
    fn grow(&mut self, new: u64) {
        let old = self.size();
        if new <= old {
            return;
        }
        // A file system must zero [old, new) (checked through the zeros in
        // `data`); the rest of the EOF page is past EOF again only if the
        // new EOF lies in the same page.
        self.tail_garbage = self.tail_garbage
            && !new.is_multiple_of(self.page)
            && new / self.page == old / self.page;
        self.data.resize(new as usize, 0);
    }

    fn zero_bytes(&mut self, off: u64, end: u64) {
        let size = self.size();
        let (s, e) = (off.min(size) as usize, end.min(size) as usize);
        if s < e {
            self.data[s..e].fill(0);
        }
    }

    /// pwrite(2) of `buf` at `off` (all of it: the caller passes the part a
    /// short write wrote).
    pub fn write(&mut self, off: u64, buf: &[u8]) {
        if buf.is_empty() {
            return;
        }
        let end = off + buf.len() as u64;
        self.grow(end);
        self.data[off as usize..end as usize].copy_from_slice(buf);
        self.allocate(off, end);
    }

    /// A store of `buf` at `off` through a mapping; bytes past EOF are not
    /// file data.  Allocates every page stored to.
    pub fn store(&mut self, off: u64, buf: &[u8]) {
        let end = off + buf.len() as u64;
        let size = self.size();
        if end > size {
            self.tail_garbage = true;
        }
        let e = end.min(size);
        if off < e {
            self.data[off as usize..e as usize].copy_from_slice(&buf[..(e - off) as usize]);
        }
        self.allocate(off, end);
    }

    /// fallocate(PUNCH_HOLE | KEEP_SIZE).
    pub fn punch(&mut self, off: u64, len: u64) {
        let end = off + len;
        let mut zs = off;
        if self.bug_punch_edge && !off.is_multiple_of(self.page) {
            zs = page_end(off, self.page).min(end);
        }
        self.zero_bytes(zs, end);
        let first = off.div_ceil(self.page);
        let last = end / self.page;
        for p in first..last.max(first) {
            self.alloc.remove(&p);
        }
    }

    /// fallocate(ZERO_RANGE [| KEEP_SIZE]).
    pub fn zero(&mut self, off: u64, len: u64, keep: bool) {
        let end = off + len;
        self.zero_bytes(off, end);
        if !keep {
            self.grow(end);
        }
        self.allocate(off, end);
    }

    /// fallocate(0 or KEEP_SIZE).
    pub fn prealloc(&mut self, off: u64, len: u64, keep: bool) {
        let end = off + len;
        if !keep {
            self.grow(end);
        }
        self.allocate(off, end);
    }

    /// ftruncate(2).
    pub fn truncate(&mut self, size: u64) {
        let old = self.size();
        if size > old {
            self.grow(size);
        } else if size < old {
            self.data.truncate(size as usize);
            let keep = size.div_ceil(self.page);
            self.alloc.retain(|&p| p < keep);
            // The kernel zeroes the new EOF page past EOF.
            self.tail_garbage = false;
        }
    }

    /// Pages with a non-zero byte: they must be data for SEEK_DATA and
    /// count in st_blocks on any file system.
    pub fn nonzero_pages(&self) -> Vec<u64> {
        self.data
            .chunks(self.page as usize)
            .enumerate()
            .filter(|(_, c)| c.iter().any(|&b| b != 0))
            .map(|(i, _)| i as u64)
            .collect()
    }

    /// Number of allocated pages (with `--exact`: st_blocks in pages).
    pub fn alloc_pages(&self) -> u64 {
        self.alloc.len() as u64
    }

    #[cfg(test)]
    pub fn is_allocated(&self, page: u64) -> bool {
        self.alloc.contains(&page)
    }

    /// With `--exact`: the data extents SEEK_DATA/SEEK_HOLE must report,
    /// runs of allocated pages cut at EOF.
    pub fn alloc_extents(&self) -> Vec<(u64, u64)> {
        let size = self.size();
        let mut out: Vec<(u64, u64)> = Vec::new();
        for &p in &self.alloc {
            let s = p * self.page;
            if s >= size {
                break;
            }
            let e = (s + self.page).min(size);
            match out.last_mut() {
                Some(last) if last.1 == s => last.1 = e,
                _ => out.push((s, e)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 4096;

    fn filled(n: usize, b: u8) -> Vec<u8> {
        vec![b; n]
    }

    #[test]
    fn write_extends_with_zero_gap() {
        let mut m = FileModel::new(P);
        m.write(10, &[1, 2, 3]);
        assert_eq!(m.size(), 13);
        assert_eq!(m.bytes(0, 100), &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
        assert_eq!(m.bytes(12, 5), &[3]);
        assert!(m.bytes(13, 5).is_empty());
        assert!(m.bytes(100, 5).is_empty());
        m.write(4095, &[7, 7]);
        assert_eq!(m.alloc_pages(), 2);
        assert_eq!(m.alloc_extents(), vec![(0, 4097)]);
    }

    #[test]
    fn punch_unaligned_edges() {
        let mut m = FileModel::new(P);
        m.write(0, &filled(3 * P as usize, 9));
        m.punch(100, 2 * P);
        let d = m.data();
        assert!(d[..100].iter().all(|&b| b == 9));
        assert!(d[100..(100 + 2 * P) as usize].iter().all(|&b| b == 0));
        assert!(d[(100 + 2 * P) as usize..].iter().all(|&b| b == 9));
        assert_eq!(m.size(), 3 * P);
        // Only page 1 is covered completely.
        assert!(m.is_allocated(0) && !m.is_allocated(1) && m.is_allocated(2));
        assert_eq!(m.nonzero_pages(), vec![0, 2]);
        assert_eq!(m.alloc_extents(), vec![(0, P), (2 * P, 3 * P)]);
    }

    #[test]
    fn punch_past_eof_keeps_size_and_frees() {
        let mut m = FileModel::new(P);
        m.prealloc(0, 4 * P, true);
        assert_eq!(m.size(), 0);
        assert_eq!(m.alloc_pages(), 4);
        assert!(m.alloc_extents().is_empty());
        m.punch(P, 2 * P);
        assert_eq!(m.alloc_pages(), 2);
        assert_eq!(m.size(), 0);
    }

    #[test]
    fn zero_range_keep_size_and_not() {
        let mut m = FileModel::new(P);
        m.write(0, &filled(100, 5));
        m.zero(50, 100, true);
        assert_eq!(m.size(), 100);
        assert!(m.data()[50..].iter().all(|&b| b == 0));
        m.zero(90, P, false);
        assert_eq!(m.size(), 90 + P);
        assert_eq!(m.alloc_pages(), 2);
        assert!(m.data()[..50].iter().all(|&b| b == 5));
    }

    #[test]
    fn prealloc_extends_only_without_keep() {
        let mut m = FileModel::new(P);
        m.prealloc(10, 20, true);
        assert_eq!(m.size(), 0);
        m.prealloc(10, 20, false);
        assert_eq!(m.size(), 30);
        assert!(m.data().iter().all(|&b| b == 0));
        assert_eq!(m.alloc_extents(), vec![(0, 30)]);
        assert!(m.nonzero_pages().is_empty());
    }

    #[test]
    fn truncate_down_frees_and_up_zeroes() {
        let mut m = FileModel::new(P);
        m.write(0, &filled(3 * P as usize, 1));
        m.prealloc(5 * P, P, true);
        m.truncate(P + 1);
        assert_eq!(m.size(), P + 1);
        assert_eq!(m.alloc_pages(), 2);
        m.truncate(3 * P);
        assert!(m.data()[(P + 1) as usize..].iter().all(|&b| b == 0));
        assert_eq!(m.data()[P as usize], 1);
        assert_eq!(m.alloc_pages(), 2);
        m.truncate(0);
        assert_eq!(m.alloc_pages(), 0);
        assert_eq!(m.size(), 0);
    }

    #[test]
    fn truncate_up_keeps_preallocated_blocks_past_eof() {
        let mut m = FileModel::new(P);
        m.prealloc(2 * P, P, true);
        m.truncate(4 * P);
        assert_eq!(m.alloc_extents(), vec![(2 * P, 3 * P)]);
    }

    #[test]
    fn store_past_eof_is_not_data() {
        let mut m = FileModel::new(P);
        m.write(0, &filled(100, 3));
        m.store(90, &filled(50, 8));
        assert_eq!(m.size(), 100);
        assert!(m.data()[90..].iter().all(|&b| b == 8));
        assert!(m.tail_garbage);
        // Growing within the page keeps the rest of the page suspect; a
        // write into the next page does not.
        m.write(200, &[1]);
        assert!(m.tail_garbage);
        assert!(m.data()[100..200].iter().all(|&b| b == 0));
        m.write(P + 5, &[1]);
        assert!(!m.tail_garbage);
        m.store(P + 5, &[2, 2]);
        assert!(m.tail_garbage);
        m.truncate(P + 2);
        assert!(!m.tail_garbage);
    }

    #[test]
    fn injected_bug_keeps_the_punch_head() {
        let mut m = FileModel::new(P);
        m.bug_punch_edge = true;
        m.write(0, &filled(2 * P as usize, 4));
        m.punch(10, P);
        assert!(m.data()[10..P as usize].iter().all(|&b| b == 4));
        assert!(m.data()[P as usize..(P + 10) as usize]
            .iter()
            .all(|&b| b == 0));
    }
}
