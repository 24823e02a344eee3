//! The map's walls bucketed by cell, built once per world: "is this point within `reach` of a
//! wall" checks the walls near the point instead of all of them (thousands of projectiles
//! against over a hundred walls on the field map, every tick). The answer is the plain scan's.

use crate::map::{MapDef, Point};
use crate::quantize::POS_SCALE;

/// Cell side in position quanta.
const CELL: i32 = 4 * POS_SCALE;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WallGrid {
    cols: i32,
    rows: i32,
    /// The reach the cells were filled for: a wall is listed in every cell it comes within
    /// `reach` of.
    reach: i32,
    /// Cell `c` lists `walls[starts[c]..starts[c + 1]]` (indices into the map's walls).
    starts: Vec<u32>,
    walls: Vec<u16>,
}

impl WallGrid {
    pub fn new(map: &MapDef, reach: i32) -> WallGrid {
        let cols = (map.width / CELL + 1).max(1);
        let rows = (map.height / CELL + 1).max(1);
        let mut cells: Vec<Vec<u16>> = vec![Vec::new(); (cols * rows) as usize];
        for (i, w) in map.walls.iter().enumerate() {
            let clamp_c = |x: i32| (x.div_euclid(CELL)).clamp(0, cols - 1);
            let clamp_r = |y: i32| (y.div_euclid(CELL)).clamp(0, rows - 1);
            let (c0, c1) = (clamp_c(w.x - reach), clamp_c(w.right() + reach));
            let (r0, r1) = (clamp_r(w.y - reach), clamp_r(w.bottom() + reach));
            for r in r0..=r1 {
                for c in c0..=c1 {
                    // A validated map has far fewer than 65,536 walls.
                    cells[(r * cols + c) as usize].push(i as u16);
                }
            }
        }
        let mut starts = Vec::with_capacity(cells.len() + 1);
        let mut walls = Vec::new();
        starts.push(0);
        for cell in cells {
            walls.extend(cell);
            starts.push(walls.len() as u32);
        }
        WallGrid {
            cols,
            rows,
            reach,
            starts,
            walls,
        }
    }

    /// Whether `p` (inside the map) is closer than the grid's reach to any wall of `map`.
    pub fn near_wall(&self, map: &MapDef, p: Point) -> bool {
        let c = (p.x.div_euclid(CELL)).clamp(0, self.cols - 1);
        let r = (p.y.div_euclid(CELL)).clamp(0, self.rows - 1);
        let cell = (r * self.cols + c) as usize;
        let reach2 = i64::from(self.reach).pow(2);
        let (from, to) = (self.starts[cell] as usize, self.starts[cell + 1] as usize);
        self.walls[from..to]
            .iter()
            .any(|&i| map.walls[usize::from(i)].distance_sq(p) < reach2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_answers_like_a_scan_of_every_wall() {
        let map =
            MapDef::from_json(include_str!("../../../assets/maps/field.json")).expect("field map");
        let reach = 150;
        let grid = WallGrid::new(&map, reach);
        let mut checked = 0;
        for x in (0..map.width).step_by(997) {
            for y in (0..map.height).step_by(991) {
                let p = Point { x, y };
                let scan = map
                    .walls
                    .iter()
                    .any(|w| w.distance_sq(p) < i64::from(reach).pow(2));
                assert_eq!(grid.near_wall(&map, p), scan, "at {p:?}");
                checked += usize::from(scan);
            }
        }
        assert!(checked > 100, "only {checked} points near walls");
    }
}
