//! The 32-bit checksum of a view that every snapshot carries.

use crate::sim::EntityId;
use crate::snapshot::state::{EntityState, View};

/// Starting value of [`entity_hash`] (the first 64 bits of pi's fraction).
pub const HASH_SEED: u64 = 0x243f_6a88_85a3_08d3;

/// Multiplier of [`entity_hash`] (2^64 / golden ratio, odd).
pub const HASH_MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// Hash of one entity: its id, kind and nine fields as 32-bit words, each folded in with an
/// xor, a 64-bit multiply and an xor-shift (PROTOCOL.md, "Checksum"). The view checksum is the
/// wrapping sum of these, so the server hashes each entity once per tick and a client's checksum
/// is a sum over its view. Eleven multiplies: every client hashes every entity it sees on every
/// snapshot, and crc32 over these 41-byte inputs cost the bots a fifth of their CPU.
pub fn entity_hash(id: EntityId, state: &EntityState) -> u32 {
    let f = state.fields();
    let words = [
        id.0,
        state.kind as u32,
        f[0],
        f[1],
        f[2],
        f[3],
        f[4],
        f[5],
        f[6],
        f[7],
        f[8],
    ];
    let mut h = HASH_SEED;
    for word in words {
        h = (h ^ u64::from(word)).wrapping_mul(HASH_MUL);
        h ^= h >> 32;
    }
    h as u32
}

pub fn checksum(view: &View) -> u32 {
    view.entities()
        .iter()
        .fold(0u32, |acc, (id, s)| acc.wrapping_add(entity_hash(*id, s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::EntityKind;

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
        assert_eq!(entity_hash(EntityId(7), &state), 0x430a_9d2d);
    }

    #[test]
    fn one_flipped_bit_in_any_word_changes_the_hash() {
        let base = EntityState::default();
        let h = entity_hash(EntityId(1), &base);
        for k in 0..EntityState::FIELDS {
            for bit in [0, 7, 15, 31] {
                let mut f = base.fields();
                f[k] ^= 1 << bit;
                let changed = EntityState::from_fields(base.kind, f);
                if changed != base {
                    assert_ne!(entity_hash(EntityId(1), &changed), h, "field {k} bit {bit}");
                }
            }
        }
        assert_ne!(entity_hash(EntityId(1 | 1 << 31), &base), h);
    }
}
