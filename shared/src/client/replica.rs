//! The client's copy of the world, rebuilt from snapshots.

use std::collections::{HashMap, VecDeque};

use thiserror::Error;

use crate::protocol::SnapshotMsg;
use crate::sim::EntityId;
use crate::snapshot::{BodyError, EntityState, Replicate, View, checksum, decode};
use crate::tick::Tick;

/// Snapshots kept as possible baselines. The server keeps 64 by default; holding more costs a
/// little memory and never a desync.
pub const KEPT_SNAPSHOTS: usize = 128;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReplicaError {
    #[error("snapshot {tick} is relative to tick {baseline}, which this client does not hold")]
    UnknownBaseline { tick: Tick, baseline: Tick },
    #[error("snapshot {tick} body: {source}")]
    Body { tick: Tick, source: BodyError },
    #[error("snapshot {tick} checksum {got:#010x} != expected {expected:#010x}")]
    Checksum { tick: Tick, got: u32, expected: u32 },
}

/// Outcome of applying one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Decoded and verified; acknowledge this tick.
    Fresh(Tick),
    /// Older than or equal to what the client holds; ignored.
    Stale,
}

/// Verified snapshots of entities of type `T` (the arena's by default).
#[derive(Debug)]
pub struct Replica<T = EntityState> {
    /// Verified snapshots in increasing tick order, newest last.
    kept: VecDeque<(Tick, View<T>)>,
    names: HashMap<u32, String>,
}

impl<T> Default for Replica<T> {
    fn default() -> Replica<T> {
        Replica {
            kept: VecDeque::new(),
            names: HashMap::new(),
        }
    }
}

impl Replica {
    pub fn new() -> Replica {
        Replica::default()
    }
}

impl<T: Replicate> Replica<T> {
    /// The newest verified snapshot.
    pub fn latest(&self) -> Option<(Tick, &View<T>)> {
        self.kept.back().map(|(t, v)| (*t, v))
    }

    pub fn name(&self, id: u32) -> Option<&str> {
        self.names.get(&id).map(String::as_str)
    }

    /// Decodes `msg` against its baseline and verifies the checksum. A snapshot that fails is not
    /// kept, so it is never acknowledged and the server never encodes against it.
    pub fn apply(&mut self, msg: &SnapshotMsg) -> Result<Applied, ReplicaError> {
        let tick = msg.tick;
        if self.latest().is_some_and(|(latest, _)| tick <= latest) {
            return Ok(Applied::Stale);
        }
        let empty = View::default();
        let (base_view, gap) = match msg.baseline() {
            None => (&empty, 0),
            Some(b) => {
                let found = self.kept.iter().find(|(t, _)| *t == b);
                let (_, view) = found.ok_or(ReplicaError::UnknownBaseline { tick, baseline: b })?;
                (view, tick.since(b).max(0) as u32)
            }
        };
        let view = decode(base_view, gap, &msg.body)
            .map_err(|source| ReplicaError::Body { tick, source })?;
        let got = checksum(&view);
        if got != msg.checksum {
            return Err(ReplicaError::Checksum {
                tick,
                got,
                expected: msg.checksum,
            });
        }
        // The server's baseline only moves forward, so older snapshots will never be used again.
        if let Some(b) = msg.baseline() {
            while self.kept.front().is_some_and(|(t, _)| *t < b) {
                self.kept.pop_front();
            }
        }
        for n in &msg.names {
            self.names.insert(n.id, n.name.clone());
        }
        self.kept.push_back((tick, view));
        if self.names.len() > 64 + 4 * self.kept.back().map_or(0, |(_, v)| v.len()) {
            // A name may be needed again for any kept baseline, so prune only what none holds.
            let kept = &self.kept;
            self.names
                .retain(|id, _| kept.iter().any(|(_, v)| v.get(EntityId(*id)).is_some()));
        }
        while self.kept.len() > KEPT_SNAPSHOTS {
            self.kept.pop_front();
        }
        Ok(Applied::Fresh(tick))
    }
}
