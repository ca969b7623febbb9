// SPDX-License-Identifier: GPL-2.0

//! Byte ranges and page arithmetic for fallocate, truncate and lseek.
//!
//! Plain `core` code (host-tested): which fallocate modes holefs supports,
//! how a byte range splits into whole and partial pages, and what
//! `SEEK_DATA`/`SEEK_HOLE` answer given the block map.

#![forbid(unsafe_code)]

use core::ops::Range;

/// `FALLOC_FL_KEEP_SIZE` (uapi/linux/falloc.h).
pub(crate) const FALLOC_FL_KEEP_SIZE: u32 = 0x01;
/// `FALLOC_FL_PUNCH_HOLE`.
pub(crate) const FALLOC_FL_PUNCH_HOLE: u32 = 0x02;
/// `FALLOC_FL_ZERO_RANGE`.
pub(crate) const FALLOC_FL_ZERO_RANGE: u32 = 0x10;

/// A supported fallocate operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FallocOp {
    /// Mode 0 / KEEP_SIZE: allocate blocks.
    Allocate {
        /// Leave `i_size` alone.
        keep_size: bool,
    },
    /// PUNCH_HOLE | KEEP_SIZE: free blocks, zero partial pages.
    PunchHole,
    /// ZERO_RANGE (| KEEP_SIZE): make the range read zeros, allocated.
    ZeroRange {
        /// Leave `i_size` alone.
        keep_size: bool,
    },
}

impl FallocOp {
    /// Decodes an fallocate mode; `None` means EOPNOTSUPP.
    pub(crate) fn from_mode(mode: u32) -> Option<Self> {
        const KEEP: u32 = FALLOC_FL_KEEP_SIZE;
        Some(match mode {
            0 => FallocOp::Allocate { keep_size: false },
            KEEP => FallocOp::Allocate { keep_size: true },
            m if m == FALLOC_FL_PUNCH_HOLE | KEEP => FallocOp::PunchHole,
            FALLOC_FL_ZERO_RANGE => FallocOp::ZeroRange { keep_size: false },
            m if m == FALLOC_FL_ZERO_RANGE | KEEP => FallocOp::ZeroRange { keep_size: true },
            _ => return None,
        })
    }
}

/// A part of one page: `len` bytes from `offset` in page `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PagePart {
    /// Page index.
    pub(crate) index: u64,
    /// First byte within the page.
    pub(crate) offset: usize,
    /// Number of bytes.
    pub(crate) len: usize,
}

/// A non-empty byte range `[start, end)` seen as pages of `1 << shift` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageSpan {
    start: u64,
    end: u64,
    shift: u32,
}

impl PageSpan {
    /// The range `[offset, offset + len)`; `None` if empty or overflowing.
    pub(crate) fn new(offset: u64, len: u64, shift: u32) -> Option<Self> {
        let end = offset.checked_add(len)?;
        (len > 0).then_some(PageSpan {
            start: offset,
            end,
            shift,
        })
    }

    /// First byte.
    pub(crate) fn start(&self) -> u64 {
        self.start
    }

    /// One past the last byte.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    fn page_size(&self) -> u64 {
        1 << self.shift
    }

    /// Pages the range touches at all.
    pub(crate) fn touched_pages(&self) -> Range<u64> {
        (self.start >> self.shift)..((self.end - 1) >> self.shift) + 1
    }

    /// Pages the range covers completely.
    pub(crate) fn full_pages(&self) -> Range<u64> {
        let first = self.start.div_ceil(self.page_size());
        let last = self.end >> self.shift;
        first..last.max(first)
    }

    /// The partially covered pages at the head and the tail (at most two;
    /// one when the range lies within a single page).
    pub(crate) fn partial_pages(&self) -> impl Iterator<Item = PagePart> {
        let ps = self.page_size();
        let mask = ps - 1;
        let first = self.start >> self.shift;
        let last = (self.end - 1) >> self.shift;
        let head = if first == last {
            let part = PagePart {
                index: first,
                offset: (self.start & mask) as usize,
                len: (self.end - self.start) as usize,
            };
            (part.len as u64 != ps).then_some(part)
        } else {
            (self.start & mask != 0).then(|| PagePart {
                index: first,
                offset: (self.start & mask) as usize,
                len: (ps - (self.start & mask)) as usize,
            })
        };
        let tail = (first != last && self.end & mask != 0).then_some(PagePart {
            index: last,
            offset: 0,
            len: (self.end & mask) as usize,
        });
        head.into_iter().chain(tail)
    }
}

/// Splits the whole pages `full` of a punched range into the pages whose
/// blocks are freed and the pages whose blocks are kept (and zeroed)
/// because the page cache still holds them: each range of `kept` is a
/// large folio at one edge of the punch that truncate_inode_partial_folio()
/// zeroed but could not split and kept, dirty.  Such a folio holds the
/// first or the last page the punch touches, so it can only shorten `full`
/// at one end.  Returns the range to free and the (possibly empty) ranges
/// to keep.
pub(crate) fn free_around_kept(
    full: Range<u64>,
    kept: &[Range<u64>],
) -> (Range<u64>, [Range<u64>; 2]) {
    let mut free = full.clone();
    let mut keep = [0..0, 0..0];
    for (slot, k) in keep.iter_mut().zip(kept) {
        let inside = k.start.max(full.start)..k.end.min(full.end);
        if inside.start >= inside.end {
            continue;
        }
        if k.start <= free.start {
            free.start = free.start.max(k.end);
        } else {
            free.end = free.end.min(k.start);
        }
        *slot = inside;
    }
    if free.start > free.end {
        free.end = free.start;
    }
    (free, keep)
}

/// `SEEK_DATA` from `offset` in a file of `size` bytes.  `next_block(i)`
/// returns the first allocated page index `>= i`.  `None` means ENXIO.
pub(crate) fn seek_data(
    offset: u64,
    size: u64,
    shift: u32,
    next_block: impl FnOnce(u64) -> Option<u64>,
) -> Option<u64> {
    if offset >= size {
        return None;
    }
    let index = next_block(offset >> shift)?;
    let pos = offset.max(index << shift);
    (pos < size).then_some(pos)
}

/// `SEEK_HOLE` from `offset` in a file of `size` bytes.  `next_hole(i)`
/// returns the first unallocated page index `>= i`.  `None` means ENXIO.
/// The end of the file counts as a hole.
pub(crate) fn seek_hole(
    offset: u64,
    size: u64,
    shift: u32,
    next_hole: impl FnOnce(u64) -> u64,
) -> Option<u64> {
    if offset >= size {
        return None;
    }
    let index = next_hole(offset >> shift);
    Some(offset.max(index << shift).min(size))
}

/// Number of pages needed to hold `size` bytes.
pub(crate) fn pages_for(size: u64, shift: u32) -> u64 {
    size.div_ceil(1 << shift)
}

/// What a truncate to `new_size` removes from the store: every page from
/// `free_from` on, and in the new last page, if `new_size` ends inside
/// one, the bytes past it (`tail`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TruncateCut {
    /// First page index whose block is freed.
    pub(crate) free_from: u64,
    /// The part of the new last page past `new_size`, to zero.
    pub(crate) tail: Option<PagePart>,
}

impl TruncateCut {
    /// The cut for a new size of `new_size` bytes, pages of `1 << shift`.
    pub(crate) fn new(new_size: u64, shift: u32) -> Self {
        let page = 1u64 << shift;
        let offset = (new_size % page) as usize;
        TruncateCut {
            free_from: pages_for(new_size, shift),
            tail: (offset != 0).then(|| PagePart {
                index: new_size >> shift,
                offset,
                len: page as usize - offset,
            }),
        }
    }
}
