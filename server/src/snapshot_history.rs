//! The last N snapshots of the whole world, as quantized entity states: the baselines deltas
//! are encoded against.

use std::collections::VecDeque;
use std::sync::Arc;

use snapwire_shared::Tick;
use snapwire_shared::map::Point;
use snapwire_shared::sim::{EntityId, World};
use snapwire_shared::snapshot::{EntityState, View, entity_hash};

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

    /// The view made of the entities at `indices` (ascending indices into `entities`).
    pub fn view_at(&self, indices: &[u32]) -> View {
        View::from_sorted(
            indices
                .iter()
                .map(|&i| {
                    (
                        self.entities[i as usize].id,
                        self.entities[i as usize].state,
                    )
                })
                .collect(),
        )
    }

    /// The view made of `ids` (ascending) that still exist in this frame.
    pub fn view_of(&self, ids: &[EntityId]) -> View {
        let mut out = Vec::with_capacity(ids.len());
        let mut it = self.entities.iter().peekable();
        for id in ids {
            while it.next_if(|e| e.id < *id).is_some() {}
            if let Some(e) = it.next_if(|e| e.id == *id) {
                out.push((e.id, e.state));
            }
        }
        View::from_sorted(out)
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
