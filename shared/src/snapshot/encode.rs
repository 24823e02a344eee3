//! Encoding a view against a baseline view into a bit-packed snapshot body.

use crate::sim::EntityId;
use crate::snapshot::bits::{BitWriter, zigzag};
use crate::snapshot::format::{
    COUNT_CHUNK, FIELD_CHUNK, FIELD_WIDTH, KIND_BITS, predict, residual,
};
use crate::snapshot::state::{EntityState, View};

/// Encodes `current` as changes from `baseline`, which the client holds from `gap` ticks earlier.
/// An empty baseline gives a full snapshot.
pub fn encode(baseline: &View, gap: u32, current: &View) -> Vec<u8> {
    let mut w = BitWriter::new();
    let (removed, kept, added) = diff(baseline, current);

    w.write_varu(removed.len() as u32, COUNT_CHUNK);
    write_ids(&mut w, removed.iter().copied());

    for (base, cur) in &kept {
        let predicted = predict(base, gap);
        let changed = write_fields(&mut w, cur, &predicted, true);
        debug_assert!(changed || cur.fields() == predicted);
    }

    w.write_varu(added.len() as u32, COUNT_CHUNK);
    write_ids(&mut w, added.iter().map(|(id, _)| *id));
    for (_, state) in &added {
        w.write(state.kind as u32, KIND_BITS);
        write_fields(&mut w, state, &EntityState::default().fields(), false);
    }
    w.finish()
}

type Kept<'a> = Vec<(&'a EntityState, &'a EntityState)>;
type Added<'a> = Vec<(EntityId, &'a EntityState)>;

/// Splits the two sorted views into removed ids, kept pairs (baseline, current) and added entities.
/// An id whose kind changed cannot happen (ids are never reused) but is handled as remove + add.
fn diff<'a>(baseline: &'a View, current: &'a View) -> (Vec<EntityId>, Kept<'a>, Added<'a>) {
    let (mut removed, mut kept, mut added) = (Vec::new(), Vec::new(), Vec::new());
    let (b, c) = (baseline.entities(), current.entities());
    let (mut i, mut j) = (0, 0);
    while i < b.len() || j < c.len() {
        match (b.get(i), c.get(j)) {
            (Some((bid, bs)), Some((cid, cs))) if bid == cid && bs.kind == cs.kind => {
                kept.push((bs, cs));
                i += 1;
                j += 1;
            }
            (Some((bid, _)), Some((cid, cs))) if bid == cid => {
                removed.push(*bid);
                added.push((*cid, cs));
                i += 1;
                j += 1;
            }
            (Some((bid, _)), Some((cid, _))) if bid < cid => {
                removed.push(*bid);
                i += 1;
            }
            (Some((bid, _)), None) => {
                removed.push(*bid);
                i += 1;
            }
            (_, Some((cid, cs))) => {
                added.push((*cid, cs));
                j += 1;
            }
            (None, None) => break,
        }
    }
    (removed, kept, added)
}

/// Ids ascending, as the first id then gaps minus one.
fn write_ids(w: &mut BitWriter, ids: impl Iterator<Item = EntityId>) {
    let mut prev: Option<u32> = None;
    for id in ids {
        let gap = match prev {
            None => id.0,
            Some(p) => id.0 - p - 1,
        };
        w.write_varu(gap, COUNT_CHUNK);
        prev = Some(id.0);
    }
}

/// Writes a change mask and the non-zero residuals. With `flagged`, a leading bit says whether
/// anything changed and nothing more is written when not. Returns whether anything changed.
fn write_fields(
    w: &mut BitWriter,
    state: &EntityState,
    predicted: &[u32; EntityState::FIELDS],
    flagged: bool,
) -> bool {
    let actual = state.fields();
    let residuals: [i32; EntityState::FIELDS] =
        std::array::from_fn(|k| residual(actual[k], predicted[k], FIELD_WIDTH[k]));
    let changed = residuals.iter().any(|r| *r != 0);
    if flagged {
        w.write_bit(changed);
        if !changed {
            return false;
        }
    }
    for r in &residuals {
        w.write_bit(*r != 0);
    }
    for (k, r) in residuals.iter().enumerate() {
        if *r != 0 {
            // Zero is never written here, so shift the zigzag code down by one.
            w.write_varu(zigzag(*r) - 1, FIELD_CHUNK[k]);
        }
    }
    changed
}
