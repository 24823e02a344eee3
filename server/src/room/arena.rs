//! The built-in arena's part of a room: the scene a room starts with (extra entities, fault
//! injection) and arena rooms made from settings. The generic room knows nothing of it but the
//! `panic:N` fault it injects.

use std::str::FromStr;
use std::sync::Arc;

use snapwire_shared::Tick;
use snapwire_shared::sim::{Rules, World};
use thiserror::Error;

use crate::room::{Room, RoomSettings};

/// The most drifters a scene may have: a spectator's snapshot holds every entity, and no client
/// decodes more than [`snapwire_shared::snapshot::format::MAX_ENTITIES`] (65,536); this leaves room for
/// players and their projectiles.
pub const MAX_DRIFTERS: u32 = 50_000;

/// Non-player entities a room starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    Empty,
    /// `drift:N`: N entities moving (+0.1, -0.05) units per tick, wrapping at the map edges.
    Drift(u32),
    /// `panic:N`: fault injection: the room's tick panics after N ticks, to see (and test) that
    /// only that room closes.
    PanicAfter(u32),
}

impl std::fmt::Display for Scene {
    /// The form `FromStr` reads.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scene::Empty => write!(f, "empty"),
            Scene::Drift(n) => write!(f, "drift:{n}"),
            Scene::PanicAfter(n) => write!(f, "panic:{n}"),
        }
    }
}

#[derive(Debug, Error, PartialEq)]
#[error("scene must be `empty`, `drift:N` with N <= {MAX_DRIFTERS} or `panic:N`, not `{0}`")]
pub struct SceneError(String);

impl FromStr for Scene {
    type Err = SceneError;

    fn from_str(s: &str) -> Result<Scene, SceneError> {
        let err = || SceneError(s.to_owned());
        match s.split_once(':') {
            None if s == "empty" => Ok(Scene::Empty),
            Some(("drift", n)) => match n.parse::<u32>() {
                Ok(n) if n <= MAX_DRIFTERS => Ok(Scene::Drift(n)),
                _ => Err(err()),
            },
            Some(("panic", n)) => n.parse().map(Scene::PanicAfter).map_err(|_| err()),
            _ => Err(err()),
        }
    }
}

/// An arena world for a room with `settings`, first tick `tick`, with the settings' scene.
pub fn arena_world(settings: &RoomSettings, tick: Tick) -> World {
    let mut world = World::new(
        Arc::new(settings.map.clone()),
        Rules::for_tick_rate(settings.tick_rate).with_max_rewind_ms(settings.max_rewind_ms),
        tick,
    );
    match settings.scene {
        Scene::Empty | Scene::PanicAfter(_) => {}
        Scene::Drift(n) => world.add_drifters(n),
    }
    world
}

impl Room<World> {
    pub fn new(settings: RoomSettings) -> Room {
        Room::starting_at(settings, Tick(0))
    }

    /// An arena room whose first tick is `tick` (tests start near `u32::MAX` to cross the
    /// wrap), with the settings' scene.
    pub fn starting_at(settings: RoomSettings, tick: Tick) -> Room {
        let world = arena_world(&settings, tick);
        Room::with_game(settings, world)
    }
}
