//! Maps are data: a JSON file of size, walls and spawn points, validated into [`MapDef`].

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::quantize::pos_from_units;
use crate::sim::rules::PLAYER_RADIUS;

/// The arena shipped in `assets/maps/arena.json`, compiled in so a server runs from any directory.
pub const ARENA_JSON: &str = include_str!("../../assets/maps/arena.json");

/// Largest map side, in world units.
pub const MAX_MAP_SIDE: f64 = 1000.0;

/// A validated map in position quanta ([`crate::quantize::POS_SCALE`] per unit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapDef {
    pub name: String,
    pub width: i32,
    pub height: i32,
    pub walls: Vec<Rect>,
    pub spawns: Vec<Point>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[derive(Debug, Error, PartialEq)]
pub enum MapError {
    #[error("map is not valid JSON of the expected shape: {0}")]
    Json(String),
    #[error(
        "map size {width} x {height} must be finite, positive and at most {MAX_MAP_SIDE} units"
    )]
    Size { width: f64, height: f64 },
    #[error("wall {index} must have finite coordinates, positive size and lie inside the map")]
    Wall { index: usize },
    #[error("the map needs at least one spawn point")]
    NoSpawns,
    #[error("spawn point {index} must lie inside the map with room for a player, clear of walls")]
    Spawn { index: usize },
}

impl MapDef {
    /// The built-in arena. It is validated by a unit test, so this cannot fail at run time.
    pub fn arena() -> MapDef {
        MapDef::from_json(ARENA_JSON).unwrap_or_else(|e| unreachable!("built-in arena: {e}"))
    }

    pub fn from_json(json: &str) -> Result<MapDef, MapError> {
        let file: MapFile =
            serde_json::from_str(json).map_err(|e| MapError::Json(e.to_string()))?;
        file.validate()
    }

    pub fn contains(&self, p: Point) -> bool {
        (0..self.width).contains(&p.x) && (0..self.height).contains(&p.y)
    }

    /// The rules a map file is held to, checked on a map that came some other way (a client
    /// checks the map in `Welcome`: the rules assume at least room for a player).
    pub fn check(&self) -> Result<(), MapError> {
        let max = pos_from_units(MAX_MAP_SIDE);
        let side_ok = |s: i32| s > 2 * PLAYER_RADIUS && s <= max;
        if !side_ok(self.width) || !side_ok(self.height) {
            return Err(MapError::Size {
                width: f64::from(self.width),
                height: f64::from(self.height),
            });
        }
        for (index, w) in self.walls.iter().enumerate() {
            let inside = w.x >= 0
                && w.y >= 0
                && w.w > 0
                && w.h > 0
                && w.x.checked_add(w.w).is_some_and(|r| r <= self.width)
                && w.y.checked_add(w.h).is_some_and(|b| b <= self.height);
            if !inside {
                return Err(MapError::Wall { index });
            }
        }
        if self.spawns.is_empty() {
            return Err(MapError::NoSpawns);
        }
        let clearance = i64::from(PLAYER_RADIUS) * i64::from(PLAYER_RADIUS);
        for (index, p) in self.spawns.iter().enumerate() {
            let room = (PLAYER_RADIUS..self.width - PLAYER_RADIUS).contains(&p.x)
                && (PLAYER_RADIUS..self.height - PLAYER_RADIUS).contains(&p.y);
            if !room || self.walls.iter().any(|w| w.distance_sq(*p) < clearance) {
                return Err(MapError::Spawn { index });
            }
        }
        Ok(())
    }
}

impl Rect {
    pub fn right(&self) -> i32 {
        self.x + self.w
    }

    pub fn bottom(&self) -> i32 {
        self.y + self.h
    }

    /// Squared distance from `p` to the nearest point of this rectangle (0 inside).
    pub fn distance_sq(&self, p: Point) -> i64 {
        let dx = i64::from((self.x - p.x).max(0).max(p.x - self.right()));
        let dy = i64::from((self.y - p.y).max(0).max(p.y - self.bottom()));
        dx * dx + dy * dy
    }
}

/// The file format, in world units.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    name: String,
    width: f64,
    height: f64,
    walls: Vec<RectFile>,
    spawns: Vec<PointFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RectFile {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PointFile {
    x: f64,
    y: f64,
}

impl MapFile {
    fn validate(self) -> Result<MapDef, MapError> {
        let side_ok = |s: f64| s.is_finite() && s > 0.0 && s <= MAX_MAP_SIDE;
        if !side_ok(self.width) || !side_ok(self.height) {
            return Err(MapError::Size {
                width: self.width,
                height: self.height,
            });
        }
        let (width, height) = (pos_from_units(self.width), pos_from_units(self.height));
        let mut walls = Vec::with_capacity(self.walls.len());
        for (index, r) in self.walls.iter().enumerate() {
            let finite = [r.x, r.y, r.w, r.h].iter().all(|v| v.is_finite());
            let inside =
                r.x >= 0.0 && r.y >= 0.0 && r.x + r.w <= self.width && r.y + r.h <= self.height;
            if !finite || !inside || r.w <= 0.0 || r.h <= 0.0 {
                return Err(MapError::Wall { index });
            }
            let (x, y) = (pos_from_units(r.x), pos_from_units(r.y));
            walls.push(Rect {
                x,
                y,
                w: pos_from_units(r.x + r.w) - x,
                h: pos_from_units(r.y + r.h) - y,
            });
        }
        if self.spawns.is_empty() {
            return Err(MapError::NoSpawns);
        }
        let mut spawns = Vec::with_capacity(self.spawns.len());
        let clearance = i64::from(PLAYER_RADIUS) * i64::from(PLAYER_RADIUS);
        for (index, s) in self.spawns.iter().enumerate() {
            if !s.x.is_finite() || !s.y.is_finite() {
                return Err(MapError::Spawn { index });
            }
            let p = Point {
                x: pos_from_units(s.x),
                y: pos_from_units(s.y),
            };
            let room = (PLAYER_RADIUS..width - PLAYER_RADIUS).contains(&p.x)
                && (PLAYER_RADIUS..height - PLAYER_RADIUS).contains(&p.y);
            if !room || walls.iter().any(|w| w.distance_sq(p) < clearance) {
                return Err(MapError::Spawn { index });
            }
            spawns.push(p);
        }
        Ok(MapDef {
            name: self.name,
            width,
            height,
            walls,
            spawns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantize::POS_SCALE;

    #[test]
    fn maps_from_the_wire_are_checked_like_files() {
        assert_eq!(MapDef::arena().check(), Ok(()));
        let mut narrow = MapDef::arena();
        narrow.width = PLAYER_RADIUS;
        assert!(matches!(narrow.check(), Err(MapError::Size { .. })));
        let mut wall = MapDef::arena();
        wall.walls.push(Rect {
            x: i32::MAX - 5,
            y: 0,
            w: 10,
            h: 10,
        });
        assert!(matches!(wall.check(), Err(MapError::Wall { .. })));
        let mut spawn = MapDef::arena();
        spawn.spawns.push(Point { x: -1, y: 5 });
        assert!(matches!(spawn.check(), Err(MapError::Spawn { .. })));
    }

    #[test]
    fn the_arena_is_valid() {
        let map = MapDef::from_json(ARENA_JSON).expect("arena.json");
        assert_eq!(map.width, 64 * POS_SCALE);
        assert!(map.spawns.len() >= 4);
    }

    #[test]
    fn the_field_for_crowds_is_valid() {
        let json = include_str!("../../assets/maps/field.json");
        let map = MapDef::from_json(json).expect("field.json");
        assert_eq!(map.width, 256 * POS_SCALE);
        assert!(map.spawns.len() >= 256, "{} spawns", map.spawns.len());
    }

    #[test]
    fn bad_maps_say_what_is_wrong() {
        let base = r#"{"name":"m","width":10,"height":10,"walls":[WALLS],"spawns":[SPAWNS]}"#;
        let map = |walls: &str, spawns: &str| {
            MapDef::from_json(&base.replace("WALLS", walls).replace("SPAWNS", spawns))
        };
        assert!(map("", r#"{"x":5,"y":5}"#).is_ok());
        assert_eq!(map("", ""), Err(MapError::NoSpawns));
        assert_eq!(
            map(r#"{"x":8,"y":0,"w":5,"h":1}"#, r#"{"x":5,"y":5}"#),
            Err(MapError::Wall { index: 0 })
        );
        assert_eq!(
            map(r#"{"x":4,"y":4,"w":2,"h":2}"#, r#"{"x":5,"y":5}"#),
            Err(MapError::Spawn { index: 0 })
        );
        assert_eq!(
            map("", r#"{"x":0.1,"y":5}"#),
            Err(MapError::Spawn { index: 0 })
        );
        assert!(matches!(MapDef::from_json("{}"), Err(MapError::Json(_))));
        assert!(matches!(
            MapDef::from_json(r#"{"name":"m","width":-1,"height":10,"walls":[],"spawns":[]}"#),
            Err(MapError::Size { .. })
        ));
    }
}
