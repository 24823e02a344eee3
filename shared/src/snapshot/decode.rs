//! Decoding a snapshot body against the baseline view it was encoded from.

use thiserror::Error;

use crate::sim::EntityId;
use crate::snapshot::bits::{BitReader, BitsError, unzigzag};
use crate::snapshot::format::{COUNT_CHUNK, MAX_ENTITIES, apply_residual, predict};
use crate::snapshot::replicate::Replicate;
use crate::snapshot::state::View;

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
pub fn decode<T: Replicate>(
    baseline: &View<T>,
    gap: u32,
    body: &[u8],
) -> Result<View<T>, BodyError> {
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
    let zero = zero_words::<T>();
    for id in added_ids {
        let kind = r.read(T::LAYOUT.kind_bits)?;
        let words = read_fields::<T>(&mut r, &zero)?;
        added.push((
            id,
            T::from_words(kind, &words).ok_or(BodyError::Kind(kind))?,
        ));
    }
    if !r.at_end() {
        return Err(BodyError::Trailing);
    }
    merge(kept, added).map(View::from_sorted)
}

/// Applies the kept entities' changes (either form, see `encode::write_kept`) in place.
fn read_kept<T: Replicate>(
    r: &mut BitReader<'_>,
    kept: &mut [(EntityId, T)],
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
fn apply<T: Replicate>(
    r: &mut BitReader<'_>,
    state: &mut T,
    gap: u32,
    changed: bool,
) -> Result<(), BodyError> {
    let predicted = predict(state, gap);
    let words = if changed {
        read_fields::<T>(r, &predicted)?
    } else {
        predicted
    };
    *state = state.with_words(&words);
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

/// A change mask and residuals (see `encode::write_residuals`) applied to `predicted`.
fn read_fields<T: Replicate>(
    r: &mut BitReader<'_>,
    predicted: &T::Words,
) -> Result<T::Words, BodyError> {
    let layout = &T::LAYOUT;
    // Bit k: field k changed (a layout has at most 64 fields).
    let mut changed = 0u64;
    for &(start, end) in layout.groups {
        if !r.read_bit()? {
            continue;
        }
        let bits = if end - start == 1 {
            1
        } else {
            r.read((end - start) as u32)?
        };
        changed |= u64::from(bits) << start;
    }
    let mut words = *predicted;
    let w = words.as_mut();
    // Over every field rather than the set bits: the layout is a constant, so this unrolls
    // with each field's width and chunk known.
    for (k, (word, f)) in w.iter_mut().zip(layout.fields).enumerate() {
        if changed >> k & 1 == 0 {
            continue;
        }
        // A one-bit field has no residual: it flipped.
        let residual = if f.width == 1 {
            -1
        } else {
            let code = r.read_varu(f.chunk)?;
            unzigzag(code.checked_add(1).ok_or(BitsError::Overlong)?)
        };
        *word = apply_residual(*word, residual, f.width);
    }
    Ok(words)
}

/// All-zero words: what an added entity's fields are coded against.
fn zero_words<T: Replicate>() -> T::Words {
    let mut words = T::default().words();
    words.as_mut().fill(0);
    words
}

/// Merges two id-sorted lists, refusing an added id that collides with a kept one.
fn merge<T>(
    kept: Vec<(EntityId, T)>,
    added: Vec<(EntityId, T)>,
) -> Result<Vec<(EntityId, T)>, BodyError> {
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
