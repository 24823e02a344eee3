//! Constants and arithmetic both sides of the snapshot codec must agree on (PROTOCOL.md,
//! "Snapshot body"). The per-field coding (widths, chunks, mask groups, dead reckoning) is each
//! state type's [`Layout`](crate::snapshot::replicate::Layout).

use crate::snapshot::replicate::{Replicate, mask, sign_extend};

/// Chunk size for counts and id gaps.
pub const COUNT_CHUNK: u32 = 4;

/// Largest number of entities a decoder accepts in one body: bounds allocation on hostile input.
pub const MAX_ENTITIES: u32 = 1 << 16;

/// The words the decoder expects at `gap` ticks after `base`, before residuals: each
/// dead-reckoned position advanced by its baseline velocity, everything else unchanged.
/// Constant motion therefore costs nothing.
#[inline]
pub fn predict<T: Replicate>(base: &T, gap: u32) -> T::Words {
    let mut words = base.words();
    let w = words.as_mut();
    for &(p, v) in T::LAYOUT.motion {
        let (pf, vf) = (T::LAYOUT.fields[p], T::LAYOUT.fields[v]);
        let velocity = if vf.signed {
            sign_extend(w[v], vf.width) as u32
        } else {
            w[v]
        };
        w[p] = mask(w[p].wrapping_add(velocity.wrapping_mul(gap)), pf.width);
    }
    words
}

/// `actual - predicted` at `width` bits, sign-extended.
#[inline]
pub fn residual(actual: u32, predicted: u32, width: u32) -> i32 {
    sign_extend(actual.wrapping_sub(predicted), width)
}

/// Inverse of [`residual`].
#[inline]
pub fn apply_residual(predicted: u32, residual: i32, width: u32) -> u32 {
    mask(predicted.wrapping_add(residual as u32), width)
}
