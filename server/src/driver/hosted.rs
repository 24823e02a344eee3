//! Rooms of different games side by side: the scheduler steps a [`HostedRoom`] whatever its
//! game, and a room kind makes the rooms of its game through a [`GameMaker`].

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use snapwire_shared::Tick;
use snapwire_shared::game::Game;
use snapwire_shared::sim::World;
use snapwire_shared::tag::Tag;

use crate::driver::room_driver::{DriverParts, RoomDriver, Step};
use crate::room::record::{Checksum, Keyframe, ReplayError, TickRecord};
use crate::room::{Room, RoomSettings, arena_world};

/// A room driver of some game, as the scheduler sees it.
pub trait HostedRoom: Send + fmt::Debug {
    fn id(&self) -> &str;
    /// How long after it arrives the room first ticks.
    fn phase(&self) -> Duration;
    /// Runs the tick due at `deadline`.
    fn step(&mut self, deadline: Instant) -> Step;
    /// The room's rules panicked: close it alone.
    fn fail(self: Box<Self>);
    /// The server is stopping.
    fn shut_down(self: Box<Self>);
}

impl<G: Game> HostedRoom for RoomDriver<G> {
    fn id(&self) -> &str {
        RoomDriver::id(self)
    }

    fn phase(&self) -> Duration {
        RoomDriver::phase(self)
    }

    fn step(&mut self, deadline: Instant) -> Step {
        RoomDriver::step(self, deadline)
    }

    fn fail(self: Box<Self>) {
        RoomDriver::fail(*self);
    }

    fn shut_down(self: Box<Self>) {
        RoomDriver::shut_down(*self);
    }
}

type Make = dyn Fn(&RoomSettings, DriverParts) -> Box<dyn HostedRoom> + Send + Sync;

type Replay =
    dyn Fn(&RoomSettings, &[TickRecord], Checksum) -> Result<(), ReplayError> + Send + Sync;

/// Makes a room's driver once the registry has given it its parts.
pub type MakeDriver = Box<dyn FnOnce(DriverParts) -> Box<dyn HostedRoom> + Send>;

type Play = dyn Fn(
        &RoomSettings,
        Vec<TickRecord>,
        &[Keyframe],
        Checksum,
        Tick,
        u16,
    ) -> Result<MakeDriver, ReplayError>
    + Send
    + Sync;

/// How a room kind makes a new room: the game's name and a function that sets a game up from
/// the kind's settings.
#[derive(Clone)]
pub struct GameMaker {
    game: &'static str,
    make: Arc<Make>,
    /// Sets a room up the same way and runs a recording through it ([`Room::replay`]).
    replay: Arc<Replay>,
    /// Sets a room up to play a recording back to viewers ([`Room::start_playback`]).
    play: Arc<Play>,
}

impl GameMaker {
    /// Rooms of game `G`, each set up by `new` from the kind's settings.
    pub fn new<G: Game>(new: impl Fn(&RoomSettings) -> G + Send + Sync + 'static) -> GameMaker {
        let new = Arc::new(new);
        let again = Arc::clone(&new);
        let playing = Arc::clone(&new);
        GameMaker {
            game: G::NAME,
            make: Arc::new(move |settings, parts| {
                let room = Room::with_game(settings.clone(), new(settings));
                Box::new(RoomDriver::new(room, parts))
            }),
            replay: Arc::new(move |settings, ticks, checksum| {
                let mut room = Room::with_game(settings.clone(), again(settings));
                ticks.iter().try_for_each(|t| room.replay(t, checksum))
            }),
            play: Arc::new(move |settings, ticks, keyframes, checksum, from, rate| {
                let mut room = Room::with_game(settings.clone(), playing(settings));
                room.start_playback(ticks, keyframes, checksum, from, rate)?;
                Ok(Box::new(move |parts| {
                    Box::new(RoomDriver::new(room, parts)) as Box<dyn HostedRoom>
                }) as MakeDriver)
            }),
        }
    }

    /// A room of this game that plays `ticks` back to viewers from tick `from` at `rate`
    /// ticks a second; everything up to `from` is re-simulated here (blocking work: call it
    /// off the async threads).
    pub fn prepare_playback(
        &self,
        settings: &RoomSettings,
        ticks: Vec<TickRecord>,
        keyframes: &[Keyframe],
        checksum: Checksum,
        from: Tick,
        rate: u16,
    ) -> Result<MakeDriver, ReplayError> {
        (self.play)(settings, ticks, keyframes, checksum, from, rate)
    }

    /// Runs a recording of a room of this game through a new room set up from `settings`:
    /// `Err` names the first tick whose world differs.
    pub fn replay(
        &self,
        settings: &RoomSettings,
        ticks: &[TickRecord],
        checksum: Checksum,
    ) -> Result<(), ReplayError> {
        (self.replay)(settings, ticks, checksum)
    }

    /// The arena, with the kind's scene.
    pub fn arena() -> GameMaker {
        GameMaker::new::<World>(|s| arena_world(s, Default::default()))
    }

    /// Tag, on the kind's map.
    pub fn tag() -> GameMaker {
        GameMaker::new::<Tag>(|s| {
            Tag::new(
                Arc::new(s.map.clone()),
                snapwire_shared::sim::Rules::for_tick_rate(s.tick_rate)
                    .with_max_rewind_ms(s.max_rewind_ms),
                Default::default(),
            )
        })
    }

    /// The game's name (`Game::NAME`).
    pub fn game(&self) -> &'static str {
        self.game
    }

    pub fn make(&self, settings: &RoomSettings, parts: DriverParts) -> Box<dyn HostedRoom> {
        (self.make)(settings, parts)
    }
}

impl fmt::Debug for GameMaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GameMaker")
            .field("game", &self.game)
            .finish()
    }
}
