// SPDX-License-Identifier: GPL-2.0
//! Where an operation's range lies in the file under test, per geometry.
//!
//! The file is 1 MiB plus 16 pages.  Each iteration places the range at a
//! page chosen by the cell's PRNG (a range inside a large folio, at its
//! start or at its end, all get their turn):
//!
//! - `page`: one page.
//! - `multi`: 8 pages, page-aligned.
//! - `unaligned`: from byte 1003 of a page to byte 2029 of the page three
//!   pages later (partial words and partial pages at both ends); for
//!   dio-write from byte 1536 to byte 2560 instead (O_DIRECT needs 512-byte
//!   alignment).
//! - `whole`: 1 MiB, page-aligned.
//! - `eof`: from a page boundary two pages before EOF to EOF; for the ops
//!   that accept an unaligned range the file is 1536 bytes shorter, so the
//!   EOF page is a partial page.
//!
//! The window is the part of the file that is refilled, raced over and
//! checked: the range's pages plus one page on each side, and for the
//! operations that move data or cut the file (collapse, insert, truncate)
//! everything up to EOF.

use crate::axes::{Geometry, Op};

const MIB: u64 = 1 << 20;
const MULTI_PAGES: u64 = 8;

/// One iteration's range and window; byte offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub start: u64,
    pub end: u64,
    /// File size before the operation.
    pub size: u64,
    /// Refilled and raced over: `[win_start, win_end)`, `win_start`
    /// page-aligned, `win_end <= size`.
    pub win_start: u64,
    pub win_end: u64,
    /// Checked: `[win_start, check_end)`; past `win_end` only for insert.
    pub check_end: u64,
}

/// The file size for every geometry but `eof`.
pub fn file_size(page: u64) -> u64 {
    MIB + 16 * page
}

/// The largest size a file or mapping reaches in any cell.
pub fn max_size(page: u64) -> u64 {
    file_size(page) + MIB
}

/// Cells that cannot be expressed: the operation refuses such a range by
/// its definition, on every filesystem.
pub fn structural_skip(op: Op, geo: Geometry) -> Option<&'static str> {
    match (op, geo) {
        (Op::Collapse | Op::Insert | Op::Clone, Geometry::Unaligned) => {
            Some("the operation needs an offset and length aligned to the filesystem block")
        }
        (Op::MadvRemove, Geometry::Unaligned) => {
            Some("madvise() takes a page-aligned start: no partial first page")
        }
        (Op::Collapse, Geometry::Eof) => {
            Some("COLLAPSE_RANGE may not reach EOF (EINVAL by its definition)")
        }
        _ => None,
    }
}

fn round_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
}

/// The layout of one iteration; `pick` is a random number choosing the
/// position.  The caller has checked `structural_skip`.
pub fn layout(op: Op, geo: Geometry, page: u64, pick: u64) -> Layout {
    let size0 = file_size(page);
    let npages = size0 / page;
    // A page index in [lo, hi].
    let at = |lo: u64, hi: u64| lo + pick % (hi - lo + 1);
    let (start, end, size) = match geo {
        Geometry::Page => {
            let b = at(1, npages - 2);
            (b * page, (b + 1) * page, size0)
        }
        Geometry::Multi => {
            let b = at(1, npages - MULTI_PAGES - 1);
            (b * page, (b + MULTI_PAGES) * page, size0)
        }
        Geometry::Unaligned => {
            let b = at(1, npages - 5);
            let (head, tail) = if op == Op::DioWrite {
                (1536, 2560)
            } else {
                (1003, 2029)
            };
            (b * page + head, (b + 3) * page + tail, size0)
        }
        Geometry::Whole => {
            let b = at(1, npages - MIB / page - 1);
            (b * page, b * page + MIB, size0)
        }
        Geometry::Eof => {
            let size = match op {
                Op::Insert | Op::Clone | Op::Collapse => size0,
                _ => size0 - 1536,
            };
            ((size / page - 2) * page, size, size)
        }
    };
    let win_start = (start / page).saturating_sub(1) * page;
    let win_end = match op {
        Op::Collapse | Op::Insert | Op::Truncate => size,
        _ => (round_up(end, page) + page).min(size),
    };
    let check_end = if op == Op::Insert {
        size + (end - start)
    } else {
        win_end
    };
    Layout {
        start,
        end,
        size,
        win_start,
        win_end,
        check_end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = 4096;

    #[test]
    fn every_layout_fits_and_has_its_shape() {
        for &op in Op::ALL {
            for &geo in Geometry::ALL {
                if structural_skip(op, geo).is_some() {
                    continue;
                }
                for pick in 0..600 {
                    let l = layout(op, geo, P, pick);
                    assert!(l.start < l.end && l.end <= l.size, "{op} {geo} {l:?}");
                    assert!(l.win_start <= l.start && l.win_start.is_multiple_of(P));
                    assert!(l.win_end >= l.end.min(l.size) && l.win_end <= l.size);
                    assert!(l.check_end <= max_size(P));
                    let len = l.end - l.start;
                    match geo {
                        Geometry::Page => assert_eq!(len, P),
                        Geometry::Multi => assert_eq!(len, MULTI_PAGES * P),
                        Geometry::Whole => assert_eq!(len, MIB),
                        Geometry::Eof => assert_eq!(l.end, l.size),
                        Geometry::Unaligned => {
                            assert_ne!(l.start % P, 0);
                            assert_ne!(l.end % P, 0);
                        }
                    }
                    if matches!(op, Op::Collapse | Op::Insert | Op::Clone) {
                        assert_eq!(l.start % P, 0);
                        assert_eq!(len % P, 0);
                    }
                    if op == Op::DioWrite {
                        assert_eq!(l.start % 512, 0);
                        assert_eq!(l.end % 512, 0);
                    }
                    if op == Op::MadvRemove {
                        assert_eq!(l.start % P, 0);
                    }
                }
            }
        }
    }

    #[test]
    fn positions_vary_and_eof_pages_are_partial() {
        let a = layout(Op::Punch, Geometry::Page, P, 0);
        let b = layout(Op::Punch, Geometry::Page, P, 1);
        assert_ne!(a.start, b.start);
        let e = layout(Op::Punch, Geometry::Eof, P, 0);
        assert_ne!(e.size % P, 0);
        assert_eq!(layout(Op::Insert, Geometry::Eof, P, 0).size % P, 0);
        let i = layout(Op::Insert, Geometry::Multi, P, 3);
        assert_eq!(i.check_end, i.size + MULTI_PAGES * P);
        assert_eq!(
            layout(Op::Truncate, Geometry::Page, P, 3).win_end,
            file_size(P)
        );
    }
}
