//! Snapshots: what a client sees, and the bit-packed delta codec. No I/O.
//!
//! - [`replicate`]: the [`Replicate`] trait (a state's fields as words, and their wire
//!   layout) and its derive.
//! - [`state`]: the arena's [`EntityState`] and [`View`] (entities by id, of any state type).
//! - [`encode`] / [`decode`]: a view as changes from a baseline view (PROTOCOL.md).
//! - [`format`]: the constants and prediction both directions share.
//! - [`bits`]: the bit writer and reader.
//! - [`checksum`]: the per-view checksum every snapshot carries.

pub mod bits;
pub mod checksum;
pub mod decode;
pub mod encode;
pub mod format;
pub mod replicate;
pub mod state;

pub use checksum::{checksum, entity_hash, hash_words};
pub use decode::{BodyError, decode};
pub use encode::{Encoder, Entities, KeyedEntities, SharedResiduals, encode};
pub use replicate::{Layout, Replicate, ReplicateKind};
pub use state::{EntityKind, EntityState, View};

#[cfg(test)]
mod tests;
