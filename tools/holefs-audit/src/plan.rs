// SPDX-License-Identifier: GPL-2.0
//! The covering set of cells.
//!
//! The full product op x geometry x racer has 270 cells; the plan is a
//! pairwise covering set instead: every (op, geometry), (op, racer) and
//! (geometry, racer) pair appears in at least one cell.  The cells an
//! operation refuses by definition (`geometry::structural_skip`) are listed
//! once per (op, geometry) pair and run as SKIP; they cover nothing else.
//! The rest is chosen greedily (each step the cell that covers the most
//! uncovered pairs, ties to the first in axis order), which gives 54-60
//! cells, close to the lower bound of 9 x 6 = 54.
//!
//! The quick plan has one cell per operation, with geometry and racer
//! rotating so that each geometry and each racer appears at least once,
//! and one more: the operation paired with `fault-1page` (which needs
//! debugfs) also runs with `fault-around`.
//!
//! The control of an operation uses the first cell of that operation in
//! the plan that is not a structural skip and, if it has one, whose racer
//! needs no debugfs.

use crate::axes::{Geometry, Op, Racer};
use crate::geometry::structural_skip;
use std::collections::HashSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cell {
    pub op: Op,
    pub geometry: Geometry,
    pub racer: Racer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Pair {
    OpGeo(Op, Geometry),
    OpRacer(Op, Racer),
    GeoRacer(Geometry, Racer),
}

fn pairs(c: &Cell) -> [Pair; 3] {
    [
        Pair::OpGeo(c.op, c.geometry),
        Pair::OpRacer(c.op, c.racer),
        Pair::GeoRacer(c.geometry, c.racer),
    ]
}

fn all_cells() -> Vec<Cell> {
    let mut v = Vec::new();
    for &op in Op::ALL {
        for &geometry in Geometry::ALL {
            for &racer in Racer::ALL {
                v.push(Cell {
                    op,
                    geometry,
                    racer,
                });
            }
        }
    }
    v
}

/// The pairwise covering set.
pub fn full() -> Vec<Cell> {
    let cells = all_cells();
    let (skips, runnable): (Vec<Cell>, Vec<Cell>) = cells
        .into_iter()
        .partition(|c| structural_skip(c.op, c.geometry).is_some());
    let mut plan: Vec<Cell> = Vec::new();
    let mut uncovered: HashSet<Pair> = runnable.iter().flat_map(pairs).collect();
    for c in &skips {
        if !plan
            .iter()
            .any(|p| p.op == c.op && p.geometry == c.geometry)
        {
            plan.push(*c);
        }
    }
    while !uncovered.is_empty() {
        let gain = |c: &Cell| pairs(c).iter().filter(|p| uncovered.contains(p)).count();
        let best = runnable
            .iter()
            .copied()
            .max_by_key(|c| (gain(c), std::cmp::Reverse((c.op, c.geometry, c.racer))))
            .expect("runnable cells cover every uncovered pair");
        for p in pairs(&best) {
            uncovered.remove(&p);
        }
        plan.push(best);
    }
    plan.sort_by_key(|c| (c.op, c.geometry, c.racer));
    plan
}

/// The racer of each operation's quick cell, in `Op::ALL` order: every
/// racer at least once, and `fault-1page` (which needs debugfs) with an
/// operation that also gets a `fault-around` cell.
const QUICK_RACERS: [Racer; 9] = [
    Racer::FaultAround, // punch
    Racer::Read,        // zero
    Racer::Fault1Page,  // collapse (and fault-around below)
    Racer::WriteFault,  // insert
    Racer::Readahead,   // truncate
    Racer::Splice,      // dio-write
    Racer::FaultAround, // madv-remove
    Racer::Read,        // clone
    Racer::WriteFault,  // copy-range
];

/// One cell per operation, every geometry and racer at least once, plus a
/// `fault-around` cell for the operation whose cell needs debugfs, so that
/// every operation runs where `fault_around_bytes` cannot be set.
pub fn quick() -> Vec<Cell> {
    let geos = Geometry::ALL.len();
    let mut used = vec![0usize; geos];
    let mut plan = Vec::new();
    for (i, &op) in Op::ALL.iter().enumerate() {
        // The least used runnable geometry, rotating from the op's index.
        let k = (0..geos)
            .map(|k| (i + k) % geos)
            .filter(|&k| structural_skip(op, Geometry::ALL[k]).is_none())
            .min_by_key(|&k| used[k])
            .expect("every operation has a runnable geometry");
        used[k] += 1;
        let cell = Cell {
            op,
            geometry: Geometry::ALL[k],
            racer: QUICK_RACERS[i],
        };
        plan.push(cell);
        if cell.racer == Racer::Fault1Page {
            plan.push(Cell {
                racer: Racer::FaultAround,
                ..cell
            });
        }
    }
    plan
}

/// The control cell of every operation in `plan`: its first runnable cell,
/// preferring racers that need no debugfs.
pub fn controls(plan: &[Cell]) -> Vec<Cell> {
    Op::ALL
        .iter()
        .filter_map(|&op| {
            let runnable = |c: &&Cell| c.op == op && structural_skip(c.op, c.geometry).is_none();
            let mut cells = plan.iter().filter(runnable);
            let first = cells.clone().next().copied();
            cells
                .find(|c| c.racer != Racer::Fault1Page)
                .copied()
                .or(first)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_plan_covers_every_pair_with_a_runnable_cell() {
        let plan = full();
        let run: Vec<&Cell> = plan
            .iter()
            .filter(|c| structural_skip(c.op, c.geometry).is_none())
            .collect();
        for &op in Op::ALL {
            for &g in Geometry::ALL {
                let covered = plan.iter().any(|c| c.op == op && c.geometry == g);
                assert!(covered, "{op} {g}");
                if structural_skip(op, g).is_none() {
                    assert!(
                        run.iter().any(|c| c.op == op && c.geometry == g),
                        "{op} {g}"
                    );
                }
            }
            for &r in Racer::ALL {
                assert!(run.iter().any(|c| c.op == op && c.racer == r), "{op} {r}");
            }
        }
        for &g in Geometry::ALL {
            for &r in Racer::ALL {
                assert!(
                    run.iter().any(|c| c.geometry == g && c.racer == r),
                    "{g} {r}"
                );
            }
        }
        let unique: HashSet<&Cell> = plan.iter().collect();
        assert_eq!(unique.len(), plan.len());
        assert!(plan.len() <= 66, "{} cells", plan.len());
    }

    #[test]
    fn quick_plan_has_every_op_once_and_every_axis_value() {
        let q = quick();
        assert_eq!(q.len(), Op::ALL.len() + 1);
        for &op in Op::ALL {
            let cells: Vec<&Cell> = q.iter().filter(|c| c.op == op).collect();
            assert!(!cells.is_empty(), "{op}");
            assert!(cells
                .iter()
                .all(|c| structural_skip(c.op, c.geometry).is_none()));
            assert!(cells.iter().any(|c| c.racer != Racer::Fault1Page), "{op}");
        }
        for &g in Geometry::ALL {
            assert!(q.iter().any(|c| c.geometry == g), "{g}");
        }
        for &r in Racer::ALL {
            assert!(q.iter().any(|c| c.racer == r), "{r}");
        }
    }

    #[test]
    fn one_runnable_control_per_op() {
        for plan in [full(), quick()] {
            let c = controls(&plan);
            assert_eq!(c.len(), Op::ALL.len());
            assert!(c
                .iter()
                .all(|c| structural_skip(c.op, c.geometry).is_none()));
            assert!(c.iter().all(|c| c.racer != Racer::Fault1Page));
        }
    }
}
