//! Server configuration, parsed by `main.rs` from the command line and built directly by tests.
//! Settings are data: a room kind names its game, and the server's composition root
//! ([`crate::serve`]) finds the game among those it hosts ([`crate::driver::games`]).

use std::path::PathBuf;
use std::time::Duration;

use snapwire_shared::game::Game;
use snapwire_shared::map::MapDef;
use snapwire_shared::sim::World;
use snapwire_shared::tag::Tag;
use thiserror::Error;

pub use crate::room::{InputRate, RoomSettings, Scene};
use crate::ticket::TicketKey;

/// Defaults the command line states too (`main.rs` takes its `--help` defaults from here).
pub mod defaults {
    use std::time::Duration;

    pub use crate::room::settings::{DEFAULT_HISTORY as HISTORY, DEFAULT_VIEW as VIEW};

    pub const TICK_RATE: u16 = 60;
    pub const MAX_CLIENTS: usize = 1024;
    pub const MAX_ROOMS: usize = 1000;
    pub const ROOM_GRACE: Duration = Duration::from_secs(30);
    pub const ROOM_THREADS: usize = 1;
    pub const MAX_PENDING: usize = 256;
    pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(6);
    pub const RESUME_GRACE: Duration = Duration::from_secs(30);
    pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
    pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The rooms of the default kind: map, tick rate (1..=240), view, baselines, scene,
    /// snapshot rate, input rate, rewind bound. Other kinds start from these.
    pub room: RoomSettings,
    /// Connections beyond this are closed with `ServerFull`.
    pub max_clients: usize,
    /// How long a new connection has to send `Hello`.
    pub hello_timeout: Duration,
    /// Directory served at `/` (the browser client); none serves only the API.
    pub assets: Option<PathBuf>,
    /// Clients per room of the default kind (players and spectators); none: `max_clients`,
    /// so everyone joins one room, as before rooms existed.
    pub room_size: Option<usize>,
    /// Rooms open at once, at most; a join that needs one more is closed with 4010.
    pub max_rooms: usize,
    /// How long an empty room stays open (the default room never closes).
    pub room_grace: Duration,
    /// Threads that step the rooms.
    pub room_threads: usize,
    /// The game rooms of the default kind play, by name (`Game::NAME`): the arena unless a
    /// team's own `main` names its game here and hands it to [`crate::serve`].
    pub default_game: String,
    /// Room kinds besides the default one (`--map`, `--scene`, `--tick-rate` and the rest) and
    /// the built-in `tag`.
    pub extra_kinds: Vec<RoomKind>,
    /// Connections that have not finished their handshake (headers, upgrade, `Hello`), at most.
    pub max_pending: usize,
    /// Time to send an HTTP request's headers.
    pub header_timeout: Duration,
    /// A joined client that sends nothing for this long is closed (4011).
    pub idle_timeout: Duration,
    /// Record every room into this directory (one file per room; `replay FILE --verify`).
    pub record_dir: Option<PathBuf>,
    /// A client whose connection dropped keeps its player this long: a new connection with
    /// its resume token continues it. Zero: a dropped client leaves at once.
    pub resume_grace: Duration,
    /// A send that has not completed after this long means the client stopped reading: closed.
    pub send_timeout: Duration,
    /// Page origins allowed to open the game socket (`https://game.example`); empty allows
    /// any. A request without an `Origin` header (not a browser) is let through.
    pub allowed_origins: Vec<String>,
    /// When set, the game socket needs a ticket signed with this key (`/ws?ticket=...`).
    pub ticket_key: Option<TicketKey>,
    /// Serve HTTPS, `wss://` and WebTransport with this certificate and key (PEM), reloaded
    /// on SIGHUP.
    pub tls: Option<TlsFiles>,
    /// Report to Agones' SDK sidecar (Ready, health, rooms counter, players list, Shutdown);
    /// needs a build with the `agones` feature.
    pub agones: Option<AgonesSettings>,
    /// Serve WebTransport (HTTP/3 over QUIC) on UDP at the listener's port number too
    /// ([`crate::net::webtransport`]), with the TLS certificate or a self-made one.
    pub webtransport: bool,
    /// Serve `/echo`: a WebSocket that echoes every message, through the same listener,
    /// limits and WebSocket settings as `/ws`, for the Autobahn conformance cases. Tests only.
    pub echo_endpoint: bool,
}

/// The certificate chain and key files (PEM) that `wss://` is served with ([`crate::net::tls`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// How the server talks to Agones' SDK sidecar ([`crate::agones`]).
#[derive(Debug, Clone)]
pub struct AgonesSettings {
    /// The sidecar's gRPC port on localhost; `None` reads `AGONES_SDK_GRPC_PORT` (which
    /// Agones sets), else 9357.
    pub sdk_port: Option<u16>,
    /// How often a health ping is sent. Agones marks the server Unhealthy after its
    /// `health.failureThreshold` periods without one.
    pub health_interval: Duration,
    /// An Allocated server with no players for this long says `Ready` again, so the fleet
    /// may scale it down; `None` keeps it Allocated.
    pub idle_ready: Option<Duration>,
}

/// The GameServer counter the server keeps at its number of open rooms (`--agones`); the
/// FleetAutoscaler in `deploy/agones/` scales on it.
pub const AGONES_ROOMS_COUNTER: &str = "rooms";
/// The GameServer list the server keeps at its members' names (`--agones`).
pub const AGONES_PLAYERS_LIST: &str = "players";
/// Agones refuses list capacities above this.
pub const AGONES_LIST_CAPACITY_MAX: usize = 1000;

/// A kind of room: what join-or-create and create name. Each room of the kind gets these
/// settings and this cap.
#[derive(Debug, Clone)]
pub struct RoomKind {
    pub name: String,
    /// The game its rooms play, by name (`Game::NAME`).
    pub game: String,
    pub settings: RoomSettings,
    /// Clients per room (players and spectators).
    pub max_clients: usize,
}

/// The name of the kind the command-line flags configure; an empty kind in a request means it.
pub const DEFAULT_KIND: &str = "default";

/// The built-in kind that plays tag: the arena map, the default kind's tick rate and limits.
pub const TAG_KIND: &str = "tag";

/// The longest `--max-rewind`: Source's default `sv_maxunlag`. Further back, a shooter with a
/// bad link kills players long after they reached cover.
pub const MAX_REWIND: Duration = Duration::from_secs(1);

/// Clients per tag room: a round of tag is a small game.
pub const TAG_ROOM_SIZE: usize = 16;

#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("tick rate {0} is outside 1..=240")]
    TickRate(u16),
    #[error("history {0} is outside 2..=1024")]
    History(usize),
    #[error("view size must be positive")]
    View,
    #[error("snapshot-every {0} is outside 1..=60")]
    SnapshotEvery(u32),
    #[error("room size and the room limit must be at least 1")]
    Rooms,
    #[error("room threads {0} is outside 1..=64")]
    RoomThreads(usize),
    #[error("connection limits and timeouts must be above zero")]
    Limits,
    #[error("the input rate must allow at least one input per tick")]
    InputRate,
    #[error("max rewind {0:?} is over 1 s")]
    MaxRewind(Duration),
    #[error(
        "--agones needs a server built with the `agones` feature (cargo build --features agones)"
    )]
    AgonesNotBuilt,
    #[error("the Agones health interval must be between 0.1 and 60 seconds")]
    AgonesHealth,
    #[error("room kind {name}: {why}")]
    Kind { name: String, why: String },
    #[error("the default room could not open: {0}")]
    DefaultRoom(String),
}

impl Config {
    /// Defaults for the built-in arena at `tick_rate`.
    pub fn new(tick_rate: u16) -> Config {
        Config {
            room: RoomSettings::new(tick_rate),
            max_clients: defaults::MAX_CLIENTS,
            hello_timeout: defaults::HELLO_TIMEOUT,
            assets: None,
            room_size: None,
            max_rooms: defaults::MAX_ROOMS,
            room_grace: defaults::ROOM_GRACE,
            room_threads: defaults::ROOM_THREADS,
            default_game: World::NAME.to_owned(),
            extra_kinds: Vec::new(),
            max_pending: defaults::MAX_PENDING,
            header_timeout: defaults::HEADER_TIMEOUT,
            idle_timeout: defaults::IDLE_TIMEOUT,
            resume_grace: defaults::RESUME_GRACE,
            record_dir: None,
            send_timeout: defaults::SEND_TIMEOUT,
            allowed_origins: Vec::new(),
            ticket_key: None,
            tls: None,
            agones: None,
            webtransport: true,
            echo_endpoint: false,
        }
    }

    pub fn validate(self) -> Result<Config, ConfigError> {
        validate_room(&self.room)?;
        if self.room_size == Some(0) || self.max_rooms == 0 {
            return Err(ConfigError::Rooms);
        }
        if self.max_pending == 0
            || self.header_timeout.is_zero()
            || self.idle_timeout.is_zero()
            || self.send_timeout.is_zero()
        {
            return Err(ConfigError::Limits);
        }
        if !(1..=64).contains(&self.room_threads) {
            return Err(ConfigError::RoomThreads(self.room_threads));
        }
        self.validate_kinds()?;
        if let Some(agones) = &self.agones {
            if !cfg!(feature = "agones") {
                return Err(ConfigError::AgonesNotBuilt);
            }
            let every = agones.health_interval;
            if !(Duration::from_millis(100)..=Duration::from_secs(60)).contains(&every) {
                return Err(ConfigError::AgonesHealth);
            }
        }
        Ok(self)
    }

    pub fn tick_period(&self) -> Duration {
        Duration::from_secs(1) / u32::from(self.room.tick_rate)
    }

    /// Every kind of room: the default one first.
    pub fn kinds(&self) -> Vec<RoomKind> {
        let default = RoomKind {
            name: DEFAULT_KIND.to_owned(),
            game: self.default_game.clone(),
            settings: self.room.clone(),
            max_clients: self.room_size.unwrap_or(self.max_clients),
        };
        let tag = RoomKind {
            name: TAG_KIND.to_owned(),
            game: Tag::NAME.to_owned(),
            settings: RoomSettings {
                map: MapDef::arena(),
                scene: Scene::Empty,
                ..self.room.clone()
            },
            max_clients: TAG_ROOM_SIZE,
        };
        [default, tag]
            .into_iter()
            .chain(self.extra_kinds.iter().cloned())
            .collect()
    }

    /// The added kinds: the default kind's checks on each one's settings, and no two kinds
    /// of one name.
    fn validate_kinds(&self) -> Result<(), ConfigError> {
        let mut names = vec![DEFAULT_KIND, TAG_KIND];
        for kind in &self.extra_kinds {
            let bad = |why: String| ConfigError::Kind {
                name: kind.name.clone(),
                why,
            };
            if names.contains(&kind.name.as_str()) {
                return Err(bad(
                    "a kind of that name exists (`default` and `tag` are built in)".into(),
                ));
            }
            names.push(&kind.name);
            validate_room(&kind.settings).map_err(|e| bad(e.to_string()))?;
            if kind.max_clients == 0 {
                return Err(bad("room size must be at least 1".into()));
            }
        }
        Ok(())
    }
}

/// The checks every room kind's settings get, the default kind's (from the flags) and each
/// added one's.
fn validate_room(s: &RoomSettings) -> Result<(), ConfigError> {
    if !(1..=240).contains(&s.tick_rate) {
        return Err(ConfigError::TickRate(s.tick_rate));
    }
    if !(2..=1024).contains(&s.history) {
        return Err(ConfigError::History(s.history));
    }
    if s.view_width <= 0 || s.view_height <= 0 {
        return Err(ConfigError::View);
    }
    if !(1..=60).contains(&s.snapshot_every) {
        return Err(ConfigError::SnapshotEvery(s.snapshot_every));
    }
    if !(s.input_rate.per_second.is_finite()
        && s.input_rate.per_second >= f64::from(s.tick_rate)
        && s.input_rate.burst >= 1.0)
    {
        return Err(ConfigError::InputRate);
    }
    let max_rewind = Duration::from_millis(u64::from(s.max_rewind_ms));
    if max_rewind > MAX_REWIND {
        return Err(ConfigError::MaxRewind(max_rewind));
    }
    Ok(())
}

/// A view that is not `WxH` with both in (0, 10000].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("view must be WxH in world units, like 40x24, not `{0}`")]
pub struct ViewError(pub String);

/// `WxH` in world units (`40x24`), each positive and at most 10000.
pub fn parse_view(s: &str) -> Result<(f64, f64), ViewError> {
    let err = || ViewError(s.to_owned());
    let (w, h) = s.split_once('x').ok_or_else(err)?;
    let (w, h) = (
        w.parse::<f64>().map_err(|_| err())?,
        h.parse::<f64>().map_err(|_| err())?,
    );
    if !(w.is_finite() && h.is_finite() && w > 0.0 && h > 0.0 && w <= 10_000.0 && h <= 10_000.0) {
        return Err(err());
    }
    Ok((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenes_parse() {
        assert_eq!("drift:100".parse(), Ok(Scene::Drift(100)));
        assert_eq!("empty".parse(), Ok(Scene::Empty));
        assert!("drift:x".parse::<Scene>().is_err());
        assert!("rain:3".parse::<Scene>().is_err());
    }
}
