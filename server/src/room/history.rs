//! The last N snapshots of the whole world, as quantized entity states: the baselines deltas
//! are encoded against.

use std::collections::VecDeque;
use std::sync::Arc;

use snapwire_shared::Tick;
use snapwire_shared::game::Game;
use snapwire_shared::map::Point;
use snapwire_shared::sim::EntityId;
use snapwire_shared::snapshot::{Entities, EntityState, KeyedEntities, Replicate, entity_hash};

/// [`Frame::links`] for an entity without a linked entity in the frame.
pub const NO_LINK: u32 = u32::MAX;

/// One tick of the world, computed once and shared by every client's encoder. Stored as
/// parallel arrays: a client's view is a list of indices, and walking ids or positions alone
/// (view diffs, interest queries) touches only those arrays.
#[derive(Debug)]
pub struct Frame<S = EntityState> {
    pub tick: Tick,
    /// Ascending.
    pub ids: Vec<EntityId>,
    pub states: Vec<S>,
    pub positions: Vec<Point>,
    /// For an entity with a [`Game::link`] (a projectile's shooter), the index of the linked
    /// entity in this frame ([`NO_LINK`] for none, or one that left): found once per tick
    /// instead of once per viewer, and packed: interest scans a view's links.
    pub links: Vec<u32>,
    /// [`entity_hash`] of (id, state): a client's checksum is the sum over its view.
    pub hashes: Vec<u32>,
}

impl<S> Default for Frame<S> {
    fn default() -> Frame<S> {
        Frame {
            tick: Tick::default(),
            ids: Vec::new(),
            states: Vec::new(),
            positions: Vec::new(),
            links: Vec::new(),
            hashes: Vec::new(),
        }
    }
}

impl<S: Replicate> Frame<S> {
    pub fn capture<G: Game<State = S>>(game: &G) -> Frame<S> {
        let n = game.len();
        let mut f = Frame {
            tick: game.tick(),
            ids: Vec::with_capacity(n),
            states: Vec::with_capacity(n),
            positions: Vec::with_capacity(n),
            links: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
        };
        for (id, state) in game.entities() {
            f.push(id, state, G::position_of(&state), G::link(&state));
        }
        f
    }

    /// Appends an entity; ids must come in ascending order. A `link` must have a lower id (it
    /// existed first, and ids only grow) to be found.
    pub fn push(&mut self, id: EntityId, state: S, pos: Point, link: Option<EntityId>) {
        debug_assert!(self.ids.last().is_none_or(|last| *last < id));
        self.ids.push(id);
        self.hashes.push(entity_hash(id, &state));
        let link = link.map_or(NO_LINK, |l| {
            self.ids.binary_search(&l).map_or(NO_LINK, |i| i as u32)
        });
        self.links.push(link);
        self.states.push(state);
        self.positions.push(pos);
    }
}

impl<S> Frame<S> {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The whole frame, or the entities at `indices` (ascending), as the encoder reads them.
    pub fn view<'a>(&'a self, indices: Option<&'a [u32]>) -> FrameView<'a, S> {
        FrameView {
            frame: self,
            indices,
        }
    }
}

/// Some or all of a frame's entities, read in place: a client's view or baseline costs a list
/// of indices, never a copy of entity states.
#[derive(Debug)]
pub struct FrameView<'a, S = EntityState> {
    frame: &'a Frame<S>,
    /// `None` is the whole frame.
    indices: Option<&'a [u32]>,
}

impl<S> Clone for FrameView<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for FrameView<'_, S> {}

impl<S> FrameView<'_, S> {
    fn index(&self, i: usize) -> usize {
        // Indices are the server's own, taken from this frame; never peer data.
        self.indices.map_or(i, |ix| ix[i] as usize)
    }

    /// The view's checksum: the sum of its entities' hashes, computed once per tick.
    pub fn checksum(&self) -> u32 {
        let count = self.indices.map_or(self.frame.ids.len(), <[u32]>::len);
        (0..count).fold(0u32, |acc, i| {
            acc.wrapping_add(self.frame.hashes[self.index(i)])
        })
    }
}

impl<S: Replicate> KeyedEntities for FrameView<'_, S> {
    /// The index into the frame: one entity state this tick, whichever client's view holds it.
    fn key(&self, i: usize) -> usize {
        self.index(i)
    }
}

impl<S: Replicate> Entities for FrameView<'_, S> {
    type State = S;

    fn count(&self) -> usize {
        self.indices.map_or(self.frame.len(), <[u32]>::len)
    }

    fn id(&self, i: usize) -> EntityId {
        self.frame.ids[self.index(i)]
    }

    fn state(&self, i: usize) -> &S {
        &self.frame.states[self.index(i)]
    }
}

#[derive(Debug)]
pub struct SnapshotHistory<S = EntityState> {
    frames: VecDeque<Arc<Frame<S>>>,
    capacity: usize,
}

impl<S> SnapshotHistory<S> {
    pub fn new(capacity: usize) -> SnapshotHistory<S> {
        SnapshotHistory {
            frames: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Keeps `frame`, dropping the oldest beyond capacity.
    pub fn record(&mut self, frame: Arc<Frame<S>>) {
        if self.frames.len() == self.capacity {
            self.frames.pop_front();
        }
        self.frames.push_back(frame);
    }

    pub fn get(&self, tick: Tick) -> Option<&Arc<Frame<S>>> {
        let newest = self.frames.back()?.tick;
        let back = newest.since(tick);
        if back < 0 || back as usize >= self.frames.len() {
            return None;
        }
        // Frames are consecutive ticks, newest last.
        let frame = &self.frames[self.frames.len() - 1 - back as usize];
        (frame.tick == tick).then_some(frame)
    }
}
