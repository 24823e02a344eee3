//! A second of recorded ticks, packed: what a block of format 2 holds (PROTOCOL.md,
//! "Recordings"). Inputs are most of a recording, and a player's input barely changes from one
//! tick to the next, so each is written as what changed since the same client's previous one in
//! the block, and like bytes are kept together (structure, change flags, values, checksums) for
//! the compressor. A bincode list of the same ticks took 8.7 bytes per input after LZ4.

use snapwire_shared::Tick;
use snapwire_shared::sim::{PlayerInput, ViewTime};
use thiserror::Error;

use crate::room::ClientId;
use crate::room::record::{Entry, TickRecord};

const TAG_JOIN: u64 = 0;
const TAG_LEAVE: u64 = 1;
/// An input of client slot `k` is tag `TAG_INPUT + k`; `k` = the slots so far is a new slot,
/// whose client id follows.
const TAG_INPUT: u64 = 2;

const MOVED: u8 = 1;
const AIMED: u8 = 2;
const BUTTONS: u8 = 4;
const VIEW_BACK: u8 = 8;
const VIEW_FRAC: u8 = 16;

/// Packs ticks in order (consecutive, as a room records them).
pub fn pack(ticks: &[TickRecord]) -> Vec<u8> {
    let mut w = Writer::default();
    let first = ticks.first().map_or(0, |t| t.tick.0);
    w.checks.extend_from_slice(&first.to_le_bytes());
    varint(&mut w.structure, ticks.len() as u64);
    let mut slots: Vec<(ClientId, PlayerInput, i32)> = Vec::new();
    for t in ticks {
        w.checks.extend_from_slice(&t.checksum.to_le_bytes());
        varint(&mut w.structure, t.entries.len() as u64);
        // Inputs of the step that made `t.tick` were applied at the tick before.
        let applied = t.tick.0.wrapping_sub(1);
        for e in &t.entries {
            match e {
                Entry::Join {
                    client,
                    name,
                    spectate,
                } => {
                    varint(&mut w.structure, TAG_JOIN);
                    varint(&mut w.structure, *client);
                    varint(&mut w.structure, name.len() as u64);
                    w.structure.extend_from_slice(name.as_bytes());
                    w.structure.push(u8::from(*spectate));
                }
                Entry::Leave { client } => {
                    varint(&mut w.structure, TAG_LEAVE);
                    varint(&mut w.structure, *client);
                }
                Entry::Input { client, input } => {
                    let known = slots.iter().position(|s| s.0 == *client);
                    let slot = known.unwrap_or(slots.len());
                    varint(&mut w.structure, TAG_INPUT + slot as u64);
                    if known.is_none() {
                        // The client's first input in the block: say whose.
                        varint(&mut w.structure, *client);
                        slots.push((*client, PlayerInput::default(), 0));
                    }
                    let (_, prev, prev_back) = &mut slots[slot];
                    let back = applied.wrapping_sub(input.view.tick.0) as i32;
                    w.input(prev, *prev_back, input, back);
                    (*prev, *prev_back) = (*input, back);
                }
            }
        }
    }
    w.finish()
}

/// Why packed ticks do not read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PackedError {
    #[error("{0} ticks in one block")]
    TooManyTicks(usize),
    #[error("a name that is not UTF-8")]
    NameNotUtf8,
    #[error("input slot {slot} of {slots}")]
    UnknownSlot { slot: usize, slots: usize },
    #[error("a stream longer than the block")]
    StreamPastBlock,
    #[error("a movement axis of -128")]
    AxisOutOfRange,
    #[error("a block cut short")]
    CutShort,
    #[error("an over-long varint")]
    OverlongVarint,
}

/// Unpacks what [`pack`] wrote; `Err` on any inconsistency (a corrupt block).
pub fn unpack(bytes: &[u8]) -> Result<Vec<TickRecord>, PackedError> {
    let mut r = Reader::new(bytes)?;
    let first = u32::from_le_bytes(r.checks_array()?);
    let count = r.structure_varint()? as usize;
    if count > 1 << 20 {
        return Err(PackedError::TooManyTicks(count));
    }
    let mut slots: Vec<(ClientId, PlayerInput, i32)> = Vec::new();
    let mut ticks = Vec::with_capacity(count.min(4096));
    for i in 0..count {
        let tick = Tick(first.wrapping_add(i as u32));
        let checksum = u32::from_le_bytes(r.checks_array()?);
        let n = r.structure_varint()? as usize;
        let applied = tick.0.wrapping_sub(1);
        let mut entries = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            let tag = r.structure_varint()?;
            let entry = match tag {
                TAG_JOIN => {
                    let client = r.structure_varint()?;
                    let len = r.structure_varint()? as usize;
                    let name = String::from_utf8(r.structure_bytes(len)?.to_vec())
                        .map_err(|_| PackedError::NameNotUtf8)?;
                    let spectate = r.structure_bytes(1)?[0] != 0;
                    Entry::Join {
                        client,
                        name,
                        spectate,
                    }
                }
                TAG_LEAVE => Entry::Leave {
                    client: r.structure_varint()?,
                },
                tag => {
                    let slot = (tag - TAG_INPUT) as usize;
                    if slot == slots.len() {
                        let client = r.structure_varint()?;
                        slots.push((client, PlayerInput::default(), 0));
                    }
                    let Some((client, prev, prev_back)) = slots.get_mut(slot) else {
                        return Err(PackedError::UnknownSlot {
                            slot,
                            slots: slots.len(),
                        });
                    };
                    let (input, back) = r.input(prev, *prev_back, applied)?;
                    (*prev, *prev_back) = (input, back);
                    Entry::Input {
                        client: *client,
                        input,
                    }
                }
            };
            entries.push(entry);
        }
        ticks.push(TickRecord {
            tick,
            entries,
            checksum,
        });
    }
    Ok(ticks)
}

#[derive(Default)]
struct Writer {
    structure: Vec<u8>,
    flags: Vec<u8>,
    values: Vec<u8>,
    checks: Vec<u8>,
}

impl Writer {
    fn input(&mut self, prev: &PlayerInput, prev_back: i32, now: &PlayerInput, back: i32) {
        let buttons = |i: &PlayerInput| u8::from(i.fire) | u8::from(i.alt_fire) << 1;
        let mut flags = 0;
        if (now.move_x, now.move_y) != (prev.move_x, prev.move_y) {
            flags |= MOVED;
            self.values.push(now.move_x as u8);
            self.values.push(now.move_y as u8);
        }
        if now.aim != prev.aim {
            flags |= AIMED;
            zigzag(
                &mut self.values,
                i64::from(now.aim.wrapping_sub(prev.aim) as i16),
            );
        }
        if buttons(now) != buttons(prev) {
            flags |= BUTTONS;
            self.values.push(buttons(now));
        }
        if back != prev_back {
            flags |= VIEW_BACK;
            zigzag(&mut self.values, i64::from(back) - i64::from(prev_back));
        }
        if now.view.frac != prev.view.frac {
            flags |= VIEW_FRAC;
            self.values.push(now.view.frac);
        }
        self.flags.push(flags);
    }

    /// The four lengths first (LEB128), then the four streams, in the same order.
    fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            16 + self.structure.len() + self.flags.len() + self.values.len() + self.checks.len(),
        );
        for stream in [&self.structure, &self.flags, &self.values, &self.checks] {
            varint(&mut out, stream.len() as u64);
        }
        for stream in [self.structure, self.flags, self.values, self.checks] {
            out.extend_from_slice(&stream);
        }
        out
    }
}

struct Reader<'a> {
    structure: &'a [u8],
    flags: &'a [u8],
    values: &'a [u8],
    checks: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(mut bytes: &'a [u8]) -> Result<Reader<'a>, PackedError> {
        let mut lens = [0usize; 4];
        for l in &mut lens {
            *l = read_varint(&mut bytes)? as usize;
        }
        let mut take = |n: usize| -> Result<&'a [u8], PackedError> {
            if n > bytes.len() {
                return Err(PackedError::StreamPastBlock);
            }
            let (a, b) = bytes.split_at(n);
            bytes = b;
            Ok(a)
        };
        Ok(Reader {
            structure: take(lens[0])?,
            flags: take(lens[1])?,
            values: take(lens[2])?,
            checks: take(lens[3])?,
        })
    }

    fn structure_varint(&mut self) -> Result<u64, PackedError> {
        read_varint(&mut self.structure)
    }

    fn structure_bytes(&mut self, n: usize) -> Result<&'a [u8], PackedError> {
        take(&mut self.structure, n)
    }

    fn checks_array(&mut self) -> Result<[u8; 4], PackedError> {
        let b = take(&mut self.checks, 4)?;
        Ok([b[0], b[1], b[2], b[3]])
    }

    fn input(
        &mut self,
        prev: &PlayerInput,
        prev_back: i32,
        applied: u32,
    ) -> Result<(PlayerInput, i32), PackedError> {
        let flags = take(&mut self.flags, 1)?[0];
        let mut input = *prev;
        let mut back = prev_back;
        if flags & MOVED != 0 {
            let b = take(&mut self.values, 2)?;
            (input.move_x, input.move_y) = (b[0] as i8, b[1] as i8);
            if input.move_x == i8::MIN || input.move_y == i8::MIN {
                return Err(PackedError::AxisOutOfRange);
            }
        }
        if flags & AIMED != 0 {
            let d = read_zigzag(&mut self.values)?;
            input.aim = prev.aim.wrapping_add(d as i16 as u16);
        }
        if flags & BUTTONS != 0 {
            let b = take(&mut self.values, 1)?[0];
            (input.fire, input.alt_fire) = (b & 1 != 0, b & 2 != 0);
        }
        if flags & VIEW_BACK != 0 {
            back = (i64::from(prev_back) + read_zigzag(&mut self.values)?) as i32;
        }
        if flags & VIEW_FRAC != 0 {
            input.view.frac = take(&mut self.values, 1)?[0];
        }
        input.view = ViewTime {
            tick: Tick(applied.wrapping_sub(back as u32)),
            frac: input.view.frac,
        };
        Ok((input, back))
    }
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], PackedError> {
    if n > bytes.len() {
        return Err(PackedError::CutShort);
    }
    let (a, b) = bytes.split_at(n);
    *bytes = b;
    Ok(a)
}

/// LEB128: seven bits a byte, least significant first.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(bytes: &mut &[u8]) -> Result<u64, PackedError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = take(bytes, 1)?[0];
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(PackedError::OverlongVarint)
}

fn zigzag(out: &mut Vec<u8>, v: i64) {
    varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn read_zigzag(bytes: &mut &[u8]) -> Result<i64, PackedError> {
    let v = read_varint(bytes)?;
    Ok((v >> 1) as i64 ^ -((v & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input() -> impl Strategy<Value = PlayerInput> {
        (
            -127i8..=127,
            -127i8..=127,
            any::<u16>(),
            any::<(bool, bool)>(),
            0u32..40,
            any::<u8>(),
        )
            .prop_map(
                |(move_x, move_y, aim, (fire, alt_fire), back, frac)| PlayerInput {
                    move_x,
                    move_y,
                    aim,
                    fire,
                    alt_fire,
                    // Made absolute below, relative to the tick it is applied at.
                    view: ViewTime {
                        tick: Tick(back),
                        frac,
                    },
                },
            )
    }

    fn entry() -> impl Strategy<Value = Entry> {
        prop_oneof![
            8 => (0u64..6, input()).prop_map(|(client, input)| Entry::Input { client, input }),
            1 => (0u64..6, "[a-zé]{0,8}", any::<bool>()).prop_map(|(client, name, spectate)| Entry::Join { client, name, spectate }),
            1 => (0u64..6).prop_map(|client| Entry::Leave { client }),
        ]
    }

    proptest! {
        #[test]
        fn any_ticks_pack_and_unpack_to_themselves(
            first in any::<u32>(),
            ticks in proptest::collection::vec((proptest::collection::vec(entry(), 0..12), any::<u32>()), 0..70),
        ) {
            let ticks: Vec<TickRecord> = ticks
                .into_iter()
                .enumerate()
                .map(|(i, (mut entries, checksum))| {
                    let tick = Tick(first.wrapping_add(i as u32));
                    for e in &mut entries {
                        if let Entry::Input { input, .. } = e {
                            input.view.tick = Tick(tick.0.wrapping_sub(1).wrapping_sub(input.view.tick.0));
                        }
                    }
                    TickRecord { tick, entries, checksum }
                })
                .collect();
            let packed = pack(&ticks);
            prop_assert_eq!(unpack(&packed), Ok(ticks));
        }

        #[test]
        fn no_bytes_make_unpack_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = unpack(&bytes);
        }
    }
}
