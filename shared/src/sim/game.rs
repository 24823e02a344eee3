//! The arena as a [`Game`]: the [`World`] behind the trait rooms host.

use crate::game::{Game, Rewinds};
use crate::map::{MapDef, Point};
use crate::protocol::Welcome;
use crate::quantize::POS_SCALE;
use crate::sim::Rules;
use crate::sim::movement::{self, Body};
use crate::sim::{EntityId, PlayerInput, World};
use crate::snapshot::{EntityKind, EntityState};
use crate::tick::Tick;

/// A projectile passing the viewer closer than this (position quanta) is "fired at" it.
const AIMED_AT: f64 = 1.5 * POS_SCALE as f64;

impl Game for World {
    type State = EntityState;
    type Input = PlayerInput;

    const NAME: &'static str = "arena";

    fn input(controls: &PlayerInput) -> PlayerInput {
        *controls
    }

    fn tick(&self) -> Tick {
        World::tick(self)
    }

    fn join(&mut self, name: &str) -> EntityId {
        self.spawn_player(name.to_owned())
    }

    fn leave(&mut self, player: EntityId) {
        self.remove(player);
    }

    fn apply_input(&mut self, player: EntityId, input: &PlayerInput) {
        World::apply_input(self, player, input);
    }

    fn step(&mut self) {
        World::step(self);
    }

    fn len(&self) -> usize {
        World::len(self)
    }

    fn entities(&self) -> impl Iterator<Item = (EntityId, EntityState)> + '_ {
        World::entities(self).map(|(id, e)| (id, e.net_state()))
    }

    fn player_position(&self, player: EntityId) -> Option<Point> {
        self.player(player).map(|p| Point {
            x: p.body.x,
            y: p.body.y,
        })
    }

    fn player_name(&self, player: EntityId) -> Option<&str> {
        self.player(player).map(|p| p.name.as_str())
    }

    fn player_score(&self, player: EntityId) -> Option<i32> {
        self.player(player).map(|p| p.score)
    }

    fn rewinds(&self) -> Rewinds {
        World::rewinds(self)
    }

    fn keyframe(&self) -> Option<Vec<u8>> {
        Some(World::keyframe(self))
    }

    fn restore(&mut self, keyframe: &[u8]) -> bool {
        World::restore(self, keyframe)
    }

    fn player_health(&self, player: EntityId) -> Option<u8> {
        self.player(player).map(|p| p.health)
    }

    type Local = (Rules, MapDef);

    fn local(welcome: &Welcome) -> (Rules, MapDef) {
        (Rules::for_tick_rate(welcome.tick_rate), welcome.map.clone())
    }

    /// A dead player does not move.
    fn predict((rules, map): &(Rules, MapDef), own: &mut EntityState, input: &PlayerInput) {
        if own.health == 0 {
            return;
        }
        let mut body = Body {
            x: own.x,
            y: own.y,
            vx: own.vx,
            vy: own.vy,
            angle: own.angle,
        };
        movement::step(&mut body, input, rules, map);
        (own.x, own.y, own.vx, own.vy, own.angle) = (body.x, body.y, body.vx, body.vy, body.angle);
    }

    fn unpredictable(before: &EntityState, after: &EntityState) -> bool {
        before.life != after.life || before.health == 0 || after.health == 0
    }

    /// Movement and aim: what prediction computes (health and score come from the server).
    fn same_prediction(p: &EntityState, a: &EntityState) -> bool {
        (p.x, p.y, p.vx, p.vy, p.angle) == (a.x, a.y, a.vx, a.vy, a.angle)
    }

    fn position_of(state: &EntityState) -> Point {
        Point {
            x: state.x,
            y: state.y,
        }
    }

    /// Projectiles and drifters fly straight; players steer.
    fn extrapolate(state: &EntityState) -> Option<(i32, i32)> {
        (state.kind != EntityKind::Player).then_some((state.vx, state.vy))
    }

    fn link(state: &EntityState) -> Option<EntityId> {
        (state.kind == EntityKind::Projectile).then_some(EntityId(state.owner))
    }

    /// A projectile that approaches the viewer and passes it within [`AIMED_AT`]. Only those: a
    /// shooter whose shot merely crosses the view would cost every viewer a full entity and a
    /// name (measured with 1,000 players on the field map, adding every shooter made views 20%
    /// larger and the encoding 80% slower).
    fn pulls_into_view(state: &EntityState, at: Point, viewer: Point) -> bool {
        let (dx, dy) = (
            f64::from(viewer.x) - f64::from(at.x),
            f64::from(viewer.y) - f64::from(at.y),
        );
        let (vx, vy) = (f64::from(state.vx), f64::from(state.vy));
        let speed2 = vx * vx + vy * vy;
        if speed2 == 0.0 || dx * vx + dy * vy <= 0.0 {
            return false;
        }
        // Distance from the viewer to the projectile's line of flight.
        let cross = dx * vy - dy * vx;
        cross * cross <= AIMED_AT * AIMED_AT * speed2
    }
}
