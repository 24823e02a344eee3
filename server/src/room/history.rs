//! The last N snapshots of the whole world, as quantized entity states: the baselines deltas
//! are encoded against.

use std::collections::VecDeque;
use std::sync::Arc;

use snapwire_shared::Tick;
use snapwire_shared::map::Point;
use snapwire_shared::sim::{EntityId, World};
use snapwire_shared::snapshot::{Entities, EntityKind, EntityState, KeyedEntities, entity_hash};

/// [`Frame::owners`] for an entity without a shooter in the frame.
pub const NO_OWNER: u32 = u32::MAX;

/// One tick of the world, computed once and shared by every client's encoder. Stored as
/// parallel arrays: a client's view is a list of indices, and walking ids or positions alone
/// (view diffs, interest queries) touches only those arrays.
#[derive(Debug, Default)]
pub struct Frame {
    pub tick: Tick,
    /// Ascending.
    pub ids: Vec<EntityId>,
    pub states: Vec<EntityState>,
    pub positions: Vec<Point>,
    /// Each entity's kind again, packed: interest scans a view's kinds for projectiles, and
    /// reading them from `states` touched a cache line per entity.
    pub kinds: Vec<EntityKind>,
    /// For a projectile, the index of its shooter in this frame ([`NO_OWNER`] for other kinds,
    /// or a shooter who left): found once per tick instead of once per viewer.
    pub owners: Vec<u32>,
    /// [`entity_hash`] of (id, state): a client's checksum is the sum over its view.
    pub hashes: Vec<u32>,
}

impl Frame {
    pub fn capture(world: &World) -> Frame {
        let n = world.len();
        let mut f = Frame {
            tick: world.tick(),
            ids: Vec::with_capacity(n),
            states: Vec::with_capacity(n),
            positions: Vec::with_capacity(n),
            kinds: Vec::with_capacity(n),
            owners: Vec::with_capacity(n),
            hashes: Vec::with_capacity(n),
        };
        for (id, e) in world.entities() {
            f.push(id, e.net_state(), e.position());
        }
        f
    }

    /// Appends an entity; ids must come in ascending order.
    pub fn push(&mut self, id: EntityId, state: EntityState, pos: Point) {
        debug_assert!(self.ids.last().is_none_or(|last| *last < id));
        self.ids.push(id);
        self.hashes.push(entity_hash(id, &state));
        self.kinds.push(state.kind);
        // A shooter's id is lower than its projectile's (ids only grow), so it is already here.
        let owner = match state.kind {
            EntityKind::Projectile => self
                .ids
                .binary_search(&EntityId(state.owner))
                .map_or(NO_OWNER, |i| i as u32),
            _ => NO_OWNER,
        };
        self.owners.push(owner);
        self.states.push(state);
        self.positions.push(pos);
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The whole frame, or the entities at `indices` (ascending), as the encoder reads them.
    pub fn view<'a>(&'a self, indices: Option<&'a [u32]>) -> FrameView<'a> {
        FrameView {
            frame: self,
            indices,
        }
    }
}

/// Some or all of a frame's entities, read in place: a client's view or baseline costs a list
/// of indices, never a copy of entity states.
#[derive(Debug, Clone, Copy)]
pub struct FrameView<'a> {
    frame: &'a Frame,
    /// `None` is the whole frame.
    indices: Option<&'a [u32]>,
}

impl FrameView<'_> {
    fn index(&self, i: usize) -> usize {
        // Indices are the server's own, taken from this frame; never peer data.
        self.indices.map_or(i, |ix| ix[i] as usize)
    }

    /// The view's checksum: the sum of its entities' hashes, computed once per tick.
    pub fn checksum(&self) -> u32 {
        (0..self.count()).fold(0u32, |acc, i| {
            acc.wrapping_add(self.frame.hashes[self.index(i)])
        })
    }
}

impl KeyedEntities for FrameView<'_> {
    /// The index into the frame: one entity state this tick, whichever client's view holds it.
    fn key(&self, i: usize) -> usize {
        self.index(i)
    }
}

impl Entities for FrameView<'_> {
    type State = EntityState;

    fn count(&self) -> usize {
        self.indices.map_or(self.frame.len(), <[u32]>::len)
    }

    fn id(&self, i: usize) -> EntityId {
        self.frame.ids[self.index(i)]
    }

    fn state(&self, i: usize) -> &EntityState {
        &self.frame.states[self.index(i)]
    }
}

#[derive(Debug)]
pub struct SnapshotHistory {
    frames: VecDeque<Arc<Frame>>,
    capacity: usize,
}

impl SnapshotHistory {
    pub fn new(capacity: usize) -> SnapshotHistory {
        SnapshotHistory {
            frames: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Keeps `frame`, dropping the oldest beyond capacity.
    pub fn record(&mut self, frame: Arc<Frame>) {
        if self.frames.len() == self.capacity {
            self.frames.pop_front();
        }
        self.frames.push_back(frame);
    }

    pub fn get(&self, tick: Tick) -> Option<&Arc<Frame>> {
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
