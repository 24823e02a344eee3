//! Property: over random sequences of worlds (spawns, despawns, moves, big jumps, wraps) and
//! random loss of snapshots and acks, the client rebuilds every snapshot it receives exactly,
//! with the server choosing baselines the way `server/src/replication.rs` does: the newest
//! acknowledged snapshot still in its history.

use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;
use snapwire_shared::Tick;
use snapwire_shared::client::Replica;
use snapwire_shared::protocol::SnapshotMsg;
use snapwire_shared::sim::EntityId;
use snapwire_shared::snapshot::{EntityKind, EntityState, ReplicateKind, View, checksum, encode};

const HISTORY: usize = 64;

#[derive(Debug, Clone)]
enum Change {
    Spawn {
        kind: u8,
        x: i32,
        y: i32,
        vx: i32,
        vy: i32,
    },
    Despawn(usize),
    /// Small nudge to one entity's velocity.
    Steer(usize, i32, i32),
    /// Teleport (respawn, wrap): a big jump.
    Jump(usize, i32, i32),
    /// Anything else changes: health, angle, score.
    Hit(usize, u8, u16),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (
            0u8..3,
            0..64_000i32,
            0..36_000i32,
            -400..400i32,
            -400..400i32
        )
            .prop_map(|(kind, x, y, vx, vy)| Change::Spawn { kind, x, y, vx, vy }),
        any::<usize>().prop_map(Change::Despawn),
        (any::<usize>(), -20..20i32, -20..20i32).prop_map(|(i, a, b)| Change::Steer(i, a, b)),
        (any::<usize>(), any::<i32>(), any::<i32>()).prop_map(|(i, x, y)| Change::Jump(i, x, y)),
        (any::<usize>(), any::<u8>(), any::<u16>()).prop_map(|(i, h, a)| Change::Hit(i, h, a)),
    ]
}

/// Per tick: some changes, whether the snapshot reaches the client, whether its ack reaches the server.
fn ticks() -> impl Strategy<Value = Vec<(Vec<Change>, bool, bool)>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(change(), 0..4),
            prop::bool::weighted(0.7),
            prop::bool::weighted(0.6),
        ),
        1..150,
    )
}

fn nth(world: &BTreeMap<u32, EntityState>, i: usize) -> Option<u32> {
    (!world.is_empty()).then(|| *world.keys().nth(i % world.len()).unwrap_or(&0))
}

fn view(world: &BTreeMap<u32, EntityState>) -> View {
    View::from_sorted(world.iter().map(|(id, s)| (EntityId(*id), *s)).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_received_snapshot_rebuilds_exactly(ticks in ticks(), start in any::<u32>()) {
        let mut world: BTreeMap<u32, EntityState> = BTreeMap::new();
        let mut next_id = 1u32;
        let mut history: VecDeque<(Tick, View)> = VecDeque::new();
        let mut acked: Option<Tick> = None;
        let mut replica = Replica::new();
        let mut tick = Tick(start);

        for (changes, delivered, ack_arrives) in ticks {
            tick = tick.next();
            for s in world.values_mut() {
                s.x = s.x.wrapping_add(s.vx);
                s.y = s.y.wrapping_add(s.vy);
            }
            for c in changes {
                match c {
                    Change::Spawn { kind, x, y, vx, vy } => {
                        let kind = <EntityKind as ReplicateKind>::from_bits(u32::from(kind)).unwrap_or_default();
                        world.insert(next_id, EntityState { kind, x, y, vx, vy, health: 100, ..Default::default() });
                        next_id += 1;
                    }
                    Change::Despawn(i) => { if let Some(id) = nth(&world, i) { world.remove(&id); } }
                    Change::Steer(i, a, b) => {
                        if let Some(s) = nth(&world, i).and_then(|id| world.get_mut(&id)) { s.vx += a; s.vy += b; }
                    }
                    Change::Jump(i, x, y) => {
                        if let Some(s) = nth(&world, i).and_then(|id| world.get_mut(&id)) { s.x = x; s.y = y; }
                    }
                    Change::Hit(i, h, a) => {
                        if let Some(s) = nth(&world, i).and_then(|id| world.get_mut(&id)) { s.health = h; s.angle = a; s.score += 1; }
                    }
                }
            }
            let current = view(&world);
            if history.len() == HISTORY { history.pop_front(); }
            history.push_back((tick, current.clone()));

            // Server: newest acked snapshot still in history, else full.
            let base = acked.and_then(|a| history.iter().find(|(t, _)| *t == a));
            let empty = View::default();
            let (baseline, base_view) = match base { Some((t, v)) => (Some(*t), v), None => (None, &empty) };
            let gap = baseline.map_or(0, |b| tick.since(b) as u32);
            let msg = SnapshotMsg {
                tick,
                baseline_age: SnapshotMsg::age(tick, baseline),
                last_input_seq: 0,
                checksum: checksum(&current),
                names: Vec::new(),
                body: encode(base_view, gap, &current),
            };
            if !delivered { continue; }
            replica.apply(&msg).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(replica.latest().map(|(_, v)| v), Some(&current));
            if ack_arrives { acked = Some(tick); }
        }
    }
}
