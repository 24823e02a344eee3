//! Interest management: a uniform grid over the map, built once per tick, answering "which
//! entities are inside this rectangle" in time proportional to the answer.

use snapwire_shared::map::{MapDef, Point};

use crate::snapshot_history::Frame;

/// Grid cell side in position quanta (4 units): a 40 x 24 view touches about 11 x 7 cells.
pub const CELL: i32 = 4000;

#[derive(Debug)]
pub struct Grid {
    cols: i32,
    rows: i32,
    /// Per cell, indices into the frame's entity list, ascending.
    cells: Vec<Vec<u32>>,
}

/// An axis-aligned query rectangle in position quanta, edges inclusive.
#[derive(Debug, Clone, Copy)]
pub struct Area {
    pub min: Point,
    pub max: Point,
}

impl Area {
    pub fn around(center: Point, width: i32, height: i32) -> Area {
        Area {
            min: Point {
                x: center.x.saturating_sub(width / 2),
                y: center.y.saturating_sub(height / 2),
            },
            max: Point {
                x: center.x.saturating_add(width / 2),
                y: center.y.saturating_add(height / 2),
            },
        }
    }

    pub fn contains(&self, p: Point) -> bool {
        (self.min.x..=self.max.x).contains(&p.x) && (self.min.y..=self.max.y).contains(&p.y)
    }
}

impl Grid {
    pub fn build(map: &MapDef, frame: &Frame) -> Grid {
        let cols = (map.width / CELL + 1).max(1);
        let rows = (map.height / CELL + 1).max(1);
        let mut grid = Grid {
            cols,
            rows,
            cells: vec![Vec::new(); (cols * rows) as usize],
        };
        for (i, e) in frame.entities.iter().enumerate() {
            let c = grid.cell_of(e.pos);
            grid.cells[c].push(i as u32);
        }
        grid
    }

    /// Indices (ascending, so in id order) of the frame's entities inside `area`.
    pub fn query(&self, frame: &Frame, area: Area, out: &mut Vec<u32>) {
        out.clear();
        let (c0, r0) = self.col_row(area.min);
        let (c1, r1) = self.col_row(area.max);
        for r in r0..=r1 {
            for c in c0..=c1 {
                let cell = &self.cells[(r * self.cols + c) as usize];
                out.extend(
                    cell.iter()
                        .filter(|&&i| area.contains(frame.entities[i as usize].pos)),
                );
            }
        }
        out.sort_unstable();
    }

    fn col_row(&self, p: Point) -> (i32, i32) {
        (
            (p.x / CELL).clamp(0, self.cols - 1),
            (p.y / CELL).clamp(0, self.rows - 1),
        )
    }

    fn cell_of(&self, p: Point) -> usize {
        let (c, r) = self.col_row(p);
        (r * self.cols + c) as usize
    }
}
