//! Encoding a view against a baseline view into a bit-packed snapshot body.
//!
//! [`Encoder`] keeps its scratch space between calls, so a server encoding thousands of bodies
//! per tick allocates nothing in steady state; [`encode`] is the one-off form.

use crate::sim::EntityId;
use crate::snapshot::bits::{BitArena, BitSink, BitWriter, zigzag};
use crate::snapshot::format::{COUNT_CHUNK, predict, residual};
use crate::snapshot::replicate::{Layout, Replicate};
use crate::snapshot::state::View;

/// Entities in strictly increasing id order: what the encoder reads. [`View`] is one; the
/// server implements it over its per-tick frame so states are never copied per client.
pub trait Entities {
    type State: Replicate;
    fn count(&self) -> usize;
    fn id(&self, i: usize) -> EntityId;
    fn state(&self, i: usize) -> &Self::State;
}

impl<T: Replicate> Entities for View<T> {
    type State = T;

    fn count(&self) -> usize {
        self.len()
    }

    fn id(&self, i: usize) -> EntityId {
        self.entities()[i].0
    }

    fn state(&self, i: usize) -> &T {
        &self.entities()[i].1
    }
}

/// Entities with a key that names the same entity state for every client this tick (the
/// server's frame index), so residual bits can be shared between clients: see
/// [`Encoder::encode_shared`].
pub trait KeyedEntities: Entities {
    fn key(&self, i: usize) -> usize;
}

/// Residual bits of this tick's kept entities, shared by every body encoded against the same
/// baseline tick: entity `key` at `gap` ticks from its baseline gives the same bits for every
/// client. Clients mostly acknowledge the same recent tick, so each entity is encoded about once
/// per tick instead of once per client that sees it (bevy_replicon serializes each change once
/// per tick in the same way). Call [`SharedResiduals::begin_tick`] before each tick.
#[derive(Debug, Default)]
pub struct SharedResiduals {
    /// Per key, up to [`GAPS_PER_ENTITY`] gaps with where their bits are.
    slots: Vec<[Slot; GAPS_PER_ENTITY]>,
    arena: BitArena,
}

/// Baseline ages remembered per entity and tick. Clients that acknowledge every snapshot have
/// baselines one or two ticks old (their acknowledgement rides on an input sent at any phase of
/// the tick); a few more cover clients a few ticks behind.
const GAPS_PER_ENTITY: usize = 4;

/// One gap's bits: `gap` (`NO_GAP`: unused), start and length in the arena.
#[derive(Debug, Clone, Copy)]
struct Slot {
    gap: u32,
    start: u32,
    len: u32,
}

const NO_GAP: u32 = u32::MAX;

const EMPTY: Slot = Slot {
    gap: NO_GAP,
    start: 0,
    len: 0,
};

impl SharedResiduals {
    /// Forgets the last tick's bits; `keys` is the number of entities in the new frame.
    pub fn begin_tick(&mut self, keys: usize) {
        self.slots.clear();
        self.slots.resize(keys, [EMPTY; GAPS_PER_ENTITY]);
        self.arena.clear();
    }

    /// Where the bits of entity `key` at `gap` are, computing them on first use.
    fn bits<T: Replicate>(&mut self, key: usize, gap: u32, base: &T, current: &T) -> (u32, u32) {
        let Some(slots) = self.slots.get_mut(key) else {
            return residual_bits(&mut self.arena, base, gap, current);
        };
        for slot in slots.iter_mut() {
            if slot.gap == gap {
                return (slot.start, slot.len);
            }
            if slot.gap == NO_GAP {
                let (start, len) = residual_bits(&mut self.arena, base, gap, current);
                *slot = Slot { gap, start, len };
                return (start, len);
            }
        }
        // Every slot holds another gap: still shared within this body, not remembered.
        residual_bits(&mut self.arena, base, gap, current)
    }
}

/// Encodes `current` as changes from `baseline`, which the client holds from `gap` ticks earlier.
/// An empty baseline gives a full snapshot.
pub fn encode<T: Replicate>(baseline: &View<T>, gap: u32, current: &View<T>) -> Vec<u8> {
    Encoder::default().encode(baseline, gap, current).to_vec()
}

/// A reusable snapshot body encoder.
#[derive(Debug, Default)]
pub struct Encoder {
    removed: Vec<EntityId>,
    /// (baseline index, current index) of entities in both.
    kept: Vec<(u32, u32)>,
    /// Current indices of entities new to the client.
    added: Vec<u32>,
    /// Position in `kept`, and where in an arena the bits of its changes are, of each kept
    /// entity that differs from its prediction.
    changed: Vec<(u32, u32, u32)>,
    /// The arena of an unshared encode.
    scratch: BitArena,
    writer: BitWriter,
}

impl Encoder {
    /// Encodes `current` against `baseline` (see [`encode`]); the body stays valid until the
    /// next call.
    pub fn encode<B, C>(&mut self, baseline: &B, gap: u32, current: &C) -> &[u8]
    where
        B: Entities + ?Sized,
        C: Entities<State = B::State> + ?Sized,
    {
        self.diff(baseline, current);
        self.changed.clear();
        self.scratch.clear();
        for (k, &(b, c)) in self.kept.iter().enumerate() {
            let (base, cur) = (baseline.state(b as usize), current.state(c as usize));
            let (start, len) = residual_bits(&mut self.scratch, base, gap, cur);
            if len > 0 {
                self.changed.push((k as u32, start, len));
            }
        }
        let arena = std::mem::take(&mut self.scratch);
        self.write_body(&arena, current);
        self.scratch = arena;
        self.writer.padded()
    }

    /// [`Encoder::encode`], reusing residual bits other clients' bodies computed this tick.
    /// The bytes are exactly those [`Encoder::encode`] writes.
    pub fn encode_shared<B, C>(
        &mut self,
        baseline: &B,
        gap: u32,
        current: &C,
        shared: &mut SharedResiduals,
    ) -> &[u8]
    where
        B: Entities + ?Sized,
        C: KeyedEntities<State = B::State> + ?Sized,
    {
        self.diff(baseline, current);
        self.changed.clear();
        for (k, &(b, c)) in self.kept.iter().enumerate() {
            let (base, cur) = (baseline.state(b as usize), current.state(c as usize));
            let (start, len) = shared.bits(current.key(c as usize), gap, base, cur);
            if len > 0 {
                self.changed.push((k as u32, start, len));
            }
        }
        self.write_body(&shared.arena, current);
        self.writer.padded()
    }

    fn write_body<C: Entities + ?Sized>(&mut self, arena: &BitArena, current: &C) {
        let w = &mut self.writer;
        w.clear();
        w.write_varu(self.removed.len() as u32, COUNT_CHUNK);
        write_ids(w, self.removed.iter().copied());
        write_kept(w, self.kept.len(), &self.changed, arena);
        w.write_varu(self.added.len() as u32, COUNT_CHUNK);
        write_ids(w, self.added.iter().map(|&i| current.id(i as usize)));
        let layout = &C::State::LAYOUT;
        for &i in &self.added {
            let state = current.state(i as usize);
            w.write(state.kind(), layout.kind_bits);
            // A new entity's fields are residuals from all-zero words.
            let mut zero = state.words();
            zero.as_mut().fill(0);
            write_residuals(w, layout, residuals(state, &zero).as_ref());
        }
    }

    /// The last body encoded.
    pub fn body(&self) -> &[u8] {
        self.writer.bytes()
    }

    /// Indices into `current` of the entities the last body added (new to the client).
    pub fn added(&self) -> &[u32] {
        &self.added
    }

    /// The bits each entity the last body added took (its id's gap, kind and fields), in the
    /// order of [`Encoder::added`]: what leaving it out would save, about (its neighbour's
    /// id gap grows).
    pub fn added_bits<C: Entities + ?Sized>(&mut self, current: &C, out: &mut Vec<u32>) {
        out.clear();
        let layout = &C::State::LAYOUT;
        let mut prev: Option<u32> = None;
        for &i in &self.added {
            let id = current.id(i as usize).0;
            let gap = prev.map_or(id, |p| id - p - 1);
            prev = Some(id);
            let state = current.state(i as usize);
            let mut zero = state.words();
            zero.as_mut().fill(0);
            self.scratch.clear();
            write_residuals(&mut self.scratch, layout, residuals(state, &zero).as_ref());
            let bits = varu_bits(gap, COUNT_CHUNK) + layout.kind_bits as usize + self.scratch.len();
            out.push(bits as u32);
        }
    }

    /// Splits the two sorted lists into removed ids, kept pairs and added entities. An id whose
    /// kind changed cannot happen (ids are never reused) but is handled as remove + add.
    fn diff<B, C>(&mut self, baseline: &B, current: &C)
    where
        B: Entities + ?Sized,
        C: Entities + ?Sized,
    {
        self.removed.clear();
        self.kept.clear();
        self.added.clear();
        let (nb, nc) = (baseline.count(), current.count());
        let (mut i, mut j) = (0, 0);
        while i < nb && j < nc {
            let (bid, cid) = (baseline.id(i), current.id(j));
            if bid == cid {
                if baseline.state(i).kind() == current.state(j).kind() {
                    self.kept.push((i as u32, j as u32));
                } else {
                    self.removed.push(bid);
                    self.added.push(j as u32);
                }
                i += 1;
                j += 1;
            } else if bid < cid {
                self.removed.push(bid);
                i += 1;
            } else {
                self.added.push(j as u32);
                j += 1;
            }
        }
        self.removed.extend((i..nb).map(|i| baseline.id(i)));
        self.added.extend((j..nc).map(|j| j as u32));
    }
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
fn write_kept(w: &mut BitWriter, kept: usize, changed: &[(u32, u32, u32)], arena: &BitArena) {
    let bitmap_bits = kept;
    let mut list_bits = varu_bits(changed.len() as u32, COUNT_CHUNK);
    let mut previous: Option<usize> = None;
    for &(i, _, _) in changed {
        list_bits += varu_bits(skip(previous, i as usize), COUNT_CHUNK);
        previous = Some(i as usize);
    }
    let use_list = list_bits < bitmap_bits;
    w.write_bit(use_list);
    if use_list {
        w.write_varu(changed.len() as u32, COUNT_CHUNK);
        let mut previous = None;
        for &(i, start, len) in changed {
            w.write_varu(skip(previous, i as usize), COUNT_CHUNK);
            w.append(arena, start as usize, len as usize);
            previous = Some(i as usize);
        }
    } else {
        let mut next = changed.iter().peekable();
        for i in 0..kept {
            let entry = next.next_if(|(c, _, _)| *c as usize == i);
            w.write_bit(entry.is_some());
            if let Some(&(_, start, len)) = entry {
                w.append(arena, start as usize, len as usize);
            }
        }
    }
}

/// Writes a kept entity's changes (mask and residuals against its prediction) into `arena`;
/// returns where they are, with length 0 when it moved exactly as predicted.
fn residual_bits<T: Replicate>(
    arena: &mut BitArena,
    base: &T,
    gap: u32,
    current: &T,
) -> (u32, u32) {
    let r = residuals(current, &predict(base, gap));
    let start = arena.len();
    if r.as_ref().iter().any(|v| *v != 0) {
        write_residuals(arena, &T::LAYOUT, r.as_ref());
    }
    (start as u32, (arena.len() - start) as u32)
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

/// Each field's difference from its prediction, wrapped to the field's width and sign-extended
/// (an `i32` in each word).
#[inline]
fn residuals<T: Replicate>(state: &T, predicted: &T::Words) -> T::Words {
    let mut r = state.words();
    let fields = T::LAYOUT.fields;
    for ((word, p), f) in r.as_mut().iter_mut().zip(predicted.as_ref()).zip(fields) {
        *word = residual(*word, *p, f.width) as u32;
    }
    r
}

/// Writes a change mask (grouped, see [`Layout::groups`]) and the non-zero residuals. A
/// one-bit field has no residual bits: its mask bit says it flipped.
#[inline]
fn write_residuals<W: BitSink>(w: &mut W, layout: &Layout, residuals: &[u32]) {
    let mut mask = MaskBits::default();
    for &(start, end) in layout.groups {
        let group = &residuals[start..end];
        let any = group.iter().any(|r| *r != 0);
        mask.push(w, any);
        if any && group.len() > 1 {
            for r in group {
                mask.push(w, *r != 0);
            }
        }
    }
    mask.flush(w);
    for (r, f) in residuals.iter().zip(layout.fields) {
        if *r != 0 && f.width > 1 {
            // Zero is never written here, so shift the zigzag code down by one.
            w.write_varu(zigzag(*r as i32) - 1, f.chunk);
        }
    }
}

/// Mask bits gathered and written 32 at a time (the arena's whole mask is one write).
#[derive(Default)]
struct MaskBits {
    bits: u32,
    n: u32,
}

impl MaskBits {
    #[inline]
    fn push<W: BitSink>(&mut self, w: &mut W, bit: bool) {
        self.bits |= u32::from(bit) << self.n;
        self.n += 1;
        if self.n == 32 {
            w.write(self.bits, 32);
            *self = MaskBits::default();
        }
    }

    #[inline]
    fn flush<W: BitSink>(&mut self, w: &mut W) {
        if self.n > 0 {
            w.write(self.bits, self.n);
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
