//! Decoding a snapshot body against the baseline view it was encoded from.

use thiserror::Error;

use crate::sim::EntityId;
use crate::snapshot::bits::{BitReader, BitsError, unzigzag};
use crate::snapshot::format::{
    COUNT_CHUNK, FIELD_CHUNK, FIELD_GROUPS, FIELD_WIDTH, KIND_BITS, MAX_ENTITIES, apply_residual,
    predict,
};
use crate::snapshot::state::{EntityKind, EntityState, View};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BodyError {
    #[error(transparent)]
    Bits(#[from] BitsError),
    #[error("body removes entity {0}, which the baseline does not hold")]
    UnknownRemoved(u32),
    #[error("body adds entity {0}, which is already present or out of order")]
    DuplicateAdded(u32),
    #[error("body has more than {MAX_ENTITIES} entities")]
    TooMany,
    #[error("unknown entity kind {0}")]
    Kind(u32),
    #[error("body changes a kept entity past the end")]
    ChangedOutOfRange,
    #[error("entity ids overflow")]
    IdOverflow,
    #[error("body has bytes after its end")]
    Trailing,
}

/// Rebuilds the view encoded by [`crate::snapshot::encode`] from the same `baseline` and `gap`.
pub fn decode(baseline: &View, gap: u32, body: &[u8]) -> Result<View, BodyError> {
    let mut r = BitReader::new(body);

    let removed_count = r.read_varu(COUNT_CHUNK)?;
    if removed_count as usize > baseline.len() {
        return Err(BodyError::UnknownRemoved(removed_count));
    }
    let removed = read_ids(&mut r, removed_count)?;
    let mut kept = Vec::with_capacity(baseline.len() - removed.len());
    let mut removed_iter = removed.iter().peekable();
    for (id, base) in baseline.entities() {
        if removed_iter.next_if(|r| *r == id).is_none() {
            kept.push((*id, *base));
        }
    }
    if let Some(id) = removed_iter.next() {
        return Err(BodyError::UnknownRemoved(id.0));
    }
    read_kept(&mut r, &mut kept, gap)?;

    let added_count = r.read_varu(COUNT_CHUNK)?;
    if added_count > MAX_ENTITIES || kept.len() + added_count as usize > MAX_ENTITIES as usize {
        return Err(BodyError::TooMany);
    }
    let added_ids = read_ids(&mut r, added_count)?;
    let mut added = Vec::with_capacity(added_ids.len());
    for id in added_ids {
        let bits = r.read(KIND_BITS)?;
        let kind = EntityKind::from_bits(bits).ok_or(BodyError::Kind(bits))?;
        let fields = read_fields(&mut r, &EntityState::default().fields())?;
        added.push((id, EntityState::from_fields(kind, fields)));
    }
    if !r.at_end() {
        return Err(BodyError::Trailing);
    }
    merge(kept, added).map(View::from_sorted)
}

/// Applies the kept entities' changes (either form, see `encode::write_kept`) in place.
fn read_kept(
    r: &mut BitReader<'_>,
    kept: &mut [(EntityId, EntityState)],
    gap: u32,
) -> Result<(), BodyError> {
    let mut changed = vec![false; kept.len()];
    if r.read_bit()? {
        let count = r.read_varu(COUNT_CHUNK)?;
        if count as usize > kept.len() {
            return Err(BodyError::ChangedOutOfRange);
        }
        let mut next = 0usize;
        for _ in 0..count {
            let i = next
                .checked_add(r.read_varu(COUNT_CHUNK)? as usize)
                .ok_or(BodyError::ChangedOutOfRange)?;
            *changed.get_mut(i).ok_or(BodyError::ChangedOutOfRange)? = true;
            apply(r, &mut kept[i].1, gap, true)?;
            next = i + 1;
        }
        for (i, (_, state)) in kept.iter_mut().enumerate() {
            if !changed[i] {
                apply(r, state, gap, false)?;
            }
        }
    } else {
        for (_, state) in kept.iter_mut() {
            let is_changed = r.read_bit()?;
            apply(r, state, gap, is_changed)?;
        }
    }
    Ok(())
}

/// Replaces a baseline state with its prediction, plus residuals when `changed`.
fn apply(
    r: &mut BitReader<'_>,
    state: &mut EntityState,
    gap: u32,
    changed: bool,
) -> Result<(), BodyError> {
    let predicted = predict(state, gap);
    let fields = if changed {
        read_fields(r, &predicted)?
    } else {
        predicted
    };
    *state = EntityState::from_fields(state.kind, fields);
    Ok(())
}

fn read_ids(r: &mut BitReader<'_>, count: u32) -> Result<Vec<EntityId>, BodyError> {
    let mut ids = Vec::with_capacity(count.min(MAX_ENTITIES) as usize);
    let mut prev: Option<u32> = None;
    for _ in 0..count {
        let gap = r.read_varu(COUNT_CHUNK)?;
        let id = match prev {
            None => Some(gap),
            Some(p) => p.checked_add(gap).and_then(|v| v.checked_add(1)),
        }
        .ok_or(BodyError::IdOverflow)?;
        ids.push(EntityId(id));
        prev = Some(id);
    }
    Ok(ids)
}

fn read_fields(
    r: &mut BitReader<'_>,
    predicted: &[u32; EntityState::FIELDS],
) -> Result<[u32; EntityState::FIELDS], BodyError> {
    let mut mask = [false; EntityState::FIELDS];
    for group in FIELD_GROUPS {
        if !r.read_bit()? {
            continue;
        }
        if group.len() == 1 {
            mask[group.start] = true;
            continue;
        }
        let bits = r.read(group.len() as u32)?;
        for (n, k) in group.enumerate() {
            mask[k] = bits >> n & 1 == 1;
        }
    }
    let mut fields = *predicted;
    for k in 0..EntityState::FIELDS {
        if mask[k] {
            let code = r.read_varu(FIELD_CHUNK[k])?;
            let residual = unzigzag(code.checked_add(1).ok_or(BitsError::Overlong)?);
            fields[k] = apply_residual(predicted[k], residual, FIELD_WIDTH[k]);
        }
    }
    Ok(fields)
}

/// Merges two id-sorted lists, refusing an added id that collides with a kept one.
fn merge(
    kept: Vec<(EntityId, EntityState)>,
    added: Vec<(EntityId, EntityState)>,
) -> Result<Vec<(EntityId, EntityState)>, BodyError> {
    let mut out = Vec::with_capacity(kept.len() + added.len());
    let mut kept = kept.into_iter().peekable();
    for (id, state) in added {
        while let Some(k) = kept.next_if(|k| k.0 < id) {
            out.push(k);
        }
        if kept.peek().is_some_and(|k| k.0 == id) {
            return Err(BodyError::DuplicateAdded(id.0));
        }
        out.push((id, state));
    }
    out.extend(kept);
    Ok(out)
}
