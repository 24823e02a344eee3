//! The only place bincode is named: message <-> frame bytes.

use bincode::config::{self, Configuration, Limit, LittleEndian, Varint};
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::protocol::{ClientMsg, MAX_CLIENT_MSG_BYTES, ServerMsg, SnapshotRef};

/// Largest server message a client accepts: a full snapshot of a big world fits with room to spare.
pub const MAX_SERVER_MSG_BYTES: usize = 1 << 20;

#[derive(Debug, Error)]
pub enum DecodeError {
    #[error("message of {len} bytes is over the {limit}-byte limit")]
    TooLarge { len: usize, limit: usize },
    #[error("undecodable message: {0}")]
    Malformed(String),
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
}

type Standard = Configuration<LittleEndian, Varint>;

fn standard() -> Standard {
    config::standard()
}

fn limited<const N: usize>() -> Configuration<LittleEndian, Varint, Limit<N>> {
    config::standard().with_limit::<N>()
}

pub fn encode_client(msg: &ClientMsg) -> Vec<u8> {
    encode(msg)
}

pub fn encode_server(msg: &ServerMsg) -> Vec<u8> {
    encode(msg)
}

/// Any other plain-data value in the same encoding as messages (a room's recorded ticks).
pub fn encode_value<T: Serialize>(value: &T) -> Vec<u8> {
    encode(value)
}

/// Largest value [`decode_value`] reads: a block of a room's recording.
pub const MAX_VALUE_BYTES: usize = 64 * 1024 * 1024;

/// Decodes what [`encode_value`] wrote; never allocates more than [`MAX_VALUE_BYTES`].
pub fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    check_len(bytes, MAX_VALUE_BYTES)?;
    finish(
        bincode::serde::decode_from_slice(bytes, limited::<MAX_VALUE_BYTES>()),
        bytes,
    )
}

/// Decodes a value of type `T` from the start of `bytes`, ignoring what follows: how a reader
/// finds a version number before it knows the layout of the rest.
pub fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    check_len(bytes, MAX_VALUE_BYTES)?;
    bincode::serde::decode_from_slice(bytes, limited::<MAX_VALUE_BYTES>())
        .map(|(value, _)| value)
        .map_err(|e| DecodeError::Malformed(e.to_string()))
}

/// Bincode's variant index of [`ServerMsg::Snapshot`] (a one-byte varint).
const SNAPSHOT_VARIANT: u8 = 1;

/// Replaces `out` with the bytes of `ServerMsg::Snapshot` holding `snapshot`: the same bytes as
/// [`encode_server`] of the owned message, into a buffer the caller reuses.
pub fn encode_snapshot_into(out: &mut Vec<u8>, snapshot: &SnapshotRef<'_>) {
    out.clear();
    out.push(SNAPSHOT_VARIANT);
    // Writing plain data into a Vec cannot fail.
    bincode::serde::encode_into_std_write(snapshot, out, standard())
        .unwrap_or_else(|e| unreachable!("encode: {e}"));
}

/// Decodes one client frame; never allocates more than [`MAX_CLIENT_MSG_BYTES`].
pub fn decode_client(bytes: &[u8]) -> Result<ClientMsg, DecodeError> {
    check_len(bytes, MAX_CLIENT_MSG_BYTES)?;
    finish(
        bincode::serde::decode_from_slice(bytes, limited::<MAX_CLIENT_MSG_BYTES>()),
        bytes,
    )
}

pub fn decode_server(bytes: &[u8]) -> Result<ServerMsg, DecodeError> {
    check_len(bytes, MAX_SERVER_MSG_BYTES)?;
    finish(
        bincode::serde::decode_from_slice(bytes, limited::<MAX_SERVER_MSG_BYTES>()),
        bytes,
    )
}

fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    // Encoding into a Vec only fails for types serde cannot represent; ours are plain data.
    bincode::serde::encode_to_vec(msg, standard()).unwrap_or_else(|e| unreachable!("encode: {e}"))
}

fn check_len(bytes: &[u8], limit: usize) -> Result<(), DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    Ok(())
}

fn finish<T: DeserializeOwned>(
    result: Result<(T, usize), bincode::error::DecodeError>,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    let (msg, used) = result.map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if used != bytes.len() {
        return Err(DecodeError::TrailingBytes(bytes.len() - used));
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::InputMsg;
    use crate::tick::Tick;
    use proptest::prelude::*;

    fn input() -> impl Strategy<Value = ClientMsg> {
        (
            any::<u16>(),
            any::<u16>(),
            any::<i8>(),
            any::<i8>(),
            any::<u16>(),
            any::<u8>(),
            any::<(u16, u8)>(),
        )
            .prop_map(
                |(seq, tick, move_x, move_y, aim, buttons, (view_tick, view_frac))| {
                    ClientMsg::Input(InputMsg {
                        seq,
                        tick,
                        move_x,
                        move_y,
                        aim,
                        buttons,
                        view_tick,
                        view_frac,
                    })
                },
            )
    }

    proptest! {
        #[test]
        fn client_messages_round_trip(msg in prop_oneof![
            input(),
            proptest::collection::vec(input(), 1..=4).prop_map(|inputs| ClientMsg::Inputs(
                inputs
                    .into_iter()
                    .filter_map(|m| match m {
                        ClientMsg::Input(i) => Some(i),
                        _ => None,
                    })
                    .collect(),
            )),
            any::<u32>().prop_map(|t| ClientMsg::Ack { tick: Tick(t) }),
            (any::<u32>(), "[a-z]{0,24}", any::<bool>(), "[a-z0-9]{0,8}", 0..3u8, any::<Option<[u8; 16]>>()).prop_map(
                |(v, name, spectate, id, how, resume)| {
                    let room = match how {
                        0 => crate::protocol::RoomRequest::JoinOrCreate { kind: id },
                        1 => crate::protocol::RoomRequest::Join { id },
                        _ => crate::protocol::RoomRequest::Create { kind: id, private: spectate },
                    };
                    let resume = resume.map(|t| crate::protocol::Resume {
                        token: crate::protocol::ResumeToken(t),
                        has_state: t[0] & 1 == 1,
                    });
                    ClientMsg::Hello { protocol_version: v, name, spectate, room, resume }
                }
            ),
        ]) {
            let bytes = encode_client(&msg);
            prop_assert_eq!(decode_client(&bytes).ok(), Some(msg));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = decode_client(&bytes);
            let _ = decode_server(&bytes);
        }
    }

    proptest! {
        #[test]
        fn borrowed_snapshots_encode_like_owned_ones(
            tick: u32, age: u16, seq: u32, checksum: u32,
            names in proptest::collection::vec((any::<u32>(), "[a-zé]{0,8}"), 0..4),
            body in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let owned = ServerMsg::Snapshot(crate::protocol::SnapshotMsg {
                tick: Tick(tick),
                baseline_age: age,
                last_input_seq: seq,
                checksum,
                names: names.iter().map(|(id, name)| crate::protocol::PlayerName { id: *id, name: name.clone() }).collect(),
                body: body.clone(),
            });
            let refs: Vec<_> = names.iter().map(|(id, name)| crate::protocol::PlayerNameRef { id: *id, name }).collect();
            let mut out = vec![9, 9];
            encode_snapshot_into(&mut out, &SnapshotRef {
                tick: Tick(tick),
                baseline_age: age,
                last_input_seq: seq,
                checksum,
                names: &refs,
                body: &body,
            });
            prop_assert_eq!(out, encode_server(&owned));
        }
    }

    #[test]
    fn a_huge_declared_length_is_refused_without_allocating() {
        // Hello with protocol_version 1 and a name claiming u64::MAX bytes.
        let mut bytes = vec![0u8, 1, 253];
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            decode_client(&bytes),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn oversized_frames_are_refused() {
        let bytes = vec![2u8; MAX_CLIENT_MSG_BYTES + 1];
        assert!(matches!(
            decode_client(&bytes),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode_client(&ClientMsg::Ack { tick: Tick(5) });
        bytes.push(0);
        assert!(matches!(
            decode_client(&bytes),
            Err(DecodeError::TrailingBytes(1))
        ));
    }
}

/// The byte examples in PROTOCOL.md, checked.
#[cfg(test)]
mod protocol_examples {
    use super::*;
    use crate::protocol::{BUTTON_ACK, BUTTON_FIRE, InputMsg, PlayerName, SnapshotMsg};
    use crate::tick::Tick;

    #[test]
    fn hello() {
        let msg = ClientMsg::Hello {
            protocol_version: 7,
            name: "ann".into(),
            spectate: false,
            room: crate::protocol::RoomRequest::Join { id: "k7".into() },
            resume: None,
        };
        assert_eq!(
            encode_client(&msg),
            [
                0x00, 0x07, 0x03, b'a', b'n', b'n', 0x00, 0x01, 0x02, b'k', b'7', 0x00
            ]
        );
        let again = ClientMsg::Hello {
            protocol_version: 7,
            name: String::new(),
            spectate: false,
            room: crate::protocol::RoomRequest::JoinOrCreate {
                kind: String::new(),
            },
            resume: Some(crate::protocol::Resume {
                token: crate::protocol::ResumeToken([0xab; 16]),
                has_state: true,
            }),
        };
        let mut expected = vec![0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x01];
        expected.extend([0xab; 16]);
        expected.push(0x01);
        assert_eq!(encode_client(&again), expected);
    }

    #[test]
    fn input() {
        let msg = ClientMsg::Input(InputMsg {
            seq: 300,
            tick: 70,
            move_x: 127,
            move_y: -64,
            aim: 0x4000,
            buttons: BUTTON_FIRE | BUTTON_ACK,
            view_tick: 62,
            view_frac: 0x80,
        });
        assert_eq!(
            encode_client(&msg),
            [
                0x01, 0x2c, 0x01, 0x46, 0x00, 0x7f, 0xc0, 0x00, 0x40, 0x03, 0x3e, 0x00, 0x80
            ]
        );
    }

    #[test]
    fn ack() {
        assert_eq!(
            encode_client(&ClientMsg::Ack { tick: Tick(1000) }),
            [0x02, 0xe8, 0x03, 0x00, 0x00]
        );
    }

    #[test]
    fn inputs() {
        let input = |seq: u16| InputMsg {
            seq,
            tick: 70,
            move_x: 127,
            move_y: 0,
            aim: 0,
            buttons: 0,
            view_tick: 70,
            view_frac: 0,
        };
        let msg = ClientMsg::Inputs(vec![input(299), input(300)]);
        assert_eq!(
            encode_client(&msg),
            [
                0x03, 0x02, // index 3, two inputs
                0x2b, 0x01, 0x46, 0x00, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x46, 0x00, 0x00, // 299
                0x2c, 0x01, 0x46, 0x00, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x46, 0x00, 0x00, // 300
            ]
        );
    }

    #[test]
    fn resumed() {
        let msg = ServerMsg::Resumed(crate::protocol::Resumed {
            player_id: Some(7),
            tick: Tick(1000),
            resume: crate::protocol::ResumeToken([0x11; 16]),
        });
        let mut expected = vec![0x03, 0x01, 0x07, 0xe8, 0x03, 0x00, 0x00];
        expected.extend([0x11; 16]);
        assert_eq!(encode_server(&msg), expected);
    }

    #[test]
    fn snapshot_envelope() {
        let msg = ServerMsg::Snapshot(SnapshotMsg {
            tick: Tick(5),
            baseline_age: 2,
            last_input_seq: 2,
            checksum: 0x0102_0304,
            names: vec![PlayerName {
                id: 1,
                name: "al".into(),
            }],
            body: vec![0xaa],
        });
        assert_eq!(
            encode_server(&msg),
            [
                0x01, 0x05, 0x00, 0x00, 0x00, 0x02, 0x02, 0x04, 0x03, 0x02, 0x01, 0x01, 0x01, 0x02,
                b'a', b'l', 0x01, 0xaa
            ]
        );
    }

    /// Worked by hand from the encoding table: varints below 251 are one byte, from 251 up a
    /// marker and the little-endian value; `i32` is zigzagged first.
    #[test]
    fn welcome() {
        use crate::map::{MapDef, Point, Rect};
        let msg = ServerMsg::Welcome(crate::protocol::Welcome {
            player_id: Some(7),
            tick: Tick(1000),
            tick_rate: 60,
            map: MapDef {
                name: "t".into(),
                width: 10_000,
                height: 8_000,
                walls: vec![Rect {
                    x: 0,
                    y: 0,
                    w: 1_000,
                    h: 1_000,
                }],
                spawns: vec![Point { x: 5_000, y: 4_000 }],
            },
            view_width: 40_000,
            view_height: 24_000,
            room: "k7".into(),
            kind: "default".into(),
            game: "arena".into(),
            resume: crate::protocol::ResumeToken([0x11; 16]),
        });
        let mut expected = vec![
            0x00, // Welcome
            0x01, 0x07, // player_id Some(7)
            0xe8, 0x03, 0x00, 0x00, // tick 1000, 4 bytes
            0x3c, // tick_rate 60
            0x01, b't', // map name
            0xfb, 0x20, 0x4e, // width 10000: zigzag 20000 = 0x4e20, u16 form
            0xfb, 0x80, 0x3e, // height 8000: zigzag 16000
            0x01, // one wall
            0x00, 0x00, 0xfb, 0xd0, 0x07, 0xfb, 0xd0, 0x07, // 0, 0, 1000, 1000
            0x01, // one spawn
            0xfb, 0x10, 0x27, 0xfb, 0x40, 0x1f, // 5000, 4000
            0xfc, 0x80, 0x38, 0x01, 0x00, // view_width 40000: zigzag 80000, u32 form
            0xfb, 0x80, 0xbb, // view_height 24000: zigzag 48000
            0x02, b'k', b'7', // room
            0x07, b'd', b'e', b'f', b'a', b'u', b'l', b't', // kind
            0x05, b'a', b'r', b'e', b'n', b'a', // game
        ];
        expected.extend([0x11; 16]);
        assert_eq!(encode_server(&msg), expected);
        assert_eq!(decode_server(&expected).ok(), Some(msg));
    }

    #[test]
    fn scores() {
        let msg = ServerMsg::Scores(crate::protocol::Scores {
            players: 3,
            top: vec![
                crate::protocol::ScoreRow {
                    id: 7,
                    name: "al".into(),
                    score: 12,
                },
                crate::protocol::ScoreRow {
                    id: 9,
                    name: "bo".into(),
                    score: -1,
                },
            ],
            you: Some((2, -1)),
        });
        let expected = [
            0x02, // Scores
            0x03, // players
            0x02, // two rows
            0x07, 0x02, b'a', b'l', 0x18, // 7, "al", zigzag(12) = 24
            0x09, 0x02, b'b', b'o', 0x01, // 9, "bo", zigzag(-1) = 1
            0x01, 0x02, 0x01, // you: Some((2, -1))
        ];
        assert_eq!(encode_server(&msg), expected);
        assert_eq!(decode_server(&expected).ok(), Some(msg));
    }
}
