//! The 32-bit checksum of a view that every snapshot carries.

use crate::sim::EntityId;
use crate::snapshot::state::{EntityState, View};

/// Hash of one entity. The view checksum is the wrapping sum of these, so the server computes each
/// entity's hash once per tick and each client's checksum is a sum over its view.
pub fn entity_hash(id: EntityId, state: &EntityState) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&id.0.to_le_bytes());
    h.update(&[state.kind as u8]);
    for f in state.fields() {
        h.update(&f.to_le_bytes());
    }
    h.finalize()
}

pub fn checksum(view: &View) -> u32 {
    view.entities()
        .iter()
        .fold(0u32, |acc, (id, s)| acc.wrapping_add(entity_hash(*id, s)))
}
