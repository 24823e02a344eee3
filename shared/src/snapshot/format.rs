//! Constants and arithmetic both sides of the snapshot codec must agree on (PROTOCOL.md,
//! "Snapshot body").

use crate::snapshot::state::EntityState;

/// Chunk size for counts and id gaps.
pub const COUNT_CHUNK: u32 = 4;

/// Bits of the entity kind.
pub const KIND_BITS: u32 = 2;

/// Largest number of entities a decoder accepts in one body: bounds allocation on hostile input.
pub const MAX_ENTITIES: u32 = 1 << 16;

/// Width in bits of each field, in [`EntityState::fields`] order: residuals wrap at this width.
pub const FIELD_WIDTH: [u32; EntityState::FIELDS] = [32, 32, 32, 32, 16, 8, 8, 32, 32];

/// The change mask is written per group: one bit for "anything in this group changed", then
/// (for groups of more than one field) a bit per field. Motion changes together, aim changes
/// alone, the rest rarely: an aim-only change costs 3 mask bits instead of 9.
pub const FIELD_GROUPS: [std::ops::Range<usize>; 3] = [0..4, 4..5, 5..9];

/// Varint chunk size of each field's residual.
pub const FIELD_CHUNK: [u32; EntityState::FIELDS] = [5, 5, 4, 4, 6, 4, 2, 3, 6];

/// The fields the decoder expects at `gap` ticks after `base`, before residuals: position
/// advanced by the baseline's velocity (dead reckoning), everything else unchanged. Constant
/// motion therefore costs nothing.
pub fn predict(base: &EntityState, gap: u32) -> [u32; EntityState::FIELDS] {
    let mut f = base.fields();
    f[0] = f[0].wrapping_add(f[2].wrapping_mul(gap));
    f[1] = f[1].wrapping_add(f[3].wrapping_mul(gap));
    f
}

/// `actual - predicted` at `width` bits, sign-extended.
pub fn residual(actual: u32, predicted: u32, width: u32) -> i32 {
    let shift = 32 - width;
    ((actual.wrapping_sub(predicted) << shift) as i32) >> shift
}

/// Inverse of [`residual`].
pub fn apply_residual(predicted: u32, residual: i32, width: u32) -> u32 {
    let sum = predicted.wrapping_add(residual as u32);
    if width == 32 {
        sum
    } else {
        sum & ((1 << width) - 1)
    }
}
