//! What entered a room, tick by tick: enough to run the match again bit for bit (issue 13's
//! recordings start here). The rules are deterministic and integer-based, so a match is its
//! joins, leaves and the inputs the room applied, in the order it applied them; the
//! checksum of every entity after each tick proves a replay took the same path.
//!
//! No I/O: the room appends to a list the driver takes ([`crate::room::Room::take_records`]).

use serde::{Deserialize, Serialize};
use snapwire_shared::Tick;
use snapwire_shared::sim::{EntityId, PlayerInput};

use crate::room::ClientId;

/// One thing that entered the room, in the order it happened within a tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Entry {
    /// A client joined under the name it asked for (the room makes it unique the same way
    /// again).
    Join {
        client: ClientId,
        name: String,
        spectate: bool,
    },
    Leave {
        client: ClientId,
    },
    /// The room applied this input to the client's player.
    Input {
        client: ClientId,
        input: PlayerInput,
    },
}

/// One simulation step: what entered before it, and the world after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickRecord {
    /// The tick the step produced.
    pub tick: Tick,
    pub entries: Vec<Entry>,
    /// The sum of every entity's hash after the step (`Frame::checksum`).
    pub checksum: u32,
}

/// A room's whole state after one tick: where a viewer seeking into a recording starts
/// ([`crate::room::Room::keyframe`]). Written every few seconds of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keyframe {
    /// The tick whose step it follows.
    pub tick: Tick,
    /// The game's state ([`snapwire_shared::game::Game::keyframe`]).
    #[serde(with = "serde_bytes")]
    pub world: Vec<u8>,
    /// Every client in the room: its id, its (unique) name and its player, if it plays.
    pub members: Vec<(ClientId, String, Option<EntityId>)>,
}

/// How a recording's checksums were made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Checksum {
    /// Every entity over every field: the frame's checksum, as snapshots carry it.
    #[default]
    Current,
    /// Only entities of kinds below `kinds_below`, each over its first `words` fields: what a
    /// recording made before the game grew fields and kinds holds (format 1 of the arena:
    /// nine fields, three kinds).
    Before { words: usize, kinds_below: u32 },
}

/// Where a replay first differed from its recording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("tick {tick}: checksum {got:#010x}, recorded {recorded:#010x}")]
    Checksum { tick: Tick, recorded: u32, got: u32 },
    #[error("tick {tick}: the step made tick {got}")]
    Tick { tick: Tick, got: Tick },
    #[error("tick {tick}: an input for client {client}, who has no player")]
    NoPlayer { tick: Tick, client: ClientId },
}
