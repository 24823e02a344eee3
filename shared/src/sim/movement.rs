//! One player movement step: the part of the rules a client predicts for its own player.

use crate::map::{MapDef, Point};
use crate::sim::input::PlayerInput;
use crate::sim::rules::{PLAYER_RADIUS, Rules};

/// The moving part of a player, in position quanta and quanta per tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
    body.vx = vx.round() as i32;
    body.vy = vy.round() as i32;
    body.x = body.x.saturating_add(body.vx);
    body.y = body.y.saturating_add(body.vy);
    collide(body, map);
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
            fire: false,
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
            speed <= rules.max_speed + 1.0 && speed > rules.max_speed * 0.9,
            "speed {speed}"
        );
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
