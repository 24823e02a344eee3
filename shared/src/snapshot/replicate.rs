//! What the delta codec needs to know about a game's entity state: its fields as 32-bit words
//! and the layout of those words on the wire. `#[derive(Replicate)]` (the `snapwire-derive`
//! crate, re-exported here) writes both from attributes on the struct; PROTOCOL.md ("Derived
//! layouts") says how a layout maps to bits.
//!
//! A word holds a field's quantized value in its low `width` bits, zero above them (the
//! canonical form): the codec's arithmetic wraps at the field's width, and the checksum hashes
//! the words, so two sides agree on a value exactly when they agree on its word.

use std::fmt::Debug;

use thiserror::Error;

pub use snapwire_derive::{Replicate, ReplicateKind};

/// Replicated state of one entity.
///
/// The derive implements it; by hand, keep [`Replicate::words`] and [`Replicate::from_words`]
/// inverse on canonical words, and [`Replicate::LAYOUT`] valid ([`Layout::check`]).
pub trait Replicate: Copy + Default + PartialEq + Debug {
    /// The fields as words, `[u32; N]` with N the number of replicated fields.
    type Words: Copy + Debug + AsRef<[u32]> + AsMut<[u32]>;

    const LAYOUT: Layout;

    /// The entity's kind as sent when it enters a view ([`Layout::kind_bits`] wide). An entity
    /// whose kind changes is sent as removed and added.
    fn kind(&self) -> u32;

    /// Each field's canonical word, in layout order.
    fn words(&self) -> Self::Words;

    /// Rebuilds a state from a kind and canonical words; `None` for a kind the game does not
    /// know (the only part of a decoded entity a peer could make invalid).
    fn from_words(kind: u32, words: &Self::Words) -> Option<Self>;

    /// This state with its replicated fields replaced by `words`; the kind and the skipped
    /// fields stay. How a decoder updates an entity it already holds.
    fn with_words(&self, words: &Self::Words) -> Self;

    /// The state with every field snapped to what the wire carries (floats to their scale,
    /// non-replicated fields to their default): what a client decodes.
    fn quantized(&self) -> Self {
        Self::from_words(self.kind(), &self.words()).unwrap_or(*self)
    }
}

/// An enum used as an entity's kind (`#[replicate(kind)]`).
pub trait ReplicateKind: Copy {
    /// Bits on the wire: enough for the largest discriminant.
    const BITS: u32;
    fn to_bits(self) -> u32;
    fn from_bits(bits: u32) -> Option<Self>;
}

/// Replicated fields a state may have (the decoder keeps its change mask in a `u64`).
pub const MAX_FIELDS: usize = 64;

/// Fields one change-mask group may hold (its bits are read as one `u32`).
pub const MAX_GROUP: usize = 32;

/// The wire layout of a [`Replicate`] type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Width of the kind written before an added entity's fields (0: no kind).
    pub kind_bits: u32,
    pub fields: &'static [FieldLayout],
    /// Change-mask groups as `(start, end)` field ranges: in order, covering every field once.
    pub groups: &'static [(usize, usize)],
    /// Dead-reckoned pairs `(position, velocity)`: the position is predicted as the baseline's
    /// position plus its velocity times the ticks since the baseline.
    pub motion: &'static [(usize, usize)],
}

/// One field's coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLayout {
    pub name: &'static str,
    /// Bits of the canonical word, 1..=32; residuals wrap at this width.
    pub width: u32,
    /// Varint chunk of the field's residual, 1..=16.
    pub chunk: u32,
    /// Whether the word is read back sign-extended (it matters to dead reckoning with a
    /// velocity narrower than 32 bits).
    pub signed: bool,
}

/// Why a layout is not one the codec can use.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LayoutError {
    #[error("{0} fields, over {MAX_FIELDS}")]
    TooManyFields(usize),
    #[error("kind_bits {0} is over 16")]
    KindBits(u32),
    #[error("field {0}: width or chunk out of range")]
    Field(&'static str),
    #[error("group {start}..{end} does not follow {next}")]
    Group {
        start: usize,
        end: usize,
        next: usize,
    },
    #[error("groups do not cover every field")]
    Uncovered,
    #[error("motion pair ({0}, {1}) is not two fields")]
    Motion(usize, usize),
}

impl Layout {
    /// Whether the layout is one the codec can use; the derive only generates valid layouts.
    pub fn check(&self) -> Result<(), LayoutError> {
        if self.fields.len() > MAX_FIELDS {
            return Err(LayoutError::TooManyFields(self.fields.len()));
        }
        if self.kind_bits > 16 {
            return Err(LayoutError::KindBits(self.kind_bits));
        }
        for f in self.fields {
            if !(1..=32).contains(&f.width) || !(1..=16).contains(&f.chunk) {
                return Err(LayoutError::Field(f.name));
            }
        }
        let mut next = 0;
        for &(start, end) in self.groups {
            if start != next || end <= start || end - start > MAX_GROUP {
                return Err(LayoutError::Group { start, end, next });
            }
            next = end;
        }
        if next != self.fields.len() {
            return Err(LayoutError::Uncovered);
        }
        for &(p, v) in self.motion {
            if p == v || p >= self.fields.len() || v >= self.fields.len() {
                return Err(LayoutError::Motion(p, v));
            }
        }
        Ok(())
    }
}

/// The low `width` bits of `word`.
pub const fn mask(word: u32, width: u32) -> u32 {
    if width >= 32 {
        word
    } else {
        word & ((1 << width) - 1)
    }
}

/// A canonical word read back as a signed value of its width.
pub const fn sign_extend(word: u32, width: u32) -> i32 {
    let shift = 32 - width;
    ((word << shift) as i32) >> shift
}

/// A float field's word: `value * scale` rounded half away from zero, two's complement, masked
/// to `width`. `libm` rounds the same on every target, so native and wasm agree.
pub fn quantize_float(value: f64, scale: f64, width: u32) -> u32 {
    mask(libm::round(value * scale) as i32 as u32, width)
}

/// Inverse of [`quantize_float`] on canonical words.
pub fn dequantize_float(word: u32, scale: f64, width: u32) -> f64 {
    f64::from(sign_extend(word, width)) / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_words_round_trip_through_sign_extension() {
        for width in 1..=32 {
            for v in [-1i32, 0, 1, -(1 << (width - 1).min(30))] {
                let word = mask(v as u32, width);
                if width > 1 || v >= -1 {
                    assert_eq!(mask(sign_extend(word, width) as u32, width), word);
                }
            }
        }
        assert_eq!(sign_extend(0x3ff, 10), -1);
        assert_eq!(sign_extend(0x1ff, 10), 511);
    }

    #[test]
    fn floats_quantize_to_the_nearest_step() {
        assert_eq!(quantize_float(1.2345, 1000.0, 32), 1235);
        assert_eq!(quantize_float(-1.2345, 1000.0, 32), (-1235i32) as u32);
        assert_eq!(dequantize_float((-1235i32) as u32, 1000.0, 32), -1.235);
        assert_eq!(quantize_float(-0.001, 1000.0, 12), 0xfff);
    }
}
