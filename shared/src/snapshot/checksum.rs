//! The 32-bit checksum of a view that every snapshot carries.

use crate::sim::EntityId;
use crate::snapshot::replicate::Replicate;
use crate::snapshot::state::View;

/// Starting value of [`entity_hash`] (the first 64 bits of pi's fraction).
pub const HASH_SEED: u64 = 0x243f_6a88_85a3_08d3;

/// Multiplier of [`entity_hash`] (2^64 / golden ratio, odd).
pub const HASH_MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// Hash of one entity: its id, kind and fields as 32-bit words, each folded in with an xor, a
/// 64-bit multiply and an xor-shift (PROTOCOL.md, "Checksum"). The view checksum is the
/// wrapping sum of these, so the server hashes each entity once per tick and a client's checksum
/// is a sum over its view. One multiply per word: every client hashes every entity it sees on
/// every snapshot, and crc32 over the arena's 41-byte inputs cost the bots a fifth of their CPU.
#[inline]
pub fn entity_hash<T: Replicate>(id: EntityId, state: &T) -> u32 {
    hash_words(id, state.kind(), state.words().as_ref())
}

/// [`entity_hash`] of an entity given as its kind and words (or the first few of them: how
/// recordings from before a field was added are checked).
#[inline]
pub fn hash_words(id: EntityId, kind: u32, words: &[u32]) -> u32 {
    let mut h = HASH_SEED;
    let mut fold = |word: u32| {
        h = (h ^ u64::from(word)).wrapping_mul(HASH_MUL);
        h ^= h >> 32;
    };
    fold(id.0);
    fold(kind);
    for &word in words {
        fold(word);
    }
    h as u32
}

pub fn checksum<T: Replicate>(view: &View<T>) -> u32 {
    view.entities()
        .iter()
        .fold(0u32, |acc, (id, s)| acc.wrapping_add(entity_hash(*id, s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{EntityKind, EntityState};

    /// The worked example in PROTOCOL.md, so a third-party client can check its hash.
    #[test]
    fn protocol_example() {
        let state = EntityState {
            kind: EntityKind::Player,
            x: 5000,
            y: -3,
            health: 100,
            ..EntityState::default()
        };
        assert_eq!(entity_hash(EntityId(7), &state), 0x264d_6172);
    }

    #[test]
    fn one_flipped_bit_in_any_word_changes_the_hash() {
        let base = EntityState::default();
        let h = entity_hash(EntityId(1), &base);
        for k in 0..EntityState::LAYOUT.fields.len() {
            for bit in [0, 7, 15, 31] {
                let mut f = base.words();
                f[k] ^= 1 << bit;
                let changed = EntityState::from_words(base.kind(), &f).unwrap_or(base);
                if changed != base {
                    assert_ne!(entity_hash(EntityId(1), &changed), h, "field {k} bit {bit}");
                }
            }
        }
        assert_ne!(entity_hash(EntityId(1 | 1 << 31), &base), h);
    }
}
