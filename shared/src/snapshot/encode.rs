//! Encoding a view against a baseline view into a bit-packed snapshot body.

use crate::sim::EntityId;
use crate::snapshot::bits::{BitWriter, zigzag};
use crate::snapshot::format::{
    COUNT_CHUNK, FIELD_CHUNK, FIELD_GROUPS, FIELD_WIDTH, KIND_BITS, predict, residual,
};
use crate::snapshot::state::{EntityState, View};

/// Encodes `current` as changes from `baseline`, which the client holds from `gap` ticks earlier.
/// An empty baseline gives a full snapshot.
pub fn encode(baseline: &View, gap: u32, current: &View) -> Vec<u8> {
    let mut w = BitWriter::new();
    let (removed, kept, added) = diff(baseline, current);

    w.write_varu(removed.len() as u32, COUNT_CHUNK);
    write_ids(&mut w, removed.iter().copied());

    write_kept(&mut w, &kept, gap);

    w.write_varu(added.len() as u32, COUNT_CHUNK);
    write_ids(&mut w, added.iter().map(|(id, _)| *id));
    for (_, state) in &added {
        w.write(state.kind as u32, KIND_BITS);
        write_residuals(&mut w, &residuals(state, &EntityState::default().fields()));
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

/// The kept entities' changes, in whichever of two forms is shorter (a leading bit says which):
/// a "changed" bit per entity (most entities change: players), or a list of the changed ones
/// by index gap (few change: constant motion, which prediction makes free). Sizes are counted
/// first so only the chosen form is written.
fn write_kept(w: &mut BitWriter, kept: &Kept<'_>, gap: u32) {
    let changed: Vec<(usize, [i32; EntityState::FIELDS])> = kept
        .iter()
        .enumerate()
        .map(|(i, (base, cur))| (i, residuals(cur, &predict(base, gap))))
        .filter(|(_, r)| r.iter().any(|v| *v != 0))
        .collect();
    let bitmap_bits = kept.len();
    let mut list_bits = varu_bits(changed.len() as u32, COUNT_CHUNK);
    let mut previous: Option<usize> = None;
    for (i, _) in &changed {
        list_bits += varu_bits(skip(previous, *i), COUNT_CHUNK);
        previous = Some(*i);
    }
    let use_list = list_bits < bitmap_bits;
    w.write_bit(use_list);
    if use_list {
        w.write_varu(changed.len() as u32, COUNT_CHUNK);
        let mut previous = None;
        for (i, r) in &changed {
            w.write_varu(skip(previous, *i), COUNT_CHUNK);
            write_residuals(w, r);
            previous = Some(*i);
        }
    } else {
        let mut next = changed.iter().peekable();
        for i in 0..kept.len() {
            let entry = next.next_if(|(c, _)| *c == i);
            w.write_bit(entry.is_some());
            if let Some((_, r)) = entry {
                write_residuals(w, r);
            }
        }
    }
}

/// Kept entities passed over between the previous listed one and `i`.
fn skip(previous: Option<usize>, i: usize) -> u32 {
    previous.map_or(i, |p| i - p - 1) as u32
}

/// Bits `BitWriter::write_varu` spends on `value`.
fn varu_bits(value: u32, chunk: u32) -> usize {
    let significant = (32 - value.leading_zeros()).max(1);
    (significant.div_ceil(chunk) * (chunk + 1)) as usize
}

/// Each field's difference from its prediction, wrapped to the field's width.
fn residuals(
    state: &EntityState,
    predicted: &[u32; EntityState::FIELDS],
) -> [i32; EntityState::FIELDS] {
    let actual = state.fields();
    std::array::from_fn(|k| residual(actual[k], predicted[k], FIELD_WIDTH[k]))
}

/// Writes a change mask (grouped, see [`FIELD_GROUPS`]) and the non-zero residuals.
fn write_residuals(w: &mut BitWriter, residuals: &[i32; EntityState::FIELDS]) {
    for group in FIELD_GROUPS {
        let present = group.clone().map(|k| residuals[k] != 0);
        let any = present.clone().any(|p| p);
        w.write_bit(any);
        if any && group.len() > 1 {
            for p in present {
                w.write_bit(p);
            }
        }
    }
    for (k, r) in residuals.iter().enumerate() {
        if *r != 0 {
            // Zero is never written here, so shift the zigzag code down by one.
            w.write_varu(zigzag(*r) - 1, FIELD_CHUNK[k]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varu_bits_counts_what_write_varu_writes() {
        for chunk in 1..=8 {
            for value in [0u32, 1, 2, 7, 8, 15, 16, 255, 256, 65_535, u32::MAX] {
                let mut w = BitWriter::new();
                w.write_varu(value, chunk);
                assert_eq!(
                    varu_bits(value, chunk),
                    w.bit_len(),
                    "value {value} chunk {chunk}"
                );
            }
        }
    }
}
