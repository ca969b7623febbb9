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
//! rotating so that each geometry and each racer appears at least once.
//!
//! The control of an operation uses the first cell of that operation in
//! the plan that is not a structural skip.

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
        if !plan.iter().any(|p| p.op == c.op && p.geometry == c.geometry) {
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

/// One cell per operation, every geometry and racer at least once.
pub fn quick() -> Vec<Cell> {
    let mut used = [0usize; 5];
    Op::ALL
        .iter()
        .enumerate()
        .map(|(i, &op)| {
            let geos = Geometry::ALL.len();
            // The least used runnable geometry, rotating from the op's index.
            let k = (0..geos)
                .map(|k| (i + k) % geos)
                .filter(|&k| structural_skip(op, Geometry::ALL[k]).is_none())
                .min_by_key(|&k| used[k])
                .expect("every operation has a runnable geometry");
            used[k] += 1;
            Cell {
                op,
                geometry: Geometry::ALL[k],
                racer: Racer::ALL[i % Racer::ALL.len()],
            }
        })
        .collect()
}

/// The control cell of every operation in `plan`.
pub fn controls(plan: &[Cell]) -> Vec<Cell> {
    Op::ALL
        .iter()
        .filter_map(|&op| {
            plan.iter()
                .copied()
                .find(|c| c.op == op && structural_skip(c.op, c.geometry).is_none())
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
                    assert!(run.iter().any(|c| c.op == op && c.geometry == g), "{op} {g}");
                }
            }
            for &r in Racer::ALL {
                assert!(run.iter().any(|c| c.op == op && c.racer == r), "{op} {r}");
            }
        }
        for &g in Geometry::ALL {
            for &r in Racer::ALL {
                assert!(run.iter().any(|c| c.geometry == g && c.racer == r), "{g} {r}");
            }
        }
        let unique: HashSet<&Cell> = plan.iter().collect();
        assert_eq!(unique.len(), plan.len());
        assert!(plan.len() <= 66, "{} cells", plan.len());
    }

    #[test]
    fn quick_plan_has_every_op_once_and_every_axis_value() {
        let q = quick();
        assert_eq!(q.len(), Op::ALL.len());
        for (c, &op) in q.iter().zip(Op::ALL) {
            assert_eq!(c.op, op);
            assert!(structural_skip(c.op, c.geometry).is_none());
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
            assert!(c.iter().all(|c| structural_skip(c.op, c.geometry).is_none()));
        }
    }
}
