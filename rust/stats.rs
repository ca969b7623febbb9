// SPDX-License-Identifier: GPL-2.0

//! Per-mount event counters, shown in `/sys/fs/holefs/<id>/stats`.
//!
//! Relaxed atomics: the fault paths bump them without ordering against
//! anything, so they cost one uncontended-ish atomic add and do not change
//! the locking they observe.  Plain `core` code (host-tested).

#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// One event counter.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(usize)]
        pub(crate) enum Counter {
            $($(#[$doc])* $variant,)*
        }

        impl Counter {
            /// Every counter, in the order `stats` lists them.
            pub(crate) const ALL: &'static [Counter] = &[$(Counter::$variant,)*];

            /// The counter's name in `stats`.
            pub(crate) const fn name(self) -> &'static str {
                match self {
                    $(Counter::$variant => $name,)*
                }
            }
        }
    };
}

counters! {
    /// Folios filled by `->read_folio`.
    ReadFolio => "read_folio",
    /// Folios filled by `->readahead`.
    ReadaheadFolios => "readahead_folios",
    /// Folios written to the store by `->writepages`.
    WritebackFolios => "writeback_folios",
    /// Blocks allocated in the store.
    BlocksAllocated => "blocks_allocated",
    /// Calls of `->fault`.
    FaultCalls => "fault_calls",
    /// Calls of `->map_pages`.
    MapPagesCalls => "map_pages_calls",
    /// Pages mapped by `->map_pages` (approximate under concurrency).
    MapPagesPages => "map_pages_pages",
    /// `->map_pages` calls that found `invalidate_lock` taken (trylock policy).
    MapPagesTrylockFailed => "map_pages_trylock_failed",
    /// Folios instantiated by the unlocked `->fault` slow path.
    UnlockedFaultFolios => "unlocked_fault_folios",
    /// Calls of `->page_mkwrite`.
    PageMkwriteCalls => "page_mkwrite_calls",
    /// Hole punches.
    Punches => "punches",
    /// FALLOC_FL_ZERO_RANGE calls.
    ZeroRanges => "zero_ranges",
    /// Mode-0 (preallocation) fallocate calls.
    Preallocs => "preallocs",
    /// Blocks freed by hole punch.
    PunchBlocksFreed => "punch_blocks_freed",
}

/// The counters of one mount.
pub(crate) struct Stats {
    values: [AtomicU64; Counter::ALL.len()],
}

impl Stats {
    /// All counters zero.
    pub(crate) const fn new() -> Self {
        Stats {
            values: [const { AtomicU64::new(0) }; Counter::ALL.len()],
        }
    }

    /// Adds `n` to counter `c`.
    #[inline]
    pub(crate) fn add(&self, c: Counter, n: u64) {
        self.values[c as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one to counter `c`.
    #[inline]
    pub(crate) fn inc(&self, c: Counter) {
        self.add(c, 1);
    }

    /// Current value of counter `c`.
    pub(crate) fn get(&self, c: Counter) -> u64 {
        self.values[c as usize].load(Ordering::Relaxed)
    }

    /// Zeroes every counter.
    pub(crate) fn reset(&self) {
        for v in &self.values {
            v.store(0, Ordering::Relaxed);
        }
    }
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}
