//! Lag compensation without sockets: a shooter 100 ms behind the world aims its rail where it
//! saw a target strafing at full speed. Judged at the moment it saw, the shot hits; judged
//! at the present (no rewind), or at a claim older than the maximum rewind, it misses.

use std::sync::Arc;

use snapwire_shared::map::{MapDef, Point};
use snapwire_shared::quantize::{POS_SCALE, angle_from_radians};
use snapwire_shared::sim::rules::{MAX_HEALTH, RAIL_DAMAGE};
use snapwire_shared::sim::{EntityId, PlayerInput, Rules, ViewTime, World};
use snapwire_shared::snapshot::EntityKind;
use snapwire_shared::tick::Tick;

const TICK_RATE: u16 = 60;
/// 100 ms at 60 Hz: an interpolation delay of two ticks plus half of a 130 ms round trip.
const SHOOTER_BEHIND: u32 = 6;

fn open_field() -> Arc<MapDef> {
    Arc::new(MapDef {
        name: "open".into(),
        width: 60 * POS_SCALE,
        height: 60 * POS_SCALE,
        walls: Vec::new(),
        spawns: vec![Point {
            x: 30 * POS_SCALE,
            y: 30 * POS_SCALE,
        }],
    })
}

/// A world where the target has strafed (+y, full speed) long enough to be at top speed, and
/// every snapshot's target position so far, by tick.
struct Range {
    world: World,
    shooter: EntityId,
    target: EntityId,
    seen: Vec<(Tick, Point)>,
}

fn range(max_rewind_ms: u32) -> Range {
    let rules = Rules::for_tick_rate(TICK_RATE).with_max_rewind_ms(max_rewind_ms);
    let mut world = World::new(open_field(), rules, Tick(1_000));
    let shooter = world.spawn_player("shooter".into());
    let target = world.spawn_player("target".into());
    for (id, x) in [(shooter, 20), (target, 30)] {
        let p = world.player_mut(id).expect("joined");
        (p.body.x, p.body.y) = (x * POS_SCALE, 15 * POS_SCALE);
    }
    let strafe = PlayerInput {
        move_y: 127,
        ..PlayerInput::default()
    };
    let mut seen = Vec::new();
    for _ in 0..90 {
        world.apply_input(target, &strafe);
        world.step();
        let b = world.player(target).expect("target").body;
        seen.push((world.tick(), Point { x: b.x, y: b.y }));
    }
    Range {
        world,
        shooter,
        target,
        seen,
    }
}

impl Range {
    /// The shooter fires its rail at where the target was in the snapshot `back` ticks old,
    /// claiming that moment; returns the target's health after the shot.
    fn shoot_at_seen(&mut self, back: u32) -> u8 {
        let now = self.world.tick();
        let then = Tick(now.0 - back);
        let at = self.seen.iter().find(|(t, _)| *t == then).expect("seen").1;
        let s = self.world.player(self.shooter).expect("shooter").body;
        let aim = f64::atan2(f64::from(at.y - s.y), f64::from(at.x - s.x));
        let shot = PlayerInput {
            aim: angle_from_radians(aim as f32),
            alt_fire: true,
            view: ViewTime {
                tick: then,
                frac: 0,
            },
            ..PlayerInput::default()
        };
        self.world.apply_input(self.shooter, &shot);
        self.world.player(self.target).expect("target").health
    }
}

#[test]
fn the_target_moved_more_than_its_radius_while_the_shot_was_on_its_way() {
    let r = range(200);
    let n = r.seen.len();
    let (then, now) = (r.seen[n - 1 - SHOOTER_BEHIND as usize].1, r.seen[n - 1].1);
    let moved = f64::from(now.y - then.y) / f64::from(POS_SCALE);
    // 8 units a second for 100 ms: a body width (the radius is half a unit).
    assert!(moved > 0.75, "the target moved {moved} units");
}

#[test]
fn a_shot_judged_where_the_shooter_saw_the_target_hits() {
    let mut r = range(200);
    assert_eq!(r.shoot_at_seen(SHOOTER_BEHIND), MAX_HEALTH - RAIL_DAMAGE);
    let shooter = r.world.player(r.shooter).expect("shooter");
    assert_eq!(shooter.hits, 1, "the shooter's hit marker counter");
    assert_eq!(r.world.rewinds().judged, 1);
    assert_eq!(r.world.rewinds().clamped, 0);
}

#[test]
fn the_same_shot_without_lag_compensation_misses() {
    let mut r = range(0);
    assert_eq!(r.shoot_at_seen(SHOOTER_BEHIND), MAX_HEALTH);
    assert_eq!(r.world.rewinds().clamped, 1);
    // Aimed at the present, it would have hit: the miss is the lag, not the aim.
    let mut r = range(0);
    assert_eq!(r.shoot_at_seen(0), MAX_HEALTH - RAIL_DAMAGE);
}

#[test]
fn a_claim_older_than_the_maximum_rewind_does_not_hit() {
    // 200 ms is 12 ticks: a claim 18 ticks (300 ms) old is judged 12 ticks back, where the
    // target had already moved on.
    let mut r = range(200);
    assert_eq!(r.shoot_at_seen(18), MAX_HEALTH);
    assert_eq!(r.world.rewinds().clamped, 1);
    // Within the bound, the same shooter hits.
    let mut r = range(200);
    assert_eq!(r.shoot_at_seen(12), MAX_HEALTH - RAIL_DAMAGE);
}

#[test]
fn three_rail_hits_kill_and_leave_an_obituary() {
    let mut r = range(200);
    let cooldown = r.world.rules().rail_cooldown;
    for shot in 0..3 {
        r.shoot_at_seen(0);
        if shot < 2 {
            // Wait out the rail's cooldown (counted in the shooter's steps) with idle steps.
            for _ in 0..cooldown {
                r.world.apply_input(r.shooter, &PlayerInput::default());
                r.world.step();
                let b = r.world.player(r.target).expect("target").body;
                r.seen.push((r.world.tick(), Point { x: b.x, y: b.y }));
            }
        }
    }
    let target = r.world.player(r.target).expect("target");
    assert_eq!((target.health, target.life), (0, 1));
    assert_eq!(r.world.player(r.shooter).expect("shooter").score, 1);
    let obituary = r
        .world
        .entities()
        .map(|(_, e)| e.net_state())
        .find(|s| s.kind == EntityKind::Obituary)
        .expect("an obituary");
    assert_eq!((obituary.owner, obituary.target), (r.shooter.0, r.target.0));
    // It lasts a second, then goes.
    for _ in 0..r.world.rules().obituary_ticks {
        r.world.step();
    }
    assert!(
        r.world
            .entities()
            .all(|(_, e)| e.net_state().kind != EntityKind::Obituary)
    );
}

#[test]
fn a_projectile_starts_as_far_along_as_the_shooters_view_is_old() {
    let fire = |back: u32| {
        let mut r = range(200);
        let now = r.world.tick();
        let shot = PlayerInput {
            aim: angle_from_radians(std::f32::consts::PI),
            fire: true,
            view: ViewTime {
                tick: Tick(now.0 - back),
                frac: 0,
            },
            ..PlayerInput::default()
        };
        r.world.apply_input(r.shooter, &shot);
        r.world.step();
        r.world
            .entities()
            .map(|(_, e)| e.net_state())
            .find(|s| s.kind == EntityKind::Projectile)
            .expect("a projectile")
    };
    // After the step that fired it: one tick of flight, plus what the shooter's view owed.
    let (fresh, behind) = (fire(0), fire(SHOOTER_BEHIND));
    assert_eq!(behind.x, fresh.x + SHOOTER_BEHIND as i32 * fresh.vx);
    // Never further than the maximum rewind.
    assert_eq!(fire(40).x, fresh.x + 12 * fresh.vx);
}

#[test]
fn a_projectile_catching_up_still_hits_what_lies_on_its_way() {
    // The target stands 3 units off; a shot owing 12 ticks (4.8 units) of flight would jump
    // past it if only its end point were checked.
    let mut r = range(200);
    let s = r.world.player(r.shooter).expect("shooter").body;
    let t = r.world.player_mut(r.target).expect("target");
    (t.body.x, t.body.y) = (s.x + 3 * POS_SCALE, s.y);
    let now = r.world.tick();
    let shot = PlayerInput {
        fire: true,
        view: ViewTime {
            tick: Tick(now.0 - 12),
            frac: 0,
        },
        ..PlayerInput::default()
    };
    r.world.apply_input(r.shooter, &shot);
    r.world.step();
    let health = r.world.player(r.target).expect("target").health;
    assert_eq!(
        health,
        MAX_HEALTH - snapwire_shared::sim::rules::PROJECTILE_DAMAGE
    );
}
