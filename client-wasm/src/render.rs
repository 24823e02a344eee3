//! Draws a frame on the 2D canvas: the world through the [`Camera`], then the HUD (status,
//! scoreboard, net graph, minimap, touch stick), through the [`Canvas`] interface. Pure
//! drawing: all decisions come from [`App`].
//!
//! Everything is drawn in CSS pixels; the canvas backing store is the window's size times the
//! device pixel ratio, so one transform keeps lines and text sharp on any screen.

use snapwire_shared::quantize::POS_SCALE;

use crate::app::{App, Status};
use crate::camera::Camera;
use crate::draw::{Canvas, Screen, circle};
use crate::games::{View, WebGame};
use crate::touch::STICK_RADIUS;

pub fn draw<G: WebGame>(ctx: &dyn Canvas, screen: Screen, app: &mut App<G>, now_ms: f64) {
    ctx.set_transform(screen.dpr, 0.0, 0.0, screen.dpr, 0.0, 0.0);
    ctx.set_fill_style_str("#0b0e11");
    ctx.fill_rect(0.0, 0.0, screen.width, screen.height);
    let (drawn, me) = app.drawn(now_ms);
    let Some(cam) = app.camera(screen.width, screen.height) else {
        status(ctx, app, screen);
        return;
    };
    world(ctx, app, &cam);
    let view = View {
        session: &app.session,
        hud: &app.hud,
        now_ms: app.now_ms(),
        own_name: &app.name,
        pointer: app.pointer,
    };
    G::draw(ctx, screen, &cam, &view, &drawn, me.as_ref());
    scoreboard(ctx, app, screen);
    status(ctx, app, screen);
    if app.show_net_graph {
        net_graph(ctx, app, screen, now_ms);
    }
    minimap(ctx, app, screen, &cam);
    stick(ctx, app);
}

/// The map: the floor, what lies outside the player's view darkened (the server sends nothing
/// from there), and the walls.
fn world<G: WebGame>(ctx: &dyn Canvas, app: &App<G>, cam: &Camera) {
    let Some(welcome) = app.session.welcome() else {
        return;
    };
    let map = &welcome.map;
    let (x, y) = cam.at(0.0, 0.0);
    ctx.set_fill_style_str("#1b232b");
    ctx.fill_rect(
        x,
        y,
        cam.len(f64::from(map.width)),
        cam.len(f64::from(map.height)),
    );
    ctx.set_stroke_style_str("#243039");
    ctx.set_line_width(1.0);
    // A grid every 4 units, so movement reads even where there are no walls.
    let step = f64::from(4 * POS_SCALE);
    let mut gx = 0.0;
    while gx <= f64::from(map.width) {
        let (sx, _) = cam.at(gx, 0.0);
        if (0.0..=cam.width).contains(&sx) {
            ctx.begin_path();
            ctx.move_to(sx, y.max(0.0));
            ctx.line_to(sx, (y + cam.len(f64::from(map.height))).min(cam.height));
            ctx.stroke();
        }
        gx += step;
    }
    let mut gy = 0.0;
    while gy <= f64::from(map.height) {
        let (_, sy) = cam.at(0.0, gy);
        if (0.0..=cam.height).contains(&sy) {
            ctx.begin_path();
            ctx.move_to(x.max(0.0), sy);
            ctx.line_to((x + cam.len(f64::from(map.width))).min(cam.width), sy);
            ctx.stroke();
        }
        gy += step;
    }
    ctx.set_fill_style_str("#56606b");
    for wall in &map.walls {
        let (x, y) = cam.at(f64::from(wall.x), f64::from(wall.y));
        ctx.fill_rect(x, y, cam.len(f64::from(wall.w)), cam.len(f64::from(wall.h)));
    }
    if app.session.player_id().is_some() {
        // The view is centred on the screen; shade what lies beyond it.
        let (vw, vh) = (
            cam.len(f64::from(welcome.view_width)),
            cam.len(f64::from(welcome.view_height)),
        );
        let (vx, vy) = ((cam.width - vw) / 2.0, (cam.height - vh) / 2.0);
        ctx.set_fill_style_str("rgba(0, 0, 0, 0.45)");
        ctx.fill_rect(0.0, 0.0, cam.width, vy.max(0.0));
        ctx.fill_rect(0.0, vy + vh, cam.width, (cam.height - vy - vh).max(0.0));
        ctx.fill_rect(0.0, vy, vx.max(0.0), vh);
        ctx.fill_rect(vx + vw, vy, (cam.width - vx - vw).max(0.0), vh);
    }
}

/// Top right: the match's best players; the own row highlighted, the own rank under the rows
/// when it is lower.
fn scoreboard<G: WebGame>(ctx: &dyn Canvas, app: &App<G>, screen: Screen) {
    let rows = if screen.narrow() { 5 } else { 10 };
    let x = screen.width - 10.0;
    // On a phone the rows would run into the net graph: they go below it.
    let top = if screen.narrow() && app.show_net_graph {
        NET_GRAPH_TOP + 2.0 * NET_GRAPH_LINE + 28.0
    } else {
        20.0
    };
    ctx.set_font("13px ui-monospace, monospace");
    ctx.set_text_align("right");
    ctx.set_fill_style_str("#9aa4ad");
    let heading = match app.room_id() {
        Some(room) => format!("room {room} · score ({})", app.player_count()),
        None => format!("score ({})", app.player_count()),
    };
    ctx.fill_text(&heading, x, top);
    let board = app.scoreboard();
    let mut y = top + 18.0;
    let rate = app.tick_rate();
    for (name, score, own) in board.iter().take(rows) {
        ctx.set_fill_style_str(if *own { "#ffd166" } else { "#e8e8e8" });
        ctx.fill_text(&format!("{name}  {}", G::score_text(*score, rate)), x, y);
        y += 16.0;
    }
    let shown = board.iter().take(rows).any(|(_, _, own)| *own);
    if let Some((rank, players, score)) = app.own_rank().filter(|_| !shown) {
        ctx.set_fill_style_str("#ffd166");
        let score = G::score_text(score, rate);
        ctx.fill_text(&format!("you: #{rank} of {players}  {score}"), x, y);
    }
    ctx.set_text_align("left");
}

fn status<G: WebGame>(ctx: &dyn Canvas, app: &App<G>, screen: Screen) {
    let mut text = app.status_line();
    if screen.narrow() {
        // The long form does not fit a phone; the first clause does.
        text = text.split(" - ").next().unwrap_or_default().to_owned();
    }
    ctx.set_font("14px system-ui, sans-serif");
    ctx.set_fill_style_str(if matches!(app.status, Status::Closed(_)) {
        "#ff6b6b"
    } else {
        "#e8e8e8"
    });
    ctx.fill_text(&text, 10.0, 20.0);
}

/// Top left, under the status line; fewer lines on a narrow screen.
fn net_graph<G: WebGame>(ctx: &dyn Canvas, app: &mut App<G>, screen: Screen, now_ms: f64) {
    let g = app.net_graph(now_ms);
    let mut lines = vec![
        format!(
            "ping {}  {}/s  {}",
            g.ping_ms.map_or("-".to_owned(), |p| format!("{p:.0} ms")),
            g.snapshots_per_s,
            app.transport
        ),
        format!("in {:.1} kbps  out {:.1} kbps", g.kbps_in, g.kbps_out),
    ];
    if !screen.narrow() {
        lines.extend([
            format!("last snapshot {} B", g.last_snapshot_bytes),
            format!(
                "interp delay {:.0} ms  dry {:.1}%",
                app.interpolation_delay_ms(),
                g.underrun_pct
            ),
            format!(
                "corrections/s {}  max {:.2} u",
                g.corrections_per_s, g.largest_correction_units
            ),
            format!("checksum failures {}", g.checksum_failures),
        ]);
        let s = &app.session.stats;
        if s.resumes + s.restarts > 0 {
            lines.push(format!(
                "resumed {} ({} B, full {} B)  restarted {}",
                s.resumes, s.resume_bytes, s.resume_full_bytes, s.restarts
            ));
        }
    }
    ctx.set_font("12px ui-monospace, monospace");
    // As wide as the longest line (at least the usual box).
    let widest = lines
        .iter()
        .map(|l| ctx.measure_text(l))
        .fold(0.0, f64::max);
    ctx.set_fill_style_str("rgba(0, 0, 0, 0.6)");
    ctx.fill_rect(
        6.0,
        NET_GRAPH_TOP,
        (widest + 12.0).max(214.0),
        NET_GRAPH_LINE * lines.len() as f64 + 8.0,
    );
    ctx.set_fill_style_str("#9be29b");
    for (i, l) in lines.iter().enumerate() {
        ctx.fill_text(l, 12.0, NET_GRAPH_TOP + 16.0 + NET_GRAPH_LINE * i as f64);
    }
}

const NET_GRAPH_TOP: f64 = 30.0;
const NET_GRAPH_LINE: f64 = 16.0;

/// Bottom right: the whole map, the own player, the view's outline, other players in view.
fn minimap<G: WebGame>(ctx: &dyn Canvas, app: &App<G>, screen: Screen, cam: &Camera) {
    let (Some(welcome), Some(me)) = (app.session.welcome(), app.session.player_id()) else {
        return;
    };
    let map = &welcome.map;
    let side = (screen.width.min(screen.height) * 0.28).clamp(90.0, 200.0);
    let mm = Camera::whole(
        f64::from(map.width),
        f64::from(map.height),
        side,
        side * f64::from(map.height) / f64::from(map.width),
    );
    let (w, h) = (mm.len(f64::from(map.width)), mm.len(f64::from(map.height)));
    let (x0, y0) = (screen.width - w - 10.0, screen.height - h - 10.0);
    ctx.set_fill_style_str("rgba(16, 20, 24, 0.85)");
    ctx.fill_rect(x0, y0, w, h);
    ctx.set_fill_style_str("#56606b");
    for wall in &map.walls {
        let (x, y) = mm.at(f64::from(wall.x), f64::from(wall.y));
        ctx.fill_rect(
            x0 + x,
            y0 + y,
            mm.len(f64::from(wall.w)).max(1.0),
            mm.len(f64::from(wall.h)).max(1.0),
        );
    }
    // The part of the map the screen shows.
    let (vx, vy) = cam.world(0.0, 0.0);
    let (vx1, vy1) = cam.world(cam.width, cam.height);
    let (sx, sy) = mm.at(vx, vy);
    let (sx1, sy1) = mm.at(vx1, vy1);
    ctx.set_stroke_style_str("rgba(232, 232, 232, 0.6)");
    ctx.set_line_width(1.0);
    let clamp = |v: f64, hi: f64| v.clamp(0.0, hi);
    ctx.stroke_rect(
        x0 + clamp(sx, w),
        y0 + clamp(sy, h),
        clamp(sx1, w) - clamp(sx, w),
        clamp(sy1, h) - clamp(sy, h),
    );
    if let Some((_, view)) = app.session.replica().latest() {
        for (id, s) in view.entities() {
            // Players are the entities the server named.
            if app.session.replica().name(id.0).is_none() || !G::on_minimap(s) {
                continue;
            }
            let at = G::position_of(s);
            let (x, y) = mm.at(f64::from(at.x), f64::from(at.y));
            let own = *id == me;
            ctx.set_fill_style_str(if own { "#ffffff" } else { "#ff6b6b" });
            circle(ctx, x0 + x, y0 + y, if own { 3.0 } else { 2.0 });
        }
    }
}

/// The virtual stick under the thumb, while it is held.
fn stick<G: WebGame>(ctx: &dyn Canvas, app: &App<G>) {
    let Some((centre, at)) = app.touches.stick() else {
        return;
    };
    ctx.set_stroke_style_str("rgba(232, 232, 232, 0.5)");
    ctx.set_line_width(2.0);
    ctx.begin_path();
    ctx.arc(centre.0, centre.1, STICK_RADIUS, 0.0, std::f64::consts::TAU);
    ctx.stroke();
    let (dx, dy) = (at.0 - centre.0, at.1 - centre.1);
    let k = (STICK_RADIUS / dx.hypot(dy).max(1e-9)).min(1.0);
    ctx.set_fill_style_str("rgba(232, 232, 232, 0.5)");
    circle(ctx, centre.0 + dx * k, centre.1 + dy * k, 18.0);
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use snapwire_shared::snapshot::EntityState;

    use super::*;
    use crate::app::tests::{snapshot, welcome};

    /// A canvas that keeps the text drawn, and where, in the fill colour then set.
    #[derive(Default)]
    struct Recorder {
        fill: RefCell<String>,
        texts: RefCell<Vec<(String, f64, f64, String)>>,
    }

    impl Canvas for Recorder {
        fn set_transform(&self, _: f64, _: f64, _: f64, _: f64, _: f64, _: f64) {}
        fn set_fill_style_str(&self, css: &str) {
            *self.fill.borrow_mut() = css.to_owned();
        }
        fn set_stroke_style_str(&self, _: &str) {}
        fn set_line_width(&self, _: f64) {}
        fn set_line_dash(&self, _: &[f64]) {}
        fn set_global_alpha(&self, _: f64) {}
        fn set_font(&self, _: &str) {}
        fn set_text_align(&self, _: &str) {}
        fn fill_rect(&self, _: f64, _: f64, _: f64, _: f64) {}
        fn stroke_rect(&self, _: f64, _: f64, _: f64, _: f64) {}
        fn fill_text(&self, text: &str, x: f64, y: f64) {
            let fill = self.fill.borrow().clone();
            self.texts.borrow_mut().push((text.to_owned(), x, y, fill));
        }
        fn measure_text(&self, text: &str) -> f64 {
            7.0 * text.chars().count() as f64
        }
        fn begin_path(&self) {}
        fn close_path(&self) {}
        fn move_to(&self, _: f64, _: f64) {}
        fn line_to(&self, _: f64, _: f64) {}
        fn arc(&self, _: f64, _: f64, _: f64, _: f64, _: f64) {}
        fn fill(&self) {}
        fn stroke(&self) {}
    }

    #[test]
    fn a_frame_draws_the_own_name_the_status_line_and_the_scoreboard_through_the_canvas() {
        let (mut app, _) = App::new("ann", false);
        app.on_frame(&welcome(Some(1), 10), 0.0);
        let me = EntityState {
            x: 5000,
            y: 5000,
            health: 100,
            ..EntityState::default()
        };
        app.on_frame(&snapshot(11, vec![(1, me)]), 10.0);
        let canvas = Recorder::default();
        let screen = Screen {
            width: 1280.0,
            height: 800.0,
            dpr: 1.0,
        };
        draw(&canvas, screen, &mut app, 20.0);
        let texts = canvas.texts.into_inner();
        let drawn = |t: &str| texts.iter().find(|(s, ..)| s == t);
        // The own player's name tag, centred over it in the name colour.
        let (_, _, _, colour) = drawn("ann").expect("the own name is drawn");
        assert_eq!(colour, "#e8e8e8");
        // The status line, top left.
        let status = texts
            .iter()
            .find(|(_, x, y, _)| *x == 10.0 && *y == 20.0)
            .expect("a status line");
        assert_eq!(status.0, app.status_line());
        // The scoreboard's heading, right-aligned at the right edge, names the room.
        let (_, x, _, _) = drawn("room abc123 · score (0)").expect("a scoreboard heading");
        assert_eq!(*x, screen.width - 10.0);
    }
}
