//! Every message on the wire, and the close codes that end a connection.
//!
//! Frames are binary WebSocket messages, each holding one bincode-encoded [`ClientMsg`] or
//! [`ServerMsg`] (see [`crate::codec`]). PROTOCOL.md documents the bytes.

use serde::{Deserialize, Serialize};

use crate::map::MapDef;
use crate::tick::Tick;

/// Bumped on every incompatible change to messages, snapshot bodies or game rules a client predicts.
pub const PROTOCOL_VERSION: u32 = 2;

/// Largest client message the server accepts, in bytes. A real `Input` is under 20 bytes.
pub const MAX_CLIENT_MSG_BYTES: usize = 1024;

/// Longest player name, in characters (Unicode scalar values). The join form uses the same
/// number, from [`MAX_NAME_CHARS`] through the wasm client.
pub const MAX_NAME_CHARS: usize = 24;

/// Longest player name in bytes of UTF-8: what [`MAX_NAME_CHARS`] characters can take.
pub const MAX_NAME_BYTES: usize = 4 * MAX_NAME_CHARS;

/// Messages a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientMsg {
    /// First message on every connection.
    Hello {
        protocol_version: u32,
        name: String,
        /// Join without a player entity and see the whole world.
        spectate: bool,
    },
    /// One tick's worth of player input; the server applies each sequence number once, in order.
    Input(InputMsg),
    /// "I received the snapshot of this tick": the server may delta-encode against it. Players
    /// usually acknowledge inside their next [`InputMsg`] instead.
    Ack { tick: Tick },
}

/// A player's input for one simulation step, as sent. Parse it with
/// [`crate::sim::PlayerInput::parse`] before use: floats from the wire may be anything.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InputMsg {
    /// Increments by one per input; wraps.
    pub seq: u32,
    /// The newest server tick the client knew of when it sent this input.
    pub tick: Tick,
    /// Movement axes, each in `[-1, 1]`; +x is right, +y is down.
    pub move_x: f32,
    pub move_y: f32,
    /// Aim angle in radians, any finite value (it is wrapped).
    pub aim: f32,
    pub fire: bool,
    /// This input also acknowledges the snapshot of `tick` (as an [`ClientMsg::Ack`] would):
    /// a playing client sends one frame per tick, not two.
    pub ack: bool,
}

/// Whether input `seq` is covered by a snapshot's `last_input_seq`: at or before it, wrap-aware
/// (sequence numbers skip 0, so 0 means "none applied yet").
pub fn input_acked(seq: u32, last_input_seq: u32) -> bool {
    last_input_seq != 0 && last_input_seq.wrapping_sub(seq) as i32 >= 0
}

/// Messages the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ServerMsg {
    /// Reply to `Hello`.
    Welcome(Welcome),
    /// The client's view of the world at `tick`.
    Snapshot(SnapshotMsg),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// The player's own entity id; `None` for a spectator.
    pub player_id: Option<u32>,
    /// The server tick at the moment of joining.
    pub tick: Tick,
    pub tick_rate: u16,
    pub map: MapDef,
}

/// One snapshot, delta-encoded against a snapshot the client acknowledged `baseline_age` ticks
/// before `tick`, or against the empty world when `baseline_age` is 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotMsg {
    pub tick: Tick,
    /// `tick - baseline`, or 0 for a full snapshot. One byte on the wire up to 250 ticks.
    pub baseline_age: u16,
    /// Sequence number of the last input the server applied for this client (0 before any).
    pub last_input_seq: u32,
    /// [`crate::snapshot::checksum`] of the client's view after applying `body`; 4 bytes on
    /// the wire (as a varint it would nearly always take 5).
    #[serde(with = "fixed_u32")]
    pub checksum: u32,
    /// Names of the players this snapshot adds to the client's view (relative to `baseline`).
    pub names: Vec<PlayerName>,
    /// Bit-packed entity changes; see [`crate::snapshot::decode`]. Bytes, not a sequence of
    /// `u8`s, to serde: the same wire form, decoded in one copy.
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
}

impl SnapshotMsg {
    /// The tick this snapshot is relative to; `None` for a full snapshot.
    pub fn baseline(&self) -> Option<Tick> {
        (self.baseline_age != 0)
            .then(|| Tick(self.tick.0.wrapping_sub(u32::from(self.baseline_age))))
    }

    /// The `baseline_age` for a snapshot of `tick` against `baseline`. Baselines are at most the
    /// server's history (1024 ticks) old.
    pub fn age(tick: Tick, baseline: Option<Tick>) -> u16 {
        baseline.map_or(0, |b| tick.since(b).clamp(1, i32::from(u16::MAX)) as u16)
    }
}

/// A [`SnapshotMsg`] made of borrowed parts: the server builds one per client per tick and
/// encodes it with [`crate::codec::encode_snapshot_into`] without copying names or body.
/// Field for field the same as [`SnapshotMsg`], so the bytes are the same.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SnapshotRef<'a> {
    pub tick: Tick,
    pub baseline_age: u16,
    pub last_input_seq: u32,
    #[serde(with = "fixed_u32")]
    pub checksum: u32,
    pub names: &'a [PlayerNameRef<'a>],
    #[serde(with = "serde_bytes")]
    pub body: &'a [u8],
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct PlayerNameRef<'a> {
    pub id: u32,
    pub name: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerName {
    pub id: u32,
    pub name: String,
}

/// WebSocket close codes the server uses; the close reason carries the detail.
///
/// 1000-range codes are the standard ones where one fits; 4000-range are snapwire's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum CloseCode {
    /// The server is shutting down.
    GoingAway = 1001,
    /// A text frame: the protocol is binary only.
    TextFrame = 1003,
    /// A message over [`MAX_CLIENT_MSG_BYTES`].
    TooLarge = 1009,
    /// The server's simulation failed; reconnecting later may work.
    InternalError = 1011,
    /// The client speaks another protocol version: "a new version is deployed, reload".
    VersionMismatch = 4000,
    /// Bytes that do not decode as a [`ClientMsg`], including unknown message kinds.
    Malformed = 4001,
    /// A field out of range: NaN, infinity, an overlong name.
    InvalidValue = 4002,
    /// An input's tick is too far from the server's.
    TickOutOfRange = 4003,
    /// The first message was not `Hello`, a second `Hello` came, or none came in time.
    Handshake = 4004,
    /// More messages than the server drains between two ticks.
    Flooding = 4005,
    /// The server is at `--max-clients`.
    ServerFull = 4006,
    /// Repeated acknowledgements of ticks the client was never sent.
    BadAck = 4007,
}

impl CloseCode {
    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<CloseCode> {
        use CloseCode::*;
        [
            GoingAway,
            TextFrame,
            TooLarge,
            InternalError,
            VersionMismatch,
            Malformed,
            InvalidValue,
            TickOutOfRange,
            Handshake,
            Flooding,
            ServerFull,
            BadAck,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }
}

/// A `u32` as 4 little-endian bytes instead of a varint.
mod fixed_u32 {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    // serde's `with` passes a reference.
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub fn serialize<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
        v.to_le_bytes().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        <[u8; 4]>::deserialize(d).map(u32::from_le_bytes)
    }
}
