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
    /// Check `words`, the view's words from word index `idx0` on.  A page
    /// whose racer slot is in the view is judged with it: an `O_DIRECT`
    /// write's page the racer stored into may keep the old data
    /// ([`Post::dio_collision`]).
    pub fn of(post: &Post, page: u64, idx0: u64, words: impl Iterator<Item = u64>) -> Scan {
        let words: Vec<u64> = words.collect();
        let wpp = page / 8;
        let collided = |idx: u64| {
            let slot = idx - idx % wpp + 1;
            slot >= idx0
                && words
                    .get((slot - idx0) as usize)
                    .is_some_and(|&v| post.dio_collision(slot, v))
        };
        let mut s = Scan::default();
        for (i, &v) in words.iter().enumerate() {
            let idx = idx0 + i as u64;
            s.word_in(post, page, idx, v, wpp > 1 && collided(idx));
        }
        s
    }

    /// Check one word.
    pub fn word(&mut self, post: &Post, page: u64, idx: u64, v: u64) {
        self.word_in(post, page, idx, v, false)
    }

    fn word_in(&mut self, post: &Post, page: u64, idx: u64, v: u64, collided: bool) {
        if let Some(bad) = post.check_in(idx, v, collided) {
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

    /// A view of pages 0..4 where page 1 (inside the range) holds the old
    /// data and `slot` at its racer slot, the rest the postcondition.
    fn view_with_old_page(post: &Post, slot: u64) -> Vec<u64> {
        (0..2048u64)
            .map(|i| match i {
                513 => slot,
                512..1024 => stamp(Kind::Old, post.gen, i),
                _ => post.expected(i),
            })
            .collect()
    }

    #[test]
    fn a_dio_write_page_the_racer_stored_into_may_keep_the_old_data() {
        let mut post = Post {
            op: Some(Op::DioWrite),
            start: 4096 + 24,
            end: 3 * 4096,
            size: 4 * 4096,
            gen: 5,
            racer_slot_words: 512,
        };
        let scan = |post: &Post, slot: u64| {
            Scan::of(post, 4096, 0, view_with_old_page(post, slot).into_iter())
        };
        // This generation's racer stamp in the page: a collision, not a
        // detection.
        assert_eq!(scan(&post, stamp(Kind::Racer, 5, 513)).bad_words, 0);
        // No store in the page (the slot, before the range, is old data):
        // the 509 words of the range in it are stale.
        let s = scan(&post, stamp(Kind::Old, 5, 513));
        assert_eq!(s.bad_words, 509);
        assert_eq!(s.first.unwrap().0.class, "stale");
        // A stamp of another generation does not excuse the page (and is
        // itself wrong).
        assert_eq!(scan(&post, stamp(Kind::Racer, 4, 513)).bad_words, 510);
        // Nor does a racer stamp excuse data that is not the old data.
        let mut v = view_with_old_page(&post, stamp(Kind::Racer, 5, 513));
        v[600] = stamp(Kind::Old, 4, 600);
        v[601] = 0;
        let s = Scan::of(&post, 4096, 0, v.into_iter());
        assert_eq!(s.bad_words, 2);
        assert_eq!(s.first.unwrap().0.class, "previous");
        // Nor old data in another page than the one stored into.
        let mut v = view_with_old_page(&post, stamp(Kind::Racer, 5, 513));
        v[1100] = stamp(Kind::Old, 5, 1100);
        assert_eq!(Scan::of(&post, 4096, 0, v.into_iter()).bad_words, 1);
        // A view that starts after the page's slot judges it whole.
        let v = view_with_old_page(&post, stamp(Kind::Racer, 5, 513));
        assert_eq!(
            Scan::of(&post, 4096, 514, v[514..].iter().copied()).bad_words,
            509
        );
        // Only O_DIRECT writes: a punch keeps its full postcondition.
        post.op = Some(Op::Punch);
        assert_eq!(scan(&post, stamp(Kind::Racer, 5, 513)).bad_words, 509);
    }
}
