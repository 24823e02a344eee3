//! The rail's geometry: a ray from the shooter, stopped by the first wall, against players'
//! circles. Only `+ - * /` on `f64` (and `libm` for the direction), so native and wasm agree
//! to the bit.

use crate::map::{MapDef, Rect};
use crate::sim::EntityId;

/// How far along the ray from `from` (unit direction `dir`) the first wall begins, at most
/// `range`.
pub fn wall_distance(map: &MapDef, from: (f64, f64), dir: (f64, f64), range: f64) -> f64 {
    map.walls
        .iter()
        .filter_map(|w| enters(w, from, dir))
        .fold(range, f64::min)
}

/// Where the ray enters rectangle `r` (0 when it starts inside), or `None` if it misses it.
fn enters(r: &Rect, from: (f64, f64), dir: (f64, f64)) -> Option<f64> {
    let mut t_in = 0.0_f64;
    let mut t_out = f64::INFINITY;
    let slabs = [
        (
            from.0,
            dir.0,
            f64::from(r.x),
            f64::from(r.x) + f64::from(r.w),
        ),
        (
            from.1,
            dir.1,
            f64::from(r.y),
            f64::from(r.y) + f64::from(r.h),
        ),
    ];
    for (o, d, lo, hi) in slabs {
        if d == 0.0 {
            if o < lo || o > hi {
                return None;
            }
            continue;
        }
        let (a, b) = ((lo - o) / d, (hi - o) / d);
        let (near, far) = if a < b { (a, b) } else { (b, a) };
        t_in = t_in.max(near);
        t_out = t_out.min(far);
        if t_in > t_out {
            return None;
        }
    }
    Some(t_in)
}

/// The nearest of `targets` (id, x, y) whose circle of `radius` the ray crosses before
/// `reach`, with the distance along the ray to its centre's closest approach. Ties go to the
/// lower id.
pub fn first_target(
    from: (f64, f64),
    dir: (f64, f64),
    reach: f64,
    radius: f64,
    targets: impl Iterator<Item = (EntityId, f64, f64)>,
) -> Option<(EntityId, f64)> {
    let mut best: Option<(EntityId, f64)> = None;
    for (id, x, y) in targets {
        let (px, py) = (x - from.0, y - from.1);
        let along = px * dir.0 + py * dir.1;
        if along < 0.0 || along > reach {
            continue;
        }
        let off = px * dir.1 - py * dir.0;
        if off * off >= radius * radius {
            continue;
        }
        if best.is_none_or(|(bid, b)| along < b || (along == b && id < bid)) {
            best = Some((id, along));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::Point;

    fn map_with(walls: Vec<Rect>) -> MapDef {
        MapDef {
            name: "t".into(),
            width: 100_000,
            height: 100_000,
            walls,
            spawns: vec![Point { x: 1, y: 1 }],
        }
    }

    #[test]
    fn the_ray_stops_at_the_first_wall() {
        let map = map_with(vec![
            Rect {
                x: 5000,
                y: -100,
                w: 100,
                h: 200,
            },
            Rect {
                x: 3000,
                y: 500,
                w: 100,
                h: 200,
            },
        ]);
        assert_eq!(wall_distance(&map, (0.0, 0.0), (1.0, 0.0), 9000.0), 5000.0);
        assert_eq!(wall_distance(&map, (0.0, 0.0), (-1.0, 0.0), 9000.0), 9000.0);
        assert_eq!(wall_distance(&map, (0.0, 0.0), (1.0, 0.0), 4000.0), 4000.0);
    }

    #[test]
    fn the_nearest_circle_on_the_ray_is_hit() {
        let targets = [
            (EntityId(1), 4000.0, 400.0),
            (EntityId(2), 2000.0, -499.0),
            (EntityId(3), 1000.0, 501.0),
            (EntityId(4), -500.0, 0.0),
        ];
        let hit = first_target((0.0, 0.0), (1.0, 0.0), 9000.0, 500.0, targets.into_iter());
        assert_eq!(hit, Some((EntityId(2), 2000.0)));
        let hit = first_target((0.0, 0.0), (1.0, 0.0), 1500.0, 500.0, targets.into_iter());
        assert_eq!(hit, None, "beyond the reach, or off the ray, or behind");
    }
}
