//! The arena in the browser: players (aim, health bar), the dead where they fell, shots and
//! drifters; players the server sends but the screen cannot show get an arrow at the edge.
//! Over them the feedback the server confirms ([`super::arena_hud`]): hit marker, kill feed,
//! who killed you, the respawn, and the own rail's flash.

use snapwire_shared::client::{ClientSession, Drawn};
use snapwire_shared::quantize::{POS_SCALE, angle_to_radians};
use snapwire_shared::sim::rules::{MAX_HEALTH, PLAYER_RADIUS, PROJECTILE_RADIUS};
use snapwire_shared::sim::{Rules, World, rail};
use snapwire_shared::snapshot::{EntityKind, EntityState};

use super::arena_hud::{ArenaHud, FEED_MS};
use super::{Me, View, WebGame, name_of};
use crate::camera::Camera;
use crate::controls::Controls;
use crate::draw::{Canvas, Screen, banner, circle, name_tag, own_ring, player_colour};

impl WebGame for World {
    const TITLE: &'static str = "snapwire arena";
    const HELP: &'static str =
        "WASD move, mouse aim, click fire, right-click or E rail, N net graph";

    type Hud = ArenaHud;

    fn on_snapshot(hud: &mut ArenaHud, session: &ClientSession<World>, now_ms: f64) {
        hud.on_snapshot(session, now_ms);
    }

    fn on_input(hud: &mut ArenaHud, controls: &Controls, now_ms: f64) {
        hud.on_input(controls, now_ms);
    }

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
        ctx: &dyn Canvas,
        screen: Screen,
        cam: &Camera,
        view: &View<'_, World>,
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
                    let name = name_of(view, d.id.0);
                    player(ctx, cam, x, y, d.id.0, &name, &d.state, false);
                    // A player the server sends but the screen cannot show (one shooting at
                    // us from beyond the view): point at them from the edge.
                    if let Some((ex, ey, angle)) = cam.edge_marker(x, y, 14.0) {
                        edge_arrow(ctx, ex, ey, angle, d.id.0);
                    }
                }
                // Where a player fell, until it respawns elsewhere.
                EntityKind::Player => fallen(ctx, cam, x, y, d.id.0),
                // Read by the kill feed, not drawn.
                EntityKind::Obituary => {}
            }
        }
        let now = view.now_ms;
        let hud = &view.hud;
        match me {
            Some(me) if me.state.health > 0 => {
                let (x, y) = cam.at(me.x, me.y);
                let id = view.session.player_id().map_or(0, |id| id.0);
                if let Some(t) = hud.rail_at_ms.filter(|t| now - t < 150.0) {
                    rail_flash(ctx, cam, view, me, 1.0 - (now - t) / 150.0);
                }
                let name = name_of(view, id);
                player(ctx, cam, x, y, id, &name, &me.state, true);
                if let Some(t) = hud.respawned_at_ms.filter(|t| now - t < 700.0) {
                    // Where you are now: a ring closing in on the new spawn point.
                    let k = (now - t) / 700.0;
                    ctx.set_stroke_style_str("#ffd166");
                    ctx.set_line_width(3.0);
                    ctx.set_global_alpha(1.0 - k);
                    let r = cam.len(f64::from(PLAYER_RADIUS)) * (1.0 + 4.0 * (1.0 - k));
                    ctx.begin_path();
                    ctx.arc(x, y, r, 0.0, std::f64::consts::TAU);
                    ctx.stroke();
                    ctx.set_global_alpha(1.0);
                }
            }
            Some(_) => {
                let text = match hud.killed_by {
                    Some(k) => format!("Killed by {}. Respawning...", name_of(view, k)),
                    None => "You were hit. Respawning...".to_owned(),
                };
                banner(ctx, screen, &text);
            }
            None => {}
        }
        if hud.marker_until_ms > now {
            let (x, y) = view
                .pointer
                .unwrap_or((screen.width / 2.0, screen.height / 2.0));
            hit_marker(ctx, x, y);
        }
        kill_feed(ctx, screen, view, now);
    }
}

/// A grey cross where a dead player lies.
fn fallen(ctx: &dyn Canvas, cam: &Camera, x: f64, y: f64, id: u32) {
    let r = cam.len(f64::from(PLAYER_RADIUS)) * 0.7;
    ctx.set_global_alpha(0.5);
    ctx.set_stroke_style_str(&player_colour(id));
    ctx.set_line_width(3.0);
    ctx.begin_path();
    ctx.move_to(x - r, y - r);
    ctx.line_to(x + r, y + r);
    ctx.move_to(x + r, y - r);
    ctx.line_to(x - r, y + r);
    ctx.stroke();
    ctx.set_global_alpha(1.0);
}

/// The own rail, from the player along its aim to the first wall or its reach.
fn rail_flash(
    ctx: &dyn Canvas,
    cam: &Camera,
    view: &View<'_, World>,
    me: &Me<EntityState>,
    alpha: f64,
) {
    let Some(w) = view.session.welcome() else {
        return;
    };
    let aim = f64::from(angle_to_radians(me.state.angle));
    let dir = (aim.cos(), aim.sin());
    let reach = rail::wall_distance(
        &w.map,
        (me.x, me.y),
        dir,
        Rules::for_tick_rate(w.tick_rate).rail_range,
    );
    let (x0, y0) = cam.at(me.x, me.y);
    let (x1, y1) = cam.at(me.x + dir.0 * reach, me.y + dir.1 * reach);
    ctx.set_global_alpha(alpha);
    ctx.set_stroke_style_str("#9be7ff");
    ctx.set_line_width(3.0);
    ctx.begin_path();
    ctx.move_to(x0, y0);
    ctx.line_to(x1, y1);
    ctx.stroke();
    ctx.set_global_alpha(1.0);
}

/// Four short strokes around the pointer: the server confirmed a hit.
fn hit_marker(ctx: &dyn Canvas, x: f64, y: f64) {
    ctx.set_stroke_style_str("#ffffff");
    ctx.set_line_width(2.5);
    ctx.begin_path();
    for (dx, dy) in [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)] {
        ctx.move_to(x + dx * 5.0, y + dy * 5.0);
        ctx.line_to(x + dx * 12.0, y + dy * 12.0);
    }
    ctx.stroke();
}

/// Top centre: the latest kills the client saw, fading out.
fn kill_feed(ctx: &dyn Canvas, screen: Screen, view: &View<'_, World>, now: f64) {
    ctx.set_font("14px system-ui, sans-serif");
    ctx.set_text_align("center");
    for (row, k) in view.hud.feed.iter().enumerate() {
        let age = now - k.at_ms;
        if age > FEED_MS {
            continue;
        }
        ctx.set_global_alpha((1.0 - age / FEED_MS).clamp(0.2, 1.0));
        ctx.set_fill_style_str("#e0e0e0");
        let line = format!(
            "{}  \u{2716}  {}",
            name_of(view, k.killer),
            name_of(view, k.victim)
        );
        ctx.fill_text(&line, screen.width / 2.0, 24.0 + 20.0 * row as f64);
    }
    ctx.set_global_alpha(1.0);
    ctx.set_text_align("left");
}

#[allow(clippy::too_many_arguments)]
fn player(
    ctx: &dyn Canvas,
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

fn edge_arrow(ctx: &dyn Canvas, x: f64, y: f64, angle: f64, id: u32) {
    let (c, s) = (angle.cos(), angle.sin());
    ctx.set_fill_style_str(&player_colour(id));
    ctx.begin_path();
    ctx.move_to(x + c * 10.0, y + s * 10.0);
    ctx.line_to(x - c * 6.0 - s * 7.0, y - s * 6.0 + c * 7.0);
    ctx.line_to(x - c * 6.0 + s * 7.0, y - s * 6.0 - c * 7.0);
    ctx.close_path();
    ctx.fill();
}
