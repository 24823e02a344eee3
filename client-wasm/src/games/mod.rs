//! What the browser shell needs from each game beyond its rules: a few words for the page and
//! the HUD, and how to draw its entities. Everything else (socket, input devices, prediction,
//! interpolation, camera, HUD) is the shell's, the same for every game.
//!
//! - [`arena`]: the arena's players, shots and drifters.
//! - [`tag`]: tag's runners, who is "it" and who is immune.

pub mod arena;
pub mod arena_hud;
pub mod tag;

use snapwire_shared::client::{ClientSession, Drawn};
use snapwire_shared::game::Game;
use web_sys::CanvasRenderingContext2d;

use crate::app::{App, Controls, Me};
use crate::camera::Camera;
use crate::render::Screen;

/// A game the page can play.
pub trait WebGame: Game + Sized {
    /// The page title's game name.
    const TITLE: &'static str;
    /// The controls, in words, on the status line.
    const HELP: &'static str;

    /// A player's score as its state shows it (the scoreboard before the server's first).
    fn score_of(state: &Self::State) -> i32;

    /// A score in words, for the page title ("3 kills").
    fn score_words(score: i32, tick_rate: u16) -> String;

    /// A score on the scoreboard.
    fn score_text(score: i32, _tick_rate: u16) -> String {
        score.to_string()
    }

    /// What the game's HUD remembers between frames (the arena: hit marker, kill feed).
    type Hud: Default + std::fmt::Debug;

    /// A verified snapshot arrived: the newest is in the session's replica.
    fn on_snapshot(_hud: &mut Self::Hud, _session: &ClientSession<Self>, _now_ms: f64) {}

    /// An input went out with these controls.
    fn on_input(_hud: &mut Self::Hud, _controls: &Controls, _now_ms: f64) {}

    /// Whether a player shows on the minimap (the arena hides the dead).
    fn on_minimap(_state: &Self::State) -> bool {
        true
    }

    /// Draws the entities over the map: everyone else where interpolation puts them, then
    /// the own player where prediction does.
    fn draw(
        ctx: &CanvasRenderingContext2d,
        screen: Screen,
        cam: &Camera,
        app: &App<Self>,
        drawn: &[Drawn<Self::State>],
        me: Option<&Me<Self::State>>,
    );
}

pub fn player_colour(id: u32) -> String {
    format!("hsl({}, 70%, 55%)", id.wrapping_mul(137) % 360)
}

pub fn circle(ctx: &CanvasRenderingContext2d, x: f64, y: f64, r: f64) {
    ctx.begin_path();
    let _ = ctx.arc(x, y, r.max(1.0), 0.0, std::f64::consts::TAU);
    ctx.fill();
}

/// A player's name above it.
pub fn name_tag(ctx: &CanvasRenderingContext2d, name: &str, x: f64, y: f64) {
    ctx.set_fill_style_str("#e8e8e8");
    ctx.set_font("13px system-ui, sans-serif");
    ctx.set_text_align("center");
    let _ = ctx.fill_text(name, x, y);
    ctx.set_text_align("left");
}

/// A ring around the own player.
pub fn own_ring(ctx: &CanvasRenderingContext2d, x: f64, y: f64, r: f64) {
    ctx.set_stroke_style_str("#ffffff");
    ctx.set_line_width(2.0);
    ctx.begin_path();
    let _ = ctx.arc(x, y, r + 2.0, 0.0, std::f64::consts::TAU);
    ctx.stroke();
}

/// The name the server gave a player (the own one: the name typed, until the server's).
pub fn name_of<G: WebGame>(app: &App<G>, id: u32) -> String {
    match app.session.replica().name(id) {
        Some(n) => n.to_owned(),
        None if app.session.player_id().map(|p| p.0) == Some(id) => app.name.clone(),
        None => "?".to_owned(),
    }
}
