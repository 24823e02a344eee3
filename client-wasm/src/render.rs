//! Draws a frame on the 2D canvas: map, entities, names and health, scoreboard, status, and the
//! net graph. Pure drawing: all decisions come from [`App`].

use snapwire_shared::quantize::{POS_SCALE, angle_to_radians};
use snapwire_shared::sim::rules::{MAX_HEALTH, PLAYER_RADIUS, PROJECTILE_RADIUS};
use snapwire_shared::snapshot::EntityKind;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use crate::app::{App, Status};

/// World to screen: uniform scale fitting the map, centred.
#[derive(Debug, Clone, Copy)]
struct Camera {
    scale: f64,
    ox: f64,
    oy: f64,
}

impl Camera {
    fn fit(app: &App, canvas: &HtmlCanvasElement) -> Option<Camera> {
        let map = &app.session.welcome()?.map;
        let (cw, ch) = (f64::from(canvas.width()), f64::from(canvas.height()));
        let scale = (cw / f64::from(map.width)).min(ch / f64::from(map.height));
        Some(Camera {
            scale,
            ox: (cw - f64::from(map.width) * scale) / 2.0,
            oy: (ch - f64::from(map.height) * scale) / 2.0,
        })
    }

    fn at(&self, x: f64, y: f64) -> (f64, f64) {
        (self.ox + x * self.scale, self.oy + y * self.scale)
    }

    fn len(&self, quanta: i32) -> f64 {
        f64::from(quanta) * self.scale
    }
}

/// Where the local player is on screen, for aiming.
pub fn own_screen_position(app: &mut App, canvas: &HtmlCanvasElement) -> Option<(f64, f64)> {
    let cam = Camera::fit(app, canvas)?;
    let body = app.session.predictor()?.predicted()?;
    Some(cam.at(f64::from(body.x), f64::from(body.y)))
}

pub fn draw(
    ctx: &CanvasRenderingContext2d,
    canvas: &HtmlCanvasElement,
    app: &mut App,
    now_ms: f64,
) {
    let (w, h) = (f64::from(canvas.width()), f64::from(canvas.height()));
    ctx.set_fill_style_str("#101418");
    ctx.fill_rect(0.0, 0.0, w, h);
    let Some(cam) = Camera::fit(app, canvas) else {
        status(ctx, app);
        return;
    };
    if let Some(welcome) = app.session.welcome() {
        let map = &welcome.map;
        let (x, y) = cam.at(0.0, 0.0);
        ctx.set_fill_style_str("#1b232b");
        ctx.fill_rect(x, y, cam.len(map.width), cam.len(map.height));
        ctx.set_fill_style_str("#56606b");
        for wall in &map.walls {
            let (x, y) = cam.at(f64::from(wall.x), f64::from(wall.y));
            ctx.fill_rect(x, y, cam.len(wall.w), cam.len(wall.h));
        }
    }

    let (drawn, me) = app.drawn(now_ms);
    for d in &drawn {
        let (x, y) = cam.at(d.x, d.y);
        match d.state.kind {
            EntityKind::Drifter => {
                ctx.set_fill_style_str("#3d6f8f");
                let s = cam.len(POS_SCALE / 4);
                ctx.fill_rect(x - s / 2.0, y - s / 2.0, s, s);
            }
            EntityKind::Projectile => {
                ctx.set_fill_style_str("#ffd166");
                circle(ctx, x, y, cam.len(PROJECTILE_RADIUS));
            }
            EntityKind::Player if d.state.health > 0 => {
                let name = app.session.replica().name(d.id.0).unwrap_or("?").to_owned();
                player(
                    ctx,
                    &cam,
                    x,
                    y,
                    d.id.0,
                    &name,
                    d.state.health,
                    angle_to_radians(d.state.angle),
                    false,
                );
            }
            EntityKind::Player => {}
        }
    }
    if let Some(me) = me.filter(|m| m.state.health > 0) {
        let (x, y) = cam.at(me.x, me.y);
        let id = app.session.player_id().map_or(0, |id| id.0);
        let name = app.name.clone();
        player(
            ctx,
            &cam,
            x,
            y,
            id,
            &name,
            me.state.health,
            angle_to_radians(me.state.angle),
            true,
        );
    }

    scoreboard(ctx, app, w);
    status(ctx, app);
    if app.show_net_graph {
        net_graph(ctx, app, now_ms);
    }
}

#[allow(clippy::too_many_arguments)] // One call site per kind of player; a struct would only rename them.
fn player(
    ctx: &CanvasRenderingContext2d,
    cam: &Camera,
    x: f64,
    y: f64,
    id: u32,
    name: &str,
    health: u8,
    aim: f32,
    own: bool,
) {
    let r = cam.len(PLAYER_RADIUS);
    ctx.set_fill_style_str(&format!("hsl({}, 70%, 55%)", id.wrapping_mul(137) % 360));
    circle(ctx, x, y, r);
    if own {
        ctx.set_stroke_style_str("#ffffff");
        ctx.set_line_width(2.0);
        ctx.begin_path();
        let _ = ctx.arc(x, y, r + 2.0, 0.0, std::f64::consts::TAU);
        ctx.stroke();
    }
    let (dx, dy) = (f64::from(aim).cos(), f64::from(aim).sin());
    ctx.set_stroke_style_str("#e0e0e0");
    ctx.set_line_width(3.0);
    ctx.begin_path();
    ctx.move_to(x, y);
    ctx.line_to(x + dx * r * 1.6, y + dy * r * 1.6);
    ctx.stroke();
    ctx.set_fill_style_str("#e8e8e8");
    ctx.set_font("12px sans-serif");
    ctx.set_text_align("center");
    let _ = ctx.fill_text(name, x, y - r - 8.0);
    let frac = f64::from(health) / f64::from(MAX_HEALTH);
    ctx.set_fill_style_str("#400");
    ctx.fill_rect(x - r, y + r + 4.0, 2.0 * r, 4.0);
    ctx.set_fill_style_str("#4caf50");
    ctx.fill_rect(x - r, y + r + 4.0, 2.0 * r * frac, 4.0);
    ctx.set_text_align("left");
}

fn circle(ctx: &CanvasRenderingContext2d, x: f64, y: f64, r: f64) {
    ctx.begin_path();
    let _ = ctx.arc(x, y, r.max(1.0), 0.0, std::f64::consts::TAU);
    ctx.fill();
}

fn scoreboard(ctx: &CanvasRenderingContext2d, app: &App, width: f64) {
    ctx.set_font("13px monospace");
    ctx.set_text_align("right");
    ctx.set_fill_style_str("#e8e8e8");
    let _ = ctx.fill_text("score", width - 10.0, 20.0);
    for (i, (name, score)) in app.scoreboard().iter().take(12).enumerate() {
        let _ = ctx.fill_text(
            &format!("{name}  {score}"),
            width - 10.0,
            38.0 + 16.0 * i as f64,
        );
    }
    ctx.set_text_align("left");
}

fn status(ctx: &CanvasRenderingContext2d, app: &App) {
    let text = app.status_line();
    ctx.set_font("14px sans-serif");
    ctx.set_fill_style_str(if matches!(app.status, Status::Closed(_)) {
        "#ff6b6b"
    } else {
        "#e8e8e8"
    });
    let _ = ctx.fill_text(&text, 10.0, 20.0);
}

/// Top left, under the status line.
fn net_graph(ctx: &CanvasRenderingContext2d, app: &mut App, now_ms: f64) {
    let g = app.net_graph(now_ms);
    let lines = [
        format!(
            "ping {}",
            g.ping_ms.map_or("-".to_owned(), |p| format!("{p:.0} ms"))
        ),
        format!("snapshots/s {}", g.snapshots_per_s),
        format!("in {:.1} kbps  out {:.1} kbps", g.kbps_in, g.kbps_out),
        format!("last snapshot {} B", g.last_snapshot_bytes),
        format!("interp delay {:.0} ms", app.interpolation_delay_ms()),
        format!("corrections/s {}", g.corrections_per_s),
        format!("checksum failures {}", g.checksum_failures),
    ];
    ctx.set_fill_style_str("rgba(0, 0, 0, 0.6)");
    ctx.fill_rect(6.0, 30.0, 250.0, 16.0 * lines.len() as f64 + 8.0);
    ctx.set_font("12px monospace");
    ctx.set_fill_style_str("#9be29b");
    for (i, l) in lines.iter().enumerate() {
        let _ = ctx.fill_text(l, 12.0, 46.0 + 16.0 * i as f64);
    }
}
