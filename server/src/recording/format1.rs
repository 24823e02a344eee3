//! Format 1 (protocol 6, before lag compensation), read into today's types.
//!
//! What changed since: inputs say which moment their shots are judged at and may fire the
//! rail; the header gives the room's maximum rewind; the arena's entities grew two fields and
//! a kind (obituaries, whose ids count down from the top so no other id moved). A format-1
//! input is converted to one that fires no rail and claims the present, which the rules
//! judge exactly as format 1's did; its checksums covered the first nine fields of the first
//! three kinds ([`Checksum::Before`]).

use serde::{Deserialize, Serialize};
use snapwire_shared::Tick;
use snapwire_shared::codec;
use snapwire_shared::map::MapDef;
use snapwire_shared::sim::{PlayerInput, ViewTime};

use super::{BlockError, Header, Recording, RecordingError};
use crate::room::ClientId;
use crate::room::record::{Checksum, Entry, TickRecord};

#[derive(Debug, Deserialize, Serialize)]
struct Header1 {
    format: u32,
    protocol: u32,
    game: String,
    kind: String,
    room: String,
    tick_rate: u16,
    map: MapDef,
    scene: String,
    started_unix_ms: u64,
}

#[derive(Debug, Deserialize, Serialize)]
enum Block1 {
    Header(Header1),
    Ticks(Vec<TickRecord1>),
}

#[derive(Debug, Deserialize, Serialize)]
struct TickRecord1 {
    tick: Tick,
    entries: Vec<Entry1>,
    checksum: u32,
}

#[derive(Debug, Deserialize, Serialize)]
enum Entry1 {
    Join {
        client: ClientId,
        name: String,
        spectate: bool,
    },
    Leave {
        client: ClientId,
    },
    Input {
        client: ClientId,
        input: PlayerInput1,
    },
}

#[derive(Debug, Deserialize, Serialize)]
struct PlayerInput1 {
    move_x: i8,
    move_y: i8,
    aim: u16,
    fire: bool,
}

pub(super) fn read(blocks: &[Vec<u8>]) -> Result<Recording, RecordingError> {
    let mut header = None;
    let mut ticks = Vec::new();
    for (n, raw) in blocks.iter().enumerate() {
        match codec::decode_value::<Block1>(raw).map_err(|e| RecordingError::Block(n, e.into()))? {
            Block1::Header(h) if n == 0 => header = Some(h),
            Block1::Header(_) => {
                return Err(RecordingError::Block(n, BlockError::SecondHeader));
            }
            Block1::Ticks(t) => ticks.extend(t.into_iter().map(convert_tick)),
        }
    }
    let h = header.ok_or(RecordingError::NoHeader)?;
    // Only the arena changed its entities; tag's checksums are today's.
    let checksum = match h.game.as_str() {
        "arena" => Checksum::Before {
            words: 9,
            kinds_below: 3,
        },
        _ => Checksum::Current,
    };
    Ok(Recording {
        header: Header {
            format: h.format,
            protocol: h.protocol,
            game: h.game,
            kind: h.kind,
            room: h.room,
            tick_rate: h.tick_rate,
            map: h.map,
            scene: h.scene,
            started_unix_ms: h.started_unix_ms,
            max_rewind_ms: snapwire_shared::sim::rules::DEFAULT_MAX_REWIND_MS,
        },
        ticks,
        keyframes: Vec::new(),
        checksum,
    })
}

fn convert_tick(t: TickRecord1) -> TickRecord {
    // Inputs of the step that made `t.tick` were applied while the world was one tick
    // earlier: claiming that moment is no rewind at all.
    let present = ViewTime {
        tick: Tick(t.tick.0.wrapping_sub(1)),
        frac: 0,
    };
    let entries = t
        .entries
        .into_iter()
        .map(|e| match e {
            Entry1::Join {
                client,
                name,
                spectate,
            } => Entry::Join {
                client,
                name,
                spectate,
            },
            Entry1::Leave { client } => Entry::Leave { client },
            Entry1::Input { client, input } => Entry::Input {
                client,
                input: PlayerInput {
                    move_x: input.move_x,
                    move_y: input.move_y,
                    aim: input.aim,
                    fire: input.fire,
                    alt_fire: false,
                    view: present,
                },
            },
        })
        .collect();
    TickRecord {
        tick: t.tick,
        entries,
        checksum: t.checksum,
    }
}
