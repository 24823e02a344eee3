use proptest::prelude::*;

use super::*;
use crate::sim::EntityId;

fn state() -> impl Strategy<Value = EntityState> {
    (
        0u32..3,
        any::<[i32; 4]>(),
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        any::<i32>(),
        any::<u32>(),
    )
        .prop_map(
            |(kind, [x, y, vx, vy], angle, health, life, score, owner)| EntityState {
                kind: EntityKind::from_bits(kind).unwrap_or_default(),
                x,
                y,
                vx,
                vy,
                angle,
                health,
                life,
                score,
                owner,
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

#[test]
fn constant_motion_costs_one_bit_per_entity() {
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
    // Removed count, 100 "unchanged" bits, added count.
    assert_eq!(body.len(), (5 + 100 + 5usize).div_ceil(8));
}
