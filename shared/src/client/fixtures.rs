//! What the client modules' unit tests build their messages from: a `Welcome` to the arena
//! and snapshots encoded as the server encodes them.

use crate::map::MapDef;
use crate::protocol::{ResumeToken, SnapshotMsg, Welcome};
use crate::snapshot::{EntityState, View, checksum, encode};
use crate::tick::Tick;

/// A player's `Welcome` (entity 1) to the arena at 60 Hz, on tick `tick`.
pub fn welcome(tick: u32) -> Welcome {
    Welcome {
        player_id: Some(1),
        tick: Tick(tick),
        tick_rate: 60,
        map: MapDef::arena(),
        view_width: 40_000,
        view_height: 24_000,
        room: "r1".into(),
        kind: "default".into(),
        game: "arena".into(),
        resume: ResumeToken([9; 16]),
    }
}

/// `current` at `tick`, encoded against the view of tick `baseline` (`None`: in full).
pub fn snapshot(
    tick: u32,
    baseline: Option<(u32, &View<EntityState>)>,
    current: &View<EntityState>,
) -> SnapshotMsg {
    let (age, body) = match baseline {
        None => (0, encode(&View::default(), 0, current)),
        Some((b, base)) => ((tick - b) as u16, encode(base, tick - b, current)),
    };
    SnapshotMsg {
        tick: Tick(tick),
        baseline_age: age,
        last_input_seq: 0,
        checksum: checksum(current),
        names: Vec::new(),
        body,
    }
}
