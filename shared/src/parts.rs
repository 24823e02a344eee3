//! A message too large for one datagram, as parts that each fit one ([`ServerMsg::Part`]).
//!
//! Only a snapshot with nothing to be a delta against (a client's first, or one after it lost
//! every baseline) is ever split: the server keeps its deltas inside one datagram by deferring
//! entities new to the client (PROTOCOL.md, "Snapshot budget"). A lost part loses that one
//! message, as a lost datagram would; the next snapshot does not depend on it. The receiver
//! holds the parts of one message at a time, so a peer can make it hold at most
//! [`MAX_SERVER_MSG_BYTES`] however it numbers its parts.

use thiserror::Error;

use crate::codec::{self, MAX_SERVER_MSG_BYTES};
use crate::protocol::{Part, ServerMsg};

/// Bytes a `Part` message adds to the bytes it carries, at most: its variant index, the
/// message number, part index and count, and the length, each a varint.
pub const PART_OVERHEAD: usize = 1 + 5 + 3 + 3 + 3;

/// Parts one message may have: enough for the largest message at the smallest datagram a
/// client could offer (1 MiB in 1,024-byte parts).
pub const MAX_PARTS: u16 = 1024;

/// The `Part` messages that carry `frame`, each at most `max_datagram` bytes; `message`
/// numbers them (one number per split message, increasing). `None` when `max_datagram` leaves
/// no room for a part's bytes, or `frame` would need more than [`MAX_PARTS`].
pub fn split(message: u32, frame: &[u8], max_datagram: usize) -> Option<Vec<Vec<u8>>> {
    let room = max_datagram.checked_sub(PART_OVERHEAD).filter(|r| *r > 0)?;
    let count = frame.len().div_ceil(room);
    let count = u16::try_from(count).ok().filter(|c| *c <= MAX_PARTS)?;
    Some(
        frame
            .chunks(room)
            .enumerate()
            .map(|(index, bytes)| {
                codec::encode_server(&ServerMsg::Part(Part {
                    message,
                    index: index as u16,
                    count,
                    bytes: bytes.to_vec(),
                }))
            })
            .collect(),
    )
}

/// A part that cannot belong to any message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PartError {
    #[error("part {index} of {count}")]
    Index { index: u16, count: u16 },
    #[error("message {message} said {was} parts, then {now}")]
    Count { message: u32, was: u16, now: u16 },
    #[error("parts add up to over {MAX_SERVER_MSG_BYTES} bytes")]
    TooLarge,
}

/// The parts received of the newest split message.
#[derive(Debug, Default)]
pub struct Reassembly {
    message: Option<u32>,
    parts: Vec<Option<Vec<u8>>>,
    missing: usize,
    bytes: usize,
    /// The newest message put together: a copy of one of its parts arriving later is not a
    /// new message.
    done: Option<u32>,
}

impl Reassembly {
    /// Takes one part; returns the whole message once its last part is in. A part of an older
    /// message than the one being put together is dropped (its message is stale), and one of a
    /// newer message drops what was held.
    pub fn push(&mut self, part: Part) -> Result<Option<Vec<u8>>, PartError> {
        let Part {
            message,
            index,
            count,
            bytes,
        } = part;
        if count == 0 || count > MAX_PARTS || index >= count {
            return Err(PartError::Index { index, count });
        }
        let newest = self.message.max(self.done);
        if newest.is_some_and(|n| message < n) || self.done == Some(message) {
            return Ok(None);
        }
        if self.message != Some(message) {
            self.message = Some(message);
            self.parts.clear();
            self.parts.resize(usize::from(count), None);
            self.missing = usize::from(count);
            self.bytes = 0;
        } else if self.parts.len() != usize::from(count) {
            return Err(PartError::Count {
                message,
                was: self.parts.len() as u16,
                now: count,
            });
        }
        let slot = &mut self.parts[usize::from(index)];
        if slot.is_some() {
            return Ok(None);
        }
        self.bytes += bytes.len();
        if self.bytes > MAX_SERVER_MSG_BYTES {
            self.message = None;
            self.parts.clear();
            return Err(PartError::TooLarge);
        }
        *slot = Some(bytes);
        self.missing -= 1;
        if self.missing > 0 {
            return Ok(None);
        }
        let mut whole = Vec::with_capacity(self.bytes);
        for part in self.parts.drain(..) {
            whole.extend_from_slice(&part.unwrap_or_default());
        }
        self.done = self.message.take();
        Ok(Some(whole))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(frame: &[u8], max: usize, message: u32) -> Vec<Part> {
        split(message, frame, max)
            .expect("splits")
            .iter()
            .map(|datagram| {
                assert!(datagram.len() <= max, "{} > {max}", datagram.len());
                match codec::decode_server(datagram).expect("a message") {
                    ServerMsg::Part(p) => p,
                    other => panic!("{other:?}"),
                }
            })
            .collect()
    }

    #[test]
    fn parts_fit_their_datagrams_and_join_in_any_order() {
        let frame: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let mut all = parts(&frame, 1200, 9);
        assert_eq!(all.len(), 9);
        all.reverse();
        all.swap(2, 5);
        let mut r = Reassembly::default();
        let last = all.pop().expect("parts");
        for p in all {
            assert_eq!(r.push(p).expect("ok"), None);
        }
        assert_eq!(r.push(last).expect("ok"), Some(frame));
    }

    #[test]
    fn a_newer_message_drops_the_older_and_stale_parts_are_ignored() {
        let old = vec![1u8; 3000];
        let new = vec![2u8; 3000];
        let (old_parts, new_parts) = (parts(&old, 1200, 1), parts(&new, 1200, 2));
        let mut r = Reassembly::default();
        assert_eq!(r.push(old_parts[0].clone()).expect("ok"), None);
        assert_eq!(r.push(new_parts[0].clone()).expect("ok"), None);
        // The rest of message 1 comes late: never completes anything.
        for p in &old_parts[1..] {
            assert_eq!(r.push(p.clone()).expect("ok"), None);
        }
        assert_eq!(r.push(new_parts[1].clone()).expect("ok"), None);
        // A duplicate is not a new part.
        assert_eq!(r.push(new_parts[1].clone()).expect("ok"), None);
        assert_eq!(r.push(new_parts[2].clone()).expect("ok"), Some(new));
        // A copy of a part of a message already put together makes nothing.
        assert_eq!(r.push(new_parts[0].clone()).expect("ok"), None);
    }

    #[test]
    fn impossible_parts_are_errors() {
        let mut r = Reassembly::default();
        let part = |index, count| Part {
            message: 1,
            index,
            count,
            bytes: vec![0; 10],
        };
        assert!(r.push(part(3, 3)).is_err());
        assert!(r.push(part(0, 0)).is_err());
        assert!(r.push(part(0, MAX_PARTS + 1)).is_err());
        assert_eq!(r.push(part(0, 3)).expect("ok"), None);
        assert_eq!(
            r.push(part(1, 4)),
            Err(PartError::Count {
                message: 1,
                was: 3,
                now: 4
            })
        );
        // Parts adding up to more than a message may hold.
        let mut r = Reassembly::default();
        let big = |index| Part {
            message: 2,
            index,
            count: MAX_PARTS,
            bytes: vec![0; 1100],
        };
        let mut result = Ok(None);
        for i in 0..MAX_PARTS {
            result = r.push(big(i));
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(PartError::TooLarge));
    }

    #[test]
    fn too_small_a_datagram_or_too_many_parts_cannot_split() {
        assert!(split(1, &[0; 100], PART_OVERHEAD).is_none());
        assert!(split(1, &vec![0; 100_000], PART_OVERHEAD + 10).is_none());
    }
}
