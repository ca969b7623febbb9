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
//!
//! On a filesystem whose file sizes come in units larger than a page
//! (hugetlbfs: the huge page; `unit` below), the geometry follows that
//! unit where an operation needs it and stays in pages elsewhere:
//!
//! - the file is 1 MiB plus 16 pages rounded up to the unit, plus one
//!   unit, so that a unit boundary lies inside it;
//! - `whole` is one whole unit at a unit boundary (a hole punch there
//!   removes a huge page; the page-sized ranges only zero part of one);
//! - `eof` ends at the (unit-aligned) EOF: no partial EOF page;
//! - truncate cuts at the unit boundary at or below the range's start
//!   (hugetlbfs refuses any other size with EINVAL).

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

/// The file size for every geometry but `eof`; `unit` is the granularity
/// of file sizes (`page`, or the huge page size on hugetlbfs).
pub fn file_size(page: u64, unit: u64) -> u64 {
    let size = MIB + 16 * page;
    if unit > page {
        round_up(size, unit) + unit
    } else {
        size
    }
}

/// The largest size a file or mapping reaches in any cell, a multiple of
/// `unit`.
pub fn max_size(page: u64, unit: u64) -> u64 {
    round_up(file_size(page, unit) + MIB, unit.max(page))
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
/// position, `unit` the granularity of file sizes (see the module
/// documentation).  The caller has checked `structural_skip`.
pub fn layout(op: Op, geo: Geometry, page: u64, unit: u64, pick: u64) -> Layout {
    let size0 = file_size(page, unit);
    let npages = size0 / page;
    let big = unit > page;
    // A page index in [lo, hi].
    let at = |lo: u64, hi: u64| lo + pick % (hi - lo + 1);
    let (start, end, size) = match geo {
        Geometry::Whole if big => {
            let b = pick % (size0 / unit);
            (b * unit, (b + 1) * unit, size0)
        }
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
                _ if big => size0,
                Op::Insert | Op::Clone | Op::Collapse => size0,
                _ => size0 - 1536,
            };
            ((size / page - 2) * page, size, size)
        }
    };
    let start = if big && op == Op::Truncate {
        start / unit * unit
    } else {
        start
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

    /// Every layout a cell can draw (600 picks of each runnable op and
    /// geometry) in a file of size unit `unit`, each checked to fit: a
    /// nonempty range inside the file, a page-aligned window around it,
    /// checks within the largest file.
    fn runnable_layouts(unit: u64) -> impl Iterator<Item = (Op, Geometry, Layout)> {
        Op::ALL.iter().flat_map(move |&op| {
            Geometry::ALL
                .iter()
                .filter(move |&&geo| structural_skip(op, geo).is_none())
                .flat_map(move |&geo| {
                    (0..600).map(move |pick| {
                        let l = layout(op, geo, P, unit, pick);
                        assert!(l.start < l.end && l.end <= l.size, "{op} {geo} {l:?}");
                        assert!(l.win_start <= l.start && l.win_start.is_multiple_of(P));
                        assert!(l.win_end >= l.end.min(l.size) && l.win_end <= l.size);
                        assert!(l.check_end <= max_size(P, unit));
                        (op, geo, l)
                    })
                })
        })
    }

    #[test]
    fn every_layout_fits_and_has_its_shape() {
        for (op, geo, l) in runnable_layouts(P) {
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

    #[test]
    fn positions_vary_and_eof_pages_are_partial() {
        let a = layout(Op::Punch, Geometry::Page, P, P, 0);
        let b = layout(Op::Punch, Geometry::Page, P, P, 1);
        assert_ne!(a.start, b.start);
        let e = layout(Op::Punch, Geometry::Eof, P, P, 0);
        assert_ne!(e.size % P, 0);
        assert_eq!(layout(Op::Insert, Geometry::Eof, P, P, 0).size % P, 0);
        let i = layout(Op::Insert, Geometry::Multi, P, P, 3);
        assert_eq!(i.check_end, i.size + MULTI_PAGES * P);
        assert_eq!(
            layout(Op::Truncate, Geometry::Page, P, P, 3).win_end,
            file_size(P, P)
        );
    }

    /// hugetlbfs: sizes and truncation cuts are whole huge pages, `whole`
    /// is one huge page, the other ranges stay in pages.
    #[test]
    fn huge_page_units() {
        const H: u64 = 2 << 20;
        assert_eq!(file_size(P, H), 2 * H);
        assert!(max_size(P, H).is_multiple_of(H));
        let (mut cut_at_0, mut cut_inside) = (false, false);
        for (op, geo, l) in runnable_layouts(H) {
            assert!(l.size.is_multiple_of(H), "{op} {geo} {l:?}");
            if op == Op::Truncate {
                assert!(l.start.is_multiple_of(H), "{geo} {l:?}");
                cut_at_0 |= l.start == 0;
                cut_inside |= l.start > 0;
            }
            match geo {
                Geometry::Whole => {
                    assert!(l.start.is_multiple_of(H));
                    assert_eq!(l.end - l.start, H);
                }
                Geometry::Page if op != Op::Truncate => assert_eq!(l.end - l.start, P),
                Geometry::Eof => assert_eq!(l.end, l.size),
                _ => {}
            }
        }
        assert!(cut_at_0 && cut_inside);
    }
}
