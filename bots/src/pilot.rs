//! Per-game input generators: what a bot presses each tick, as the controller state every
//! input message carries (axes in `[-1, 1]`, aim in radians, fire, alternate fire).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use snapwire_shared::client::ClientSession;
use snapwire_shared::game::Game;
use snapwire_shared::sim::World;
use snapwire_shared::snapshot::{EntityKind, EntityState};
use snapwire_shared::tag::{Runner, Tag};

/// A game the bots can play: how a bot of it moves.
pub trait BotGame: Game + Sized {
    fn controls(walker: &mut Walker, session: &ClientSession<Self>) -> Controls;

    /// What of the own player must come back unchanged from a dropped connection when no one
    /// fires: the arena's score and health (tag's score is time free, which runs on while
    /// away, so only the player's id is checked there).
    fn durable(state: &Self::State) -> (i32, Option<u8>);
}

/// Axes, aim (radians), fire, alternate fire.
pub type Controls = (f32, f32, f32, bool, bool);

/// A bot tries the rail about once in this many ticks (with a player in view): every two
/// seconds at 60 Hz, so that deaths (two seconds each, unpredicted) leave most of a short run
/// to prediction checks.
const RAIL_EVERY: u32 = 120;

/// The arena: a random walk, a sweeping aim, fire in bursts, and now and then the rail at the
/// nearest player it sees, where it sees it (lag compensation judges it there).
impl BotGame for World {
    fn controls(walker: &mut Walker, session: &ClientSession<World>) -> Controls {
        let (mx, my, aim, fire, _) = walker.step();
        let (Some(me_id), Some((tick, view))) = (session.player_id(), session.replica().latest())
        else {
            return (mx, my, aim, fire, false);
        };
        // Spread over ticks by id, so bots do not all fire on one tick.
        if !walker.fire || (tick.0.wrapping_add(me_id.0.wrapping_mul(7))) % RAIL_EVERY != 0 {
            return (mx, my, aim, fire, false);
        }
        let Some(me) = view.get(me_id) else {
            return (mx, my, aim, fire, false);
        };
        let nearest = view
            .entities()
            .iter()
            .filter(|(id, s)| *id != me_id && s.kind == EntityKind::Player && s.health > 0)
            .map(|(_, s)| (f64::from(s.x - me.x), f64::from(s.y - me.y)))
            .min_by(|a, b| (a.0 * a.0 + a.1 * a.1).total_cmp(&(b.0 * b.0 + b.1 * b.1)));
        match nearest {
            Some((dx, dy)) => (mx, my, dy.atan2(dx) as f32, fire, true),
            None => (mx, my, aim, fire, false),
        }
    }

    fn durable(state: &EntityState) -> (i32, Option<u8>) {
        (state.score, Some(state.health))
    }
}

/// Tag: "it" runs at the nearest runner it sees; everyone else walks at random (which, with
/// a chaser about, is how most of a round of tag looks).
impl BotGame for Tag {
    fn controls(walker: &mut Walker, session: &ClientSession<Tag>) -> Controls {
        let wander = walker.step();
        let (Some(me_id), Some((_, view))) = (session.player_id(), session.replica().latest())
        else {
            return wander;
        };
        let Some(me) = view.get(me_id).filter(|me| me.it) else {
            return wander;
        };
        let nearest = view
            .entities()
            .iter()
            .filter(|(id, _)| *id != me_id)
            .map(|(_, r)| {
                let (dx, dy) = (f64::from(r.x - me.x), f64::from(r.y - me.y));
                (dx * dx + dy * dy, dx, dy)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        match nearest {
            Some((d2, dx, dy)) if d2 > 0.0 => {
                let d = d2.sqrt();
                ((dx / d) as f32, (dy / d) as f32, 0.0, false, false)
            }
            _ => wander,
        }
    }

    fn durable(_: &Runner) -> (i32, Option<u8>) {
        (0, None)
    }
}

/// Random-walk inputs: hold a direction for a while, sweep the aim, fire in bursts.
#[derive(Debug)]
pub struct Walker {
    rng: SmallRng,
    dir: (f32, f32),
    aim: f32,
    firing: bool,
    /// Whether fire may be pressed at all (`--no-fire`).
    fire: bool,
}

impl Walker {
    pub fn new(seed: u64, fire: bool) -> Walker {
        Walker {
            rng: SmallRng::seed_from_u64(seed),
            dir: (1.0, 0.0),
            aim: 0.0,
            firing: false,
            fire,
        }
    }

    pub fn step(&mut self) -> Controls {
        if self.rng.random_ratio(1, 30) {
            let a: f32 = self.rng.random_range(0.0..std::f32::consts::TAU);
            self.dir = (a.cos(), a.sin());
        }
        if self.rng.random_ratio(1, 20) {
            self.firing = !self.firing;
        }
        self.aim = (self.aim + self.rng.random_range(-0.2..0.2)).rem_euclid(std::f32::consts::TAU);
        (
            self.dir.0,
            self.dir.1,
            self.aim,
            self.firing && self.fire,
            false,
        )
    }
}
