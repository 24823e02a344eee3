//! Interest management: a uniform grid over the map, built once per tick, answering "which
//! entities are inside this rectangle" in time proportional to the answer, and a player's view
//! with hysteresis at its edges.

use snapwire_shared::map::{MapDef, Point};

use snapwire_shared::quantize::POS_SCALE;
use snapwire_shared::sim::EntityId;
use snapwire_shared::snapshot::{EntityKind, EntityState};

use crate::room::history::{Frame, NO_OWNER};

/// An entity already in a view stays in it until it is this far (position quanta) past the
/// view's edge, so one hovering on the edge is not removed and re-sent in full every few ticks.
pub const VIEW_MARGIN: i32 = 1000;

/// Indices (ascending) of the entities a player at `center` sees: those inside the view
/// rectangle, plus those within [`VIEW_MARGIN`] beyond it that were in its `previous` view
/// (ascending ids), plus the shooter of every projectile it sees. A projectile flies further
/// than half a view: without its shooter, a player is hit by someone the screen never showed.
pub fn player_view<P>(
    grid: &Grid,
    frame: &Frame,
    center: Point,
    width: i32,
    height: i32,
    previous: P,
    out: &mut Vec<u32>,
) where
    P: IntoIterator<Item = EntityId>,
{
    let inner = Area::around(center, width, height);
    let outer = Area::around(
        center,
        width.saturating_add(2 * VIEW_MARGIN),
        height.saturating_add(2 * VIEW_MARGIN),
    );
    grid.query(frame, outer, out);
    // Both lists ascend by id: one merge walk answers "was it in view" for the margin.
    let mut previous = previous.into_iter().peekable();
    out.retain(|&i| {
        let i = i as usize;
        if inner.contains(frame.positions[i]) {
            return true;
        }
        let id = frame.ids[i];
        while previous.next_if(|p| *p < id).is_some() {}
        previous.peek() == Some(&id)
    });
    add_shooters(frame, center, inner, out);
}

/// A projectile passing the viewer closer than this (position quanta) is "fired at" it.
const AIMED_AT: f64 = 1.5 * POS_SCALE as f64;

/// Adds the owners of the projectiles in `out` (ascending indices) that fly at the viewer at
/// `center` and are not in it yet. Only those: a shooter whose shot merely crosses the view
/// would cost every viewer a full entity and a name (measured with 1,000 players on the field
/// map, adding every shooter made views 20% larger and the encoding 80% slower).
fn add_shooters(frame: &Frame, center: Point, inner: Area, out: &mut Vec<u32>) {
    // Rarely any: allocated only when there is one.
    let mut shooters = Vec::new();
    for &i in out.iter() {
        let i = i as usize;
        if frame.kinds[i] != EntityKind::Projectile {
            continue;
        }
        let owner = frame.owners[i];
        // Most shots in view come from shooters inside the view rectangle, who are in it for
        // sure: a look at the shooter's position settles those.
        if owner == NO_OWNER
            || inner.contains(frame.positions[owner as usize])
            || !flies_at(&frame.states[i], frame.positions[i], center)
            || out.binary_search(&owner).is_ok()
        {
            continue;
        }
        shooters.push(owner);
    }
    // Few: insert each in order rather than sort.
    for owner in shooters {
        if let Err(at) = out.binary_search(&owner) {
            out.insert(at, owner);
        }
    }
}

/// Whether a projectile at `at` moving by its velocity approaches `target` and passes it within
/// [`AIMED_AT`].
fn flies_at(s: &EntityState, at: Point, target: Point) -> bool {
    let (dx, dy) = (
        f64::from(target.x) - f64::from(at.x),
        f64::from(target.y) - f64::from(at.y),
    );
    let (vx, vy) = (f64::from(s.vx), f64::from(s.vy));
    let speed2 = vx * vx + vy * vy;
    if speed2 == 0.0 || dx * vx + dy * vy <= 0.0 {
        return false;
    }
    // Distance from the target to the projectile's line of flight.
    let cross = dx * vy - dy * vx;
    cross * cross <= AIMED_AT * AIMED_AT * speed2
}

/// Grid cell side in position quanta (4 units): a 40 x 24 view touches about 11 x 7 cells.
pub const CELL: i32 = 4000;

/// Entity indices bucketed by cell, rebuilt every tick into the same two buffers.
#[derive(Debug, Default)]
pub struct Grid {
    cols: i32,
    rows: i32,
    /// Cell `c` holds `items[starts[c]..starts[c + 1]]`, ascending.
    starts: Vec<u32>,
    items: Vec<u32>,
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
    /// Buckets `frame`'s entities (a counting sort: two passes, no per-cell allocation).
    pub fn rebuild(&mut self, map: &MapDef, frame: &Frame) {
        self.cols = (map.width / CELL + 1).max(1);
        self.rows = (map.height / CELL + 1).max(1);
        let cells = (self.cols * self.rows) as usize;
        self.starts.clear();
        self.starts.resize(cells + 1, 0);
        for &p in &frame.positions {
            let c = self.cell_of(p);
            self.starts[c + 1] += 1;
        }
        for c in 0..cells {
            self.starts[c + 1] += self.starts[c];
        }
        self.items.clear();
        self.items.resize(frame.len(), 0);
        // `starts[c]` walks forward as cell `c` fills; restored below.
        for (i, &p) in frame.positions.iter().enumerate() {
            let c = self.cell_of(p);
            let slot = self.starts[c] as usize;
            self.items[slot] = i as u32;
            self.starts[c] += 1;
        }
        for c in (1..=cells).rev() {
            self.starts[c] = self.starts[c - 1];
        }
        self.starts[0] = 0;
    }

    pub fn build(map: &MapDef, frame: &Frame) -> Grid {
        let mut grid = Grid::default();
        grid.rebuild(map, frame);
        grid
    }

    /// Indices (ascending, so in id order) of the frame's entities inside `area`.
    pub fn query(&self, frame: &Frame, area: Area, out: &mut Vec<u32>) {
        out.clear();
        let (c0, r0) = self.col_row(area.min);
        let (c1, r1) = self.col_row(area.max);
        for r in r0..=r1 {
            let row = (r * self.cols) as usize;
            // Cells of one row are adjacent in `items`.
            let (from, to) = (
                self.starts[row + c0 as usize] as usize,
                self.starts[row + c1 as usize + 1] as usize,
            );
            out.extend(
                self.items[from..to]
                    .iter()
                    .filter(|&&i| area.contains(frame.positions[i as usize])),
            );
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

#[cfg(test)]
mod tests {
    use super::*;
    use snapwire_shared::snapshot::EntityState;

    fn frame(xs: &[i32]) -> Frame {
        let mut f = Frame::default();
        for (i, &x) in xs.iter().enumerate() {
            f.push(
                EntityId(i as u32 + 1),
                EntityState::default(),
                Point { x, y: 5000 },
            );
        }
        f
    }

    #[test]
    fn views_keep_entities_a_little_past_the_edge() {
        let map = MapDef::arena();
        // A 10-unit view centred at x = 20: edges at 15 and 25 units.
        let f = frame(&[20_000, 26_000, 28_000, 40_000]);
        let grid = Grid::build(&map, &f);
        let center = Point { x: 20_000, y: 5000 };
        let mut out = Vec::new();
        player_view(&grid, &f, center, 10_000, 10_000, [], &mut out);
        assert_eq!(out, [0], "a newcomer must be inside the view");
        let before = f.ids.clone();
        player_view(&grid, &f, center, 10_000, 10_000, before, &mut out);
        assert_eq!(
            out,
            [0, 1],
            "one unit past the edge stays; three units past leaves"
        );
    }

    #[test]
    fn a_projectile_fired_at_the_viewer_brings_its_shooter() {
        let map = MapDef::arena();
        let mut f = Frame::default();
        let at = |x| Point { x, y: 5000 };
        let player = EntityState {
            kind: EntityKind::Player,
            ..EntityState::default()
        };
        f.push(EntityId(1), player, at(20_000)); // the viewer
        f.push(EntityId(2), player, at(50_000)); // a shooter far to the right
        f.push(EntityId(3), player, at(60_000)); // someone else far away
        let shot = |vx| EntityState {
            kind: EntityKind::Projectile,
            owner: 2,
            vx,
            ..EntityState::default()
        };
        // Flying left, at the viewer: its shooter comes into view.
        f.push(EntityId(4), shot(-400), at(24_000));
        // Player 3's shot flies away from the viewer: not fired at it.
        f.push(
            EntityId(5),
            EntityState {
                owner: 3,
                ..shot(400)
            },
            at(23_000),
        );
        let grid = Grid::build(&map, &f);
        let mut out = Vec::new();
        player_view(&grid, &f, at(20_000), 10_000, 10_000, [], &mut out);
        assert_eq!(out, [0, 1, 3, 4]);
    }

    #[test]
    fn queries_find_exactly_the_entities_inside() {
        let map = MapDef::arena();
        let xs: Vec<i32> = (0..200).map(|i| (i * 7919) % map.width).collect();
        let f = frame(&xs);
        let grid = Grid::build(&map, &f);
        let area = Area {
            min: Point { x: 9_000, y: 0 },
            max: Point {
                x: 30_500,
                y: 9_000,
            },
        };
        let mut out = Vec::new();
        grid.query(&f, area, &mut out);
        let expected: Vec<u32> = (0..200u32)
            .filter(|&i| area.contains(f.positions[i as usize]))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(out, expected);
    }
}
