//! The `Game` trait: what a room needs from a game's rules. A game is a value with no I/O and
//! no clock; the room steps it, feeds it inputs and replicates what it shows.
//!
//! # Determinism contract
//!
//! The same rules run on the server, in the headless bots and (compiled to wasm) in the
//! browser, which predicts its own player with them and checks every snapshot's checksum. For
//! the two to agree bit for bit, the rules must:
//!
//! - use integers, or floating-point operations IEEE 754 defines exactly (`+ - * /`, `sqrt`,
//!   conversions); no `sin`, `atan2`, `powf` or fused multiply-add from the platform (`libm`
//!   computes the same everywhere);
//! - iterate in a defined order (`BTreeMap`, sorted `Vec`; never a `HashMap`);
//! - take no randomness but from a seeded generator in the game's state;
//! - read nothing but their state and the inputs: no clock, no thread, no I/O.
//!
//! Whatever a client sees goes through [`Game::State`], which `#[derive(Replicate)]` turns into
//! the delta codec's layout.

use std::fmt::Debug;

use crate::map::Point;
use crate::protocol::Welcome;
use crate::sim::{EntityId, PlayerInput};
use crate::snapshot::Replicate;
use crate::tick::Tick;

/// What lag compensation did, cumulative: the server's metrics read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rewinds {
    /// Shots judged at a claimed moment.
    pub judged: u64,
    /// Claims older than the maximum rewind (or in the future), moved into bounds.
    pub clamped: u64,
}

/// A game's rules, as a room hosts them.
pub trait Game: Debug + Send + 'static {
    /// One entity as clients see it.
    type State: Replicate + Send + Sync;
    /// One player's input for one step, quantized and validated.
    type Input: Copy + Debug + PartialEq + Send;

    /// The game's name, which room kinds use ("arena", "tag").
    const NAME: &'static str;

    /// A player's input from the controller state every input message carries (axes, aim,
    /// fire: PROTOCOL.md, `Input`). The connection has range-checked it; a game takes what
    /// it uses.
    fn input(controls: &PlayerInput) -> Self::Input;

    /// The tick the next step makes (the world's current tick).
    fn tick(&self) -> Tick;

    /// Adds a player and returns its entity.
    fn join(&mut self, name: &str) -> EntityId;

    /// Removes a player's entity (and whatever the game ties to it).
    fn leave(&mut self, player: EntityId);

    /// One player step from one input. Called once per accepted input, in sequence order,
    /// before [`Game::step`]; a client predicts its own player by calling the same rules.
    fn apply_input(&mut self, player: EntityId, input: &Self::Input);

    /// Advances everything the server's clock moves by one tick; the tick number advances.
    fn step(&mut self);

    /// How many entities [`Game::entities`] yields.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entity in ascending id order, as clients see it. Interest management places each
    /// at [`Game::position_of`] its state (a player sees what lies in its view rectangle).
    fn entities(&self) -> impl Iterator<Item = (EntityId, Self::State)> + '_;

    /// A player's position: the center of its view. `None` for an unknown id.
    fn player_position(&self, player: EntityId) -> Option<Point>;

    /// A player's name, sent to a client the first time the player enters its view.
    fn player_name(&self, player: EntityId) -> Option<&str>;

    /// A player's score on the scoreboard (higher ranks first).
    fn player_score(&self, player: EntityId) -> Option<i32>;

    /// What the game's lag compensation has done since it began, for games that judge shots
    /// at the moment an input claims ([`crate::sim::PlayerInput::view`]).
    fn rewinds(&self) -> Rewinds {
        Rewinds::default()
    }

    /// The game's whole changing state as bytes, for a recording's keyframes: a viewer
    /// seeking far into a match starts from the keyframe before instead of re-simulating from
    /// the first tick. `None` (the default): the game keeps none, and seeking re-simulates.
    fn keyframe(&self) -> Option<Vec<u8>> {
        None
    }

    /// Puts back what [`Game::keyframe`] wrote, into a game freshly set up from the same
    /// settings (map, rules), so that it continues exactly as the recorded one did. False
    /// when the bytes are not a keyframe of this game.
    fn restore(&mut self, _keyframe: &[u8]) -> bool {
        false
    }

    /// A player's health, for games that have it (the server's `/players` list).
    fn player_health(&self, _player: EntityId) -> Option<u8> {
        None
    }

    /// What a client needs to predict its own player, built once from the room's `Welcome`
    /// (the arena: its rules for the tick rate, and the map).
    type Local: Debug;

    fn local(welcome: &Welcome) -> Self::Local;

    /// One step of the own player from one input, on the client: exactly what
    /// [`Game::apply_input`] does to that player on the server, or prediction fails.
    fn predict(local: &Self::Local, own: &mut Self::State, input: &Self::Input);

    /// Whether the server changed a player from `before` to `after` for a reason its own
    /// inputs cannot predict (in the arena: a death or a respawn). Such a step is not counted
    /// as a misprediction.
    fn unpredictable(_before: &Self::State, _after: &Self::State) -> bool {
        false
    }

    /// Whether a prediction matches the server's state, on the fields prediction computes
    /// (all of them unless a game says otherwise).
    fn same_prediction(predicted: &Self::State, auth: &Self::State) -> bool {
        predicted == auth
    }

    /// Where an entity is: the client's correction offset and the renderer read it.
    fn position_of(state: &Self::State) -> Point;

    /// For drawing a little past the newest snapshot: the velocity (quanta per tick) of an
    /// entity that flies in a straight line (a projectile). `None` (the default) holds it
    /// where it was, as for anything a player steers.
    fn extrapolate(_state: &Self::State) -> Option<(i32, i32)> {
        None
    }

    /// The entity this one belongs to, if any (a projectile's shooter): see
    /// [`Game::pulls_into_view`].
    fn link(_state: &Self::State) -> Option<EntityId> {
        None
    }

    /// Whether this entity, at `at` in a viewer's view at `viewer`, brings its
    /// [`Game::link`] into that view although it is outside: a shot flying at the viewer
    /// shows its shooter, so a shot never comes from nowhere.
    fn pulls_into_view(_state: &Self::State, _at: Point, _viewer: Point) -> bool {
        false
    }
}
