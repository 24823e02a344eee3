//! Every message on the wire, and the close codes that end a connection.
//!
//! Frames are binary WebSocket messages, each holding one bincode-encoded [`ClientMsg`] or
//! [`ServerMsg`] (see [`crate::codec`]). PROTOCOL.md documents the bytes.

use serde::{Deserialize, Serialize};

use crate::map::MapDef;
use crate::tick::Tick;

/// Bumped on every incompatible change to messages, snapshot bodies or game rules a client predicts.
pub const PROTOCOL_VERSION: u32 = 9;

/// Largest client message the server accepts, in bytes. A real `Input` is 13 bytes.
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
        /// Which room to join.
        room: RoomRequest,
        /// To continue a player this client was, on a new connection. A token the server no
        /// longer knows (its grace period ended) joins `room` as a new player instead; a token
        /// already used is refused ([`CloseCode::ResumeRefused`]).
        resume: Option<Resume>,
    },
    /// One tick's worth of player input; the server applies each sequence number once, in order.
    Input(InputMsg),
    /// "I received the snapshot of this tick": the server may delta-encode against it. Players
    /// usually acknowledge inside their next [`InputMsg`] instead.
    Ack { tick: Tick },
    /// The newest inputs, oldest first, at most [`MAX_INPUTS_PER_MESSAGE`]: what a client sends
    /// in a WebTransport datagram, so that an input lost with one datagram arrives with the
    /// next. The server applies each sequence number once; only datagrams carry it.
    Inputs(Vec<InputMsg>),
}

/// Inputs one [`ClientMsg::Inputs`] carries at most: the new one and the three before it, so an
/// input survives three datagrams lost in a row (about 50 ms at 60 Hz).
pub const MAX_INPUTS_PER_MESSAGE: usize = 4;

/// Which room a `Hello` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoomRequest {
    /// Quick play: the fullest public room of this kind that has space, or a new one when
    /// none has. An empty kind is the server's default kind.
    JoinOrCreate { kind: String },
    /// The room with this id (from a shared link or the room list).
    Join { id: String },
    /// A new room of this kind; a private one is not listed and is joined by id only.
    Create { kind: String, private: bool },
    /// Watch a recorded match (an id from `GET /replays`) from tick `from_tick` (0: the
    /// start) at `speed_percent` of its speed ([`MIN_REPLAY_SPEED_PERCENT`] to
    /// [`MAX_REPLAY_SPEED_PERCENT`]; a replay id is [`is_replay_id`]). The client is a spectator of a room of
    /// its own, which re-simulates the recording; pausing, seeking and changing speed are a
    /// new connection with new values.
    Replay {
        id: String,
        from_tick: u32,
        speed_percent: u16,
    },
}

/// The slowest and fastest a recorded match may be watched, in percent of its speed.
pub const MIN_REPLAY_SPEED_PERCENT: u16 = 50;
pub const MAX_REPLAY_SPEED_PERCENT: u16 = 400;

/// A replay id names a recording file (`ROOM-UNIXMS`): 1 to [`MAX_ROOM_ID_BYTES`] lowercase
/// letters, digits and '-'.
pub fn is_replay_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ROOM_ID_BYTES
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A room kind's name (and a game's): 1 to [`MAX_ROOM_ID_BYTES`] lowercase letters, digits,
/// '-' and '_'. Empty in a request means the server's default kind.
pub fn is_kind_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ROOM_ID_BYTES
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// What is wrong with a `Hello`'s name or room request, in the words its close carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("name must be at most {MAX_NAME_CHARS} characters without control characters")]
    Name,
    #[error("a room id or kind is at most {MAX_ROOM_ID_BYTES} lowercase letters and digits")]
    Room,
    #[error(
        "a replay id is at most {MAX_ROOM_ID_BYTES} lowercase letters, digits and '-', its speed \
         {MIN_REPLAY_SPEED_PERCENT}-{MAX_REPLAY_SPEED_PERCENT}%"
    )]
    Replay,
}

/// The name a player is shown by: at most [`MAX_NAME_CHARS`] characters (and
/// [`MAX_NAME_BYTES`]) without control characters, trimmed; an empty one is "player".
pub fn player_name(name: &str) -> Result<String, RequestError> {
    // The byte bound first: a long name is refused before its characters are counted.
    if name.len() > MAX_NAME_BYTES
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(RequestError::Name);
    }
    let name = name.trim();
    Ok(if name.is_empty() {
        "player".to_owned()
    } else {
        name.to_owned()
    })
}

impl RoomRequest {
    /// Whether the request is well-formed: a room id of lowercase letters and digits, a kind
    /// name ([`is_kind_name`], or empty), a replay id ([`is_replay_id`]) at a speed the server
    /// offers.
    pub fn check(&self) -> Result<(), RequestError> {
        let ok = match self {
            RoomRequest::Join { id } => {
                id.len() <= MAX_ROOM_ID_BYTES
                    && id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            }
            RoomRequest::JoinOrCreate { kind } | RoomRequest::Create { kind, .. } => {
                kind.is_empty() || is_kind_name(kind)
            }
            RoomRequest::Replay {
                id, speed_percent, ..
            } => {
                let speeds = MIN_REPLAY_SPEED_PERCENT..=MAX_REPLAY_SPEED_PERCENT;
                if !is_replay_id(id) || !speeds.contains(speed_percent) {
                    return Err(RequestError::Replay);
                }
                true
            }
        };
        if ok { Ok(()) } else { Err(RequestError::Room) }
    }

    /// Quick play in the server's default kind of room.
    pub fn quick_play() -> RoomRequest {
        RoomRequest::JoinOrCreate {
            kind: String::new(),
        }
    }
}

/// A `Hello`'s request to continue a player.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The token from the last `Welcome` or `Resumed`.
    pub token: ResumeToken,
    /// The client still holds the snapshots it acknowledged (a reconnect): the server answers
    /// [`ServerMsg::Resumed`] and deltas on from its acknowledged baseline. False after a page
    /// reload: the server answers with a `Welcome` for the same player and a full snapshot.
    pub has_state: bool,
}

/// A secret naming one player for the server, to continue it on a new connection: 128 random
/// bits, single use (each resume gives a new one). Its `Debug` shows none of it: tokens must not
/// reach logs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResumeToken(pub [u8; 16]);

impl std::fmt::Debug for ResumeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeToken(..)")
    }
}

impl ResumeToken {
    /// 32 lowercase hex digits (how the browser keeps it across a reload).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(hex: &str) -> Option<ResumeToken> {
        if hex.len() != 32 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(ResumeToken(bytes))
    }
}

/// Longest room id or room kind name, in bytes; ids are lowercase letters and digits.
pub const MAX_ROOM_ID_BYTES: usize = 32;

/// A player's input for one simulation step, as sent: already quantized (the values the rules
/// step from), in 13 bytes. Sequence number and tick travel as their low 16 bits; the server
/// takes the full value nearest to what it knows ([`extend_u16`]). Parse it with
/// [`crate::sim::PlayerInput::parse`] before use: an axis of -128 or an unknown button bit is
/// refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputMsg {
    /// Low 16 bits of the input's sequence number, which increments by one per input.
    #[serde(with = "fixed_u16")]
    pub seq: u16,
    /// Low 16 bits of the newest server tick the client knew of when it sent this input.
    #[serde(with = "fixed_u16")]
    pub tick: u16,
    /// Movement axes, each in `[-127, 127]` (full speed at 127); +x is right, +y is down.
    pub move_x: i8,
    pub move_y: i8,
    /// Aim angle in 1/65536 turns, clockwise from +x (see [`crate::quantize::angle_from_radians`]).
    #[serde(with = "fixed_u16")]
    pub aim: u16,
    /// [`BUTTON_FIRE`], [`BUTTON_ALT`] and [`BUTTON_ACK`]; other bits must be zero.
    pub buttons: u8,
    /// Low 16 bits of the tick the client was drawing remote entities at when it made this
    /// input (its interpolation point, between that tick's snapshot and the next), and how far
    /// past it in 1/256 ticks: the moment a shot is judged against (lag compensation, within
    /// the server's maximum rewind).
    #[serde(with = "fixed_u16")]
    pub view_tick: u16,
    pub view_frac: u8,
}

/// The player holds fire.
pub const BUTTON_FIRE: u8 = 1;
/// This input also acknowledges the snapshot of `tick` (as an [`ClientMsg::Ack`] would): a
/// playing client sends one frame per tick, not two.
pub const BUTTON_ACK: u8 = 2;
/// The player fires the alternate weapon (the arena's hitscan rail, judged against what the
/// player saw: [`InputMsg::view_tick`]).
pub const BUTTON_ALT: u8 = 4;

/// The full 32-bit value whose low 16 bits are `low`, nearest to `near` (within 32,767 either
/// way): how the server reads an input's `seq` and `tick`.
pub fn extend_u16(low: u16, near: u32) -> u32 {
    let delta = low.wrapping_sub(near as u16) as i16;
    near.wrapping_add_signed(i32::from(delta))
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
    /// The match's scoreboard, sent about once a second: every player's score, not only those
    /// in the client's view.
    Scores(Scores),
    /// Reply to a `Hello` whose resume token the server accepted: the same player (or
    /// spectator) continues in the same room, and the next snapshot is a delta against the
    /// newest one the client acknowledged before the connection dropped (when the server still
    /// holds it).
    Resumed(Resumed),
    /// One part of a message too large for one datagram (WebTransport only; [`crate::parts`]).
    Part(Part),
}

/// Bytes `index` of `count` of split message number `message`: the message is the parts'
/// bytes joined in index order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// Increases with each message the server splits on this session.
    pub message: u32,
    pub index: u16,
    pub count: u16,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resumed {
    /// The player's entity id, as in its first `Welcome`; `None` for a spectator.
    pub player_id: Option<u32>,
    /// The server tick now: inputs are stamped relative to it.
    pub tick: Tick,
    /// The token for the next resume (the one just used is spent).
    pub resume: ResumeToken,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// The player's own entity id; `None` for a spectator.
    pub player_id: Option<u32>,
    /// The server tick at the moment of joining.
    pub tick: Tick,
    pub tick_rate: u16,
    pub map: MapDef,
    /// The player's view, in position quanta: a player is sent the entities inside a rectangle
    /// this size centred on it (spectators are sent everything).
    pub view_width: i32,
    pub view_height: i32,
    /// The room joined: its id (for a link that joins the same room) and its kind.
    pub room: String,
    pub kind: String,
    /// The game the room plays (`Game::NAME`: "arena", "tag"): how to read its snapshots.
    pub game: String,
    /// Send this in a later `Hello` to continue as this player after a dropped connection.
    pub resume: ResumeToken,
}

/// The scoreboard: the best players of the match and where the recipient stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Players in the match.
    pub players: u32,
    /// The best [`SCOREBOARD_ROWS`] at most, best first (ties by name).
    pub top: Vec<ScoreRow>,
    /// The recipient's own 1-based rank and score; `None` for a spectator.
    pub you: Option<(u32, i32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreRow {
    pub id: u32,
    pub name: String,
    pub score: i32,
}

/// Rows in [`Scores::top`]: a board the size of a screen, whatever the size of the match.
pub const SCOREBOARD_ROWS: usize = 10;

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
    /// Bytes that break the WebSocket protocol itself: a bad opcode, reserved bits, an
    /// unmasked client frame, a control frame split or too long.
    ProtocolError = 1002,
    /// A text frame: the protocol is binary only.
    TextFrame = 1003,
    /// Inputs far over the allowed rate, for seconds (a flood or a speed hack).
    PolicyViolation = 1008,
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
    /// The room asked for is at its player cap.
    RoomFull = 4008,
    /// No room has the id asked for (it never existed or was closed), or no kind the name.
    NoSuchRoom = 4009,
    /// A new room was needed and the server already hosts as many as it may.
    RoomLimit = 4010,
    /// A joined client sent nothing for the server's idle timeout.
    Idle = 4011,
    /// A resume token already used (a copy of it, or a replay), or one whose player left
    /// while the resume was on its way. Join as a new player.
    ResumeRefused = 4012,
    /// Another connection resumed this player with its token: this (older) one is closed.
    Replaced = 4013,
    /// A replay being watched played to its end.
    ReplayEnded = 4014,
}

impl CloseCode {
    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<CloseCode> {
        CloseCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Every close code the server sends, in numeric order.
    pub const ALL: [CloseCode; 21] = {
        use CloseCode::*;
        [
            GoingAway,
            ProtocolError,
            TextFrame,
            PolicyViolation,
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
            RoomFull,
            NoSuchRoom,
            RoomLimit,
            Idle,
            ResumeRefused,
            Replaced,
            ReplayEnded,
        ]
    };
}

/// A `u16` as 2 little-endian bytes instead of a varint (which takes 3 from 251 up).
mod fixed_u16 {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub fn serialize<S: Serializer>(v: &u16, s: S) -> Result<S::Ok, S::Error> {
        v.to_le_bytes().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
        <[u8; 2]>::deserialize(d).map(u16::from_le_bytes)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_room_requests_follow_the_protocols_limits() {
        assert_eq!(player_name("  ann  ").as_deref(), Ok("ann"));
        assert_eq!(player_name("").as_deref(), Ok("player"));
        assert_eq!(
            player_name(&"я".repeat(MAX_NAME_CHARS)).map(|n| n.chars().count()),
            Ok(24)
        );
        assert_eq!(
            player_name(&"a".repeat(MAX_NAME_CHARS + 1)),
            Err(RequestError::Name)
        );
        assert_eq!(player_name("a\u{7}b"), Err(RequestError::Name));
        let join = |id: &str| RoomRequest::Join { id: id.into() }.check();
        assert_eq!(join("abc123"), Ok(()));
        assert_eq!(join("abc-123"), Err(RequestError::Room));
        assert_eq!(
            join(&"a".repeat(MAX_ROOM_ID_BYTES + 1)),
            Err(RequestError::Room)
        );
        let kind = |k: &str| RoomRequest::JoinOrCreate { kind: k.into() }.check();
        assert_eq!((kind(""), kind("duel_2-v")), (Ok(()), Ok(())));
        assert_eq!(kind("Duel"), Err(RequestError::Room));
        let replay = |id: &str, speed| {
            RoomRequest::Replay {
                id: id.into(),
                from_tick: 0,
                speed_percent: speed,
            }
            .check()
        };
        assert_eq!(replay("abc-1700000000000", 400), Ok(()));
        assert_eq!(replay("abc-1", 401), Err(RequestError::Replay));
        assert_eq!(replay("abc-1", 49), Err(RequestError::Replay));
        assert_eq!(replay("../etc", 100), Err(RequestError::Replay));
    }

    #[test]
    fn sixteen_bits_extend_to_the_nearest_full_value() {
        assert_eq!(extend_u16(1, 0), 1);
        assert_eq!(extend_u16(0x0005, 0x0001_fff0), 0x0002_0005);
        assert_eq!(extend_u16(0xfff0, 0x0002_0005), 0x0001_fff0);
        assert_eq!(extend_u16(0x8000, 0), 0xffff_8000, "the far half is behind");
        assert_eq!(extend_u16(0x7fff, 0), 0x7fff);
        // Wrapping at 2^32, where sequence numbers skip 0: the low bits skip 0 as well.
        assert_eq!(extend_u16(1, u32::MAX), 1);
        for near in [0u32, 1, 65_535, 65_536, 1 << 31, u32::MAX - 3] {
            for delta in [-32_768i32, -1, 0, 1, 32_767] {
                let full = near.wrapping_add_signed(delta);
                assert_eq!(extend_u16(full as u16, near), full);
            }
        }
    }
}
