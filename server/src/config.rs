//! Server configuration, parsed by `main.rs` from the command line and built directly by tests.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use snapwire_shared::map::MapDef;
use snapwire_shared::quantize::pos_from_units;
use thiserror::Error;

#[derive(Debug, Clone)]
pub struct Config {
    /// Simulation steps per second, 1..=240.
    pub tick_rate: u16,
    /// Connections beyond this are closed with `ServerFull`.
    pub max_clients: usize,
    pub map: MapDef,
    pub scene: Scene,
    /// Size of the rectangle around a player that it sees, in position quanta.
    pub view_width: i32,
    pub view_height: i32,
    /// Snapshots kept as possible delta baselines.
    pub history: usize,
    /// Always send full snapshots (for measuring what delta compression saves).
    pub full_snapshots: bool,
    /// Send each client a snapshot one tick in this many (1-60; staggered across clients), to
    /// cap bandwidth; load shedding may send more rarely still.
    pub snapshot_every: u32,
    /// How long a new connection has to send `Hello`.
    pub hello_timeout: Duration,
    /// Directory served at `/` (the browser client); none serves only the API.
    pub assets: Option<PathBuf>,
}

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
}

impl Config {
    /// Defaults for the built-in arena at `tick_rate`.
    pub fn new(tick_rate: u16) -> Config {
        Config {
            tick_rate,
            max_clients: 1024,
            map: MapDef::arena(),
            scene: Scene::Empty,
            view_width: pos_from_units(40.0),
            view_height: pos_from_units(24.0),
            history: 64,
            full_snapshots: false,
            snapshot_every: 1,
            hello_timeout: Duration::from_secs(5),
            assets: None,
        }
    }

    pub fn validate(self) -> Result<Config, ConfigError> {
        if !(1..=240).contains(&self.tick_rate) {
            return Err(ConfigError::TickRate(self.tick_rate));
        }
        if !(2..=1024).contains(&self.history) {
            return Err(ConfigError::History(self.history));
        }
        if self.view_width <= 0 || self.view_height <= 0 {
            return Err(ConfigError::View);
        }
        if !(1..=60).contains(&self.snapshot_every) {
            return Err(ConfigError::SnapshotEvery(self.snapshot_every));
        }
        Ok(self)
    }

    pub fn tick_period(&self) -> Duration {
        Duration::from_secs(1) / u32::from(self.tick_rate)
    }

    /// An input whose tick is further than this from the server's is refused: five seconds,
    /// so a client that stalled for a few seconds is not thrown out when its queued inputs
    /// (stamped with the last tick it saw) finally arrive.
    pub fn max_tick_skew(&self) -> u32 {
        5 * u32::from(self.tick_rate)
    }
}

/// Non-player entities the world starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    Empty,
    /// `drift:N`: N entities moving (+0.1, -0.05) units per tick, wrapping at the map edges.
    Drift(u32),
}

#[derive(Debug, Error, PartialEq)]
#[error("scene must be `empty` or `drift:N` with N <= 100000, not `{0}`")]
pub struct SceneError(String);

impl FromStr for Scene {
    type Err = SceneError;

    fn from_str(s: &str) -> Result<Scene, SceneError> {
        let err = || SceneError(s.to_owned());
        match s.split_once(':') {
            None if s == "empty" => Ok(Scene::Empty),
            Some(("drift", n)) => match n.parse::<u32>() {
                Ok(n) if n <= 100_000 => Ok(Scene::Drift(n)),
                _ => Err(err()),
            },
            _ => Err(err()),
        }
    }
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
