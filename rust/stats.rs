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
    /// Folios of order 0 filled from the store (read_folio, readahead,
    /// the fill before a partial write).
    FilledOrder0 => "folios_filled_order0",
    /// Folios of order 1 filled from the store.
    FilledOrder1 => "folios_filled_order1",
    /// Folios of order 2 filled from the store.
    FilledOrder2 => "folios_filled_order2",
    /// Folios of order 3 filled from the store.
    FilledOrder3 => "folios_filled_order3",
    /// Folios of order 4 filled from the store.
    FilledOrder4 => "folios_filled_order4",
    /// Folios of order 5 filled from the store.
    FilledOrder5 => "folios_filled_order5",
    /// Folios of order 6 filled from the store.
    FilledOrder6 => "folios_filled_order6",
    /// Folios of order 7 filled from the store.
    FilledOrder7 => "folios_filled_order7",
    /// Folios of order 8 filled from the store.
    FilledOrder8 => "folios_filled_order8",
    /// Folios of order 9 or more filled from the store (9 is
    /// `MAX_PAGECACHE_ORDER` with 4 KiB pages on x86-64).
    FilledOrder9 => "folios_filled_order9",
    /// Large folios written back (any order above 0).
    WritebackLargeFolios => "writeback_large_folios",
    /// Pages written back: `writeback_folios` with order-0 folios.
    WritebackPages => "writeback_pages",
    /// Pages filled from the store, in folios of any order.
    PagesFilled => "pages_filled",
    /// Large folios that straddled an edge of a punch, zero range or
    /// truncate: truncate_inode_partial_folio() zeroes the covered part
    /// and tries to split them.
    EdgeFoliosLarge => "edge_folios_large",
    /// Of those, folios found whole in the cache afterwards: the split
    /// failed and the folio was dirty, so it stays with the range zeroed.
    EdgeSplitFailedKept => "edge_split_failed_kept",
    /// Of those, folios gone from the cache afterwards: the split failed
    /// and the folio was clean, so it was dropped whole (or it was
    /// reclaimed meanwhile).
    EdgeSplitFailedDropped => "edge_split_failed_dropped",
    /// Blocks inside a punched range kept (zeroed, not freed) because a
    /// kept edge folio still caches their pages.
    PunchBlocksKept => "punch_blocks_kept",
}

impl Counter {
    /// The `folios_filled_order*` counter for a folio of order `order`.
    pub(crate) fn filled_order(order: u32) -> Counter {
        const BY_ORDER: [Counter; 10] = [
            Counter::FilledOrder0,
            Counter::FilledOrder1,
            Counter::FilledOrder2,
            Counter::FilledOrder3,
            Counter::FilledOrder4,
            Counter::FilledOrder5,
            Counter::FilledOrder6,
            Counter::FilledOrder7,
            Counter::FilledOrder8,
            Counter::FilledOrder9,
        ];
        BY_ORDER[(order as usize).min(BY_ORDER.len() - 1)]
    }
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
