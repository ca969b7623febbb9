// SPDX-License-Identifier: GPL-2.0
//! The three axes of a cell: the operation under test, the geometry of its
//! range, and the racer that re-creates page cache while it runs.

use clap::ValueEnum;
use std::fmt;

/// A page-cache-invalidating operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub enum Op {
    /// fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE): zeros.
    Punch,
    /// fallocate(FALLOC_FL_ZERO_RANGE): zeros.
    Zero,
    /// fallocate(FALLOC_FL_COLLAPSE_RANGE): the data after the range moves down.
    Collapse,
    /// fallocate(FALLOC_FL_INSERT_RANGE): a hole at the range, data moves up.
    Insert,
    /// ftruncate() down to the range start and back up: zeros past the cut.
    Truncate,
    /// An O_DIRECT write of new data over the (cached) range.
    DioWrite,
    /// madvise(MADV_REMOVE) on a shared mapping of the range: zeros.
    MadvRemove,
    /// ioctl(FICLONERANGE) from a second file: the source's data.
    Clone,
    /// copy_file_range() from a second file: the source's data.
    CopyRange,
}

/// Where the operation's range lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub enum Geometry {
    /// One page.
    Page,
    /// A page-aligned range of several pages.
    Multi,
    /// Start and end inside pages: partial pages at both ends.
    Unaligned,
    /// A whole 1 MiB range.
    Whole,
    /// A range that ends at end of file.
    Eof,
}

/// What the racer threads do to re-create page cache over the range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub enum Racer {
    /// Read faults through a shared mapping (with the kernel's fault-around).
    FaultAround,
    /// Read faults with fault_around_bytes set to one page.
    #[value(name = "fault-1page")]
    Fault1Page,
    /// Write faults: stores of a racer stamp through a shared mapping.
    WriteFault,
    /// pread(2).
    Read,
    /// readahead(2), POSIX_FADV_WILLNEED and MADV_WILLNEED in turn.
    Readahead,
    /// splice(2) and sendfile(2) into a pipe, read back and checked.
    Splice,
}

macro_rules! named {
    ($t:ty, $($v:ident => $n:literal),+ $(,)?) => {
        impl $t {
            pub const ALL: &'static [$t] = &[$(<$t>::$v),+];

            pub fn name(self) -> &'static str {
                match self {
                    $(<$t>::$v => $n),+
                }
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named!(Op,
    Punch => "punch", Zero => "zero", Collapse => "collapse", Insert => "insert",
    Truncate => "truncate", DioWrite => "dio-write", MadvRemove => "madv-remove",
    Clone => "clone", CopyRange => "copy-range");
named!(Geometry,
    Page => "page", Multi => "multi", Unaligned => "unaligned", Whole => "whole", Eof => "eof");
named!(Racer,
    FaultAround => "fault-around", Fault1Page => "fault-1page", WriteFault => "write-fault",
    Read => "read", Readahead => "readahead", Splice => "splice");

#[cfg(test)]
mod tests {
    use super::*;

    fn same_names<T: ValueEnum + Copy>(all: &[T], name: fn(T) -> &'static str) {
        assert_eq!(all.len(), T::value_variants().len());
        for v in all {
            let pv = v.to_possible_value().expect("no skipped variants");
            assert_eq!(pv.get_name(), name(*v));
        }
    }

    #[test]
    fn names_match_the_command_line() {
        same_names(Op::ALL, Op::name);
        same_names(Geometry::ALL, Geometry::name);
        same_names(Racer::ALL, Racer::name);
        assert_eq!(Op::DioWrite.to_string(), "dio-write");
        assert_eq!(Racer::Fault1Page.to_string(), "fault-1page");
    }
}
