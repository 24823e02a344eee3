use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::map::MapDef;
use crate::tick::Tick;

fn inputs() -> impl Strategy<Value = Vec<[PlayerInput; 4]>> {
    let controls = (
        any::<i8>(),
        any::<i8>(),
        any::<u16>(),
        any::<bool>(),
        any::<bool>(),
    );
    // The view's tick holds how many ticks back the claim is (0..20, so some are clamped);
    // `run` makes it absolute.
    let one = (controls, 0u32..20, any::<u8>()).prop_map(
        |((move_x, move_y, aim, fire, alt_fire), back, frac)| PlayerInput {
            move_x: move_x.max(-127),
            move_y: move_y.max(-127),
            aim,
            fire,
            alt_fire,
            view: ViewTime {
                tick: Tick(back),
                frac,
            },
        },
    );
    proptest::collection::vec(proptest::array::uniform4(one), 1..300)
}

fn run(steps: &[[PlayerInput; 4]]) -> World {
    let mut world = World::new(Arc::new(MapDef::arena()), Rules::for_tick_rate(60), Tick(7));
    let ids: Vec<_> = (0..4)
        .map(|i| world.spawn_player(format!("p{i}")))
        .collect();
    world.add_drifters(10);
    for step in steps {
        for (id, input) in ids.iter().zip(step) {
            let mut input = *input;
            input.view.tick = Tick(world.tick().0.wrapping_sub(input.view.tick.0));
            world.apply_input(*id, &input);
        }
        world.step();
    }
    world
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn same_inputs_give_the_same_world_bit_for_bit(steps in inputs()) {
        let (a, b) = (run(&steps), run(&steps));
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a.tick(), Tick(7).plus(steps.len() as u32));
        for (_, e) in a.entities() {
            let p = e.position();
            prop_assert!(a.map().contains(p), "entity left the map: {:?}", e);
        }
    }
}

#[test]
fn projectiles_hit_kill_and_players_respawn() {
    let mut world = World::new(Arc::new(MapDef::arena()), Rules::for_tick_rate(60), Tick(0));
    let shooter = world.spawn_player("shooter".into());
    let target = world.spawn_player("target".into());
    // Stand the target right of the shooter: aim 0 points along +x.
    let sx = world.player(shooter).map(|p| p.body);
    let sx = sx.expect("shooter exists");
    if let Some(t) = world.player_mut(target) {
        t.body.x = sx.x + 3 * crate::quantize::POS_SCALE;
        t.body.y = sx.y;
    }
    let fire = PlayerInput {
        fire: true,
        ..PlayerInput::default()
    };
    for _ in 0..200 {
        world.apply_input(shooter, &fire);
        world.step();
        if world.player(target).is_some_and(|t| t.life > 0) {
            break;
        }
    }
    let t = world.player(target).expect("target exists");
    assert_eq!(t.life, 1, "target died once");
    assert_eq!(world.player(shooter).map(|s| s.score), Some(1));
    for _ in 0..world.rules().respawn_ticks {
        world.step();
    }
    assert_eq!(
        world.player(target).map(|t| t.health),
        Some(rules::MAX_HEALTH)
    );
    // Respawned at the arena's spawn point farthest from the shooter, not next to them.
    let (t, s) = (
        world.player(target).expect("target").body,
        world.player(shooter).expect("shooter").body,
    );
    let away =
        |p: &crate::map::Point| (i64::from(p.x - s.x)).pow(2) + (i64::from(p.y - s.y)).pow(2);
    let farthest = world.map().spawns.iter().map(away).max().unwrap_or(0);
    let d2 = away(&crate::map::Point { x: t.x, y: t.y });
    assert!(
        d2 >= farthest.min(i64::from(crate::sim::spawn::CLEAR_DISTANCE).pow(2)),
        "respawned {d2} (squared quanta) from the shooter"
    );
}

#[test]
fn drifters_move_by_a_constant_step_and_wrap() {
    let mut world = World::new(Arc::new(MapDef::arena()), Rules::for_tick_rate(60), Tick(0));
    world.add_drifters(3);
    let before: Vec<_> = world.entities().map(|(_, e)| e.position()).collect();
    world.step();
    for ((_, e), b) in world.entities().zip(&before) {
        let p = e.position();
        assert_eq!((p.x - b.x).rem_euclid(world.map().width), 100);
        assert_eq!((b.y - p.y).rem_euclid(world.map().height), 50);
    }
}
