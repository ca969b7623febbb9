// SPDX-License-Identifier: GPL-2.0
//! Delta debugging (ddmin, complements only): remove chunks of operations
//! while the failure still reproduces, halving the chunks when no chunk can
//! go, until single operations cannot be removed or time runs out.

use std::time::Instant;

/// Shrinks `items` while `fails` holds, until `deadline`.  `fails(items)`
/// must hold on entry.  Returns the smallest failing list found and the
/// number of trials.
pub fn ddmin<T: Clone>(
    mut items: Vec<T>,
    deadline: Instant,
    mut fails: impl FnMut(&[T]) -> bool,
) -> (Vec<T>, u64) {
    let mut trials = 0;
    let mut n = 2usize;
    while items.len() >= 2 && Instant::now() < deadline {
        let len = items.len();
        let chunk = len.div_ceil(n);
        let mut reduced = false;
        let mut start = 0;
        while start < len {
            if Instant::now() >= deadline {
                return (items, trials);
            }
            let end = (start + chunk).min(len);
            let candidate: Vec<T> = items[..start]
                .iter()
                .chain(&items[end..])
                .cloned()
                .collect();
            trials += 1;
            if fails(&candidate) {
                items = candidate;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
            start = end;
        }
        if !reduced {
            if n >= len {
                break;
            }
            n = (2 * n).min(len);
        }
    }
    (items, trials)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn finds_the_two_culprits() {
        let items: Vec<u32> = (0..100).collect();
        let (min, trials) = ddmin(items, far(), |v| v.contains(&17) && v.contains(&83));
        assert_eq!(min, vec![17, 83]);
        assert!(trials > 0);
    }

    #[test]
    fn order_dependent_failure() {
        // Fails when a 3 comes somewhere before a 5.
        let items = vec![5, 1, 3, 9, 5, 2, 3];
        let fails = |v: &[i32]| {
            v.iter()
                .position(|&x| x == 3)
                .is_some_and(|i| v[i..].contains(&5))
        };
        let (min, _) = ddmin(items, far(), fails);
        assert_eq!(min, vec![3, 5]);
    }

    #[test]
    fn stops_at_the_deadline() {
        let items: Vec<u32> = (0..1000).collect();
        let (min, trials) = ddmin(items.clone(), Instant::now(), |_| true);
        assert_eq!(min, items);
        assert_eq!(trials, 0);
    }
}
