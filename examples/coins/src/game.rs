//! Coins: players run about a field and pick up coins. The whole game a room hosts: its
//! replicated state, its input, its rules and how a client predicts its own player.

use std::collections::BTreeMap;

use snapwire_shared::Tick;
use snapwire_shared::game::Game;
use snapwire_shared::map::Point;
use snapwire_shared::protocol::Welcome;
use snapwire_shared::sim::{EntityId, PlayerInput};
use snapwire_shared::snapshot::{Replicate, ReplicateKind};

/// What an entity is: sent once, when it enters a client's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ReplicateKind)]
pub enum Kind {
    #[default]
    Runner = 0,
    Coin = 1,
}

/// One entity as clients see it. Positions are dead-reckoned from velocities, so a runner
/// going straight costs no bits; the coin count rarely changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Replicate)]
pub struct Thing {
    #[replicate(kind)]
    pub kind: Kind,
    #[replicate(group = "motion", chunk = 5, velocity = "vx")]
    pub x: i32,
    #[replicate(group = "motion", chunk = 5, velocity = "vy")]
    pub y: i32,
    #[replicate(group = "motion", bits = 10, chunk = 3)]
    pub vx: i16,
    #[replicate(group = "motion", bits = 10, chunk = 3)]
    pub vy: i16,
    #[replicate(bits = 12, chunk = 2)]
    pub coins: u16,
}

/// Position quanta a runner moves per tick at full stick (9 units a second at 60 Hz).
const SPEED: i32 = 150;
/// A runner this close to a coin (quanta) picks it up.
const REACH: i64 = 800;
const COINS: usize = 24;

#[derive(Debug)]
pub struct Coins {
    tick: Tick,
    size: Point,
    things: BTreeMap<EntityId, Thing>,
    names: BTreeMap<EntityId, String>,
    next_id: u32,
    /// Where the next coin lands: a seeded generator in the state, so every run agrees.
    seed: u64,
}

impl Coins {
    pub fn new(width: i32, height: i32) -> Coins {
        let mut game = Coins {
            tick: Tick(0),
            size: Point {
                x: width,
                y: height,
            },
            things: BTreeMap::new(),
            names: BTreeMap::new(),
            next_id: 1,
            seed: 0x5eed,
        };
        for _ in 0..COINS {
            game.drop_coin();
        }
        game
    }

    fn drop_coin(&mut self) {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let (x, y) = ((self.seed >> 33) as i32, (self.seed >> 13) as i32 & 0xfffff);
        let coin = Thing {
            kind: Kind::Coin,
            x: x.rem_euclid(self.size.x),
            y: y.rem_euclid(self.size.y),
            ..Thing::default()
        };
        self.things.insert(EntityId(self.next_id), coin);
        self.next_id += 1;
    }
}

/// A runner's step: velocity from the stick, then move, staying on the field.
fn run(me: &mut Thing, (ax, ay): (i8, i8), size: Point) {
    me.vx = (i32::from(ax) * SPEED / 127) as i16;
    me.vy = (i32::from(ay) * SPEED / 127) as i16;
    me.x = (me.x + i32::from(me.vx)).clamp(0, size.x);
    me.y = (me.y + i32::from(me.vy)).clamp(0, size.y);
}

impl Game for Coins {
    type State = Thing;
    type Input = (i8, i8);
    const NAME: &'static str = "coins";

    fn input(controls: &PlayerInput) -> (i8, i8) {
        (controls.move_x, controls.move_y)
    }

    fn tick(&self) -> Tick {
        self.tick
    }

    fn join(&mut self, name: &str) -> EntityId {
        let id = EntityId(self.next_id);
        self.next_id += 1;
        let (x, y) = (self.size.x / 2, self.size.y / 2);
        self.things.insert(
            id,
            Thing {
                x,
                y,
                ..Thing::default()
            },
        );
        self.names.insert(id, name.to_owned());
        id
    }

    fn leave(&mut self, player: EntityId) {
        self.things.remove(&player);
        self.names.remove(&player);
    }

    fn apply_input(&mut self, player: EntityId, input: &(i8, i8)) {
        if let Some(me) = self.things.get_mut(&player) {
            run(me, *input, self.size);
        }
    }

    /// Coins within reach go to the runner with the lowest id; new ones drop elsewhere.
    fn step(&mut self) {
        let runners: Vec<(EntityId, Point)> = self
            .things
            .iter()
            .filter(|(_, t)| t.kind == Kind::Runner)
            .map(|(id, t)| (*id, Coins::position_of(t)))
            .collect();
        let mut taken = Vec::new();
        for (coin, c) in self.things.iter().filter(|(_, t)| t.kind == Kind::Coin) {
            let near = |p: &Point| {
                let (dx, dy) = (i64::from(p.x - c.x), i64::from(p.y - c.y));
                dx * dx + dy * dy <= REACH * REACH
            };
            if let Some((runner, _)) = runners.iter().find(|(_, p)| near(p)) {
                taken.push((*coin, *runner));
            }
        }
        for (coin, runner) in taken {
            self.things.remove(&coin);
            if let Some(r) = self.things.get_mut(&runner) {
                r.coins = (r.coins + 1).min(4095);
            }
            self.drop_coin();
        }
        self.tick = self.tick.next();
    }

    fn len(&self) -> usize {
        self.things.len()
    }

    fn entities(&self) -> impl Iterator<Item = (EntityId, Thing)> + '_ {
        self.things.iter().map(|(id, t)| (*id, *t))
    }

    fn player_position(&self, player: EntityId) -> Option<Point> {
        self.things.get(&player).map(Coins::position_of)
    }

    fn player_name(&self, player: EntityId) -> Option<&str> {
        self.names.get(&player).map(String::as_str)
    }

    fn player_score(&self, player: EntityId) -> Option<i32> {
        self.things.get(&player).map(|t| i32::from(t.coins))
    }

    type Local = Point;

    fn local(welcome: &Welcome) -> Point {
        Point {
            x: welcome.map.width,
            y: welcome.map.height,
        }
    }

    fn predict(size: &Point, own: &mut Thing, input: &(i8, i8)) {
        run(own, *input, *size);
    }

    /// The coin count comes from the server; prediction computes the motion.
    fn same_prediction(p: &Thing, a: &Thing) -> bool {
        (p.x, p.y, p.vx, p.vy) == (a.x, a.y, a.vx, a.vy)
    }

    fn position_of(t: &Thing) -> Point {
        Point { x: t.x, y: t.y }
    }
}
