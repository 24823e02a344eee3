//! The last N snapshots of the whole world, as quantized entity states: the baselines deltas
//! are encoded against.

use std::collections::VecDeque;
use std::sync::Arc;

use snapwire_shared::Tick;
use snapwire_shared::map::Point;
use snapwire_shared::sim::{EntityId, World};
use snapwire_shared::snapshot::{Entities, EntityState, KeyedEntities, entity_hash};

/// One tick of the world, computed once and shared by every client's encoder.
#[derive(Debug)]
pub struct Frame {
    pub tick: Tick,
    /// Sorted by id.
    pub entities: Vec<FrameEntity>,
}

#[derive(Debug, Clone, Copy)]
pub struct FrameEntity {
    pub id: EntityId,
    pub state: EntityState,
    pub pos: Point,
    /// [`entity_hash`] of (id, state): a client's checksum is the sum over its view.
    pub hash: u32,
}

impl Frame {
    pub fn capture(world: &World) -> Frame {
        let entities = world
            .entities()
            .map(|(id, e)| {
                let state = e.net_state();
                FrameEntity {
                    id,
                    state,
                    pos: e.position(),
                    hash: entity_hash(id, &state),
                }
            })
            .collect();
        Frame {
            tick: world.tick(),
            entities,
        }
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
    fn entity(&self, i: usize) -> &FrameEntity {
        // Indices are the server's own, taken from this frame; never peer data.
        let i = self.indices.map_or(i, |ix| ix[i] as usize);
        &self.frame.entities[i]
    }

    /// Whether the view holds `id` (binary search: the view is in id order).
    pub fn contains(&self, id: EntityId) -> bool {
        let (mut lo, mut hi) = (0, self.count());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.entity(mid).id.cmp(&id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// The view's checksum: the sum of its entities' hashes, computed once per tick.
    pub fn checksum(&self) -> u32 {
        (0..self.count()).fold(0u32, |acc, i| acc.wrapping_add(self.entity(i).hash))
    }
}

impl KeyedEntities for FrameView<'_> {
    /// The index into the frame: one entity state this tick, whichever client's view holds it.
    fn key(&self, i: usize) -> usize {
        self.indices.map_or(i, |ix| ix[i] as usize)
    }
}

impl Entities for FrameView<'_> {
    fn count(&self) -> usize {
        self.indices.map_or(self.frame.entities.len(), <[u32]>::len)
    }

    fn id(&self, i: usize) -> EntityId {
        self.entity(i).id
    }

    fn state(&self, i: usize) -> &EntityState {
        &self.entity(i).state
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
