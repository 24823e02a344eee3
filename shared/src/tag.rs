//! `tag`, a second game on the same [`Game`] trait: no projectiles, one player is "it", and
//! touching another player passes it on. The one tagged back cannot be tagged for a moment
//! (immunity), so "it" cannot bounce between two players. Rounds have a fixed length; a
//! player's score is the ticks this round it was not "it".
//!
//! Movement is the arena's (`movement::step`), so walls and speeds feel the same. Integers only.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::game::Game;
use crate::map::{MapDef, Point};
use crate::protocol::Welcome;
use crate::sim::movement::{self, Body};
use crate::sim::rules::PLAYER_RADIUS;
use crate::sim::{EntityId, PlayerInput, Rules, spawn};
use crate::snapshot::Replicate;
use crate::tick::Tick;

/// Seconds a tagger cannot be tagged back.
pub const IMMUNITY_S: u16 = 2;

/// Seconds in a round.
pub const ROUND_S: u32 = 60;

/// A runner as clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Replicate)]
pub struct Runner {
    #[replicate(group = "motion", chunk = 5, velocity = "vx")]
    pub x: i32,
    #[replicate(group = "motion", chunk = 5, velocity = "vy")]
    pub y: i32,
    #[replicate(group = "motion", chunk = 4)]
    pub vx: i32,
    #[replicate(group = "motion", chunk = 4)]
    pub vy: i32,
    /// This runner is "it".
    pub it: bool,
    /// Ticks of immunity left.
    #[replicate(group = "round", chunk = 3)]
    pub immune: u16,
    /// Ticks this round not being "it".
    #[replicate(group = "round", chunk = 3)]
    pub score: i32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Player {
    name: String,
    body: Body,
    it: bool,
    immune: u16,
    score: i32,
}

/// The tag world: a value stepped once per tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    tick: Tick,
    rules: Rules,
    map: Arc<MapDef>,
    players: BTreeMap<EntityId, Player>,
    next_id: u32,
    /// Ticks left in this round.
    round_left: u32,
}

impl Tag {
    pub fn new(map: Arc<MapDef>, rules: Rules, tick: Tick) -> Tag {
        Tag {
            tick,
            round_left: round_ticks(&rules),
            rules,
            map,
            players: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// The player who is "it", if anyone plays.
    pub fn it(&self) -> Option<EntityId> {
        self.players.iter().find(|(_, p)| p.it).map(|(id, _)| *id)
    }

    /// Ticks left in this round.
    pub fn round_left(&self) -> u32 {
        self.round_left
    }

    /// Puts a player at a position (tests, scenes).
    pub fn place(&mut self, player: EntityId, at: Point) {
        if let Some(p) = self.players.get_mut(&player) {
            p.body.x = at.x;
            p.body.y = at.y;
        }
    }

    /// Passes "it" to a player it touches (the lowest id first) that is not immune.
    fn tag_touched(&mut self) {
        let Some(it) = self.it() else { return };
        let at = self.players[&it].body;
        let reach = i64::from(2 * PLAYER_RADIUS).pow(2);
        let touched = self.players.iter().find(|(id, p)| {
            let (dx, dy) = (i64::from(p.body.x - at.x), i64::from(p.body.y - at.y));
            **id != it && p.immune == 0 && dx * dx + dy * dy <= reach
        });
        let Some((&tagged, _)) = touched else { return };
        let immunity = u16::try_from(u32::from(IMMUNITY_S) * u32::from(self.rules.tick_rate))
            .unwrap_or(u16::MAX);
        if let Some(p) = self.players.get_mut(&it) {
            p.it = false;
            p.immune = immunity;
        }
        if let Some(p) = self.players.get_mut(&tagged) {
            p.it = true;
        }
    }

    /// With players and nobody "it", the lowest id is.
    fn ensure_it(&mut self) {
        if self.it().is_none()
            && let Some(p) = self.players.values_mut().next()
        {
            p.it = true;
        }
    }
}

fn round_ticks(rules: &Rules) -> u32 {
    ROUND_S * u32::from(rules.tick_rate.max(1))
}

impl Game for Tag {
    type State = Runner;
    /// The movement axes; aim and fire mean nothing here.
    type Input = (i8, i8);

    const NAME: &'static str = "tag";

    fn input(controls: &PlayerInput) -> (i8, i8) {
        (controls.move_x, controls.move_y)
    }

    fn tick(&self) -> Tick {
        self.tick
    }

    fn join(&mut self, name: &str) -> EntityId {
        let id = EntityId(self.next_id);
        self.next_id += 1;
        let others: Vec<Point> = self
            .players
            .values()
            .map(|p| Point {
                x: p.body.x,
                y: p.body.y,
            })
            .collect();
        let at = spawn::choose(&self.map.spawns, &others, id.0 as usize);
        let body = Body {
            x: at.x,
            y: at.y,
            ..Body::default()
        };
        self.players.insert(
            id,
            Player {
                name: name.to_owned(),
                body,
                it: false,
                immune: 0,
                score: 0,
            },
        );
        self.ensure_it();
        id
    }

    fn leave(&mut self, player: EntityId) {
        self.players.remove(&player);
        self.ensure_it();
    }

    fn apply_input(&mut self, player: EntityId, &(move_x, move_y): &(i8, i8)) {
        let (rules, map) = (self.rules, Arc::clone(&self.map));
        if let Some(p) = self.players.get_mut(&player) {
            step_runner(&mut p.body, move_x, move_y, &rules, &map);
        }
    }

    /// In order: tags, then the clock (immunity, scores, the round).
    fn step(&mut self) {
        self.tag_touched();
        for p in self.players.values_mut() {
            p.immune = p.immune.saturating_sub(1);
            if !p.it {
                p.score += 1;
            }
        }
        self.round_left -= 1;
        if self.round_left == 0 {
            self.round_left = round_ticks(&self.rules);
            for p in self.players.values_mut() {
                p.score = 0;
            }
        }
        self.tick = self.tick.next();
    }

    fn len(&self) -> usize {
        self.players.len()
    }

    fn entities(&self) -> impl Iterator<Item = (EntityId, Runner)> + '_ {
        self.players.iter().map(|(id, p)| {
            let runner = Runner {
                x: p.body.x,
                y: p.body.y,
                vx: p.body.vx,
                vy: p.body.vy,
                it: p.it,
                immune: p.immune,
                score: p.score,
            };
            (*id, runner)
        })
    }

    fn player_position(&self, player: EntityId) -> Option<Point> {
        self.players.get(&player).map(|p| Point {
            x: p.body.x,
            y: p.body.y,
        })
    }

    fn player_name(&self, player: EntityId) -> Option<&str> {
        self.players.get(&player).map(|p| p.name.as_str())
    }

    fn player_score(&self, player: EntityId) -> Option<i32> {
        self.players.get(&player).map(|p| p.score)
    }

    fn keyframe(&self) -> Option<Vec<u8>> {
        Some(crate::codec::encode_value(&(
            self.tick,
            &self.players,
            self.next_id,
            self.round_left,
        )))
    }

    fn restore(&mut self, keyframe: &[u8]) -> bool {
        type State = (Tick, BTreeMap<EntityId, Player>, u32, u32);
        let Ok((tick, players, next_id, round_left)) =
            crate::codec::decode_value::<State>(keyframe)
        else {
            return false;
        };
        (self.tick, self.players, self.next_id, self.round_left) =
            (tick, players, next_id, round_left);
        true
    }

    type Local = (Rules, MapDef);

    fn local(welcome: &Welcome) -> (Rules, MapDef) {
        (Rules::for_tick_rate(welcome.tick_rate), welcome.map.clone())
    }

    fn predict((rules, map): &(Rules, MapDef), own: &mut Runner, &(move_x, move_y): &(i8, i8)) {
        let mut body = Body {
            x: own.x,
            y: own.y,
            vx: own.vx,
            vy: own.vy,
            angle: 0,
        };
        step_runner(&mut body, move_x, move_y, rules, map);
        (own.x, own.y, own.vx, own.vy) = (body.x, body.y, body.vx, body.vy);
    }

    /// Movement: what prediction computes ("it", immunity and score come from the server).
    fn same_prediction(p: &Runner, a: &Runner) -> bool {
        (p.x, p.y, p.vx, p.vy) == (a.x, a.y, a.vx, a.vy)
    }

    fn position_of(state: &Runner) -> Point {
        Point {
            x: state.x,
            y: state.y,
        }
    }
}

/// A runner's step from its axes: the arena's movement, facing nowhere (tag has no aim).
fn step_runner(body: &mut Body, move_x: i8, move_y: i8, rules: &Rules, map: &MapDef) {
    let input = PlayerInput {
        move_x,
        move_y,
        ..PlayerInput::default()
    };
    movement::step(body, &input, rules, map);
    body.angle = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: i32, y: i32) -> Point {
        Point { x, y }
    }

    fn tag() -> Tag {
        Tag::new(Arc::new(MapDef::arena()), Rules::for_tick_rate(60), Tick(0))
    }

    fn state(t: &Tag, id: EntityId) -> Runner {
        t.entities()
            .find(|(i, _)| *i == id)
            .map(|(_, s)| s)
            .expect("present")
    }

    #[test]
    fn the_first_player_is_it_and_leaving_passes_it_on() {
        let mut t = tag();
        let a = t.join("a");
        let b = t.join("b");
        assert_eq!(t.it(), Some(a));
        t.leave(a);
        assert_eq!(t.it(), Some(b));
    }

    #[test]
    fn touching_passes_it_and_the_tagger_is_immune() {
        let mut t = tag();
        let (a, b) = (t.join("a"), t.join("b"));
        t.place(a, at(10_000, 10_000));
        t.place(b, at(10_000 + 2 * PLAYER_RADIUS, 10_000));
        t.step();
        assert_eq!(t.it(), Some(b), "touching at exactly two radii tags");
        let immunity = IMMUNITY_S * 60;
        assert_eq!(state(&t, a).immune, immunity - 1);
        // Still touching: b cannot tag a back while a is immune.
        for _ in 0..immunity - 1 {
            t.step();
            assert_eq!(t.it(), Some(b));
        }
        assert_eq!(state(&t, a).immune, 0);
        t.step();
        assert_eq!(t.it(), Some(a), "tagged back once immunity ran out");
    }

    #[test]
    fn apart_nobody_is_tagged_and_scores_count_ticks_not_it() {
        let mut t = tag();
        let (a, b) = (t.join("a"), t.join("b"));
        t.place(a, at(10_000, 10_000));
        t.place(b, at(10_001 + 2 * PLAYER_RADIUS, 10_000));
        for _ in 0..100 {
            t.step();
        }
        assert_eq!(t.it(), Some(a));
        assert_eq!((state(&t, a).score, state(&t, b).score), (0, 100));
    }

    #[test]
    fn a_round_ends_after_its_length_and_scores_restart() {
        let mut t = tag();
        let (_a, b) = (t.join("a"), t.join("b"));
        t.place(b, at(60_000, 30_000));
        let round = ROUND_S * 60;
        for _ in 0..round - 1 {
            t.step();
        }
        assert_eq!(state(&t, b).score, round as i32 - 1);
        assert_eq!(t.round_left(), 1);
        t.step();
        assert_eq!(state(&t, b).score, 0);
        assert_eq!(t.round_left(), round);
    }

    #[test]
    fn inputs_move_runners_with_the_arena_movement() {
        let mut t = tag();
        let a = t.join("a");
        let start = state(&t, a);
        for _ in 0..30 {
            t.apply_input(a, &(127, 0));
            t.step();
        }
        let moved = state(&t, a);
        assert!(moved.x > start.x && moved.vx > 0 && moved.y == start.y);
        assert_eq!(
            moved.quantized(),
            moved,
            "every replicated field fits its width"
        );
    }
}
