//! One player movement step: the part of the rules a client predicts for its own player.

use crate::map::{MapDef, Point};
use crate::sim::input::PlayerInput;
use crate::sim::rules::{PLAYER_RADIUS, Rules};

/// The moving part of a player, in position quanta and quanta per tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Body {
    pub x: i32,
    pub y: i32,
    pub vx: i32,
    pub vy: i32,
    pub angle: u16,
}

/// Advances `body` by one input: steer towards the input's target velocity, move, then slide
/// along any wall it hit. Only `f64` arithmetic that IEEE 754 rounds exactly (+, -, *, /, sqrt)
/// feeds the result, so every platform computes the same integers.
pub fn step(body: &mut Body, input: &PlayerInput, rules: &Rules, map: &MapDef) {
    body.angle = input.aim;
    let (mut ax, mut ay) = (
        f64::from(input.move_x) / 127.0,
        f64::from(input.move_y) / 127.0,
    );
    let len = (ax * ax + ay * ay).sqrt();
    if len > 1.0 {
        ax /= len;
        ay /= len;
    }
    let (tx, ty) = (ax * rules.max_speed, ay * rules.max_speed);
    let mut vx = f64::from(body.vx) + (tx - f64::from(body.vx)) * rules.response;
    let mut vy = f64::from(body.vy) + (ty - f64::from(body.vy)) * rules.response;
    let speed = (vx * vx + vy * vy).sqrt();
    if speed > rules.max_speed {
        vx *= rules.max_speed / speed;
        vy *= rules.max_speed / speed;
    }
    body.vx = settle(body.vx, vx, tx);
    body.vy = settle(body.vy, vy, ty);
    cap_speed(body, rules.max_speed);
    body.x = body.x.saturating_add(body.vx);
    body.y = body.y.saturating_add(body.vy);
    collide(body, map);
}

/// The new velocity component, an integer: `v` rounded, except that when rounding would
/// leave it where it was (`old`) while the target `t` is at least a quantum away, it moves one
/// quantum towards `t`. Plain rounding stalls small speeds: with no input a player kept
/// drifting at 3 quanta a tick (0.18 units a second) forever, since 3 x 0.85 rounds back to
/// 3. This way every component reaches the target's neighbourhood, and with no input exactly
/// 0, in a bounded number of steps, never passing the target.
fn settle(old: i32, v: f64, t: f64) -> i32 {
    let rounded = v.round() as i32;
    let gap = t - f64::from(old);
    if rounded == old && gap.abs() >= 1.0 {
        old + if gap > 0.0 { 1 } else { -1 }
    } else {
        rounded
    }
}

/// Rounding can put an integer velocity just above the speed limit: shorten the larger
/// component by a quantum until it is within (integer arithmetic, exact everywhere).
fn cap_speed(body: &mut Body, max_speed: f64) {
    // `max_speed` is far below 2^31 quanta per tick.
    let max2 = (max_speed * max_speed).floor() as i64;
    while i64::from(body.vx).pow(2) + i64::from(body.vy).pow(2) > max2 {
        let toward_zero = |v: i32| v - v.signum();
        if body.vx.abs() >= body.vy.abs() {
            body.vx = toward_zero(body.vx);
        } else {
            body.vy = toward_zero(body.vy);
        }
    }
}

/// Pushes the body out of every wall it overlaps and removes the velocity into that wall, then
/// keeps it inside the map.
fn collide(body: &mut Body, map: &MapDef) {
    let r = i64::from(PLAYER_RADIUS);
    for wall in &map.walls {
        let p = Point {
            x: body.x,
            y: body.y,
        };
        let d2 = wall.distance_sq(p);
        if d2 >= r * r {
            continue;
        }
        let cx = body.x.clamp(wall.x, wall.right());
        let cy = body.y.clamp(wall.y, wall.bottom());
        let (nx, ny, depth) = if d2 == 0 {
            // Centre inside the wall: leave by the nearest side.
            let exits = [
                (-1.0, 0.0, body.x - wall.x),
                (1.0, 0.0, wall.right() - body.x),
                (0.0, -1.0, body.y - wall.y),
                (0.0, 1.0, wall.bottom() - body.y),
            ];
            let (nx, ny, inside) = exits
                .into_iter()
                .min_by_key(|e| e.2)
                .unwrap_or((0.0, -1.0, 0));
            (nx, ny, f64::from(inside) + r as f64)
        } else {
            let dist = (d2 as f64).sqrt();
            (
                f64::from(body.x - cx) / dist,
                f64::from(body.y - cy) / dist,
                r as f64 - dist,
            )
        };
        body.x = body
            .x
            .saturating_add((nx.abs() * depth).ceil() as i32 * sign(nx));
        body.y = body
            .y
            .saturating_add((ny.abs() * depth).ceil() as i32 * sign(ny));
        let into = f64::from(body.vx) * nx + f64::from(body.vy) * ny;
        if into < 0.0 {
            body.vx = (f64::from(body.vx) - into * nx).round() as i32;
            body.vy = (f64::from(body.vy) - into * ny).round() as i32;
        }
    }
    body.x = body.x.clamp(PLAYER_RADIUS, map.width - PLAYER_RADIUS);
    body.y = body.y.clamp(PLAYER_RADIUS, map.height - PLAYER_RADIUS);
}

/// `ceil` of a negative push would round towards the wall; pushing by the magnitude's ceiling in
/// the normal's direction always clears it.
fn sign(n: f64) -> i32 {
    if n < 0.0 { -1 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantize::POS_SCALE;

    fn input(move_x: i8, move_y: i8) -> PlayerInput {
        PlayerInput {
            move_x,
            move_y,
            aim: 0,
            ..PlayerInput::default()
        }
    }

    #[test]
    fn accelerates_to_max_speed_and_no_further() {
        let (map, rules) = (MapDef::arena(), Rules::for_tick_rate(60));
        let mut body = Body {
            x: 5 * POS_SCALE,
            y: 5 * POS_SCALE,
            ..Body::default()
        };
        for _ in 0..40 {
            step(&mut body, &input(127, 127), &rules, &map);
        }
        let speed = f64::from(body.vx).hypot(f64::from(body.vy));
        assert!(
            speed <= rules.max_speed && speed > rules.max_speed * 0.98,
            "speed {speed}"
        );
    }

    proptest::proptest! {
        /// With no input, any body comes to a complete stop within 40 ticks (60 Hz), wherever it
        /// is and however fast it moved.
        #[test]
        fn a_body_without_input_comes_to_rest(
            x in 2_000i32..62_000, y in 2_000i32..34_000,
            vx in -133i32..=133, vy in -133i32..=133,
        ) {
            let (map, rules) = (MapDef::arena(), Rules::for_tick_rate(60));
            let mut body = Body { x, y, vx, vy, angle: 0 };
            cap_speed(&mut body, rules.max_speed);
            for _ in 0..40 {
                step(&mut body, &input(0, 0), &rules, &map);
            }
            proptest::prop_assert_eq!((body.vx, body.vy), (0, 0));
            let rest = (body.x, body.y);
            step(&mut body, &input(0, 0), &rules, &map);
            proptest::prop_assert_eq!((body.x, body.y), rest);
        }

        /// Whatever the inputs, the integer velocity never exceeds the speed limit.
        #[test]
        fn speed_never_exceeds_the_limit(
            inputs in proptest::collection::vec((-127i8..=127, -127i8..=127), 1..120),
            hz in proptest::sample::select(vec![20u16, 30, 60, 128]),
        ) {
            let (map, rules) = (MapDef::arena(), Rules::for_tick_rate(hz));
            let mut body = Body { x: 20_000, y: 20_000, ..Body::default() };
            for (mx, my) in inputs {
                step(&mut body, &input(mx, my), &rules, &map);
                let speed2 = f64::from(body.vx).powi(2) + f64::from(body.vy).powi(2);
                proptest::prop_assert!(speed2 <= rules.max_speed * rules.max_speed, "{body:?}");
            }
        }
    }

    #[test]
    fn walls_stop_a_player() {
        let (map, rules) = (MapDef::arena(), Rules::for_tick_rate(60));
        let mut body = Body {
            x: 5 * POS_SCALE,
            y: 5 * POS_SCALE,
            ..Body::default()
        };
        for _ in 0..600 {
            step(&mut body, &input(-127, 0), &rules, &map);
        }
        // The left wall is one unit thick: the player rests against it.
        assert!(
            (body.x - (POS_SCALE + PLAYER_RADIUS)).abs() <= 2,
            "x {}",
            body.x
        );
        assert_eq!(body.vx, 0);
    }
}
