//! Server configuration, parsed by `main.rs` from the command line and built directly by tests.

use std::path::PathBuf;
use std::time::Duration;

use snapwire_shared::map::MapDef;
use snapwire_shared::quantize::pos_from_units;
use thiserror::Error;

use crate::room::RoomSettings;
pub use crate::room::Scene;

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

    /// The settings of the room every client joins.
    pub fn room_settings(&self) -> RoomSettings {
        RoomSettings {
            map: self.map.clone(),
            tick_rate: self.tick_rate,
            view_width: self.view_width,
            view_height: self.view_height,
            history: self.history,
            full_snapshots: self.full_snapshots,
            snapshot_every: self.snapshot_every,
            scene: self.scene,
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
