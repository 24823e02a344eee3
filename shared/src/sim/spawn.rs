//! Where a player (re)spawns: the spawn point farthest from every living player, so nobody
//! respawns on top of their killer. Beyond [`CLEAR_DISTANCE`] every spawn is as good as any
//! other; among those the first in a rotation starting at a per-player offset wins, so joins
//! spread over the map instead of piling into its emptiest corner.

use crate::map::Point;
use crate::quantize::POS_SCALE;

/// A spawn point at least this far (position quanta) from every living player is clear.
pub const CLEAR_DISTANCE: i32 = 20 * POS_SCALE;

/// Grid cell side for the nearest-player search.
const CELL: i32 = 8 * POS_SCALE;

/// Picks from `spawns` (not empty) the one whose nearest player in `players` is farthest away,
/// counting anything at [`CLEAR_DISTANCE`] or more as equally far; ties go to the first from
/// `start` on, in rotation. Integer arithmetic only.
pub fn choose(spawns: &[Point], players: &[Point], start: usize) -> Point {
    let grid = PlayerGrid::new(players);
    let n = spawns.len();
    let mut best: Option<(i64, Point)> = None;
    let clear = i64::from(CLEAR_DISTANCE).pow(2);
    for k in 0..n {
        let spawn = spawns[(start % n + k) % n];
        let d2 = grid.nearest_d2(spawn, clear);
        if d2 >= clear {
            // As good as it gets, and first in the rotation.
            return spawn;
        }
        if best.is_none_or(|(b, _)| d2 > b) {
            best = Some((d2, spawn));
        }
    }
    best.map_or(spawns[start % n], |(_, p)| p)
}

/// Players bucketed by cell (a counting sort over the cells their bounding box covers).
struct PlayerGrid {
    min: Point,
    cols: i32,
    rows: i32,
    starts: Vec<u32>,
    items: Vec<Point>,
}

impl PlayerGrid {
    fn new(players: &[Point]) -> PlayerGrid {
        let min = Point {
            x: players.iter().map(|p| p.x).min().unwrap_or(0),
            y: players.iter().map(|p| p.y).min().unwrap_or(0),
        };
        let max_x = players.iter().map(|p| p.x).max().unwrap_or(0);
        let max_y = players.iter().map(|p| p.y).max().unwrap_or(0);
        let cols = ((i64::from(max_x) - i64::from(min.x)) / i64::from(CELL) + 1) as i32;
        let rows = ((i64::from(max_y) - i64::from(min.y)) / i64::from(CELL) + 1) as i32;
        let mut grid = PlayerGrid {
            min,
            cols,
            rows,
            starts: vec![0; (cols as usize) * (rows as usize) + 1],
            items: vec![Point { x: 0, y: 0 }; players.len()],
        };
        for p in players {
            let c = grid.cell(*p);
            grid.starts[c + 1] += 1;
        }
        for c in 1..grid.starts.len() {
            grid.starts[c] += grid.starts[c - 1];
        }
        let mut fill = grid.starts.clone();
        for p in players {
            let c = grid.cell(*p);
            grid.items[fill[c] as usize] = *p;
            fill[c] += 1;
        }
        grid
    }

    fn col_row(&self, p: Point) -> (i32, i32) {
        (
            ((i64::from(p.x) - i64::from(self.min.x)) / i64::from(CELL)) as i32,
            ((i64::from(p.y) - i64::from(self.min.y)) / i64::from(CELL)) as i32,
        )
    }

    fn cell(&self, p: Point) -> usize {
        let (c, r) = self.col_row(p);
        (r * self.cols + c) as usize
    }

    /// Squared distance from `at` to the nearest player, or `cap` when none is nearer.
    fn nearest_d2(&self, at: Point, cap: i64) -> i64 {
        if self.items.is_empty() {
            return cap;
        }
        let reach = CLEAR_DISTANCE / CELL + 1;
        // Cells outside the players' box are empty: clamp the search to it (the spawn itself
        // may lie outside, where the division rounds towards zero; clamping covers that).
        let (c, r) = (
            (i64::from(at.x) - i64::from(self.min.x)).div_euclid(i64::from(CELL)),
            (i64::from(at.y) - i64::from(self.min.y)).div_euclid(i64::from(CELL)),
        );
        let (c0, c1) = (
            (c - i64::from(reach)).max(0),
            (c + i64::from(reach)).min(i64::from(self.cols) - 1),
        );
        let (r0, r1) = (
            (r - i64::from(reach)).max(0),
            (r + i64::from(reach)).min(i64::from(self.rows) - 1),
        );
        let mut best = cap;
        for row in r0..=r1 {
            for col in c0..=c1 {
                let cell = (row * i64::from(self.cols) + col) as usize;
                let (from, to) = (self.starts[cell] as usize, self.starts[cell + 1] as usize);
                for p in &self.items[from..to] {
                    let (dx, dy) = (
                        i64::from(p.x) - i64::from(at.x),
                        i64::from(p.y) - i64::from(at.y),
                    );
                    best = best.min(dx * dx + dy * dy);
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rules::PLAYER_RADIUS;
    use proptest::prelude::*;

    fn point() -> impl Strategy<Value = Point> {
        (0..64_000i32, 0..36_000i32).prop_map(|(x, y)| Point { x, y })
    }

    /// The plain answer: every spawn's nearest player, capped, the best first in rotation.
    fn scan(spawns: &[Point], players: &[Point], start: usize) -> Point {
        let clear = i64::from(CLEAR_DISTANCE).pow(2);
        let nearest = |s: Point| {
            players
                .iter()
                .map(|p| (i64::from(p.x - s.x)).pow(2) + (i64::from(p.y - s.y)).pow(2))
                .min()
                .unwrap_or(clear)
                .min(clear)
        };
        let n = spawns.len();
        let order: Vec<Point> = (0..n).map(|k| spawns[(start % n + k) % n]).collect();
        let best = order.iter().map(|s| nearest(*s)).max().unwrap_or(0);
        order
            .into_iter()
            .find(|s| nearest(*s) == best)
            .unwrap_or(spawns[0])
    }

    proptest! {
        #[test]
        fn the_grid_finds_what_a_scan_finds(
            spawns in proptest::collection::vec(point(), 1..40),
            players in proptest::collection::vec(point(), 0..200),
            start in 0usize..100,
        ) {
            prop_assert_eq!(choose(&spawns, &players, start), scan(&spawns, &players, start));
        }

        #[test]
        fn never_on_top_of_a_player_when_a_free_spawn_exists(
            spawns in proptest::collection::vec(point(), 1..20),
            players in proptest::collection::vec(point(), 0..60),
            start in 0usize..100,
        ) {
            let touching = |s: Point| players.iter().any(|p| {
                (i64::from(p.x - s.x)).pow(2) + (i64::from(p.y - s.y)).pow(2)
                    < i64::from(2 * PLAYER_RADIUS).pow(2)
            });
            let chosen = choose(&spawns, &players, start);
            if spawns.iter().any(|s| !touching(*s)) {
                prop_assert!(!touching(chosen), "{chosen:?} touches a player");
            }
        }
    }
}
