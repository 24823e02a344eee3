//! Bit-level writer and reader for snapshot bodies. Bits are packed least significant first.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BitsError {
    #[error("snapshot body ended early")]
    Eof,
    #[error("variable-length integer is longer than 32 bits")]
    Overlong,
}

#[derive(Debug, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Bits not yet moved to `bytes`, least significant first; fewer than 8 between calls.
    acc: u64,
    pending: u32,
}

impl BitWriter {
    pub fn new() -> BitWriter {
        BitWriter::default()
    }

    /// Empties the writer, keeping its buffer for the next body.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.acc = 0;
        self.pending = 0;
    }

    /// Appends the low `n` bits of `value` (`n` <= 32).
    pub fn write(&mut self, value: u32, n: u32) {
        debug_assert!(n <= 32);
        let value = u64::from(value) & ((1u64 << n) - 1);
        // `pending` < 8 and `n` <= 32, so the accumulator never overflows.
        self.acc |= value << self.pending;
        self.pending += n;
        while self.pending >= 8 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.pending -= 8;
        }
    }

    pub fn write_bit(&mut self, bit: bool) {
        self.write(u32::from(bit), 1);
    }

    /// Writes `value` in groups of `chunk` bits, each followed by a "more" bit.
    pub fn write_varu(&mut self, value: u32, chunk: u32) {
        BitSink::write_varu(self, value, chunk);
    }

    pub fn bit_len(&self) -> usize {
        self.bytes.len() * 8 + self.pending as usize
    }

    /// The body so far, its last byte zero-padded. Writing more after this is a bug.
    pub fn padded(&mut self) -> &[u8] {
        if self.pending > 0 {
            self.bytes.push(self.acc as u8);
            self.acc = 0;
            self.pending = 0;
        }
        &self.bytes
    }

    /// The whole bytes written so far; after [`BitWriter::padded`], the body.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.padded();
        self.bytes
    }
}

/// Where bits can be written: the body itself, or an arena of pieces copied into bodies later.
pub trait BitSink {
    /// Appends the low `n` bits of `value` (`n` <= 32).
    fn write(&mut self, value: u32, n: u32);

    /// Writes `value` in groups of `chunk` bits, each followed by a "more" bit.
    fn write_varu(&mut self, mut value: u32, chunk: u32) {
        loop {
            let low = value & ((1 << chunk) - 1);
            value >>= chunk;
            let more = u32::from(value != 0);
            self.write(low | (more << chunk), chunk + 1);
            if value == 0 {
                return;
            }
        }
    }
}

impl BitSink for BitWriter {
    fn write(&mut self, value: u32, n: u32) {
        BitWriter::write(self, value, n);
    }
}

/// Bit strings written once and copied into many bodies (see [`BitWriter::append`]).
#[derive(Debug, Default)]
pub struct BitArena {
    words: Vec<u64>,
    len: usize,
}

impl BitArena {
    pub fn clear(&mut self) {
        self.words.clear();
        self.len = 0;
    }

    /// Bits written so far: where the next piece starts.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `n` (<= 32) bits starting at bit `start`, which must lie inside what was written.
    fn read(&self, start: usize, n: u32) -> u32 {
        let (i, off) = (start / 64, (start % 64) as u32);
        let mut v = self.words[i] >> off;
        if off + n > 64 {
            v |= self.words[i + 1] << (64 - off);
        }
        (v & ((1u64 << n) - 1)) as u32
    }
}

impl BitSink for BitArena {
    fn write(&mut self, value: u32, n: u32) {
        debug_assert!(n <= 32);
        let value = u64::from(value) & ((1u64 << n) - 1);
        let (i, off) = (self.len / 64, (self.len % 64) as u32);
        if self.words.len() < i + 2 {
            self.words.resize(i + 2, 0);
        }
        self.words[i] |= value << off;
        if off + n > 64 {
            self.words[i + 1] |= value >> (64 - off);
        }
        self.len += n as usize;
    }
}

impl BitWriter {
    /// Appends `len` bits of `arena` starting at bit `start`.
    pub fn append(&mut self, arena: &BitArena, start: usize, len: usize) {
        let (mut at, end) = (start, start + len);
        while at < end {
            let n = (end - at).min(32) as u32;
            self.write(arena.read(at, n), n);
            at += n as usize;
        }
    }
}

#[derive(Debug)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// Position in bits from the start.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(bytes: &'a [u8]) -> BitReader<'a> {
        BitReader { bytes, pos: 0 }
    }

    pub fn read(&mut self, n: u32) -> Result<u32, BitsError> {
        debug_assert!(n <= 32);
        if self.pos + n as usize > self.bytes.len() * 8 {
            return Err(BitsError::Eof);
        }
        // At most 7 + 32 bits are needed: load up to 8 bytes at once.
        let first = self.pos / 8;
        let tail = self.bytes.get(first..).ok_or(BitsError::Eof)?;
        let mut word = [0u8; 8];
        let take = tail.len().min(8);
        word[..take].copy_from_slice(&tail[..take]);
        let value = (u64::from_le_bytes(word) >> (self.pos % 8)) & ((1u64 << n) - 1);
        self.pos += n as usize;
        Ok(value as u32)
    }

    pub fn read_bit(&mut self) -> Result<bool, BitsError> {
        Ok(self.read(1)? == 1)
    }

    pub fn read_varu(&mut self, chunk: u32) -> Result<u32, BitsError> {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            // A group and its "more" bit in one read.
            let group = u64::from(self.read(chunk + 1)?);
            value |= (group & ((1 << chunk) - 1)) << shift;
            shift += chunk;
            if value > u64::from(u32::MAX) {
                return Err(BitsError::Overlong);
            }
            if group >> chunk == 0 {
                return Ok(value as u32);
            }
            if shift >= 32 {
                return Err(BitsError::Overlong);
            }
        }
    }

    /// True when only zero padding bits of the last byte remain.
    pub fn at_end(&self) -> bool {
        self.bytes.len() * 8 - self.pos < 8
            && self
                .bytes
                .get(self.pos / 8)
                .is_none_or(|b| b >> (self.pos % 8) == 0)
    }
}

pub fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

pub fn unzigzag(u: u32) -> i32 {
    ((u >> 1) as i32) ^ -((u & 1) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn mixed_writes_read_back(items in proptest::collection::vec((any::<u32>(), 1u32..=32, 1u32..=8), 0..64)) {
            let mut w = BitWriter::new();
            for &(v, n, chunk) in &items {
                w.write(v, n);
                w.write_varu(v, chunk);
            }
            let bits = w.bit_len();
            let bytes = w.finish();
            prop_assert_eq!(bytes.len(), bits.div_ceil(8));
            let mut r = BitReader::new(&bytes);
            for &(v, n, chunk) in &items {
                let mask = if n == 32 { u32::MAX } else { (1 << n) - 1 };
                prop_assert_eq!(r.read(n).ok(), Some(v & mask));
                prop_assert_eq!(r.read_varu(chunk).ok(), Some(v));
            }
            prop_assert!(r.at_end());
        }

        #[test]
        fn arena_pieces_append_exactly(items in proptest::collection::vec((any::<u32>(), 1u32..=32), 1..64), lead in 0u32..8) {
            let mut arena = BitArena::default();
            let mut direct = BitWriter::new();
            let mut copied = BitWriter::new();
            direct.write(0, lead);
            copied.write(0, lead);
            for &(v, n) in &items {
                let start = arena.len();
                arena.write(v, n);
                arena.write_varu(v, 5);
                direct.write(v, n);
                direct.write_varu(v, 5);
                copied.append(&arena, start, arena.len() - start);
            }
            prop_assert_eq!(direct.finish(), copied.finish());
        }

        #[test]
        fn zigzag_round_trips(v: i32) {
            prop_assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn reading_past_the_end_is_an_error() {
        let mut r = BitReader::new(&[0xff]);
        assert_eq!(r.read(8), Ok(0xff));
        assert_eq!(r.read(1), Err(BitsError::Eof));
        let mut r = BitReader::new(&[0xff; 10]);
        assert_eq!(r.read_varu(4), Err(BitsError::Overlong));
    }
}
