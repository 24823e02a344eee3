//! `#[derive(Replicate)]` on a state that uses every attribute, through the real codec: random
//! states, random change sequences with lost snapshots and lost acks; every body a client
//! receives rebuilds exactly what the server quantized.

use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;
use snapwire_shared::sim::EntityId;
use snapwire_shared::snapshot::{
    Layout, Replicate, ReplicateKind, View, checksum, decode, encode, replicate::FieldLayout,
};

/// Kinds with a gap in their values: the wire carries the discriminant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ReplicateKind)]
enum Kind {
    #[default]
    Runner = 0,
    Ball = 1,
    Flag = 5,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Replicate)]
struct Thing {
    #[replicate(kind)]
    kind: Kind,
    #[replicate(group = "motion", chunk = 5, velocity = "vx")]
    x: i32,
    #[replicate(group = "motion", bits = 20, chunk = 5, velocity = "vy")]
    y: i32,
    #[replicate(group = "motion", bits = 12, chunk = 3)]
    vx: i16,
    #[replicate(group = "motion", bits = 12, chunk = 3)]
    vy: i32,
    /// An angle in radians, 1/1000 rad on the wire.
    #[replicate(scale = 1000, bits = 16, chunk = 6)]
    heading: f32,
    #[replicate(scale = 0.5)]
    charge: f64,
    carrying: bool,
    #[replicate(group = "rare", bits = 7, chunk = 2)]
    team: u8,
    #[replicate(group = "rare")]
    lives: u16,
    #[replicate(group = "rare", bits = 1)]
    ready: u8,
    /// Server-only bookkeeping: never on the wire.
    #[replicate(skip)]
    think_timer: u32,
}

/// A state without a kind field and a single field.
#[derive(Debug, Clone, Copy, PartialEq, Default, Replicate)]
struct Counter {
    #[replicate(bits = 3)]
    value: u8,
}

#[test]
fn the_layout_is_what_the_attributes_say() {
    let l = Thing::LAYOUT;
    assert_eq!(l.check(), Ok(()));
    assert_eq!(l.kind_bits, 3, "the largest kind, 5, needs 3 bits");
    let widths: Vec<u32> = l.fields.iter().map(|f| f.width).collect();
    assert_eq!(widths, [32, 20, 12, 12, 16, 32, 1, 7, 16, 1]);
    assert_eq!(
        l.fields[2],
        FieldLayout {
            name: "vx",
            width: 12,
            chunk: 3,
            signed: true
        }
    );
    assert_eq!(l.groups, &[(0, 4), (4, 5), (5, 6), (6, 7), (7, 10)]);
    assert_eq!(l.motion, &[(0, 2), (1, 3)]);
    assert_eq!(
        Counter::LAYOUT,
        Layout {
            kind_bits: 0,
            fields: &[FieldLayout {
                name: "value",
                width: 3,
                chunk: 4,
                signed: false
            }],
            groups: &[(0, 1)],
            motion: &[],
        }
    );
    assert_eq!(Kind::from_bits(5), Some(Kind::Flag));
    assert_eq!(Kind::from_bits(2), None);
}

#[test]
fn words_are_canonical_and_invert() {
    let t = Thing {
        kind: Kind::Flag,
        x: -5,
        y: -(1 << 19),
        vx: -2048,
        vy: 2047,
        heading: -2.7186,
        charge: 7.25,
        carrying: true,
        team: 127,
        lives: 65535,
        ready: 1,
        think_timer: 99,
    };
    let w = t.words();
    assert_eq!(w[0], (-5i32) as u32);
    assert_eq!(w[1], 1 << 19, "-2^19 in 20 bits");
    assert_eq!(w[2], 0x800);
    assert_eq!(w[4], (-2719i32) as u32 & 0xffff);
    assert_eq!(w[5], 4, "7.25 * 0.5 = 3.625 rounds to 4");
    assert_eq!(t.kind(), 5);
    let back = Thing::from_words(5, &w).expect("a known kind");
    assert_eq!(
        back.think_timer, 0,
        "skipped fields come back as their default"
    );
    assert_eq!(back.heading, -2.719);
    assert_eq!(back.charge, 8.0, "the nearest step of 2");
    assert_eq!(back.words(), w);
    assert_eq!(Thing::from_words(2, &w), None, "no kind 2");
    assert_eq!(
        Counter::from_words(1, &[3]),
        None,
        "a kind-less state is kind 0"
    );
}

fn thing() -> impl Strategy<Value = Thing> {
    (
        prop_oneof![Just(Kind::Runner), Just(Kind::Ball), Just(Kind::Flag)],
        (any::<i32>(), -(1i32 << 19)..(1 << 19)),
        (-2048i16..2048, -2048i32..2048),
        (-32.0f32..32.0, -1e6f64..1e6),
        (any::<bool>(), 0u8..128, any::<u16>(), 0u8..2),
        any::<u32>(),
    )
        .prop_map(
            |(kind, (x, y), (vx, vy), (heading, charge), (carrying, team, lives, ready), t)| {
                Thing {
                    kind,
                    x,
                    y,
                    vx,
                    vy,
                    heading,
                    charge,
                    carrying,
                    team,
                    lives,
                    ready,
                    think_timer: t,
                }
            },
        )
}

fn view() -> impl Strategy<Value = View<Thing>> {
    proptest::collection::btree_map(0u32..100, thing(), 0..24).prop_map(|m| {
        View::from_sorted(
            m.into_iter()
                .map(|(id, s)| (EntityId(id), s.quantized()))
                .collect(),
        )
    })
}

/// One tick of change to the world.
#[derive(Debug, Clone)]
enum Change {
    Spawn(Thing),
    Despawn(usize),
    Steer(usize, i16, i32),
    Turn(usize, f32),
    Toggle(usize),
    Score(usize, u16),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        thing().prop_map(Change::Spawn),
        any::<usize>().prop_map(Change::Despawn),
        (any::<usize>(), -8i16..8, -8i32..8).prop_map(|(i, a, b)| Change::Steer(i, a, b)),
        (any::<usize>(), -1.0f32..1.0).prop_map(|(i, d)| Change::Turn(i, d)),
        any::<usize>().prop_map(Change::Toggle),
        (any::<usize>(), any::<u16>()).prop_map(|(i, s)| Change::Score(i, s)),
    ]
}

const HISTORY: usize = 32;

proptest! {
    #[test]
    fn any_view_round_trips_against_any_baseline(base in view(), current in view(), gap in 0u32..100) {
        let body = encode(&base, gap, &current);
        prop_assert_eq!(decode(&base, gap, &body), Ok(current));
    }

    #[test]
    fn quantizing_twice_changes_nothing(t in thing()) {
        prop_assert_eq!(t.quantized().quantized(), t.quantized());
        prop_assert_eq!(t.quantized().words(), t.words());
    }

    #[test]
    fn hostile_bodies_never_panic(base in view(), body in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = decode(&base, 1, &body);
    }

    /// A server that moves things by their velocity, changes some, loses snapshots and acks,
    /// and always encodes against the newest acknowledged tick it still holds.
    #[test]
    fn every_received_snapshot_rebuilds_exactly(
        ticks in proptest::collection::vec(
            (proptest::collection::vec(change(), 0..4), any::<bool>(), any::<bool>()),
            1..120,
        )
    ) {
        let mut world: BTreeMap<u32, Thing> = BTreeMap::new();
        let mut next_id = 0u32;
        let mut history: VecDeque<(u32, View<Thing>)> = VecDeque::new();
        let mut acked: Option<u32> = None;
        let mut client: BTreeMap<u32, View<Thing>> = BTreeMap::new();
        for (tick, (changes, delivered, ack_arrives)) in (1u32..).zip(ticks) {
            for t in world.values_mut() {
                t.x = t.x.wrapping_add(i32::from(t.vx));
                t.y = ((t.y + t.vy + (1 << 19)).rem_euclid(1 << 20)) - (1 << 19);
            }
            for c in changes {
                let pick = |i: usize| (!world.is_empty()).then(|| *world.keys().nth(i % world.len()).unwrap_or(&0));
                match c {
                    Change::Spawn(t) => {
                        world.insert(next_id, t);
                        next_id += 1;
                    }
                    Change::Despawn(i) => { if let Some(id) = pick(i) { world.remove(&id); } }
                    Change::Steer(i, a, b) => if let Some(t) = pick(i).and_then(|id| world.get_mut(&id)) {
                        t.vx = (t.vx + a).clamp(-2048, 2047);
                        t.vy = (t.vy + b).clamp(-2048, 2047);
                    },
                    Change::Turn(i, d) => if let Some(t) = pick(i).and_then(|id| world.get_mut(&id)) {
                        t.heading = (t.heading + d).clamp(-32.0, 32.0);
                    },
                    Change::Toggle(i) => if let Some(t) = pick(i).and_then(|id| world.get_mut(&id)) {
                        t.carrying = !t.carrying;
                        t.ready ^= 1;
                    },
                    Change::Score(i, s) => if let Some(t) = pick(i).and_then(|id| world.get_mut(&id)) {
                        t.lives = s;
                        t.think_timer += 1;
                    },
                }
            }
            let current = View::from_sorted(world.iter().map(|(id, t)| (EntityId(*id), t.quantized())).collect());
            if history.len() == HISTORY {
                history.pop_front();
            }
            history.push_back((tick, current.clone()));
            let empty = View::default();
            let (gap, base) = match acked.and_then(|a| history.iter().find(|(t, _)| *t == a)) {
                Some((t, v)) => (tick - t, v),
                None => (0, &empty),
            };
            let body = encode(base, gap, &current);
            if !delivered {
                continue;
            }
            let client_base = if gap == 0 { &empty } else { &client[&(tick - gap)] };
            let got = decode(client_base, gap, &body).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(checksum(&got), checksum(&current));
            prop_assert_eq!(&got, &current);
            client.insert(tick, got);
            if ack_arrives {
                acked = Some(tick);
            }
        }
    }
}

#[test]
fn constant_motion_costs_no_residual_bits() {
    let moving = Thing {
        kind: Kind::Ball,
        x: 100,
        y: -100,
        vx: -7,
        vy: 9,
        ..Thing::default()
    };
    let base = View::from_sorted(vec![(EntityId(3), moving)]);
    let later = Thing {
        x: 100 - 7 * 5,
        y: -100 + 9 * 5,
        ..moving
    };
    let current = View::from_sorted(vec![(EntityId(3), later)]);
    let body = encode(&base, 5, &current);
    // removed count, kept form bit + changed bitmap bit, added count: 5 + 2 + 5 bits.
    assert_eq!(body.len(), 2);
    assert_eq!(decode(&base, 5, &body), Ok(current));
}

#[test]
fn a_flipped_flag_costs_only_its_mask_bits() {
    let base_state = Thing {
        kind: Kind::Runner,
        ..Thing::default()
    };
    let base = View::from_sorted(vec![(EntityId(0), base_state)]);
    let flipped = Thing {
        carrying: true,
        ..base_state
    };
    let current = View::from_sorted(vec![(EntityId(0), flipped)]);
    let body = encode(&base, 1, &current);
    // 5 (removed) + 1 (form) + 1 (changed) + 5 group bits (one set) + 5 (added) = 17 bits.
    assert_eq!(body.len(), 3);
    assert_eq!(decode(&base, 1, &body), Ok(current));
}
