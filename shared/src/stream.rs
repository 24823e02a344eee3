//! The session stream's framing: how messages travel on a reliable byte stream that keeps no
//! message boundaries of its own (WebTransport's bidirectional stream; WebSocket has frames).
//!
//! A frame is a 4-byte little-endian length `N` of what follows, then `N` bytes: a tag byte and
//! the body. Tag [`TAG_MESSAGE`]: the body is one codec message ([`crate::codec`]), exactly the
//! bytes a WebSocket binary frame would carry. Tag [`TAG_CLOSE`]: the connection ends, the body
//! a 2-byte little-endian close code ([`crate::CloseCode`], or 1000 for a client leaving on
//! purpose) and the reason in UTF-8, as a WebSocket close frame would carry them.
//!
//! Bytes from the peer are hostile: a length over the reader's limit, an empty frame, an
//! unknown tag or a close without its code is an error, and the reader keeps no more than one
//! frame's bytes.

use thiserror::Error;

/// A codec message follows.
pub const TAG_MESSAGE: u8 = 0;
/// The sender closes: a 2-byte code and the reason follow.
pub const TAG_CLOSE: u8 = 1;

/// The longest close reason sent, in bytes (a WebSocket close frame's limit).
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

/// One frame read from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Message(Vec<u8>),
    Close { code: u16, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("a stream frame of {len} bytes is over the {limit}-byte limit")]
    TooLarge { len: usize, limit: usize },
    #[error("an empty stream frame (no tag)")]
    Empty,
    #[error("unknown stream frame tag {0}")]
    UnknownTag(u8),
    #[error("a close frame needs a 2-byte code and a UTF-8 reason")]
    BadClose,
}

/// `message` (codec bytes) framed for the stream.
pub fn message(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + message.len());
    out.extend_from_slice(&(message.len() as u32 + 1).to_le_bytes());
    out.push(TAG_MESSAGE);
    out.extend_from_slice(message);
    out
}

/// A close with `code` and `reason` (cut to [`MAX_CLOSE_REASON_BYTES`] at a character
/// boundary) framed for the stream.
pub fn close(code: u16, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(MAX_CLOSE_REASON_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let reason = &reason.as_bytes()[..end];
    let mut out = Vec::with_capacity(7 + reason.len());
    out.extend_from_slice(&(reason.len() as u32 + 3).to_le_bytes());
    out.push(TAG_CLOSE);
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(reason);
    out
}

/// Reads frames out of the stream's bytes as they arrive, in any pieces.
#[derive(Debug)]
pub struct Reader {
    buf: Vec<u8>,
    /// The longest frame accepted (tag and body), in bytes.
    limit: usize,
}

impl Reader {
    /// A reader refusing frames over `limit` bytes (tag and body).
    pub fn new(limit: usize) -> Reader {
        Reader {
            buf: Vec::new(),
            limit,
        }
    }

    /// Bytes as they came off the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, if its bytes are all in; an error for a frame breaking the rules
    /// (the stream is then unusable: the caller closes it).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let Some(header) = self.buf.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = u32::from_le_bytes(*header) as usize;
        if len > self.limit {
            return Err(FrameError::TooLarge {
                len,
                limit: self.limit,
            });
        }
        if len == 0 {
            return Err(FrameError::Empty);
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let frame = match self.buf[4] {
            TAG_MESSAGE => Frame::Message(self.buf[5..4 + len].to_vec()),
            TAG_CLOSE => {
                let body = &self.buf[5..4 + len];
                let (code, reason) = body.split_first_chunk::<2>().ok_or(FrameError::BadClose)?;
                let reason = std::str::from_utf8(reason).map_err(|_| FrameError::BadClose)?;
                Frame::Close {
                    code: u16::from_le_bytes(*code),
                    reason: reason.to_owned(),
                }
            }
            tag => return Err(FrameError::UnknownTag(tag)),
        };
        self.buf.drain(..4 + len);
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_bytes_the_module_gives_and_read_back_in_any_pieces() {
        let hello = message(&[7, 8, 9]);
        assert_eq!(hello, [4, 0, 0, 0, TAG_MESSAGE, 7, 8, 9]);
        let bye = close(4011, "idle");
        assert_eq!(
            bye,
            [7, 0, 0, 0, TAG_CLOSE, 0xab, 0x0f, b'i', b'd', b'l', b'e']
        );
        let stream: Vec<u8> = [hello, bye].concat();
        for piece in 1..stream.len() {
            let mut reader = Reader::new(64);
            let mut frames = Vec::new();
            for chunk in stream.chunks(piece) {
                reader.push(chunk);
                while let Some(f) = reader.next_frame().expect("valid") {
                    frames.push(f);
                }
            }
            assert_eq!(
                frames,
                [
                    Frame::Message(vec![7, 8, 9]),
                    Frame::Close {
                        code: 4011,
                        reason: "idle".into()
                    }
                ],
                "in pieces of {piece}"
            );
        }
    }

    #[test]
    fn hostile_frames_are_refused_before_their_bytes_are_kept() {
        let mut reader = Reader::new(16);
        reader.push(&u32::MAX.to_le_bytes());
        assert_eq!(
            reader.next_frame(),
            Err(FrameError::TooLarge {
                len: u32::MAX as usize,
                limit: 16
            })
        );
        let mut reader = Reader::new(16);
        reader.push(&[0, 0, 0, 0]);
        assert_eq!(reader.next_frame(), Err(FrameError::Empty));
        let mut reader = Reader::new(16);
        reader.push(&[1, 0, 0, 0, 9]);
        assert_eq!(reader.next_frame(), Err(FrameError::UnknownTag(9)));
        let mut reader = Reader::new(16);
        reader.push(&[2, 0, 0, 0, TAG_CLOSE, 1]);
        assert_eq!(reader.next_frame(), Err(FrameError::BadClose));
        let mut reader = Reader::new(16);
        reader.push(&[4, 0, 0, 0, TAG_CLOSE, 0xe8, 0x03, 0xff]);
        assert_eq!(reader.next_frame(), Err(FrameError::BadClose), "not UTF-8");
    }

    #[test]
    fn a_long_close_reason_is_cut_at_a_character() {
        let reason = "é".repeat(100);
        let framed = close(1000, &reason);
        let mut reader = Reader::new(200);
        reader.push(&framed);
        let Some(Frame::Close { reason: got, .. }) = reader.next_frame().expect("valid") else {
            panic!("a close");
        };
        assert_eq!(got.len(), 122);
        assert!(reason.starts_with(&got));
    }
}
