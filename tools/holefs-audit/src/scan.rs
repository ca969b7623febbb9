// SPDX-License-Identifier: GPL-2.0
//! Checking a view (a run of words read back one way) against a
//! postcondition, and collecting what one iteration found.

use crate::expect::{Bad, Post};
use std::collections::BTreeMap;

/// What one view showed: its violating words, the first one and where.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    pub bad_words: u64,
    pub first: Option<(Bad, &'static str)>,
    pub parts: BTreeMap<&'static str, u64>,
}

impl Scan {
    /// Check `words`, the view's words from word index `idx0` on.
    pub fn of(post: &Post, page: u64, idx0: u64, words: impl Iterator<Item = u64>) -> Scan {
        let mut s = Scan::default();
        for (i, v) in words.enumerate() {
            s.word(post, page, idx0 + i as u64, v);
        }
        s
    }

    /// Check one word.
    pub fn word(&mut self, post: &Post, page: u64, idx: u64, v: u64) {
        if let Some(bad) = post.check(idx, v) {
            let part = post.region(idx, page);
            self.bad_words += 1;
            *self.parts.entry(part).or_default() += 1;
            self.first.get_or_insert((bad, part));
        }
    }

    /// Add another scan of the same view.
    pub fn merge(&mut self, o: Scan) {
        self.bad_words += o.bad_words;
        for (k, v) in o.parts {
            *self.parts.entry(k).or_default() += v;
        }
        if self.first.is_none() {
            self.first = o.first;
        }
    }
}

/// A view that found violating words in one iteration: one detection.
#[derive(Clone, Debug)]
pub struct Finding {
    pub view: String,
    pub scan: Scan,
}

impl Finding {
    /// `<view>:<part>`, the record's `first_view`.
    pub fn where_(&self) -> String {
        let part = self.scan.first.map_or("?", |f| f.1);
        format!("{}:{part}", self.view)
    }

    /// One sentence on the first violating word.
    pub fn describe(&self) -> String {
        match self.scan.first {
            Some((b, part)) => format!(
                "{} word at offset {:#x} ({} page) in {}: {:#018x}, expected {:#018x}; {} bad words",
                b.class,
                b.idx * 8,
                part,
                self.view,
                b.value,
                b.expected,
                self.scan.bad_words
            ),
            None => format!("{}: no violating word", self.view),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::axes::Op;
    use crate::stamp::{stamp, Kind};

    #[test]
    fn scan_counts_parts_and_keeps_the_first() {
        let post = Post {
            op: Some(Op::Punch),
            start: 4096,
            end: 3 * 4096,
            size: 4 * 4096,
            gen: 3,
            racer_slot_words: 0,
        };
        // Old data everywhere: the two pages of the range are stale.
        let s = Scan::of(&post, 4096, 0, (0..2048).map(|i| stamp(Kind::Old, 3, i)));
        assert_eq!(s.bad_words, 1024);
        assert_eq!(s.parts["first"], 512);
        assert_eq!(s.parts["last"], 512);
        let (b, part) = s.first.unwrap();
        assert_eq!((b.idx, b.class, part), (512, "stale", "first"));
        let f = Finding {
            view: "pread".into(),
            scan: s,
        };
        assert_eq!(f.where_(), "pread:first");
        assert!(f
            .describe()
            .starts_with("stale word at offset 0x1000 (first page) in pread"));
        // The postcondition itself scans clean.
        let ok = Scan::of(&post, 4096, 0, (0..2048).map(|i| post.expected(i)));
        assert_eq!(ok.bad_words, 0);
        assert!(ok.first.is_none());
    }
}
