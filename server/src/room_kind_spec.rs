//! `--room-kind "NAME key=value ..."`: a room kind an operator adds, on top of the default
//! kind's settings (the flags). The same text comes from `SNAPWIRE_ROOM_KINDS` (kinds
//! comma-separated) or the config file, as a list of such strings or as tables:
//!
//! ```toml
//! [room_kinds.duel]
//! game = "arena"
//! room_size = 2
//! tick_rate = 30
//! ```
//!
//! Keys: `game` (`arena`, `tag`, or a game the binary hosts), `map` (a JSON map file), `tick_rate`, `room_size`,
//! `scene`, `view` (`WxH`), `history`, `max_rewind` (ms), `snapshot_every`,
//! `max_kbps_per_client` (16 to 1,000,000, or `off`). What a kind leaves out is the default
//! kind's. Values hold no spaces or commas (a map path with either needs a
//! symlink).

use std::path::PathBuf;
use std::str::FromStr;

use snapwire_shared::map::{MapDef, MapError};
use snapwire_shared::protocol::{MAX_ROOM_ID_BYTES, is_kind_name};
use snapwire_shared::quantize::pos_from_units;
use thiserror::Error;

use crate::config::{Config, InputRate, RoomKind, Scene, parse_view};

/// The byte budgets a kind may set, in kbps: as `--max-kbps-per-client`.
pub const KBPS_RANGE: std::ops::RangeInclusive<u32> = 16..=1_000_000;

/// What is wrong with a `--room-kind`, in the words an operator reads at start.
#[derive(Debug, Error)]
pub enum RoomKindError {
    #[error("a room kind is `NAME key=value ...`, like `duel game=arena room_size=2`")]
    Empty,
    #[error(
        "room kind name `{0}`: at most {MAX_ROOM_ID_BYTES} lowercase letters, digits, '-' and '_'"
    )]
    BadName(String),
    #[error("room kind {kind}: `{word}` is not key=value")]
    NotKeyValue { kind: String, word: String },
    #[error("room kind {kind}: {key}={value}: {why}")]
    BadValue {
        kind: String,
        key: String,
        value: String,
        why: String,
    },
    #[error(
        "room kind {kind}: unknown key `{key}` (game, map, tick_rate, room_size, scene, view, \
         history, max_rewind, snapshot_every, max_kbps_per_client)"
    )]
    UnknownKey { kind: String, key: String },
    #[error("room kind {kind}: map {}: {source}", path.display())]
    MapFile {
        kind: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("room kind {kind}: map {}: {source}", path.display())]
    Map {
        kind: String,
        path: PathBuf,
        source: MapError,
    },
}

/// One `--room-kind`, parsed but not yet applied (its map file is read by [`Self::kind`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoomKindSpec {
    pub name: String,
    pub game: Option<String>,
    pub map: Option<PathBuf>,
    pub tick_rate: Option<u16>,
    pub room_size: Option<usize>,
    pub scene: Option<Scene>,
    pub view: Option<(f64, f64)>,
    pub history: Option<usize>,
    pub max_rewind_ms: Option<u32>,
    pub snapshot_every: Option<u32>,
    /// `Some(None)`: no byte budget in this kind, whatever the default kind's.
    pub max_kbps_per_client: Option<Option<u32>>,
}

impl FromStr for RoomKindSpec {
    type Err = RoomKindError;

    fn from_str(s: &str) -> Result<RoomKindSpec, RoomKindError> {
        let mut words = s.split_whitespace();
        let name = words.next().ok_or(RoomKindError::Empty)?;
        if !is_kind_name(name) {
            return Err(RoomKindError::BadName(name.to_owned()));
        }
        let mut spec = RoomKindSpec {
            name: name.to_owned(),
            ..RoomKindSpec::default()
        };
        for word in words {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| RoomKindError::NotKeyValue {
                    kind: name.to_owned(),
                    word: word.to_owned(),
                })?;
            let bad = |why: &str| RoomKindError::BadValue {
                kind: name.to_owned(),
                key: key.to_owned(),
                value: value.to_owned(),
                why: why.to_owned(),
            };
            match key {
                // Which games exist is the server's to say when it starts ([`crate::serve`]).
                "game" if is_kind_name(value) => spec.game = Some(value.to_owned()),
                "game" => return Err(bad("a game's name, like arena or tag")),
                "map" => spec.map = Some(PathBuf::from(value)),
                "tick_rate" => spec.tick_rate = Some(value.parse().map_err(|_| bad("a number"))?),
                "room_size" => spec.room_size = Some(value.parse().map_err(|_| bad("a number"))?),
                "scene" => spec.scene = Some(value.parse().map_err(|e| bad(&format!("{e}")))?),
                "view" => spec.view = Some(parse_view(value).map_err(|e| bad(&e.to_string()))?),
                "history" => spec.history = Some(value.parse().map_err(|_| bad("a number"))?),
                "max_rewind" => {
                    spec.max_rewind_ms = Some(value.parse().map_err(|_| bad("milliseconds"))?)
                }
                "snapshot_every" => {
                    spec.snapshot_every = Some(value.parse().map_err(|_| bad("a number"))?)
                }
                "max_kbps_per_client" if value == "off" => spec.max_kbps_per_client = Some(None),
                "max_kbps_per_client" => {
                    let kbps = value
                        .parse()
                        .ok()
                        .filter(|k| KBPS_RANGE.contains(k))
                        .ok_or_else(|| bad("16 to 1000000 (kbps), or off"))?;
                    spec.max_kbps_per_client = Some(Some(kbps));
                }
                _ => {
                    return Err(RoomKindError::UnknownKey {
                        kind: name.to_owned(),
                        key: key.to_owned(),
                    });
                }
            }
        }
        Ok(spec)
    }
}

impl RoomKindSpec {
    /// The kind: `base`'s default-kind settings with this spec's over them. Reads the map
    /// file; the values are checked with the rest by [`Config::validate`].
    pub fn kind(&self, base: &Config) -> Result<RoomKind, RoomKindError> {
        let mut settings = base.room.clone();
        if let Some(path) = &self.map {
            let json = std::fs::read_to_string(path).map_err(|source| RoomKindError::MapFile {
                kind: self.name.clone(),
                path: path.clone(),
                source,
            })?;
            settings.map = MapDef::from_json(&json).map_err(|source| RoomKindError::Map {
                kind: self.name.clone(),
                path: path.clone(),
                source,
            })?;
        }
        if let Some(rate) = self.tick_rate {
            settings.tick_rate = rate;
            // The allowance follows the kind's rate unless the operator set one.
            if base.room.input_rate == InputRate::for_tick_rate(base.room.tick_rate) {
                settings.input_rate = InputRate::for_tick_rate(rate);
            }
        }
        if let Some(scene) = self.scene {
            settings.scene = scene;
        }
        if let Some((w, h)) = self.view {
            settings.view_width = pos_from_units(w);
            settings.view_height = pos_from_units(h);
        }
        if let Some(history) = self.history {
            settings.history = history;
        }
        if let Some(ms) = self.max_rewind_ms {
            settings.max_rewind_ms = ms;
        }
        if let Some(every) = self.snapshot_every {
            settings.snapshot_every = every;
        }
        if let Some(kbps) = self.max_kbps_per_client {
            settings.max_kbps_per_client = kbps;
        }
        let game = self
            .game
            .clone()
            .unwrap_or_else(|| base.default_game.clone());
        Ok(RoomKind {
            name: self.name.clone(),
            game,
            settings,
            max_clients: self
                .room_size
                .unwrap_or(base.room_size.unwrap_or(base.max_clients)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_reads_every_key() {
        let spec: RoomKindSpec = "duel game=tag map=m.json tick_rate=30 room_size=2 scene=drift:5 \
             view=20x10 history=32 max_rewind=100 snapshot_every=2 max_kbps_per_client=64"
            .parse()
            .expect("parses");
        assert_eq!(
            spec,
            RoomKindSpec {
                name: "duel".into(),
                game: Some("tag".into()),
                map: Some("m.json".into()),
                tick_rate: Some(30),
                room_size: Some(2),
                scene: Some(Scene::Drift(5)),
                view: Some((20.0, 10.0)),
                history: Some(32),
                max_rewind_ms: Some(100),
                snapshot_every: Some(2),
                max_kbps_per_client: Some(Some(64)),
            }
        );
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        let err = |s: &str| s.parse::<RoomKindSpec>().expect_err(s).to_string();
        assert!(matches!(
            "duel size=2".parse::<RoomKindSpec>(),
            Err(RoomKindError::UnknownKey { key, .. }) if key == "size"
        ));
        assert!(err("").contains("NAME key=value"));
        assert!(err("Duel").contains("lowercase"));
        assert!(err("duel size=2").contains("unknown key `size`"));
        assert!(err("duel room_size").contains("not key=value"));
        assert!(err("duel room_size=two").contains("room_size=two"));
        assert!(err("duel game=Chess!").contains("a game's name"));
        assert!(err("duel view=0x3").contains("view"));
        assert!(err("duel max_kbps_per_client=8").contains("16 to 1000000"));
    }

    #[test]
    fn a_kind_takes_the_default_kinds_settings_for_what_it_leaves_out() {
        let mut base = Config::new(60);
        base.room_size = Some(16);
        base.room.history = 48;
        let kind = "duel room_size=2 tick_rate=30"
            .parse::<RoomKindSpec>()
            .expect("parses")
            .kind(&base)
            .expect("kind");
        assert_eq!(kind.max_clients, 2);
        assert_eq!(kind.settings.tick_rate, 30);
        assert_eq!(kind.settings.input_rate, InputRate::for_tick_rate(30));
        assert_eq!(kind.settings.history, 48);
        assert_eq!(kind.game, base.default_game);
        let open = "open".parse::<RoomKindSpec>().expect("parses");
        assert_eq!(open.kind(&base).expect("kind").max_clients, 16);
        // A byte budget: the default kind's unless the kind sets one, or turns it off.
        base.room.max_kbps_per_client = Some(256);
        let kbps = |spec: &str| {
            spec.parse::<RoomKindSpec>()
                .expect("parses")
                .kind(&base)
                .expect("kind")
                .settings
                .max_kbps_per_client
        };
        assert_eq!(kbps("open"), Some(256));
        assert_eq!(kbps("mobile max_kbps_per_client=64"), Some(64));
        assert_eq!(kbps("lan max_kbps_per_client=off"), None);
    }
}
