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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::fixtures::snapshot;
    use crate::snapshot::EntityKind;

    fn player(x: i32) -> EntityState {
        EntityState {
            kind: EntityKind::Player,
            x,
            y: 2_000,
            vx: 10,
            health: 100,
            ..EntityState::default()
        }
    }

    fn view(xs: &[(u32, i32)]) -> View {
        View::from_sorted(
            xs.iter()
                .map(|&(id, x)| (EntityId(id), player(x)))
                .collect(),
        )
    }

    #[test]
    fn full_then_delta_snapshots_rebuild_the_server_view() {
        let mut r = Replica::new();
        let first = view(&[(1, 1_000), (2, 5_000)]);
        assert_eq!(
            r.apply(&snapshot(10, None, &first)),
            Ok(Applied::Fresh(Tick(10)))
        );
        let second = view(&[(1, 1_030), (3, 9_000)]);
        assert_eq!(
            r.apply(&snapshot(13, Some((10, &first)), &second)),
            Ok(Applied::Fresh(Tick(13)))
        );
        assert_eq!(
            r.latest().map(|(t, v)| (t, v.clone())),
            Some((Tick(13), second))
        );
        // An older or repeated tick is stale, never an error.
        assert_eq!(r.apply(&snapshot(12, None, &first)), Ok(Applied::Stale));
    }

    /// The detector behind every `desyncs == 0`: a snapshot whose rebuilt view does not hash
    /// to the server's checksum is refused, not kept, so never acknowledged and never a
    /// baseline. Here one bit of the body is flipped on the way (a residual of entity 1).
    #[test]
    fn a_corrupted_snapshot_fails_its_checksum_and_is_not_kept() {
        let mut r = Replica::new();
        let first = view(&[(1, 1_000), (2, 5_000)]);
        r.apply(&snapshot(10, None, &first))
            .expect("a good full snapshot");
        let second = view(&[(1, 1_500), (2, 5_030)]);
        let mut bad = snapshot(11, Some((10, &first)), &second);
        let last = bad.body.len() - 2;
        bad.body[last] ^= 0x01;
        match r.apply(&bad) {
            Err(ReplicaError::Checksum { tick, expected, .. }) => {
                assert_eq!((tick, expected), (Tick(11), checksum(&second)));
            }
            other => panic!("a flipped bit must fail the checksum: {other:?}"),
        }
        assert_eq!(r.latest().map(|(t, _)| t), Some(Tick(10)), "not kept");
        // A snapshot the server then encodes against the refused tick cannot be rebuilt.
        let third = view(&[(1, 1_600)]);
        assert_eq!(
            r.apply(&snapshot(12, Some((11, &second)), &third)),
            Err(ReplicaError::UnknownBaseline {
                tick: Tick(12),
                baseline: Tick(11)
            })
        );
        // The same tick, uncorrupted, goes through: the refusal left nothing behind.
        assert_eq!(
            r.apply(&snapshot(11, Some((10, &first)), &second)),
            Ok(Applied::Fresh(Tick(11)))
        );
    }

    /// A checksum that disagrees with a body that decodes fine (a client whose rules or codec
    /// differ from the server's) is caught the same way.
    #[test]
    fn a_wrong_checksum_is_a_desync() {
        let mut r = Replica::new();
        let mut msg = snapshot(5, None, &view(&[(7, 4_000)]));
        msg.checksum = msg.checksum.wrapping_add(1);
        assert!(matches!(r.apply(&msg), Err(ReplicaError::Checksum { .. })));
        assert!(r.latest().is_none());
    }
}
