//! Interest management: a uniform grid over the map, built once per tick, answering "which
//! entities are inside this rectangle" in time proportional to the answer, and a player's view
//! with hysteresis at its edges.

use snapwire_shared::game::Game;
use snapwire_shared::map::{MapDef, Point};
use snapwire_shared::sim::EntityId;

use crate::room::history::{Frame, NO_LINK};

/// An entity already in a view stays in it until it is this far (position quanta) past the
/// view's edge, so one hovering on the edge is not removed and re-sent in full every few ticks.
pub const VIEW_MARGIN: i32 = 1000;

/// Indices (ascending) of the entities a player at `center` sees: those inside the view
/// rectangle, plus those within [`VIEW_MARGIN`] beyond it that were in its `previous` view
/// (ascending ids), plus what the game's [`Game::pulls_into_view`] adds: in the arena, the
/// shooter of a projectile flying at the player. A projectile flies further than half a view:
/// without its shooter, a player is hit by someone the screen never showed.
pub fn player_view<G: Game, P>(
    grid: &Grid,
    frame: &Frame<G::State>,
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
    add_links::<G>(frame, center, inner, out);
}

/// Adds the entities linked to entities in `out` (ascending indices) that the game says pull
/// them into the view at `center`, when not in it yet (in the arena: shooters of projectiles
/// flying at the viewer).
fn add_links<G: Game>(frame: &Frame<G::State>, center: Point, inner: Area, out: &mut Vec<u32>) {
    // Rarely any: allocated only when there is one.
    let mut linked = Vec::new();
    for &i in out.iter() {
        let i = i as usize;
        let link = frame.links[i];
        // Most shots in view come from shooters inside the view rectangle, who are in it for
        // sure: a look at the linked entity's position settles those.
        if link == NO_LINK
            || inner.contains(frame.positions[link as usize])
            || !G::pulls_into_view(&frame.states[i], frame.positions[i], center)
            || out.binary_search(&link).is_ok()
        {
            continue;
        }
        linked.push(link);
    }
    // Few: insert each in order rather than sort.
    for link in linked {
        if let Err(at) = out.binary_search(&link) {
            out.insert(at, link);
        }
    }
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
    pub fn rebuild<S>(&mut self, map: &MapDef, frame: &Frame<S>) {
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

    pub fn build<S>(map: &MapDef, frame: &Frame<S>) -> Grid {
        let mut grid = Grid::default();
        grid.rebuild(map, frame);
        grid
    }

    /// Indices (ascending, so in id order) of the frame's entities inside `area`.
    pub fn query<S>(&self, frame: &Frame<S>, area: Area, out: &mut Vec<u32>) {
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
    use snapwire_shared::sim::World;
    use snapwire_shared::snapshot::{EntityKind, EntityState};

    /// Pushes with the arena's links, as `Frame::capture` does.
    fn push(f: &mut Frame, id: u32, state: EntityState, at: Point) {
        f.push(EntityId(id), state, at, World::link(&state));
    }

    fn frame(xs: &[i32]) -> Frame {
        let mut f = Frame::default();
        for (i, &x) in xs.iter().enumerate() {
            push(
                &mut f,
                i as u32 + 1,
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
        player_view::<World, _>(&grid, &f, center, 10_000, 10_000, [], &mut out);
        assert_eq!(out, [0], "a newcomer must be inside the view");
        let before = f.ids.clone();
        player_view::<World, _>(&grid, &f, center, 10_000, 10_000, before, &mut out);
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
        push(&mut f, 1, player, at(20_000)); // the viewer
        push(&mut f, 2, player, at(50_000)); // a shooter far to the right
        push(&mut f, 3, player, at(60_000)); // someone else far away
        let shot = |vx| EntityState {
            kind: EntityKind::Projectile,
            owner: 2,
            vx,
            ..EntityState::default()
        };
        // Flying left, at the viewer: its shooter comes into view.
        push(&mut f, 4, shot(-400), at(24_000));
        // Player 3's shot flies away from the viewer: not fired at it.
        push(
            &mut f,
            5,
            EntityState {
                owner: 3,
                ..shot(400)
            },
            at(23_000),
        );
        let grid = Grid::build(&map, &f);
        let mut out = Vec::new();
        player_view::<World, _>(&grid, &f, at(20_000), 10_000, 10_000, [], &mut out);
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
