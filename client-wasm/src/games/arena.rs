//! The arena in the browser: players (aim, health bar), shots and drifters; players the
//! server sends but the screen cannot show get an arrow at the edge.

use snapwire_shared::client::Drawn;
use snapwire_shared::quantize::{POS_SCALE, angle_to_radians};
use snapwire_shared::sim::World;
use snapwire_shared::sim::rules::{MAX_HEALTH, PLAYER_RADIUS, PROJECTILE_RADIUS};
use snapwire_shared::snapshot::{EntityKind, EntityState};
use web_sys::CanvasRenderingContext2d;

use super::{WebGame, circle, name_of, name_tag, own_ring, player_colour};
use crate::app::{App, Me};
use crate::camera::Camera;
use crate::render::{Screen, banner};

impl WebGame for World {
    const TITLE: &'static str = "snapwire arena";
    const HELP: &'static str = "WASD move, mouse aim and fire, N net graph";

    fn score_of(state: &EntityState) -> i32 {
        state.score
    }

    fn score_words(kills: i32, _: u16) -> String {
        let unit = if kills == 1 { "kill" } else { "kills" };
        format!("{kills} {unit}")
    }

    fn on_minimap(state: &EntityState) -> bool {
        state.kind == EntityKind::Player && state.health > 0
    }

    fn draw(
        ctx: &CanvasRenderingContext2d,
        screen: Screen,
        cam: &Camera,
        app: &App<World>,
        drawn: &[Drawn<EntityState>],
        me: Option<&Me<EntityState>>,
    ) {
        for d in drawn {
            let (x, y) = cam.at(d.x, d.y);
            match d.state.kind {
                EntityKind::Drifter => {
                    ctx.set_fill_style_str("#3d6f8f");
                    let s = cam.len(f64::from(POS_SCALE / 4));
                    ctx.fill_rect(x - s / 2.0, y - s / 2.0, s, s);
                }
                EntityKind::Projectile => {
                    ctx.set_fill_style_str("#ffd166");
                    circle(ctx, x, y, cam.len(f64::from(PROJECTILE_RADIUS)));
                }
                EntityKind::Player if d.state.health > 0 => {
                    let name = name_of(app, d.id.0);
                    player(ctx, cam, x, y, d.id.0, &name, &d.state, false);
                    // A player the server sends but the screen cannot show (one shooting at
                    // us from beyond the view): point at them from the edge.
                    if let Some((ex, ey, angle)) = cam.edge_marker(x, y, 14.0) {
                        edge_arrow(ctx, ex, ey, angle, d.id.0);
                    }
                }
                EntityKind::Player => {}
            }
        }
        match me {
            Some(me) if me.state.health > 0 => {
                let (x, y) = cam.at(me.x, me.y);
                let id = app.session.player_id().map_or(0, |id| id.0);
                let name = name_of(app, id);
                player(ctx, cam, x, y, id, &name, &me.state, true);
            }
            Some(_) => banner(ctx, screen, "You were hit. Respawning..."),
            None => {}
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn player(
    ctx: &CanvasRenderingContext2d,
    cam: &Camera,
    x: f64,
    y: f64,
    id: u32,
    name: &str,
    state: &EntityState,
    own: bool,
) {
    let r = cam.len(f64::from(PLAYER_RADIUS));
    ctx.set_fill_style_str(&player_colour(id));
    circle(ctx, x, y, r);
    if own {
        own_ring(ctx, x, y, r);
    }
    let aim = f64::from(angle_to_radians(state.angle));
    let (dx, dy) = (aim.cos(), aim.sin());
    ctx.set_stroke_style_str("#e0e0e0");
    ctx.set_line_width(3.0);
    ctx.begin_path();
    ctx.move_to(x, y);
    ctx.line_to(x + dx * r * 1.6, y + dy * r * 1.6);
    ctx.stroke();
    name_tag(ctx, name, x, y - r - 8.0);
    let frac = f64::from(state.health) / f64::from(MAX_HEALTH);
    ctx.set_fill_style_str("#400");
    ctx.fill_rect(x - r, y + r + 4.0, 2.0 * r, 4.0);
    ctx.set_fill_style_str("#4caf50");
    ctx.fill_rect(x - r, y + r + 4.0, 2.0 * r * frac, 4.0);
}

fn edge_arrow(ctx: &CanvasRenderingContext2d, x: f64, y: f64, angle: f64, id: u32) {
    let (c, s) = (angle.cos(), angle.sin());
    ctx.set_fill_style_str(&player_colour(id));
    ctx.begin_path();
    ctx.move_to(x + c * 10.0, y + s * 10.0);
    ctx.line_to(x - c * 6.0 - s * 7.0, y - s * 6.0 + c * 7.0);
    ctx.line_to(x - c * 6.0 + s * 7.0, y - s * 6.0 - c * 7.0);
    ctx.close_path();
    ctx.fill();
}
