use proptest::prelude::*;

use super::*;
use crate::sim::EntityId;
use crate::snapshot::replicate::ReplicateKind;

fn state() -> impl Strategy<Value = EntityState> {
    (
        0u32..3,
        any::<[i32; 4]>(),
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        any::<i32>(),
        any::<(u32, u8, u32)>(),
    )
        .prop_map(
            |(kind, [x, y, vx, vy], angle, health, life, score, (owner, hits, target))| {
                EntityState {
                    kind: ReplicateKind::from_bits(kind).unwrap_or_default(),
                    x,
                    y,
                    vx,
                    vy,
                    angle,
                    health,
                    life,
                    score,
                    owner,
                    hits,
                    target,
                }
            },
        )
}

fn view() -> impl Strategy<Value = View> {
    proptest::collection::btree_map(0u32..200, state(), 0..40)
        .prop_map(|m| View::from_sorted(m.into_iter().map(|(id, s)| (EntityId(id), s)).collect()))
}

proptest! {
    #[test]
    fn any_view_round_trips_against_any_baseline(baseline in view(), current in view(), gap in 0u32..100) {
        let body = encode(&baseline, gap, &current);
        prop_assert_eq!(decode(&baseline, gap, &body), Ok(current));
    }

    #[test]
    fn hostile_bodies_never_panic(baseline in view(), body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&baseline, 1, &body);
    }
}

/// A baseline and a current view that keeps most entities, moves them by their velocity over
/// `gap` ticks, and changes a few: the shape of real snapshots.
fn evolved() -> impl Strategy<Value = (View, View, u32)> {
    (
        view(),
        0u32..70,
        proptest::collection::vec((any::<usize>(), any::<i32>(), any::<u8>()), 0..6),
        view(),
    )
        .prop_map(|(baseline, gap, edits, extra)| {
            let mut next: Vec<_> = baseline
                .entities()
                .iter()
                .map(|(id, s)| {
                    let f = format::predict(s, gap);
                    (*id, EntityState::from_words(s.kind(), &f).unwrap_or(*s))
                })
                .collect();
            for (i, x, h) in edits {
                if next.is_empty() {
                    break;
                }
                let n = next.len();
                let e = &mut next[i % n].1;
                e.x = x;
                e.health = h;
            }
            // Add a few entities past the baseline's ids.
            let top = next.last().map_or(0, |(id, _)| id.0 + 1);
            next.extend(
                extra
                    .entities()
                    .iter()
                    .take(3)
                    .map(|(id, s)| (EntityId(top + id.0), *s)),
            );
            (baseline, View::from_sorted(next), gap)
        })
}

proptest! {
    #[test]
    fn evolved_views_round_trip((baseline, current, gap) in evolved()) {
        let body = encode(&baseline, gap, &current);
        prop_assert_eq!(decode(&baseline, gap, &body), Ok(current));
    }
}

#[test]
fn constant_motion_costs_nothing() {
    let moving = |t: i32| {
        View::from_sorted(
            (1..=100)
                .map(|i| {
                    let s = EntityState {
                        kind: EntityKind::Drifter,
                        x: i * 10 + 100 * t,
                        y: 5000 - 50 * t,
                        vx: 100,
                        vy: -50,
                        ..Default::default()
                    };
                    (EntityId(i as u32), s)
                })
                .collect(),
        )
    };
    let body = encode(&moving(0), 3, &moving(3));
    // Removed count, the list form's bit and an empty list, added count: the 100 entities
    // themselves cost nothing.
    assert_eq!(body.len(), (5 + 1 + 5 + 5usize).div_ceil(8));
}

/// A subset of a frame (a `View` standing for one tick's world), keyed by frame index.
struct Subset<'a> {
    frame: &'a View,
    indices: Vec<usize>,
}

impl Entities for Subset<'_> {
    type State = EntityState;

    fn count(&self) -> usize {
        self.indices.len()
    }

    fn id(&self, i: usize) -> EntityId {
        self.frame.entities()[self.indices[i]].0
    }

    fn state(&self, i: usize) -> &EntityState {
        &self.frame.entities()[self.indices[i]].1
    }
}

impl KeyedEntities for Subset<'_> {
    fn key(&self, i: usize) -> usize {
        self.indices[i]
    }
}

fn subset<'a>(frame: &'a View, mask: &[bool]) -> Subset<'a> {
    let indices = (0..frame.len())
        .filter(|i| mask.get(*i).copied().unwrap_or(true))
        .collect();
    Subset { frame, indices }
}

proptest! {
    /// Clients sharing residual bits get exactly the bytes of an unshared encode, whatever
    /// their views and gaps.
    #[test]
    fn shared_residuals_encode_the_same_bytes(
        (base_frame, now_frame, _gap) in evolved(),
        clients in proptest::collection::vec(
            (proptest::collection::vec(any::<bool>(), 0..48), proptest::collection::vec(any::<bool>(), 0..48), 1u32..4),
            1..6,
        ),
    ) {
        let mut shared = SharedResiduals::default();
        shared.begin_tick(now_frame.len());
        let (mut a, mut b) = (Encoder::default(), Encoder::default());
        for (base_mask, now_mask, gap) in clients {
            let base = subset(&base_frame, &base_mask);
            let now = subset(&now_frame, &now_mask);
            let plain = a.encode(&base, gap, &now).to_vec();
            let reused = b.encode_shared(&base, gap, &now, &mut shared).to_vec();
            prop_assert_eq!(&plain, &reused);
            let decoded = decode(&View::from_sorted((0..base.count()).map(|i| (base.id(i), *base.state(i))).collect()), gap, &plain);
            prop_assert_eq!(decoded.map(|v| v.len()), Ok(now.count()));
        }
    }
}

/// The worked example in PROTOCOL.md ("Snapshot body", example), computed by hand from the
/// layout there, not from the encoder: encoder and decoder cannot drift from the spec together.
#[test]
fn a_full_snapshot_of_one_player_has_the_bytes_protocol_md_gives() {
    let player = EntityState {
        kind: EntityKind::Player,
        x: 5000,
        y: -3,
        health: 100,
        ..EntityState::default()
    };
    let view = View::from_sorted(vec![(EntityId(7), player)]);
    let expected = [0x40, 0x38, 0x1c, 0x83, 0x17, 0x4f, 0x88, 0xcb, 0x00];
    assert_eq!(encode(&View::default(), 0, &view), expected);
    assert_eq!(decode(&View::default(), 0, &expected), Ok(view.clone()));
    assert_eq!(checksum(&view), 0x264d_6172);
}

fn entity(kind: EntityKind, x: i32, y: i32, vx: i32, vy: i32) -> EntityState {
    EntityState {
        kind,
        x,
        y,
        vx,
        vy,
        ..EntityState::default()
    }
}

/// Delta bodies against bytes computed outside Rust, by `docs/kat/snapshot_body.py`: an
/// encoder written from PROTOCOL.md's "Snapshot body" alone. The bitmap form, with a kept
/// entity that moves by dead reckoning only (no residual), one with a changed field, a
/// removal and an addition, over a gap of 2.
#[test]
fn a_delta_in_the_bitmap_form_has_the_bytes_protocol_md_gives() {
    let baseline = View::from_sorted(vec![
        (
            EntityId(3),
            EntityState {
                health: 100,
                ..entity(EntityKind::Player, 1000, 2000, 30, -10)
            },
        ),
        (
            EntityId(7),
            EntityState {
                health: 100,
                score: 2,
                ..entity(EntityKind::Player, 5000, 5000, 0, 0)
            },
        ),
        (EntityId(9), entity(EntityKind::Drifter, 100, 100, 100, -50)),
    ]);
    let current = View::from_sorted(vec![
        (
            EntityId(3),
            EntityState {
                health: 100,
                ..entity(EntityKind::Player, 1060, 1980, 30, -10)
            },
        ),
        (
            EntityId(7),
            EntityState {
                health: 75,
                score: 2,
                ..entity(EntityKind::Player, 5000, 5000, 0, 0)
            },
        ),
        (
            EntityId(12),
            EntityState {
                owner: 3,
                ..entity(EntityKind::Projectile, 4000, -300, -200, 0)
            },
        ),
    ]);
    let expected = [
        0x21, 0x91, 0x01, 0x1c, 0x81, 0xf5, 0x44, 0xfe, 0xfc, 0xb0, 0x25, 0x8f, 0x43, 0x01,
    ];
    assert_eq!(encode(&baseline, 2, &current), expected);
    assert_eq!(decode(&baseline, 2, &expected), Ok(current.clone()));
    assert_eq!(checksum(&current), 0x7124_5499);
}

/// The list form: twelve drifters on course (no residual each), one nudged 3 quanta off it,
/// over a gap of 1. The list (34 bits) beats the bitmap (36).
#[test]
fn a_delta_in_the_list_form_has_the_bytes_protocol_md_gives() {
    let baseline = View::from_sorted(
        (20..32)
            .map(|i| {
                let x = 1000 * i as i32;
                (EntityId(i), entity(EntityKind::Drifter, x, 500, 100, -50))
            })
            .collect(),
    );
    let current = View::from_sorted(
        (20..32)
            .map(|i| {
                let nudge = if i == 25 { 3 } else { 0 };
                let x = 1000 * i as i32 + 100 + nudge;
                (EntityId(i), entity(EntityKind::Drifter, x, 450, 100, -50))
            })
            .collect(),
    );
    let expected = [0x60, 0x28, 0x83, 0x02, 0x00];
    assert_eq!(encode(&baseline, 1, &current), expected);
    assert_eq!(decode(&baseline, 1, &expected), Ok(current.clone()));
    assert_eq!(checksum(&current), 0x88d3_eb87);
}
